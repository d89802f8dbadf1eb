// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for record validation and field iteration (non-GPL/lib/decode.c,
 * tracewire_decode.h).
 *
 * Malformed records are decoded from exact-size heap copies (rec_dup), so an
 * out-of-bounds read is caught when the tests run under ASan
 * (-DTW_SANITIZE=ON).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "records.h"
#include "tracewire_json.h"

/* Decode an exact-size copy of r; returns the decoder's result. */
static int decode_copy(const struct tw_rec *r, size_t len)
{
	struct tw_event ev;
	void *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, r->buf, len);
	rc = tw_event_decode(copy, len, &ev);
	free(copy);
	return rc;
}

static int decode_rec(const struct tw_rec *r)
{
	return decode_copy(r, rec_len(r));
}

/* ---- wire layout -------------------------------------------------------- */

/* Recordings and the BPF side depend on these sizes; a change is a wire break. */
Test(layout, struct_sizes_are_the_wire_abi)
{
	cr_expect_eq(sizeof(struct tw_event_header), 56);
	cr_expect_eq(sizeof(struct tw_pid_info), 32);
	cr_expect_eq(sizeof(struct tw_varlen_field), 8);
	cr_expect_eq(sizeof(struct tw_varlen_fields), 8);
	cr_expect_eq(sizeof(struct tw_process_exec), 176);
	cr_expect_eq(sizeof(struct tw_process_fork), 104);
	cr_expect_eq(sizeof(struct tw_process_exit), 88);
	/* the varlen head is the very last member, without tail padding */
	cr_expect_eq(offsetof(struct tw_process_exec, vl) + sizeof(struct tw_varlen_fields),
		     sizeof(struct tw_process_exec));
}

Test(layout, fixed_size_and_varlen_offset)
{
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_EXEC), sizeof(struct tw_process_exec));
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_FORK), sizeof(struct tw_process_fork));
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_EXIT), sizeof(struct tw_process_exit));
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_EXEC), offsetof(struct tw_process_exec, vl));
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_FORK), 0);
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_EXIT), 0);

	const uint32_t unknown[] = {TW_EVENT_NONE, 4, 63, TW_EVENT_TYPE_MAX, 65, 0xFFFF, UINT32_MAX};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_expect_eq(tw_event_fixed_size(unknown[i]), 0, "type %u", unknown[i]);
		cr_expect_eq(tw_event_varlen_offset(unknown[i]), 0, "type %u", unknown[i]);
	}
}

/* ---- name tables -------------------------------------------------------- */

Test(names, event_type_names)
{
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_PROCESS_EXEC), "PROCESS_EXEC");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_PROCESS_FORK), "PROCESS_FORK");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_PROCESS_EXIT), "PROCESS_EXIT");
	cr_expect_null(tw_event_type_name(TW_EVENT_NONE));
	cr_expect_null(tw_event_type_name(4));
	cr_expect_null(tw_event_type_name(TW_EVENT_TYPE_MAX));
	cr_expect_null(tw_event_type_name(UINT32_MAX));

	cr_expect_eq(tw_event_type_from_name("PROCESS_EXEC"), TW_EVENT_PROCESS_EXEC);
	cr_expect_eq(tw_event_type_from_name("process_fork"), TW_EVENT_PROCESS_FORK);
	cr_expect_eq(tw_event_type_from_name("Process_Exit"), TW_EVENT_PROCESS_EXIT);
	cr_expect_eq(tw_event_type_from_name("PROCESS"), -1);
	cr_expect_eq(tw_event_type_from_name("PROCESS_EXECX"), -1);
	cr_expect_eq(tw_event_type_from_name(""), -1);
}

