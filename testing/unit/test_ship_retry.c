// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the shipper's retry policy (non-GPL/lib/ship_retry.c) and
 * its configuration checks (ship_config.c): which answers are retried, the
 * backoff curve and its jitter, Retry-After, URLs and credentials.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include "ship_internal.h"

Test(retry, classification)
{
	cr_expect_eq(ship_classify(true, 0), SHIP_RETRY, "refused, reset, timeout");
	cr_expect_eq(ship_classify(false, 200), SHIP_DELIVERED);
	cr_expect_eq(ship_classify(false, 204), SHIP_DELIVERED);
	cr_expect_eq(ship_classify(false, 429), SHIP_RETRY);
	cr_expect_eq(ship_classify(false, 500), SHIP_RETRY);
	cr_expect_eq(ship_classify(false, 503), SHIP_RETRY);
	cr_expect_eq(ship_classify(false, 400), SHIP_DEAD_LETTER);
	cr_expect_eq(ship_classify(false, 401), SHIP_DEAD_LETTER);
	cr_expect_eq(ship_classify(false, 404), SHIP_DEAD_LETTER);
	cr_expect_eq(ship_classify(false, 413), SHIP_DEAD_LETTER);
}

Test(retry, backoff_doubles_up_to_the_cap)
{
	/* r = 0.999999: the top of the jitter range, i.e. the full delay */
	cr_expect_eq(ship_backoff_ms(1, 200, 30000, 0.999999), 199);
	cr_expect_eq(ship_backoff_ms(2, 200, 30000, 0.999999), 399);
	cr_expect_eq(ship_backoff_ms(3, 200, 30000, 0.999999), 799);
	cr_expect_eq(ship_backoff_ms(8, 200, 30000, 0.999999), 25599);
	cr_expect_eq(ship_backoff_ms(9, 200, 30000, 0.999999), 29999, "capped");
	cr_expect_eq(ship_backoff_ms(1000, 200, 30000, 0.999999), 29999, "no overflow");
	/* r = 0: half the delay, never less */
	cr_expect_eq(ship_backoff_ms(1, 200, 30000, 0), 100);
	cr_expect_eq(ship_backoff_ms(4, 200, 30000, 0), 800);
	cr_expect_eq(ship_backoff_ms(50, 200, 30000, 0), 15000);
}

Test(retry, jitter_spreads_delays_within_bounds)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned seed = 42;

	for (int i = 0; i < 2000; i++) {
		uint64_t d = ship_backoff_ms(3, 200, 30000, (double)rand_r(&seed) / ((double)RAND_MAX + 1));
		cr_assert_geq(d, 400);
		cr_assert_lt(d, 800);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	cr_expect_lt(lo, 440, "the range is used, low end");
	cr_expect_gt(hi, 760, "the range is used, high end");
}

Test(retry, retry_after_seconds_and_dates)
{
	time_t now = 1795320171; /* 2026-11-22T04:02:51Z */

	cr_expect_eq(ship_parse_retry_after("1", now), 1000);
	cr_expect_eq(ship_parse_retry_after(" 120 ", now), 120000);
	cr_expect_eq(ship_parse_retry_after("0", now), 0);
	cr_expect_eq(ship_parse_retry_after("Sun, 22 Nov 2026 04:03:01 GMT", now), 10000);
	cr_expect_eq(ship_parse_retry_after("Sun, 22 Nov 2026 04:00:00 GMT", now), 0, "in the past");
	cr_expect_eq(ship_parse_retry_after("-5", now), -1);
	cr_expect_eq(ship_parse_retry_after("soon", now), -1);
	cr_expect_eq(ship_parse_retry_after("5s", now), -1);
	cr_expect_eq(ship_parse_retry_after("", now), -1);
	cr_expect_eq(ship_parse_retry_after(NULL, now), -1);
	cr_expect_eq(ship_parse_retry_after("99999999999", now), -1, "absurd");
}

Test(retry, elasticsearch_bulk_answers)
{
	const char *ok = "{\"took\":3,\"errors\":false,\"items\":[{\"index\":{\"status\":201}}]}";
	const char *busy = "{\"took\":3,\"errors\":true,\"items\":[{\"index\":{\"status\":201}},"
			   "{\"index\":{\"status\":429,\"error\":{}}}]}";
	const char *mapping = "{\"took\":3,\"errors\":true,\"items\":[{\"index\":{\"status\":400,"
			      "\"error\":{\"type\":\"mapper_parsing_exception\"}}}]}";

	cr_expect_eq(ship_classify_bulk_response(ok, strlen(ok)), SHIP_DELIVERED);
	cr_expect_eq(ship_classify_bulk_response(busy, strlen(busy)), SHIP_RETRY);
	cr_expect_eq(ship_classify_bulk_response(mapping, strlen(mapping)), SHIP_DEAD_LETTER);
	cr_expect_eq(ship_classify_bulk_response("", 0), SHIP_DELIVERED, "not a bulk answer");
}

Test(config, urls)
{
	char err[256];

	cr_expect_eq(tw_ship_url_check("http://127.0.0.1:8123/", err, sizeof(err)), 0);
	cr_expect_eq(tw_ship_url_check("https://es.example:9200", err, sizeof(err)), 0);
	cr_expect_eq(tw_ship_url_check("ftp://x/", err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "http://"));
	cr_expect_eq(tw_ship_url_check("http://", err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "no host"));
	cr_expect_eq(tw_ship_url_check("http://a b/", err, sizeof(err)), -1);
	cr_expect_eq(tw_ship_url_check("http://user:s3cret@h/", err, sizeof(err)), -1);
	cr_expect_null(strstr(err, "s3cret"), "the secret is not repeated: %s", err);
	cr_expect_eq(tw_ship_url_check("http://h/path@x", err, sizeof(err)), 0, "@ in the path is fine");
}

