// SPDX-License-Identifier: Apache-2.0
/* Run-queue latency records: bucket layout, percentile estimation, JSON, text view. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "json_writer.h"
#include "tracewire_sched.h"

/* ---- buckets: the probe's mapping and the library's ranges agree ---- */

Test(sched_buckets, every_value_falls_inside_its_bucket)
{
	static const uint64_t probes[] = {0, 1, 7, 8, 9, 15, 16, 17, 1000, 1023, 1024, 1025,
					  999999, 1000000, 123456789, 1ull << 37, (1ull << 38) - 1};
	uint64_t lo, hi;

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		unsigned b = tw_sched_bucket(probes[i]);
		cr_assert_lt(b, TW_SCHED_BUCKETS);
		tw_sched_bucket_bounds(b, &lo, &hi);
		cr_assert(lo <= probes[i] && probes[i] < hi, "%lu not in bucket %u [%lu, %lu)",
			  (unsigned long)probes[i], b, (unsigned long)lo, (unsigned long)hi);
	}
	/* a sweep: monotonic, and each bucket's range continues the previous one */
	for (uint64_t v = 0, prev_b = 0; v < (1u << 20); v += 1 + v / 64) {
		unsigned b = tw_sched_bucket(v);
		cr_assert_geq(b, prev_b);
		tw_sched_bucket_bounds(b, &lo, &hi);
		cr_assert(lo <= v && v < hi);
		prev_b = b;
	}
	for (unsigned b = 1; b < TW_SCHED_BUCKETS; b++) {
		uint64_t plo, phi;
		tw_sched_bucket_bounds(b - 1, &plo, &phi);
		tw_sched_bucket_bounds(b, &lo, &hi);
		cr_assert_eq(lo, phi, "bucket %u starts at %lu, previous ends at %lu", b,
			     (unsigned long)lo, (unsigned long)phi);
	}
}

Test(sched_buckets, small_values_are_exact_and_wide_ones_within_a_quarter)
{
	uint64_t lo, hi;

	for (unsigned v = 0; v < 8; v++) {
		cr_assert_eq(tw_sched_bucket(v), v);
		tw_sched_bucket_bounds(v, &lo, &hi);
		cr_assert_eq(hi - lo, 1);
	}
	for (unsigned b = 8; b < TW_SCHED_BUCKETS - 1; b++) {
		tw_sched_bucket_bounds(b, &lo, &hi);
		cr_assert_leq((hi - lo) * 4, lo, "bucket %u is wider than a quarter of its start", b);
	}
}

Test(sched_buckets, huge_values_go_to_the_open_last_bucket)
{
	uint64_t lo, hi;

	cr_assert_eq(tw_sched_bucket(UINT64_MAX), TW_SCHED_BUCKETS - 1);
	cr_assert_eq(tw_sched_bucket(1ull << 40), TW_SCHED_BUCKETS - 1);
	tw_sched_bucket_bounds(TW_SCHED_BUCKETS - 1, &lo, &hi);
	cr_assert_eq(hi, UINT64_MAX);
}

/* ---- percentiles ---- */

static uint64_t buckets[TW_SCHED_BUCKETS];

static void add(uint64_t ns, uint64_t n)
{
	buckets[tw_sched_bucket(ns)] += n;
}

static void clear(void)
{
	memset(buckets, 0, sizeof(buckets));
}

static double rel_err(uint64_t got, double want)
{
	return fabs((double)got - want) / want;
}

Test(sched_percentile, empty_histogram_is_zero)
{
	clear();
	cr_assert_eq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 0, 0.5), 0);
	cr_assert_eq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 0, 0.99), 0);
}

Test(sched_percentile, uniform_distribution_within_two_percent)
{
	clear();
	for (uint64_t v = 1; v <= 100000; v++)
		add(v, 1);
	cr_assert_lt(rel_err(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 100000, 0.50), 50000), 0.02);
	cr_assert_lt(rel_err(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 100000, 0.90), 90000), 0.02);
	cr_assert_lt(rel_err(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 100000, 0.99), 99000), 0.02);
}

Test(sched_percentile, bimodal_picks_the_right_mode)
{
	uint64_t p50, p90, p99;

	clear();
	add(10000, 90);   /* 90 waits of 10 us */
	add(5000000, 10); /* 10 waits of 5 ms */
	p50 = tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 5000000, 0.50);
	p90 = tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 5000000, 0.90);
	p99 = tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 5000000, 0.99);
	/* the 90th smallest of 100 is still a 10 us wait; the 91st is 5 ms */
	cr_assert_lt(rel_err(p50, 10000), 0.25, "p50 %lu", (unsigned long)p50);
	cr_assert_lt(rel_err(p90, 10000), 0.25, "p90 %lu", (unsigned long)p90);
	cr_assert_lt(rel_err(p99, 5000000), 0.25, "p99 %lu", (unsigned long)p99);
	cr_assert_leq(p99, 5000000);
}

