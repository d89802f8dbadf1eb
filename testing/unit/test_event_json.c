// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the JSON rendering of events and stream records
 * (non-GPL/lib/event_json.c, stream_json.c; schema in docs/events.md).
 *
 * Each rendered line is checked for NDJSON framing, parsed strictly with
 * cJSON (whole buffer, NUL-terminated, nothing after the value) and checked
 * for duplicate keys before any value is looked at. Integers above 2^53 are
 * compared on the raw text, since cJSON holds numbers as doubles.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_writer.h"
#include "records.h"
#include "tracewire_json.h"

#define TS_REALTIME 1700000000123456789ull
#define TS_REALTIME_ISO "2023-11-14T22:13:20.123456789Z"

/* ---- helpers ------------------------------------------------------------ */

struct rendered {
	char *line;  /* the JSON text, NUL-terminated, without the '\n' */
	cJSON *root;
};

static void no_duplicate_keys(const cJSON *node, const char *where)
{
	for (const cJSON *c = node->child; c; c = c->next) {
		if (cJSON_IsObject(node))
			for (const cJSON *d = c->next; d; d = d->next)
				cr_assert_str_neq(c->string, d->string, "duplicate key \"%s\" in %s", c->string,
						  where);
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			no_duplicate_keys(c, c->string ? c->string : where);
	}
}

/* Framing and strict parse of one finished line. */
static void parse_line(const char *buf, size_t n, struct rendered *out)
{
	const char *end = NULL;

	cr_assert_not_null(buf, "tw_json_finish returned NULL");
	cr_assert_gt(n, 1);
	cr_assert_eq(buf[n - 1], '\n', "line must end with a newline");
	cr_assert_null(memchr(buf, '\n', n - 1), "newline inside the line");
	cr_assert_null(memchr(buf, '\0', n), "NUL byte inside the line");
	out->line = malloc(n);
	cr_assert_not_null(out->line);
	memcpy(out->line, buf, n - 1);
	out->line[n - 1] = '\0';
	out->root = cJSON_ParseWithOpts(out->line, &end, 1);
	cr_assert_not_null(out->root, "cJSON rejected: %s", out->line);
	cr_assert_eq(end, out->line + n - 1, "trailing text after the JSON value");
	cr_assert(cJSON_IsObject(out->root));
	no_duplicate_keys(out->root, "top level");
}

/* tw_json_finish + parse_line (kept apart: argument evaluation order). */
static void finish_line(struct tw_json *j, struct rendered *out)
{
	size_t n = 0;
	const char *buf = tw_json_finish(j, &n);

	parse_line(buf, n, out);
}

static void render_event(const struct tw_event *ev, struct rendered *out)
{
	struct tw_json j;
	size_t n = 0;
	const char *buf;

	tw_json_init(&j);
	tw_event_to_json(&j, ev);
	buf = tw_json_finish(&j, &n);
	parse_line(buf, n, out);
	tw_json_free(&j);
}

/* Decode the record (must be valid), set the wall clock and render it. */
static void render_rec(const struct tw_rec *r, struct rendered *out)
{
	struct tw_event ev;
	int rc = tw_event_decode(rec_data(r), rec_len(r), &ev);

	cr_assert_eq(rc, 0, "synthetic record rejected: %s", tw_decode_error_str(rc));
	ev.ts_realtime_ns = TS_REALTIME;
	render_event(&ev, out);
}

static void rendered_free(struct rendered *r)
{
	cJSON_Delete(r->root);
	free(r->line);
}

/* Member at a dotted path ("process.pid"), NULL if any step is missing. */
static const cJSON *jget(const cJSON *root, const char *path)
{
	char buf[128], *save = NULL;
	const cJSON *node = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, ".", &save); tok && node; tok = strtok_r(NULL, ".", &save))
		node = cJSON_GetObjectItemCaseSensitive(node, tok);
	return node;
}

static void expect_num(const cJSON *root, const char *path, double want)
{
	const cJSON *n = jget(root, path);

	cr_assert_not_null(n, "missing %s", path);
	cr_assert(cJSON_IsNumber(n), "%s is not a number", path);
	cr_expect_eq(n->valuedouble, want, "%s: %.17g, want %.17g", path, n->valuedouble, want);
}

static void expect_str(const cJSON *root, const char *path, const char *want)
{
	const cJSON *n = jget(root, path);

	cr_assert_not_null(n, "missing %s", path);
	cr_assert(cJSON_IsString(n), "%s is not a string", path);
	cr_expect_str_eq(n->valuestring, want, "%s", path);
}

static void expect_bool(const cJSON *root, const char *path, int want)
{
	const cJSON *n = jget(root, path);

	cr_assert_not_null(n, "missing %s", path);
	cr_assert(cJSON_IsBool(n), "%s is not a boolean", path);
	cr_expect_eq(!!cJSON_IsTrue(n), !!want, "%s", path);
}

static void expect_absent(const cJSON *root, const char *path)
{
	cr_expect_null(jget(root, path), "%s should be absent", path);
}

