// SPDX-License-Identifier: Apache-2.0
/*
 * File events in detail: a workload of creations, renames and deletions,
 * each checked field by field (the call, the path fields in order, the
 * rename flags, whether `file` is present), so that both hook sets (the
 * syscall tracepoints and the vfs-level set, file_hooks.c) are held to the
 * same events. Plus which hook set the library chose, against what the
 * matrix expects for this kernel (twk.file_hooks= on the kernel command
 * line, $TWK_FILE_HOOKS with --run), and an unlinkat made through io_uring,
 * which only the vfs set can see.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "guest.h"

#define D "/tmp/twk"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct file_expect {
	const char *name;      /* for the report */
	uint32_t type;
	uint32_t op;           /* TW_FILE_OP_* */
	uint16_t fields[2];    /* in order; 0: none */
	const char *values[2];
	uint32_t flags;        /* TW_FILE_FLAG_* */
	bool file_present;
	bool vfs_only;         /* io_uring: the tracepoints cannot see it */
	int seen, bad;
	char why[120];
};

#define FX(name, type, op, f0, v0, f1, v1, flags, present, vfs_only) \
	{name, type, op, {f0, f1}, {v0, v1}, flags, present, vfs_only, 0, 0, ""}
#define P TW_FIELD_PATH
#define C TW_EVENT_FILE_CREATE
#define R TW_EVENT_FILE_RENAME
#define X TW_EVENT_FILE_DELETE
static struct file_expect fx[] = {
	FX("open_creat", C, TW_FILE_OP_OPENAT, P, D "/created", 0, NULL, 0, true, false),
	FX("rename", R, TW_FILE_OP_RENAME, TW_FIELD_OLD_PATH, D "/created", TW_FIELD_NEW_PATH,
	   D "/renamed", 0, false, false),
	FX("mkdir", C, TW_FILE_OP_MKDIR, P, D "/sub", 0, NULL, 0, false, false),
	FX("mknod_fifo", C, TW_FILE_OP_MKNODAT, /* glibc: mknodat */ P, D "/sub/fifo", 0, NULL, 0, false, false),
	FX("symlink", C, TW_FILE_OP_SYMLINK, TW_FIELD_SYMLINK_TARGET, "renamed", P, D "/sym", 0,
	   false, false),
	FX("link", C, TW_FILE_OP_LINK, TW_FIELD_LINK_SOURCE, D "/renamed", P, D "/hard", 0, false,
	   false),
	FX("rename_exchange", R, TW_FILE_OP_RENAMEAT2, TW_FIELD_OLD_PATH, D "/hard",
	   TW_FIELD_NEW_PATH, D "/sub/fifo", TW_FILE_FLAG_RENAME_EXCHANGE, false, false),
	FX("unlink", X, TW_FILE_OP_UNLINK, P, D "/renamed", 0, NULL, 0, false, false),
	FX("unlinkat_dirfd", X, TW_FILE_OP_UNLINKAT, P, D "/sym", 0, NULL, 0, false, false),
	FX("rmdir", X, TW_FILE_OP_RMDIR, P, D "/sub", 0, NULL, 0, false, false),
	/* an existing file in a tmpfs on /dev/shm opened again: POSIX shared memory */
	FX("shm_open", TW_EVENT_FILE_SHMEM_OPEN, TW_FILE_OP_OPENAT, P, "/dev/shm/twk-shm", 0, NULL, 0,
	   true, false),
	/* io_uring: the equivalent *at call is the op */
	FX("io_uring_unlinkat", X, TW_FILE_OP_UNLINKAT, P, D "/uring", 0, NULL, 0, false, true),
};
#define N_FX (sizeof(fx) / sizeof(fx[0]))

static const struct tw_varlen_field *nth_field(const struct tw_event *ev, int n)
{
	int i = 0;

	if (!ev->vl)
		return NULL;
	FOR_EACH_VARLEN_FIELD(ev->vl, f) {
		if (i++ == n)
			return f;
	}
	return NULL;
}

static bool str_is(const struct tw_varlen_field *f, const char *want)
{
	size_t n = strlen(want);
	return f && f->size == n + 1 && !memcmp(f->data, want, n) && f->data[n] == '\0';
}

