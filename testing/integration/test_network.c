// SPDX-License-Identifier: Apache-2.0
/*
 * TCP connection events and flow metrics from the real probes: loopback
 * IPv4, IPv6 and v4-mapped, a connection that carries nothing, resets and
 * refusals, a process that exits holding a connection, two network
 * namespaces joined by a veth pair, and retransmissions induced by a
 * dropping token bucket, checked against the kernel's own TCP_INFO.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info as the kernel has it, newer than glibc's */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define NET_MASK TW_EVENTS_NETWORK
#define CLIENT_BYTES 1234
#define SERVER_BYTES 567

/* What the workload reports back through a pipe. */
struct net_result {
	int ok;                 /* 0: the workload failed at step `step` */
	int step;
	uint16_t client_port, server_port;
	uint64_t netns;         /* inode of the workload's network namespace */
	uint64_t peer_netns;
	pid_t holder;           /* exit_while_holding: the process that exited */
	uint32_t total_retrans; /* retransmissions: the kernel's TCP_INFO before close */
	uint32_t total_rto;
	int has_total_rto;
};

static int result_pipe[2];

static void report(struct net_result *r)
{
	if (write(result_pipe[1], r, sizeof(*r)) != sizeof(*r))
		_exit(99);
}

#define STEP(r, n, cond)                \
	do {                            \
		if (!(cond)) {          \
			(r)->step = (n); \
			report(r);      \
			_exit(98);      \
		}                       \
	} while (0)

