// SPDX-License-Identifier: Apache-2.0
/*
 * tracewire HTTP shipper: delivers NDJSON event lines to a collector (any
 * NDJSON endpoint, ClickHouse JSONEachRow, Elasticsearch _bulk) with at-least-
 * once semantics. Every line goes through an on-disk spool first, so neither a
 * collector outage nor a restart of the agent loses it; batches are gzipped,
 * sent over keep-alive connections by a background thread, retried with
 * exponential backoff, and removed from the spool only once acknowledged.
 *
 *   struct tw_ship_options so;
 *   tw_ship_options_init(&so);
 *   so.url = "http://127.0.0.1:8123/";
 *   so.format = TW_SHIP_CLICKHOUSE;
 *   so.spool_dir = "/var/lib/myagent/spool";
 *   struct tw_shipper *sh;
 *   if (tw_ship_open(&sh, &so, err, sizeof(err)) < 0) ... print err
 *   per event:  tw_ship_enqueue(sh, line, len);   (one JSON object, no newline needed)
 *   per batch of events: tw_ship_commit(sh);      (now a crash of the process loses none)
 *   tw_ship_close(sh, 5000);                      (try to deliver for up to 5 s; the rest
 *                                                  stays spooled for the next start)
 *
 * Documentation: docs/shipper.md.
 */
#ifndef TRACEWIRE_SHIP_H
#define TRACEWIRE_SHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracewire.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tw_ship_format {
	TW_SHIP_NDJSON,        /* POST the lines as they are (application/x-ndjson) */
	TW_SHIP_CLICKHOUSE,    /* INSERT INTO <table> FORMAT JSONEachRow, nested keys flattened */
	TW_SHIP_ELASTICSEARCH, /* POST <url>/_bulk: an index action (with _id) per document */
};

enum tw_ship_auth {
	TW_SHIP_AUTH_NONE,
	TW_SHIP_AUTH_BASIC,  /* secret "user:password" */
	TW_SHIP_AUTH_BEARER, /* secret is the token: "Authorization: Bearer <token>" */
	TW_SHIP_AUTH_APIKEY, /* secret is the key: "Authorization: ApiKey <key>" (Elasticsearch) */
	TW_SHIP_AUTH_HEADER, /* secret is a whole header line, e.g. "X-API-Key: abc" */
};

struct tw_ship_options {
	const char *url;            /* http:// or https://, no user:password in it */
	enum tw_ship_format format;
	const char *table;          /* ClickHouse table, default "tracewire.events" */
	const char *index;          /* Elasticsearch index, default "tracewire" */
	const char *host_name;      /* added to every line as "host" when not NULL */
	const char *spool_dir;      /* required; created if missing; one shipper per directory */
	uint64_t spool_max_bytes;   /* default 256 MiB; beyond it the oldest segment is dropped */
	uint32_t segment_bytes;     /* default 4 MiB (at most spool_max_bytes / 4) */
	uint32_t batch_max_events;  /* default 5000 */
	uint32_t batch_max_bytes;   /* uncompressed lines, default 1 MiB */
	uint32_t batch_max_ms;      /* a batch waits at most this long to fill up, default 1000 */
	uint32_t concurrency;       /* requests in flight at once, default 2 */
	bool no_gzip;               /* send bodies uncompressed (default: gzip) */
	uint32_t timeout_ms;        /* whole request, default 10000 */
	uint32_t connect_timeout_ms;/* default 3000 */
	uint32_t backoff_initial_ms;/* first retry delay, default 200 */
	uint32_t backoff_max_ms;    /* cap of the exponential delay, default 30000 */
	uint32_t sync_ms;           /* fsync the spool at least this often, default 1000 */
	const char *ca_file;        /* CA bundle for https (default: the system's) */
	bool insecure;              /* do not verify the server's certificate (explicit only) */
	enum tw_ship_auth auth;
	const char *auth_secret;    /* never logged; copied at open and wiped at close */
	const char *dead_letter_path; /* default <spool_dir>/dead-letter.ndjson */
	uint64_t dead_letter_max_bytes; /* default 64 MiB; past it rejected batches are dropped */
	tw_log_fn log;              /* NULL: warnings and errors to stderr */
	void *log_user;
};