void twk_files_on_event(const struct tw_event *ev, pid_t workload)
{
	const struct tw_file_event *fe = (const struct tw_file_event *)ev->hdr;
	uint32_t t = ev->hdr->type;

	if ((t != TW_EVENT_FILE_CREATE && t != TW_EVENT_FILE_RENAME && t != TW_EVENT_FILE_DELETE &&
	     t != TW_EVENT_FILE_SHMEM_OPEN) ||
	    ev->hdr->pids.tgid != (uint32_t)workload)
		return;
	for (size_t i = 0; i < N_FX; i++) {
		struct file_expect *x = &fx[i];
		/* identified by type and the last path field (the new name) */
		int last = x->fields[1] ? 1 : 0;
		const struct tw_varlen_field *f;
		size_t nf = 0;

		if (x->type != t || !str_is(nth_field(ev, last), x->values[last]) || x->op != fe->op)
			continue;
		x->seen++;
		for (f = nth_field(ev, 0); f; f = nth_field(ev, (int)++nf))
			;
		if (nf != (size_t)(last + 1))
			snprintf(x->why, sizeof(x->why), "%zu fields, expected %d", nf, last + 1);
		for (int k = 0; k <= last && !x->why[0]; k++) {
			f = nth_field(ev, k);
			if (!f || f->type != x->fields[k] || !str_is(f, x->values[k]))
				snprintf(x->why, sizeof(x->why), "field %d is %u:%.60s, expected %u:%s", k,
					 f ? f->type : 0, f ? f->data : "(none)", x->fields[k], x->values[k]);
		}
		if (!x->why[0] && (fe->flags != x->flags))
			snprintf(x->why, sizeof(x->why), "flags 0x%x, expected 0x%x", fe->flags, x->flags);
		if (!x->why[0] && (fe->file.present != 0) != x->file_present)
			snprintf(x->why, sizeof(x->why), "file %s", fe->file.present ? "present" : "null");
		if (!x->why[0] && x->file_present && (fe->file.mode & S_IFMT) != S_IFREG)
			snprintf(x->why, sizeof(x->why), "file mode 0%o", fe->file.mode);
		if (!x->why[0] && fe->change)
			snprintf(x->why, sizeof(x->why), "change %u", fe->change);
		if (x->why[0])
			x->bad++;
	}
}

/* unlinkat(AT_FDCWD, path, 0) through io_uring, without liburing. 0 when it ran. */
static int uring_unlink(const char *path)
{
	struct io_uring_params p;
	struct io_uring_sqe *sqes;
	unsigned *sq_tail, *sq_array, *sq_mask, *cq_head, *cq_tail;
	struct io_uring_cqe *cqes;
	void *sq, *cq;
	size_t sq_len, cq_len;
	int fd, rc = -1;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		    fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		goto out;
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_UNLINKAT;
	sqes[0].fd = AT_FDCWD;
	sqes[0].addr = (unsigned long)path;
	sq_array[*sq_tail & *sq_mask] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
		rc = -errno;
		goto out;
	}
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) != *cq_head) {
		rc = cqes[*cq_head & (p.cq_entries - 1)].res;
		__atomic_store_n(cq_head, *cq_head + 1, __ATOMIC_RELEASE);
	}
out:
	close(fd);
	return rc;
}

#define TWK_URING_RESULT "/tmp/twk-uring.result"
static int uring_result = 1;

