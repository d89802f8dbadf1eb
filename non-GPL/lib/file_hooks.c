// SPDX-License-Identifier: Apache-2.0
/*
 * Which hooks serve the file events, decided at every tw_ctx_open() from
 * what the running kernel allows, never from its version number:
 *
 *  1. per event type (FILE_CREATE, FILE_DELETE, FILE_RENAME,
 *     FILE_SHMEM_OPEN), every
 *     function the vfs set hooks must be in the kernel's BTF (7.2 dropped
 *     do_unlinkat and do_filp_open, so nothing here depends on them);
 *  2. the candidates' programs are loaded and attached once, for real, in a
 *     throw-away copy of the object (small maps); if that fails, each type
 *     is tried alone, so one refused hook costs only its own type;
 *  3. the context then loads the vfs object with the programs of the types
 *     that passed, and the tracepoint object (file.bpf.c) with the rest.
 *
 * On a kernel that refuses BPF trampolines (this project's CI host: EPERM
 * for fentry/fexit) step 2 fails for every type and the tracepoints serve
 * everything, as before (a two-instruction fentry program is loaded first,
 * so that answer costs one refused load). FILE_MODIFY stays on the
 * tracepoints everywhere (no vfs set for it yet).
 *
 * TRACEWIRE_FILE_HOOKS=syscall_tracepoints in the environment skips the vfs
 * set: an escape hatch, and how the kernel matrix holds both sets to the
 * same events on one kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "file_hooks.h"
#include "file_syscalls.h"
#include "file_vfs.skel.h"
#include "tracewire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define CREATE TW_EVENT_FILE_CREATE
#define DELETE TW_EVENT_FILE_DELETE
#define RENAME TW_EVENT_FILE_RENAME
#define SHMEM TW_EVENT_FILE_SHMEM_OPEN

/* Every program of file_vfs.bpf.c: its hook and the type it serves. */
#define B(t) TW_EVENT_BIT(t)
static const struct vfs_prog {
	const char *program;
	const char *hook;
	uint64_t types; /* the types it serves; each of them needs it */
} vfs_progs[] = {
	{"tw_vfs_unlink_enter", "fentry/security_path_unlink", B(DELETE)},
	{"tw_vfs_rmdir_enter", "fentry/security_path_rmdir", B(DELETE)},
	{"tw_vfs_unlink_exit", "fexit/vfs_unlink", B(DELETE)},
	{"tw_vfs_rmdir_exit", "fexit/vfs_rmdir", B(DELETE)},
	{"tw_vfs_rename_enter", "fentry/security_path_rename", B(RENAME)},
	{"tw_vfs_rename_exit", "fexit/vfs_rename", B(RENAME)},
	{"tw_vfs_mkdir_enter", "fentry/security_path_mkdir", B(CREATE)},
	{"tw_vfs_mknod_enter", "fentry/security_path_mknod", B(CREATE)},
	{"tw_vfs_symlink_enter", "fentry/security_path_symlink", B(CREATE)},
	{"tw_vfs_link_enter", "fentry/security_path_link", B(CREATE)},
	{"tw_vfs_mkdir_exit", "fexit/vfs_mkdir", B(CREATE)},
	{"tw_vfs_mknod_exit", "fexit/vfs_mknod", B(CREATE)},
	{"tw_vfs_create_exit", "fexit/vfs_create", B(CREATE)},
	{"tw_vfs_symlink_exit", "fexit/vfs_symlink", B(CREATE)},
	{"tw_vfs_link_exit", "fexit/vfs_link", B(CREATE)},
	{"tw_vfs_open_exit", "fexit/vfs_open", B(CREATE) | B(SHMEM)},
	/* required: on NFS, CIFS, FUSE, ... open(O_CREAT) creates through atomic_open and
	   finish_open, never vfs_open, so without it CREATE would lose those creations */
	{"tw_vfs_finish_open_exit", "fexit/finish_open", B(CREATE) | B(SHMEM)},
};

/* The decision of the tw_ctx_open() in progress (tw_ctx_open is not reentrant: log_ctx). */
static struct {
	bool decided;
	uint64_t chosen;         /* types the vfs set serves */
	char why[TW_EVENT_TYPE_MAX][160]; /* types not chosen: the reason */
} sel;

static const char *hook_function(const char *hook)
{
	const char *slash = strchr(hook, '/');
	return slash ? slash + 1 : hook;
}

static bool in_btf(const struct btf *vmlinux, const char *fn)
{
	return vmlinux && btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC) > 0;
}

