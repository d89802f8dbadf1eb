// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process events: exec, fork, exit, on BTF tracepoints only (no kprobes,
 * no fentry: both are unavailable on hardened kernels such as this one).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_file.h"
#include "tw_filter.h"
#include "tw_path.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_S_ISUID 04000
#define TW_S_ISGID 02000
#define TW_SIGNAL_GROUP_EXIT 0x4

/* An unlinked file whose name memfd_create gave it ("memfd:NAME"). */
static __always_inline int tw_file__is_memfd(struct file *f)
{
	char prefix[6];
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);

	if (BPF_CORE_READ(f, f_inode, __i_nlink) != 0)
		return 0;
	if (bpf_probe_read_kernel(prefix, sizeof(prefix), name))
		return 0;
	return prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' &&
	       prefix[4] == 'd' && prefix[5] == ':';
}

/*
 * What exec and the startup snapshot both report about a process: creds,
 * tty, namespaces, comm, cgroup, executable path, cwd, cgroup path. The
 * caller adds argv (and, for exec, filename and env) before emitting.
 */
static __always_inline struct tw_process_exec *tw_process__describe(struct tw_builder *b, __u32 type,
								   struct task_struct *task,
								   struct file *exe, char *own)
{
	struct tw_process_exec *e;
	struct cgroup *cg;
	umode_t mode;

	e = own ? tw_event__begin_in(b, own, type, sizeof(*e), __builtin_offsetof(struct tw_process_exec, vl))
		: tw_event__begin(b, type, sizeof(*e), __builtin_offsetof(struct tw_process_exec, vl));
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill(&e->hdr, type, task);
	tw_task__creds(task, &e->creds);
	tw_task__tty(task, &e->tty);
	tw_task__namespaces(task, &e->ns);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	if (exe) {
		mode = BPF_CORE_READ(exe, f_inode, i_mode);
		if (mode & TW_S_ISUID)
			e->flags |= TW_EXEC_FLAG_SETUID;
		if ((mode & TW_S_ISGID) && (mode & 00010)) /* setgid without group-exec is mandatory locking */
			e->flags |= TW_EXEC_FLAG_SETGID;
		if (tw_file__is_memfd(exe))
			e->flags |= TW_EXEC_FLAG_MEMFD;
	}
	cg = tw_task__cgroup(task, tw_cfg_cgroup_hierarchy);
	e->cgroup_id = BPF_CORE_READ(cg, kn, id);
	e->cgroup_hierarchy = tw_cfg_cgroup_hierarchy;
	return e;
}

/* The fields both add last: executable, cwd, cgroup path. */
static __always_inline void tw_process__paths(struct tw_builder *b, struct task_struct *task,
					      struct file *exe)
{
	struct fs_struct *fs = BPF_CORE_READ(task, fs);

	if (exe)
		tw_path__add(b, TW_FIELD_EXE_PATH, &exe->f_path);
	if (fs)
		tw_path__add(b, TW_FIELD_CWD, &fs->pwd);
	tw_path__add_cgroup(b, TW_FIELD_CGROUP_PATH,
			    tw_task__cgroup(task, tw_cfg_cgroup_hierarchy));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tw_process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tw_builder b;
	struct file *exe = BPF_CORE_READ(bprm, file);
	struct mm_struct *mm;
	const char *filename, *interp;

	if (tw_filter__rejects(BPF_CORE_READ(task, tgid), TW_EVENT_PROCESS_EXEC))
		return 0;
	if (!tw_process__describe(&b, TW_EVENT_PROCESS_EXEC, task, exe, NULL))
		return 0;

	/* fields: the order is not part of the format, decoders look them up by type */
	filename = BPF_CORE_READ(bprm, filename);
	interp = BPF_CORE_READ(bprm, interp);
	tw_field__kernel_str(&b, TW_FIELD_FILENAME, filename, TW_CAP_PATH);
	if (interp != filename)
		tw_field__kernel_str(&b, TW_FIELD_INTERPRETER, interp, TW_CAP_PATH);

	mm = BPF_CORE_READ(task, mm);
	tw_field__user_range(&b, TW_FIELD_ARGV, BPF_CORE_READ(mm, arg_start),
			     BPF_CORE_READ(mm, arg_end), TW_CAP_ARGV);
	if (tw_cfg_capture_env)
		tw_field__user_range(&b, TW_FIELD_ENV, BPF_CORE_READ(mm, env_start),
				     BPF_CORE_READ(mm, env_end), TW_CAP_ENV);
	tw_process__paths(&b, task, exe);
	tw_event__emit(&b);
	return 0;
}

