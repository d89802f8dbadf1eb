/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event construction and emission.
 *
 * Variable-length events are built in the per-CPU scratch buffer and copied
 * into the ring with bpf_ringbuf_output at their real size: their size is
 * unknown until every field is read, so reserve/commit cannot be used
 * without reserving the worst case (which is what made fixed-size formats
 * drop events). Small fixed-size events may use reserve/commit instead
 * (tw_reserve/tw_submit). Both paths count what they could not send.
 */
#ifndef TW_EMIT_H
#define TW_EMIT_H

#include "tw_maps.h"

/*
 * The counters are per CPU, but a program can be preempted between the load
 * and the store of a plain increment (kernels with full or lazy
 * preemption), and another task's program on that CPU would then lose its
 * increment: every add is atomic (a locked add on x86, ~10 ns).
 */
static __always_inline struct tw_kernel_stats *tw_stats__get(__u32 type)
{
	return bpf_map_lookup_elem(&tw_stats, &type);
}

static __always_inline void tw_stats__add_filtered(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		__sync_fetch_and_add(&s->filtered, 1);
}

static __always_inline void tw_stats__add_truncated(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		__sync_fetch_and_add(&s->truncated, 1);
}

static __always_inline void tw_stats__add_lost_scratch(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		__sync_fetch_and_add(&s->lost_scratch, 1);
}

static __always_inline void tw_stats__count_output(__u32 type, long err)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (!s)
		return;
	if (err)
		__sync_fetch_and_add(&s->lost_ringbuf, 1);
	else
		__sync_fetch_and_add(&s->emitted, 1);
}

