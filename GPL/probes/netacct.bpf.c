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
 * iterator over all socket storage, run before every read; tw_na_fold_files
 * over every process's open files where that walk is unsafe). Each fold takes
 * the counts with an atomic exchange, so concurrent folds and adds neither
 * lose nor double a count. Where a socket might be freed without a fold
 * (closed sockets still sending FINs and retransmissions, kernel sockets,
 * which never pass sock_release, listeners and the accepted sockets no
 * process has used yet), the counts go to the process entry per call or
 * packet instead.
 *
 * A GSO/GRO super-packet additionally reads its IP and L4 header lengths to
 * count the headers of the segments it stands for.
 *
 * On request (tw_netacct_options.interface_totals) an interface layer counts
 * what every interface carried, socket or not (ARP, forwarded, answered by
 * the kernel): tp_btf/netif_receive_skb and tp_btf/net_dev_start_xmit, per
 * ifindex, direction and class, see the end of this file.
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
/*
 * The interface layer (tw_netacct_options.interface_totals); set before
 * load. Off, the cgroup_skb programs skip its per-interface count (the
 * verifier drops the dead branch) and the tracepoint programs are not loaded.
 */
const volatile __u32 tw_cfg_na_ifaces = 0;

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

/*
 * Interface layer, per ifindex (max_entries 1 unless interface_totals: set
 * by the loader). Not preallocated: 160 bytes per CPU for every interface
 * seen, not for 4096 of them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tw_na_iface);
} tw_na_ifaces SEC(".maps");

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
		/* per-CPU, but process-context callers can be interrupted by the softirq ones */
		__sync_fetch_and_add(s, v);
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
	/* per-CPU value; atomic all the same: a softirq can interrupt a process-context update */
	__sync_fetch_and_add(&b->packets, pkts);
	__sync_fetch_and_add(&b->bytes, bytes);
}

