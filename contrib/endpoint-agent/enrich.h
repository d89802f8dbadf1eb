// SPDX-License-Identifier: Apache-2.0
/*
 * Enrichment: what the kernel's event does not say but a person reading it
 * wants, added by the agent: user names for uids, and for events without
 * credentials (fork, exit, tty, network) the uid of the process as learnt
 * from its exec, snapshot, file or credential events.
 */
#ifndef ENDPOINT_AGENT_ENRICH_H
#define ENDPOINT_AGENT_ENRICH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <tracewire/tracewire.h>

#define USER_CACHE_SLOTS 256       /* power of two */
#define USER_CACHE_TTL_S 300       /* renamed or new users show up within this */
#define PROC_CACHE_SLOTS 16384     /* power of two */

struct user_cache {
	struct user_slot {
		bool used;
		bool found;        /* false: no such user (cached too: NSS misses can be slow) */
		uint32_t uid;
		time_t expires;
		char name[64];
	} slot[USER_CACHE_SLOTS];
	uint64_t lookups, hits;
};

/* Name of uid: from the cache, else getpwuid_r. NULL when the system has no such user. */
const char *user_name(struct user_cache *c, uint32_t uid, time_t now);

/*
 * Process -> real uid, direct mapped by pid. The start time is part of the
 * key, so a recycled pid never inherits the uid of an earlier process; a
 * collision only forgets an entry (the event then has no user).
 */
struct proc_cache {
	struct proc_slot {
		uint32_t tgid;
		uint32_t ruid;
		uint64_t start_time_ns;
	} slot[PROC_CACHE_SLOTS];
};

/* The credentials an event carries, if its type has any (exec, snapshot, file, process calls). */
const struct tw_creds *event_creds(const struct tw_event *ev);
void proc_cache_learn(struct proc_cache *c, const struct tw_pid_info *p, uint32_t ruid);
void proc_cache_forget(struct proc_cache *c, const struct tw_pid_info *p);
bool proc_cache_find(const struct proc_cache *c, const struct tw_pid_info *p, uint32_t *ruid);

#endif
