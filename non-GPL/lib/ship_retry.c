// SPDX-License-Identifier: Apache-2.0
/*
 * The shipper's retry policy: which answers are worth another try, how long
 * to wait before it, and what a collector's Retry-After asks for. Pure
 * functions, unit tested in testing/unit/test_ship_retry.c.
 */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ship_internal.h"

enum ship_verdict ship_classify(bool transport_error, long status)
{
	/* no answer (refused, reset, timeout, TLS failure): the data may not have arrived */
	if (transport_error)
		return SHIP_RETRY;
	if (status >= 200 && status < 300)
		return SHIP_DELIVERED;
	/* overloaded or broken for now: the same request can succeed later */
	if (status == 429 || status >= 500)
		return SHIP_RETRY;
	/* the collector read the request and refused it: resending would get the same answer */
	return SHIP_DEAD_LETTER;
}

enum ship_verdict ship_classify_bulk_response(const char *body, size_t len)
{
	const char *end = body + len, *p;

	/* "errors" is the second key of a _bulk answer: look for it near the start */
	p = memmem(body, len < 256 ? len : 256, "\"errors\":", 9);
	if (!p)
		return SHIP_DELIVERED; /* not a _bulk answer: the 2xx status stands */
	p += 9;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (end - p < 4 || strncmp(p, "true", 4))
		return SHIP_DELIVERED;
	for (p = body; (p = memmem(p, (size_t)(end - p), "\"status\":", 9)); ) {
		long st = 0;
		int digits = 0;
		/* the body is not NUL-terminated: read the number within it (found by fuzz_ship_response) */
		for (p += 9; p < end && isspace((unsigned char)*p); p++)
			;
		for (; p < end && isdigit((unsigned char)*p) && digits < 4; p++, digits++)
			st = st * 10 + (*p - '0');
		if (st == 429 || st >= 500)
			return SHIP_RETRY;
	}
	/* item errors, all final (mapping, parsing): resending would fail the same way */
	return SHIP_DEAD_LETTER;
}

enum ship_verdict ship_classify_clickhouse_error(long status, const char *body, size_t len)
{
	/* CANNOT_PARSE_TEXT, _QUOTED_STRING, _INPUT_ASSERTION_FAILED, _DATE, _DATETIME,
	 * TYPE_MISMATCH, SYNTAX_ERROR, ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE,
	 * CANNOT_PARSE_NUMBER, INCORRECT_DATA, CANNOT_READ_ARRAY_FROM_TEXT,
	 * TOO_LARGE_STRING_SIZE */
	static const long final_codes[] = {6, 26, 27, 38, 41, 53, 62, 69, 70, 72, 117, 130, 131};
	char text[32];
	long code;

	if (status < 500 || len < 7)
		return ship_classify(false, status);
	snprintf(text, sizeof(text), "%.*s", (int)(len < 31 ? len : 31), body);
	if (sscanf(text, "Code: %ld", &code) != 1)
		return SHIP_RETRY;
	for (size_t i = 0; i < sizeof(final_codes) / sizeof(final_codes[0]); i++)
		if (code == final_codes[i])
			return SHIP_DEAD_LETTER;
	return SHIP_RETRY;
}

uint64_t ship_backoff_ms(uint32_t attempt, uint32_t initial_ms, uint32_t max_ms, double r)
{
	uint64_t d = initial_ms ? initial_ms : 1;

	for (uint32_t i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 0.999999;
	/* equal jitter: never less than half the delay, never more than all of it */
	return d / 2 + (uint64_t)((double)(d - d / 2) * r);
}

int64_t ship_parse_retry_after(const char *value, time_t now)
{
	const char *p = value;
	struct tm tm;
	char *end;

	if (!value)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	if (isdigit((unsigned char)*p)) {
		unsigned long long s = strtoull(p, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end || s > 86400ull * 365)
			return -1;
		return (int64_t)s * 1000;
	}
	/* HTTP-date, IMF-fixdate form: "Sun, 06 Nov 1994 08:49:37 GMT" */
	memset(&tm, 0, sizeof(tm));
	end = strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -1;
	time_t t = timegm(&tm);
	return t <= now ? 0 : (int64_t)(t - now) * 1000;
}
