// SPDX-License-Identifier: Apache-2.0
/*
 * Process events from the real probes: run real workloads, assert the exact
 * events and fields the kernel reported.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static const struct tw_varlen_field *field(const struct tw_event *ev, uint16_t type)
{
	const struct tw_varlen_field *f = tw_event_field(ev, type);
	cr_assert_not_null(f, "field %s missing", tw_field_type_name(type));
	return f;
}

static void exec_or_die(const char *path, char *const argv[])
{
	execv(path, argv);
	_exit(127);
}

static void quiet_stdout(void)
{
	int fd = open("/dev/null", O_WRONLY);
	dup2(fd, 1);
	close(fd);
}

/* ---- exec of /bin/echo with known argv, cwd and credentials ---- */

static char exec_dir[PATH_MAX];

static void run_echo(void *arg)
{
	char *argv[] = {"/bin/echo", "alpha", "beta gamma", "", "δ", NULL};
	if (chdir(exec_dir))
		_exit(126);
	quiet_stdout();
	exec_or_die("/bin/echo", argv);
}

Test(process, exec_reports_exact_filename_argv_cwd_creds)
{
	struct it_trace t;
	struct tw_event ev;
	char tmpl[] = "/tmp/tw-it-XXXXXX", real_echo[PATH_MAX], real_dir[PATH_MAX];

	it_require_bpf();
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(exec_dir, sizeof(exec_dir), "%s/work dir", tmpl);
	cr_assert_eq(mkdir(exec_dir, 0755), 0);
	cr_assert_not_null(realpath(exec_dir, real_dir));
	cr_assert_not_null(realpath("/bin/echo", real_echo));

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_echo, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 1);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	cr_assert_eq(e->hdr.pids.tid, (uint32_t)t.child);
	cr_assert_eq(e->hdr.pids.ppid, (uint32_t)getpid());
	cr_assert_eq(e->hdr.pids.sid, (uint32_t)getsid(0));
	cr_assert_eq(e->hdr.pids.pgid, (uint32_t)getpgid(0));
	cr_assert_gt(e->hdr.pids.start_time_ns, 0);
	cr_assert_eq(e->creds.ruid, getuid());
	cr_assert_eq(e->creds.euid, geteuid());
	cr_assert_eq(e->creds.rgid, getgid());
	cr_assert_str_eq(e->comm, "echo");

	cJSON *j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "event_type"), "PROCESS_EXEC");
	cr_assert_str_eq(it_json_str(j, "filename"), "/bin/echo");
	cr_assert_str_eq(it_json_str(j, "executable"), real_echo);
	cr_assert_str_eq(it_json_str(j, "cwd"), real_dir);
	cJSON *argv = cJSON_GetObjectItem(j, "argv");
	const char *want[] = {"/bin/echo", "alpha", "beta gamma", "", "δ"};
	cr_assert_eq(cJSON_GetArraySize(argv), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(cJSON_GetArrayItem(argv, i)->valuestring, want[i]);
	cr_assert_null(cJSON_GetObjectItem(j, "argv_b64"));
	cr_assert_null(cJSON_GetObjectItem(j, "env"), "env is opt-in");
	cr_assert_null(cJSON_GetObjectItem(j, "truncated_fields"));
	cJSON_Delete(j);

	/* the process's own /proc entry agrees on the namespaces */
	struct stat st;
	cr_assert_eq(stat("/proc/self/ns/mnt", &st), 0);
	cr_assert_eq(e->ns.mnt, st.st_ino);
	cr_assert_eq(stat("/proc/self/ns/net", &st), 0);
	cr_assert_eq(e->ns.net, st.st_ino);
	cr_assert_eq(stat("/proc/self/ns/pid", &st), 0);
	cr_assert_eq(e->ns.pid, st.st_ino);
	it_stop(&t);
}

/* ---- credentials of a process that dropped privileges ---- */

static void run_as_other_user(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	if (setresgid(2001, 2002, 2003) || setresuid(1001, 1002, 1003))
		_exit(125);
	exec_or_die("/bin/true", argv);
}

Test(process, exec_reports_real_effective_saved_ids)
{
	struct it_trace t;
	struct tw_event ev;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_as_other_user, NULL);
	int st = it_run(&t, 5000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the workload failed: wait status %#x", st);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	/* exec copies the effective ids into the saved ones */
	cr_assert_eq(e->creds.ruid, 1001);
	cr_assert_eq(e->creds.euid, 1002);
	cr_assert_eq(e->creds.suid, 1002);
	cr_assert_eq(e->creds.rgid, 2001);
	cr_assert_eq(e->creds.egid, 2002);
	cr_assert_eq(e->creds.sgid, 2002);
	cr_assert_eq(e->creds.cap_effective, 0, "a non-root exec has no effective capabilities");
	it_stop(&t);
}