/* Array of strings at path equals want[0..n). */
static void expect_str_array(const cJSON *root, const char *path, const char *const *want, int n)
{
	const cJSON *a = jget(root, path);
	int i = 0;
	const cJSON *e;

	cr_assert_not_null(a, "missing %s", path);
	cr_assert(cJSON_IsArray(a), "%s is not an array", path);
	cr_assert_eq(cJSON_GetArraySize(a), n, "%s has %d elements, want %d", path,
		     cJSON_GetArraySize(a), n);
	cJSON_ArrayForEach(e, a) {
		cr_assert(cJSON_IsString(e), "%s[%d] is not a string", path, i);
		cr_expect_str_eq(e->valuestring, want[i], "%s[%d]", path, i);
		i++;
	}
}

/* The raw JSON text contains `"key":value` (for exact 64-bit integers). */
static void expect_raw(const struct rendered *r, const char *fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	cr_expect_not_null(strstr(r->line, want), "\"%s\" not in %s", want, r->line);
}

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
static int is_iso8601_ns(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	return 1;
}

/* A fully populated EXEC record; see the expectations in exec_all_members. */
static void build_full_exec(struct tw_rec *r)
{
	static const char argv[] = "/usr/bin/python3\0-c\0print(1)";
	static const char env[] = "PATH=/usr/bin\0HOME=/root\0LANG=C.UTF-8";
	struct tw_process_exec *e;

	rec_init(r, TW_EVENT_PROCESS_EXEC);
	rec_add_str(r, TW_FIELD_FILENAME, "./script.py");
	rec_add_str(r, TW_FIELD_EXE_PATH, "/usr/bin/python3.11");
	rec_add_field(r, TW_FIELD_ARGV, 0, argv, sizeof(argv));
	rec_add_field(r, TW_FIELD_ENV, 0, env, sizeof(env));
	rec_add_str(r, TW_FIELD_CWD, "/home/alice/src");
	rec_add_str(r, TW_FIELD_CGROUP_PATH, "/system.slice/cron.service");
	rec_add_str(r, TW_FIELD_INTERPRETER, "/usr/bin/python3");

	e = rec_exec(r);
	e->hdr.cpu = 5;
	e->hdr.ts_mono_ns = 123456789012ull;
	e->hdr.ts_boot_ns = 223456789012ull;
	e->hdr.pids = (struct tw_pid_info){.tgid = 1001, .tid = 1002, .ppid = 1000, .pgid = 999,
					   .sid = 998, .ns_tgid = 17, .start_time_ns = 5000000000ull};
	e->creds = (struct tw_creds){.ruid = 1000, .rgid = 1001, .euid = 0, .egid = 1003, .suid = 1004,
				     .sgid = 1005, .cap_permitted = 0x1ffffffffffull, .cap_effective = 0x3000};
	e->tty = (struct tw_tty){.major = 136, .minor = 3, .rows = 50, .cols = 200};
	e->ns = (struct tw_namespaces){.pid = 4026531836u, .mnt = 4026531841u, .net = 4026531840u,
				       .uts = 4026531838u, .ipc = 4026531839u, .cgroup = 4026531835u,
				       .user = 4026531837u, .time = 4026531834u};
	e->cgroup_id = 8589934593ull;
	e->cgroup_hierarchy = TW_CGROUP_V2;
	e->flags = TW_EXEC_FLAG_SETUID | TW_EXEC_FLAG_MEMFD;
	memcpy(e->comm, "python3", 8);
}

/* ---- EXEC --------------------------------------------------------------- */

