// SPDX-License-Identifier: Apache-2.0
/* Which probes load: only the requested ones, and a missing hook is not fatal. */
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <criterion/criterion.h>

#include "harness.h"
#include "probe_table.h"

Test(probes, hook_availability_follows_the_running_kernel)
{
	struct btf *vmlinux;

	it_require_bpf();
	vmlinux = btf__load_vmlinux_btf();
	cr_assert_not_null(vmlinux);
	cr_assert(tw_hook_available(vmlinux, "tp_btf/sched_process_exec"));
	cr_assert_not(tw_hook_available(vmlinux, "tp_btf/tw_no_such_tracepoint"));
	cr_assert(tw_hook_available(vmlinux, "tracepoint/syscalls/sys_enter_openat"));
	cr_assert_not(tw_hook_available(vmlinux, "tracepoint/syscalls/sys_enter_tw_nothing"));
	btf__free(vmlinux);
}

static int ignore(void *user, const struct tw_event *ev)
{
	return 0;
}

Test(probes, only_requested_event_types_are_attached)
{
	struct tw_options o;
	struct tw_ctx *ctx;
	char err[512];
	size_t n;

	it_require_bpf();
	tw_options_init(&o);
	o.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC);
	cr_assert_eq(tw_ctx_open(&ctx, &o, ignore, NULL, err, sizeof(err)), 0, "%s", err);
	const struct tw_probe_status *p = tw_ctx_probes(ctx, &n);
	/* process: exec, fork, exit, module, snapshot; file, tty, proc_calls: enter, exit;
	 * network: sockops, accept, release, cong_state, 2 resets; then any later domain */
	cr_assert_geq(n, 17, "%zu programs", n);
	for (size_t i = 0; i < n; i++) {
		enum tw_probe_state want = p[i].event_mask == TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC)
					       ? TW_PROBE_ATTACHED
					       : TW_PROBE_NOT_REQUESTED;
		cr_assert_eq(p[i].state, want, "%s in state %d", p[i].program, p[i].state);
	}
	tw_ctx_close(ctx);
}

Test(probes, a_ring_size_is_rounded_up_to_a_power_of_two)
{
	struct tw_options o;
	struct tw_ctx *ctx;
	char err[512];

	it_require_bpf();
	tw_options_init(&o);
	o.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT);
	o.ring_size = 3 * 1024 * 1024;
	cr_assert_eq(tw_ctx_open(&ctx, &o, ignore, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tw_ctx_ring_size(ctx), 4 * 1024 * 1024);
	tw_ctx_close(ctx);
}

/*
 * A probe whose hook this kernel lacks (module_load, on kernels built
 * without modules such as the CI machine's) is left out: everything else
 * loads, and its state says unavailable.
 */
Test(probes, a_missing_hook_does_not_stop_the_others)
{
	struct tw_options o;
	struct tw_ctx *ctx;
	struct btf *vmlinux;
	char err[512];
	size_t n, seen = 0;
	bool has_hook;

	it_require_bpf();
	vmlinux = btf__load_vmlinux_btf();
	has_hook = tw_hook_available(vmlinux, "tp_btf/module_load");
	btf__free(vmlinux);
	cr_log_info("module_load tracepoint %s on this kernel", has_hook ? "present" : "absent");

	tw_options_init(&o);
	o.event_mask = TW_EVENTS_PROCESS;
	cr_assert_eq(tw_ctx_open(&ctx, &o, ignore, NULL, err, sizeof(err)), 0, "%s", err);
	const struct tw_probe_status *p = tw_ctx_probes(ctx, &n);
	for (size_t i = 0; i < n; i++) {
		if (p[i].event_mask == TW_EVENT_BIT(TW_EVENT_PROCESS_LOAD_MODULE)) {
			cr_assert_eq(p[i].state, has_hook ? TW_PROBE_ATTACHED : TW_PROBE_UNAVAILABLE);
			seen++;
		} else if (p[i].event_mask & TW_EVENTS_PROCESS) {
			cr_assert_eq(p[i].state, TW_PROBE_ATTACHED, "%s not attached", p[i].program);
		}
	}
	cr_assert_eq(seen, 1);
	tw_ctx_close(ctx);
}