void tw_ship_options_init(struct tw_ship_options *o);

struct tw_ship_stats {
	uint64_t events_enqueued;   /* lines accepted by tw_ship_enqueue() */
	uint64_t events_shipped;    /* acknowledged by the collector (a resent event counts again) */
	uint64_t batches_shipped;
	uint64_t bytes_sent;        /* request bodies as sent (compressed), acknowledged ones */
	uint64_t requests;          /* every attempt, successful or not */
	uint64_t retries;           /* attempts that failed and were scheduled again */
	uint64_t events_dropped;    /* spool full (oldest segment dropped) or spool write failed */
	uint64_t events_dead_lettered; /* rejected with a 4xx other than 429, written to the file */
	uint64_t batches_dead_lettered;
	uint64_t dead_letter_dropped;  /* rejected, and the dead-letter file was full or failed */
	uint64_t events_recovered;  /* found in the spool at open (left by an earlier run) */
	uint64_t spool_bytes;       /* on disk now */
	uint64_t spool_segments;
	uint64_t events_pending;    /* spooled, not yet acknowledged */
	uint64_t corrupt_frames;    /* torn or damaged spool regions skipped */
	uint64_t corrupt_bytes;
	uint64_t spool_write_errors;
	uint32_t in_flight;         /* batches being sent or waiting for a retry */
	int last_http_status;       /* 0: none yet or a transport error */
	char last_error[160];       /* last failure, "" if none (no credentials in it) */
};

struct tw_shipper;

/* Returns 0, or a negative errno with a one-line reason in err. */
int tw_ship_open(struct tw_shipper **out, const struct tw_ship_options *o, char *err,
		 size_t errlen);
/*
 * Queue one JSON object (a trailing newline is ignored; a newline inside is
 * -EINVAL). The shipper gives it an "event_id" (boot id and a sequence unique
 * in this boot across restarts of the agent) and spools it. 0 or -errno.
 */
int tw_ship_enqueue(struct tw_shipper *s, const char *line, size_t len);
/* Hand what was queued to the kernel (the spool file): from now on a crash of
 * this process loses none of it (power loss: up to sync_ms). */
int tw_ship_commit(struct tw_shipper *s);
/* Wait until everything queued so far is acknowledged (or dead-lettered) or
 * timeout_ms passes: 0 when all was delivered, -ETIMEDOUT otherwise. */
int tw_ship_flush(struct tw_shipper *s, int timeout_ms);
void tw_ship_get_stats(struct tw_shipper *s, struct tw_ship_stats *out);
/* Deliver for at most drain_timeout_ms, then stop; undelivered data stays in
 * the spool and is sent by the next tw_ship_open() on the same directory. */
void tw_ship_close(struct tw_shipper *s, int drain_timeout_ms);

/*
 * Read a credential from a file (first line, trailing newline and spaces
 * removed) or from an environment variable; exactly one of file and env is
 * non-NULL. Returns a malloc'ed string, or NULL with a reason in err that
 * names the file or variable but never shows its content.
 */
char *tw_ship_load_secret(const char *file, const char *env, char *err, size_t errlen);

/* "ndjson", "clickhouse", "elasticsearch"; -1 when unknown. */
int tw_ship_format_parse(const char *name);
/* "basic", "bearer", "apikey", "header"; -1 when unknown. */
int tw_ship_auth_parse(const char *name);
/* Checks a collector URL: scheme, host present, no credentials, no spaces.
 * Returns 0, or -1 with a reason in err. */
int tw_ship_url_check(const char *url, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* TRACEWIRE_SHIP_H */
