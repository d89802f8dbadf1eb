// SPDX-License-Identifier: Apache-2.0
/*
 * Internals of the HTTP shipper, split along its seams so each part can be
 * unit tested without a network: the spool (ship_spool.c), the request body
 * formats (ship_format.c) and the retry policy (ship_retry.c). ship.c ties
 * them to libcurl and a sending thread.
 */
#ifndef TW_SHIP_INTERNAL_H
#define TW_SHIP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tracewire_ship.h"

/* ---- spool: segment files of framed records ---- */

/*
 * A record on disk: magic, payload length, CRC-32 of the payload (all little
 * endian), then the payload. The magic lets a reader find the next record
 * after a damaged one; the CRC catches a torn or corrupted write.
 */
#define SHIP_FRAME_MAGIC 0x31515754u /* "TWQ1" */
#define SHIP_FRAME_HDR 12u
#define SHIP_RECORD_MAX (16u << 20)

struct ship_seg {
	uint64_t id;           /* file seg-<id as 16 hex digits>.twq */
	int fd;
	uint64_t size;         /* bytes written to the file */
	uint64_t records;      /* valid records in it (written, or counted at open) */
	uint64_t read_off;     /* next byte to put into a batch */
	uint64_t read_records;
	uint64_t acked_records;
	/*
	 * Acknowledged bytes from the start, contiguous: persisted in
	 * seg-<id>.ack so a restart does not send them again. Batches finish out
	 * of order; the ones past a gap wait in acked[] until it closes.
	 */
	uint64_t ack_off;
	struct { uint64_t start, end; } acked[64];
	uint32_t n_acked;
	uint32_t inflight;     /* batches taken from it, not yet acknowledged */
	bool closed;           /* no more appends: its end is final */
	bool recovered;        /* left by an earlier run (damage already counted at open) */
	struct ship_seg *next; /* newer */
};

struct ship_spool {
	char *dir;
	int dirfd, lockfd;
	struct ship_seg *oldest, *newest; /* newest is the one being appended to */
	uint64_t next_id;
	uint64_t max_bytes, seg_bytes;
	uint64_t bytes;          /* on disk, plus the write buffer */
	char *wbuf;              /* frames not yet written to the newest segment */
	size_t wlen, wcap;
	uint64_t wrecords;       /* records in wbuf */
	uint64_t unsynced;       /* bytes written since the last fsync */
	uint64_t unread_records; /* not yet taken into a batch, including wbuf */
	uint64_t unread_bytes;
	/* counters (see struct tw_ship_stats) */
	uint64_t dropped_records, dropped_bytes, corrupt_frames, corrupt_bytes, recovered_records,
		write_errors;
	uint64_t segments;
};

/* A batch: consecutive records of one segment, copied into memory. */
struct ship_batch {
	uint64_t seg_id;
	uint64_t start_off, end_off; /* the bytes of the segment it covers */
	char *lines;       /* payloads, each followed by '\n' */
	size_t len;
	uint32_t n;        /* records */
};

/*
 * Open (creating) the spool directory, take its lock, count what an earlier
 * run left (torn tails and damaged records are counted and will be skipped).
 * Never appends to an old segment: a new one is started.
 */
int ship_spool_open(struct ship_spool *sp, const char *dir, uint64_t max_bytes, uint64_t seg_bytes,
		    char *err, size_t errlen);
void ship_spool_close(struct ship_spool *sp);
/* Frame and buffer one record; rotates segments and drops the oldest when full. */
int ship_spool_append(struct ship_spool *sp, const void *data, size_t len);
/* Write the buffer to the newest segment (survives a crash of the process). */
int ship_spool_commit(struct ship_spool *sp);
/* fsync the newest segment if anything was written since the last sync. */
int ship_spool_sync(struct ship_spool *sp);
/*
 * Take up to max_records / max_bytes of committed, unread records from the
 * oldest segment that has some (a batch never spans segments). Returns the
 * number of records (0: nothing committed to read), -errno on a read error.
 */
int ship_spool_take(struct ship_spool *sp, uint32_t max_records, size_t max_bytes,
		    struct ship_batch *out);
/* The batch was delivered (or dead-lettered): a segment fully read, closed and
 * acknowledged is deleted. */
void ship_spool_ack(struct ship_spool *sp, const struct ship_batch *b);
/* Close the newest segment so its records can be read to a final end, and
 * start a new one at the next append. */
int ship_spool_rotate(struct ship_spool *sp);
/* Is there committed unread data in a closed segment (old data: send now)? */
bool ship_spool_has_closed_unread(const struct ship_spool *sp);
uint64_t ship_spool_pending(const struct ship_spool *sp); /* records not yet acknowledged */
/*
 * Should a batch be sent now? When there is something unread and: forced
 * (closing, flushing), old data (a closed segment) is waiting, a full batch
 * by count or bytes is there, or the oldest unsent record waited max_ms.
 */
