// SPDX-License-Identifier: Apache-2.0
/*
 * Drives the shipper through its library API with numbered synthetic events,
 * for the fault tests: {"event_type":"TEST","n":<i>,"pad":"..."} for i in
 * [first, first+count). After every --commit-every events it commits the
 * spool and writes the highest committed n to --progress (so a test that
 * SIGKILLs it knows what must arrive). Then it flushes for --drain-ms and
 * prints the shipper's statistics as key=value lines. Exit status 0 when
 * everything was acknowledged.
 *
 *   ship_feed --url URL --spool DIR [--count N] [--first I] [--rate EVENTS_PER_S]
 *             [--batch-events N] [--batch-ms MS] [--timeout-ms MS] [--backoff-ms MIN,MAX]
 *             [--concurrency N] [--format ndjson|clickhouse|elasticsearch]
 *             [--spool-size BYTES] [--segment-size BYTES] [--drain-ms MS] [--progress FILE]
 *             [--bad N]   (event N carries "signal":"not a number": a row ClickHouse refuses)
 *             [--ca-file FILE] [--insecure 1] [--auth TYPE (--auth-file FILE | --auth-env VAR)]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tracewire_ship.h"

int main(int argc, char **argv)
{
	struct tw_ship_options o;
	struct tw_shipper *s;
	struct tw_ship_stats st;
	const char *progress = NULL, *auth_file = NULL, *auth_env = NULL;
	char *secret = NULL;
	long count = 1000, first = 0, rate = 0, drain_ms = 30000, commit_every = 50, bad = -1;
	char err[512], line[512];
	int rc;

	tw_ship_options_init(&o);
	o.batch_max_ms = 200;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--url"))
			o.url = v;
		else if (!strcmp(k, "--spool"))
			o.spool_dir = v;
		else if (!strcmp(k, "--count"))
			count = atol(v);
		else if (!strcmp(k, "--first"))
			first = atol(v);
		else if (!strcmp(k, "--rate"))
			rate = atol(v);
		else if (!strcmp(k, "--batch-events"))
			o.batch_max_events = (uint32_t)atol(v);
		else if (!strcmp(k, "--batch-ms"))
			o.batch_max_ms = (uint32_t)atol(v);
		else if (!strcmp(k, "--timeout-ms"))
			o.timeout_ms = (uint32_t)atol(v);
		else if (!strcmp(k, "--concurrency"))
			o.concurrency = (uint32_t)atol(v);
		else if (!strcmp(k, "--backoff-ms")) {
			o.backoff_initial_ms = (uint32_t)atol(v);
			o.backoff_max_ms = strchr(v, ',') ? (uint32_t)atol(strchr(v, ',') + 1) : 5000;
		} else if (!strcmp(k, "--format"))
			o.format = tw_ship_format_parse(v);
		else if (!strcmp(k, "--spool-size"))
			o.spool_max_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(k, "--segment-size"))
			o.segment_bytes = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--drain-ms"))
			drain_ms = atol(v);
		else if (!strcmp(k, "--commit-every"))
			commit_every = atol(v);
		else if (!strcmp(k, "--auth"))
			o.auth = tw_ship_auth_parse(v);
		else if (!strcmp(k, "--auth-file"))
			auth_file = v;
		else if (!strcmp(k, "--auth-env"))
			auth_env = v;
		else if (!strcmp(k, "--ca-file"))
			o.ca_file = v;
		else if (!strcmp(k, "--insecure"))
			o.insecure = atoi(v) != 0;
		else if (!strcmp(k, "--bad"))
			bad = atol(v);
		else if (!strcmp(k, "--progress"))
			progress = v;
		else {
			fprintf(stderr, "ship_feed: unknown option %s\n", k);
			return 2;
		}
	}
	if (o.auth) {
		if (!(secret = tw_ship_load_secret(auth_file, auth_env, err, sizeof(err)))) {
			fprintf(stderr, "ship_feed: %s\n", err);
			return 2;
		}
		o.auth_secret = secret;
	}
	rc = tw_ship_open(&s, &o, err, sizeof(err));
	free(secret);
	if (rc < 0) {
		fprintf(stderr, "ship_feed: %s\n", err);
		return 2;
	}
	for (long i = first; i < first + count; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"event_type\":\"TEST\",\"n\":%ld,%s\"pad\":\"%0100ld\"}", i,
				 i == bad ? "\"signal\":\"not a number\"," : "", i);
		if ((rc = tw_ship_enqueue(s, line, (size_t)n)) < 0)
			fprintf(stderr, "ship_feed: enqueue %ld: %s\n", i, strerror(-rc));
		if ((i + 1 - first) % commit_every == 0 || i + 1 == first + count) {
			tw_ship_commit(s);
			if (progress) {
				FILE *f = fopen(progress, "w");
				if (f) {
					fprintf(f, "%ld\n", i);
					fclose(f);
				}
			}
			if (rate) {
				struct timespec d = {0, (long)(1e9 * (double)commit_every / (double)rate)};
				while (d.tv_nsec >= 1000000000) {
					d.tv_sec++;
					d.tv_nsec -= 1000000000;
				}
				nanosleep(&d, NULL);
			}
		}
	}
	rc = tw_ship_flush(s, (int)drain_ms);
	tw_ship_get_stats(s, &st);
	printf("enqueued=%" PRIu64 "\nshipped=%" PRIu64 "\nbatches=%" PRIu64 "\nrequests=%" PRIu64
	       "\nretries=%" PRIu64 "\ndropped=%" PRIu64 "\ndead_lettered=%" PRIu64
	       "\ndead_letter_batches=%" PRIu64 "\nrecovered=%" PRIu64 "\npending=%" PRIu64
	       "\ncorrupt=%" PRIu64 "\nspool_bytes=%" PRIu64 "\nlast_error=%s\n",
	       st.events_enqueued, st.events_shipped, st.batches_shipped, st.requests, st.retries,
	       st.events_dropped, st.events_dead_lettered, st.batches_dead_lettered, st.events_recovered,
	       st.events_pending, st.corrupt_frames, st.spool_bytes, st.last_error);
	fflush(stdout);
	tw_ship_close(s, 0);
	return rc == 0 ? 0 : 1;
}
