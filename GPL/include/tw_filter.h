/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel filters, applied before an event reaches the ring buffer: the pid
 * and task (comm, uid, cgroup) filters before any work (a hash lookup each,
 * only for the kinds that have rules), the path filter once the paths are
 * built (one trie lookup per path).
 */
#ifndef TW_FILTER_H
#define TW_FILTER_H

#include "tracewire_config.h"
#include "tw_emit.h"
#include "tw_task.h"

/* Bit (1 << type) set for every event type the consumer asked for. */
const volatile __u64 tw_cfg_event_mask = 0;

static __always_inline int tw_type_wanted(__u32 type)
{
	return (tw_cfg_event_mask >> (type & 63)) & 1;
}

/*
 * Filters on what the current task is: its comm, its real uid, its cgroup
 * (the hierarchy tw_cfg_cgroup_hierarchy names). Each kind is off unless the
 * loader set rules; with any include rule of a kind, only matches pass.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[16]);
	__type(value, __u32); /* TW_PID_INCLUDE or TW_PID_EXCLUDE */
} tw_comm_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} tw_uid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u32);
} tw_cgroup_filter SEC(".maps");

const volatile __u32 tw_cfg_comm_filter = 0;   /* TW_TASK_FILTER_* */
const volatile __u32 tw_cfg_uid_filter = 0;
const volatile __u32 tw_cfg_cgroup_filter = 0;

/* One kind of task filter: 1 when the value's rule (or its absence) rejects. */
static __always_inline int tw_filter__kind_rejects(__u32 cfg, __u32 *rule)
{
	if (rule)
		return (*rule & TW_PID_EXCLUDE) != 0;
	return (cfg & TW_TASK_FILTER_INCLUDE) != 0;
}

/* task NULL: the current task (cheaper helpers); else that task (iterators). */
static __always_inline int tw_filter__task_rejects(struct task_struct *task)
{
	if (tw_cfg_comm_filter) {
		char comm[16] = {};
		if (task)
			BPF_CORE_READ_STR_INTO(&comm, task, comm);
		else
			bpf_get_current_comm(comm, sizeof(comm));
		if (tw_filter__kind_rejects(tw_cfg_comm_filter, bpf_map_lookup_elem(&tw_comm_filter, comm)))
			return 1;
	}
	if (tw_cfg_uid_filter) {
		__u32 uid = task ? BPF_CORE_READ(task, real_cred, uid.val)
				 : (__u32)bpf_get_current_uid_gid();
		if (tw_filter__kind_rejects(tw_cfg_uid_filter, bpf_map_lookup_elem(&tw_uid_filter, &uid)))
			return 1;
	}
	if (tw_cfg_cgroup_filter) {
		__u64 id;
		if (!task)
			task = (struct task_struct *)bpf_get_current_task();
		id = BPF_CORE_READ(tw_task__cgroup(task, tw_cfg_cgroup_hierarchy), kn, id);
		if (tw_filter__kind_rejects(tw_cfg_cgroup_filter, bpf_map_lookup_elem(&tw_cgroup_filter, &id)))
			return 1;
	}
	return 0;
}

/*
 * True when the pid filter rejects this tgid, or a task filter rejects the
 * task (NULL: the current one); counts the event as filtered. Cheap when nothing is set:
 * every check is gated by a read-only global the verifier folds away.
 */
static __always_inline int tw_filter__rejects_task(struct task_struct *task, __u32 tgid, __u32 type)
{
	__u32 *flags;
	int reject = 0;

	if (tw_cfg_pid_filter_used) {
		flags = bpf_map_lookup_elem(&tw_pid_filter, &tgid);
		if (tw_cfg_pid_include_mode)
			reject = !flags || !(*flags & TW_PID_INCLUDE);
		else
			reject = flags && (*flags & TW_PID_EXCLUDE);
	}
	if (!reject)
		reject = tw_filter__task_rejects(task);
	if (reject)
		tw_stats__add_filtered(type);
	return reject;
}