Test(sched_percentile, never_above_the_observed_maximum)
{
	uint64_t lo, hi;

	clear();
	add(1000, 1);
	/* one sample: every quantile is inside its bucket and not above the max */
	tw_sched_bucket_bounds(tw_sched_bucket(1000), &lo, &hi);
	for (double p = 0.01; p <= 1.0; p += 0.07) {
		uint64_t v = tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 1000, p);
		cr_assert(v >= lo && v <= 1000, "p%.2f = %lu", p, (unsigned long)v);
	}
	cr_assert_leq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 1000, 1.5), 1000);
	/* the open last bucket is bounded by the maximum too */
	clear();
	add(UINT64_MAX / 2, 3);
	cr_assert_eq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 400000000000ull, 1.0),
		     400000000000ull);
}

Test(sched_percentile, exact_buckets_give_exact_values)
{
	clear();
	add(3, 50);
	add(5, 50);
	cr_assert_eq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 5, 0.5), 3);
	cr_assert_eq(tw_sched_percentile(buckets, TW_SCHED_BUCKETS, 5, 0.51), 5);
}

Test(sched_percentile, summarize_fills_count_and_quantiles)
{
	struct tw_sched_record r;

	memset(&r, 0, sizeof(r));
	for (uint64_t v = 1000; v <= 100000; v += 1000)
		r.buckets[tw_sched_bucket(v)]++;
	r.max_ns = 100000;
	tw_sched_record_summarize(&r);
	cr_assert_eq(r.count, 100);
	cr_assert(r.p50_ns <= r.p90_ns && r.p90_ns <= r.p99_ns && r.p99_ns <= r.max_ns);
	cr_assert_lt(rel_err(r.p50_ns, 50000), 0.10, "p50 %lu", (unsigned long)r.p50_ns);
	cr_assert_lt(rel_err(r.p90_ns, 90000), 0.10, "p90 %lu", (unsigned long)r.p90_ns);
}

/* ---- the SCHED_RUNQ record ---- */

static struct tw_sched_offender offs[2] = {
	{.cgroup_id = 77, .path = "/hogs", .preempted = 12, .waited = 300, .waited_ns = 900000000},
	{.cgroup_id = 1, .path = NULL, .preempted = 0, .waited = 3, .waited_ns = 1000},
};

static void sample_record(struct tw_sched_record *r)
{
	memset(r, 0, sizeof(*r));
	r->seq = 4;
	r->start_realtime_ns = 1763776800000000000ull; /* 2025-11-22T02:00:00Z */
	r->end_realtime_ns = r->start_realtime_ns + 5000000000ull;
	r->hierarchy = TW_SCHED_HIERARCHY_V1_CPU;
	r->cgroup_id = 42;
	r->cgroup_path = "/web";
	r->buckets[tw_sched_bucket(20000)] = 8;
	r->buckets[tw_sched_bucket(3000000)] = 2;
	r->sum_ns = 8 * 20000 + 2 * 3000000;
	r->max_ns = 3000000;
	r->switches = 11;
	r->preempted = 5;
	r->preempted_cross = 4;
	r->offenders = offs;
	r->n_offenders = 2;
	r->throttling.available = true;
	r->throttling.nr_periods = 100;
	r->throttling.nr_throttled = 7;
	r->throttling.throttled_usec = 4500;
	tw_sched_record_summarize(r);
}

static cJSON *render(const struct tw_sched_record *r)
{
	struct tw_json j;
	size_t len;
	const char *line;
	cJSON *o;

	tw_json_init(&j);
	tw_sched_record_to_json(&j, r);
	line = tw_json_finish(&j, &len);
	cr_assert_not_null(line);
	cr_assert_eq(line[len - 1], '\n');
	cr_assert_null(memchr(line, '\n', len - 1), "one line per record");
	o = cJSON_ParseWithLength(line, len);
	cr_assert_not_null(o, "not JSON: %.*s", (int)len, line);
	tw_json_free(&j);
	return o;
}

static cJSON *at(cJSON *o, const char *path)
{
	char buf[128], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(tok))
				     : cJSON_GetObjectItemCaseSensitive(o, tok);
	cr_assert_not_null(o, "no %s", path);
	return o;
}

static double num(cJSON *o, const char *path)
{
	cJSON *v = at(o, path);
	cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
	return v->valuedouble;
}

static const char *str(cJSON *o, const char *path)
{
	cJSON *v = at(o, path);
	cr_assert(cJSON_IsString(v), "%s is not a string", path);
	return v->valuestring;
}

