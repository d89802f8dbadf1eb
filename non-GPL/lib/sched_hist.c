// SPDX-License-Identifier: Apache-2.0
/*
 * Run-queue latency records without BPF: bucket ranges, percentiles from the
 * buckets, the SCHED_RUNQ JSON object and the runqlat-style text view. Kept
 * apart from sched.c so unit tests and fuzzers link it without libbpf.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_writer.h"
#include "tracewire_json.h"
#include "tracewire_sched.h"

const char *tw_sched_hierarchy_name(int h)
{
	switch (h) {
	case TW_SCHED_HIERARCHY_V1_CPU:
		return "v1:cpu";
	case TW_SCHED_HIERARCHY_V1_MEMORY:
		return "v1:memory";
	default:
		return "v2";
	}
}

void tw_sched_bucket_bounds(unsigned idx, uint64_t *lo, uint64_t *hi)
{
	unsigned e, s;

	if (idx >= TW_SCHED_BUCKETS)
		idx = TW_SCHED_BUCKETS - 1;
	if (idx < 2 * TW_SCHED_SUB) { /* exact values */
		*lo = idx;
		*hi = idx + 1;
	} else {
		e = idx / TW_SCHED_SUB + 1;
		s = idx % TW_SCHED_SUB;
		*lo = (uint64_t)(TW_SCHED_SUB + s) << (e - TW_SCHED_SUB_BITS);
		*hi = (uint64_t)(TW_SCHED_SUB + s + 1) << (e - TW_SCHED_SUB_BITS);
	}
	if (idx == TW_SCHED_BUCKETS - 1)
		*hi = UINT64_MAX; /* the probe puts everything longer here too */
}

uint64_t tw_sched_percentile(const uint64_t *buckets, size_t n, uint64_t max_ns, double p)
{
	uint64_t total = 0, cum = 0, lo, hi, est;
	double rank;

	for (size_t i = 0; i < n; i++)
		total += buckets[i];
	if (!total || !(p > 0))
		return 0;
	if (p > 1)
		p = 1;
	/* the rank-th smallest sample, 1-based (nearest-rank definition) */
	rank = ceil(p * (double)total);
	if (rank < 1)
		rank = 1;
	if (max_ns && rank >= (double)total)
		return max_ns; /* the largest sample is known exactly */
	for (size_t i = 0; i < n; i++) {
		double k, width;

		if (!buckets[i])
			continue;
		if ((double)(cum + buckets[i]) < rank) {
			cum += buckets[i];
			continue;
		}
		tw_sched_bucket_bounds((unsigned)i, &lo, &hi);
		/* the observed maximum bounds the bucket it falls in (and the open last one) */
		if (max_ns && max_ns >= lo && max_ns < hi)
			hi = max_ns + 1;
		else if (hi == UINT64_MAX)
			hi = lo + 1;
		/* samples spread evenly over the bucket: the k-th sits at (k - 1/2) / count */
		k = rank - (double)cum;
		width = (double)(hi - lo);
		est = lo + (uint64_t)(width * (k - 0.5) / (double)buckets[i]);
		if (est >= hi)
			est = hi - 1;
		if (max_ns && est > max_ns)
			est = max_ns;
		return est;
	}
	return max_ns; /* not reached: rank <= total */
}

void tw_sched_record_summarize(struct tw_sched_record *r)
{
	r->count = 0;
	for (size_t i = 0; i < TW_SCHED_BUCKETS; i++)
		r->count += r->buckets[i];
	r->p50_ns = tw_sched_percentile(r->buckets, TW_SCHED_BUCKETS, r->max_ns, 0.50);
	r->p90_ns = tw_sched_percentile(r->buckets, TW_SCHED_BUCKETS, r->max_ns, 0.90);
	r->p99_ns = tw_sched_percentile(r->buckets, TW_SCHED_BUCKETS, r->max_ns, 0.99);
}

