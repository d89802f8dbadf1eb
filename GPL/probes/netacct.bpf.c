// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-process network accounting, to the wire.
 *
 * Two layers are counted for every process (tgid keyed with its start time,
 * so a reused pid is a new entry; or, on request, every thread: tid and its
 * own start time):
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
 * The counts themselves are kept in the socket storage too, next to the
 * owner, so a call or a packet costs one socket-storage lookup and two
 * atomic adds, no hash lookup. They are moved ("folded") into the owner's
 * process entry when the owner changes, when the socket is closed
 * (cgroup/sock_release), and when the library reads (tw_na_fold, an
 * iterator over all socket storage, run before every read). Each fold takes
 * the counts with an atomic exchange, so concurrent folds and adds neither
 * lose nor double a count. Where a socket might be freed without a fold
 * (closed sockets still sending FINs and retransmissions, kernel sockets,
 * which never pass sock_release, listeners and the accepted sockets no
 * process has used yet), the counts go to the process entry per call or
 * packet instead.
 *
 * A GSO/GRO super-packet additionally reads its IP and L4 header lengths to
 * count the headers of the segments it stands for.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_netacct_wire.h"
#include "tw_sched.h" /* tw_sched__cgroup_id: the same cgroup notion as the scheduler probe */

char LICENSE[] SEC("license") = "GPL";

#define NA_AF_INET 2
#define NA_AF_INET6 10
#define NA_IPPROTO_TCP 6
#define NA_IPPROTO_UDP 17
#define NA_IPPROTO_UDPLITE 136
#define NA_MSG_PEEK 2
#define NA_PF_KTHREAD 0x00200000
#define NA_ETH_P_IP 0x0800
#define NA_TCP_LISTEN 10

/* Entries per thread instead of per process (tw_netacct_options.per_thread); set before load. */
const volatile __u32 tw_cfg_na_per_thread = 0;

/* A socket: its owner and the counts not yet folded into the owner's entry. */
struct na_sock {
	struct tw_na_key key; /* the owner */
	/*
	 * Count here (else in the entry, per call or packet): the owner's entry
	 * existed when the owner was set, and the socket is neither a kernel
	 * socket nor a listener (sock_release never sees the former; the latter
	 * would pass its counts on to every accepted clone).
	 */
	__u32 direct;
	__u32 released; /* closed: sock_release folded it; set by atomic exchange */
	__u32 proto;    /* IPPROTO_* of the socket, for the bucket of an orphaned fold */
	__u32 pad;
	__u64 cnt[TW_NA_N_COUNTERS];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	/* CLONE: an accepted socket starts with its listener's owner */
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct na_sock);
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

static __always_inline void na_bucket(__u32 ifindex, __u16 kind, __u32 proto, __u8 dir, __u64 pkts,
				      __u64 bytes)
{
	struct tw_na_bucket_key bk = {.ifindex = ifindex, .kind = kind, .proto = proto, .dir = dir};
	struct tw_na_bucket *b = bpf_map_lookup_elem(&tw_na_buckets, &bk), nb = {};

	if (!b) {
		nb.packets = pkts;
		nb.bytes = bytes;
		if (!bpf_map_update_elem(&tw_na_buckets, &bk, &nb, BPF_NOEXIST))
			return; /* created with these counts */
		b = bpf_map_lookup_elem(&tw_na_buckets, &bk); /* created meanwhile elsewhere */
		if (!b) {
			na_stat_add(TW_NA_STAT_BUCKET_FULL, 1);
			return;
		}
	}
	b->packets += pkts; /* per-CPU value */
	b->bytes += bytes;
}

/*
 * Move a socket's counts into its owner's entry. Every count is taken with
 * an atomic exchange, so of concurrent folds (owner change, release, the
 * library's iterator) and adds each count lands exactly once. The owner is
 * read after the exchange: should it change meanwhile (a rare race with
 * another process's first call), the counts go to the newer owner.
 */
static __noinline void na_fold(struct na_sock *o)
{
	__u64 v[TW_NA_N_COUNTERS], any = 0;
	struct tw_na_proc *p;
	struct tw_na_key k;
	int i;

	for (i = 0; i < TW_NA_N_COUNTERS; i++) {
		v[i] = o->cnt[i] ? __sync_lock_test_and_set(&o->cnt[i], 0) : 0;
		any |= v[i];
	}
	if (!any)
		return;
	k = o->key;
	p = bpf_map_lookup_elem(&tw_na_procs, &k);
	if (p) {
		for (i = 0; i < TW_NA_N_COUNTERS; i++)
			if (v[i])
				__sync_fetch_and_add(&p->cnt[i], v[i]);
		return;
	}
	/*
	 * The entry is gone (evicted: the library folds before it evicts, so
	 * only a socket outliving its owner's retention gets here). The wire
	 * counts go to the no-entry bucket of no interface; payload counts have
	 * no bucket: the fold is counted.
	 */
	na_stat_add(TW_NA_STAT_FOLD_NO_ENTRY, 1);
	for (__u8 dir = 0; dir < 2; dir++) {
		__u64 pk = 0, by = 0;
		for (__u32 pr = 0; pr < 3; pr++) {
			pk += v[TW_NA_WIRE(pr, dir)];
			by += v[TW_NA_WIRE(pr, dir) + 1];
		}
		if (pk | by)
			na_bucket(0, TW_NA_BUCKET_NO_ENTRY, o->proto, dir, pk, by);
	}
}

