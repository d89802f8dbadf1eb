// SPDX-License-Identifier: Apache-2.0
/*
 * atop-compatible network accounting server (tracewire_netacct.h).
 *
 * The protocol, as atop's netatop-bpf client speaks it: connect a stream
 * socket to /run/netatop-bpf-socket, send one 96-byte struct netpertask
 * (content ignored), read 96-byte records with plain recv() until one has
 * id 0. Because the client reads exactly one record per recv(), a record
 * must never be split over two socket buffers: records go out in sends of
 * whole records (at most 32 at a time, 3 KiB, well below one AF_UNIX skb),
 * and each send is one skb queued atomically to the reader.
 *
 * Single instance: netatop-bpf guards its start with a SysV semaphore set
 * (key 1541962). Nothing reads that semaphore but netatop-bpf itself (atop
 * only tests the socket path), and a semaphore survives a crash, so we do
 * not create it. Instead: an flock on PATH.lock (released by the kernel
 * when we die) keeps two tracewire servers apart, and before binding we
 * connect to an existing PATH: if something answers (netatop-bpf or another
 * agent) we refuse to start rather than steal its socket; a stale file is
 * removed.
 *
 * Access: the socket file is created 0600 (mode set on the socket before
 * bind, so there is no moment with a wider mode), 0660 and the configured
 * group when one is given; and every connection's peer credentials are
 * checked (root, or the group as primary or supplementary group), so a
 * loose mode or a descriptor handed over cannot widen access.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tracewire_netacct.h"

#define SRV_MAX_CLIENTS 32
#define SRV_BATCH 32 /* records per send(): 3072 bytes, one skb */

struct srv_client {
	int fd;
	size_t have; /* bytes of the current request received so far */
};

struct tw_netatop_server {
	struct tw_netacct *na;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	int listen_fd, lock_fd, wake[2];
	gid_t gid;
	pthread_t thread;
	struct srv_client clients[SRV_MAX_CLIENTS];
	pthread_mutex_t lock;
	uint64_t answered, refused;
};

/* Is gid among the peer's groups? SO_PEERCRED has the primary one; /proc has the rest. */
static bool peer_in_group(pid_t pid, gid_t primary, gid_t gid)
{
	char path[64], line[4096];
	bool found = primary == gid;
	FILE *f;

	if (found)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;
		if (strncmp(line, "Groups:", 7))
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);
			if (end == p)
				break;
			if ((gid_t)g == gid)
				found = true;
		}
		break;
	}
	fclose(f);
	return found;
}

static bool peer_allowed(struct tw_netatop_server *s, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr))
		return false;
	if (cr.uid == 0)
		return true;
	return s->gid != (gid_t)-1 && peer_in_group(cr.pid, cr.gid, s->gid);
}

static int send_all(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int by_pid_then_start(const void *a, const void *b)
{
	const struct tw_netacct_proc *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start_boot_ns < y->start_boot_ns ? -1 : x->start_boot_ns > y->start_boot_ns;
}

/*
 * One answer: every process, then the id-0 record. atop files the records
 * by pid alone, the last one winning, so when a pid was reused (an exited
 * process still retained, a live one with the same pid) only the newest
 * holder of the pid is sent; else atop would show the exited one's counters
 * for the live one about half the time.
 */
static int answer(struct tw_netatop_server *s, int fd)
{
	unsigned char buf[SRV_BATCH * TW_NETATOP_RECORD_SIZE];
	struct tw_netacct_proc *procs;
	size_t n, in_buf = 0;
	int rc = tw_netacct_read(s->na, &procs, &n);

	if (rc)
		return rc;
	n = tw_netacct_merge_threads(procs, n); /* atop counts processes */
	qsort(procs, n, sizeof(*procs), by_pid_then_start);
	for (size_t i = 0; i < n; i++) {
		if (procs[i].pid == 0)
			continue; /* id 0 is the terminator: never a process */
		if (i + 1 < n && procs[i + 1].pid == procs[i].pid)
			continue; /* an older holder of this pid */
		tw_netatop_encode(&procs[i], buf + in_buf * TW_NETATOP_RECORD_SIZE);
		if (++in_buf == SRV_BATCH) {
			if (send_all(fd, buf, sizeof(buf))) {
				free(procs);
				return -1;
			}
			in_buf = 0;
		}
	}
	free(procs);
	tw_netatop_encode_end(buf + in_buf * TW_NETATOP_RECORD_SIZE);
	in_buf++;
	return send_all(fd, buf, in_buf * TW_NETATOP_RECORD_SIZE);
}

static void client_drop(struct srv_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->have = 0;
}

static void client_readable(struct tw_netatop_server *s, struct srv_client *c)
{
	unsigned char req[TW_NETATOP_RECORD_SIZE];
	ssize_t n = recv(c->fd, req, sizeof(req) - c->have, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c);
		return;
	}
	c->have += (size_t)n; /* content ignored: only its size counts */
	if (c->have < TW_NETATOP_RECORD_SIZE)
		return;
	c->have = 0;
	if (answer(s, c->fd)) {
		client_drop(c);
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->answered++;
	pthread_mutex_unlock(&s->lock);
}

static void accept_one(struct tw_netatop_server *s)
{
	struct timeval tv = {.tv_sec = 2};
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!peer_allowed(s, fd)) {
		close(fd);
		pthread_mutex_lock(&s->lock);
		s->refused++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	/* a client that stops reading must not stall the others for long */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < SRV_MAX_CLIENTS; i++) {
		if (s->clients[i].fd < 0) {
			s->clients[i].fd = fd;
			s->clients[i].have = 0;
			return;
		}
	}
	close(fd); /* too many clients */
}

