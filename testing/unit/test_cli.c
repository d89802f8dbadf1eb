// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the EventsTrace command line (non-GPL/EventsTrace/cli.c). */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cli.h"

#define MAX_ARGS 200

/* argv as getopt wants it: argv[0], the arguments, NULL. Strings are static
 * literals, so pointers in struct tw_cli (record_path...) stay valid. */
struct args {
	int argc;
	char *argv[MAX_ARGS + 2];
};

static void vmake(struct args *a, va_list ap)
{
	const char *s;

	a->argc = 0;
	a->argv[a->argc++] = "EventsTrace";
	while ((s = va_arg(ap, const char *)) != NULL) {
		cr_assert_lt(a->argc, MAX_ARGS);
		a->argv[a->argc++] = (char *)s;
	}
	a->argv[a->argc] = NULL;
}

/* Parse must succeed; the arguments end with NULL. */
static struct tw_cli parse_ok_(int dummy, ...)
{
	struct args a;
	struct tw_cli cli;
	char err[256] = "";
	va_list ap;
	int rc;

	va_start(ap, dummy);
	vmake(&a, ap);
	va_end(ap);
	rc = tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err));
	cr_assert_eq(rc, 0, "parse failed: %s", err);
	return cli;
}
#define parse_ok(...) parse_ok_(0, __VA_ARGS__, (const char *)NULL)

/*
 * Parse must fail with a one-line message containing `needle` (and, if not
 * NULL, `needle2`). Returns the message in a static buffer.
 */
static const char *parse_err_(const char *needle, const char *needle2, ...)
{
	static char err[256];
	struct args a;
	struct tw_cli cli;
	va_list ap;
	int rc;

	va_start(ap, needle2);
	vmake(&a, ap);
	va_end(ap);
	memset(err, 0, sizeof(err));
	rc = tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err));
	cr_assert_eq(rc, -1, "parse of \"%s ...\" must fail", a.argc > 1 ? a.argv[1] : "");
	cr_assert_gt(strlen(err), 0, "no error message");
	cr_expect_null(strchr(err, '\n'), "message is not one line: %s", err);
	for (const char *p = err; *p; p++)
		cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
			  "unprintable byte %#x in message: %s", (unsigned char)*p, err);
	if (needle)
		cr_expect_not_null(strstr(err, needle), "\"%s\" not in message: %s", needle, err);
	if (needle2)
		cr_expect_not_null(strstr(err, needle2), "\"%s\" not in message: %s", needle2, err);
	return err;
}
#define parse_err(needle, ...) parse_err_(needle, NULL, __VA_ARGS__, (const char *)NULL)
#define parse_err2(needle, needle2, ...) parse_err_(needle, needle2, __VA_ARGS__, (const char *)NULL)

/* ---- defaults ----------------------------------------------------------- */

Test(cli, defaults)
{
	struct tw_cli c = parse_ok((const char *)NULL);

	cr_expect_eq(c.event_mask, TW_EVENTS_ALL, "no event flag means all types");
	cr_expect_eq(c.event_mask,
		     TW_EVENTS_PROCESS | TW_EVENTS_FILE | TW_EVENTS_TTY | TW_EVENTS_NETWORK);
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_NETWORK_DNS + 1) - 2, "types 1..23");
	cr_expect_eq(c.write_window_ms, -1, "library default");
	cr_expect_eq(c.tty_budget_bytes, 0, "no tty budget");
	cr_expect_eq(c.n_path_rules, 0);
	cr_expect_eq(c.n_pid_rules, 0);
	cr_expect_not(c.env);
	cr_expect_eq(c.ring_size, 0);
	cr_expect_eq(c.wakeup_bytes, -1);
	cr_expect_eq(c.max_latency_ms, 0);
	cr_expect_eq(c.stats_interval_s, 0);
	cr_expect_not(c.stats);
	cr_expect_eq(c.stats_json, TW_STATS_JSON_OFF);
	cr_expect_null(c.record_path);
	cr_expect_null(c.replay_path);
	cr_expect_not(c.no_start_record);
	cr_expect_not(c.verbose);
	cr_expect_not(c.help);
	cr_expect_not(c.version);
}

/* ---- event types -------------------------------------------------------- */

Test(cli, event_type_flags)
{
	struct tw_cli c;

	c = parse_ok("--process-exec");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC));
	c = parse_ok("--process-fork");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_FORK));
	c = parse_ok("--process-exit");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT));
	c = parse_ok("--process-exec", "--process-exit");
	cr_expect_eq(c.event_mask,
		     TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC) | TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT));
	c = parse_ok("--process");
	cr_expect_eq(c.event_mask, TW_EVENTS_PROCESS);
	c = parse_ok("--all");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
	c = parse_ok("-a");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
	c = parse_ok("--process-fork", "-a");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
	/* a unique prefix of a long option is accepted (getopt_long) */
	c = parse_ok("--process-exi");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT));
	c = parse_ok("--file-s");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN));
	/* -a includes the file and tty types */
	cr_expect(parse_ok("-a").event_mask & TW_EVENT_BIT(TW_EVENT_FILE_MODIFY));
	cr_expect(parse_ok("-a").event_mask & TW_EVENT_BIT(TW_EVENT_PROCESS_TTY_WRITE));
}

Test(cli, tty_flag)
{
	struct tw_cli c;

	c = parse_ok("--tty");
	cr_expect_eq(c.event_mask, TW_EVENTS_TTY);
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_TTY_WRITE));
	cr_expect_eq(c.tty_budget_bytes, 0);
	c = parse_ok("--tty", "--process-exec");
	cr_expect_eq(c.event_mask, TW_EVENTS_TTY | TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC));
	c = parse_ok("--file-modify", "--tty");
	cr_expect_eq(c.event_mask, TW_EVENTS_TTY | TW_EVENT_BIT(TW_EVENT_FILE_MODIFY));
	c = parse_ok("--tty", "--tty");
	cr_expect_eq(c.event_mask, TW_EVENTS_TTY);
	c = parse_ok("--tty", "--all");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
}

