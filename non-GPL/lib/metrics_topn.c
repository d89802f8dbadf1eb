// SPDX-License-Identifier: Apache-2.0
/*
 * Bounded label sets for the metrics (metrics_topn.h).
 *
 * Why slots are sticky: a Prometheus counter series must never go down. If the
 * shown keys were re-picked on every render, a key dropping out would move
 * its total into "other" and back, and both series would jump. So a key keeps
 * its slot for as long as it exists, "other" only ever receives what keys
 * without a slot added while they had none, and a key that gets a slot later
 * starts a new series (rate() over it starts at its first sample, so nothing
 * is counted twice in sum(rate(...))).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_topn.h"

static uint64_t hash_key(uint64_t k1, uint64_t k2)
{
	uint64_t h = k1 * 0x9E3779B97F4A7C15ull ^ (k2 + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
	return h ^ (h >> 31);
}

int topn_init(struct topn *t, size_t width, size_t rank, size_t top, size_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap < top)
		cap = top;
	if (!cap)
		cap = 1;
	t->width = width;
	t->rank = rank;
	t->top = top;
	t->cap = cap;
	t->index_size = 16;
	while (t->index_size < 2 * cap)
		t->index_size *= 2;
	t->e = calloc(cap, sizeof(*t->e));
	t->index = calloc(t->index_size, sizeof(*t->index));
	t->other = calloc(width, sizeof(*t->other));
	if (!t->e || !t->index || !t->other) {
		topn_free(t);
		return -ENOMEM;
	}
	return 0;
}

static void entry_free(struct topn_entry *e)
{
	free(e->l1);
	free(e->l2);
	free(e->cur); /* acc is the second half of the same allocation */
}

void topn_free(struct topn *t)
{
	for (size_t i = 0; t->e && i < t->n; i++)
		entry_free(&t->e[i]);
	free(t->e);
	free(t->index);
	free(t->other);
	memset(t, 0, sizeof(*t));
}

static struct topn_entry *find(struct topn *t, uint64_t k1, uint64_t k2, size_t *slot)
{
	size_t mask = t->index_size - 1;
	size_t i = hash_key(k1, k2) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = t->index[i];
		if (!v) {
			*slot = i;
			return NULL;
		}
		if (t->e[v - 1].k1 == k1 && t->e[v - 1].k2 == k2)
			return &t->e[v - 1];
	}
}

struct topn_entry *topn_get(struct topn *t, uint64_t k1, uint64_t k2, const char *l1,
				  const char *l2)
{
	struct topn_entry *e;
	size_t slot;

	if ((e = find(t, k1, k2, &slot)))
		return e;
	if (t->n == t->cap)
		return NULL;
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->k1 = k1;
	e->k2 = k2;
	e->l1 = strdup(l1 ? l1 : "");
	e->l2 = strdup(l2 ? l2 : "");
	e->cur = calloc(2 * t->width, sizeof(uint64_t));
	if (!e->l1 || !e->l2 || !e->cur) {
		entry_free(e);
		return NULL;
	}
	e->acc = e->cur + t->width;
	t->index[slot] = (uint32_t)(++t->n);
	return e;
}

void topn_add(struct topn *t, uint64_t k1, uint64_t k2, const char *l1, const char *l2,
		 const uint64_t *delta)
{
	struct topn_entry *e = topn_get(t, k1, k2, l1, l2);
	uint64_t *dst = e ? e->cur : t->other;

	if (!e)
		t->untracked++;
	for (size_t i = 0; i < t->width; i++)
		dst[i] += delta[i];
}

void topn_unsee(struct topn *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->e[i].seen = false;
}

void topn_sweep(struct topn *t)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct topn_entry *e = &t->e[i];
		if (!e->seen) {
			/* gone: what it added since the last render without a slot still counts */
			if (!e->shown)
				for (size_t k = 0; k < t->width; k++)
					t->other[k] += e->cur[k] - e->acc[k];
			entry_free(e);
			continue;
		}
		t->e[kept++] = *e;
	}
	if (kept == t->n)
		return; /* nothing gone, nothing moved */
	t->n = kept;
	/* entries moved: rebuild the index (a render per second over at most cap keys) */
	memset(t->index, 0, t->index_size * sizeof(*t->index));
	for (size_t i = 0; i < t->n; i++) {
		size_t slot;
		find(t, t->e[i].k1, t->e[i].k2, &slot);
		t->index[slot] = (uint32_t)(i + 1);
	}
}

void topn_select(struct topn *t)
{
	size_t shown = 0;

	for (size_t i = 0; i < t->n; i++)
		shown += t->e[i].shown;
	/*
	 * Free slots first, to the largest keys (a key with nothing counted waits):
	 * what a key gaining a slot now counted since the last render is shown in
	 * its own series, not in "other". Only what it counted in earlier renders,
	 * without a slot, stays in "other".
	 */
	while (shown < t->top) {
		struct topn_entry *best = NULL;
		for (size_t i = 0; i < t->n; i++) {
			struct topn_entry *e = &t->e[i];
			if (!e->shown && e->cur[t->rank] && (!best || e->cur[t->rank] > best->cur[t->rank]))
				best = e;
		}
		if (!best)
			break;
		best->shown = true;
		shown++;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct topn_entry *e = &t->e[i];
		if (e->shown)
			continue;
		for (size_t k = 0; k < t->width; k++) {
			t->other[k] += e->cur[k] - e->acc[k];
			e->acc[k] = e->cur[k];
		}
	}
}
