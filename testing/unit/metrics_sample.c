// SPDX-License-Identifier: Apache-2.0
/*
 * Prints an exposition text with every family tracewire_metrics.h can render,
 * filled with awkward values (label values with quotes, backslashes, newlines
 * and invalid UTF-8; histograms with data at both ends), for
 * `promtool check metrics` (ctest unit_metrics_promtool).
 */
#include <stdio.h>
#include <string.h>

#include "tracewire_metrics.h"

static void tcp(struct tw_metrics *m, uint64_t cookie, uint16_t sport, uint16_t dport, uint32_t srtt)
{
	struct tw_tcp_metrics t;
	struct tw_event ev = {.hdr = &t.hdr, .len = sizeof(t)};

	memset(&t, 0, sizeof(t));
	t.hdr.type = TW_EVENT_NETWORK_TCP_METRICS;
	t.hdr.size = sizeof(t);
	t.cookie = cookie;
	t.reason = TW_TCP_METRICS_END;
	t.tuple.sport = sport;
	t.tuple.dport = dport;
	t.srtt_us = srtt;
	t.retrans_segs = 3;
	t.flags = TW_NET_FLAG_RESET_SENT;
	tw_metrics_observe_event(m, &ev);
}

int main(void)
{
	struct tw_metrics_options o;
	struct tw_metrics *m;
	struct tw_stats s = {0};
	struct tw_ship_stats ship = {.events_enqueued = 3, .spool_bytes = 100, .last_http_status = 200};
	struct tw_sched_stats sched = {.intervals = 2, .dropped_pair_full = 1};
	struct tw_netacct_stats na = {.procs = 3, .map_bytes = 1 << 20};
	struct tw_probe_status probes[] = {
	    {"tw_process_exec", "tp_btf/sched_process_exec", 0, TW_PROBE_ATTACHED},
	    {"tw_process_load_module", "tp_btf/module_load", 0, TW_PROBE_UNAVAILABLE},
	    {"tw_tty_sys_enter", "tracepoint/syscalls/sys_enter_write", 0, TW_PROBE_NOT_REQUESTED}};
	struct tw_prog_stats progs[] = {{"tw_process_exec", 12, 34567, 1}};
	struct tw_metrics_health h = {.stats = &s,
				      .event_mask = TW_EVENTS_ALL,
				      .ring_size = 1 << 23,
				      .ring_pending_known = true,
				      .ring_pending_bytes = 128,
				      .probes = probes,
				      .n_probes = 3,
				      .bpf_stats_enabled = 1,
				      .progs = progs,
				      .n_progs = 1,
				      .ship = &ship,
				      .sched = &sched,
				      .netacct = &na,
				      .scrapes = 5};
	struct tw_sched_offender of = {.cgroup_id = 2, .path = "/quote\"d", .preempted = 1, .waited = 1,
				       .waited_ns = 999};
	struct tw_sched_record r = {.cgroup_id = 1, .cgroup_path = "/a\\b\nc", .sum_ns = 1234567,
				    .switches = 9, .preempted = 2, .preempted_cross = 1,
				    .offenders = &of, .n_offenders = 1};
	struct tw_netacct_proc procs[2];
	struct tw_metrics_buf b = {0};

	tw_metrics_options_init(&o);
	o.top = 2;
	if (!(m = tw_metrics_new(&o)))
		return 1;
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
		s.type[t].emitted = s.type[t].received = t;
	s.decode_errors[TW_DECODE_UNKNOWN_TYPE] = 1;
	r.buckets[0] = 1;
	r.buckets[tw_sched_bucket(5000)] = 2;
	r.buckets[TW_SCHED_BUCKETS - 1] = 1;
	tw_metrics_observe_sched(m, &r);
	r.cgroup_id = 3;
	r.cgroup_path = NULL; /* a cgroup gone before its path was read */
	tw_metrics_observe_sched(m, &r);
	for (int i = 0; i < 5; i++)
		tcp(m, 0, 40000 + i, 443 + i, 100u << (3 * i));
	memset(procs, 0, sizeof(procs));
	procs[0].pid = 42;
	snprintf(procs[0].comm, sizeof(procs[0].comm), "we\"ird\\\xff");
	procs[0].udp_out.payload_bytes = 7;
	procs[0].other_in.wire_bytes = 60;
	procs[1].pid = 43;
	snprintf(procs[1].comm, sizeof(procs[1].comm), "plain");
	procs[1].tcp_in.packets = 1;
	tw_metrics_observe_netacct(m, procs, 2);
	if (tw_metrics_render(m, &h, &b))
		return 1;
	fwrite(b.data, 1, b.len, stdout);
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
	return 0;
}
