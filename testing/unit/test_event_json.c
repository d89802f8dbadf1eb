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

/* ---- file events -------------------------------------------------------- */

static void expect_null(const cJSON *root, const char *path)
{
	const cJSON *n = jget(root, path);

	cr_assert_not_null(n, "missing %s (must be present as null)", path);
	cr_expect(cJSON_IsNull(n), "%s should be null", path);
}

/* The keys only some file event types have: all absent. */
static void expect_no_type_specific_file_keys(const cJSON *root)
{
	expect_absent(root, "change");
	expect_absent(root, "writes");
	expect_absent(root, "on_close");
	expect_absent(root, "exchange");
	expect_absent(root, "noreplace");
	expect_absent(root, "whiteout");
}

/* The members of a file event object with the REC_FILE_* values of rec_sample_file. */
static void expect_sample_file_object(const struct rendered *o)
{
	const cJSON *f = jget(o->root, "file");

	cr_assert_not_null(f, "missing file");
	cr_assert(cJSON_IsObject(f), "file is not an object");
	cr_expect_eq(cJSON_GetArraySize(f), 11, "file has %d members", cJSON_GetArraySize(f));
	expect_str(f, "type", "file");
	expect_str(f, "mode", "0644");
	expect_num(f, "inode", (double)REC_FILE_INODE);
	expect_num(f, "dev_major", REC_FILE_DEV_MAJOR);
	expect_num(f, "dev_minor", REC_FILE_DEV_MINOR);
	expect_num(f, "uid", REC_FILE_UID);
	expect_num(f, "gid", REC_FILE_GID);
	expect_num(f, "size", (double)REC_FILE_SIZE);
	expect_num(f, "nlink", REC_FILE_NLINK);
	expect_raw(o, "\"mtime_ns\":%llu,", (unsigned long long)REC_FILE_MTIME);
	expect_raw(o, "\"ctime_ns\":%llu}", (unsigned long long)REC_FILE_CTIME);
}

static void expect_sample_creds(const cJSON *root)
{
	expect_num(root, "creds.ruid", REC_RUID);
	expect_num(root, "creds.rgid", REC_RGID);
	expect_num(root, "creds.euid", REC_EUID);
	expect_num(root, "creds.egid", REC_EGID);
	expect_num(root, "creds.suid", REC_SUID);
	expect_num(root, "creds.sgid", REC_SGID);
	expect_num(root, "creds.cap_permitted", (double)REC_CAP_PERMITTED);
	expect_num(root, "creds.cap_effective", (double)REC_CAP_EFFECTIVE);
	expect_num(root, "mount_ns", REC_MNT_NS);
}

Test(file, create_by_open_all_members)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_CREATE, TW_FILE_OP_OPENAT);
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo/a.txt");
	render_rec(&r, &o);

	expect_str(o.root, "event_type", "FILE_CREATE");
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
	expect_str(o.root, "comm", REC_FILE_COMM);
	expect_str(o.root, "syscall", "openat");
	expect_str(o.root, "path", "/tmp/docdemo/a.txt");
	expect_sample_file_object(&o);
	expect_sample_creds(o.root);

	expect_no_type_specific_file_keys(o.root);
	expect_absent(o.root, "old_path");
	expect_absent(o.root, "new_path");
	expect_absent(o.root, "symlink_target");
	expect_absent(o.root, "link_source");
	expect_absent(o.root, "path_b64");
	expect_absent(o.root, "truncated_fields");
	expect_absent(o.root, "unknown_fields");
	/* none of the process event members */
	expect_absent(o.root, "tty");
	expect_absent(o.root, "namespaces");
	expect_absent(o.root, "cgroup");
	expect_absent(o.root, "argv");
	expect_absent(o.root, "parent");
	expect_absent(o.root, "exit_code");
	expect_absent(o.root, "tty_out");
	rendered_free(&o);
	rec_free(&r);
}

/* Symlinks and hard links: the extra path field, and `file: null` when not read. */
Test(file, create_symlink_and_hard_link)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_CREATE, TW_FILE_OP_SYMLINK);
	rec_file(&r)->file.present = 0;
	rec_add_str(&r, TW_FIELD_SYMLINK_TARGET, "../b.txt");
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo/sub/lnk");
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "FILE_CREATE");
	expect_str(o.root, "syscall", "symlink");
	expect_str(o.root, "symlink_target", "../b.txt");
	expect_str(o.root, "path", "/tmp/docdemo/sub/lnk");
	expect_null(o.root, "file");
	expect_absent(o.root, "link_source");
	expect_no_type_specific_file_keys(o.root);
	expect_sample_creds(o.root);
	rendered_free(&o);
	rec_free(&r);

	rec_sample_file(&r, TW_EVENT_FILE_CREATE, TW_FILE_OP_LINKAT);
	rec_file(&r)->file.present = 0;
	rec_add_str(&r, TW_FIELD_LINK_SOURCE, "/tmp/docdemo2/#10969621");
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo2/named");
	render_rec(&r, &o);
	expect_str(o.root, "syscall", "linkat");
	expect_str(o.root, "link_source", "/tmp/docdemo2/#10969621");
	expect_str(o.root, "path", "/tmp/docdemo2/named");
	expect_null(o.root, "file");
	expect_absent(o.root, "symlink_target");
	rendered_free(&o);
	rec_free(&r);
}

/* present == 0 means "not read": null, even when the other members are not zero. */
Test(file, file_null_when_not_present)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_DELETE, TW_FILE_OP_UNLINKAT);
	rec_file(&r)->file.present = 0; /* mode, inode, ... still hold the sample values */
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo/hard.txt");
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "FILE_DELETE");
	expect_str(o.root, "syscall", "unlinkat");
	expect_str(o.root, "path", "/tmp/docdemo/hard.txt");
	expect_null(o.root, "file");
	expect_absent(o.root, "file.inode");
	expect_no_type_specific_file_keys(o.root);
	rendered_free(&o);
	rec_free(&r);

	/* and any non-zero present is present */
	rec_sample_file(&r, TW_EVENT_FILE_DELETE, TW_FILE_OP_RMDIR);
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo/x");
	rec_file(&r)->file.present = 1;
	render_rec(&r, &o);
	expect_str(o.root, "syscall", "rmdir");
	expect_sample_file_object(&o);
	rendered_free(&o);
	rec_free(&r);
}