Test(cli, network_flags)
{
	struct tw_cli c;

	c = parse_ok("--network");
	cr_expect_eq(c.event_mask, TW_EVENTS_NETWORK);
	c = parse_ok("--network-connect");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED));
	c = parse_ok("--network-accept", "--network-close");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ACCEPTED) |
				       TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED));
	c = parse_ok("--network-tcp-metrics", "--process-exit");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS) |
				       TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT));
	cr_expect(parse_ok("-a").event_mask & TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED));
	parse_err("--network", "--network=1");
	cr_expect_eq(parse_ok("--network").tcp_metrics_interval_s, 0, "off by default");
	cr_expect_eq(parse_ok("--tcp-metrics-interval", "30").tcp_metrics_interval_s, 30);
	parse_err("--tcp-metrics-interval", "--tcp-metrics-interval", "0");
	parse_err("--tcp-metrics-interval", "--tcp-metrics-interval", "86401");
	parse_err("--tcp-metrics-interval", "--tcp-metrics-interval", "5s");
	c = parse_ok("--network-udp", "--network-dns");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW) |
				       TW_EVENT_BIT(TW_EVENT_NETWORK_DNS));
	cr_expect_eq(c.udp_flow_interval_s, -1, "library default");
	cr_expect_eq(c.exit_hold_ms, -1, "library default");
	cr_expect_eq(parse_ok("--udp-flow-interval", "0").udp_flow_interval_s, 0);
	cr_expect_eq(parse_ok("--exit-hold-ms", "0").exit_hold_ms, 0);
	cr_expect_eq(parse_ok("--exit-hold-ms", "2000").exit_hold_ms, 2000);
	parse_err("--udp-flow-interval", "--udp-flow-interval", "86401");
	parse_err("--exit-hold-ms", "--exit-hold-ms", "60001");
	parse_err("--exit-hold-ms", "--exit-hold-ms", "-1");
}

Test(cli, tty_budget)
{
	struct tw_cli c;

	c = parse_ok("--tty", "--tty-budget", "64K");
	cr_expect_eq(c.tty_budget_bytes, 65536);
	cr_expect_eq(c.event_mask, TW_EVENTS_TTY);
	cr_expect_eq(parse_ok("--tty-budget=64K").tty_budget_bytes, 65536);
	cr_expect_eq(parse_ok("--tty-budget", "1").tty_budget_bytes, 1);
	cr_expect_eq(parse_ok("--tty-budget", "4096").tty_budget_bytes, 4096);
	cr_expect_eq(parse_ok("--tty-budget", "1M").tty_budget_bytes, 1u << 20);
	cr_expect_eq(parse_ok("--tty-budget", "16kb").tty_budget_bytes, 16u << 10);
	cr_expect_eq(parse_ok("--tty-budget", "4G").tty_budget_bytes, 4ull << 30);
	/* the last one wins */
	cr_expect_eq(parse_ok("--tty-budget", "1K", "--tty-budget", "2K").tty_budget_bytes, 2048);
	/* a budget alone does not choose the event types */
	c = parse_ok("--tty-budget", "8K");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
	cr_expect_eq(c.tty_budget_bytes, 8192);
}

Test(cli, bad_tty_budget)
{
	static const char *const bad[] = {"0", "-1", "abc", "64X", "5G", "1.5K", " 64K", "64K ",
					  "0x100", "17179869185G"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "'%s'", bad[i]);
		parse_err2("--tty-budget", needle, "--tty", "--tty-budget", bad[i]);
	}
	parse_err2("--tty-budget", "''", "--tty-budget=");
	parse_err2("--tty-budget", "'-64K'", "--tty-budget=-64K");
	parse_err2("--tty-budget", "needs a value", "--tty-budget");
}

/* ---- pid filters -------------------------------------------------------- */

Test(cli, pid_rules)
{
	struct tw_cli c = parse_ok("--pid", "1", "--pid-tree", "200", "--exclude-pid", "300",
				   "--exclude-pid-tree=4294967295", "--pid=42");

	cr_assert_eq(c.n_pid_rules, 5);
	cr_expect_eq(c.pid_rules[0].pid, 1);
	cr_expect_eq(c.pid_rules[0].flags, TW_PID_INCLUDE);
	cr_expect_eq(c.pid_rules[1].pid, 200);
	cr_expect_eq(c.pid_rules[1].flags, TW_PID_INCLUDE | TW_PID_DESCENDANTS);
	cr_expect_eq(c.pid_rules[2].pid, 300);
	cr_expect_eq(c.pid_rules[2].flags, TW_PID_EXCLUDE);
	cr_expect_eq(c.pid_rules[3].pid, UINT32_MAX);
	cr_expect_eq(c.pid_rules[3].flags, TW_PID_EXCLUDE | TW_PID_DESCENDANTS);
	cr_expect_eq(c.pid_rules[4].pid, 42);
	cr_expect_eq(c.pid_rules[4].flags, TW_PID_INCLUDE);
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
}

Test(cli, bad_pids)
{
	static const char *const bad[] = {"0", "-1", "abc", "99999999999", "4294967296", "12abc",
					  "", " 12", "+5", "0x10", "1.5", "18446744073709551617"};
	static const char *const opts[] = {"--pid", "--pid-tree", "--exclude-pid", "--exclude-pid-tree"};

	for (size_t o = 0; o < 4; o++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char needle[64];

			snprintf(needle, sizeof(needle), "'%s'", bad[i]);
			parse_err2("pid", needle, opts[o], bad[i]);
		}
}