Test(exec, all_members)
{
	struct tw_rec r;
	struct rendered o;
	static const char *const argv[] = {"/usr/bin/python3", "-c", "print(1)"};
	static const char *const env[] = {"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8"};

	build_full_exec(&r);
	render_rec(&r, &o);

	expect_str(o.root, "event_type", "PROCESS_EXEC");
	expect_str(o.root, "time", TS_REALTIME_ISO);
	expect_num(o.root, "ts_mono_ns", 123456789012.0);
	expect_num(o.root, "ts_boot_ns", 223456789012.0);
	expect_raw(&o, "\"ts_mono_ns\":123456789012,");
	expect_num(o.root, "cpu", 5);

	expect_num(o.root, "process.pid", 1001);
	expect_num(o.root, "process.tid", 1002);
	expect_num(o.root, "process.ppid", 1000);
	expect_num(o.root, "process.pgid", 999);
	expect_num(o.root, "process.sid", 998);
	expect_num(o.root, "process.ns_pid", 17);
	expect_num(o.root, "process.start_time_ns", 5000000000.0);

	expect_str(o.root, "comm", "python3");
	expect_str(o.root, "filename", "./script.py");
	expect_str(o.root, "executable", "/usr/bin/python3.11");
	expect_str(o.root, "cwd", "/home/alice/src");
	expect_str(o.root, "interpreter", "/usr/bin/python3");
	expect_str_array(o.root, "argv", argv, 3);
	expect_str_array(o.root, "env", env, 3);
	expect_absent(o.root, "argv_b64");
	expect_absent(o.root, "env_b64");
	expect_absent(o.root, "truncated_fields");
	expect_absent(o.root, "unknown_fields");
	expect_absent(o.root, "cgroup_path"); /* rendered inside "cgroup" */

	expect_num(o.root, "creds.ruid", 1000);
	expect_num(o.root, "creds.rgid", 1001);
	expect_num(o.root, "creds.euid", 0);
	expect_num(o.root, "creds.egid", 1003);
	expect_num(o.root, "creds.suid", 1004);
	expect_num(o.root, "creds.sgid", 1005);
	expect_num(o.root, "creds.cap_permitted", (double)0x1ffffffffffull);
	expect_num(o.root, "creds.cap_effective", (double)0x3000);

	expect_num(o.root, "tty.major", 136);
	expect_num(o.root, "tty.minor", 3);
	expect_str(o.root, "tty.name", "pts/3");
	expect_num(o.root, "tty.rows", 50);
	expect_num(o.root, "tty.cols", 200);

	expect_num(o.root, "namespaces.pid", 4026531836.0);
	expect_num(o.root, "namespaces.mnt", 4026531841.0);
	expect_num(o.root, "namespaces.net", 4026531840.0);
	expect_num(o.root, "namespaces.uts", 4026531838.0);
	expect_num(o.root, "namespaces.ipc", 4026531839.0);
	expect_num(o.root, "namespaces.cgroup", 4026531835.0);
	expect_num(o.root, "namespaces.user", 4026531837.0);
	expect_num(o.root, "namespaces.time", 4026531834.0);

	expect_num(o.root, "cgroup.id", 8589934593.0);
	expect_str(o.root, "cgroup.hierarchy", "v2");
	expect_str(o.root, "cgroup.path", "/system.slice/cron.service");

	expect_bool(o.root, "setuid", 1);
	expect_bool(o.root, "setgid", 0);
	expect_bool(o.root, "memfd", 1);

	/* EXEC has none of the EXIT / FORK members */
	expect_absent(o.root, "exit_code");
	expect_absent(o.root, "parent");
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, minimal_record_without_fields)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "PROCESS_EXEC");
	expect_str(o.root, "comm", "");
	expect_absent(o.root, "filename");
	expect_absent(o.root, "executable");
	expect_absent(o.root, "argv");
	expect_absent(o.root, "env");
	expect_absent(o.root, "cwd");
	expect_absent(o.root, "interpreter");
	expect_absent(o.root, "cgroup.path");
	expect_num(o.root, "cgroup.id", 0);
	expect_str(o.root, "cgroup.hierarchy", "v2");
	cr_expect(cJSON_IsNull(jget(o.root, "tty")), "tty must be null without a controlling tty");
	expect_bool(o.root, "setuid", 0);
	expect_bool(o.root, "setgid", 0);
	expect_bool(o.root, "memfd", 0);
	/* header values from rec_init */
	expect_num(o.root, "process.pid", REC_PID);
	expect_num(o.root, "process.tid", REC_TID);
	expect_num(o.root, "process.ppid", REC_PPID);
	expect_num(o.root, "process.pgid", REC_PGID);
	expect_num(o.root, "process.sid", REC_SID);
	expect_num(o.root, "process.ns_pid", REC_NS_PID);
	expect_num(o.root, "process.start_time_ns", (double)REC_START_TIME);
	expect_num(o.root, "ts_mono_ns", (double)REC_TS_MONO);
	expect_num(o.root, "cpu", REC_CPU);
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, flags_and_hierarchies)
{
	static const struct {
		uint32_t flags, hierarchy;
		int setuid, setgid, memfd;
		const char *hname;
	} cases[] = {
		{TW_EXEC_FLAG_SETGID, TW_CGROUP_V1_MEMORY, 0, 1, 0, "v1:memory"},
		{TW_EXEC_FLAG_SETUID | TW_EXEC_FLAG_SETGID | TW_EXEC_FLAG_MEMFD, TW_CGROUP_V1_CPU, 1, 1, 1,
		 "v1:cpu"},
		{0, TW_CGROUP_V2, 0, 0, 0, "v2"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_init(&r, TW_EVENT_PROCESS_EXEC);
		rec_exec(&r)->flags = cases[i].flags;
		rec_exec(&r)->cgroup_hierarchy = cases[i].hierarchy;
		render_rec(&r, &o);
		expect_bool(o.root, "setuid", cases[i].setuid);
		expect_bool(o.root, "setgid", cases[i].setgid);
		expect_bool(o.root, "memfd", cases[i].memfd);
		expect_str(o.root, "cgroup.hierarchy", cases[i].hname);
		rendered_free(&o);
		rec_free(&r);
	}
}

/* A comm that fills all 16 bytes has no NUL; the bytes after it are not part of it. */
Test(exec, full_16_byte_comm)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	memcpy(rec_exec(&r)->comm, "abcdefghijklmnop", 16);
	rec_add_str(&r, TW_FIELD_CWD, "/"); /* vl.count, right after comm, is now 1 */
	render_rec(&r, &o);
	expect_str(o.root, "comm", "abcdefghijklmnop");
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, comm_with_bytes_after_its_nul)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	memcpy(rec_exec(&r)->comm, "sh\0garbagegarba", 16);
	render_rec(&r, &o);
	expect_str(o.root, "comm", "sh");
	rendered_free(&o);
	rec_free(&r);
}

