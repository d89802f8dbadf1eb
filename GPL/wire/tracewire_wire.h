/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * tracewire wire format: the records the kernel probes write into the BPF ring
 * buffer and the events library decodes. Shared verbatim by the BPF side (GPL)
 * and userspace (Apache-2.0), hence the dual licence.
 *
 * Layout of every record (see docs/wire-format.md for the full description):
 *
 *   struct tw_event_header          fixed, 56 bytes
 *   <fixed part of the event type>  e.g. struct tw_process_exec minus header
 *   struct tw_varlen_fields         count + size, only for types that have it
 *   tw_varlen_field {type,flags,size,data[size]} * count, packed, no padding
 *
 * Rules that keep old decoders working:
 *   - event types and field types are only ever appended, never renumbered;
 *   - a decoder skips field types it does not know;
 *   - a new fixed member is only added by bumping TW_WIRE_VERSION.
 * All integers are in the host's byte order (the stream never leaves the host
 * without being decoded; recordings note their byte order in the file header).
 */
#ifndef TRACEWIRE_WIRE_H
#define TRACEWIRE_WIRE_H

#ifdef __BPF__
/* vmlinux.h already provides the __u* types on the BPF side */
#else
#include <linux/types.h>
#endif

#define TW_WIRE_VERSION 1

/* Event types. Append only; userspace statistics are arrays of TW_EVENT_TYPE_MAX. */
enum tw_event_type {
	TW_EVENT_NONE = 0,
	TW_EVENT_PROCESS_EXEC = 1,
	TW_EVENT_PROCESS_FORK = 2,
	TW_EVENT_PROCESS_EXIT = 3,
	TW_EVENT_FILE_CREATE = 4,
	TW_EVENT_FILE_DELETE = 5,
	TW_EVENT_FILE_RENAME = 6,
	TW_EVENT_FILE_MODIFY = 7,
	TW_EVENT_FILE_SHMEM_OPEN = 8,
	TW_EVENT_PROCESS_TTY_WRITE = 9,
	TW_EVENT_PROCESS_SETUID = 10,
	TW_EVENT_PROCESS_SETGID = 11,
	TW_EVENT_PROCESS_SETSID = 12,
	TW_EVENT_PROCESS_PTRACE = 13,
	TW_EVENT_PROCESS_MEMFD_CREATE = 14,
	TW_EVENT_PROCESS_SHMGET = 15,
	TW_EVENT_PROCESS_LOAD_MODULE = 16,
	TW_EVENT_PROCESS_SNAPSHOT = 17,  /* a process already running at start: struct tw_process_exec */
	TW_EVENT_NETWORK_CONNECTION_ATTEMPTED = 18, /* struct tw_net_connection: connect() */
	TW_EVENT_NETWORK_CONNECTION_ACCEPTED = 19,  /* struct tw_net_connection: accept() */
	TW_EVENT_NETWORK_CONNECTION_CLOSED = 20,    /* struct tw_net_connection: released by its owner */
	TW_EVENT_NETWORK_TCP_METRICS = 21,          /* struct tw_tcp_metrics: at the end, or periodic */
	TW_EVENT_NETWORK_UDP_FLOW = 22,             /* struct tw_udp_flow: per socket and peer */
	TW_EVENT_NETWORK_DNS = 23,                  /* struct tw_dns_message: a DNS message over UDP */
	/* 24..63 reserved for network and scheduler events */
	TW_EVENT_TYPE_MAX = 64,
};

/* Variable-length field types. Append only. */
enum tw_field_type {
	TW_FIELD_NONE = 0,
	TW_FIELD_FILENAME = 1,       /* string: exec filename exactly as passed to execve */
	TW_FIELD_EXE_PATH = 2,       /* string: resolved absolute path of the executable */
	TW_FIELD_ARGV = 3,           /* NUL-separated list */
	TW_FIELD_ENV = 4,            /* NUL-separated list */
	TW_FIELD_CWD = 5,            /* string: absolute path */
	TW_FIELD_CGROUP_PATH = 6,    /* string: path inside the cgroup hierarchy */
	TW_FIELD_PATH = 7,           /* string: absolute path (file events) */
	TW_FIELD_OLD_PATH = 8,
	TW_FIELD_NEW_PATH = 9,
	TW_FIELD_SYMLINK_TARGET = 10,
	TW_FIELD_TTY_OUT = 11,       /* raw bytes */
	TW_FIELD_DNS_NAME = 12,
	TW_FIELD_INTERPRETER = 13,   /* string: bprm->interp when it differs from filename */
	TW_FIELD_LINK_SOURCE = 14,   /* string: existing file a hard link was made to */
	TW_FIELD_MEMFD_NAME = 15,    /* string: name given to memfd_create */
	TW_FIELD_MODULE_NAME = 16,   /* string */
	TW_FIELD_MODULE_VERSION = 17,
	TW_FIELD_MODULE_SRCVERSION = 18,
	TW_FIELD_DNS_PACKET = 19,    /* raw bytes: a DNS message as carried in UDP (cap 512) */
	TW_FIELD_TYPE_MAX = 64,
};