static uint64_t netns_inode(void)
{
	struct stat st;
	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static socklen_t make_addr(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return sizeof(*a);
}

static int listener(int family, const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, ip, 0, &ss);
	int fd = socket(family, SOCK_STREAM, 0), one = 1, zero = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)); /* dual stack */
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int family, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(family, ip, port, &ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, size_t n, char fill)
{
	char buf[4096];
	memset(buf, fill, sizeof(buf));
	while (n) {
		ssize_t w = write(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (w <= 0)
			return -1;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_exactly(int fd, size_t n)
{
	char buf[4096];
	while (n) {
		ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (r <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

/* One exchange: the client sends CLIENT_BYTES, the server answers SERVER_BYTES. */
struct exchange_arg {
	int listen_family, connect_family;
	const char *listen_ip, *connect_ip;
};

static void exchange(void *p)
{
	const struct exchange_arg *a = p;
	struct net_result r = {.netns = netns_inode()};
	int l, c, s;

	STEP(&r, 1, (l = listener(a->listen_family, a->listen_ip)) >= 0);
	r.server_port = local_port(l);
	STEP(&r, 2, (c = connect_to(a->connect_family, a->connect_ip, r.server_port)) >= 0);
	r.client_port = local_port(c);
	STEP(&r, 3, (s = accept(l, NULL, NULL)) >= 0);
	STEP(&r, 4, send_all(c, CLIENT_BYTES, 'c') == 0 && recv_exactly(s, CLIENT_BYTES) == 0);
	STEP(&r, 5, send_all(s, SERVER_BYTES, 's') == 0 && recv_exactly(c, SERVER_BYTES) == 0);
	close(c);
	close(s);
	close(l);
	r.ok = 1;
	report(&r);
}

static struct net_result run_workload(struct it_trace *t, uint64_t mask, it_workload_fn fn, void *arg)
{
	struct net_result r = {0};

	cr_assert_eq(pipe(result_pipe), 0);
	it_start(t, mask, false, fn, arg);
	cr_assert_eq(it_run(t, 20000), 0, "the workload failed");
	close(result_pipe[1]);
	cr_assert_eq(read(result_pipe[0], &r, sizeof(r)), (ssize_t)sizeof(r), "no workload result");
	close(result_pipe[0]);
	cr_assert(r.ok, "workload step %d failed", r.step);
	return r;
}

static const struct tw_net_connection *conn(const struct tw_event *ev)
{
	return (const struct tw_net_connection *)ev->hdr;
}

/* The n-th connection event of `type` from pid whose source port is sport. */
static bool find_conn(struct it_trace *t, uint32_t type, pid_t pid, uint16_t sport,
		      struct tw_event *out)
{
	for (size_t i = 0; it_find(t, type, pid, i, out); i++)
		if (conn(out)->tuple.sport == sport)
			return true;
	return false;
}

static bool find_by_cookie(struct it_trace *t, uint32_t type, uint64_t cookie, struct tw_event *out)
{
	for (size_t i = 0; it_find(t, type, 0, i, out); i++) {
		uint64_t c = type == TW_EVENT_NETWORK_TCP_METRICS
				 ? ((const struct tw_tcp_metrics *)out->hdr)->cookie
				 : conn(out)->cookie;
		if (c == cookie)
			return true;
	}
	return false;
}

static void assert_addr(const uint8_t *addr, int family, const char *ip)
{
	uint8_t want[16] = {0};
	cr_assert_eq(inet_pton(family, ip, want), 1);
	cr_assert_arr_eq(addr, want, family == AF_INET ? 4 : 16, "address is not %s", ip);
}

/* Open, close and metrics of one exchange, from both ends, checked field by field. */
static void check_exchange(struct it_trace *t, const struct net_result *r, uint16_t family,
			   const char *client_ip, const char *server_ip, bool v4_mapped)
{
	struct tw_event att, acc, cl_c, cl_s, m_c, m_s;
	const struct tw_tcp_metrics *mc, *ms;

	cr_assert(find_conn(t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t->child, r->client_port, &att),
		  "no ATTEMPTED from port %u", r->client_port);
	cr_assert(find_conn(t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, t->child, r->server_port, &acc),
		  "no ACCEPTED on port %u", r->server_port);
	cr_assert_eq(conn(&att)->tuple.family, family);
	cr_assert_eq(conn(&att)->tuple.protocol, IPPROTO_TCP);
	cr_assert_eq(conn(&att)->tuple.dport, r->server_port);
	assert_addr(conn(&att)->tuple.saddr, family, client_ip);
	assert_addr(conn(&att)->tuple.daddr, family, server_ip);
	cr_assert_eq(conn(&att)->state, 2 /* SYN_SENT */);
	cr_assert_eq(!!(conn(&att)->flags & TW_NET_FLAG_V4_MAPPED), v4_mapped);
	cr_assert_eq(conn(&att)->netns, r->netns);
	cr_assert_str_eq(conn(&att)->comm, "it_network");
	cr_assert_eq(att.hdr->pids.tgid, (uint32_t)t->child);

	cr_assert_eq(conn(&acc)->tuple.family, family);
	cr_assert_eq(conn(&acc)->tuple.dport, r->client_port);
	assert_addr(conn(&acc)->tuple.saddr, family, server_ip);
	assert_addr(conn(&acc)->tuple.daddr, family, client_ip);
	cr_assert(conn(&acc)->flags & TW_NET_FLAG_ESTABLISHED);
	cr_assert_neq(conn(&acc)->cookie, conn(&att)->cookie);

	cr_assert(find_by_cookie(t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&att)->cookie, &cl_c),
		  "no CLOSED for the client's socket");
	cr_assert(find_by_cookie(t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&acc)->cookie, &cl_s),
		  "no CLOSED for the server's socket");
	cr_assert_eq(conn(&cl_c)->bytes_sent, CLIENT_BYTES);
	cr_assert_eq(conn(&cl_c)->bytes_received, SERVER_BYTES);
	cr_assert_eq(conn(&cl_s)->bytes_sent, SERVER_BYTES);
	cr_assert_eq(conn(&cl_s)->bytes_received, CLIENT_BYTES);
	cr_assert_eq(conn(&cl_c)->tuple.sport, r->client_port);
	cr_assert_eq(cl_c.hdr->pids.tgid, (uint32_t)t->child);
	cr_assert_gt(conn(&cl_c)->duration_ns, 0);
	cr_assert_lt(conn(&cl_c)->duration_ns, 10000000000ull);
	cr_assert_gt(cl_c.hdr->ts_boot_ns, att.hdr->ts_boot_ns);

	cr_assert(find_by_cookie(t, TW_EVENT_NETWORK_TCP_METRICS, conn(&att)->cookie, &m_c));
	cr_assert(find_by_cookie(t, TW_EVENT_NETWORK_TCP_METRICS, conn(&acc)->cookie, &m_s));
	mc = (const void *)m_c.hdr;
	ms = (const void *)m_s.hdr;
	cr_assert_eq(mc->reason, TW_TCP_METRICS_END);
	cr_assert_eq(mc->state, 7 /* CLOSE */);
	cr_assert_eq(mc->app_bytes_written, CLIENT_BYTES);
	cr_assert_eq(mc->app_bytes_read, SERVER_BYTES);
	cr_assert_eq(ms->app_bytes_written, SERVER_BYTES);
	cr_assert_eq(ms->app_bytes_read, CLIENT_BYTES);
	cr_assert_eq(mc->sndq_bytes, 0);
	cr_assert_eq(mc->retrans_segs, 0);
	cr_assert_gt(mc->rtt_samples, 0, "the RTT callback counted no samples");
	cr_assert_geq(mc->rtt_sum_us, mc->min_rtt_us);
	cr_assert_gt(mc->mss, 0);
	cr_assert_gt(mc->snd_cwnd, 0);
	cr_assert_gt(mc->segs_out, 2);
	cr_assert_eq(mc->hdr.pids.tgid, (uint32_t)t->child);
}

Test(network, loopback_ipv4)
{
	struct it_trace t;
	struct exchange_arg a = {AF_INET, AF_INET, "127.0.0.1", "127.0.0.1"};
	struct net_result r = run_workload(&t, NET_MASK, exchange, &a);
	cJSON *o;
	struct tw_event ev;

	check_exchange(&t, &r, AF_INET, "127.0.0.1", "127.0.0.1", false);
	/* and the JSON a user reads */
	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, r.client_port, &ev));
	o = it_json(&ev);
	cr_assert_str_eq(it_json_str(o, "event_type"), "NETWORK_CONNECTION_ATTEMPTED");
	cr_assert_str_eq(it_json_str(o, "network.family"), "ipv4");
	cr_assert_str_eq(it_json_str(o, "network.transport"), "tcp");
	cr_assert_str_eq(it_json_str(o, "network.destination.address"), "127.0.0.1");
	cr_assert_eq(it_json_num(o, "network.destination.port"), r.server_port);
	cr_assert_eq(it_json_num(o, "network.source.port"), r.client_port);
	cr_assert_str_eq(it_json_str(o, "network.state"), "SYN_SENT");
	cJSON_Delete(o);
	it_stop(&t);
}

Test(network, loopback_ipv6)
{
	struct it_trace t;
	struct exchange_arg a = {AF_INET6, AF_INET6, "::1", "::1"};
	struct net_result r = run_workload(&t, NET_MASK, exchange, &a);

	check_exchange(&t, &r, AF_INET6, "::1", "::1", false);
	it_stop(&t);
}

/* A dual-stack listener on :: reached over IPv4 from an AF_INET6 socket. */
Test(network, v4_mapped_dual_stack)
{
	struct it_trace t;
	struct exchange_arg a = {AF_INET6, AF_INET6, "::", "::ffff:127.0.0.1"};
	struct net_result r = run_workload(&t, NET_MASK, exchange, &a);
	struct tw_event ev;
	cJSON *o;

	check_exchange(&t, &r, AF_INET6, "::ffff:127.0.0.1", "::ffff:127.0.0.1", true);
	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, t.child, r.server_port, &ev));
	o = it_json(&ev);
	cr_assert_str_eq(it_json_str(o, "network.source.address"), "::ffff:127.0.0.1");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "network"), "v4_mapped")));
	cJSON_Delete(o);
	it_stop(&t);
}

