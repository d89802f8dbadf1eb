// SPDX-License-Identifier: Apache-2.0
/*
 * File events from the real probes: a workload in the traced child creates,
 * writes, changes, renames, links and deletes files; the tests assert the
 * exact sequence of file events it produced, their system call, paths,
 * change types and flags. The main sequence runs on the disk under /tmp and
 * again on a tmpfs the test mounts itself.
 *
 * The workloads use raw system calls (syscall(2)) where the reported call
 * name matters: libc wrappers may pick another call (open() is openat(2)
 * in glibc). Where the architecture lacks the old call (arm64 has no open,
 * mkdir, rename, ...) the *at variant is used and expected instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "tracewire_json.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef AT_REMOVEDIR
#define AT_REMOVEDIR 0x200
#endif

/* ---- raw system calls, and the name each one is reported under ---- */

#ifdef SYS_open
#define OPEN_NAME "open"
static long sys_open(const char *p, int flags, mode_t mode)
{
	return syscall(SYS_open, p, flags, mode);
}
#else
#define OPEN_NAME "openat"
static long sys_open(const char *p, int flags, mode_t mode)
{
	return syscall(SYS_openat, AT_FDCWD, p, flags, mode);
}
#endif

#ifdef SYS_creat
#define CREAT_NAME "creat"
static long sys_creat(const char *p, mode_t mode)
{
	return syscall(SYS_creat, p, mode);
}
#else
#define CREAT_NAME "openat"
static long sys_creat(const char *p, mode_t mode)
{
	return syscall(SYS_openat, AT_FDCWD, p, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
#endif

#ifdef SYS_mkdir
#define MKDIR_NAME "mkdir"
static long sys_mkdir(const char *p, mode_t mode)
{
	return syscall(SYS_mkdir, p, mode);
}
#else
#define MKDIR_NAME "mkdirat"
static long sys_mkdir(const char *p, mode_t mode)
{
	return syscall(SYS_mkdirat, AT_FDCWD, p, mode);
}
#endif

#ifdef SYS_mknod
#define MKNOD_NAME "mknod"
static long sys_mknod(const char *p, mode_t mode)
{
	return syscall(SYS_mknod, p, mode, 0);
}
#else
#define MKNOD_NAME "mknodat"
static long sys_mknod(const char *p, mode_t mode)
{
	return syscall(SYS_mknodat, AT_FDCWD, p, mode, 0);
}
#endif

#ifdef SYS_unlink
#define UNLINK_NAME "unlink"
static long sys_unlink(const char *p)
{
	return syscall(SYS_unlink, p);
}
#else
#define UNLINK_NAME "unlinkat"
static long sys_unlink(const char *p)
{
	return syscall(SYS_unlinkat, AT_FDCWD, p, 0);
}
#endif

#ifdef SYS_rmdir
#define RMDIR_NAME "rmdir"
static long sys_rmdir(const char *p)
{
	return syscall(SYS_rmdir, p);
}
#else
#define RMDIR_NAME "unlinkat"
static long sys_rmdir(const char *p)
{
	return syscall(SYS_unlinkat, AT_FDCWD, p, AT_REMOVEDIR);
}
#endif

#ifdef SYS_rename
#define RENAME_NAME "rename"
static long sys_rename(const char *a, const char *b)
{
	return syscall(SYS_rename, a, b);
}
#else
#define RENAME_NAME "renameat2"
static long sys_rename(const char *a, const char *b)
{
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 0);
}
#endif

static long sys_renameat2(const char *a, const char *b, unsigned int flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

#ifdef SYS_symlink
#define SYMLINK_NAME "symlink"
static long sys_symlink(const char *target, const char *p)
{
	return syscall(SYS_symlink, target, p);
}
#else
#define SYMLINK_NAME "symlinkat"
static long sys_symlink(const char *target, const char *p)
{
	return syscall(SYS_symlinkat, target, AT_FDCWD, p);
}
#endif

#ifdef SYS_link
#define LINK_NAME "link"
static long sys_link(const char *a, const char *b)
{
	return syscall(SYS_link, a, b);
}
#else
#define LINK_NAME "linkat"
static long sys_link(const char *a, const char *b)
{
	return syscall(SYS_linkat, AT_FDCWD, a, AT_FDCWD, b, 0);
}
#endif

#ifdef SYS_chmod
#define CHMOD_NAME "chmod"
static long sys_chmod(const char *p, mode_t mode)
{
	return syscall(SYS_chmod, p, mode);
}
#else
#define CHMOD_NAME "fchmodat"
static long sys_chmod(const char *p, mode_t mode)
{
	return syscall(SYS_fchmodat, AT_FDCWD, p, mode);
}
#endif

#ifdef SYS_chown
#define CHOWN_NAME "chown"
static long sys_chown(const char *p, uid_t u, gid_t g)
{
	return syscall(SYS_chown, p, u, g);
}
#else
#define CHOWN_NAME "fchownat"
static long sys_chown(const char *p, uid_t u, gid_t g)
{
	return syscall(SYS_fchownat, AT_FDCWD, p, u, g, 0);
}
#endif

/* ---- workload bookkeeping shared with the child ---- */

/* What the child saw: the first step that misbehaved, and the files it created. */
struct shared {
	int failed_line;
	int failed_errno;
	char failed_what[256];
	int xattr_errno;      /* setxattr's errno when the filesystem refused it */
	int fchmodat2_errno;  /* ENOSYS where the kernel predates fchmodat2 (6.6) */
	struct stat st[16];   /* fstat of files, by workload slot */
};
static struct shared *sh;

static void shared_reset(void)
{
	if (!sh) {
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(sh, MAP_FAILED);
	}
	memset(sh, 0, sizeof(*sh));
}

static long step_ok(long rc, int line, const char *what)
{
	if (rc < 0) {
		sh->failed_errno = errno;
		sh->failed_line = line;
		snprintf(sh->failed_what, sizeof(sh->failed_what), "%s", what);
		_exit(100);
	}
	return rc;
}

static void step_fails(long rc, int want, int line, const char *what)
{
	if (rc >= 0 || errno != want) {
		sh->failed_errno = rc >= 0 ? 0 : errno;
		sh->failed_line = line;
		snprintf(sh->failed_what, sizeof(sh->failed_what), "%s (should fail with %s)", what,
			 strerror(want));
		_exit(101);
	}
}

/* In the child: a call that must succeed, or one that must fail with errno `err`. */
#define STEP(expr) step_ok((long)(expr), __LINE__, #expr)
#define STEP_FAILS(expr, err) step_fails((long)(expr), (err), __LINE__, #expr)

/* Release the workload, wait for it, and require that every step behaved. */
static void run_workload(struct it_trace *t, int timeout_ms)
{
	int status = it_run(t, timeout_ms);

	cr_assert_eq(sh->failed_line, 0, "workload step at line %d failed (%s): %s", sh->failed_line,
		     sh->failed_errno ? strerror(sh->failed_errno) : "it succeeded", sh->failed_what);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "workload exit status %#x", status);
}

/* The directory the workload works in (set before it_start, inherited by the child). */
static char wb[1024];

static void set_wb(const char *dir)
{
	cr_assert_lt(strlen(dir), sizeof(wb));
	strcpy(wb, dir);
}

/* "<wb>/<name>" into buf (PATH_MAX bytes) */
static const char *in_wb(char *buf, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", wb, name) >= PATH_MAX)
		abort();
	return buf;
}

/* ---- expectations ---- */

struct exp {
	uint32_t type;
	const char *syscall;
	const char *path, *old_path, *new_path, *target, *source; /* NULL: key must be absent */
	const char *change;    /* FILE_MODIFY */
	uint64_t writes;       /* content changes; 0: not checked (truncate by path) */
	bool on_close;         /* content changes */
	bool exchange, noreplace; /* renames */
	const struct stat *st; /* file info present and matching this stat; NULL: "file": null */
	bool check_size;
	uint64_t size;
};

static char path_pool[96][PATH_MAX];
static size_t n_pool;

/* "<wb>/<name>" in storage that lives until the next test */
static const char *P(const char *name)
{
	cr_assert_lt(n_pool, sizeof(path_pool) / sizeof(path_pool[0]));
	return in_wb(path_pool[n_pool++], name);
}

static bool is_file_event(uint32_t type)
{
	return type >= TW_EVENT_FILE_CREATE && type <= TW_EVENT_FILE_SHMEM_OPEN;
}

/* The file events of process `pid`, in delivery order (pointers into t's records). */
static size_t file_events(struct it_trace *t, pid_t pid, struct tw_event **out)
{
	size_t n = 0;

	*out = calloc(t->n + 1, sizeof(**out));
	cr_assert_not_null(*out);
	for (size_t i = 0; i < t->n; i++) {
		struct tw_event ev;
		cr_assert_eq(tw_event_decode(t->recs[i].data, t->recs[i].len, &ev), 0,
			     "a record from the kernel failed to decode");
		if (!is_file_event(ev.hdr->type) || ev.hdr->pids.tgid != (uint32_t)pid)
			continue;
		ev.ts_realtime_ns = ev.hdr->ts_boot_ns + tw_ctx_realtime_offset(t->ctx);
		(*out)[n++] = ev;
	}
	return n;
}

static void log_event(const char *what, size_t i, const struct tw_event *ev)
{
	struct tw_json j;
	size_t len;
	const char *line;

	tw_json_init(&j);
	tw_event_to_json(&j, ev);
	line = tw_json_finish(&j, &len);
	cr_log_info("%s %zu: %.*s", what, i, line ? (int)len - 1 : 0, line ? line : "");
	tw_json_free(&j);
}

static void expect_key(cJSON *j, const char *key, const char *want, size_t i, const char *sc)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!want) {
		cr_assert_null(v, "event %zu (%s): unexpected %s \"%s\"", i, sc, key,
			       cJSON_IsString(v) ? v->valuestring : "?");
		return;
	}
	cr_assert(cJSON_IsString(v), "event %zu (%s): no %s", i, sc, key);
	cr_assert_str_eq(v->valuestring, want, "event %zu (%s): %s is \"%s\", expected \"%s\"", i, sc,
			 key, v->valuestring, want);
}

