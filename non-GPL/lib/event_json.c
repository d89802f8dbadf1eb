// SPDX-License-Identifier: Apache-2.0
/* Rendering of wire records as JSON objects (schema: docs/events.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "file_syscalls.h"
#include "net_json.h"
#include "proc_calls.h"
#include "tracewire_json.h"

void tw_format_iso8601(uint64_t realtime_ns, char *out, size_t outlen)
{
	time_t secs = (time_t)(realtime_ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (uint64_t)(realtime_ns % 1000000000ull));
}

const char *tw_tty_name(uint32_t major, uint32_t minor, char *buf, size_t buflen)
{
	if (major >= 136 && major <= 143)
		snprintf(buf, buflen, "pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(buf, buflen, "tty%u", minor);
	else if (major == 4)
		snprintf(buf, buflen, "ttyS%u", minor - 64);
	else if (major == 5 && minor == 0)
		snprintf(buf, buflen, "tty");
	else if (major == 5 && minor == 1)
		snprintf(buf, buflen, "console");
	else
		return NULL;
	return buf;
}

static void pid_info_json(struct tw_json *j, const char *key, const struct tw_pid_info *p)
{
	tw_json_begin_object(j, key);
	tw_json_u64(j, "pid", p->tgid);
	tw_json_u64(j, "tid", p->tid);
	tw_json_u64(j, "ppid", p->ppid);
	tw_json_u64(j, "pgid", p->pgid);
	tw_json_u64(j, "sid", p->sid);
	tw_json_u64(j, "ns_pid", p->ns_tgid);
	tw_json_u64(j, "start_time_ns", p->start_time_ns);
	tw_json_end_object(j);
}

/* comm is a fixed 16-byte array, NUL-terminated unless all 16 bytes are used */
static void comm_json(struct tw_json *j, const char comm[16])
{
	tw_json_string(j, "comm", comm, strnlen(comm, 16));
}

static void header_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_event_header *h = ev->hdr;
	char iso[40];

	tw_json_raw_string(j, "event_type", tw_event_type_name(h->type));
	tw_format_iso8601(ev->ts_realtime_ns, iso, sizeof(iso));
	tw_json_raw_string(j, "time", iso);
	tw_json_u64(j, "ts_mono_ns", h->ts_mono_ns);
	tw_json_u64(j, "ts_boot_ns", h->ts_boot_ns);
	tw_json_u64(j, "cpu", h->cpu);
	pid_info_json(j, "process", &h->pids);
}

static void creds_json(struct tw_json *j, const struct tw_creds *c)
{
	tw_json_begin_object(j, "creds");
	tw_json_u64(j, "ruid", c->ruid);
	tw_json_u64(j, "rgid", c->rgid);
	tw_json_u64(j, "euid", c->euid);
	tw_json_u64(j, "egid", c->egid);
	tw_json_u64(j, "suid", c->suid);
	tw_json_u64(j, "sgid", c->sgid);
	tw_json_u64(j, "cap_permitted", c->cap_permitted);
	tw_json_u64(j, "cap_effective", c->cap_effective);
	tw_json_end_object(j);
}

static void tty_json_named(struct tw_json *j, const char *key, const struct tw_tty *t)
{
	char name[32];

	if (!t->major) { /* no device has major 0: no controlling tty */
		tw_json_null(j, key);
		return;
	}
	tw_json_begin_object(j, key);
	tw_json_u64(j, "major", t->major);
	tw_json_u64(j, "minor", t->minor);
	if (tw_tty_name(t->major, t->minor, name, sizeof(name)))
		tw_json_raw_string(j, "name", name);
	tw_json_u64(j, "rows", t->rows);
	tw_json_u64(j, "cols", t->cols);
	tw_json_end_object(j);
}

static void tty_json(struct tw_json *j, const struct tw_tty *t)
{
	tty_json_named(j, "tty", t);
}

static void namespaces_json(struct tw_json *j, const struct tw_namespaces *ns)
{
	tw_json_begin_object(j, "namespaces");
	tw_json_u64(j, "pid", ns->pid);
	tw_json_u64(j, "mnt", ns->mnt);
	tw_json_u64(j, "net", ns->net);
	tw_json_u64(j, "uts", ns->uts);
	tw_json_u64(j, "ipc", ns->ipc);
	tw_json_u64(j, "cgroup", ns->cgroup);
	tw_json_u64(j, "user", ns->user);
	tw_json_u64(j, "time", ns->time);
	tw_json_end_object(j);
}

