// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: arbitrary bytes as a recording file. Replay must report a
 * bad header, skip malformed records, notice a cut tail, and never crash.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tracewire_json.h"
#include "tracewire_record.h"

static int render(void *user, const struct tw_event *ev)
{
	struct tw_json *j = user;
	size_t len;

	tw_json_reset(j);
	tw_event_to_json(j, ev);
	tw_json_finish(j, &len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tw_json j;
	static int fd = -1;
	struct tw_replay_result res;
	char path[64], err[256];

	if (fd < 0)
		fd = memfd_create("fuzz-replay", 0);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	tw_replay_file(path, render, &j, &res, err, sizeof(err));
	return 0;
}