static void expect_bool(cJSON *j, const char *key, bool want, size_t i, const char *sc)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	cr_assert(cJSON_IsBool(v), "event %zu (%s): no boolean %s", i, sc, key);
	cr_assert_eq(cJSON_IsTrue(v), want, "event %zu (%s): %s is %d, expected %d", i, sc, key,
		     cJSON_IsTrue(v), want);
}

static void check_event(struct it_trace *t, size_t i, const struct tw_event *ev, const struct exp *x)
{
	const struct tw_file_event *e = (const void *)ev->hdr;
	const char *sc = x->syscall;
	struct stat mnt;
	cJSON *j, *file;

	cr_assert_eq(e->hdr.type, x->type, "event %zu: type %s, expected %s (%s)", i,
		     tw_event_type_name(e->hdr.type), tw_event_type_name(x->type), sc);
	cr_assert_eq(e->hdr.pids.tgid, (uint32_t)t->child);
	cr_assert_eq(e->hdr.pids.tid, (uint32_t)t->child);
	cr_assert_eq(e->creds.euid, geteuid());
	cr_assert_eq(stat("/proc/self/ns/mnt", &mnt), 0);
	cr_assert_eq(e->mnt_ns, mnt.st_ino, "event %zu (%s): mount namespace", i, sc);

	j = it_json(ev);
	cr_assert_str_eq(it_json_str(j, "event_type"), tw_event_type_name(x->type));
	expect_key(j, "syscall", sc, i, sc);
	expect_key(j, "path", x->path, i, sc);
	expect_key(j, "old_path", x->old_path, i, sc);
	expect_key(j, "new_path", x->new_path, i, sc);
	expect_key(j, "symlink_target", x->target, i, sc);
	expect_key(j, "link_source", x->source, i, sc);
	cr_assert_null(cJSON_GetObjectItem(j, "truncated_fields"), "event %zu (%s): truncated", i, sc);
	if (x->type == TW_EVENT_FILE_MODIFY) {
		expect_key(j, "change", x->change, i, sc);
		if (!strcmp(x->change, "content")) {
			if (x->writes)
				cr_assert_eq(it_json_num(j, "writes"), (double)x->writes,
					     "event %zu (%s): writes %.0f, expected %llu", i, sc,
					     it_json_num(j, "writes"), (unsigned long long)x->writes);
			expect_bool(j, "on_close", x->on_close, i, sc);
		} else {
			cr_assert_null(cJSON_GetObjectItem(j, "writes"), "event %zu (%s): writes", i, sc);
		}
	} else {
		cr_assert_null(cJSON_GetObjectItem(j, "change"), "event %zu (%s): change", i, sc);
	}
	if (x->type == TW_EVENT_FILE_RENAME) {
		expect_bool(j, "exchange", x->exchange, i, sc);
		expect_bool(j, "noreplace", x->noreplace, i, sc);
		expect_bool(j, "whiteout", false, i, sc);
	}

	file = cJSON_GetObjectItemCaseSensitive(j, "file");
	if (!x->st) {
		cr_assert(cJSON_IsNull(file), "event %zu (%s): file info should be null", i, sc);
		cr_assert_eq(e->file.present, 0);
	} else {
		char mode[8];
		cr_assert(cJSON_IsObject(file), "event %zu (%s): no file info", i, sc);
		cr_assert_eq(e->file.present, 1);
		cr_assert_str_eq(it_json_str(j, "file.type"), "file", "event %zu (%s): file.type", i, sc);
		snprintf(mode, sizeof(mode), "%04o", x->st->st_mode & 07777);
		cr_assert_str_eq(it_json_str(j, "file.mode"), mode, "event %zu (%s): file.mode", i, sc);
		cr_assert_eq(e->file.inode, x->st->st_ino, "event %zu (%s): inode %llu, expected %llu", i,
			     sc, (unsigned long long)e->file.inode, (unsigned long long)x->st->st_ino);
		cr_assert_eq(e->file.dev_major, major(x->st->st_dev), "event %zu (%s): dev major", i, sc);
		cr_assert_eq(e->file.dev_minor, minor(x->st->st_dev), "event %zu (%s): dev minor", i, sc);
		cr_assert_eq(e->file.uid, x->st->st_uid, "event %zu (%s): uid", i, sc);
		cr_assert_eq(e->file.gid, x->st->st_gid, "event %zu (%s): gid", i, sc);
		cr_assert_eq(e->file.mode & S_IFMT, S_IFREG);
		if (x->check_size)
			cr_assert_eq(e->file.size, x->size, "event %zu (%s): size %llu, expected %llu", i, sc,
				     (unsigned long long)e->file.size, (unsigned long long)x->size);
	}
	cJSON_Delete(j);
}

