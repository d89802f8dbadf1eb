// SPDX-License-Identifier: GPL-2.0-only
/*
 * The synthetic maximum (testing/bench/ring_ceiling.c): programs on
 * syscalls/sys_enter_getppid, a syscall that does almost nothing, so the
 * event path is all that is measured. One program is loaded per run:
 *
 *   rc_floor     returns at once: the price of having any program there
 *   rc_bare      bpf_ringbuf_output of rc_bare_size bytes from the stack and
 *                nothing else: the physical limit of one shared ring here
 *   rc_tw        a record built and emitted the way the probes do it
 *                (tw_emit.h: scratch, header with pid block, counters)
 *   rc_filtered  the probes' filter check that rejects the event (pid rule)
 *
 * Every program uses the probes' own maps (tw_maps.h), so the wakeup policy
 * (tw_cfg_wakeup_bytes) and the ring are the same for the bare producer and
 * the tracewire-shaped one: the difference is the emit path alone.
 * Never loaded by the library.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "tw_emit.h"
#include "tw_filter.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

/* Bytes per bare record (the issue asks for 64); masked to the stack buffer. */
const volatile __u32 rc_bare_size = 64;
/* Only the workload's own calls count: other processes call getppid too. */
const volatile __u32 rc_tgid = 0;

/* Failed bpf_ringbuf_output of the bare producer, per CPU (the tw path counts in tw_stats). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} rc_counts SEC(".maps");

#define RC_EMITTED 0
#define RC_LOST 1

static __always_inline int rc_other_process(void)
{
	return rc_tgid && (bpf_get_current_pid_tgid() >> 32) != rc_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int rc_floor(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int rc_bare(void *ctx)
{
	char rec[128];
	__u32 key;
	__u64 *n;

	if (rc_other_process())
		return 0;
	/* a record with a recognisable start; the rest is whatever the stack held */
	*(__u64 *)rec = bpf_ktime_get_ns();
	key = bpf_ringbuf_output(&tw_ringbuf, rec, rc_bare_size & 127, tw_wakeup_flags()) ? RC_LOST
											    : RC_EMITTED;
	n = bpf_map_lookup_elem(&rc_counts, &key);
	if (n)
		(*n)++;
	return 0;
}

/*
 * The smallest record the decoder accepts is the PROCESS_LOAD_MODULE layout
 * (80 bytes: header, pid block, empty variable-length area); this kernel has
 * no module tracepoint, so the type never appears for another reason.
 */
SEC("tracepoint/syscalls/sys_enter_getppid")
int rc_tw(void *ctx)
{
	struct tw_builder b;
	struct tw_event_header *h;
	__u32 type = TW_EVENT_PROCESS_LOAD_MODULE;
	__u32 fixed = 80, vl_off = 72;

	if (rc_other_process())
		return 0;
	h = tw_event__begin(&b, type, fixed, vl_off);
	if (!h)
		return 0;
	__builtin_memset(b.buf + sizeof(*h), 0, vl_off - sizeof(*h));
	tw_header__fill(h, type, (struct task_struct *)bpf_get_current_task());
	tw_event__emit(&b);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int rc_filtered(void *ctx)
{
	/* no rc_tgid test here: the pid rule is the filter being measured */
	if (tw_filter__rejects(bpf_get_current_pid_tgid() >> 32, TW_EVENT_PROCESS_LOAD_MODULE))
		return 0;
	/* not reached when the driver installed its exclude rule */
	return 0;
}

/*
 * The emit path without the pid block (type, cpu, timestamps only): the gap
 * to rc_tw is what reading the task's pid block costs, the gap to rc_bare
 * what scratch, counters and the wakeup query cost.
 */
SEC("tracepoint/syscalls/sys_enter_getppid")
int rc_tw_nopid(void *ctx)
{
	struct tw_builder b;
	struct tw_event_header *h;
	__u32 type = TW_EVENT_PROCESS_LOAD_MODULE;

	if (rc_other_process())
		return 0;
	h = tw_event__begin(&b, type, 80, 72);
	if (!h)
		return 0;
	__builtin_memset(b.buf + sizeof(*h) - sizeof(h->pids), 0, 72 - sizeof(*h) + sizeof(h->pids));
	h->type = type;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_mono_ns = bpf_ktime_get_ns();
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	tw_event__emit(&b);
	return 0;
}