static __always_inline __u64 tw_wakeup_flags(void)
{
	__u64 threshold = tw_cfg_wakeup_bytes;
	if (!threshold)
		return 0;
	if (bpf_ringbuf_query(&tw_ringbuf, BPF_RB_AVAIL_DATA) >= threshold)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Builder state for one variable-length event; lives on the BPF stack. */
struct tw_builder {
	char *buf;                   /* scratch data for this CPU */
	__u32 off;                   /* bytes written so far */
	__u32 type;
	struct tw_varlen_fields *vl; /* inside buf */
	__u64 *owner;                /* the held scratch's owner word (NULL: not held) */
	__u64 token;                 /* what this build wrote there */
};

/*
 * A CPU's scratch buffer is held from tw_event__begin to tw_event__emit or
 * tw_event__discard. A program runs with migration disabled but can be
 * preempted (kernels with full or lazy preemption: Debian's 7.2 by default,
 * any kernel booted with preempt=full), and another task's program on the
 * same CPU would then build into the same buffer: both records corrupted.
 * The kernel matrix found exactly that on 7.2 (decode errors, and records
 * neither delivered nor counted lost, under the stress test). Now a build
 * that finds the buffer held by another thread gives its event up, counted
 * as lost_scratch. The owner word holds the thread id and the begin time: a
 * holder older than about a second (a build takes microseconds) or the
 * thread itself (it cannot preempt itself) is stale, a path that did not
 * release, and is taken over; the old holder then finds the token changed at
 * emit and gives up instead of sending what may be mixed.
 */
#define TW_SCRATCH_LEASE_UNITS 954 /* ~1 s in the token's 2^20 ns units */

/* Bit 63 set (never 0), bits 32-62 the begin time in 2^20 ns units (wraps in ~25 days), tid below. */
static __always_inline __u64 tw_scratch__token(__u64 now, __u32 tid)
{
	return (1ull << 63) | (((now >> 20) & 0x7fffffffull) << 32) | tid;
}

/* tid: the building thread's id, or 0 in programs that may run in softirq (cgroup_skb) */
static __always_inline int tw_scratch__hold(struct tw_builder *b, struct tw_scratch *s, __u32 tid)
{
	__u64 now = bpf_ktime_get_ns(), cur = s->owner, mine;

	if (cur && (__u32)cur != tid) {
		__u64 age = ((now >> 20) - (cur >> 32)) & 0x7fffffffull;
		if (age < TW_SCRATCH_LEASE_UNITS)
			return -1; /* another thread is building here */
	}
	mine = tw_scratch__token(now, tid);
	if (__sync_val_compare_and_swap(&s->owner, cur, mine) != cur)
		return -1; /* taken meanwhile */
	b->owner = &s->owner;
	b->token = mine;
	return 0;
}

/* Give the scratch back (only if this build still holds it). */
static __always_inline void tw_scratch__release(struct tw_builder *b)
{
	if (b->owner)
		__sync_val_compare_and_swap(b->owner, b->token, 0);
}

static __always_inline void *tw_event__start(struct tw_builder *b, char *data, __u32 type,
					     __u32 fixed_size, __u32 vl_offset)
{
	b->buf = data;
	b->type = type;
	b->off = fixed_size;
	b->vl = (struct tw_varlen_fields *)(b->buf + vl_offset);
	b->vl->count = 0;
	b->vl->size = 0;
	return b->buf;
}

/*
 * Start an event of `fixed_size` bytes (header + fixed part + varlen head).
 * Returns the event in scratch, NULL (counted) if scratch is unavailable.
 * The caller fills the fixed part; fields are then added with tw_field__*,
 * and the event ends with tw_event__emit, or tw_event__discard when it is
 * not to be sent after all: every path after a successful begin must reach
 * one of the two.
 */
static __always_inline void *tw_event__begin_as(struct tw_builder *b, __u32 type,
						__u32 fixed_size, __u32 vl_offset, __u32 tid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct tw_scratch *s = bpf_map_lookup_elem(&tw_scratch_map, &cpu);

	b->owner = NULL;
	if (!s || tw_scratch__hold(b, s, tid)) {
		tw_stats__add_lost_scratch(type);
		return NULL;
	}
	return tw_event__start(b, s->data, type, fixed_size, vl_offset);
}

static __always_inline void *tw_event__begin(struct tw_builder *b, __u32 type, __u32 fixed_size,
					     __u32 vl_offset)
{
	return tw_event__begin_as(b, type, fixed_size, vl_offset, (__u32)bpf_get_current_pid_tgid());
}

/*
 * For programs that may run in softirq (cgroup_skb), where the current
 * thread is whoever was interrupted (and where older kernels refuse
 * bpf_get_current_pid_tgid): built as thread 0, so a task's build this
 * interrupted is never taken for its own and is left alone (the record
 * here is given up and counted instead).
 */
static __always_inline void *tw_event__begin_softirq(struct tw_builder *b, __u32 type,
						     __u32 fixed_size, __u32 vl_offset)
{
	return tw_event__begin_as(b, type, fixed_size, vl_offset, 0);
}

/* The same in a buffer of the caller's own, not held (a sleepable program's). */
static __always_inline void *tw_event__begin_in(struct tw_builder *b, char *data, __u32 type,
						__u32 fixed_size, __u32 vl_offset)
{
	b->owner = NULL;
	return tw_event__start(b, data, type, fixed_size, vl_offset);
}

/* An event begun but not to be sent (filtered late): only the scratch is given back. */
static __always_inline void tw_event__discard(struct tw_builder *b)
{
	tw_scratch__release(b);
}

/*
 * Data area for the next field, with room for `cap` bytes; NULL when the
 * event has no room left (the field is dropped and counted as truncated).
 */
static __always_inline char *tw_field__data(struct tw_builder *b, __u32 cap)
{
	__u64 off = b->off + sizeof(struct tw_varlen_field);
	if (off + cap > TW_EVENT_MAX) {
		tw_stats__add_truncated(b->type);
		return NULL;
	}
	/*
	 * The compiler drops this mask (the check above implies it), and the
	 * verifiers before 6.12 cannot carry that check's bound over to the
	 * pointer (kernel matrix: "unbounded memory access" on 6.1): keep it.
	 */
	asm volatile("%[off] &= %[mask]" : [off] "+r"(off) : [mask] "i"(TW_EVENT_OFF_MASK));
	return b->buf + off;
}

/* Close the field whose data was written at tw_field__data(). */
static __always_inline void tw_field__commit(struct tw_builder *b, __u16 ftype, __u32 size,
					     __u16 flags)
{
	struct tw_varlen_field *f;
	__u64 off = b->off;

	if (off + sizeof(*f) + size > TW_EVENT_MAX)
		return;
	/* as in tw_field__data: the 6.1 verifier needs the mask the compiler would drop */
	asm volatile("%[off] &= %[mask]" : [off] "+r"(off) : [mask] "i"(TW_EVENT_OFF_MASK));
	f = (struct tw_varlen_field *)(b->buf + off);
	f->type = ftype;
	f->flags = flags;
	f->size = size;
	b->off = off + sizeof(*f) + size;
	b->vl->count++;
	b->vl->size += sizeof(*f) + size;
	if (flags & TW_FIELD_FLAG_TRUNCATED)
		tw_stats__add_truncated(b->type);
}

/* Copy a NUL-terminated kernel string as a field (cap includes the NUL). */
static __always_inline void tw_field__kernel_str(struct tw_builder *b, __u16 ftype,
						 const void *src, __u32 cap)
{
	char *d = tw_field__data(b, cap);
	long n;
	if (!d)
		return;
	n = bpf_probe_read_kernel_str(d, cap & TW_FIELD_LEN_MASK, src);
	if (n <= 0)
		return;
	tw_field__commit(b, ftype, n, 0);
}

/*
 * Copy [start, end) of user memory (argv/env area of the new mm), cut at
 * `cap` bytes with the truncated flag when longer.
 */
static __always_inline void tw_field__user_range(struct tw_builder *b, __u16 ftype,
						 unsigned long start, unsigned long end, __u32 cap)
{
	unsigned long len;
	__u16 flags = 0;
	char *d;

	if (end <= start)
		return;
	len = end - start;
	if (len > cap) {
		len = cap;
		flags = TW_FIELD_FLAG_TRUNCATED;
	}
	d = tw_field__data(b, cap);
	if (!d)
		return;
	len &= TW_FIELD_LEN_MASK;
	if (bpf_probe_read_user(d, len, (const void *)start))
		return;
	tw_field__commit(b, ftype, len, flags);
}

/* Emit the built event at its real size; counts emitted / lost; gives the scratch back. */
static __always_inline void tw_event__emit(struct tw_builder *b)
{
	struct tw_event_header *h = (struct tw_event_header *)b->buf;
	__u32 size = b->off;
	long err;

	/* taken over as stale while this build was off the CPU: its content may be mixed */
	if (b->owner && *(volatile __u64 *)b->owner != b->token) {
		tw_stats__add_lost_scratch(b->type);
		return;
	}
	if (size > TW_EVENT_MAX)
		size = TW_EVENT_MAX;
	h->size = size;
	err = bpf_ringbuf_output(&tw_ringbuf, b->buf, size & (TW_SCRATCH_SIZE - 1), tw_wakeup_flags());
	tw_stats__count_output(b->type, err);
	tw_scratch__release(b);
}

/* Fixed-size events: reserve in the ring directly, no scratch copy. */
static __always_inline void *tw_reserve(__u32 type, __u32 size)
{
	void *e = bpf_ringbuf_reserve(&tw_ringbuf, size, 0);
	if (!e)
		tw_stats__count_output(type, -1);
	return e;
}

static __always_inline void tw_submit(void *e, __u32 type)
{
	bpf_ringbuf_submit(e, tw_wakeup_flags());
	tw_stats__count_output(type, 0);
}

#endif /* TW_EMIT_H */
