// SPDX-License-Identifier: GPL-2.0-only
/*
 * File events from the per-syscall tracepoints (no vfs tracepoints, no
 * kprobes here). One generic enter program and one generic exit program are
 * attached to every traced syscall's tracepoints: all sys_enter_* records
 * share one layout (nr, then six 8-byte arguments), all sys_exit_* records
 * another (nr, ret). The loader's table (tw_file_syscalls, indexed by syscall
 * number) says what each call is. Enter stashes the arguments by thread;
 * exit emits only when the call succeeded.
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
#include "tw_syscall.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_AT_FDCWD -100
#define TW_O_CREAT 0100


struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_FILE_SYSCALLS_MAX);
	__type(key, __u32);
	__type(value, struct tw_file_syscall);
} tw_file_syscalls SEC(".maps");

/* Arguments of the call in flight, by thread: a thread is in one syscall at a time. */
struct tw_file_call {
	__u64 args[6];
	__s32 nr;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct tw_file_call);
} tw_file_inflight SEC(".maps");

/*
 * Write coalescing per (process, open file). The struct file address alone
 * is not a safe key, a freed file's slab slot is soon reused: entries are
 * deleted on close, carry the inode to catch reuse after an implicit close,
 * and count only within the window.
 */
struct tw_write_key {
	__u32 tgid;
	__u32 pad;
	__u64 file;
};

struct tw_write_state {
	__u64 last_emit_ns;
	__u64 pending;  /* writes since the last event */
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tw_write_key);
	__type(value, struct tw_write_state);
} tw_write_coalesce SEC(".maps");

/* 0: every write is an event */
const volatile __u64 tw_cfg_write_window_ns = 1000000000ull;

/*
 * Event types another hook set serves (TW_EVENT_BIT()s): the loader chose
 * the vfs-level probes (file_vfs.bpf.c) for them on this kernel, so the
 * tracepoints must not report them too. Only the open family needs this
 * check: the other calls of those types are left out of tw_file_syscalls.
 */
const volatile __u64 tw_cfg_file_elsewhere = 0;

static __always_inline int tw_file_type_here(__u32 type)
{
	return tw_type_wanted(type) && !((tw_cfg_file_elsewhere >> (type & 63)) & 1);
}

/* Argument i with constant-offset loads only (the verifier refuses variable ctx offsets). */
static __always_inline __u64 tw_arg6(const __u64 *args, int i)
{
	switch (i) {
	case 0: return args[0];
	case 1: return args[1];
	case 2: return args[2];
	case 3: return args[3];
	case 4: return args[4];
	case 5: return args[5];
	}
	return 0;
}

static __always_inline __u64 tw_arg(const struct tw_file_call *c, int i)
{
	return tw_arg6(c->args, i);
}

/* The write family is coalesced; ftruncate and fallocate are reported one by one. */
static __always_inline int tw_is_write(const struct tw_file_syscall *sc)
{
	return sc->op >= TW_FILE_OP_WRITE && sc->op <= TW_FILE_OP_PWRITEV2;
}

/* tw_file_call.pad: the call is a write inside a window, to count if it succeeds */
#define TW_CALL_COALESCED 1

static __always_inline struct tw_write_state *tw_write__state(__u32 tgid, struct file *f)
{
	struct tw_write_key k = {.tgid = tgid, .file = (__u64)f};
	return bpf_map_lookup_elem(&tw_write_coalesce, &k);
}

/*
 * True when this write falls in the window of an earlier one on the same
 * open file: no event, the exit only counts it (if it succeeded) for the
 * next event or the close to carry.
 */
static __always_inline int tw_write__in_window(__u32 tgid, struct file *f)
{
	struct tw_write_state *st;

	if (!tw_cfg_write_window_ns)
		return 0;
	st = tw_write__state(tgid, f);
	return st && st->ino == BPF_CORE_READ(f, f_inode, i_ino) &&
	       bpf_ktime_get_ns() - st->last_emit_ns < tw_cfg_write_window_ns;
}

/* Writes this event stands for: itself and those coalesced since the last one. */
static __always_inline __u64 tw_write__take(__u32 tgid, struct file *f)
{
	struct tw_write_key k = {.tgid = tgid, .file = (__u64)f};
	struct tw_write_state fresh = {}, *st;
	__u64 pending = 0;

	if (!tw_cfg_write_window_ns)
		return 1;
	st = bpf_map_lookup_elem(&tw_write_coalesce, &k);
	if (st && st->ino == BPF_CORE_READ(f, f_inode, i_ino))
		pending = __sync_lock_test_and_set(&st->pending, 0);
	fresh.last_emit_ns = bpf_ktime_get_ns();
	fresh.ino = BPF_CORE_READ(f, f_inode, i_ino);
	bpf_map_update_elem(&tw_write_coalesce, &k, &fresh, BPF_ANY);
	return 1 + pending;
}

