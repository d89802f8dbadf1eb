// SPDX-License-Identifier: Apache-2.0
/*
 * Recordings: raw records as the kernel wrote them, after a versioned file
 * header, so an event stream can be decoded later without the kernel (tests,
 * fuzz corpora, benchmarks, bug reports). Format: docs/wire-format.md.
 */
#ifndef TRACEWIRE_RECORD_H
#define TRACEWIRE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "tracewire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_RECORD_MAGIC "TWRECORD"
#define TW_RECORD_FILE_VERSION 1
#define TW_RECORD_BYTE_ORDER_MARK 0x01020304u
#define TW_RECORD_MAX_LEN (1u << 20) /* a longer length prefix means corruption */

struct tw_record_file_header {
	char magic[8];                /* "TWRECORD" */
	uint32_t file_version;        /* TW_RECORD_FILE_VERSION */
	uint32_t wire_version;        /* TW_WIRE_VERSION of the records */
	uint32_t header_size;         /* sizeof this header: skip unknown tail of newer headers */
	uint32_t byte_order;          /* TW_RECORD_BYTE_ORDER_MARK in the writer's order */
	int64_t realtime_offset_ns;   /* CLOCK_REALTIME - CLOCK_BOOTTIME when recorded */
	uint64_t created_realtime_ns;
	uint8_t reserved[24];
};

/* Each record: uint32_t len, uint32_t reserved (0), len bytes, zero padding to 8. */

struct tw_recorder;

int tw_recorder_open(struct tw_recorder **out, const char *path, int64_t realtime_offset_ns,
		     char *err, size_t errlen);
/* Returns 0 or -errno (e.g. -ENOSPC); failed writes are counted, see tw_recorder_errors. */
int tw_recorder_write(struct tw_recorder *r, const void *data, size_t len);
uint64_t tw_recorder_records(const struct tw_recorder *r);
uint64_t tw_recorder_errors(const struct tw_recorder *r);
/* Flushes and closes; returns 0 or the first write/flush error (-errno). */
int tw_recorder_close(struct tw_recorder *r);

struct tw_replay_result {
	uint64_t records;                             /* records read from the file */
	uint64_t delivered;                           /* decoded and given to the callback */
	uint64_t received[TW_EVENT_TYPE_MAX];         /* delivered, by type */
	uint64_t decode_errors[TW_DECODE_ERROR_MAX];  /* rejected, by reason */
	uint32_t wire_version;
	int64_t realtime_offset_ns;
	bool truncated_tail;                          /* file ended inside a record */
};

/*
 * Decode every record of a recording, calling cb for each valid one (a
 * non-zero return stops early). Malformed records are counted and skipped;
 * a bad file header is an error. Returns 0 or -errno with a sentence in err.
 */
int tw_replay_file(const char *path, tw_event_fn cb, void *user, struct tw_replay_result *res,
		   char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