Test(names, field_type_names)
{
	static const struct {
		uint32_t type;
		const char *name;
	} known[] = {
		{TW_FIELD_FILENAME, "filename"},    {TW_FIELD_EXE_PATH, "executable"},
		{TW_FIELD_ARGV, "argv"},            {TW_FIELD_ENV, "env"},
		{TW_FIELD_CWD, "cwd"},              {TW_FIELD_CGROUP_PATH, "cgroup_path"},
		{TW_FIELD_PATH, "path"},            {TW_FIELD_OLD_PATH, "old_path"},
		{TW_FIELD_NEW_PATH, "new_path"},    {TW_FIELD_SYMLINK_TARGET, "symlink_target"},
		{TW_FIELD_TTY_OUT, "tty_out"},      {TW_FIELD_DNS_NAME, "dns_name"},
		{TW_FIELD_INTERPRETER, "interpreter"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		cr_expect_str_eq(tw_field_type_name(known[i].type), known[i].name);
	cr_expect_null(tw_field_type_name(TW_FIELD_NONE));
	cr_expect_null(tw_field_type_name(14));
	cr_expect_null(tw_field_type_name(TW_FIELD_TYPE_MAX));
	cr_expect_null(tw_field_type_name(0xFFFF));
	cr_expect_null(tw_field_type_name(UINT32_MAX));
}

Test(names, decode_error_strings)
{
	for (int r = 0; r < TW_DECODE_ERROR_MAX; r++) {
		const char *s = tw_decode_error_str(r);
		cr_assert_not_null(s);
		cr_expect_gt(strlen(s), 0);
		/* accepts the negative return of tw_event_decode as well */
		cr_expect_eq(tw_decode_error_str(-r), s);
		for (int o = 0; o < r; o++)
			cr_expect_str_neq(s, tw_decode_error_str(o), "reasons %d and %d share a text", o, r);
	}
	cr_expect_str_eq(tw_decode_error_str(TW_DECODE_OK), "ok");
	cr_expect_str_eq(tw_decode_error_str(TW_DECODE_ERROR_MAX), "unknown decode error");
	cr_expect_str_eq(tw_decode_error_str(-1000), "unknown decode error");
	cr_expect_str_eq(tw_decode_error_str(INT32_MAX), "unknown decode error");
}

/* ---- valid records ------------------------------------------------------ */

Test(decode, exec_with_fields)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;

	rec_sample_exec(&r);
	rec_exec(&r)->cgroup_id = 77;
	memset(&ev, 0xA5, sizeof(ev));
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_eq(ev.hdr, rec_data(&r));
	cr_expect_eq(ev.len, rec_len(&r));
	cr_expect_eq((const void *)ev.vl, (const void *)rec_vl(&r));
	cr_expect_eq(ev.ts_realtime_ns, 0, "the decoder leaves the wall clock to its caller");
	cr_expect_eq(ev.hdr->type, TW_EVENT_PROCESS_EXEC);
	cr_expect_eq(ev.hdr->pids.tgid, REC_PID);
	cr_expect_eq(ev.vl->count, 5);
	cr_expect_eq(((const struct tw_process_exec *)ev.hdr)->cgroup_id, 77);

	f = tw_event_field(&ev, TW_FIELD_FILENAME);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 0));
	cr_expect_eq(f->size, 8);
	cr_expect_arr_eq(f->data, "/bin/ls", 8);

	f = tw_event_field(&ev, TW_FIELD_EXE_PATH);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 1));
	cr_expect_arr_eq(f->data, "/usr/bin/ls", 12);

	f = tw_event_field(&ev, TW_FIELD_ARGV);
	cr_assert_not_null(f);
	cr_expect_eq(f->size, 11);
	cr_expect_arr_eq(f->data, "ls\0-l\0/tmp", 11);

	f = tw_event_field(&ev, TW_FIELD_CWD);
	cr_assert_not_null(f);
	cr_expect_arr_eq(f->data, "/home/user", 11);

	f = tw_event_field(&ev, TW_FIELD_CGROUP_PATH);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 4));
	cr_expect_arr_eq(f->data, "/user.slice", 12);

	cr_expect_null(tw_event_field(&ev, TW_FIELD_ENV));
	cr_expect_null(tw_event_field(&ev, TW_FIELD_INTERPRETER));
	cr_expect_null(tw_event_field(&ev, TW_FIELD_NONE));
	rec_free(&r);
}

