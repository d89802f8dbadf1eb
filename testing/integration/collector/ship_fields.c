// SPDX-License-Identifier: Apache-2.0
/*
 * Prints chosen fields of NDJSON events as tab-separated lines, written the
 * way clickhouse-client prints the matching columns (TSV), so the ClickHouse
 * test can compare rows with the events EventsTrace printed, field by field:
 *
 *   ship_fields PATH... < events.ndjson
 *
 * A PATH is a dotted key (process.pid), optionally with the column's kind:
 * PATH:n (number), PATH:a (array), a string otherwise. Integers print as
 * integers, booleans as 1/0, arrays of strings as ['a','b'], missing or null
 * values as the column default (0, [], empty). Two derived fields: time.sec
 * ("YYYY-MM-DD hh:mm:ss" of the ISO time) and time.frac (its nanoseconds). Lines without
 * "event_type" or with STREAM_START / STATS are skipped.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static void tsv_escaped(const char *s, char quote)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\\')
			fputs("\\\\", stdout);
		else if (quote && *s == quote)
			printf("\\%c", quote);
		else
			putchar(*s);
	}
}

static void print_field(cJSON *ev, const char *spec)
{
	char buf[256], path[256], *save = NULL, kind = 's';
	const char *colon = strchr(spec, ':');
	cJSON *v = ev;

	snprintf(path, sizeof(path), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	if (colon)
		kind = colon[1];

	if (!strcmp(path, "time.sec") || !strcmp(path, "time.frac")) {
		cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "time");
		const char *s = cJSON_IsString(t) ? t->valuestring : "";
		if (!strcmp(path, "time.sec"))
			printf("%.10s %.8s", s, strlen(s) > 11 ? s + 11 : "");
		else
			printf("%ld", strlen(s) > 20 ? strtol(s + 20, NULL, 10) : 0L);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	if (!v || cJSON_IsNull(v)) {
		fputs(kind == 'n' ? "0" : kind == 'a' ? "[]" : "", stdout);
		return;
	}
	if (cJSON_IsBool(v))
		printf("%d", cJSON_IsTrue(v) ? 1 : 0);
	else if (cJSON_IsNumber(v))
		printf("%.0f", v->valuedouble); /* exact below 2^53, which the compared fields are */
	else if (cJSON_IsString(v))
		tsv_escaped(v->valuestring, 0);
	else if (cJSON_IsArray(v)) {
		cJSON *e;
		bool first = true;
		putchar('[');
		cJSON_ArrayForEach(e, v) {
			printf("%s'", first ? "" : ",");
			tsv_escaped(cJSON_IsString(e) ? e->valuestring : "", '\'');
			putchar('\'');
			first = false;
		}
		putchar(']');
	}
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		cJSON *ev = cJSON_Parse(line), *t;
		if (!ev)
			continue;
		t = cJSON_GetObjectItemCaseSensitive(ev, "event_type");
		if (cJSON_IsString(t) && strcmp(t->valuestring, "STREAM_START") &&
		    strcmp(t->valuestring, "STATS")) {
			for (int i = 1; i < argc; i++) {
				if (i > 1)
					putchar('\t');
				print_field(ev, argv[i]);
			}
			putchar('\n');
		}
		cJSON_Delete(ev);
	}
	free(line);
	return 0;
}