/*
 * A connection that never carries a byte; one the client aborts with a
 * reset (SO_LINGER 0); one refused because nothing listens.
 */
static void quiet_reset_refused(void *unused)
{
	struct net_result r = {.netns = netns_inode()};
	struct linger lin = {1, 0};
	int l, c, s, c2, s2, c3;
	char b;

	(void)unused;
	STEP(&r, 1, (l = listener(AF_INET, "127.0.0.1")) >= 0);
	r.server_port = local_port(l);
	/* quiet */
	STEP(&r, 2, (c = connect_to(AF_INET, "127.0.0.1", r.server_port)) >= 0);
	r.client_port = local_port(c);
	STEP(&r, 3, (s = accept(l, NULL, NULL)) >= 0);
	close(c);
	STEP(&r, 4, read(s, &b, 1) == 0); /* the FIN arrived */
	close(s);
	/* reset */
	STEP(&r, 5, (c2 = connect_to(AF_INET, "127.0.0.1", r.server_port)) >= 0);
	STEP(&r, 6, (s2 = accept(l, NULL, NULL)) >= 0);
	STEP(&r, 7, setsockopt(c2, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) == 0);
	close(c2);
	STEP(&r, 8, read(s2, &b, 1) < 0); /* ECONNRESET */
	close(s2);
	close(l);
	/* refused: the listener is gone */
	c3 = connect_to(AF_INET, "127.0.0.1", r.server_port);
	STEP(&r, 9, c3 < 0);
	r.ok = 1;
	report(&r);
}

Test(network, quiet_reset_and_refused)
{
	struct it_trace t;
	struct net_result r = run_workload(&t, NET_MASK, quiet_reset_refused, NULL);
	struct tw_event ev, closed;
	size_t n_att = it_count(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child);
	size_t n_acc = it_count(&t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, t.child);
	size_t n_closed = it_count(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, t.child);

	cr_assert_eq(n_att, 3, "ATTEMPTED: %zu", n_att);
	cr_assert_eq(n_acc, 2, "ACCEPTED: %zu", n_acc);
	/* every reported open has its CLOSED: 3 client sockets and 2 accepted */
	cr_assert_eq(n_closed, 5, "CLOSED: %zu", n_closed);
	for (size_t i = 0; i < n_att + n_acc; i++) {
		uint32_t type = i < n_att ? TW_EVENT_NETWORK_CONNECTION_ATTEMPTED
					  : TW_EVENT_NETWORK_CONNECTION_ACCEPTED;
		cr_assert(it_find(&t, type, t.child, i < n_att ? i : i - n_att, &ev));
		cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&ev)->cookie,
					 &closed), "open %zu has no CLOSED", i);
		cr_assert_eq(conn(&closed)->bytes_sent, 0);
		cr_assert_eq(conn(&closed)->bytes_received, 0);
		cr_assert_eq(conn(&closed)->tuple.sport, conn(&ev)->tuple.sport,
			     "CLOSED keeps the tuple of the open");
	}
	/* the quiet one: established, no reset */
	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, r.client_port, &ev));
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&ev)->cookie, &closed));
	cr_assert(conn(&closed)->flags & TW_NET_FLAG_ESTABLISHED);
	cr_assert_eq(conn(&closed)->flags & (TW_NET_FLAG_RESET_RECEIVED | TW_NET_FLAG_RESET_SENT), 0);
	/* the reset one: the server's socket saw the reset */
	cr_assert(it_find(&t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, t.child, 1, &ev));
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&ev)->cookie, &closed));
	cr_assert(conn(&closed)->flags & TW_NET_FLAG_RESET_RECEIVED, "flags %#x", conn(&closed)->flags);
	cr_assert_eq(conn(&closed)->state, 7 /* CLOSE */);
	/* the refused one: never established, the SYN was answered by a reset */
	cr_assert(it_find(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, 2, &ev));
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&ev)->cookie, &closed));
	cr_assert_eq(conn(&closed)->flags & TW_NET_FLAG_ESTABLISHED, 0);
	cr_assert(conn(&closed)->flags & TW_NET_FLAG_RESET_RECEIVED);
	cr_assert_eq(conn(&ev)->tuple.dport, r.server_port);
	it_stop(&t);
}

/*
 * A process connects, sends 100 bytes and exits without closing: the kernel
 * runs sched_process_exit before it closes the socket. Its CLOSED must still
 * be delivered before its EXIT.
 */
