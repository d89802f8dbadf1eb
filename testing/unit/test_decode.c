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


/*
 * Valid records of the file and tty types, each with the fields its kind of
 * event carries (docs/events.md, 5): sample_new(i, r) for i < N_NEW_SAMPLES.
 */
struct new_sample {
	uint32_t type, op;
	struct {
		uint16_t type;
		const char *s;
	} fields[3];
};

static const struct new_sample new_samples[] = {
	{TW_EVENT_FILE_CREATE, TW_FILE_OP_OPENAT, {{TW_FIELD_PATH, "/tmp/docdemo/a.txt"}}},
	{TW_EVENT_FILE_CREATE,
	 TW_FILE_OP_SYMLINKAT,
	 {{TW_FIELD_SYMLINK_TARGET, "../b.txt"}, {TW_FIELD_PATH, "/tmp/docdemo/sub/lnk"}}},
	{TW_EVENT_FILE_CREATE,
	 TW_FILE_OP_LINKAT,
	 {{TW_FIELD_LINK_SOURCE, "/tmp/docdemo/b.txt"}, {TW_FIELD_PATH, "/tmp/docdemo/hard.txt"}}},
	{TW_EVENT_FILE_DELETE, TW_FILE_OP_UNLINKAT, {{TW_FIELD_PATH, "/tmp/docdemo/x"}}},
	{TW_EVENT_FILE_RENAME,
	 TW_FILE_OP_RENAMEAT2,
	 {{TW_FIELD_OLD_PATH, "/tmp/docdemo/c.txt"}, {TW_FIELD_NEW_PATH, "/tmp/docdemo/sub/d.txt"}}},
	{TW_EVENT_FILE_MODIFY, TW_FILE_OP_PWRITE64, {{TW_FIELD_PATH, "/var/log/app.log"}}},
	{TW_EVENT_FILE_SHMEM_OPEN, TW_FILE_OP_OPENAT, {{TW_FIELD_PATH, "/dev/shm/seg"}}},
	{TW_EVENT_PROCESS_TTY_WRITE, 0, {{TW_FIELD_TTY_OUT, NULL}}},
};
#define N_NEW_SAMPLES (sizeof(new_samples) / sizeof(new_samples[0]))

/* Terminal output with an escape sequence, bytes that are not UTF-8 and a NUL. */
static const char tty_bytes[] = "hello \033[1;31mtty\033[0m \xff\xfe\0end\r\n";
#define TTY_BYTES_LEN ((uint32_t)(sizeof(tty_bytes) - 1))

static size_t sample_nfields(size_t i)
{
	size_t n = 0;

	while (n < 3 && new_samples[i].fields[n].type)
		n++;
	return n;
}

static void sample_new(size_t i, struct tw_rec *r)
{
	const struct new_sample *s = &new_samples[i];

	if (s->type == TW_EVENT_PROCESS_TTY_WRITE) {
		rec_sample_tty(r, tty_bytes, TTY_BYTES_LEN);
		return;
	}
	rec_sample_file(r, s->type, s->op);
	if (s->type == TW_EVENT_FILE_MODIFY) {
		rec_file(r)->change = TW_FILE_CHANGE_CONTENT;
		rec_file(r)->writes = 3;
	}
	for (size_t k = 0; k < sample_nfields(i); k++)
		rec_add_str(r, s->fields[k].type, s->fields[k].s);
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
	cr_expect_eq(sizeof(struct tw_creds), 40);
	cr_expect_eq(sizeof(struct tw_tty), 8);
	cr_expect_eq(sizeof(struct tw_file_info), 64);
	cr_expect_eq(sizeof(struct tw_file_event), 208);
	cr_expect_eq(offsetof(struct tw_file_event, file), 136);
	cr_expect_eq(offsetof(struct tw_file_event, vl), 200);
	cr_expect_eq(sizeof(struct tw_tty_write), 136);
	cr_expect_eq(offsetof(struct tw_tty_write, orig_len), 96);
	cr_expect_eq(offsetof(struct tw_tty_write, vl), 128);
	cr_expect_eq(sizeof(struct tw_kernel_stats), 7 * sizeof(uint64_t));
	/* the varlen head is the very last member, without tail padding */
	cr_expect_eq(offsetof(struct tw_process_exec, vl) + sizeof(struct tw_varlen_fields),
		     sizeof(struct tw_process_exec));
	cr_expect_eq(offsetof(struct tw_file_event, vl) + sizeof(struct tw_varlen_fields),
		     sizeof(struct tw_file_event));
	cr_expect_eq(offsetof(struct tw_tty_write, vl) + sizeof(struct tw_varlen_fields),
		     sizeof(struct tw_tty_write));
}

