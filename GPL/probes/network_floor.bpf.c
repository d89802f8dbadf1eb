// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark floor for the network probe: programs of the same types on the
 * same hooks as network.bpf.c that do no work, so testing/bench/net_bench.sh
 * can tell what merely having BPF on those hooks costs from what our
 * bookkeeping costs. Never loaded by the library.
 *
 * The one thing the sockops program does is subscribe each new connection
 * to the STATE and RTT callbacks, as network.bpf.c does when TCP metrics are
 * wanted (EventsTrace --network): without that the kernel would never call
 * the program per RTT sample (about once per ACK), and the floor would leave
 * out the only per-packet hook we have. One helper call per connection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("sockops")
int tw_nfl_sockops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;

	if (op == BPF_SOCK_OPS_TCP_CONNECT_CB || op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTT_CB_FLAG);
	return 1;
}

/* attached to both sys_exit_accept and sys_exit_accept4 by the loader */
SEC("tracepoint")
int tw_nfl_accept(void *ctx)
{
	return 0;
}

SEC("cgroup/sock_release")
int tw_nfl_release(struct bpf_sock *ctx)
{
	return 1;
}

SEC("tp_btf/tcp_cong_state_set")
int BPF_PROG(tw_nfl_cong, struct sock *sk, __u8 ca_state)
{
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tw_nfl_rst_rcv, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tw_nfl_rst_snd, struct sock *sk)
{
	return 0;
}
