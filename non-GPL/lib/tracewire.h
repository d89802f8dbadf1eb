// SPDX-License-Identifier: Apache-2.0
/*
 * tracewire events library: loads the kernel probes, configures and attaches
 * them, consumes the ring buffer and hands each decoded event to a callback.
 *
 *   struct tw_options o;
 *   tw_options_init(&o);
 *   o.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC);
 *   struct tw_ctx *ctx;
 *   char err[256];
 *   if (tw_ctx_open(&ctx, &o, on_event, user, err, sizeof(err)) < 0) ... print err
 *   while (running) tw_ctx_poll(ctx, 100);
 *   tw_ctx_close(ctx);
 *
 * This is the one header an embedder includes (installed as <tracewire/tracewire.h>):
 * it pulls in the decoder, JSON rendering, recordings, the HTTP shipper, the
 * run-queue latency companion, network accounting and metrics. docs/library.md is
 * the reference, with a complete example.
 *
 * Errors: functions that can fail return a negative errno (0 or a count on success);
 * tw_strerror() names it, and tw_ctx_open() also writes a sentence into `err`.
 *   -EPERM    not root (loading BPF needs CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_NET_ADMIN)
 *   -ENOTSUP  the kernel has no BTF
 *   -EINVAL   options not from tw_options_init(), or an invalid value
 *   -E2BIG    options from a newer tracewire.h with a field this library does not know set
 *   -ENOENT   a hook, tracefs or a cgroup directory is missing
 *   -ENOMEM   out of memory; other values come from the kernel (bpf(), perf, epoll)
 *
 * Threads: a tw_ctx is used by one thread at a time (tw_ctx_poll(), tw_ctx_consume()
 * and the callbacks they run are on the calling thread); different contexts may live in
 * different threads, but libbpf's log hook is process-wide, so open one context at a time
 * (the last one opened gets libbpf's messages). Decoding, JSON and recording functions
 * keep no global state and are safe in any thread. A tw_shipper may be fed by one thread
 * at a time; its sending runs on its own thread (tracewire_ship.h).
 */
#ifndef TRACEWIRE_H
#define TRACEWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracewire_config.h"
#include "tracewire_decode.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_LIB_VERSION "0.1.0"

#define TW_EVENT_BIT(t) (1ULL << (t))
#define TW_EVENTS_PROCESS_CALLS                                                     \
	(TW_EVENT_BIT(TW_EVENT_PROCESS_SETUID) | TW_EVENT_BIT(TW_EVENT_PROCESS_SETGID) |    \
	 TW_EVENT_BIT(TW_EVENT_PROCESS_SETSID) | TW_EVENT_BIT(TW_EVENT_PROCESS_PTRACE) |    \
	 TW_EVENT_BIT(TW_EVENT_PROCESS_MEMFD_CREATE) | TW_EVENT_BIT(TW_EVENT_PROCESS_SHMGET))
#define TW_EVENTS_PROCESS                                                  \
	(TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC) | TW_EVENT_BIT(TW_EVENT_PROCESS_FORK) | \
	 TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT) | TW_EVENTS_PROCESS_CALLS |           \
	 TW_EVENT_BIT(TW_EVENT_PROCESS_LOAD_MODULE) | TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT))
#define TW_EVENTS_FILE                                                                    \
	(TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_DELETE) |        \
	 TW_EVENT_BIT(TW_EVENT_FILE_RENAME) | TW_EVENT_BIT(TW_EVENT_FILE_MODIFY) |        \
	 TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN))
#define TW_EVENTS_TTY TW_EVENT_BIT(TW_EVENT_PROCESS_TTY_WRITE)
#define TW_EVENTS_NETWORK                                                               \
	(TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED) |                            \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ACCEPTED) |                             \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED) | TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS) | \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW) | TW_EVENT_BIT(TW_EVENT_NETWORK_DNS))
#define TW_EVENTS_ALL (TW_EVENTS_PROCESS | TW_EVENTS_FILE | TW_EVENTS_TTY | TW_EVENTS_NETWORK)

