// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "file.skel.h"
#include "file_hooks.h"
#include "file_syscalls.h"
#include "net_probes.h"
#include "udp_probes.h"
#include "probe_table.h"
#include "proc_calls.h"
#include "proc_calls.skel.h"
#include "process.skel.h"
#include "tty.skel.h"
#include "tracewire_wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct bpf_object *process_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct process_bpf *s = process_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void process_destroy(void *skel)
{
	process_bpf__destroy(skel);
}

/*
 * The startup snapshot is not attached to anything: the task iterator is
 * run once, here, and its records wait in the ring for the consumer.
 */
static int snapshot_run(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, NULL);
	char buf[4096];
	ssize_t n;
	int fd, err = 0;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		; /* the program writes to the ring, not to this fd */
	if (n < 0)
		err = -errno;
	close(fd);
	bpf_link__destroy(link);
	return err;
}

static const struct tw_program_def process_programs[] = {
	{"tw_process_exec", "tp_btf/sched_process_exec", TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, NULL, NULL},
	{"tw_process_fork", "tp_btf/sched_process_fork", TW_EVENT_BIT(TW_EVENT_PROCESS_FORK), true, NULL, NULL},
	{"tw_process_exit", "tp_btf/sched_process_exit", TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT), true, NULL, NULL},
	{"tw_process_load_module", "tp_btf/module_load", TW_EVENT_BIT(TW_EVENT_PROCESS_LOAD_MODULE), false,
	 NULL, NULL},
	{"tw_process_snapshot", "iter.s/task", TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT), false,
	 snapshot_run, NULL},
};

static struct bpf_object *file_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct file_bpf *s = file_bpf__open_opts(opts);
	*skel = s;
	if (!s)
		return NULL;
	/* the types the vfs set took (file_hooks.c, decided just before): not reported here */
	s->rodata->tw_cfg_file_elsewhere = tw_file_vfs_chosen();
	return s->obj;
}

static void file_destroy(void *skel)
{
	file_bpf__destroy(skel);
}

static bool syscall_tp_exists(const char *tp)
{
	char hook[96];
	snprintf(hook, sizeof(hook), "tracepoint/syscalls/%s", tp);
	return tw_hook_available(NULL, hook);
}

/*
 * A file syscall is traced when one of the types it can produce is wanted
 * and not served by the vfs set on this kernel (file_hooks.c).
 */
static bool file_syscall_wanted(const struct tw_file_syscall_def *d, const struct tw_options *o)
{
	uint64_t here = o->event_mask & ~tw_file_vfs_chosen();

	if (d->sc.kind == TW_FILE_KIND_CLOSE) /* only flushes coalesced writes */
		return (here & TW_EVENT_BIT(TW_EVENT_FILE_MODIFY)) && o->file_write_window_ms;
	return (here & tw_file_syscall_events(&d->sc)) != 0;
}

/* The tracepoint programs are needed while one traced call remains. */
static bool file_tp_wanted(const struct tw_options *o)
{
	for (size_t i = 0; i < tw_n_file_syscall_defs; i++)
		if (file_syscall_wanted(&tw_file_syscall_defs[i], o))
			return true;
	return false;
}

static int add_path_key(int fd, const char *s, size_t len, uint32_t action)
{
	struct tw_path_key k;

	memset(&k, 0, sizeof(k));
	if (len > TW_PATH_PREFIX_MAX)
		return -ENAMETOOLONG;
	memcpy(k.data, s, len);
	k.prefixlen = (uint32_t)len * 8;
	return bpf_map_update_elem(fd, &k, &action, BPF_ANY) ? -errno : 0;
}

/* "/proc" becomes "/proc/" (below it) and "/proc\0" (itself): "/procfs" stays out. */
int tw_fill_path_rules(struct bpf_object *obj, const struct tw_options *o)
{
	int fd = bpf_object__find_map_fd_by_name(obj, "tw_path_prefixes");
	char buf[TW_PATH_PREFIX_MAX + 1];

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < o->n_path_rules; i++) {
		const char *p = o->path_rules[i].prefix;
		uint32_t action = o->path_rules[i].exclude ? TW_PATH_RULE_EXCLUDE : TW_PATH_RULE_INCLUDE;
		size_t len = strlen(p);
		int err;

		if (p[0] != '/' || len + 1 > TW_PATH_PREFIX_MAX)
			return -EINVAL;
		while (len > 1 && p[len - 1] == '/')
			len--;
		memcpy(buf, p, len);
		buf[len] = '\0';
		err = add_path_key(fd, buf, len + 1, action); /* the path itself, with its NUL */
		if (!err && len > 1) {
			buf[len] = '/';
			err = add_path_key(fd, buf, len + 1, action);
		} else if (!err) {
			err = add_path_key(fd, "/", 1, action); /* "/" covers everything */
		}
		if (err)
			return err;
	}
	return 0;
}

