// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>

#include "enrich.h"

const char *user_name(struct user_cache *c, uint32_t uid, time_t now)
{
	/* multiplicative hash: uids are often consecutive (1000, 1001, ...) */
	struct user_slot *s = &c->slot[(uid * 2654435761u) >> 24 & (USER_CACHE_SLOTS - 1)];
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	c->lookups++;
	if (s->used && s->uid == uid && now < s->expires) {
		c->hits++;
		return s->found ? s->name : NULL;
	}
	/* getpwuid_r, not getpwuid: no static buffer shared with other callers */
	rc = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	if (rc == EINTR || rc == EAGAIN || rc == EMFILE || rc == ENFILE || rc == ENOMEM)
		return NULL; /* a passing failure: do not cache it as "no such user" */
	s->used = true;
	s->uid = uid;
	s->expires = now + USER_CACHE_TTL_S;
	s->found = rc == 0 && res && strlen(res->pw_name) < sizeof(s->name);
	if (s->found)
		strcpy(s->name, res->pw_name);
	return s->found ? s->name : NULL;
}

const struct tw_creds *event_creds(const struct tw_event *ev)
{
	switch (ev->hdr->type) {
	case TW_EVENT_PROCESS_EXEC:
	case TW_EVENT_PROCESS_SNAPSHOT:
		return &((const struct tw_process_exec *)ev->hdr)->creds;
	case TW_EVENT_FILE_CREATE:
	case TW_EVENT_FILE_DELETE:
	case TW_EVENT_FILE_RENAME:
	case TW_EVENT_FILE_MODIFY:
	case TW_EVENT_FILE_SHMEM_OPEN:
		return &((const struct tw_file_event *)ev->hdr)->creds;
	case TW_EVENT_PROCESS_SETUID:
	case TW_EVENT_PROCESS_SETGID:
	case TW_EVENT_PROCESS_SETSID:
	case TW_EVENT_PROCESS_PTRACE:
	case TW_EVENT_PROCESS_MEMFD_CREATE:
	case TW_EVENT_PROCESS_SHMGET:
		return &((const struct tw_process_call *)ev->hdr)->creds;
	default:
		return NULL;
	}
}

static struct proc_slot *proc_slot(const struct proc_cache *c, uint32_t tgid)
{
	return (struct proc_slot *)&c->slot[tgid & (PROC_CACHE_SLOTS - 1)];
}

void proc_cache_learn(struct proc_cache *c, const struct tw_pid_info *p, uint32_t ruid)
{
	struct proc_slot *s = proc_slot(c, p->tgid);

	s->tgid = p->tgid;
	s->start_time_ns = p->start_time_ns;
	s->ruid = ruid;
}

void proc_cache_forget(struct proc_cache *c, const struct tw_pid_info *p)
{
	struct proc_slot *s = proc_slot(c, p->tgid);

	if (s->tgid == p->tgid && s->start_time_ns == p->start_time_ns)
		memset(s, 0, sizeof(*s));
}

bool proc_cache_find(const struct proc_cache *c, const struct tw_pid_info *p, uint32_t *ruid)
{
	const struct proc_slot *s = proc_slot(c, p->tgid);

	if (!p->tgid || s->tgid != p->tgid || s->start_time_ns != p->start_time_ns)
		return false;
	*ruid = s->ruid;
	return true;
}
