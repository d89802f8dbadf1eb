// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for recordings (non-GPL/lib/record.c, tracewire_record.h):
 * writing with tw_recorder_*, replaying with tw_replay_file, and the file
 * format itself (header, length prefix, padding to 8).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "records.h"
#include "tracewire_record.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmp_path[64];

/* A fresh, empty temporary file per test; removed by fini_tmp. */
static void init_tmp(void)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/tw_unit_record_XXXXXX");
	fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	close(fd);
}

static void fini_tmp(void)
{
	unlink(tmp_path);
}

TestSuite(record, .init = init_tmp, .fini = fini_tmp);
TestSuite(replay, .init = init_tmp, .fini = fini_tmp);
TestSuite(recorder_errors, .init = init_tmp, .fini = fini_tmp);

#define MAX_SEEN 16

/* What the replay callback saw. */
struct seen {
	int n;
	int stop_after; /* return non-zero after this many (0: never) */
	void *data[MAX_SEEN];
	size_t len[MAX_SEEN];
	uint64_t realtime[MAX_SEEN];
	uint16_t type[MAX_SEEN];
};

static int on_event(void *user, const struct tw_event *ev)
{
	struct seen *s = user;

	cr_assert_lt(s->n, MAX_SEEN);
	cr_assert_eq((uintptr_t)ev->hdr % 8, 0, "records are handed out 8-aligned");
	s->data[s->n] = malloc(ev->len);
	cr_assert_not_null(s->data[s->n]);
	memcpy(s->data[s->n], ev->hdr, ev->len);
	s->len[s->n] = ev->len;
	s->realtime[s->n] = ev->ts_realtime_ns;
	s->type[s->n] = ev->hdr->type;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->data[i]);
}

static void expect_same(const struct seen *s, int i, const struct tw_rec *r)
{
	cr_assert_lt(i, s->n);
	cr_expect_eq(s->len[i], rec_len(r), "record %d length", i);
	if (s->len[i] == rec_len(r))
		cr_expect_arr_eq(s->data[i], rec_data(r), rec_len(r), "record %d bytes", i);
}

static struct tw_recorder *open_recorder(const char *path, int64_t offset)
{
	struct tw_recorder *rec = NULL;
	char err[256] = "";
	int rc = tw_recorder_open(&rec, path, offset, err, sizeof(err));

	cr_assert_eq(rc, 0, "tw_recorder_open: %d %s", rc, err);
	cr_assert_not_null(rec);
	return rec;
}

static void write_rec(struct tw_recorder *rec, const struct tw_rec *r)
{
	cr_assert_eq(tw_recorder_write(rec, rec_data(r), rec_len(r)), 0);
}

static void write_raw(struct tw_recorder *rec, const void *data, size_t len)
{
	cr_assert_eq(tw_recorder_write(rec, data, len), 0);
}

static off_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

static size_t padded(size_t len)
{
	return (len + 7) & ~(size_t)7;
}