/* argv cut at its cap: no final NUL, the TRUNCATED flag, listed in truncated_fields. */
Test(exec, truncated_argv)
{
	static const char argv[] = {'c', 'a', 't', 0, '-', 'n', 0, '/', 'e', 't'};
	static const char *const want[] = {"cat", "-n", "/et"};
	static const char *const want_trunc[] = {"argv"};
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ARGV, TW_FIELD_FLAG_TRUNCATED, argv, sizeof(argv));
	rec_add_str(&r, TW_FIELD_CWD, "/");
	render_rec(&r, &o);
	expect_str_array(o.root, "argv", want, 3);
	expect_str_array(o.root, "truncated_fields", want_trunc, 1);
	rendered_free(&o);
	rec_free(&r);
}

/* Without the flag nothing is listed, even when the final NUL is missing. */
Test(exec, argv_without_final_nul_not_flagged)
{
	static const char argv[] = {'e', 'c', 'h', 'o', 0, 'h', 'i'};
	static const char *const want[] = {"echo", "hi"};
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ARGV, 0, argv, sizeof(argv));
	render_rec(&r, &o);
	expect_str_array(o.root, "argv", want, 2);
	expect_absent(o.root, "truncated_fields");
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, several_truncated_fields_in_record_order)
{
	static const char *const want[] = {"filename", "env", "cwd"};
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_FILENAME, TW_FIELD_FLAG_TRUNCATED, "/very/lo", 8);
	rec_add_str(&r, TW_FIELD_ARGV, "x");
	rec_add_field(&r, TW_FIELD_ENV, TW_FIELD_FLAG_TRUNCATED, "A=1\0B=", 6);
	rec_add_field(&r, TW_FIELD_CWD, TW_FIELD_FLAG_TRUNCATED | 0x10, "/tm", 3);
	render_rec(&r, &o);
	expect_str_array(o.root, "truncated_fields", want, 3);
	expect_str(o.root, "filename", "/very/lo");
	expect_str(o.root, "cwd", "/tm");
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, empty_lists)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ARGV, 0, NULL, 0);
	rec_add_field(&r, TW_FIELD_ENV, 0, "", 1);
	rec_add_field(&r, TW_FIELD_FILENAME, 0, NULL, 0);
	render_rec(&r, &o);
	expect_str_array(o.root, "argv", NULL, 0);
	/* a single NUL is one empty element */
	{
		static const char *const one_empty[] = {""};
		expect_str_array(o.root, "env", one_empty, 1);
	}
	expect_str(o.root, "filename", "");
	rendered_free(&o);
	rec_free(&r);
}

/* Invalid UTF-8: replaced text plus the exact bytes in base64. */
Test(exec, invalid_utf8_argv_gives_argv_b64)
{
	static const char argv[] = "ok\0\xff\xfe\0caf\xc3\xa9";
	static const char *const want[] = {"ok", "\xef\xbf\xbd\xef\xbf\xbd", "caf\xc3\xa9"};
	static const char *const want_b64[] = {"b2s=", "//4=", "Y2Fmw6k="};
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ARGV, 0, argv, sizeof(argv));
	render_rec(&r, &o);
	expect_str_array(o.root, "argv", want, 3);
	expect_str_array(o.root, "argv_b64", want_b64, 3);
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, invalid_utf8_path_gives_b64_sibling)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_str(&r, TW_FIELD_FILENAME, "/tmp/\xc0\xaf");   /* overlong '/' */
	rec_add_str(&r, TW_FIELD_CWD, "/h\xc3\xa9");           /* valid */
	rec_add_str(&r, TW_FIELD_CGROUP_PATH, "/x\xed\xa0\x80"); /* surrogate */
	render_rec(&r, &o);
	expect_str(o.root, "filename", "/tmp/\xef\xbf\xbd\xef\xbf\xbd");
	expect_str(o.root, "filename_b64", "L3RtcC/Arw==");
	expect_str(o.root, "cwd", "/h\xc3\xa9");
	expect_absent(o.root, "cwd_b64");
	expect_str(o.root, "cgroup.path_b64", "L3jtoIA=");
	rendered_free(&o);
	rec_free(&r);
}

/* Control bytes and quotes inside strings are escaped, not emitted raw. */
Test(exec, escapes_in_fields)
{
	static const char argv[] = "printf\0a\"b\\c\nd\te\x01";
	static const char *const want[] = {"printf", "a\"b\\c\nd\te\x01"};
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ARGV, 0, argv, sizeof(argv));
	rec_add_str(&r, TW_FIELD_CWD, "/we\"ird\n");
	render_rec(&r, &o);
	expect_str_array(o.root, "argv", want, 2);
	expect_str(o.root, "cwd", "/we\"ird\n");
	rendered_free(&o);
	rec_free(&r);
}

