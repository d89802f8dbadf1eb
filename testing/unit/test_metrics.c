// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus exposition (tracewire_metrics.h): the text format (escaping,
 * exact decimals), the agent's families, histograms (cumulative buckets,
 * _sum, _count), TCP flow aggregation and the bounded label sets (top N plus
 * "other", counters that never go down).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tracewire_metrics.h"

/* The value of the sample whose name and labels are exactly `series` ("name{a=\"b\"}"); NULL if absent. */
static const char *value_of(const struct tw_metrics_buf *b, const char *series, char *out, size_t outlen)
{
	size_t n = strlen(series);
	const char *p = b->data;

	while (p && *p) {
		if (!strncmp(p, series, n) && p[n] == ' ') {
			const char *v = p + n + 1, *end = strchr(v, '\n');
			size_t l = end ? (size_t)(end - v) : strlen(v);
			snprintf(out, outlen, "%.*s", (int)l, v);
			return out;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static unsigned long long u64_of(const struct tw_metrics_buf *b, const char *series)
{
	char v[64];
	cr_assert(value_of(b, series, v, sizeof(v)), "no sample %s in:\n%s", series, b->data);
	return strtoull(v, NULL, 10);
}

static void assert_value(const struct tw_metrics_buf *b, const char *series, const char *want)
{
	char v[64];
	cr_assert(value_of(b, series, v, sizeof(v)), "no sample %s in:\n%s", series, b->data);
	cr_assert_str_eq(v, want, "%s is %s, want %s", series, v, want);
}

/* ---- text format ---- */

Test(metrics_text, label_values_are_escaped)
{
	struct tw_metrics_buf b = {0};
	const char *l[] = {"comm", "a\\b\"c\nd", "path", "caf\xc3\xa9\xff", NULL};

	tw_metrics_sample_u64(&b, "x_total", l, 7);
	/* backslash, quote and newline escaped; valid UTF-8 kept; a stray byte replaced */
	cr_assert_str_eq(b.data, "x_total{comm=\"a\\\\b\\\"c\\nd\",path=\"caf\xc3\xa9?\"} 7\n");
	tw_metrics_buf_free(&b);
}

Test(metrics_text, help_escapes_backslash_and_newline_only)
{
	struct tw_metrics_buf b = {0};

	tw_metrics_family(&b, "x_total", "counter", "a \"quoted\" \\ line\nnext");
	cr_assert_str_eq(b.data, "# HELP x_total a \"quoted\" \\\\ line\\nnext\n# TYPE x_total counter\n");
	tw_metrics_buf_free(&b);
}

Test(metrics_text, scaled_values_are_exact_decimals)
{
	char s[48];

	tw_metrics_format_scaled(1500, 1000000000, s, sizeof(s));
	cr_assert_str_eq(s, "0.0000015");
	tw_metrics_format_scaled(2000000000, 1000000000, s, sizeof(s));
	cr_assert_str_eq(s, "2");
	tw_metrics_format_scaled(0, 1000000, s, sizeof(s));
	cr_assert_str_eq(s, "0");
	tw_metrics_format_scaled(1024, 1000000000, s, sizeof(s));
	cr_assert_str_eq(s, "0.000001024");
	/* beyond a double's 53 bits: no digit lost */
	tw_metrics_format_scaled(18446744073709551615ull, 1000000000, s, sizeof(s));
	cr_assert_str_eq(s, "18446744073.709551615");
	tw_metrics_format_scaled(42, 1, s, sizeof(s));
	cr_assert_str_eq(s, "42");
}

/* ---- agent health ---- */

Test(metrics_render, per_type_counters_with_type_labels)
{
	struct tw_stats s = {0};
	struct tw_metrics_buf b = {0};
	struct tw_prog_stats progs[] = {{"tw_process_exec", 10, 1500, 0}};
	struct tw_metrics_health h = {.stats = &s,
				      .event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC),
				      .ring_size = 8 << 20,
				      .ring_pending_known = true,
				      .ring_pending_bytes = 4096,
				      .bpf_stats_enabled = 1,
				      .progs = progs,
				      .n_progs = 1};

	s.type[TW_EVENT_PROCESS_EXEC].emitted = 5;
	s.type[TW_EVENT_PROCESS_EXEC].received = 4;
	s.type[TW_EVENT_PROCESS_EXEC].lost_ringbuf = 1;
	s.type[TW_EVENT_FILE_CREATE].filtered = 9; /* not asked for, but not zero: shown */
	s.decode_errors[TW_DECODE_SIZE_MISMATCH] = 2;
	cr_assert_eq(tw_metrics_render(NULL, &h, &b), 0);
	cr_assert_eq(u64_of(&b, "tracewire_events_emitted_total{type=\"PROCESS_EXEC\"}"), 5);
	cr_assert_eq(u64_of(&b, "tracewire_events_received_total{type=\"PROCESS_EXEC\"}"), 4);
	cr_assert_eq(u64_of(&b, "tracewire_events_dropped_total{type=\"PROCESS_EXEC\",reason=\"ring_full\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_events_dropped_total{type=\"PROCESS_EXEC\",reason=\"no_scratch\"}"), 0);
	cr_assert_eq(u64_of(&b, "tracewire_events_filtered_total{type=\"FILE_CREATE\"}"), 9);
	cr_assert_eq(u64_of(&b, "tracewire_decode_errors_total{reason=\"size_mismatch\"}"), 2);
	cr_assert_eq(u64_of(&b, "tracewire_ring_buffer_size_bytes"), 8 << 20);
	cr_assert_eq(u64_of(&b, "tracewire_ring_buffer_pending_bytes"), 4096);
	cr_assert_eq(u64_of(&b, "tracewire_bpf_program_runs_total{program=\"tw_process_exec\"}"), 10);
	assert_value(&b, "tracewire_bpf_program_run_seconds_total{program=\"tw_process_exec\"}", "0.0000015");
	/* a type neither asked for nor counted stays out */
	cr_assert_null(strstr(b.data, "type=\"FILE_DELETE\""));
	cr_assert(strstr(b.data, "# TYPE tracewire_events_emitted_total counter\n"));
	cr_assert(strstr(b.data, "# TYPE tracewire_ring_buffer_pending_bytes gauge\n"));
	tw_metrics_buf_free(&b);
}

Test(metrics_render, program_stats_only_when_the_kernel_counts)
{
	struct tw_metrics_buf b = {0};
	struct tw_prog_stats progs[] = {{"tw_process_exec", 0, 0, 0}};
	struct tw_metrics_health h = {.bpf_stats_enabled = 0, .progs = progs, .n_progs = 1};

	tw_metrics_render(NULL, &h, &b);
	cr_assert_eq(u64_of(&b, "tracewire_bpf_stats_enabled"), 0);
	cr_assert_null(strstr(b.data, "tracewire_bpf_program_runs_total"));
	tw_metrics_buf_free(&b);
}

Test(metrics_render, shipper_counters)
{
	struct tw_ship_stats s = {.events_enqueued = 10, .events_shipped = 8, .retries = 3,
				  .events_dropped = 1, .dead_letter_dropped = 2, .spool_bytes = 4096,
				  .last_http_status = -1};
	struct tw_metrics_health h = {.bpf_stats_enabled = -1, .ship = &s};
	struct tw_metrics_buf b = {0};

	tw_metrics_render(NULL, &h, &b);
	cr_assert_eq(u64_of(&b, "tracewire_ship_events_shipped_total"), 8);
	cr_assert_eq(u64_of(&b, "tracewire_ship_retries_total"), 3);
	cr_assert_eq(u64_of(&b, "tracewire_ship_events_dropped_total{reason=\"spool\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_ship_events_dropped_total{reason=\"dead_letter\"}"), 2);
	cr_assert_eq(u64_of(&b, "tracewire_ship_spool_bytes"), 4096);
	cr_assert_eq(u64_of(&b, "tracewire_ship_last_http_status"), 0);
	cr_assert_null(strstr(b.data, "tracewire_bpf_stats_enabled"));
	tw_metrics_buf_free(&b);
}

/* Within each histogram series, bucket counts never decrease from one le to the next. */
static void assert_buckets_cumulative(const struct tw_metrics_buf *b)
{
	char key[512] = "", line[512];
	unsigned long long prev = 0;
	size_t checked = 0;

	for (const char *p = b->data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *nl = strchr(p, '\n'), *le, *sp;
		unsigned long long v;

		snprintf(line, sizeof(line), "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
		if (line[0] == '#' || !strstr(line, "_bucket{") || !(le = strstr(line, "le=\"")))
			continue;
		sp = strrchr(line, ' ');
		v = strtoull(sp + 1, NULL, 10);
		if (strncmp(key, line, (size_t)(le - line)) || strlen(key) != (size_t)(le - line)) {
			snprintf(key, sizeof(key), "%.*s", (int)(le - line), line); /* a new series */
			prev = 0;
		}
		cr_assert_geq(v, prev, "bucket count went down: %s", line);
		prev = v;
		checked++;
	}
	cr_assert_gt(checked, 0);
}

/* ---- run-queue histograms ---- */

static void runq_record(struct tw_sched_record *r, uint64_t id, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->cgroup_id = id;
	r->cgroup_path = path;
}

Test(metrics_runq, buckets_are_cumulative_and_add_up_over_intervals)
{
	struct tw_metrics *m = tw_metrics_new(NULL);
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf b = {0};
	struct tw_sched_record r;
	struct tw_sched_offender of = {.cgroup_id = 9, .path = "/noisy", .preempted = 4, .waited = 2,
				       .waited_ns = 3000};
	const char *n = "tracewire_runqueue_latency_seconds";
	char series[160];

	cr_assert_not_null(m);
	runq_record(&r, 7, "/app");
	r.buckets[tw_sched_bucket(500)] = 3;      /* below 2^10 ns: first bucket */
	r.buckets[tw_sched_bucket(3000)] = 2;     /* (2^11, 2^12] */
	r.buckets[tw_sched_bucket(10000000000ull)] = 1; /* 10 s: above the last bound, +Inf only */
	r.sum_ns = 3 * 500 + 2 * 3000 + 10000000000ull;
	r.preempted = 5;
	r.preempted_cross = 4;
	r.offenders = &of;
	r.n_offenders = 1;
	tw_metrics_observe_sched(m, &r);
	/* a second interval adds up */
	runq_record(&r, 7, "/app");
	r.buckets[tw_sched_bucket(500)] = 1;
	r.sum_ns = 500;
	tw_metrics_observe_sched(m, &r);

	cr_assert_eq(tw_metrics_render(m, &h, &b), 0);
	snprintf(series, sizeof(series), "%s_bucket{cgroup=\"/app\",le=\"0.000001024\"}", n);
	cr_assert_eq(u64_of(&b, series), 4);
	snprintf(series, sizeof(series), "%s_bucket{cgroup=\"/app\",le=\"0.000002048\"}", n);
	cr_assert_eq(u64_of(&b, series), 4);
	snprintf(series, sizeof(series), "%s_bucket{cgroup=\"/app\",le=\"0.000004096\"}", n);
	cr_assert_eq(u64_of(&b, series), 6);
	snprintf(series, sizeof(series), "%s_bucket{cgroup=\"/app\",le=\"8.589934592\"}", n);
	cr_assert_eq(u64_of(&b, series), 6);
	snprintf(series, sizeof(series), "%s_bucket{cgroup=\"/app\",le=\"+Inf\"}", n);
	cr_assert_eq(u64_of(&b, series), 7);
	snprintf(series, sizeof(series), "%s_count{cgroup=\"/app\"}", n);
	cr_assert_eq(u64_of(&b, series), 7);
	snprintf(series, sizeof(series), "%s_sum{cgroup=\"/app\"}", n);
	assert_value(&b, series, "10.000008");
	cr_assert_eq(u64_of(&b, "tracewire_runqueue_cross_cgroup_preemptions_total{cgroup=\"/app\"}"), 4);
	cr_assert_eq(u64_of(&b, "tracewire_runqueue_preempted_by_total{cgroup=\"/app\",by_cgroup=\"/noisy\"}"), 4);
	assert_value(&b, "tracewire_runqueue_wait_behind_seconds_total{cgroup=\"/app\",by_cgroup=\"/noisy\"}",
		     "0.000003");
	cr_assert(strstr(b.data, "# TYPE tracewire_runqueue_latency_seconds histogram\n"));

	assert_buckets_cumulative(&b);
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
}

/* ---- TCP flows ---- */

static void tcp_event(struct tw_metrics *m, uint64_t cookie, uint32_t reason, uint16_t sport,
		      uint16_t dport, uint32_t retrans, uint32_t srtt_us, uint32_t flags)
{
	struct tw_tcp_metrics t;
	struct tw_event ev = {.hdr = &t.hdr, .len = sizeof(t)};

	memset(&t, 0, sizeof(t));
	t.hdr.type = TW_EVENT_NETWORK_TCP_METRICS;
	t.hdr.size = sizeof(t);
	t.cookie = cookie;
	t.reason = reason;
	t.tuple.sport = sport;
	t.tuple.dport = dport;
	t.retrans_segs = retrans;
	t.srtt_us = srtt_us;
	t.flags = flags;
	t.bytes_sent = 1000 * retrans;
	tw_metrics_observe_event(m, &ev);
}

Test(metrics_tcp, service_port_side_rtt_histogram_and_interval_deltas)
{
	struct tw_metrics_options o;
	struct tw_metrics *m;
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf b = {0};

	tw_metrics_options_init(&o);
	o.ephemeral_lo = 32768;
	o.ephemeral_hi = 60999;
	m = tw_metrics_new(&o);
	/* client of 443: interval reports carry running totals, the end the final one */
	tcp_event(m, 1, TW_TCP_METRICS_INTERVAL, 45000, 443, 2, 300, 0);
	tcp_event(m, 1, TW_TCP_METRICS_INTERVAL, 45000, 443, 3, 300, 0);
	tcp_event(m, 1, TW_TCP_METRICS_END, 45000, 443, 5, 300, TW_NET_FLAG_RESET_RECEIVED);
	/* server side of 8080, flow without an RTT measurement */
	tcp_event(m, 2, TW_TCP_METRICS_END, 8080, 50000, 1, 0, 0);
	/* a non-TCP event is ignored */
	{
		struct tw_event_header hd = {.type = TW_EVENT_PROCESS_EXEC, .size = sizeof(hd)};
		struct tw_event ev = {.hdr = &hd, .len = sizeof(hd)};
		tw_metrics_observe_event(m, &ev);
	}
	tw_metrics_render(m, &h, &b);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_flows_total{port=\"443\",side=\"client\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_retransmitted_segments_total{port=\"443\",side=\"client\"}"), 5);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_sent_bytes_total{port=\"443\",side=\"client\"}"), 5000);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_flows_total{port=\"8080\",side=\"server\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_flows_reset_total{port=\"443\",side=\"client\",by=\"peer\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_flows_reset_total{port=\"443\",side=\"client\",by=\"local\"}"), 0);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_srtt_seconds_bucket{port=\"443\",side=\"client\",le=\"0.00025\"}"), 0);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_srtt_seconds_bucket{port=\"443\",side=\"client\",le=\"0.0005\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_srtt_seconds_bucket{port=\"443\",side=\"client\",le=\"+Inf\"}"), 1);
	assert_value(&b, "tracewire_tcp_srtt_seconds_sum{port=\"443\",side=\"client\"}", "0.0003");
	cr_assert_eq(u64_of(&b, "tracewire_tcp_srtt_seconds_count{port=\"8080\",side=\"server\"}"), 0);
	cr_assert_eq(u64_of(&b, "tracewire_tcp_flows_total{port=\"other\",side=\"other\"}"), 0);
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
}