/* tw_pid_rule.flags: TW_PID_INCLUDE, TW_PID_EXCLUDE, TW_PID_DESCENDANTS (tracewire_wire.h) */
struct tw_pid_rule {
	uint32_t pid;
	uint32_t flags;
};

/*
 * Task filters, in the kernel, on every event: by command name (comm, up to
 * 15 bytes), real uid, or cgroup (its id, which is the inode number of its
 * directory on the cgroup filesystem, or that directory's path). For each
 * kind, if any rule includes, only matching tasks are reported.
 */
struct tw_task_rule {
	enum { TW_RULE_COMM, TW_RULE_UID, TW_RULE_CGROUP } kind;
	bool exclude;
	const char *comm;        /* TW_RULE_COMM */
	uint32_t uid;            /* TW_RULE_UID */
	uint64_t cgroup_id;      /* TW_RULE_CGROUP: the id, or 0 and... */
	const char *cgroup_path; /* ...the cgroup's directory, e.g. /sys/fs/cgroup/memory/app */
};

/* File events under `prefix` are kept (include) or dropped (exclude) in the kernel. */
struct tw_path_rule {
	const char *prefix;   /* absolute, shorter than TW_PATH_PREFIX_MAX */
	bool exclude;
};

enum tw_log_level { TW_LOG_ERROR, TW_LOG_WARN, TW_LOG_INFO, TW_LOG_DEBUG };
typedef void (*tw_log_fn)(void *user, enum tw_log_level level, const char *msg);

/*
 * Options. Always start from tw_options_init(), which sets struct_size: the
 * library reads only the struct_size bytes the caller's header knew about and
 * takes defaults for fields added later, so a program built against an older
 * tracewire.h keeps working with a newer library. New fields are only ever
 * appended; a newer header's struct passed to an older library is accepted if
 * every field the library does not know is zero, else tw_ctx_open() fails -E2BIG.
 */
struct tw_options {
	uint32_t struct_size;       /* sizeof(struct tw_options), set by tw_options_init() */
	uint64_t event_mask;        /* TW_EVENT_BIT()s; probes for other types are not loaded */
	uint32_t ring_size;         /* bytes, rounded up to a power of two; default 8 MiB */
	uint32_t wakeup_bytes;      /* 0: kernel's wakeup per caught-up event; N: wake once N
				       bytes are pending (adaptive); default 256 KiB */
	uint32_t max_latency_ms;    /* with adaptive wakeups, the consumer still drains at least
				       this often; default 50 */
	bool capture_env;           /* PROCESS_EXEC carries the environment (off by default) */
	uint32_t file_write_window_ms; /* FILE_MODIFY content: one event per open file per window,
				       later writes counted into the next event or the close;
				       0: every write is an event; default 1000 */
	bool exclude_self;          /* never report the calling process (default on) */
	uint32_t tcp_metrics_interval_ms; /* NETWORK_TCP_METRICS also every this often for each
				       live flow (reason "interval"); 0 (default): only at the end */
	uint32_t udp_flow_interval_ms; /* NETWORK_UDP_FLOW also every this often for each live
				       flow (reason "interval"); 0: only when the socket is
				       released; default 60000 */
	uint32_t exit_hold_ms;      /* a PROCESS_EXIT waits up to this long for the
				       NETWORK_CONNECTION_CLOSED of connections the process held
				       (the kernel reports the exit first); default 500, 0: never */
	const struct tw_pid_rule *pid_rules;
	size_t n_pid_rules;
	/* longest matching prefix decides; unmatched paths pass unless some rule includes */
	const struct tw_path_rule *path_rules;
	size_t n_path_rules;
	const struct tw_task_rule *task_rules;
	size_t n_task_rules;
	uint64_t tty_budget_bytes;  /* PROCESS_TTY_WRITE: bytes per second per tty; 0: no limit.
				       Dropped bytes are counted and carried by the next event. */
	tw_log_fn log;              /* NULL: warnings and errors to stderr */
	void *log_user;
	bool verbose;               /* debug log including the libbpf/verifier log */
};