static void *serve(void *arg)
{
	struct tw_netatop_server *s = arg;
	struct pollfd pfd[SRV_MAX_CLIENTS + 2];
	int who[SRV_MAX_CLIENTS + 2];

	for (;;) {
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		for (int i = 0; i < SRV_MAX_CLIENTS; i++) {
			if (s->clients[i].fd < 0)
				continue;
			who[n] = i;
			pfd[n++] = (struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break; /* stop requested */
		if (pfd[1].revents & POLLIN)
			accept_one(s);
		for (int k = 2; k < n; k++)
			if (pfd[k].revents)
				client_readable(s, &s->clients[who[k]]);
	}
	return NULL;
}

/* Something already answers on path? */
static bool path_answers(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return yes;
}

static int srv_fail(struct tw_netatop_server *s, char *err, size_t errlen, int code,
		    const char *what)
{
	snprintf(err, errlen, "netatop server %s: %s%s%s", s->path, what, code ? ": " : "",
		 code ? strerror(code) : "");
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]), close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return -(code ? code : EINVAL);
}

int tw_netatop_server_start(struct tw_netatop_server **out, struct tw_netacct *na, const char *path,
			    gid_t gid, char *err, size_t errlen)
{
	struct tw_netatop_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa;
	struct stat st;
	int rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->na = na;
	s->gid = gid;
	s->listen_fd = s->lock_fd = s->wake[0] = s->wake[1] = -1;
	for (int i = 0; i < SRV_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (!path)
		path = TW_NETATOP_DEFAULT_PATH;
	if (strlen(path) >= sizeof(s->path)) {
		snprintf(s->path, sizeof(s->path), "%.60s...", path);
		return srv_fail(s, err, errlen, ENAMETOOLONG, "path too long");
	}
	strcpy(s->path, path);
	snprintf(s->lock_path, sizeof(s->lock_path), "%s.lock", path);
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return srv_fail(s, err, errlen, errno, "cannot create the lock file");
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB))
		return srv_fail(s, err, errlen, 0, "another tracewire server holds the lock");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (path_answers(&sa))
		return srv_fail(s, err, errlen, 0,
				"another server (netatop-bpf?) answers there; not taking it over");
	/* a socket nobody answers on is stale, from a server that died; anything else is not ours */
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode))
		return srv_fail(s, err, errlen, 0, "the path exists and is not a socket; not removing it");
	unlink(path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return srv_fail(s, err, errlen, errno, "socket");
	/* the file takes the socket inode's mode at bind: never wider than 0600 meanwhile */
	if (fchmod(s->listen_fd, 0600))
		return srv_fail(s, err, errlen, errno, "fchmod");
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)))
		return srv_fail(s, err, errlen, errno, "bind");
	if (gid != (gid_t)-1 && (chown(path, 0, gid) || chmod(path, 0660))) {
		rc = errno;
		unlink(path);
		return srv_fail(s, err, errlen, rc, "setting the group");
	}
	if (listen(s->listen_fd, 16) || pipe2(s->wake, O_CLOEXEC)) {
		rc = errno;
		unlink(path);
		return srv_fail(s, err, errlen, rc, "listen");
	}
	rc = pthread_create(&s->thread, NULL, serve, s);
	if (rc) {
		unlink(path);
		return srv_fail(s, err, errlen, rc, "thread");
	}
	*out = s;
	return 0;
}

void tw_netatop_server_stop(struct tw_netatop_server *s)
{
	if (!s)
		return;
	if (write(s->wake[1], "x", 1) < 0) {
		/* the pipe cannot be full with one byte: nothing else to do */
	}
	pthread_join(s->thread, NULL);
	for (int i = 0; i < SRV_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			close(s->clients[i].fd);
	close(s->listen_fd);
	unlink(s->path); /* before the lock goes: a successor cannot have bound yet */
	close(s->lock_fd);
	unlink(s->lock_path);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void tw_netatop_server_counts(struct tw_netatop_server *s, uint64_t *answered, uint64_t *refused)
{
	pthread_mutex_lock(&s->lock);
	*answered = s->answered;
	*refused = s->refused;
	pthread_mutex_unlock(&s->lock);
}
