// SPDX-License-Identifier: Apache-2.0
/*
 * A bounded set of labelled counter vectors: at most `top` keys are shown as
 * series of their own, the rest are summed into "other" (tracewire_metrics.h,
 * "Bounded label cardinality"). Internal to the metrics module (not tw_-prefixed: libtracewire.so exports tw_* only).
 */
#ifndef TW_METRICS_TOPN_H
#define TW_METRICS_TOPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct topn_entry {
	uint64_t k1, k2;   /* the key */
	char *l1, *l2;     /* label values, fixed when the key is first seen */
	uint64_t *cur;     /* counters (width values) */
	uint64_t *acc;     /* part of cur already added to "other" (while not shown) */
	bool shown;
	bool seen;         /* in the latest absolute update (topn_sweep) */
};

struct topn {
	size_t width;      /* counters per key */
	size_t rank;       /* index of the counter that ranks keys for a free slot */
	size_t top, cap;   /* slots; keys remembered */
	struct topn_entry *e;
	size_t n;
	uint64_t *other;
	uint64_t untracked; /* updates that found the set full and went straight to other */
	uint32_t *index;    /* open addressing: entry number + 1, 0 = empty */
	size_t index_size;  /* power of two, at least 2 * cap */
};

int topn_init(struct topn *t, size_t width, size_t rank, size_t top, size_t cap);
void topn_free(struct topn *t);
/*
 * The entry of a key, created with these labels if new (NULL label: ""); NULL
 * if the set is full (add the values to t->other yourself) or out of memory.
 */
struct topn_entry *topn_get(struct topn *t, uint64_t k1, uint64_t k2, const char *l1,
				  const char *l2);
/* Add a vector of deltas to a key (or to "other" when the set is full). */
void topn_add(struct topn *t, uint64_t k1, uint64_t k2, const char *l1, const char *l2,
		 const uint64_t *delta);
/* Absolute updates: clear every `seen`, set the present keys (entry->seen), sweep the rest. */
void topn_unsee(struct topn *t);
void topn_sweep(struct topn *t);
/* Give free slots to the largest keys, then account keys without a slot into "other". */
void topn_select(struct topn *t);

#endif