Test(cli, pid_rule_limit)
{
	struct args a;
	struct tw_cli cli;
	char err[256] = "";
	static char pids[TW_CLI_MAX_PID_RULES + 1][12];

	a.argc = 0;
	a.argv[a.argc++] = "EventsTrace";
	for (int i = 0; i < TW_CLI_MAX_PID_RULES; i++) {
		snprintf(pids[i], sizeof(pids[i]), "%d", i + 1);
		a.argv[a.argc++] = "--pid";
		a.argv[a.argc++] = pids[i];
	}
	a.argv[a.argc] = NULL;
	cr_assert_eq(tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cli.n_pid_rules, TW_CLI_MAX_PID_RULES);
	cr_expect_eq(cli.pid_rules[TW_CLI_MAX_PID_RULES - 1].pid, TW_CLI_MAX_PID_RULES);

	snprintf(pids[TW_CLI_MAX_PID_RULES], sizeof(pids[0]), "%d", 9999);
	a.argv[a.argc++] = "--exclude-pid";
	a.argv[a.argc++] = pids[TW_CLI_MAX_PID_RULES];
	a.argv[a.argc] = NULL;
	cr_assert_eq(tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "64"), "%s", err);
	cr_expect_eq(cli.n_pid_rules, TW_CLI_MAX_PID_RULES, "no rule past the array");
}

/* ---- capture, ring buffer, latency -------------------------------------- */

Test(cli, env)
{
	cr_expect(parse_ok("--env").env);
}

Test(cli, ring_size)
{
	cr_expect_eq(parse_ok("--ring-size", "16M").ring_size, 16u << 20);
	cr_expect_eq(parse_ok("--ring-size=4K").ring_size, 4096);
	cr_expect_eq(parse_ok("--ring-size", "4096").ring_size, 4096);
	cr_expect_eq(parse_ok("--ring-size", "1G").ring_size, 1u << 30);
	cr_expect_eq(parse_ok("--ring-size", "256k").ring_size, 256u << 10);
	cr_expect_eq(parse_ok("--ring-size", "8MB").ring_size, 8u << 20);
}

Test(cli, bad_ring_size)
{
	parse_err2("--ring-size", "'0'", "--ring-size", "0");
	parse_err2("--ring-size", "'4095'", "--ring-size", "4095");
	parse_err2("--ring-size", "'2G'", "--ring-size", "2G");
	parse_err2("--ring-size", "'1025M'", "--ring-size", "1025M");
	parse_err2("--ring-size", "'garbage'", "--ring-size", "garbage");
	parse_err2("--ring-size", "'1X'", "--ring-size", "1X");
	parse_err2("--ring-size", "'-16M'", "--ring-size=-16M");
	parse_err2("--ring-size", "'16 M'", "--ring-size", "16 M");
	parse_err2("--ring-size", "'99999999999999999999'", "--ring-size", "99999999999999999999");
}

Test(cli, wakeup)
{
	cr_expect_eq(parse_ok("--wakeup", "kernel").wakeup_bytes, 0);
	cr_expect_eq(parse_ok("--wakeup", "64K").wakeup_bytes, 65536);
	cr_expect_eq(parse_ok("--wakeup=1").wakeup_bytes, 1);
	cr_expect_eq(parse_ok("--wakeup", "4294967295").wakeup_bytes, 4294967295ll);
	/* the last one wins */
	cr_expect_eq(parse_ok("--wakeup", "kernel", "--wakeup", "1M").wakeup_bytes, 1 << 20);
}

Test(cli, bad_wakeup)
{
	parse_err2("--wakeup", "'0'", "--wakeup", "0");
	parse_err2("--wakeup", "'4G'", "--wakeup", "4G");
	parse_err2("--wakeup", "'Kernel'", "--wakeup", "Kernel");
	parse_err2("--wakeup", "'soon'", "--wakeup", "soon");
	parse_err2("--wakeup", "'-1'", "--wakeup=-1");
}

Test(cli, max_latency)
{
	cr_expect_eq(parse_ok("--max-latency-ms", "100").max_latency_ms, 100);
	cr_expect_eq(parse_ok("--max-latency-ms=1").max_latency_ms, 1);
	cr_expect_eq(parse_ok("--max-latency-ms", "10000").max_latency_ms, 10000);
	parse_err2("--max-latency-ms", "'0'", "--max-latency-ms", "0");
	parse_err2("--max-latency-ms", "'10001'", "--max-latency-ms", "10001");
	parse_err2("--max-latency-ms", "'abc'", "--max-latency-ms", "abc");
	parse_err2("--max-latency-ms", "'-5'", "--max-latency-ms", "-5");
	parse_err2("--max-latency-ms", "'5ms'", "--max-latency-ms", "5ms");
}

/* ---- statistics --------------------------------------------------------- */

Test(cli, stats)
{
	struct tw_cli c;

	c = parse_ok("--stats");
	cr_expect(c.stats);
	cr_expect_eq(c.stats_interval_s, 10);
	cr_expect_eq(c.stats_json, TW_STATS_JSON_OFF);

	c = parse_ok("--stats=5");
	cr_expect(c.stats);
	cr_expect_eq(c.stats_interval_s, 5);

	c = parse_ok("--stats=0");
	cr_expect(c.stats);
	cr_expect_eq(c.stats_interval_s, 0, "0: final summary only");

	c = parse_ok("--stats=86400");
	cr_expect_eq(c.stats_interval_s, 86400);

	parse_err2("--stats", "'abc'", "--stats=abc");
	parse_err2("--stats", "'86401'", "--stats=86401");
	parse_err2("--stats", "'-1'", "--stats=-1");
	/* an optional value must be attached: "--stats 5" leaves 5 as a stray argument */
	parse_err("'5'", "--stats", "5");
}

