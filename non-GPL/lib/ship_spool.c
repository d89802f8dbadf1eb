// SPDX-License-Identifier: Apache-2.0
/*
 * The shipper's on-disk spool: a directory of append-only segment files of
 * framed records (ship_internal.h). Every event is appended before it is sent
 * and a segment is deleted only when all of its records were acknowledged,
 * so a collector outage or a restart of the agent loses nothing. The total
 * size is bounded: when it would be exceeded, the oldest segment is dropped
 * and its unsent records counted.
 *
 * Not thread-safe: ship.c calls it under its lock.
 */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ship_internal.h"

#define WBUF_COMMIT 65536 /* write the buffer out once it holds this much */

uint32_t ship_crc32(const void *data, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths: feed large buffers in pieces */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		c = crc32(c, data, n);
		data = (const char *)data + n;
		len -= n;
	}
	return (uint32_t)c;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void seg_name(char *out, size_t outlen, uint64_t id)
{
	snprintf(out, outlen, "seg-%016" PRIx64 ".twq", id);
}

static void ack_name(char *out, size_t outlen, uint64_t id)
{
	snprintf(out, outlen, "seg-%016" PRIx64 ".ack", id);
}

/*
 * The acknowledged prefix of a segment, as decimal text. Not fsync'ed: losing
 * it (power loss) or a torn write only means sending those records again,
 * which at-least-once allows; a value that does not parse counts as 0.
 */
static void store_ack_off(struct ship_spool *sp, const struct ship_seg *seg)
{
	char name[64], text[32];
	int fd, n;

	ack_name(name, sizeof(name), seg->id);
	fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", seg->ack_off);
	if (write(fd, text, (size_t)n) != n)
		ftruncate(fd, 0);
	close(fd);
}

static uint64_t load_ack_off(struct ship_spool *sp, uint64_t id, uint64_t size)
{
	char name[64], text[32];
	ssize_t n;
	int fd;

	ack_name(name, sizeof(name), id);
	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	char *end;
	uint64_t v = strtoull(text, &end, 10);
	return *end == '\n' && v <= size ? v : 0;
}

static int parse_seg_name(const char *name, uint64_t *id)
{
	char *end;

	if (strncmp(name, "seg-", 4) || strlen(name) != 4 + 16 + 4 || strcmp(name + 20, ".twq"))
		return -1;
	errno = 0;
	*id = strtoull(name + 4, &end, 16);
	return errno || end != name + 20 ? -1 : 0;
}

/*
 * Validate the frame at buf[off..len). Returns its total size, 0 when it is
 * incomplete (runs past len), -1 when it is not a valid frame.
 */
static int64_t frame_check(const unsigned char *buf, size_t len, size_t off)
{
	uint32_t plen;

	if (len - off < SHIP_FRAME_HDR)
		return 0;
	if (get_le32(buf + off) != SHIP_FRAME_MAGIC)
		return -1;
	plen = get_le32(buf + off + 4);
	if (plen == 0 || plen > SHIP_RECORD_MAX)
		return -1;
	if (len - off - SHIP_FRAME_HDR < plen)
		return 0;
	if (ship_crc32(buf + off + SHIP_FRAME_HDR, plen) != get_le32(buf + off + 8))
		return -1;
	return SHIP_FRAME_HDR + (int64_t)plen;
}

/*
 * Next offset after off where a valid frame starts, or len if none. With
 * more_follows (the buffer is a window of a longer file), a frame that starts
 * here but runs past the window also stops the search: it is read whole next.
 */
static size_t resync(const unsigned char *buf, size_t len, size_t off, bool more_follows)
{
	for (size_t o = off + 1; o + SHIP_FRAME_HDR <= len; o++) {
		if (get_le32(buf + o) != SHIP_FRAME_MAGIC)
			continue;
		int64_t n = frame_check(buf, len, o);
		if (n > 0 || (n == 0 && more_follows))
			return o;
	}
	return len;
}

static int read_all(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shorter than its size said */
		done += (size_t)n;
	}
	return 0;
}

/*
 * Count the valid records a segment left by an earlier run still has to send
 * (after its acknowledged prefix); damage is counted once, here.
 */
