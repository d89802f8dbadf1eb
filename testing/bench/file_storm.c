// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark workload: create (open O_CREAT), close and unlink files in DIR
 * as fast as possible for SECONDS, then print how many create+unlink pairs
 * completed and the time taken: "<pairs> <seconds>".
 * Usage: file_storm SECONDS DIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds, start, end;
	char path[4096];
	size_t n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: file_storm SECONDS DIR\n");
		return 2;
	}
	seconds = atof(argv[1]);
	start = now();
	end = start + seconds;
	/* the clock is read every 64 pairs: a pair costs a few microseconds */
	while ((n & 63) || now() < end) {
		int fd;

		if ((size_t)snprintf(path, sizeof(path), "%s/f%zu", argv[2], n) >= sizeof(path)) {
			fprintf(stderr, "file_storm: directory name too long\n");
			return 2;
		}
		fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
		if (fd < 0 || close(fd) < 0 || unlink(path) < 0) {
			perror(path);
			return 1;
		}
		n++;
	}
	printf("%zu %.3f\n", n, now() - start);
	return 0;
}