/* A string field keeps an embedded NUL (only the final one is dropped). */
Test(exec, string_field_with_embedded_nul)
{
	struct tw_rec r;
	struct rendered o;
	const cJSON *n;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_CWD, 0, "/a\0b", 5);      /* "/a\0b\0" */
	rec_add_field(&r, TW_FIELD_FILENAME, 0, "/bin/x", 6); /* no NUL at all */
	render_rec(&r, &o);
	expect_raw(&o, "\"cwd\":\"/a\\u0000b\"");
	n = jget(o.root, "filename");
	cr_assert_not_null(n);
	cr_expect_str_eq(n->valuestring, "/bin/x");
	rendered_free(&o);
	rec_free(&r);
}

Test(exec, unknown_field_types_under_unknown_fields)
{
	struct tw_rec r;
	struct rendered o;
	const cJSON *u, *e;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, 42, 0, "hello", 5);
	rec_add_str(&r, TW_FIELD_CWD, "/");
	rec_add_field(&r, 63, 2, "\x00\xff", 2);
	rec_add_field(&r, 0xFFFF, 0, NULL, 0);
	render_rec(&r, &o);

	expect_str(o.root, "cwd", "/");
	u = jget(o.root, "unknown_fields");
	cr_assert_not_null(u);
	cr_assert(cJSON_IsArray(u));
	cr_assert_eq(cJSON_GetArraySize(u), 3);

	e = cJSON_GetArrayItem(u, 0);
	expect_num(e, "type", 42);
	expect_num(e, "flags", 0);
	expect_str(e, "data", "hello");
	expect_absent(e, "data_b64");

	e = cJSON_GetArrayItem(u, 1);
	expect_num(e, "type", 63);
	expect_num(e, "flags", 2);
	expect_str(e, "data_b64", "AP8=");

	e = cJSON_GetArrayItem(u, 2);
	expect_num(e, "type", 65535);
	expect_str(e, "data", "");

	expect_absent(o.root, "truncated_fields");
	rendered_free(&o);
	rec_free(&r);
}

/* Numbers beyond 2^53 are exact in the text. */
Test(exec, large_integers_are_exact)
{
	struct tw_rec r;
	struct tw_event ev;
	struct rendered o;
	struct tw_process_exec *e;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	e = rec_exec(&r);
	e->hdr.ts_mono_ns = UINT64_MAX;
	e->hdr.ts_boot_ns = 18446744073709551614ull;
	e->hdr.pids.start_time_ns = 9007199254740993ull; /* 2^53 + 1 */
	e->hdr.pids.tgid = UINT32_MAX;
	e->creds.cap_permitted = 0xFFFFFFFFFFFFFFFFull;
	e->creds.cap_effective = 0x8000000000000001ull;
	e->cgroup_id = 12345678901234567890ull;
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	ev.ts_realtime_ns = 0;
	render_event(&ev, &o);
	expect_raw(&o, "\"ts_mono_ns\":18446744073709551615,");
	expect_raw(&o, "\"ts_boot_ns\":18446744073709551614,");
	expect_raw(&o, "\"start_time_ns\":9007199254740993}");
	expect_raw(&o, "\"pid\":4294967295,");
	expect_raw(&o, "\"cap_permitted\":18446744073709551615,");
	expect_raw(&o, "\"cap_effective\":9223372036854775809}");
	expect_raw(&o, "\"id\":12345678901234567890,");
	expect_str(o.root, "time", "1970-01-01T00:00:00.000000000Z");
	rendered_free(&o);
	rec_free(&r);
}

/* ---- tty ---------------------------------------------------------------- */

Test(tty, null_without_controlling_tty)
{
	struct tw_rec r;
	struct rendered o;
	const cJSON *t;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_exec(&r)->tty = (struct tw_tty){.major = 0, .minor = 0, .rows = 24, .cols = 80};
	render_rec(&r, &o);
	t = cJSON_GetObjectItemCaseSensitive(o.root, "tty");
	cr_assert_not_null(t, "tty must be present (as null)");
	cr_expect(cJSON_IsNull(t));
	rendered_free(&o);
	rec_free(&r);
}

Test(tty, unknown_device_has_no_name)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_exec(&r)->tty = (struct tw_tty){.major = 204, .minor = 64, .rows = 0, .cols = 0};
	render_rec(&r, &o);
	expect_num(o.root, "tty.major", 204);
	expect_num(o.root, "tty.minor", 64);
	expect_absent(o.root, "tty.name");
	expect_num(o.root, "tty.rows", 0);
	expect_num(o.root, "tty.cols", 0);
	rendered_free(&o);
	rec_free(&r);
}

Test(tty, serial_console_in_record)
{
	struct tw_rec r;
	struct rendered o;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_exec(&r)->tty = (struct tw_tty){.major = 4, .minor = 64};
	render_rec(&r, &o);
	expect_str(o.root, "tty.name", "ttyS0");
	rendered_free(&o);
	rec_free(&r);
}