/* ---- bounded label sets: per-process bytes, top N plus other ---- */

static struct tw_netacct_proc proc(uint32_t pid, const char *comm, uint64_t tcp_out_payload)
{
	struct tw_netacct_proc p;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.start_boot_ns = pid * 1000ull;
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	p.tcp_out.payload_bytes = tcp_out_payload;
	return p;
}

#define PAYLOAD(pid, comm) \
	"tracewire_process_network_payload_bytes_total{pid=\"" pid "\",comm=\"" comm "\",protocol=\"tcp\",direction=\"tx\"}"

Test(metrics_topn, top_n_plus_other_and_counters_never_decrease)
{
	struct tw_metrics_options o;
	struct tw_metrics *m;
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf b = {0};
	struct tw_netacct_proc t[4];

	tw_metrics_options_init(&o);
	o.top = 2;
	m = tw_metrics_new(&o);
	t[0] = proc(100, "small", 10);
	t[1] = proc(200, "big", 1000);
	t[2] = proc(300, "mid", 500);
	t[3] = proc(400, "tiny", 1);
	tw_metrics_observe_netacct(m, t, 4);
	tw_metrics_render(m, &h, &b);
	/* the two largest get the slots, the rest is summed */
	cr_assert_eq(u64_of(&b, PAYLOAD("200", "big")), 1000);
	cr_assert_eq(u64_of(&b, PAYLOAD("300", "mid")), 500);
	cr_assert_eq(u64_of(&b, PAYLOAD("other", "other")), 11);
	cr_assert_null(strstr(b.data, "pid=\"100\""));
	tw_metrics_buf_free(&b);

	/* small grows past the others: it has no slot, so its growth goes to other */
	t[0].tcp_out.payload_bytes = 5000;
	tw_metrics_observe_netacct(m, t, 4);
	tw_metrics_render(m, &h, &b);
	cr_assert_eq(u64_of(&b, PAYLOAD("other", "other")), 11 + 4990);
	cr_assert_null(strstr(b.data, "pid=\"100\""));
	tw_metrics_buf_free(&b);

	/* big is gone (evicted from the table): its slot goes to the largest, small */
	t[1] = t[3];
	t[3].tcp_out.payload_bytes = 2; /* tiny's last growth before... */
	tw_metrics_observe_netacct(m, t, 3); /* ...tiny is gone too, and big */
	tw_metrics_render(m, &h, &b);
	cr_assert_null(strstr(b.data, "pid=\"200\""));
	cr_assert_eq(u64_of(&b, PAYLOAD("100", "small")), 5000);
	cr_assert_eq(u64_of(&b, PAYLOAD("300", "mid")), 500);
	/* other kept everything it had, and never went down */
	cr_assert_geq(u64_of(&b, PAYLOAD("other", "other")), 11 + 4990);
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
}

