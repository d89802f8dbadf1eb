// SPDX-License-Identifier: Apache-2.0
/*
 * Connection churn on loopback, the network probe's per-connection worst
 * case: for SECONDS, open a TCP connection, send one byte, read the one-byte
 * answer, close; a server thread accepts, answers and closes after the
 * client. Every connection is a connect, an accept, two releases and a full
 * state walk. Prints "<connections> <seconds>".
 *
 * The client is the first to close, so the TIME_WAIT sockets are its own; it
 * spreads its source address over 127.0.0.0/8 so they never run it out of
 * ports, whatever the rate.
 * Usage: tcp_churn SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listener;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *serve(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		int fd = accept(listener, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* the listener was shut down: done */
		}
		if (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1) {
			while (read(fd, &c, 1) > 0) /* until the client's FIN */
				;
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(srv);
	double seconds = argc > 1 ? atof(argv[1]) : 5, start, end;
	unsigned long n = 0;
	pthread_t tid;
	int one = 1;

	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&srv, sizeof(srv)) ||
	    listen(listener, 1024) || getsockname(listener, (struct sockaddr *)&srv, &len)) {
		perror("tcp_churn: listen");
		return 1;
	}
	if (pthread_create(&tid, NULL, serve, NULL)) {
		fprintf(stderr, "tcp_churn: no server thread\n");
		return 1;
	}
	start = now();
	end = start + seconds;
	while (now() < end) {
		/* a different source in 127.0.0.0/8 for each connection in turn */
		struct sockaddr_in src = {.sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(0x7f000002u + (n % 0xfeffffu))};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char c = 'x';

		if (fd < 0) {
			perror("tcp_churn: socket");
			return 1;
		}
		/* the port is chosen at connect time, for the whole 4-tuple */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
		    connect(fd, (struct sockaddr *)&srv, sizeof(srv)) || write(fd, &c, 1) != 1 ||
		    read(fd, &c, 1) != 1) {
			perror("tcp_churn: connection");
			return 1;
		}
		close(fd);
		n++;
	}
	end = now();
	shutdown(listener, SHUT_RDWR); /* wakes the server thread's accept() */
	pthread_join(tid, NULL);
	printf("%lu %.3f\n", n, end - start);
	return 0;
}