bool ship_batch_due(const struct ship_spool *sp, uint32_t max_events, uint32_t max_bytes,
		    uint32_t max_ms, uint64_t pending_since_ms, uint64_t now_ms, bool force);
void ship_batch_free(struct ship_batch *b);

uint32_t ship_crc32(const void *data, size_t len);

/* ---- event ids ---- */

/*
 * The sequence behind event ids, persisted in <spool>/sequence as
 * "<boot id> <next free>": ids are reserved in blocks, and the block is on
 * disk before any id of it is used, so a restart in the same boot continues
 * above every id already handed out. A new boot starts again at 1.
 */
struct ship_seq {
	int dirfd;
	char boot_id[40];
	uint64_t next, reserved_end;
	uint32_t block;
};
int ship_seq_open(struct ship_seq *q, int dirfd, const char *boot_id, uint32_t block, char *err,
		  size_t errlen);
/* The next sequence number; -errno when the reservation cannot be stored. */
int ship_seq_next(struct ship_seq *q, uint64_t *out);
int ship_read_boot_id(char *out, size_t outlen);

/* ---- formats ---- */

struct ship_buf {
	char *p;
	size_t len, cap;
};
int ship_buf_put(struct ship_buf *b, const void *data, size_t len);
void ship_buf_free(struct ship_buf *b);

/*
 * {"event_id":"<id>"[,"host":"<host>"], ...rest of the object}. Returns 0, or
 * -EINVAL when line is not a JSON object.
 */
int ship_line_with_id(struct ship_buf *out, const char *line, size_t len, const char *event_id,
		      const char *host);
/* The request body for a batch of lines (each ending in '\n') in a format. */
int ship_format_body(struct ship_buf *out, enum tw_ship_format fmt, const char *index,
		     const char *lines, size_t len);
/*
 * One line flattened for ClickHouse JSONEachRow: nested objects become
 * parent_child keys, null values are left out (the column default applies),
 * booleans become 1/0, "time" becomes "YYYY-MM-DD hh:mm:ss" (UTC) plus
 * "time_ns" (ns since the epoch), and "raw" holds the whole original line.
 * Numbers are copied as text, so 64-bit values keep every digit.
 */
int ship_clickhouse_row(struct ship_buf *out, const char *line, size_t len);
/* gzip (RFC 1952) of in into out. */
int ship_gzip(struct ship_buf *out, const void *in, size_t len, int level);
/* The URL a request goes to: ClickHouse gets its query, Elasticsearch /_bulk. */
char *ship_request_url(const char *base, enum tw_ship_format fmt, const char *table);
/* Value of "key" (a top-level string) in a JSON line, into out; false if absent. */
bool ship_json_string_field(const char *line, size_t len, const char *key, char *out,
			    size_t outlen);

/* ---- retry policy ---- */

enum ship_verdict {
	SHIP_DELIVERED,
	SHIP_RETRY,       /* transport error, timeout, 5xx, 429 */
	SHIP_DEAD_LETTER, /* 4xx other than 429, or another final answer */
};
/* transport_error: libcurl failed (no HTTP status); status: HTTP code otherwise. */
enum ship_verdict ship_classify(bool transport_error, long status);
/*
 * Elasticsearch answers 200 even when documents failed: "errors":true with a
 * status per item. Any 429 or 5xx item: retry (ids make the resend
 * idempotent); other item errors: dead letter; none: delivered.
 */
enum ship_verdict ship_classify_bulk_response(const char *body, size_t len);
/*
 * ClickHouse (18.16 at least) answers 500 to rows it cannot parse, which
 * would be retried forever. Its error text starts "Code: N": the codes of
 * data errors (parse, type, syntax) are final, a dead letter; other 5xx
 * (memory, too many parts, timeouts) stay retries.
 */
enum ship_verdict ship_classify_clickhouse_error(long status, const char *body, size_t len);
/*
 * Delay before retry number attempt (1 = first retry): an exponential
 * initial * 2^(attempt-1) capped at max, with "equal jitter": half of it
 * fixed, half uniform random (r in [0,1)), so retries of many agents spread.
 */
uint64_t ship_backoff_ms(uint32_t attempt, uint32_t initial_ms, uint32_t max_ms, double r);
/*
 * Retry-After header value: delay-seconds or an HTTP-date (relative to now).
 * Returns milliseconds (0 for a date in the past), or -1 if unparseable.
 */
int64_t ship_parse_retry_after(const char *value, time_t now);

#endif
