// SPDX-License-Identifier: GPL-2.0-only
/*
 * UDP flows and DNS messages.
 *
 * Datagrams are seen by cgroup_skb programs on the cgroup v2 root, both
 * directions, with the packet's headers (unconnected sockets keep no peer
 * in the socket, so the packet is the only place the peer is known). They
 * run for every packet on the host: anything that is not UDP leaves after
 * one header load. UDP datagrams are counted into a flow per (socket, peer);
 * datagrams on port 53 are also copied (at most 512 bytes) for the library
 * to parse as DNS.
 *
 * Owners come from process context: cgroup/sock_create records the creator
 * of every UDP socket, egress falls back to the sender. Ingress runs in
 * softirq and only reads the owner table.
 *
 * A released socket is noted in tw_udp_closed; the library runs the flow
 * iterator every second, which reports a released socket's flows once,
 * finally, and forgets them, and live flows at the configured interval.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_filter.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_ETH_P_IP 0x0800
#define TW_ETH_P_IPV6 0x86DD
#define TW_IPPROTO_UDP 17
#define TW_DNS_PORT 53

/* Report periodic records of live flows this often; 0: only at release. Set by the loader. */
const volatile __u64 tw_cfg_udp_interval_ns = 0;
/* Set by the library before its last iterator run at stop: report every live flow. */
__u64 tw_udp_flush_all = 0;

/* Filter rejections are counted under a type the consumer asked for. */
static __always_inline __u32 tw_udp__count_type(void)
{
	return tw_type_wanted(TW_EVENT_NETWORK_UDP_FLOW) ? TW_EVENT_NETWORK_UDP_FLOW
							 : TW_EVENT_NETWORK_DNS;
}

/* With any include filter, something nobody can be named for is not reported. */
static __always_inline int tw_udp__include_filter_used(void)
{
	return tw_cfg_pid_include_mode || (tw_cfg_comm_filter & TW_TASK_FILTER_INCLUDE) ||
	       (tw_cfg_uid_filter & TW_TASK_FILTER_INCLUDE) ||
	       (tw_cfg_cgroup_filter & TW_TASK_FILTER_INCLUDE);
}

struct tw_udp_owner {
	struct tw_pid_info pids;
	char comm[16];
	__u32 netns;
	__u32 report;     /* the owner passed the filters */
};

struct tw_udp_key {
	__u64 cookie;
	__u8 raddr[16];
	__u16 rport;
	__u16 family;
	__u32 pad;
};

struct tw_udp_state {
	struct tw_net_tuple tuple;
	struct tw_pid_info owner;
	char comm[16];
	__u32 netns;
	__u32 flags;
	__u64 packets_out, bytes_out, packets_in, bytes_in;
	__u64 first_ns, last_ns, last_report_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* socket cookie */
	__type(value, struct tw_udp_owner);
} tw_udp_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_udp_key);
	__type(value, struct tw_udp_state);
} tw_udp_flows SEC(".maps");

/* Sockets released since the iterator last ran: cookie -> release time. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} tw_udp_closed SEC(".maps");

/* The current task as owner, deciding once whether it may be reported. */
static __always_inline void tw_udp__owner_from_current(struct tw_udp_owner *o)
{
	/* reads through the task only: older kernels refuse the pid and comm helpers here */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);

	tw_task__pid_info(task, &o->pids);
	BPF_CORE_READ_STR_INTO(&o->comm, task, comm);
	o->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	o->report = !tw_filter__rejects_task(task, tgid, tw_udp__count_type());
}

SEC("cgroup/sock_create")
int tw_udp_sock_create(struct bpf_sock *sk)
{
	struct tw_udp_owner o = {};
	__u64 cookie;

	if (sk->protocol != TW_IPPROTO_UDP)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	tw_udp__owner_from_current(&o);
	bpf_map_update_elem(&tw_udp_owners, &cookie, &o, BPF_ANY);
	return 1;
}

SEC("cgroup/sock_release")
int tw_udp_sock_release(struct bpf_sock *sk)
{
	__u64 cookie, now;

	if (sk->protocol != TW_IPPROTO_UDP)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	now = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&tw_udp_closed, &cookie, &now, BPF_ANY);
	bpf_map_delete_elem(&tw_udp_owners, &cookie);
	return 1;
}

struct tw_udp_packet {
	struct tw_net_tuple tuple; /* source: this host's end */
	__u32 l4_off;
	__u32 payload;  /* UDP payload bytes, all segments of a GSO send together */
	__u32 segments; /* datagrams on the wire: a UDP_SEGMENT (GSO) send is several */
};

