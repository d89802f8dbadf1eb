// SPDX-License-Identifier: Apache-2.0
/*
 * Per-process network accounting (docs/events.md, "Per-process network
 * accounting"). Independent of the event stream: it loads its own probes
 * (GPL/probes/netacct.bpf.c), keeps counters in kernel maps and reads them
 * on request.
 *
 *   struct tw_netacct_options o;
 *   tw_netacct_options_init(&o);
 *   struct tw_netacct *na;
 *   if (tw_netacct_open(&na, &o, err, sizeof(err)) < 0) ... print err
 *   every second or so: tw_netacct_tick(na)        (retention, eviction)
 *   when wanted:        tw_netacct_read(na, &procs, &n) ... free(procs)
 *   tw_netacct_close(na);
 *
 * The functions may be called from several threads.
 */
#ifndef TRACEWIRE_NETACCT_H
#define TRACEWIRE_NETACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tw_netacct_options {
	uint32_t max_procs;      /* process table size; default 16384 */
	uint32_t retain_ms;      /* counters of exited processes kept this long; default 60000 */
	bool verbose;            /* libbpf/verifier log to stderr */
	/*
	 * Which hierarchy names tw_netacct_proc.cgroup_id: the values of
	 * tw_sched_options.hierarchy (enum tw_sched_hierarchy in
	 * tracewire_sched.h); default -1, chosen as the scheduler probe does:
	 * v2 on pure v2 hosts, else the v1 cpu controller, else v1 memory.
	 */
	int cgroup_hierarchy;
	/*
	 * One entry per thread instead of per process (tw_netacct_proc.tid).
	 * The atop server still answers per process (it sums the threads).
	 */
	bool per_thread;
	/*
	 * The interface layer (tw_netacct_interfaces): what every interface
	 * carried, ARP and other non-IP frames and forwarded packets included.
	 * Off by default: it adds a program run per packet and interface.
	 */
	bool interface_totals;
};

void tw_netacct_options_init(struct tw_netacct_options *o);

/* Counters of one direction of one protocol. */
struct tw_netacct_dir {
	uint64_t calls, payload_bytes; /* socket layer: successful send/recv calls, their bytes */
	uint64_t packets, wire_bytes;  /* interface level: IP packets and bytes incl. 14-byte L2 */
};

struct tw_netacct_proc {
	uint32_t pid;                  /* tgid */
	uint64_t start_boot_ns;        /* group leader start, boot clock (as /proc/PID/stat) */
	uint64_t start_epoch_s;        /* the same, seconds since the epoch (atop's btime) */
	char comm[16];
	bool exited, kthread;
	uint64_t exit_boot_ns;
	struct tw_netacct_dir tcp_out, tcp_in, udp_out, udp_in;
	/* other IP protocols over sockets the process owns (ICMP echo, raw): wire only */
	struct tw_netacct_dir other_out, other_in;
	/*
	 * The cgroup the process was in when its entry was made (its first
	 * socket or send/receive call), as the scheduler probe names cgroups:
	 * the directory's inode number in the chosen hierarchy. 0 if unknown.
	 */
	uint64_t cgroup_id;
	/*
	 * per_thread only (else 0): the thread this entry counts, and its start
	 * (boot clock); pid and start_boot_ns stay those of its process. Every
	 * flag (exited, ...) is then the thread's.
	 */
	uint32_t tid;
	uint64_t thread_start_boot_ns;
};

/* Unattributed traffic, per interface index, as in GPL/wire/tracewire_netacct.h. */
enum tw_netacct_bucket_kind {
	TW_NETACCT_NO_OWNER = 1,   /* kernel control sockets: RSTs, time-wait ACKs, ICMP replies */
	TW_NETACCT_NO_ENTRY = 2,   /* the owner's entry could not be made (table full) */
};