/*
 * Load and attach the programs of `types` in a throw-away object. Returns
 * the types whose every required program loaded and attached; `err` and
 * `what` tell why not for the others.
 */
static uint64_t trial(uint64_t types, int *err, const char **what)
{
	struct file_vfs_bpf *s = file_vfs_bpf__open();
	struct bpf_link *links[ARRAY_LEN(vfs_progs)] = {0};
	uint64_t ok = types;
	int rc;

	*err = 0;
	*what = "open";
	if (!s) {
		*err = -errno;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(vfs_progs); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(s->obj, vfs_progs[i].program);
		bool on = types & vfs_progs[i].types;
		if (p)
			bpf_program__set_autoload(p, on);
	}
	/* only the verifier and the trampolines are being asked: small maps */
	bpf_map__set_max_entries(s->maps.tw_ringbuf, (uint32_t)sysconf(_SC_PAGESIZE)); /* 64K pages too */
	bpf_map__set_max_entries(s->maps.tw_scratch_map, 1);
	bpf_map__set_max_entries(s->maps.tw_vfs_inflight, 64);
	rc = file_vfs_bpf__load(s);
	if (rc) {
		*err = rc;
		*what = "load";
		file_vfs_bpf__destroy(s);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(vfs_progs); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(s->obj, vfs_progs[i].program);
		if (!p || !bpf_program__autoload(p))
			continue;
		links[i] = bpf_program__attach(p);
		if (!links[i]) {
			*err = -errno;
			*what = vfs_progs[i].hook;
			ok &= ~vfs_progs[i].types;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(vfs_progs); i++)
		bpf_link__destroy(links[i]);
	file_vfs_bpf__destroy(s);
	return ok;
}

/*
 * The cheapest question first: may an fentry program be loaded at all? A
 * two-instruction program against `fn`. Hardened kernels (this project's CI
 * host) refuse it with EPERM, and then the full trial is not worth its time.
 */
static int probe_trampolines(const struct btf *vmlinux, const char *fn)
{
	struct bpf_insn insns[2];
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC) : -ENOENT;
	int fd;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);

	if (id <= 0)
		return -ENOENT;
	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
	insns[1].code = BPF_JMP | BPF_EXIT;
	opts.attach_btf_id = (uint32_t)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tw_fentry_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void set_why(uint32_t type, const char *fmt, const char *a, int err)
{
	snprintf(sel.why[type], sizeof(sel.why[type]), fmt, a, strerror(err < 0 ? -err : err));
}

/* Set by tw_file_vfs_refuse(): the next decision takes the tracepoints, with this reason. */
static char refused[160];

void tw_file_vfs_refuse(const char *why)
{
	snprintf(refused, sizeof(refused), "%s", why ? why : "");
}

static void decide(const struct tw_options *o)
{
	uint64_t cand = o->event_mask & TW_FILE_VFS_TYPES, ok;
	struct btf *vmlinux;
	const char *what, *force = getenv("TRACEWIRE_FILE_HOOKS");
	int err;

	if (sel.decided)
		return;
	sel.decided = true;
	if (force && !strcmp(force, "syscall_tracepoints")) {
		/* an escape hatch, and how the kernel matrix compares both sets on one kernel */
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if (cand & TW_EVENT_BIT(t))
				snprintf(sel.why[t], sizeof(sel.why[t]),
					 "TRACEWIRE_FILE_HOOKS=syscall_tracepoints");
		return;
	}
	if (refused[0]) {
		/* the set passed its trial but failed for real (tw_ctx_open retries without it) */
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if (cand & TW_EVENT_BIT(t))
				snprintf(sel.why[t], sizeof(sel.why[t]), "%s", refused);
		return;
	}
	vmlinux = btf__load_vmlinux_btf();
	for (size_t i = 0; i < ARRAY_LEN(vfs_progs); i++) {
		const struct vfs_prog *p = &vfs_progs[i];
		bool present = in_btf(vmlinux, hook_function(p->hook));

		if (!present && (cand & p->types)) {
			for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
				if (cand & p->types & TW_EVENT_BIT(t))
					snprintf(sel.why[t], sizeof(sel.why[t]),
						 "%s is not in the kernel's BTF", hook_function(p->hook));
			cand &= ~p->types;
		}
	}
	err = cand ? probe_trampolines(vmlinux, "vfs_unlink") : 0;
	btf__free(vmlinux);
	if (err == -EPERM || err == -EACCES || err == -EINVAL) {
		/* trampolines refused as such: no type will do */
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if (cand & TW_EVENT_BIT(t))
				set_why(t, "%s refused: %s", "fentry programs are", err);
		return;
	}
	if (!cand)
		return;
	ok = trial(cand, &err, &what);
	if (ok == cand) {
		sel.chosen = ok;
		return;
	}
	if (!strcmp(what, "load") && err == -EPERM) {
		/* trampolines refused as such (lockdown, a hardened kernel): no type will do */
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if (cand & TW_EVENT_BIT(t))
				set_why(t, "the vfs probes did not %s: %s", what, err);
		return;
	}
	/* one type at a time, so that one refused hook costs only its own type */
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		if (!(cand & TW_EVENT_BIT(t)))
			continue;
		if (trial(TW_EVENT_BIT(t), &err, &what))
			sel.chosen |= TW_EVENT_BIT(t);
		else if (!strcmp(what, "load"))
			set_why(t, "the vfs probes did not %s: %s", what, err);
		else
			set_why(t, "attaching %s failed: %s", what, err);
	}
}