void tw_options_init(struct tw_options *o);

/* The library's version at run time ("0.1.0"); TW_LIB_VERSION is the header's. */
const char *tw_version(void);
/* A constant sentence for a negative errno returned by the API (either sign accepted). */
const char *tw_strerror(int err);

/* Return non-zero from the callback to stop the current poll/consume call. */
typedef int (*tw_event_fn)(void *user, const struct tw_event *ev);

/* What became of each probe program at open. */
enum tw_probe_state {
	TW_PROBE_NOT_REQUESTED, /* its event type was not asked for */
	TW_PROBE_ATTACHED,
	TW_PROBE_UNAVAILABLE,   /* its hook does not exist on this kernel */
};

struct tw_probe_status {
	const char *program;       /* BPF program name */
	const char *hook;          /* e.g. "tp_btf/sched_process_exec" */
	uint64_t event_mask;       /* TW_EVENT_BIT()s of the types it can emit */
	enum tw_probe_state state;
};

struct tw_type_stats {
	uint64_t emitted;       /* kernel: records written to the ring */
	uint64_t filtered;      /* kernel: rejected by a filter, on purpose */
	uint64_t lost_ringbuf;  /* kernel: lost because the ring was full */
	uint64_t truncated;     /* kernel: fields cut at their cap */
	uint64_t lost_scratch;  /* kernel: not built (scratch buffer unavailable) */
	uint64_t rate_limited;  /* kernel: dropped on purpose by a rate budget */
	uint64_t rate_limited_bytes;
	uint64_t received;      /* userspace: records decoded and delivered */
};

struct tw_stats {
	struct tw_type_stats type[TW_EVENT_TYPE_MAX];
	uint64_t decode_errors[TW_DECODE_ERROR_MAX]; /* userspace: records rejected, by reason */
	uint64_t decode_errors_total;
	uint64_t lost_total;     /* sum of lost_ringbuf + lost_scratch over all types */
	/* userspace ordering of EXIT after CLOSED (tw_options.exit_hold_ms) */
	uint64_t exits_held;            /* EXITs that waited for connections to close */
	uint64_t exits_hold_expired;    /* ...and were released by the deadline instead */
	uint64_t connections_untracked; /* opens not tracked for ordering (table full) */
	uint64_t connections_open;      /* reported open, not yet closed */
	uint64_t dns_malformed;         /* NETWORK_DNS messages that did not parse: dropped */
	/*
	 * Runs of this context's BPF programs the kernel skipped because the
	 * program was already running on that CPU (bpf_prog_info's
	 * recursion_misses, summed). Nonzero on kernels where programs can be
	 * preempted (full or lazy preemption, e.g. Debian's 7.2): a task's
	 * program preempted mid-run blocks the same program for other tasks on
	 * that CPU, and whatever those runs would have reported is lost. Which
	 * event types they would have produced is not known.
	 */
	uint64_t runs_skipped;
};

struct tw_ctx;

/*
 * Load, configure and attach the probes. Returns 0, or a negative errno with
 * a sentence in err (not root, no BTF, verifier rejection: run with
 * verbose for the verifier log).
 */
int tw_ctx_open(struct tw_ctx **out, const struct tw_options *opts, tw_event_fn cb, void *user,
		char *err, size_t errlen);
void tw_ctx_close(struct tw_ctx *ctx);

/* epoll-able fd: readable when records are pending (modulo adaptive wakeups). */
int tw_ctx_fd(struct tw_ctx *ctx);
/* Wait up to timeout_ms (bounded by max_latency_ms) and deliver pending records. */
int tw_ctx_poll(struct tw_ctx *ctx, int timeout_ms);
/* Deliver whatever is pending without waiting. Returns records delivered or -errno. */
int tw_ctx_consume(struct tw_ctx *ctx);
/*
 * Before a final stop: report the counts of live UDP flows (reason "stop")
 * and deliver events held back for ordering (EXITs waiting for CLOSED).
 */
int tw_ctx_flush(struct tw_ctx *ctx);