/* The datagram's addresses, oriented to this host; 0 if it is not a UDP datagram. */
static __always_inline int tw_udp__parse(struct __sk_buff *skb, int egress, struct tw_udp_packet *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct udphdr uh;

	if (skb->protocol == bpf_htons(TW_ETH_P_IP)) {
		struct iphdr *ip = data;
		if ((void *)(ip + 1) > end || ip->protocol != TW_IPPROTO_UDP)
			return 0;
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0; /* a later fragment carries no UDP header */
		p->tuple.family = 2;
		p->l4_off = (ip->ihl & 0xf) * 4;
		__builtin_memcpy(p->tuple.saddr, egress ? &ip->saddr : &ip->daddr, 4);
		__builtin_memcpy(p->tuple.daddr, egress ? &ip->daddr : &ip->saddr, 4);
	} else if (skb->protocol == bpf_htons(TW_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != TW_IPPROTO_UDP)
			return 0; /* extension headers: not followed */
		p->tuple.family = 10;
		p->l4_off = sizeof(*ip6);
		__builtin_memcpy(p->tuple.saddr, egress ? &ip6->saddr : &ip6->daddr, 16);
		__builtin_memcpy(p->tuple.daddr, egress ? &ip6->daddr : &ip6->saddr, 16);
	} else {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, p->l4_off, &uh, sizeof(uh)))
		return 0;
	p->tuple.protocol = TW_IPPROTO_UDP;
	p->tuple.sport = bpf_ntohs(egress ? uh.source : uh.dest);
	p->tuple.dport = bpf_ntohs(egress ? uh.dest : uh.source);
	p->segments = skb->gso_segs > 1 ? skb->gso_segs : 1;
	if (p->segments > 1) /* one header for all segments, until the device splits them */
		p->payload = skb->len > p->l4_off + sizeof(uh) ? skb->len - p->l4_off - sizeof(uh) : 0;
	else
		p->payload = bpf_ntohs(uh.len) >= sizeof(uh) ? bpf_ntohs(uh.len) - sizeof(uh) : 0;
	return 1;
}

/* Owner of the socket: recorded at creation, else the sender, else unknown. */
static __always_inline int tw_udp__owner(__u64 cookie, int egress, struct tw_udp_owner *o,
					 __u32 *flags)
{
	struct tw_udp_owner *known = bpf_map_lookup_elem(&tw_udp_owners, &cookie);

	if (known) {
		*o = *known;
		return o->report;
	}
	if (egress) { /* UDP sends run in the sending task */
		tw_udp__owner_from_current(o);
		bpf_map_update_elem(&tw_udp_owners, &cookie, o, BPF_NOEXIST);
		return o->report;
	}
	*flags |= TW_NET_FLAG_OWNER_UNKNOWN;
	return !tw_udp__include_filter_used();
}

static __always_inline void tw_udp__count(struct tw_udp_packet *p, __u64 cookie, int egress,
					  const struct tw_udp_owner *o, __u32 flags)
{
	struct tw_udp_key k = {};
	struct tw_udp_state *st, fresh = {};
	__u64 now = bpf_ktime_get_boot_ns();

	k.cookie = cookie;
	__builtin_memcpy(k.raddr, p->tuple.daddr, 16);
	k.rport = p->tuple.dport;
	k.family = p->tuple.family;
	st = bpf_map_lookup_elem(&tw_udp_flows, &k);
	if (!st) {
		fresh.tuple = p->tuple;
		fresh.owner = o->pids;
		__builtin_memcpy(fresh.comm, o->comm, sizeof(fresh.comm));
		fresh.netns = o->netns;
		fresh.flags = flags;
		fresh.first_ns = now;
		fresh.last_report_ns = now;
		if (bpf_map_update_elem(&tw_udp_flows, &k, &fresh, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&tw_udp_flows, &k)) {
			tw_stats__add_lost_scratch(TW_EVENT_NETWORK_UDP_FLOW); /* table full */
			return;
		}
		st = bpf_map_lookup_elem(&tw_udp_flows, &k);
		if (!st)
			return;
	}
	if (egress) {
		__sync_fetch_and_add(&st->packets_out, p->segments);
		__sync_fetch_and_add(&st->bytes_out, p->payload);
	} else {
		__sync_fetch_and_add(&st->packets_in, p->segments);
		__sync_fetch_and_add(&st->bytes_in, p->payload);
	}
	st->last_ns = now;
}