/* tw_varlen_field.flags */
#define TW_FIELD_FLAG_TRUNCATED 0x1  /* the data was cut at its cap; see docs for caps */

/* Caps on variable-length data, in bytes, including the terminating NUL. */
#define TW_CAP_ARGV (20 * 1024)
#define TW_CAP_ENV (40 * 1024)
#define TW_CAP_PATH 4096
#define TW_CAP_TTY_OUT (8 * 1024)
#define TW_CAP_DNS_PACKET 512

/* Pid block: who did it, as seen from the root pid namespace unless noted. */
struct tw_pid_info {
	__u32 tgid;
	__u32 tid;
	__u32 ppid;           /* tgid of real_parent */
	__u32 pgid;
	__u32 sid;
	__u32 ns_tgid;        /* tgid inside the task's own (active) pid namespace */
	__u64 start_time_ns;  /* group leader start, boot-time ns (as /proc/PID/stat, unscaled) */
};

struct tw_event_header {
	__u32 size;           /* whole record in bytes, header included */
	__u16 type;           /* enum tw_event_type */
	__u16 cpu;
	__u64 ts_mono_ns;     /* CLOCK_MONOTONIC */
	__u64 ts_boot_ns;     /* CLOCK_BOOTTIME */
	struct tw_pid_info pids;
};

/* One variable-length field. Packed: fields follow one another with no padding. */
struct tw_varlen_field {
	__u16 type;           /* enum tw_field_type */
	__u16 flags;          /* TW_FIELD_FLAG_* */
	__u32 size;           /* bytes of data that follow */
	char data[];
} __attribute__((packed));

/* Head of the variable-length area, always the last member of an event. */
struct tw_varlen_fields {
	__u32 count;          /* number of fields */
	__u32 size;           /* bytes of field headers + data that follow */
	char data[];
};

struct tw_creds {
	__u32 ruid, rgid, euid, egid, suid, sgid;
	__u64 cap_permitted;
	__u64 cap_effective;
};

struct tw_tty {
	__u16 major;          /* 0: no controlling tty */
	__u16 minor;
	__u16 rows;
	__u16 cols;
};

struct tw_namespaces {
	__u32 pid, mnt, net, uts, ipc, cgroup, user, time;  /* ns inode numbers */
};

/* tw_process_exec.flags */
#define TW_EXEC_FLAG_SETUID 0x1    /* executable has the set-user-ID bit */
#define TW_EXEC_FLAG_SETGID 0x2    /* executable has the set-group-ID bit */
#define TW_EXEC_FLAG_MEMFD 0x4     /* executable is an unlinked memfd */

/* tw_process_exec.cgroup_hierarchy */
#define TW_CGROUP_V2 0             /* unified hierarchy (pure v2 hosts) */
#define TW_CGROUP_V1_MEMORY 1      /* v1 memory controller (hybrid hosts) */
#define TW_CGROUP_V1_CPU 2         /* v1 cpu controller (hybrid hosts without memcg v1) */

struct tw_process_exec {
	struct tw_event_header hdr;
	struct tw_creds creds;
	struct tw_tty tty;
	struct tw_namespaces ns;
	__u64 cgroup_id;
	__u32 flags;
	__u32 cgroup_hierarchy;
	char comm[16];
	struct tw_varlen_fields vl;  /* FILENAME, EXE_PATH, ARGV, CWD, CGROUP_PATH, [ENV], [INTERPRETER] */
};

/* Header pid block is the child; the parent's is in the fixed part. */
struct tw_process_fork {
	struct tw_event_header hdr;
	struct tw_pid_info parent;
	char comm[16];
};

struct tw_process_exit {
	struct tw_event_header hdr;
	__s32 exit_code;      /* raw wait status: (status << 8) | core flag 0x80 | signal */
	__u32 exit_status;    /* status passed to exit(); 0 when killed by a signal */
	__u32 signal;         /* terminating signal, 0 when it exited normally */
	__u32 core_dumped;    /* 1 when the process dumped core */
	char comm[16];
};

