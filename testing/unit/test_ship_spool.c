// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the shipper's spool (non-GPL/lib/ship_spool.c) and event
 * sequence (ship_seq.c): framing, batching limits, segment rotation and
 * deletion, recovery after a restart, torn and corrupted data, and the
 * bounded size dropping the oldest segment with exact counts.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ship_internal.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tw_spool_test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(spool, .init = make_dir, .fini = remove_dir);

static void open_spool(struct ship_spool *sp, uint64_t max, uint64_t seg)
{
	char err[256] = "";
	cr_assert_eq(ship_spool_open(sp, dir, max, seg, err, sizeof(err)), 0, "%s", err);
}

/* "rec-<i>-" padded with 'x' to len bytes */
static size_t make_rec(char *buf, int i, size_t len)
{
	int n = snprintf(buf, len + 1, "rec-%d-", i);
	memset(buf + n, 'x', len - (size_t)n);
	buf[len] = 0;
	return len;
}

static void append_n(struct ship_spool *sp, int first, int n, size_t len)
{
	char buf[4096];
	for (int i = first; i < first + n; i++)
		cr_assert_eq(ship_spool_append(sp, buf, make_rec(buf, i, len)), 0);
}

/* Numbers of the records in a batch, in order, into out; returns how many. */
static int batch_ids(const struct ship_batch *b, int *out, int max)
{
	int n = 0;
	for (const char *p = b->lines; p < b->lines + b->len && n < max; p = strchr(p, '\n') + 1)
		out[n++] = atoi(p + 4);
	return n;
}

static int count_segments(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "seg-", 4);
	closedir(d);
	return n;
}

Test(spool, nothing_is_readable_until_committed)
{
	struct ship_spool sp;
	struct ship_batch b;

	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 3, 50);
	cr_expect_eq(sp.unread_records, 3);
	cr_expect_eq(ship_spool_take(&sp, 100, 1 << 20, &b), 0, "still in the write buffer");
	cr_assert_eq(ship_spool_commit(&sp), 0);
	cr_assert_eq(ship_spool_take(&sp, 100, 1 << 20, &b), 3);
	cr_expect_eq(b.len, 3 * 51, "payloads plus newlines");
	cr_expect_eq(memcmp(b.lines, "rec-0-xx", 8), 0);
	cr_expect_eq(sp.unread_records, 0);
	cr_expect_eq(sp.unread_bytes, 0);
	cr_expect_eq(ship_spool_pending(&sp), 3, "taken, not acknowledged");
	ship_spool_ack(&sp, &b);
	cr_expect_eq(ship_spool_pending(&sp), 0);
	cr_expect_eq(count_segments(), 0, "the segment, all acknowledged, is gone");
	ship_batch_free(&b);
	ship_spool_close(&sp);
}

Test(spool, batches_respect_count_and_byte_limits)
{
	struct ship_spool sp;
	struct ship_batch b;
	int ids[64], next = 0;

	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 25, 99); /* 100 bytes per line with the newline */
	ship_spool_commit(&sp);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &b), 10, "count limit");
	ship_batch_free(&b);
	next = 10;
	cr_assert_eq(ship_spool_take(&sp, 100, 350, &b), 3, "350 bytes hold 3 lines of 100");
	cr_expect_leq(b.len, 350);
	cr_assert_eq(batch_ids(&b, ids, 64), 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(ids[i], next + i, "records come in order");
	ship_batch_free(&b);
	/* a single record larger than the byte limit still goes, alone */
	cr_assert_eq(ship_spool_take(&sp, 100, 50, &b), 1);
	ship_batch_free(&b);
	cr_assert_eq(ship_spool_take(&sp, 100, 1 << 20, &b), 11, "the rest");
	cr_assert_eq(batch_ids(&b, ids, 64), 11);
	cr_expect_eq(ids[10], 24);
	ship_batch_free(&b);
	ship_spool_close(&sp);
}

Test(spool, batch_due_by_size_count_time_and_force)
{
	struct ship_spool sp;

	open_spool(&sp, 1 << 20, 64 << 10);
	cr_expect_not(ship_batch_due(&sp, 10, 1 << 20, 1000, 0, 5000, true), "nothing to send");
	append_n(&sp, 0, 5, 99);
	cr_expect_not(ship_batch_due(&sp, 10, 1 << 20, 1000, 100, 500, false), "young and small");
	cr_expect(ship_batch_due(&sp, 10, 1 << 20, 1000, 100, 1100, false), "waited max_ms");
	cr_expect(ship_batch_due(&sp, 5, 1 << 20, 1000, 100, 500, false), "count reached");
	cr_expect(ship_batch_due(&sp, 10, 500, 1000, 100, 500, false), "bytes reached (with frames)");
	cr_expect(ship_batch_due(&sp, 10, 1 << 20, 1000, 100, 500, true), "forced (flush, close)");
	ship_spool_close(&sp);
}