Test(file, rename_paths_and_flags)
{
	static const struct {
		uint32_t op, flags;
		const char *syscall;
		int exchange, noreplace, whiteout;
	} cases[] = {
		{TW_FILE_OP_RENAME, 0, "rename", 0, 0, 0},
		{TW_FILE_OP_RENAMEAT, 0, "renameat", 0, 0, 0},
		{TW_FILE_OP_RENAMEAT2, TW_FILE_FLAG_RENAME_EXCHANGE, "renameat2", 1, 0, 0},
		{TW_FILE_OP_RENAMEAT2, TW_FILE_FLAG_RENAME_NOREPLACE, "renameat2", 0, 1, 0},
		{TW_FILE_OP_RENAMEAT2, TW_FILE_FLAG_RENAME_WHITEOUT, "renameat2", 0, 0, 1},
		{TW_FILE_OP_RENAMEAT2,
		 TW_FILE_FLAG_RENAME_EXCHANGE | TW_FILE_FLAG_RENAME_NOREPLACE | TW_FILE_FLAG_RENAME_WHITEOUT,
		 "renameat2", 1, 1, 1},
		/* the on-close flag is not a rename flag */
		{TW_FILE_OP_RENAMEAT2, TW_FILE_FLAG_ON_CLOSE, "renameat2", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_RENAME, cases[i].op);
		rec_file(&r)->flags = cases[i].flags;
		rec_file(&r)->file.present = 0;
		rec_add_str(&r, TW_FIELD_OLD_PATH, "/tmp/docdemo/c.txt");
		rec_add_str(&r, TW_FIELD_NEW_PATH, "/tmp/docdemo/sub/d.txt");
		render_rec(&r, &o);
		expect_str(o.root, "event_type", "FILE_RENAME");
		expect_str(o.root, "syscall", cases[i].syscall);
		expect_str(o.root, "old_path", "/tmp/docdemo/c.txt");
		expect_str(o.root, "new_path", "/tmp/docdemo/sub/d.txt");
		expect_absent(o.root, "path");
		expect_bool(o.root, "exchange", cases[i].exchange);
		expect_bool(o.root, "noreplace", cases[i].noreplace);
		expect_bool(o.root, "whiteout", cases[i].whiteout);
		expect_absent(o.root, "change");
		expect_absent(o.root, "writes");
		expect_absent(o.root, "on_close");
		expect_null(o.root, "file");
		expect_sample_creds(o.root);
		rendered_free(&o);
		rec_free(&r);
	}
}

Test(file, modify_content_writes_and_on_close)
{
	static const struct {
		uint32_t op, flags;
		uint64_t writes;
		const char *syscall;
		int on_close;
	} cases[] = {
		{TW_FILE_OP_WRITE, 0, 1, "write", 0},
		{TW_FILE_OP_PWRITEV2, 0, 3, "pwritev2", 0},
		{TW_FILE_OP_CLOSE, TW_FILE_FLAG_ON_CLOSE, 4, "close", 1},
		{TW_FILE_OP_TRUNCATE, 0, 0, "truncate", 0},
		{TW_FILE_OP_FALLOCATE, 0, 1, "fallocate", 0},
		/* rename flags are not the on-close flag */
		{TW_FILE_OP_WRITE, TW_FILE_FLAG_RENAME_EXCHANGE | TW_FILE_FLAG_RENAME_NOREPLACE |
				       TW_FILE_FLAG_RENAME_WHITEOUT,
		 2, "write", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_MODIFY, cases[i].op);
		rec_file(&r)->change = TW_FILE_CHANGE_CONTENT;
		rec_file(&r)->flags = cases[i].flags;
		rec_file(&r)->writes = cases[i].writes;
		rec_add_str(&r, TW_FIELD_PATH, "/tmp/docdemo/a.txt");
		render_rec(&r, &o);
		expect_str(o.root, "event_type", "FILE_MODIFY");
		expect_str(o.root, "syscall", cases[i].syscall);
		expect_str(o.root, "path", "/tmp/docdemo/a.txt");
		expect_str(o.root, "change", "content");
		expect_num(o.root, "writes", (double)cases[i].writes);
		expect_bool(o.root, "on_close", cases[i].on_close);
		expect_absent(o.root, "exchange");
		expect_absent(o.root, "noreplace");
		expect_absent(o.root, "whiteout");
		expect_sample_file_object(&o);
		expect_sample_creds(o.root);
		rendered_free(&o);
		rec_free(&r);
	}
}

Test(file, modify_writes_is_exact_64_bit)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_MODIFY, TW_FILE_OP_CLOSE);
	rec_file(&r)->change = TW_FILE_CHANGE_CONTENT;
	rec_file(&r)->flags = TW_FILE_FLAG_ON_CLOSE;
	rec_file(&r)->writes = UINT64_MAX;
	render_rec(&r, &o);
	expect_raw(&o, "\"writes\":18446744073709551615,");
	rendered_free(&o);
	rec_free(&r);
}

