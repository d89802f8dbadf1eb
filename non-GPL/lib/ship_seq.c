// SPDX-License-Identifier: Apache-2.0
/*
 * Event ids: "<boot id>-<sequence>". The boot id (a random UUID the kernel
 * draws at boot) tells hosts and boots apart; the sequence must then only be
 * unique within one boot, including across restarts of the agent. It is kept
 * in <spool>/sequence, reserved a block at a time: the end of the block is on
 * disk (write, fsync, rename) before any id in it is handed out, so after a
 * crash the next run starts above everything the last one could have used.
 *
 * A spool starting a boot does not start at 1 but at a random multiple of
 * 2^32 (plus 1): two agents on one host, each with its own spool, share the
 * boot id, and their sequences must not meet. They would only if both drew
 * the same 32 random bits, or one sent more than 4 billion events in a boot.
 */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "ship_internal.h"

int ship_read_boot_id(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(out, (int)outlen, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = 0;
	return n ? 0 : -EIO;
}

static int store_reservation(struct ship_seq *q, uint64_t end)
{
	char line[96];
	int fd, len, rc = 0;

	len = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", q->boot_id, end);
	fd = openat(q->dirfd, "sequence.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)len) != len || fsync(fd))
		rc = errno ? -errno : -EIO;
	close(fd);
	if (!rc && renameat(q->dirfd, "sequence.tmp", q->dirfd, "sequence"))
		rc = -errno;
	if (!rc)
		fsync(q->dirfd); /* the rename itself must be durable */
	return rc;
}

int ship_seq_open(struct ship_seq *q, int dirfd, const char *boot_id, uint32_t block, char *err,
		  size_t errlen)
{
	char line[128], stored_boot[64];
	uint64_t stored_next;
	int fd;

	memset(q, 0, sizeof(*q));
	q->dirfd = dirfd;
	q->block = block ? block : 65536;
	snprintf(q->boot_id, sizeof(q->boot_id), "%s", boot_id);
	q->next = 0;
	fd = openat(dirfd, "sequence", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, line, sizeof(line) - 1);
		close(fd);
		line[n > 0 ? n : 0] = 0;
		/* same boot: continue above the last reservation; another boot: ids differ anyway */
		if (sscanf(line, "%63s %" SCNu64, stored_boot, &stored_next) == 2 &&
		    !strcmp(stored_boot, q->boot_id))
			q->next = stored_next;
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "cannot read the event sequence file: %s", strerror(errno));
		return -errno;
	}
	if (q->next == 0) { /* this spool's first run in this boot */
		uint32_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid() ^ (uint32_t)time(NULL);
		q->next = ((uint64_t)r << 32) | 1;
	}
	q->reserved_end = q->next; /* nothing reserved yet */
	return 0;
}

int ship_seq_next(struct ship_seq *q, uint64_t *out)
{
	if (q->next >= q->reserved_end) {
		int rc = store_reservation(q, q->next + q->block);
		if (rc < 0)
			return rc;
		q->reserved_end = q->next + q->block;
	}
	*out = q->next++;
	return 0;
}
