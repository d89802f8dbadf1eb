// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus exposition of tracewire (tracewire_metrics.h): the agent's own
 * counters, rendered from a tw_stats snapshot, and three aggregates fed from
 * the consumer's loop: run-queue latency per cgroup (SCHED_RUNQ records are
 * per interval, the metrics add them up), TCP flows per service port (from
 * NETWORK_TCP_METRICS events) and per-process network bytes (the netacct
 * table). Names and labels: docs/metrics.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_topn.h"
#include "tracewire_metrics.h"

#define NS_PER_S 1000000000ull
#define US_PER_S 1000000ull

/* ---- run-queue latency: histogram bounds are powers of two in ns ---- */

/*
 * Powers of two are exact bounds of the kernel's log-linear buckets
 * (tracewire_sched_wire.h), so re-bucketing loses nothing at the bounds
 * shown. 2^10 ns (about 1 us) to 2^33 ns (about 8.6 s). A kernel bucket is
 * [lo, hi): it is counted under le = hi, i.e. "less than" rather than the
 * format's "less or equal"; they differ only for a wait of exactly 2^k ns.
 */
#define RUNQ_LE_FIRST 10
#define RUNQ_LE_N 24
enum { RQ_COUNT, RQ_SUM_NS, RQ_SWITCHES, RQ_PREEMPTED, RQ_PREEMPTED_CROSS, RQ_LE0, RQ_WIDTH = RQ_LE0 + RUNQ_LE_N };
enum { RP_PREEMPTED, RP_WAITED, RP_WAITED_NS, RP_RANK, RP_WIDTH };

/* ---- TCP: smoothed RTT at the end of each flow, in us ---- */
static const uint32_t tcp_rtt_le_us[] = {50,    100,    250,    500,    1000,   2500,    5000,   10000,
					 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
#define TCP_RTT_N (sizeof(tcp_rtt_le_us) / sizeof(tcp_rtt_le_us[0]))
enum {
	TC_FLOWS, TC_RETRANS_SEGS, TC_TIMEOUTS, TC_RECOVERIES, TC_SENT, TC_RECEIVED, TC_RETRANS_BYTES,
	TC_RESET_BY_PEER, TC_RESET_LOCAL, TC_RTT_COUNT, TC_RTT_SUM_US, TC_RTT_LE0,
	TC_WIDTH = TC_RTT_LE0 + TCP_RTT_N
};
/* the counters of a flow that interval records report as running totals */
enum { FC_RETRANS_SEGS, FC_TIMEOUTS, FC_RECOVERIES, FC_SENT, FC_RECEIVED, FC_RETRANS_BYTES, FC_N };

/* ---- per-process network bytes ---- */
enum {
	NA_PAYLOAD = 0,   /* tcp tx, tcp rx, udp tx, udp rx */
	NA_WIRE = 4,      /* tcp tx, tcp rx, udp tx, udp rx, other tx, other rx */
	NA_PACKETS = 10,  /* same order */
	NA_RANK = 16,
	NA_WIDTH
};

/* Last running totals of a live flow, by socket cookie (only with periodic reports). */
struct flow_slot {
	uint64_t cookie; /* 0: empty */
	uint64_t c[FC_N];
};
#define FLOW_TABLE_SIZE 65536 /* power of two; at most 3/4 used */

struct tw_metrics {
	struct tw_metrics_options o;
	struct topn runq, runq_pairs, tcp, procs;
	struct topn cgnet; /* per-cgroup network: the processes' deltas, added up per cgroup */
	struct flow_slot *flows;
	size_t n_flows;
	uint64_t flows_untracked; /* interval records not remembered: table full */
	bool runq_seen, tcp_seen, netacct_seen;
};

void tw_metrics_options_init(struct tw_metrics_options *o)
{
	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->max_tracked = 4096;
}

static void read_ephemeral_range(struct tw_metrics_options *o)
{
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		unsigned a, b;
		if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
			lo = a;
			hi = b;
		}
		fclose(f);
	}
	o->ephemeral_lo = (uint16_t)lo;
	o->ephemeral_hi = (uint16_t)hi;
}

struct tw_metrics *tw_metrics_new(const struct tw_metrics_options *o)
{
	struct tw_metrics *m = calloc(1, sizeof(*m));
	size_t cap;

	if (!m)
		return NULL;
	if (o)
		m->o = *o;
	else
		tw_metrics_options_init(&m->o);
	if (m->o.max_tracked < m->o.top)
		m->o.max_tracked = m->o.top;
	if (!m->o.ephemeral_lo && !m->o.ephemeral_hi)
		read_ephemeral_range(&m->o);
	cap = m->o.max_tracked;
	/* the netacct table is read whole: remember as many processes as it can hold (16384
	   by default) so that deltas of processes without a slot are exact */
	if (topn_init(&m->runq, RQ_WIDTH, RQ_COUNT, m->o.top, cap) ||
	    topn_init(&m->runq_pairs, RP_WIDTH, RP_RANK, m->o.top, cap) ||
	    topn_init(&m->tcp, TC_WIDTH, TC_FLOWS, m->o.top, cap) ||
	    topn_init(&m->procs, NA_WIDTH, NA_RANK, m->o.top, cap > 65536 ? cap : 65536) ||
	    topn_init(&m->cgnet, NA_WIDTH, NA_RANK, m->o.top, cap) ||
	    !(m->flows = calloc(FLOW_TABLE_SIZE, sizeof(*m->flows)))) {
		tw_metrics_free(m);
		return NULL;
	}
	return m;
}