/* permissions, owner, xattr: no writes, no on_close, whatever the record holds there */
Test(file, modify_other_changes)
{
	static const struct {
		uint32_t change, op;
		const char *name, *syscall;
		int present;
	} cases[] = {
		{TW_FILE_CHANGE_PERMISSIONS, TW_FILE_OP_FCHMOD, "permissions", "fchmod", 1},
		{TW_FILE_CHANGE_PERMISSIONS, TW_FILE_OP_CHMOD, "permissions", "chmod", 0},
		{TW_FILE_CHANGE_PERMISSIONS, TW_FILE_OP_FCHMODAT2, "permissions", "fchmodat2", 0},
		{TW_FILE_CHANGE_OWNER, TW_FILE_OP_FCHOWNAT, "owner", "fchownat", 0},
		{TW_FILE_CHANGE_OWNER, TW_FILE_OP_FCHOWN, "owner", "fchown", 1},
		{TW_FILE_CHANGE_XATTR, TW_FILE_OP_LSETXATTR, "xattr", "lsetxattr", 0},
		{TW_FILE_CHANGE_XATTR, TW_FILE_OP_FSETXATTR, "xattr", "fsetxattr", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_MODIFY, cases[i].op);
		rec_file(&r)->change = cases[i].change;
		rec_file(&r)->writes = 9;                     /* not content: not rendered */
		rec_file(&r)->flags = TW_FILE_FLAG_ON_CLOSE; /* idem */
		rec_file(&r)->file.present = (uint32_t)cases[i].present;
		rec_add_str(&r, TW_FIELD_PATH, "/etc/passwd");
		render_rec(&r, &o);
		expect_str(o.root, "event_type", "FILE_MODIFY");
		expect_str(o.root, "syscall", cases[i].syscall);
		expect_str(o.root, "change", cases[i].name);
		expect_str(o.root, "path", "/etc/passwd");
		expect_absent(o.root, "writes");
		expect_absent(o.root, "on_close");
		expect_absent(o.root, "exchange");
		if (cases[i].present)
			expect_sample_file_object(&o);
		else
			expect_null(o.root, "file");
		rendered_free(&o);
		rec_free(&r);
	}
}

/* A change number this build does not know is kept as a number. */
Test(file, modify_unknown_change_is_numeric)
{
	const uint32_t changes[] = {0, 5, 99, UINT32_MAX};

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_MODIFY, TW_FILE_OP_WRITE);
		rec_file(&r)->change = changes[i];
		rec_file(&r)->writes = 2;
		render_rec(&r, &o);
		expect_num(o.root, "change", changes[i]);
		expect_raw(&o, "\"change\":%u,", changes[i]);
		expect_absent(o.root, "writes");
		expect_absent(o.root, "on_close");
		rendered_free(&o);
		rec_free(&r);
	}
}

/* change/writes/flags in the record of another type are not rendered. */
Test(file, type_specific_keys_only_in_their_type)
{
	const uint32_t types[] = {TW_EVENT_FILE_CREATE, TW_EVENT_FILE_DELETE, TW_EVENT_FILE_SHMEM_OPEN};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, types[i], TW_FILE_OP_OPENAT);
		rec_file(&r)->change = TW_FILE_CHANGE_CONTENT;
		rec_file(&r)->writes = 5;
		rec_file(&r)->flags = 0xF;
		rec_add_str(&r, TW_FIELD_PATH, "/x");
		render_rec(&r, &o);
		expect_str(o.root, "event_type", tw_event_type_name(types[i]));
		expect_no_type_specific_file_keys(o.root);
		rendered_free(&o);
		rec_free(&r);
	}
}

Test(file, shmem_open)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_SHMEM_OPEN, TW_FILE_OP_OPENAT);
	rec_add_str(&r, TW_FIELD_PATH, "/dev/shm/docdemo-seg");
	memcpy(rec_file(&r)->comm, "cat\0\0\0\0", 8);
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "FILE_SHMEM_OPEN");
	expect_str(o.root, "syscall", "openat");
	expect_str(o.root, "comm", "cat");
	expect_str(o.root, "path", "/dev/shm/docdemo-seg");
	expect_sample_file_object(&o);
	expect_sample_creds(o.root);
	expect_no_type_specific_file_keys(o.root);
	rendered_free(&o);
	rec_free(&r);
}

/* Every op number has its system call's name; an unknown one is a number. */
Test(file, syscall_names)
{
	static const char *const names[TW_FILE_OP_MAX] = {
		[TW_FILE_OP_OPEN] = "open",           [TW_FILE_OP_OPENAT] = "openat",
		[TW_FILE_OP_OPENAT2] = "openat2",     [TW_FILE_OP_CREAT] = "creat",
		[TW_FILE_OP_MKDIR] = "mkdir",         [TW_FILE_OP_MKDIRAT] = "mkdirat",
		[TW_FILE_OP_MKNOD] = "mknod",         [TW_FILE_OP_MKNODAT] = "mknodat",
		[TW_FILE_OP_SYMLINK] = "symlink",     [TW_FILE_OP_SYMLINKAT] = "symlinkat",
		[TW_FILE_OP_LINK] = "link",           [TW_FILE_OP_LINKAT] = "linkat",
		[TW_FILE_OP_UNLINK] = "unlink",       [TW_FILE_OP_UNLINKAT] = "unlinkat",
		[TW_FILE_OP_RMDIR] = "rmdir",         [TW_FILE_OP_RENAME] = "rename",
		[TW_FILE_OP_RENAMEAT] = "renameat",   [TW_FILE_OP_RENAMEAT2] = "renameat2",
		[TW_FILE_OP_WRITE] = "write",         [TW_FILE_OP_PWRITE64] = "pwrite64",
		[TW_FILE_OP_WRITEV] = "writev",       [TW_FILE_OP_PWRITEV] = "pwritev",
		[TW_FILE_OP_PWRITEV2] = "pwritev2",   [TW_FILE_OP_TRUNCATE] = "truncate",
		[TW_FILE_OP_FTRUNCATE] = "ftruncate", [TW_FILE_OP_FALLOCATE] = "fallocate",
		[TW_FILE_OP_CHMOD] = "chmod",         [TW_FILE_OP_FCHMOD] = "fchmod",
		[TW_FILE_OP_FCHMODAT] = "fchmodat",   [TW_FILE_OP_FCHMODAT2] = "fchmodat2",
		[TW_FILE_OP_CHOWN] = "chown",         [TW_FILE_OP_FCHOWN] = "fchown",
		[TW_FILE_OP_LCHOWN] = "lchown",       [TW_FILE_OP_FCHOWNAT] = "fchownat",
		[TW_FILE_OP_SETXATTR] = "setxattr",   [TW_FILE_OP_LSETXATTR] = "lsetxattr",
		[TW_FILE_OP_FSETXATTR] = "fsetxattr", [TW_FILE_OP_CLOSE] = "close",
	};
	const uint32_t unknown[] = {TW_FILE_OP_NONE, TW_FILE_OP_MAX, TW_FILE_OP_MAX + 1, 1000, UINT32_MAX};

	cr_assert_eq(TW_FILE_OP_MAX, 39, "new file op: add its name to this test");
	for (uint32_t op = 1; op < TW_FILE_OP_MAX; op++) {
		struct tw_rec r;
		struct rendered o;

		cr_assert_not_null(names[op], "op %u has no expected name", op);
		rec_sample_file(&r, TW_EVENT_FILE_MODIFY, op);
		render_rec(&r, &o);
		expect_str(o.root, "syscall", names[op]);
		rendered_free(&o);
		rec_free(&r);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_CREATE, unknown[i]);
		render_rec(&r, &o);
		expect_num(o.root, "syscall", unknown[i]);
		expect_raw(&o, "\"syscall\":%u,", unknown[i]);
		rendered_free(&o);
		rec_free(&r);
	}
}