Test(cli, stats_json)
{
	struct tw_cli c;

	c = parse_ok("--stats-json");
	cr_expect_eq(c.stats_json, TW_STATS_JSON_STDERR);
	cr_expect_eq(c.stats_interval_s, 10);
	cr_expect_not(c.stats, "JSON statistics do not turn on the human ones");

	c = parse_ok("--stats-json=stderr");
	cr_expect_eq(c.stats_json, TW_STATS_JSON_STDERR);

	c = parse_ok("--stats-json=stream");
	cr_expect_eq(c.stats_json, TW_STATS_JSON_STREAM);
	cr_expect_eq(c.stats_interval_s, 10);

	c = parse_ok("--stats=3", "--stats-json=stream");
	cr_expect(c.stats);
	cr_expect_eq(c.stats_interval_s, 3, "an explicit interval is kept");
	cr_expect_eq(c.stats_json, TW_STATS_JSON_STREAM);

	parse_err2("--stats-json", "'stdout'", "--stats-json=stdout");
	parse_err2("--stats-json", "''", "--stats-json=");
}

/* ---- recordings, misc --------------------------------------------------- */

Test(cli, record_and_replay)
{
	struct tw_cli c;

	c = parse_ok("--record", "/tmp/a.twr");
	cr_assert_not_null(c.record_path);
	cr_expect_str_eq(c.record_path, "/tmp/a.twr");
	cr_expect_null(c.replay_path);

	c = parse_ok("--replay=/tmp/b.twr");
	cr_assert_not_null(c.replay_path);
	cr_expect_str_eq(c.replay_path, "/tmp/b.twr");
	cr_expect_null(c.record_path);

	parse_err2("--record", "--replay", "--record", "/tmp/a", "--replay", "/tmp/b");
	parse_err2("--record", "--replay", "--replay", "/tmp/b", "--record", "/tmp/a");
}

Test(cli, misc_flags)
{
	struct tw_cli c;

	c = parse_ok("--verbose");
	cr_expect(c.verbose);
	c = parse_ok("-v");
	cr_expect(c.verbose);
	c = parse_ok("--help");
	cr_expect(c.help);
	c = parse_ok("-h");
	cr_expect(c.help);
	c = parse_ok("--version");
	cr_expect(c.version);
	cr_expect_not(c.help);
	c = parse_ok("--no-start-record");
	cr_expect(c.no_start_record);
	c = parse_ok("-av");
	cr_expect(c.verbose);
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);
	c = parse_ok("-vh");
	cr_expect(c.verbose);
	cr_expect(c.help);
}

Test(cli, everything_at_once)
{
	struct tw_cli c = parse_ok("--process-exec", "--pid-tree", "77", "--env", "--ring-size", "32M",
				   "--wakeup", "kernel", "--max-latency-ms", "20", "--stats=1",
				   "--stats-json=stream", "--record", "/tmp/r", "--no-start-record", "-v",
				   "--file-rename", "--tty", "--tty-budget", "32K", "--write-window-ms", "250",
				   "--path-exclude", "/proc");

	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC) |
				   TW_EVENT_BIT(TW_EVENT_FILE_RENAME) | TW_EVENTS_TTY);
	cr_expect_eq(c.tty_budget_bytes, 32768);
	cr_expect_eq(c.write_window_ms, 250);
	cr_assert_eq(c.n_path_rules, 1);
	cr_expect_str_eq(c.path_rules[0].prefix, "/proc");
	cr_expect(c.path_rules[0].exclude);
	cr_assert_eq(c.n_pid_rules, 1);
	cr_expect_eq(c.pid_rules[0].pid, 77);
	cr_expect(c.env);
	cr_expect_eq(c.ring_size, 32u << 20);
	cr_expect_eq(c.wakeup_bytes, 0);
	cr_expect_eq(c.max_latency_ms, 20);
	cr_expect(c.stats);
	cr_expect_eq(c.stats_interval_s, 1);
	cr_expect_eq(c.stats_json, TW_STATS_JSON_STREAM);
	cr_expect_str_eq(c.record_path, "/tmp/r");
	cr_expect(c.no_start_record);
	cr_expect(c.verbose);
}

/* ---- errors ------------------------------------------------------------- */

Test(cli, unknown_options)
{
	parse_err2("unknown option", "--bogus", "--bogus");
	parse_err2("unknown option", "--bogus=1", "--bogus=1");
	parse_err2("unknown option", "-x", "-x");
	parse_err2("unknown option", "-x", "-ax");
	parse_err("--pro", "--pro"); /* ambiguous prefix */
	parse_err("--file-", "--file-");
	parse_err2("unknown option", "--ttyx", "--ttyx");
}

/* An argument given to a flag that takes none names the flag. */
Test(cli, value_for_a_flag_without_one)
{
	parse_err("--env", "--env=1");
	parse_err("--verbose", "--verbose=yes");
	parse_err("--process-exec", "--process-exec=1");
	parse_err("--tty", "--tty=1");
	parse_err("--file", "--file=yes");
	parse_err("--file-shmem", "--file-shmem=1");
}

Test(cli, missing_values)
{
	static const char *const opts[] = {"--pid", "--pid-tree", "--exclude-pid", "--exclude-pid-tree",
					   "--ring-size", "--wakeup", "--max-latency-ms", "--record",
					   "--replay", "--tty-budget", "--write-window-ms", "--path-include",
					   "--path-exclude"};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		parse_err2(opts[i], "needs a value", "--all", opts[i]);
}

Test(cli, stray_positional_arguments)
{
	parse_err2("unexpected argument", "'foo'", "foo");
	parse_err2("unexpected argument", "'foo'", "--all", "foo");
	parse_err2("unexpected argument", "'foo'", "foo", "--all");
	parse_err2("unexpected argument", "'1234'", "--process-exec", "1234");
	parse_err2("unexpected argument", "'-'", "-");
	parse_err2("unexpected argument", "'--all'", "--", "--all");
}

/*
 * tw_cli_parse may be called more than once in a process (it is kept apart
 * from main for that): a failed parse must not leak into the next one.
 */
