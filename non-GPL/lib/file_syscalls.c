// SPDX-License-Identifier: Apache-2.0
/*
 * The file probe's syscall table. Numbers come from <sys/syscall.h> of the
 * build architecture; a call the architecture lacks (open, rename, ... on
 * arm64) is simply absent. Argument indexes follow each call's signature.
 */
#include <sys/syscall.h>

#include "file_syscalls.h"
#include "tracewire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define N TW_ARG_NONE
#define CWD TW_ARG_CWD

/* op, event, change, kind, fd, path, fd2, path2, flags */
#define CALL(name, op, ev, ch, kind, fd, path, fd2, path2, flags) \
	{SYS_##name, #name, {op, ev, ch, kind, fd, path, fd2, path2, flags, {0}}}

#define CREATE TW_EVENT_FILE_CREATE
#define DELETE TW_EVENT_FILE_DELETE
#define RENAME TW_EVENT_FILE_RENAME
#define MODIFY TW_EVENT_FILE_MODIFY
#define CONTENT TW_FILE_CHANGE_CONTENT
#define PERMS TW_FILE_CHANGE_PERMISSIONS
#define OWNER TW_FILE_CHANGE_OWNER
#define XATTR TW_FILE_CHANGE_XATTR

const struct tw_file_syscall_def tw_file_syscall_defs[] = {
#ifdef SYS_open
	CALL(open, TW_FILE_OP_OPEN, 0, 0, TW_FILE_KIND_OPEN, N, N, N, N, 1),
#endif
	CALL(openat, TW_FILE_OP_OPENAT, 0, 0, TW_FILE_KIND_OPEN, N, N, N, N, 2),
#ifdef SYS_openat2
	CALL(openat2, TW_FILE_OP_OPENAT2, 0, 0, TW_FILE_KIND_OPEN, N, N, N, N, N),
#endif
#ifdef SYS_creat
	CALL(creat, TW_FILE_OP_CREAT, 0, 0, TW_FILE_KIND_OPEN, N, N, N, N, N),
#endif
#ifdef SYS_mkdir
	CALL(mkdir, TW_FILE_OP_MKDIR, CREATE, 0, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(mkdirat, TW_FILE_OP_MKDIRAT, CREATE, 0, TW_FILE_KIND_PATH, 0, 1, N, N, N),
#ifdef SYS_mknod
	CALL(mknod, TW_FILE_OP_MKNOD, CREATE, 0, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(mknodat, TW_FILE_OP_MKNODAT, CREATE, 0, TW_FILE_KIND_PATH, 0, 1, N, N, N),
#ifdef SYS_symlink
	CALL(symlink, TW_FILE_OP_SYMLINK, CREATE, 0, TW_FILE_KIND_SYMLINK, N, 0, CWD, 1, N),
#endif
	CALL(symlinkat, TW_FILE_OP_SYMLINKAT, CREATE, 0, TW_FILE_KIND_SYMLINK, N, 0, 1, 2, N),
#ifdef SYS_link
	CALL(link, TW_FILE_OP_LINK, CREATE, 0, TW_FILE_KIND_LINK, CWD, 0, CWD, 1, N),
#endif
	CALL(linkat, TW_FILE_OP_LINKAT, CREATE, 0, TW_FILE_KIND_LINK, 0, 1, 2, 3, N),
#ifdef SYS_unlink
	CALL(unlink, TW_FILE_OP_UNLINK, DELETE, 0, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(unlinkat, TW_FILE_OP_UNLINKAT, DELETE, 0, TW_FILE_KIND_PATH, 0, 1, N, N, N),
#ifdef SYS_rmdir
	CALL(rmdir, TW_FILE_OP_RMDIR, DELETE, 0, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
#ifdef SYS_rename
	CALL(rename, TW_FILE_OP_RENAME, RENAME, 0, TW_FILE_KIND_RENAME, CWD, 0, CWD, 1, N),
#endif
#ifdef SYS_renameat
	CALL(renameat, TW_FILE_OP_RENAMEAT, RENAME, 0, TW_FILE_KIND_RENAME, 0, 1, 2, 3, N),
#endif
	CALL(renameat2, TW_FILE_OP_RENAMEAT2, RENAME, 0, TW_FILE_KIND_RENAME, 0, 1, 2, 3, 4),
	CALL(write, TW_FILE_OP_WRITE, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(pwrite64, TW_FILE_OP_PWRITE64, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(writev, TW_FILE_OP_WRITEV, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(pwritev, TW_FILE_OP_PWRITEV, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(pwritev2, TW_FILE_OP_PWRITEV2, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(truncate, TW_FILE_OP_TRUNCATE, MODIFY, CONTENT, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
	CALL(ftruncate, TW_FILE_OP_FTRUNCATE, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(fallocate, TW_FILE_OP_FALLOCATE, MODIFY, CONTENT, TW_FILE_KIND_FD, 0, N, N, N, N),
#ifdef SYS_chmod
	CALL(chmod, TW_FILE_OP_CHMOD, MODIFY, PERMS, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(fchmod, TW_FILE_OP_FCHMOD, MODIFY, PERMS, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(fchmodat, TW_FILE_OP_FCHMODAT, MODIFY, PERMS, TW_FILE_KIND_PATH, 0, 1, N, N, N),
#ifdef SYS_fchmodat2
	CALL(fchmodat2, TW_FILE_OP_FCHMODAT2, MODIFY, PERMS, TW_FILE_KIND_PATH, 0, 1, N, N, N),
#else
	{452, "fchmodat2", {TW_FILE_OP_FCHMODAT2, MODIFY, PERMS, TW_FILE_KIND_PATH, 0, 1, N, N, N, {0}}},
#endif
#ifdef SYS_chown
	CALL(chown, TW_FILE_OP_CHOWN, MODIFY, OWNER, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(fchown, TW_FILE_OP_FCHOWN, MODIFY, OWNER, TW_FILE_KIND_FD, 0, N, N, N, N),
#ifdef SYS_lchown
	CALL(lchown, TW_FILE_OP_LCHOWN, MODIFY, OWNER, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
#endif
	CALL(fchownat, TW_FILE_OP_FCHOWNAT, MODIFY, OWNER, TW_FILE_KIND_PATH, 0, 1, N, N, N),
	CALL(setxattr, TW_FILE_OP_SETXATTR, MODIFY, XATTR, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
	CALL(lsetxattr, TW_FILE_OP_LSETXATTR, MODIFY, XATTR, TW_FILE_KIND_PATH, CWD, 0, N, N, N),
	CALL(fsetxattr, TW_FILE_OP_FSETXATTR, MODIFY, XATTR, TW_FILE_KIND_FD, 0, N, N, N, N),
	CALL(close, TW_FILE_OP_CLOSE, MODIFY, CONTENT, TW_FILE_KIND_CLOSE, 0, N, N, N, N),
};
const size_t tw_n_file_syscall_defs = ARRAY_LEN(tw_file_syscall_defs);

uint64_t tw_file_syscall_events(const struct tw_file_syscall *sc)
{
	if (sc->kind == TW_FILE_KIND_OPEN)
		return TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN);
	return TW_EVENT_BIT(sc->event_type);
}

static const char *const op_names[TW_FILE_OP_MAX] = {
	[TW_FILE_OP_OPEN] = "open", [TW_FILE_OP_OPENAT] = "openat", [TW_FILE_OP_OPENAT2] = "openat2",
	[TW_FILE_OP_CREAT] = "creat", [TW_FILE_OP_MKDIR] = "mkdir", [TW_FILE_OP_MKDIRAT] = "mkdirat",
	[TW_FILE_OP_MKNOD] = "mknod", [TW_FILE_OP_MKNODAT] = "mknodat",
	[TW_FILE_OP_SYMLINK] = "symlink", [TW_FILE_OP_SYMLINKAT] = "symlinkat",
	[TW_FILE_OP_LINK] = "link", [TW_FILE_OP_LINKAT] = "linkat", [TW_FILE_OP_UNLINK] = "unlink",
	[TW_FILE_OP_UNLINKAT] = "unlinkat", [TW_FILE_OP_RMDIR] = "rmdir",
	[TW_FILE_OP_RENAME] = "rename", [TW_FILE_OP_RENAMEAT] = "renameat",
	[TW_FILE_OP_RENAMEAT2] = "renameat2", [TW_FILE_OP_WRITE] = "write",
	[TW_FILE_OP_PWRITE64] = "pwrite64", [TW_FILE_OP_WRITEV] = "writev",
	[TW_FILE_OP_PWRITEV] = "pwritev", [TW_FILE_OP_PWRITEV2] = "pwritev2",
	[TW_FILE_OP_TRUNCATE] = "truncate", [TW_FILE_OP_FTRUNCATE] = "ftruncate",
	[TW_FILE_OP_FALLOCATE] = "fallocate", [TW_FILE_OP_CHMOD] = "chmod",
	[TW_FILE_OP_FCHMOD] = "fchmod", [TW_FILE_OP_FCHMODAT] = "fchmodat",
	[TW_FILE_OP_FCHMODAT2] = "fchmodat2", [TW_FILE_OP_CHOWN] = "chown",
	[TW_FILE_OP_FCHOWN] = "fchown", [TW_FILE_OP_LCHOWN] = "lchown",
	[TW_FILE_OP_FCHOWNAT] = "fchownat", [TW_FILE_OP_SETXATTR] = "setxattr",
	[TW_FILE_OP_LSETXATTR] = "lsetxattr", [TW_FILE_OP_FSETXATTR] = "fsetxattr",
	[TW_FILE_OP_CLOSE] = "close",
};

const char *tw_file_op_name(uint32_t op)
{
	return op < TW_FILE_OP_MAX ? op_names[op] : NULL;
}