/* The child's file events are exactly `x[0..n)`, in this order. */
static void check_sequence(struct it_trace *t, const struct exp *x, size_t n)
{
	struct tw_event *evs;
	size_t got = file_events(t, t->child, &evs);

	if (got != n) {
		for (size_t i = 0; i < got; i++)
			log_event("received", i, &evs[i]);
		for (size_t i = 0; i < n; i++)
			cr_log_info("expected %zu: %s %s %s%s", i, tw_event_type_name(x[i].type),
				    x[i].syscall, x[i].path ? x[i].path : x[i].old_path,
				    x[i].change ? x[i].change : "");
		cr_assert_fail("%zu file events from the workload, expected %zu (listed above)", got, n);
	}
	for (size_t i = 0; i < n; i++)
		check_event(t, i, &evs[i], &x[i]);
	free(evs);
}

static void no_losses(struct it_trace *t)
{
	struct tw_stats s;

	cr_assert_eq(tw_ctx_stats(t->ctx, &s), 0);
	cr_assert_eq(s.lost_total, 0, "records were lost, the sequence cannot be checked");
	cr_assert_eq(s.decode_errors_total, 0);
}

/* What a test leaves behind, removed by cleanup() also when the test failed. */
static char cleanup_dir[PATH_MAX], cleanup_mnt[PATH_MAX];

/* A fresh directory under /tmp, its real path (removed by cleanup()). */
static char *make_base(void)
{
	char tmpl[] = "/tmp/tw-it-file-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, cleanup_dir));
	return cleanup_dir;
}

/* .fini of every test: unmount its tmpfs, remove its directory (deep trees too). */
static void cleanup(void)
{
	char cmd[PATH_MAX + 32];

	if (cleanup_mnt[0] && umount2(cleanup_mnt, 0) != 0 && umount2(cleanup_mnt, MNT_DETACH) != 0)
		fprintf(stderr, "test_file: cannot unmount %s: %s\n", cleanup_mnt, strerror(errno));
	cleanup_mnt[0] = '\0';
	if (cleanup_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cleanup_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_file: cannot remove %s\n", cleanup_dir);
	}
	cleanup_dir[0] = '\0';
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* ---- the main sequence ---- */

enum { ST_OPEN, ST_OPENAT, ST_CREAT };

static void main_workload(void *arg)
{
	char p[PATH_MAX], q[PATH_MAX];
	int fd, dfd;

	(void)arg;
	umask(0);
	/* creations, each with its own call */
	fd = STEP(sys_open(in_wb(p, "f_open"), O_CREAT | O_EXCL | O_WRONLY, 0640));
	STEP(fstat(fd, &sh->st[ST_OPEN]));
	close(fd);
	dfd = STEP(open(in_wb(p, "d1"), O_RDONLY | O_DIRECTORY));
	fd = STEP(syscall(SYS_openat, dfd, "f_openat", O_CREAT | O_WRONLY, 0600));
	STEP(fstat(fd, &sh->st[ST_OPENAT]));
	close(fd);
	fd = STEP(sys_creat(in_wb(p, "f_creat"), 0644));
	STEP(fstat(fd, &sh->st[ST_CREAT]));
	close(fd);
	STEP(sys_mkdir(in_wb(p, "newdir"), 0755));
	STEP(syscall(SYS_mkdirat, dfd, "sub", 0700));
	STEP(sys_mknod(in_wb(p, "fifo"), S_IFIFO | 0644));

	/* opening an existing file creates nothing, with or without O_CREAT */
	fd = STEP(sys_open(in_wb(p, "existing"), O_RDONLY, 0));
	close(fd);
	fd = STEP(sys_open(in_wb(p, "existing"), O_CREAT | O_WRONLY, 0644));
	close(fd);

	/* one write, then five quick writes: the first reported, four carried by the close */
	fd = STEP(open(in_wb(p, "f_open"), O_WRONLY));
	STEP(write(fd, "a", 1));
	close(fd);
	fd = STEP(open(in_wb(p, "f_open"), O_WRONLY | O_APPEND));
	for (int i = 0; i < 5; i++)
		STEP(write(fd, "b", 1));
	STEP(close(fd));

	/* other content changes, then metadata */
	STEP(syscall(SYS_truncate, in_wb(p, "f_open"), 2));
	fd = STEP(open(in_wb(p, "f_creat"), O_WRONLY));
	STEP(ftruncate(fd, 10));
	close(fd);
	STEP(sys_chmod(in_wb(p, "f_creat"), 0600));
	STEP(sys_chown(in_wb(p, "f_creat"), 1234, 5678));
	if (syscall(SYS_setxattr, in_wb(p, "f_creat"), "user.test", "1", 1, 0) < 0) {
		if (errno != ENOTSUP)
			STEP(-1);
		sh->xattr_errno = errno;
	}

	/* renames: in a directory, across directories, over a file, exchange, noreplace */
	STEP(sys_rename(in_wb(p, "f_open"), in_wb(q, "f_renamed")));
	STEP(sys_rename(in_wb(p, "f_renamed"), in_wb(q, "d2/f_moved")));
	STEP(sys_rename(in_wb(p, "d2/f_moved"), in_wb(q, "existing")));
	STEP(sys_renameat2(in_wb(p, "existing"), in_wb(q, "f_creat"), RENAME_EXCHANGE));
	STEP(sys_renameat2(in_wb(p, "f_creat"), in_wb(q, "f_nr"), RENAME_NOREPLACE));
	STEP_FAILS(sys_renameat2(in_wb(p, "f_nr"), in_wb(q, "existing"), RENAME_NOREPLACE), EEXIST);

	/* links */
	STEP(sys_symlink("../some/target", in_wb(p, "sl")));
	STEP(sys_link(in_wb(p, "f_nr"), in_wb(q, "hl")));

	/* deletions; a failing one reports nothing */
	STEP(sys_unlink(in_wb(p, "hl")));
	STEP_FAILS(sys_unlink(in_wb(p, "no-such-file")), ENOENT);
	STEP(syscall(SYS_unlinkat, dfd, "f_openat", 0));
	STEP(sys_rmdir(in_wb(p, "newdir")));
	close(dfd);
}

static void main_sequence(const char *where)
{
	struct it_trace t;
	char p[PATH_MAX];
	struct exp x[32];
	size_t n = 0;

	shared_reset();
	n_pool = 0;
	cr_assert_eq(mkdir(in_wb(p, "d1"), 0755), 0);
	cr_assert_eq(mkdir(in_wb(p, "d2"), 0755), 0);
	write_file(in_wb(p, "existing"), "old");

	it_start(&t, TW_EVENTS_FILE, false, main_workload, NULL);
	run_workload(&t, 10000);
	no_losses(&t);

	const struct stat *so = &sh->st[ST_OPEN], *sa = &sh->st[ST_OPENAT], *sc = &sh->st[ST_CREAT];
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, OPEN_NAME, .path = P("f_open"), .st = so};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "openat", .path = P("d1/f_openat"), .st = sa};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, CREAT_NAME, .path = P("f_creat"), .st = sc};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, MKDIR_NAME, .path = P("newdir")};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "mkdirat", .path = P("d1/sub")};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, MKNOD_NAME, .path = P("fifo")};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("f_open"), .change = "content",
			      .writes = 1, .st = so, .check_size = true, .size = 1};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("f_open"), .change = "content",
			      .writes = 1, .st = so, .check_size = true, .size = 2};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "close", .path = P("f_open"), .change = "content",
			      .writes = 4, .on_close = true, .st = so, .check_size = true, .size = 6};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "truncate", .path = P("f_open"), .change = "content"};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "ftruncate", .path = P("f_creat"),
			      .change = "content", .writes = 1, .st = sc, .check_size = true, .size = 10};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, CHMOD_NAME, .path = P("f_creat"), .change = "permissions"};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, CHOWN_NAME, .path = P("f_creat"), .change = "owner"};
	if (sh->xattr_errno)
		cr_log_info("%s: setxattr(user.test) failed with %s, the xattr event is not checked", where,
			    strerror(sh->xattr_errno));
	else
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "setxattr", .path = P("f_creat"), .change = "xattr"};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, RENAME_NAME, .old_path = P("f_open"),
			      .new_path = P("f_renamed")};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, RENAME_NAME, .old_path = P("f_renamed"),
			      .new_path = P("d2/f_moved")};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, RENAME_NAME, .old_path = P("d2/f_moved"),
			      .new_path = P("existing")};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, "renameat2", .old_path = P("existing"),
			      .new_path = P("f_creat"), .exchange = true};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, "renameat2", .old_path = P("f_creat"),
			      .new_path = P("f_nr"), .noreplace = true};
	/* the NOREPLACE that failed with EEXIST: nothing */
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, SYMLINK_NAME, .path = P("sl"), .target = "../some/target"};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, LINK_NAME, .path = P("hl"), .source = P("f_nr")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("hl")};
	/* the unlink that failed with ENOENT: nothing */
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, "unlinkat", .path = P("d1/f_openat")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, RMDIR_NAME, .path = P("newdir")};
	check_sequence(&t, x, n);
	cr_log_info("%s: %zu file events, exactly as expected", where, n);
	it_stop(&t);

	/* the filesystem agrees with what the events said */
	struct stat st;
	cr_assert_eq(lstat(in_wb(p, "sl"), &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(stat(in_wb(p, "f_nr"), &st), 0);
	cr_assert_eq(st.st_ino, so->st_ino, "f_open travelled to existing, then was exchanged to f_creat, then f_nr");
	cr_assert_neq(access(in_wb(p, "newdir"), F_OK), 0);
}

Test(file, main_sequence_on_disk, .fini = cleanup, .timeout = 60)
{
	char *base;

	it_require_bpf();
	base = make_base();
	set_wb(base);
	main_sequence("disk");
	cleanup(); /* also the .fini, for a test that failed */
}

Test(file, main_sequence_on_tmpfs, .fini = cleanup, .timeout = 60)
{
	char *base, mnt[PATH_MAX];

	it_require_bpf();
	base = make_base();
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", base);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (mount("tw-it-tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0755") != 0)
		cr_assert_fail("mount -t tmpfs on %s: %s", mnt, strerror(errno));
	strcpy(cleanup_mnt, mnt); /* unmounted by cleanup() */
	set_wb(mnt);
	main_sequence("tmpfs");
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- write coalescing windows ---- */

static void five_writes(void *arg)
{
	char p[PATH_MAX];
	int fd;

	(void)arg;
	umask(0);
	fd = STEP(sys_open(in_wb(p, "w"), O_CREAT | O_EXCL | O_WRONLY, 0600));
	STEP(fstat(fd, &sh->st[0]));
	for (int i = 0; i < 5; i++)
		STEP(write(fd, "x", 1));
	STEP(close(fd));
}

Test(file, window_zero_reports_every_write, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	struct exp x[8];
	size_t n = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	it_write_window_ms = 0;
	it_start(&t, TW_EVENTS_FILE, false, five_writes, NULL);
	it_write_window_ms = IT_WRITE_WINDOW_DEFAULT;
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, OPEN_NAME, .path = P("w"), .st = &sh->st[0]};
	for (uint64_t i = 1; i <= 5; i++) /* each its own event, and no close event */
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("w"), .change = "content",
				      .writes = 1, .st = &sh->st[0], .check_size = true, .size = i};
	check_sequence(&t, x, n);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

Test(file, default_window_reports_first_write_and_close_carries_the_rest, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	struct exp x[4];
	size_t n = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	it_start(&t, TW_EVENTS_FILE, false, five_writes, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, OPEN_NAME, .path = P("w"), .st = &sh->st[0]};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("w"), .change = "content",
			      .writes = 1, .st = &sh->st[0], .check_size = true, .size = 1};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "close", .path = P("w"), .change = "content",
			      .writes = 4, .on_close = true, .st = &sh->st[0], .check_size = true, .size = 5};
	check_sequence(&t, x, n);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* Three writes in one window, a pause past it, one more: that one carries the two counted. */
