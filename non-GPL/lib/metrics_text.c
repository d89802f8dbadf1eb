// SPDX-License-Identifier: Apache-2.0
/*
 * The Prometheus text format writer (exposition format 0.0.4): HELP/TYPE
 * lines, samples with escaped label values, exact decimal values.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracewire_metrics.h"

void tw_metrics_buf_free(struct tw_metrics_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct tw_metrics_buf *b, size_t more)
{
	size_t want;
	char *p;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	want = b->cap ? b->cap : 16384;
	while (want < b->len + more + 1)
		want *= 2;
	p = realloc(b->data, want);
	if (!p) {
		b->oom = true; /* the caller sees it once, at the end of a render */
		return false;
	}
	b->data = p;
	b->cap = want;
	return true;
}

static void put(struct tw_metrics_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void puts_(struct tw_metrics_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* HELP text escapes backslash and newline only (a double quote is fine there). */
static void put_help(struct tw_metrics_buf *b, const char *s)
{
	if (!strpbrk(s, "\\\n")) {
		puts_(b, s);
		return;
	}
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else
			put(b, s, 1);
	}
}

void tw_metrics_escape_label(struct tw_metrics_buf *b, const char *v)
{
	/* Label values are any UTF-8; the format only reserves these three. Bytes that are
	   not valid UTF-8 (a comm can hold anything) become '?', or the scraper rejects the
	   whole page. */
	const unsigned char *s = (const unsigned char *)v;

	while (*s) {
		unsigned char c = *s;
		size_t n, plain = 0;

		/* the common case, printable ASCII without the three: copied as one run */
		while (s[plain] >= 0x20 && s[plain] < 0x80 && s[plain] != '\\' && s[plain] != '"')
			plain++;
		if (plain) {
			put(b, (const char *)s, plain);
			s += plain;
			continue;
		}
		n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		bool ok = n > 0 && !(n == 2 && c < 0xC2);

		for (size_t i = 1; ok && i < n; i++)
			ok = (s[i] & 0xC0) == 0x80;
		if (!ok) {
			put(b, "?", 1);
			s++;
			continue;
		}
		if (c == '\\')
			put(b, "\\\\", 2);
		else if (c == '"')
			put(b, "\\\"", 2);
		else if (c == '\n')
			put(b, "\\n", 2);
		else
			put(b, (const char *)s, n);
		s += n;
	}
}

void tw_metrics_family(struct tw_metrics_buf *b, const char *name, const char *type,
		       const char *help)
{
	puts_(b, "# HELP ");
	puts_(b, name);
	put(b, " ", 1);
	put_help(b, help);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	put(b, " ", 1);
	puts_(b, type);
	put(b, "\n", 1);
}

void tw_metrics_sample(struct tw_metrics_buf *b, const char *name, const char *const *labels,
		       const char *value)
{
	puts_(b, name);
	if (labels && labels[0]) {
		put(b, "{", 1);
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			if (i)
				put(b, ",", 1);
			puts_(b, labels[i]);
			put(b, "=\"", 2);
			tw_metrics_escape_label(b, labels[i + 1]);
			put(b, "\"", 1);
		}
		put(b, "}", 1);
	}
	put(b, " ", 1);
	puts_(b, value);
	put(b, "\n", 1);
}

void tw_metrics_sample_u64(struct tw_metrics_buf *b, const char *name,
			   const char *const *labels, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	tw_metrics_sample(b, name, labels, num);
}

/*
 * Exact decimals instead of printf("%g"): a bucket bound must print the same
 * on every scrape (it is part of the series' identity) and a large sum of
 * nanoseconds must not lose its low digits to a double.
 */
void tw_metrics_format_scaled(uint64_t v, uint64_t scale, char *out, size_t outlen)
{
	unsigned digits = 0;
	char frac[24];
	int n;

	if (scale <= 1) {
		snprintf(out, outlen, "%" PRIu64, v);
		return;
	}
	for (uint64_t s = scale; s > 1; s /= 10)
		digits++;
	n = snprintf(frac, sizeof(frac), "%0*" PRIu64, (int)digits, v % scale);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = 0;
	if (n)
		snprintf(out, outlen, "%" PRIu64 ".%s", v / scale, frac);
	else
		snprintf(out, outlen, "%" PRIu64, v / scale);
}

void tw_metrics_sample_scaled(struct tw_metrics_buf *b, const char *name,
			      const char *const *labels, uint64_t v, uint64_t scale)
{
	char num[48];

	tw_metrics_format_scaled(v, scale, num, sizeof(num));
	tw_metrics_sample(b, name, labels, num);
}
