/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Per-process network accounting: the map layouts shared by the kernel
 * side (GPL/probes/netacct.bpf.c) and the library (non-GPL/lib/netacct.c).
 * Nothing here goes through the ring buffer: the counters live in maps
 * and the library reads them when asked.
 */
#ifndef TRACEWIRE_NETACCT_WIRE_H
#define TRACEWIRE_NETACCT_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Counter indexes in tw_na_proc.cnt. The first eight are socket-layer
 * payload (what the application handed over or took: calls and bytes,
 * ret > 0 only, MSG_PEEK never), in the order of atop's struct taskcount.
 * The rest are wire counts from the cgroup_skb programs: packets and bytes
 * as the interface carries them (IP length plus a 14-byte link-layer
 * header, GSO/GRO super-packets counted as the segments they stand for).
 */
enum tw_na_counter {
	TW_NA_TCP_SND_CALLS, TW_NA_TCP_SND_BYTES, TW_NA_TCP_RCV_CALLS, TW_NA_TCP_RCV_BYTES,
	TW_NA_UDP_SND_CALLS, TW_NA_UDP_SND_BYTES, TW_NA_UDP_RCV_CALLS, TW_NA_UDP_RCV_BYTES,
	/* wire: [proto][dir][packets, bytes], proto TCP, UDP, other; dir out, in */
	TW_NA_WIRE_BASE,
	TW_NA_N_COUNTERS = TW_NA_WIRE_BASE + 3 * 2 * 2,
};

#define TW_NA_PROTO_TCP 0
#define TW_NA_PROTO_UDP 1
#define TW_NA_PROTO_OTHER 2
#define TW_NA_DIR_OUT 0
#define TW_NA_DIR_IN 1
#define TW_NA_WIRE(proto, dir) (TW_NA_WIRE_BASE + ((proto) * 2 + (dir)) * 2)

/*
 * A process: its tgid and the start time of its group leader (boot clock,
 * ns). With per-thread counting (tw_cfg_na_per_thread) a thread: its tid
 * and its own start time.
 */
struct tw_na_key {
	__u32 id;
	__u32 zero; /* explicit padding: keys are compared as bytes */
	__u64 start_ns;
};

#define TW_NA_PROC_EXITED 0x1
#define TW_NA_PROC_KTHREAD 0x2

struct tw_na_proc {
	__u64 cnt[TW_NA_N_COUNTERS];
	char comm[16];
	__u64 exit_ns; /* boot clock; 0 while alive */
	__u32 flags;   /* TW_NA_PROC_* */
	__u32 tgid;    /* the process (differs from the key's id for per-thread entries) */
	__u64 cgroup_id; /* cgroup of the process when its entry was made (tw_sched__cgroup_id) */
	__u64 proc_start_ns; /* the process's start (the key's for per-process entries) */
};

/*
 * Traffic no user process can be named for, per interface (ifindex as seen
 * by the packet: interfaces in other network namespaces may share numbers).
 */
#define TW_NA_BUCKET_NO_OWNER 1  /* a socket nobody recorded: kernel control sockets
				    (RSTs, time-wait ACKs, ICMP replies), sockets
				    older than the agent not used since */
#define TW_NA_BUCKET_NO_ENTRY 2  /* owner known, but its entry could not be made
				    (process table full), or was evicted before the
				    socket's counts were folded in (ifindex 0) */

struct tw_na_bucket_key {
	__u32 ifindex;
	__u16 kind;   /* TW_NA_BUCKET_* */
	__u8 proto;   /* IPPROTO_* of the socket */
	__u8 dir;     /* TW_NA_DIR_* */
};

struct tw_na_bucket {
	__u64 packets;
	__u64 bytes;
};

/*
 * Interface layer (tw_netacct_options.interface_totals, off by default):
 * what every interface carried, per ifindex (the same numbering as the
 * buckets), per direction and class, from tp_btf/netif_receive_skb (every
 * received packet, before any socket) and tp_btf/net_dev_start_xmit (every
 * packet handed to a driver). Sizes follow the wire model above: IP (or
 * ARP, ...) length plus TW_NA_L2_HLEN per packet, super-packets as their
 * segments. The classes other than TOTAL are disjoint parts of it.
 */
enum tw_na_if_class {
	TW_NA_IF_TOTAL,     /* every packet */
	TW_NA_IF_SOCKET,    /* of a local full IP socket: what the cgroup_skb programs count
			       (attributed to processes plus the buckets above); in:
			       counted by ingress, out: skb->sk at transmit */
	TW_NA_IF_ARP,       /* ethertype ARP */
	TW_NA_IF_NON_IP,    /* other ethertypes than IPv4, IPv6, ARP (and VLAN tags) */
	TW_NA_IF_FORWARDED, /* out: IP packets that came in on an interface (skb_iif)
			       and have no local socket; in: the same packets,
			       credited to the interface they came in on when they leave */
	TW_NA_IF_N,
};

struct tw_na_iface {
	struct tw_na_bucket c[2][TW_NA_IF_N]; /* [TW_NA_DIR_*][TW_NA_IF_*] */
};

/* tw_na_stats (per-CPU array) indexes */
enum tw_na_stat {
	TW_NA_STAT_PROC_FULL,     /* a process entry could not be created (table full) */
	TW_NA_STAT_BUCKET_FULL,   /* a bucket could not be created: traffic lost (never seen) */
	TW_NA_STAT_GSO_SKBS,      /* super-packets seen */
	TW_NA_STAT_GSO_EXTRA_PKTS,  /* packets added by counting segments, not skbs */
	TW_NA_STAT_GSO_EXTRA_BYTES, /* header bytes added likewise */
	TW_NA_STAT_FOLD_NO_ENTRY, /* socket counts folded after the owner's entry was gone:
				     wire counts bucketed (ifindex 0), payload counts lost */
	TW_NA_STAT_IFACE_FULL,    /* interface layer: an interface entry could not be made */
	TW_NA_STAT_MAX,
};

/* Link-layer header counted per packet (Ethernet; also what veth and lo count). */
#define TW_NA_L2_HLEN 14

#endif