void tw_metrics_free(struct tw_metrics *m)
{
	if (!m)
		return;
	topn_free(&m->runq);
	topn_free(&m->runq_pairs);
	topn_free(&m->tcp);
	topn_free(&m->procs);
	topn_free(&m->cgnet);
	free(m->flows);
	free(m);
}

/* ---- feeding ---- */

static void cgroup_label(uint64_t id, const char *path, char *out, size_t outlen)
{
	if (path)
		snprintf(out, outlen, "%s", path);
	else
		snprintf(out, outlen, "id:%" PRIu64, id); /* gone before its path was read */
}

void tw_metrics_observe_sched(struct tw_metrics *m, const struct tw_sched_record *r)
{
	uint64_t d[RQ_WIDTH] = {0};
	char victim[512];

	m->runq_seen = true;
	for (unsigned i = 0; i < TW_SCHED_BUCKETS; i++) {
		uint64_t lo, hi;
		unsigned j = 0;

		if (!r->buckets[i])
			continue;
		d[RQ_COUNT] += r->buckets[i];
		tw_sched_bucket_bounds(i, &lo, &hi);
		while (j < RUNQ_LE_N && (1ull << (RUNQ_LE_FIRST + j)) < hi)
			j++;
		if (j < RUNQ_LE_N) /* else above the last bound: only in +Inf */
			d[RQ_LE0 + j] += r->buckets[i];
	}
	d[RQ_SUM_NS] = r->sum_ns;
	d[RQ_SWITCHES] = r->switches;
	d[RQ_PREEMPTED] = r->preempted;
	d[RQ_PREEMPTED_CROSS] = r->preempted_cross;
	cgroup_label(r->cgroup_id, r->cgroup_path, victim, sizeof(victim));
	topn_add(&m->runq, r->cgroup_id, 0, victim, NULL, d);

	for (size_t i = 0; i < r->n_offenders; i++) {
		const struct tw_sched_offender *of = &r->offenders[i];
		uint64_t p[RP_WIDTH] = {of->preempted, of->waited, of->waited_ns,
					of->preempted + of->waited};
		char by[512];

		cgroup_label(of->cgroup_id, of->path, by, sizeof(by));
		topn_add(&m->runq_pairs, r->cgroup_id, of->cgroup_id, victim, by, p);
	}
}

static bool ephemeral(const struct tw_metrics *m, uint16_t port)
{
	return port >= m->o.ephemeral_lo && port <= m->o.ephemeral_hi;
}

/*
 * The service port of a flow and our side of it. The tuple's source is this
 * host's end: when exactly one end is in the local ephemeral range, the other
 * one is the service; otherwise the lower port is taken as the service (22
 * from 1022, or two high ports).
 */
static void tcp_service(const struct tw_metrics *m, uint16_t sport, uint16_t dport,
			uint16_t *port, const char **side)
{
	bool se = ephemeral(m, sport), de = ephemeral(m, dport);
	bool client = se != de ? se : dport <= sport;

	*port = client ? dport : sport;
	*side = client ? "client" : "server";
}

static struct flow_slot *flow_find(struct tw_metrics *m, uint64_t cookie, bool create)
{
	size_t mask = FLOW_TABLE_SIZE - 1;
	size_t i = (size_t)((cookie * 0x9E3779B97F4A7C15ull) >> 40) & mask;

	for (;; i = (i + 1) & mask) {
		if (m->flows[i].cookie == cookie)
			return &m->flows[i];
		if (!m->flows[i].cookie) {
			if (!create || m->n_flows >= FLOW_TABLE_SIZE / 4 * 3)
				return NULL;
			m->n_flows++;
			m->flows[i].cookie = cookie;
			memset(m->flows[i].c, 0, sizeof(m->flows[i].c));
			return &m->flows[i];
		}
	}
}

/* Linear probing without tombstones: shift later members of the run back into the hole. */
static void flow_delete(struct tw_metrics *m, struct flow_slot *s)
{
	size_t mask = FLOW_TABLE_SIZE - 1;
	size_t hole = (size_t)(s - m->flows), i = hole;

	m->n_flows--;
	for (;;) {
		size_t home;
		i = (i + 1) & mask;
		if (!m->flows[i].cookie)
			break;
		home = (size_t)((m->flows[i].cookie * 0x9E3779B97F4A7C15ull) >> 40) & mask;
		/* move it if its home is not cyclically inside (hole, i] */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			m->flows[hole] = m->flows[i];
			hole = i;
		}
	}
	m->flows[hole].cookie = 0;
}