struct tw_netacct_bucket {
	uint32_t ifindex;
	enum tw_netacct_bucket_kind kind;
	uint8_t protocol;          /* IPPROTO_* of the socket */
	bool ingress;
	uint64_t packets, bytes;
};

/*
 * Interface layer (tw_netacct_options.interface_totals), per interface index
 * (numbered as the buckets: interfaces of different network namespaces may
 * share a number) and direction; packets and bytes as the wire counts of
 * tw_netacct_dir (L3 length + 14 per packet, super-packets as segments).
 * total = sockets + arp + non_ip + forwarded + the remainder
 * (tw_netacct_iface_remainder): what no socket, ARP, non-IP or forwarding
 * explains, e.g. ICMP answered by the kernel, packets dropped before a socket.
 */
struct tw_netacct_count {
	uint64_t packets, bytes;
};

struct tw_netacct_iface_dir {
	struct tw_netacct_count total;
	/* counted at the socket layer on this interface: attributed to processes + buckets */
	struct tw_netacct_count sockets;
	struct tw_netacct_count arp;
	struct tw_netacct_count non_ip;    /* other ethertypes than IPv4, IPv6, ARP */
	/* out: routed or bridged IP packets leaving; in: the same, credited to their input */
	struct tw_netacct_count forwarded;
};

struct tw_netacct_iface {
	uint32_t ifindex;
	struct tw_netacct_iface_dir out, in;
};

/*
 * total - sockets - arp - non_ip - forwarded, signed: negative where the
 * socket layer sees a packet on an interface the interface layer does not
 * (an upper device of a bond or VLAN receives through its lower device).
 */
void tw_netacct_iface_remainder(const struct tw_netacct_iface_dir *d, int64_t *packets,
				int64_t *bytes);

struct tw_netacct_stats {
	uint64_t procs;              /* entries now in the table */
	uint64_t procs_exited;       /* ...of which exited, kept for retain_ms */
	uint64_t capacity;           /* max_procs */
	uint64_t proc_table_full;    /* kernel: entries that could not be created */
	uint64_t bucket_table_full;  /* kernel: unattributed packets not even bucketed */
	uint64_t evicted_retention;  /* exited entries dropped after retain_ms */
	uint64_t evicted_pressure;   /* exited entries dropped early: table nearly full */
	uint64_t gso_skbs, gso_extra_packets, gso_extra_bytes; /* segment corrections */
	uint64_t map_bytes;          /* memory of the accounting maps (kernel's memlock figure) */
	/*
	 * kernel: a socket's counts reached its owner's entry only after the
	 * entry was evicted (a socket outliving its owner's retention): wire
	 * counts bucketed under ifindex 0, payload counts lost
	 */
	uint64_t folded_without_entry;
	uint64_t iface_table_full; /* kernel: packets of interfaces that found no entry */
};

struct tw_netacct;

int tw_netacct_open(struct tw_netacct **out, const struct tw_netacct_options *o, char *err,
		    size_t errlen);
void tw_netacct_close(struct tw_netacct *na);

/* Retention and eviction; cheap when nothing is due. Call about once a second. */
int tw_netacct_tick(struct tw_netacct *na);

/* All processes now in the table (live and retained exited ones); free(*out) after use. */
int tw_netacct_read(struct tw_netacct *na, struct tw_netacct_proc **out, size_t *n);
/*
 * One process (tgid; start_boot_ns 0: the newest entry of that tgid). With
 * per_thread, one thread: pid is a tid and start_boot_ns the thread's start.
 * -ENOENT if unknown.
 */
int tw_netacct_lookup(struct tw_netacct *na, uint32_t pid, uint64_t start_boot_ns,
		      struct tw_netacct_proc *out);
/* Unattributed buckets (summed over CPUs); free(*out) after use. */
int tw_netacct_buckets(struct tw_netacct *na, struct tw_netacct_bucket **out, size_t *n);
/*
 * The interface layer, one entry per interface seen (summed over CPUs);
 * free(*out) after use. -EOPNOTSUPP unless opened with interface_totals.
 */