static int scan_segment(struct ship_spool *sp, struct ship_seg *seg)
{
	unsigned char *buf;
	size_t off = 0, len = seg->size - seg->read_off;
	int rc;

	if (len == 0)
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if ((rc = read_all(seg->fd, buf, len, seg->read_off)) < 0) {
		free(buf);
		return rc;
	}
	while (off < len) {
		int64_t n = frame_check(buf, len, off);
		if (n > 0) {
			seg->records++;
			off += (size_t)n;
			continue;
		}
		/* damaged, or a torn last write (incomplete: nothing follows it) */
		size_t next = resync(buf, len, off, false);
		sp->corrupt_frames++;
		sp->corrupt_bytes += next - off;
		off = next;
	}
	free(buf);
	return 0;
}

static void seg_free(struct ship_seg *seg)
{
	if (seg->fd >= 0)
		close(seg->fd);
	free(seg);
}

/* Remove a segment from the list and from disk. */
static void seg_delete(struct ship_spool *sp, struct ship_seg *seg)
{
	char name[64];
	struct ship_seg **pp = &sp->oldest, *prev = NULL;

	while (*pp && *pp != seg) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = seg->next;
	if (sp->newest == seg)
		sp->newest = prev;
	seg_name(name, sizeof(name), seg->id);
	unlinkat(sp->dirfd, name, 0);
	ack_name(name, sizeof(name), seg->id);
	unlinkat(sp->dirfd, name, 0); /* usually absent */
	sp->bytes -= seg->size;
	sp->segments--;
	seg_free(seg);
}

static struct ship_seg *seg_find(struct ship_spool *sp, uint64_t id)
{
	for (struct ship_seg *s = sp->oldest; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static void seg_maybe_delete(struct ship_spool *sp, struct ship_seg *seg)
{
	if (seg->read_off < seg->size || seg->inflight)
		return;
	/*
	 * The segment being written, all sent and acknowledged with nothing
	 * buffered, goes too (the next append starts a new one): otherwise a
	 * restart would find it and send its records again.
	 */
	if (!seg->closed && (seg != sp->newest || sp->wlen))
		return;
	seg_delete(sp, seg);
}

/* Bytes [start, end) are done; advance (and persist) the contiguous prefix. */
static void ack_range(struct ship_spool *sp, struct ship_seg *seg, uint64_t start, uint64_t end)
{
	uint64_t before = seg->ack_off;
	bool moved = true;

	if (start != seg->ack_off) {
		if (seg->n_acked < sizeof(seg->acked) / sizeof(seg->acked[0])) {
			seg->acked[seg->n_acked].start = start;
			seg->acked[seg->n_acked++].end = end;
		}
		return; /* a gap before it: wait for the batch that fills it */
	}
	seg->ack_off = end;
	while (moved) { /* batches that finished earlier may now join the prefix */
		moved = false;
		for (uint32_t i = 0; i < seg->n_acked; i++) {
			if (seg->acked[i].start != seg->ack_off)
				continue;
			seg->ack_off = seg->acked[i].end;
			seg->acked[i] = seg->acked[--seg->n_acked];
			moved = true;
			break;
		}
	}
	/* a segment about to be deleted needs no record of it */
	if (seg->ack_off != before && seg->ack_off < seg->size)
		store_ack_off(sp, seg);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void seg_link(struct ship_spool *sp, struct ship_seg *seg)
{
	seg->next = NULL;
	if (sp->newest)
		sp->newest->next = seg;
	else
		sp->oldest = seg;
	sp->newest = seg;
	sp->segments++;
}

int ship_spool_open(struct ship_spool *sp, const char *dir, uint64_t max_bytes, uint64_t seg_bytes,
		    char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	memset(sp, 0, sizeof(*sp));
	sp->dirfd = sp->lockfd = -1;
	sp->max_bytes = max_bytes;
	sp->seg_bytes = seg_bytes;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
		return rc;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open spool directory %s: %s", dir, strerror(errno));
		return rc;
	}
	sp->dir = strdup(dir);
	/* two shippers appending to and deleting from one spool would lose or resend data */
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(err, errlen, "spool directory %s is in use by another shipper%s%s", dir,
			 rc == -EBUSY ? "" : ": ", rc == -EBUSY ? "" : strerror(-rc));
		ship_spool_close(sp);
		return rc;
	}
	d = fdopendir(dup(sp->dirfd));
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "cannot list spool directory %s: %s", dir, strerror(errno));
		ship_spool_close(sp);
		return rc;
	}
	while ((e = readdir(d))) {
		uint64_t id;
		if (parse_seg_name(e->d_name, &id))
			continue;
		if (n == cap) {
			uint64_t *g = realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof(*ids));
			if (!g) {
				closedir(d);
				free(ids);
				snprintf(err, errlen, "out of memory reading the spool");
				ship_spool_close(sp);
				return -ENOMEM;
			}
			ids = g;
		}
		ids[n++] = id;
	}
	closedir(d);
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		char name[64];
		struct ship_seg *seg = calloc(1, sizeof(*seg));
		struct stat st;

		if (!seg) {
			rc = -ENOMEM;
			goto fail;
		}
		seg_name(name, sizeof(name), ids[i]);
		seg->id = ids[i];
		seg->closed = seg->recovered = true;
		seg->fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (seg->fd < 0 || fstat(seg->fd, &st)) {
			rc = -errno;
			seg_free(seg);
			snprintf(err, errlen, "cannot open spool segment %s/%s: %s", dir, name,
				 strerror(-rc));
			goto fail;
		}
		seg->size = (uint64_t)st.st_size;
		seg->read_off = seg->ack_off = load_ack_off(sp, seg->id, seg->size);
		if ((rc = scan_segment(sp, seg)) < 0) {
			seg_free(seg);
			snprintf(err, errlen, "cannot read spool segment %s/%s: %s", dir, name,
				 strerror(-rc));
			goto fail;
		}
		seg_link(sp, seg);
		sp->bytes += seg->size;
		sp->unread_records += seg->records;
		sp->unread_bytes += seg->size - seg->read_off;
		sp->recovered_records += seg->records;
		seg_maybe_delete(sp, seg); /* empty (or all damaged): nothing left to send */
	}
	sp->next_id = n ? ids[n - 1] + 1 : 1;
	free(ids);
	return 0;