Test(decode, exec_without_fields)
{
	struct tw_rec r;
	struct tw_event ev;
	int n = 0;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	cr_assert_eq(rec_len(&r), sizeof(struct tw_process_exec));
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_not_null(ev.vl);
	cr_expect_eq(ev.vl->count, 0);
	cr_expect_eq(ev.vl->size, 0);
	cr_expect_null(tw_event_field(&ev, TW_FIELD_FILENAME));
	FOR_EACH_VARLEN_FIELD(ev.vl, f) {
		(void)f;
		n++;
	}
	cr_expect_eq(n, 0);
	rec_free(&r);
}

Test(decode, exec_with_empty_field)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, TW_FIELD_ENV, 0, NULL, 0);
	rec_add_str(&r, TW_FIELD_CWD, "/");
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	f = tw_event_field(&ev, TW_FIELD_ENV);
	cr_assert_not_null(f);
	cr_expect_eq(f->size, 0);
	f = tw_event_field(&ev, TW_FIELD_CWD);
	cr_assert_not_null(f);
	cr_expect_eq(f->size, 2);
	rec_free(&r);
}

Test(decode, fork)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_process_fork *f;

	rec_sample_fork(&r);
	cr_assert_eq(rec_len(&r), sizeof(struct tw_process_fork));
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_eq(ev.hdr, rec_data(&r));
	cr_expect_eq(ev.len, sizeof(struct tw_process_fork));
	cr_expect_null(ev.vl);
	cr_expect_null(tw_event_field(&ev, TW_FIELD_FILENAME));
	f = (const struct tw_process_fork *)ev.hdr;
	cr_expect_eq(f->parent.tgid, 4000);
	cr_expect_str_eq(f->comm, "bash");
	rec_free(&r);
}

Test(decode, exit)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_process_exit *e;

	rec_sample_exit(&r);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_eq(ev.len, sizeof(struct tw_process_exit));
	cr_expect_null(ev.vl);
	e = (const struct tw_process_exit *)ev.hdr;
	cr_expect_eq(e->exit_code, 0x8b);
	cr_expect_eq(e->signal, 11);
	rec_free(&r);
}

/* The decoder must not depend on the stale content of *ev. */
Test(decode, overwrites_previous_event)
{
	struct tw_rec x, f;
	struct tw_event ev;

	rec_sample_exec(&x);
	rec_sample_fork(&f);
	cr_assert_eq(tw_event_decode(rec_data(&x), rec_len(&x), &ev), 0);
	cr_assert_not_null(ev.vl);
	ev.ts_realtime_ns = 123;
	cr_assert_eq(tw_event_decode(rec_data(&f), rec_len(&f), &ev), 0);
	cr_expect_null(ev.vl, "vl of the previous EXEC leaked into a FORK");
	cr_expect_eq(ev.ts_realtime_ns, 0);
	cr_expect_eq(ev.hdr, rec_data(&f));
	rec_free(&x);
	rec_free(&f);
}

/* ---- field iteration ---------------------------------------------------- */

Test(fields, foreach_visits_every_field_in_order)
{
	static const struct {
		uint16_t type, flags;
		const char *data;
		uint32_t size;
	} want[] = {
		{TW_FIELD_FILENAME, 0, "/x", 3},
		{TW_FIELD_ARGV, TW_FIELD_FLAG_TRUNCATED, "a\0bb\0ccc", 8}, /* odd sizes: unaligned headers */
		{TW_FIELD_ENV, 0, "", 0},
		{TW_FIELD_CWD, 0, "/", 2},
		{40, 0x8000, "\xff\x00\x01", 3},                           /* unknown type */
		{TW_FIELD_INTERPRETER, 0, "/bin/sh", 8},
	};
	const size_t n = sizeof(want) / sizeof(want[0]);
	struct tw_rec r;
	struct tw_event ev;
	size_t i = 0;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	for (size_t k = 0; k < n; k++)
		rec_add_field(&r, want[k].type, want[k].flags, want[k].data, want[k].size);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	FOR_EACH_VARLEN_FIELD(ev.vl, f) {
		cr_assert_lt(i, n, "walk visited more fields than were written");
		cr_expect_eq(f, rec_field(&r, i), "field %zu at the wrong place", i);
		cr_expect_eq(f->type, want[i].type, "field %zu", i);
		cr_expect_eq(f->flags, want[i].flags, "field %zu", i);
		cr_expect_eq(f->size, want[i].size, "field %zu", i);
		if (want[i].size)
			cr_expect_arr_eq(f->data, want[i].data, want[i].size, "field %zu", i);
		i++;
	}
	cr_expect_eq(i, n);
	rec_free(&r);
}

