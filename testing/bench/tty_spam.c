// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark workload: write 64 KiB chunks to a pty slave as fast as possible
 * for SECONDS while a thread drains the master, then print how many writes
 * completed. Usage: tty_spam SECONDS
 */
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int master_fd, slave_fd;
static volatile int done;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *drain(void *arg)
{
	static char buf[1 << 16];
	while (!done)
		if (read(master_fd, buf, sizeof(buf)) < 0)
			break;
	return NULL;
}

int main(int argc, char **argv)
{
	static char chunk[1 << 16];
	double seconds = argc > 1 ? atof(argv[1]) : 30, start, end;
	struct termios raw;
	pthread_t th;
	size_t n = 0;

	if (openpty(&master_fd, &slave_fd, NULL, NULL, NULL))
		return 1;
	cfmakeraw(&raw);
	tcsetattr(slave_fd, TCSANOW, &raw);
	memset(chunk, 'z', sizeof(chunk));
	pthread_create(&th, NULL, drain, NULL);
	start = now();
	end = start + seconds;
	while (now() < end) {
		if (write(slave_fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			return 1;
		n++;
	}
	printf("%zu %.3f\n", n, now() - start);
	fflush(stdout);
	done = 1;
	close(slave_fd); /* wakes the reader */
	_exit(0);
}