Test(cli, repeated_parses_are_independent)
{
	struct tw_cli c;

	parse_err("-z", "-zv"); /* stops inside the "-zv" cluster */
	c = parse_ok("--process-exec");
	cr_expect_not(c.verbose, "-v from the previous, failed parse leaked in");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC));

	parse_err("foo", "foo", "--env");
	c = parse_ok("--process-fork");
	cr_expect_not(c.env);
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_FORK));

	c = parse_ok("--stats=2", "--pid", "5");
	c = parse_ok((const char *)NULL);
	cr_expect_not(c.stats);
	cr_expect_eq(c.n_pid_rules, 0);

	c = parse_ok("--tty-budget", "1K", "--write-window-ms", "5", "--path-include", "/a");
	c = parse_ok((const char *)NULL);
	cr_expect_eq(c.tty_budget_bytes, 0);
	cr_expect_eq(c.write_window_ms, -1);
	cr_expect_eq(c.n_path_rules, 0);
}

Test(cli, usage_mentions_every_option)
{
	static const char *const opts[] = {
		"--all",        "--process",        "--process-exec", "--process-fork",
		"--process-exit", "--pid",          "--pid-tree",     "--exclude-pid",
		"--exclude-pid-tree", "--env",      "--ring-size",    "--wakeup",
		"--max-latency-ms", "--stats",      "--stats-json",   "--record",
		"--replay",     "--no-start-record", "--verbose",     "--help",
		"--version",    "--file",           "--file-create",  "--file-delete",
		"--file-rename", "--file-modify",   "--file-shmem",   "--tty",
		"--tty-budget", "--write-window-ms", "--path-include", "--path-exclude",
		"--network",    "--network-connect", "--network-accept", "--network-close",
		"--network-tcp-metrics", "--runqlat", "--runqlat-human", "--runqlat-clock",
		"--netatop-server", "--netatop-group", "--net-bandwidth", "--netacct-retain", "--net-per-thread",
		"--netacct-max-procs", "--net-interface-totals",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	tw_cli_usage(f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_gt(len, 0);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		/* the whole name: "--tty" inside "--tty-budget" does not count */
		const size_t n = strlen(opts[i]);
		const char *p = buf;
		int found = 0;

		while (!found && (p = strstr(p, opts[i])) != NULL) {
			const char next = p[n];
			found = !(next == '-' || (next >= 'a' && next <= 'z'));
			p += n;
		}
		cr_expect(found, "usage lacks %s", opts[i]);
	}
	free(buf);
}

/* ---- tw_cli_parse_size -------------------------------------------------- */

Test(parse_size, valid)
{
	static const struct {
		const char *s;
		int64_t v;
	} cases[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"64K", 65536},
		{"64k", 65536},
		{"8M", 8ll << 20},
		{"8m", 8ll << 20},
		{"1G", 1ll << 30},
		{"1g", 1ll << 30},
		{"4G", 4ll << 30},
		{"4194304K", 4ll << 30},
		{"4294967296", 4294967296ll},
		{"16MB", 16ll << 20},
		{"16kb", 16ll << 10},
		{"100B", 100},
		{"007", 7},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(tw_cli_parse_size(cases[i].s), cases[i].v, "\"%s\" -> %lld, want %lld",
			     cases[i].s, (long long)tw_cli_parse_size(cases[i].s), (long long)cases[i].v);
}

Test(parse_size, invalid)
{
	static const char *const bad[] = {
		"",
		"K",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1X",
		"1KK",
		"1KBB",
		"1.5M",
		"0x10",
		"5G",
		"4097M",
		"4294967297",
		"18446744073709551615",
		"18446744073709551616",
		"99999999999999999999999",
	};
	cr_expect_eq(tw_cli_parse_size(NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(tw_cli_parse_size(bad[i]), -1, "\"%s\" -> %lld", bad[i],
			     (long long)tw_cli_parse_size(bad[i]));
}

/* Values whose multiplication by the suffix overflows 64 bits. */
Test(parse_size, suffix_overflow)
{
	static const char *const bad[] = {
		"17179869184G",       /* 2^34 G = 2^64: wraps to 0 */
		"17179869185G",       /* 2^64 + 2^30: wraps to exactly 1G */
		"18014398509481984K", /* 2^54 K = 2^64 */
		"18014398509481988K", /* 2^64 + 4K */
		"17592186044416M",    /* 2^44 M = 2^64 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(tw_cli_parse_size(bad[i]), -1, "\"%s\" -> %lld", bad[i],
			     (long long)tw_cli_parse_size(bad[i]));
	/* and through the command line: must not become a 1 GiB ring */
	parse_err("--ring-size", "--ring-size", "17179869185G");
}

Test(cli, file_event_flags_and_path_rules)
{
	struct tw_cli c = parse_ok("--file-create", "--file-rename", "--write-window-ms", "0",
				   "--path-include", "/home", "--path-exclude", "/home/cache");

	cr_expect_eq(c.event_mask,
		     TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_RENAME));
	cr_expect_eq(c.write_window_ms, 0, "0 means every write is an event");
	cr_assert_eq(c.n_path_rules, 2);
	cr_expect_str_eq(c.path_rules[0].prefix, "/home");
	cr_expect_not(c.path_rules[0].exclude);
	cr_expect_str_eq(c.path_rules[1].prefix, "/home/cache");
	cr_expect(c.path_rules[1].exclude);

	c = parse_ok("--file");
	cr_expect_eq(c.event_mask, TW_EVENTS_FILE);
	c = parse_ok("--file-modify", "--file-delete", "--file-shmem");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_FILE_MODIFY) |
				   TW_EVENT_BIT(TW_EVENT_FILE_DELETE) |
				   TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN));
}

Test(cli, bad_file_flags_are_refused)
{
	parse_err("invalid path prefix 'relative'", "--path-include", "relative");
	parse_err("invalid --write-window-ms", "--write-window-ms", "-1");
	parse_err("invalid --write-window-ms", "--write-window-ms", "soon");
}

