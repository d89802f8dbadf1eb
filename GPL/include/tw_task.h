/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Readers for what the kernel knows about a task: pid block, credentials,
 * controlling tty, namespaces, cgroup. CO-RE reads throughout, so one object
 * runs on every kernel with BTF.
 */
#ifndef TW_TASK_H
#define TW_TASK_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tracewire_wire.h"

/* Kernels before 6.15 call kernfs_node's parent "parent", later "__parent". */
struct kernfs_node___old {
	struct kernfs_node *parent;
};

static __always_inline __u32 tw_task__pid_of_type(struct task_struct *t, enum pid_type type)
{
	struct pid *pid = BPF_CORE_READ(t, signal, pids[type]);
	return pid ? BPF_CORE_READ(pid, numbers[0].nr) : 0;
}

static __always_inline void tw_task__pid_info(struct task_struct *t, struct tw_pid_info *p)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct pid *tp = BPF_CORE_READ(leader, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);

	p->tgid = BPF_CORE_READ(t, tgid);
	p->tid = BPF_CORE_READ(t, pid);
	p->ppid = BPF_CORE_READ(t, real_parent, tgid);
	p->pgid = tw_task__pid_of_type(t, PIDTYPE_PGID);
	p->sid = tw_task__pid_of_type(t, PIDTYPE_SID);
	/* numbers[] is sized by the pid namespace depth; level indexes the deepest one */
	p->ns_tgid = BPF_CORE_READ(tp, numbers[level & 31].nr);
	p->start_time_ns = BPF_CORE_READ(leader, start_boottime);
}

static __always_inline void tw_task__creds(struct task_struct *t, struct tw_creds *c)
{
	const struct cred *cred = BPF_CORE_READ(t, real_cred);

	c->ruid = BPF_CORE_READ(cred, uid.val);
	c->rgid = BPF_CORE_READ(cred, gid.val);
	c->euid = BPF_CORE_READ(cred, euid.val);
	c->egid = BPF_CORE_READ(cred, egid.val);
	c->suid = BPF_CORE_READ(cred, suid.val);
	c->sgid = BPF_CORE_READ(cred, sgid.val);
	/* kernel_cap_t is a u64 since 6.3 and two u32 before: 8 bytes either way */
	bpf_probe_read_kernel(&c->cap_permitted, 8, &cred->cap_permitted);
	bpf_probe_read_kernel(&c->cap_effective, 8, &cred->cap_effective);
}

static __always_inline void tw_task__tty(struct task_struct *t, struct tw_tty *out)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return;
	out->major = BPF_CORE_READ(tty, driver, major);
	out->minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	out->rows = BPF_CORE_READ(tty, winsize.ws_row);
	out->cols = BPF_CORE_READ(tty, winsize.ws_col);
}

static __always_inline void tw_task__namespaces(struct task_struct *t, struct tw_namespaces *ns)
{
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);

	ns->pid = BPF_CORE_READ(tp, numbers[level & 31].ns, ns.inum);
	ns->user = BPF_CORE_READ(t, real_cred, user_ns, ns.inum);
	if (!nsp)
		return; /* exiting task */
	ns->mnt = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	ns->net = BPF_CORE_READ(nsp, net_ns, ns.inum);
	ns->uts = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	ns->ipc = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	ns->cgroup = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	if (bpf_core_field_exists(nsp->time_ns))
		ns->time = BPF_CORE_READ(nsp, time_ns, ns.inum);
}

/*
 * The cgroup that identifies the task's container. On hybrid hosts every
 * process sits in the v2 root, so the v1 memory (or cpu) controller's css is
 * the meaningful one; on pure v2 hosts it is the default hierarchy's cgroup.
 * The library picks the hierarchy at load time (tw_cfg_cgroup_hierarchy).
 */
static __always_inline struct cgroup *tw_task__cgroup(struct task_struct *t, __u32 hierarchy)
{
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	int id;

	if (hierarchy == TW_CGROUP_V1_MEMORY) {
		id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		return BPF_CORE_READ(cs, subsys[id & 15], cgroup);
	}
	if (hierarchy == TW_CGROUP_V1_CPU) {
		id = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		return BPF_CORE_READ(cs, subsys[id & 15], cgroup);
	}
	return BPF_CORE_READ(cs, dfl_cgrp);
}

static __always_inline struct kernfs_node *tw_kernfs__parent(struct kernfs_node *kn)
{
	struct kernfs_node___old *old = (void *)kn;
	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent);
	return BPF_CORE_READ(kn, __parent);
}

/* Type, CPU and both clocks of an event header (size is set when emitting). */
static __always_inline void tw_header__stamp(struct tw_event_header *h, __u32 type)
{
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_mono_ns = bpf_ktime_get_ns();
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
}

/* The fixed header of every event, for task t. */
static __always_inline void tw_header__fill(struct tw_event_header *h, __u32 type,
					    struct task_struct *t)
{
	tw_header__stamp(h, type);
	tw_task__pid_info(t, &h->pids);
}

/*
 * The same for an event whose pid block was recorded earlier: the owner of
 * a socket, recorded in process context and used from softirq.
 */
static __always_inline void tw_header__fill_pids(struct tw_event_header *h, __u32 type,
						 const struct tw_pid_info *pids)
{
	tw_header__stamp(h, type);
	h->pids = *pids;
}

#endif /* TW_TASK_H */
