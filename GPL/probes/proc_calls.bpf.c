// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process calls beyond exec: set*id, setsid, ptrace, memfd_create, shmget.
 * Like the file probe, one generic enter and one generic exit program on
 * each call's syscall tracepoints: enter stashes the arguments by thread,
 * exit emits only when the call succeeded (the loader's table, indexed by
 * syscall number, says which call is which).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_filter.h"
#include "tw_syscall.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

/* syscall number -> enum tw_proc_op, filled by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} tw_proc_syscalls SEC(".maps");

struct tw_proc_call_args {
	__u64 args[3];
	__u32 op;
	__s32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tw_proc_call_args);
} tw_proc_inflight SEC(".maps");

static __always_inline __u32 tw_proc__event_type(__u32 op)
{
	if (op >= TW_PROC_OP_SETUID && op <= TW_PROC_OP_SETFSUID)
		return TW_EVENT_PROCESS_SETUID;
	if (op >= TW_PROC_OP_SETGID && op <= TW_PROC_OP_SETFSGID)
		return TW_EVENT_PROCESS_SETGID;
	if (op == TW_PROC_OP_SETSID)
		return TW_EVENT_PROCESS_SETSID;
	if (op == TW_PROC_OP_PTRACE)
		return TW_EVENT_PROCESS_PTRACE;
	if (op == TW_PROC_OP_MEMFD_CREATE)
		return TW_EVENT_PROCESS_MEMFD_CREATE;
	return TW_EVENT_PROCESS_SHMGET;
}

SEC("tracepoint")
int tw_proc_sys_enter(struct tw_sys_enter_ctx *ctx)
{
	struct tw_proc_call_args call = {};
	__u32 nr = ctx->nr, *op, tid = (__u32)bpf_get_current_pid_tgid();

	op = bpf_map_lookup_elem(&tw_proc_syscalls, &nr);
	if (!op || !*op)
		return 0;
	if (tw_filter__rejects(bpf_get_current_pid_tgid() >> 32, tw_proc__event_type(*op)))
		return 0;
	tw_syscall__args(ctx, call.args, 3);
	call.op = *op;
	call.nr = ctx->nr;
	if (bpf_map_update_elem(&tw_proc_inflight, &tid, &call, BPF_ANY))
		tw_stats__add_lost_scratch(tw_proc__event_type(call.op)); /* table full: counted */
	return 0;
}

/*
 * setfsuid/setfsgid return the previous id and never fail: they succeeded
 * when the id now in force is the one asked for.
 */
static __always_inline int tw_proc__succeeded(const struct tw_proc_call_args *c, __s64 ret,
					      const struct tw_process_call *e)
{
	if (c->op == TW_PROC_OP_SETFSUID)
		return e->fsuid == (__u32)c->args[0];
	if (c->op == TW_PROC_OP_SETFSGID)
		return e->fsgid == (__u32)c->args[0];
	return ret >= 0;
}

SEC("tracepoint")
int tw_proc_sys_exit(struct tw_sys_exit_ctx *ctx)
{
	struct tw_proc_call_args call, *inflight;
	struct task_struct *task;
	struct tw_process_call *e;
	struct tw_builder b;
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), type;

	inflight = bpf_map_lookup_elem(&tw_proc_inflight, &tid);
	if (!inflight)
		return 0;
	call = *inflight;
	bpf_map_delete_elem(&tw_proc_inflight, &tid);
	if (call.nr != ctx->nr)
		return 0;
	type = tw_proc__event_type(call.op);
	e = tw_event__begin(&b, type, sizeof(*e), __builtin_offsetof(struct tw_process_call, vl));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	task = (struct task_struct *)bpf_get_current_task();
	e->fsuid = BPF_CORE_READ(task, real_cred, fsuid.val);
	e->fsgid = BPF_CORE_READ(task, real_cred, fsgid.val);
	if (!tw_proc__succeeded(&call, ctx->ret, e)) {
		tw_event__discard(&b); /* nothing was emitted */
		return 0;
	}
	tw_header__fill(&e->hdr, type, task);
	tw_task__creds(task, &e->creds);
	e->op = call.op;
	e->args[0] = call.args[0];
	e->args[1] = call.args[1];
	e->args[2] = call.args[2];
	e->ret = ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (call.op == TW_PROC_OP_MEMFD_CREATE) {
		char *d = tw_field__data(&b, 256);
		long n = d ? bpf_probe_read_user_str(d, 250, (const char *)call.args[0]) : 0;
		if (n > 0)
			tw_field__commit(&b, TW_FIELD_MEMFD_NAME, n, 0);
	}
	tw_event__emit(&b);
	return 0;
}
