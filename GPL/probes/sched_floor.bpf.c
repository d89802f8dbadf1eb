// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark floor for the scheduler probe: empty programs on the same three
 * hooks as sched.bpf.c, so testing/bench/sched_bench.sh can tell the cost of
 * merely having BPF programs on sched_switch from the cost of our work there.
 * Never loaded by the library.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tw_floor_wakeup, struct task_struct *p)
{
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tw_floor_wakeup_new, struct task_struct *p)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tw_floor_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}
