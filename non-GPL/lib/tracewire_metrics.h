// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus text exposition (format 0.0.4) of tracewire's counters and of the
 * measurements it aggregates. Rendering only: no sockets, no threads, no BPF.
 * An embedder feeds the aggregator from its own loop and serves the text the
 * way it likes (EventsTrace: non-GPL/EventsTrace/metrics_server.c).
 *
 *   struct tw_metrics_options mo;
 *   tw_metrics_options_init(&mo);
 *   struct tw_metrics *m = tw_metrics_new(&mo);
 *   per event:            tw_metrics_observe_event(m, ev);      (TCP flow aggregates)
 *   per SCHED_RUNQ record: tw_metrics_observe_sched(m, rec);    (run-queue histograms)
 *   now and then:
 *       struct tw_stats s; tw_ctx_stats(ctx, &s);
 *       struct tw_metrics_health h = {.stats = &s, ...};
 *       tw_metrics_render(m, &h, &buf);  ... serve buf.data ... tw_metrics_buf_free(&buf)
 *   tw_metrics_free(m);
 *
 * A tw_metrics is used by one thread at a time (the one that feeds it). Every
 * metric name and label is listed in docs/metrics.md.
 *
 * Bounded label cardinality: per-process and per-cgroup network bytes, TCP
 * destination ports and cgroups are shown for at most `top` keys each, plus one series labelled
 * "other". A key gets one of the `top` slots when a slot is free at a render
 * (the largest keys first) and keeps it while it exists, so that every series
 * is a true counter; traffic of keys without a slot is added to "other", which
 * only grows. Summing rate() over a family is therefore exact.
 */
#ifndef TRACEWIRE_METRICS_H
#define TRACEWIRE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracewire.h"
/* explicitly: tracewire.h leaves its sub-headers out when included from one of them */
#include "tracewire_netacct.h"
#include "tracewire_sched.h"
#include "tracewire_ship.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growing text buffer; data is NUL-terminated. oom is set (and text lost) if malloc failed. */
struct tw_metrics_buf {
	char *data;
	size_t len, cap;
	bool oom;
};
void tw_metrics_buf_free(struct tw_metrics_buf *b);

struct tw_metrics_options {
	uint32_t top;              /* series per bounded family besides "other"; default 10 */
	uint32_t max_tracked;      /* keys remembered per family (the rest go straight to
				      "other"); default 4096, at least `top` */
	/* The local ephemeral port range, to tell the service port of a TCP flow from the
	   client's port; 0/0: read /proc/sys/net/ipv4/ip_local_port_range (32768-60999 if not). */
	uint16_t ephemeral_lo, ephemeral_hi;
	/*
	 * Names a process's cgroup (tw_netacct_proc.cgroup_id) for the per-cgroup
	 * network series, e.g. tw_netacct_cgroup_path(); NULL, or a NULL answer:
	 * the label is "id:N".
	 */
	const char *(*cgroup_path)(void *user, uint64_t cgroup_id);
	void *cgroup_path_user;
};
void tw_metrics_options_init(struct tw_metrics_options *o);

struct tw_metrics;
/* NULL when out of memory. */
struct tw_metrics *tw_metrics_new(const struct tw_metrics_options *o);
void tw_metrics_free(struct tw_metrics *m);

/* Any decoded event; only NETWORK_TCP_METRICS is used (a few additions), others are ignored. */
void tw_metrics_observe_event(struct tw_metrics *m, const struct tw_event *ev);
/* One SCHED_RUNQ interval record of a cgroup (tracewire_sched.h): histogram and preemptions. */
void tw_metrics_observe_sched(struct tw_metrics *m, const struct tw_sched_record *r);
/*
 * The whole per-process network accounting table as tw_netacct_read() returned
 * it (tracewire_netacct.h): counters are absolute, processes missing from the
 * table are forgotten. 0 or -ENOMEM.
 */
int tw_metrics_observe_netacct(struct tw_metrics *m, const struct tw_netacct_proc *procs,
			       size_t n);

/* What the agent knows about itself at render time; NULL / 0 members are left out. */
struct tw_metrics_health {
	const struct tw_stats *stats;
	uint64_t event_mask;       /* these types are shown even while their counters are 0 */
	uint32_t ring_size;        /* 0: no ring (run-queue latency alone) */
	bool ring_pending_known;
	uint64_t ring_pending_bytes;
	const struct tw_probe_status *probes;
	size_t n_probes;
	int bpf_stats_enabled;     /* kernel.bpf_stats_enabled: 1, 0, or -1 unknown */
	const struct tw_prog_stats *progs; /* tw_ctx_prog_stats(); shown when bpf_stats_enabled is 1 */
	size_t n_progs;
	const struct tw_ship_stats *ship;     /* --ship */
	const struct tw_sched_stats *sched;   /* --runqlat */
	const struct tw_netacct_stats *netacct;
	uint64_t scrapes;          /* served so far, by the embedder's server (0: not shown) */
};

/*
 * Append the exposition text to out (which may already hold text, e.g. an
 * embedder's own families). Accounts keys without a slot into "other" and
 * fills free slots, so call it for every text that is served. 0 or -ENOMEM.
 */
int tw_metrics_render(struct tw_metrics *m, const struct tw_metrics_health *h,
		      struct tw_metrics_buf *out);

/* kernel.bpf_stats_enabled: 1, 0, or -1 when it cannot be read. */
int tw_metrics_bpf_stats_enabled(void);

/* ---- exposition writer, for embedders adding their own families (and the tests) ---- */

/* "# HELP" and "# TYPE" lines; type is "counter", "gauge" or "histogram". */
void tw_metrics_family(struct tw_metrics_buf *b, const char *name, const char *type,
		       const char *help);
/*
 * One sample: name, then labels as NULL-terminated pairs {name, value, name,
 * value, ..., NULL} (NULL: none), values escaped as the format wants, then
 * the value text.
 */
void tw_metrics_sample(struct tw_metrics_buf *b, const char *name, const char *const *labels,
		       const char *value);
void tw_metrics_sample_u64(struct tw_metrics_buf *b, const char *name,
			   const char *const *labels, uint64_t v);
/* value/scale in exact decimal, e.g. (1500, 1000000000) -> "0.0000015": ns to seconds */
void tw_metrics_sample_scaled(struct tw_metrics_buf *b, const char *name,
			      const char *const *labels, uint64_t v, uint64_t scale);
/* Label value escaping (backslash, double quote, newline) appended to b. */
void tw_metrics_escape_label(struct tw_metrics_buf *b, const char *v);
/* Exact decimal of v/scale (scale a power of ten) into out: "0.000001", "12", "1.5". */
void tw_metrics_format_scaled(uint64_t v, uint64_t scale, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif /* TRACEWIRE_METRICS_H */