/* The file type from the mode's type bits; the mode as four octal digits. */
Test(file, file_types_and_modes)
{
	static const struct {
		uint32_t mode;
		const char *type, *perm;
	} cases[] = {
		{0100644, "file", "0644"},        {0104755, "file", "4755"},
		{0102711, "file", "2711"},        {0100000, "file", "0000"},
		{0107777, "file", "7777"},        {0040755, "dir", "0755"},
		{0041777, "dir", "1777"},         {0120777, "symlink", "0777"},
		{0020620, "char_device", "0620"}, {0060660, "block_device", "0660"},
		{0010644, "fifo", "0644"},        {0140755, "socket", "0755"},
		{0000644, "unknown", "0644"},     {0170000, "unknown", "0000"},
		{0030644, "unknown", "0644"},     {0xFFFFFFFF, "unknown", "7777"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_file(&r, TW_EVENT_FILE_MODIFY, TW_FILE_OP_FCHMOD);
		rec_file(&r)->change = TW_FILE_CHANGE_PERMISSIONS;
		rec_file(&r)->file.mode = cases[i].mode;
		render_rec(&r, &o);
		expect_str(o.root, "file.type", cases[i].type);
		expect_str(o.root, "file.mode", cases[i].perm);
		rendered_free(&o);
		rec_free(&r);
	}
}

Test(file, file_info_large_values_are_exact)
{
	struct tw_rec r;
	struct rendered o;
	struct tw_file_info *fi;

	rec_sample_file(&r, TW_EVENT_FILE_CREATE, TW_FILE_OP_CREAT);
	fi = &rec_file(&r)->file;
	fi->inode = UINT64_MAX;
	fi->dev_major = UINT32_MAX;
	fi->dev_minor = 1048575;
	fi->uid = UINT32_MAX - 1;
	fi->gid = 65534;
	fi->size = 9007199254740993ull;
	fi->nlink = 0;
	fi->mtime_ns = 18446744073709551614ull;
	fi->ctime_ns = 0;
	rec_file(&r)->mnt_ns = UINT32_MAX;
	render_rec(&r, &o);
	expect_raw(&o, "\"inode\":18446744073709551615,");
	expect_raw(&o, "\"dev_major\":4294967295,");
	expect_raw(&o, "\"dev_minor\":1048575,");
	expect_raw(&o, "\"uid\":4294967294,");
	expect_raw(&o, "\"gid\":65534,");
	expect_raw(&o, "\"size\":9007199254740993,");
	expect_raw(&o, "\"nlink\":0,");
	expect_raw(&o, "\"mtime_ns\":18446744073709551614,");
	expect_raw(&o, "\"ctime_ns\":0}");
	expect_raw(&o, "\"mount_ns\":4294967295}");
	rendered_free(&o);
	rec_free(&r);
}

/* Paths are arbitrary bytes: invalid UTF-8 gets a _b64 sibling; a cut one is listed. */
Test(file, odd_paths)
{
	static const char *const trunc[] = {"old_path"};
	struct tw_rec r;
	struct rendered o;

	rec_sample_file(&r, TW_EVENT_FILE_RENAME, TW_FILE_OP_RENAMEAT);
	rec_add_field(&r, TW_FIELD_OLD_PATH, TW_FIELD_FLAG_TRUNCATED, "/D200/D2", 8);
	rec_add_str(&r, TW_FIELD_NEW_PATH, "/tmp/\xff\xfe.txt");
	render_rec(&r, &o);
	expect_str(o.root, "old_path", "/D200/D2");
	expect_str_array(o.root, "truncated_fields", trunc, 1);
	expect_str(o.root, "new_path", "/tmp/\xef\xbf\xbd\xef\xbf\xbd.txt");
	expect_str(o.root, "new_path_b64", "L3RtcC///i50eHQ=");
	expect_absent(o.root, "old_path_b64");
	rendered_free(&o);
	rec_free(&r);

	/* an empty path field, and a symlink target with quotes and a newline */
	rec_sample_file(&r, TW_EVENT_FILE_CREATE, TW_FILE_OP_SYMLINKAT);
	rec_add_str(&r, TW_FIELD_SYMLINK_TARGET, "a\"b\nc");
	rec_add_field(&r, TW_FIELD_PATH, 0, NULL, 0);
	render_rec(&r, &o);
	expect_str(o.root, "symlink_target", "a\"b\nc");
	expect_str(o.root, "path", "");
	rendered_free(&o);
	rec_free(&r);
}

Test(file, unknown_fields_and_full_comm)
{
	struct tw_rec r;
	struct rendered o;
	const cJSON *u;

	rec_sample_file(&r, TW_EVENT_FILE_DELETE, TW_FILE_OP_UNLINK);
	memcpy(rec_file(&r)->comm, "0123456789abcdef", 16); /* followed by file.present, not a NUL */
	rec_add_str(&r, TW_FIELD_PATH, "/tmp/x");
	rec_add_field(&r, 50, 1, "\x01\x02", 2);
	render_rec(&r, &o);
	expect_str(o.root, "comm", "0123456789abcdef");
	expect_str(o.root, "path", "/tmp/x");
	u = jget(o.root, "unknown_fields");
	cr_assert(cJSON_IsArray(u));
	cr_assert_eq(cJSON_GetArraySize(u), 1);
	expect_num(cJSON_GetArrayItem(u, 0), "type", 50);
	expect_num(cJSON_GetArrayItem(u, 0), "flags", 1);
	expect_str(cJSON_GetArrayItem(u, 0), "data", "\x01\x02");
	rendered_free(&o);
	rec_free(&r);
}

/* ---- terminal output ---------------------------------------------------- */

/* Strict base64 decoding; returns the length, or -1 on a bad character. */
static long b64_decode(const char *in, unsigned char *out, size_t cap)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0, len = strlen(in);
	unsigned v = 0;
	int bits = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p;

		if (in[i] == '=') {
			if (i + 2 < len || (i + 1 < len && in[i + 1] != '='))
				return -1;
			break;
		}
		p = memchr(alphabet, in[i], sizeof(alphabet) - 1);
		if (!p || !in[i])
			return -1;
		v = (v << 6) | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (long)n;
}

