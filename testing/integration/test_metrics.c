// SPDX-License-Identifier: Apache-2.0
/*
 * The two library calls the metrics need, on the real probes: the ring's
 * fill level (tw_ctx_ring_pending) and per-program kernel statistics
 * (tw_ctx_prog_stats).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "tracewire.h"
#include "tracewire_metrics.h"

#define EXECS 5

struct tally {
	size_t records, ring_bytes;
};

static int on_event(void *user, const struct tw_event *ev)
{
	(void)ev;
	((struct tally *)user)->records++;
	return 0;
}

/* What a record occupies in a BPF ring: an 8-byte header, then the data rounded up to 8. */
static void on_raw(void *user, const void *data, size_t len)
{
	(void)data;
	((struct tally *)user)->ring_bytes += 8 + ((len + 7) & ~(size_t)7);
}

static struct tw_ctx *open_exec_of_children(struct tally *t)
{
	struct tw_options o;
	struct tw_ctx *ctx;
	static struct tw_pid_rule rule;
	char err[512];

	tw_options_init(&o);
	o.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC);
	o.exclude_self = false;
	/* only what this test process starts, so nothing else lands in the ring */
	rule.pid = (uint32_t)getpid();
	rule.flags = TW_PID_INCLUDE | TW_PID_DESCENDANTS;
	o.pid_rules = &rule;
	o.n_pid_rules = 1;
	cr_assert_eq(tw_ctx_open(&ctx, &o, on_event, t, err, sizeof(err)), 0, "%s", err);
	tw_ctx_set_raw_tap(ctx, on_raw, t);
	return ctx;
}

static void run_true(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		cr_assert_gt(p, 0);
		cr_assert_eq(waitpid(p, NULL, 0), p);
	}
}

Test(metrics_ctx, ring_pending_is_exactly_the_unconsumed_records)
{
	struct tally t = {0};
	struct tw_ctx *ctx;
	uint64_t before, pending, after;

	it_require_bpf();
	ctx = open_exec_of_children(&t);
	cr_assert_eq(tw_ctx_ring_pending(ctx, &before), 0);
	cr_assert_eq(before, 0, "nothing was traced yet, %lu bytes pending", (unsigned long)before);
	run_true(EXECS);
	/* nobody consumed: the records are all still in the ring */
	cr_assert_eq(tw_ctx_ring_pending(ctx, &pending), 0);
	cr_assert_eq(tw_ctx_consume(ctx), EXECS);
	cr_assert_eq(t.records, EXECS);
	cr_assert_eq(pending, t.ring_bytes, "pending %lu, the %d records took %zu bytes",
		     (unsigned long)pending, EXECS, t.ring_bytes);
	cr_assert_eq(tw_ctx_ring_pending(ctx, &after), 0);
	cr_assert_eq(after, 0, "consumed, yet %lu bytes pending", (unsigned long)after);
	tw_ctx_close(ctx);
}

Test(metrics_ctx, program_statistics_of_the_loaded_programs)
{
	struct tally t = {0};
	struct tw_prog_stats st[64], one;
	struct tw_ctx *ctx;
	const struct tw_prog_stats *exec = NULL;
	int n, enabled;

	it_require_bpf();
	ctx = open_exec_of_children(&t);
	run_true(EXECS);
	n = tw_ctx_prog_stats(ctx, st, 64);
	cr_assert_gt(n, 0);
	for (int i = 0; i < n; i++)
		if (!strcmp(st[i].program, "tw_process_exec"))
			exec = &st[i];
	cr_assert_not_null(exec, "tw_process_exec is loaded");
	/* a short array gets the first entries, the count of all */
	cr_assert_eq(tw_ctx_prog_stats(ctx, &one, 1), n);
	cr_assert_str_eq(one.program, st[0].program);
	enabled = tw_metrics_bpf_stats_enabled();
	cr_assert_neq(enabled, -1, "kernel.bpf_stats_enabled is readable");
	if (enabled == 1) {
		/* it runs on every exec of the host, our EXECS at least */
		cr_assert_geq(exec->run_count, EXECS);
		cr_assert_gt(exec->run_time_ns, 0);
	} else {
		cr_assert_eq(exec->run_count, 0, "the kernel counts nothing with the sysctl off");
	}
	tw_ctx_close(ctx);
}
