// SPDX-License-Identifier: Apache-2.0
/*
 * Run-queue latency per cgroup ("noisy neighbour" detection): a companion of
 * the events context, with its own small BPF object on the sched_wakeup,
 * sched_wakeup_new and sched_switch BTF tracepoints (sched_switch alone with
 * the sched_info clock, enum tw_sched_clock). The kernel side keeps a
 * latency histogram per cgroup (no event per context switch); once per
 * interval the library reads and resets it and calls back with one record per
 * cgroup that ran anything in that interval.
 *
 *   struct tw_sched_options o;
 *   tw_sched_options_init(&o);
 *   o.interval_ms = 1000;
 *   struct tw_sched *s;
 *   char err[256];
 *   if (tw_sched_open(&s, &o, on_record, user, err, sizeof(err)) < 0) ... print err
 *   while (running) tw_sched_poll(s, 100);   // calls on_record when an interval ends
 *   tw_sched_close(s);
 *
 * One thread at a time per process: the cgroup walk and the libbpf log hook
 * use process-wide state.
 *
 * It needs neither a tw_ctx nor the ring buffer; an embedder that runs both
 * calls tw_ctx_poll() and tw_sched_poll(s, 0) in the same loop (what
 * EventsTrace does), or sleeps at most tw_sched_timeout_ms().
 *
 * What is measured: the time from a task being queued (woken, created, or
 * preempted while still runnable) to its running, the quantity
 * /proc/PID/schedstat sums as run_delay, grouped by the cgroup of the task
 * that waited. On hybrid hosts (every process in the v2 root) the v1 cpu
 * controller's cgroup is used, as it is the one the CPU scheduler and its
 * cpu.stat throttling counters belong to; on pure v2 hosts the v2 cgroup.
 * docs/events.md ("SCHED_RUNQ") describes every field.
 */
#ifndef TRACEWIRE_SCHED_H
#define TRACEWIRE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tracewire.h"
#include "tracewire_sched_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tw_sched_hierarchy {
	TW_SCHED_HIERARCHY_AUTO = -1, /* v2 on pure v2 hosts, else v1 cpu, else v1 memory */
	TW_SCHED_HIERARCHY_V2 = TW_SCHED_HIER_V2,
	TW_SCHED_HIERARCHY_V1_MEMORY = TW_SCHED_HIER_V1_MEMORY,
	TW_SCHED_HIERARCHY_V1_CPU = TW_SCHED_HIER_V1_CPU,
};

/* How a wait is timed; GPL/probes/sched.bpf.c and docs/events.md (14) compare them. */
enum tw_sched_clock {
	/* own stamps at wakeup and switch (bpf_ktime_get_ns()): exact at both ends,
	 * three programs, two clock reads per wait */
	TW_SCHED_CLOCK_OWN = TW_SCHED_CLOCK_KTIME,
	/* the scheduler's own sched_info and run-queue clock: one program on
	 * sched_switch, no clock read; sums equal schedstat's run_delay, and like
	 * it miss the time from a preempting wakeup to the switch */
	TW_SCHED_CLOCK_SCHED_INFO = TW_SCHED_CLOCK_SCHEDSTAT,
};

#define TW_SCHED_MAX_OFFENDERS 16

struct tw_sched_options {
	uint32_t interval_ms;      /* default 1000; at least 10 */
	int hierarchy;             /* enum tw_sched_hierarchy; default AUTO */
	uint32_t max_offenders;    /* top offending cgroups per record; default 5, at most 16 */
	bool throttling;           /* read cpu.stat of each reported cgroup (default on) */
	tw_log_fn log;             /* NULL: warnings and errors to stderr */
	void *log_user;
	bool verbose;              /* libbpf and verifier log */
	int clock;                 /* enum tw_sched_clock; default TW_SCHED_CLOCK_OWN */
};

void tw_sched_options_init(struct tw_sched_options *o);

/* A cgroup that took the CPU from the record's cgroup, or ran while it waited. */
struct tw_sched_offender {
	uint64_t cgroup_id;
	const char *path;          /* NULL if the cgroup is gone */
	uint64_t preempted;        /* record's task preempted (still runnable) in favour of this one's */
	uint64_t waited;           /* record's task got the CPU after waiting while this one's ran */
	uint64_t waited_ns;        /* the run-queue latency of those waits */
};

/* The cgroup's CPU bandwidth throttling, from its cpu.stat. */
struct tw_sched_throttling {
	bool available;            /* cpu.stat was readable */
	bool has_delta;            /* a previous reading exists: the interval_* fields are set */
	uint64_t nr_periods, nr_throttled, throttled_usec;  /* cumulative, as cpu.stat says */
	uint64_t interval_nr_periods, interval_nr_throttled, interval_throttled_usec;
};

