// SPDX-License-Identifier: Apache-2.0
/*
 * NDJSON rendering of decoded events and of the stream's own records
 * (STREAM_START, STATS). Schema: docs/events.md.
 */
#ifndef TRACEWIRE_JSON_H
#define TRACEWIRE_JSON_H

#include "json_writer.h"
#include "tracewire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append one event as a complete JSON object (no newline) to j. */
void tw_event_to_json(struct tw_json *j, const struct tw_event *ev);

/* "2026-11-22T01:02:03.123456789Z" into out (at least 32 bytes). */
void tw_format_iso8601(uint64_t realtime_ns, char *out, size_t outlen);

/* "pts/3", "tty1", "ttyS0", "console"; NULL when the numbers are not a known tty. */
const char *tw_tty_name(uint32_t major, uint32_t minor, char *buf, size_t buflen);

struct tw_stream_info {
	const char *agent;             /* e.g. "EventsTrace" */
	const char *source;            /* "kernel" or "replay:<path>" */
	uint64_t event_mask;
	uint32_t ring_size;
	uint32_t wakeup_bytes;
	const struct tw_probe_status *probes;
	size_t n_probes;
	/* per event type (indexed by type, TW_EVENT_TYPE_MAX entries): the hook set that serves
	   it, tw_ctx_hook_set(); NULL array or entries: not written */
	const char *const *hook_sets;
	const char *hook_report;        /* tw_ctx_hook_report(): fallbacks and why; NULL or "": none */
};

/* The first record of a stream: format version, agent, what is attached. */
void tw_stream_start_to_json(struct tw_json *j, const struct tw_stream_info *info);

/* A STATS record: kernel and userspace counters per event type. */
void tw_stats_to_json(struct tw_json *j, const struct tw_stats *s, bool final);
/* The same, with extra members written by `extra` before the record closes. */
void tw_stats_to_json_with(struct tw_json *j, const struct tw_stats *s, bool final,
			   void (*extra)(struct tw_json *j, void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif
