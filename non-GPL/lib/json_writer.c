// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming NDJSON writer; see json_writer.h for the contract.
 *
 * Hot-path notes: every string write reserves its worst case (6 output bytes
 * per input byte, for "\u00XX") once up front, so the escape loop runs on raw
 * pointers with no bounds checks or function calls per byte, and runs of
 * plain ASCII are copied with memcpy. The buffer grows geometrically and
 * survives tw_json_reset(), so a long-lived writer soon stops allocating.
 */
#include "json_writer.h"

#include <stdlib.h>
#include <string.h>

#define TW_JSON_INITIAL_CAP 512

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 1 = byte may be copied verbatim: printable ASCII except '"' (0x22) and
 * '\\' (0x5c). Bytes >= 0x80 are 0 so the slow path validates UTF-8. */
#define X8(v) v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
	X8(0), X8(0), X8(0), X8(0),                         /* 0x00-0x1f */
	1, 1, 0, 1, 1, 1, 1, 1, X8(1), X8(1), X8(1),        /* 0x20-0x3f */
	X8(1), X8(1), X8(1), 1, 1, 1, 1, 0, 1, 1, 1,        /* 0x40-0x5f */
	X8(1), X8(1), X8(1), 1, 1, 1, 1, 1, 1, 1, 0,        /* 0x60-0x7f */
};
#undef X8

/* Character after '\\' for ASCII bytes with a short escape; 0 -> \u00XX. */
static const char short_esc[0x80] = {
	['"'] = '"', ['\\'] = '\\',
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
};

static bool grow_slow(struct tw_json *j, size_t extra)
{
	size_t need = j->len + extra, cap = j->cap ? j->cap : TW_JSON_INITIAL_CAP;
	char *nb = NULL;

	if (extra <= SIZE_MAX - j->len) { /* else `need` wrapped around */
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		nb = realloc(j->buf, cap);
	}
	if (!nb) {
		j->oom = 1;
		return false;
	}
	j->buf = nb;
	j->cap = cap;
	return true;
}

/* Make room for at least `extra` more bytes; false if in the error state. */
static inline bool reserve(struct tw_json *j, size_t extra)
{
	if (j->oom)
		return false;
	return extra <= j->cap - j->len || grow_slow(j, extra);
}

static void put_bytes(struct tw_json *j, const char *s, size_t n)
{
	if (!reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/*
 * Length of the valid UTF-8 sequence at s (s[0] >= 0x80, n >= 1 bytes
 * available), or 0 if invalid. The allowed second-byte range per lead byte
 * is the table in RFC 3629 section 4, which rules out overlongs (C0, C1,
 * E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and > U+10FFFF (F4 90+, F5-FF).
 */
static inline size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0xC2 || c > 0xF4)
		return 0;
	size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
	unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if ((s[k] & 0xC0) != 0x80)
			return 0;
	return need;
}

bool tw_utf8_valid(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0, n; i < len; i += n) {
		n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i);
		if (!n)
			return false;
	}
	return true;
}

/*
 * Escape s[0..len) to o, which must have room for 6*len bytes. Each invalid
 * UTF-8 byte becomes U+FFFD and clears *valid. Returns the new output end.
 */