Test(layout, fixed_size_and_varlen_offset)
{
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_EXEC), sizeof(struct tw_process_exec));
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_FORK), sizeof(struct tw_process_fork));
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_EXIT), sizeof(struct tw_process_exit));
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_EXEC), offsetof(struct tw_process_exec, vl));
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_FORK), 0);
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_EXIT), 0);
	for (uint32_t t = TW_EVENT_FILE_CREATE; t <= TW_EVENT_FILE_SHMEM_OPEN; t++) {
		cr_expect_eq(tw_event_fixed_size(t), sizeof(struct tw_file_event), "type %u", t);
		cr_expect_eq(tw_event_varlen_offset(t), offsetof(struct tw_file_event, vl), "type %u", t);
	}
	cr_expect_eq(tw_event_fixed_size(TW_EVENT_PROCESS_TTY_WRITE), sizeof(struct tw_tty_write));
	cr_expect_eq(tw_event_varlen_offset(TW_EVENT_PROCESS_TTY_WRITE), offsetof(struct tw_tty_write, vl));

	/* 24..63 are reserved, not known */
	const uint32_t unknown[] = {TW_EVENT_NONE, TW_EVENT_NETWORK_DNS + 1, 40, TW_EVENT_TYPE_MAX - 1,
				    TW_EVENT_TYPE_MAX, 65, 0xFFFF, UINT32_MAX};
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
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_FILE_CREATE), "FILE_CREATE");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_FILE_DELETE), "FILE_DELETE");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_FILE_RENAME), "FILE_RENAME");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_FILE_MODIFY), "FILE_MODIFY");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_FILE_SHMEM_OPEN), "FILE_SHMEM_OPEN");
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_PROCESS_TTY_WRITE), "PROCESS_TTY_WRITE");
	cr_expect_null(tw_event_type_name(TW_EVENT_NONE));
	cr_expect_null(tw_event_type_name(TW_EVENT_NETWORK_DNS + 1));
	cr_expect_null(tw_event_type_name(TW_EVENT_TYPE_MAX - 1));
	cr_expect_null(tw_event_type_name(TW_EVENT_TYPE_MAX));
	cr_expect_null(tw_event_type_name(UINT32_MAX));

	cr_expect_eq(tw_event_type_from_name("PROCESS_EXEC"), TW_EVENT_PROCESS_EXEC);
	cr_expect_eq(tw_event_type_from_name("process_fork"), TW_EVENT_PROCESS_FORK);
	cr_expect_eq(tw_event_type_from_name("Process_Exit"), TW_EVENT_PROCESS_EXIT);
	cr_expect_eq(tw_event_type_from_name("file_create"), TW_EVENT_FILE_CREATE);
	cr_expect_eq(tw_event_type_from_name("FILE_DELETE"), TW_EVENT_FILE_DELETE);
	cr_expect_eq(tw_event_type_from_name("File_Rename"), TW_EVENT_FILE_RENAME);
	cr_expect_eq(tw_event_type_from_name("FILE_MODIFY"), TW_EVENT_FILE_MODIFY);
	cr_expect_eq(tw_event_type_from_name("file_shmem_open"), TW_EVENT_FILE_SHMEM_OPEN);
	cr_expect_eq(tw_event_type_from_name("PROCESS_TTY_WRITE"), TW_EVENT_PROCESS_TTY_WRITE);
	cr_expect_eq(tw_event_type_from_name("FILE"), -1);
	cr_expect_eq(tw_event_type_from_name("FILE_SHMEM"), -1);
	cr_expect_eq(tw_event_type_from_name("TTY_WRITE"), -1);
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
		{TW_FIELD_INTERPRETER, "interpreter"}, {TW_FIELD_LINK_SOURCE, "link_source"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		cr_expect_str_eq(tw_field_type_name(known[i].type), known[i].name);
	cr_expect_null(tw_field_type_name(TW_FIELD_NONE));
	cr_expect_str_eq(tw_field_type_name(TW_FIELD_MEMFD_NAME), "memfd_name");
	cr_expect_str_eq(tw_field_type_name(TW_FIELD_MODULE_SRCVERSION), "module_srcversion");
	cr_expect_str_eq(tw_field_type_name(TW_FIELD_DNS_PACKET), "dns_packet");
	cr_expect_null(tw_field_type_name(TW_FIELD_DNS_PACKET + 1));
	cr_expect_null(tw_field_type_name(TW_FIELD_TYPE_MAX - 1));
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

/* ---- file and tty records ---------------------------------------------- */

/* Every file event kind with its path fields: all found, in place, nothing else. */
Test(decode, file_events_with_their_fields)
{
	static const uint16_t path_fields[] = {TW_FIELD_PATH, TW_FIELD_OLD_PATH, TW_FIELD_NEW_PATH,
					       TW_FIELD_SYMLINK_TARGET, TW_FIELD_LINK_SOURCE};

	for (size_t i = 0; i < N_NEW_SAMPLES; i++) {
		const struct new_sample *s = &new_samples[i];
		const struct tw_file_event *e;
		struct tw_rec r;
		struct tw_event ev;
		size_t n = sample_nfields(i), want_len = sizeof(struct tw_file_event);

		if (s->type == TW_EVENT_PROCESS_TTY_WRITE)
			continue;
		sample_new(i, &r);
		for (size_t k = 0; k < n; k++)
			want_len += sizeof(struct tw_varlen_field) + strlen(s->fields[k].s) + 1;
		cr_assert_eq(rec_len(&r), want_len, "sample %zu", i);
		memset(&ev, 0xA5, sizeof(ev));
		cr_assert_eq(decode_rec(&r), 0, "sample %zu", i);
		cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0, "sample %zu", i);
		cr_expect_eq(ev.hdr, rec_data(&r));
		cr_expect_eq(ev.len, want_len);
		cr_expect_eq(ev.ts_realtime_ns, 0);
		cr_assert_eq((const void *)ev.vl, (const void *)rec_vl(&r), "sample %zu", i);
		cr_expect_eq((const char *)ev.vl - (const char *)ev.hdr, 200);
		cr_expect_eq(ev.vl->count, n, "sample %zu", i);

		e = (const struct tw_file_event *)ev.hdr;
		cr_expect_eq(e->hdr.type, s->type);
		cr_expect_eq(e->op, s->op);
		cr_expect_eq(e->mnt_ns, REC_MNT_NS);
		cr_expect_eq(e->creds.euid, REC_EUID);
		cr_expect_eq(e->file.present, 1);
		cr_expect_eq(e->file.inode, REC_FILE_INODE);
		cr_expect_eq(e->file.ctime_ns, REC_FILE_CTIME);
		cr_expect_str_eq(e->comm, REC_FILE_COMM);

		for (size_t p = 0; p < sizeof(path_fields) / sizeof(path_fields[0]); p++) {
			const struct tw_varlen_field *f = tw_event_field(&ev, path_fields[p]);
			size_t k;

			for (k = 0; k < n && s->fields[k].type != path_fields[p]; k++)
				;
			if (k == n) {
				cr_expect_null(f, "sample %zu: field %u should be absent", i, path_fields[p]);
				continue;
			}
			cr_assert_not_null(f, "sample %zu: field %u missing", i, path_fields[p]);
			cr_expect_eq(f, rec_field(&r, k), "sample %zu: field %u", i, path_fields[p]);
			cr_expect_eq(f->flags, 0);
			cr_expect_eq(f->size, strlen(s->fields[k].s) + 1);
			cr_expect_arr_eq(f->data, s->fields[k].s, f->size);
		}
		cr_expect_null(tw_event_field(&ev, TW_FIELD_TTY_OUT));
		rec_free(&r);
	}
}

