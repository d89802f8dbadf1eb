// SPDX-License-Identifier: Apache-2.0
/*
 * EventsTrace's /metrics endpoint: an HTTP listener (libmicrohttpd, its own
 * thread) serving the last exposition text the main loop published. The main
 * loop never waits for a client: it renders (tracewire_metrics.h) and hands
 * the text over with metrics_server_publish(), which only swaps a pointer
 * under a mutex; the server thread copies the current text under the same
 * mutex for each request. A slow or stuck client costs the server thread,
 * never event consumption.
 */
#ifndef ET_METRICS_SERVER_H
#define ET_METRICS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct metrics_server;

/* Listen on addr (IPv4 or IPv6; port 0: any free port). 0, or -1 with a reason in err. */
int metrics_server_start(struct metrics_server **out, const struct sockaddr *addr,
			 socklen_t addrlen, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t metrics_server_port(struct metrics_server *s);
/* Take ownership of a malloc'ed text; the previous one is freed. */
void metrics_server_publish(struct metrics_server *s, char *text, size_t len);
/* Successful /metrics responses so far (any thread). */
uint64_t metrics_server_scrapes(struct metrics_server *s);
/* Stop listening, wait for the thread, free. */
void metrics_server_stop(struct metrics_server *s);

#endif