void tw_metrics_observe_event(struct tw_metrics *m, const struct tw_event *ev)
{
	const struct tw_tcp_metrics *t;
	uint64_t now[FC_N], d[TC_WIDTH] = {0};
	struct flow_slot *prev;
	const char *side;
	char port_s[8];
	uint16_t port;
	bool end;

	if (ev->hdr->type != TW_EVENT_NETWORK_TCP_METRICS || ev->len < sizeof(*t))
		return;
	t = (const struct tw_tcp_metrics *)ev->hdr;
	m->tcp_seen = true;
	end = t->reason != TW_TCP_METRICS_INTERVAL;
	now[FC_RETRANS_SEGS] = t->retrans_segs;
	now[FC_TIMEOUTS] = t->timeouts;
	now[FC_RECOVERIES] = t->recoveries;
	now[FC_SENT] = t->bytes_sent;
	now[FC_RECEIVED] = t->bytes_received;
	now[FC_RETRANS_BYTES] = t->bytes_retrans;

	/* periodic records carry running totals: count what is new since the last one */
	prev = t->cookie ? flow_find(m, t->cookie, !end) : NULL;
	if (!end && !prev) {
		m->flows_untracked++; /* the end record will bring the whole total */
		return;
	}
	for (int i = 0; i < FC_N; i++) {
		uint64_t before = prev ? prev->c[i] : 0;
		uint64_t delta = now[i] >= before ? now[i] - before : 0;
		switch (i) {
		case FC_RETRANS_SEGS: d[TC_RETRANS_SEGS] = delta; break;
		case FC_TIMEOUTS: d[TC_TIMEOUTS] = delta; break;
		case FC_RECOVERIES: d[TC_RECOVERIES] = delta; break;
		case FC_SENT: d[TC_SENT] = delta; break;
		case FC_RECEIVED: d[TC_RECEIVED] = delta; break;
		case FC_RETRANS_BYTES: d[TC_RETRANS_BYTES] = delta; break;
		}
		if (prev && now[i] > before)
			prev->c[i] = now[i];
	}
	if (end) {
		if (prev)
			flow_delete(m, prev);
		d[TC_FLOWS] = 1;
		d[TC_RESET_BY_PEER] = !!(t->flags & TW_NET_FLAG_RESET_RECEIVED);
		d[TC_RESET_LOCAL] = !!(t->flags & TW_NET_FLAG_RESET_SENT);
		/* a flow that never measured an RTT (refused, no data) has no srtt to show */
		if (t->srtt_us) {
			size_t j = 0;
			d[TC_RTT_COUNT] = 1;
			d[TC_RTT_SUM_US] = t->srtt_us;
			while (j < TCP_RTT_N && t->srtt_us > tcp_rtt_le_us[j])
				j++;
			if (j < TCP_RTT_N)
				d[TC_RTT_LE0 + j] = 1;
		}
	}
	tcp_service(m, t->tuple.sport, t->tuple.dport, &port, &side);
	snprintf(port_s, sizeof(port_s), "%u", port);
	topn_add(&m->tcp, port, side[0] == 's', port_s, side, d);
}

/* The label of a process's cgroup: its path when the embedder can name it. */
static void netacct_cgroup_label(const struct tw_metrics *m, uint64_t id, char *out, size_t outlen)
{
	const char *path = NULL;

	if (!id) {
		snprintf(out, outlen, "unknown"); /* the kernel could not read it */
		return;
	}
	if (m->o.cgroup_path)
		path = m->o.cgroup_path(m->o.cgroup_path_user, id);
	cgroup_label(id, path, out, outlen);
}

int tw_metrics_observe_netacct(struct tw_metrics *m, const struct tw_netacct_proc *procs, size_t n)
{
	m->netacct_seen = true;
	topn_unsee(&m->procs);
	for (size_t i = 0; i < n; i++) {
		const struct tw_netacct_proc *p = &procs[i];
		const struct tw_netacct_dir *dirs[6] = {&p->tcp_out, &p->tcp_in,   &p->udp_out,
							&p->udp_in,  &p->other_out, &p->other_in};
		char pid[16], comm[sizeof(p->comm) + 1], cg[512];
		uint64_t delta[NA_WIDTH] = {0}, rank = 0;
		struct topn_entry *e;

		snprintf(pid, sizeof(pid), "%u", p->pid);
		memcpy(comm, p->comm, sizeof(p->comm));
		comm[sizeof(p->comm)] = 0;
		e = topn_get(&m->procs, p->pid, p->start_boot_ns, pid, comm);
		if (!e) {
			m->procs.untracked++; /* more processes than remembered: not counted at all */
			continue;
		}
		e->seen = true;
		/*
		 * A cgroup's counters are the sums of its processes' growth since the
		 * last reading (what cur still holds), so they keep what exited
		 * processes had once their entries are gone. Kernel counters only
		 * grow; a smaller value would be a new process under the same key
		 * and counts whole.
		 */
		for (int k = 0; k < 6; k++) {
			uint64_t v[3] = {k < 4 ? dirs[k]->payload_bytes : 0, dirs[k]->wire_bytes,
					 dirs[k]->packets};
			size_t at[3] = {NA_PAYLOAD + (size_t)k, NA_WIRE + (size_t)k, NA_PACKETS + (size_t)k};

			for (int j = k < 4 ? 0 : 1; j < 3; j++) {
				uint64_t before = e->cur[at[j]];
				delta[at[j]] = v[j] >= before ? v[j] - before : v[j];
				e->cur[at[j]] = v[j];
			}
			rank += dirs[k]->wire_bytes + (k < 4 ? dirs[k]->payload_bytes : 0);
			delta[NA_RANK] += delta[NA_WIRE + k] + (k < 4 ? delta[NA_PAYLOAD + k] : 0);
		}
		e->cur[NA_RANK] = rank;
		netacct_cgroup_label(m, p->cgroup_id, cg, sizeof(cg));
		topn_add(&m->cgnet, p->cgroup_id, 0, cg, NULL, delta);
	}
	topn_sweep(&m->procs);
	return 0;
}