static const char *cgroup_hierarchy_name(uint32_t h)
{
	switch (h) {
	case TW_CGROUP_V1_MEMORY:
		return "v1:memory";
	case TW_CGROUP_V1_CPU:
		return "v1:cpu";
	default:
		return "v2";
	}
}

/* String fields carry their NUL; lists (argv, env) are rendered as arrays. */
static void field_json(struct tw_json *j, const struct tw_varlen_field *f)
{
	const char *name = tw_field_type_name(f->type);
	size_t len = f->size;

	if (f->type == TW_FIELD_ARGV || f->type == TW_FIELD_ENV) {
		tw_json_string_list(j, name, f->data, len);
		return;
	}
	/* strings carry their NUL; raw bytes (terminal output) are kept whole */
	if (f->type != TW_FIELD_TTY_OUT && len && f->data[len - 1] == '\0')
		len--;
	tw_json_string(j, name, f->data, len);
}

/*
 * Fields rendered under their names; the cgroup path goes inside "cgroup".
 * Field types this build does not know are kept under "unknown_fields" with
 * their type number and lossless data, so nothing a newer probe sends is lost.
 */
static void varlen_json(struct tw_json *j, const struct tw_event *ev)
{
	int truncated = 0, unknown = 0;

	if (!ev->vl)
		return;
	FOR_EACH_VARLEN_FIELD(ev->vl, f) {
		if (!tw_field_type_name(f->type)) {
			unknown++;
			continue;
		}
		if (f->flags & TW_FIELD_FLAG_TRUNCATED)
			truncated++;
		if (f->type != TW_FIELD_CGROUP_PATH)
			field_json(j, f);
	}
	if (truncated) {
		tw_json_begin_array(j, "truncated_fields");
		FOR_EACH_VARLEN_FIELD(ev->vl, f)
			if ((f->flags & TW_FIELD_FLAG_TRUNCATED) && tw_field_type_name(f->type))
				tw_json_raw_string(j, NULL, tw_field_type_name(f->type));
		tw_json_end_array(j);
	}
	if (unknown) {
		tw_json_begin_array(j, "unknown_fields");
		FOR_EACH_VARLEN_FIELD(ev->vl, f) {
			if (tw_field_type_name(f->type))
				continue;
			tw_json_begin_object(j, NULL);
			tw_json_u64(j, "type", f->type);
			tw_json_u64(j, "flags", f->flags);
			tw_json_string(j, "data", f->data, f->size);
			tw_json_end_object(j);
		}
		tw_json_end_array(j);
	}
}

static void exec_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_process_exec *e = (const void *)ev->hdr;
	const struct tw_varlen_field *cg = tw_event_field(ev, TW_FIELD_CGROUP_PATH);

	comm_json(j, e->comm);
	varlen_json(j, ev);
	creds_json(j, &e->creds);
	tty_json(j, &e->tty);
	namespaces_json(j, &e->ns);
	tw_json_begin_object(j, "cgroup");
	tw_json_u64(j, "id", e->cgroup_id);
	tw_json_raw_string(j, "hierarchy", cgroup_hierarchy_name(e->cgroup_hierarchy));
	if (cg) /* string without its NUL */
		tw_json_string(j, "path", cg->data, cg->size && !cg->data[cg->size - 1] ? cg->size - 1 : cg->size);
	tw_json_end_object(j);
	tw_json_bool(j, "setuid", e->flags & TW_EXEC_FLAG_SETUID);
	tw_json_bool(j, "setgid", e->flags & TW_EXEC_FLAG_SETGID);
	tw_json_bool(j, "memfd", e->flags & TW_EXEC_FLAG_MEMFD);
}

static const char *file_type_name(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000: return "file";
	case 0040000: return "dir";
	case 0120000: return "symlink";
	case 0020000: return "char_device";
	case 0060000: return "block_device";
	case 0010000: return "fifo";
	case 0140000: return "socket";
	default: return "unknown";
	}
}