static void cgroup_json(struct tw_json *j, const char *key, uint64_t id, const char *path,
			int hierarchy)
{
	tw_json_begin_object(j, key);
	tw_json_u64(j, "id", id);
	if (path)
		tw_json_string(j, "path", path, strlen(path));
	else
		tw_json_null(j, "path");
	if (hierarchy >= 0)
		tw_json_raw_string(j, "hierarchy", tw_sched_hierarchy_name(hierarchy));
	tw_json_end_object(j);
}

void tw_sched_record_to_json(struct tw_json *j, const struct tw_sched_record *r)
{
	const struct tw_sched_throttling *t = &r->throttling;
	char iso[40];

	tw_json_begin_object(j, NULL);
	tw_json_raw_string(j, "event_type", "SCHED_RUNQ");
	tw_format_iso8601(r->end_realtime_ns, iso, sizeof(iso));
	tw_json_raw_string(j, "time", iso);
	tw_json_begin_object(j, "interval");
	tw_json_u64(j, "seq", r->seq);
	tw_format_iso8601(r->start_realtime_ns, iso, sizeof(iso));
	tw_json_raw_string(j, "start", iso);
	tw_json_u64(j, "duration_ns", r->end_realtime_ns - r->start_realtime_ns);
	tw_json_end_object(j);
	cgroup_json(j, "cgroup", r->cgroup_id, r->cgroup_path, r->hierarchy);

	tw_json_begin_object(j, "runq_latency");
	tw_json_u64(j, "count", r->count);
	tw_json_u64(j, "sum_ns", r->sum_ns);
	tw_json_u64(j, "mean_ns", r->count ? r->sum_ns / r->count : 0);
	tw_json_u64(j, "p50_ns", r->p50_ns);
	tw_json_u64(j, "p90_ns", r->p90_ns);
	tw_json_u64(j, "p99_ns", r->p99_ns);
	tw_json_u64(j, "max_ns", r->max_ns);
	/* only the buckets that counted something, in increasing order */
	tw_json_begin_array(j, "buckets");
	for (unsigned i = 0; i < TW_SCHED_BUCKETS; i++) {
		uint64_t lo, hi;
		if (!r->buckets[i])
			continue;
		tw_sched_bucket_bounds(i, &lo, &hi);
		tw_json_begin_object(j, NULL);
		tw_json_u64(j, "lo_ns", lo);
		if (hi == UINT64_MAX)
			tw_json_null(j, "hi_ns");
		else
			tw_json_u64(j, "hi_ns", hi);
		tw_json_u64(j, "count", r->buckets[i]);
		tw_json_end_object(j);
	}
	tw_json_end_array(j);
	tw_json_end_object(j);

	tw_json_u64(j, "switches", r->switches);
	tw_json_begin_object(j, "preemptions");
	tw_json_u64(j, "total", r->preempted);
	tw_json_u64(j, "by_other_cgroups", r->preempted_cross);
	tw_json_end_object(j);
	tw_json_begin_array(j, "offenders");
	for (size_t i = 0; i < r->n_offenders; i++) {
		const struct tw_sched_offender *o = &r->offenders[i];
		tw_json_begin_object(j, NULL);
		cgroup_json(j, "cgroup", o->cgroup_id, o->path, -1);
		tw_json_u64(j, "preempted", o->preempted);
		tw_json_u64(j, "waited", o->waited);
		tw_json_u64(j, "waited_ns", o->waited_ns);
		tw_json_end_object(j);
	}
	tw_json_end_array(j);

	if (!t->available) {
		tw_json_null(j, "throttling");
	} else {
		tw_json_begin_object(j, "throttling");
		tw_json_u64(j, "nr_periods", t->nr_periods);
		tw_json_u64(j, "nr_throttled", t->nr_throttled);
		tw_json_u64(j, "throttled_usec", t->throttled_usec);
		if (t->has_delta) {
			tw_json_begin_object(j, "interval");
			tw_json_u64(j, "nr_periods", t->interval_nr_periods);
			tw_json_u64(j, "nr_throttled", t->interval_nr_throttled);
			tw_json_u64(j, "throttled_usec", t->interval_throttled_usec);
			tw_json_end_object(j);
		} else {
			tw_json_null(j, "interval");
		}
		tw_json_end_object(j);
	}
	tw_json_end_object(j);
}

