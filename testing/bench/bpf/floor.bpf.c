// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark floor for the process, file and tty probes: programs that return
 * at once, attached by testing/bench/floor_agent.c to the same hooks the
 * library uses (the three tp_btf process tracepoints; the file and tty
 * syscalls' sys_enter_X/sys_exit_X). The gap between this and no programs is
 * what the kernel charges for calling any BPF program there; the gap between
 * this and tracewire is our work. Never loaded by the library.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fl_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(fl_exit, struct task_struct *p)
{
	return 0;
}

/* Attached by hand to every syscall tracepoint of the file or tty list. */
SEC("tracepoint")
int fl_sys_enter(void *ctx)
{
	return 0;
}

SEC("tracepoint")
int fl_sys_exit(void *ctx)
{
	return 0;
}