/* tw_varlen_next never goes past vl->size, even on a head nobody validated. */
Test(fields, walk_of_unvalidated_area_stays_in_bounds)
{
	struct tw_rec r;
	struct tw_varlen_fields *vl;
	int n = 0;

	rec_sample_exec(&r);
	vl = rec_vl(&r);
	/* cut vl->size in the middle of the third field's data */
	vl->size = (uint32_t)(r.field_off[2] - r.vl_off - sizeof(*vl) + sizeof(struct tw_varlen_field) + 2);
	FOR_EACH_VARLEN_FIELD(vl, f) {
		cr_expect_leq((const char *)f->data + f->size, vl->data + vl->size);
		n++;
	}
	cr_expect_eq(n, 2, "the overrunning third field must end the walk");

	/* a huge size in the first field ends the walk at once */
	vl->size = r.len - r.fixed;
	rec_field(&r, 0)->size = UINT32_MAX;
	n = 0;
	FOR_EACH_VARLEN_FIELD(vl, f) {
		(void)f;
		n++;
	}
	cr_expect_eq(n, 0);
	rec_free(&r);
}

Test(fields, unknown_types_are_walked_and_skipped_by_lookup)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;
	uint16_t seen[8];
	int n = 0;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_field(&r, 50, 0, "zzz", 3);
	rec_add_field(&r, 0xFFFF, 0, "\x01\x02", 2);
	rec_add_str(&r, TW_FIELD_ARGV, "ls");
	rec_add_field(&r, TW_FIELD_NONE, 0, "q", 1);
	rec_add_str(&r, TW_FIELD_CWD, "/tmp");
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);

	FOR_EACH_VARLEN_FIELD(ev.vl, fl) {
		cr_assert_lt(n, 8);
		seen[n++] = fl->type;
	}
	cr_assert_eq(n, 5);
	cr_expect_eq(seen[0], 50);
	cr_expect_eq(seen[1], 0xFFFF);
	cr_expect_eq(seen[2], TW_FIELD_ARGV);
	cr_expect_eq(seen[3], TW_FIELD_NONE);
	cr_expect_eq(seen[4], TW_FIELD_CWD);

	f = tw_event_field(&ev, TW_FIELD_ARGV);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 2));
	cr_expect_str_eq(f->data, "ls");
	f = tw_event_field(&ev, TW_FIELD_CWD);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 4));
	cr_expect_null(tw_event_field(&ev, TW_FIELD_FILENAME));
	rec_free(&r);
}

Test(fields, lookup_returns_the_first_of_duplicates)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;

	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_add_str(&r, TW_FIELD_CWD, "/first");
	rec_add_str(&r, TW_FIELD_CWD, "/second");
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	f = tw_event_field(&ev, TW_FIELD_CWD);
	cr_assert_not_null(f);
	cr_expect_str_eq(f->data, "/first");
	rec_free(&r);
}

/* ---- malformed records -------------------------------------------------- */