Test(tty, names)
{
	static const struct {
		uint32_t major, minor;
		const char *name; /* NULL: not a known tty */
	} cases[] = {
		{136, 0, "pts/0"},    {136, 3, "pts/3"},     {136, 255, "pts/255"},
		{137, 0, "pts/256"},  {137, 5, "pts/261"},   {143, 255, "pts/2047"},
		{4, 0, "tty0"},       {4, 1, "tty1"},        {4, 63, "tty63"},
		{4, 64, "ttyS0"},     {4, 65, "ttyS1"},      {4, 255, "ttyS191"},
		{5, 0, "tty"},        {5, 1, "console"},     {5, 2, NULL},
		{0, 0, NULL},         {3, 0, NULL},          {135, 0, NULL},
		{144, 0, NULL},       {204, 64, NULL},       {UINT32_MAX, 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		const char *got;

		memset(buf, 'X', sizeof(buf));
		got = tw_tty_name(cases[i].major, cases[i].minor, buf, sizeof(buf));
		if (!cases[i].name) {
			cr_expect_null(got, "%u:%u should be unnamed, got %s", cases[i].major, cases[i].minor,
				       got);
			continue;
		}
		cr_assert_not_null(got, "%u:%u", cases[i].major, cases[i].minor);
		cr_expect_eq(got, buf, "the name is written into the caller's buffer");
		cr_expect_str_eq(got, cases[i].name, "%u:%u", cases[i].major, cases[i].minor);
	}
}

Test(tty, name_respects_buffer_length)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	cr_assert_not_null(tw_tty_name(136, 1000, buf, 5));
	cr_expect_eq(strlen(buf), 4);
	cr_expect_eq(buf[5], 'X', "wrote past buflen");
}

/* ---- FORK / EXIT -------------------------------------------------------- */

Test(fork, child_and_parent)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_fork(&r);
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "PROCESS_FORK");
	expect_str(o.root, "time", TS_REALTIME_ISO);
	expect_num(o.root, "ts_mono_ns", (double)REC_TS_MONO);
	expect_num(o.root, "ts_boot_ns", (double)REC_TS_BOOT);
	expect_num(o.root, "cpu", REC_CPU);
	expect_num(o.root, "process.pid", REC_PID);
	expect_num(o.root, "process.tid", REC_TID);
	expect_num(o.root, "process.ppid", REC_PPID);
	expect_num(o.root, "process.pgid", REC_PGID);
	expect_num(o.root, "process.sid", REC_SID);
	expect_num(o.root, "process.ns_pid", REC_NS_PID);
	expect_num(o.root, "process.start_time_ns", (double)REC_START_TIME);
	expect_num(o.root, "parent.pid", 4000);
	expect_num(o.root, "parent.tid", 4000);
	expect_num(o.root, "parent.ppid", 3000);
	expect_num(o.root, "parent.pgid", 3001);
	expect_num(o.root, "parent.sid", 3002);
	expect_num(o.root, "parent.ns_pid", 5);
	expect_num(o.root, "parent.start_time_ns", 999);
	expect_str(o.root, "comm", "bash");
	expect_absent(o.root, "argv");
	expect_absent(o.root, "creds");
	expect_absent(o.root, "exit_code");
	rendered_free(&o);
	rec_free(&r);
}

/* The comm is the last member of a FORK: a 16-byte comm ends the record. */
Test(fork, full_16_byte_comm_at_end_of_record)
{
	struct tw_rec r;
	struct tw_event ev;
	struct rendered o;
	void *copy;

	rec_sample_fork(&r);
	memcpy(rec_fork(&r)->comm, "0123456789abcdef", 16);
	copy = rec_dup(&r); /* exact size: ASan catches a read past the comm */
	cr_assert_eq(tw_event_decode(copy, rec_len(&r), &ev), 0);
	ev.ts_realtime_ns = TS_REALTIME;
	render_event(&ev, &o);
	expect_str(o.root, "comm", "0123456789abcdef");
	rendered_free(&o);
	free(copy);
	rec_free(&r);
}

Test(exit, killed_by_signal_with_core)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_exit(&r);
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "PROCESS_EXIT");
	expect_str(o.root, "time", TS_REALTIME_ISO);
	expect_num(o.root, "process.pid", REC_PID);
	expect_str(o.root, "comm", "crashy");
	expect_num(o.root, "exit_code", 139);
	expect_num(o.root, "exit_status", 0);
	expect_num(o.root, "signal", 11);
	expect_bool(o.root, "core_dumped", 1);
	expect_absent(o.root, "parent");
	expect_absent(o.root, "argv");
	rendered_free(&o);
	rec_free(&r);
}

Test(exit, normal_exit_and_negative_code)
{
	struct tw_rec r;
	struct rendered o;
	struct tw_process_exit *e;

	rec_init(&r, TW_EVENT_PROCESS_EXIT);
	e = rec_exit(&r);
	e->exit_code = 3 << 8;
	e->exit_status = 3;
	e->signal = 0;
	e->core_dumped = 0;
	memcpy(e->comm, "0123456789ABCDEF", 16);
	render_rec(&r, &o);
	expect_num(o.root, "exit_code", 768);
	expect_num(o.root, "exit_status", 3);
	expect_num(o.root, "signal", 0);
	expect_bool(o.root, "core_dumped", 0);
	expect_str(o.root, "comm", "0123456789ABCDEF");
	rendered_free(&o);
	rec_free(&r);

	rec_init(&r, TW_EVENT_PROCESS_EXIT);
	rec_exit(&r)->exit_code = INT32_MIN;
	rec_exit(&r)->exit_status = UINT32_MAX;
	render_rec(&r, &o);
	expect_raw(&o, "\"exit_code\":-2147483648,");
	expect_raw(&o, "\"exit_status\":4294967295,");
	rendered_free(&o);
	rec_free(&r);
}