/* Which open() calls can matter: creations always, any open if shm opens are wanted. */
static __always_inline int tw_open__interesting(const struct tw_file_syscall *sc,
						const struct tw_file_call *call)
{
	__u64 flags = 0;

	if (tw_file_type_here(TW_EVENT_FILE_SHMEM_OPEN))
		return 1;
	if (!tw_file_type_here(TW_EVENT_FILE_CREATE))
		return 0;
	if (sc->op == TW_FILE_OP_CREAT)
		return 1;
	if (sc->op == TW_FILE_OP_OPENAT2) /* flags are the first member of struct open_how */
		bpf_probe_read_user(&flags, sizeof(flags), (void *)call->args[2]);
	else
		flags = tw_arg(call, sc->flags_arg);
	/* O_TMPFILE makes an unnamed file: nothing to report until linkat names it */
	return (flags & TW_O_CREAT) != 0;
}

/* Close: a file with coalesced writes still pending reports them now. */
static __always_inline void tw_file__flush_on_close(struct task_struct *task, __u32 tgid,
						    const struct tw_file_syscall *sc, __s64 fd)
{
	struct tw_builder b;
	struct tw_file_event *e;
	struct tw_write_state *st;
	struct tw_write_key k = {.tgid = tgid};
	struct file *f;
	__u64 pending;

	f = tw_fd__file(task, fd);
	if (!f)
		return;
	k.file = (__u64)f;
	st = bpf_map_lookup_elem(&tw_write_coalesce, &k);
	if (!st)
		return;
	pending = __sync_lock_test_and_set(&st->pending, 0);
	bpf_map_delete_elem(&tw_write_coalesce, &k);
	if (!pending || tw_filter__rejects(tgid, TW_EVENT_FILE_MODIFY))
		return;
	e = tw_file_event__begin(&b, TW_EVENT_FILE_MODIFY);
	if (!e)
		return;
	tw_file_event__common(e, TW_EVENT_FILE_MODIFY, task, sc->op, sc->change);
	e->change = TW_FILE_CHANGE_CONTENT;
	e->flags = TW_FILE_FLAG_ON_CLOSE;
	e->writes = pending;
	tw_inode__info(BPF_CORE_READ(f, f_inode), &e->file);
	tw_path__add(&b, TW_FIELD_PATH, &f->f_path);
	if (tw_filter__event_path_rejects(&b)) {
		tw_stats__add_filtered(TW_EVENT_FILE_MODIFY);
		tw_event__discard(&b);
		return;
	}
	tw_event__emit(&b);
}

SEC("tracepoint")
int tw_file_sys_enter(struct tw_sys_enter_ctx *ctx)
{
	struct tw_file_syscall *sc;
	struct tw_file_call call;
	struct task_struct *task;
	__u32 nr = ctx->nr, tgid, tid;
	__u64 id;

	sc = bpf_map_lookup_elem(&tw_file_syscalls, &nr);
	if (!sc || !sc->op)
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (__u32)id;
	task = (struct task_struct *)bpf_get_current_task();
	tw_syscall__args(ctx, call.args, 6);
	call.nr = ctx->nr;
	call.pad = 0;

	if (sc->kind == TW_FILE_KIND_CLOSE) {
		tw_file__flush_on_close(task, tgid, sc, (__s32)call.args[0]);
		return 0;
	}
	if (tw_is_write(sc)) {
		/* hot path: most writes go to pipes, sockets and ttys, not files */
		struct file *f = tw_fd__file(task, (__s32)tw_arg(&call, sc->fd_arg));
		if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & TW_S_IFMT) != TW_S_IFREG)
			return 0;
		if (tw_filter__rejects(tgid, TW_EVENT_FILE_MODIFY))
			return 0;
		if (tw_write__in_window(tgid, f)) {
			call.pad = TW_CALL_COALESCED;
			call.args[0] = (__u64)f; /* the exit needs the file, not the fd */
		}
	} else if (sc->kind == TW_FILE_KIND_OPEN) {
		if (!tw_open__interesting(sc, &call))
			return 0;
		/* the event type (create or shm open) is only known at exit: filter then */
	} else if (tw_filter__rejects(tgid, sc->event_type)) {
		return 0;
	}
	if (bpf_map_update_elem(&tw_file_inflight, &tid, &call, BPF_ANY))
		tw_stats__add_lost_scratch(sc->event_type ? sc->event_type : TW_EVENT_FILE_CREATE);
	return 0;
}

/* The directory a path argument is relative to: cwd, or the file of a dirfd. */
static __always_inline const struct path *tw_dir_of(struct task_struct *task, struct fs_struct *fs,
						    const struct tw_file_call *c, __s8 fd_arg)
{
	struct file *f;
	int dfd;

	if (fd_arg < 0)
		return &fs->pwd;
	dfd = (int)tw_arg(c, fd_arg);
	if (dfd == TW_AT_FDCWD)
		return &fs->pwd;
	f = tw_fd__file(task, dfd);
	return f ? &f->f_path : NULL;
}

static __always_inline void tw_add_at(struct tw_builder *b, __u16 ftype, struct task_struct *task,
				      struct fs_struct *fs, const struct tw_file_call *c, __s8 fd_arg,
				      __s8 path_arg)
{
	const struct path *dir = tw_dir_of(task, fs, c, fd_arg);

	if (dir && path_arg >= 0)
		tw_path__add_at(b, ftype, &fs->root, dir, (const char *)tw_arg(c, path_arg));
}