/* Read the whole file into a malloc'ed buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spew(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Overwrite n bytes at off in the file. */
static void patch(const char *path, long off, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "r+b");

	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, off, SEEK_SET), 0);
	cr_assert_eq(fwrite(bytes, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

static int replay(const char *path, struct seen *s, struct tw_replay_result *res, char *err,
		  size_t errlen)
{
	memset(res, 0xA5, sizeof(*res)); /* the result must be fully written */
	return tw_replay_file(path, s ? on_event : NULL, s, res, err, errlen);
}

/* Three records of the three types, with given boot times. */
static void make_three(struct tw_rec r[3])
{
	rec_sample_exec(&r[0]);
	rec_hdr(&r[0])->ts_boot_ns = 1000;
	rec_sample_fork(&r[1]);
	rec_hdr(&r[1])->ts_boot_ns = 2000;
	rec_sample_exit(&r[2]);
	rec_hdr(&r[2])->ts_boot_ns = 3000;
}

static void free_three(struct tw_rec r[3])
{
	for (int i = 0; i < 3; i++)
		rec_free(&r[i]);
}

/* ---- round trips -------------------------------------------------------- */

Test(record, round_trip_in_order)
{
	const int64_t offset = 1700000000000000000ll;
	struct tw_rec r[3];
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	size_t want_size = sizeof(struct tw_record_file_header);

	make_three(r);
	rec = open_recorder(tmp_path, offset);
	for (int i = 0; i < 3; i++) {
		write_rec(rec, &r[i]);
		want_size += 8 + padded(rec_len(&r[i]));
	}
	cr_expect_eq(tw_recorder_records(rec), 3);
	cr_expect_eq(tw_recorder_errors(rec), 0);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_expect_eq((size_t)file_size(tmp_path), want_size);

	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 3);
	for (int i = 0; i < 3; i++) {
		expect_same(&s, i, &r[i]);
		cr_expect_eq(s.realtime[i], rec_hdr(&r[i])->ts_boot_ns + (uint64_t)offset,
			     "record %d: ts_realtime_ns = ts_boot_ns + offset", i);
	}
	cr_expect_eq(res.records, 3);
	cr_expect_eq(res.delivered, 3);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXEC], 1);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_FORK], 1);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXIT], 1);
	cr_expect_eq(res.received[TW_EVENT_NONE], 0);
	for (int d = 0; d < TW_DECODE_ERROR_MAX; d++)
		cr_expect_eq(res.decode_errors[d], 0, "decode_errors[%d]", d);
	cr_expect_eq(res.wire_version, TW_WIRE_VERSION);
	cr_expect_eq(res.realtime_offset_ns, offset);
	cr_expect_not(res.truncated_tail);
	seen_free(&s);
	free_three(r);
}

Test(record, negative_offset)
{
	struct tw_rec r;
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";

	rec_sample_fork(&r);
	rec_hdr(&r)->ts_boot_ns = 5000;
	rec = open_recorder(tmp_path, -1234);
	write_rec(rec, &r);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 1);
	cr_expect_eq(s.realtime[0], 5000 - 1234);
	cr_expect_eq(res.realtime_offset_ns, -1234);
	seen_free(&s);
	rec_free(&r);
}

Test(record, file_header_layout)
{
	struct tw_recorder *rec;
	struct tw_record_file_header h;
	struct timespec now;
	unsigned char *buf;
	size_t len;
	uint64_t now_ns;

	cr_assert_eq(sizeof(struct tw_record_file_header), 64);
	rec = open_recorder(tmp_path, 42);
	cr_assert_eq(tw_recorder_close(rec), 0);
	buf = slurp(tmp_path, &len);
	cr_assert_eq(len, sizeof(h), "an empty recording is just the header");
	memcpy(&h, buf, sizeof(h));
	cr_expect_arr_eq(h.magic, "TWRECORD", 8);
	cr_expect_eq(h.file_version, TW_RECORD_FILE_VERSION);
	cr_expect_eq(h.wire_version, TW_WIRE_VERSION);
	cr_expect_eq(h.header_size, sizeof(h));
	cr_expect_eq(h.byte_order, TW_RECORD_BYTE_ORDER_MARK);
	cr_expect_eq(h.realtime_offset_ns, 42);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	cr_expect_leq(h.created_realtime_ns, now_ns);
	cr_expect_geq(h.created_realtime_ns, now_ns - 60000000000ull);
	for (size_t i = 0; i < sizeof(h.reserved); i++)
		cr_expect_eq(h.reserved[i], 0);
	free(buf);
}

/* An empty recording replays to nothing, without error. */
Test(replay, empty_recording)
{
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";

	rec = open_recorder(tmp_path, 0);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_expect_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(s.n, 0);
	cr_expect_eq(res.records, 0);
	cr_expect_eq(res.delivered, 0);
	cr_expect_not(res.truncated_tail);
}

/* Records whose length is not a multiple of 8 are padded with zeros. */
Test(record, odd_lengths_are_padded)
{
	struct tw_rec a, b, c;
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	unsigned char *buf;
	size_t len, off;
	uint32_t prefix[2];

	rec_init(&a, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&a, TW_FIELD_CWD, 0, "/a", 3); /* 176 + 11 = 187 */
	rec_init(&b, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&b, TW_FIELD_CWD, 0, "/abcdef", 8); /* 192: already aligned */
	rec_init(&c, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&c, TW_FIELD_ARGV, 0, "x", 1); /* 185 */
	cr_assert_eq(rec_len(&a), 187);
	cr_assert_eq(rec_len(&b), 192);
	cr_assert_eq(rec_len(&c), 185);

	rec = open_recorder(tmp_path, 0);
	write_rec(rec, &a);
	write_rec(rec, &b);
	write_rec(rec, &c);
	cr_assert_eq(tw_recorder_close(rec), 0);

	buf = slurp(tmp_path, &len);
	cr_assert_eq(len, 64 + (8 + 192) + (8 + 192) + (8 + 192));
	/* first record: prefix {187, 0}, data, 5 zero bytes */
	off = 64;
	memcpy(prefix, buf + off, 8);
	cr_expect_eq(prefix[0], 187);
	cr_expect_eq(prefix[1], 0, "reserved word of the prefix");
	cr_expect_arr_eq(buf + off + 8, a.buf, 187);
	for (size_t i = 187; i < 192; i++)
		cr_expect_eq(buf[off + 8 + i], 0, "padding byte %zu", i);
	/* second record follows at the next 8-byte boundary */
	off += 8 + 192;
	memcpy(prefix, buf + off, 8);
	cr_expect_eq(prefix[0], 192);
	off += 8 + 192;
	memcpy(prefix, buf + off, 8);
	cr_expect_eq(prefix[0], 185);
	free(buf);

	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 3);
	expect_same(&s, 0, &a);
	expect_same(&s, 1, &b);
	expect_same(&s, 2, &c);
	cr_expect_eq(res.delivered, 3);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXEC], 3);
	cr_expect_not(res.truncated_tail);
	seen_free(&s);
	rec_free(&a);
	rec_free(&b);
	rec_free(&c);
}

/* Malformed records are counted by reason and skipped; the rest still arrive. */
Test(replay, malformed_records_in_the_middle)
{
	struct tw_rec r[3], bad_count, bad_type;
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	static const char garbage[5] = "abcd";

	make_three(r);
	rec_sample_exec(&bad_count);
	rec_vl(&bad_count)->count = 9;
	rec_sample_fork(&bad_type);
	rec_hdr(&bad_type)->type = 50;

	rec = open_recorder(tmp_path, 10);
	write_rec(rec, &r[0]);
	write_rec(rec, &bad_count);
	write_raw(rec, garbage, sizeof(garbage)); /* odd length, short header */
	write_rec(rec, &r[1]);
	write_raw(rec, garbage, 0);               /* empty record */
	write_rec(rec, &bad_type);
	write_rec(rec, &r[2]);
	cr_expect_eq(tw_recorder_records(rec), 7);
	cr_assert_eq(tw_recorder_close(rec), 0);

	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 3);
	for (int i = 0; i < 3; i++) {
		expect_same(&s, i, &r[i]);
		cr_expect_eq(s.realtime[i], rec_hdr(&r[i])->ts_boot_ns + 10);
	}
	cr_expect_eq(res.records, 7);
	cr_expect_eq(res.delivered, 3);
	cr_expect_eq(res.decode_errors[TW_DECODE_FIELD_COUNT], 1);
	cr_expect_eq(res.decode_errors[TW_DECODE_SHORT_HEADER], 2);
	cr_expect_eq(res.decode_errors[TW_DECODE_UNKNOWN_TYPE], 1);
	cr_expect_eq(res.decode_errors[TW_DECODE_OK], 0);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXEC], 1);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_FORK], 1);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXIT], 1);
	cr_expect_not(res.truncated_tail);
	seen_free(&s);
	free_three(r);
	rec_free(&bad_count);
	rec_free(&bad_type);
}

