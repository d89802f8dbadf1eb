// SPDX-License-Identifier: Apache-2.0
/* Credential changes, sessions, ptrace, memfd and SysV shm from the real probes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"


/* A child that does all of it, in order, and writes back what it got. */
static int results[2];

static void run_calls(void *arg)
{
	char buf[65536];
	char *argv[] = {"memfd-true", NULL}, *envp[] = {NULL};
	int fd, in, id;
	ssize_t n;
	pid_t sleeper;

	if (setsid() < 0)
		_exit(110);
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		_exit(111);
	shmctl(id, IPC_RMID, NULL);
	if (write(results[1], &id, sizeof(id)) != sizeof(id))
		_exit(112);
	sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	if (ptrace(PTRACE_ATTACH, sleeper, 0, 0))
		_exit(113);
	waitpid(sleeper, NULL, 0);
	ptrace(PTRACE_DETACH, sleeper, 0, 0);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	if (write(results[1], &sleeper, sizeof(sleeper)) != sizeof(sleeper))
		_exit(114);
	if (setresgid(2001, 2002, 2003) || setresuid(1001, 1002, 1003))
		_exit(115);
	if (setuid(0) == 0) /* fails now: no event */
		_exit(116);
	fd = memfd_create("tw-proc-memfd", MFD_CLOEXEC);
	in = open("/bin/true", O_RDONLY);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			_exit(117);
	fexecve(fd, argv, envp);
	_exit(118);
}

static const struct tw_process_call *call(struct it_trace *t, uint32_t type, size_t idx,
					  struct tw_event *ev)
{
	cr_assert(it_find(t, type, t->child, idx, ev), "no %s event #%zu", tw_event_type_name(type), idx);
	return (const void *)ev->hdr;
}

Test(proc_calls, setsid_shmget_ptrace_setid_memfd_are_reported_exactly)
{
	struct it_trace t;
	struct tw_event ev;
	int shmid;
	pid_t sleeper;

	cr_assert_eq(pipe(results), 0);
	it_start(&t, TW_EVENTS_PROCESS, false, run_calls, NULL);
	int status = it_run(&t, 10000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "workload failed: %d", status);
	cr_assert_eq(read(results[0], &shmid, sizeof(shmid)), sizeof(shmid));
	cr_assert_eq(read(results[0], &sleeper, sizeof(sleeper)), sizeof(sleeper));

	const struct tw_process_call *c = call(&t, TW_EVENT_PROCESS_SETSID, 0, &ev);
	cr_assert_eq(c->ret, t.child, "the new session id is the caller's pid");
	cr_assert_eq(c->hdr.pids.sid, (uint32_t)t.child);

	c = call(&t, TW_EVENT_PROCESS_SHMGET, 0, &ev);
	cr_assert_eq(c->ret, shmid);
	cr_assert_eq(c->args[1], 4096);
	cJSON *j = it_json(&ev);
	cr_assert_eq(it_json_num(j, "key"), 0, "IPC_PRIVATE");
	cr_assert_eq(it_json_num(j, "shmid"), shmid);
	cJSON_Delete(j);

	/* attach and detach: two ptrace events, the attach first */
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_PTRACE, t.child), 2);
	c = call(&t, TW_EVENT_PROCESS_PTRACE, 0, &ev);
	j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "request"), "PTRACE_ATTACH");
	cr_assert_eq(it_json_num(j, "target_pid"), sleeper);
	cJSON_Delete(j);

	/* setresgid then setresuid; the failed setuid(0) is not reported */
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_SETGID, t.child), 1);
	c = call(&t, TW_EVENT_PROCESS_SETGID, 0, &ev);
	cr_assert_eq(c->creds.rgid, 2001);
	cr_assert_eq(c->creds.egid, 2002);
	cr_assert_eq(c->creds.sgid, 2003);
	cr_assert_eq(c->fsgid, 2002);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_SETUID, t.child), 1, "failed setuid(0) reported");
	c = call(&t, TW_EVENT_PROCESS_SETUID, 0, &ev);
	cr_assert_eq(c->creds.ruid, 1001);
	cr_assert_eq(c->creds.euid, 1002);
	cr_assert_eq(c->creds.suid, 1003);
	j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "syscall"), "setresuid");
	cJSON_Delete(j);

	/* memfd_create, then the exec of that memfd carries the memfd flag */
	c = call(&t, TW_EVENT_PROCESS_MEMFD_CREATE, 0, &ev);
	cr_assert_eq(c->args[1], MFD_CLOEXEC);
	j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "memfd_name"), "tw-proc-memfd");
	cJSON_Delete(j);
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXEC, t.child, 0, &ev));
	cr_assert(((const struct tw_process_exec *)ev.hdr)->flags & TW_EXEC_FLAG_MEMFD);
	it_stop(&t);
}