Test(decode, file_event_without_fields)
{
	for (uint32_t t = TW_EVENT_FILE_CREATE; t <= TW_EVENT_FILE_SHMEM_OPEN; t++) {
		struct tw_rec r;
		struct tw_event ev;
		int n = 0;

		rec_sample_file(&r, t, TW_FILE_OP_OPENAT);
		rec_file(&r)->file.present = 0;
		cr_assert_eq(rec_len(&r), sizeof(struct tw_file_event));
		cr_assert_eq(decode_rec(&r), 0, "type %u", t);
		cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
		cr_assert_not_null(ev.vl, "type %u", t);
		cr_expect_eq(ev.vl->count, 0);
		cr_expect_eq(ev.vl->size, 0);
		cr_expect_null(tw_event_field(&ev, TW_FIELD_PATH));
		FOR_EACH_VARLEN_FIELD(ev.vl, f) {
			(void)f;
			n++;
		}
		cr_expect_eq(n, 0);
		rec_free(&r);
	}
}

/* A truncated path, an unknown field type and an empty field are all accepted. */
Test(decode, file_event_odd_fields)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;

	rec_sample_file(&r, TW_EVENT_FILE_RENAME, TW_FILE_OP_RENAME);
	rec_add_field(&r, TW_FIELD_OLD_PATH, TW_FIELD_FLAG_TRUNCATED, "/D200/D2", 8); /* no NUL */
	rec_add_field(&r, 60, 0, "\x01\x02\x03", 3);
	rec_add_field(&r, TW_FIELD_NEW_PATH, 0, NULL, 0);
	cr_assert_eq(decode_rec(&r), 0);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_eq(ev.vl->count, 3);
	f = tw_event_field(&ev, TW_FIELD_OLD_PATH);
	cr_assert_not_null(f);
	cr_expect_eq(f->flags, TW_FIELD_FLAG_TRUNCATED);
	cr_expect_eq(f->size, 8);
	f = tw_event_field(&ev, TW_FIELD_NEW_PATH);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 2));
	cr_expect_eq(f->size, 0);
	rec_free(&r);
}

