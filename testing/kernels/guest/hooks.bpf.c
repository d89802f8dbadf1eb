// SPDX-License-Identifier: GPL-2.0-only
/*
 * Trivial programs for the kernel matrix (testing/kernels): one per hook kind.
 * The test binary loads each alone, points it at a kernel function, LSM hook or
 * tracepoint at run time (bpf_program__set_attach_target / attach by name),
 * triggers it and reads how often it fired. Nothing here is part of tracewire's
 * probes: it only tells which precise hooks a kernel offers.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 twk_pid = 0; /* the test process; its children count too */
__u64 twk_hits = 0;

static __always_inline void hit(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == twk_pid || BPF_CORE_READ(t, real_parent, tgid) == twk_pid)
		__sync_fetch_and_add(&twk_hits, 1);
}

SEC("fentry")
int BPF_PROG(twk_fentry)
{
	hit();
	return 0;
}

SEC("fexit")
int BPF_PROG(twk_fexit)
{
	hit();
	return 0;
}

SEC("lsm")
int BPF_PROG(twk_lsm)
{
	hit();
	return 0;
}

SEC("kprobe")
int twk_kprobe(void *ctx)
{
	hit();
	return 0;
}

SEC("kretprobe")
int twk_kretprobe(void *ctx)
{
	hit();
	return 0;
}

SEC("tp_btf")
int BPF_PROG(twk_tp_btf)
{
	hit();
	return 0;
}

SEC("raw_tp")
int twk_raw_tp(void *ctx)
{
	hit();
	return 0;
}
