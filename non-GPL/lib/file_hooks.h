// SPDX-License-Identifier: Apache-2.0
/*
 * Hook selection for file events: the vfs-level probes (file_vfs.bpf.c) per
 * event type where the running kernel loads and attaches them, else the
 * syscall tracepoints of file.bpf.c.
 */
#ifndef TW_FILE_HOOKS_H
#define TW_FILE_HOOKS_H

#include <stdint.h>

#include "probe_table.h"

/* The event types the vfs set can serve. */
#define TW_FILE_VFS_TYPES                                                                          \
	(TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_DELETE) |                 \
	 TW_EVENT_BIT(TW_EVENT_FILE_RENAME) | TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN))

/* The vfs-level probe domain; goes before the tracepoint file domain in tw_domains[]. */
extern const struct tw_domain_def tw_file_vfs_domain;

/*
 * The types the vfs set serves in the tw_ctx_open() in progress (decided
 * while the vfs domain's programs were selected; 0 before that or when no
 * type of it was asked for). The tracepoint domain leaves them out.
 */
uint64_t tw_file_vfs_chosen(void);

/*
 * The vfs set passed its trial but the real load or attach failed: the next
 * decision (tw_ctx_open's retry) takes the tracepoints for every type, with
 * `why` as the reason reported; NULL clears it.
 */
void tw_file_vfs_refuse(const char *why);

#endif