struct tw_sched_record {
	uint64_t seq;              /* interval number, from 1 */
	uint64_t start_realtime_ns, end_realtime_ns; /* the interval, CLOCK_REALTIME */
	int hierarchy;             /* enum tw_sched_hierarchy, never AUTO */
	uint64_t cgroup_id;        /* kernfs id = inode number of the cgroup's directory */
	const char *cgroup_path;   /* in its hierarchy ("/" for the root); NULL if gone */
	uint64_t count;            /* waits measured */
	uint64_t sum_ns, max_ns;
	uint64_t p50_ns, p90_ns, p99_ns; /* estimated from the buckets */
	uint64_t buckets[TW_SCHED_BUCKETS]; /* tw_sched_bucket_bounds() gives each range */
	uint64_t switches;         /* its tasks switched in */
	uint64_t preempted;        /* its tasks switched out while still runnable */
	uint64_t preempted_cross;  /* ... in favour of another cgroup's task */
	/* most preemptions + waits first; this and the paths are valid during the callback only */
	const struct tw_sched_offender *offenders;
	size_t n_offenders;
	struct tw_sched_throttling throttling;
};

/* Return non-zero to stop delivering the rest of this interval's records. */
typedef int (*tw_sched_fn)(void *user, const struct tw_sched_record *rec);

struct tw_sched;

/* Load and attach; 0 or a negative errno with a sentence in err. */
int tw_sched_open(struct tw_sched **out, const struct tw_sched_options *o, tw_sched_fn cb,
		  void *user, char *err, size_t errlen);
/* Detach and free (a partial interval is not reported: call tw_sched_flush() first). */
void tw_sched_close(struct tw_sched *s);
/*
 * Sleep until the interval ends or timeout_ms passes (0: do not sleep), and
 * if the interval has ended, report it. Returns records delivered or -errno.
 */
int tw_sched_poll(struct tw_sched *s, int timeout_ms);
/* End the current interval now and report it. Returns records delivered or -errno. */
int tw_sched_flush(struct tw_sched *s);
/* Milliseconds until the current interval ends (0 if it has). */
int tw_sched_timeout_ms(struct tw_sched *s);
int tw_sched_hierarchy_of(struct tw_sched *s);
/* "own" or "sched_info" */
const char *tw_sched_clock_name(int clock);
/*
 * The clock in use: the one asked for, except that the own clock falls back
 * to sched_info (with a warning through the log callback) on a kernel that
 * refuses BPF task storage, where it could not stamp anything.
 */
int tw_sched_clock_of(struct tw_sched *s);
/* Where that hierarchy is mounted (e.g. /sys/fs/cgroup/cpu); "" if it is not. */
const char *tw_sched_cgroup_mount(struct tw_sched *s);

struct tw_sched_stats {
	uint64_t intervals;
	uint64_t records;
	uint64_t dropped_cgroup_full;  /* updates lost: per-cgroup map full */
	uint64_t dropped_pair_full;    /* updates lost: offender pair map full */
	uint64_t dropped_task_storage; /* stamps lost: task storage unavailable */
};
int tw_sched_stats(struct tw_sched *s, struct tw_sched_stats *out);
struct tw_prog_stats; /* tracewire.h */
/*
 * Kernel run statistics of the run-queue latency programs (run_time_ns needs
 * kernel.bpf_stats_enabled), up to max of them into out. Returns how many
 * programs are loaded (possibly more than max), or -errno.
 */
int tw_sched_prog_stats(struct tw_sched *s, struct tw_prog_stats *out, size_t max);

/* "v2", "v1:cpu", "v1:memory" */
const char *tw_sched_hierarchy_name(int hierarchy);

/* ---- histogram helpers (no BPF needed; unit tested) ---- */

/* The range [lo, hi) of bucket idx in ns; the last bucket is open-ended (hi = UINT64_MAX). */
void tw_sched_bucket_bounds(unsigned idx, uint64_t *lo, uint64_t *hi);
/*
 * The p-quantile (0 < p <= 1) estimated from buckets: the bucket holding the
 * rank ceil(p * total), interpolated linearly inside it, never above max_ns
 * (the observed maximum; 0: unknown). 0 when the histogram is empty.
 */
uint64_t tw_sched_percentile(const uint64_t *buckets, size_t n, uint64_t max_ns, double p);
/* Fill count, p50/p90/p99 of r from r->buckets (and r->max_ns). */
void tw_sched_record_summarize(struct tw_sched_record *r);

struct tw_json;
/* One SCHED_RUNQ object (no newline) into j. */
void tw_sched_record_to_json(struct tw_json *j, const struct tw_sched_record *r);
/* bcc runqlat's view: log2 buckets in microseconds with a bar per line. */
void tw_sched_print_histogram(FILE *f, const struct tw_sched_record *r);

#ifdef __cplusplus
}
#endif
#endif /* TRACEWIRE_SCHED_H */