static void writes_across_a_window(void *arg)
{
	char p[PATH_MAX];
	int fd;

	(void)arg;
	umask(0);
	fd = STEP(sys_open(in_wb(p, "w"), O_CREAT | O_EXCL | O_WRONLY, 0600));
	STEP(fstat(fd, &sh->st[0]));
	for (int i = 0; i < 3; i++)
		STEP(write(fd, "x", 1));
	usleep(300 * 1000);
	STEP(write(fd, "y", 1));
	STEP(close(fd));
}

Test(file, write_after_the_window_carries_the_coalesced_count, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	struct exp x[4];
	size_t n = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	it_write_window_ms = 100;
	it_start(&t, TW_EVENTS_FILE, false, writes_across_a_window, NULL);
	it_write_window_ms = IT_WRITE_WINDOW_DEFAULT;
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, OPEN_NAME, .path = P("w"), .st = &sh->st[0]};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("w"), .change = "content",
			      .writes = 1, .st = &sh->st[0], .check_size = true, .size = 1};
	/* nothing pending at the close: no close event */
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("w"), .change = "content",
			      .writes = 3, .st = &sh->st[0], .check_size = true, .size = 4};
	check_sequence(&t, x, n);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/*
 * Writes that fail change nothing: they are neither events nor counted into
 * one. Here a write is reported, then two writes in its window fail
 * (EINVAL, EFAULT): nothing is pending, the close must report nothing.
 */
static void failing_writes(void *arg)
{
	char p[PATH_MAX];
	int fd;

	(void)arg;
	umask(0);
	fd = STEP(sys_open(in_wb(p, "w"), O_CREAT | O_EXCL | O_RDWR, 0600));
	STEP(fstat(fd, &sh->st[0]));
	STEP(write(fd, "x", 1));
	STEP_FAILS(pwrite(fd, "y", 1, -1), EINVAL);
	STEP_FAILS(syscall(SYS_write, fd, (void *)8, 1), EFAULT);
	STEP(close(fd));
}