/*
 * runqlat's layout: slot 0 is 0..1 us, slot k is 2^k .. 2^(k+1)-1 us. Our
 * buckets are finer but on nanosecond powers of two, so each is counted in
 * the slot of its midpoint (an approximation at slot edges only).
 */
#define HIST_SLOTS 40

static unsigned us_slot(uint64_t us)
{
	unsigned s = 0;
	while (us > 1 && s < HIST_SLOTS - 1) {
		us >>= 1;
		s++;
	}
	return s;
}

void tw_sched_print_histogram(FILE *f, const struct tw_sched_record *r)
{
	uint64_t slots[HIST_SLOTS] = {0}, peak = 0;
	int last = -1;

	for (unsigned i = 0; i < TW_SCHED_BUCKETS; i++) {
		uint64_t lo, hi, mid;
		if (!r->buckets[i])
			continue;
		tw_sched_bucket_bounds(i, &lo, &hi);
		mid = hi == UINT64_MAX ? lo : lo + (hi - lo) / 2;
		slots[us_slot(mid / 1000)] += r->buckets[i];
	}
	for (int s = 0; s < HIST_SLOTS; s++) {
		if (slots[s])
			last = s;
		if (slots[s] > peak)
			peak = slots[s];
	}
	fprintf(f, "\ncgroup %s (id %" PRIu64 ", %s), interval %" PRIu64 "\n",
		r->cgroup_path ? r->cgroup_path : "(gone)", r->cgroup_id,
		tw_sched_hierarchy_name(r->hierarchy), r->seq);
	fprintf(f, "  waits %" PRIu64 ", mean %" PRIu64 " us, p50 %" PRIu64 " us, p90 %" PRIu64
		   " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
		r->count, r->count ? r->sum_ns / r->count / 1000 : 0, r->p50_ns / 1000,
		r->p90_ns / 1000, r->p99_ns / 1000, r->max_ns / 1000);
	fprintf(f, "  switches %" PRIu64 ", preempted %" PRIu64 " (%" PRIu64 " by other cgroups)",
		r->switches, r->preempted, r->preempted_cross);
	if (r->throttling.available && r->throttling.has_delta)
		fprintf(f, ", throttled %" PRIu64 " of %" PRIu64 " periods, %" PRIu64 " us",
			r->throttling.interval_nr_throttled, r->throttling.interval_nr_periods,
			r->throttling.interval_throttled_usec);
	fputc('\n', f);
	for (size_t i = 0; i < r->n_offenders; i++)
		fprintf(f, "  offender %s (id %" PRIu64 "): preempted it %" PRIu64
			   " times, ran while it waited %" PRIu64 " times (%" PRIu64 " us)\n",
			r->offenders[i].path ? r->offenders[i].path : "(gone)", r->offenders[i].cgroup_id,
			r->offenders[i].preempted, r->offenders[i].waited,
			r->offenders[i].waited_ns / 1000);
	if (last < 0)
		return;
	fprintf(f, "%*s : count    distribution\n", 21, "usecs");
	for (int s = 0; s <= last; s++) {
		uint64_t low = (1ull << (s + 1)) >> 1, high = (1ull << (s + 1)) - 1;
		int stars = peak ? (int)(slots[s] * 40 / peak) : 0;
		char bar[41];

		if (low == high)
			low--;
		memset(bar, '*', (size_t)stars);
		memset(bar + stars, ' ', (size_t)(40 - stars));
		bar[40] = '\0';
		fprintf(f, "%10" PRIu64 " -> %-10" PRIu64 " : %-8" PRIu64 " |%s|\n", low, high,
			slots[s], bar);
	}
}