/* ---- 30 KB of argv is cut at exactly 20 KiB and flagged ---- */

static void run_long_argv(void *arg)
{
	static char big[30][1001];
	char *argv[32] = {"/bin/true"};
	for (int i = 0; i < 30; i++) {
		memset(big[i], 'a' + i % 26, 1000);
		big[i][1000] = '\0';
		argv[i + 1] = big[i];
	}
	exec_or_die("/bin/true", argv);
}

Test(process, argv_over_cap_is_truncated_at_20k_and_flagged)
{
	struct it_trace t;
	struct tw_event ev;
	struct tw_stats s;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_long_argv, NULL);
	it_run(&t, 5000);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_varlen_field *argv = field(&ev, TW_FIELD_ARGV);
	cr_assert_eq(argv->size, 20480);
	cr_assert(argv->flags & TW_FIELD_FLAG_TRUNCATED);
	cr_assert_eq(memcmp(argv->data, "/bin/true\0aaaa", 14), 0);

	cJSON *j = it_json(&ev);
	cJSON *tr = cJSON_GetObjectItem(j, "truncated_fields");
	cr_assert_eq(cJSON_GetArraySize(tr), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(tr, 0)->valuestring, "argv");
	cJSON_Delete(j);
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_geq(s.type[TW_EVENT_PROCESS_EXEC].truncated, 1);
	it_stop(&t);
}

/* ---- environment, only when asked for ---- */

static void run_with_env(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {"TW_TEST_VAR=hello world", "PATH=/usr/bin", NULL};
	execve("/bin/true", argv, envp);
	_exit(127);
}

Test(process, env_is_captured_when_enabled)
{
	struct it_trace t;
	struct tw_event ev;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), true, run_with_env, NULL);
	it_run(&t, 5000);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	cJSON *j = it_json(&ev);
	cJSON *env = cJSON_GetObjectItem(j, "env");
	cr_assert_eq(cJSON_GetArraySize(env), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(env, 0)->valuestring, "TW_TEST_VAR=hello world");
	cr_assert_str_eq(cJSON_GetArrayItem(env, 1)->valuestring, "PATH=/usr/bin");
	cJSON_Delete(j);
	it_stop(&t);
}

/* ---- exit code and death by signal ---- */

static void run_exit3(void *arg)
{
	_exit(3);
}

Test(process, exit_code_3_is_reported_exactly)
{
	struct it_trace t;
	struct tw_event ev;

	it_start(&t, 0, false, run_exit3, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXIT, t.child), 1, "exactly one exit per process");
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXIT, t.child, 0, &ev));
	const struct tw_process_exit *e = (const void *)ev.hdr;
	cr_assert_eq(e->exit_status, 3);
	cr_assert_eq(e->signal, 0);
	cr_assert_eq(e->core_dumped, 0);
	cr_assert_eq(e->exit_code, status, "raw code is the wait status");
	it_stop(&t);
}

static void run_sleep_forever(void *arg)
{
	for (;;)
		pause();
}

Test(process, death_by_sigkill_is_reported_exactly)
{
	struct it_trace t;
	struct tw_event ev;

	it_start(&t, 0, false, run_sleep_forever, NULL);
	cr_assert_eq(write(t.release_fd, "x", 1), 1);
	close(t.release_fd);
	usleep(50 * 1000);
	kill(t.child, SIGKILL);
	int status;
	waitpid(t.child, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (int i = 0; i < 100 && !it_count(&t, TW_EVENT_PROCESS_EXIT, t.child); i++)
		tw_ctx_poll(t.ctx, 20);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXIT, t.child, 0, &ev));
	const struct tw_process_exit *e = (const void *)ev.hdr;
	cr_assert_eq(e->signal, SIGKILL);
	cr_assert_eq(e->exit_status, 0);
	cr_assert_eq(e->core_dumped, 0);
	it_stop(&t);
}

/* ---- fork: parent and child pid blocks; threads are not processes ---- */

static void *thread_body(void *arg)
{
	return NULL;
}