Test(file, failed_writes_are_not_counted, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	struct tw_event *evs;
	struct exp x[2];
	char *base;
	size_t n;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	it_start(&t, TW_EVENTS_FILE, false, failing_writes, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	n = file_events(&t, t.child, &evs);
	if (n == 3 && evs[2].hdr->type == TW_EVENT_FILE_MODIFY)
		cr_log_error("the close reports %llu write(s) that all failed",
			     (unsigned long long)((const struct tw_file_event *)evs[2].hdr)->writes);
	free(evs);
	x[0] = (struct exp){TW_EVENT_FILE_CREATE, OPEN_NAME, .path = P("w"), .st = &sh->st[0]};
	x[1] = (struct exp){TW_EVENT_FILE_MODIFY, "write", .path = P("w"), .change = "content",
			    .writes = 1, .st = &sh->st[0], .check_size = true, .size = 1};
	check_sequence(&t, x, 2);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- relative paths: "..", "." and "//" are resolved as text ---- */

static void relative_workload(void *arg)
{
	char p[PATH_MAX], q[PATH_MAX];

	(void)arg;
	STEP(chdir(in_wb(p, "dir/sub")));
	STEP(sys_unlink("../x"));
	STEP(sys_unlink(in_wb(p, "dir/.//sub//./y")));
	STEP(sys_unlink("../../z"));
	STEP(sys_unlink(".//..//w"));
	STEP(sys_mkdir("a/", 0755));
	STEP(sys_rmdir("./a//"));
	/* ".." at the root stays there */
	STEP(sys_unlink(strcat(strcpy(q, "/../.."), in_wb(p, "q"))));
	STEP(sys_rename("../v", "./../../v2"));
}

Test(file, relative_and_unnormalised_paths_are_resolved, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	char p[PATH_MAX];
	struct exp x[12];
	size_t n = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	cr_assert_eq(mkdir(in_wb(p, "dir"), 0755), 0);
	cr_assert_eq(mkdir(in_wb(p, "dir/sub"), 0755), 0);
	write_file(in_wb(p, "dir/x"), "");
	write_file(in_wb(p, "dir/sub/y"), "");
	write_file(in_wb(p, "dir/w"), "");
	write_file(in_wb(p, "dir/v"), "");
	write_file(in_wb(p, "z"), "");
	write_file(in_wb(p, "q"), "");

	it_start(&t, TW_EVENTS_FILE, false, relative_workload, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("dir/x")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("dir/sub/y")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("z")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("dir/w")};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, MKDIR_NAME, .path = P("dir/sub/a")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, RMDIR_NAME, .path = P("dir/sub/a")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME, .path = P("q")};
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, RENAME_NAME, .old_path = P("dir/v"), .new_path = P("v2")};
	check_sequence(&t, x, n);
	it_stop(&t);
	cr_assert_eq(access(in_wb(p, "v2"), F_OK), 0);
	cleanup(); /* also the .fini, for a test that failed */
}

/*
 * A symlinked directory inside the path a process passes. With
 * dir/link -> dir/real/deep, unlink("link/../f") makes the kernel follow the
 * link first and remove dir/real/f. The probe resolves ".." as text without
 * following links in the user string, so it reports dir/f: a documented
 * limitation (GPL/include/tw_path.h). This test pins what is reported.
 */
static void symlinked_dir_workload(void *arg)
{
	(void)arg;
	STEP(chdir(wb));
	STEP(sys_unlink("link/../f"));
}

Test(file, symlinked_directory_in_user_path_names_what_the_hook_set_saw, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	char p[PATH_MAX];
	struct exp x[2];
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	cr_assert_eq(mkdir(in_wb(p, "real"), 0755), 0);
	cr_assert_eq(mkdir(in_wb(p, "real/deep"), 0755), 0);
	write_file(in_wb(p, "real/f"), "the one the kernel removes");
	write_file(in_wb(p, "f"), "the one the event names");
	cr_assert_eq(symlink("real/deep", in_wb(p, "link")), 0);

	it_start(&t, TW_EVENTS_FILE, false, symlinked_dir_workload, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	/* the kernel removed real/f ... */
	cr_assert_neq(access(in_wb(p, "real/f"), F_OK), 0, "the kernel follows the link before ..");
	cr_assert_eq(access(in_wb(p, "f"), F_OK), 0);
	/*
	 * ... and the event names what the hook set saw: the vfs set reads the
	 * dentry the kernel removed (real/f); the syscall tracepoints resolve the
	 * user's text against the cwd (f: the documented limitation).
	 */
	const char *set = tw_ctx_hook_set(t.ctx, TW_EVENT_FILE_DELETE);
	cr_assert_not_null(set);
	x[0] = (struct exp){TW_EVENT_FILE_DELETE, UNLINK_NAME,
			    .path = !strcmp(set, "vfs") ? P("real/f") : P("f")};
	check_sequence(&t, x, 1);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- the *at calls: each path against its own dirfd ---- */

static void at_workload(void *arg)
{
	struct open_how how = {.flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0600};
	char p[PATH_MAX];
	int d1, d2, fd;

	(void)arg;
	umask(0);
	d1 = STEP(open(in_wb(p, "d1"), O_RDONLY | O_DIRECTORY));
	d2 = STEP(open(in_wb(p, "d2"), O_RDONLY | O_DIRECTORY));
	fd = STEP(syscall(SYS_openat2, d1, "o2", &how, sizeof(how)));
	STEP(fstat(fd, &sh->st[0]));
	close(fd);
	STEP(syscall(SYS_mknodat, d2, "fifo", S_IFIFO | 0600, 0));
	STEP(syscall(SYS_symlinkat, "some/where", d2, "s"));
	STEP(syscall(SYS_linkat, d1, "a", d2, "h", 0));
#ifdef SYS_renameat
	STEP(syscall(SYS_renameat, d1, "a", d2, "b"));
#else
	STEP(syscall(SYS_renameat2, d1, "a", d2, "b", 0));
#endif
	STEP(syscall(SYS_renameat2, d2, "b", d1, "c", 0));
	STEP(syscall(SYS_fchmodat, d1, "c", 0600));
	/* fchmodat2 is Linux 6.6+: older kernels (the matrix's 6.1) answer ENOSYS */
	if (syscall(SYS_fchmodat2, d1, "c", 0640, 0) < 0) {
		if (errno != ENOSYS)
			STEP(-1);
		sh->fchmodat2_errno = errno;
	}
	STEP(syscall(SYS_fchownat, d1, "c", 1, 1, 0));
#ifdef SYS_lchown
	STEP(syscall(SYS_lchown, in_wb(p, "d2/s"), 2, 2));
#else
	STEP(syscall(SYS_fchownat, AT_FDCWD, in_wb(p, "d2/s"), 2, 2, AT_SYMLINK_NOFOLLOW));
#endif
	if (syscall(SYS_lsetxattr, in_wb(p, "d1/c"), "user.l", "1", 1, 0) < 0) {
		if (errno != ENOTSUP)
			STEP(-1);
		sh->xattr_errno = errno;
	}
	STEP(syscall(SYS_unlinkat, d2, "s", 0));
	STEP(syscall(SYS_mkdirat, d1, "../d2/sub", 0700)); /* ".." out of the dirfd's directory */
	STEP(syscall(SYS_unlinkat, d2, "sub", AT_REMOVEDIR));
	close(d1);
	close(d2);
}

Test(file, at_calls_resolve_each_path_against_its_own_dirfd, .fini = cleanup, .timeout = 60)
{
	struct it_trace t;
	char p[PATH_MAX];
	struct exp x[16];
	size_t n = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	cr_assert_eq(mkdir(in_wb(p, "d1"), 0755), 0);
	cr_assert_eq(mkdir(in_wb(p, "d2"), 0755), 0);
	write_file(in_wb(p, "d1/a"), "a");

	it_start(&t, TW_EVENTS_FILE, false, at_workload, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "openat2", .path = P("d1/o2"), .st = &sh->st[0]};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "mknodat", .path = P("d2/fifo")};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "symlinkat", .path = P("d2/s"), .target = "some/where"};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "linkat", .path = P("d2/h"), .source = P("d1/a")};