/* The file part of the workload (runs in the workload child). 0 or a step number. */
int twk_files_workload(void)
{
	int fd, dfd;

	mkdir(D, 0755);
	fd = open(D "/created", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		return 10;
	(void)!write(fd, "x", 1);
	close(fd);
	if (rename(D "/created", D "/renamed"))
		return 11;
	if (mkdir(D "/sub", 0755) || mknod(D "/sub/fifo", S_IFIFO | 0600, 0))
		return 13;
	if (symlink("renamed", D "/sym") || link(D "/renamed", D "/hard"))
		return 14;
	if (syscall(SYS_renameat2, AT_FDCWD, D "/hard", AT_FDCWD, D "/sub/fifo", RENAME_EXCHANGE))
		return 15;
	if (unlink(D "/renamed"))
		return 16;
	dfd = open(D, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || unlinkat(dfd, "sym", 0))
		return 17;
	close(dfd);
	/* after the exchange: /tmp/twk/hard is the FIFO, /tmp/twk/sub/fifo the regular file */
	if (unlink(D "/hard") || unlink(D "/sub/fifo") || rmdir(D "/sub"))
		return 18;
	/* shared memory: the guest has no /dev/shm, make one (a tmpfs on a directory named shm) */
	if (access("/dev/shm", F_OK)) {
		mkdir("/dev/shm", 01777);
		mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL);
	}
	fd = open("/dev/shm/twk-shm", O_CREAT | O_RDWR, 0600);
	if (fd >= 0) {
		close(fd);
		fd = open("/dev/shm/twk-shm", O_RDWR);
		if (fd >= 0)
			close(fd);
		unlink("/dev/shm/twk-shm");
	}
	fd = open(D "/uring", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0)
		close(fd);
	uring_result = uring_unlink(D "/uring");
	if (uring_result && !access(D "/uring", F_OK))
		unlink(D "/uring");
	/* the workload is a child: its parent reads the io_uring result from here */
	fd = open(TWK_URING_RESULT, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%d\n", uring_result);
		close(fd);
	}
	return 0;
}

/* The hook set this kernel is expected to get for file events: "vfs", "syscall_tracepoints" or NULL. */
static const char *expected_file_hooks(void)
{
	static char buf[64];
	const char *env = getenv("TWK_FILE_HOOKS");

	if (env && *env)
		return env;
	return twk_cmdline_value("twk.file_hooks=", buf, sizeof(buf)) ? buf : NULL;
}

static const char *chosen[TW_EVENT_TYPE_MAX];
/* Kept as a flag: chosen[] points into the context, which is closed after phase 2. */
static bool vfs_chosen;