/* ---- process context ---- */

/*
 * task is a trusted BTF pointer everywhere here (bpf_get_current_task_btf,
 * tp_btf arguments): plain loads, one instruction per hop, where
 * BPF_CORE_READ would cost a bpf_probe_read_kernel call per hop.
 */
static __always_inline void na_key_of(struct task_struct *task, struct tw_na_key *k)
{
	k->zero = 0;
	if (tw_cfg_na_per_thread) {
		k->id = task->pid;
		k->start_ns = task->start_boottime;
	} else {
		k->id = task->tgid;
		k->start_ns = task->group_leader->start_boottime;
	}
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
	if (task->flags & NA_PF_KTHREAD)
		fresh.flags = TW_NA_PROC_KTHREAD;
	fresh.cgroup_id = tw_sched__cgroup_id(task); /* where the process was when first seen */
	fresh.tgid = task->tgid;
	fresh.proc_start_ns = task->group_leader->start_boottime;
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
	struct task_struct *task = bpf_get_current_task_btf();
	struct na_sock *o;
	struct tw_na_key k;

	if (sk->family != NA_AF_INET && sk->family != NA_AF_INET6)
		return 1;
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return 1;
	na_key_of(task, &k);
	o->key = k;
	o->proto = sk->protocol;
	/* a user socket (this hook skips kernel ones): sock_release will fold it */
	o->direct = na_proc_of(task, &k) != NULL;
	return 1;
}

/* A user socket closed: fold it; what it still carries (FIN, retransmissions) goes per packet. */
SEC("cgroup/sock_release")
int tw_na_sock_release(struct bpf_sock *sk)
{
	struct na_sock *o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, 0);

	if (!o)
		return 1;
	/* an exchange, a full barrier: see the re-check in na_skb */
	__sync_lock_test_and_set(&o->released, 1);
	na_fold(o);
	return 1;
}

/* The library's fold before it reads: every socket's counts into the entries. */
SEC("iter/bpf_sk_storage_map")
int tw_na_fold(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct na_sock *o = ctx->value;

	if (o)
		na_fold(o);
	return 0;
}

/*
 * A send or receive call by a process other than the recorded owner (or
 * the first one seen): what the socket holds is the previous owner's; from
 * now on it counts for this one. Returns this one's entry.
 */
static __always_inline struct tw_na_proc *na_set_owner(struct na_sock *o, struct sock *sk,
						       struct task_struct *task,
						       const struct tw_na_key *k)
{
	struct tw_na_proc *p;

	na_fold(o);
	o->key = *k;
	o->proto = sk->sk_protocol;
	p = na_proc_of(task, k);
	o->direct = p && !o->released && !BPF_CORE_READ_BITFIELD(sk, sk_kern_sock) &&
		    sk->__sk_common.skc_state != NA_TCP_LISTEN;
	return p;
}

/* The payload counter pair of a call on a socket of this protocol; TW_NA_N_COUNTERS if none. */
static __always_inline __u32 na_payload_index(__u32 proto, int recv)
{
	if (proto == NA_IPPROTO_TCP)
		return recv ? TW_NA_TCP_RCV_CALLS : TW_NA_TCP_SND_CALLS;
	if (proto == NA_IPPROTO_UDP || proto == NA_IPPROTO_UDPLITE)
		return recv ? TW_NA_UDP_RCV_CALLS : TW_NA_UDP_SND_CALLS;
	return TW_NA_N_COUNTERS; /* ICMP, raw: wire only, but the owner still matters */
}

/* The rest of na_payload: a socket not yet ours, or not counting in its storage. */
static __always_inline void na_payload_slow(struct sock *sk, struct na_sock *o,
					    struct task_struct *task, const struct tw_na_key *k,
					    int ret, int recv)
{
	struct tw_na_proc *p;
	__u32 idx = na_payload_index(sk->sk_protocol, recv);

	if (!o)
		o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		p = na_proc_of(task, k); /* no storage (out of memory): count per call */
	} else if (o->key.id != k->id || o->key.start_ns != k->start_ns) {
		p = na_set_owner(o, sk, task, k);
	} else {
		/* not counted in the socket: was the entry missing, or is it a kernel socket? */
		p = na_proc_of(task, k);
		if (p && !o->released && !BPF_CORE_READ_BITFIELD(sk, sk_kern_sock) &&
		    sk->__sk_common.skc_state != NA_TCP_LISTEN)
			o->direct = 1;
	}
	if (!p || idx >= TW_NA_N_COUNTERS - 1)
		return;
	__sync_fetch_and_add(&p->cnt[idx], 1);
	__sync_fetch_and_add(&p->cnt[idx + 1], ret);
}