/*
 * File events. Every file event has the same fixed part, struct
 * tw_file_event; the event type says what happened, `op` which system call.
 */
enum tw_file_op {
	TW_FILE_OP_NONE = 0,
	TW_FILE_OP_OPEN, TW_FILE_OP_OPENAT, TW_FILE_OP_OPENAT2, TW_FILE_OP_CREAT,
	TW_FILE_OP_MKDIR, TW_FILE_OP_MKDIRAT, TW_FILE_OP_MKNOD, TW_FILE_OP_MKNODAT,
	TW_FILE_OP_SYMLINK, TW_FILE_OP_SYMLINKAT, TW_FILE_OP_LINK, TW_FILE_OP_LINKAT,
	TW_FILE_OP_UNLINK, TW_FILE_OP_UNLINKAT, TW_FILE_OP_RMDIR,
	TW_FILE_OP_RENAME, TW_FILE_OP_RENAMEAT, TW_FILE_OP_RENAMEAT2,
	TW_FILE_OP_WRITE, TW_FILE_OP_PWRITE64, TW_FILE_OP_WRITEV, TW_FILE_OP_PWRITEV,
	TW_FILE_OP_PWRITEV2, TW_FILE_OP_TRUNCATE, TW_FILE_OP_FTRUNCATE, TW_FILE_OP_FALLOCATE,
	TW_FILE_OP_CHMOD, TW_FILE_OP_FCHMOD, TW_FILE_OP_FCHMODAT, TW_FILE_OP_FCHMODAT2,
	TW_FILE_OP_CHOWN, TW_FILE_OP_FCHOWN, TW_FILE_OP_LCHOWN, TW_FILE_OP_FCHOWNAT,
	TW_FILE_OP_SETXATTR, TW_FILE_OP_LSETXATTR, TW_FILE_OP_FSETXATTR,
	TW_FILE_OP_CLOSE,      /* a close that flushed coalesced writes */
	TW_FILE_OP_MAX,
};

/* tw_file_event.change (FILE_MODIFY) */
#define TW_FILE_CHANGE_CONTENT 1
#define TW_FILE_CHANGE_PERMISSIONS 2
#define TW_FILE_CHANGE_OWNER 3
#define TW_FILE_CHANGE_XATTR 4

/* tw_file_event.flags */
#define TW_FILE_FLAG_RENAME_EXCHANGE 0x1
#define TW_FILE_FLAG_RENAME_NOREPLACE 0x2
#define TW_FILE_FLAG_RENAME_WHITEOUT 0x4
#define TW_FILE_FLAG_ON_CLOSE 0x8     /* emitted by close() to carry coalesced writes */

/* What the kernel could read of the file; present == 0 means absent, not zero. */
struct tw_file_info {
	__u32 present;
	__u32 mode;           /* i_mode: type bits and permissions */
	__u64 inode;
	__u32 dev_major;      /* of the filesystem (sb->s_dev) */
	__u32 dev_minor;
	__u32 uid;
	__u32 gid;
	__u64 size;
	__u64 mtime_ns;       /* since the epoch */
	__u64 ctime_ns;
	__u32 nlink;
	__u32 pad;
};

struct tw_file_event {
	struct tw_event_header hdr;
	struct tw_creds creds;
	__u32 mnt_ns;
	__u32 op;             /* enum tw_file_op */
	__u32 change;         /* TW_FILE_CHANGE_* for FILE_MODIFY, else 0 */
	__u32 flags;          /* TW_FILE_FLAG_* */
	__u64 writes;         /* FILE_MODIFY content: write calls this event stands for (>= 1) */
	char comm[16];
	struct tw_file_info file;
	struct tw_varlen_fields vl;  /* PATH | OLD_PATH + NEW_PATH, [SYMLINK_TARGET], [LINK_SOURCE] */
};

/* tw_tty_write.flags */
#define TW_TTY_FLAG_PTY_MASTER 0x1   /* written to the master side (terminal emulator, sshd, tmux) */
#define TW_TTY_FLAG_PTY_SLAVE 0x2    /* written to the slave side (/dev/pts/N): program output */
#define TW_TTY_FLAG_CONSOLE 0x4      /* a virtual console, serial line or /dev/console */

/* Terminal output: what a process wrote to a tty, from write/writev/pwritev2. */
struct tw_tty_write {
	struct tw_event_header hdr;
	struct tw_tty tty;        /* the tty written to: numbers of its driver, window size */
	struct tw_tty ctty;       /* the writer's controlling tty (major 0: none) */
	__u32 flags;              /* TW_TTY_FLAG_* */
	__u32 iflag, oflag, cflag, lflag;  /* the tty's termios flags */
	__u32 pad;
	__u64 orig_len;           /* bytes the call wrote (TTY_OUT holds at most 8 KiB of them) */
	__u64 dropped_bytes;      /* bytes of this tty dropped by the rate budget since its last event */
	char comm[16];
	struct tw_varlen_fields vl;  /* TTY_OUT */
};