static void exit_while_holding(void *unused)
{
	struct net_result r = {.netns = netns_inode()};
	int l, s, st;
	pid_t holder;
	char buf[256];

	(void)unused;
	STEP(&r, 1, (l = listener(AF_INET, "127.0.0.1")) >= 0);
	r.server_port = local_port(l);
	holder = fork();
	if (holder == 0) {
		int c = connect_to(AF_INET, "127.0.0.1", r.server_port);
		if (c < 0 || send_all(c, 100, 'h'))
			_exit(1);
		_exit(0); /* the socket is still open */
	}
	STEP(&r, 2, holder > 0);
	r.holder = holder;
	STEP(&r, 3, (s = accept(l, NULL, NULL)) >= 0);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	STEP(&r, 4, waitpid(holder, &st, 0) == holder && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(s);
	close(l);
	r.ok = 1;
	report(&r);
}

/* Index in delivery order of the first record of type from pid, or -1. */
static long delivery_index(struct it_trace *t, uint32_t type, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tw_event_header *h = t->recs[i].data;
		if (h->type == type && h->pids.tgid == (uint32_t)pid)
			return (long)i;
	}
	return -1;
}

Test(network, exit_never_precedes_closed)
{
	struct it_trace t;
	struct net_result r = run_workload(&t, NET_MASK, exit_while_holding, NULL);
	long closed = delivery_index(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, r.holder);
	long exited = delivery_index(&t, TW_EVENT_PROCESS_EXIT, r.holder);
	struct tw_event ev;
	struct tw_stats s;

	cr_assert_geq(closed, 0, "no CLOSED from the exiting holder");
	cr_assert_geq(exited, 0, "no EXIT of the holder");
	cr_assert_lt(closed, exited, "EXIT (#%ld) delivered before CLOSED (#%ld)", exited, closed);
	cr_assert(it_find(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, r.holder, 0, &ev));
	cr_assert_eq(conn(&ev)->bytes_sent, 100);
	/* the kernel's order really is the other one: the library held the EXIT back */
	uint64_t closed_ts = ev.hdr->ts_boot_ns;
	cr_assert(it_find(&t, TW_EVENT_PROCESS_EXIT, r.holder, 0, &ev));
	cr_assert_lt(ev.hdr->ts_boot_ns, closed_ts, "the kernel reported CLOSED before EXIT");
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_geq(s.exits_held, 1);
	cr_assert_eq(s.exits_hold_expired, 0);
	it_stop(&t);
}

/* Without holding (exit_hold_ms 0) the stream shows the kernel's order: the test can fail. */
Test(network, kernel_order_without_hold)
{
	struct it_trace t;
	struct net_result r;
	long closed, exited;

	it_exit_hold_ms = 0;
	r = run_workload(&t, NET_MASK, exit_while_holding, NULL);
	it_exit_hold_ms = -1;
	closed = delivery_index(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, r.holder);
	exited = delivery_index(&t, TW_EVENT_PROCESS_EXIT, r.holder);
	cr_assert_geq(closed, 0);
	cr_assert_geq(exited, 0);
	cr_assert_lt(exited, closed, "the kernel reported CLOSED first: the ordering test proves nothing");
	it_stop(&t);
}

/*
 * Two network namespaces joined by a veth pair: the server runs in a new
 * namespace at 10.231.<n>.2, the client in the test's namespace at .1.
 */
struct veth {
	char ns[32], host_if[16], peer_if[16], host_ip[20], peer_ip[20];
};

static struct veth veth_cfg;


static void veth_setup(struct veth *v)
{
	int n = getpid() % 200 + 20;

	snprintf(v->ns, sizeof(v->ns), "tw-it-%d", getpid());
	snprintf(v->host_if, sizeof(v->host_if), "twh%d", getpid() % 100000);
	snprintf(v->peer_if, sizeof(v->peer_if), "twp%d", getpid() % 100000);
	snprintf(v->host_ip, sizeof(v->host_ip), "10.231.%d.1", n);
	snprintf(v->peer_ip, sizeof(v->peer_ip), "10.231.%d.2", n);
	it_sh("ip netns add %s", v->ns);
	it_sh("ip link add %s type veth peer name %s", v->host_if, v->peer_if);
	it_sh("ip link set %s netns %s", v->peer_if, v->ns);
	it_sh("ip addr add %s/24 dev %s && ip link set %s up", v->host_ip, v->host_if, v->host_if);
	it_sh("ip -n %s addr add %s/24 dev %s && ip -n %s link set %s up && ip -n %s link set lo up",
	   v->ns, v->peer_ip, v->peer_if, v->ns, v->peer_if, v->ns);
}

static void veth_teardown(struct veth *v)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null; ip netns del %s 2>/dev/null",
		 v->host_if, v->ns);
	if (system(cmd)) {
		/* best effort: the namespace goes with its last user anyway */
	}
}


/*
 * Server in the peer namespace; client here. With `drop`, a tiny token
 * bucket on the client's side drops most of a burst for a while, so that the
 * client retransmits (timeouts and recoveries), then goes away.
 */
