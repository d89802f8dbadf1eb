// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark floor for the exec, file and tty workloads: attaches the empty
 * programs of bpf/floor.bpf.c to the hooks the library's probes use for that
 * workload, prints "attached", holds them until SIGINT or SIGTERM.
 *   exec  tp_btf sched_process_exec, fork, exit (EventsTrace --process)
 *   file  sys_enter_X and sys_exit_X of every file syscall (EventsTrace --file)
 *   tty   sys_enter/exit of write, writev, pwritev2 (EventsTrace --tty)
 * The syscall list is the library's own table, so the floor follows the probe.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file_syscalls.h"
#include "floor.skel.h"

#define MAX_LINKS 256

static volatile sig_atomic_t stop;
static struct bpf_link *links[MAX_LINKS];
static int n_links;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A missing tracepoint (an older kernel's syscall list) is skipped, as the library does. */
static int attach_syscall(struct floor_bpf *skel, const char *name)
{
	char tp[96], path[160];
	struct bpf_program *progs[2] = {skel->progs.fl_sys_enter, skel->progs.fl_sys_exit};
	const char *prefix[2] = {"sys_enter_", "sys_exit_"};

	for (int i = 0; i < 2; i++) {
		snprintf(tp, sizeof(tp), "%s%s", prefix[i], name);
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", tp);
		if (access(path, F_OK) != 0)
			continue;
		if (n_links == MAX_LINKS)
			return -1;
		links[n_links] = bpf_program__attach_tracepoint(progs[i], "syscalls", tp);
		if (!links[n_links])
			return -1;
		n_links++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	struct floor_bpf *skel = floor_bpf__open_and_load();
	int err = 0;

	if (!skel) {
		fprintf(stderr, "floor_agent: loading the empty programs failed\n");
		return 1;
	}
	if (!strcmp(what, "exec")) {
		links[n_links++] = bpf_program__attach(skel->progs.fl_exec);
		links[n_links++] = bpf_program__attach(skel->progs.fl_fork);
		links[n_links++] = bpf_program__attach(skel->progs.fl_exit);
		for (int i = 0; i < n_links; i++)
			if (!links[i])
				err = -1;
	} else if (!strcmp(what, "file")) {
		for (size_t i = 0; i < tw_n_file_syscall_defs && !err; i++)
			err = attach_syscall(skel, tw_file_syscall_defs[i].name);
	} else if (!strcmp(what, "tty")) {
		static const char *const calls[] = {"write", "writev", "pwritev2"};
		for (size_t i = 0; i < 3 && !err; i++)
			err = attach_syscall(skel, calls[i]);
	} else {
		fprintf(stderr, "usage: floor_agent exec|file|tty\n");
		floor_bpf__destroy(skel);
		return 2;
	}
	if (err) {
		fprintf(stderr, "floor_agent: attaching the empty programs failed\n");
		return 1; /* the kernel drops the links with the process */
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached %d\n", n_links);
	fflush(stdout);
	while (!stop)
		pause();
	for (int i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	floor_bpf__destroy(skel);
	return 0;
}
