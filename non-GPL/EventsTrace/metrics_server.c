// SPDX-License-Identifier: Apache-2.0
/*
 * /metrics over HTTP with libmicrohttpd (metrics_server.h). HTTP parsing,
 * keep-alive, timeouts and connection limits are the library's; this file
 * only routes GET /metrics to the last published text.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "metrics_server.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock; /* guards text and len: held for a pointer swap or a copy */
	char *text;
	size_t len;
	uint64_t scrapes;
	uint16_t port;
};

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
			       char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "method not allowed\n";
	static char starting[] = "# no metrics yet\n";
	struct metrics_server *s = cls;
	char *copy;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			       sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			       sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
	/* a copy, so that the main loop can publish the next text while this one is sent */
	pthread_mutex_lock(&s->lock);
	len = s->len;
	copy = s->text ? malloc(len ? len : 1) : NULL;
	if (copy)
		memcpy(copy, s->text, len);
	if (copy || !s->text)
		s->scrapes++;
	pthread_mutex_unlock(&s->lock);
	if (!copy && len)
		return MHD_NO; /* out of memory: drop the connection */
	if (!copy)
		return respond(conn, MHD_HTTP_OK, CONTENT_TYPE, starting, sizeof(starting) - 1,
			       MHD_RESPMEM_PERSISTENT);
	return respond(conn, MHD_HTTP_OK, CONTENT_TYPE, copy, len, MHD_RESPMEM_MUST_FREE);
}

int metrics_server_start(struct metrics_server **out, const struct sockaddr *addr,
			 socklen_t addrlen, char *err, size_t errlen)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	const union MHD_DaemonInfo *info;
	char where[64] = "";

	(void)addrlen;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * One polling thread serves every client: scrapes are rare and small. The
	 * limits keep a misbehaving client from holding resources: a few connections,
	 * 10 s to send a request.
	 */
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, addr,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)8,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!s->daemon) {
		int e = errno;
		if (addr->sa_family == AF_INET)
			snprintf(where, sizeof(where), "port %u",
				 (unsigned)ntohs(((const struct sockaddr_in *)addr)->sin_port));
		else
			snprintf(where, sizeof(where), "port %u",
				 (unsigned)ntohs(((const struct sockaddr_in6 *)addr)->sin6_port));
		snprintf(err, errlen, "cannot listen for metrics on %s: %s", where,
			 e ? strerror(e) : "libmicrohttpd refused to start");
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -1;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	*out = s;
	return 0;
}

uint16_t metrics_server_port(struct metrics_server *s)
{
	return s->port;
}

void metrics_server_publish(struct metrics_server *s, char *text, size_t len)
{
	char *old;

	pthread_mutex_lock(&s->lock);
	old = s->text;
	s->text = text;
	s->len = len;
	pthread_mutex_unlock(&s->lock);
	free(old); /* outside the lock: freeing can take a moment */
}

uint64_t metrics_server_scrapes(struct metrics_server *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->scrapes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}