static __always_inline void tw_udp__dns(struct __sk_buff *skb, struct tw_udp_packet *p,
					__u64 cookie, int egress, const struct tw_udp_owner *o,
					__u32 flags)
{
	struct tw_dns_message *e;
	struct tw_builder b;
	__u32 n = p->payload;
	char *d;

	if (!tw_type_wanted(TW_EVENT_NETWORK_DNS))
		return;
	e = tw_event__begin_softirq(&b, TW_EVENT_NETWORK_DNS, sizeof(*e),
				    __builtin_offsetof(struct tw_dns_message, vl));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill_pids(&e->hdr, TW_EVENT_NETWORK_DNS, &o->pids);
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	e->tuple = p->tuple;
	e->cookie = cookie;
	e->netns = o->netns;
	e->direction = egress ? TW_DNS_SENT : TW_DNS_RECEIVED;
	e->flags = flags;
	e->orig_len = n;
	if (n > TW_CAP_DNS_PACKET)
		n = TW_CAP_DNS_PACKET;
	d = tw_field__data(&b, TW_CAP_DNS_PACKET);
	if (d && n > 0) {
		/* 1..512 in a form older verifiers can bound from below too */
		n = ((n - 1) & (TW_CAP_DNS_PACKET - 1)) + 1;
		if (!bpf_skb_load_bytes(skb, p->l4_off + sizeof(struct udphdr), d, n))
			tw_field__commit(&b, TW_FIELD_DNS_PACKET, n,
					 p->payload > TW_CAP_DNS_PACKET ? TW_FIELD_FLAG_TRUNCATED : 0);
	}
	tw_event__emit(&b);
}

static __always_inline void tw_udp__packet(struct __sk_buff *skb, int egress)
{
	struct tw_udp_packet p = {};
	struct tw_udp_owner o = {};
	__u32 flags = 0;
	__u64 cookie;

	if (!tw_udp__parse(skb, egress, &p))
		return;
	cookie = bpf_get_socket_cookie(skb);
	if (!cookie)
		return; /* no socket: forwarded or not for us */
	if (!tw_udp__owner(cookie, egress, &o, &flags))
		return;
	if (tw_type_wanted(TW_EVENT_NETWORK_UDP_FLOW))
		tw_udp__count(&p, cookie, egress, &o, flags);
	if (p.tuple.sport == TW_DNS_PORT || p.tuple.dport == TW_DNS_PORT)
		tw_udp__dns(skb, &p, cookie, egress, &o, flags);
}

SEC("cgroup_skb/egress")
int tw_udp_egress(struct __sk_buff *skb)
{
	tw_udp__packet(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int tw_udp_ingress(struct __sk_buff *skb)
{
	tw_udp__packet(skb, 0);
	return 1;
}

static __always_inline void tw_udp__emit_flow(const struct tw_udp_key *k,
					      const struct tw_udp_state *st, __u32 reason)
{
	struct tw_udp_flow *e = tw_reserve(TW_EVENT_NETWORK_UDP_FLOW, sizeof(*e));

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill_pids(&e->hdr, TW_EVENT_NETWORK_UDP_FLOW, &st->owner);
	e->hdr.size = sizeof(*e);
	e->tuple = st->tuple;
	e->cookie = k->cookie;
	e->netns = st->netns;
	e->reason = reason;
	e->flags = st->flags;
	e->packets_out = st->packets_out;
	e->bytes_out = st->bytes_out;
	e->packets_in = st->packets_in;
	e->bytes_in = st->bytes_in;
	e->first_ns = st->first_ns;
	e->last_ns = st->last_ns;
	__builtin_memcpy(e->comm, st->comm, sizeof(e->comm));
	tw_submit(e, TW_EVENT_NETWORK_UDP_FLOW);
}

/*
 * Run by the library every second over the flow table: a released socket's
 * flows are reported once, finally, and forgotten; live flows at the
 * configured interval.
 */
SEC("iter/bpf_map_elem")
int tw_udp_flows_tick(struct bpf_iter__bpf_map_elem *ctx)
{
	struct tw_udp_key *key = ctx->key, k;
	struct tw_udp_state *st = ctx->value;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!key || !st)
		return 0;
	k = *key; /* helpers do not take the iterator's read-only key */
	if (bpf_map_lookup_elem(&tw_udp_closed, &k.cookie)) {
		tw_udp__emit_flow(&k, st, TW_UDP_FLOW_CLOSED);
		bpf_map_delete_elem(&tw_udp_flows, &k);
		return 0;
	}
	if (tw_udp_flush_all) {
		tw_udp__emit_flow(&k, st, TW_UDP_FLOW_STOP);
		st->last_report_ns = now;
	} else if (tw_cfg_udp_interval_ns && now - st->last_report_ns >= tw_cfg_udp_interval_ns) {
		tw_udp__emit_flow(&k, st, TW_UDP_FLOW_INTERVAL);
		st->last_report_ns = now;
	}
	return 0;
}