static void veth_exchange(void *p)
{
	bool drop = p != NULL;
	struct net_result r = {.netns = netns_inode()};
	int sync[2], c, st;
	pid_t server;
	uint16_t port = 0;

	STEP(&r, 1, pipe(sync) == 0);
	server = fork();
	if (server == 0) {
		int l, s;
		uint64_t ns;
		if (it_enter_netns(veth_cfg.ns) || (l = listener(AF_INET, veth_cfg.peer_ip)) < 0)
			_exit(1);
		port = local_port(l);
		ns = netns_inode();
		if (write(sync[1], &port, sizeof(port)) != sizeof(port) ||
		    write(sync[1], &ns, sizeof(ns)) != sizeof(ns))
			_exit(2);
		if ((s = accept(l, NULL, NULL)) < 0)
			_exit(3);
		if (recv_exactly(s, drop ? 3 * 65536 : CLIENT_BYTES) || send_all(s, SERVER_BYTES, 's'))
			_exit(4);
		char b;
		if (read(s, &b, 1) != 0) /* wait for the client's FIN */
			_exit(5);
		close(s);
		close(l);
		_exit(0);
	}
	STEP(&r, 2, server > 0);
	STEP(&r, 3, read(sync[0], &port, sizeof(port)) == sizeof(port));
	STEP(&r, 4, read(sync[0], &r.peer_netns, sizeof(r.peer_netns)) == sizeof(r.peer_netns));
	r.server_port = port;
	STEP(&r, 5, (c = connect_to(AF_INET, veth_cfg.peer_ip, port)) >= 0);
	r.client_port = local_port(c);
	if (drop) {
		char cmd[160];
		STEP(&r, 6, send_all(c, 65536, 'a') == 0);
		usleep(100000); /* acknowledged */
		/* a token bucket of 1 KB/s: nearly every segment is dropped, so RTOs fire */
		snprintf(cmd, sizeof(cmd), "tc qdisc add dev %s root tbf rate 8kbit burst 3000 limit 3000",
			 veth_cfg.host_if);
		STEP(&r, 7, system(cmd) == 0);
		STEP(&r, 8, send_all(c, 65536, 'b') == 0); /* fits in the send buffer */
		usleep(1300000); /* RTOs from ~200 ms on */
		snprintf(cmd, sizeof(cmd), "tc qdisc del dev %s root", veth_cfg.host_if);
		STEP(&r, 9, system(cmd) == 0);
		STEP(&r, 10, send_all(c, 65536, 'c') == 0);
	} else {
		STEP(&r, 6, send_all(c, CLIENT_BYTES, 'c') == 0);
	}
	STEP(&r, 11, recv_exactly(c, SERVER_BYTES) == 0);
	{
		/* the kernel's own counters, as ss -ti shows them, read before close */
		unsigned char info[512];
		socklen_t len = sizeof(info);
		size_t off = offsetof(struct tcp_info, tcpi_snd_wnd) + 4 + 8; /* rcv_wnd, rehash */
		STEP(&r, 12, getsockopt(c, IPPROTO_TCP, TCP_INFO, info, &len) == 0);
		r.total_retrans = ((struct tcp_info *)info)->tcpi_total_retrans;
		if (len >= off + 2) { /* tcpi_total_rto: Linux 6.7 and later */
			uint16_t rto;
			memcpy(&rto, info + off, sizeof(rto));
			r.total_rto = rto;
			r.has_total_rto = 1;
		}
	}
	shutdown(c, SHUT_WR);
	{
		char b;
		STEP(&r, 13, read(c, &b, 1) == 0); /* the server closed too */
	}
	close(c);
	STEP(&r, 14, waitpid(server, &st, 0) == server && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	r.ok = 1;
	report(&r);
}

Test(network, two_namespaces_over_veth)
{
	struct it_trace t;
	struct net_result r;
	struct tw_event att, acc, cl;

	it_require_bpf();
	veth_setup(&veth_cfg);
	r = run_workload(&t, NET_MASK, veth_exchange, NULL);
	veth_teardown(&veth_cfg);

	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, r.client_port, &att));
	assert_addr(conn(&att)->tuple.saddr, AF_INET, veth_cfg.host_ip);
	assert_addr(conn(&att)->tuple.daddr, AF_INET, veth_cfg.peer_ip);
	cr_assert_eq(conn(&att)->netns, r.netns);
	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, 0, r.server_port, &acc));
	cr_assert_neq(acc.hdr->pids.tgid, (uint32_t)t.child, "accepted by the server process");
	assert_addr(conn(&acc)->tuple.saddr, AF_INET, veth_cfg.peer_ip);
	assert_addr(conn(&acc)->tuple.daddr, AF_INET, veth_cfg.host_ip);
	cr_assert_eq(conn(&acc)->tuple.dport, r.client_port);
	cr_assert_eq(conn(&acc)->netns, r.peer_netns);
	cr_assert_neq(r.netns, r.peer_netns);
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&att)->cookie, &cl));
	cr_assert_eq(conn(&cl)->bytes_sent, CLIENT_BYTES);
	cr_assert_eq(conn(&cl)->bytes_received, SERVER_BYTES);
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, conn(&acc)->cookie, &cl));
	cr_assert_eq(conn(&cl)->bytes_sent, SERVER_BYTES);
	cr_assert_eq(conn(&cl)->bytes_received, CLIENT_BYTES);
	it_stop(&t);
}

Test(network, retransmissions_match_kernel_counters)
{
	struct it_trace t;
	struct net_result r;
	struct tw_event att, m;
	const struct tw_tcp_metrics *tm;

	it_require_bpf();
	veth_setup(&veth_cfg);
	r = run_workload(&t, NET_MASK, veth_exchange, (void *)1);
	veth_teardown(&veth_cfg);

	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, r.client_port, &att));
	cr_assert(find_by_cookie(&t, TW_EVENT_NETWORK_TCP_METRICS, conn(&att)->cookie, &m));
	tm = (const void *)m.hdr;
	cr_assert_gt(r.total_retrans, 0, "the dropping qdisc caused no retransmission");
	cr_assert_eq(tm->retrans_segs, r.total_retrans, "retransmitted segments: ours %u, kernel %u",
		     tm->retrans_segs, r.total_retrans);
	cr_assert_gt(tm->bytes_retrans, 0);
	if (r.has_total_rto) {
		cr_assert_gt(r.total_rto, 0);
		cr_assert_eq(tm->timeouts, r.total_rto, "timeouts: ours %u, kernel %u", tm->timeouts,
			     r.total_rto);
	} else {
		cr_assert_gt(tm->timeouts, 0);
	}
	cr_assert_eq(tm->app_bytes_written, 3 * 65536);
	cr_assert_eq(tm->app_bytes_read, SERVER_BYTES);
	cr_assert_geq(tm->bytes_sent, 3 * 65536 + tm->bytes_retrans);
	it_stop(&t);
}

