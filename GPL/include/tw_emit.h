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

static __always_inline struct tw_kernel_stats *tw_stats__get(__u32 type)
{
	return bpf_map_lookup_elem(&tw_stats, &type);
}

static __always_inline void tw_stats__add_filtered(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		s->filtered++;
}

static __always_inline void tw_stats__add_truncated(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		s->truncated++;
}

static __always_inline void tw_stats__add_lost_scratch(__u32 type)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (s)
		s->lost_scratch++;
}

static __always_inline void tw_stats__count_output(__u32 type, long err)
{
	struct tw_kernel_stats *s = tw_stats__get(type);
	if (!s)
		return;
	if (err)
		s->lost_ringbuf++;
	else
		s->emitted++;
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
	char *buf;                   /* scratch value for this CPU */
	__u32 off;                   /* bytes written so far */
	__u32 type;
	struct tw_varlen_fields *vl; /* inside buf */
};

/*
 * Start an event of `fixed_size` bytes (header + fixed part + varlen head).
 * Returns the event in scratch, NULL (counted) if scratch is unavailable.
 * The caller fills the fixed part; fields are then added with tw_field__*.
 */
static __always_inline void *tw_event__begin(struct tw_builder *b, __u32 type, __u32 fixed_size,
					     __u32 vl_offset)
{
	__u32 cpu = bpf_get_smp_processor_id();
	b->buf = bpf_map_lookup_elem(&tw_scratch_map, &cpu);
	if (!b->buf) {
		tw_stats__add_lost_scratch(type);
		return NULL;
	}
	b->type = type;
	b->off = fixed_size;
	b->vl = (struct tw_varlen_fields *)(b->buf + vl_offset);
	b->vl->count = 0;
	b->vl->size = 0;
	return b->buf;
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

/* Emit the built event at its real size; counts emitted / lost. */
static __always_inline void tw_event__emit(struct tw_builder *b)
{
	struct tw_event_header *h = (struct tw_event_header *)b->buf;
	__u32 size = b->off;
	long err;

	if (size > TW_EVENT_MAX)
		size = TW_EVENT_MAX;
	h->size = size;
	err = bpf_ringbuf_output(&tw_ringbuf, b->buf, size & (TW_SCRATCH_SIZE - 1), tw_wakeup_flags());
	tw_stats__count_output(b->type, err);
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