#ifdef SYS_renameat
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, "renameat", .old_path = P("d1/a"), .new_path = P("d2/b")};
#else
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, "renameat2", .old_path = P("d1/a"), .new_path = P("d2/b")};
#endif
	x[n++] = (struct exp){TW_EVENT_FILE_RENAME, "renameat2", .old_path = P("d2/b"), .new_path = P("d1/c")};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchmodat", .path = P("d1/c"), .change = "permissions"};
	if (sh->fchmodat2_errno)
		cr_log_info("fchmodat2 is not in this kernel (%s), its event is not checked",
			    strerror(sh->fchmodat2_errno));
	else
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchmodat2", .path = P("d1/c"),
				      .change = "permissions"};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchownat", .path = P("d1/c"), .change = "owner"};
#ifdef SYS_lchown
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "lchown", .path = P("d2/s"), .change = "owner"};
#else
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchownat", .path = P("d2/s"), .change = "owner"};
#endif
	if (sh->xattr_errno)
		cr_log_info("lsetxattr(user.l) failed with %s, the xattr event is not checked",
			    strerror(sh->xattr_errno));
	else
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "lsetxattr", .path = P("d1/c"), .change = "xattr"};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, "unlinkat", .path = P("d2/s")};
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "mkdirat", .path = P("d2/sub")};
	x[n++] = (struct exp){TW_EVENT_FILE_DELETE, "unlinkat", .path = P("d2/sub")};
	check_sequence(&t, x, n);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- the fd calls: the open file's path and its state after the call ---- */

static void fd_workload(void *arg)
{
	struct iovec iov = {.iov_base = "xy", .iov_len = 2};
	char p[PATH_MAX];
	int fd, k = 0;

	(void)arg;
	umask(0);
	fd = STEP(syscall(SYS_openat, AT_FDCWD, in_wb(p, "f"), O_CREAT | O_EXCL | O_RDWR, 0644));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(pwrite(fd, "a", 1, 0));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(writev(fd, &iov, 1));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(syscall(SYS_pwritev, fd, &iov, 1, 10, 0));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(syscall(SYS_pwritev2, fd, &iov, 1, 20, 0, 0));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(fallocate(fd, 0, 0, 4096));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(ftruncate(fd, 3));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(fchmod(fd, 0600));
	STEP(fstat(fd, &sh->st[k++]));
	STEP(fchown(fd, 7, 8));
	STEP(fstat(fd, &sh->st[k++]));
	if (fsetxattr(fd, "user.f", "1", 1, 0) < 0) {
		if (errno != ENOTSUP)
			STEP(-1);
		sh->xattr_errno = errno;
	}
	STEP(fstat(fd, &sh->st[k++]));
	STEP(close(fd));
}

/* Window 0, so every content call is its own event (with a window they coalesce). */
Test(file, fd_calls_report_the_open_file_and_its_state, .fini = cleanup, .timeout = 60)
{
	static const char *const calls[] = {"pwrite64", "writev", "pwritev", "pwritev2", "fallocate",
					    "ftruncate"};
	struct it_trace t;
	struct exp x[16];
	size_t n = 0, k = 0;
	char *base;

	it_require_bpf();
	shared_reset();
	n_pool = 0;
	base = make_base();
	set_wb(base);
	it_write_window_ms = 0;
	it_start(&t, TW_EVENTS_FILE, false, fd_workload, NULL);
	it_write_window_ms = IT_WRITE_WINDOW_DEFAULT;
	run_workload(&t, 10000);
	no_losses(&t);
	x[n++] = (struct exp){TW_EVENT_FILE_CREATE, "openat", .path = P("f"), .st = &sh->st[k++]};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++, k++)
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, calls[i], .path = P("f"), .change = "content",
				      .writes = 1, .st = &sh->st[k], .check_size = true,
				      .size = (uint64_t)sh->st[k].st_size};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchmod", .path = P("f"), .change = "permissions",
			      .st = &sh->st[k++]};
	x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fchown", .path = P("f"), .change = "owner",
			      .st = &sh->st[k++]};
	if (sh->xattr_errno)
		cr_log_info("fsetxattr(user.f) failed with %s, the xattr event is not checked",
			    strerror(sh->xattr_errno));
	else
		x[n++] = (struct exp){TW_EVENT_FILE_MODIFY, "fsetxattr", .path = P("f"), .change = "xattr",
				      .st = &sh->st[k]};
	check_sequence(&t, x, n);
	/* the workload really changed what the events say (sizes were compared above) */
	cr_assert_eq(sh->st[5].st_size, 4096);
	cr_assert_eq(sh->st[6].st_size, 3);
	cr_assert_eq(sh->st[8].st_uid, 7);
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- long paths ---- */

/*
 * Make nested directories under `base` so that the deepest one's absolute
 * path is exactly `len` bytes; components are made relative to dirfds, so
 * no string the kernel sees is longer than a component. Returns a dirfd of
 * the deepest directory and its path in `out` (at least len + 1 bytes).
 */
static int deep_dir(const char *base, size_t len, char tag, char *out)
{
	size_t cur = strlen(base);
	int fd = open(base, O_RDONLY | O_DIRECTORY);
	char comp[256];

	cr_assert_geq(fd, 0);
	cr_assert_lt(cur + 2, len);
	strcpy(out, base);
	while (cur < len) {
		size_t room = len - cur - 1, c = room > 200 ? 200 : room;
		int nfd;

		if (room - c == 1) /* a last component of 0 bytes is impossible */
			c--;
		memset(comp, tag, c);
		comp[c] = '\0';
		cr_assert_eq(mkdirat(fd, comp, 0755), 0, "mkdirat at depth %zu: %s", cur, strerror(errno));
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY);
		cr_assert_geq(nfd, 0);
		close(fd);
		fd = nfd;
		out[cur] = '/';
		memcpy(out + cur + 1, comp, c);
		cur += 1 + c;
		out[cur] = '\0';
	}
	cr_assert_eq(strlen(out), len);
	return fd;
}

/* The workload's dirfd and the names it creates there. */
static int deep_fd = -1;
static char deep_file[256], deep_dir_name[256];

static void deep_workload(void *arg)
{
	int fd;

	(void)arg;
	fd = STEP(syscall(SYS_openat, deep_fd, deep_file, O_CREAT | O_EXCL | O_WRONLY, 0644));
	STEP(fstat(fd, &sh->st[0]));
	close(fd);
	STEP(syscall(SYS_mkdirat, deep_fd, deep_dir_name, 0755));
	STEP(syscall(SYS_unlinkat, deep_fd, deep_file, 0));
	STEP(syscall(SYS_unlinkat, deep_fd, deep_dir_name, AT_REMOVEDIR));
}

