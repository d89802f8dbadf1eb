// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-process network accounting, to the wire.
 *
 * Two layers are counted for every process (tgid keyed with its start time,
 * so a reused pid is a new entry):
 *
 *  - payload, at the socket layer: tp_btf/sock_send_length and
 *    sock_recv_length fire in the calling task after every sendmsg/recvmsg
 *    on a socket. Only ret > 0 is added (a failed call, e.g. -EAGAIN, is
 *    nothing sent), and a MSG_PEEK read is skipped: the same bytes are
 *    counted when they are really read.
 *  - wire, at the IP layer: cgroup_skb egress/ingress on the cgroup v2 root
 *    see every IP packet leaving or delivered to a local full socket, in
 *    every network namespace. They run in softirq for received packets, so
 *    `current` means nothing there: the packet is charged to the owner
 *    recorded on its socket.
 *
 * The owner lives in socket storage (one pointer chase from the socket,
 * cheaper than a hash by cookie on the per-packet path). It is written in
 * process context only: at socket creation (cgroup/sock_create) and at
 * every send/receive call whose task differs from the recorded owner, which
 * also covers accepted sockets (born in softirq as clones of the listener:
 * BPF_F_CLONE hands them the listener's owner until the acceptor uses
 * them), descriptors passed to other processes, and sockets older than the
 * agent. Kernel sockets used by kernel threads (NFS, iSCSI) get the kernel
 * thread as owner the same way.
 *
 * Traffic with no owner goes to explicit buckets per interface: kernel
 * control sockets (RSTs for closed ports, time-wait ACKs, ICMP replies)
 * and owners whose entry could not be made.
 *
 * Per-packet work: one socket-storage lookup, one hash lookup, two atomic
 * adds. A GSO/GRO super-packet additionally reads its IP and L4 header
 * lengths to count the headers of the segments it stands for.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_netacct_wire.h"

char LICENSE[] SEC("license") = "GPL";

#define NA_AF_INET 2
#define NA_AF_INET6 10
#define NA_IPPROTO_TCP 6
#define NA_IPPROTO_UDP 17
#define NA_IPPROTO_UDPLITE 136
#define NA_MSG_PEEK 2
#define NA_PF_KTHREAD 0x00200000
#define NA_ETH_P_IP 0x0800

/* The socket's owner. */
struct na_owner {
	struct tw_na_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	/* CLONE: an accepted socket starts with its listener's owner */
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct na_owner);
} tw_na_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* set by the loader (tw_netacct_options.max_procs) */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_na_key);
	__type(value, struct tw_na_proc);
} tw_na_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tw_na_bucket_key);
	__type(value, struct tw_na_bucket);
} tw_na_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_NA_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_na_stats SEC(".maps");

static __always_inline void na_stat_add(__u32 idx, __u64 v)
{
	__u64 *s = bpf_map_lookup_elem(&tw_na_stats, &idx);

	if (s)
		*s += v; /* per-CPU: no atomic needed */
}

static __always_inline __u32 na_proto_index(__u32 proto)
{
	if (proto == NA_IPPROTO_TCP)
		return TW_NA_PROTO_TCP;
	if (proto == NA_IPPROTO_UDP || proto == NA_IPPROTO_UDPLITE)
		return TW_NA_PROTO_UDP;
	return TW_NA_PROTO_OTHER;
}

/* ---- process context ---- */

static __always_inline void na_key_of(struct task_struct *task, struct tw_na_key *k)
{
	k->tgid = BPF_CORE_READ(task, tgid);
	k->zero = 0;
	k->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
}

/* The entry of the current process, created if missing; NULL when the table is full. */
static __always_inline struct tw_na_proc *na_proc_of(struct task_struct *task,
						     const struct tw_na_key *k)
{
	struct tw_na_proc *p = bpf_map_lookup_elem(&tw_na_procs, k);
	struct tw_na_proc fresh = {};

	if (p)
		return p;
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	if (BPF_CORE_READ(task, flags) & NA_PF_KTHREAD)
		fresh.flags = TW_NA_PROC_KTHREAD;
	if (bpf_map_update_elem(&tw_na_procs, k, &fresh, BPF_NOEXIST)) {
		p = bpf_map_lookup_elem(&tw_na_procs, k); /* lost a race: fine */
		if (!p)
			na_stat_add(TW_NA_STAT_PROC_FULL, 1);
		return p;
	}
	return bpf_map_lookup_elem(&tw_na_procs, k);
}

