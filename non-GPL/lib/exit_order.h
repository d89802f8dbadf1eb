// SPDX-License-Identifier: Apache-2.0
/*
 * Keeps a process's PROCESS_EXIT behind the NETWORK_CONNECTION_CLOSED of
 * every connection it held.
 *
 * Why: the kernel runs sched_process_exit before it closes the exiting
 * process's files, so the CLOSED of a socket the process held arrives after
 * its EXIT. Consumers that end a process's state at EXIT would then see a
 * connection outlive its owner (a bug users reported against other agents).
 * This tracks the connections reported open per process (by socket cookie)
 * and parks an EXIT until the process has none left, or until a deadline
 * (a socket shared with a surviving process, or a CLOSED lost in a full
 * ring, must not hold the EXIT forever; such releases are counted).
 */
#ifndef TW_EXIT_ORDER_H
#define TW_EXIT_ORDER_H

#include <stdint.h>

#include "tracewire_decode.h"

struct tw_exit_order;

struct tw_exit_order_stats {
	uint64_t held;        /* EXITs parked behind open connections */
	uint64_t expired;     /* ...released by the deadline, not by their last CLOSED */
	uint64_t untracked;   /* opens not tracked: table at its cap */
	uint64_t open_now;    /* connections reported open and not closed yet */
};

/* Deliver one event (the callback's return value is passed back). */
typedef int (*tw_deliver_fn)(void *user, const struct tw_event *ev);

/* hold_ns: longest an EXIT waits; max_open: cap on tracked connections. */
struct tw_exit_order *tw_exit_order_new(uint64_t hold_ns, size_t max_open);
void tw_exit_order_free(struct tw_exit_order *o);

/*
 * Pass every decoded event through here, in ring order. Delivers it (or
 * parks it) and any EXIT it releases. Returns the first non-zero return of
 * deliver, else 0.
 */
int tw_exit_order_feed(struct tw_exit_order *o, const struct tw_event *ev, tw_deliver_fn deliver,
		       void *user);
/* Deliver the EXITs whose deadline (CLOCK_MONOTONIC) passed; all of them with flush. */
int tw_exit_order_tick(struct tw_exit_order *o, uint64_t now_ns, int flush, tw_deliver_fn deliver,
		       void *user);
void tw_exit_order_stats(const struct tw_exit_order *o, struct tw_exit_order_stats *out);

#endif
