// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exit_order.h"

/*
 * Open addressing with linear probing, keys never 0 (socket cookies start
 * at 1; tgids are stored +1). Deleted slots become tombstones; the table is
 * rebuilt when tombstones and entries fill 3/4 of it.
 */
struct u64map {
	uint64_t *keys; /* 0 empty, UINT64_MAX tombstone */
	uint64_t *vals;
	size_t cap, used, live;
};

#define TOMB UINT64_MAX

static size_t slot_of(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static uint64_t *map_find(struct u64map *m, uint64_t k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(k, m->cap), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (m->keys[i] == k)
			return &m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
	return NULL;
}

static int map_rehash(struct u64map *m, size_t cap)
{
	struct u64map n = {calloc(cap, 8), calloc(cap, 8), cap, 0, 0};

	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		uint64_t k = m->keys[i];
		size_t j;
		if (!k || k == TOMB)
			continue;
		for (j = slot_of(k, cap); n.keys[j]; j = (j + 1) & (cap - 1))
			;
		n.keys[j] = k;
		n.vals[j] = m->vals[i];
		n.used++;
		n.live++;
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

static uint64_t *map_insert(struct u64map *m, uint64_t k)
{
	uint64_t *v = map_find(m, k);
	size_t i;

	if (v)
		return v;
	if ((m->used + 1) * 4 > m->cap * 3 &&
	    map_rehash(m, m->live * 2 + 1 > m->cap / 2 ? (m->cap ? m->cap * 2 : 64) : m->cap))
		return NULL;
	for (i = slot_of(k, m->cap); m->keys[i] && m->keys[i] != TOMB; i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i])
		m->used++;
	m->keys[i] = k;
	m->vals[i] = 0;
	m->live++;
	return &m->vals[i];
}

static void map_erase(struct u64map *m, uint64_t *val)
{
	size_t i = (size_t)(val - m->vals);
	m->keys[i] = TOMB;
	m->live--;
}

struct parked {
	uint64_t deadline_ns;
	uint32_t tgid;
	size_t len;
	uint64_t ts_realtime_ns;
	uint64_t data[]; /* the EXIT record, 8-aligned */
};

struct tw_exit_order {
	uint64_t hold_ns;
	size_t max_open;
	struct u64map open;      /* cookie -> tgid */
	struct u64map per_tgid;  /* tgid + 1 -> connections open */
	struct parked **parked;  /* in arrival order */
	size_t n_parked, cap_parked;
	struct tw_exit_order_stats stats;
};

struct tw_exit_order *tw_exit_order_new(uint64_t hold_ns, size_t max_open)
{
	struct tw_exit_order *o = calloc(1, sizeof(*o));
	if (o) {
		o->hold_ns = hold_ns;
		o->max_open = max_open;
	}
	return o;
}

void tw_exit_order_free(struct tw_exit_order *o)
{
	if (!o)
		return;
	free(o->open.keys);
	free(o->open.vals);
	free(o->per_tgid.keys);
	free(o->per_tgid.vals);
	for (size_t i = 0; i < o->n_parked; i++)
		free(o->parked[i]);
	free(o->parked);
	free(o);
}

static uint64_t open_count(struct tw_exit_order *o, uint32_t tgid)
{
	uint64_t *c = map_find(&o->per_tgid, (uint64_t)tgid + 1);
	return c ? *c : 0;
}

static void track_open(struct tw_exit_order *o, uint64_t cookie, uint32_t tgid)
{
	uint64_t *slot, *count;

	if (!cookie || map_find(&o->open, cookie))
		return;
	if (o->open.live >= o->max_open || !(slot = map_insert(&o->open, cookie))) {
		o->stats.untracked++;
		return;
	}
	*slot = tgid;
	count = map_insert(&o->per_tgid, (uint64_t)tgid + 1);
	if (!count) {
		map_erase(&o->open, slot);
		o->stats.untracked++;
		return;
	}
	(*count)++;
	o->stats.open_now++;
}

/* Returns the tgid whose count dropped to zero, or 0. */
static uint32_t track_close(struct tw_exit_order *o, uint64_t cookie)
{
	uint64_t *slot = cookie ? map_find(&o->open, cookie) : NULL, *count;
	uint32_t tgid;

	if (!slot)
		return 0;
	tgid = (uint32_t)*slot;
	map_erase(&o->open, slot);
	o->stats.open_now--;
	count = map_find(&o->per_tgid, (uint64_t)tgid + 1);
	if (count && --*count == 0) {
		map_erase(&o->per_tgid, count);
		return tgid;
	}
	return 0;
}

static int deliver_parked(struct tw_exit_order *o, size_t i, tw_deliver_fn deliver, void *user)
{
	struct parked *p = o->parked[i];
	struct tw_event ev;
	int rc = 0;

	memmove(&o->parked[i], &o->parked[i + 1], (o->n_parked - i - 1) * sizeof(*o->parked));
	o->n_parked--;
	if (tw_event_decode(p->data, p->len, &ev) == 0) {
		ev.ts_realtime_ns = p->ts_realtime_ns;
		rc = deliver(user, &ev);
	}
	free(p);
	return rc;
}

static int park(struct tw_exit_order *o, const struct tw_event *ev)
{
	struct timespec ts;
	struct parked *p;

	if (o->n_parked == o->cap_parked) {
		size_t cap = o->cap_parked ? o->cap_parked * 2 : 16;
		struct parked **n = realloc(o->parked, cap * sizeof(*n));
		if (!n)
			return -1;
		o->parked = n;
		o->cap_parked = cap;
	}
	p = malloc(sizeof(*p) + ev->len);
	if (!p)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->deadline_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + o->hold_ns;
	p->tgid = ev->hdr->pids.tgid;
	p->len = ev->len;
	p->ts_realtime_ns = ev->ts_realtime_ns;
	memcpy(p->data, ev->hdr, ev->len);
	o->parked[o->n_parked++] = p;
	o->stats.held++;
	return 0;
}

/* The process is gone: whatever it still counts as open no longer holds anything back. */
static void forget_tgid(struct tw_exit_order *o, uint32_t tgid)
{
	uint64_t *count = map_find(&o->per_tgid, (uint64_t)tgid + 1);
	if (count)
		map_erase(&o->per_tgid, count);
}

int tw_exit_order_feed(struct tw_exit_order *o, const struct tw_event *ev, tw_deliver_fn deliver,
		       void *user)
{
	const struct tw_net_connection *c = (const void *)ev->hdr;
	uint32_t released = 0;
	int rc;

	switch (ev->hdr->type) {
	case TW_EVENT_NETWORK_CONNECTION_ATTEMPTED:
	case TW_EVENT_NETWORK_CONNECTION_ACCEPTED:
		track_open(o, c->cookie, c->hdr.pids.tgid);
		break;
	case TW_EVENT_NETWORK_CONNECTION_CLOSED:
		released = track_close(o, c->cookie);
		break;
	case TW_EVENT_PROCESS_EXIT:
		if (o->hold_ns && open_count(o, ev->hdr->pids.tgid) && park(o, ev) == 0)
			return 0;
		forget_tgid(o, ev->hdr->pids.tgid);
		break;
	}
	rc = deliver(user, ev);
	if (released) {
		for (size_t i = 0; i < o->n_parked; i++) {
			if (o->parked[i]->tgid != released)
				continue;
			int r = deliver_parked(o, i, deliver, user);
			rc = rc ? rc : r;
			break;
		}
	}
	return rc;
}

int tw_exit_order_tick(struct tw_exit_order *o, uint64_t now_ns, int flush, tw_deliver_fn deliver,
		       void *user)
{
	int rc = 0;

	/* parked in arrival order with one hold time: deadlines are sorted */
	while (o->n_parked && (flush || o->parked[0]->deadline_ns <= now_ns)) {
		if (!flush)
			o->stats.expired++;
		forget_tgid(o, o->parked[0]->tgid);
		int r = deliver_parked(o, 0, deliver, user);
		rc = rc ? rc : r;
	}
	return rc;
}

void tw_exit_order_stats(const struct tw_exit_order *o, struct tw_exit_order_stats *out)
{
	*out = o->stats;
}
