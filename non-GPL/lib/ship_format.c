// SPDX-License-Identifier: Apache-2.0
/*
 * Request bodies of the shipper: the event id put in front of every line, the
 * three formats (NDJSON as is, ClickHouse JSONEachRow rows, Elasticsearch
 * _bulk), gzip, and the URL of a request.
 *
 * The lines come from our own JSON writer, but a library caller can enqueue
 * anything, so the small scanner below checks what it walks over and reports
 * -EINVAL instead of producing a broken row. It never converts numbers: they
 * are copied as text, so 64-bit values keep every digit.
 */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "ship_internal.h"

int ship_buf_put(struct ship_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *g;
		while (cap < b->len + len + 1)
			cap *= 2;
		if (!(g = realloc(b->p, cap)))
			return -ENOMEM;
		b->p = g;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0; /* handy for tests and string searches; not part of the data */
	return 0;
}

static int buf_str(struct ship_buf *b, const char *s)
{
	return ship_buf_put(b, s, strlen(s));
}

void ship_buf_free(struct ship_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Append s as the contents of a JSON string (no quotes), escaping what must be. */
static int buf_json_escaped(struct ship_buf *b, const char *s, size_t len)
{
	size_t start = 0;
	int rc = 0;

	for (size_t i = 0; i < len && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		rc = ship_buf_put(b, s + start, i - start);
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		if (!rc)
			rc = buf_str(b, esc);
		start = i + 1;
	}
	return rc ? rc : ship_buf_put(b, s + start, len - start);
}

/* ---- a minimal JSON scanner: positions only, no tree ---- */

struct scan {
	const char *s;
	size_t len, pos;
};

static void skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) && sc->s[sc->pos])
		sc->pos++;
}