Test(replay, callback_can_stop_early)
{
	struct tw_rec r[3];
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {.stop_after = 2};
	char err[256] = "";

	make_three(r);
	rec = open_recorder(tmp_path, 0);
	for (int i = 0; i < 3; i++)
		write_rec(rec, &r[i]);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(s.n, 2);
	cr_expect_eq(res.delivered, 2);
	cr_expect_eq(res.records, 2);
	cr_expect_eq(res.received[TW_EVENT_PROCESS_EXIT], 0);
	seen_free(&s);
	free_three(r);
}

Test(replay, null_callback_only_counts)
{
	struct tw_rec r[3];
	struct tw_recorder *rec;
	struct tw_replay_result res;
	char err[256] = "";

	make_three(r);
	rec = open_recorder(tmp_path, 0);
	for (int i = 0; i < 3; i++)
		write_rec(rec, &r[i]);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_assert_eq(replay(tmp_path, NULL, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(res.records, 3);
	cr_expect_eq(res.delivered, 3);
	free_three(r);
}

/*
 * The file ends inside the last record: in its length prefix, its data or
 * its padding. The complete records before it are still delivered.
 */
Test(replay, truncated_tail)
{
	struct tw_rec a, b;
	struct tw_recorder *rec;
	size_t full, b_start, b_padded;

	rec_sample_exec(&a);
	rec_init(&b, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&b, TW_FIELD_CWD, 0, "/a", 3); /* 187 bytes: 5 of padding */
	rec = open_recorder(tmp_path, 0);
	write_rec(rec, &a);
	write_rec(rec, &b);
	cr_assert_eq(tw_recorder_close(rec), 0);
	full = (size_t)file_size(tmp_path);
	b_padded = padded(rec_len(&b));
	b_start = full - 8 - b_padded;

	const size_t cuts[] = {
		b_start + 1, b_start + 4, b_start + 7,           /* inside the prefix */
		b_start + 8, b_start + 8 + 1, b_start + 8 + 100, /* inside the data */
		b_start + 8 + rec_len(&b),                       /* data complete, padding missing */
		full - 1,                                        /* one padding byte missing */
	};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct tw_replay_result res;
		struct seen s = {0};
		char err[256] = "";

		cr_assert_eq(truncate(tmp_path, (off_t)cuts[i]), 0);
		cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "cut at %zu: %s", cuts[i], err);
		cr_expect(res.truncated_tail, "cut at %zu of %zu", cuts[i], full);
		cr_expect_eq(s.n, 1, "cut at %zu", cuts[i]);
		cr_expect_eq(res.records, 1, "cut at %zu", cuts[i]);
		cr_expect_eq(res.delivered, 1, "cut at %zu", cuts[i]);
		if (s.n >= 1)
			expect_same(&s, 0, &a);
		seen_free(&s);
	}
	/* cut exactly at a record boundary: not truncated */
	{
		struct tw_replay_result res;
		char err[256] = "";

		cr_assert_eq(truncate(tmp_path, (off_t)b_start), 0);
		cr_assert_eq(replay(tmp_path, NULL, &res, err, sizeof(err)), 0, "%s", err);
		cr_expect_not(res.truncated_tail);
		cr_expect_eq(res.delivered, 1);
	}
	rec_free(&a);
	rec_free(&b);
}

/* ---- bad files ---------------------------------------------------------- */

/* Replay of tmp_path must fail with -EINVAL and an err naming the file. */
static void expect_bad_file(const char *why, const char *needle)
{
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	int rc = replay(tmp_path, &s, &res, err, sizeof(err));

	cr_expect_eq(rc, -EINVAL, "%s: rc %d", why, rc);
	cr_expect_gt(strlen(err), 0, "%s: no message", why);
	cr_expect_not_null(strstr(err, tmp_path), "%s: message does not name the file: %s", why, err);
	if (needle)
		cr_expect_not_null(strstr(err, needle), "%s: \"%s\" not in: %s", why, needle, err);
	cr_expect_eq(s.n, 0, "%s: events delivered from a bad file", why);
	seen_free(&s);
}