/* A flow that lives 2.5 s: with a 500 ms interval its metrics also come while it lives. */
static void long_lived(void *unused)
{
	struct net_result r = {.netns = netns_inode()};
	int l, c, s;

	(void)unused;
	STEP(&r, 1, (l = listener(AF_INET, "127.0.0.1")) >= 0);
	r.server_port = local_port(l);
	STEP(&r, 2, (c = connect_to(AF_INET, "127.0.0.1", r.server_port)) >= 0);
	r.client_port = local_port(c);
	STEP(&r, 3, (s = accept(l, NULL, NULL)) >= 0);
	for (int i = 0; i < 5; i++) {
		STEP(&r, 4, send_all(c, 1000, 'l') == 0 && recv_exactly(s, 1000) == 0);
		usleep(500000);
	}
	close(c);
	close(s);
	close(l);
	r.ok = 1;
	report(&r);
}

Test(network, periodic_metrics_of_a_live_flow)
{
	struct it_trace t;
	struct net_result r;
	struct tw_event att, ev;
	size_t intervals = 0, ends = 0;
	uint64_t last_written = 0;

	it_tcp_metrics_interval_ms = 500;
	r = run_workload(&t, NET_MASK, long_lived, NULL);
	it_tcp_metrics_interval_ms = 0;
	cr_assert(find_conn(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, t.child, r.client_port, &att));
	for (size_t i = 0; it_find(&t, TW_EVENT_NETWORK_TCP_METRICS, t.child, i, &ev); i++) {
		const struct tw_tcp_metrics *m = (const void *)ev.hdr;
		if (m->cookie != conn(&att)->cookie)
			continue;
		if (m->reason == TW_TCP_METRICS_INTERVAL) {
			cr_assert_eq(ends, 0, "an interval record after the end record");
			cr_assert_geq(m->app_bytes_written, last_written, "counters only grow");
			cr_assert_leq(m->app_bytes_written, 5000);
			cr_assert_eq(m->app_bytes_written % 1000, 0, "%lu", (unsigned long)m->app_bytes_written);
			last_written = m->app_bytes_written;
			intervals++;
		} else {
			cr_assert_eq(m->reason, TW_TCP_METRICS_END);
			cr_assert_eq(m->app_bytes_written, 5000);
			ends++;
		}
	}
	cr_assert_eq(ends, 1);
	/* 2.5 s at 500 ms: 4 or 5 runs, 3 at the very least on a loaded machine */
	cr_assert_geq(intervals, 3, "%zu interval records", intervals);
	cr_assert_leq(intervals, 6, "%zu interval records", intervals);
	it_stop(&t);
}

/* Off by default: no interval record at all. */
Test(network, no_periodic_metrics_by_default)
{
	struct it_trace t;
	struct tw_event ev;

	run_workload(&t, NET_MASK, long_lived, NULL);
	for (size_t i = 0; it_find(&t, TW_EVENT_NETWORK_TCP_METRICS, t.child, i, &ev); i++)
		cr_assert_eq(((const struct tw_tcp_metrics *)ev.hdr)->reason, TW_TCP_METRICS_END);
	it_stop(&t);
}

/* ---- UDP flows and DNS ---------------------------------------------------- */

/* A DNS query for `name` (dotted) of `type`, id `id`: returns its length. */
static size_t dns_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type)
{
	size_t n = 12;
	const char *p = name;

	memset(buf, 0, 12);
	buf[0] = id >> 8, buf[1] = id & 0xff;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* one question */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	buf[n++] = type >> 8, buf[n++] = type & 0xff;
	buf[n++] = 0, buf[n++] = 1; /* IN */
	return n;
}

/*
 * The test's resolver: answers "www.tw.test" A with a CNAME to "web.tw.test"
 * and its address 10.9.8.7 (names compressed with pointers), AAAA with
 * 2001:db8::7, anything else NXDOMAIN; "bad.tw.test" gets a reply whose
 * answer name is a forward pointer (malformed).
 */
static size_t dns_answer(const uint8_t *q, size_t qlen, uint8_t *out)
{
	size_t n = qlen;
	uint16_t type = (uint16_t)(q[qlen - 4] << 8 | q[qlen - 3]);
	bool www = strstr((const char *)q + 13, "tw") && q[13] == 'w';
	bool bad = q[13] == 'b';

	memcpy(out, q, qlen);
	out[2] = 0x81, out[3] = 0x80; /* response, RD, RA, NOERROR */
	if (bad) {
		out[7] = 1;
		const uint8_t rr[] = {0xc0, 0xff, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4};
		memcpy(out + n, rr, sizeof(rr));
		return n + sizeof(rr);
	}
	if (!www) {
		out[3] = 0x83; /* NXDOMAIN */
		return n;
	}
	if (type == 1) {
		/* www.tw.test CNAME web.tw.test; web.tw.test A 10.9.8.7 */
		const uint8_t cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 0x2c, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16};
		size_t web = n + 12; /* where "web" + pointer starts */
		memcpy(out + n, cname, sizeof(cname));
		n += sizeof(cname);
		const uint8_t a[] = {0xc0, (uint8_t)web, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 9, 8, 7};
		memcpy(out + n, a, sizeof(a));
		n += sizeof(a);
		out[7] = 2;
		return n;
	}
	const uint8_t aaaa[] = {0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 30, 0, 16,
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	memcpy(out + n, aaaa, sizeof(aaaa));
	out[7] = 1;
	return n + sizeof(aaaa);
}