Test(spool, batches_never_span_segments_and_segments_rotate)
{
	struct ship_spool sp;
	struct ship_batch b;
	int ids[64];
	uint64_t first_seg;

	/* 112-byte frames; 4 KiB segments hold 36 of them */
	open_spool(&sp, 1 << 20, 4096);
	append_n(&sp, 0, 50, 100);
	ship_spool_commit(&sp);
	cr_expect_eq(sp.segments, 2);
	cr_expect_eq(count_segments(), 2);
	cr_assert_eq(ship_spool_take(&sp, 1000, 1 << 20, &b), 36, "the first segment only");
	first_seg = b.seg_id;
	cr_expect(ship_batch_due(&sp, 1000, 1 << 20, 1000, 0, 0, false) == false,
		  "the newest segment's rest is young: not due");
	struct ship_batch b2;
	cr_assert_eq(ship_spool_take(&sp, 1000, 1 << 20, &b2), 14);
	cr_assert_eq(batch_ids(&b2, ids, 64), 14);
	cr_expect_eq(ids[0], 36);
	cr_expect_neq(b2.seg_id, first_seg);
	ship_spool_ack(&sp, &b);
	cr_expect_eq(count_segments(), 1, "closed, read and acknowledged: deleted");
	ship_spool_ack(&sp, &b2);
	cr_expect_eq(count_segments(), 0, "the newest too, once all of it is acknowledged");
	append_n(&sp, 50, 1, 100);
	ship_spool_commit(&sp);
	cr_expect_eq(count_segments(), 1, "the next append starts a new segment");
	ship_batch_free(&b);
	ship_batch_free(&b2);
	ship_spool_close(&sp);
}

Test(spool, a_restart_resends_only_what_was_not_acknowledged)
{
	struct ship_spool sp;
	struct ship_batch b;
	int ids[128];

	open_spool(&sp, 1 << 20, 4096);
	append_n(&sp, 0, 40, 100);
	ship_spool_commit(&sp);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &b), 10);
	ship_spool_ack(&sp, &b); /* acknowledged: its prefix is recorded */
	ship_batch_free(&b);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &b), 10); /* in flight at the "crash" */
	ship_batch_free(&b);
	ship_spool_close(&sp);

	open_spool(&sp, 1 << 20, 4096);
	cr_expect_eq(sp.recovered_records, 30, "the acknowledged 10 are not sent again");
	cr_expect_eq(sp.corrupt_frames, 0);
	int got = 0;
	while (ship_spool_take(&sp, 100, 1 << 20, &b) > 0) {
		got += batch_ids(&b, ids + got, 128 - got);
		ship_spool_ack(&sp, &b);
		ship_batch_free(&b);
	}
	cr_expect_eq(got, 30);
	for (int i = 0; i < got; i++)
		cr_expect_eq(ids[i], 10 + i, "the in-flight batch and the unsent rest, in order");
	cr_expect_eq(count_segments(), 0);
	/* new appends never go into an old segment */
	append_n(&sp, 100, 1, 100);
	ship_spool_commit(&sp);
	cr_expect_eq(count_segments(), 1);
	ship_spool_close(&sp);
}

Test(spool, out_of_order_acknowledgements_keep_the_gap)
{
	struct ship_spool sp;
	struct ship_batch a, b, c;

	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 30, 100);
	ship_spool_commit(&sp);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &a), 10);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &b), 10);
	cr_assert_eq(ship_spool_take(&sp, 10, 1 << 20, &c), 10);
	ship_spool_ack(&sp, &c); /* the last one first: records 0..19 are not done */
	cr_expect_eq(ship_spool_pending(&sp), 20);
	ship_spool_close(&sp);
	open_spool(&sp, 1 << 20, 64 << 10);
	cr_expect_eq(sp.recovered_records, 30, "nothing before the gap was acknowledged");
	ship_spool_close(&sp);

	/* same again, the gap closed this time: only the third batch's records remain */
	remove_dir();
	make_dir();
	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 30, 100);
	ship_spool_commit(&sp);
	ship_spool_take(&sp, 10, 1 << 20, &a);
	ship_spool_take(&sp, 10, 1 << 20, &b);
	ship_spool_take(&sp, 10, 1 << 20, &c);
	ship_spool_ack(&sp, &b);
	ship_spool_ack(&sp, &a); /* joins b: the prefix is now 20 records */
	ship_spool_close(&sp);
	open_spool(&sp, 1 << 20, 64 << 10);
	cr_expect_eq(sp.recovered_records, 10);
	ship_spool_close(&sp);
	ship_batch_free(&a);
	ship_batch_free(&b);
	ship_batch_free(&c);
}