/* ---- rendering ---- */

int tw_metrics_bpf_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v < 0 ? -1 : v > 0;
}

typedef uint64_t (*type_field_fn)(const struct tw_type_stats *s);
#define TYPE_FIELD(f)                                              \
	static uint64_t tf_##f(const struct tw_type_stats *s) \
	{                                                          \
		return s->f;                                       \
	}
TYPE_FIELD(emitted)
TYPE_FIELD(received)
TYPE_FIELD(filtered)
TYPE_FIELD(truncated)
TYPE_FIELD(rate_limited)
TYPE_FIELD(rate_limited_bytes)

static bool type_shown(const struct tw_metrics_health *h, uint32_t t)
{
	const struct tw_type_stats *s = &h->stats->type[t];

	if (!tw_event_type_name(t))
		return false;
	return (h->event_mask & TW_EVENT_BIT(t)) ||
	       (s->emitted | s->received | s->filtered | s->lost_ringbuf | s->lost_scratch |
		s->truncated | s->rate_limited);
}

static void per_type(struct tw_metrics_buf *b, const struct tw_metrics_health *h, const char *name,
		     const char *help, type_field_fn get)
{
	tw_metrics_family(b, name, "counter", help);
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		if (!type_shown(h, t))
			continue;
		const char *l[] = {"type", tw_event_type_name(t), NULL};
		tw_metrics_sample_u64(b, name, l, get(&h->stats->type[t]));
	}
}

static void counter1(struct tw_metrics_buf *b, const char *name, const char *help, uint64_t v)
{
	tw_metrics_family(b, name, "counter", help);
	tw_metrics_sample_u64(b, name, NULL, v);
}

static void gauge1(struct tw_metrics_buf *b, const char *name, const char *help, uint64_t v)
{
	tw_metrics_family(b, name, "gauge", help);
	tw_metrics_sample_u64(b, name, NULL, v);
}

static const char *const decode_reason[TW_DECODE_ERROR_MAX] = {
	[TW_DECODE_SHORT_HEADER] = "short_header",     [TW_DECODE_SIZE_MISMATCH] = "size_mismatch",
	[TW_DECODE_UNKNOWN_TYPE] = "unknown_type",     [TW_DECODE_SHORT_FIXED] = "short_fixed",
	[TW_DECODE_FIELDS_OVERRUN] = "fields_overrun", [TW_DECODE_FIELD_COUNT] = "field_count",
};

static void render_stats(struct tw_metrics_buf *b, const struct tw_metrics_health *h)
{
	const struct tw_stats *s = h->stats;
	const char *name;

	per_type(b, h, "tracewire_events_emitted_total",
		 "Records written to the ring buffer by the kernel probes.", tf_emitted);
	per_type(b, h, "tracewire_events_received_total",
		 "Records decoded and delivered to the consumer.", tf_received);
	per_type(b, h, "tracewire_events_filtered_total",
		 "Events rejected in the kernel by a filter, on purpose.", tf_filtered);
	name = "tracewire_events_dropped_total";
	tw_metrics_family(b, name, "counter",
			  "Events lost in the kernel: ring buffer full (ring_full) or no scratch "
			  "buffer to build them in (no_scratch).");
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		if (!type_shown(h, t))
			continue;
		const char *l1[] = {"type", tw_event_type_name(t), "reason", "ring_full", NULL};
		const char *l2[] = {"type", tw_event_type_name(t), "reason", "no_scratch", NULL};
		tw_metrics_sample_u64(b, name, l1, s->type[t].lost_ringbuf);
		tw_metrics_sample_u64(b, name, l2, s->type[t].lost_scratch);
	}
	per_type(b, h, "tracewire_events_truncated_total",
		 "Events with a field cut at its cap (and flagged truncated).", tf_truncated);
	per_type(b, h, "tracewire_events_rate_limited_total",
		 "Events dropped in the kernel by a rate budget (--tty-budget).", tf_rate_limited);
	per_type(b, h, "tracewire_events_rate_limited_bytes_total",
		 "Bytes of output dropped by a rate budget.", tf_rate_limited_bytes);

	name = "tracewire_decode_errors_total";
	tw_metrics_family(b, name, "counter", "Records rejected by the userspace decoder, by reason.");
	for (int r = 1; r < TW_DECODE_ERROR_MAX; r++) {
		const char *l[] = {"reason", decode_reason[r] ? decode_reason[r] : "other", NULL};
		tw_metrics_sample_u64(b, name, l, s->decode_errors[r]);
	}
	counter1(b, "tracewire_dns_malformed_messages_total",
		 "DNS messages that did not parse (dropped).", s->dns_malformed);
	counter1(b, "tracewire_exits_held_total",
		 "Process exits held back until their connections' close events were out.",
		 s->exits_held);
	counter1(b, "tracewire_exits_hold_expired_total",
		 "Held process exits released by the deadline instead.", s->exits_hold_expired);
	counter1(b, "tracewire_connections_untracked_total",
		 "Connections not tracked for exit ordering (table full).", s->connections_untracked);
	gauge1(b, "tracewire_connections_open", "Connections reported open and not yet closed.",
	       s->connections_open);
}