uint64_t tw_file_vfs_chosen(void)
{
	return sel.decided ? sel.chosen : 0;
}

static bool want_type(const struct tw_options *o, uint32_t type)
{
	decide(o);
	return (sel.chosen & TW_EVENT_BIT(type)) != 0;
}

static bool want_create(const struct tw_options *o)
{
	return want_type(o, CREATE);
}

static bool want_delete(const struct tw_options *o)
{
	return want_type(o, DELETE);
}

static bool want_rename(const struct tw_options *o)
{
	return want_type(o, RENAME);
}

static bool want_open(const struct tw_options *o)
{
	return want_type(o, CREATE) || want_type(o, SHMEM);
}

/* Required with the opens: atomic_open file systems (NFS, CIFS, FUSE) create through it. */
static bool want_finish_open(const struct tw_options *o)
{
	return want_open(o);
}

#define VFS(name, hook, type, wanted) {name, hook, TW_EVENT_BIT(type), false, NULL, wanted}
#define VFS2(name, hook, t1, t2, wanted) \
	{name, hook, TW_EVENT_BIT(t1) | TW_EVENT_BIT(t2), false, NULL, wanted}
static const struct tw_program_def file_vfs_programs[] = {
	VFS("tw_vfs_unlink_enter", "fentry/security_path_unlink", DELETE, want_delete),
	VFS("tw_vfs_rmdir_enter", "fentry/security_path_rmdir", DELETE, want_delete),
	VFS("tw_vfs_unlink_exit", "fexit/vfs_unlink", DELETE, want_delete),
	VFS("tw_vfs_rmdir_exit", "fexit/vfs_rmdir", DELETE, want_delete),
	VFS("tw_vfs_rename_enter", "fentry/security_path_rename", RENAME, want_rename),
	VFS("tw_vfs_rename_exit", "fexit/vfs_rename", RENAME, want_rename),
	VFS("tw_vfs_mkdir_enter", "fentry/security_path_mkdir", CREATE, want_create),
	VFS("tw_vfs_mknod_enter", "fentry/security_path_mknod", CREATE, want_create),
	VFS("tw_vfs_symlink_enter", "fentry/security_path_symlink", CREATE, want_create),
	VFS("tw_vfs_link_enter", "fentry/security_path_link", CREATE, want_create),
	VFS("tw_vfs_mkdir_exit", "fexit/vfs_mkdir", CREATE, want_create),
	VFS("tw_vfs_mknod_exit", "fexit/vfs_mknod", CREATE, want_create),
	VFS("tw_vfs_create_exit", "fexit/vfs_create", CREATE, want_create),
	VFS("tw_vfs_symlink_exit", "fexit/vfs_symlink", CREATE, want_create),
	VFS("tw_vfs_link_exit", "fexit/vfs_link", CREATE, want_create),
	VFS2("tw_vfs_open_exit", "fexit/vfs_open", CREATE, SHMEM, want_open),
	VFS2("tw_vfs_finish_open_exit", "fexit/finish_open", CREATE, SHMEM, want_finish_open),
};

static struct bpf_object *file_vfs_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct file_vfs_bpf *s;

	/*
	 * A new tw_ctx_open(): decide again. The reasons stay until the next
	 * one, for tw_ctx_hook_report().
	 */
	memset(&sel, 0, sizeof(sel));
	s = file_vfs_bpf__open_opts(opts);
	*skel = s;
	if (!s)
		return NULL;
#ifdef SYS_io_uring_enter
	s->rodata->tw_cfg_nr_io_uring_enter = SYS_io_uring_enter;
#endif
	return s->obj;
}