Test(decode, tty_write)
{
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_tty_write *w;
	const struct tw_varlen_field *f;

	rec_sample_tty(&r, tty_bytes, TTY_BYTES_LEN);
	rec_tty(&r)->dropped_bytes = 12345;
	cr_assert_eq(rec_len(&r), sizeof(struct tw_tty_write) + sizeof(struct tw_varlen_field) + TTY_BYTES_LEN);
	cr_assert_eq(decode_rec(&r), 0);
	memset(&ev, 0xA5, sizeof(ev));
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_expect_eq(ev.hdr, rec_data(&r));
	cr_expect_eq(ev.len, rec_len(&r));
	cr_expect_eq(ev.ts_realtime_ns, 0);
	cr_assert_eq((const void *)ev.vl, (const void *)rec_vl(&r));
	cr_expect_eq((const char *)ev.vl - (const char *)ev.hdr, 128);
	cr_expect_eq(ev.vl->count, 1);

	w = (const struct tw_tty_write *)ev.hdr;
	cr_expect_eq(w->hdr.type, TW_EVENT_PROCESS_TTY_WRITE);
	cr_expect_eq(w->tty.major, REC_TTY_MAJOR);
	cr_expect_eq(w->tty.minor, REC_TTY_MINOR);
	cr_expect_eq(w->ctty.rows, REC_TTY_ROWS);
	cr_expect_eq(w->flags, TW_TTY_FLAG_PTY_SLAVE);
	cr_expect_eq(w->lflag, REC_TTY_LFLAG);
	cr_expect_eq(w->orig_len, TTY_BYTES_LEN);
	cr_expect_eq(w->dropped_bytes, 12345);
	cr_expect_str_eq(w->comm, REC_TTY_COMM);

	/* raw bytes, NUL, ESC and 0xff included, exactly as written */
	f = tw_event_field(&ev, TW_FIELD_TTY_OUT);
	cr_assert_not_null(f);
	cr_expect_eq(f, rec_field(&r, 0));
	cr_expect_eq(f->size, TTY_BYTES_LEN);
	cr_expect_arr_eq(f->data, tty_bytes, TTY_BYTES_LEN);
	cr_expect_null(tw_event_field(&ev, TW_FIELD_PATH));
	rec_free(&r);
}

