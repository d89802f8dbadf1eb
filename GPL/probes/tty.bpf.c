// SPDX-License-Identifier: GPL-2.0-only
/*
 * Terminal output. There is no tty tracepoint here, so the probe sits on
 * write, writev and pwritev2 (offset -1; pwrite64 and pwritev always fail on a
 * tty, which is not seekable) and keeps only calls whose fd is a
 * tty, recognised by the character device numbers of the file (consoles and
 * serial lines major 4, /dev/tty, /dev/console and /dev/ptmx major 5, pty
 * slaves 136-143): that covers console writes too, which do not go through
 * the pty write path. Enter only recognises the tty and stashes the call;
 * the bytes are read at exit, when the kernel has copied them and so faulted
 * the pages in (at enter a buffer in a not-yet-touched page, say a string
 * in .rodata after fork, cannot be read from BPF), and only what was written.
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
#include "tw_syscall.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_S_IFCHR 0020000
/* tty_driver.type's PTY value: 0x0004 while it was a #define (before the enum), the enum's own
   value after (3 in 6.18's BTF); subtypes kept their values (master 1) */
#define TW_TTY_DRIVER_TYPE_PTY_DEFINE 4
#define TW_PTY_TYPE_MASTER 1
#define TW_TTY_MAX_SEGMENTS 32

/*
 * tty_driver.type and .subtype are enums in newer kernels and shorts before: CO-RE
 * does not relocate an enum read onto a short, so each layout has its own
 * flavor and the kernel's BTF picks one (the other branch is dead code).
 */
struct tty_driver___short {
	short type;
	short subtype;
} __attribute__((preserve_access_index));

/* Is this a pseudo-terminal driver? The enum's value where the kernel has the enum
   (a CO-RE enum value relocation), the old #define's where the fields are shorts. */
static __always_inline bool tw_tty_driver__is_pty(struct tty_driver *drv)
{
	struct tty_driver___short *old = (void *)drv;

	if (bpf_core_field_exists(old->type))
		return BPF_CORE_READ(old, type) == TW_TTY_DRIVER_TYPE_PTY_DEFINE;
	return BPF_CORE_READ(drv, type) == bpf_core_enum_value(enum tty_driver_type, TTY_DRIVER_TYPE_PTY);
}

static __always_inline int tw_tty_driver__subtype(struct tty_driver *drv)
{
	struct tty_driver___short *old = (void *)drv;

	if (bpf_core_field_exists(old->subtype))
		return BPF_CORE_READ(old, subtype);
	return BPF_CORE_READ(drv, subtype);
}


/* A tty write in flight, by thread. */
struct tw_tty_call {
	__u64 args[3];
	struct tty_struct *tty;
	__s32 nr;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tw_tty_call);
} tw_tty_inflight SEC(".maps");

/* syscall numbers of this architecture, set by the loader */
const volatile __u32 tw_cfg_nr_write = 0;
const volatile __u32 tw_cfg_nr_writev = 0;
const volatile __u32 tw_cfg_nr_pwritev2 = 0;
/* optional budget per tty, bytes per second; 0: none */
const volatile __u64 tw_cfg_tty_budget_bytes = 0;

struct tw_tty_budget {
	__u64 window_start_ns;
	__u64 bytes;    /* accepted in this window */
	__u64 dropped;  /* dropped since the last event, reported by the next one */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* struct tty_struct address: one budget per terminal */
	__type(value, struct tw_tty_budget);
} tw_tty_budgets SEC(".maps");

static __always_inline int tw_dev_is_tty(__u32 rdev)
{
	__u32 major = rdev >> 20;
	return major == 4 || major == 5 || (major >= 136 && major <= 143);
}

/* Within budget? Otherwise count the bytes as dropped. Returns dropped bytes to report. */
static __always_inline int tw_tty__budget(struct tty_struct *tty, __u64 len, __u64 *report_dropped)
{
	__u64 key = (__u64)tty, now;
	struct tw_tty_budget *b, fresh = {};

	if (!tw_cfg_tty_budget_bytes)
		return 1;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&tw_tty_budgets, &key);
	if (!b) {
		fresh.window_start_ns = now;
		bpf_map_update_elem(&tw_tty_budgets, &key, &fresh, BPF_ANY);
		b = bpf_map_lookup_elem(&tw_tty_budgets, &key);
		if (!b)
			return 1;
	}
	if (now - b->window_start_ns >= 1000000000ull) {
		b->window_start_ns = now;
		b->bytes = 0;
	}
	if (b->bytes + len > tw_cfg_tty_budget_bytes) {
		struct tw_kernel_stats *s = tw_stats__get(TW_EVENT_PROCESS_TTY_WRITE);
		__sync_fetch_and_add(&b->dropped, len);
		if (s) {
			__sync_fetch_and_add(&s->rate_limited, 1);
			__sync_fetch_and_add(&s->rate_limited_bytes, len);
		}
		return 0;
	}
	b->bytes += len;
	*report_dropped = __sync_lock_test_and_set(&b->dropped, 0);
	return 1;
}

struct tw_iov_copy {
	char *out;            /* TTY_OUT data in the event */
	const struct iovec *iov;
	__u32 nseg;
	__u32 copied;
	__u64 limit;          /* min(bytes written, cap) */
};