/* Add a pid rule while running (e.g. a process just launched). */
int tw_ctx_add_pid_rule(struct tw_ctx *ctx, uint32_t pid, uint32_t flags);
/* Change the adaptive wakeup threshold while running (0: kernel's policy). */
int tw_ctx_set_wakeup_bytes(struct tw_ctx *ctx, uint32_t bytes);

/* Kernel counters (summed over CPUs) plus userspace counters. */
int tw_ctx_stats(struct tw_ctx *ctx, struct tw_stats *out);
const struct tw_probe_status *tw_ctx_probes(struct tw_ctx *ctx, size_t *n);
/*
 * The hook set serving an event type in this context, chosen at open from
 * what the running kernel allows (file events: docs/kernels.md, "Hook
 * selection"): "vfs" (fentry/fexit on the vfs_* and security_path_*
 * functions: paths from the dentry the kernel operated on, io_uring
 * included), "syscall_tracepoints", "tp_btf", "raw_tp", "cgroup",
 * "sockops", "iterator", ... NULL when no attached program serves it.
 */
const char *tw_ctx_hook_set(struct tw_ctx *ctx, uint32_t type);
/*
 * One line for a log or a start record, for the file event types this
 * context serves: "FILE_CREATE=vfs FILE_DELETE=vfs FILE_RENAME=vfs
 * FILE_MODIFY=syscall_tracepoints ...", with the reason in parentheses
 * where a vfs-capable type fell back to the tracepoints (reasons are those
 * of the most recent tw_ctx_open() in the process). Returns the length
 * of the full line, as snprintf.
 */
int tw_ctx_hook_report(struct tw_ctx *ctx, char *buf, size_t len);
/* CLOCK_REALTIME minus CLOCK_BOOTTIME at open, ns: realtime = boot + offset. */
int64_t tw_ctx_realtime_offset(struct tw_ctx *ctx);
uint32_t tw_ctx_ring_size(struct tw_ctx *ctx);
/*
 * Bytes written into the ring buffer and not yet consumed (its fill level):
 * the producer minus the consumer position, read from the ring's mapped
 * control pages. Records reserved but not yet committed count as written.
 * Any thread may call it while the context is open. 0 or -errno.
 */
int tw_ctx_ring_pending(struct tw_ctx *ctx, uint64_t *bytes);

/* Kernel statistics of one loaded BPF program (bpf_prog_info). */
struct tw_prog_stats {
	const char *program;       /* its name in the probe object; valid while ctx is open */
	uint64_t run_count;        /* counted only while kernel.bpf_stats_enabled is 1 */
	uint64_t run_time_ns;
	uint64_t recursion_misses; /* runs skipped: the program was already running on that CPU */
};
/* Fills up to max entries, one per loaded program; returns how many programs are loaded. */
int tw_ctx_prog_stats(struct tw_ctx *ctx, struct tw_prog_stats *out, size_t max);

/* Raw record tap (e.g. recording): called with every record before decoding. */
typedef void (*tw_raw_fn)(void *user, const void *data, size_t len);
void tw_ctx_set_raw_tap(struct tw_ctx *ctx, tw_raw_fn fn, void *user);

#ifdef __cplusplus
}
#endif

/*
 * The rest of the API, so that this header is the only one an embedder needs.
 * After the definitions above: each of these includes tracewire.h itself for
 * tw_event, tw_log_fn and friends, and the include guard makes that a no-op.
 * extern "C" here because json_writer.h (via tracewire_json.h) has none.
 */
/* tracewire_metrics.h names it before tracewire_sched.h may have defined it (when that
 * header is the one including this): declared here, the two refer to one type */
struct tw_sched_record;
#ifdef __cplusplus
extern "C" {
#endif
#include "tracewire_record.h"
#include "tracewire_json.h"
#include "tracewire_ship.h"
#include "tracewire_sched.h"
#include "tracewire_netacct.h"
#include "tracewire_metrics.h"
#ifdef __cplusplus
}
#endif
#endif /* TRACEWIRE_H */
