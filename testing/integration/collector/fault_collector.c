// SPDX-License-Identifier: Apache-2.0
/*
 * A fault-injecting HTTP collector for the shipper tests. It accepts POSTs
 * (gzip or plain bodies, keep-alive), and answers each request according to
 * a plan, one step per request, then "ok" forever:
 *
 *   ok          store the lines, 200
 *   500, 503    answer that status, store nothing
 *   400         answer 400 with a JSON error body, store nothing
 *   429:S       answer 429 with "Retry-After: S", store nothing
 *   slow:MS     store the lines, wait MS, then 200 (the client may have given up: a
 *               resend of these lines is a duplicate the at-least-once contract allows)
 *   reset       close the connection without an answer, store nothing
 *   down:MS     close every connection and the listening socket, stay away MS
 *               (connections are refused), then listen again on the same port
 *
 * A step may repeat: "500x3". Example: --plan ok,500x2,429:1,slow:2500,reset,down:3000
 *
 * Output: --store FILE gets every stored line ("<request> <line>"), --log FILE one
 * line per request: "<ms since start> <request> <connection> <action> <lines> <first event_id>".
 * The bound port is written to --port-file (listen on an ephemeral port with --port 0).
 * With --tls-cert FILE --tls-key FILE it speaks HTTPS (for the certificate checks);
 * with --require-auth VALUE a request without "Authorization: VALUE" gets 401.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct step {
	char action[16];
	long arg;
};

static struct step plan[256];
static int plan_len, plan_pos;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *store_f, *log_f;
static int listen_fd = -1, port;
static uint64_t requests, connections, epoch;
static struct timespec t0;
static SSL_CTX *tls; /* NULL: plain HTTP */
static const char *require_auth;

/* A connection: a socket, and its TLS session when serving HTTPS. */
struct conn {
	int fd;
	SSL *ssl;
};

static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	if (!c->ssl)
		return recv(c->fd, buf, len, 0);
	int n = SSL_read(c->ssl, buf, (int)len);
	return n > 0 ? n : -1;
}

static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
	if (!c->ssl)
		return send(c->fd, buf, len, MSG_NOSIGNAL);
	int n = SSL_write(c->ssl, buf, (int)len);
	return n > 0 ? n : -1;
}

static uint64_t ms_since_start(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

static void parse_plan(const char *s)
{
	char *copy = strdup(s), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int times = 1;
		char *x = strrchr(tok, 'x');
		struct step st = {0};
		if (x && x != tok && x[1] >= '0' && x[1] <= '9') {
			times = atoi(x + 1);
			*x = 0;
		}
		char *colon = strchr(tok, ':');
		if (colon) {
			st.arg = atol(colon + 1);
			*colon = 0;
		}
		snprintf(st.action, sizeof(st.action), "%s", tok);
		if (strcmp(st.action, "ok") && strcmp(st.action, "500") && strcmp(st.action, "503") &&
		    strcmp(st.action, "400") && strcmp(st.action, "429") && strcmp(st.action, "slow") &&
		    strcmp(st.action, "reset") && strcmp(st.action, "down")) {
			fprintf(stderr, "fault_collector: unknown plan step '%s'\n", tok);
			exit(2);
		}
		while (times-- > 0 && plan_len < 256)
			plan[plan_len++] = st;
	}
	free(copy);
}

static int open_listener(int want_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(want_port)};
	socklen_t alen = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, 64)) {
		perror("fault_collector: bind/listen");
		exit(2);
	}
	getsockname(fd, (void *)&a, &alen);
	port = ntohs(a.sin_port);
	return fd;
}

static bool send_all(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = conn_send(c, p, n);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void respond(struct conn *fd, int status, const char *extra_hdr, const char *body)
{
	char buf[1024];
	const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 401 ? "Unauthorized" :
			     status == 429 ? "Too Many Requests" : status == 503 ? "Service Unavailable" :
			     "Internal Server Error";
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%sConnection: keep-alive\r\n\r\n%s",
			 status, reason, strlen(body), extra_hdr, body);
	send_all(fd, buf, (size_t)n);
}

