// SPDX-License-Identifier: Apache-2.0
/* In-kernel filtering, drop accounting under a burst, cgroup attribution. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BURST ((int)it_scaled(2000)) /* TW_TEST_SCALE: fewer in emulated guests */

static void run_exec_burst(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	for (int i = 0; i < BURST; i++) {
		pid_t p = fork();
		if (p == 0) {
			execv("/bin/true", argv);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	}
}

/*
 * 2,000 execs from the traced tree: every one is either delivered or
 * counted as lost. Nothing else on the machine may count (descendants filter).
 */
Test(filters, exec_burst_is_complete_or_exactly_counted, .timeout = 120)
{
	struct it_trace t;
	struct tw_stats s;
	size_t execs = 0;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_exec_burst, NULL);
	it_run(&t, 90000);
	for (size_t i = 0; i < t.n; i++) {
		struct tw_event ev;
		cr_assert_eq(tw_event_decode(t.recs[i].data, t.recs[i].len, &ev), 0);
		if (ev.hdr->type == TW_EVENT_PROCESS_EXEC) {
			cr_assert_eq(ev.hdr->pids.ppid, (uint32_t)t.child, "exec from outside the tree");
			execs++;
		}
	}
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	const struct tw_type_stats *x = &s.type[TW_EVENT_PROCESS_EXEC];
	cr_log_info("burst: %zu execs received, %llu lost (ring), %llu lost (scratch)", execs,
		    (unsigned long long)x->lost_ringbuf, (unsigned long long)x->lost_scratch);
	cr_assert_eq(execs + x->lost_ringbuf + x->lost_scratch, BURST);
	cr_assert_eq(x->emitted, execs);
	cr_assert_eq(x->received, execs);
	cr_assert_eq(s.decode_errors_total, 0);
	it_stop(&t);
}

/*
 * The same burst into a 16 KiB ring that nobody drains until the end: most
 * records cannot fit, and every one that did not is counted as lost.
 */
Test(filters, exec_burst_into_a_tiny_ring_counts_every_loss, .timeout = 120)
{
	struct it_trace t;
	struct tw_stats s;
	int status;

	it_ring_size = 16 * 1024;
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_exec_burst, NULL);
	it_ring_size = 0;
	cr_assert_eq(write(t.release_fd, "x", 1), 1);
	close(t.release_fd);
	waitpid(t.child, &status, 0); /* no draining meanwhile */
	tw_ctx_consume(t.ctx);
	size_t execs = it_count(&t, TW_EVENT_PROCESS_EXEC, 0);
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	const struct tw_type_stats *x = &s.type[TW_EVENT_PROCESS_EXEC];
	cr_log_info("tiny ring: %zu execs received, %llu lost", execs,
		    (unsigned long long)x->lost_ringbuf);
	cr_assert_gt(x->lost_ringbuf, 0, "a 16 KiB ring cannot hold the burst of exec events");
	cr_assert_eq(execs + x->lost_ringbuf + x->lost_scratch, BURST);
	cr_assert_geq(s.lost_total, x->lost_ringbuf + x->lost_scratch); /* exits were lost too */
	it_stop(&t);
}

/* An excluded process is never reported, and the kernel counts it as filtered. */
static void run_excluded_exec(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	execv("/bin/true", argv);
	_exit(127);
}

Test(filters, excluded_pid_is_filtered_in_kernel_and_counted)
{
	struct it_trace t;
	struct tw_stats s;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_excluded_exec, NULL);
	/* the include rule for the child stays; an exclude rule wins for that pid */
	cr_assert_eq(tw_ctx_add_pid_rule(t.ctx, t.child, TW_PID_EXCLUDE), 0);
	cr_assert_eq(write(t.release_fd, "x", 1), 1);
	close(t.release_fd);
	waitpid(t.child, NULL, 0);
	for (int i = 0; i < 10; i++)
		tw_ctx_poll(t.ctx, 20);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 0);
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_geq(s.type[TW_EVENT_PROCESS_EXEC].filtered, 1);
	cr_assert_eq(s.type[TW_EVENT_PROCESS_EXEC].lost_ringbuf, 0);
	it_stop(&t);
}

/* ---- cgroup: id and path of the container-identifying hierarchy ---- */

static char cg_dir[256];