/* An interface's entry of the interface layer, created if missing; NULL when the table is full. */
static __always_inline struct tw_na_iface *na_iface(__u32 ifindex)
{
	struct tw_na_iface *v = bpf_map_lookup_elem(&tw_na_ifaces, &ifindex);
	static const struct tw_na_iface zero;

	if (v)
		return v;
	bpf_map_update_elem(&tw_na_ifaces, &ifindex, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&tw_na_ifaces, &ifindex);
	if (!v)
		na_stat_add(TW_NA_STAT_IFACE_FULL, 1);
	return v;
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
 * The same fold reached through the processes' open files, for kernels on
 * which walking the socket storage map is unsafe (the library decides:
 * netacct.c, fold_by_files). A socket open in several processes is folded
 * more than once, which the exchange makes harmless; a socket in no file
 * table (an io_uring fixed file, one in flight over a unix socket) waits
 * for its owner change or its release.
 */
SEC("iter/task_file")
int tw_na_fold_files(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct socket *sock;
	struct na_sock *o;

	if (!file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	o = bpf_sk_storage_get(&tw_na_owners, sock->sk, NULL, 0);
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

/*
 * Interface layer, received packets: what ingress counted on this interface
 * (attributed or bucketed), the part of the interface's input that sockets
 * explain. Ingress runs in softirq (bottom halves off): plain per-CPU adds.
 * Sent packets are classified by tw_na_if_tx itself, from skb->sk: no work
 * for egress here.
 */
static __always_inline void na_iface_socket(struct __sk_buff *skb, __u8 dir, __u32 pkts,
					    __u64 bytes)
{
	struct tw_na_iface *v;

	if (!tw_cfg_na_ifaces || dir != TW_NA_DIR_IN)
		return;
	v = na_iface(skb->ifindex);
	if (!v)
		return;
	v->c[TW_NA_DIR_IN][TW_NA_IF_SOCKET].packets += pkts;
	v->c[TW_NA_DIR_IN][TW_NA_IF_SOCKET].bytes += bytes;
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
		na_iface_socket(skb, dir, pkts, bytes);
		na_bucket(skb->ifindex, TW_NA_BUCKET_NO_OWNER, full->protocol, dir, pkts, bytes);
		return 1;
	}
	na_wire_size(skb, &pkts, &bytes);
	na_iface_socket(skb, dir, pkts, bytes);
	idx = TW_NA_WIRE(na_proto_index(o->proto), dir);
	if (idx >= TW_NA_N_COUNTERS - 1)
		return 1;
	/* listeners receive only (SYNs, handshake ACKs): egress need not look */
	if (o->direct && !o->released && (dir == TW_NA_DIR_OUT || sk->state != NA_TCP_LISTEN)) {
		__u64 before;

		__sync_fetch_and_add(&o->cnt[idx], pkts);
		/*
		 * A fetching add: on arm64 the JIT makes a plain (unused-result)
		 * add an unordered STADD, a fetching one a fully ordered LDADDAL;
		 * on x86 both are locked, full barriers.
		 */
		before = __sync_fetch_and_add(&o->cnt[idx + 1], bytes);
		barrier_var(before);
		/*
		 * Closed meanwhile? Its fold may have run before these adds, and
		 * nothing else is sure to fold it before it is freed: fold now.
		 * The ordered add and sock_release's exchange are full barriers,
		 * so one of the two sides always sees the other.
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

/* ---- interface layer (tw_cfg_na_ifaces; not loaded otherwise) ---- */

#define NA_ETH_P_ARP 0x0806
#define NA_ETH_P_IPV6 0x86DD
#define NA_ETH_P_8021Q 0x8100
#define NA_ETH_P_8021AD 0x88A8
#define NA_NO_HEADER 0xffff /* an unset skb header offset */
#define NA_TCP_TIME_WAIT 6

/*
 * A cast, not a helper call, for reading skb_shinfo() (about 30 ns less per
 * packet than bpf_probe_read_kernel). Since 6.2; weak, so the object still
 * loads before: the loader then loads the *_pr programs instead.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * IP and L4 header bytes of each segment of a super-packet whose IP header
 * starts at l3 (0: unknown). The L4 header is found through the skb's
 * transport offset (the inner one for a tunnel packet); the TCP header's
 * length is read from the packet. Rare: one per up to 64 KiB.
 */
static __noinline __u32 na_if_gso_hdr(struct sk_buff *skb, __u64 head, __u64 l3)
{
	struct skb_shared_info *si = (void *)(head + skb->end);
	__u16 th = skb->transport_header;
	__u32 gso_type = BPF_CORE_READ(si, gso_type);
	__s64 hdr;
	__u8 b;

	if (BPF_CORE_READ_BITFIELD(skb, encapsulation))
		th = skb->inner_transport_header;
	if (th == NA_NO_HEADER)
		return 0;
	hdr = (__s64)(head + th - l3);
	if (hdr <= 0 || hdr > 256)
		return 0;
	if (!(gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)))
		return (__u32)hdr + 8; /* UDP (UDP_SEGMENT, UDP GRO) */
	if (bpf_probe_read_kernel(&b, 1, (void *)(head + th + 12)))
		return 0;
	return (__u32)hdr + (b >> 4) * 4;
}

static __always_inline void na_if_add(struct tw_na_bucket *c, __u32 pkts, __u64 bytes)
{
	/* per-CPU, and both hooks run with bottom halves off: no atomics needed */
	c->packets += pkts;
	c->bytes += bytes;
}

/*
 * One packet (skb) on interface dev, as the interface carries it: the same
 * model as na_wire_size (L3 length plus TW_NA_L2_HLEN, a super-packet as
 * its segments). On receive skb->data is at the L3 header already (the
 * driver pulled the link header); on transmit it is at the link header and
 * the L3 one is found through the network offset.
 */
static __always_inline void na_if_count(struct sk_buff *skb, struct net_device *dev, __u8 dir,
				       bool cast)
{
	__u64 head = (__u64)skb->head, data = (__u64)skb->data, l3 = data, bytes;
	__u32 len = skb->len, pkts = 1, cls = TW_NA_IF_N;
	__u16 proto = skb->protocol, nh, gso[2] = {};
	struct skb_shared_info *si;
	struct tw_na_iface *v;

	if (dir == TW_NA_DIR_OUT) {
		__s64 off = -1;

		nh = skb->network_header;
		if (nh != NA_NO_HEADER)
			off = (__s64)(head + nh - data);
		/* no network offset (a packet socket's raw frame): the device's link header */
		if (off <= 0 || off > len)
			off = dev->header_ops ? dev->hard_header_len : 0;
		if (off > len)
			off = len;
		l3 = data + off;
		len -= (__u32)off;
	}
	bytes = (__u64)len + TW_NA_L2_HLEN;
	/* skb_shinfo(), at head + end: gso_size and gso_segs */
	if (cast) {
		si = bpf_rdonly_cast((void *)(head + skb->end),
				     bpf_core_type_id_kernel(struct skb_shared_info));
		gso[0] = si->gso_size; /* plain loads; a fault would read 0 */
		gso[1] = si->gso_segs;
	} else {
		si = (void *)(head + skb->end);
		bpf_core_read(gso, sizeof(gso), &si->gso_size); /* adjacent in every kernel */
	}
	if (gso[0] && gso[1] > 1) {
		__u32 segs = gso[1];

		pkts = segs;
		bytes += (__u64)(segs - 1) * (na_if_gso_hdr(skb, head, l3) + TW_NA_L2_HLEN);
	}
	if (proto == __builtin_bswap16(NA_ETH_P_ARP))
		cls = TW_NA_IF_ARP;
	else if (proto != __builtin_bswap16(NA_ETH_P_IP) &&
		 proto != __builtin_bswap16(NA_ETH_P_IPV6) &&
		 proto != __builtin_bswap16(NA_ETH_P_8021Q) &&
		 proto != __builtin_bswap16(NA_ETH_P_8021AD))
		cls = TW_NA_IF_NON_IP;
	else if (dir == TW_NA_DIR_OUT) {
		struct sock *sk = skb->sk;

		if (!sk) {
			if (skb->skb_iif)
				cls = TW_NA_IF_FORWARDED; /* came in on an interface, leaves without a socket */
		} else if ((sk->__sk_common.skc_family == NA_AF_INET ||
			    sk->__sk_common.skc_family == NA_AF_INET6) &&
			   sk->__sk_common.skc_state != NA_TCP_TIME_WAIT) {
			/*
			 * What egress counts (attributed or bucketed): it runs for
			 * every packet of a full IP socket, and for a SYN-ACK, whose
			 * request socket it replaces with the listener; not for a
			 * time-wait socket's.
			 */
			cls = TW_NA_IF_SOCKET;
		}
	}
	v = na_iface(dev->ifindex);
	if (!v)
		return;
	na_if_add(&v->c[dir & 1][TW_NA_IF_TOTAL], pkts, bytes);
	if (cls == TW_NA_IF_N)
		return;
	na_if_add(&v->c[dir & 1][cls], pkts, bytes);
	if (cls != TW_NA_IF_FORWARDED)
		return;
	/* the interface it came in on: its forwarded input, as it leaves */
	v = na_iface((__u32)skb->skb_iif);
	if (v)
		na_if_add(&v->c[TW_NA_DIR_IN][TW_NA_IF_FORWARDED], pkts, bytes);
}

/* Every received packet, once per interface it is received on (ARP, forwarded, ...), before any socket. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(tw_na_if_rx, struct sk_buff *skb)
{
	na_if_count(skb, skb->dev, TW_NA_DIR_IN, true);
	return 0;
}

/* Every packet handed to a driver (after software segmentation and the qdisc). */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(tw_na_if_tx, struct sk_buff *skb, struct net_device *dev)
{
	na_if_count(skb, dev, TW_NA_DIR_OUT, true);
	return 0;
}

/* The same before 6.2 (no bpf_rdonly_cast): skb_shinfo() read with a helper. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(tw_na_if_rx_pr, struct sk_buff *skb)
{
	na_if_count(skb, skb->dev, TW_NA_DIR_IN, false);
	return 0;
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(tw_na_if_tx_pr, struct sk_buff *skb, struct net_device *dev)
{
	na_if_count(skb, dev, TW_NA_DIR_OUT, false);
	return 0;
}
