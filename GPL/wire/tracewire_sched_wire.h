/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Run-queue latency per cgroup: the layout of the maps the sched probe fills
 * and the library reads (nothing of this goes through the ring buffer: the
 * probe aggregates in the kernel, userspace reads and resets per interval).
 *
 * Buckets are log-linear: four linear sub-buckets per power of two of the
 * latency in nanoseconds, so a bucket is at most 25 % of its lower bound wide
 * (log2 buckets would be 100 %) and percentiles estimated from them are
 * within a few percent.
 *
 *   index 0..7          exact values 0..7 ns (width 1)
 *   index i >= 4        e = i / 4 + 1, s = i % 4:
 *                       [(4 + s) << (e - 2), (5 + s) << (e - 2))
 *   index BUCKETS - 1   also holds everything above its lower bound
 *
 * (For e = 2 the formula gives width 1 and covers 4..7: both rules agree.)
 */
#ifndef TRACEWIRE_SCHED_WIRE_H
#define TRACEWIRE_SCHED_WIRE_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types */
#else
#include <linux/types.h>
#endif

#define TW_SCHED_SUB_BITS 2
#define TW_SCHED_SUB (1 << TW_SCHED_SUB_BITS) /* sub-buckets per power of two */
#define TW_SCHED_MAX_EXP 37                  /* 2^37 ns = 137 s: last exact octave */
#define TW_SCHED_BUCKETS (TW_SCHED_MAX_EXP * TW_SCHED_SUB) /* 148 */

/*
 * Map keys carry an interval generation: the probe writes into generation
 * tw_sched_gen (a .bss global), userspace flips it at the end of an interval
 * and then reads and deletes the previous generation, so an interval is read
 * whole, while the next one is already being counted, without races.
 */
struct tw_sched_cg_key {
	__u64 cgroup_id; /* kernfs id of the cgroup = inode number of its directory */
	__u32 gen;       /* 0 or 1 */
	__u32 pad;
};

/* Per cgroup, per CPU (a PERCPU_HASH value: no atomics on the hot path). */
struct tw_sched_cg_stats {
	__u64 sum_ns;        /* total of the run-queue waits measured (their count: the buckets' sum) */
	__u64 max_ns;        /* the longest */
	__u64 switches;      /* times one of its tasks was switched in */
	__u64 preempted;     /* times one of its tasks was switched out while runnable */
	__u64 preempted_cross; /* ... in favour of a task of another cgroup */
	__u32 buckets[TW_SCHED_BUCKETS];
};

/*
 * The fast path for per-cgroup stats: a per-CPU array of slots, a block of
 * TW_SCHED_SLOTS per generation, indexed by gen * TW_SCHED_SLOTS +
 * (cgroup_id % TW_SCHED_SLOTS). A switch claims a free slot (cgroup_id 0)
 * for its cgroup on its CPU, or finds the one it claimed; an array lookup is
 * inlined by the verifier, a hash lookup is a function call and a hash. A
 * cgroup whose slot another cgroup holds on that CPU uses the hash map. The
 * library reads the finished generation's slots and zeroes them.
 */
#define TW_SCHED_SLOT_BITS 6
#define TW_SCHED_SLOTS (1 << TW_SCHED_SLOT_BITS)

struct tw_sched_cg_slot {
	__u64 cgroup_id; /* 0: free */
	struct tw_sched_cg_stats s;
};

/* (victim, offender) pair: only switches between tasks of two different cgroups. */
struct tw_sched_pair_key {
	__u64 victim;
	__u64 offender;
	__u32 gen;
	__u32 pad;
};

struct tw_sched_pair_stats {
	__u64 preempted; /* victim's task switched out while runnable, offender's task in */
	__u64 waited;    /* victim's task got the CPU after a wait, from offender's task */
	__u64 waited_ns; /* the run-queue latency of those waits */
};

/* tw_sched_drops (PERCPU_ARRAY) indices: updates lost because a map was full. */
enum tw_sched_drop {
	TW_SCHED_DROP_CG_FULL = 0,
	TW_SCHED_DROP_PAIR_FULL = 1,
	TW_SCHED_DROP_TASK_STORAGE = 2,
	TW_SCHED_DROP_MAX = 3,
};

/* floor(log2(v)) for v > 0, branch-free enough for the BPF hot path (no clz there). */
static inline __u32 tw_sched_log2(__u64 v)
{
	__u32 r, shift;

	r = (v > 0xFFFFFFFFULL) << 5;
	v >>= r;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	return r | (__u32)(v >> 1);
}

/* The bucket of a latency of ns nanoseconds (layout above). */
static inline __u32 tw_sched_bucket(__u64 ns)
{
	__u32 e, idx;

	if (ns < 2 * TW_SCHED_SUB)
		return (__u32)ns;
	e = tw_sched_log2(ns);
	if (e > TW_SCHED_MAX_EXP)
		return TW_SCHED_BUCKETS - 1;
	idx = (e - 1) * TW_SCHED_SUB + (__u32)((ns >> (e - TW_SCHED_SUB_BITS)) & (TW_SCHED_SUB - 1));
	return idx < TW_SCHED_BUCKETS ? idx : TW_SCHED_BUCKETS - 1;
}

/* tw_cfg_sched_hierarchy: which cgroup a task is counted under. */
#define TW_SCHED_HIER_V2 0        /* default hierarchy (pure v2 hosts) */
#define TW_SCHED_HIER_V1_MEMORY 1 /* v1 memory controller's cgroup */
#define TW_SCHED_HIER_V1_CPU 2    /* v1 cpu controller's cgroup (hybrid hosts) */

/* How the probe times a wait (GPL/probes/sched.bpf.c explains both). */
#define TW_SCHED_CLOCK_KTIME 0     /* own stamps at wakeup and switch, bpf_ktime_get_ns() */
#define TW_SCHED_CLOCK_SCHEDSTAT 1 /* the scheduler's sched_info and rq clock, one hook */

#endif /* TRACEWIRE_SCHED_WIRE_H */