static void run_fork_and_thread(void *arg)
{
	pthread_t th;
	pid_t p;

	pthread_create(&th, NULL, thread_body, NULL);
	pthread_join(th, NULL);
	p = fork();
	if (p == 0)
		_exit(7);
	waitpid(p, NULL, 0);
}

Test(process, fork_reports_parent_and_child_not_threads)
{
	struct it_trace t;
	struct tw_event ev, exit_ev;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_FORK), false, run_fork_and_thread, NULL);
	it_run(&t, 5000);
	/* only the fork() of the child: the thread is not reported */
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_FORK, 0), 1);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_FORK, 0, 0, &ev));
	const struct tw_process_fork *f = (const void *)ev.hdr;
	cr_assert_eq(f->parent.tgid, (uint32_t)t.child);
	cr_assert_eq(f->hdr.pids.ppid, (uint32_t)t.child);
	cr_assert_neq(f->hdr.pids.tgid, (uint32_t)t.child);
	cr_assert_eq(f->hdr.pids.tgid, f->hdr.pids.tid);
	/* the grandchild's exit carries its code and the same pid */
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXIT, f->hdr.pids.tgid, 0, &exit_ev));
	cr_assert_eq(((const struct tw_process_exit *)exit_ev.hdr)->exit_status, 7);
	cr_assert_eq(((const struct tw_process_exit *)exit_ev.hdr)->hdr.pids.start_time_ns,
		     f->hdr.pids.start_time_ns);
	it_stop(&t);
}

/* ---- cwd across mount points ---- */

static void run_in_shm(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	if (chdir((const char *)arg))
		_exit(126);
	exec_or_die("/bin/true", argv);
}

Test(process, cwd_crosses_mount_points)
{
	const char *dirs[] = {"/dev/shm", "/proc/self", "/sys/kernel"};
	for (size_t i = 0; i < 3; i++) {
		struct it_trace t;
		struct tw_event ev;
		char real[PATH_MAX];

		it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_in_shm, (void *)dirs[i]);
		it_run(&t, 5000);
		cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
		cJSON *j = it_json(&ev);
		if (i == 1) /* /proc/self resolves to the child's own pid directory */
			snprintf(real, sizeof(real), "/proc/%d", t.child);
		else
			cr_assert_not_null(realpath(dirs[i], real));
		cr_assert_str_eq(it_json_str(j, "cwd"), real);
		cJSON_Delete(j);
		it_stop(&t);
	}
}

/* ---- setuid and memfd executables are flagged ---- */

static char suid_path[PATH_MAX];

static void run_suid(void *arg)
{
	char *argv[] = {suid_path, NULL};
	exec_or_die(suid_path, argv);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	ssize_t n;
	cr_assert(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, n), n);
	close(in);
	close(out);
	cr_assert_eq(chmod(to, mode), 0);
}

Test(process, setuid_executable_is_flagged)
{
	struct it_trace t;
	struct tw_event ev;
	char tmpl[] = "/tmp/tw-suid-XXXXXX";

	it_require_bpf();
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(suid_path, sizeof(suid_path), "%s/true-suid", tmpl);
	copy_file("/bin/true", suid_path, 04755);
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_suid, NULL);
	it_run(&t, 5000);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	cr_assert(e->flags & TW_EXEC_FLAG_SETUID);
	cr_assert_not(e->flags & TW_EXEC_FLAG_MEMFD);
	it_stop(&t);
	unlink(suid_path);
	rmdir(tmpl);
}

static void run_memfd(void *arg)
{
	char buf[65536];
	char *argv[] = {"memfd-true", NULL}, *envp[] = {NULL};
	int fd = memfd_create("tw-test", MFD_CLOEXEC), in = open("/bin/true", O_RDONLY);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			_exit(124);
	fexecve(fd, argv, envp);
	_exit(127);
}

Test(process, memfd_exec_is_flagged)
{
	struct it_trace t;
	struct tw_event ev;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_memfd, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fexecve of a memfd failed");
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	cr_assert(e->flags & TW_EXEC_FLAG_MEMFD);
	cJSON *j = it_json(&ev);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "memfd")));
	cr_assert_str_eq(it_json_str(j, "executable"), "/memfd:tw-test");
	cJSON_Delete(j);
	it_stop(&t);
}

/* ---- controlling terminal: numbers and window size ---- */

static int pty_slave_fd = -1;