static void render_probes(struct tw_metrics_buf *b, const struct tw_metrics_health *h)
{
	const char *name = "tracewire_probe_attached";

	if (h->n_probes) {
		tw_metrics_family(b, name, "gauge",
				  "1 if the probe program is attached, 0 if its hook is missing on "
				  "this kernel (programs not requested are left out).");
		for (size_t i = 0; i < h->n_probes; i++) {
			const struct tw_probe_status *p = &h->probes[i];
			if (p->state == TW_PROBE_NOT_REQUESTED)
				continue;
			const char *l[] = {"program", p->program, "hook", p->hook, NULL};
			tw_metrics_sample_u64(b, name, l, p->state == TW_PROBE_ATTACHED);
		}
	}
	if (h->bpf_stats_enabled >= 0)
		gauge1(b, "tracewire_bpf_stats_enabled",
		       "kernel.bpf_stats_enabled: 1 if the kernel counts BPF program runs and time.",
		       (uint64_t)h->bpf_stats_enabled);
	if (h->bpf_stats_enabled != 1 || !h->n_progs)
		return;
	/* with the sysctl off the kernel counts nothing: zeros would look like idle probes */
	name = "tracewire_bpf_program_runs_total";
	tw_metrics_family(b, name, "counter",
			  "Runs of each loaded BPF program while kernel.bpf_stats_enabled was on.");
	for (size_t i = 0; i < h->n_progs; i++) {
		const char *l[] = {"program", h->progs[i].program, NULL};
		tw_metrics_sample_u64(b, name, l, h->progs[i].run_count);
	}
	name = "tracewire_bpf_program_run_seconds_total";
	tw_metrics_family(b, name, "counter",
			  "Time spent in each loaded BPF program while kernel.bpf_stats_enabled was on.");
	for (size_t i = 0; i < h->n_progs; i++) {
		const char *l[] = {"program", h->progs[i].program, NULL};
		tw_metrics_sample_scaled(b, name, l, h->progs[i].run_time_ns, NS_PER_S);
	}
	name = "tracewire_bpf_program_recursion_misses_total";
	tw_metrics_family(b, name, "counter",
			  "Runs of each BPF program the kernel skipped because it was already running "
			  "on that CPU.");
	for (size_t i = 0; i < h->n_progs; i++) {
		const char *l[] = {"program", h->progs[i].program, NULL};
		tw_metrics_sample_u64(b, name, l, h->progs[i].recursion_misses);
	}
}