#define DNS_QUERIES 4

static void dns_exchange(void *unused)
{
	static const struct {
		const char *name;
		uint16_t type;
	} queries[DNS_QUERIES] = {{"www.tw.test", 1}, {"www.tw.test", 28}, {"nope.tw.test", 1},
				  {"bad.tw.test", 1}};
	struct net_result r = {.netns = netns_inode()};
	struct sockaddr_storage ss;
	int sync[2], c, st;
	pid_t server;

	(void)unused;
	STEP(&r, 1, pipe(sync) == 0);
	server = fork();
	if (server == 0) {
		uint8_t q[512], a[1024];
		struct sockaddr_storage from;
		socklen_t fl;
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		socklen_t len = make_addr(AF_INET, veth_cfg.peer_ip, 53, &ss);
		if (it_enter_netns(veth_cfg.ns) || (s = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
		    bind(s, (struct sockaddr *)&ss, len) || write(sync[1], "r", 1) != 1)
			_exit(1);
		for (int i = 0; i < DNS_QUERIES; i++) {
			ssize_t n;
			fl = sizeof(from);
			n = recvfrom(s, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			if (n < 17)
				_exit(2);
			size_t an = dns_answer(q, (size_t)n, a);
			if (sendto(s, a, an, 0, (struct sockaddr *)&from, fl) != (ssize_t)an)
				_exit(3);
		}
		_exit(0);
	}
	{
		char b;
		STEP(&r, 2, server > 0 && read(sync[0], &b, 1) == 1);
	}
	STEP(&r, 3, (c = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	for (int i = 0; i < DNS_QUERIES; i++) {
		uint8_t q[512], a[1024];
		size_t n = dns_query(q, (uint16_t)(0x1000 + i), queries[i].name, queries[i].type);
		socklen_t len = make_addr(AF_INET, veth_cfg.peer_ip, 53, &ss);
		STEP(&r, 4, sendto(c, q, n, 0, (struct sockaddr *)&ss, len) == (ssize_t)n);
		STEP(&r, 5, recv(c, a, sizeof(a), 0) > 0);
	}
	r.client_port = local_port(c);
	close(c);
	STEP(&r, 6, waitpid(server, &st, 0) == server && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	usleep(1500000); /* the UDP flows of released sockets are reported within a second */
	r.ok = 1;
	report(&r);
}

/* The i-th DNS event from pid in the given direction, as JSON. */
static cJSON *dns_json_of(struct it_trace *t, pid_t pid, uint32_t direction, size_t idx)
{
	struct tw_event ev;
	for (size_t i = 0; it_find(t, TW_EVENT_NETWORK_DNS, pid, i, &ev); i++) {
		if (((const struct tw_dns_message *)ev.hdr)->direction != direction)
			continue;
		if (idx-- == 0)
			return it_json(&ev);
	}
	return NULL;
}

Test(network, dns_over_udp_parsed)
{
	struct it_trace t;
	struct net_result r;
	struct tw_stats s;
	cJSON *o, *ans;

	it_require_bpf();
	veth_setup(&veth_cfg);
	r = run_workload(&t, NET_MASK, dns_exchange, NULL);
	veth_teardown(&veth_cfg);

	/*
	 * 4 queries, 3 well-formed replies: the bad reply is seen twice (the
	 * resolver, traced too, sends it; the client receives it), counted and
	 * dropped both times
	 */
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_eq(s.dns_malformed, 2, "malformed DNS: %lu", (unsigned long)s.dns_malformed);
	o = dns_json_of(&t, t.child, TW_DNS_SENT, 0);
	cr_assert_not_null(o, "no DNS query seen");
	cr_assert_str_eq(it_json_str(o, "dns.direction"), "sent");
	cr_assert_eq(it_json_num(o, "dns.id"), 0x1000);
	cr_assert_str_eq(it_json_str(o, "network.transport"), "udp");
	cr_assert_str_eq(it_json_str(o, "network.destination.address"), veth_cfg.peer_ip);
	cr_assert_eq(it_json_num(o, "network.destination.port"), 53);
	cr_assert_eq(it_json_num(o, "network.source.port"), r.client_port);
	ans = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "dns"), "questions"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(ans, "name")->valuestring, "www.tw.test");
	cr_assert_str_eq(cJSON_GetObjectItem(ans, "type")->valuestring, "A");
	cJSON_Delete(o);

	o = dns_json_of(&t, t.child, TW_DNS_RECEIVED, 0);
	cr_assert_not_null(o, "no DNS answer seen");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "dns"), "response")));
	cr_assert_str_eq(it_json_str(o, "dns.rcode"), "NOERROR");
	ans = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "dns"), "answers");
	cr_assert_eq(cJSON_GetArraySize(ans), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "type")->valuestring, "CNAME");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "name")->valuestring,
			 "www.tw.test");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "data")->valuestring,
			 "web.tw.test");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 1), "name")->valuestring,
			 "web.tw.test");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 1), "data")->valuestring,
			 "10.9.8.7");
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 1), "ttl")->valuedouble, 30);
	cJSON_Delete(o);

	o = dns_json_of(&t, t.child, TW_DNS_RECEIVED, 1);
	cr_assert_not_null(o);
	ans = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "dns"), "answers");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "type")->valuestring, "AAAA");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "data")->valuestring,
			 "2001:db8::7");
	cJSON_Delete(o);

	o = dns_json_of(&t, t.child, TW_DNS_RECEIVED, 2);
	cr_assert_not_null(o);
	cr_assert_str_eq(it_json_str(o, "dns.rcode"), "NXDOMAIN");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "dns"), "answers")), 0);
	cJSON_Delete(o);
	cr_assert_null(dns_json_of(&t, t.child, TW_DNS_RECEIVED, 3), "the malformed reply was delivered");
	cr_assert_eq(it_count(&t, TW_EVENT_NETWORK_DNS, t.child), 4 + 3);
	it_stop(&t);
}

