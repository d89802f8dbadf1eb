// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the shipper's request bodies (non-GPL/lib/ship_format.c):
 * the event id in front of each line, ClickHouse JSONEachRow rows (flattened,
 * with the raw line), Elasticsearch _bulk, NDJSON, gzip and request URLs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <string.h>
#include <zlib.h>
#include <errno.h>

#include "ship_internal.h"

static char *with_id(const char *line, const char *id, const char *host)
{
	struct ship_buf b = {0};
	int rc = ship_line_with_id(&b, line, strlen(line), id, host);
	cr_assert_eq(rc, 0, "line %s", line);
	return b.p;
}

Test(format, event_id_goes_first)
{
	char *s = with_id("{\"event_type\":\"PROCESS_EXEC\",\"n\":1}", "boot-7", NULL);
	cr_expect_str_eq(s, "{\"event_id\":\"boot-7\",\"event_type\":\"PROCESS_EXEC\",\"n\":1}");
	free(s);
	s = with_id("{\"a\":1}\n", "b-1", "web\"01");
	cr_expect_str_eq(s, "{\"event_id\":\"b-1\",\"host\":\"web\\\"01\",\"a\":1}",
			 "trailing newline dropped, host escaped");
	free(s);
	s = with_id("  { } ", "b-2", NULL);
	cr_expect_str_eq(s, "{\"event_id\":\"b-2\"}", "an empty object gets no stray comma");
	free(s);
}

Test(format, non_objects_are_refused)
{
	struct ship_buf b = {0};
	const char *bad[] = {"[1,2]", "\"x\"", "{\"a\":1", "{\"a\":1}}", "{\"a\" 1}", "", "{\"a\":\"\x01\"}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(ship_line_with_id(&b, bad[i], strlen(bad[i]), "x", NULL), -EINVAL, "%s",
			     bad[i]);
	ship_buf_free(&b);
}

static cJSON *ch_row(const char *line)
{
	struct ship_buf b = {0};
	cJSON *o;

	cr_assert_eq(ship_clickhouse_row(&b, line, strlen(line)), 0, "%s", line);
	o = cJSON_Parse(b.p);
	cr_assert_not_null(o, "not JSON: %s", b.p);
	ship_buf_free(&b);
	return o;
}

Test(format, clickhouse_rows_are_flat_and_keep_the_raw_line)
{
	const char *line =
	    "{\"event_id\":\"b-9\",\"event_type\":\"PROCESS_EXEC\",\"time\":\"2026-11-22T04:02:51.639484413Z\","
	    "\"process\":{\"pid\":15726,\"start_time_ns\":9344042176301},\"argv\":[\"/bin/true\",\"a b\"],"
	    "\"creds\":{\"cap_effective\":18446744073709551615},\"tty\":null,\"setuid\":false,"
	    "\"memfd\":true,\"cgroup\":{\"id\":9605,\"path\":\"/x\\\"y\"},"
	    "\"unknown_fields\":[{\"type\":99,\"data\":\"q\"}]}";
	cJSON *o = ch_row(line);

	cr_expect_str_eq(cJSON_GetObjectItem(o, "event_id")->valuestring, "b-9");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "time")->valuestring, "2026-11-22 04:02:51",
			 "DateTime text, UTC");
	cr_expect_eq(cJSON_GetObjectItem(o, "process_pid")->valuedouble, 15726);
	cr_expect_eq(cJSON_GetObjectItem(o, "process_start_time_ns")->valuedouble, 9344042176301.0);
	cr_expect_null(cJSON_GetObjectItem(o, "process"), "nested object flattened away");
	cr_expect_null(cJSON_GetObjectItem(o, "tty"), "null left out");
	cr_expect_eq(cJSON_GetObjectItem(o, "setuid")->valuedouble, 0, "false -> 0");
	cr_expect_eq(cJSON_GetObjectItem(o, "memfd")->valuedouble, 1, "true -> 1");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "cgroup_path")->valuestring, "/x\"y");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "argv")), 2, "arrays kept");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "raw")->valuestring, line, "raw is the line, exactly");
	cJSON_Delete(o);

	/* numbers are copied as text: a 64-bit value keeps every digit, time_ns is exact */
	struct ship_buf b = {0};
	cr_assert_eq(ship_clickhouse_row(&b, line, strlen(line)), 0);
	cr_expect_not_null(strstr(b.p, "\"creds_cap_effective\":18446744073709551615"), "%s", b.p);
	cr_expect_not_null(strstr(b.p, "\"time_ns\":1795320171639484413"), "%s", b.p);
	ship_buf_free(&b);
}

Test(format, clickhouse_refuses_a_bad_time_or_non_object)
{
	struct ship_buf b = {0};
	const char *bad1 = "{\"time\":\"yesterday\"}", *bad2 = "[]";

	cr_expect_eq(ship_clickhouse_row(&b, bad1, strlen(bad1)), -EINVAL);
	cr_expect_eq(ship_clickhouse_row(&b, bad2, strlen(bad2)), -EINVAL);
	cr_expect_eq(b.len, 0, "nothing half-written");
	ship_buf_free(&b);
}