/* One writev segment per iteration, appended while the 8 KiB cap allows. */
static long tw_iov__step(__u32 i, void *ctx)
{
	struct tw_iov_copy *c = ctx;
	struct iovec seg;
	__u64 room, n;

	if (i >= c->nseg)
		return 1;
	if (bpf_probe_read_user(&seg, sizeof(seg), &c->iov[i & (TW_TTY_MAX_SEGMENTS - 1)]))
		return 1;
	if (c->copied >= c->limit)
		return 1;
	room = c->limit - c->copied;
	n = seg.iov_len < room ? seg.iov_len : room;
	if (n) {
		if (bpf_probe_read_user(c->out + (c->copied & (TW_CAP_TTY_OUT - 1)),
					n & (TW_CAP_TTY_OUT * 2 - 1), seg.iov_base))
			return 1; /* unreadable: keep what was copied, the rest counts as cut */
		c->copied += n;
	}
	return 0;
}

SEC("tracepoint")
int tw_tty_sys_enter(struct tw_sys_enter_ctx *ctx)
{
	struct tw_tty_call call = {};
	struct task_struct *task;
	struct tty_file_private *priv;
	struct file *f;
	struct inode *ino;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	tw_syscall__args(ctx, call.args, 3);
	task = (struct task_struct *)bpf_get_current_task();
	f = tw_fd__file(task, (__s32)call.args[0]);
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if ((BPF_CORE_READ(ino, i_mode) & TW_S_IFMT) != TW_S_IFCHR ||
	    !tw_dev_is_tty(BPF_CORE_READ(ino, i_rdev)))
		return 0;
	/* every tty file's private_data is a tty_file_private */
	priv = BPF_CORE_READ(f, private_data);
	call.tty = BPF_CORE_READ(priv, tty);
	if (!call.tty || tw_filter__rejects(bpf_get_current_pid_tgid() >> 32,
						 TW_EVENT_PROCESS_TTY_WRITE))
		return 0;
	call.nr = ctx->nr;
	if (bpf_map_update_elem(&tw_tty_inflight, &tid, &call, BPF_ANY))
		tw_stats__add_lost_scratch(TW_EVENT_PROCESS_TTY_WRITE); /* table full: counted, not silent */
	return 0;
}

SEC("tracepoint")
int tw_tty_sys_exit(struct tw_sys_exit_ctx *ctx)
{
	struct tw_tty_call call, *inflight;
	struct task_struct *task;
	struct tty_struct *tty;
	struct tty_driver *drv;
	struct tw_tty_write *e;
	struct tw_builder b;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 written, dropped = 0;
	char *d;

	inflight = bpf_map_lookup_elem(&tw_tty_inflight, &tid);
	if (!inflight)
		return 0;
	call = *inflight;
	bpf_map_delete_elem(&tw_tty_inflight, &tid);
	if (ctx->ret <= 0 || call.nr != ctx->nr)
		return 0;
	written = ctx->ret;
	tty = call.tty;
	if (!tw_tty__budget(tty, written, &dropped))
		return 0;

	e = tw_event__begin(&b, TW_EVENT_PROCESS_TTY_WRITE, sizeof(*e),
			    __builtin_offsetof(struct tw_tty_write, vl));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	task = (struct task_struct *)bpf_get_current_task();
	tw_header__fill(&e->hdr, TW_EVENT_PROCESS_TTY_WRITE, task);
	tw_task__tty(task, &e->ctty);
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	drv = BPF_CORE_READ(tty, driver);
	e->tty.major = BPF_CORE_READ(drv, major);
	e->tty.minor = BPF_CORE_READ(drv, minor_start) + BPF_CORE_READ(tty, index);
	e->tty.rows = BPF_CORE_READ(tty, winsize.ws_row);
	e->tty.cols = BPF_CORE_READ(tty, winsize.ws_col);
	e->iflag = BPF_CORE_READ(tty, termios.c_iflag);
	e->oflag = BPF_CORE_READ(tty, termios.c_oflag);
	e->cflag = BPF_CORE_READ(tty, termios.c_cflag);
	e->lflag = BPF_CORE_READ(tty, termios.c_lflag);
	if (tw_tty_driver__is_pty(drv))
		e->flags = tw_tty_driver__subtype(drv) == TW_PTY_TYPE_MASTER ? TW_TTY_FLAG_PTY_MASTER
									     : TW_TTY_FLAG_PTY_SLAVE;
	else
		e->flags = TW_TTY_FLAG_CONSOLE;
	e->orig_len = written;
	e->dropped_bytes = dropped;

	d = tw_field__data(&b, TW_CAP_TTY_OUT);
	if (!d) {
		tw_event__discard(&b);
		return 0;
	}
	if (call.nr == tw_cfg_nr_writev || call.nr == tw_cfg_nr_pwritev2) {
		/* the segments, in order, up to what was written and the cap */
		struct tw_iov_copy c = {.out = d, .iov = (const struct iovec *)call.args[1]};
		c.nseg = call.args[2] > TW_TTY_MAX_SEGMENTS ? TW_TTY_MAX_SEGMENTS : call.args[2];
		c.limit = written < TW_CAP_TTY_OUT ? written : TW_CAP_TTY_OUT;
		bpf_loop(TW_TTY_MAX_SEGMENTS, tw_iov__step, &c, 0);
		tw_field__commit(&b, TW_FIELD_TTY_OUT, c.copied,
				 written > c.copied ? TW_FIELD_FLAG_TRUNCATED : 0);
	} else {
		__u64 n = written > TW_CAP_TTY_OUT ? TW_CAP_TTY_OUT : written;
		if (bpf_probe_read_user(d, n & (TW_CAP_TTY_OUT * 2 - 1), (const void *)call.args[1]))
			n = 0;
		tw_field__commit(&b, TW_FIELD_TTY_OUT, n, written > n ? TW_FIELD_FLAG_TRUNCATED : 0);
	}
	tw_event__emit(&b);
	return 0;
}
