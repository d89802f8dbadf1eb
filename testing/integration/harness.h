// SPDX-License-Identifier: Apache-2.0
/*
 * Integration test harness: loads the real probes through the library,
 * runs a workload in a child that waits until tracing is attached, and
 * collects every record the workload's process tree produced.
 */
#ifndef TW_IT_HARNESS_H
#define TW_IT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "tracewire.h"

struct it_record {
	void *data;
	size_t len;
};

struct it_trace {
	struct tw_ctx *ctx;
	struct it_record *recs;
	size_t n, cap;
	pid_t child;
	int release_fd;
	uint64_t max_delay_ns; /* longest time from an event's timestamp to its delivery */
};

typedef void (*it_workload_fn)(void *arg);

/* Ring size for the next it_start (0: library default); tests of drop accounting shrink it. */
extern uint32_t it_ring_size;
/* Wakeup threshold for the next it_start (-1: 0, a wakeup per record, the harness default). */
extern int64_t it_wakeup_bytes;
/* Task (comm / uid / cgroup) rules for the next it_start (NULL: none). */
extern const struct tw_task_rule *it_task_rules;
extern size_t it_n_task_rules;
/* Path prefix rules for the next it_start (NULL: none). */
extern const struct tw_path_rule *it_path_rules;
extern size_t it_n_path_rules;
/* tty byte budget per second for the next it_start (0: none). */
extern uint64_t it_tty_budget;
/* File write coalescing window for the next it_start (IT_WRITE_WINDOW_DEFAULT: library default). */
#define IT_WRITE_WINDOW_DEFAULT UINT32_MAX
extern uint32_t it_write_window_ms;
/* How long an EXIT waits for its connections' CLOSED in the next it_start (-1: library default). */
extern int64_t it_exit_hold_ms;
/* Periodic TCP metrics interval for the next it_start (0: off, the default). */
extern uint32_t it_tcp_metrics_interval_ms;

/*
 * Skip (with the reason printed) where BPF cannot load: not root or no BTF.
 * On the CI machine neither holds, so these tests really run there.
 */
void it_require_bpf(void);
/*
 * The running kernel refused a feature by design (the library's -ENOTSUP,
 * e.g. network accounting without the sock_send_length tracepoint): skip
 * with why, unless TW_REQUIRE_ALL_FEATURES is set (the CI host, whose
 * kernel has every feature: there a refusal is a failure). The kernel-matrix
 * guests do not set it, so older kernels report these tests as skipped.
 */
void it_skip_kernel_lacks(const char *why);

/*
 * Fork a child that waits, then runs fn(arg) and _exit(0)s; open the library
 * with `mask` (PROCESS_EXIT is always added: the harness waits for the
 * child's exit) following the child and its descendants only.
 */
void it_start(struct it_trace *t, uint64_t mask, bool env, it_workload_fn fn, void *arg);
/* Release the child, reap it, and drain until its EXIT arrived (or timeout; three times as long
   with TW_TEST_EMULATED, set in the kernel-matrix guests). Returns wait status. */
int it_run(struct it_trace *t, int timeout_ms);
void it_stop(struct it_trace *t);

/* The idx-th (0-based) decoded record of `type` from process `pid` (0: any), or false. */
bool it_find(struct it_trace *t, uint32_t type, pid_t pid, size_t idx, struct tw_event *out);
size_t it_count(struct it_trace *t, uint32_t type, pid_t pid);

/* The event as JSON, parsed back with cJSON (caller cJSON_Delete()s). */
cJSON *it_json(const struct tw_event *ev);
const char *it_json_str(cJSON *o, const char *path); /* "cgroup.path" style paths */
double it_json_num(cJSON *o, const char *path);

/*
 * Cgroups for tests: a fresh directory <root>/<tag>-<pid> under a hierarchy's
 * mount (e.g. /sys/fs/cgroup/cpu); its path into dir, its id (the directory's
 * inode number) returned. Skips, saying why, when root is not writable.
 */
uint64_t it_cgroup_create(const char *root, const char *tag, char *dir, size_t len);
/* Move process pid (0: the caller) into the cgroup at dir. Returns 0 or -errno. */
int it_cgroup_enter(const char *dir, pid_t pid);
/* Remove the cgroup, retrying briefly while its exited tasks are still being reaped. */
void it_cgroup_remove(const char *dir);

/*
 * A workload count scaled by TW_TEST_SCALE (percent, default 100), at least 1.
 * The kernel-matrix guests run under software emulation and set it lower, so a
 * burst stays within minutes there; every assertion about fields is unchanged.
 */
unsigned it_scaled(unsigned n);

/* Run a shell command built like printf; the test fails when it fails. */
void it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Move the calling process into the network namespace /run/netns/NAME. Returns 0 or -1. */
int it_enter_netns(const char *name);

#endif
