// SPDX-License-Identifier: GPL-2.0-only
/*
 * Run-queue latency per cgroup (noisy-neighbour detection), on BTF
 * tracepoints only. Two ways to time a wait, chosen at load
 * (tw_cfg_sched_clock, tracewire_sched_wire.h):
 *
 *  - own stamps (TW_SCHED_CLOCK_KTIME, the default): sched_wakeup and
 *    sched_wakeup_new stamp a task with bpf_ktime_get_ns() when it is
 *    queued, sched_switch stamps the task it switches out if that task is
 *    still runnable (preempted), and measures the task it switches in.
 *    Exact at both ends, at the price of a program run and a clock read
 *    per wakeup and a clock read per switch (~70 ns each on this VM).
 *
 *  - the scheduler's bookkeeping (TW_SCHED_CLOCK_SCHEDSTAT): one hook,
 *    sched_switch. The kernel stamps task->sched_info.last_queued with the
 *    run-queue clock when a task is queued and clears it when the task
 *    gets the CPU (sched_info_arrive(), after this tracepoint), so
 *    rq->clock - next's last_queued is the wait that is ending. A task
 *    moved to another CPU while it waits is dequeued: the kernel adds the
 *    part already waited to sched_info.run_delay and stamps anew, so per
 *    task we keep run_delay as it will be right after this switch and add
 *    its growth since. The sums equal run_delay's growth exactly. But like
 *    run_delay, it misses the stretch between a wakeup that preempts and
 *    the switch that follows, because the scheduler skips the clock update
 *    of that switch (RQCF_ACT_SKIP): microseconds when an idle CPU wakes,
 *    up to the next preemption point of a task running in the kernel
 *    (CONFIG_PREEMPT_NONE) otherwise. docs/events.md, 14, has the figures.
 *
 * Latencies go into per-cgroup, per-CPU histograms that the library reads
 * and resets once per interval: nothing is written to the ring buffer, no
 * event per switch. sched_switch runs on every context switch, so it does
 * as little as it can: direct BTF loads, one task-storage lookup per task
 * touched, one per-CPU slot (or hash) lookup for the incoming task's
 * cgroup, and the cross-cgroup pair map only when two different cgroups
 * meet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_sched_wire.h"
#include "tw_sched.h"

char LICENSE[] SEC("license") = "GPL";

/* Per task, lives and dies with it; the clock mode uses one of the two. */
struct tw_sched_task {
	/* own stamps: when the task was queued; 0 once consumed */
	__u64 queued_ns;
	/*
	 * schedstat: sched_info.run_delay as it stands once the task's last
	 * wait is counted (the kernel adds that wait after our hook)
	 */
	__u64 run_delay_seen;
	__u32 seen; /* 0: first sight, run_delay_seen not yet known */
	__u32 pad;
};


/* How waits are timed (TW_SCHED_CLOCK_*), set by the library before load. */
const volatile __u32 tw_cfg_sched_clock = TW_SCHED_CLOCK_KTIME;

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

/* Own stamps: the wait of `next` that ends now, or -1 if it was not stamped. */
static __always_inline __s64 tw_sched__wait_stamped(struct task_struct *next, __u64 now)
{
	struct tw_sched_task *ts = bpf_task_storage_get(&tw_sched_tasks, next, 0, 0);
	__u64 queued;

	if (!ts || !ts->queued_ns)
		return -1;
	queued = ts->queued_ns;
	ts->queued_ns = 0;
	return (__s64)(now - queued);
}

/*
 * schedstat: the wait of `next` that ends now (ns), or -1 when there is
 * none to count (not queued through sched_info, the clock went back on a
 * CPU change, or its storage could not be made).
 */
static __always_inline __s64 tw_sched__wait_schedstat(struct task_struct *next)
{
	/*
	 * This CPU's run queue, whose clock sched_info stamps with. Not through
	 * the per-CPU `runqueues` symbol: kernels without CONFIG_KALLSYMS_ALL
	 * (this one) cannot resolve it. next is on this run queue, and its
	 * fair-class entity points into it whatever its class (set_task_rq()),
	 * with group scheduling; the library refuses this clock without it.
	 */
	struct rq *rq = next->se.cfs_rq->rq;
	__u64 queued = next->sched_info.last_queued;
	__u64 run_delay = next->sched_info.run_delay;
	__u64 clock = rq->clock, pending, lat;
	struct tw_sched_task *ts;

	if (!queued || clock < queued)
		return -1;
	pending = clock - queued;
	ts = bpf_task_storage_get(&tw_sched_tasks, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		/* no storage: the pending part is still exact; a migrated part is not known */
		tw_sched__drop(TW_SCHED_DROP_TASK_STORAGE);
		return (__s64)pending;
	}
	/*
	 * At first sight of the task only the pending part is known; what it
	 * waited on another CPU before a migration is not.
	 */
	lat = pending;
	if (ts->seen && run_delay >= ts->run_delay_seen)
		lat += run_delay - ts->run_delay_seen;
	ts->run_delay_seen = run_delay + pending;
	ts->seen = 1;
	return (__s64)lat;
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

/*
 * Task storage is made here, outside the scheduler's locks, for every task:
 * at fork for new ones, by a task iterator the library runs once at open
 * for those already there. Some kernels (Debian's 7.2) refuse to allocate
 * it inside sched_switch / sched_wakeup (run-queue lock held, interrupts
 * off): every create there failed and nothing was measured. Those programs
 * still ask to create, for the few tasks these two miss.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tw_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!bpf_task_storage_get(&tw_sched_tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		tw_sched__drop(TW_SCHED_DROP_TASK_STORAGE);
	return 0;
}

SEC("iter/task")
int tw_sched_prepare(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;

	if (t && !bpf_task_storage_get(&tw_sched_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		tw_sched__drop(TW_SCHED_DROP_TASK_STORAGE);
	return 0;
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
	__u32 gen = tw_sched_gen & 1;
	struct tw_sched_cg_stats *cs;
	__u64 lat = 0, next_cg, prev_cg;
	int prev_runnable, measured = 0;
	__s64 wait;
	__u32 b;

	/* pid 0 is the idle task: it is never queued and belongs to no cgroup */
	prev_runnable = prev->pid && tw_sched__still_runnable(prev);
	if (tw_cfg_sched_clock == TW_SCHED_CLOCK_SCHEDSTAT) {
		if (!next->pid)
			goto prev_only;
		wait = tw_sched__wait_schedstat(next);
	} else {
		__u64 now = bpf_ktime_get_ns();

		if (prev_runnable)
			tw_sched__stamp(prev, now);
		if (!next->pid)
			goto prev_only;
		wait = tw_sched__wait_stamped(next, now);
	}
	if (wait >= 0) {
		lat = (__u64)wait;
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