static char *join3(const char *dir, const char *name)
{
	char *s = malloc(strlen(dir) + strlen(name) + 2);

	cr_assert_not_null(s);
	sprintf(s, "%s/%s", dir, name);
	return s;
}

/* A file and a directory whose absolute paths are `file_len` bytes long: reported exactly. */
static void exact_long_paths(size_t file_len, char tag)
{
	static char dir[8192];
	struct it_trace t;
	struct exp x[4];
	char *base, *fpath, *dpath;

	it_require_bpf();
	shared_reset();
	base = make_base();
	snprintf(deep_file, sizeof(deep_file), "file");
	snprintf(deep_dir_name, sizeof(deep_dir_name), "dirx");
	deep_fd = deep_dir(base, file_len - 1 - strlen(deep_file), tag, dir);
	fpath = join3(dir, deep_file);
	dpath = join3(dir, deep_dir_name);
	cr_assert_eq(strlen(fpath), file_len);
	cr_assert_eq(strlen(dpath), file_len);

	it_start(&t, TW_EVENTS_FILE, false, deep_workload, NULL);
	run_workload(&t, 10000);
	no_losses(&t);
	x[0] = (struct exp){TW_EVENT_FILE_CREATE, "openat", .path = fpath, .st = &sh->st[0]};
	x[1] = (struct exp){TW_EVENT_FILE_CREATE, "mkdirat", .path = dpath};
	x[2] = (struct exp){TW_EVENT_FILE_DELETE, "unlinkat", .path = fpath};
	x[3] = (struct exp){TW_EVENT_FILE_DELETE, "unlinkat", .path = dpath};
	check_sequence(&t, x, 4);
	/* and on the wire: exact size including the NUL, not flagged */
	struct tw_event *evs;
	size_t n = file_events(&t, t.child, &evs);
	for (size_t i = 0; i < n; i++) {
		const struct tw_varlen_field *f = tw_event_field(&evs[i], TW_FIELD_PATH);
		cr_assert_not_null(f);
		cr_assert_eq(f->size, file_len + 1, "event %zu: field size %u", i, f->size);
		cr_assert_eq(f->flags & TW_FIELD_FLAG_TRUNCATED, 0, "event %zu: flagged truncated", i);
	}
	free(evs);
	it_stop(&t);
	close(deep_fd);
	free(fpath);
	free(dpath);
}

Test(file, path_of_4000_bytes_is_reported_exactly, .fini = cleanup, .timeout = 60)
{
	exact_long_paths(4000, 'p');
	cleanup(); /* also the .fini, for a test that failed */
}

/* 4095 bytes and the NUL: exactly TW_CAP_PATH, the longest path that is not cut. */
Test(file, path_of_4095_bytes_fills_the_cap_exactly, .fini = cleanup, .timeout = 60)
{
	exact_long_paths(TW_CAP_PATH - 1, 'q');
	cleanup(); /* also the .fini, for a test that failed */
}

/* A file and a directory created (then removed) under a deep directory, and their events. */
struct over_cap {
	char *base, *fpath, *dpath;
	struct tw_event *evs;
	size_t n;
	struct it_trace t;
};

static void over_cap_run(struct over_cap *o, size_t dir_len, size_t name_len, char tag)
{
	static char dir[8192];

	it_require_bpf();
	shared_reset();
	o->base = make_base();
	memset(deep_file, 'f', name_len);
	deep_file[name_len] = '\0';
	memset(deep_dir_name, 'd', name_len);
	deep_dir_name[name_len] = '\0';
	deep_fd = deep_dir(o->base, dir_len, tag, dir);
	o->fpath = join3(dir, deep_file);
	o->dpath = join3(dir, deep_dir_name);

	it_start(&o->t, TW_EVENTS_FILE, false, deep_workload, NULL);
	run_workload(&o->t, 10000);
	no_losses(&o->t);
	o->n = file_events(&o->t, o->t.child, &o->evs);
	for (size_t i = 0; i < o->n; i++) {
		const struct tw_varlen_field *f = tw_event_field(&o->evs[i], TW_FIELD_PATH);
		size_t l = f ? strnlen(f->data, f->size) : 0;
		cr_log_info("received %zu: %s, path of %zu bytes%s: \"%.30s...%s\"", i,
			    tw_event_type_name(o->evs[i].hdr->type), l,
			    f && (f->flags & TW_FIELD_FLAG_TRUNCATED) ? " (truncated)" : "",
			    f ? f->data : "", f ? f->data + (l > 30 ? l - 30 : 0) : "");
	}
	cr_assert_eq(o->n, 4, "create file, create dir, delete both: %zu events", o->n);
}

static void over_cap_done(struct over_cap *o)
{
	free(o->evs);
	it_stop(&o->t);
	close(deep_fd);
	free(o->fpath);
	free(o->dpath);
}

static const uint32_t over_cap_types[4] = {TW_EVENT_FILE_CREATE, TW_EVENT_FILE_CREATE,
					   TW_EVENT_FILE_DELETE, TW_EVENT_FILE_DELETE};
static const char *const over_cap_calls[4] = {"openat", "mkdirat", "unlinkat", "unlinkat"};

/*
 * A path over 4096 bytes: the directory part is 4000 bytes (built with
 * mkdirat relative to dirfds: the kernel refuses longer strings), the name
 * 200 more. Every event, whether its path came from the open file (walk)
 * or from dirfd + name (join), flags the field truncated.
 */
static void over_cap_flagged(size_t dir_len, size_t name_len, char tag)
{
	struct over_cap o;
	struct tw_stats s;

	over_cap_run(&o, dir_len, name_len, tag);
	for (size_t i = 0; i < 4; i++) {
		const struct tw_varlen_field *f = tw_event_field(&o.evs[i], TW_FIELD_PATH);
		cr_assert_eq(o.evs[i].hdr->type, over_cap_types[i]);
		cJSON *j = it_json(&o.evs[i]);
		cr_assert_str_eq(it_json_str(j, "syscall"), over_cap_calls[i]);
		cr_assert_not_null(f, "event %zu (%s): no path", i, over_cap_calls[i]);
		cr_assert(f->flags & TW_FIELD_FLAG_TRUNCATED, "event %zu (%s): path not flagged truncated",
			  i, over_cap_calls[i]);
		cr_assert_leq(f->size, TW_CAP_PATH, "event %zu: %u bytes", i, f->size);
		cr_assert_eq(f->data[f->size - 1], '\0');
		cJSON *tr = cJSON_GetObjectItem(j, "truncated_fields");
		cr_assert_eq(cJSON_GetArraySize(tr), 1, "event %zu (%s): truncated_fields", i,
			     over_cap_calls[i]);
		cr_assert_str_eq(cJSON_GetArrayItem(tr, 0)->valuestring, "path");
		cJSON_Delete(j);
	}
	cr_assert_eq(tw_ctx_stats(o.t.ctx, &s), 0);
	cr_assert_geq(s.type[TW_EVENT_FILE_CREATE].truncated, 2);
	cr_assert_geq(s.type[TW_EVENT_FILE_DELETE].truncated, 2);
	over_cap_done(&o);
}

