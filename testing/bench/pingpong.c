// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark workload: two processes bounce one byte over a pair of pipes for
 * SECONDS, both pinned to CPU (default 0), so every message is a wakeup and
 * a context switch: the worst case for probes on sched_switch and
 * sched_wakeup. Prints "<round trips> <seconds>".
 * Usage: pingpong SECONDS [CPU|-1]   (-1: no pinning)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("pingpong: sched_setaffinity");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10, start, end, t;
	int cpu = argc > 2 ? atoi(argv[2]) : 0;
	int ping[2], pong[2];
	unsigned long long n = 0;
	char c = 'x';
	pid_t p;

	if (pipe(ping) || pipe(pong)) {
		perror("pingpong: pipe");
		return 1;
	}
	pin(cpu);
	p = fork();
	if (p < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (p == 0) { /* echo every byte back until the pipe closes */
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	start = now();
	end = start + seconds;
	/* check the clock every 1024 round trips: clock_gettime is not free */
	do {
		for (int i = 0; i < 1024; i++) {
			if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
				perror("pingpong: pipe i/o");
				return 1;
			}
		}
		n += 1024;
	} while ((t = now()) < end);
	close(ping[1]);
	waitpid(p, NULL, 0);
	printf("%llu %.6f\n", n, t - start);
	return 0;
}