/* Output cut at its 8 KiB cap, an empty output and no output field at all. */
Test(decode, tty_write_cap_empty_and_absent_output)
{
	unsigned char *big = malloc(TW_CAP_TTY_OUT);
	struct tw_rec r;
	struct tw_event ev;
	const struct tw_varlen_field *f;

	cr_assert_not_null(big);
	for (size_t i = 0; i < TW_CAP_TTY_OUT; i++)
		big[i] = (unsigned char)(i * 7);
	rec_sample_tty(&r, big, TW_CAP_TTY_OUT);
	rec_field(&r, 0)->flags = TW_FIELD_FLAG_TRUNCATED;
	rec_tty(&r)->orig_len = 20480;
	cr_assert_eq(decode_rec(&r), 0);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	f = tw_event_field(&ev, TW_FIELD_TTY_OUT);
	cr_assert_not_null(f);
	cr_expect_eq(f->size, TW_CAP_TTY_OUT);
	cr_expect_eq(f->flags, TW_FIELD_FLAG_TRUNCATED);
	cr_expect_arr_eq(f->data, big, TW_CAP_TTY_OUT);
	rec_free(&r);
	free(big);

	rec_sample_tty(&r, "", 0);
	cr_assert_eq(decode_rec(&r), 0);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	f = tw_event_field(&ev, TW_FIELD_TTY_OUT);
	cr_assert_not_null(f, "an empty TTY_OUT field is still a field");
	cr_expect_eq(f->size, 0);
	rec_free(&r);

	rec_sample_tty(&r, NULL, 0);
	cr_assert_eq(rec_len(&r), sizeof(struct tw_tty_write));
	cr_assert_eq(decode_rec(&r), 0);
	cr_assert_eq(tw_event_decode(rec_data(&r), rec_len(&r), &ev), 0);
	cr_assert_not_null(ev.vl);
	cr_expect_eq(ev.vl->count, 0);
	cr_expect_null(tw_event_field(&ev, TW_FIELD_TTY_OUT));
	rec_free(&r);
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
	const uint16_t types[] = {TW_EVENT_NONE,         TW_EVENT_NETWORK_DNS + 1, 40, 63,
				  TW_EVENT_TYPE_MAX,     65, 0x8000, 0xFFFF};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		rec_sample_exec(&r);
		rec_hdr(&r)->type = types[i];
		cr_expect_eq(decode_rec(&r), -TW_DECODE_UNKNOWN_TYPE, "type %u", types[i]);
		rec_free(&r);
	}
	/* a header-only record of an unknown type */
	rec_init(&r, TW_EVENT_TYPE_MAX - 1);
	cr_expect_eq(decode_rec(&r), -TW_DECODE_UNKNOWN_TYPE);
	rec_free(&r);
}

Test(malformed, shorter_than_fixed_part)
{
	const uint32_t types[] = {TW_EVENT_PROCESS_EXEC, TW_EVENT_PROCESS_FORK,     TW_EVENT_PROCESS_EXIT,
				  TW_EVENT_FILE_CREATE,  TW_EVENT_FILE_DELETE,      TW_EVENT_FILE_RENAME,
				  TW_EVENT_FILE_MODIFY,  TW_EVENT_FILE_SHMEM_OPEN, TW_EVENT_PROCESS_TTY_WRITE};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
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

/* ---- malformed file and tty records ------------------------------------ */

Test(malformed, new_types_header_size_disagrees)
{
	for (size_t i = 0; i < N_NEW_SAMPLES; i++) {
		const int32_t deltas[] = {1, -1, 8, -8, 4096};

		for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
			struct tw_rec r;

			sample_new(i, &r);
			rec_hdr(&r)->size = (uint32_t)((int64_t)rec_len(&r) + deltas[d]);
			cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "sample %zu size %+d", i,
				     deltas[d]);
			rec_free(&r);
		}
	}
}