/* tty_out_b64 is present and decodes to exactly want[0..len). */
static void expect_b64_bytes(const cJSON *root, const char *path, const void *want, size_t len)
{
	const cJSON *n = jget(root, path);
	unsigned char *back;
	long got;

	cr_assert_not_null(n, "missing %s", path);
	cr_assert(cJSON_IsString(n), "%s is not a string", path);
	back = malloc(len + 16);
	cr_assert_not_null(back);
	got = b64_decode(n->valuestring, back, len + 16);
	/* expect, not assert: the caller's objects are freed even when this fails */
	cr_expect_eq(got, (long)len, "%s decodes to %ld bytes, want %zu", path, got, len);
	if (got == (long)len)
		cr_expect_arr_eq(back, want, len, "%s does not give back the bytes", path);
	free(back);
}

Test(tty_write, slave_side_all_members)
{
	static const char text[] = "ls -l\r\n\033[1;31mred\033[0m caf\xc3\xa9\n";
	struct tw_rec r;
	struct rendered o;

	rec_sample_tty(&r, text, sizeof(text) - 1);
	rec_tty(&r)->dropped_bytes = 4096;
	render_rec(&r, &o);
	expect_str(o.root, "event_type", "PROCESS_TTY_WRITE");
	expect_str(o.root, "time", TS_REALTIME_ISO);
	expect_num(o.root, "ts_mono_ns", (double)REC_TS_MONO);
	expect_num(o.root, "cpu", REC_CPU);
	expect_num(o.root, "process.pid", REC_PID);
	expect_num(o.root, "process.start_time_ns", (double)REC_START_TIME);
	expect_str(o.root, "comm", REC_TTY_COMM);
	/* valid UTF-8: the text itself, ESC escaped as \u001b, no _b64 */
	expect_str(o.root, "tty_out", text);
	expect_raw(&o, "\"tty_out\":\"ls -l\\r\\n\\u001b[1;31mred\\u001b[0m caf\xc3\xa9\\n\"");
	expect_absent(o.root, "tty_out_b64");
	expect_num(o.root, "orig_len", sizeof(text) - 1);
	expect_num(o.root, "tty.major", REC_TTY_MAJOR);
	expect_num(o.root, "tty.minor", REC_TTY_MINOR);
	expect_str(o.root, "tty.name", "pts/3");
	expect_num(o.root, "tty.rows", REC_TTY_ROWS);
	expect_num(o.root, "tty.cols", REC_TTY_COLS);
	expect_str(o.root, "side", "slave");
	expect_num(o.root, "termios.iflag", REC_TTY_IFLAG);
	expect_num(o.root, "termios.oflag", REC_TTY_OFLAG);
	expect_num(o.root, "termios.cflag", REC_TTY_CFLAG);
	expect_num(o.root, "termios.lflag", REC_TTY_LFLAG);
	cr_expect_eq(cJSON_GetArraySize(jget(o.root, "termios")), 4);
	expect_num(o.root, "ctty.major", REC_TTY_MAJOR);
	expect_num(o.root, "ctty.minor", REC_TTY_MINOR);
	expect_str(o.root, "ctty.name", "pts/3");
	expect_num(o.root, "ctty.rows", REC_TTY_ROWS);
	expect_num(o.root, "ctty.cols", REC_TTY_COLS);
	expect_num(o.root, "dropped_bytes", 4096);
	expect_absent(o.root, "truncated_fields");
	/* none of the file or exec members */
	expect_absent(o.root, "syscall");
	expect_absent(o.root, "file");
	expect_absent(o.root, "path");
	expect_absent(o.root, "creds");
	expect_absent(o.root, "mount_ns");
	expect_absent(o.root, "namespaces");
	expect_absent(o.root, "cgroup");
	rendered_free(&o);
	rec_free(&r);
}

/* ESC, NUL and bytes that are not UTF-8: tty_out_b64 gives back every byte. */
Test(tty_write, output_bytes_round_trip)
{
	static const char bytes[] = "hello \033[1;31mtty\033[0m \xff\xfe\0end\r\n";
	struct tw_rec r;
	struct rendered o;
	unsigned char all[256];

	rec_sample_tty(&r, bytes, sizeof(bytes) - 1);
	render_rec(&r, &o);
	expect_b64_bytes(o.root, "tty_out_b64", bytes, sizeof(bytes) - 1);
	/* the text form: escapes, U+FFFD for each bad byte, the NUL escaped */
	expect_raw(&o, "\"tty_out\":\"hello \\u001b[1;31mtty\\u001b[0m \xef\xbf\xbd\xef\xbf\xbd\\u0000end\\r\\n\"");
	expect_num(o.root, "orig_len", sizeof(bytes) - 1);
	rendered_free(&o);
	rec_free(&r);

	/* every byte value once, 0x00 in the middle (a final NUL: output_ending_in_nul_is_kept) */
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)(i + 128);
	cr_assert_eq(all[128], 0);
	cr_assert_eq(all[255], 127);
	rec_sample_tty(&r, all, sizeof(all));
	render_rec(&r, &o);
	expect_b64_bytes(o.root, "tty_out_b64", all, sizeof(all));
	rendered_free(&o);
	rec_free(&r);
}

/*
 * TTY_OUT is raw bytes, not a NUL-terminated string: output that ends in a NUL
 * byte (printf '\0', binary output) must keep it.
 */
