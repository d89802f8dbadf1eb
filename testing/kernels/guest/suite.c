// SPDX-License-Identifier: Apache-2.0
/*
 * Phase 5: the project's Criterion integration suite, unchanged, on the
 * guest's kernel. run-matrix.sh --suite stages the test binaries, the tools
 * they run and their shared libraries (stage-suite.sh), and the kernel's own
 * modules (fetch-kernel.sh); each binary runs as on the host
 * (`it_X --jobs 1`, TW_REQUIRE_BPF=1, so a test that cannot load fails rather
 * than skips), its TAP report is read back and every test reported:
 *
 *   TWK TEST bin=it_file test=file::main_sequence_on_tmpfs status=pass|fail|skip [reason=...]
 *   TWK SUITE bin=it_file status=pass|fail tested=17 passed=17 failed=0 skipped=0 exit=0 ms=...
 *
 * Where the vfs set was chosen for file events, it_file runs a second time
 * with the syscall tracepoints forced (bin=it_file+tracepoints).
 *
 * A binary that outlives its time (twk.suite_timeout=S, default 900 s) is
 * killed with its process group and counts as failed. twk.test_scale=PCT
 * becomes TW_TEST_SCALE: the tests' bursts and storms, scaled down for
 * emulation (harness.h, it_scaled); their assertions are the host's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

#define SUITE_DIR "/suite"
#define MODULE_DIR "/modules"

bool twk_suite_present(void)
{
	return access(SUITE_DIR "/list", R_OK) == 0;
}

/* The kernel's own modules the suite needs (veth), in fetch-kernel.sh's order. */
static void load_modules(void)
{
	FILE *f = fopen(MODULE_DIR "/order", "r");
	char name[128], path[256], buf[200];

	if (!f)
		return;
	while (fgets(name, sizeof(name), f)) {
		int fd, rc;

		name[strcspn(name, "\n")] = '\0';
		if (!name[0])
			continue;
		snprintf(path, sizeof(path), MODULE_DIR "/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		rc = fd >= 0 ? (int)syscall(SYS_finit_module, fd, "", 0) : -1;
		twk_say("MODULE name=%s loaded=%d error=%s", name, rc == 0 || errno == EEXIST,
			rc == 0 ? "-" : twk_clean(strerror(errno), buf, sizeof(buf)));
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* A number from the kernel command line (twk.suite_timeout=...), or def. */
static long cmdline_long(const char *key, long def)
{
	char v[32];

	return twk_cmdline_value(key, v, sizeof(v)) ? strtol(v, NULL, 10) : def;
}

static pid_t start_binary(const char *bin, const char *tap, long scale, const char *file_hooks)
{
	char path[256], tap_opt[300], scale_s[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	setpgid(0, 0);
	if (chdir("/tmp"))
		_exit(126);
	snprintf(path, sizeof(path), SUITE_DIR "/%s", bin);
	snprintf(tap_opt, sizeof(tap_opt), "--tap=%s", tap);
	snprintf(scale_s, sizeof(scale_s), "%ld", scale);
	setenv("TW_REQUIRE_BPF", "1", 1);
	setenv("TW_TEST_SCALE", scale_s, 1); /* bursts and storms scaled down: emulation */
	setenv("TW_TEST_EMULATED", "1", 1);  /* timing tolerances that emulation stretches */
	if (file_hooks)
		setenv("TRACEWIRE_FILE_HOOKS", file_hooks, 1);
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/tmp", 1);
	execl(path, bin, "--jobs", "1", "--verbose=1", "--ascii", "-S", tap_opt, (char *)NULL);
	_exit(127);
}

/* Wait for pid up to timeout_ms; kill its group after that. Returns wait status, timed_out set. */
static int wait_binary(pid_t pid, long timeout_ms, bool *timed_out)
{
	long t0 = twk_now_ms();
	int status = 0;

	*timed_out = false;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (twk_now_ms() - t0 > timeout_ms) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return status;
		}
		usleep(100 * 1000);
	}
}

struct tap_counts {
	int tested, passed, failed, skipped;
};

/* Criterion's TAP: "ok - suite::name  (0.08s)", "not ok - ...", "ok - ... # SKIP reason". */
static void read_tap(const char *bin, const char *tap, struct tap_counts *c)
{
	FILE *f = fopen(tap, "r");
	char line[2048], name[256], buf[200];

	memset(c, 0, sizeof(*c));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		bool ok = !strncmp(line, "ok - ", 5), nok = !strncmp(line, "not ok - ", 9);
		const char *status;

		if (!ok && !nok)
			continue;
		sscanf(line + (ok ? 5 : 9), "%255s", name);
		c->tested++;
		if (nok) {
			c->failed++;
			status = "fail";
		} else if (strstr(line, "# SKIP")) {
			c->skipped++;
			status = "skip";
		} else {
			c->passed++;
			status = "pass";
		}
		const char *why = strstr(line, "# SKIP");
		char why_buf[200];

		line[strcspn(line, "\n")] = '\0';
		twk_say("TEST bin=%s test=%s status=%s%s%s", bin, twk_clean(name, buf, sizeof(buf)), status,
			why ? " reason=" : "", why ? twk_text(why + 6, why_buf, sizeof(why_buf)) : "");
	}
	fclose(f);
}

/* One binary (file_hooks: TRACEWIRE_FILE_HOOKS for it, or NULL); true when it passed. */
static bool run_binary(const char *bin, const char *label, const char *file_hooks, long timeout_ms,
		       long scale)
{
	struct tap_counts c;
	long t0 = twk_now_ms();
	bool timed_out = false, pass;
	char tap[256];
	int status, code;
	pid_t pid;

	snprintf(tap, sizeof(tap), "/tmp/%s.tap", label);
	twk_say("SUITE-BEGIN bin=%s", label);
	pid = start_binary(bin, tap, scale, file_hooks);
	status = pid > 0 ? wait_binary(pid, timeout_ms, &timed_out) : -1;
	code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	read_tap(label, tap, &c);
	/* a clean exit with no failing test, and at least one test run */
	pass = pid > 0 && !timed_out && code == 0 && !c.failed && c.tested > 0;
	twk_say("SUITE bin=%s status=%s tested=%d passed=%d failed=%d skipped=%d exit=%d "
		"timed_out=%d ms=%ld",
		label, pass ? "pass" : "fail", c.tested, c.passed, c.failed, c.skipped, code, timed_out,
		twk_now_ms() - t0);
	return pass;
}

int twk_run_suite(void)
{
	FILE *list = fopen(SUITE_DIR "/list", "r");
	long timeout_ms = cmdline_long("twk.suite_timeout=", 900) * 1000;
	long scale = cmdline_long("twk.test_scale=", 100);
	char bin[128];
	int failed_bins = 0, bins = 0;
	bool has_file = false;

	if (!list)
		return 0;
	load_modules();
	while (fgets(bin, sizeof(bin), list)) {
		bin[strcspn(bin, "\n")] = '\0';
		if (!bin[0])
			continue;
		has_file |= !strcmp(bin, "it_file");
		failed_bins += !run_binary(bin, bin, NULL, timeout_ms, scale);
		bins++;
	}
	fclose(list);
	/*
	 * Where the vfs set served the file events, the file tests once more on
	 * the syscall tracepoints (forced), so both hook sets meet the same tests
	 * on the same kernel.
	 */
	if (has_file && twk_files_vfs_chosen()) {
		failed_bins += !run_binary("it_file", "it_file+tracepoints", "syscall_tracepoints",
					   timeout_ms, scale);
		bins++;
	}
	twk_say("SUITE-TOTAL binaries=%d failed=%d", bins, failed_bins);
	return failed_bins;
}