/* ---- time --------------------------------------------------------------- */

Test(time, iso8601)
{
	static const struct {
		uint64_t ns;
		const char *iso;
	} cases[] = {
		{TS_REALTIME, TS_REALTIME_ISO},
		{0, "1970-01-01T00:00:00.000000000Z"},
		{1, "1970-01-01T00:00:00.000000001Z"},
		{999999999, "1970-01-01T00:00:00.999999999Z"},
		{1000000000, "1970-01-01T00:00:01.000000000Z"},
		{951782400000000000ull, "2000-02-29T00:00:00.000000000Z"},
		{1704067199999999999ull, "2023-12-31T23:59:59.999999999Z"},
		{4102444800000000000ull, "2100-01-01T00:00:00.000000000Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[40];

		memset(out, 'X', sizeof(out));
		tw_format_iso8601(cases[i].ns, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].iso, "%llu ns", (unsigned long long)cases[i].ns);
		cr_expect(is_iso8601_ns(out));
	}
}

Test(time, iso8601_fits_32_bytes)
{
	char out[32];

	/* the header promises 32 bytes are enough */
	tw_format_iso8601(TS_REALTIME, out, sizeof(out));
	cr_expect_str_eq(out, TS_REALTIME_ISO);
	tw_format_iso8601(UINT64_MAX, out, sizeof(out));
	cr_expect(is_iso8601_ns(out), "%s", out);
	cr_expect_str_eq(out, "2554-07-21T23:34:33.709551615Z");
}

/* ---- STREAM_START and STATS -------------------------------------------- */

static void expect_now(const cJSON *root)
{
	const cJSON *t = jget(root, "time");
	struct tm tm = {0};
	time_t now = time(NULL), then;

	cr_assert(cJSON_IsString(t), "time missing");
	cr_assert(is_iso8601_ns(t->valuestring), "time %s", t->valuestring);
	cr_assert_not_null(strptime(t->valuestring, "%Y-%m-%dT%H:%M:%S", &tm));
	then = timegm(&tm);
	cr_expect(then >= now - 60 && then <= now + 60, "time %s is not now", t->valuestring);
}

Test(stream, start_record)
{
	static const struct tw_probe_status probes[] = {
		{"handle_exec", "tp_btf/sched_process_exec", TW_EVENT_PROCESS_EXEC, TW_PROBE_ATTACHED},
		{"handle_fork", "tp_btf/sched_process_fork", TW_EVENT_PROCESS_FORK, TW_PROBE_NOT_REQUESTED},
		{"handle_exit", "tp_btf/sched_process_exit", TW_EVENT_PROCESS_EXIT, TW_PROBE_UNAVAILABLE},
	};
	static const char *const types[] = {"PROCESS_EXEC", "PROCESS_EXIT"};
	struct tw_stream_info info = {
		.agent = "EventsTrace",
		.source = "replay:/tmp/a \"b\".twr",
		.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC) | TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT) |
			      TW_EVENT_BIT(0) | TW_EVENT_BIT(10) | TW_EVENT_BIT(63), /* unknown bits ignored */
		.ring_size = 8u << 20,
		.wakeup_bytes = 256u << 10,
		.probes = probes,
		.n_probes = 3,
	};
	struct tw_json j;
	struct rendered o;
	const cJSON *p, *e;

	tw_json_init(&j);
	tw_stream_start_to_json(&j, &info);
	finish_line(&j, &o);

	expect_str(o.root, "event_type", "STREAM_START");
	expect_now(o.root);
	expect_num(o.root, "wire_version", TW_WIRE_VERSION);
	expect_str(o.root, "library_version", TW_LIB_VERSION);
	expect_str(o.root, "agent", "EventsTrace");
	expect_str(o.root, "source", "replay:/tmp/a \"b\".twr");
	expect_str_array(o.root, "event_types", types, 2);
	expect_num(o.root, "ring_size", 8u << 20);
	expect_num(o.root, "wakeup_bytes", 256u << 10);

	p = jget(o.root, "probes");
	cr_assert(cJSON_IsArray(p));
	cr_assert_eq(cJSON_GetArraySize(p), 3);
	e = cJSON_GetArrayItem(p, 0);
	expect_str(e, "program", "handle_exec");
	expect_str(e, "hook", "tp_btf/sched_process_exec");
	expect_str(e, "event_type", "PROCESS_EXEC");
	expect_str(e, "state", "attached");
	e = cJSON_GetArrayItem(p, 1);
	expect_str(e, "event_type", "PROCESS_FORK");
	expect_str(e, "state", "not_requested");
	e = cJSON_GetArrayItem(p, 2);
	expect_str(e, "program", "handle_exit");
	expect_str(e, "state", "unavailable");

	rendered_free(&o);
	tw_json_free(&j);
}

