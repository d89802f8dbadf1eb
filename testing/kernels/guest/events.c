// SPDX-License-Identifier: Apache-2.0
/*
 * Phase 2: one context with every domain that loaded alone, a workload in a
 * child process, and a check that each event the workload must cause arrives
 * with the right process and path. An event type whose domain did not load is
 * reported as skipped, not as passed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

#define TWK_DIR "/tmp/twk"
#define TWK_CHILD_STATUS 7
#define TWK_TCP_PORT 47811

struct expect {
	uint32_t type;
	const char *what;      /* path or filename the event must carry; NULL: any */
	uint16_t field;        /* field holding `what` */
	bool by_grandchild;    /* from the exec'd grandchild rather than the workload process */
	int seen;
};

static struct expect expects[] = {
	{TW_EVENT_PROCESS_FORK, NULL, 0, true, 0},
	{TW_EVENT_PROCESS_EXEC, NULL /* twk_true_path() */, TW_FIELD_FILENAME, true, 0},
	{TW_EVENT_PROCESS_EXIT, NULL, 0, true, 0},
	{TW_EVENT_FILE_CREATE, TWK_DIR "/created", TW_FIELD_PATH, false, 0},
	{TW_EVENT_FILE_RENAME, TWK_DIR "/renamed", TW_FIELD_NEW_PATH, false, 0},
	{TW_EVENT_FILE_DELETE, TWK_DIR "/renamed", TW_FIELD_PATH, false, 0},
	{TW_EVENT_PROCESS_TTY_WRITE, NULL, 0, false, 0},
	{TW_EVENT_PROCESS_SETSID, NULL, 0, false, 0},
	{TW_EVENT_PROCESS_MEMFD_CREATE, "twk-memfd", TW_FIELD_MEMFD_NAME, false, 0},
	{TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, NULL, 0, false, 0},
	{TW_EVENT_NETWORK_CONNECTION_ACCEPTED, NULL, 0, false, 0},
	{TW_EVENT_NETWORK_CONNECTION_CLOSED, NULL, 0, false, 0},
	{TW_EVENT_NETWORK_DNS, NULL, 0, false, 0},
	{TW_EVENT_NETWORK_UDP_FLOW, NULL, 0, false, 0},
};
#define N_EXPECTS (sizeof(expects) / sizeof(expects[0]))

struct run {
	pid_t workload;
	pid_t grandchild; /* learned from the FORK event (its parent is the workload) */
	uint64_t total;
};

static bool field_is(const struct tw_event *ev, uint16_t type, const char *want)
{
	const struct tw_varlen_field *f = tw_event_field(ev, type);
	size_t n = strlen(want);

	return f && f->size >= n && !memcmp(f->data, want, n) && (f->size == n || f->data[n] == '\0');
}

static int on_event(void *user, const struct tw_event *ev)
{
	struct run *r = user;
	const struct tw_pid_info *p = &ev->hdr->pids;

	r->total++;
	twk_files_on_event(ev, r->workload);
	if (ev->hdr->type == TW_EVENT_PROCESS_FORK && p->ppid == (uint32_t)r->workload)
		r->grandchild = (pid_t)p->tgid;
	for (size_t i = 0; i < N_EXPECTS; i++) {
		struct expect *e = &expects[i];
		bool who;

		if (e->type != ev->hdr->type)
			continue;
		who = e->by_grandchild ? p->ppid == (uint32_t)r->workload
				       : p->tgid == (uint32_t)r->workload;
		if (who && (!e->what || field_is(ev, e->field, e->what)))
			e->seen++;
	}
	return 0;
}

static void tcp_roundtrip(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(TWK_TCP_PORT)};
	int one = 1, l, c, s;
	char buf[16];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0)
		return;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)))
		goto out;
	s = accept(l, NULL, NULL);
	if (s >= 0) {
		if (write(c, "ping", 4) == 4 && read(s, buf, sizeof(buf)) > 0 && write(s, "pong", 4) == 4)
			(void)!read(c, buf, sizeof(buf));
		close(s);
	}