static __always_inline int tw_filter__rejects(__u32 tgid, __u32 type)
{
	return tw_filter__rejects_task(NULL, tgid, type);
}

/* A new process inherits its parent's entry when that entry covers descendants. */
static __always_inline void tw_filter__inherit(__u32 parent_tgid, __u32 child_tgid)
{
	__u32 *flags;

	if (!tw_cfg_pid_filter_used)
		return;
	flags = bpf_map_lookup_elem(&tw_pid_filter, &parent_tgid);
	if (flags && (*flags & TW_PID_DESCENDANTS)) {
		__u32 v = *flags;
		bpf_map_update_elem(&tw_pid_filter, &child_tgid, &v, BPF_ANY);
	}
}

/* Forget a dead process, so a recycled pid does not inherit its entry. */
static __always_inline void tw_filter__forget(__u32 tgid)
{
	if (tw_cfg_pid_filter_used)
		bpf_map_delete_elem(&tw_pid_filter, &tgid);
}

/* Path prefix rules for file events; see tracewire_config.h. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 512);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_path_key);
	__type(value, __u32);
} tw_path_prefixes SEC(".maps");

const volatile __u32 tw_cfg_path_filter_used = 0;
const volatile __u32 tw_cfg_path_include_mode = 0; /* some rule includes: unmatched paths are out */

#define TW_PATH_KEY_OFF (202 * 1024) /* scratch area for the trie lookup key */

/* One path against the prefix rules: 1 when it is out. */
static __always_inline int tw_filter__path_out(char *buf, const char *path, __u32 size)
{
	struct tw_path_key *k = (struct tw_path_key *)(buf + TW_PATH_KEY_OFF);
	__u32 *action, n = size;

	if (n > TW_PATH_PREFIX_MAX)
		n = TW_PATH_PREFIX_MAX;
	bpf_probe_read_kernel(k->data, n, path);
	k->prefixlen = n * 8;
	action = bpf_map_lookup_elem(&tw_path_prefixes, k);
	if (action)
		return *action == TW_PATH_RULE_EXCLUDE;
	return tw_cfg_path_include_mode;
}

struct tw_path_check {
	char *buf;        /* the event in scratch */
	__u32 off, end;   /* next field, end of the fields */
	__u32 paths, in;  /* path fields seen, and how many passed */
};

static long tw_path_check__step(__u32 i, void *ctx)
{
	struct tw_path_check *c = ctx;
	struct tw_varlen_field *f;
	__u32 off = c->off;

	if (off + sizeof(*f) > c->end)
		return 1;
	f = (struct tw_varlen_field *)(c->buf + (off & TW_EVENT_OFF_MASK));
	if (f->type == TW_FIELD_PATH || f->type == TW_FIELD_OLD_PATH ||
	    f->type == TW_FIELD_NEW_PATH || f->type == TW_FIELD_LINK_SOURCE) {
		c->paths++;
		if (!tw_filter__path_out(c->buf, f->data, f->size))
			c->in++;
	}
	c->off = off + sizeof(*f) + f->size;
	return 0;
}

/*
 * Does the built event fall outside the path prefix rules? Checked once,
 * over its path fields, after they are all built: an event with two paths
 * (rename, link) is kept when either is in. One trie lookup per path, but
 * only after the paths were built: a filtered file event costs its walk.
 */
static __always_inline int tw_filter__event_path_rejects(struct tw_builder *b)
{
	struct tw_path_check c;

	if (!tw_cfg_path_filter_used)
		return 0;
	c.buf = b->buf;
	c.off = (__u32)((char *)b->vl->data - b->buf);
	c.end = b->off;
	c.paths = 0;
	c.in = 0;
	bpf_loop(4, tw_path_check__step, &c, 0);
	return c.paths && !c.in;
}

#endif /* TW_FILTER_H */