Test(cli, write_window_range)
{
	cr_expect_eq(parse_ok("--write-window-ms", "1000").write_window_ms, 1000);
	cr_expect_eq(parse_ok("--write-window-ms=3600000").write_window_ms, 3600000);
	cr_expect_eq(parse_ok("--write-window-ms", "0").event_mask, TW_EVENTS_ALL);
	parse_err2("--write-window-ms", "'3600001'", "--write-window-ms", "3600001");
	parse_err2("--write-window-ms", "'4294967296'", "--write-window-ms", "4294967296");
	parse_err2("--write-window-ms", "'1s'", "--write-window-ms", "1s");
	parse_err2("--write-window-ms", "''", "--write-window-ms=");
}

Test(cli, path_rules)
{
	static char longest[TW_PATH_PREFIX_MAX], too_long[TW_PATH_PREFIX_MAX + 1];
	struct tw_cli c;

	c = parse_ok("--path-exclude", "/proc", "--path-exclude=/sys", "--path-include", "/");
	cr_assert_eq(c.n_path_rules, 3);
	cr_expect_str_eq(c.path_rules[0].prefix, "/proc");
	cr_expect(c.path_rules[0].exclude);
	cr_expect_str_eq(c.path_rules[1].prefix, "/sys");
	cr_expect(c.path_rules[1].exclude);
	cr_expect_str_eq(c.path_rules[2].prefix, "/");
	cr_expect_not(c.path_rules[2].exclude);
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL, "path rules do not choose the event types");

	/* shorter than TW_PATH_PREFIX_MAX: at most TW_PATH_PREFIX_MAX - 1 bytes */
	memset(longest, 'a', sizeof(longest) - 1);
	longest[0] = '/';
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'b', sizeof(too_long) - 1);
	too_long[0] = '/';
	too_long[sizeof(too_long) - 1] = '\0';
	c = parse_ok("--path-include", longest);
	cr_assert_eq(c.n_path_rules, 1);
	cr_expect_eq(strlen(c.path_rules[0].prefix), TW_PATH_PREFIX_MAX - 1);
	parse_err("invalid path prefix", "--path-include", too_long);
	parse_err("invalid path prefix", "--path-exclude", too_long);
	c = parse_ok("--path-exclude", longest, "--path-include", "/x");
	cr_expect_eq(c.n_path_rules, 2);

	parse_err("invalid path prefix 'proc'", "--path-exclude", "proc");
	parse_err("invalid path prefix './x'", "--path-exclude", "./x");
	parse_err("invalid path prefix ''", "--path-include=");
	parse_err2("--path-include", "needs a value", "--path-include");
}

Test(cli, path_rule_limit)
{
	struct args a;
	struct tw_cli cli;
	char err[256] = "";

	a.argc = 0;
	a.argv[a.argc++] = "EventsTrace";
	for (int i = 0; i < TW_CLI_MAX_PATH_RULES; i++) {
		a.argv[a.argc++] = i % 2 ? "--path-include" : "--path-exclude";
		a.argv[a.argc++] = "/tmp";
	}
	a.argv[a.argc] = NULL;
	cr_assert_eq(tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cli.n_path_rules, TW_CLI_MAX_PATH_RULES);
	cr_expect(cli.path_rules[0].exclude);
	cr_expect_not(cli.path_rules[TW_CLI_MAX_PATH_RULES - 1].exclude);

	a.argv[a.argc++] = "--path-include";
	a.argv[a.argc++] = "/one-too-many";
	a.argv[a.argc] = NULL;
	memset(err, 0, sizeof(err));
	cr_assert_eq(tw_cli_parse(a.argc, a.argv, &cli, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "64"), "%s", err);
	cr_expect_eq(cli.n_path_rules, TW_CLI_MAX_PATH_RULES, "no rule past the array");
}

Test(cli, task_filters)
{
	struct tw_cli c = parse_ok("--comm", "sshd", "--exclude-comm", "cron", "--uid", "1000",
				   "--exclude-uid", "0", "--cgroup", "/sys/fs/cgroup/memory/app",
				   "--exclude-cgroup", "4242");

	cr_assert_eq(c.n_task_rules, 6);
	cr_expect_eq(c.task_rules[0].kind, TW_RULE_COMM);
	cr_expect_str_eq(c.task_rules[0].comm, "sshd");
	cr_expect_not(c.task_rules[0].exclude);
	cr_expect(c.task_rules[1].exclude);
	cr_expect_eq(c.task_rules[2].kind, TW_RULE_UID);
	cr_expect_eq(c.task_rules[2].uid, 1000);
	cr_expect(c.task_rules[3].exclude);
	cr_expect_eq(c.task_rules[3].uid, 0);
	cr_expect_eq(c.task_rules[4].kind, TW_RULE_CGROUP);
	cr_expect_str_eq(c.task_rules[4].cgroup_path, "/sys/fs/cgroup/memory/app");
	cr_expect_eq(c.task_rules[5].cgroup_id, 4242);
	cr_expect(c.task_rules[5].exclude);
}

Test(cli, bad_task_filters_are_refused)
{
	parse_err("invalid command name", "--comm", "");
	parse_err("invalid command name", "--comm", "0123456789abcdef");
	parse_err("invalid uid", "--uid", "root");
	parse_err("invalid uid", "--exclude-uid", "-1");
	parse_err("invalid cgroup", "--cgroup", "app");
	parse_err("invalid cgroup", "--cgroup", "0");
}

Test(cli, snapshot_flags)
{
	struct tw_cli c = parse_ok("--no-snapshot");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL & ~TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT));
	c = parse_ok("--process-snapshot");
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT));
	c = parse_ok("--process", "--no-snapshot");
	cr_expect_eq(c.event_mask, TW_EVENTS_PROCESS & ~TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT));
}

/* ---- --ship* (HTTP shipper) -------------------------------------------- */