static void segment_path(char *out, size_t len, uint64_t id)
{
	snprintf(out, len, "%s/seg-%016llx.twq", dir, (unsigned long long)id);
}

Test(spool, a_torn_tail_is_detected_counted_and_skipped)
{
	struct ship_spool sp;
	struct ship_batch b;
	char path[128];
	struct stat st;
	int ids[64];

	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 10, 100); /* 10 frames of 112 bytes */
	ship_spool_close(&sp);
	segment_path(path, sizeof(path), 1);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 1120);
	/* a crash in the middle of writing the last record */
	cr_assert_eq(truncate(path, 1120 - 40), 0);

	open_spool(&sp, 1 << 20, 64 << 10);
	cr_expect_eq(sp.recovered_records, 9);
	cr_expect_eq(sp.corrupt_frames, 1, "one torn region");
	cr_expect_eq(sp.corrupt_bytes, 72, "what was left of the torn frame");
	cr_assert_eq(ship_spool_take(&sp, 100, 1 << 20, &b), 9);
	cr_assert_eq(batch_ids(&b, ids, 64), 9);
	cr_expect_eq(ids[8], 8);
	cr_expect_eq(sp.corrupt_frames, 1, "not counted a second time while reading");
	ship_spool_ack(&sp, &b);
	ship_batch_free(&b);
	cr_expect_eq(count_segments(), 0, "fully read (torn tail skipped) and acknowledged");
	ship_spool_close(&sp);
}

Test(spool, a_corrupted_record_is_skipped_and_the_rest_recovered)
{
	struct ship_spool sp;
	struct ship_batch b;
	char path[128];
	int ids[64], fd;

	open_spool(&sp, 1 << 20, 64 << 10);
	append_n(&sp, 0, 10, 100);
	ship_spool_close(&sp);
	segment_path(path, sizeof(path), 1);
	fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0);
	/* flip a payload byte of record 4: its CRC no longer matches */
	cr_assert_eq(pwrite(fd, "Z", 1, 4 * 112 + 12 + 50), 1);
	close(fd);

	open_spool(&sp, 1 << 20, 64 << 10);
	cr_expect_eq(sp.recovered_records, 9);
	cr_expect_eq(sp.corrupt_frames, 1);
	cr_expect_eq(sp.corrupt_bytes, 112);
	cr_assert_eq(ship_spool_take(&sp, 100, 1 << 20, &b), 9);
	cr_assert_eq(batch_ids(&b, ids, 64), 9);
	int want[] = {0, 1, 2, 3, 5, 6, 7, 8, 9};
	for (int i = 0; i < 9; i++)
		cr_expect_eq(ids[i], want[i]);
	ship_batch_free(&b);
	ship_spool_close(&sp);
}

Test(spool, full_spool_drops_the_oldest_segment_with_exact_counts)
{
	struct ship_spool sp;
	struct ship_batch b;
	int ids[256];

	/* 1000-byte frames, 4 per 4 KiB segment, at most 16 KiB: 4 segments, 16 records */
	open_spool(&sp, 16384, 4096);
	append_n(&sp, 0, 16, 988);
	ship_spool_commit(&sp);
	cr_expect_eq(sp.segments, 4);
	cr_expect_eq(sp.dropped_records, 0);
	/* take 2 records of the oldest segment: in flight, they are not counted as dropped */
	cr_assert_eq(ship_spool_take(&sp, 2, 1 << 20, &b), 2);
	append_n(&sp, 16, 1, 988); /* a fifth segment is needed: the oldest goes */
	cr_expect_eq(sp.dropped_records, 2, "records 2 and 3: never sent");
	cr_expect_eq(sp.dropped_bytes, 2000);
	cr_expect_eq(sp.segments, 4);
	cr_expect_leq(sp.bytes, 16384);
	ship_spool_ack(&sp, &b); /* the in-flight batch still completes */
	ship_batch_free(&b);
	append_n(&sp, 17, 8, 988); /* two more segments: two more dropped, 4 records each */
	ship_spool_commit(&sp);
	cr_expect_eq(sp.dropped_records, 10);
	cr_expect_eq(count_segments(), 4);
	int got = 0;
	while (ship_spool_take(&sp, 100, 1 << 20, &b) > 0) {
		got += batch_ids(&b, ids + got, 256 - got);
		ship_batch_free(&b);
	}
	/* what is left is the newest: 25 appended, 2 sent, 10 dropped */
	cr_expect_eq(got, 13);
	for (int i = 0; i < got; i++)
		cr_expect_eq(ids[i], 12 + i);
	ship_spool_close(&sp);
}