fail:
	free(ids);
	ship_spool_close(sp);
	return rc;
}

void ship_spool_close(struct ship_spool *sp)
{
	struct ship_seg *s = sp->oldest;

	if (sp->wlen)
		ship_spool_commit(sp);
	ship_spool_sync(sp);
	while (s) {
		struct ship_seg *next = s->next;
		seg_free(s);
		s = next;
	}
	sp->oldest = sp->newest = NULL;
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* releases the lock */
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->wbuf);
	free(sp->dir);
	sp->wbuf = NULL;
	sp->dir = NULL;
	sp->lockfd = sp->dirfd = -1;
}

static int new_segment(struct ship_spool *sp)
{
	char name[64];
	struct ship_seg *seg = calloc(1, sizeof(*seg));

	if (!seg)
		return -ENOMEM;
	seg->id = sp->next_id++;
	seg_name(name, sizeof(name), seg->id);
	seg->fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (seg->fd < 0) {
		int rc = -errno;
		free(seg);
		return rc;
	}
	/* the new name must survive a power loss too, or its records would vanish with it */
	fsync(sp->dirfd);
	seg_link(sp, seg);
	return 0;
}

/* Drop the oldest segment (never the one being written): its unread records are lost. */
static bool drop_oldest(struct ship_spool *sp)
{
	struct ship_seg *seg = sp->oldest;

	if (!seg || seg == sp->newest)
		return false;
	sp->dropped_records += seg->records - seg->read_records;
	sp->dropped_bytes += seg->size - seg->read_off;
	sp->unread_records -= seg->records - seg->read_records;
	sp->unread_bytes -= seg->size - seg->read_off;
	/* batches already taken from it are in memory and still count when acknowledged */
	seg_delete(sp, seg);
	return true;
}