static int file_after_load(struct bpf_object *obj, const struct tw_options *o)
{
	int fd = bpf_object__find_map_fd_by_name(obj, "tw_file_syscalls");
	int err;

	if (fd < 0)
		return fd;
	if ((err = tw_fill_path_rules(obj, o)))
		return err;
	for (size_t i = 0; i < tw_n_file_syscall_defs; i++) {
		const struct tw_file_syscall_def *d = &tw_file_syscall_defs[i];
		uint32_t nr = (uint32_t)d->nr;
		if (nr >= TW_FILE_SYSCALLS_MAX || !file_syscall_wanted(d, o))
			continue;
		if (bpf_map_update_elem(fd, &nr, &d->sc, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Attach one generic program to the enter (or exit) tracepoint of every wanted call. */
static int file_attach(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out,
		       const char *prefix)
{
	char tp[64];
	size_t attached = 0;

	for (size_t i = 0; i < tw_n_file_syscall_defs; i++) {
		const struct tw_file_syscall_def *d = &tw_file_syscall_defs[i];
		struct bpf_link *link;

		if (!file_syscall_wanted(d, o))
			continue;
		snprintf(tp, sizeof(tp), "%s%s", prefix, d->name);
		if (!syscall_tp_exists(tp))
			continue; /* e.g. fchmodat2 before 6.6: the rest still works */
		if (out->n == out->max)
			return -E2BIG;
		link = bpf_program__attach_tracepoint(prog, "syscalls", tp);
		if (!link)
			return -errno;
		out->links[out->n++] = link;
		attached++;
	}
	return attached ? 0 : -ENOENT;
}

static int file_attach_enter(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	return file_attach(prog, o, out, "sys_enter_");
}

static int file_attach_exit(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	return file_attach(prog, o, out, "sys_exit_");
}

static const struct tw_program_def file_programs[] = {
	{"tw_file_sys_enter", "tracepoint/syscalls/sys_enter_openat", TW_EVENTS_FILE, false,
	 file_attach_enter, file_tp_wanted},
	{"tw_file_sys_exit", "tracepoint/syscalls/sys_exit_openat", TW_EVENTS_FILE, false,
	 file_attach_exit, file_tp_wanted},
};

static struct bpf_object *tty_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct tty_bpf *s = tty_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void tty_destroy(void *skel)
{
	tty_bpf__destroy(skel);
}

/* Terminal output: the calls a process writes a tty with. */
static int tty_attach(struct bpf_program *prog, struct tw_links *out, const char *prefix)
{
	static const char *const calls[] = {"write", "writev", "pwritev2"};
	char tp[64];

	for (size_t i = 0; i < ARRAY_LEN(calls); i++) {
		struct bpf_link *link;
		if (out->n == out->max)
			return -E2BIG;
		snprintf(tp, sizeof(tp), "%s%s", prefix, calls[i]);
		if (!syscall_tp_exists(tp))
			continue;
		link = bpf_program__attach_tracepoint(prog, "syscalls", tp);
		if (!link)
			return -errno;
		out->links[out->n++] = link;
	}
	return 0;
}

static int tty_attach_enter(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	return tty_attach(prog, out, "sys_enter_");
}

static int tty_attach_exit(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	return tty_attach(prog, out, "sys_exit_");
}

static const struct tw_program_def tty_programs[] = {
	{"tw_tty_sys_enter", "tracepoint/syscalls/sys_enter_write", TW_EVENTS_TTY, false,
	 tty_attach_enter, NULL},
	{"tw_tty_sys_exit", "tracepoint/syscalls/sys_exit_write", TW_EVENTS_TTY, false, tty_attach_exit, NULL},
};

static struct bpf_object *proc_calls_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct proc_calls_bpf *s = proc_calls_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void proc_calls_destroy(void *skel)
{
	proc_calls_bpf__destroy(skel);
}

static int proc_calls_after_load(struct bpf_object *obj, const struct tw_options *o)
{
	int fd = bpf_object__find_map_fd_by_name(obj, "tw_proc_syscalls");

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < tw_n_proc_call_defs; i++) {
		uint32_t nr = (uint32_t)tw_proc_call_defs[i].nr;
		if (nr >= 1024)
			continue;
		if (!(o->event_mask & TW_EVENT_BIT(tw_proc_call_defs[i].event_type)))
			continue;
		if (bpf_map_update_elem(fd, &nr, &tw_proc_call_defs[i].op, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int proc_calls_attach(struct bpf_program *prog, const struct tw_options *o,
			     struct tw_links *out, const char *prefix)
{
	char tp[64];

	for (size_t i = 0; i < tw_n_proc_call_defs; i++) {
		struct bpf_link *link;
		if (!(o->event_mask & TW_EVENT_BIT(tw_proc_call_defs[i].event_type)))
			continue;
		if (out->n == out->max)
			return -E2BIG;
		snprintf(tp, sizeof(tp), "%s%s", prefix, tw_proc_call_defs[i].name);
		if (!syscall_tp_exists(tp))
			continue; /* e.g. no shmget on a kernel without SysV IPC: the rest still works */
		link = bpf_program__attach_tracepoint(prog, "syscalls", tp);
		if (!link)
			return -errno;
		out->links[out->n++] = link;
	}
	return 0;
}

static int proc_calls_attach_enter(struct bpf_program *prog, const struct tw_options *o,
				   struct tw_links *out)
{
	return proc_calls_attach(prog, o, out, "sys_enter_");
}

static int proc_calls_attach_exit(struct bpf_program *prog, const struct tw_options *o,
				  struct tw_links *out)
{
	return proc_calls_attach(prog, o, out, "sys_exit_");
}

static const struct tw_program_def proc_calls_programs[] = {
	{"tw_proc_sys_enter", "tracepoint/syscalls/sys_enter_setuid", TW_EVENTS_PROCESS_CALLS, false,
	 proc_calls_attach_enter, NULL},
	{"tw_proc_sys_exit", "tracepoint/syscalls/sys_exit_setuid", TW_EVENTS_PROCESS_CALLS, false,
	 proc_calls_attach_exit, NULL},
};

static const struct tw_domain_def process_domain = {
	"process", process_open, process_destroy, NULL, process_programs, ARRAY_LEN(process_programs)};
static const struct tw_domain_def file_domain = {
	"file", file_open, file_destroy, file_after_load, file_programs, ARRAY_LEN(file_programs)};
static const struct tw_domain_def tty_domain = {
	"tty", tty_open, tty_destroy, NULL, tty_programs, ARRAY_LEN(tty_programs)};
static const struct tw_domain_def proc_calls_domain = {
	"proc_calls", proc_calls_open, proc_calls_destroy, proc_calls_after_load, proc_calls_programs,
	ARRAY_LEN(proc_calls_programs)};

/* Domains live in their own files once they grow (net_probes.c); this is the list. */
const struct tw_domain_def *const tw_domains[] = {
	&process_domain, &tw_file_vfs_domain, &file_domain, &tty_domain, &proc_calls_domain, &tw_network_domain, &tw_udp_domain,
};
const size_t tw_n_domains = ARRAY_LEN(tw_domains);

bool tw_btf_has_member(const struct btf *vmlinux, const char *type, const char *member)
{
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, type, BTF_KIND_STRUCT) : -1;
	const struct btf_type *t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	const struct btf_member *m = t ? btf_members(t) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(vmlinux, m->name_off), member))
			return true;
	return false;
}

bool tw_hook_available(const struct btf *vmlinux, const char *hook)
{
	char buf[256];
	const char *slash = strchr(hook, '/');

	if (!slash)
		return true;
	if (!strncmp(hook, "tp_btf/", 7)) {
		snprintf(buf, sizeof(buf), "btf_trace_%s", slash + 1);
		return vmlinux && btf__find_by_name_kind(vmlinux, buf, BTF_KIND_TYPEDEF) > 0;
	}
	if (!strncmp(hook, "tracepoint/", 11) || !strncmp(hook, "tp/", 3)) {
		const char *root = tw_tracefs_root();
		if (!root)
			return false;
		snprintf(buf, sizeof(buf), "%s/events/%s", root, slash + 1);
		return access(buf, F_OK) == 0;
	}
	return true;
}

/*
 * Classic tracepoints are attached by id, which libbpf reads from tracefs.
 * Minimal hosts and containers often do not mount it (this machine does
 * not), so mount it at its standard place when it is missing.
 */
const char *tw_tracefs_root(void)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char buf[64];

	for (size_t i = 0; i < ARRAY_LEN(roots); i++) {
		snprintf(buf, sizeof(buf), "%s/events", roots[i]);
		if (access(buf, F_OK) == 0)
			return roots[i];
	}
	if (mount("nodev", roots[0], "tracefs", 0, NULL) == 0)
		return roots[0];
	return NULL;
}
