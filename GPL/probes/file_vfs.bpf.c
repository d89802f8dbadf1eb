// SPDX-License-Identifier: GPL-2.0-only
/*
 * File events from the vfs layer, on kernels that allow BPF trampolines
 * (fentry/fexit). The loader (non-GPL/lib/file_hooks.c) tries this object
 * first, per event type, and falls back to the syscall tracepoints of
 * file.bpf.c where it does not load or attach. Both produce the same events
 * with the same fields; what differs is where the paths come from:
 *
 *  - here, from the dentry the kernel operated on and the mount it reached
 *    it through, so no user memory is read after the fact (no TOCTOU), and
 *    a symlink or ".." inside the user's path is already resolved;
 *  - calls made through io_uring (IORING_OP_UNLINKAT, RENAMEAT, MKDIRAT,
 *    SYMLINKAT, LINKAT, OPENAT) pass the same functions and are reported,
 *    with the equivalent *at system call as `op`.
 *
 * Two hooks per operation. fentry on the security_path_* function (called
 * once per user-level operation with the directory's struct path, before
 * the vfs function) stashes the mount and dentry by thread; fexit on the
 * vfs_* function checks that it operated on that dentry (not a nested call
 * of a stacking filesystem such as overlayfs) and succeeded, then emits.
 * The vfs_* signatures change between kernels (idmap arguments, delegated
 * inodes, vfs_mkdir returning a dentry in 6.15+, vfs_create losing its
 * directory in 7.x): the exit programs read their arguments with
 * bpf_get_func_arg() and match the stashed dentry among them, so one object
 * serves all of them. Creations by open(O_CREAT) and opens of shared
 * memory files come from fexit of vfs_open / finish_open, which see the
 * opened file (FMODE_CREATED, the tmpfs it is on).
 *
 * Only operations made by a file system call (or io_uring) are reported, as
 * with the tracepoints: the system call number comes from the task's
 * registers and names the `op`; a vfs operation made inside another call
 * (bind() of a unix socket, a core dump) is left out.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_config.h"
#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_file.h"
#include "tw_filter.h"
#include "tw_path.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_TS_COMPAT 0x0002 /* x86 thread_info.status: in a 32-bit system call */
#define TW_PF_IO_WORKER 0x00000010
#define TW_O_TMPFILE_BIT 020000000 /* __O_TMPFILE */
#define TW_MAX_ERRNO 4095
#define TW_VFS_NAME_MAX 256

/* This architecture's io_uring_enter number (set by the loader). */
const volatile __u32 tw_cfg_nr_io_uring_enter = 426;

/* The loader's syscall table (all file calls, whatever is wanted): the op of a call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_FILE_SYSCALLS_MAX);
	__type(key, __u32);
	__type(value, struct tw_file_syscall);
} tw_vfs_syscalls SEC(".maps");

/* Which security_path_* hook stashed the operation, and which vfs_* exit takes it. */
enum tw_vfs_hook {
	TW_VFS_UNLINK = 1,
	TW_VFS_RMDIR,
	TW_VFS_RENAME,
	TW_VFS_MKDIR,
	TW_VFS_MKNOD,
	TW_VFS_SYMLINK,
	TW_VFS_LINK,
};

/* The operation in flight, by thread (a thread makes one at a time). */
struct tw_vfs_call {
	__u64 mnt;      /* struct vfsmount * the directory was reached through */
	__u64 dentry;   /* the entry operated on: removed, created, renamed (source) */
	__u64 aux;      /* link: the existing dentry; symlink: the target string (kernel
			   copy); rename: the source's parent directory */
	__u32 hook;     /* enum tw_vfs_hook */
	__u32 flags;    /* rename flags */
	__u32 name_len; /* rename: length of name */
	__u32 pad;
	char name[TW_VFS_NAME_MAX]; /* rename: the source's name before the rename */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tw_vfs_call);
} tw_vfs_inflight SEC(".maps");

