// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark workload: fork+exec /bin/true with an argv of ARGV_BYTES bytes
 * as fast as possible for SECONDS, then print how many execs completed.
 * Usage: exec_loop SECONDS ARGV_BYTES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
	double seconds = argc > 1 ? atof(argv[1]) : 30;
	size_t bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 10240;
	size_t nargs = bytes / 100 + 1, n = 0;
	char **args = calloc(nargs + 2, sizeof(char *));
	char *arg = malloc(100);
	double start, end;

	memset(arg, 'x', 99);
	arg[99] = '\0';
	args[0] = "/bin/true";
	for (size_t i = 1; i <= nargs; i++)
		args[i] = arg; /* 100 bytes each with the NUL */
	start = now();
	end = start + seconds;
	while (now() < end) {
		pid_t p = fork();
		if (p == 0) {
			execv("/bin/true", args);
			_exit(127);
		}
		if (p < 0 || waitpid(p, NULL, 0) < 0)
			return 1;
		n++;
	}
	printf("%zu %.3f\n", n, now() - start);
	return 0;
}