Test(tty_write, output_ending_in_nul_is_kept)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_tty(&r, "ok\n\0", 4);
	render_rec(&r, &o);
	expect_raw(&o, "\"tty_out\":\"ok\\n\\u0000\"");
	rendered_free(&o);
	rec_free(&r);

	rec_sample_tty(&r, "\xff\0", 2);
	render_rec(&r, &o);
	expect_b64_bytes(o.root, "tty_out_b64", "\xff\0", 2);
	rendered_free(&o);
	rec_free(&r);

	rec_sample_tty(&r, "\0", 1);
	render_rec(&r, &o);
	expect_raw(&o, "\"tty_out\":\"\\u0000\"");
	rendered_free(&o);
	rec_free(&r);
}

/* The master side (major 128+N) is named after its slave, pts/(minor + 256*N). */
Test(tty_write, master_side_named_by_its_slave)
{
	static const struct {
		uint16_t major, minor;
		const char *name;
	} cases[] = {
		{128, 0, "pts/0"},   {128, 5, "pts/5"},     {128, 255, "pts/255"},
		{129, 4, "pts/260"}, {131, 17, "pts/785"},  {135, 255, "pts/2047"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_tty(&r, "typed\n", 6);
		rec_tty(&r)->flags = TW_TTY_FLAG_PTY_MASTER;
		rec_tty(&r)->tty.major = cases[i].major;
		rec_tty(&r)->tty.minor = cases[i].minor;
		render_rec(&r, &o);
		expect_str(o.root, "side", "master");
		expect_str(o.root, "tty.name", cases[i].name);
		expect_num(o.root, "tty.minor", cases[i].minor);
		expect_num(o.root, "tty.rows", REC_TTY_ROWS);
		expect_str(o.root, "tty_out", "typed\n");
		/* the writer's controlling tty is not renamed */
		expect_num(o.root, "ctty.major", REC_TTY_MAJOR);
		expect_str(o.root, "ctty.name", "pts/3");
		rendered_free(&o);
		rec_free(&r);
	}
}

/* Only the master side is translated: 128+N without the flag is no known tty. */
Test(tty_write, master_numbers_without_master_flag_are_unnamed)
{
	const uint32_t flags[] = {TW_TTY_FLAG_PTY_SLAVE, TW_TTY_FLAG_CONSOLE};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_tty(&r, "x", 1);
		rec_tty(&r)->flags = flags[i];
		rec_tty(&r)->tty.major = 128;
		rec_tty(&r)->tty.minor = 5;
		render_rec(&r, &o);
		expect_num(o.root, "tty.major", 128);
		expect_num(o.root, "tty.minor", 5);
		expect_absent(o.root, "tty.name");
		rendered_free(&o);
		rec_free(&r);
	}
}

Test(tty_write, consoles_and_serial_lines)
{
	static const struct {
		uint16_t major, minor;
		const char *name;
	} cases[] = {
		{4, 1, "tty1"}, {4, 63, "tty63"}, {4, 64, "ttyS0"}, {5, 1, "console"}, {204, 64, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tw_rec r;
		struct rendered o;

		rec_sample_tty(&r, "login: ", 7);
		rec_tty(&r)->flags = TW_TTY_FLAG_CONSOLE;
		rec_tty(&r)->tty = (struct tw_tty){.major = cases[i].major, .minor = cases[i].minor,
						   .rows = 0, .cols = 0};
		render_rec(&r, &o);
		expect_str(o.root, "side", "console");
		expect_num(o.root, "tty.major", cases[i].major);
		expect_num(o.root, "tty.minor", cases[i].minor);
		if (cases[i].name)
			expect_str(o.root, "tty.name", cases[i].name);
		else
			expect_absent(o.root, "tty.name");
		expect_num(o.root, "tty.rows", 0);
		rendered_free(&o);
		rec_free(&r);
	}
}

/* A writer without a controlling tty (a daemon writing to a console). */
Test(tty_write, ctty_null_without_controlling_tty)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_tty(&r, "boot\n", 5);
	rec_tty(&r)->ctty = (struct tw_tty){.major = 0, .minor = 7, .rows = 24, .cols = 80};
	render_rec(&r, &o);
	expect_null(o.root, "ctty");
	cr_expect(cJSON_IsObject(jget(o.root, "tty")), "the written tty is still an object");
	expect_str(o.root, "tty.name", "pts/3");
	rendered_free(&o);
	rec_free(&r);
}

/* Output cut at its cap: listed in truncated_fields, orig_len says how much was written. */
Test(tty_write, output_cut_at_its_cap)
{
	static const char *const trunc[] = {"tty_out"};
	char *big = malloc(TW_CAP_TTY_OUT + 1);
	struct tw_rec r;
	struct rendered o;

	cr_assert_not_null(big);
	for (size_t i = 0; i < TW_CAP_TTY_OUT; i++)
		big[i] = (char)('a' + i % 26);
	big[TW_CAP_TTY_OUT] = '\0';
	rec_sample_tty(&r, big, TW_CAP_TTY_OUT);
	rec_field(&r, 0)->flags = TW_FIELD_FLAG_TRUNCATED;
	rec_tty(&r)->orig_len = 20480;
	render_rec(&r, &o);
	expect_str(o.root, "tty_out", big);
	expect_str_array(o.root, "truncated_fields", trunc, 1);
	expect_num(o.root, "orig_len", 20480);
	rendered_free(&o);
	rec_free(&r);
	free(big);
}

Test(tty_write, empty_and_absent_output)
{
	struct tw_rec r;
	struct rendered o;

	rec_sample_tty(&r, "", 0);
	rec_tty(&r)->orig_len = 10;
	render_rec(&r, &o);
	expect_str(o.root, "tty_out", "");
	expect_num(o.root, "orig_len", 10);
	rendered_free(&o);
	rec_free(&r);

	rec_sample_tty(&r, NULL, 0);
	render_rec(&r, &o);
	expect_absent(o.root, "tty_out");
	expect_absent(o.root, "tty_out_b64");
	expect_str(o.root, "side", "slave");
	rendered_free(&o);
	rec_free(&r);
}

