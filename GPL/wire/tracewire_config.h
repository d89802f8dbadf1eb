/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * Configuration the loader hands to the probes through maps: not part of
 * the event stream, but shared by both sides like the wire format.
 */
#ifndef TRACEWIRE_CONFIG_H
#define TRACEWIRE_CONFIG_H

#include "tracewire_wire.h"

/* How the file probe finds the file(s) a system call touched. */
enum tw_file_kind {
	TW_FILE_KIND_NONE = 0,
	TW_FILE_KIND_FD,      /* fd-based: write family, ftruncate, fallocate, fchmod, fchown, fsetxattr */
	TW_FILE_KIND_PATH,    /* dirfd + path: mkdir, mknod, unlink, rmdir, truncate, chmod, chown, setxattr */
	TW_FILE_KIND_OPEN,    /* open family: the file is the returned fd */
	TW_FILE_KIND_RENAME,  /* (dirfd, path) -> (dirfd2, path2), optional flags */
	TW_FILE_KIND_LINK,    /* existing (dirfd, path) -> new (dirfd2, path2) */
	TW_FILE_KIND_SYMLINK, /* target string path_arg, link at (dirfd2, path2) */
	TW_FILE_KIND_CLOSE,   /* close(fd): flush coalesced writes */
};

#define TW_ARG_NONE (-1)
#define TW_ARG_CWD (-2)      /* no dirfd argument: relative to the cwd */

/*
 * Value of the probe's syscall table (ARRAY map indexed by syscall number of
 * the running architecture), filled by the loader from <sys/syscall.h>.
 */
struct tw_file_syscall {
	__u8 op;            /* enum tw_file_op; 0: not a traced call */
	__u8 event_type;    /* TW_EVENT_FILE_*; open family: decided at exit */
	__u8 change;        /* TW_FILE_CHANGE_* */
	__u8 kind;          /* enum tw_file_kind */
	__s8 fd_arg;        /* fd or dirfd argument index, TW_ARG_CWD, TW_ARG_NONE */
	__s8 path_arg;
	__s8 fd2_arg;
	__s8 path2_arg;
	__s8 flags_arg;     /* open flags, renameat2 flags */
	__u8 pad[3];
};

#define TW_FILE_SYSCALLS_MAX 1024

/*
 * Path prefix filter (LPM trie). A rule for "/proc" is stored twice: as
 * "/proc/" (everything below) and as "/proc" with its NUL (the path itself),
 * so "/procfs" does not match. The longest matching rule decides.
 */
#define TW_PATH_PREFIX_MAX 256
#define TW_PATH_RULE_INCLUDE 1
#define TW_PATH_RULE_EXCLUDE 2

struct tw_path_key {
	__u32 prefixlen;              /* in bits */
	char data[TW_PATH_PREFIX_MAX];
};

/* tw_cfg_comm_filter / tw_cfg_uid_filter / tw_cfg_cgroup_filter */
#define TW_TASK_FILTER_USED 0x1     /* rules of this kind exist */
#define TW_TASK_FILTER_INCLUDE 0x2  /* some rule includes: unmatched tasks are out */

#endif /* TRACEWIRE_CONFIG_H */
