// SPDX-License-Identifier: Apache-2.0
/* Shipper options: defaults, names, URL checks and credentials from files or the environment. */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ship_internal.h"

void tw_ship_options_init(struct tw_ship_options *o)
{
	memset(o, 0, sizeof(*o));
	o->format = TW_SHIP_NDJSON;
	o->table = "tracewire.events";
	o->index = "tracewire";
	o->spool_max_bytes = 256ull << 20;
	o->segment_bytes = 4u << 20;
	o->batch_max_events = 5000;
	o->batch_max_bytes = 1u << 20;
	o->batch_max_ms = 1000;
	o->concurrency = 2;
	o->timeout_ms = 10000;
	o->connect_timeout_ms = 3000;
	o->backoff_initial_ms = 200;
	o->backoff_max_ms = 30000;
	o->sync_ms = 1000;
	o->dead_letter_max_bytes = 64ull << 20;
}

int tw_ship_format_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "ndjson"))
		return TW_SHIP_NDJSON;
	if (!strcmp(name, "clickhouse"))
		return TW_SHIP_CLICKHOUSE;
	if (!strcmp(name, "elasticsearch"))
		return TW_SHIP_ELASTICSEARCH;
	return -1;
}

int tw_ship_auth_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "basic"))
		return TW_SHIP_AUTH_BASIC;
	if (!strcmp(name, "bearer"))
		return TW_SHIP_AUTH_BEARER;
	if (!strcmp(name, "apikey"))
		return TW_SHIP_AUTH_APIKEY;
	if (!strcmp(name, "header"))
		return TW_SHIP_AUTH_HEADER;
	return -1;
}

int tw_ship_url_check(const char *url, char *err, size_t errlen)
{
	const char *host, *end;

	if (!url || !*url) {
		snprintf(err, errlen, "empty collector URL");
		return -1;
	}
	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else {
		snprintf(err, errlen, "collector URL '%s' must start with http:// or https://", url);
		return -1;
	}
	for (const char *p = url; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "collector URL must not contain spaces or control characters");
			return -1;
		}
	end = host + strcspn(host, "/?#");
	if (end == host) {
		snprintf(err, errlen, "collector URL '%s' has no host", url);
		return -1;
	}
	/* user:password@ would be visible in argv and in every log line: refuse it, do not echo it */
	if (memchr(host, '@', (size_t)(end - host))) {
		snprintf(err, errlen, "collector URL must not contain credentials; use an auth file or "
				      "environment variable");
		return -1;
	}
	return 0;
}

char *tw_ship_load_secret(const char *file, const char *env, char *err, size_t errlen)
{
	char *s = NULL;
	size_t n;

	if (!!file == !!env) {
		snprintf(err, errlen, "credentials need exactly one of a file or an environment variable");
		return NULL;
	}
	if (env) {
		const char *v = getenv(env);
		if (!v || !*v) {
			snprintf(err, errlen, "environment variable %s is not set or empty", env);
			return NULL;
		}
		s = strdup(v);
	} else {
		FILE *f = fopen(file, "re");
		size_t cap = 0;
		ssize_t len;
		if (!f) {
			snprintf(err, errlen, "cannot read credentials file %s: %s", file, strerror(errno));
			return NULL;
		}
		len = getline(&s, &cap, f);
		fclose(f);
		if (len <= 0) {
			free(s);
			snprintf(err, errlen, "credentials file %s is empty", file);
			return NULL;
		}
	}
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	if (!n || strpbrk(s, "\r\n")) {
		free(s);
		snprintf(err, errlen, "credentials from %s %s are empty", file ? "file" : "variable",
			 file ? file : env);
		return NULL;
	}
	return s;
}