int tw_netacct_interfaces(struct tw_netacct *na, struct tw_netacct_iface **out, size_t *n);
int tw_netacct_stats(struct tw_netacct *na, struct tw_netacct_stats *out);

/*
 * The path of a tw_netacct_proc.cgroup_id in its hierarchy ("/" for the
 * root, "/system.slice/x.service", ...) into buf. -ENOENT if the cgroup is
 * gone (or unknown: cgroup_id 0). A cgroup made since the last lookup is
 * found by walking the hierarchy again, at most once a second.
 */
int tw_netacct_cgroup_path(struct tw_netacct *na, uint64_t cgroup_id, char *buf, size_t len);

struct tw_prog_stats; /* tracewire.h */
/*
 * Kernel run statistics of the accounting programs (run_time_ns needs
 * kernel.bpf_stats_enabled), up to max of them into out. Returns how many
 * programs are loaded (possibly more than max), or -errno.
 */
int tw_netacct_prog_stats(struct tw_netacct *na, struct tw_prog_stats *out, size_t max);

/*
 * atop-compatible server (atop's netatop-bpf client, atop 2.9 or later with
 * -K): a UNIX stream socket; for each 96-byte request it answers one 96-byte
 * record per process and a record with id 0. It runs in its own thread.
 * Only root, or members of `gid` when gid != (gid_t)-1, may connect (peer
 * credentials); the socket file is 0600, or 0660 with the group.
 */
#define TW_NETATOP_DEFAULT_PATH "/run/netatop-bpf-socket"
#define TW_NETATOP_RECORD_SIZE 96

struct tw_netatop_server;

int tw_netatop_server_start(struct tw_netatop_server **out, struct tw_netacct *na, const char *path,
			    gid_t gid, char *err, size_t errlen);
void tw_netatop_server_stop(struct tw_netatop_server *s);
/* requests answered, connections refused by credential check */
void tw_netatop_server_counts(struct tw_netatop_server *s, uint64_t *answered, uint64_t *refused);

/* The record atop reads for one process (x86_64 layout), exactly 96 bytes. */
void tw_netatop_encode(const struct tw_netacct_proc *p, unsigned char out[TW_NETATOP_RECORD_SIZE]);
/* The terminating record (id 0). */
void tw_netatop_encode_end(unsigned char out[TW_NETATOP_RECORD_SIZE]);

/*
 * Retention/eviction decision, exposed for tests: given the entries' exit
 * times (0: alive), mark in evict[] the ones to drop now: exited longer than
 * retain_ns ago, and, while more than high_water entries would remain, the
 * oldest exited ones that exited at least TW_NETACCT_EVICT_MIN_AGE_NS ago. Returns how many were marked; *early gets how many
 * of those were dropped before their retention ran out.
 */
/* Exited entries younger than this (100 ms) are never evicted early: their sockets may still fold. */
#define TW_NETACCT_EVICT_MIN_AGE_NS 100000000ull
size_t tw_netacct_plan_eviction(const uint64_t *exit_ns, size_t n, uint64_t now_ns,
				uint64_t retain_ns, size_t high_water, bool *evict, size_t *early);

/*
 * Per-thread entries (per_thread) summed into one per process, in place,
 * sorted by pid; the main thread's comm is kept. Returns the new count.
 * Per-process entries pass through unchanged (but sorted).
 */
size_t tw_netacct_merge_threads(struct tw_netacct_proc *p, size_t n);

/*
 * The name kernel threads are grouped by in per-interval output: the comm
 * up to its first '/' (kworker/u8:2 -> kworker, ksoftirqd/0 -> ksoftirqd),
 * NUL-padded to 16 bytes.
 */
void tw_netacct_kthread_name(const char *comm, char out[16]);

#ifdef __cplusplus
}
#endif
#endif
