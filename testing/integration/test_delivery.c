// SPDX-License-Identifier: Apache-2.0
/* Delivery latency under each wakeup policy, at a low event rate. */
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static void run_true(void *arg)
{
	char *argv[] = {"/bin/true", NULL};
	execv("/bin/true", argv);
	_exit(127);
}

/* The library default: adaptive wakeups (256 KiB) bounded by a 50 ms drain. */
Test(delivery, adaptive_wakeup_delivers_a_lone_event_within_100ms)
{
	struct it_trace t;

	it_wakeup_bytes = 256 * 1024;
	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_true, NULL);
	it_wakeup_bytes = -1;
	it_run(&t, 5000);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 1);
	cr_log_info("adaptive: slowest delivery %.1f ms", t.max_delay_ns / 1e6);
	cr_assert_lt(t.max_delay_ns, 100 * 1000000ull, "event took %.1f ms to arrive",
		     t.max_delay_ns / 1e6);
	it_stop(&t);
}

Test(delivery, kernel_wakeup_delivers_a_lone_event_within_100ms)
{
	struct it_trace t;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_true, NULL);
	it_run(&t, 5000);
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 1);
	cr_log_info("kernel policy: slowest delivery %.1f ms", t.max_delay_ns / 1e6);
	cr_assert_lt(t.max_delay_ns, 100 * 1000000ull);
	it_stop(&t);
}

/*
 * The threshold can be changed while running (through the live .data map):
 * raised above what is pending, the kernel no longer wakes the consumer,
 * though the records are there to be drained.
 */
Test(delivery, wakeup_threshold_changes_at_run_time)
{
	struct it_trace t;
	struct pollfd p;

	it_start(&t, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), false, run_true, NULL);
	cr_assert_eq(tw_ctx_set_wakeup_bytes(t.ctx, 1u << 30), 0);
	cr_assert_eq(write(t.release_fd, "x", 1), 1);
	close(t.release_fd);
	waitpid(t.child, NULL, 0);
	p.fd = tw_ctx_fd(t.ctx);
	p.events = POLLIN;
	cr_assert_eq(poll(&p, 1, 200), 0, "woken up below the threshold");
	cr_assert_geq(tw_ctx_consume(t.ctx), 2, "exec and exit records were pending");
	cr_assert_eq(it_count(&t, TW_EVENT_PROCESS_EXEC, t.child), 1);
	it_stop(&t);
}