static void render_ship(struct tw_metrics_buf *b, const struct tw_ship_stats *s)
{
	const char *name = "tracewire_ship_events_dropped_total";

	counter1(b, "tracewire_ship_events_enqueued_total", "Event lines accepted by the shipper.",
		 s->events_enqueued);
	counter1(b, "tracewire_ship_events_shipped_total",
		 "Event lines acknowledged by the collector (a resent line counts again).",
		 s->events_shipped);
	counter1(b, "tracewire_ship_batches_total", "Batches acknowledged by the collector.",
		 s->batches_shipped);
	counter1(b, "tracewire_ship_sent_bytes_total",
		 "Request bodies of acknowledged batches, as sent (compressed).", s->bytes_sent);
	counter1(b, "tracewire_ship_requests_total", "HTTP requests made, successful or not.",
		 s->requests);
	counter1(b, "tracewire_ship_retries_total", "Failed requests scheduled again.", s->retries);
	tw_metrics_family(b, name, "counter",
			  "Event lines lost: spool full or not writable (spool), or rejected while "
			  "the dead-letter file was full (dead_letter).");
	{
		const char *l1[] = {"reason", "spool", NULL}, *l2[] = {"reason", "dead_letter", NULL};
		tw_metrics_sample_u64(b, name, l1, s->events_dropped);
		tw_metrics_sample_u64(b, name, l2, s->dead_letter_dropped);
	}
	counter1(b, "tracewire_ship_events_dead_lettered_total",
		 "Event lines the collector rejected, written to the dead-letter file.",
		 s->events_dead_lettered);
	counter1(b, "tracewire_ship_batches_dead_lettered_total",
		 "Batches the collector rejected.", s->batches_dead_lettered);
	counter1(b, "tracewire_ship_events_recovered_total",
		 "Event lines found in the spool at start, left by an earlier run.",
		 s->events_recovered);
	counter1(b, "tracewire_ship_spool_corrupt_frames_total",
		 "Damaged spool regions skipped.", s->corrupt_frames);
	counter1(b, "tracewire_ship_spool_write_errors_total", "Failed writes to the spool.",
		 s->spool_write_errors);
	gauge1(b, "tracewire_ship_spool_bytes", "Size of the on-disk spool.", s->spool_bytes);
	gauge1(b, "tracewire_ship_spool_segments", "Segment files in the spool.", s->spool_segments);
	gauge1(b, "tracewire_ship_events_pending", "Event lines spooled and not yet acknowledged.",
	       s->events_pending);
	gauge1(b, "tracewire_ship_batches_in_flight",
	       "Batches being sent or waiting for a retry.", s->in_flight);
	gauge1(b, "tracewire_ship_last_http_status",
	       "HTTP status of the last response (0: none yet, or a transport error).",
	       (uint64_t)(s->last_http_status > 0 ? s->last_http_status : 0));
}

static void render_sched_stats(struct tw_metrics_buf *b, const struct tw_sched_stats *s)
{
	const char *name = "tracewire_runqueue_lost_updates_total";

	counter1(b, "tracewire_runqueue_intervals_total",
		 "Run-queue latency intervals read from the kernel.", s->intervals);
	tw_metrics_family(b, name, "counter",
			  "Run-queue latency updates the kernel could not count, by map.");
	const char *l1[] = {"reason", "cgroup_map_full", NULL};
	const char *l2[] = {"reason", "pair_map_full", NULL};
	const char *l3[] = {"reason", "task_storage", NULL};
	tw_metrics_sample_u64(b, name, l1, s->dropped_cgroup_full);
	tw_metrics_sample_u64(b, name, l2, s->dropped_pair_full);
	tw_metrics_sample_u64(b, name, l3, s->dropped_task_storage);
}

/* The series of a set: its shown entries, then "other". Start with *i = 0. */
struct series {
	const char *l1, *l2;
	const uint64_t *v;
};

static bool series_next(const struct topn *t, size_t *i, struct series *s)
{
	while (*i < t->n && !t->e[*i].shown)
		(*i)++;
	if (*i < t->n) {
		s->l1 = t->e[*i].l1;
		s->l2 = t->e[*i].l2;
		s->v = t->e[*i].cur;
	} else if (*i == t->n) {
		s->l1 = s->l2 = "other";
		s->v = t->other;
	} else {
		return false;
	}
	(*i)++;
	return true;
}

static void topn_counter(struct tw_metrics_buf *b, const struct topn *t, const char *name,
			 const char *help, const char *ln1, const char *ln2, size_t idx,
			 uint64_t scale)
{
	tw_metrics_family(b, name, "counter", help);
	struct series se;
	for (size_t it = 0; series_next(t, &it, &se);) {
		const char *v1 = se.l1, *v2 = se.l2;
		const uint64_t *vals = se.v;
		const char *l[] = {ln1, v1, ln2, v2, NULL};
		if (!ln2)
			l[2] = NULL;
		tw_metrics_sample_scaled(b, name, l, vals[idx], scale);
	}
}

/*
 * A histogram per series: `le` bounds in units of 1/scale seconds, per-bucket
 * (not yet cumulative) counts at vals[first..first+n), count and sum.
 */
static void topn_histogram(struct tw_metrics_buf *b, const struct topn *t, const char *name,
			   const char *help, const char *ln1, const char *ln2, const uint64_t *le,
			   size_t n_le, uint64_t le_scale, size_t first, size_t count_idx,
			   size_t sum_idx, uint64_t sum_scale)
{
	char bucket[128], sum[128], cnt[128], bound[48];

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	snprintf(sum, sizeof(sum), "%s_sum", name);
	snprintf(cnt, sizeof(cnt), "%s_count", name);
	tw_metrics_family(b, name, "histogram", help);
	struct series se;
	for (size_t it = 0; series_next(t, &it, &se);) {
		const char *v1 = se.l1, *v2 = se.l2;
		const uint64_t *vals = se.v;
		uint64_t cum = 0;
		const char *l[] = {ln1, v1, ln2, v2, "le", bound, NULL};
		const char *lp[] = {ln1, v1, ln2, v2, NULL};
		if (!ln2) {
			l[2] = "le";
			l[3] = bound;
			l[4] = NULL;
			lp[2] = NULL;
		}
		for (size_t j = 0; j < n_le; j++) {
			cum += vals[first + j];
			tw_metrics_format_scaled(le[j], le_scale, bound, sizeof(bound));
			tw_metrics_sample_u64(b, bucket, l, cum);
		}
		snprintf(bound, sizeof(bound), "+Inf");
		tw_metrics_sample_u64(b, bucket, l, vals[count_idx]);
		tw_metrics_sample_scaled(b, sum, lp, vals[sum_idx], sum_scale);
		tw_metrics_sample_u64(b, cnt, lp, vals[count_idx]);
	}
}