Test(tty_write, large_values_are_exact)
{
	struct tw_rec r;
	struct rendered o;
	struct tw_tty_write *w;

	rec_sample_tty(&r, "x", 1);
	w = rec_tty(&r);
	w->orig_len = UINT64_MAX;
	w->dropped_bytes = 9007199254740993ull;
	w->iflag = UINT32_MAX;
	w->oflag = 0;
	w->cflag = 0x80000000u;
	w->lflag = 1;
	w->tty.rows = UINT16_MAX;
	w->tty.cols = 1000;
	memcpy(w->comm, "0123456789ABCDEF", 16); /* the varlen head follows */
	render_rec(&r, &o);
	expect_raw(&o, "\"orig_len\":18446744073709551615,");
	expect_raw(&o, "\"dropped_bytes\":9007199254740993}");
	expect_raw(&o, "\"iflag\":4294967295,");
	expect_raw(&o, "\"cflag\":2147483648,");
	expect_num(o.root, "termios.oflag", 0);
	expect_num(o.root, "termios.lflag", 1);
	expect_num(o.root, "tty.rows", UINT16_MAX);
	expect_num(o.root, "tty.cols", 1000);
	expect_str(o.root, "comm", "0123456789ABCDEF");
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
		{"handle_exec", "tp_btf/sched_process_exec", TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC),
		 TW_PROBE_ATTACHED},
		{"handle_fork", "tp_btf/sched_process_fork", TW_EVENT_BIT(TW_EVENT_PROCESS_FORK),
		 TW_PROBE_NOT_REQUESTED},
		{"handle_exit", "tp_btf/sched_process_exit", TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT),
		 TW_PROBE_UNAVAILABLE},
		{"tw_file_sys_exit", "tracepoint/syscalls/sys_exit_openat", TW_EVENTS_FILE, TW_PROBE_ATTACHED},
		{"tw_file_open", "tracepoint/syscalls/sys_exit_open",
		 TW_EVENT_BIT(TW_EVENT_FILE_CREATE) | TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN), TW_PROBE_ATTACHED},
		{"tw_tty_write", "tracepoint/syscalls/sys_exit_write", TW_EVENTS_TTY, TW_PROBE_ATTACHED},
		{"tw_helper", "kprobe/none", 0, TW_PROBE_ATTACHED},
		{"tw_future", "kprobe/future", TW_EVENT_BIT(0) | TW_EVENT_BIT(40) | TW_EVENT_BIT(63),
		 TW_PROBE_UNAVAILABLE},
	};
	static const char *const types[] = {"PROCESS_EXEC", "PROCESS_EXIT", "FILE_RENAME", "PROCESS_TTY_WRITE"};
	static const char *const file_types[] = {"FILE_CREATE", "FILE_DELETE", "FILE_RENAME", "FILE_MODIFY",
						 "FILE_SHMEM_OPEN"};
	static const char *const open_types[] = {"FILE_CREATE", "FILE_SHMEM_OPEN"};
	static const char *const tty_types[] = {"PROCESS_TTY_WRITE"};
	static const char *const exec_types[] = {"PROCESS_EXEC"};
	static const char *const fork_types[] = {"PROCESS_FORK"};
	static const char *const exit_types[] = {"PROCESS_EXIT"};
	struct tw_stream_info info = {
		.agent = "EventsTrace",
		.source = "replay:/tmp/a \"b\".twr",
		.event_mask = TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC) | TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT) |
			      TW_EVENT_BIT(TW_EVENT_FILE_RENAME) | TW_EVENT_BIT(TW_EVENT_PROCESS_TTY_WRITE) |
			      TW_EVENT_BIT(0) | TW_EVENT_BIT(40) | TW_EVENT_BIT(63), /* unknown bits ignored */
		.ring_size = 8u << 20,
		.wakeup_bytes = 256u << 10,
		.probes = probes,
		.n_probes = sizeof(probes) / sizeof(probes[0]),
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
	expect_str_array(o.root, "event_types", types, 4);
	expect_num(o.root, "ring_size", 8u << 20);
	expect_num(o.root, "wakeup_bytes", 256u << 10);

	p = jget(o.root, "probes");
	cr_assert(cJSON_IsArray(p));
	cr_assert_eq(cJSON_GetArraySize(p), 8);
	cJSON_ArrayForEach(e, p) {
		cr_expect_eq(cJSON_GetArraySize(e), 4, "program, hook, event_types, state");
		expect_absent(e, "event_type"); /* replaced by the event_types array */
	}
	e = cJSON_GetArrayItem(p, 0);
	expect_str(e, "program", "handle_exec");
	expect_str(e, "hook", "tp_btf/sched_process_exec");
	expect_str_array(e, "event_types", exec_types, 1);
	expect_str(e, "state", "attached");
	e = cJSON_GetArrayItem(p, 1);
	expect_str_array(e, "event_types", fork_types, 1);
	expect_str(e, "state", "not_requested");
	e = cJSON_GetArrayItem(p, 2);
	expect_str(e, "program", "handle_exit");
	expect_str_array(e, "event_types", exit_types, 1);
	expect_str(e, "state", "unavailable");
	e = cJSON_GetArrayItem(p, 3);
	expect_str(e, "program", "tw_file_sys_exit");
	expect_str(e, "hook", "tracepoint/syscalls/sys_exit_openat");
	expect_str_array(e, "event_types", file_types, 5);
	e = cJSON_GetArrayItem(p, 4);
	expect_str_array(e, "event_types", open_types, 2);
	e = cJSON_GetArrayItem(p, 5);
	expect_str(e, "program", "tw_tty_write");
	expect_str_array(e, "event_types", tty_types, 1);
	/* no type, or only types this build does not know: an empty array */
	e = cJSON_GetArrayItem(p, 6);
	expect_str_array(e, "event_types", NULL, 0);
	e = cJSON_GetArrayItem(p, 7);
	expect_str_array(e, "event_types", NULL, 0);
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
	static const char *const all[] = {"PROCESS_EXEC", "PROCESS_FORK",  "PROCESS_EXIT",
					  "FILE_CREATE",  "FILE_DELETE",   "FILE_RENAME",
					  "FILE_MODIFY",  "FILE_SHMEM_OPEN", "PROCESS_TTY_WRITE",
					  "PROCESS_SETUID", "PROCESS_SETGID", "PROCESS_SETSID",
					  "PROCESS_PTRACE", "PROCESS_MEMFD_CREATE", "PROCESS_SHMGET",
					  "PROCESS_LOAD_MODULE", "PROCESS_SNAPSHOT",
					  "NETWORK_CONNECTION_ATTEMPTED", "NETWORK_CONNECTION_ACCEPTED",
					  "NETWORK_CONNECTION_CLOSED", "NETWORK_TCP_METRICS",
					  "NETWORK_UDP_FLOW", "NETWORK_DNS"};
	struct tw_json j;
	struct rendered o;

	tw_json_init(&j);
	tw_stream_start_to_json(&j, &info);
	finish_line(&j, &o);
	expect_str(o.root, "source", "kernel");
	expect_str_array(o.root, "event_types", all, 23);
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
	static const char *const tnames[] = {NULL,          "PROCESS_EXEC", "PROCESS_FORK",
					     "PROCESS_EXIT", "FILE_CREATE",  "FILE_DELETE",
					     "FILE_RENAME",  "FILE_MODIFY",  "FILE_SHMEM_OPEN",
					     "PROCESS_TTY_WRITE", "PROCESS_SETUID", "PROCESS_SETGID",
					     "PROCESS_SETSID", "PROCESS_PTRACE", "PROCESS_MEMFD_CREATE",
					     "PROCESS_SHMGET", "PROCESS_LOAD_MODULE", "PROCESS_SNAPSHOT",
					     "NETWORK_CONNECTION_ATTEMPTED", "NETWORK_CONNECTION_ACCEPTED",
					     "NETWORK_CONNECTION_CLOSED", "NETWORK_TCP_METRICS",
					     "NETWORK_UDP_FLOW", "NETWORK_DNS"};
	const int ntypes = (int)(sizeof(tnames) / sizeof(tnames[0])) - 1;
	struct tw_stats *s = calloc(1, sizeof(*s));
	struct tw_json j;
	struct rendered o;
	const cJSON *types, *c;
	int nt = 0;

	cr_assert_eq(TW_DECODE_ERROR_MAX, 7, "new decode reason: extend this test");
	cr_assert_not_null(s);
	for (int t = 1; t <= ntypes; t++) {
		s->type[t].emitted = 1000 * t + 1;
		s->type[t].received = 1000 * t + 2;
		s->type[t].filtered = 1000 * t + 3;
		s->type[t].lost_ringbuf = 1000 * t + 4;
		s->type[t].lost_scratch = 1000 * t + 5;
		s->type[t].truncated = 1000 * t + 6;
		s->type[t].rate_limited = 1000 * t + 7;
		s->type[t].rate_limited_bytes = 1000 * t + 8;
	}
	s->type[TW_EVENT_PROCESS_TTY_WRITE].rate_limited_bytes = 9007199254740993ull; /* 2^53 + 1 */
	s->type[0].emitted = 66;                   /* TW_EVENT_NONE is not rendered */
	s->type[TW_EVENT_NETWORK_DNS + 1].emitted = 77; /* nor an unknown type */
	s->type[TW_EVENT_TYPE_MAX - 1].emitted = 88;
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
		cJSON_ArrayForEach(c, types) {
			cr_expect(cJSON_IsObject(c));
			cr_expect_eq(cJSON_GetArraySize(c), 8, "types.%s: 8 counters", c->string);
			nt++;
		}
		cr_expect_eq(nt, ntypes, "only known event types are listed");
		nt = 0;
		for (int t = 1; t <= ntypes; t++) {
			const cJSON *ts = cJSON_GetObjectItemCaseSensitive(types, tnames[t]);
			cr_assert_not_null(ts, "types.%s missing", tnames[t]);
			expect_num(ts, "emitted", 1000 * t + 1);
			expect_num(ts, "received", 1000 * t + 2);
			expect_num(ts, "filtered", 1000 * t + 3);
			expect_num(ts, "lost_ringbuf", 1000 * t + 4);
			expect_num(ts, "lost_scratch", 1000 * t + 5);
			expect_num(ts, "truncated", 1000 * t + 6);
			expect_num(ts, "rate_limited", 1000 * t + 7);
			if (t != TW_EVENT_PROCESS_TTY_WRITE)
				expect_num(ts, "rate_limited_bytes", 1000 * t + 8);
		}
		expect_raw(&o, "\"rate_limited_bytes\":9007199254740993}");
		rendered_free(&o);
		tw_json_free(&j);
	}
	free(s);
}