Test(malformed, short_header)
{
	struct tw_rec r;

	rec_sample_exec(&r);
	cr_expect_eq(decode_copy(&r, 0), -TW_DECODE_SHORT_HEADER);
	cr_expect_eq(decode_copy(&r, 1), -TW_DECODE_SHORT_HEADER);
	cr_expect_eq(decode_copy(&r, 4), -TW_DECODE_SHORT_HEADER);
	cr_expect_eq(decode_copy(&r, sizeof(struct tw_event_header) - 1), -TW_DECODE_SHORT_HEADER);
	/* even when hdr.size claims exactly the bytes given */
	rec_hdr(&r)->size = sizeof(struct tw_event_header) - 1;
	cr_expect_eq(decode_copy(&r, sizeof(struct tw_event_header) - 1), -TW_DECODE_SHORT_HEADER);
	rec_free(&r);
}

Test(malformed, header_size_disagrees_with_length)
{
	struct tw_rec r;
	const uint32_t more[] = {1, 8, 4096}, less[] = {1, 8, 60};

	rec_sample_exec(&r);
	for (size_t i = 0; i < 3; i++) {
		rec_hdr(&r)->size = (uint32_t)rec_len(&r) + more[i];
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "size len+%u", more[i]);
		rec_hdr(&r)->size = (uint32_t)rec_len(&r) - less[i];
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "size len-%u", less[i]);
	}
	rec_hdr(&r)->size = 0;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_hdr(&r)->size = UINT32_MAX;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_free(&r);

	rec_sample_fork(&r);
	rec_hdr(&r)->size += 1;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_free(&r);

	rec_sample_exit(&r);
	rec_hdr(&r)->size -= 1;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_free(&r);
}

/* Bytes after the last field that vl.size does not account for. */
Test(malformed, trailing_bytes_after_fields)
{
	struct tw_rec r;
	static const char junk[8] = "JUNKJUN";

	for (size_t n = 1; n <= sizeof(junk); n++) {
		rec_sample_exec(&r);
		rec_append_raw(&r, junk, n, 0); /* hdr.size follows, vl.size does not */
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "%zu trailing bytes", n);
		rec_free(&r);
	}
	/* also with no fields at all */
	rec_init(&r, TW_EVENT_PROCESS_EXEC);
	rec_append_raw(&r, junk, 8, 0);
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_free(&r);
}

Test(malformed, unknown_event_type)
{
	struct tw_rec r;
	const uint16_t types[] = {TW_EVENT_NONE, 4, 5, 63, TW_EVENT_TYPE_MAX, 65, 0x8000, 0xFFFF};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		rec_sample_exec(&r);
		rec_hdr(&r)->type = types[i];
		cr_expect_eq(decode_rec(&r), -TW_DECODE_UNKNOWN_TYPE, "type %u", types[i]);
		rec_free(&r);
	}
	/* a header-only record of an unknown type */
	rec_init(&r, 9);
	cr_expect_eq(decode_rec(&r), -TW_DECODE_UNKNOWN_TYPE);
	rec_free(&r);
}

Test(malformed, shorter_than_fixed_part)
{
	const uint32_t types[] = {TW_EVENT_PROCESS_EXEC, TW_EVENT_PROCESS_FORK, TW_EVENT_PROCESS_EXIT};

	for (size_t i = 0; i < 3; i++) {
		size_t fixed = tw_event_fixed_size(types[i]);
		const size_t lens[] = {sizeof(struct tw_event_header), sizeof(struct tw_event_header) + 1,
				       fixed - 8, fixed - 1};
		for (size_t k = 0; k < 4; k++) {
			struct tw_rec r;

			rec_init(&r, types[i]);
			rec_hdr(&r)->size = (uint32_t)lens[k];
			cr_expect_eq(decode_copy(&r, lens[k]), -TW_DECODE_SHORT_FIXED, "type %u len %zu",
				     types[i], lens[k]);
			rec_free(&r);
		}
	}
}

/*
 * A field whose size runs past the end of the record, for the first, middle
 * and last field: a little past, and huge sizes where a careless `data + size`
 * would wrap the pointer around.
 */