Test(malformed, new_types_trailing_bytes)
{
	static const char junk[8] = "JUNKJUN";

	for (size_t i = 0; i < N_NEW_SAMPLES; i++)
		for (size_t n = 1; n <= sizeof(junk); n++) {
			struct tw_rec r;

			sample_new(i, &r);
			rec_append_raw(&r, junk, n, 0);
			cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "sample %zu, %zu bytes", i, n);
			rec_free(&r);
		}
}

Test(malformed, new_types_shorter_than_fixed_part)
{
	for (size_t i = 0; i < N_NEW_SAMPLES; i++) {
		struct tw_rec r;
		size_t fixed;

		sample_new(i, &r);
		fixed = tw_event_fixed_size(new_samples[i].type);
		cr_assert_gt(fixed, 0);
		for (size_t L = sizeof(struct tw_event_header); L < fixed; L += 4) {
			rec_hdr(&r)->size = (uint32_t)L;
			cr_expect_eq(decode_copy(&r, L), -TW_DECODE_SHORT_FIXED, "sample %zu len %zu", i, L);
		}
		rec_hdr(&r)->size = (uint32_t)(fixed - 1);
		cr_expect_eq(decode_copy(&r, fixed - 1), -TW_DECODE_SHORT_FIXED, "sample %zu", i);
		rec_free(&r);
	}
}

Test(malformed, new_types_field_runs_past_record)
{
	const uint32_t bad[] = {1, 2, 7, 8, 9, 0x7FFFFFFF, 0xFFFFFFF8, 0xFFFFFFFF};

	for (size_t i = 0; i < N_NEW_SAMPLES; i++)
		for (size_t k = 0; k < sample_nfields(i); k++)
			for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
				struct tw_rec r;
				struct tw_varlen_field *f;

				sample_new(i, &r);
				f = rec_field(&r, k);
				f->size = bad[b] < 0x100 ? f->size + bad[b] : bad[b];
				cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN,
					     "sample %zu field %zu size %#x", i, k, f->size);
				rec_free(&r);
			}
}

Test(malformed, new_types_varlen_size_wrong)
{
	for (size_t i = 0; i < N_NEW_SAMPLES; i++) {
		struct tw_rec r;

		sample_new(i, &r);
		rec_vl(&r)->size += 1;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "sample %zu vl.size+1", i);
		rec_vl(&r)->size = UINT32_MAX;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "sample %zu vl.size max", i);
		rec_vl(&r)->size = (uint32_t)(rec_len(&r) - r.fixed - 1);
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "sample %zu vl.size-1", i);
		rec_vl(&r)->size = 0;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH, "sample %zu vl.size 0", i);
		rec_free(&r);
	}
}

Test(malformed, new_types_field_count_wrong)
{
	for (size_t i = 0; i < N_NEW_SAMPLES; i++) {
		const uint32_t n = (uint32_t)sample_nfields(i);
		const uint32_t counts[] = {0, n - 1, n + 1, UINT32_MAX};

		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			struct tw_rec r;

			if (counts[c] == n) /* n - 1 wraps for no fields; never the right count */
				continue;
			sample_new(i, &r);
			cr_assert_eq(rec_vl(&r)->count, n);
			rec_vl(&r)->count = counts[c];
			cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELD_COUNT, "sample %zu count %u", i,
				     counts[c]);
			rec_free(&r);
		}
	}
}