/* The writer is reused across events (reset keeps the allocation). */
Test(stream, writer_reuse_across_events)
{
	struct tw_rec x, f, e, fr, t;
	struct tw_event ev;
	struct tw_json j;
	struct rendered o;
	const struct tw_rec *recs[] = {&x, &fr, &f, &t, &e, &x, &t};
	const char *names[] = {"PROCESS_EXEC", "FILE_RENAME",       "PROCESS_FORK",     "PROCESS_TTY_WRITE",
			       "PROCESS_EXIT", "PROCESS_EXEC", "PROCESS_TTY_WRITE"};

	build_full_exec(&x);
	rec_sample_fork(&f);
	rec_sample_exit(&e);
	rec_sample_file(&fr, TW_EVENT_FILE_RENAME, TW_FILE_OP_RENAMEAT2);
	rec_add_str(&fr, TW_FIELD_OLD_PATH, "/a");
	rec_add_str(&fr, TW_FIELD_NEW_PATH, "/b");
	rec_sample_tty(&t, "\xff", 1);
	tw_json_init(&j);
	for (int i = 0; i < 7; i++) {
		cr_assert_eq(tw_event_decode(rec_data(recs[i]), rec_len(recs[i]), &ev), 0);
		ev.ts_realtime_ns = TS_REALTIME + (uint64_t)i;
		tw_json_reset(&j);
		tw_event_to_json(&j, &ev);
		finish_line(&j, &o);
		expect_str(o.root, "event_type", names[i]);
		if (recs[i] == &t)
			expect_str(o.root, "tty_out_b64", "/w==");
		if (recs[i] == &fr)
			expect_str(o.root, "new_path", "/b");
		rendered_free(&o);
	}
	tw_json_free(&j);
	rec_free(&x);
	rec_free(&f);
	rec_free(&e);
	rec_free(&fr);
	rec_free(&t);
}