static void file_info_json(struct tw_json *j, const struct tw_file_info *fi)
{
	char mode[8];

	if (!fi->present) { /* the kernel no longer had the file at the hook */
		tw_json_null(j, "file");
		return;
	}
	snprintf(mode, sizeof(mode), "%04o", fi->mode & 07777);
	tw_json_begin_object(j, "file");
	tw_json_raw_string(j, "type", file_type_name(fi->mode));
	tw_json_raw_string(j, "mode", mode);
	tw_json_u64(j, "inode", fi->inode);
	tw_json_u64(j, "dev_major", fi->dev_major);
	tw_json_u64(j, "dev_minor", fi->dev_minor);
	tw_json_u64(j, "uid", fi->uid);
	tw_json_u64(j, "gid", fi->gid);
	tw_json_u64(j, "size", fi->size);
	tw_json_u64(j, "nlink", fi->nlink);
	tw_json_u64(j, "mtime_ns", fi->mtime_ns);
	tw_json_u64(j, "ctime_ns", fi->ctime_ns);
	tw_json_end_object(j);
}

static const char *change_name(uint32_t change)
{
	switch (change) {
	case TW_FILE_CHANGE_CONTENT: return "content";
	case TW_FILE_CHANGE_PERMISSIONS: return "permissions";
	case TW_FILE_CHANGE_OWNER: return "owner";
	case TW_FILE_CHANGE_XATTR: return "xattr";
	default: return NULL;
	}
}

static void file_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_file_event *e = (const void *)ev->hdr;
	const char *op = tw_file_op_name(e->op);

	comm_json(j, e->comm);
	if (op)
		tw_json_raw_string(j, "syscall", op);
	else
		tw_json_u64(j, "syscall", e->op);
	varlen_json(j, ev);
	if (e->hdr.type == TW_EVENT_FILE_MODIFY) {
		const char *ch = change_name(e->change);
		if (ch)
			tw_json_raw_string(j, "change", ch);
		else
			tw_json_u64(j, "change", e->change);
		if (e->change == TW_FILE_CHANGE_CONTENT) {
			tw_json_u64(j, "writes", e->writes);
			tw_json_bool(j, "on_close", e->flags & TW_FILE_FLAG_ON_CLOSE);
		}
	}
	if (e->hdr.type == TW_EVENT_FILE_RENAME) {
		tw_json_bool(j, "exchange", e->flags & TW_FILE_FLAG_RENAME_EXCHANGE);
		tw_json_bool(j, "noreplace", e->flags & TW_FILE_FLAG_RENAME_NOREPLACE);
		tw_json_bool(j, "whiteout", e->flags & TW_FILE_FLAG_RENAME_WHITEOUT);
	}
	file_info_json(j, &e->file);
	creds_json(j, &e->creds);
	tw_json_u64(j, "mount_ns", e->mnt_ns);
}

static void tty_write_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_tty_write *e = (const void *)ev->hdr;
	struct tw_tty target = e->tty;

	/* a pty master's driver numbers (128+) name the pair by its slave, pts/N */
	if (e->flags & TW_TTY_FLAG_PTY_MASTER && target.major >= 128 && target.major <= 135)
		target.major += 8;
	comm_json(j, e->comm);
	varlen_json(j, ev);
	tw_json_u64(j, "orig_len", e->orig_len);
	tty_json_named(j, "tty", &target);
	tw_json_raw_string(j, "side", e->flags & TW_TTY_FLAG_PTY_MASTER  ? "master"
				      : e->flags & TW_TTY_FLAG_PTY_SLAVE ? "slave"
									   : "console");
	tw_json_begin_object(j, "termios");
	tw_json_u64(j, "iflag", e->iflag);
	tw_json_u64(j, "oflag", e->oflag);
	tw_json_u64(j, "cflag", e->cflag);
	tw_json_u64(j, "lflag", e->lflag);
	tw_json_end_object(j);
	tty_json_named(j, "ctty", &e->ctty);
	tw_json_u64(j, "dropped_bytes", e->dropped_bytes);
}

static const char *ptrace_request_name(uint64_t req)
{
	switch (req) {
	case 0: return "PTRACE_TRACEME";
	case 16: return "PTRACE_ATTACH";
	case 17: return "PTRACE_DETACH";
	case 0x4206: return "PTRACE_SEIZE";
	case 0x4207: return "PTRACE_INTERRUPT";
	case 4: return "PTRACE_POKETEXT";
	case 5: return "PTRACE_POKEDATA";
	case 13: return "PTRACE_SETREGS";
	default: return NULL;
	}
}

