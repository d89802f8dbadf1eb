// SPDX-License-Identifier: Apache-2.0
/*
 * Decoding of raw tracewire records: validation and variable-length field
 * iteration. Usable on its own (no BPF, no kernel) by anything that holds
 * raw records: the live ring buffer consumer, replay of a recording, fuzzers.
 */
#ifndef TRACEWIRE_DECODE_H
#define TRACEWIRE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracewire_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a record was rejected (tw_event_decode's negative return is -reason). */
enum tw_decode_error {
	TW_DECODE_OK = 0,
	TW_DECODE_SHORT_HEADER = 1,   /* fewer bytes than a header */
	TW_DECODE_SIZE_MISMATCH = 2,  /* header size disagrees with the bytes received */
	TW_DECODE_UNKNOWN_TYPE = 3,   /* event type this decoder does not know */
	TW_DECODE_SHORT_FIXED = 4,    /* shorter than the type's fixed part */
	TW_DECODE_FIELDS_OVERRUN = 5, /* varlen area or a field runs past the record */
	TW_DECODE_FIELD_COUNT = 6,    /* count disagrees with the fields present */
	TW_DECODE_ERROR_MAX,
};

const char *tw_decode_error_str(int reason);

/* A validated record. Pointers alias the caller's buffer. */
struct tw_event {
	const struct tw_event_header *hdr;
	size_t len;
	const struct tw_varlen_fields *vl; /* NULL for types without variable-length fields */
	uint64_t ts_realtime_ns;           /* wall clock, derived from ts_boot_ns */
};

/*
 * Validate `len` bytes at `data` as one record. On success fills *ev and
 * returns 0; otherwise returns -TW_DECODE_* and nothing in the record may be
 * trusted. After success every field reachable with FOR_EACH_VARLEN_FIELD is
 * inside the record; unknown field types are allowed (skipped by users).
 */
int tw_event_decode(const void *data, size_t len, struct tw_event *ev);

/* Fixed size of a known event type (header and varlen head included), 0 if unknown. */
size_t tw_event_fixed_size(uint32_t type);
/* Offset of the varlen head in a known type, 0 if the type has none. */
size_t tw_event_varlen_offset(uint32_t type);

/*
 * Field iteration. Bounds come from vl->size, so even on an unvalidated area
 * the walk never reads past vl->data + vl->size: a field that would overrun
 * ends the walk (tw_event_decode reports that case as an error).
 */
static inline const struct tw_varlen_field *tw_varlen_next(const struct tw_varlen_fields *vl,
							   const struct tw_varlen_field *cur)
{
	const char *end = vl->data + vl->size;
	const char *p = cur ? cur->data + cur->size : vl->data;
	const struct tw_varlen_field *f = (const struct tw_varlen_field *)p;

	if ((size_t)(end - p) < sizeof(*f))
		return NULL;
	if (f->size > (size_t)(end - p) - sizeof(*f))
		return NULL;
	return f;
}

#define FOR_EACH_VARLEN_FIELD(fields, cursor)                                     \
	for (const struct tw_varlen_field *cursor = tw_varlen_next((fields), NULL); \
	     cursor != NULL; cursor = tw_varlen_next((fields), cursor))

/* First field of `type`, NULL if absent or the event has no varlen area. */
const struct tw_varlen_field *tw_event_field(const struct tw_event *ev, uint16_t type);

const char *tw_event_type_name(uint32_t type);      /* "PROCESS_EXEC", NULL if unknown */
int tw_event_type_from_name(const char *name);      /* case-insensitive; -1 if unknown */
const char *tw_field_type_name(uint32_t type);      /* "argv", NULL if unknown */

#ifdef __cplusplus
}
#endif
#endif /* TRACEWIRE_DECODE_H */