int ship_spool_commit(struct ship_spool *sp)
{
	struct ship_seg *seg = sp->newest;
	size_t done = 0;

	if (!sp->wlen)
		return 0;
	while (done < sp->wlen) {
		ssize_t n = write(seg->fd, sp->wbuf + done, sp->wlen - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = n < 0 ? -errno : -EIO;
			/* cut a partial write back so the segment ends on a whole record */
			if (done && ftruncate(seg->fd, (off_t)seg->size) == 0)
				done = 0;
			seg->size += done; /* ftruncate failed: the reader resyncs over the torn frame */
			sp->write_errors++;
			sp->dropped_records += sp->wrecords;
			sp->dropped_bytes += sp->wlen;
			seg->records -= sp->wrecords;
			sp->unread_records -= sp->wrecords;
			sp->unread_bytes -= sp->wlen - done;
			sp->bytes -= sp->wlen - done;
			sp->wlen = 0;
			sp->wrecords = 0;
			return rc;
		}
		done += (size_t)n;
	}
	seg->size += sp->wlen;
	sp->unsynced += sp->wlen;
	sp->wlen = 0;
	sp->wrecords = 0;
	return 0;
}

int ship_spool_sync(struct ship_spool *sp)
{
	if (!sp->unsynced || !sp->newest)
		return 0;
	sp->unsynced = 0;
	return fdatasync(sp->newest->fd) ? -errno : 0;
}

int ship_spool_rotate(struct ship_spool *sp)
{
	struct ship_seg *seg = sp->newest;
	int rc;

	if (!seg || seg->closed)
		return 0;
	if ((rc = ship_spool_commit(sp)) < 0)
		return rc;
	ship_spool_sync(sp);
	seg->closed = true;
	seg_maybe_delete(sp, seg);
	return 0;
}

int ship_spool_append(struct ship_spool *sp, const void *data, size_t len)
{
	size_t flen = SHIP_FRAME_HDR + len;
	unsigned char hdr[SHIP_FRAME_HDR];
	int rc = 0;

	if (len == 0 || len > SHIP_RECORD_MAX || flen > sp->seg_bytes)
		rc = -EMSGSIZE;
	/* rotate: a full segment is closed, so it can be read to its end and deleted */
	if (!rc && sp->newest && !sp->newest->closed &&
	    sp->newest->size + sp->wlen + flen > sp->seg_bytes)
		rc = ship_spool_rotate(sp);
	if (!rc && (!sp->newest || sp->newest->closed))
		rc = new_segment(sp);
	if (!rc && sp->wlen + flen > sp->wcap) {
		size_t cap = sp->wcap ? sp->wcap : WBUF_COMMIT;
		char *g;
		while (cap < sp->wlen + flen)
			cap *= 2;
		if (!(g = realloc(sp->wbuf, cap)))
			rc = -ENOMEM;
		else {
			sp->wbuf = g;
			sp->wcap = cap;
		}
	}
	if (rc) {
		/* this record never made it into the spool: it is lost, and counted */
		sp->dropped_records++;
		sp->dropped_bytes += flen;
		return rc;
	}
	while (sp->bytes + flen > sp->max_bytes && drop_oldest(sp))
		;
	put_le32(hdr, SHIP_FRAME_MAGIC);
	put_le32(hdr + 4, (uint32_t)len);
	put_le32(hdr + 8, ship_crc32(data, len));
	memcpy(sp->wbuf + sp->wlen, hdr, sizeof(hdr));
	memcpy(sp->wbuf + sp->wlen + sizeof(hdr), data, len);
	sp->wlen += flen;
	sp->wrecords++;
	sp->newest->records++;
	sp->unread_records++;
	sp->unread_bytes += flen;
	sp->bytes += flen;
	if (sp->wlen >= WBUF_COMMIT)
		return ship_spool_commit(sp);
	return 0;
}

bool ship_spool_has_closed_unread(const struct ship_spool *sp)
{
	for (const struct ship_seg *s = sp->oldest; s; s = s->next)
		if (s->closed && s->read_off < s->size)
			return true;
	return false;
}

uint64_t ship_spool_pending(const struct ship_spool *sp)
{
	uint64_t n = 0;

	for (const struct ship_seg *s = sp->oldest; s; s = s->next)
		n += s->records - s->acked_records;
	return n;
}

bool ship_batch_due(const struct ship_spool *sp, uint32_t max_events, uint32_t max_bytes,
		    uint32_t max_ms, uint64_t pending_since_ms, uint64_t now_ms, bool force)
{
	if (!sp->unread_records)
		return false;
	return force || ship_spool_has_closed_unread(sp) || sp->unread_records >= max_events ||
	       sp->unread_bytes >= max_bytes || now_ms - pending_since_ms >= max_ms;
}