/*
 * The event types this object serves on this kernel (TW_EVENT_BIT()s, set
 * by the loader after load): the open programs serve FILE_CREATE and
 * FILE_SHMEM_OPEN, and either may have been left to the tracepoints.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tw_vfs_types SEC(".maps");

static __always_inline int tw_vfs__serves(__u32 type)
{
	__u32 zero = 0;
	__u64 *types = bpf_map_lookup_elem(&tw_vfs_types, &zero);

	return types && ((*types >> (type & 63)) & 1) && tw_type_wanted(type);
}

static __always_inline __u32 tw_vfs__type(__u32 hook)
{
	switch (hook) {
	case TW_VFS_UNLINK:
	case TW_VFS_RMDIR:
		return TW_EVENT_FILE_DELETE;
	case TW_VFS_RENAME:
		return TW_EVENT_FILE_RENAME;
	default:
		return TW_EVENT_FILE_CREATE;
	}
}

/* The system call an operation made through io_uring is equivalent to. */
static __always_inline __u32 tw_vfs__uring_op(__u32 hook)
{
	switch (hook) {
	case TW_VFS_UNLINK:
	case TW_VFS_RMDIR:
		return TW_FILE_OP_UNLINKAT;
	case TW_VFS_RENAME:
		return TW_FILE_OP_RENAMEAT2;
	case TW_VFS_MKDIR:
		return TW_FILE_OP_MKDIRAT;
	case TW_VFS_MKNOD:
		return TW_FILE_OP_MKNODAT;
	case TW_VFS_SYMLINK:
		return TW_FILE_OP_SYMLINKAT;
	case TW_VFS_LINK:
		return TW_FILE_OP_LINKAT;
	default:
		return TW_FILE_OP_OPENAT;
	}
}

/*
 * The op to report for an operation of `type`, 0 when the thread is not in
 * a file system call of that type (nor io_uring): such operations are not
 * reported. kind_open: the operation is an open (FILE_CREATE by O_CREAT,
 * FILE_SHMEM_OPEN). io_uring: the submitting thread is in io_uring_enter,
 * or the request runs in an io-wq worker or the SQPOLL thread (PF_IO_WORKER).
 */
static __always_inline __u32 tw_vfs__op(__u32 type, __u32 uring_op, int kind_open)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tw_file_syscall *sc;
	__u32 nr;

	if (BPF_CORE_READ(task, flags) & TW_PF_IO_WORKER)
		return uring_op;
#if defined(__TARGET_ARCH_x86)
	{
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

		/*
		 * A 32-bit call (TS_COMPAT) has an ia32 number, which the x86_64
		 * table would misname; the syscall tracepoints skip those calls
		 * too, so both sets report the same.
		 */
		if (bpf_core_field_exists(task->thread_info.status) &&
		    (BPF_CORE_READ(task, thread_info.status) & TW_TS_COMPAT))
			return 0;
		nr = (__u32)BPF_CORE_READ(regs, orig_ax);
	}
#else
	return uring_op;
#endif
	if (nr == tw_cfg_nr_io_uring_enter)
		return uring_op;
	sc = bpf_map_lookup_elem(&tw_vfs_syscalls, &nr);
	if (!sc || !sc->op)
		return 0;
	if (kind_open)
		return sc->kind == TW_FILE_KIND_OPEN ? sc->op : 0;
	if (sc->kind == TW_FILE_KIND_OPEN || sc->event_type != type)
		return 0;
	return sc->op;
}

/* fentry side: remember what the operation is on. */
static __always_inline void tw_vfs__stash(__u32 hook, struct vfsmount *mnt, struct dentry *dentry,
					  __u64 aux, __u32 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, type = tw_vfs__type(hook);
	/* on the stack (about 300 of the 512 bytes): a per-CPU staging value could be
	   reused by another task if this one were preempted here */
	struct tw_vfs_call c = {};

	if (!tw_type_wanted(type) || tw_filter__rejects(id >> 32, type))
		return;
	c.mnt = (__u64)mnt;
	c.dentry = (__u64)dentry;
	c.aux = aux;
	c.hook = hook;
	c.flags = flags;
	if (hook == TW_VFS_RENAME) {
		long n = bpf_probe_read_kernel_str(c.name, sizeof(c.name),
						   BPF_CORE_READ(dentry, d_name.name));
		c.name_len = n > 1 ? n - 1 : 0;
	}
	if (bpf_map_update_elem(&tw_vfs_inflight, &tid, &c, BPF_ANY))
		tw_stats__add_lost_scratch(type);
}

SEC("fentry/security_path_unlink")
int BPF_PROG(tw_vfs_unlink_enter, const struct path *dir, struct dentry *dentry)
{
	tw_vfs__stash(TW_VFS_UNLINK, BPF_CORE_READ(dir, mnt), dentry, 0, 0);
	return 0;
}

SEC("fentry/security_path_rmdir")
int BPF_PROG(tw_vfs_rmdir_enter, const struct path *dir, struct dentry *dentry)
{
	tw_vfs__stash(TW_VFS_RMDIR, BPF_CORE_READ(dir, mnt), dentry, 0, 0);
	return 0;
}

