/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Task readers for the scheduler probe. They run on every context switch, so
 * they use direct BTF loads (one instruction each, faults read as 0) instead
 * of BPF_CORE_READ's bpf_probe_read_kernel() calls, which cost a helper call
 * per pointer hop; tw_task.h's readers are for the rarer process events.
 */
#ifndef TW_SCHED_BPF_H
#define TW_SCHED_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tracewire_sched_wire.h"

/* Before 5.14 the task state was `long state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* Which hierarchy names a task's cgroup (set by the library before load). */
const volatile __u32 tw_cfg_sched_hierarchy = TW_SCHED_HIER_V2;

/*
 * TASK_RUNNING (0) at sched_switch means the task stays queued: it was
 * preempted (or yielded), and its run-queue wait starts now. The same test
 * schedstat's sched_info_depart() uses, so run_delay and we agree.
 */
static __always_inline int tw_sched__still_runnable(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state == 0;
	return ((struct task_struct___pre514 *)t)->state == 0;
}

/*
 * The id of the cgroup a task is counted under: on hybrid hosts (every
 * process in the v2 root) the v1 cpu (or memory) controller's cgroup, on
 * pure v2 hosts the default hierarchy's. The branch is on a read-only
 * global, so the verifier keeps only one path.
 */
static __always_inline __u64 tw_sched__cgroup_id(struct task_struct *t)
{
	struct css_set *cs = t->cgroups;
	struct cgroup *cg;

	if (tw_cfg_sched_hierarchy == TW_SCHED_HIER_V1_CPU &&
	    bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
		cg = cs->subsys[bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id)]->cgroup;
	else if (tw_cfg_sched_hierarchy == TW_SCHED_HIER_V1_MEMORY &&
		 bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		cg = cs->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)]->cgroup;
	else
		cg = cs->dfl_cgrp;
	return cg->kn->id;
}

#endif /* TW_SCHED_BPF_H */