Test(malformed, new_types_field_header_cut)
{
	const unsigned char partial[8] = {TW_FIELD_PATH, 0, 0, 0, 0, 0, 0, 0};

	for (size_t i = 0; i < N_NEW_SAMPLES; i++)
		for (size_t n = 1; n < sizeof(struct tw_varlen_field); n++) {
			struct tw_rec r;

			sample_new(i, &r);
			rec_append_raw(&r, partial, n, 0);
			rec_vl(&r)->size += (uint32_t)n;
			rec_vl(&r)->count += 1;
			cr_expect_eq(decode_rec(&r), -TW_DECODE_FIELDS_OVERRUN, "sample %zu, %zu bytes", i, n);
			rec_free(&r);
		}
}

/*
 * A record whose type number is changed to another known type is read with
 * that type's layout: the size checks must catch every mismatch that would
 * put fields outside the record.
 */
Test(malformed, type_relabelled_to_another_layout)
{
	struct tw_rec r;

	/* FORK (104) and EXIT (88) are shorter than a file event or a tty write */
	rec_sample_fork(&r);
	rec_hdr(&r)->type = TW_EVENT_FILE_CREATE;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SHORT_FIXED);
	rec_hdr(&r)->type = TW_EVENT_PROCESS_TTY_WRITE;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SHORT_FIXED);
	rec_free(&r);
	rec_sample_exit(&r);
	rec_hdr(&r)->type = TW_EVENT_PROCESS_TTY_WRITE;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SHORT_FIXED);
	rec_free(&r);

	/* a tty write without fields (136 bytes) is shorter than a file event (208) */
	rec_sample_tty(&r, NULL, 0);
	for (uint32_t t = TW_EVENT_FILE_CREATE; t <= TW_EVENT_FILE_SHMEM_OPEN; t++) {
		rec_hdr(&r)->type = (uint16_t)t;
		cr_expect_eq(decode_rec(&r), -TW_DECODE_SHORT_FIXED, "as type %u", t);
	}
	rec_free(&r);

	/* a file event without fields read as a tty write: its varlen head lands in the
	 * zeroed tail of comm (count 0, size 0) and 72 bytes are unaccounted for */
	rec_sample_file(&r, TW_EVENT_FILE_DELETE, TW_FILE_OP_UNLINK);
	rec_hdr(&r)->type = TW_EVENT_PROCESS_TTY_WRITE;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	/* a file event without fields as a FORK or EXIT: bytes past their fixed part */
	rec_hdr(&r)->type = TW_EVENT_PROCESS_FORK;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	rec_hdr(&r)->type = TW_EVENT_PROCESS_EXIT;
	cr_expect_eq(decode_rec(&r), -TW_DECODE_SIZE_MISMATCH);
	/* among the file types the layout is the same: relabelling is accepted */
	for (uint32_t t = TW_EVENT_FILE_CREATE; t <= TW_EVENT_FILE_SHMEM_OPEN; t++) {
		rec_hdr(&r)->type = (uint16_t)t;
		cr_expect_eq(decode_rec(&r), 0, "as type %u", t);
	}
	rec_free(&r);
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

/* Three ways to cut a record at every length L < len: two EXECs, a FILE_RENAME
 * with two paths, a FILE_CREATE of a hard link and a TTY_WRITE. */
