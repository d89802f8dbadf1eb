// SPDX-License-Identifier: Apache-2.0
/* The stream's own records: STREAM_START and STATS. */
#include <string.h>
#include <time.h>

#include "tracewire_json.h"

static const char *probe_state_name(enum tw_probe_state s)
{
	switch (s) {
	case TW_PROBE_ATTACHED:
		return "attached";
	case TW_PROBE_UNAVAILABLE:
		return "unavailable";
	default:
		return "not_requested";
	}
}

static void now_json(struct tw_json *j)
{
	struct timespec ts;
	char iso[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	tw_format_iso8601((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec, iso, sizeof(iso));
	tw_json_raw_string(j, "time", iso);
}

void tw_stream_start_to_json(struct tw_json *j, const struct tw_stream_info *info)
{
	tw_json_begin_object(j, NULL);
	tw_json_raw_string(j, "event_type", "STREAM_START");
	now_json(j);
	tw_json_u64(j, "wire_version", TW_WIRE_VERSION);
	tw_json_raw_string(j, "library_version", TW_LIB_VERSION);
	tw_json_string(j, "agent", info->agent, strlen(info->agent));
	tw_json_string(j, "source", info->source, strlen(info->source));
	tw_json_begin_array(j, "event_types");
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
		if ((info->event_mask >> t) & 1 && tw_event_type_name(t))
			tw_json_raw_string(j, NULL, tw_event_type_name(t));
	tw_json_end_array(j);
	if (info->ring_size)
		tw_json_u64(j, "ring_size", info->ring_size);
	tw_json_u64(j, "wakeup_bytes", info->wakeup_bytes);
	if (info->hook_sets) {
		/* which hooks serve each type: e.g. file events from vfs functions or tracepoints */
		tw_json_begin_object(j, "hook_sets");
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if ((info->event_mask >> t) & 1 && info->hook_sets[t] && tw_event_type_name(t))
				tw_json_string(j, tw_event_type_name(t), info->hook_sets[t],
					       strlen(info->hook_sets[t]));
		tw_json_end_object(j);
	}
	if (info->hook_report && info->hook_report[0])
		tw_json_string(j, "hook_report", info->hook_report, strlen(info->hook_report));
	tw_json_begin_array(j, "probes");
	for (size_t i = 0; i < info->n_probes; i++) {
		const struct tw_probe_status *p = &info->probes[i];
		tw_json_begin_object(j, NULL);
		tw_json_raw_string(j, "program", p->program);
		tw_json_raw_string(j, "hook", p->hook);
		tw_json_begin_array(j, "event_types");
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if ((p->event_mask >> t) & 1 && tw_event_type_name(t))
				tw_json_raw_string(j, NULL, tw_event_type_name(t));
		tw_json_end_array(j);
		tw_json_raw_string(j, "state", probe_state_name(p->state));
		tw_json_end_object(j);
	}
	tw_json_end_array(j);
	tw_json_end_object(j);
}

void tw_stats_to_json_with(struct tw_json *j, const struct tw_stats *s, bool final,
			    void (*extra)(struct tw_json *j, void *arg), void *arg)
{
	static const char *const reasons[TW_DECODE_ERROR_MAX] = {
		[TW_DECODE_SHORT_HEADER] = "short_header",
		[TW_DECODE_SIZE_MISMATCH] = "size_mismatch",
		[TW_DECODE_UNKNOWN_TYPE] = "unknown_type",
		[TW_DECODE_SHORT_FIXED] = "short_fixed",
		[TW_DECODE_FIELDS_OVERRUN] = "fields_overrun",
		[TW_DECODE_FIELD_COUNT] = "field_count",
	};

	tw_json_begin_object(j, NULL);
	tw_json_raw_string(j, "event_type", "STATS");
	now_json(j);
	tw_json_bool(j, "final", final);
	tw_json_u64(j, "lost_total", s->lost_total);
	tw_json_u64(j, "decode_errors_total", s->decode_errors_total);
	tw_json_u64(j, "dns_malformed", s->dns_malformed);
	tw_json_u64(j, "runs_skipped", s->runs_skipped);
	tw_json_begin_object(j, "decode_errors");
	for (int r = 1; r < TW_DECODE_ERROR_MAX; r++)
		tw_json_u64(j, reasons[r], s->decode_errors[r]);
	tw_json_end_object(j);
	tw_json_begin_object(j, "exit_order");
	tw_json_u64(j, "exits_held", s->exits_held);
	tw_json_u64(j, "exits_hold_expired", s->exits_hold_expired);
	tw_json_u64(j, "connections_untracked", s->connections_untracked);
	tw_json_u64(j, "connections_open", s->connections_open);
	tw_json_end_object(j);
	tw_json_begin_object(j, "types");
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		const struct tw_type_stats *ts = &s->type[t];
		if (!tw_event_type_name(t))
			continue;
		tw_json_begin_object(j, tw_event_type_name(t));
		tw_json_u64(j, "emitted", ts->emitted);
		tw_json_u64(j, "received", ts->received);
		tw_json_u64(j, "filtered", ts->filtered);
		tw_json_u64(j, "lost_ringbuf", ts->lost_ringbuf);
		tw_json_u64(j, "lost_scratch", ts->lost_scratch);
		tw_json_u64(j, "truncated", ts->truncated);
		tw_json_u64(j, "rate_limited", ts->rate_limited);
		tw_json_u64(j, "rate_limited_bytes", ts->rate_limited_bytes);
		tw_json_end_object(j);
	}
	tw_json_end_object(j);
	if (extra)
		extra(j, arg); /* members the agent adds, e.g. its shipper's counters */
	tw_json_end_object(j);
}

void tw_stats_to_json(struct tw_json *j, const struct tw_stats *s, bool final)
{
	tw_stats_to_json_with(j, s, final, NULL, NULL);
}