/* UDP flows: per socket and peer, exact packet and payload byte counts, reported at release. */
static void udp_exchange(void *unused)
{
	struct net_result r = {.netns = netns_inode()};
	struct sockaddr_storage ss;
	socklen_t len;
	int a, b;
	char buf[2048];

	(void)unused;
	STEP(&r, 1, (a = socket(AF_INET6, SOCK_DGRAM, 0)) >= 0);
	STEP(&r, 2, (b = socket(AF_INET6, SOCK_DGRAM, 0)) >= 0);
	len = make_addr(AF_INET6, "::1", 0, &ss);
	STEP(&r, 3, bind(b, (struct sockaddr *)&ss, len) == 0);
	r.server_port = local_port(b);
	len = make_addr(AF_INET6, "::1", r.server_port, &ss);
	memset(buf, 'u', sizeof(buf));
	for (int i = 0; i < 3; i++)
		STEP(&r, 4, sendto(a, buf, 100 + i, 0, (struct sockaddr *)&ss, len) == 100 + i);
	r.client_port = local_port(a);
	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		STEP(&r, 5, recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 100 + i);
		if (i < 2) /* two answers of 1000 bytes */
			STEP(&r, 6, sendto(b, buf, 1000, 0, (struct sockaddr *)&from, fl) == 1000);
	}
	for (int i = 0; i < 2; i++)
		STEP(&r, 7, recv(a, buf, sizeof(buf), 0) == 1000);
	close(a);
	close(b);
	usleep(1500000); /* reported within a second of the release */
	r.ok = 1;
	report(&r);
}

Test(network, udp_flows_counted_per_peer)
{
	struct it_trace t;
	struct net_result r = run_workload(&t, NET_MASK, udp_exchange, NULL);
	struct tw_event ev;
	int seen = 0;

	for (size_t i = 0; it_find(&t, TW_EVENT_NETWORK_UDP_FLOW, t.child, i, &ev); i++) {
		const struct tw_udp_flow *f = (const void *)ev.hdr;
		cr_assert_eq(f->reason, TW_UDP_FLOW_CLOSED);
		cr_assert_eq(f->tuple.family, AF_INET6);
		cr_assert_eq(f->tuple.protocol, IPPROTO_UDP);
		assert_addr(f->tuple.saddr, AF_INET6, "::1");
		cr_assert_eq(f->flags & TW_NET_FLAG_OWNER_UNKNOWN, 0);
		cr_assert_eq(f->netns, r.netns);
		if (f->tuple.sport == r.client_port) {
			cr_assert_eq(f->tuple.dport, r.server_port);
			cr_assert_eq(f->packets_out, 3);
			cr_assert_eq(f->bytes_out, 100 + 101 + 102);
			cr_assert_eq(f->packets_in, 2);
			cr_assert_eq(f->bytes_in, 2000);
			seen |= 1;
		} else {
			cr_assert_eq(f->tuple.sport, r.server_port);
			cr_assert_eq(f->tuple.dport, r.client_port);
			cr_assert_eq(f->packets_in, 3);
			cr_assert_eq(f->bytes_in, 303);
			cr_assert_eq(f->packets_out, 2);
			cr_assert_eq(f->bytes_out, 2000);
			seen |= 2;
		}
		cr_assert_leq(f->first_ns, f->last_ns);
	}
	cr_assert_eq(seen, 3, "flows seen: %#x", seen);
	cr_assert_eq(it_count(&t, TW_EVENT_NETWORK_UDP_FLOW, t.child), 2);
	it_stop(&t);
}

/* Ordering also holds when only CLOSED is asked for: the opens are traced, not delivered. */
Test(network, exit_order_with_only_closed_requested)
{
	struct it_trace t;
	struct net_result r = run_workload(&t, TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED),
					   exit_while_holding, NULL);
	long closed = delivery_index(&t, TW_EVENT_NETWORK_CONNECTION_CLOSED, r.holder);
	long exited = delivery_index(&t, TW_EVENT_PROCESS_EXIT, r.holder);

	cr_assert_geq(closed, 0);
	cr_assert_geq(exited, 0);
	cr_assert_lt(closed, exited, "EXIT (#%ld) delivered before CLOSED (#%ld)", exited, closed);
	cr_assert_eq(it_count(&t, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, 0), 0, "not asked for");
	cr_assert_eq(it_count(&t, TW_EVENT_NETWORK_CONNECTION_ACCEPTED, 0), 0, "not asked for");
	it_stop(&t);
}