static void file_vfs_destroy(void *skel)
{
	file_vfs_bpf__destroy(skel);
}

/* The op of every file call (whatever is wanted): the vfs programs name the call with it. */
static int file_vfs_after_load(struct bpf_object *obj, const struct tw_options *o)
{
	int fd = bpf_object__find_map_fd_by_name(obj, "tw_vfs_syscalls");
	uint64_t types;
	uint32_t zero = 0;
	int err;

	if (fd < 0)
		return fd;
	if ((err = tw_fill_path_rules(obj, o)))
		return err;
	for (size_t i = 0; i < tw_n_file_syscall_defs; i++) {
		uint32_t nr = (uint32_t)tw_file_syscall_defs[i].nr;
		if (nr < TW_FILE_SYSCALLS_MAX &&
		    bpf_map_update_elem(fd, &nr, &tw_file_syscall_defs[i].sc, BPF_ANY))
			return -errno;
	}
	/* which types this object serves (before attach: no event can slip through) */
	fd = bpf_object__find_map_fd_by_name(obj, "tw_vfs_types");
	if (fd < 0)
		return fd;
	types = tw_file_vfs_chosen();
	if (bpf_map_update_elem(fd, &zero, &types, BPF_ANY))
		return -errno;
	return 0;
}

const struct tw_domain_def tw_file_vfs_domain = {
	"file_vfs", file_vfs_open, file_vfs_destroy, file_vfs_after_load, file_vfs_programs,
	ARRAY_LEN(file_vfs_programs)};

/* ---- the report ---- */

static bool is_vfs_hook(const char *hook)
{
	return (!strncmp(hook, "fentry/", 7) || !strncmp(hook, "fexit/", 6)) &&
	       (strstr(hook, "/vfs_") || strstr(hook, "/security_path_") || strstr(hook, "/finish_open"));
}

static const char *hook_set_name(const char *hook)
{
	static const struct {
		const char *prefix, *name;
	} kinds[] = {
		{"tracepoint/syscalls/", "syscall_tracepoints"}, {"tracepoint/", "tracepoints"},
		{"tp/", "tracepoints"}, {"tp_btf/", "tp_btf"}, {"raw_tp/", "raw_tp"},
		{"fentry/", "fentry"}, {"fexit/", "fexit"}, {"lsm/", "lsm"}, {"iter", "iterator"},
		{"cgroup", "cgroup"}, {"sockops", "sockops"}, {"socket", "socket_filter"},
	};

	if (is_vfs_hook(hook))
		return "vfs";
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		if (!strncmp(hook, kinds[i].prefix, strlen(kinds[i].prefix)))
			return kinds[i].name;
	return "other";
}

const char *tw_ctx_hook_set(struct tw_ctx *ctx, uint32_t type)
{
	size_t n = 0;
	const struct tw_probe_status *p = ctx ? tw_ctx_probes(ctx, &n) : NULL;
	const char *found = NULL;

	if (type >= TW_EVENT_TYPE_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i].state != TW_PROBE_ATTACHED || !(p[i].event_mask & TW_EVENT_BIT(type)))
			continue;
		if (is_vfs_hook(p[i].hook)) {
			/* a program shared by types (vfs_open: CREATE, SHMEM) serves the chosen ones */
			if (sel.chosen & TW_EVENT_BIT(type))
				return "vfs";
			continue;
		}
		if (!found)
			found = hook_set_name(p[i].hook);
	}
	return found;
}

int tw_ctx_hook_report(struct tw_ctx *ctx, char *buf, size_t len)
{
	static const uint32_t types[] = {TW_EVENT_FILE_CREATE, TW_EVENT_FILE_DELETE,
					 TW_EVENT_FILE_RENAME, TW_EVENT_FILE_MODIFY,
					 TW_EVENT_FILE_SHMEM_OPEN};
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		const char *set = tw_ctx_hook_set(ctx, types[i]);
		int n;

		if (!set)
			continue;
		if (strcmp(set, "vfs") && (TW_FILE_VFS_TYPES & TW_EVENT_BIT(types[i])) &&
		    sel.why[types[i]][0])
			n = snprintf(buf + off, off < len ? len - off : 0, "%s%s=%s (vfs: %s)",
				     off ? " " : "", tw_event_type_name(types[i]), set, sel.why[types[i]]);
		else
			n = snprintf(buf + off, off < len ? len - off : 0, "%s%s=%s", off ? " " : "",
				     tw_event_type_name(types[i]), set);
		if (n > 0)
			off += (size_t)n;
	}
	return (int)off;
}
