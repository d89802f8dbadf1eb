// SPDX-License-Identifier: GPL-2.0-only
/*
 * Run-queue latency per cgroup (noisy-neighbour detection), on BTF
 * tracepoints only: sched_wakeup / sched_wakeup_new stamp a task when it is
 * queued, sched_switch stamps the task it switches out if that task is still
 * runnable (preempted), and measures the task it switches in. Latencies go
 * into per-cgroup, per-CPU histograms that the library reads and resets once
 * per interval: nothing is written to the ring buffer, no event per switch.
 *
 * sched_switch runs on every context switch, so it does as little as it can:
 * direct BTF loads, one task-storage lookup per task touched, one per-CPU
 * hash lookup for the incoming task's cgroup, and the cross-cgroup pair map
 * only when two different cgroups meet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_sched_wire.h"
#include "tw_sched.h"

char LICENSE[] SEC("license") = "GPL";

/* When the task was queued; 0 once consumed. Lives and dies with the task. */
struct tw_sched_task {
	__u64 queued_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tw_sched_task);
} tw_sched_tasks SEC(".maps");

/*
 * Per (cgroup, generation), per CPU. Not preallocated: a preallocated
 * per-CPU hash would reserve entries x CPUs x 640 bytes up front.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192); /* two generations of up to 4096 cgroups */
	__type(key, struct tw_sched_cg_key);
	__type(value, struct tw_sched_cg_stats);
} tw_sched_cgroups SEC(".maps");

/* The per-CPU slots in front of tw_sched_cgroups (tracewire_sched_wire.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * TW_SCHED_SLOTS);
	__type(key, __u32);
	__type(value, struct tw_sched_cg_slot);
} tw_sched_slots SEC(".maps");

/* Cross-cgroup meetings; shared with atomics (rarer than switches). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct tw_sched_pair_key);
	__type(value, struct tw_sched_pair_stats);
} tw_sched_pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_SCHED_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_sched_drops SEC(".maps");

/* The generation being counted; the library flips it at each interval's end. */
volatile __u32 tw_sched_gen = 0;

static const struct tw_sched_cg_stats tw_sched_zero;

static __always_inline void tw_sched__drop(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&tw_sched_drops, &why);
	if (n)
		*n += 1;
}

static __always_inline void tw_sched__stamp(struct task_struct *t, __u64 now)
{
	struct tw_sched_task *s;

	s = bpf_task_storage_get(&tw_sched_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		tw_sched__drop(TW_SCHED_DROP_TASK_STORAGE);
		return;
	}
	s->queued_ns = now;
}

static __always_inline struct tw_sched_cg_stats *tw_sched__cg(__u64 id, __u32 gen)
{
	__u32 idx = (gen << TW_SCHED_SLOT_BITS) | (__u32)(id & (TW_SCHED_SLOTS - 1));
	struct tw_sched_cg_slot *slot = bpf_map_lookup_elem(&tw_sched_slots, &idx);
	struct tw_sched_cg_key k = {.cgroup_id = id, .gen = gen};
	struct tw_sched_cg_stats *s;

	if (slot) {
		if (slot->cgroup_id == id)
			return &slot->s;
		if (!slot->cgroup_id) { /* per-CPU: no other writer can race for it */
			slot->cgroup_id = id;
			return &slot->s;
		}
	}
	s = bpf_map_lookup_elem(&tw_sched_cgroups, &k);
	if (s)
		return s;
	/* first switch of this cgroup in this interval (or the map is full) */
	bpf_map_update_elem(&tw_sched_cgroups, &k, &tw_sched_zero, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&tw_sched_cgroups, &k);
	if (!s)
		tw_sched__drop(TW_SCHED_DROP_CG_FULL);
	return s;
}

static __always_inline void tw_sched__pair(__u64 victim, __u64 offender, __u32 gen,
					   __u64 preempted, __u64 waited_ns)
{
	struct tw_sched_pair_key k = {.victim = victim, .offender = offender, .gen = gen};
	struct tw_sched_pair_stats *p, init = {};

	p = bpf_map_lookup_elem(&tw_sched_pairs, &k);
	if (!p) {
		init.preempted = preempted;
		init.waited = !preempted;
		init.waited_ns = waited_ns;
		if (!bpf_map_update_elem(&tw_sched_pairs, &k, &init, BPF_NOEXIST))
			return;
		p = bpf_map_lookup_elem(&tw_sched_pairs, &k); /* another CPU created it */
		if (!p) {
			tw_sched__drop(TW_SCHED_DROP_PAIR_FULL);
			return;
		}
	}
	if (preempted) {
		__sync_fetch_and_add(&p->preempted, 1);
	} else {
		__sync_fetch_and_add(&p->waited, 1);
		__sync_fetch_and_add(&p->waited_ns, waited_ns);
	}
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tw_sched_wakeup, struct task_struct *p)
{
	tw_sched__stamp(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tw_sched_wakeup_new, struct task_struct *p)
{
	tw_sched__stamp(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 gen = tw_sched_gen & 1;
	struct tw_sched_cg_stats *cs;
	struct tw_sched_task *ts;
	__u64 lat = 0, next_cg, prev_cg;
	int prev_runnable = 0, measured = 0;
	__u32 b;

	/* pid 0 is the idle task: it is never queued and belongs to no cgroup */
	if (prev->pid && tw_sched__still_runnable(prev)) {
		prev_runnable = 1;
		tw_sched__stamp(prev, now);
	}
	if (!next->pid)
		goto prev_only;

	ts = bpf_task_storage_get(&tw_sched_tasks, next, 0, 0);
	if (ts && ts->queued_ns) {
		lat = now - ts->queued_ns;
		ts->queued_ns = 0;
		measured = 1;
	}
	next_cg = tw_sched__cgroup_id(next);
	cs = tw_sched__cg(next_cg, gen);
	if (cs) {
		cs->switches++;
		if (measured) {
			cs->sum_ns += lat; /* the count is the buckets' sum */
			if (lat > cs->max_ns)
				cs->max_ns = lat;
			b = tw_sched_bucket(lat);
			if (b < TW_SCHED_BUCKETS) /* always true; the verifier needs to see it */
				cs->buckets[b]++;
		}
	}
	if (!prev->pid || (!prev_runnable && !measured))
		return 0;
	prev_cg = tw_sched__cgroup_id(prev);
	if (prev_runnable) {
		cs = prev_cg == next_cg ? cs : tw_sched__cg(prev_cg, gen);
		if (cs) {
			cs->preempted++;
			if (prev_cg != next_cg)
				cs->preempted_cross++;
		}
	}
	if (prev_cg == next_cg)
		return 0;
	if (prev_runnable)
		tw_sched__pair(prev_cg, next_cg, gen, 1, 0);
	if (measured)
		tw_sched__pair(next_cg, prev_cg, gen, 0, lat);
	return 0;

prev_only:
	/* switching to idle with prev still runnable: e.g. its group was throttled */
	if (prev_runnable) {
		cs = tw_sched__cg(tw_sched__cgroup_id(prev), gen);
		if (cs)
			cs->preempted++;
	}
	return 0;
}
