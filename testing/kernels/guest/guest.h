// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel-matrix guest (testing/kernels): a static binary that is /init of
 * a small initramfs. It loads tracewire's probes through the library on the
 * guest's kernel, runs a small workload, checks the events, probes which
 * precise hooks the kernel offers, and reports everything as "TWK ..." lines
 * on the serial console (parsed by testing/kernels/run-matrix.sh).
 */
#ifndef TWK_GUEST_H
#define TWK_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tracewire.h"

#define TWK_MAX_DOMAINS 8

/* What phase 1 found for one domain of the library (probe_table.c's tw_domains[]). */
struct twk_domain_result {
	const char *name;
	uint64_t mask;     /* event types of its programs */
	bool ok;           /* tw_ctx_open() succeeded with this domain alone */
	int programs, attached, unavailable, failed;
	long ms;           /* load and attach time */
};

/* One "TWK ..." line on stdout (the console), written with a single write(). */
void twk_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A value for a key=value pair: spaces and quotes made harmless, at most 160 bytes. */
const char *twk_clean(const char *s, char *buf, size_t len);
/* Free text for the last pair of a line (error=...): spaces kept, controls removed. */
const char *twk_text(const char *s, char *buf, size_t len);
long twk_now_ms(void);
/* The value of KEY= on the kernel command line ("twk.suite_timeout="), or false. */
bool twk_cmdline_value(const char *key, char *buf, size_t len);
/* The program the workload executes: /bin/twk-true in the guest, $TWK_TRUE to override. */
const char *twk_true_path(void);

/* Phase 1: every domain alone through tw_ctx_open(); per program state. */
int twk_load_domains(struct twk_domain_result *out, size_t max);
/* Run-queue latency companion (its own object) with one clock (enum tw_sched_clock):
   loads, and measures a sleeping child's waits. */
bool twk_load_sched(int clock);
/* Per-process network accounting (its own object): loads, and counts a child's UDP datagrams. */
bool twk_load_netacct(void);
/* Phase 2: one context with every domain that loaded, a workload, event checks. */
int twk_check_events(const struct twk_domain_result *d, size_t n);
/* Phase 3: fentry/fexit/kprobe/LSM/tp_btf/raw_tp on chosen targets. */
int twk_probe_hooks(void);
/* Phase 5: the Criterion integration suite staged under /suite (suite.c); failed binaries. */
bool twk_suite_present(void);
int twk_run_suite(void);
/* Kernel facts: release, BTF, LSMs, helpers and map types the probes rely on. */
void twk_report_features(void);

/* The workload (runs in a child): returns its exit status. */
int twk_workload(void);

/* File events in detail (files.c): workload part, per-event check, hook set, report. */
int twk_files_workload(void);
void twk_files_on_event(const struct tw_event *ev, pid_t workload);
int twk_files_hooks(struct tw_ctx *ctx, uint64_t loaded);
int twk_files_report(uint64_t loaded);
/* Did the library choose the vfs set for file events here (phase 2)? */
bool twk_files_vfs_chosen(void);
/* Where the vfs set was chosen: the file workload again on the tracepoints, same checks. */
int twk_files_second_pass(void);

#endif
