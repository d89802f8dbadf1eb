// SPDX-License-Identifier: Apache-2.0
/*
 * Builder for synthetic tracewire wire records, shared by the unit tests.
 *
 *     struct tw_rec r;
 *     rec_init(&r, TW_EVENT_PROCESS_EXEC);        // header + zeroed fixed part
 *     rec_exec(&r)->cgroup_id = 42;               // fill the fixed part
 *     rec_add_str(&r, TW_FIELD_FILENAME, "/bin/ls"); // string field with its NUL
 *     rec_add_field(&r, TW_FIELD_ARGV, 0, "ls\0-l", 6);
 *     tw_event_decode(rec_data(&r), rec_len(&r), &ev);
 *     rec_free(&r);
 *
 * Every rec_add_* keeps hdr.size, vl.count and vl.size consistent, so the
 * result is always a valid record that tests can then corrupt on purpose.
 * The buffer is heap-allocated (malloc alignment, >= 8) and may move when a
 * field is appended: take rec_hdr()/rec_exec()/... pointers AFTER adding
 * fields, or re-take them.
 */
#ifndef TW_TEST_RECORDS_H
#define TW_TEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "tracewire_decode.h"

#define REC_MAX_FIELDS 64

struct tw_rec {
	unsigned char *buf;
	size_t len, cap;
	uint32_t type;
	size_t fixed;                        /* fixed size of the type (0: unknown type) */
	size_t vl_off;                       /* offset of struct tw_varlen_fields, 0: none */
	size_t nfields;
	size_t field_off[REC_MAX_FIELDS];    /* byte offset of each field header */
};

/*
 * Start a record of a known event type: zeroed fixed part, hdr.type and
 * hdr.size set, and recognisable non-zero header values (see REC_* below).
 */
void rec_init(struct tw_rec *r, uint32_t type);
void rec_free(struct tw_rec *r);

static inline void *rec_data(const struct tw_rec *r) { return r->buf; }
static inline size_t rec_len(const struct tw_rec *r) { return r->len; }

static inline struct tw_event_header *rec_hdr(struct tw_rec *r)
{
	return (struct tw_event_header *)r->buf;
}
static inline struct tw_process_exec *rec_exec(struct tw_rec *r)
{
	return (struct tw_process_exec *)r->buf;
}
static inline struct tw_process_fork *rec_fork(struct tw_rec *r)
{
	return (struct tw_process_fork *)r->buf;
}
static inline struct tw_process_exit *rec_exit(struct tw_rec *r)
{
	return (struct tw_process_exit *)r->buf;
}
static inline struct tw_file_event *rec_file(struct tw_rec *r)
{
	return (struct tw_file_event *)r->buf;
}
static inline struct tw_tty_write *rec_tty(struct tw_rec *r)
{
	return (struct tw_tty_write *)r->buf;
}
/* The varlen head of an EXEC, FILE_* or TTY_WRITE record (NULL for types without one). */
static inline struct tw_varlen_fields *rec_vl(struct tw_rec *r)
{
	return r->vl_off ? (struct tw_varlen_fields *)(r->buf + r->vl_off) : NULL;
}

/* Append one field (header + size bytes of data); updates the sizes and count. */
void rec_add_field(struct tw_rec *r, uint16_t type, uint16_t flags, const void *data, uint32_t size);
/* Append a C string field including its terminating NUL. */
void rec_add_str(struct tw_rec *r, uint16_t type, const char *s);

/* Field header number i (in append order), for corrupting it. */
static inline struct tw_varlen_field *rec_field(struct tw_rec *r, size_t i)
{
	return (struct tw_varlen_field *)(r->buf + r->field_off[i]);
}

/*
 * Append raw bytes to the record. hdr.size follows (unless keep_hdr_size),
 * vl.count and vl.size do NOT: for trailing-garbage and cut-field cases.
 */
void rec_append_raw(struct tw_rec *r, const void *data, size_t n, int keep_hdr_size);

/* Exact-size heap copy of the record (so ASan sees any overread). */
void *rec_dup(const struct tw_rec *r);

/* Header values rec_init() puts into every record. */
#define REC_CPU 3
#define REC_TS_MONO 1111111111ull
#define REC_TS_BOOT 2222222222ull
#define REC_PID 4242
#define REC_TID 4243
#define REC_PPID 4000
#define REC_PGID 4100
#define REC_SID 4200
#define REC_NS_PID 7
#define REC_START_TIME 3333333333ull

/*
 * A typical EXEC record: comm "ls", FILENAME "/bin/ls", EXE_PATH
 * "/usr/bin/ls", ARGV "ls\0-l\0/tmp\0", CWD "/home/user", CGROUP_PATH
 * "/user.slice", in that order (5 fields).
 */
void rec_sample_exec(struct tw_rec *r);
/* FORK with parent pids 4000/4000/3000/... and comm "bash". */
void rec_sample_fork(struct tw_rec *r);
/* EXIT with exit_code 0x8b (SIGSEGV, core), comm "crashy". */
void rec_sample_exit(struct tw_rec *r);


/* Credentials rec_sample_file() puts into a file event. */
#define REC_RUID 1000
#define REC_RGID 1001
#define REC_EUID 1002
#define REC_EGID 1003
#define REC_SUID 1004
#define REC_SGID 1005
#define REC_CAP_PERMITTED 0x1ffffffffffull
#define REC_CAP_EFFECTIVE 0x3000ull
#define REC_MNT_NS 4026531841u

/* File information rec_sample_file() puts into a file event (present). */
#define REC_FILE_MODE 0100644u            /* regular file, "0644" */
#define REC_FILE_INODE 10970585ull
#define REC_FILE_DEV_MAJOR 254u
#define REC_FILE_DEV_MINOR 1u
#define REC_FILE_UID 1000u
#define REC_FILE_GID 100u
#define REC_FILE_SIZE 4096ull
#define REC_FILE_NLINK 1u
#define REC_FILE_MTIME 1795313350602814000ull
#define REC_FILE_CTIME 1795313350602815000ull
#define REC_FILE_COMM "editor"

/*
 * A file event of `type` (TW_EVENT_FILE_*) made by `op` (TW_FILE_OP_*):
 * comm REC_FILE_COMM, creds REC_*UID/GID/CAP, mount_ns REC_MNT_NS, file
 * information present with the REC_FILE_* values, change/flags/writes 0 and
 * no fields (add PATH, OLD_PATH + NEW_PATH, ... with rec_add_str).
 */
void rec_sample_file(struct tw_rec *r, uint32_t type, uint32_t op);

/* Values rec_sample_tty() puts into a PROCESS_TTY_WRITE. */
#define REC_TTY_MAJOR 136u  /* pts/3, slave side */
#define REC_TTY_MINOR 3u
#define REC_TTY_ROWS 24u
#define REC_TTY_COLS 80u
#define REC_TTY_IFLAG 0x4500u
#define REC_TTY_OFLAG 0x5u
#define REC_TTY_CFLAG 0xbfu
#define REC_TTY_LFLAG 0x8a3bu
#define REC_TTY_COMM "bash"

/*
 * A PROCESS_TTY_WRITE to pts/3 (slave side, flags TW_TTY_FLAG_PTY_SLAVE),
 * which is also the writer's controlling tty, with the REC_TTY_* values,
 * orig_len = len, dropped_bytes 0 and one TTY_OUT field holding exactly the
 * len bytes at out (no NUL added). out NULL: no TTY_OUT field at all.
 */
void rec_sample_tty(struct tw_rec *r, const void *out, uint32_t len);

#endif