/*
 * A fresh cgroup in the hierarchy the library reports (v2 on pure v2 hosts,
 * v1 memory on hybrid ones) at cg_dir; its name in *name, its directory in
 * *st (a cgroup's id is that inode). Skips, saying why, where none is writable.
 * Returns whether the host is pure v2.
 */
static bool make_test_cgroup(const char *tag, char *name, size_t len, struct stat *st)
{
	bool pure_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	const char *root = pure_v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";

	it_require_bpf();
	if (access(root, W_OK) != 0)
		cr_skip_test("no writable cgroup hierarchy at %s", root);
	snprintf(name, len, "%s-%d", tag, getpid());
	snprintf(cg_dir, sizeof(cg_dir), "%s/%s", root, name);
	cr_assert(mkdir(cg_dir, 0755) == 0 || errno == EEXIST);
	cr_assert_eq(stat(cg_dir, st), 0);
	return pure_v2;
}

static void run_in_cgroup(void *arg)
{
	char path[300], pid[32];
	char *argv[] = {"/bin/true", NULL};
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	fd = open(path, O_WRONLY);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		_exit(122);
	close(fd);
	execv("/bin/true", argv);
	_exit(127);
}

Test(filters, exec_reports_cgroup_path_and_id)
{
	struct it_trace t;
	struct tw_event ev;
	struct stat st;
	char name[64];
	bool pure_v2 = make_test_cgroup("tw-it", name, sizeof(name), &st);

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_in_cgroup, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "moving into the cgroup failed");
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	/* a cgroup's id is the inode number of its directory */
	cr_assert_eq(e->cgroup_id, st.st_ino);
	cJSON *j = it_json(&ev);
	char want[80];
	snprintf(want, sizeof(want), "/%s", name);
	cr_assert_str_eq(it_json_str(j, "cgroup.path"), want);
	cr_assert_str_eq(it_json_str(j, "cgroup.hierarchy"), pure_v2 ? "v2" : "v1:memory");
	cJSON_Delete(j);
	it_stop(&t);
	rmdir(cg_dir);
}

/* ---- path prefix rules, applied in the kernel ---- */

static char path_root[64];

static void touch(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s/%s", path_root, dir, name);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		_exit(120);
	close(fd);
}

static void run_path_workload(void *arg)
{
	char from[256], to[256];

	touch("keep", "a");           /* in */
	touch("keep/cache", "b");     /* excluded below an included prefix */
	touch("other", "c");          /* not under any include */
	snprintf(from, sizeof(from), "%s/other/c", path_root);
	snprintf(to, sizeof(to), "%s/keep/c", path_root);
	if (rename(from, to)) /* one of its two paths is in: kept */
		_exit(121);
	snprintf(from, sizeof(from), "%s/keepsake", path_root);
	if (mkdir(from, 0755)) /* "keep" must not match "keepsake" */
		_exit(122);
}

Test(filters, path_prefix_rules_keep_and_drop_in_the_kernel)
{
	struct it_trace t;
	struct tw_stats s;
	char keep[128], cache[128], dirs[3][128];
	struct tw_path_rule rules[2];

	it_require_bpf();
	snprintf(path_root, sizeof(path_root), "/tmp/tw-paths-%d", getpid());
	snprintf(dirs[0], sizeof(dirs[0]), "%s", path_root);
	snprintf(dirs[1], sizeof(dirs[1]), "%s/keep", path_root);
	snprintf(dirs[2], sizeof(dirs[2]), "%s/other", path_root);
	for (int i = 0; i < 3; i++)
		cr_assert(mkdir(dirs[i], 0755) == 0 || errno == EEXIST);
	snprintf(cache, sizeof(cache), "%s/keep/cache", path_root);
	cr_assert(mkdir(cache, 0755) == 0 || errno == EEXIST);
	snprintf(keep, sizeof(keep), "%s/keep", path_root);
	rules[0].prefix = keep;
	rules[0].exclude = false;
	rules[1].prefix = cache;
	rules[1].exclude = true;
	it_path_rules = rules;
	it_n_path_rules = 2;
	it_start(&t, TW_EVENTS_FILE, false, run_path_workload, NULL);
	it_path_rules = NULL;
	it_n_path_rules = 0;
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "workload failed: %d", status);

	cr_assert_eq(it_count(&t, TW_EVENT_FILE_CREATE, 0), 1, "only keep/a is created inside");
	struct tw_event ev;
	cr_assert(it_find(&t, TW_EVENT_FILE_CREATE, 0, 0, &ev));
	cJSON *j = it_json(&ev);
	char want[160];
	snprintf(want, sizeof(want), "%s/keep/a", path_root);
	cr_assert_str_eq(it_json_str(j, "path"), want);
	cJSON_Delete(j);
	cr_assert_eq(it_count(&t, TW_EVENT_FILE_RENAME, 0), 1, "the rename into keep/ is kept");
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	/* keep/cache/b, other/c and keepsake were dropped in the kernel and counted */
	cr_assert_eq(s.type[TW_EVENT_FILE_CREATE].filtered, 3);
	it_stop(&t);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", path_root);
	cr_assert_eq(system(cmd), 0);
}

