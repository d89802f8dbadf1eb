// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor for the accounting benchmark (testing/bench/netacct_bench.sh):
 * do-nothing programs on exactly the hooks netacct.bpf.c uses, so the cost
 * of merely having programs there is measured apart from the accounting.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/sock_create")
int tw_naf_sock_create(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/sock_release")
int tw_naf_sock_release(struct bpf_sock *sk)
{
	return 1;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tw_naf_send, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tw_naf_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("cgroup_skb/egress")
int tw_naf_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/ingress")
int tw_naf_ingress(struct __sk_buff *skb)
{
	return 1;
}
