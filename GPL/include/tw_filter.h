/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel filters, applied before any work is done for an event, so a
 * filtered event costs one hash lookup and never touches the ring buffer.
 */
#ifndef TW_FILTER_H
#define TW_FILTER_H

#include "tracewire_config.h"
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

/*
 * Does the path just added to the event (b->last_data) fall outside the
 * prefix rules? One trie lookup on its first TW_PATH_PREFIX_MAX bytes.
 */
static __always_inline int tw_filter__path_rejects(struct tw_builder *b)
{
	struct tw_path_key *k;
	__u32 *action, n = b->last_size;

	if (!tw_cfg_path_filter_used || !b->last_data || !n)
		return 0;
	k = (struct tw_path_key *)(b->buf + TW_PATH_KEY_OFF);
	if (n > TW_PATH_PREFIX_MAX)
		n = TW_PATH_PREFIX_MAX;
	bpf_probe_read_kernel(k->data, n, b->last_data);
	k->prefixlen = n * 8;
	action = bpf_map_lookup_elem(&tw_path_prefixes, k);
	if (action)
		return *action == TW_PATH_RULE_EXCLUDE;
	return tw_cfg_path_include_mode;
}

#endif /* TW_FILTER_H */
