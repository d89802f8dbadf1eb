// SPDX-License-Identifier: Apache-2.0
/*
 * Phase 3: which precise hooks does this kernel offer? Each trivial program of
 * hooks.bpf.c is loaded alone against one target, attached, triggered by file,
 * exec and TCP activity, and reported as
 *   fired (hits=N) | attached-not-fired | unavailable (no such function or
 *   hook in BTF / kallsyms) | load-failed | attach-failed (with the reason).
 * This is what a loader preferring fentry/LSM over syscall tracepoints would
 * have to probe; a function renamed or gone (do_unlinkat on 7.x) shows here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "guest.h"
#include "hooks.skel.h"

enum kind { FENTRY, FEXIT, KPROBE, KRETPROBE, LSM, TP_BTF, RAW_TP };
static const char *const kind_names[] = {"fentry", "fexit", "kprobe", "kretprobe", "lsm", "tp_btf",
					 "raw_tp"};
static const char *const prog_names[] = {"twk_fentry", "twk_fexit", "twk_kprobe", "twk_kretprobe",
					 "twk_lsm", "twk_tp_btf", "twk_raw_tp"};

struct hook {
	enum kind kind;
	const char *target;
};

/* Targets a vfs/LSM-level file and network probe set would use, plus the tracepoints we use. */
static const struct hook hooks[] = {
	{FENTRY, "do_unlinkat"},     {FENTRY, "vfs_unlink"},       {FEXIT, "vfs_unlink"},
	{FENTRY, "vfs_rename"},      {FEXIT, "vfs_open"},          {FENTRY, "do_filp_open"},
	{FENTRY, "security_inode_create"}, {FENTRY, "tcp_connect"}, {FEXIT, "inet_csk_accept"},
	{KPROBE, "do_unlinkat"},     {KPROBE, "vfs_unlink"},       {KRETPROBE, "vfs_unlink"},
	{KPROBE, "tcp_connect"},
	{LSM, "path_unlink"},        {LSM, "inode_unlink"},        {LSM, "file_open"},
	{LSM, "path_rename"},        {LSM, "bprm_check_security"}, {LSM, "socket_connect"},
	{TP_BTF, "sched_process_exec"}, {RAW_TP, "sched_process_exec"},
};

static char warning[256];

static int hook_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t n;

	if (level != LIBBPF_WARN || warning[0])
		return 0;
	vsnprintf(warning, sizeof(warning), fmt, ap);
	n = strlen(warning);
	while (n && warning[n - 1] == '\n')
		warning[--n] = '\0';
	return 0;
}

/* Whether the kernel has the target: BTF for trampolines, LSM and tp_btf; kallsyms for kprobes. */
static bool target_exists(const struct btf *btf, const struct hook *h)
{
	char name[128];
	char line[256];
	FILE *f;
	bool found = false;

	switch (h->kind) {
	case FENTRY:
	case FEXIT:
		return btf && btf__find_by_name_kind(btf, h->target, BTF_KIND_FUNC) > 0;
	case LSM:
		snprintf(name, sizeof(name), "bpf_lsm_%s", h->target);
		return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	case TP_BTF:
		snprintf(name, sizeof(name), "btf_trace_%s", h->target);
		return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
	case RAW_TP:
		return true;
	case KPROBE:
	case KRETPROBE:
		/* kprobes need CONFIG_KPROBES: its PMU or the legacy tracefs interface */
		if (access("/sys/bus/event_source/devices/kprobe", F_OK) &&
		    access("/sys/kernel/tracing/kprobe_events", F_OK))
			return false;
		f = fopen("/proc/kallsyms", "r");
		while (f && !found && fgets(line, sizeof(line), f)) {
			char *sym = strrchr(line, ' ');
			if (!sym)
				continue;
			sym++;
			sym[strcspn(sym, "\t\n")] = '\0';
			found = !strcmp(sym, h->target);
		}
		if (f)
			fclose(f);
		return found;
	}
	return false;
}

static void trigger(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(47812)};
	int fd, l, c, s, one = 1;
	pid_t pid;

	mkdir("/tmp/twk-hooks", 0755);
	fd = open("/tmp/twk-hooks/f", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	rename("/tmp/twk-hooks/f", "/tmp/twk-hooks/g");
	unlink("/tmp/twk-hooks/g");
	pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)twk_true_path(), "--true", NULL};
		char *envp[] = {NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (l >= 0 && c >= 0) {
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 2) &&
		    !connect(c, (struct sockaddr *)&a, sizeof(a)) && (s = accept(l, NULL, NULL)) >= 0)
			close(s);
	}
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
}

static const char *probe_one(const struct btf *btf, const struct hook *h, char *why, size_t len,
			     unsigned long long *hits)
{
	struct hooks_bpf *skel;
	struct bpf_program *prog, *p;
	struct bpf_link *link = NULL;
	libbpf_print_fn_t old;
	const char *state;
	int err;

	why[0] = '\0';
	*hits = 0;
	if (!target_exists(btf, h))
		return "unavailable";
	warning[0] = '\0';
	old = libbpf_set_print(hook_print);
	skel = hooks_bpf__open();
	if (!skel) {
		libbpf_set_print(old);
		snprintf(why, len, "open: %s", strerror(errno));
		return "load-failed";
	}
	skel->rodata->twk_pid = getpid();
	prog = bpf_object__find_program_by_name(skel->obj, prog_names[h->kind]);
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	if (h->kind != KPROBE && h->kind != KRETPROBE && h->kind != RAW_TP)
		bpf_program__set_attach_target(prog, 0, h->target);
	err = hooks_bpf__load(skel);
	if (err) {
		snprintf(why, len, "%s", warning[0] ? warning : strerror(-err));
		state = "load-failed";
		goto out;
	}
	switch (h->kind) {
	case KPROBE:
	case KRETPROBE:
		link = bpf_program__attach_kprobe(prog, h->kind == KRETPROBE, h->target);
		break;
	case RAW_TP:
		link = bpf_program__attach_raw_tracepoint(prog, h->target);
		break;
	default:
		link = bpf_program__attach(prog);
		break;
	}
	if (!link) {
		snprintf(why, len, "%s", warning[0] ? warning : strerror(errno));
		state = "attach-failed";
		goto out;
	}
	trigger();
	*hits = skel->bss->twk_hits;
	state = *hits ? "fired" : "attached-not-fired";
out:
	libbpf_set_print(old);
	bpf_link__destroy(link);
	hooks_bpf__destroy(skel);
	return state;
}

int twk_probe_hooks(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int fired = 0;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		const struct hook *h = &hooks[i];
		char why[256], buf[200];
		unsigned long long hits;
		const char *state = probe_one(btf, h, why, sizeof(why), &hits);

		fired += !strcmp(state, "fired");
		twk_say("HOOK kind=%s target=%s state=%s hits=%llu%s%s", kind_names[h->kind], h->target,
			state, hits, why[0] ? " error=" : "", why[0] ? twk_text(why, buf, sizeof(buf)) : "");
	}
	btf__free(btf);
	return fired;
}