static void process_call_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_process_call *e = (const void *)ev->hdr;
	const char *op = tw_proc_op_name(e->op), *req;

	comm_json(j, e->comm);
	if (op)
		tw_json_raw_string(j, "syscall", op);
	else
		tw_json_u64(j, "syscall", e->op);
	varlen_json(j, ev);
	creds_json(j, &e->creds); /* after the call */
	tw_json_u64(j, "fsuid", e->fsuid);
	tw_json_u64(j, "fsgid", e->fsgid);
	switch (e->hdr.type) {
	case TW_EVENT_PROCESS_SETSID:
		tw_json_i64(j, "sid", e->ret);
		break;
	case TW_EVENT_PROCESS_PTRACE:
		req = ptrace_request_name(e->args[0]);
		if (req)
			tw_json_raw_string(j, "request", req);
		else
			tw_json_u64(j, "request", e->args[0]);
		tw_json_u64(j, "target_pid", (uint32_t)e->args[1]);
		break;
	case TW_EVENT_PROCESS_MEMFD_CREATE:
		tw_json_u64(j, "flags", (uint32_t)e->args[1]);
		tw_json_i64(j, "fd", e->ret);
		break;
	case TW_EVENT_PROCESS_SHMGET:
		tw_json_i64(j, "key", (int32_t)e->args[0]);
		tw_json_u64(j, "size", e->args[1]);
		tw_json_u64(j, "flags", (uint32_t)e->args[2]);
		tw_json_i64(j, "shmid", e->ret);
		break;
	}
}

static void fork_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_process_fork *e = (const void *)ev->hdr;

	pid_info_json(j, "parent", &e->parent);
	comm_json(j, e->comm);
}

static void exit_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_process_exit *e = (const void *)ev->hdr;

	comm_json(j, e->comm);
	tw_json_i64(j, "exit_code", e->exit_code);
	tw_json_u64(j, "exit_status", e->exit_status);
	tw_json_u64(j, "signal", e->signal);
	tw_json_bool(j, "core_dumped", e->core_dumped);
}

void tw_event_to_json(struct tw_json *j, const struct tw_event *ev)
{
	tw_json_begin_object(j, NULL);
	header_json(j, ev);
	switch (ev->hdr->type) {
	case TW_EVENT_PROCESS_EXEC:
	case TW_EVENT_PROCESS_SNAPSHOT: /* same layout: what exec says, for a running process */
		exec_json(j, ev);
		break;
	case TW_EVENT_PROCESS_FORK:
		fork_json(j, ev);
		break;
	case TW_EVENT_PROCESS_EXIT:
		exit_json(j, ev);
		break;
	case TW_EVENT_FILE_CREATE:
	case TW_EVENT_FILE_DELETE:
	case TW_EVENT_FILE_RENAME:
	case TW_EVENT_FILE_MODIFY:
	case TW_EVENT_FILE_SHMEM_OPEN:
		file_json(j, ev);
		break;
	case TW_EVENT_PROCESS_TTY_WRITE:
		tty_write_json(j, ev);
		break;
	case TW_EVENT_PROCESS_SETUID:
	case TW_EVENT_PROCESS_SETGID:
	case TW_EVENT_PROCESS_SETSID:
	case TW_EVENT_PROCESS_PTRACE:
	case TW_EVENT_PROCESS_MEMFD_CREATE:
	case TW_EVENT_PROCESS_SHMGET:
		process_call_json(j, ev);
		break;
	case TW_EVENT_PROCESS_LOAD_MODULE:
		comm_json(j, ((const struct tw_module_load *)ev->hdr)->comm);
		varlen_json(j, ev);
		break;
	case TW_EVENT_NETWORK_CONNECTION_ATTEMPTED:
	case TW_EVENT_NETWORK_CONNECTION_ACCEPTED:
	case TW_EVENT_NETWORK_CONNECTION_CLOSED:
	case TW_EVENT_NETWORK_TCP_METRICS:
	case TW_EVENT_NETWORK_UDP_FLOW:
	case TW_EVENT_NETWORK_DNS:
		tw_net_event_json(j, ev);
		break;
	default:
		varlen_json(j, ev);
		break;
	}
	tw_json_end_object(j);
}