/* ---- per-cgroup network bytes: the processes' growth, kept after they are gone ---- */

static const char *cg_name(void *user, uint64_t id)
{
	(void)user;
	return id == 7 ? "/web" : id == 9 ? "/db" : NULL; /* 11: a cgroup already gone */
}

#define CG_WIRE(cg, proto, dir) \
	"tracewire_cgroup_network_wire_bytes_total{cgroup=\"" cg "\",protocol=\"" proto "\",direction=\"" dir "\"}"

Test(metrics_cgroup, network_counters_add_up_processes_and_survive_their_exit)
{
	struct tw_metrics_options o;
	struct tw_metrics *m;
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf b = {0};
	struct tw_netacct_proc t[4];

	tw_metrics_options_init(&o);
	o.cgroup_path = cg_name;
	m = tw_metrics_new(&o);
	t[0] = proc(100, "nginx", 10);
	t[1] = proc(101, "nginx", 20);
	t[2] = proc(200, "postgres", 5);
	t[3] = proc(300, "orphan", 1);
	t[0].cgroup_id = t[1].cgroup_id = 7;
	t[2].cgroup_id = 9;
	t[3].cgroup_id = 11;
	t[0].tcp_in.wire_bytes = 1000;
	t[1].tcp_in.wire_bytes = 500;
	t[2].udp_out.wire_bytes = 64;
	t[2].udp_out.packets = 1;
	tw_metrics_observe_netacct(m, t, 4);
	tw_metrics_render(m, &h, &b);
	cr_assert_eq(u64_of(&b, CG_WIRE("/web", "tcp", "rx")), 1500);
	cr_assert_eq(u64_of(&b, "tracewire_cgroup_network_payload_bytes_total{cgroup=\"/web\","
				"protocol=\"tcp\",direction=\"tx\"}"), 30);
	cr_assert_eq(u64_of(&b, CG_WIRE("/db", "udp", "tx")), 64);
	cr_assert_eq(u64_of(&b, "tracewire_cgroup_network_packets_total{cgroup=\"/db\","
				"protocol=\"udp\",direction=\"tx\"}"), 1);
	cr_assert_eq(u64_of(&b, "tracewire_cgroup_network_payload_bytes_total{cgroup=\"id:11\","
				"protocol=\"tcp\",direction=\"tx\"}"), 1, "an unnamed cgroup keeps its id");
	tw_metrics_buf_free(&b);

	/* 100 grows, then exits and leaves the table: /web keeps all it had */
	t[0].tcp_in.wire_bytes = 3000;
	tw_metrics_observe_netacct(m, t, 4);
	t[0] = t[3];
	tw_metrics_observe_netacct(m, t, 3);
	tw_metrics_render(m, &h, &b);
	cr_assert_eq(u64_of(&b, CG_WIRE("/web", "tcp", "rx")), 3500);
	cr_assert_eq(u64_of(&b, CG_WIRE("/db", "udp", "tx")), 64, "unchanged readings add nothing");
	cr_assert_not_null(strstr(b.data, "# TYPE tracewire_cgroup_network_wire_bytes_total counter"));
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
}

