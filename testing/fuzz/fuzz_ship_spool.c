// SPDX-License-Identifier: Apache-2.0
/*
 * The spool reader on an arbitrary segment file, as a crash or a bad disk
 * could leave it: opening the spool must count what it cannot use and hand
 * out only whole, checksummed records, never read out of bounds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ship_internal.h"

static char dir[64];

/* Empty the spool directory (segments, acks, lock, sequence) between inputs. */
static void clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ship_spool sp;
	struct ship_batch b;
	char path[128], err[256];
	int fd, n, rounds = 0;

	if (!dir[0]) {
		strcpy(dir, "/tmp/fuzz-spool-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	clean();
	snprintf(path, sizeof(path), "%s/seg-0000000000000001.twq", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	memset(&sp, 0, sizeof(sp));
	if (ship_spool_open(&sp, dir, 1 << 20, 1 << 16, err, sizeof(err)) < 0)
		return 0; /* refused with a reason: fine */
	while ((n = ship_spool_take(&sp, 64, 1 << 16, &b)) > 0 && rounds++ < 10000) {
		/* every record handed out ends with its newline, inside the batch */
		if (b.len == 0 || b.lines[b.len - 1] != '\n')
			abort();
		ship_spool_ack(&sp, &b);
		ship_batch_free(&b);
	}
	ship_spool_close(&sp);
	return 0;
}
