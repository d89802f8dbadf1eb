// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming NDJSON writer.
 *
 * Events are serialised straight into one growable buffer; no intermediate
 * tree is built. The writer tracks nesting and inserts commas and keys itself,
 * so a caller just emits values in order:
 *
 *     struct tw_json j;
 *     tw_json_init(&j);
 *     tw_json_begin_object(&j, NULL);
 *     tw_json_u64(&j, "pid", 42);
 *     tw_json_string(&j, "comm", comm, comm_len);
 *     tw_json_end_object(&j);
 *     size_t n;
 *     const char *line = tw_json_finish(&j, &n);   // "...}\n", or NULL
 *     ...write(fd, line, n)...
 *     tw_json_reset(&j);                            // reuse for next event
 *
 * Strings coming from the kernel are arbitrary bytes. tw_json_string() keeps
 * them lossless: valid UTF-8 is written as a JSON string; anything else is
 * written with U+FFFD replacements plus a "<key>_b64" sibling holding the exact
 * original bytes in base64.
 */
#ifndef TW_JSON_WRITER_H
#define TW_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_JSON_MAX_DEPTH 32

struct tw_json {               /* growable output buffer + state for one JSON line */
	char *buf;
	size_t len, cap;
	int depth;                 /* nesting depth, max TW_JSON_MAX_DEPTH */
	unsigned char need_comma[TW_JSON_MAX_DEPTH];
	int oom;                   /* set if an allocation failed (or nesting overflowed/
	                              underflowed); later calls become no-ops and
	                              tw_json_finish() returns NULL */
};

void tw_json_init(struct tw_json *j);          /* zeroes; buffer grows lazily */
void tw_json_free(struct tw_json *j);
void tw_json_reset(struct tw_json *j);         /* len=0, depth=0, oom=0, keeps the allocation */

/* key must be NULL for array elements and for the top-level value, non-NULL
 * inside objects. Keys are assumed to be valid UTF-8 and are escaped like
 * string values. */
void tw_json_begin_object(struct tw_json *j, const char *key);
void tw_json_end_object(struct tw_json *j);
void tw_json_begin_array(struct tw_json *j, const char *key);
void tw_json_end_array(struct tw_json *j);

void tw_json_u64(struct tw_json *j, const char *key, uint64_t v);
void tw_json_i64(struct tw_json *j, const char *key, int64_t v);
void tw_json_bool(struct tw_json *j, const char *key, bool v);
void tw_json_null(struct tw_json *j, const char *key);

/* s is NUL-terminated, known-safe ASCII (enum names, timestamps); it is still
 * escaped, so a stray '"' or '\\' cannot break the line. */
void tw_json_raw_string(struct tw_json *j, const char *key, const char *s);

/*
 * Lossless string from bytes s[0..len).
 * Valid UTF-8 (RFC 3629): writes "key":"<escaped>".
 * Otherwise: writes "key":"<escaped, each invalid byte -> U+FFFD>",
 *            "key_b64":"<base64 of the exact original bytes>".
 * Escaping: '"', '\\', all bytes < 0x20 (including NUL) and 0x7f, and
 * U+2028/U+2029. Valid multi-byte UTF-8 otherwise passes through unescaped.
 * With key == NULL (array element) no sibling can be written; only the
 * replaced string is emitted and the return value tells the caller.
 * Returns true when the bytes were valid UTF-8.
 */
bool tw_json_string(struct tw_json *j, const char *key, const void *s, size_t len);

/*
 * Array of strings from a NUL-separated list as the kernel stores argv/env
 * ("a\0b\0c\0"; a missing final NUL is tolerated, the last element then runs
 * to len). Writes "key":["a","b","c"]. If any element is not valid UTF-8,
 * also writes "key_b64":[...] with the base64 of EVERY element (same order
 * and count). With key == NULL no sibling is written. Returns the element
 * count.
 */
size_t tw_json_string_list(struct tw_json *j, const char *key, const void *s, size_t len);

/* Standard base64 with padding. out needs 4*((len+2)/3)+1 bytes; the result
 * is NUL-terminated. Returns the encoded length (without the NUL). */
size_t tw_base64_encode(const void *in, size_t len, char *out);

/* Strict RFC 3629 validation: no overlongs, no surrogates, <= U+10FFFF. */
bool tw_utf8_valid(const void *s, size_t len);

/* Finish the line: appends '\n'. Returns the buffer (not necessarily
 * NUL-terminated) and its length via *len; NULL if an allocation failed or
 * the nesting is unbalanced. */
const char *tw_json_finish(struct tw_json *j, size_t *len);

#endif /* TW_JSON_WRITER_H */