Test(config, names)
{
	cr_expect_eq(tw_ship_format_parse("ndjson"), TW_SHIP_NDJSON);
	cr_expect_eq(tw_ship_format_parse("clickhouse"), TW_SHIP_CLICKHOUSE);
	cr_expect_eq(tw_ship_format_parse("elasticsearch"), TW_SHIP_ELASTICSEARCH);
	cr_expect_eq(tw_ship_format_parse("json"), -1);
	cr_expect_eq(tw_ship_auth_parse("basic"), TW_SHIP_AUTH_BASIC);
	cr_expect_eq(tw_ship_auth_parse("bearer"), TW_SHIP_AUTH_BEARER);
	cr_expect_eq(tw_ship_auth_parse("apikey"), TW_SHIP_AUTH_APIKEY);
	cr_expect_eq(tw_ship_auth_parse("header"), TW_SHIP_AUTH_HEADER);
	cr_expect_eq(tw_ship_auth_parse("none"), -1);
}

Test(config, secrets_from_files_and_the_environment)
{
	char path[] = "/tmp/tw_secret.XXXXXX", err[256];
	int fd = mkstemp(path);
	char *s;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "user:p4ss  \nsecond line\n", 24), 24);
	close(fd);
	s = tw_ship_load_secret(path, NULL, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_expect_str_eq(s, "user:p4ss", "first line, trailing blanks gone");
	free(s);

	setenv("TW_TEST_TOKEN", "tok-123", 1);
	s = tw_ship_load_secret(NULL, "TW_TEST_TOKEN", err, sizeof(err));
	cr_assert_not_null(s);
	cr_expect_str_eq(s, "tok-123");
	free(s);

	unsetenv("TW_TEST_TOKEN");
	cr_expect_null(tw_ship_load_secret(NULL, "TW_TEST_TOKEN", err, sizeof(err)));
	cr_expect_not_null(strstr(err, "TW_TEST_TOKEN"));
	cr_expect_null(tw_ship_load_secret("/nonexistent/secret", NULL, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "/nonexistent/secret"));
	cr_expect_null(strchr(err, '\n'), "one line");
	cr_expect_null(tw_ship_load_secret(path, "X", err, sizeof(err)), "not both");

	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	cr_expect_null(tw_ship_load_secret(path, NULL, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "empty"), "%s", err);
	unlink(path);
}

Test(config, open_refuses_bad_options_with_a_sentence)
{
	struct tw_ship_options o;
	struct tw_shipper *s = NULL;
	char err[256] = "";

	tw_ship_options_init(&o);
	o.url = "http://127.0.0.1:9/";
	cr_expect_eq(tw_ship_open(&s, &o, err, sizeof(err)), -EINVAL);
	cr_expect_not_null(strstr(err, "spool"), "%s", err);
	o.spool_dir = "/tmp";
	o.auth = TW_SHIP_AUTH_BEARER;
	cr_expect_eq(tw_ship_open(&s, &o, err, sizeof(err)), -EINVAL);
	cr_expect_not_null(strstr(err, "credentials"), "%s", err);
	o.auth = TW_SHIP_AUTH_NONE;
	o.url = "gopher://x/";
	cr_expect_eq(tw_ship_open(&s, &o, err, sizeof(err)), -EINVAL);
	cr_expect_null(s);
}

Test(retry, clickhouse_data_errors_are_final_other_500s_are_not)
{
	const char *parse = "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected \" "
			    "before: abc\"}\\n: (while read the value of key signal): (at row 1)\n";
	const char *mem = "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded\n";
	const char *parts = "Code: 252, e.displayText() = DB::Exception: Too many parts\n";

	cr_expect_eq(ship_classify_clickhouse_error(500, parse, strlen(parse)), SHIP_DEAD_LETTER);
	cr_expect_eq(ship_classify_clickhouse_error(500, mem, strlen(mem)), SHIP_RETRY);
	cr_expect_eq(ship_classify_clickhouse_error(500, parts, strlen(parts)), SHIP_RETRY);
	cr_expect_eq(ship_classify_clickhouse_error(503, "", 0), SHIP_RETRY, "no ClickHouse text");
	cr_expect_eq(ship_classify_clickhouse_error(502, "<html>bad gateway", 17), SHIP_RETRY);
	cr_expect_eq(ship_classify_clickhouse_error(400, parse, strlen(parse)), SHIP_DEAD_LETTER);
}

/*
 * Regression (fuzz_ship_response): a bulk answer is not NUL-terminated, and a
 * "status": at its very end made the number parser read past the buffer.
 * Under ASan (make asan) the old code fails here.
 */
Test(retry, bulk_answer_status_at_the_end_of_an_unterminated_body)
{
	static const char text[] = "{\"took\":1,\"errors\":true,\"items\":[{\"index\":{\"status\":";
	size_t len = sizeof(text) - 1;
	char *body = malloc(len); /* exactly the bytes, no terminator after them */

	cr_assert_not_null(body);
	memcpy(body, text, len);
	cr_expect_eq(ship_classify_bulk_response(body, len), SHIP_DEAD_LETTER);
	memcpy(body + len - 9, "\"status\":", 9);
	free(body);

	static const char retry[] = "{\"errors\":true,\"items\":[{\"index\":{\"status\": 503";
	body = malloc(sizeof(retry) - 1);
	cr_assert_not_null(body);
	memcpy(body, retry, sizeof(retry) - 1);
	cr_expect_eq(ship_classify_bulk_response(body, sizeof(retry) - 1), SHIP_RETRY);
	free(body);
}