static int peek(struct scan *sc)
{
	skip_ws(sc);
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

/* A string starting at pos (the quote); pos ends after the closing quote. */
static int skip_string(struct scan *sc)
{
	if (peek(sc) != '"')
		return -EINVAL;
	for (sc->pos++; sc->pos < sc->len; sc->pos++) {
		char c = sc->s[sc->pos];
		if (c == '\\') {
			sc->pos++;
			continue;
		}
		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return -EINVAL;
	}
	return -EINVAL;
}

static int skip_value(struct scan *sc, int depth);

static int skip_container(struct scan *sc, int depth, char open, char close)
{
	bool first = true;

	if (depth > 64)
		return -EINVAL;
	sc->pos++; /* the opening bracket */
	for (;;) {
		int c = peek(sc);
		if (c == close) {
			sc->pos++;
			return 0;
		}
		if (!first) {
			if (c != ',')
				return -EINVAL;
			sc->pos++;
		}
		first = false;
		if (open == '{') {
			if (skip_string(sc) || peek(sc) != ':')
				return -EINVAL;
			sc->pos++;
		}
		if (skip_value(sc, depth + 1))
			return -EINVAL;
	}
}

static int skip_value(struct scan *sc, int depth)
{
	int c = peek(sc);
	size_t start;

	if (c == '"')
		return skip_string(sc);
	if (c == '{')
		return skip_container(sc, depth, '{', '}');
	if (c == '[')
		return skip_container(sc, depth, '[', ']');
	if (c == -1)
		return -EINVAL;
	/* number, true, false, null: a run of literal characters */
	start = sc->pos;
	while (sc->pos < sc->len && (isalnum((unsigned char)sc->s[sc->pos]) ||
				     strchr("+-.", sc->s[sc->pos])))
		sc->pos++;
	return sc->pos > start ? 0 : -EINVAL;
}

/* Is s[0..len) exactly one JSON object (surrounding whitespace allowed)? */
static bool is_object(const char *s, size_t len)
{
	struct scan sc = {s, len, 0};

	if (peek(&sc) != '{' || skip_value(&sc, 0))
		return false;
	skip_ws(&sc);
	return sc.pos == len;
}

bool ship_json_string_field(const char *line, size_t len, const char *key, char *out,
			    size_t outlen)
{
	struct scan sc = {line, len, 0};
	size_t klen = strlen(key);
	bool first = true;

	if (peek(&sc) != '{')
		return false;
	sc.pos++;
	while (peek(&sc) != '}' && peek(&sc) != -1) {
		size_t ks, vs;
		if (!first) {
			if (peek(&sc) != ',')
				return false;
			sc.pos++;
		}
		first = false;
		if (peek(&sc) != '"')
			return false;
		ks = sc.pos + 1;
		if (skip_string(&sc))
			return false;
		bool match = sc.pos - 1 - ks == klen && !memcmp(line + ks, key, klen);
		if (peek(&sc) != ':')
			return false;
		sc.pos++;
		skip_ws(&sc);
		vs = sc.pos;
		if (skip_value(&sc, 1))
			return false;
		if (match && line[vs] == '"') {
			size_t vlen = sc.pos - vs - 2;
			if (vlen >= outlen)
				return false;
			memcpy(out, line + vs + 1, vlen); /* ids and names: no escapes expected */
			out[vlen] = 0;
			return true;
		}
	}
	return false;
}

int ship_line_with_id(struct ship_buf *out, const char *line, size_t len, const char *event_id,
		      const char *host)
{
	size_t i = 0;
	int rc;

	while (len && strchr(" \t\r\n", line[len - 1]))
		len--;
	if (!is_object(line, len))
		return -EINVAL;
	while (line[i] != '{')
		i++;
	i++; /* after the brace */
	rc = buf_str(out, "{\"event_id\":\"");
	if (!rc)
		rc = buf_json_escaped(out, event_id, strlen(event_id));
	if (!rc)
		rc = buf_str(out, "\"");
	if (!rc && host) {
		rc = buf_str(out, ",\"host\":\"");
		if (!rc)
			rc = buf_json_escaped(out, host, strlen(host));
		if (!rc)
			rc = buf_str(out, "\"");
	}
	{
		struct scan sc = {line, len, i};
		if (!rc && peek(&sc) != '}') /* a non-empty object: its members follow ours */
			rc = buf_str(out, ",");
		if (!rc)
			rc = ship_buf_put(out, line + sc.pos, len - sc.pos);
	}
	return rc;
}

/* ---- ClickHouse: flattened rows ---- */

/* "2026-11-22T01:02:03.123456789Z" -> seconds and nanoseconds since the epoch */
static bool parse_iso8601(const char *s, size_t len, int64_t *sec, uint32_t *nsec)
{
	struct tm tm;
	char tmp[48];
	const char *p;

	if (len >= sizeof(tmp) || len < 20)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	memset(&tm, 0, sizeof(tm));
	p = strptime(tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return false;
	*nsec = 0;
	if (*p == '.') {
		uint32_t scale = 100000000;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			*nsec += scale ? (uint32_t)(*p - '0') * scale : 0;
	}
	if (*p != 'Z' || p[1])
		return false;
	*sec = (int64_t)timegm(&tm);
	return true;
}

static int ch_key(struct ship_buf *out, bool *first, const char *prefix, const char *key,
		  size_t klen)
{
	int rc = buf_str(out, *first ? "\"" : ",\"");

	*first = false;
	if (!rc)
		rc = buf_str(out, prefix);
	if (!rc)
		rc = ship_buf_put(out, key, klen);
	return rc ? rc : buf_str(out, "\":");
}

/* Members of the object at sc->pos (its '{'), written flat with prefix. */
static int ch_members(struct ship_buf *out, struct scan *sc, bool *first, const char *prefix,
		      int depth)
{
	bool firstm = true;

	if (depth > 8)
		return -EINVAL;
	sc->pos++;
	for (;;) {
		size_t ks, klen, vs;
		int c = peek(sc), rc;

		if (c == '}') {
			sc->pos++;
			return 0;
		}
		if (!firstm) {
			if (c != ',')
				return -EINVAL;
			sc->pos++;
		}
		firstm = false;
		if (peek(sc) != '"')
			return -EINVAL;
		ks = sc->pos + 1;
		if (skip_string(sc))
			return -EINVAL;
		klen = sc->pos - ks - 1;
		if (peek(sc) != ':')
			return -EINVAL;
		sc->pos++;
		c = peek(sc);
		vs = sc->pos;
		if (c == '{') {
			char sub[256];
			if (strlen(prefix) + klen + 2 > sizeof(sub))
				return -EINVAL;
			snprintf(sub, sizeof(sub), "%s%.*s_", prefix, (int)klen, sc->s + ks);
			if ((rc = ch_members(out, sc, first, sub, depth + 1)))
				return rc;
			continue;
		}
		if (skip_value(sc, depth + 1))
			return -EINVAL;
		if (c == 'n') /* null: leave the column to its default */
			continue;
		if ((rc = ch_key(out, first, prefix, sc->s + ks, klen)))
			return rc;
		if (c == 't' || c == 'f') { /* ClickHouse has no JSON booleans: UInt8 */
			rc = buf_str(out, c == 't' ? "1" : "0");
		} else if (depth == 0 && klen == 4 && !memcmp(sc->s + ks, "time", 4) && c == '"') {
			int64_t sec;
			uint32_t nsec;
			char tmp[96];
			struct tm tm;
			time_t t;
			if (!parse_iso8601(sc->s + vs + 1, sc->pos - vs - 2, &sec, &nsec))
				return -EINVAL;
			t = (time_t)sec;
			gmtime_r(&t, &tm);
			/* DateTime for partitions and humans, the ns beside it (18.16 has no DateTime64) */
			snprintf(tmp, sizeof(tmp),
				 "\"%04d-%02d-%02d %02d:%02d:%02d\",\"time_ns\":%" PRIu64,
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				 tm.tm_sec, (uint64_t)((uint64_t)sec * 1000000000u + nsec));
			rc = buf_str(out, tmp);
		} else {
			rc = ship_buf_put(out, sc->s + vs, sc->pos - vs);
		}
		if (rc)
			return rc;
	}
}

int ship_clickhouse_row(struct ship_buf *out, const char *line, size_t len)
{
	struct scan sc = {line, len, 0};
	size_t mark = out->len;
	bool first = true;
	int rc;

	while (len && strchr(" \t\r\n", line[len - 1]))
		len--;
	sc.len = len;
	if (!is_object(line, len))
		return -EINVAL;
	if ((rc = buf_str(out, "{")) || peek(&sc) != '{')
		goto fail;
	if ((rc = ch_members(out, &sc, &first, "", 0)))
		goto fail;
	/* the whole line too: every key stays queryable, including those without a column */
	if ((rc = buf_str(out, first ? "\"raw\":\"" : ",\"raw\":\"")) ||
	    (rc = buf_json_escaped(out, line, len)) || (rc = buf_str(out, "\"}")))
		goto fail;
	return 0;
fail:
	out->len = mark;
	return rc ? rc : -EINVAL;
}

int ship_format_body(struct ship_buf *out, enum tw_ship_format fmt, const char *index,
		     const char *lines, size_t len)
{
	size_t pos = 0;
	int rc = 0;

	if (fmt == TW_SHIP_NDJSON) /* the spool already holds NDJSON lines */
		return ship_buf_put(out, lines, len);
	while (pos < len && !rc) {
		const char *nl = memchr(lines + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (lines + pos)) : len - pos;
		const char *line = lines + pos;
		char id[128];

		pos += l + 1;
		if (fmt == TW_SHIP_CLICKHOUSE) {
			rc = ship_clickhouse_row(out, line, l);
		} else {
			/* the event id as _id: a resent document replaces itself, no duplicate */
			rc = buf_str(out, "{\"index\":{\"_index\":\"");
			if (!rc)
				rc = buf_json_escaped(out, index, strlen(index));
			if (!rc && ship_json_string_field(line, l, "event_id", id, sizeof(id))) {
				rc = buf_str(out, "\",\"_id\":\"");
				if (!rc)
					rc = buf_json_escaped(out, id, strlen(id));
			}
			if (!rc)
				rc = buf_str(out, "\"}}\n");
			if (!rc)
				rc = ship_buf_put(out, line, l);
		}
		if (!rc)
			rc = buf_str(out, "\n");
	}
	return rc;
}

int ship_gzip(struct ship_buf *out, const void *in, size_t len, int level)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t bound = deflateBound(&z, (uLong)len);
	out->len = 0;
	if ((rc = ship_buf_put(out, "", 0)) == 0 && out->cap < bound + 1) {
		char *g = realloc(out->p, bound + 1);
		if (!g)
			rc = -ENOMEM;
		else {
			out->p = g;
			out->cap = bound + 1;
		}
	}
	if (rc) {
		deflateEnd(&z);
		return rc;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->p;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -EIO;
}

/* Percent-encode a query parameter value. */
static int url_encode(struct ship_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[4];
		if (isalnum(c) || strchr("-_.~", c)) {
			rc = ship_buf_put(b, s, 1);
		} else {
			snprintf(tmp, sizeof(tmp), "%%%02X", c);
			rc = buf_str(b, tmp);
		}
	}
	return rc;
}

char *ship_request_url(const char *base, enum tw_ship_format fmt, const char *table)
{
	struct ship_buf b = {0};
	char query[512];
	size_t blen = strlen(base);
	int rc = ship_buf_put(&b, base, blen);

	if (!rc && fmt == TW_SHIP_CLICKHOUSE) {
		/* unknown keys are skipped: the table picks its columns, "raw" keeps the rest */
		snprintf(query, sizeof(query), "INSERT INTO %s FORMAT JSONEachRow", table);
		rc = buf_str(&b, strchr(base, '?') ? "&query=" : "?query=");
		if (!rc)
			rc = url_encode(&b, query);
		if (!rc)
			rc = buf_str(&b, "&input_format_skip_unknown_fields=1");
	} else if (!rc && fmt == TW_SHIP_ELASTICSEARCH && !strchr(base, '?') &&
		   (blen < 5 || strcmp(base + blen - 5, "_bulk"))) {
		rc = buf_str(&b, base[blen - 1] == '/' ? "_bulk" : "/_bulk");
	}
	if (rc) {
		ship_buf_free(&b);
		return NULL;
	}
	return b.p;
}
