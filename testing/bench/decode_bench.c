// SPDX-License-Identifier: Apache-2.0
/*
 * Userspace-only microbenchmark: decode + NDJSON rendering of a recorded
 * event stream (EventsTrace --record), on one thread pinned to one CPU, so
 * the figure is events per second per core. The records are loaded into
 * memory first (with the library's replay reader) and then decoded and
 * rendered in a loop for the requested time; the NDJSON goes through
 * write(2) in 64 KiB blocks to /dev/null, as EventsTrace's stdout would.
 *
 * Usage: decode_bench RECORDING [SECONDS] [CPU] [MAX_RECORD_BYTES]
 * With MAX_RECORD_BYTES only records up to that size are used: the rate of
 * small events (fork, exit, file) apart from those carrying 10 KB of argv or
 * 8 KiB of tty output, whose cost is the bytes, not the event.
 * Prints: events, seconds, events_per_s, ndjson_mb_per_s, records and the
 * mix of event types in the recording.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tracewire_decode.h"
#include "tracewire_json.h"
#include "tracewire_record.h"

struct recs {
	unsigned char **data;
	size_t *len;
	size_t n, cap;
	unsigned long long by_type[TW_EVENT_TYPE_MAX];
	size_t max_len;
};

static int keep(void *user, const struct tw_event *ev)
{
	struct recs *r = user;

	if (r->max_len && ev->len > r->max_len)
		return 0;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->data = realloc(r->data, r->cap * sizeof(*r->data));
		r->len = realloc(r->len, r->cap * sizeof(*r->len));
		if (!r->data || !r->len)
			return 1;
	}
	r->data[r->n] = malloc(ev->len);
	if (!r->data[r->n])
		return 1;
	memcpy(r->data[r->n], ev->hdr, ev->len);
	r->len[r->n++] = ev->len;
	if (ev->hdr->type < TW_EVENT_TYPE_MAX)
		r->by_type[ev->hdr->type]++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct recs r = {0};
	struct tw_replay_result res;
	struct tw_json j;
	char err[256], *out;
	size_t out_len = 0, out_cap = 64 * 1024;
	double seconds = argc > 2 ? atof(argv[2]) : 5, t0, t;
	int cpu = argc > 3 ? atoi(argv[3]) : 0, sink;
	unsigned long long events = 0, bytes = 0, errors = 0;
	cpu_set_t set;

	if (argc < 2) {
		fprintf(stderr, "usage: decode_bench RECORDING [SECONDS] [CPU] [MAX_RECORD_BYTES]\n");
		return 2;
	}
	r.max_len = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
	if (tw_replay_file(argv[1], keep, &r, &res, err, sizeof(err))) {
		fprintf(stderr, "decode_bench: %s\n", err);
		return 1;
	}
	if (!r.n) {
		fprintf(stderr, "decode_bench: %s holds no decodable record\n", argv[1]);
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "decode_bench: not pinned to CPU %d\n", cpu);
	sink = open("/dev/null", O_WRONLY);
	out = malloc(out_cap);
	tw_json_init(&j);

	t0 = now_s();
	do {
		/* whole passes over the recording, the clock read once per pass */
		for (size_t i = 0; i < r.n; i++) {
			struct tw_event ev;
			const char *s;
			size_t n;

			if (tw_event_decode(r.data[i], r.len[i], &ev) != TW_DECODE_OK) {
				errors++;
				continue;
			}
			ev.ts_realtime_ns = ev.hdr->ts_boot_ns + res.realtime_offset_ns;
			tw_json_reset(&j);
			tw_event_to_json(&j, &ev);
			s = tw_json_finish(&j, &n); /* the line ends with its newline */
			if (!s) {
				errors++;
				continue;
			}
			if (out_len + n > out_cap) {
				if (write(sink, out, out_len) < 0)
					errors++;
				bytes += out_len;
				out_len = 0;
			}
			if (n <= out_cap) {
				memcpy(out + out_len, s, n);
				out_len += n;
			}
			events++;
		}
		t = now_s() - t0;
	} while (t < seconds);
	bytes += out_len;

	printf("decode_bench events=%llu seconds=%.3f events_per_s=%.0f ndjson_mb_per_s=%.1f "
	       "avg_json_bytes=%.0f records=%zu max_record_bytes=%zu errors=%llu cpu=%d mix=",
	       events, t, events / t, bytes / t / 1e6, events ? (double)bytes / events : 0, r.n, r.max_len, errors,
	       cpu);
	for (int ty = 0, first = 1; ty < TW_EVENT_TYPE_MAX; ty++)
		if (r.by_type[ty]) {
			printf("%s%d:%llu", first ? "" : ",", ty, r.by_type[ty]);
			first = 0;
		}
	printf("\n");
	tw_json_free(&j);
	return errors ? 1 : 0;
}