out:
	close(c);
	close(l);
}

/* A DNS query for twk.example A to 127.0.0.1:53; nobody answers, egress is enough. */
static void dns_query(void)
{
	static const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					  3, 't', 'w', 'k', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
					  0, 1, 0, 1};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0)
		return;
	(void)!sendto(s, q, sizeof(q), 0, (struct sockaddr *)&a, sizeof(a));
	close(s);
}

int twk_workload(void)
{
	int fd, status = 0;
	pid_t pid;

	if ((status = twk_files_workload()))
		return status;
	fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
	if (fd >= 0) {
		(void)!write(fd, "twk: tty line\r\n", 15);
		close(fd);
	}
	fd = memfd_create("twk-memfd", MFD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	setsid();
	pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)twk_true_path(), "--true", NULL};
		char *envp[] = {NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != TWK_CHILD_STATUS)
		return 12;
	tcp_roundtrip();
	dns_query();
	return 0;
}

int twk_check_events(const struct twk_domain_result *d, size_t n)
{
	struct tw_options o;
	struct tw_ctx *ctx = NULL;
	struct run r = {0};
	uint64_t loaded = 0;
	char err[512], buf[200];
	int status = 0, failures = 0;
	long t0 = twk_now_ms(), deadline;
	bool done = false;

	for (size_t i = 0; i < n; i++)
		if (d[i].ok)
			loaded |= d[i].mask;
	if (!loaded) {
		twk_say("EVENTS skipped=all reason=no_domain_loaded");
		return 1;
	}
	for (size_t i = 0; i < N_EXPECTS; i++)
		if (expects[i].type == TW_EVENT_PROCESS_EXEC)
			expects[i].what = twk_true_path();
	tw_options_init(&o);
	o.event_mask = loaded;
	o.file_write_window_ms = 0;
	o.udp_flow_interval_ms = 0;
	o.exit_hold_ms = 0;
	if (tw_ctx_open(&ctx, &o, on_event, &r, err, sizeof(err))) {
		twk_say("EVENTS error=%s", twk_text(err, buf, sizeof(buf)));
		return 1;
	}
	failures += twk_files_hooks(ctx, loaded);
	r.workload = fork();
	if (r.workload == 0)
		_exit(twk_workload());
	if (r.workload < 0) {
		tw_ctx_close(ctx);
		return 1;
	}
	/* until the workload has exited, then 2 s more for what is still in flight */
	deadline = twk_now_ms() + 60000;
	while (twk_now_ms() < deadline) {
		tw_ctx_poll(ctx, 50);
		if (!done && waitpid(r.workload, &status, WNOHANG) == r.workload) {
			done = true;
			deadline = twk_now_ms() + 2000;
		}
	}
	tw_ctx_consume(ctx);
	tw_ctx_flush(ctx);
	tw_ctx_close(ctx);
	if (!done) {
		kill(r.workload, SIGKILL);
		waitpid(r.workload, &status, 0);
	}
	twk_say("WORKLOAD status=%d events_total=%llu ms=%ld", done && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		(unsigned long long)r.total, twk_now_ms() - t0);
	if (!done || !WIFEXITED(status) || WEXITSTATUS(status))
		failures++;
	for (size_t i = 0; i < N_EXPECTS; i++) {
		const struct expect *e = &expects[i];
		const char *name = tw_event_type_name(e->type);

		if (!(loaded & TW_EVENT_BIT(e->type))) {
			twk_say("EVENT type=%s status=skipped", name);
			continue;
		}
		twk_say("EVENT type=%s status=%s count=%d", name, e->seen ? "ok" : "missing", e->seen);
		failures += !e->seen;
	}
	failures += twk_files_report(loaded);
	return failures + twk_files_second_pass();
}