/*
 * A send or receive returned: payload, and the owner follows whoever uses
 * the socket. The protocol is read from the storage, next to the counts
 * (the socket's own field is on another cache line).
 */
static __always_inline void na_payload(struct sock *sk, int ret, int flags, int recv)
{
	struct task_struct *task;
	struct na_sock *o;
	struct tw_na_key k;
	__u16 family;
	__u32 idx;

	if (ret <= 0 || !sk)
		return; /* a failed call (-EAGAIN, ...) or an empty one moved nothing */
	if (recv && (flags & NA_MSG_PEEK))
		return; /* the bytes stay queued: counted when really read */
	family = sk->__sk_common.skc_family;
	if (family != NA_AF_INET && family != NA_AF_INET6)
		return; /* AF_UNIX, netlink, ...: one load, before any helper call */
	task = bpf_get_current_task_btf();
	na_key_of(task, &k);
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, 0);
	if (o && o->key.id == k.id && o->key.start_ns == k.start_ns && o->direct) {
		/*
		 * The common case. No re-check of `released` as in na_skb: the
		 * caller holds a file reference, so sock_release cannot run yet.
		 */
		idx = na_payload_index(o->proto, recv);
		if (idx < TW_NA_N_COUNTERS - 1) {
			__sync_fetch_and_add(&o->cnt[idx], 1);
			__sync_fetch_and_add(&o->cnt[idx + 1], ret);
		}
		return;
	}
	na_payload_slow(sk, o, task, &k, ret, recv);
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

/*
 * The last thread left (or, per thread, this thread): the entry is kept
 * (retention is the library's job) and marked.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tw_na_exit, struct task_struct *task)
{
	struct tw_na_proc *p;
	struct tw_na_key k;

	if (!tw_cfg_na_per_thread && task->signal->live.counter != 0)
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

static __always_inline int na_skb(struct __sk_buff *skb, __u8 dir)
{
	struct bpf_sock *sk = skb->sk, *full;
	struct tw_na_proc *p;
	struct na_sock *o;
	__u32 pkts, idx;
	__u64 bytes;

	if (!sk)
		return 1; /* cgroup_skb always has one; the verifier wants the check */
	/*
	 * The storage helper takes the socket as it comes and returns NULL for
	 * a request or time-wait mini socket itself: no bpf_sk_fullsock call
	 * (a helper call is most of the cost here) unless there is no storage.
	 */
	o = bpf_sk_storage_get(&tw_na_owners, sk, NULL, 0);
	if (!o) {
		full = bpf_sk_fullsock(sk);
		if (!full)
			return 1; /* a mini socket: not ours to count */
		na_wire_size(skb, &pkts, &bytes);
		na_bucket(skb->ifindex, TW_NA_BUCKET_NO_OWNER, full->protocol, dir, pkts, bytes);
		return 1;
	}
	na_wire_size(skb, &pkts, &bytes);
	idx = TW_NA_WIRE(na_proto_index(o->proto), dir);
	if (idx >= TW_NA_N_COUNTERS - 1)
		return 1;
	/* listeners receive only (SYNs, handshake ACKs): egress need not look */
	if (o->direct && !o->released && (dir == TW_NA_DIR_OUT || sk->state != NA_TCP_LISTEN)) {
		__sync_fetch_and_add(&o->cnt[idx], pkts);
		__sync_fetch_and_add(&o->cnt[idx + 1], bytes);
		/*
		 * Closed meanwhile? Its fold may have run before these adds, and
		 * nothing else is sure to fold it before it is freed: fold now.
		 * The adds (locked on x86) and sock_release's exchange are full
		 * barriers, so one of the two sides always sees the other.
		 */
		if (o->released)
			na_fold(o);
		return 1;
	}
	if (dir == TW_NA_DIR_IN && o->direct && sk->state == NA_TCP_LISTEN) {
		/* a listener, first packet: its clones copy the storage, so it holds no counts */
		o->direct = 0;
		na_fold(o);
	}
	p = bpf_map_lookup_elem(&tw_na_procs, &o->key);
	if (!p) {
		na_bucket(skb->ifindex, TW_NA_BUCKET_NO_ENTRY, o->proto, dir, pkts, bytes);
		return 1;
	}
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