Test(malformed, field_size_runs_past_record)
{
	const uint32_t grow[] = {1, 2, 3, 7, 8, 9, 101};
	const uint32_t huge[] = {0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFF8, 0xFFFFFFFF};
	const size_t ngrow = sizeof(grow) / sizeof(grow[0]);
	const size_t nhuge = sizeof(huge) / sizeof(huge[0]);

	for (size_t idx = 0; idx < 5; idx++) {
		for (size_t b = 0; b < ngrow + nhuge; b++) {
			struct tw_rec r;
			struct tw_varlen_field *f;

			rec_sample_exec(&r);
			f = rec_field(&r, idx);
			f->size = b < ngrow ? f->size + grow[b] : huge[b - ngrow];
			cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "field %zu size %#x", idx,
				     f->size);
			rec_free(&r);
		}
	}
	/* the last field exactly one byte too long, as the only field */
	{
		struct tw_rec r;

		rec_init(&r, TW_EVENT_PROCESS_EXEC);
		rec_add_str(&r, TW_FIELD_CWD, "/tmp");
		rec_field(&r, 0)->size += 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN);
		rec_free(&r);
	}
}

/* Shrinking a field desynchronises the walk: a garbage header follows. */
Test(malformed, field_size_too_small_is_rejected)
{
	struct tw_rec r;
	int rc;

	rec_sample_exec(&r);
	rec_field(&r, 0)->size -= 1;
	rc = decode_rec(&r);
	cr_expect(rc == -TW_DECODE_FIELDS_OVERRUN || rc == -TW_DECODE_FIELD_COUNT,
		  "got %d", rc);
	rec_free(&r);
}

Test(malformed, varlen_size_larger_than_remaining)
{
	const uint32_t extra[] = {1, 8, 4096, 0};

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		struct tw_rec r;
		struct tw_varlen_fields *vl;

		rec_sample_exec(&r);
		vl = rec_vl(&r);
		vl->size = extra[i] ? vl->size + extra[i] : UINT32_MAX;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "vl.size %#x", vl->size);
		rec_free(&r);
	}
	/* with no fields: vl.size 1 on a fixed-size record */
	{
		struct tw_rec r;

		rec_init(&r, TW_EVENT_PROCESS_EXEC);
		rec_vl(&r)->size = 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN);
		rec_free(&r);
	}
}

Test(malformed, varlen_size_smaller_than_remaining)
{
	struct tw_rec r;

	rec_sample_exec(&r);
	rec_vl(&r)->size -= 1;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_vl(&r)->size = 0;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_free(&r);
}

Test(malformed, field_count_mismatch)
{
	const uint32_t counts[] = {0, 1, 4, 6, 7, 100, UINT32_MAX};

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct tw_rec r;

		rec_sample_exec(&r);
		cr_assert_eq(rec_vl(&r)->count, 5);
		rec_vl(&r)->count = counts[i];
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELD_COUNT, "count %u", counts[i]);
		rec_free(&r);
	}
	{
		struct tw_rec r;

		rec_init(&r, TW_EVENT_PROCESS_EXEC);
		rec_vl(&r)->count = 1; /* claims a field, has none */
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELD_COUNT);
		rec_free(&r);
	}
}

/* The varlen area ends inside a field header (1..7 of its 8 bytes). */
Test(malformed, field_header_cut_in_the_middle)
{
	const unsigned char partial[8] = {TW_FIELD_ENV, 0, 0, 0, 0, 0, 0, 0};

	for (size_t n = 1; n < sizeof(struct tw_varlen_field); n++) {
		struct tw_rec r;

		rec_sample_exec(&r);
		rec_append_raw(&r, partial, n, 0);
		rec_vl(&r)->size += (uint32_t)n; /* vl.size and hdr.size both cover it */
		rec_vl(&r)->count += 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "%zu header bytes", n);
		/* whatever the count says */
		rec_vl(&r)->count -= 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "%zu header bytes", n);
		rec_free(&r);
	}
	/* only a cut header, no complete field before it */
	{
		struct tw_rec r;

		rec_init(&r, TW_EVENT_PROCESS_EXEC);
		rec_append_raw(&r, partial, 4, 0);
		rec_vl(&r)->size = 4;
		rec_vl(&r)->count = 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN);
		rec_free(&r);
	}
}