/* Every socket a process creates starts as its own (before the SYN or first datagram). */
SEC("cgroup/sock_create")
int tw_na_sock_create(struct bpf_sock *sk)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct na_owner *o;
	struct tw_na_key k;

	if (sk->family != NA_AF_INET && sk->family != NA_AF_INET6)
		return 1;
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return 1;
	na_key_of(task, &k);
	o->key = k;
	na_proc_of(task, &k);
	return 1;
}

/* A send or receive returned: payload, and the owner follows whoever uses the socket. */
static __always_inline void na_payload(struct sock *sk, int ret, int flags, int recv)
{
	struct task_struct *task;
	struct tw_na_proc *p;
	struct na_owner *o;
	struct tw_na_key k;
	__u16 family;
	__u32 proto, idx;

	if (ret <= 0 || !sk)
		return; /* a failed call (-EAGAIN, ...) or an empty one moved nothing */
	if (recv && (flags & NA_MSG_PEEK))
		return; /* the bytes stay queued: counted when really read */
	family = sk->__sk_common.skc_family;
	if (family != NA_AF_INET && family != NA_AF_INET6)
		return; /* AF_UNIX, netlink, ... use the same tracepoints */
	proto = sk->sk_protocol;
	if (proto == NA_IPPROTO_TCP)
		idx = recv ? TW_NA_TCP_RCV_CALLS : TW_NA_TCP_SND_CALLS;
	else if (proto == NA_IPPROTO_UDP || proto == NA_IPPROTO_UDPLITE)
		idx = recv ? TW_NA_UDP_RCV_CALLS : TW_NA_UDP_SND_CALLS;
	else
		idx = TW_NA_N_COUNTERS; /* ICMP, raw: wire only, but the owner still matters */
	task = bpf_get_current_task_btf();
	na_key_of(task, &k);
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (o && (o->key.tgid != k.tgid || o->key.start_ns != k.start_ns))
		o->key = k;
	p = na_proc_of(task, &k);
	if (!p || idx >= TW_NA_N_COUNTERS - 1)
		return;
	__sync_fetch_and_add(&p->cnt[idx], 1);
	__sync_fetch_and_add(&p->cnt[idx + 1], ret);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tw_na_send, struct sock *sk, int ret, int flags)
{
	na_payload(sk, ret, flags, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tw_na_recv, struct sock *sk, int ret, int flags)
{
	na_payload(sk, ret, flags, 1);
	return 0;
}

/* The comm of an entry follows exec; the entry itself is keyed by tgid and start. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tw_na_exec, struct task_struct *task)
{
	struct tw_na_proc *p;
	struct tw_na_key k;

	na_key_of(task, &k);
	p = bpf_map_lookup_elem(&tw_na_procs, &k);
	if (p)
		bpf_get_current_comm(p->comm, sizeof(p->comm));
	return 0;
}

/* The last thread left: the entry is kept (retention is the library's job) and marked. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tw_na_exit, struct task_struct *task)
{
	struct tw_na_proc *p;
	struct tw_na_key k;

	if (task->signal->live.counter != 0)
		return 0;
	na_key_of(task, &k);
	p = bpf_map_lookup_elem(&tw_na_procs, &k);
	if (!p)
		return 0;
	p->exit_ns = bpf_ktime_get_boot_ns();
	p->flags |= TW_NA_PROC_EXITED;
	return 0;
}

/* ---- per packet (softirq for ingress) ---- */

/*
 * Packets and bytes the interface carries for this skb. A GSO (egress) or
 * GRO (ingress) super-packet stands for gso_segs segments, each with its own
 * IP and L4 header and link-layer header.
 */
static __always_inline void na_wire_size(struct __sk_buff *skb, __u32 *pkts, __u64 *bytes)
{
	__u32 segs = skb->gso_segs, hdr = 0;
	__u8 b[2];

	*pkts = 1;
	*bytes = skb->len + TW_NA_L2_HLEN;
	if (!skb->gso_size || segs <= 1)
		return;
	/* rare per byte (one per up to 64 KiB): the header lengths are worth two loads */
	if (skb->protocol == __builtin_bswap16(NA_ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, b, 1))
			return;
		hdr = (b[0] & 0xf) * 4;
		if (bpf_skb_load_bytes(skb, 9, &b[1], 1))
			return;
	} else {
		hdr = 40; /* IPv6 without extension headers (GSO does not apply to those here) */
		if (bpf_skb_load_bytes(skb, 6, &b[1], 1))
			return;
	}
	if (b[1] == NA_IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, hdr + 12, b, 1))
			return;
		hdr += (b[0] >> 4) * 4;
	} else {
		hdr += 8; /* UDP (UDP_SEGMENT / UDP GRO) */
	}
	*pkts = segs;
	*bytes += (__u64)(segs - 1) * (hdr + TW_NA_L2_HLEN);
	na_stat_add(TW_NA_STAT_GSO_SKBS, 1);
	na_stat_add(TW_NA_STAT_GSO_EXTRA_PKTS, segs - 1);
	na_stat_add(TW_NA_STAT_GSO_EXTRA_BYTES, (__u64)(segs - 1) * (hdr + TW_NA_L2_HLEN));
}