SEC("fentry/security_path_rename")
int BPF_PROG(tw_vfs_rename_enter, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags)
{
	tw_vfs__stash(TW_VFS_RENAME, BPF_CORE_READ(old_dir, mnt), old_dentry,
		      (__u64)BPF_CORE_READ(old_dir, dentry), flags);
	return 0;
}

SEC("fentry/security_path_mkdir")
int BPF_PROG(tw_vfs_mkdir_enter, const struct path *dir, struct dentry *dentry)
{
	tw_vfs__stash(TW_VFS_MKDIR, BPF_CORE_READ(dir, mnt), dentry, 0, 0);
	return 0;
}

/* Also called by open(O_CREAT) (may_o_create): vfs_mknod/vfs_create never see that dentry. */
SEC("fentry/security_path_mknod")
int BPF_PROG(tw_vfs_mknod_enter, const struct path *dir, struct dentry *dentry)
{
	tw_vfs__stash(TW_VFS_MKNOD, BPF_CORE_READ(dir, mnt), dentry, 0, 0);
	return 0;
}

SEC("fentry/security_path_symlink")
int BPF_PROG(tw_vfs_symlink_enter, const struct path *dir, struct dentry *dentry,
	     const char *old_name)
{
	tw_vfs__stash(TW_VFS_SYMLINK, BPF_CORE_READ(dir, mnt), dentry, (__u64)old_name, 0);
	return 0;
}

SEC("fentry/security_path_link")
int BPF_PROG(tw_vfs_link_enter, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry)
{
	tw_vfs__stash(TW_VFS_LINK, BPF_CORE_READ(new_dir, mnt), new_dentry, (__u64)old_dentry, 0);
	return 0;
}

/* Whether one of the traced function's arguments (up to six) is `want`. */
static __always_inline int tw_vfs__has_arg(void *ctx, __u64 want)
{
	__u64 n = bpf_get_func_arg_cnt(ctx), v;

	for (__u32 i = 0; i < 6; i++) {
		if (i >= n)
			break;
		if (!bpf_get_func_arg(ctx, i, &v) && v == want)
			return 1;
	}
	return 0;
}

/* An errno (int) or an ERR_PTR (pointer returns): both are -4095..-1 as a 64-bit value. */
static __always_inline int tw_vfs__failed(__u64 ret)
{
	return (__s64)ret < 0 && (__s64)ret >= -TW_MAX_ERRNO;
}

/* fexit side: the vfs function `hook` returned; emit if it did the stashed operation. */
static __always_inline int tw_vfs__exit(void *ctx, __u32 hook)
{
	__u64 id = bpf_get_current_pid_tgid(), ret = 0, arg0 = 0;
	__u32 tid = (__u32)id, type = tw_vfs__type(hook), op;
	struct tw_vfs_call *c;
	struct tw_file_event *e;
	struct task_struct *task;
	struct tw_builder b;
	struct vfsmount *mnt;
	struct dentry *dentry;

	c = bpf_map_lookup_elem(&tw_vfs_inflight, &tid);
	if (!c || c->hook != hook)
		return 0;
	if (hook == TW_VFS_RENAME) {
		struct renamedata *rd;
		if (bpf_get_func_arg(ctx, 0, &arg0))
			return 0;
		rd = (struct renamedata *)arg0;
		if ((__u64)BPF_CORE_READ(rd, old_dentry) != c->dentry)
			return 0;
	} else if (!tw_vfs__has_arg(ctx, c->dentry)) {
		return 0; /* a nested call (overlayfs on its upper layer), not ours */
	}
	bpf_get_func_ret(ctx, &ret);
	if (tw_vfs__failed(ret))
		goto done;
	op = tw_vfs__op(type, tw_vfs__uring_op(hook), 0);
	if (!op)
		goto done;
	mnt = (struct vfsmount *)c->mnt;
	dentry = (struct dentry *)c->dentry;
	/* vfs_mkdir returns the new dentry since 6.15 (it may be another one) */
	if (hook == TW_VFS_MKDIR && ret)
		dentry = (struct dentry *)ret;

	e = tw_file_event__begin(&b, type);
	if (!e)
		goto done;
	task = (struct task_struct *)bpf_get_current_task();
	tw_file_event__common(e, type, task, op, 0);
	switch (hook) {
	case TW_VFS_RENAME:
		e->flags = (c->flags & 2 ? TW_FILE_FLAG_RENAME_EXCHANGE : 0) |
			   (c->flags & 1 ? TW_FILE_FLAG_RENAME_NOREPLACE : 0) |
			   (c->flags & 4 ? TW_FILE_FLAG_RENAME_WHITEOUT : 0);
		/* the source dentry now sits at the new name: the old one was kept at entry */
		tw_path__add_child(&b, TW_FIELD_OLD_PATH, mnt, (struct dentry *)c->aux, c->name,
				   c->name_len);
		tw_path__add_dentry(&b, TW_FIELD_NEW_PATH, mnt, dentry);
		break;
	case TW_VFS_SYMLINK:
		tw_field__kernel_str(&b, TW_FIELD_SYMLINK_TARGET, (const void *)c->aux, TW_CAP_PATH);
		tw_path__add_dentry(&b, TW_FIELD_PATH, mnt, dentry);
		break;
	case TW_VFS_LINK:
		tw_path__add_dentry(&b, TW_FIELD_LINK_SOURCE, mnt, (struct dentry *)c->aux);
		tw_path__add_dentry(&b, TW_FIELD_PATH, mnt, dentry);
		break;
	default:
		tw_path__add_dentry(&b, TW_FIELD_PATH, mnt, dentry);
		break;
	}
	if (tw_filter__event_path_rejects(&b)) {
		tw_stats__add_filtered(type);
		tw_event__discard(&b);
		goto done;
	}
	tw_event__emit(&b);
done:
	bpf_map_delete_elem(&tw_vfs_inflight, &tid);
	return 0;
}