static void run_on_pty(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	struct winsize ws = {.ws_row = 41, .ws_col = 132};
	setsid();
	if (ioctl(pty_slave_fd, TIOCSCTTY, 0) || ioctl(pty_slave_fd, TIOCSWINSZ, &ws))
		_exit(123);
	exec_or_die("/bin/true", argv);
}

Test(process, controlling_tty_is_reported)
{
	struct it_trace t;
	struct tw_event ev;
	int master;
	char name[64];
	struct stat st;

	it_require_bpf();
	cr_assert_eq(openpty(&master, &pty_slave_fd, name, NULL, NULL), 0);
	cr_assert_eq(fstat(pty_slave_fd, &st), 0);
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_on_pty, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	const struct tw_process_exec *e = (const void *)ev.hdr;
	cr_assert_eq(e->tty.major, major(st.st_rdev));
	cr_assert_eq(e->tty.minor, minor(st.st_rdev));
	cr_assert_eq(e->tty.rows, 41);
	cr_assert_eq(e->tty.cols, 132);
	cJSON *j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "tty.name"), name + strlen("/dev/"));
	cJSON_Delete(j);
	it_stop(&t);
	close(master);
	close(pty_slave_fd);
}

/* ---- startup snapshot: processes already running when tracing starts ---- */

static int snapshot_collect(void *user, const struct tw_event *ev)
{
	struct it_trace *t = user;
	if (ev->hdr->type != TW_EVENT_PROCESS_SNAPSHOT || t->n >= 1)
		return 0;
	t->recs = realloc(t->recs, sizeof(*t->recs));
	t->recs[0].data = malloc(ev->len);
	memcpy(t->recs[0].data, ev->hdr, ev->len);
	t->recs[0].len = ev->len;
	t->n = 1;
	return 0;
}

Test(process, snapshot_reports_a_running_process_exactly)
{
	struct it_trace t = {0};
	struct tw_options o;
	struct tw_pid_rule rule;
	struct tw_event ev;
	char tmpl[] = "/tmp/tw-snap-XXXXXX", real_dir[PATH_MAX], err[512];
	pid_t sleeper;

	it_require_bpf();
	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, real_dir));
	sleeper = fork();
	if (sleeper == 0) {
		char *argv[] = {"/bin/sleep", "31", "--", NULL};
		if (chdir(tmpl))
			_exit(126);
		execv("/bin/sleep", argv);
		_exit(127);
	}
	/* wait until it is sleep, not still us */
	for (int i = 0; i < 200; i++) {
		char path[64], comm[32] = "";
		snprintf(path, sizeof(path), "/proc/%d/comm", sleeper);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		if (!strncmp(comm, "sleep", 5))
			break;
		usleep(10000);
	}
	tw_options_init(&o);
	o.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT);
	rule.pid = sleeper;
	rule.flags = TW_PID_INCLUDE;
	o.pid_rules = &rule;
	o.n_pid_rules = 1;
	cr_assert_eq(tw_ctx_open(&t.ctx, &o, snapshot_collect, &t, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 20 && !t.n; i++)
		tw_ctx_poll(t.ctx, 50);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);

	cr_assert_eq(t.n, 1, "no snapshot of the running sleeper");
	cr_assert_eq(tw_event_decode(t.recs[0].data, t.recs[0].len, &ev), 0);
	const struct tw_process_exec *e = (const void *)ev.hdr;
	cr_assert_eq(e->hdr.pids.tgid, (uint32_t)sleeper);
	cr_assert_eq(e->hdr.pids.ppid, (uint32_t)getpid());
	cr_assert_str_eq(e->comm, "sleep");
	cr_assert_eq(e->creds.euid, geteuid());
	cJSON *j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "event_type"), "PROCESS_SNAPSHOT");
	cr_assert_str_eq(it_json_str(j, "cwd"), real_dir);
	char real_sleep[PATH_MAX];
	cr_assert_not_null(realpath("/bin/sleep", real_sleep));
	cr_assert_str_eq(it_json_str(j, "executable"), real_sleep);
	cJSON *argv = cJSON_GetObjectItem(j, "argv");
	cr_assert_eq(cJSON_GetArraySize(argv), 3);
	cr_assert_str_eq(cJSON_GetArrayItem(argv, 0)->valuestring, "/bin/sleep");
	cr_assert_str_eq(cJSON_GetArrayItem(argv, 1)->valuestring, "31");
	cr_assert_str_eq(cJSON_GetArrayItem(argv, 2)->valuestring, "--");
	cJSON_Delete(j);
	it_stop(&t);
	rmdir(tmpl);
}