static __always_inline void tw_add_user_str(struct tw_builder *b, __u16 ftype, const char *s)
{
	char *d = tw_field__data(b, TW_CAP_PATH);
	long n;

	if (!d)
		return;
	n = bpf_probe_read_user_str(d, TW_CAP_PATH, s);
	if (n > 0)
		tw_field__commit(b, ftype, n, 0);
}

SEC("tracepoint")
int tw_file_sys_exit(struct tw_sys_exit_ctx *ctx)
{
	struct tw_file_syscall *sc;
	struct tw_file_call call, *inflight;
	struct task_struct *task;
	struct tw_file_event *e;
	struct tw_builder b;
	struct fs_struct *fs;
	struct file *f = NULL;
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), tgid, nr, type;

	inflight = bpf_map_lookup_elem(&tw_file_inflight, &tid);
	if (!inflight)
		return 0;
	call = *inflight;
	bpf_map_delete_elem(&tw_file_inflight, &tid);
	if (ctx->ret < 0 || call.nr != ctx->nr)
		return 0;
	if (call.pad == TW_CALL_COALESCED) {
		struct tw_write_state *st = tw_write__state(bpf_get_current_pid_tgid() >> 32,
							    (struct file *)call.args[0]);
		if (st)
			__sync_fetch_and_add(&st->pending, 1);
		return 0;
	}
	nr = call.nr;
	sc = bpf_map_lookup_elem(&tw_file_syscalls, &nr);
	if (!sc)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	tgid = bpf_get_current_pid_tgid() >> 32;
	type = sc->event_type;

	if (sc->kind == TW_FILE_KIND_OPEN) {
		f = tw_fd__file(task, ctx->ret);
		if (!f)
			return 0;
		if (BPF_CORE_READ(f, f_mode) & TW_FMODE_CREATED)
			type = TW_EVENT_FILE_CREATE;
		else if (tw_file__is_shm(f))
			type = TW_EVENT_FILE_SHMEM_OPEN;
		else
			return 0;
		if (!tw_file_type_here(type) || tw_filter__rejects(tgid, type))
			return 0;
	} else if (sc->kind == TW_FILE_KIND_FD) {
		f = tw_fd__file(task, (__s32)tw_arg(&call, sc->fd_arg));
		if (!f)
			return 0;
	}

	e = tw_file_event__begin(&b, type);
	if (!e)
		return 0;
	tw_file_event__common(e, type, task, sc->op, sc->change);
	fs = BPF_CORE_READ(task, fs);

	switch (sc->kind) {
	case TW_FILE_KIND_FD:
	case TW_FILE_KIND_OPEN:
		if (tw_is_write(sc))
			e->writes = tw_write__take(tgid, f);
		else if (sc->change == TW_FILE_CHANGE_CONTENT)
			e->writes = 1;
		tw_inode__info(BPF_CORE_READ(f, f_inode), &e->file);
		tw_path__add(&b, TW_FIELD_PATH, &f->f_path);
		break;
	case TW_FILE_KIND_PATH:
		if (sc->change == TW_FILE_CHANGE_CONTENT) /* truncate */
			e->writes = 1;
		tw_add_at(&b, TW_FIELD_PATH, task, fs, &call, sc->fd_arg, sc->path_arg);
		break;
	case TW_FILE_KIND_RENAME:
		if (sc->flags_arg >= 0) {
			__u64 fl = tw_arg(&call, sc->flags_arg);
			e->flags = (fl & 2 ? TW_FILE_FLAG_RENAME_EXCHANGE : 0) |
				   (fl & 1 ? TW_FILE_FLAG_RENAME_NOREPLACE : 0) |
				   (fl & 4 ? TW_FILE_FLAG_RENAME_WHITEOUT : 0);
		}
		tw_add_at(&b, TW_FIELD_OLD_PATH, task, fs, &call, sc->fd_arg, sc->path_arg);
		tw_add_at(&b, TW_FIELD_NEW_PATH, task, fs, &call, sc->fd2_arg, sc->path2_arg);
		break;
	case TW_FILE_KIND_LINK:
		tw_add_at(&b, TW_FIELD_LINK_SOURCE, task, fs, &call, sc->fd_arg, sc->path_arg);
		tw_add_at(&b, TW_FIELD_PATH, task, fs, &call, sc->fd2_arg, sc->path2_arg);
		break;
	case TW_FILE_KIND_SYMLINK:
		tw_add_user_str(&b, TW_FIELD_SYMLINK_TARGET, (const char *)tw_arg(&call, sc->path_arg));
		tw_add_at(&b, TW_FIELD_PATH, task, fs, &call, sc->fd2_arg, sc->path2_arg);
		break;
	default:
		tw_event__discard(&b);
		return 0;
	}
	if (tw_filter__event_path_rejects(&b)) {
		tw_stats__add_filtered(type);
		tw_event__discard(&b);
		return 0;
	}
	tw_event__emit(&b);
	return 0;
}