/* ---- comm and uid filters, in the kernel ---- */

static void run_echo_true_as_1001(void *arg)
{
	char *echo[] = {"/bin/echo", "tw", NULL}, *tru[] = {"/bin/true", NULL};
	pid_t p = fork();
	if (p == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execv("/bin/echo", echo);
		_exit(127);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		if (setresuid(1001, 1001, 1001))
			_exit(126);
		execv("/bin/true", tru);
		_exit(127);
	}
	waitpid(p, NULL, 0);
}

static size_t execs_named(struct it_trace *t, const char *comm)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct tw_event ev;
		cr_assert_eq(tw_event_decode(t->recs[i].data, t->recs[i].len, &ev), 0);
		if (ev.hdr->type == TW_EVENT_PROCESS_EXEC &&
		    !strcmp(((const struct tw_process_exec *)ev.hdr)->comm, comm))
			n++;
	}
	return n;
}

Test(filters, comm_filter_keeps_only_that_command)
{
	struct it_trace t;
	struct tw_stats s;
	/* the test's own name too: the harness waits for its forked child's exit */
	struct tw_task_rule rules[2] = {{.kind = TW_RULE_COMM, .comm = "echo"},
					{.kind = TW_RULE_COMM, .comm = program_invocation_short_name}};

	char self[16] = "";
	FILE *f = fopen("/proc/self/comm", "r");
	if (f) {
		if (fgets(self, sizeof(self), f))
			self[strcspn(self, "\n")] = '\0';
		fclose(f);
	}
	rules[1].comm = self;
	it_task_rules = rules;
	it_n_task_rules = 2;
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_echo_true_as_1001, NULL);
	it_task_rules = NULL;
	it_n_task_rules = 0;
	it_run(&t, 5000);
	cr_assert_eq(execs_named(&t, "echo"), 1);
	cr_assert_eq(execs_named(&t, "true"), 0, "true is not echo");
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_geq(s.type[TW_EVENT_PROCESS_EXEC].filtered, 1, "the other exec was filtered, not lost");
	cr_assert_eq(s.type[TW_EVENT_PROCESS_EXEC].lost_ringbuf, 0);
	it_stop(&t);
}

Test(filters, uid_filter_excludes_that_user)
{
	struct it_trace t;
	struct tw_task_rule rule = {.kind = TW_RULE_UID, .uid = 1001, .exclude = true};

	it_task_rules = &rule;
	it_n_task_rules = 1;
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_echo_true_as_1001, NULL);
	it_task_rules = NULL;
	it_n_task_rules = 0;
	it_run(&t, 5000);
	cr_assert_eq(execs_named(&t, "echo"), 1, "uid 0 is not excluded");
	cr_assert_eq(execs_named(&t, "true"), 0, "uid 1001 is");
	it_stop(&t);
}

Test(filters, cgroup_filter_by_directory)
{
	struct it_trace t;
	struct stat st;
	char name[64];
	struct tw_task_rule rule = {.kind = TW_RULE_CGROUP, .cgroup_path = cg_dir};

	make_test_cgroup("tw-it-cgf", name, sizeof(name), &st);
	it_task_rules = &rule;
	it_n_task_rules = 1;
	/* the child moves itself into the cgroup, then execs: only that exec is inside */
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_in_cgroup, NULL);
	it_task_rules = NULL;
	it_n_task_rules = 0;
	it_run(&t, 5000);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 1);
	struct tw_event ev;
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	cr_assert_eq(((const struct tw_process_exec *)ev.hdr)->cgroup_id, st.st_ino);
	it_stop(&t);
	rmdir(cg_dir);
}
