// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE /* setns */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "tracewire_json.h"

/* TW_REQUIRE_BPF=1 (set by CI) turns a skip into a failure: there, BPF must load. */
#define IT_SKIP_OR_FAIL(...)                                  \
	do {                                                  \
		if (getenv("TW_REQUIRE_BPF"))                 \
			cr_assert_fail(__VA_ARGS__);          \
		cr_skip_test(__VA_ARGS__);                    \
	} while (0)

void it_require_bpf(void)
{
	if (geteuid() != 0)
		IT_SKIP_OR_FAIL("needs root to load BPF probes (running as uid %d)", geteuid());
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		IT_SKIP_OR_FAIL("kernel has no BTF (/sys/kernel/btf/vmlinux missing)");
}

unsigned it_scaled(unsigned n)
{
	const char *s = getenv("TW_TEST_SCALE");
	long pct = s && *s ? strtol(s, NULL, 10) : 100;
	unsigned long long v;

	if (pct <= 0 || pct > 100)
		pct = 100;
	v = (unsigned long long)n * (unsigned long long)pct / 100;
	return v ? (unsigned)v : 1;
}

void it_skip_kernel_lacks(const char *why)
{
	if (getenv("TW_REQUIRE_ALL_FEATURES"))
		cr_assert_fail("this kernel lacks a feature (%s)", why);
	cr_skip_test("this kernel lacks a feature: %s", why);
}

uint32_t it_ring_size;
int64_t it_wakeup_bytes = -1;
uint64_t it_tty_budget;
const struct tw_task_rule *it_task_rules;
size_t it_n_task_rules;
const struct tw_path_rule *it_path_rules;
size_t it_n_path_rules;
uint32_t it_write_window_ms = IT_WRITE_WINDOW_DEFAULT;
int64_t it_exit_hold_ms = -1;
uint32_t it_tcp_metrics_interval_ms;

static int collect(void *user, const struct tw_event *ev)
{
	struct it_trace *t = user;
	struct timespec now;
	uint64_t delay;

	clock_gettime(CLOCK_MONOTONIC, &now);
	delay = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec - ev->hdr->ts_mono_ns;
	if (delay > t->max_delay_ns)
		t->max_delay_ns = delay;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->recs = realloc(t->recs, t->cap * sizeof(*t->recs));
		cr_assert_not_null(t->recs);
	}
	t->recs[t->n].data = malloc(ev->len);
	memcpy(t->recs[t->n].data, ev->hdr, ev->len);
	t->recs[t->n].len = ev->len;
	t->n++;
	return 0;
}