void ship_batch_free(struct ship_batch *b)
{
	free(b->lines);
	memset(b, 0, sizeof(*b));
}

int ship_spool_take(struct ship_spool *sp, uint32_t max_records, size_t max_bytes,
		    struct ship_batch *out)
{
	struct ship_seg *seg;
	unsigned char *buf;
	size_t want, off = 0, good = 0;
	bool more_follows;
	int rc;

	memset(out, 0, sizeof(*out));
	for (seg = sp->oldest; seg && seg->read_off >= seg->size; seg = seg->next)
		;
	if (!seg)
		return 0;
	/* read a little more than a batch, growing if a single record is bigger */
	want = seg->size - seg->read_off;
	if (want > max_bytes + SHIP_FRAME_HDR * 64)
		want = max_bytes + SHIP_FRAME_HDR * 64;
	for (;;) {
		if (!(buf = malloc(want)))
			return -ENOMEM;
		if ((rc = read_all(seg->fd, buf, want, seg->read_off)) < 0) {
			free(buf);
			return rc;
		}
		if (frame_check(buf, want, 0) == 0 && want >= SHIP_FRAME_HDR &&
		    want < seg->size - seg->read_off) {
			/* the first record does not fit the window: read it whole */
			size_t whole = SHIP_FRAME_HDR + get_le32(buf + 4);
			if (whole > seg->size - seg->read_off)
				whole = seg->size - seg->read_off;
			if (whole > want) {
				want = whole;
				free(buf);
				continue;
			}
		}
		break;
	}
	more_follows = !seg->closed || seg->read_off + want < seg->size;
	out->lines = malloc(want + 1);
	if (!out->lines) {
		free(buf);
		return -ENOMEM;
	}
	while (off < want && out->n < max_records) {
		int64_t n = frame_check(buf, want, off);
		size_t next;

		if (n > 0) {
			size_t plen = (size_t)n - SHIP_FRAME_HDR;
			if (out->n && out->len + plen + 1 > max_bytes)
				break;
			memcpy(out->lines + out->len, buf + off + SHIP_FRAME_HDR, plen);
			out->len += plen;
			out->lines[out->len++] = '\n';
			out->n++;
			off += (size_t)n;
			good += (size_t)n;
			continue;
		}
		if (n == 0 && more_follows)
			break; /* the rest is not written yet, or beyond this window: next time */
		/* damaged, or the torn tail of a closed segment: skip to the next valid frame */
		next = resync(buf, want, off, more_follows);
		if (next == want && more_follows && want - off > SHIP_FRAME_HDR)
			next = want - SHIP_FRAME_HDR + 1; /* a frame may start in the last bytes */
		if (!seg->recovered) { /* a recovered segment's damage was counted at open */
			sp->corrupt_frames++;
			sp->corrupt_bytes += next - off;
		}
		sp->unread_bytes -= next - off;
		off = next;
	}
	free(buf);
	out->start_off = seg->read_off;
	seg->read_off += off;
	out->end_off = seg->read_off;
	seg->read_records += out->n;
	sp->unread_records -= out->n;
	sp->unread_bytes -= good;
	if (seg->closed && seg->read_off >= seg->size && seg->read_records < seg->records) {
		/* records damaged after they were written (counted as corrupt above): none left */
		sp->unread_records -= seg->records - seg->read_records;
		seg->records = seg->read_records;
	}
	out->seg_id = seg->id;
	if (out->n) {
		seg->inflight++;
		return (int)out->n;
	}
	ship_batch_free(out);
	ack_range(sp, seg, out->start_off, out->end_off); /* only damage: nothing to wait for */
	seg_maybe_delete(sp, seg);
	return 0;
}

void ship_spool_ack(struct ship_spool *sp, const struct ship_batch *b)
{
	struct ship_seg *seg = seg_find(sp, b->seg_id);

	if (!seg) /* dropped while the batch was in flight */
		return;
	if (seg->inflight)
		seg->inflight--;
	seg->acked_records += b->n;
	ack_range(sp, seg, b->start_off, b->end_off);
	seg_maybe_delete(sp, seg);
}