static char *gunzip(const char *in, size_t len, size_t *out_len)
{
	z_stream z = {0};
	size_t cap = len * 8 + 4096;
	char *out = malloc(cap);
	int rc;

	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return NULL;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (z.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		z.next_out = (Bytef *)out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	*out_len = z.total_out;
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

/* The event_id of the first line, for the log (retries of a batch keep it). */
static void first_id(const char *body, size_t len, char *out, size_t outlen)
{
	const char *p = memmem(body, len, "\"event_id\":\"", 12);
	size_t n = 0;

	snprintf(out, outlen, "-");
	if (!p)
		return;
	p += 12;
	while (p + n < body + len && p[n] != '"' && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = 0;
}

static void *serve(void *arg)
{
	struct conn cn = {.fd = (int)(intptr_t)arg}, *fd = &cn;
	uint64_t conn, my_epoch;
	char *buf = NULL;
	size_t cap = 0, have = 0;

	if (tls) {
		cn.ssl = SSL_new(tls);
		SSL_set_fd(cn.ssl, cn.fd);
		if (SSL_accept(cn.ssl) != 1) { /* e.g. the client refused our certificate */
			SSL_free(cn.ssl);
			close(cn.fd);
			return NULL;
		}
	}

	pthread_mutex_lock(&lock);
	conn = ++connections;
	my_epoch = epoch;
	pthread_mutex_unlock(&lock);
	for (;;) {
		char *hdr_end;
		size_t clen = 0, hlen;
		bool gz = false, authorized = !require_auth;
		while (!(hdr_end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL)) {
			if (have == cap)
				buf = realloc(buf, cap = cap ? cap * 2 : 65536);
			ssize_t r = conn_recv(fd, buf + have, cap - have);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		hlen = (size_t)(hdr_end - buf) + 4;
		for (char *l = buf; l < hdr_end; l = strstr(l, "\r\n") + 2) {
			if (!strncasecmp(l, "Content-Length:", 15))
				clen = strtoul(l + 15, NULL, 10);
			if (!strncasecmp(l, "Content-Encoding:", 17) && strstr(l, "gzip") &&
			    strstr(l, "gzip") < strstr(l, "\r\n"))
				gz = true;
			if (require_auth && !strncasecmp(l, "Authorization: ", 15) &&
			    !strncmp(l + 15, require_auth, strlen(require_auth)) &&
			    !strncmp(l + 15 + strlen(require_auth), "\r\n", 2))
				authorized = true;
		}
		while (have < hlen + clen) {
			if (hlen + clen > cap)
				buf = realloc(buf, cap = hlen + clen);
			ssize_t r = conn_recv(fd, buf + have, cap - have);
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		size_t blen = clen;
		char *body = gz ? gunzip(buf + hlen, clen, &blen) : NULL;
		const char *b = gz ? body : buf + hlen;
		struct step st = {.action = "ok"};
		uint64_t req;
		char fid[128];
		size_t lines = 0;

		if (gz && !body) {
			respond(fd, 400, "", "{\"error\":\"bad gzip\"}");
			goto out;
		}
		for (size_t i = 0; i < blen; i++)
			lines += b[i] == '\n';
		first_id(b, blen, fid, sizeof(fid));
		pthread_mutex_lock(&lock);
		if (my_epoch != epoch) { /* the collector went down since this connection opened */
			pthread_mutex_unlock(&lock);
			free(body);
			goto out;
		}
		req = ++requests;
		if (!authorized)
			snprintf(st.action, sizeof(st.action), "401");
		else if (plan_pos < plan_len)
			st = plan[plan_pos++];
		char arg[24] = "";
		if (st.arg)
			snprintf(arg, sizeof(arg), ":%ld", st.arg);
		fprintf(log_f, "%lu %lu %lu %s%s %zu %s\n", (unsigned long)ms_since_start(),
			(unsigned long)req, (unsigned long)conn, st.action, arg, lines, fid);
		fflush(log_f);
		if (!strcmp(st.action, "ok") || !strcmp(st.action, "slow")) {
			const char *p = b, *end = b + blen;
			while (p < end) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
				fprintf(store_f, "%lu %.*s\n", (unsigned long)req, (int)l, p);
				p += l + 1;
			}
			fflush(store_f);
		}
		if (!strcmp(st.action, "down")) {
			/* refuse everything for a while: no listener, and old connections are dropped */
			epoch++;
			shutdown(listen_fd, SHUT_RDWR);
			close(listen_fd);
			listen_fd = -1;
			pthread_mutex_unlock(&lock);
			free(body);
			if (cn.ssl)
				SSL_free(cn.ssl);
			close(cn.fd);
			usleep((useconds_t)st.arg * 1000);
			pthread_mutex_lock(&lock);
			listen_fd = open_listener(port);
			pthread_mutex_unlock(&lock);
			free(buf);
			return NULL;
		}
		pthread_mutex_unlock(&lock);
		free(body);
		if (!strcmp(st.action, "reset")) {
			struct linger lg = {1, 0}; /* RST, not FIN */
			setsockopt(cn.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			goto out;
		}
		if (!strcmp(st.action, "slow"))
			usleep((useconds_t)st.arg * 1000);
		if (!strcmp(st.action, "ok") || !strcmp(st.action, "slow")) {
			respond(fd, 200, "", "");
		} else if (!strcmp(st.action, "429")) {
			char h[64];
			snprintf(h, sizeof(h), "Retry-After: %ld\r\n", st.arg);
			respond(fd, 429, h, "slow down");
		} else if (!strcmp(st.action, "401")) {
			respond(fd, 401, "", "{\"error\":\"who are you\"}");
		} else if (!strcmp(st.action, "400")) {
			respond(fd, 400, "Content-Type: application/json\r\n",
				"{\"error\":\"rejected by the test collector\"}");
		} else {
			respond(fd, atoi(st.action), "", "try again");
		}
		memmove(buf, buf + hlen + clen, have - hlen - clen);
		have -= hlen + clen;
	}
out:
	if (cn.ssl)
		SSL_free(cn.ssl);
	close(cn.fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *store = "/dev/null", *logp = "/dev/null", *cert = NULL, *key = NULL;
	int want_port = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--plan"))
			parse_plan(argv[i + 1]);
		else if (!strcmp(argv[i], "--port"))
			want_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--store"))
			store = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			logp = argv[i + 1];
		else if (!strcmp(argv[i], "--require-auth"))
			require_auth = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--tls-key"))
			key = argv[i + 1];
		else {
			fprintf(stderr, "usage: fault_collector [--port N] [--port-file F] [--plan P] "
					"[--store F] [--log F]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (cert && key) {
		tls = SSL_CTX_new(TLS_server_method());
		if (!tls || SSL_CTX_use_certificate_chain_file(tls, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(tls, key, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_f = fopen(store, "a");
	log_f = fopen(logp, "a");
	if (!store_f || !log_f) {
		perror("fault_collector: output");
		return 2;
	}
	listen_fd = open_listener(want_port);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		fprintf(f, "%d\n", port);
		fclose(f);
	}
	for (;;) {
		int lfd, fd;
		pthread_t t;

		pthread_mutex_lock(&lock);
		lfd = listen_fd;
		pthread_mutex_unlock(&lock);
		if (lfd < 0) {
			usleep(20000);
			continue;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			usleep(20000); /* the listener was closed under us ("down") */
			continue;
		}
		pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}