void it_start(struct it_trace *t, uint64_t mask, bool env, it_workload_fn fn, void *arg)
{
	int pipefd[2];
	char err[512];
	struct tw_options o;
	struct tw_pid_rule rule;
	int rc;

	it_require_bpf();
	memset(t, 0, sizeof(*t));
	cr_assert_eq(pipe(pipefd), 0);
	t->child = fork();
	cr_assert_geq(t->child, 0);
	if (t->child == 0) {
		char c;
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(120); /* the test gave up before releasing us */
		close(pipefd[0]);
		fn(arg);
		_exit(0);
	}
	close(pipefd[0]);
	t->release_fd = pipefd[1];

	tw_options_init(&o);
	o.event_mask = mask | TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT);
	o.capture_env = env;
	o.wakeup_bytes = it_wakeup_bytes < 0 ? 0 : (uint32_t)it_wakeup_bytes;
	if (it_ring_size)
		o.ring_size = it_ring_size;
	o.tty_budget_bytes = it_tty_budget;
	o.task_rules = it_task_rules;
	o.n_task_rules = it_n_task_rules;
	o.path_rules = it_path_rules;
	o.n_path_rules = it_n_path_rules;
	if (it_write_window_ms != IT_WRITE_WINDOW_DEFAULT)
		o.file_write_window_ms = it_write_window_ms;
	if (it_exit_hold_ms >= 0)
		o.exit_hold_ms = (uint32_t)it_exit_hold_ms;
	o.tcp_metrics_interval_ms = it_tcp_metrics_interval_ms;
	rule.pid = t->child;
	rule.flags = TW_PID_INCLUDE | TW_PID_DESCENDANTS;
	o.pid_rules = &rule;
	o.n_pid_rules = 1;
	rc = tw_ctx_open(&t->ctx, &o, collect, t, err, sizeof(err));
	if (rc < 0) {
		kill(t->child, SIGKILL);
		waitpid(t->child, NULL, 0);
		cr_assert_fail("tw_ctx_open failed: %s", err);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int it_run(struct it_trace *t, int timeout_ms)
{
	/* under the kernel matrix's software emulation a workload takes several times longer
	   (TCP's retransmission timers back off further there: 18-22 s for a 3 s host run) */
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms * (getenv("TW_TEST_EMULATED") ? 3 : 1);
	int status = -1;
	bool reaped = false;

	cr_assert_eq(write(t->release_fd, "x", 1), 1);
	close(t->release_fd);
	while (now_ms() < deadline) {
		tw_ctx_poll(t->ctx, 20);
		if (!reaped && waitpid(t->child, &status, WNOHANG) == t->child)
			reaped = true;
		if (reaped && it_count(t, TW_EVENT_PROCESS_EXIT, t->child) > 0)
			break;
	}
	if (!reaped) {
		kill(t->child, SIGKILL);
		waitpid(t->child, &status, 0);
		cr_assert_fail("workload did not finish within %d ms", timeout_ms);
	}
	tw_ctx_consume(t->ctx);
	return status;
}

void it_stop(struct it_trace *t)
{
	tw_ctx_close(t->ctx);
	for (size_t i = 0; i < t->n; i++)
		free(t->recs[i].data);
	free(t->recs);
	memset(t, 0, sizeof(*t));
}

bool it_find(struct it_trace *t, uint32_t type, pid_t pid, size_t idx, struct tw_event *out)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tw_event ev;
		cr_assert_eq(tw_event_decode(t->recs[i].data, t->recs[i].len, &ev), 0,
			     "a record from the kernel failed to decode");
		if (ev.hdr->type != type || (pid && ev.hdr->pids.tgid != (uint32_t)pid))
			continue;
		if (idx-- == 0) {
			ev.ts_realtime_ns = ev.hdr->ts_boot_ns + tw_ctx_realtime_offset(t->ctx);
			*out = ev;
			return true;
		}
	}
	return false;
}

size_t it_count(struct it_trace *t, uint32_t type, pid_t pid)
{
	struct tw_event ev;
	size_t n = 0;
	while (it_find(t, type, pid, n, &ev))
		n++;
	return n;
}

cJSON *it_json(const struct tw_event *ev)
{
	struct tw_json j;
	size_t len;
	const char *line;
	char *copy;
	cJSON *o;

	tw_json_init(&j);
	tw_event_to_json(&j, ev);
	line = tw_json_finish(&j, &len);
	cr_assert_not_null(line);
	copy = strndup(line, len - 1); /* without the newline */
	o = cJSON_ParseWithOpts(copy, NULL, 1);
	cr_assert_not_null(o, "event JSON does not parse: %s", copy);
	free(copy);
	tw_json_free(&j);
	return o;
}

static cJSON *lookup(cJSON *o, const char *path)
{
	char buf[256], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = cJSON_GetObjectItemCaseSensitive(o, tok);
	return o;
}

const char *it_json_str(cJSON *o, const char *path)
{
	cJSON *v = lookup(o, path);
	cr_assert(cJSON_IsString(v), "JSON has no string at %s", path);
	return v->valuestring;
}

double it_json_num(cJSON *o, const char *path)
{
	cJSON *v = lookup(o, path);
	cr_assert(cJSON_IsNumber(v), "JSON has no number at %s", path);
	return v->valuedouble;
}

uint64_t it_cgroup_create(const char *root, const char *tag, char *dir, size_t len)
{
	struct stat st;

	it_require_bpf();
	if (access(root, W_OK) != 0)
		cr_skip_test("no writable cgroup hierarchy at %s", root);
	snprintf(dir, len, "%s/%s-%d", root, tag, getpid());
	cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
	cr_assert_eq(stat(dir, &st), 0);
	return st.st_ino; /* a cgroup's id is its kernfs inode number */
}

int it_cgroup_enter(const char *dir, pid_t pid)
{
	char path[512], num[32];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(num, sizeof(num), "%d", pid ? pid : getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, num, (size_t)n) != n)
		rc = -errno;
	close(fd);
	return rc;
}

void it_cgroup_remove(const char *dir)
{
	for (int i = 0; i < 100 && rmdir(dir) != 0 && errno == EBUSY; i++)
		usleep(10000);
}

void it_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

int it_enter_netns(const char *name)
{
	char path[128];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}