/*
 * Startup snapshot: one PROCESS_SNAPSHOT per process already running, run
 * once by the loader through a task iterator, so a consumer can build the
 * process tree without racing /proc. Sleepable, because reading another
 * process's argv (bpf_copy_from_user_task) may fault its pages in: so it
 * builds in a buffer of its own (one iterator runs at a time), not in the
 * CPU's scratch, which it could hold while asleep.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_scratch);
} tw_snapshot_scratch SEC(".maps");

SEC("iter.s/task")
int tw_process_snapshot(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tw_builder b;
	struct mm_struct *mm;
	struct file *exe = NULL;
	unsigned long start, end, len;
	__u16 flags = 0;
	char *d;

	if (!task || task->pid != task->tgid) /* one event per process: its leader */
		return 0;
	if (tw_filter__rejects_task(task, task->tgid, TW_EVENT_PROCESS_SNAPSHOT))
		return 0;
	mm = task->mm;
	if (mm)
		exe = BPF_CORE_READ(mm, exe_file);
	struct tw_scratch *own = bpf_map_lookup_elem(&tw_snapshot_scratch, &(__u32){0});

	if (!own) {
		tw_stats__add_lost_scratch(TW_EVENT_PROCESS_SNAPSHOT);
		return 0;
	}
	if (!tw_process__describe(&b, TW_EVENT_PROCESS_SNAPSHOT, task, exe, own->data))
		return 0;
	if (mm) {
		start = BPF_CORE_READ(mm, arg_start);
		end = BPF_CORE_READ(mm, arg_end);
		if (end > start) {
			len = end - start;
			if (len > TW_CAP_ARGV) {
				len = TW_CAP_ARGV;
				flags = TW_FIELD_FLAG_TRUNCATED;
			}
			d = tw_field__data(&b, TW_CAP_ARGV);
			if (d) {
				__u32 n = (__u32)len;
				/* keep the bound in the register the helper gets */
				asm volatile("%0 &= 0xffff" : "+r"(n));
				if (!bpf_copy_from_user_task(d, n, (const void *)start, task, 0))
					tw_field__commit(&b, TW_FIELD_ARGV, n, flags);
			}
		}
	}
	tw_process__paths(&b, task, exe);
	tw_event__emit(&b);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tw_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tw_process_fork *e;
	__u32 child_tgid = BPF_CORE_READ(child, tgid);

	if (BPF_CORE_READ(child, pid) != child_tgid)
		return 0; /* a new thread, not a new process */
	/* the pid filter must follow descendants even when forks are not reported */
	tw_filter__inherit(BPF_CORE_READ(parent, tgid), child_tgid);
	if (!tw_type_wanted(TW_EVENT_PROCESS_FORK))
		return 0;
	if (tw_filter__rejects_task(child, child_tgid, TW_EVENT_PROCESS_FORK)) /* judged on the child */
		return 0;
	e = tw_reserve(TW_EVENT_PROCESS_FORK, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill(&e->hdr, TW_EVENT_PROCESS_FORK, child);
	e->hdr.size = sizeof(*e);
	tw_task__pid_info(parent, &e->parent);
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	tw_submit(e, TW_EVENT_PROCESS_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tw_process_exit, struct task_struct *task)
{
	struct tw_process_exit *e;
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	__u32 tgid = BPF_CORE_READ(task, tgid);
	int code;

	/* signal->live reaches zero when the last thread of the group exits */
	if (BPF_CORE_READ(sig, live.counter) != 0)
		return 0;
	if (!tw_type_wanted(TW_EVENT_PROCESS_EXIT) ||
	    tw_filter__rejects(tgid, TW_EVENT_PROCESS_EXIT))
		goto out;

	e = tw_reserve(TW_EVENT_PROCESS_EXIT, sizeof(*e));
	if (!e)
		goto out;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill(&e->hdr, TW_EVENT_PROCESS_EXIT, task);
	e->hdr.size = sizeof(*e);
	/* after exit_group() or a fatal signal every thread carries the group's code */
	if (BPF_CORE_READ(sig, flags) & TW_SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(sig, group_exit_code);
	else
		code = BPF_CORE_READ(task, exit_code);
	e->exit_code = code;
	e->signal = code & 0x7f;
	e->core_dumped = (code & 0x80) ? 1 : 0;
	e->exit_status = e->signal ? 0 : (code >> 8) & 0xff;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	tw_submit(e, TW_EVENT_PROCESS_EXIT);
out:
	tw_filter__forget(tgid);
	return 0;
}

/*
 * Module loads, including those started by init or kthreadd. Kernels built
 * without module support (like the CI machine's) have no such tracepoint:
 * the loader then leaves this program out and reports the type unavailable.
 */
SEC("tp_btf/module_load")
int BPF_PROG(tw_process_load_module, struct module *mod)
{
	struct tw_builder b;
	struct tw_module_load *e;
	struct task_struct *task = bpf_get_current_task_btf();

	if (tw_filter__rejects(BPF_CORE_READ(task, tgid), TW_EVENT_PROCESS_LOAD_MODULE))
		return 0;
	e = tw_event__begin(&b, TW_EVENT_PROCESS_LOAD_MODULE, sizeof(*e),
			    __builtin_offsetof(struct tw_module_load, vl));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill(&e->hdr, TW_EVENT_PROCESS_LOAD_MODULE, task);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	tw_field__kernel_str(&b, TW_FIELD_MODULE_NAME, mod->name, 64);
	tw_field__kernel_str(&b, TW_FIELD_MODULE_VERSION, BPF_CORE_READ(mod, version), 256);
	tw_field__kernel_str(&b, TW_FIELD_MODULE_SRCVERSION, BPF_CORE_READ(mod, srcversion), 256);
	tw_event__emit(&b);
	return 0;
}