Test(format, ndjson_body_is_the_lines)
{
	struct ship_buf b = {0};
	const char *lines = "{\"event_id\":\"a-1\"}\n{\"event_id\":\"a-2\"}\n";

	cr_assert_eq(ship_format_body(&b, TW_SHIP_NDJSON, "idx", lines, strlen(lines)), 0);
	cr_expect_str_eq(b.p, lines);
	ship_buf_free(&b);
}

Test(format, elasticsearch_bulk_has_an_action_with_the_id_per_document)
{
	struct ship_buf b = {0};
	const char *lines = "{\"event_id\":\"a-1\",\"x\":1}\n{\"event_id\":\"a-2\",\"x\":2}\n";

	cr_assert_eq(ship_format_body(&b, TW_SHIP_ELASTICSEARCH, "tw-events", lines, strlen(lines)), 0);
	cr_expect_str_eq(b.p, "{\"index\":{\"_index\":\"tw-events\",\"_id\":\"a-1\"}}\n"
			      "{\"event_id\":\"a-1\",\"x\":1}\n"
			      "{\"index\":{\"_index\":\"tw-events\",\"_id\":\"a-2\"}}\n"
			      "{\"event_id\":\"a-2\",\"x\":2}\n");
	ship_buf_free(&b);
}

Test(format, clickhouse_body_has_one_row_per_line)
{
	struct ship_buf b = {0};
	const char *lines = "{\"event_id\":\"a-1\",\"p\":{\"q\":1}}\n{\"event_id\":\"a-2\"}\n";
	int n = 0;

	cr_assert_eq(ship_format_body(&b, TW_SHIP_CLICKHOUSE, NULL, lines, strlen(lines)), 0);
	for (char *p = b.p; (p = strchr(p, '\n')); p++)
		n++;
	cr_expect_eq(n, 2);
	cr_expect_not_null(strstr(b.p, "{\"event_id\":\"a-1\",\"p_q\":1,\"raw\":"), "%s", b.p);
	ship_buf_free(&b);
}

Test(format, gzip_round_trips)
{
	struct ship_buf z = {0};
	char in[20000], out[20000];
	uLongf outlen = sizeof(out);
	z_stream s;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = "{\"event_id\":\"abc\"}\n"[i % 19];
	cr_assert_eq(ship_gzip(&z, in, sizeof(in), 3), 0);
	cr_expect_lt(z.len, sizeof(in) / 10, "repetitive JSON compresses well");
	cr_expect_eq((unsigned char)z.p[0], 0x1f, "gzip magic");
	cr_expect_eq((unsigned char)z.p[1], 0x8b);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(inflateInit2(&s, 16 + 15), Z_OK);
	s.next_in = (Bytef *)z.p;
	s.avail_in = (uInt)z.len;
	s.next_out = (Bytef *)out;
	s.avail_out = (uInt)outlen;
	cr_assert_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
	cr_expect_eq(s.total_out, sizeof(in));
	cr_expect_eq(memcmp(in, out, sizeof(in)), 0);
	inflateEnd(&s);
	ship_buf_free(&z);
}

Test(format, request_urls)
{
	char *u = ship_request_url("http://h:8123/", TW_SHIP_CLICKHOUSE, "tracewire.events");
	cr_expect_str_eq(u, "http://h:8123/?query=INSERT%20INTO%20tracewire.events%20FORMAT%20JSONEachRow"
			    "&input_format_skip_unknown_fields=1");
	free(u);
	u = ship_request_url("http://h:8123/?database=x", TW_SHIP_CLICKHOUSE, "t");
	cr_expect_not_null(strstr(u, "?database=x&query=INSERT"), "%s", u);
	free(u);
	u = ship_request_url("https://es:9200", TW_SHIP_ELASTICSEARCH, NULL);
	cr_expect_str_eq(u, "https://es:9200/_bulk");
	free(u);
	u = ship_request_url("https://es:9200/_bulk", TW_SHIP_ELASTICSEARCH, NULL);
	cr_expect_str_eq(u, "https://es:9200/_bulk", "already there");
	free(u);
	u = ship_request_url("http://c/in", TW_SHIP_NDJSON, NULL);
	cr_expect_str_eq(u, "http://c/in");
	free(u);
}

Test(format, string_field_lookup)
{
	char out[64];
	const char *l = "{\"a\":{\"event_id\":\"inner\"},\"event_id\" : \"x-1\",\"b\":[1]}";

	cr_expect(ship_json_string_field(l, strlen(l), "event_id", out, sizeof(out)));
	cr_expect_str_eq(out, "x-1", "top level only");
	cr_expect_not(ship_json_string_field(l, strlen(l), "b", out, sizeof(out)), "not a string");
	cr_expect_not(ship_json_string_field(l, strlen(l), "zz", out, sizeof(out)));
}