Test(stream, start_record_replay_defaults)
{
	struct tw_stream_info info = {
		.agent = "EventsTrace",
		.source = "kernel",
		.event_mask = TW_EVENTS_ALL,
		.ring_size = 0, /* unknown (replay): omitted */
		.wakeup_bytes = 0,
		.probes = NULL,
		.n_probes = 0,
	};
	static const char *const all[] = {"PROCESS_EXEC", "PROCESS_FORK", "PROCESS_EXIT"};
	struct tw_json j;
	struct rendered o;

	tw_json_init(&j);
	tw_stream_start_to_json(&j, &info);
	finish_line(&j, &o);
	expect_str(o.root, "source", "kernel");
	expect_str_array(o.root, "event_types", all, 3);
	expect_absent(o.root, "ring_size");
	expect_num(o.root, "wakeup_bytes", 0);
	cr_expect(cJSON_IsArray(jget(o.root, "probes")));
	cr_expect_eq(cJSON_GetArraySize(jget(o.root, "probes")), 0);
	rendered_free(&o);
	tw_json_free(&j);
}

Test(stream, stats_record)
{
	static const char *const reasons[] = {NULL,         "short_header", "size_mismatch",
					      "unknown_type", "short_fixed", "fields_overrun",
					      "field_count"};
	static const char *const tnames[] = {NULL, "PROCESS_EXEC", "PROCESS_FORK", "PROCESS_EXIT"};
	struct tw_stats *s = calloc(1, sizeof(*s));
	struct tw_json j;
	struct rendered o;
	const cJSON *types, *c;
	int nt = 0;

	cr_assert_eq(TW_DECODE_ERROR_MAX, 7, "new decode reason: extend this test");
	cr_assert_not_null(s);
	for (int t = 1; t <= 3; t++) {
		s->type[t].emitted = 1000 * t + 1;
		s->type[t].received = 1000 * t + 2;
		s->type[t].filtered = 1000 * t + 3;
		s->type[t].lost_ringbuf = 1000 * t + 4;
		s->type[t].lost_scratch = 1000 * t + 5;
		s->type[t].truncated = 1000 * t + 6;
	}
	s->type[9].emitted = 77; /* an unknown type is not rendered */
	for (int r = 1; r < TW_DECODE_ERROR_MAX; r++)
		s->decode_errors[r] = 10 * r;
	s->decode_errors_total = 210;
	s->lost_total = UINT64_MAX;

	for (int final = 0; final <= 1; final++) {
		tw_json_init(&j);
		tw_stats_to_json(&j, s, final);
		finish_line(&j, &o);

		expect_str(o.root, "event_type", "STATS");
		expect_now(o.root);
		expect_bool(o.root, "final", final);
		expect_raw(&o, "\"lost_total\":18446744073709551615,");
		expect_num(o.root, "decode_errors_total", 210);
		cr_expect_eq(cJSON_GetArraySize(jget(o.root, "decode_errors")), TW_DECODE_ERROR_MAX - 1);
		for (int r = 1; r < TW_DECODE_ERROR_MAX; r++) {
			char path[64];
			snprintf(path, sizeof(path), "decode_errors.%s", reasons[r]);
			expect_num(o.root, path, 10 * r);
		}

		types = jget(o.root, "types");
		cr_assert(cJSON_IsObject(types));
		cJSON_ArrayForEach(c, types) nt++;
		cr_expect_eq(nt, 3, "only known event types are listed");
		nt = 0;
		for (int t = 1; t <= 3; t++) {
			const cJSON *ts = cJSON_GetObjectItemCaseSensitive(types, tnames[t]);
			cr_assert_not_null(ts, "types.%s missing", tnames[t]);
			expect_num(ts, "emitted", 1000 * t + 1);
			expect_num(ts, "received", 1000 * t + 2);
			expect_num(ts, "filtered", 1000 * t + 3);
			expect_num(ts, "lost_ringbuf", 1000 * t + 4);
			expect_num(ts, "lost_scratch", 1000 * t + 5);
			expect_num(ts, "truncated", 1000 * t + 6);
		}
		rendered_free(&o);
		tw_json_free(&j);
	}
	free(s);
}

/* The writer is reused across events (reset keeps the allocation). */
Test(stream, writer_reuse_across_events)
{
	struct tw_rec x, f, e;
	struct tw_event ev;
	struct tw_json j;
	struct rendered o;
	const struct tw_rec *recs[] = {&x, &f, &e, &x};
	const char *names[] = {"PROCESS_EXEC", "PROCESS_FORK", "PROCESS_EXIT", "PROCESS_EXEC"};

	build_full_exec(&x);
	rec_sample_fork(&f);
	rec_sample_exit(&e);
	tw_json_init(&j);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(tw_event_decode(rec_data(recs[i]), rec_len(recs[i]), &ev), 0);
		ev.ts_realtime_ns = TS_REALTIME + (uint64_t)i;
		tw_json_reset(&j);
		tw_event_to_json(&j, &ev);
		finish_line(&j, &o);
		expect_str(o.root, "event_type", names[i]);
		rendered_free(&o);
	}
	tw_json_free(&j);
	rec_free(&x);
	rec_free(&f);
	rec_free(&e);
}