static char *escape_to(char *o, const void *in, size_t len, bool *valid)
{
	const unsigned char *s = in;
	size_t i = 0;

	while (i < len) {
		size_t start = i, n;

		while (i < len && plain[s[i]])
			i++;
		memcpy(o, s + start, i - start);
		o += i - start;
		if (i == len)
			break;

		unsigned char c = s[i];
		if (c < 0x80) { /* control byte, DEL, '"' or '\\' */
			*o++ = '\\';
			if (short_esc[c]) {
				*o++ = short_esc[c];
			} else {
				memcpy(o, "u00", 3);
				o[3] = "0123456789abcdef"[c >> 4];
				o[4] = "0123456789abcdef"[c & 0xf];
				o += 5;
			}
			i++;
		} else if (!(n = utf8_seq(s + i, len - i))) {
			memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
			o += 3;
			*valid = false;
			i++;
		} else if (c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
			/* U+2028/U+2029 are legal JSON but terminate lines in
			 * JavaScript and some log tooling. */
			memcpy(o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
			o += 6;
			i += 3;
		} else {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		}
	}
	return o;
}

/*
 * Write '"' + escaped s + suffix + '"' (+ ':' for keys). Returns UTF-8
 * validity of s; on allocation failure the validity is still computed so
 * callers' return values stay meaningful.
 */
static bool put_quoted(struct tw_json *j, const void *s, size_t len,
		       const char *suffix, bool colon)
{
	size_t slen = strlen(suffix);
	bool valid = true;
	char *o;

	/* Worst case: 6 bytes per input byte, then suffix, 2 quotes, ':'. */
	if (len > (SIZE_MAX - slen - 3) / 6)
		j->oom = 1;
	if (!reserve(j, len * 6 + slen + 3))
		return tw_utf8_valid(s, len);
	o = j->buf + j->len;
	*o++ = '"';
	o = escape_to(o, s, len, &valid);
	memcpy(o, suffix, slen);
	o += slen;
	*o++ = '"';
	if (colon)
		*o++ = ':';
	j->len = (size_t)(o - j->buf);
	return valid;
}

/* Write a quoted base64 string value. */
static void put_base64(struct tw_json *j, const unsigned char *s, size_t len)
{
	/* 2 quotes + the NUL that tw_base64_encode() always writes. */
	if (len > SIZE_MAX / 2 || !reserve(j, 4 * ((len + 2) / 3) + 3))
		return;
	j->buf[j->len] = '"';
	j->len += 1 + tw_base64_encode(s, len, j->buf + j->len + 1);
	j->buf[j->len++] = '"';
}

/*
 * Common prefix of every value: a comma unless this is the first member of
 * the enclosing container, then "key<suffix>": if key is non-NULL (suffix is
 * "" or "_b64"). Returns false if the writer is in the error state.
 */
static bool begin_value(struct tw_json *j, const char *key, const char *suffix)
{
	if (j->oom)
		return false;
	if (j->depth > 0) {
		if (j->need_comma[j->depth - 1])
			put_bytes(j, ",", 1);
		j->need_comma[j->depth - 1] = 1;
	}
	if (key)
		put_quoted(j, key, strlen(key), suffix, true);
	return !j->oom;
}

static void open_container(struct tw_json *j, const char *key,
			   const char *suffix, char open)
{
	if (j->depth >= TW_JSON_MAX_DEPTH)
		j->oom = 1; /* caller bug: poison the line rather than emit garbage */
	if (!begin_value(j, key, suffix))
		return;
	put_bytes(j, &open, 1);
	j->need_comma[j->depth++] = 0;
}

static void close_container(struct tw_json *j, char close)
{
	if (j->depth == 0)
		j->oom = 1; /* unbalanced close */
	if (j->oom)
		return;
	put_bytes(j, &close, 1);
	j->depth--;
}

void tw_json_begin_object(struct tw_json *j, const char *key) { open_container(j, key, "", '{'); }
void tw_json_end_object(struct tw_json *j) { close_container(j, '}'); }
void tw_json_begin_array(struct tw_json *j, const char *key) { open_container(j, key, "", '['); }
void tw_json_end_array(struct tw_json *j) { close_container(j, ']'); }

void tw_json_init(struct tw_json *j) { memset(j, 0, sizeof(*j)); }
void tw_json_free(struct tw_json *j) { free(j->buf); tw_json_init(j); }
void tw_json_reset(struct tw_json *j) { j->len = 0; j->depth = 0; j->oom = 0; }

const char *tw_json_finish(struct tw_json *j, size_t *len)
{
	if (j->depth != 0)
		j->oom = 1; /* unbalanced; cleared by tw_json_reset() */
	put_bytes(j, "\n", 1); /* no-op once oom */
	if (len)
		*len = j->oom ? 0 : j->len;
	return j->oom ? NULL : j->buf;
}

/* Decimal digits of u, with an optional leading '-'. */
static void put_uint(struct tw_json *j, const char *key, uint64_t u, bool neg)
{
	char tmp[21]; /* '-' + 20 digits of UINT64_MAX */
	size_t n = sizeof(tmp);

	if (!begin_value(j, key, ""))
		return;
	do {
		tmp[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		tmp[--n] = '-';
	put_bytes(j, tmp + n, sizeof(tmp) - n);
}

void tw_json_u64(struct tw_json *j, const char *key, uint64_t v) { put_uint(j, key, v, false); }

/* Negated in unsigned arithmetic so INT64_MIN does not overflow. */
void tw_json_i64(struct tw_json *j, const char *key, int64_t v)
{
	put_uint(j, key, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void tw_json_bool(struct tw_json *j, const char *key, bool v)
{
	if (begin_value(j, key, ""))
		put_bytes(j, v ? "true" : "false", v ? 4 : 5);
}

void tw_json_null(struct tw_json *j, const char *key)
{
	if (begin_value(j, key, ""))
		put_bytes(j, "null", 4);
}

void tw_json_raw_string(struct tw_json *j, const char *key, const char *s)
{
	if (begin_value(j, key, ""))
		put_quoted(j, s, strlen(s), "", false);
}

bool tw_json_string(struct tw_json *j, const char *key, const void *s, size_t len)
{
	bool valid;

	if (!begin_value(j, key, ""))
		return tw_utf8_valid(s, len);
	valid = put_quoted(j, s, len, "", false);
	if (!valid && key && begin_value(j, key, "_b64"))
		put_base64(j, s, len);
	return valid;
}

/*
 * One array of the list's elements: escaped strings, or base64 when b64 is
 * set. Increments *count per element; returns whether all were valid UTF-8.
 */
static bool put_list(struct tw_json *j, const char *key, const char *suffix,
		     const unsigned char *p, size_t len, bool b64, size_t *count)
{
	bool valid = true;

	open_container(j, key, suffix, '[');
	for (size_t pos = 0, n; pos < len; pos += n + 1, (*count)++) {
		const unsigned char *nul = memchr(p + pos, 0, len - pos);

		n = nul ? (size_t)(nul - p) - pos : len - pos;
		if (!begin_value(j, NULL, ""))
			valid &= tw_utf8_valid(p + pos, n);
		else if (b64)
			put_base64(j, p + pos, n);
		else
			valid &= put_quoted(j, p + pos, n, "", false);
	}
	close_container(j, ']');
	return valid;
}

size_t tw_json_string_list(struct tw_json *j, const char *key, const void *s, size_t len)
{
	size_t count = 0, ignored = 0;

	/* The common all-valid case is a single pass; the base64 sibling costs a
	 * second pass only when something was invalid. */
	if (!put_list(j, key, "", s, len, false, &count) && key)
		put_list(j, key, "_b64", s, len, true, &ignored);
	return count;
}

size_t tw_base64_encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	char *o = out;
	size_t i = 0;

	/* Groups of 3 bytes -> 4 chars; a short final group is '='-padded. */
	for (; i < len; i += 3, o += 4) {
		size_t rem = len - i;
		uint32_t v = (uint32_t)p[i] << 16;
		if (rem > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (rem > 2)
			v |= p[i + 2];
		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[(v >> 12) & 0x3f];
		o[2] = rem > 1 ? b64_alphabet[(v >> 6) & 0x3f] : '=';
		o[3] = rem > 2 ? b64_alphabet[v & 0x3f] : '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}