Test(file, path_over_4096_bytes_is_flagged_truncated, .fini = cleanup, .timeout = 60)
{
	over_cap_flagged(4000, 200, 'r');
	cleanup(); /* also the .fini, for a test that failed */
}

/* 4096 bytes and the NUL: one byte over the cap. */
Test(file, path_one_byte_over_the_cap_is_flagged_truncated, .fini = cleanup, .timeout = 60)
{
	over_cap_flagged(TW_CAP_PATH - 1 - 4, 4, 's');
	cleanup(); /* also the .fini, for a test that failed */
}

/*
 * What a cut path keeps: docs/wire-format.md (6.4) says a path over 4096
 * bytes loses its leading components, what is kept is the tail, still
 * starting with "/". Checked for both ways a path is built.
 */
Test(file, truncated_path_keeps_its_tail_as_documented, .fini = cleanup, .timeout = 60)
{
	struct over_cap o;

	over_cap_run(&o, 4000, 200, 't');
	for (size_t i = 0; i < 4; i++) {
		const struct tw_varlen_field *f = tw_event_field(&o.evs[i], TW_FIELD_PATH);
		const char *real = i % 2 == 0 ? o.fpath : o.dpath;
		size_t rl = strlen(real), fl;

		cr_assert_not_null(f);
		fl = strnlen(f->data, f->size);
		cr_assert_eq(f->data[0], '/', "event %zu (%s): a cut path still starts with /", i,
			     over_cap_calls[i]);
		cr_assert_lt(fl, rl);
		cr_assert_eq(memcmp(f->data, real + rl - fl, fl), 0,
			     "event %zu (%s): the %zu bytes reported are not the tail of the real path "
			     "(they end in \"...%s\", the real path in \"...%s\")",
			     i, over_cap_calls[i], fl, f->data + (fl > 40 ? fl - 40 : 0), real + rl - 40);
	}
	over_cap_done(&o);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- storm: every create and delete is delivered or counted as lost ---- */

#define STORM ((int)it_scaled(10000)) /* TW_TEST_SCALE: fewer in emulated guests */

static void storm_workload(void *arg)
{
	char p[PATH_MAX], name[32];

	(void)arg;
	for (int i = 0; i < STORM; i++) {
		int fd;
		snprintf(name, sizeof(name), "s%05d", i);
		fd = STEP(sys_open(in_wb(p, name), O_CREAT | O_WRONLY, 0600));
		close(fd);
		STEP(sys_unlink(p));
	}
}

Test(file, storm_of_creates_and_deletes_is_complete_or_counted, .fini = cleanup, .timeout = 180)
{
	struct it_trace t;
	struct tw_stats s;
	size_t creates = 0, deletes = 0, in_order = 0;
	uint64_t lost = 0, emitted = 0;
	char *base, want[PATH_MAX];

	it_require_bpf();
	shared_reset();
	base = make_base();
	set_wb(base);
	it_start(&t, TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_DELETE), false,
		 storm_workload, NULL);
	run_workload(&t, 150000);
	for (size_t i = 0; i < t.n; i++) {
		struct tw_event ev;
		const struct tw_varlen_field *f;
		cr_assert_eq(tw_event_decode(t.recs[i].data, t.recs[i].len, &ev), 0);
		if (!is_file_event(ev.hdr->type))
			continue;
		cr_assert_eq(ev.hdr->pids.tgid, (uint32_t)t.child, "file event from outside the tree");
		f = tw_event_field(&ev, TW_FIELD_PATH);
		cr_assert_not_null(f);
		if (ev.hdr->type == TW_EVENT_FILE_CREATE) {
			creates++;
		} else {
			cr_assert_eq(ev.hdr->type, TW_EVENT_FILE_DELETE);
			deletes++;
		}
		/* without losses, event k is the create (k even) or the delete of file k/2 */
		size_t k = creates + deletes - 1;
		snprintf(want, sizeof(want), "%s/s%05zu", wb, k / 2 % 100000);
		if (ev.hdr->type == (k % 2 ? TW_EVENT_FILE_DELETE : TW_EVENT_FILE_CREATE) &&
		    !strcmp(f->data, want))
			in_order++;
	}
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	for (uint32_t ty = TW_EVENT_FILE_CREATE; ty <= TW_EVENT_FILE_DELETE; ty++) {
		lost += s.type[ty].lost_ringbuf + s.type[ty].lost_scratch;
		emitted += s.type[ty].emitted;
	}
	cr_log_info("storm: %d create+unlink pairs; %zu creates + %zu deletes received, %llu emitted, "
		    "%llu lost (create: ring %llu scratch %llu, delete: ring %llu scratch %llu); "
		    "%zu in exact order",
		    STORM, creates, deletes, (unsigned long long)emitted, (unsigned long long)lost,
		    (unsigned long long)s.type[TW_EVENT_FILE_CREATE].lost_ringbuf,
		    (unsigned long long)s.type[TW_EVENT_FILE_CREATE].lost_scratch,
		    (unsigned long long)s.type[TW_EVENT_FILE_DELETE].lost_ringbuf,
		    (unsigned long long)s.type[TW_EVENT_FILE_DELETE].lost_scratch, in_order);
	cr_assert_eq(creates + deletes, 2 * STORM - lost);
	cr_assert_eq(emitted, creates + deletes);
	cr_assert_eq(s.type[TW_EVENT_FILE_CREATE].received + s.type[TW_EVENT_FILE_DELETE].received,
		     creates + deletes);
	cr_assert_eq(s.decode_errors_total, 0);
	if (lost == 0)
		cr_assert_eq(in_order, 2 * STORM, "every event, in order, with its exact path");
	it_stop(&t);
	cleanup(); /* also the .fini, for a test that failed */
}

/* ---- POSIX shared memory: opens of /dev/shm files, stacked mounts included ---- */

static char shm_name[64];

static void run_shm(void *arg)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/%s", shm_name);
	fd = open(path, O_CREAT | O_RDWR, 0600); /* a create, not an shm open */
	if (fd < 0)
		_exit(120);
	close(fd);
	fd = open(path, O_RDONLY); /* opening the existing segment: FILE_SHMEM_OPEN */
	if (fd < 0)
		_exit(121);
	close(fd);
	unlink(path);
}

Test(file, shm_segment_open_is_reported)
{
	struct it_trace t;
	struct tw_event ev;
	char want[128];

	it_require_bpf();
	if (access("/dev/shm", W_OK) != 0)
		cr_skip_test("no writable /dev/shm here");
	snprintf(shm_name, sizeof(shm_name), "tw-it-shm-%d", getpid());
	it_start(&t, TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN), false,
		 run_shm, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(it_count(&t, TW_EVENT_FILE_SHMEM_OPEN, t.child), 1);
	cr_assert_eq(it_count(&t, TW_EVENT_FILE_CREATE, t.child), 1);
	cr_assert(it_find(&t, TW_EVENT_FILE_SHMEM_OPEN, t.child, 0, &ev));
	cJSON *j = it_json(&ev);
	snprintf(want, sizeof(want), "/dev/shm/%s", shm_name);
	cr_assert_str_eq(it_json_str(j, "path"), want);
	cr_assert_str_eq(it_json_str(j, "syscall"), "openat");
	cr_assert_str_eq(it_json_str(j, "file.type"), "file");
	cJSON_Delete(j);
	it_stop(&t);
}