/* ---- exhaustive truncation and mutation -------------------------------- */

/* All fields of an accepted record lie inside [buf, buf+len) and add up. */
static void check_accepted(const void *buf, size_t len, const struct tw_event *ev, const char *what)
{
	const char *lo = buf, *hi = lo + len;
	size_t walked = 0;
	uint32_t count = 0;

	cr_assert_eq(ev->hdr, buf, "%s", what);
	cr_assert_eq(ev->len, len, "%s", what);
	cr_assert_eq(ev->hdr->size, len, "%s", what);
	cr_assert_geq(len, tw_event_fixed_size(ev->hdr->type), "%s", what);
	if (!ev->vl) {
		cr_assert_eq(tw_event_varlen_offset(ev->hdr->type), 0, "%s", what);
		return;
	}
	cr_assert_eq((const char *)ev->vl, lo + tw_event_varlen_offset(ev->hdr->type), "%s", what);
	FOR_EACH_VARLEN_FIELD(ev->vl, f) {
		cr_assert_geq((const char *)f, lo, "%s", what);
		cr_assert_leq(f->data + f->size, hi, "%s: field outside the record", what);
		walked += sizeof(*f) + f->size;
		count++;
	}
	cr_assert_eq(walked, ev->vl->size, "%s", what);
	cr_assert_eq(count, ev->vl->count, "%s", what);
	cr_assert_eq(tw_event_fixed_size(ev->hdr->type) + walked, len, "%s", what);
}

/* An accepted record must also render to a complete JSON line. */
static void check_renders(const struct tw_event *ev, const char *what)
{
	struct tw_json j;
	size_t n;
	const char *line;

	tw_json_init(&j);
	tw_event_to_json(&j, ev);
	line = tw_json_finish(&j, &n);
	cr_assert_not_null(line, "%s: rendering failed", what);
	cr_assert_gt(n, 2, "%s", what);
	cr_assert_eq(line[0], '{', "%s", what);
	cr_assert_eq(line[n - 1], '\n', "%s", what);
	cr_assert_null(memchr(line, '\n', n - 1), "%s: newline inside the line", what);
	tw_json_free(&j);
}

static int is_decode_error(int rc)
{
	return rc < 0 && -rc > TW_DECODE_OK && -rc < TW_DECODE_ERROR_MAX;
}

/* Three ways to cut an EXEC at every length L < len, for two EXECs. */
Test(robustness, truncated_exec_at_every_length)
{
	struct tw_rec recs[2];
	const char many[] = "abcdefghijklmnopqrstuvwxyz";

	rec_sample_exec(&recs[0]);
	/* a longer EXEC: more fields, odd sizes, an unknown type, an empty field */
	rec_sample_exec(&recs[1]);
	rec_add_field(&recs[1], TW_FIELD_ENV, 0, "A=1\0B=22\0C=333", 15);
	rec_add_field(&recs[1], 33, TW_FIELD_FLAG_TRUNCATED, many, 5);
	rec_add_str(&recs[1], TW_FIELD_INTERPRETER, "/bin/sh");
	rec_add_field(&recs[1], TW_FIELD_TTY_OUT, 0, many, 0);

	for (int which = 0; which < 2; which++) {
		const struct tw_rec *src = &recs[which];
		const size_t len = rec_len(src);

		for (size_t L = 0; L < len; L++) {
			for (int mode = 0; mode < 3; mode++) {
				unsigned char *copy = malloc(L ? L : 1);
				struct tw_event ev;
				int rc;

				cr_assert_not_null(copy);
				memcpy(copy, src->buf, L);
				/* mode 0: bytes cut only; 1: hdr.size patched to L;
				 * 2: hdr.size and vl.size patched to match L */
				if (mode >= 1 && L >= sizeof(uint32_t)) {
					uint32_t s = (uint32_t)L;
					memcpy(copy, &s, sizeof(s));
				}
				if (mode == 2 && L >= src->fixed) {
					uint32_t s = (uint32_t)(L - src->fixed);
					memcpy(copy + src->vl_off + offsetof(struct tw_varlen_fields, size), &s,
					       sizeof(s));
				}
				rc = tw_event_decode(copy, L, &ev);
				cr_assert(is_decode_error(rc), "record %d cut at %zu/%zu (mode %d): rc %d",
					  which, L, len, mode, rc);
				free(copy);
			}
		}
		/* and the full length still decodes */
		{
			void *copy = rec_dup(src);
			struct tw_event ev;

			cr_assert_eq(tw_event_decode(copy, len, &ev), 0);
			check_accepted(copy, len, &ev, "full record");
			free(copy);
		}
	}
	rec_free(&recs[0]);
	rec_free(&recs[1]);
}