Test(robustness, truncated_at_every_length)
{
	struct tw_rec recs[5];
	const char many[] = "abcdefghijklmnopqrstuvwxyz";

	rec_sample_exec(&recs[0]);
	/* a longer EXEC: more fields, odd sizes, an unknown type, an empty field */
	rec_sample_exec(&recs[1]);
	rec_add_field(&recs[1], TW_FIELD_ENV, 0, "A=1\0B=22\0C=333", 15);
	rec_add_field(&recs[1], 33, TW_FIELD_FLAG_TRUNCATED, many, 5);
	rec_add_str(&recs[1], TW_FIELD_INTERPRETER, "/bin/sh");
	rec_add_field(&recs[1], TW_FIELD_TTY_OUT, 0, many, 0);
	sample_new(4, &recs[2]); /* FILE_RENAME */
	sample_new(2, &recs[3]); /* FILE_CREATE by linkat */
	sample_new(N_NEW_SAMPLES - 1, &recs[4]); /* PROCESS_TTY_WRITE */
	cr_assert_eq(recs[2].type, TW_EVENT_FILE_RENAME);
	cr_assert_eq(recs[3].type, TW_EVENT_FILE_CREATE);
	cr_assert_eq(recs[4].type, TW_EVENT_PROCESS_TTY_WRITE);

	for (int which = 0; which < 5; which++) {
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
	for (int which = 0; which < 5; which++)
		rec_free(&recs[which]);
}

/*
 * Every byte of each sample record set to a few values. The result is either
 * rejected with a proper reason, or accepted with every field in bounds (and
 * then it also renders to JSON).
 */
Test(robustness, every_byte_mutated)
{
	struct tw_rec recs[3 + N_NEW_SAMPLES];
	const int nrecs = (int)(sizeof(recs) / sizeof(recs[0]));
	char what[96];
	size_t accepted = 0, rejected = 0;

	rec_sample_exec(&recs[0]);
	rec_add_field(&recs[0], 33, 0, "xyz", 3);
	rec_add_field(&recs[0], TW_FIELD_ENV, TW_FIELD_FLAG_TRUNCATED, "A=1\0B", 5);
	rec_sample_fork(&recs[1]);
	rec_sample_exit(&recs[2]);
	for (size_t i = 0; i < N_NEW_SAMPLES; i++)
		sample_new(i, &recs[3 + i]);
	/* MODIFY with the on-close flag, a rename with all its flags, a master-side tty write */
	rec_file(&recs[3 + 5])->flags = TW_FILE_FLAG_ON_CLOSE;
	rec_file(&recs[3 + 4])->flags = TW_FILE_FLAG_RENAME_EXCHANGE | TW_FILE_FLAG_RENAME_WHITEOUT;
	rec_tty(&recs[nrecs - 1])->flags = TW_TTY_FLAG_PTY_MASTER;
	rec_tty(&recs[nrecs - 1])->tty.major = 128;

	for (int k = 0; k < nrecs; k++) {
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
	for (int k = 0; k < nrecs; k++)
		rec_free(&recs[k]);
}

/*
 * Every sample record relabelled as every event type, known or not: rejected
 * with a reason, or accepted with its fields in bounds and renderable.
 */
Test(robustness, every_record_as_every_type)
{
	struct tw_rec recs[3 + N_NEW_SAMPLES];
	const int nrecs = (int)(sizeof(recs) / sizeof(recs[0]));
	char what[96];
	size_t accepted = 0;

	rec_sample_exec(&recs[0]);
	rec_sample_fork(&recs[1]);
	rec_sample_exit(&recs[2]);
	for (size_t i = 0; i < N_NEW_SAMPLES; i++)
		sample_new(i, &recs[3 + i]);
	for (int k = 0; k < nrecs; k++)
		for (uint32_t t = 0; t <= TW_EVENT_TYPE_MAX; t++) {
			unsigned char *copy = rec_dup(&recs[k]);
			struct tw_event ev;
			uint16_t t16 = (uint16_t)t;
			int rc;

			memcpy(copy + offsetof(struct tw_event_header, type), &t16, sizeof(t16));
			snprintf(what, sizeof(what), "record %d as type %u", k, t);
			rc = tw_event_decode(copy, rec_len(&recs[k]), &ev);
			if (rc == 0) {
				cr_assert_not_null(tw_event_type_name(t), "%s: unknown type accepted", what);
				check_accepted(copy, rec_len(&recs[k]), &ev, what);
				ev.ts_realtime_ns = 1;
				check_renders(&ev, what);
				accepted++;
			} else {
				cr_assert(is_decode_error(rc), "%s: rc %d", what, rc);
				if (!tw_event_type_name(t))
					cr_expect_eq(rc, -TW_DECODE_UNKNOWN_TYPE, "%s", what);
			}
			free(copy);
		}
	/* at least each record as its own type */
	cr_expect_geq(accepted, (size_t)nrecs);
	for (int k = 0; k < nrecs; k++)
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
