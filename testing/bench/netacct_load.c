// SPDX-License-Identifier: Apache-2.0
/*
 * Loads for the accounting benchmark, on loopback, in two processes (so
 * both ends are attributed): the same shapes as the accuracy test.
 *   rr    TCP request/response, 50-byte messages: round trips per second
 *   uni   TCP 50-byte writes one way: writes per second
 *   bulk  TCP 64 KiB writes one way: MB per second
 *   udp   UDP 50-byte datagrams one way: datagrams per second
 * Usage: netacct_load MODE SECONDS; prints the rate on stdout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full_read(int fd, char *b, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	const char *mode = argc > 1 ? argv[1] : "rr";
	double secs = argc > 2 ? atof(argv[2]) : 3, t0, end;
	int udp = !strcmp(mode, "udp"), one = 1, l, c;
	unsigned long long ops = 0;
	pid_t srv;

	l = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(l, (struct sockaddr *)&sa, &len) ||
	    (!udp && listen(l, 1))) {
		perror("netacct_load: listen");
		return 1;
	}
	srv = fork();
	if (srv == 0) { /* the server process */
		int s = udp ? l : accept(l, NULL, NULL);
		if (!strcmp(mode, "rr")) {
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			while (!full_read(s, buf, 50) && write(s, buf, 50) == 50)
				;
		} else {
			while (recv(s, buf, sizeof(buf), 0) > 0)
				;
		}
		_exit(0);
	}
	c = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("netacct_load: connect");
		return 1;
	}
	if (!strcmp(mode, "rr"))
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	end = t0 + secs;
	while (1) {
		for (int i = 0; i < 64; i++) {
			if (!strcmp(mode, "rr")) {
				if (write(c, buf, 50) != 50 || full_read(c, buf, 50))
					return 1;
				ops++;
			} else if (!strcmp(mode, "bulk")) {
				ssize_t n = write(c, buf, sizeof(buf));
				if (n <= 0)
					return 1;
				ops += (unsigned long long)n;
			} else {
				if (send(c, buf, 50, 0) == 50)
					ops++;
			}
		}
		if (now() >= end)
			break;
	}
	t0 = now() - t0;
	close(c);
	if (udp)
		kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	if (!strcmp(mode, "bulk"))
		printf("%.1f\n", ops / t0 / 1e6);
	else
		printf("%.0f\n", ops / t0);
	return 0;
}