/* A recording with one valid record, to be damaged by the tests. */
static void write_one(void)
{
	struct tw_rec r;
	struct tw_recorder *rec;

	rec_sample_exit(&r);
	rec = open_recorder(tmp_path, 0);
	write_rec(rec, &r);
	cr_assert_eq(tw_recorder_close(rec), 0);
	rec_free(&r);
}

Test(replay, bad_magic)
{
	write_one();
	patch(tmp_path, 0, "X", 1);
	expect_bad_file("bad magic", "not a tracewire recording");
	patch(tmp_path, 0, "twrecord", 8);
	expect_bad_file("lower-case magic", NULL);
}

Test(replay, wrong_file_version)
{
	uint32_t v = TW_RECORD_FILE_VERSION + 1;

	write_one();
	patch(tmp_path, offsetof(struct tw_record_file_header, file_version), &v, 4);
	expect_bad_file("file version", "version");
	v = 0;
	patch(tmp_path, offsetof(struct tw_record_file_header, file_version), &v, 4);
	expect_bad_file("file version 0", "version");
}

Test(replay, wrong_wire_version)
{
	uint32_t v = TW_WIRE_VERSION + 1;

	write_one();
	patch(tmp_path, offsetof(struct tw_record_file_header, wire_version), &v, 4);
	expect_bad_file("wire version", "version");
}

Test(replay, other_byte_order)
{
	uint32_t v = __builtin_bswap32(TW_RECORD_BYTE_ORDER_MARK);

	write_one();
	patch(tmp_path, offsetof(struct tw_record_file_header, byte_order), &v, 4);
	expect_bad_file("byte order", "byte order");
}

Test(replay, header_size_too_small)
{
	uint32_t v = sizeof(struct tw_record_file_header) - 8;

	write_one();
	patch(tmp_path, offsetof(struct tw_record_file_header, header_size), &v, 4);
	expect_bad_file("header size", "header size");
}

Test(replay, short_or_empty_file)
{
	static const char part[] = "TWRECORD\x01\0\0\0";

	spew(tmp_path, "", 0);
	expect_bad_file("empty file", NULL);
	spew(tmp_path, part, sizeof(part) - 1);
	expect_bad_file("header cut short", NULL);
	spew(tmp_path, "hello, world\n", 13);
	expect_bad_file("text file", NULL);
}

/* A newer, longer file header: its unknown tail is skipped. */
Test(replay, longer_header_is_skipped)
{
	struct tw_record_file_header h = {0};
	struct tw_rec r;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	unsigned char file[64 + 32 + 8 + 104];
	uint32_t prefix[2];

	rec_sample_fork(&r);
	cr_assert_eq(rec_len(&r), 104);
	memcpy(h.magic, TW_RECORD_MAGIC, 8);
	h.file_version = TW_RECORD_FILE_VERSION;
	h.wire_version = TW_WIRE_VERSION;
	h.header_size = sizeof(h) + 32;
	h.byte_order = TW_RECORD_BYTE_ORDER_MARK;
	h.realtime_offset_ns = 7;
	memcpy(file, &h, sizeof(h));
	memset(file + 64, 0xEE, 32);
	prefix[0] = 104;
	prefix[1] = 0;
	memcpy(file + 96, prefix, 8);
	memcpy(file + 104, r.buf, 104);
	spew(tmp_path, file, sizeof(file));

	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.n, 1);
	expect_same(&s, 0, &r);
	cr_expect_eq(s.realtime[0], REC_TS_BOOT + 7);
	seen_free(&s);
	rec_free(&r);
}

Test(replay, nonexistent_file)
{
	struct tw_replay_result res;
	char err[256] = "";
	const char *path = "/nonexistent-dir-tw/recording.twr";
	int rc = replay(path, NULL, &res, err, sizeof(err));

	cr_expect_eq(rc, -ENOENT);
	cr_expect_not_null(strstr(err, path), "message does not name the file: %s", err);
	cr_expect_eq(res.records, 0);
	cr_expect_eq(res.delivered, 0);
}

