// SPDX-License-Identifier: Apache-2.0
/* Synthetic wire records for the unit tests; see records.h. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
	fprintf(stderr, "records.c: %s\n", what);
	abort();
}

static void reserve(struct tw_rec *r, size_t extra)
{
	size_t cap = r->cap ? r->cap : 256;
	unsigned char *nb;

	if (r->len + extra <= r->cap)
		return;
	while (cap < r->len + extra)
		cap *= 2;
	nb = realloc(r->buf, cap);
	if (!nb)
		die("out of memory");
	memset(nb + r->cap, 0, cap - r->cap);
	r->buf = nb;
	r->cap = cap;
}

static void sync_hdr_size(struct tw_rec *r)
{
	rec_hdr(r)->size = (uint32_t)r->len;
}

void rec_init(struct tw_rec *r, uint32_t type)
{
	struct tw_event_header *h;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->fixed = tw_event_fixed_size(type);
	if (!r->fixed)
		r->fixed = sizeof(struct tw_event_header);
	r->vl_off = tw_event_varlen_offset(type);
	reserve(r, r->fixed);
	memset(r->buf, 0, r->fixed);
	r->len = r->fixed;

	h = rec_hdr(r);
	h->type = (uint16_t)type;
	h->cpu = REC_CPU;
	h->ts_mono_ns = REC_TS_MONO;
	h->ts_boot_ns = REC_TS_BOOT;
	h->pids.tgid = REC_PID;
	h->pids.tid = REC_TID;
	h->pids.ppid = REC_PPID;
	h->pids.pgid = REC_PGID;
	h->pids.sid = REC_SID;
	h->pids.ns_tgid = REC_NS_PID;
	h->pids.start_time_ns = REC_START_TIME;
	sync_hdr_size(r);
}

void rec_free(struct tw_rec *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void rec_add_field(struct tw_rec *r, uint16_t type, uint16_t flags, const void *data, uint32_t size)
{
	struct tw_varlen_field fh = {.type = type, .flags = flags, .size = size};
	struct tw_varlen_fields *vl;

	if (!r->vl_off)
		die("rec_add_field on an event type without variable-length fields");
	if (r->nfields == REC_MAX_FIELDS)
		die("too many fields");
	reserve(r, sizeof(fh) + size);
	r->field_off[r->nfields++] = r->len;
	memcpy(r->buf + r->len, &fh, sizeof(fh));
	r->len += sizeof(fh);
	if (size)
		memcpy(r->buf + r->len, data, size);
	r->len += size;

	vl = rec_vl(r);
	vl->count++;
	vl->size += (uint32_t)(sizeof(fh) + size);
	sync_hdr_size(r);
}

void rec_add_str(struct tw_rec *r, uint16_t type, const char *s)
{
	rec_add_field(r, type, 0, s, (uint32_t)strlen(s) + 1);
}

void rec_append_raw(struct tw_rec *r, const void *data, size_t n, int keep_hdr_size)
{
	reserve(r, n);
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	if (!keep_hdr_size)
		sync_hdr_size(r);
}

void *rec_dup(const struct tw_rec *r)
{
	void *p = malloc(r->len ? r->len : 1);

	if (!p)
		die("out of memory");
	memcpy(p, r->buf, r->len);
	return p;
}

static const char sample_argv[] = "ls\0-l\0/tmp"; /* sizeof includes the final NUL */

void rec_sample_exec(struct tw_rec *r)
{
	rec_init(r, TW_EVENT_PROCESS_EXEC);
	memcpy(rec_exec(r)->comm, "ls", 3);
	rec_add_str(r, TW_FIELD_FILENAME, "/bin/ls");
	rec_add_str(r, TW_FIELD_EXE_PATH, "/usr/bin/ls");
	rec_add_field(r, TW_FIELD_ARGV, 0, sample_argv, sizeof(sample_argv));
	rec_add_str(r, TW_FIELD_CWD, "/home/user");
	rec_add_str(r, TW_FIELD_CGROUP_PATH, "/user.slice");
}

void rec_sample_fork(struct tw_rec *r)
{
	struct tw_process_fork *f;

	rec_init(r, TW_EVENT_PROCESS_FORK);
	f = rec_fork(r);
	f->parent.tgid = 4000;
	f->parent.tid = 4000;
	f->parent.ppid = 3000;
	f->parent.pgid = 3001;
	f->parent.sid = 3002;
	f->parent.ns_tgid = 5;
	f->parent.start_time_ns = 999;
	memcpy(f->comm, "bash", 5);
}

void rec_sample_exit(struct tw_rec *r)
{
	struct tw_process_exit *e;

	rec_init(r, TW_EVENT_PROCESS_EXIT);
	e = rec_exit(r);
	e->exit_code = 0x8b;
	e->exit_status = 0;
	e->signal = 11;
	e->core_dumped = 1;
	memcpy(e->comm, "crashy", 7);
}

void rec_sample_file(struct tw_rec *r, uint32_t type, uint32_t op)
{
	struct tw_file_event *e;

	rec_init(r, type);
	e = rec_file(r);
	e->creds = (struct tw_creds){.ruid = REC_RUID, .rgid = REC_RGID, .euid = REC_EUID,
				     .egid = REC_EGID, .suid = REC_SUID, .sgid = REC_SGID,
				     .cap_permitted = REC_CAP_PERMITTED,
				     .cap_effective = REC_CAP_EFFECTIVE};
	e->mnt_ns = REC_MNT_NS;
	e->op = op;
	memcpy(e->comm, REC_FILE_COMM, sizeof(REC_FILE_COMM));
	e->file = (struct tw_file_info){.present = 1, .mode = REC_FILE_MODE, .inode = REC_FILE_INODE,
					.dev_major = REC_FILE_DEV_MAJOR, .dev_minor = REC_FILE_DEV_MINOR,
					.uid = REC_FILE_UID, .gid = REC_FILE_GID, .size = REC_FILE_SIZE,
					.mtime_ns = REC_FILE_MTIME, .ctime_ns = REC_FILE_CTIME,
					.nlink = REC_FILE_NLINK};
}

void rec_sample_tty(struct tw_rec *r, const void *out, uint32_t len)
{
	struct tw_tty_write *w;

	rec_init(r, TW_EVENT_PROCESS_TTY_WRITE);
	w = rec_tty(r);
	w->tty = (struct tw_tty){.major = REC_TTY_MAJOR, .minor = REC_TTY_MINOR, .rows = REC_TTY_ROWS,
				 .cols = REC_TTY_COLS};
	w->ctty = w->tty;
	w->flags = TW_TTY_FLAG_PTY_SLAVE;
	w->iflag = REC_TTY_IFLAG;
	w->oflag = REC_TTY_OFLAG;
	w->cflag = REC_TTY_CFLAG;
	w->lflag = REC_TTY_LFLAG;
	w->orig_len = len;
	w->dropped_bytes = 0;
	memcpy(w->comm, REC_TTY_COMM, sizeof(REC_TTY_COMM));
	if (out)
		rec_add_field(r, TW_FIELD_TTY_OUT, 0, out, len);
}
