/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel filters, applied before any work is done for an event, so a
 * filtered event costs one hash lookup and never touches the ring buffer.
 */
#ifndef TW_FILTER_H
#define TW_FILTER_H

#include "tw_emit.h"

/* Bit (1 << type) set for every event type the consumer asked for. */
const volatile __u64 tw_cfg_event_mask = 0;

static __always_inline int tw_type_wanted(__u32 type)
{
	return (tw_cfg_event_mask >> (type & 63)) & 1;
}

/* True when the pid filter rejects this tgid; counts it as filtered. */
static __always_inline int tw_filter__pid_rejects(__u32 tgid, __u32 type)
{
	__u32 *flags;
	int reject;

	if (!tw_cfg_pid_filter_used)
		return 0;
	flags = bpf_map_lookup_elem(&tw_pid_filter, &tgid);
	if (tw_cfg_pid_include_mode)
		reject = !flags || !(*flags & TW_PID_INCLUDE);
	else
		reject = flags && (*flags & TW_PID_EXCLUDE);
	if (reject)
		tw_stats__add_filtered(type);
	return reject;
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

#endif /* TW_FILTER_H */