static __always_inline void na_bucket(struct __sk_buff *skb, __u16 kind, __u32 proto, __u8 dir,
				      __u32 pkts, __u64 bytes)
{
	struct tw_na_bucket_key bk = {.ifindex = skb->ifindex, .kind = kind, .proto = proto, .dir = dir};
	struct tw_na_bucket *b = bpf_map_lookup_elem(&tw_na_buckets, &bk), nb = {};

	if (!b) {
		nb.packets = pkts;
		nb.bytes = bytes;
		if (!bpf_map_update_elem(&tw_na_buckets, &bk, &nb, BPF_NOEXIST))
			return; /* created with this packet's counts */
		b = bpf_map_lookup_elem(&tw_na_buckets, &bk); /* created meanwhile elsewhere */
		if (!b) {
			na_stat_add(TW_NA_STAT_BUCKET_FULL, 1);
			return;
		}
	}
	b->packets += pkts; /* per-CPU value */
	b->bytes += bytes;
}

static __always_inline int na_skb(struct __sk_buff *skb, __u8 dir)
{
	struct bpf_sock *sk = skb->sk;
	struct tw_na_proc *p;
	struct na_owner *o;
	__u32 pkts, proto, idx;
	__u64 bytes;

	if (!sk)
		return 1; /* cgroup_skb always has one; the verifier wants the check */
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	na_wire_size(skb, &pkts, &bytes);
	proto = sk->protocol;
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, 0);
	if (!o) {
		na_bucket(skb, TW_NA_BUCKET_NO_OWNER, proto, dir, pkts, bytes);
		return 1;
	}
	p = bpf_map_lookup_elem(&tw_na_procs, &o->key);
	if (!p) {
		na_bucket(skb, TW_NA_BUCKET_NO_ENTRY, proto, dir, pkts, bytes);
		return 1;
	}
	idx = TW_NA_WIRE(na_proto_index(proto), dir);
	if (idx >= TW_NA_N_COUNTERS - 1)
		return 1;
	__sync_fetch_and_add(&p->cnt[idx], pkts);
	__sync_fetch_and_add(&p->cnt[idx + 1], bytes);
	return 1;
}

SEC("cgroup_skb/egress")
int tw_na_egress(struct __sk_buff *skb)
{
	return na_skb(skb, TW_NA_DIR_OUT);
}

SEC("cgroup_skb/ingress")
int tw_na_ingress(struct __sk_buff *skb)
{
	return na_skb(skb, TW_NA_DIR_IN);
}