/* Right after tw_ctx_open(): what the library chose, and whether it is what was expected. */
int twk_files_hooks(struct tw_ctx *ctx, uint64_t loaded)
{
	static const uint32_t types[] = {TW_EVENT_FILE_CREATE, TW_EVENT_FILE_DELETE,
					 TW_EVENT_FILE_RENAME, TW_EVENT_FILE_SHMEM_OPEN,
					 TW_EVENT_FILE_MODIFY};
	const char *want = expected_file_hooks();
	char line[1024], buf[400];
	int failures = 0;

	tw_ctx_hook_report(ctx, line, sizeof(line));
	twk_say("HOOKSET %s", twk_text(line, buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint32_t t = types[i];
		const char *set = tw_ctx_hook_set(ctx, t);
		/* FILE_MODIFY has no vfs set yet: the tracepoints everywhere */
		const char *exp = !want ? NULL : t == TW_EVENT_FILE_MODIFY ? "syscall_tracepoints" : want;
		bool ok;

		if (!(loaded & TW_EVENT_BIT(t)))
			continue;
		chosen[t] = set;
		if (t == TW_EVENT_FILE_DELETE)
			vfs_chosen = set && !strcmp(set, "vfs");
		ok = !exp || (set && !strcmp(set, exp));
		twk_say("FILEHOOKS type=%s set=%s expected=%s status=%s", tw_event_type_name(t),
			set ? set : "none", exp ? exp : "any", ok ? "ok" : "wrong");
		failures += !ok;
	}
	return failures;
}

bool twk_files_vfs_chosen(void)
{
	return vfs_chosen;
}

static int report(const char *tag, uint64_t loaded);

/* After the workload: one line per checked operation. */
int twk_files_report(uint64_t loaded)
{
	return report("FILECHECK", loaded);
}

static int pass_event(void *user, const struct tw_event *ev)
{
	twk_files_on_event(ev, *(pid_t *)user);
	return 0;
}

/*
 * Where the vfs set was chosen: the same file workload once more with the
 * tracepoints forced (TRACEWIRE_FILE_HOOKS), checked against the same
 * expectations, so that both sets are compared on one kernel.
 */
int twk_files_second_pass(void)
{
	static const uint32_t types[] = {TW_EVENT_FILE_CREATE, TW_EVENT_FILE_DELETE,
					 TW_EVENT_FILE_RENAME, TW_EVENT_FILE_SHMEM_OPEN};
	struct tw_options o;
	struct tw_ctx *ctx = NULL;
	char err[512], buf[200];
	pid_t child = -1;
	int status = 0, failures = 0;
	long deadline;
	bool done = false;

	if (!twk_files_vfs_chosen()) {
		twk_say("FILEPASS2 status=skipped reason=tracepoints_already_checked");
		return 0;
	}
	for (size_t i = 0; i < N_FX; i++) {
		fx[i].seen = fx[i].bad = 0;
		fx[i].why[0] = '\0';
	}
	tw_options_init(&o);
	o.event_mask = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		o.event_mask |= TW_EVENT_BIT(types[i]);
	o.exit_hold_ms = 0;
	setenv("TRACEWIRE_FILE_HOOKS", "syscall_tracepoints", 1);
	if (tw_ctx_open(&ctx, &o, pass_event, &child, err, sizeof(err))) {
		unsetenv("TRACEWIRE_FILE_HOOKS");
		twk_say("FILEPASS2 status=fail error=%s", twk_text(err, buf, sizeof(buf)));
		return 1;
	}
	unsetenv("TRACEWIRE_FILE_HOOKS");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *set = tw_ctx_hook_set(ctx, types[i]);
		chosen[types[i]] = set;
		if (!set || strcmp(set, "syscall_tracepoints")) {
			twk_say("FILEPASS2 type=%s set=%s status=wrong", tw_event_type_name(types[i]),
				set ? set : "none");
			failures++;
		}
	}
	child = fork();
	if (child == 0)
		_exit(twk_files_workload());
	deadline = twk_now_ms() + 60000;
	while (child > 0 && twk_now_ms() < deadline) {
		tw_ctx_poll(ctx, 50);
		if (!done && waitpid(child, &status, WNOHANG) == child) {
			done = true;
			deadline = twk_now_ms() + 1500;
		}
	}
	tw_ctx_consume(ctx);
	tw_ctx_close(ctx);
	if (!done && child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	if (!done || !WIFEXITED(status) || WEXITSTATUS(status)) {
		twk_say("FILEPASS2 status=fail workload=%d", done && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		failures++;
	}
	failures += report("FILECHECK2", o.event_mask);
	twk_say("FILEPASS2 status=%s", failures ? "fail" : "pass");
	return failures;
}

static int report(const char *tag, uint64_t loaded)
{
	int failures = 0;

	FILE *f = fopen(TWK_URING_RESULT, "r");

	if (!f || fscanf(f, "%d", &uring_result) != 1)
		uring_result = 1;
	if (f)
		fclose(f);
	twk_say("URING unlinkat=%d%s", uring_result,
		uring_result == 1 ? " (not run)" : uring_result ? " (refused by the kernel)" : "");
	for (size_t i = 0; i < N_FX; i++) {
		struct file_expect *x = &fx[i];
		const char *set = chosen[x->type];
		char buf[200];
		bool required;

		if (!(loaded & TW_EVENT_BIT(x->type))) {
			twk_say("%s op=%s status=skipped", tag, x->name);
			continue;
		}
		/* io_uring: only the vfs set sees it, and only if the kernel ran it */
		required = !x->vfs_only || (set && !strcmp(set, "vfs") && uring_result == 0);
		if (x->bad) {
			twk_say("%s op=%s set=%s status=mismatch count=%d why=%s", tag, x->name,
				set ? set : "none", x->seen, twk_text(x->why, buf, sizeof(buf)));
			failures++;
		} else if (x->seen == 1) {
			twk_say("%s op=%s set=%s status=ok", tag, x->name, set ? set : "none");
		} else if (!x->seen && !required) {
			twk_say("%s op=%s set=%s status=not-expected", tag, x->name, set ? set : "none");
		} else {
			twk_say("%s op=%s set=%s status=%s count=%d", tag, x->name, set ? set : "none",
				x->seen ? "duplicate" : "missing", x->seen);
			failures++;
		}
	}
	return failures;
}
