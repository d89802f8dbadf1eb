// SPDX-License-Identifier: Apache-2.0
/*
 * EventsTrace's Prometheus metrics (--metrics-listen, docs/metrics.md): feeds
 * the library's aggregator (tracewire_metrics.h) from the main loop, renders
 * the exposition text there at most every --metrics-interval-ms, and hands it
 * to the HTTP server thread (metrics_server.h), which serves the last text.
 */
#ifndef ET_METRICS_OUT_H
#define ET_METRICS_OUT_H

#include <stdbool.h>

#include "cli.h"
#include "tracewire.h"
#include "tracewire_netacct.h"

struct et_metrics;

/* Starts the listener when the CLI asks for it (*out NULL otherwise). 0, or -1 (said on stderr). */
int et_metrics_open(struct et_metrics **out, const struct tw_cli *cli);
void et_metrics_event(struct et_metrics *m, const struct tw_event *ev);
void et_metrics_sched(struct et_metrics *m, const struct tw_sched_record *r);

/* What is rendered; NULL members are left out. */
struct et_metrics_sources {
	struct tw_ctx *ctx;
	struct tw_sched *sched;
	struct tw_shipper *shipper;
	struct tw_netacct *netacct;
	uint64_t event_mask;
};
/* Render and publish when the interval has passed (or now, with force). Never blocks on clients. */
void et_metrics_tick(struct et_metrics *m, const struct et_metrics_sources *src, bool force);
void et_metrics_close(struct et_metrics *m);

#endif