Test(cli, ship_flags)
{
	struct tw_cli c = parse_ok((const char *)NULL);

	cr_expect_null(c.ship.url, "no shipping by default");
	cr_expect_eq(c.ship.drain_ms, -1);
	c = parse_ok("--ship", "http://127.0.0.1:8123/", "--ship-format", "clickhouse", "--ship-table",
		     "db.events", "--ship-spool", "/tmp/sp", "--ship-spool-size", "64M",
		     "--ship-batch-events", "100", "--ship-batch-size", "256K", "--ship-batch-ms", "250",
		     "--ship-concurrency", "4", "--ship-timeout-ms", "1500", "--ship-backoff-ms",
		     "50,2000", "--ship-no-gzip", "--ship-drain-ms", "0");
	cr_expect_str_eq(c.ship.url, "http://127.0.0.1:8123/");
	cr_expect_eq(c.ship.format, TW_SHIP_CLICKHOUSE);
	cr_expect_str_eq(c.ship.table, "db.events");
	cr_expect_str_eq(c.ship.spool_dir, "/tmp/sp");
	cr_expect_eq(c.ship.spool_bytes, 64u << 20);
	cr_expect_eq(c.ship.batch_events, 100);
	cr_expect_eq(c.ship.batch_bytes, 256u << 10);
	cr_expect_eq(c.ship.batch_ms, 250);
	cr_expect_eq(c.ship.concurrency, 4);
	cr_expect_eq(c.ship.timeout_ms, 1500);
	cr_expect_eq(c.ship.backoff_min_ms, 50);
	cr_expect_eq(c.ship.backoff_max_ms, 2000);
	cr_expect(c.ship.no_gzip);
	cr_expect_eq(c.ship.drain_ms, 0);
	c = parse_ok("--ship", "https://es:9200", "--ship-format", "elasticsearch", "--ship-auth", "apikey",
		     "--ship-auth-env", "ES_KEY", "--ship-ca-file", "/etc/ca.pem", "--ship-backoff-ms", "100");
	cr_expect_eq(c.ship.format, TW_SHIP_ELASTICSEARCH);
	cr_expect_eq(c.ship.auth, TW_SHIP_AUTH_APIKEY);
	cr_expect_str_eq(c.ship.auth_env, "ES_KEY");
	cr_expect_str_eq(c.ship.ca_file, "/etc/ca.pem");
	cr_expect_eq(c.ship.backoff_min_ms, 100);
	cr_expect_eq(c.ship.backoff_max_ms, 30000, "default cap");
}

Test(cli, bad_ship_flags_are_refused)
{
	parse_err("needs --ship", "--ship-format", "ndjson");
	parse_err("--ship-insecure needs --ship", "--ship-insecure");
	parse_err("http:// or https://", "--ship", "ftp://host/");
	parse_err("no host", "--ship", "http:///x");
	const char *e = parse_err("credentials", "--ship", "http://u:hunter2@h/");
	cr_expect_null(strstr(e, "hunter2"), "the secret is not echoed: %s", e);
	parse_err("invalid --ship-format", "--ship", "http://h/", "--ship-format", "json");
	parse_err("invalid --ship-table", "--ship", "http://h/", "--ship-table", "t; DROP TABLE x");
	parse_err("invalid --ship-concurrency", "--ship", "http://h/", "--ship-concurrency", "0");
	parse_err("invalid --ship-batch-size", "--ship", "http://h/", "--ship-batch-size", "10");
	parse_err("invalid --ship-spool-size", "--ship", "http://h/", "--ship-spool-size", "1K");
	parse_err("invalid --ship-backoff-ms", "--ship", "http://h/", "--ship-backoff-ms", "500,100");
	parse_err("invalid --ship-backoff-ms", "--ship", "http://h/", "--ship-backoff-ms", "x");
	parse_err("invalid --ship-auth", "--ship", "http://h/", "--ship-auth", "password");
	parse_err("exactly one", "--ship", "http://h/", "--ship-auth", "bearer");
	parse_err("exactly one", "--ship", "http://h/", "--ship-auth", "bearer", "--ship-auth-file", "/f",
		  "--ship-auth-env", "V");
	parse_err("need --ship-auth", "--ship", "http://h/", "--ship-auth-file", "/f");
	parse_err("contradict", "--ship", "https://h/", "--ship-insecure", "--ship-ca-file", "/ca");
	parse_err("invalid --ship-timeout-ms", "--ship", "http://h/", "--ship-timeout-ms", "0");
}

/* ---- run-queue latency ----------------------------------------------------- */

Test(cli, runqlat_flags)
{
	struct tw_cli c = parse_ok("--runqlat");
	cr_expect_eq(c.runqlat_interval_s, 5, "default interval");
	cr_expect(!c.runqlat_human);
	cr_expect_eq(c.event_mask, 0, "alone, no events are traced");

	c = parse_ok("--runqlat=2", "--process-exec");
	cr_expect_eq(c.runqlat_interval_s, 2);
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), "with event flags, both");

	c = parse_ok("--runqlat-human=10");
	cr_expect_eq(c.runqlat_interval_s, 10);
	cr_expect(c.runqlat_human);
	cr_expect_eq(c.event_mask, 0);

	c = parse_ok("--runqlat-human", "--runqlat=3");
	cr_expect(!c.runqlat_human, "the last of the two flags decides the form");
	cr_expect_eq(c.runqlat_interval_s, 3);

	c = parse_ok("-a", "--runqlat");
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL);

	c = parse_ok("--process");
	cr_expect_eq(c.runqlat_interval_s, 0, "off unless asked for");

	c = parse_ok("--runqlat");
	cr_expect(!c.runqlat_sched_info, "own clock by default");
	c = parse_ok("--runqlat", "--runqlat-clock", "sched_info");
	cr_expect(c.runqlat_sched_info);
	c = parse_ok("--runqlat-clock=sched_info", "--runqlat-clock=own", "--runqlat-human");
	cr_expect(!c.runqlat_sched_info, "the last clock given counts");
}

Test(cli, bad_runqlat_flags_are_refused)
{
	parse_err("invalid --runqlat interval", "--runqlat=0");
	parse_err("invalid --runqlat interval", "--runqlat=x");
	parse_err("invalid --runqlat interval", "--runqlat=86401");
	parse_err("invalid --runqlat-human interval", "--runqlat-human=-1");
	parse_err("cannot be combined with --replay", "--runqlat", "--replay", "/tmp/x.twr");
	parse_err("invalid --runqlat-clock 'ktime' (own or sched_info)", "--runqlat", "--runqlat-clock",
		  "ktime");
	parse_err("--runqlat-clock needs --runqlat", "--runqlat-clock", "own");
}