SEC("fexit/vfs_unlink")
int tw_vfs_unlink_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_UNLINK);
}

SEC("fexit/vfs_rmdir")
int tw_vfs_rmdir_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_RMDIR);
}

SEC("fexit/vfs_rename")
int tw_vfs_rename_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_RENAME);
}

SEC("fexit/vfs_mkdir")
int tw_vfs_mkdir_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_MKDIR);
}

/* mknod of a device node, FIFO or socket */
SEC("fexit/vfs_mknod")
int tw_vfs_mknod_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_MKNOD);
}

/* mknod of a regular file (S_IFREG or no type) */
SEC("fexit/vfs_create")
int tw_vfs_create_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_MKNOD);
}

SEC("fexit/vfs_symlink")
int tw_vfs_symlink_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_SYMLINK);
}

SEC("fexit/vfs_link")
int tw_vfs_link_exit(void *ctx)
{
	return tw_vfs__exit(ctx, TW_VFS_LINK);
}

/*
 * An open by an open-family call (or io_uring): FILE_CREATE when it created
 * the file (FMODE_CREATED: open(O_CREAT) of a new name), else
 * FILE_SHMEM_OPEN for a file of a tmpfs mounted on "shm", as the tracepoints
 * decide at the call's exit. The file is open here: vfs_open, or
 * finish_open inside a filesystem's atomic_open. O_TMPFILE files have no
 * name yet and are left out, as with the tracepoints.
 */
static __always_inline int tw_vfs__opened(struct file *f, int ret)
{
	struct task_struct *task;
	struct tw_file_event *e;
	struct tw_builder b;
	__u32 op, type;

	if (ret || !f)
		return 0;
	if (BPF_CORE_READ(f, f_mode) & TW_FMODE_CREATED) {
		if (BPF_CORE_READ(f, f_flags) & TW_O_TMPFILE_BIT)
			return 0;
		type = TW_EVENT_FILE_CREATE;
	} else if (tw_vfs__serves(TW_EVENT_FILE_SHMEM_OPEN) && tw_file__is_shm(f)) {
		type = TW_EVENT_FILE_SHMEM_OPEN;
	} else {
		return 0;
	}
	if (!tw_vfs__serves(type))
		return 0;
	op = tw_vfs__op(type, TW_FILE_OP_OPENAT, 1);
	if (!op || tw_filter__rejects(bpf_get_current_pid_tgid() >> 32, type))
		return 0;
	e = tw_file_event__begin(&b, type);
	if (!e)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	tw_file_event__common(e, type, task, op, 0);
	tw_inode__info(BPF_CORE_READ(f, f_inode), &e->file);
	tw_path__add(&b, TW_FIELD_PATH, &f->f_path);
	if (tw_filter__event_path_rejects(&b)) {
		tw_stats__add_filtered(type);
		tw_event__discard(&b);
		return 0;
	}
	tw_event__emit(&b);
	return 0;
}

SEC("fexit/vfs_open")
int BPF_PROG(tw_vfs_open_exit, const struct path *path, struct file *file, int ret)
{
	return tw_vfs__opened(file, ret);
}

SEC("fexit/finish_open")
int BPF_PROG(tw_vfs_finish_open_exit, struct file *file, struct dentry *dentry, void *open, int ret)
{
	return tw_vfs__opened(file, ret);
}