/*
 * Process calls that change what a process is or can reach: credential
 * changes, new sessions, ptrace, memfd and SysV shared memory. Reported at
 * syscall exit, only when the call succeeded. One layout for all; `args`
 * holds the call's arguments as passed (see docs/events.md per type).
 */
enum tw_proc_op {
	TW_PROC_OP_NONE = 0,
	TW_PROC_OP_SETUID, TW_PROC_OP_SETREUID, TW_PROC_OP_SETRESUID, TW_PROC_OP_SETFSUID,
	TW_PROC_OP_SETGID, TW_PROC_OP_SETREGID, TW_PROC_OP_SETRESGID, TW_PROC_OP_SETFSGID,
	TW_PROC_OP_SETSID, TW_PROC_OP_PTRACE, TW_PROC_OP_MEMFD_CREATE, TW_PROC_OP_SHMGET,
	TW_PROC_OP_MAX,
};

struct tw_process_call {
	struct tw_event_header hdr;
	struct tw_creds creds;    /* after the call: the new ids for set*id */
	__u32 fsuid, fsgid;       /* after the call */
	__u32 op;                 /* enum tw_proc_op */
	__u32 pad;
	__u64 args[3];            /* ptrace: request, target pid, addr; memfd: -, flags; shmget: key, size, flags */
	__s64 ret;                /* setsid: new sid; shmget: shm id; memfd_create: fd */
	char comm[16];
	struct tw_varlen_fields vl;  /* MEMFD_NAME for memfd_create */
};

/* A kernel module was loaded (tp_btf/module_load; absent on kernels without modules). */
struct tw_module_load {
	struct tw_event_header hdr;  /* the loading task: insmod, systemd-udevd, kthreadd, ... */
	char comm[16];
	struct tw_varlen_fields vl;  /* MODULE_NAME, [MODULE_VERSION], [MODULE_SRCVERSION] */
};

/*
 * Network. Addresses are kept as the socket holds them: IPv4 in the first 4
 * bytes of addr (network byte order), IPv6 in all 16; ports in host order.
 * A dual-stack AF_INET6 socket talking IPv4 keeps family AF_INET6 with
 * v4-mapped addresses (::ffff:a.b.c.d) and TW_NET_FLAG_V4_MAPPED.
 */
struct tw_net_tuple {
	__u16 family;         /* AF_INET (2) or AF_INET6 (10) */
	__u16 protocol;       /* IPPROTO_TCP (6), IPPROTO_UDP (17) */
	__u16 sport;          /* this host's side */
	__u16 dport;          /* the peer's side */
	__u8 saddr[16];
	__u8 daddr[16];
};

/* tw_net_connection.flags */
#define TW_NET_FLAG_V4_MAPPED 0x1      /* AF_INET6 socket carrying IPv4 */
#define TW_NET_FLAG_ESTABLISHED 0x2    /* the handshake completed at some point */
#define TW_NET_FLAG_RESET_RECEIVED 0x4 /* the peer reset the connection */
#define TW_NET_FLAG_RESET_SENT 0x8     /* this host reset the connection */
#define TW_NET_FLAG_OWNER_UNKNOWN 0x10 /* UDP: socket created before the agent, seen first on receive */

/*
 * Connection events. The header's pid block is the owning process (the one
 * that connected or accepted), also for CLOSED, which the kernel may run in
 * another context. Byte counts are TCP payload: what the application wrote
 * and the peer acknowledged, and what arrived in order from the peer.
 */
struct tw_net_connection {
	struct tw_event_header hdr;
	struct tw_net_tuple tuple;
	__u64 cookie;         /* socket cookie (SO_COOKIE): stable id of the socket */
	__u32 netns;          /* inode of the socket's network namespace */
	__u32 flags;          /* TW_NET_FLAG_* */
	__u32 state;          /* TCP state (include/net/tcp_states.h) when the event was made */
	__u32 pad;
	__u64 bytes_sent;     /* CLOSED: payload bytes acknowledged by the peer */
	__u64 bytes_received; /* CLOSED: payload bytes received in order */
	__u64 duration_ns;    /* CLOSED: since connect()/the handshake, 0 if not seen */
	char comm[16];        /* the owner's */
};

