/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network helpers: the flow table and reading a socket's addresses.
 *
 * Why a hash keyed by socket cookie and not socket storage: the hook that
 * sees a socket released by its owner (cgroup/sock_release) and the classic
 * syscall tracepoint that sees accept() cannot use sk storage or the
 * tcp_sock casts on this kernel, but every hook can get the cookie (the
 * helper, or skc_cookie once generated). The flow keeps the socket's
 * address so that hooks without a typed pointer can still read tcp_sock:
 * the socket is alive whenever one of our hooks runs for it.
 */
#ifndef TW_NET_H
#define TW_NET_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "tracewire_wire.h"

#define TW_AF_INET 2
#define TW_AF_INET6 10
#define TW_IPPROTO_TCP 6
#define TW_TCP_ESTABLISHED 1
#define TW_TCP_SYN_SENT 2
#define TW_TCP_FIN_WAIT1 4
#define TW_TCP_FIN_WAIT2 5
#define TW_TCP_CLOSE 7
#define TW_TCP_CLOSE_WAIT 8
#define TW_TCP_LAST_ACK 9
#define TW_TCP_CLOSING 11
#define TW_RCV_SHUTDOWN 1
#define TW_TCP_CA_RECOVERY 3
#define TW_TCP_CA_LOSS 4

/* tw_flow.track: what the flow owes the consumer */
#define TW_FLOW_OWNED 0x1          /* owner recorded (connect or accept) */
#define TW_FLOW_REPORT_CONN 0x2    /* an open event went out: a CLOSED must follow */
#define TW_FLOW_REPORT_METRICS 0x4 /* the owner passed the filters: metrics wanted */
#define TW_FLOW_RELEASED 0x8       /* the owner let go of the socket */
#define TW_FLOW_ENDED 0x10         /* TCP state CLOSE reached */
#define TW_FLOW_FIN_SENT 0x20      /* our FIN is queued: it takes one sequence number */
#define TW_FLOW_FIN_RECEIVED 0x40  /* the peer's FIN arrived (known at CLOSE) */

struct tw_flow {
	struct tw_net_tuple tuple; /* as at open: after a reset the kernel forgets the port */
	struct tw_pid_info owner;
	char comm[16];
	__u64 sk;              /* kernel address of the socket, valid while our hooks run for it */
	__u64 open_ns;         /* boot time of connect() or of the passive handshake */
	__u64 base_acked;      /* tcp_sock counters at ESTABLISHED: the SYNs are not payload */
	__u64 base_received;
	__u64 rtt_sum_us;
	__u32 rtt_samples;
	__u32 recoveries;
	__u32 losses;
	__u32 sndq_max;
	__u32 track;           /* TW_FLOW_* */
	__u32 flags;           /* TW_NET_FLAG_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144); /* allocated as used (no prealloc) */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);    /* socket cookie */
	__type(value, struct tw_flow);
} tw_flows SEC(".maps");

static __always_inline __u64 tw_sock__cookie(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

static __always_inline __u32 tw_sock__netns(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* The socket's two ends; dual-stack sockets talking IPv4 are flagged as v4-mapped. */
static __always_inline void tw_sock__tuple(struct sock *sk, struct tw_net_tuple *t, __u32 *flags)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->protocol = BPF_CORE_READ(sk, sk_protocol);
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == TW_AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		/* ::ffff:a.b.c.d: bytes 10 and 11 are 0xff, the first ten are zero */
		if (t->daddr[10] == 0xff && t->daddr[11] == 0xff && !t->daddr[0] && !t->daddr[9] &&
		    !(*(__u64 *)&t->daddr[0]))
			*flags |= TW_NET_FLAG_V4_MAPPED;
	} else {
		BPF_CORE_READ_INTO((__u32 *)&t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)&t->daddr, sk, __sk_common.skc_daddr);
	}
}

/* Payload counts of a flow: the SYNs are left out by the baselines, the FINs here. */
struct tw_flow_bytes {
	__u64 acked;          /* our payload the peer acknowledged */
	__u64 received;       /* the peer's payload received in order */
	__u64 written;        /* payload the application handed to TCP */
	__u64 read;           /* payload the application took from TCP */
	__u32 sndq;           /* written, not yet acknowledged */
};

static __always_inline void tw_flow__bytes(struct tcp_sock *tp, const struct tw_flow *f,
					   __u32 state, struct tw_flow_bytes *b)
{
	__u32 write_seq = BPF_CORE_READ(tp, write_seq), snd_una = BPF_CORE_READ(tp, snd_una);
	__u32 unread = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
	__u64 acked = BPF_CORE_READ(tp, bytes_acked) - f->base_acked;
	__u64 received = BPF_CORE_READ(tp, bytes_received) - f->base_received;
	__u32 fin_sent = (f->track & TW_FLOW_FIN_SENT) ? 1 : 0, fin_received;

	__builtin_memset(b, 0, sizeof(*b));
	if (!(f->flags & TW_NET_FLAG_ESTABLISHED))
		return;
	/* before CLOSE, RCV_SHUTDOWN means the FIN came (or shutdown(SHUT_RD), rare) */
	if (state == TW_TCP_CLOSE)
		fin_received = (f->track & TW_FLOW_FIN_RECEIVED) ? 1 : 0;
	else
		fin_received = (BPF_CORE_READ((struct sock *)tp, sk_shutdown) & TW_RCV_SHUTDOWN) ? 1 : 0;
	b->sndq = write_seq - snd_una;
	b->written = acked + b->sndq - fin_sent;
	/* the FIN is the last sequence number: it is acknowledged when everything is */
	b->acked = acked - (fin_sent && b->sndq == 0 ? 1 : 0);
	if (fin_sent && b->sndq)
		b->sndq--;
	b->received = received - fin_received;
	/* the FIN counts as unread until the application reads end-of-file */
	if (fin_received && unread)
		unread--;
	b->read = b->received - unread;
}

#endif /* TW_NET_H */
