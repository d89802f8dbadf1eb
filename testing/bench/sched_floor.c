// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark floor: attaches the empty programs of sched_floor.bpf.c to the
 * same three scheduler hooks as the run-queue latency probe with its own
 * clock (or, with the argument "switch-only", to sched_switch alone, the one
 * hook of its sched_info clock), prints "attached", and holds them until
 * SIGINT or SIGTERM. The difference between this and no probes is the
 * kernel's price for calling any BPF program there.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sched_floor_bpf *skel = sched_floor_bpf__open();

	if (skel && argc > 1 && !strcmp(argv[1], "switch-only")) {
		bpf_program__set_autoload(skel->progs.tw_floor_wakeup, false);
		bpf_program__set_autoload(skel->progs.tw_floor_wakeup_new, false);
	}
	if (!skel || sched_floor_bpf__load(skel) || sched_floor_bpf__attach(skel)) {
		fprintf(stderr, "sched_floor: loading or attaching the empty programs failed\n");
		sched_floor_bpf__destroy(skel);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	sched_floor_bpf__destroy(skel);
	return 0;
}