/* tw_tcp_metrics.reason */
#define TW_TCP_METRICS_END 1       /* the flow ended (state CLOSE) */
#define TW_TCP_METRICS_INTERVAL 2  /* periodic record of a live flow */

/*
 * Per-flow TCP measurements, aggregated in the kernel (never per packet):
 * counters are totals since the flow began. Times in microseconds.
 */
struct tw_tcp_metrics {
	struct tw_event_header hdr;   /* pid block of the owning process */
	struct tw_net_tuple tuple;
	__u64 cookie;
	__u32 netns;
	__u32 reason;                 /* TW_TCP_METRICS_* */
	__u32 flags;                  /* TW_NET_FLAG_* */
	__u32 state;
	__u32 srtt_us, rttvar_us, min_rtt_us;
	__u32 rtt_samples;            /* RTT measurements taken (0 unless counted) */
	__u64 rtt_sum_us;
	__u32 snd_cwnd, snd_ssthresh, rcv_wnd, snd_wnd, mss;
	__u32 packets_in_flight;
	__u32 retrans_segs;           /* segments retransmitted */
	__u32 recoveries;             /* entries into fast recovery */
	__u32 timeouts;               /* retransmission timeouts */
	__u32 sndq_bytes;             /* bytes written but not yet acknowledged, now */
	__u32 sndq_max_bytes;         /* the most seen at a sample point */
	__u32 pad;
	__u64 bytes_sent;             /* TCP payload sent, retransmissions included */
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 bytes_retrans;
	__u64 app_bytes_written;      /* bytes the application handed to TCP */
	__u64 app_bytes_read;         /* bytes the application took from TCP */
	__u64 segs_out, segs_in;
	__u64 duration_ns;
	char comm[16];
};

/* tw_udp_flow.reason */
#define TW_UDP_FLOW_CLOSED 1     /* the socket was released: final counts */
#define TW_UDP_FLOW_INTERVAL 2   /* periodic record of a live flow */
#define TW_UDP_FLOW_STOP 3       /* the agent stopped: the counts so far of a live flow */

/*
 * UDP traffic of one socket with one peer, counted per datagram in the
 * kernel and reported when the socket is released and periodically; never
 * one event per datagram. Bytes are UDP payload. The tuple's source is this
 * host's end.
 */
struct tw_udp_flow {
	struct tw_event_header hdr;   /* pid block of the socket's owner */
	struct tw_net_tuple tuple;
	__u64 cookie;
	__u32 netns;
	__u32 reason;                 /* TW_UDP_FLOW_* */
	__u32 flags;                  /* TW_NET_FLAG_OWNER_UNKNOWN when created before the agent */
	__u32 pad;
	__u64 packets_out, bytes_out;
	__u64 packets_in, bytes_in;
	__u64 first_ns, last_ns;      /* boot time of the first and the latest datagram */
	char comm[16];
};

/* tw_dns_message.direction */
#define TW_DNS_SENT 1
#define TW_DNS_RECEIVED 2

/* A DNS message (port 53) a process sent or received over UDP, parsed in userspace. */
struct tw_dns_message {
	struct tw_event_header hdr;   /* pid block of the socket's owner */
	struct tw_net_tuple tuple;    /* source: this host's end */
	__u64 cookie;
	__u32 netns;
	__u32 direction;              /* TW_DNS_* */
	__u32 flags;                  /* TW_NET_FLAG_OWNER_UNKNOWN */
	__u32 orig_len;               /* UDP payload length (DNS_PACKET holds at most 512) */
	char comm[16];
	struct tw_varlen_fields vl;   /* DNS_PACKET */
};

/* Pid filter flags: value of the kernel's pid filter map and of library pid rules. */
#define TW_PID_INCLUDE 0x1     /* report only included processes (when any rule includes) */
#define TW_PID_EXCLUDE 0x2     /* never report this process */
#define TW_PID_DESCENDANTS 0x4 /* ...and every process it forks from then on */

/* Per-event-type counters kept per CPU in the kernel (map "stats"). */
struct tw_kernel_stats {
	__u64 emitted;         /* records written to the ring */
	__u64 filtered;        /* events dropped by an in-kernel filter, on purpose */
	__u64 lost_ringbuf;    /* records lost because the ring buffer was full */
	__u64 truncated;       /* fields cut at their cap */
	__u64 lost_scratch;    /* not built: scratch buffer unavailable or in-flight table full */
	__u64 rate_limited;    /* events dropped on purpose by a rate budget (tty) */
	__u64 rate_limited_bytes;
};

#endif /* TRACEWIRE_WIRE_H */