Test(replay, directory_is_an_error)
{
	struct tw_replay_result res;
	char err[256] = "";
	int rc = replay("/tmp", NULL, &res, err, sizeof(err));

	cr_expect_lt(rc, 0);
	cr_expect_gt(strlen(err), 0);
}

/* A length prefix above TW_RECORD_MAX_LEN means corruption: stop with an error. */
Test(replay, length_prefix_too_large)
{
	struct tw_rec r;
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct seen s = {0};
	char err[256] = "";
	const uint32_t bad[] = {TW_RECORD_MAX_LEN + 1, 0x7FFFFFFF, UINT32_MAX};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t prefix[2] = {bad[i], 0};
		long second;

		rec_sample_exit(&r);
		rec = open_recorder(tmp_path, 0);
		write_rec(rec, &r);
		write_rec(rec, &r);
		write_rec(rec, &r);
		cr_assert_eq(tw_recorder_close(rec), 0);
		second = 64 + 8 + (long)padded(rec_len(&r));
		patch(tmp_path, second, prefix, sizeof(prefix));

		err[0] = '\0';
		cr_expect_eq(replay(tmp_path, &s, &res, err, sizeof(err)), -EBADMSG, "prefix %#x", bad[i]);
		cr_expect_gt(strlen(err), 0);
		cr_expect_not_null(strstr(err, tmp_path), "%s", err);
		cr_expect_eq(s.n, 1, "the record before the bad prefix is delivered");
		cr_expect_eq(res.delivered, 1);
		seen_free(&s);
		memset(&s, 0, sizeof(s));
		rec_free(&r);
	}
}