static void render_runq(struct tw_metrics_buf *b, struct tw_metrics *m)
{
	uint64_t le[RUNQ_LE_N];

	for (int j = 0; j < RUNQ_LE_N; j++)
		le[j] = 1ull << (RUNQ_LE_FIRST + j);
	topn_histogram(b, &m->runq, "tracewire_runqueue_latency_seconds",
		       "Time tasks of a cgroup waited on a run queue before running (bounds are "
		       "powers of two in nanoseconds).",
		       "cgroup", NULL, le, RUNQ_LE_N, NS_PER_S, RQ_LE0, RQ_COUNT, RQ_SUM_NS, NS_PER_S);
	topn_counter(b, &m->runq, "tracewire_runqueue_switches_total",
		     "Times tasks of a cgroup were switched in.", "cgroup", NULL, RQ_SWITCHES, 1);
	topn_counter(b, &m->runq, "tracewire_runqueue_preemptions_total",
		     "Times tasks of a cgroup were switched out while still runnable.", "cgroup", NULL,
		     RQ_PREEMPTED, 1);
	topn_counter(b, &m->runq, "tracewire_runqueue_cross_cgroup_preemptions_total",
		     "Preemptions of a cgroup's tasks in favour of another cgroup's task.", "cgroup",
		     NULL, RQ_PREEMPTED_CROSS, 1);
	topn_counter(b, &m->runq_pairs, "tracewire_runqueue_preempted_by_total",
		     "Preemptions of a cgroup's tasks by tasks of cgroup by_cgroup (the top "
		     "offenders of each interval only).",
		     "cgroup", "by_cgroup", RP_PREEMPTED, 1);
	topn_counter(b, &m->runq_pairs, "tracewire_runqueue_waits_behind_total",
		     "Waits of a cgroup's tasks that ended when a task of by_cgroup left the CPU "
		     "(the top offenders of each interval only).",
		     "cgroup", "by_cgroup", RP_WAITED, 1);
	topn_counter(b, &m->runq_pairs, "tracewire_runqueue_wait_behind_seconds_total",
		     "Run-queue latency of those waits.", "cgroup", "by_cgroup", RP_WAITED_NS,
		     NS_PER_S);
}

static void render_tcp(struct tw_metrics_buf *b, struct tw_metrics *m)
{
	uint64_t le[TCP_RTT_N];
	const char *name = "tracewire_tcp_flows_reset_total";

	for (size_t j = 0; j < TCP_RTT_N; j++)
		le[j] = tcp_rtt_le_us[j];
	topn_counter(b, &m->tcp, "tracewire_tcp_flows_total",
		     "TCP flows that ended, by service port and this host's side.", "port", "side",
		     TC_FLOWS, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_retransmitted_segments_total",
		     "TCP segments retransmitted.", "port", "side", TC_RETRANS_SEGS, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_retransmission_timeouts_total",
		     "TCP retransmission timeouts.", "port", "side", TC_TIMEOUTS, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_fast_recoveries_total",
		     "TCP entries into fast recovery.", "port", "side", TC_RECOVERIES, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_sent_bytes_total",
		     "TCP payload sent, retransmissions included.", "port", "side", TC_SENT, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_received_bytes_total", "TCP payload received.",
		     "port", "side", TC_RECEIVED, 1);
	topn_counter(b, &m->tcp, "tracewire_tcp_retransmitted_bytes_total",
		     "TCP payload retransmitted.", "port", "side", TC_RETRANS_BYTES, 1);
	tw_metrics_family(b, name, "counter",
			  "TCP flows that ended with a reset, by who sent it (peer or local).");
	struct series se;
	for (size_t it = 0; series_next(&m->tcp, &it, &se);) {
		const char *v1 = se.l1, *v2 = se.l2;
		const uint64_t *vals = se.v;
		const char *lp[] = {"port", v1, "side", v2, "by", "peer", NULL};
		const char *ll[] = {"port", v1, "side", v2, "by", "local", NULL};
		tw_metrics_sample_u64(b, name, lp, vals[TC_RESET_BY_PEER]);
		tw_metrics_sample_u64(b, name, ll, vals[TC_RESET_LOCAL]);
	}
	topn_histogram(b, &m->tcp, "tracewire_tcp_srtt_seconds",
		       "Smoothed round-trip time of each TCP flow at its end (flows that measured one).",
		       "port", "side", le, TCP_RTT_N, US_PER_S, TC_RTT_LE0, TC_RTT_COUNT,
		       TC_RTT_SUM_US, US_PER_S);
	counter1(b, "tracewire_tcp_flows_untracked_total",
		 "Periodic TCP reports not used because the flow table was full (their flow's end "
		 "report still counts all of it).",
		 m->flows_untracked);
}