Test(metrics_topn, cardinality_stays_bounded)
{
	struct tw_metrics_options o;
	struct tw_metrics *m;
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf b = {0};
	size_t lines = 0;
	uint64_t sum = 0;

	tw_metrics_options_init(&o);
	o.top = 3;
	o.max_tracked = 8; /* more ports than remembered: the rest goes straight to other */
	o.ephemeral_lo = 32768;
	o.ephemeral_hi = 60999;
	m = tw_metrics_new(&o);
	for (uint16_t port = 1000; port < 1100; port++)
		for (int k = 0; k <= port % 5; k++)
			tcp_event(m, 0, TW_TCP_METRICS_END, 40000, port, 0, 0, 0);
	tw_metrics_render(m, &h, &b);
	for (const char *p = strstr(b.data, "\ntracewire_tcp_flows_total{"); p;
	     p = strstr(p + 1, "\ntracewire_tcp_flows_total{")) {
		char v[32];
		const char *sp = strchr(p, ' ');
		snprintf(v, sizeof(v), "%.*s", (int)(strchr(sp, '\n') - sp - 1), sp + 1);
		sum += strtoull(v, NULL, 10);
		lines++;
	}
	cr_assert_eq(lines, 4, "3 ports and other, got %zu", lines);
	/* nothing lost: the series add up to every flow */
	{
		uint64_t want = 0;
		for (uint16_t port = 1000; port < 1100; port++)
			want += port % 5 + 1;
		cr_assert_eq(sum, want);
	}
	tw_metrics_buf_free(&b);
	tw_metrics_free(m);
}