/* Exactly TW_RECORD_MAX_LEN is allowed (it is then just a bad record). */
Test(replay, length_prefix_at_the_limit)
{
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct tw_rec r;
	struct seen s = {0};
	char err[256] = "";
	unsigned char *big = calloc(1, TW_RECORD_MAX_LEN);

	cr_assert_not_null(big);
	rec_sample_exit(&r);
	rec = open_recorder(tmp_path, 0);
	write_raw(rec, big, TW_RECORD_MAX_LEN);
	write_rec(rec, &r);
	cr_assert_eq(tw_recorder_close(rec), 0);
	cr_assert_eq(replay(tmp_path, &s, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(res.records, 2);
	cr_expect_eq(res.decode_errors[TW_DECODE_SIZE_MISMATCH], 1); /* hdr.size 0 */
	cr_expect_eq(s.n, 1);
	seen_free(&s);
	rec_free(&r);
	free(big);
}

/* ---- write errors ------------------------------------------------------- */

Test(recorder_errors, open_in_missing_directory)
{
	struct tw_recorder *rec = (struct tw_recorder *)(uintptr_t)1;
	char err[256] = "";
	int rc = tw_recorder_open(&rec, "/nonexistent-dir-tw/x.twr", 0, err, sizeof(err));

	cr_expect_eq(rc, -ENOENT);
	cr_expect_null(rec, "*out must be NULL on failure");
	cr_expect_not_null(strstr(err, "/nonexistent-dir-tw/x.twr"), "%s", err);
}

/* The header does not fit on /dev/full: open fails with -ENOSPC. */
Test(recorder_errors, open_on_dev_full)
{
	struct tw_recorder *rec = NULL;
	char err[256] = "";
	int rc;

	if (access("/dev/full", W_OK))
		cr_skip_test("no writable /dev/full");
	rc = tw_recorder_open(&rec, "/dev/full", 0, err, sizeof(err));
	cr_expect_eq(rc, -ENOSPC, "rc %d: %s", rc, err);
	cr_expect_null(rec);
	cr_expect_gt(strlen(err), 0);
	cr_expect_not_null(strstr(err, "/dev/full"), "%s", err);
}

Test(recorder_errors, close_null_is_a_noop)
{
	cr_expect_eq(tw_recorder_close(NULL), 0);
}

/*
 * Open a recorder on tmp_path, then point its file descriptor at /dev/full
 * so that every later write fails with ENOSPC. The recorder's FILE is
 * opaque: its descriptor is found as the one open on tmp_path.
 */
static struct tw_recorder *recorder_on_dev_full(void)
{
	struct tw_recorder *rec;
	struct stat want, st;
	int fd = -1, full;

	if (access("/dev/full", W_OK))
		cr_skip_test("no writable /dev/full");
	rec = open_recorder(tmp_path, 0);
	cr_assert_eq(stat(tmp_path, &want), 0);
	for (int i = 3; i < 1024 && fd < 0; i++)
		if (!fstat(i, &st) && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			fd = i;
	cr_assert_geq(fd, 0, "recorder's descriptor not found");
	full = open("/dev/full", O_WRONLY);
	cr_assert_geq(full, 0);
	cr_assert_eq(dup2(full, fd), fd);
	close(full);
	return rec;
}

/* A write larger than the stdio buffer reaches the device at once. */
Test(recorder_errors, write_to_full_device)
{
	struct tw_recorder *rec = recorder_on_dev_full();
	size_t big = 256 * 1024;
	unsigned char *data = calloc(1, big);
	int rc;

	cr_assert_not_null(data);
	rc = tw_recorder_write(rec, data, big);
	cr_expect_eq(rc, -ENOSPC, "tw_recorder_write: %d", rc);
	cr_expect_eq(tw_recorder_errors(rec), 1);
	cr_expect_eq(tw_recorder_records(rec), 0);
	rc = tw_recorder_write(rec, data, big);
	cr_expect_eq(rc, -ENOSPC);
	cr_expect_eq(tw_recorder_errors(rec), 2);
	cr_expect_eq(tw_recorder_records(rec), 0);
	/* close reports the first error */
	cr_expect_eq(tw_recorder_close(rec), -ENOSPC);
	free(data);
}

/* A small write sits in the stdio buffer: the error surfaces at close. */
Test(recorder_errors, error_surfaces_at_close)
{
	struct tw_recorder *rec = recorder_on_dev_full();
	struct tw_rec r;
	int rc;

	rec_sample_exit(&r);
	rc = tw_recorder_write(rec, rec_data(&r), rec_len(&r));
	if (rc == 0) {
		cr_expect_eq(tw_recorder_errors(rec), 0);
		cr_expect_eq(tw_recorder_close(rec), -ENOSPC, "the lost record must be reported");
	} else {
		cr_expect_eq(rc, -ENOSPC);
		cr_expect_eq(tw_recorder_errors(rec), 1);
		cr_expect_eq(tw_recorder_close(rec), -ENOSPC);
	}
	rec_free(&r);
}

/*
 * The recorder must never write what the replayer treats as file corruption:
 * a record longer than TW_RECORD_MAX_LEN is refused (and counted), and the
 * recording stays readable past it.
 */
Test(recorder_errors, oversized_record_is_refused)
{
	struct tw_recorder *rec;
	struct tw_replay_result res;
	struct tw_rec r;
	struct seen s = {0};
	char err[256] = "";
	size_t big = (size_t)TW_RECORD_MAX_LEN + 1;
	unsigned char *data = calloc(1, big);
	int rc;

	cr_assert_not_null(data);
	rec_sample_exit(&r);
	rec = open_recorder(tmp_path, 0);
	write_rec(rec, &r);
	rc = tw_recorder_write(rec, data, big);
	cr_expect_lt(rc, 0, "a %zu-byte record was accepted", big);
	cr_expect_eq(tw_recorder_records(rec), 1);
	write_rec(rec, &r);
	tw_recorder_close(rec);

	rc = replay(tmp_path, &s, &res, err, sizeof(err));
	cr_expect_eq(rc, 0, "the recording became unreadable: %s", err);
	cr_expect_eq(s.n, 2);
	seen_free(&s);
	rec_free(&r);
	free(data);
}