Test(spool, one_shipper_per_directory)
{
	struct ship_spool a, b;
	char err[256] = "";

	open_spool(&a, 1 << 20, 4096);
	cr_expect_eq(ship_spool_open(&b, dir, 1 << 20, 4096, err, sizeof(err)), -EBUSY);
	cr_expect_not_null(strstr(err, "in use"), "%s", err);
	ship_spool_close(&a);
	open_spool(&b, 1 << 20, 4096);
	ship_spool_close(&b);
}

Test(spool, oversized_records_are_refused_and_counted)
{
	struct ship_spool sp;
	static char big[5000];

	open_spool(&sp, 1 << 20, 4096);
	memset(big, 'a', sizeof(big));
	cr_expect_eq(ship_spool_append(&sp, big, sizeof(big)), -EMSGSIZE);
	cr_expect_eq(ship_spool_append(&sp, big, 0), -EMSGSIZE);
	cr_expect_eq(sp.dropped_records, 2);
	ship_spool_close(&sp);
}

Test(spool, crc32_matches_the_standard_check_value)
{
	cr_expect_eq(ship_crc32("123456789", 9), 0xCBF43926u);
}

Test(spool, sequence_continues_above_its_reservation_after_a_restart)
{
	struct ship_spool sp;
	struct ship_seq q;
	char err[256] = "";
	uint64_t v = 0, last = 0;

	uint64_t base;

	open_spool(&sp, 1 << 20, 4096);
	cr_assert_eq(ship_seq_open(&q, sp.dirfd, "boot-a", 100, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ship_seq_next(&q, &base), 0);
	cr_expect_eq(base & 0xffffffffu, 1, "a random multiple of 2^32, plus 1");
	for (int i = 1; i < 150; i++) {
		cr_assert_eq(ship_seq_next(&q, &v), 0);
		cr_expect_eq(v, base + (uint64_t)i);
	}
	last = v;
	/* a crash: the next run, same boot, must start above anything handed out */
	cr_assert_eq(ship_seq_open(&q, sp.dirfd, "boot-a", 100, err, sizeof(err)), 0);
	cr_assert_eq(ship_seq_next(&q, &v), 0);
	cr_expect_gt(v, last);
	cr_expect_eq(v, base + 200, "the second reservation ended there");
	/* another boot: a new random start (ids differ by the boot id anyway) */
	cr_assert_eq(ship_seq_open(&q, sp.dirfd, "boot-b", 100, err, sizeof(err)), 0);
	cr_assert_eq(ship_seq_next(&q, &v), 0);
	cr_expect_eq(v & 0xffffffffu, 1);
	ship_spool_close(&sp);

	/* a second spool on the same host, same boot: another range */
	struct ship_spool sp2;
	struct ship_seq q2;
	char dir2[] = "/tmp/tw_spool_test2.XXXXXX";
	cr_assert_not_null(mkdtemp(dir2));
	cr_assert_eq(ship_spool_open(&sp2, dir2, 1 << 20, 4096, err, sizeof(err)), 0);
	cr_assert_eq(ship_seq_open(&q2, sp2.dirfd, "boot-a", 100, err, sizeof(err)), 0);
	cr_assert_eq(ship_seq_next(&q2, &v), 0);
	cr_expect_neq(v >> 32, base >> 32, "two spools in one boot draw different ranges");
	ship_spool_close(&sp2);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir2);
	cr_expect_eq(system(cmd), 0);
}

Test(spool, boot_id_is_read)
{
	char id[64];
	cr_assert_eq(ship_read_boot_id(id, sizeof(id)), 0);
	cr_expect_eq(strlen(id), 36, "a UUID: %s", id);
}