static void render_netacct(struct tw_metrics_buf *b, struct tw_metrics *m)
{
	static const char *const proto[] = {"tcp", "tcp", "udp", "udp", "other", "other"};
	static const char *const dir[] = {"tx", "rx", "tx", "rx", "tx", "rx"};
	static const struct {
		const char *what, *help;
		size_t base, n;
	} fam[] = {
	    {"payload_bytes_total", "Bytes sent and received through sockets (socket layer payload)",
	     NA_PAYLOAD, 4},
	    {"wire_bytes_total", "Bytes of the packets on the interfaces, IP and link headers included",
	     NA_WIRE, 6},
	    {"packets_total", "Packets on the interfaces", NA_PACKETS, 6},
	};
	/* per process (pid, comm), then per cgroup (the sums of its processes, exited ones too) */
	static const struct {
		const char *prefix, *whose, *l1, *l2;
		size_t set;
	} of[] = {
	    {"tracewire_process_network_", "of a process", "pid", "comm", 0},
	    {"tracewire_cgroup_network_", "of the processes of a cgroup", "cgroup", NULL, 1},
	};

	for (size_t o = 0; o < sizeof(of) / sizeof(of[0]); o++) {
		const struct topn *t = of[o].set ? &m->cgnet : &m->procs;

		for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
			char name[128], help[256];
			struct series se;

			snprintf(name, sizeof(name), "%s%s", of[o].prefix, fam[f].what);
			snprintf(help, sizeof(help), "%s %s.", fam[f].help, of[o].whose);
			tw_metrics_family(b, name, "counter", help);
			for (size_t it = 0; series_next(t, &it, &se);) {
				for (size_t k = 0; k < fam[f].n; k++) {
					const char *l[9] = {of[o].l1, se.l1}, **p = l + 2;

					if (of[o].l2) {
						*p++ = of[o].l2;
						*p++ = se.l2;
					}
					*p++ = "protocol";
					*p++ = proto[k];
					*p++ = "direction";
					*p++ = dir[k];
					*p = NULL;
					tw_metrics_sample_u64(b, name, l, se.v[fam[f].base + k]);
				}
			}
		}
	}
	gauge1(b, "tracewire_process_network_tracked_processes",
	       "Processes in the network accounting table the metrics follow.", m->procs.n);
}

static void render_netacct_stats(struct tw_metrics_buf *b, const struct tw_netacct_stats *s)
{
	counter1(b, "tracewire_netacct_table_full_total",
		 "Processes the kernel could not add to the accounting table.", s->proc_table_full);
	counter1(b, "tracewire_netacct_bucket_table_full_total",
		 "Unattributed packets not even counted in a bucket.", s->bucket_table_full);
	counter1(b, "tracewire_netacct_evicted_total",
		 "Exited processes dropped from the accounting table.",
		 s->evicted_retention + s->evicted_pressure);
	gauge1(b, "tracewire_netacct_processes", "Processes in the accounting table.", s->procs);
	gauge1(b, "tracewire_netacct_map_bytes", "Memory of the accounting maps.", s->map_bytes);
}

int tw_metrics_render(struct tw_metrics *m, const struct tw_metrics_health *h,
		      struct tw_metrics_buf *out)
{
	const char *l[] = {"version", TW_LIB_VERSION, NULL};

	tw_metrics_family(out, "tracewire_build_info", "gauge", "The tracewire library's version.");
	tw_metrics_sample_u64(out, "tracewire_build_info", l, 1);
	if (h && h->stats)
		render_stats(out, h);
	if (h && h->ring_size) {
		gauge1(out, "tracewire_ring_buffer_size_bytes", "Size of the BPF ring buffer.",
		       h->ring_size);
		if (h->ring_pending_known)
			gauge1(out, "tracewire_ring_buffer_pending_bytes",
			       "Bytes in the ring buffer not yet consumed (fill level).",
			       h->ring_pending_bytes);
	}
	if (h)
		render_probes(out, h);
	if (h && h->ship)
		render_ship(out, h->ship);
	if (h && h->sched)
		render_sched_stats(out, h->sched);
	if (h && h->netacct)
		render_netacct_stats(out, h->netacct);
	if (h && h->scrapes)
		counter1(out, "tracewire_metrics_scrapes_total", "Requests for /metrics served.",
			 h->scrapes);
	if (m && (m->runq_seen || (h && h->sched))) {
		topn_select(&m->runq);
		topn_select(&m->runq_pairs);
		render_runq(out, m);
	}
	if (m && m->tcp_seen) {
		topn_select(&m->tcp);
		render_tcp(out, m);
	}
	if (m && m->netacct_seen) {
		topn_select(&m->procs);
		topn_select(&m->cgnet);
		render_netacct(out, m);
	}
	return out->oom ? -ENOMEM : 0;
}