/*
 * Every byte of each sample record set to a few values. The result is either
 * rejected with a proper reason, or accepted with every field in bounds (and
 * then it also renders to JSON).
 */
Test(robustness, every_byte_mutated)
{
	struct tw_rec recs[3];
	char what[96];
	size_t accepted = 0, rejected = 0;

	rec_sample_exec(&recs[0]);
	rec_add_field(&recs[0], 33, 0, "xyz", 3);
	rec_add_field(&recs[0], TW_FIELD_ENV, TW_FIELD_FLAG_TRUNCATED, "A=1\0B", 5);
	rec_sample_fork(&recs[1]);
	rec_sample_exit(&recs[2]);

	for (int k = 0; k < 3; k++) {
		size_t len = rec_len(&recs[k]);

		for (size_t i = 0; i < len; i++) {
			const unsigned char orig = recs[k].buf[i];
			const unsigned char vals[] = {0x00, 0xFF, 0x80, 0x7F, 0x01, (unsigned char)(orig ^ 0x01),
						      (unsigned char)(orig + 1), (unsigned char)(orig - 1)};
			for (size_t v = 0; v < sizeof(vals); v++) {
				unsigned char *copy = rec_dup(&recs[k]);
				struct tw_event ev;
				int rc;

				copy[i] = vals[v];
				snprintf(what, sizeof(what), "record %d byte %zu = %#x", k, i, vals[v]);
				rc = tw_event_decode(copy, len, &ev);
				if (rc == 0) {
					check_accepted(copy, len, &ev, what);
					ev.ts_realtime_ns = 1700000000123456789ull;
					check_renders(&ev, what);
					accepted++;
				} else {
					cr_assert(is_decode_error(rc), "%s: rc %d", what, rc);
					rejected++;
				}
				free(copy);
			}
		}
	}
	/* the mutations must exercise both outcomes */
	cr_expect_gt(accepted, 0);
	cr_expect_gt(rejected, 0);
	for (int k = 0; k < 3; k++)
		rec_free(&recs[k]);
}

/* Two records back to back in one buffer: each decodes on its own length,
 * and the first one with the second as its tail is rejected. */
Test(robustness, decode_uses_only_len_bytes)
{
	struct tw_rec a, b;
	unsigned char *buf;
	struct tw_event ev;
	size_t la, lb;

	rec_sample_exec(&a);
	rec_sample_fork(&b);
	la = rec_len(&a);
	lb = rec_len(&b);
	la = (la + 7) & ~(size_t)7;
	buf = calloc(1, la + lb);
	cr_assert_not_null(buf);
	memcpy(buf, a.buf, rec_len(&a));
	memcpy(buf + la, b.buf, lb);
	/* the EXEC with the following FORK counted as trailing bytes */
	cr_expect_eq(tw_event_decode(buf, la + lb, &ev), -TW_DECODE_SIZE_MISMATCH);
	cr_expect_eq(tw_event_decode(buf, rec_len(&a), &ev), 0);
	cr_expect_eq(tw_event_decode(buf + la, lb, &ev), 0);
	free(buf);
	rec_free(&a);
	rec_free(&b);
}
