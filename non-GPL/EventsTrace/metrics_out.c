// SPDX-License-Identifier: Apache-2.0
/*
 * The glue between EventsTrace's main loop and /metrics (metrics_out.h).
 *
 * Why render in the main loop and not in the server thread: the library
 * objects (tw_ctx, tw_sched, the aggregates) belong to one thread, and
 * rendering takes tens of microseconds once per interval, while a scrape may
 * come at any moment and from a slow client. So the main loop does the
 * rendering, bounded in frequency, and the server only ever copies the last
 * finished text under a mutex held for that copy (metrics_server.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "metrics_out.h"
#include "metrics_server.h"
#include "tracewire_metrics.h"

/* the library's limit on probe programs (probe_table.h), plus the sched and netacct objects' */
#define MAX_PROGS (64 + 16)

struct et_metrics {
	struct metrics_server *server;
	struct tw_metrics *agg;
	uint64_t interval_ns, next_ns; /* CLOCK_MONOTONIC */
	struct tw_prog_stats progs[MAX_PROGS];
	bool warned;
	struct tw_netacct *netacct; /* the one being observed, for cgroup paths */
	char cgroup_path[4096];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Names a process's cgroup for the per-cgroup network series (called while observing). */
static const char *cgroup_path_of(void *user, uint64_t cgroup_id)
{
	struct et_metrics *m = user;

	if (!m->netacct ||
	    tw_netacct_cgroup_path(m->netacct, cgroup_id, m->cgroup_path, sizeof(m->cgroup_path)))
		return NULL;
	return m->cgroup_path;
}

int et_metrics_open(struct et_metrics **out, const struct tw_cli *cli)
{
	struct tw_metrics_options o;
	struct et_metrics *m;
	char err[256], host[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr *sa = (const struct sockaddr *)&cli->metrics_addr;

	*out = NULL;
	if (!cli->metrics_listen)
		return 0;
	m = calloc(1, sizeof(*m));
	tw_metrics_options_init(&o);
	o.top = cli->metrics_top;
	o.cgroup_path = cgroup_path_of;
	o.cgroup_path_user = m;
	if (!m || !(m->agg = tw_metrics_new(&o))) {
		fprintf(stderr, "EventsTrace: out of memory for the metrics\n");
		free(m);
		return -1;
	}
	/* before the capabilities are dropped: a port below 1024 needs CAP_NET_BIND_SERVICE */
	if (metrics_server_start(&m->server, sa, cli->metrics_addrlen, err, sizeof(err))) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		tw_metrics_free(m->agg);
		free(m);
		return -1;
	}
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	/* the port actually bound, for --metrics-listen 0 (tests, ad hoc runs) */
	fprintf(stderr, "EventsTrace: metrics at http://%s%s%s:%u/metrics\n",
		sa->sa_family == AF_INET6 ? "[" : "", host, sa->sa_family == AF_INET6 ? "]" : "",
		metrics_server_port(m->server));
	m->interval_ns = (uint64_t)cli->metrics_interval_ms * 1000000ull;
	*out = m;
	return 0;
}

void et_metrics_event(struct et_metrics *m, const struct tw_event *ev)
{
	if (m)
		tw_metrics_observe_event(m->agg, ev);
}

void et_metrics_sched(struct et_metrics *m, const struct tw_sched_record *r)
{
	if (m)
		tw_metrics_observe_sched(m->agg, r);
}

/* Entries a *_prog_stats() call filled: its result (programs loaded, or -errno), at most room. */
static size_t filled(int loaded, size_t room)
{
	return loaded <= 0 ? 0 : (size_t)loaded < room ? (size_t)loaded : room;
}

void et_metrics_tick(struct et_metrics *m, const struct et_metrics_sources *src, bool force)
{
	struct tw_metrics_health h = {.bpf_stats_enabled = -1};
	struct tw_metrics_buf buf = {0};
	struct tw_stats stats;
	struct tw_ship_stats ship;
	struct tw_sched_stats sched;
	struct tw_netacct_stats na;
	uint64_t now;

	if (!m)
		return;
	now = mono_ns();
	if (!force && now < m->next_ns)
		return;
	m->next_ns = now + m->interval_ns;

	h.event_mask = src->event_mask;
	if (src->ctx) {
		if (!tw_ctx_stats(src->ctx, &stats))
			h.stats = &stats;
		h.ring_size = tw_ctx_ring_size(src->ctx);
		h.ring_pending_known = !tw_ctx_ring_pending(src->ctx, &h.ring_pending_bytes);
		h.probes = tw_ctx_probes(src->ctx, &h.n_probes);
	}
	h.bpf_stats_enabled = tw_metrics_bpf_stats_enabled();
	if (h.bpf_stats_enabled == 1) {
		size_t n_progs = 0;

		/* every BPF object of the agent: the event probes, run-queue latency, accounting */
		if (src->ctx)
			n_progs += filled(tw_ctx_prog_stats(src->ctx, m->progs, MAX_PROGS), MAX_PROGS);
		if (src->sched)
			n_progs += filled(tw_sched_prog_stats(src->sched, m->progs + n_progs,
							      MAX_PROGS - n_progs), MAX_PROGS - n_progs);
		if (src->netacct)
			n_progs += filled(tw_netacct_prog_stats(src->netacct, m->progs + n_progs,
								MAX_PROGS - n_progs), MAX_PROGS - n_progs);
		h.progs = n_progs ? m->progs : NULL;
		h.n_progs = n_progs;
	}
	if (src->shipper) {
		tw_ship_get_stats(src->shipper, &ship);
		h.ship = &ship;
	}
	if (src->sched && !tw_sched_stats(src->sched, &sched))
		h.sched = &sched;
	if (src->netacct) {
		struct tw_netacct_proc *procs = NULL;
		size_t n = 0;
		m->netacct = src->netacct;
		/* the metrics are per process, also with --net-per-thread */
		if (!tw_netacct_read(src->netacct, &procs, &n))
			tw_metrics_observe_netacct(m->agg, procs, tw_netacct_merge_threads(procs, n));
		free(procs);
		if (!tw_netacct_stats(src->netacct, &na))
			h.netacct = &na;
	}
	h.scrapes = metrics_server_scrapes(m->server);
	if (tw_metrics_render(m->agg, &h, &buf)) {
		if (!m->warned)
			fprintf(stderr, "EventsTrace: out of memory rendering the metrics; serving the "
					"previous text\n");
		m->warned = true;
		tw_metrics_buf_free(&buf);
		return;
	}
	metrics_server_publish(m->server, buf.data, buf.len); /* the server owns the text now */
}

void et_metrics_close(struct et_metrics *m)
{
	if (!m)
		return;
	metrics_server_stop(m->server);
	tw_metrics_free(m->agg);
	free(m);
}