Test(cli, metrics_flags)
{
	struct tw_cli c = parse_ok("--process-exec");
	const struct sockaddr_in *v4;
	const struct sockaddr_in6 *v6;
	char host[INET6_ADDRSTRLEN];

	cr_expect_null(c.metrics_listen, "no endpoint unless asked for");

	/* a bare port is loopback, never every interface */
	c = parse_ok("--metrics-listen", "9464");
	v4 = (const struct sockaddr_in *)&c.metrics_addr;
	cr_assert_eq(v4->sin_family, AF_INET);
	cr_expect_eq(ntohs(v4->sin_port), 9464);
	cr_expect_str_eq(inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)), "127.0.0.1");
	cr_expect_eq(c.metrics_addrlen, sizeof(struct sockaddr_in));
	cr_expect_eq(c.metrics_top, 10);
	cr_expect_eq(c.metrics_interval_ms, 1000);
	cr_expect_eq(c.event_mask, TW_EVENTS_ALL, "the endpoint alone does not change what is traced");

	c = parse_ok("--metrics-listen", "0.0.0.0:0", "--metrics-top", "25", "--metrics-interval-ms", "250");
	v4 = (const struct sockaddr_in *)&c.metrics_addr;
	cr_expect_str_eq(inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)), "0.0.0.0");
	cr_expect_eq(ntohs(v4->sin_port), 0, "port 0: any free port");
	cr_expect_eq(c.metrics_top, 25);
	cr_expect_eq(c.metrics_interval_ms, 250);

	c = parse_ok("--metrics-listen", "[::1]:9100");
	v6 = (const struct sockaddr_in6 *)&c.metrics_addr;
	cr_assert_eq(v6->sin6_family, AF_INET6);
	cr_expect_eq(ntohs(v6->sin6_port), 9100);
	cr_expect_str_eq(inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host)), "::1");
	cr_expect_eq(c.metrics_addrlen, sizeof(struct sockaddr_in6));
}

Test(cli, bad_metrics_flags_are_refused)
{
	parse_err("invalid --metrics-listen", "--metrics-listen", "65536");
	parse_err("invalid --metrics-listen", "--metrics-listen", "localhost:9464"); /* numeric only */
	parse_err("invalid --metrics-listen", "--metrics-listen", "::1:9464");      /* v6 needs brackets */
	parse_err("invalid --metrics-listen", "--metrics-listen", "[::1]9464");
	parse_err("invalid --metrics-listen", "--metrics-listen", "1.2.3:80");
	parse_err("invalid --metrics-listen", "--metrics-listen", ":9464");
	parse_err("invalid --metrics-listen", "--metrics-listen", "");
	parse_err("invalid --metrics-listen", "--metrics-listen", "127.0.0.1:");
	parse_err("invalid --metrics-top", "--metrics-listen", "9464", "--metrics-top", "0");
	parse_err("invalid --metrics-interval-ms", "--metrics-listen", "9464", "--metrics-interval-ms", "5");
	parse_err("--metrics-top needs --metrics-listen", "--metrics-top", "5");
	parse_err("cannot be combined with --replay", "--metrics-listen", "9464", "--replay", "/tmp/x.twr");
}

Test(cli, netacct_flags)
{
	struct tw_cli c = parse_ok("--netatop-server");
	cr_expect_str_eq(c.netatop_path, "/run/netatop-bpf-socket", "atop's default path");
	cr_expect_eq(c.event_mask, 0, "alone, no events are traced");
	cr_expect_eq(c.netacct_retain_s, -1, "library default");

	c = parse_ok("--netatop-server=/run/x.sock", "--netatop-group", "adm", "--net-bandwidth", "5",
		     "--netacct-retain", "120", "--netacct-max-procs", "1024", "--process-exec");
	cr_expect_str_eq(c.netatop_path, "/run/x.sock");
	cr_expect_str_eq(c.netatop_group, "adm");
	cr_expect_eq(c.net_bandwidth_s, 5);
	cr_expect_eq(c.netacct_retain_s, 120);
	cr_expect_eq(c.netacct_max_procs, 1024);
	cr_expect_eq(c.event_mask, TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC), "with event flags, both");

	c = parse_ok("--net-bandwidth", "1");
	cr_expect_null(c.netatop_path);
	cr_expect_eq(c.event_mask, 0);
	cr_expect(!c.netacct_per_thread, "per process by default");

	c = parse_ok("--net-bandwidth", "1", "--net-per-thread");
	cr_expect(c.netacct_per_thread);
	cr_expect(!c.netacct_iface_totals, "interface layer off by default");

	c = parse_ok("--net-bandwidth", "1", "--net-interface-totals");
	cr_expect(c.netacct_iface_totals);
}

Test(cli, bad_netacct_flags_are_refused)
{
	parse_err("invalid --net-bandwidth", "--net-bandwidth", "0");
	parse_err("invalid --net-bandwidth", "--net-bandwidth", "x");
	parse_err("invalid --netatop-server path", "--netatop-server=relative.sock");
	parse_err("--netatop-group needs --netatop-server", "--netatop-group", "adm");
	parse_err("--net-per-thread needs --net-bandwidth or --netatop-server", "--net-per-thread");
	parse_err("--net-interface-totals needs --net-bandwidth", "--netatop-server",
		  "--net-interface-totals");
	parse_err("invalid --netacct-max-procs", "--netatop-server", "--netacct-max-procs", "3");
	parse_err("invalid --netacct-retain", "--net-bandwidth", "1", "--netacct-retain", "-5");
	parse_err("cannot be combined with --replay", "--net-bandwidth", "1", "--replay", "/tmp/x.twr");
}