Test(sched_json, record_has_every_field)
{
	struct tw_sched_record r;
	cJSON *o;

	sample_record(&r);
	o = render(&r);
	cr_assert_str_eq(str(o, "event_type"), "SCHED_RUNQ");
	cr_assert_str_eq(str(o, "time"), "2025-11-22T02:00:05.000000000Z");
	cr_assert_str_eq(str(o, "interval.start"), "2025-11-22T02:00:00.000000000Z");
	cr_assert_eq(num(o, "interval.seq"), 4);
	cr_assert_eq(num(o, "interval.duration_ns"), 5e9);
	cr_assert_eq(num(o, "cgroup.id"), 42);
	cr_assert_str_eq(str(o, "cgroup.path"), "/web");
	cr_assert_str_eq(str(o, "cgroup.hierarchy"), "v1:cpu");
	cr_assert_eq(num(o, "runq_latency.count"), 10);
	cr_assert_eq(num(o, "runq_latency.sum_ns"), 6160000);
	cr_assert_eq(num(o, "runq_latency.mean_ns"), 616000);
	cr_assert_eq(num(o, "runq_latency.p50_ns"), r.p50_ns);
	cr_assert_eq(num(o, "runq_latency.p90_ns"), r.p90_ns);
	cr_assert_eq(num(o, "runq_latency.p99_ns"), r.p99_ns);
	cr_assert_eq(num(o, "runq_latency.max_ns"), 3000000);
	/* only non-empty buckets, in order, each with its range */
	cr_assert_eq(cJSON_GetArraySize(at(o, "runq_latency.buckets")), 2);
	cr_assert_leq(num(o, "runq_latency.buckets.0.lo_ns"), 20000);
	cr_assert_gt(num(o, "runq_latency.buckets.0.hi_ns"), 20000);
	cr_assert_eq(num(o, "runq_latency.buckets.0.count"), 8);
	cr_assert_leq(num(o, "runq_latency.buckets.1.lo_ns"), 3000000);
	cr_assert_eq(num(o, "runq_latency.buckets.1.count"), 2);
	cr_assert_eq(num(o, "switches"), 11);
	cr_assert_eq(num(o, "preemptions.total"), 5);
	cr_assert_eq(num(o, "preemptions.by_other_cgroups"), 4);
	cr_assert_eq(cJSON_GetArraySize(at(o, "offenders")), 2);
	cr_assert_eq(num(o, "offenders.0.cgroup.id"), 77);
	cr_assert_str_eq(str(o, "offenders.0.cgroup.path"), "/hogs");
	cr_assert_eq(num(o, "offenders.0.preempted"), 12);
	cr_assert_eq(num(o, "offenders.0.waited"), 300);
	cr_assert_eq(num(o, "offenders.0.waited_ns"), 9e8);
	cr_assert(cJSON_IsNull(at(o, "offenders.1.cgroup.path")), "a gone cgroup's path is null");
	cr_assert_eq(num(o, "throttling.nr_periods"), 100);
	cr_assert_eq(num(o, "throttling.nr_throttled"), 7);
	cr_assert_eq(num(o, "throttling.throttled_usec"), 4500);
	cr_assert(cJSON_IsNull(at(o, "throttling.interval")), "no previous reading: null");
	cJSON_Delete(o);
}

Test(sched_json, throttling_deltas_unavailable_and_open_bucket)
{
	struct tw_sched_record r;
	cJSON *o;

	sample_record(&r);
	r.throttling.has_delta = true;
	r.throttling.interval_nr_periods = 50;
	r.throttling.interval_nr_throttled = 3;
	r.throttling.interval_throttled_usec = 1200;
	o = render(&r);
	cr_assert_eq(num(o, "throttling.interval.nr_periods"), 50);
	cr_assert_eq(num(o, "throttling.interval.nr_throttled"), 3);
	cr_assert_eq(num(o, "throttling.interval.throttled_usec"), 1200);
	cJSON_Delete(o);

	memset(&r.throttling, 0, sizeof(r.throttling));
	memset(r.buckets, 0, sizeof(r.buckets));
	r.buckets[TW_SCHED_BUCKETS - 1] = 1;
	r.max_ns = 1ull << 40;
	r.cgroup_path = NULL;
	r.n_offenders = 0;
	tw_sched_record_summarize(&r);
	o = render(&r);
	cr_assert(cJSON_IsNull(at(o, "throttling")), "no cpu.stat: throttling is null");
	cr_assert(cJSON_IsNull(at(o, "cgroup.path")));
	cr_assert(cJSON_IsNull(at(o, "runq_latency.buckets.0.hi_ns")), "open last bucket");
	cr_assert_eq(cJSON_GetArraySize(at(o, "offenders")), 0);
	cJSON_Delete(o);
}

Test(sched_json, non_utf8_path_is_kept_losslessly)
{
	struct tw_sched_record r;
	cJSON *o;

	sample_record(&r);
	r.cgroup_path = "/bad\xff";
	o = render(&r);
	cr_assert_str_eq(str(o, "cgroup.path_b64"), "L2JhZP8=");
	cJSON_Delete(o);
}

/* ---- the runqlat-style view ---- */

Test(sched_text, histogram_counts_land_in_runqlat_slots)
{
	struct tw_sched_record r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	sample_record(&r);
	tw_sched_print_histogram(f, &r);
	fclose(f);
	cr_assert_not_null(strstr(buf, "usecs"), "%s", buf);
	cr_assert_not_null(strstr(buf, "cgroup /web (id 42, v1:cpu)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "offender /hogs (id 77)"), "%s", buf);
	/* 20 us is in 16 -> 31, 3 ms in 2048 -> 4095; the fullest slot has 40 stars */
	cr_assert_not_null(strstr(buf, "        16 -> 31         : 8        |****************************************|"),
			   "%s", buf);
	cr_assert_not_null(strstr(buf, "      2048 -> 4095       : 2        |**********"), "%s", buf);
	free(buf);
}
