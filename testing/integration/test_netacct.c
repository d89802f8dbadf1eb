// SPDX-License-Identifier: Apache-2.0
/*
 * Per-process network accounting on the real probes (tracewire_netacct.h).
 *
 * Accuracy: two network namespaces joined by a veth pair (fixed ifindexes
 * 4242/4243 so the unattributed buckets of this test can be told apart from
 * the rest of the host), a client process in one and a server process in
 * the other. For each load the interface counters (/proc/PID/net/dev, the
 * same dev_get_stats figures as /sys/class/net/IF/statistics, read from
 * inside the namespace) are compared with what was attributed to the two
 * processes plus what was bucketed on those interfaces, over the same
 * interval. IPv6 is off and the neighbours are static, so the link carries
 * nothing but the test's IPv4 traffic.
 *
 * Then the faults of netatop-bpf that must not come back: failed sends
 * (-EAGAIN) added as bytes, MSG_PEEK reads counted twice, a reused pid
 * merged with its predecessor, a full table no longer tracking new
 * processes. And the atop protocol, with a client written from the layout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "tracewire.h"
#include "tracewire_netacct.h"

#define NS_A "twna_a"
#define NS_B "twna_b"
#define IF_A "twna0"
#define IF_B "twna1"
#define IFX_A 4242
#define IFX_B 4243
#define IP_A "10.211.0.1"
#define IP_B "10.211.0.2"
#define MAC_A "02:00:0a:d3:00:01"
#define MAC_B "02:00:0a:d3:00:02"
#define PORT 5001


static void topo_down(void)
{
	if (system("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null; "
		   "ip link del " IF_A " 2>/dev/null") < 0)
		return;
}

/* gso_segs: 0 leaves the veth default (TSO: super-packets cross the link as one skb) */
static void topo_up(unsigned gso_max_segs)
{
	topo_down();
	it_sh("ip netns add " NS_A " && ip netns add " NS_B);
	it_sh("ip link add " IF_A " index %d address " MAC_A " type veth peer name " IF_B
	   " index %d address " MAC_B, IFX_A, IFX_B);
	if (gso_max_segs)
		it_sh("ip link set dev " IF_A " gso_max_segs %u && ip link set dev " IF_B
		   " gso_max_segs %u", gso_max_segs, gso_max_segs);
	it_sh("ip link set " IF_A " netns " NS_A " && ip link set " IF_B " netns " NS_B);
	/* nothing on the link but the test: no IPv6 (DAD, RS, MLD), no ARP */
	it_sh("ip netns exec " NS_A " sysctl -qw net.ipv6.conf." IF_A ".disable_ipv6=1");
	it_sh("ip netns exec " NS_B " sysctl -qw net.ipv6.conf." IF_B ".disable_ipv6=1");
	it_sh("ip -n " NS_A " addr add " IP_A "/24 dev " IF_A " && ip -n " NS_A " link set " IF_A " up");
	it_sh("ip -n " NS_B " addr add " IP_B "/24 dev " IF_B " && ip -n " NS_B " link set " IF_B " up");
	it_sh("ip -n " NS_A " neigh replace " IP_B " lladdr " MAC_B " dev " IF_A " nud permanent");
	it_sh("ip -n " NS_B " neigh replace " IP_A " lladdr " MAC_A " dev " IF_B " nud permanent");
}


struct ifstats {
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

/* An interface's counters as seen from the network namespace of process pid. */
static struct ifstats read_ifstats(pid_t pid, const char *ifname)
{
	char path[64], line[512];
	struct ifstats s = {0};
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;
		unsigned long long v[16];
		if (!colon)
			continue;
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (strcmp(name, ifname))
			continue;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) == 10) {
			s.rx_bytes = v[0], s.rx_packets = v[1], s.tx_bytes = v[8], s.tx_packets = v[9];
			found = true;
		}
	}
	fclose(f);
	cr_assert(found, "no %s in %s", ifname, path);
	return s;
}

/* ---- workloads ---- */

enum load { LOAD_TCP_UNI, LOAD_TCP_RR, LOAD_TCP_BULK, LOAD_UDP, LOAD_TCP_CONNS };
#define CONNS 200
#define UNI_WRITES 20000
#define RR_ROUNDS 4000
#define BULK_BYTES (32u << 20)
#define UDP_DATAGRAMS 10000
#define MSG 50

static int full_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void server_main(enum load load, int ready_fd)
{
	char buf[65536];
	int one = 1, l, c;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};

	inet_pton(AF_INET, IP_B, &sa.sin_addr);
	if (load == LOAD_UDP) {
		struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int rcv = 4 << 20;
		setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(2);
		if (write(ready_fd, "r", 1) != 1)
			_exit(2);
		/* until the last datagram: 300 ms of silence after the first one */
		if (recv(u, buf, sizeof(buf), 0) < 0)
			_exit(3);
		setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (recv(u, buf, sizeof(buf), 0) > 0)
			;
		_exit(0);
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		_exit(2);
	if (write(ready_fd, "r", 1) != 1)
		_exit(2);
	if (load == LOAD_TCP_CONNS) {
		/* one exchange per connection; the client closes first */
		for (int i = 0; i < CONNS; i++) {
			c = accept(l, NULL, NULL);
			if (c < 0 || full_read(c, buf, MSG) || write(c, buf, MSG) != MSG)
				_exit(3);
			while (read(c, buf, sizeof(buf)) > 0)
				;
			close(c);
		}
		close(l);
		_exit(0);
	}
	c = accept(l, NULL, NULL);
	if (c < 0)
		_exit(3);
	if (load == LOAD_TCP_RR) {
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (int i = 0; i < RR_ROUNDS; i++)
			if (full_read(c, buf, MSG) || write(c, buf, MSG) != MSG)
				_exit(4);
	}
	while (read(c, buf, sizeof(buf)) > 0)
		; /* to the client's FIN */
	close(c);
	close(l);
	_exit(0);
}

static void client_main(enum load load)
{
	static char buf[65536];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	int one = 1, c;

	inet_pton(AF_INET, IP_B, &sa.sin_addr);
	memset(buf, 'x', sizeof(buf));
	if (load == LOAD_UDP) {
		c = socket(AF_INET, SOCK_DGRAM, 0);
		for (int i = 0; i < UDP_DATAGRAMS; i++) {
			if (sendto(c, buf, MSG, 0, (struct sockaddr *)&sa, sizeof(sa)) != MSG)
				_exit(5);
			if (i % 64 == 63)
				usleep(200); /* the receiver is one process on 2 shared CPUs */
		}
		_exit(0);
	}
	if (load == LOAD_TCP_CONNS) {
		for (int i = 0; i < CONNS; i++) {
			c = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) || write(c, buf, MSG) != MSG ||
			    full_read(c, buf, MSG))
				_exit(5);
			close(c); /* FIN and the last ACKs after the close: orphaned, still counted */
		}
		_exit(0);
	}
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(5);
	if (load == LOAD_TCP_UNI) {
		for (int i = 0; i < UNI_WRITES; i++)
			if (write(c, buf, MSG) != MSG)
				_exit(6);
	} else if (load == LOAD_TCP_RR) {
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (int i = 0; i < RR_ROUNDS; i++)
			if (write(c, buf, MSG) != MSG || full_read(c, buf, MSG))
				_exit(6);
	} else {
		for (size_t sent = 0; sent < BULK_BYTES;) {
			ssize_t n = write(c, buf, sizeof(buf));
			if (n <= 0)
				_exit(6);
			sent += (size_t)n;
		}
	}
	shutdown(c, SHUT_WR);
	while (read(c, buf, sizeof(buf)) > 0)
		; /* the server's FIN: the connection ends inside the interval */
	close(c);
	_exit(0);
}

/* A child in a namespace: ready after setup, waits for "go", runs, then waits to be reaped. */
static pid_t spawn(const char *ns, enum load load, bool server, int ready[2], int go[2])
{
	pid_t pid = fork();
	char c;

	cr_assert(pid >= 0);
	if (pid)
		return pid;
	if (it_enter_netns(ns))
		_exit(1);
	if (server) {
		server_main(load, ready[1]);
	} else {
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		client_main(load);
	}
	_exit(0);
}

struct side {
	uint64_t attributed_bytes, attributed_packets, bucket_bytes, bucket_packets;
	uint64_t iface_bytes, iface_packets;
};

static void add_proc(struct side *s, const struct tw_netacct_proc *p)
{
	const struct tw_netacct_dir *d[] = {&p->tcp_out, &p->tcp_in, &p->udp_out, &p->udp_in,
					    &p->other_out, &p->other_in};
	for (size_t i = 0; i < 6; i++) {
		s->attributed_bytes += d[i]->wire_bytes;
		s->attributed_packets += d[i]->packets;
	}
}

static void bucket_sums(struct tw_netacct *na, uint32_t ifindex, uint64_t *bytes, uint64_t *pkts)
{
	struct tw_netacct_bucket *b;
	size_t n;

	*bytes = *pkts = 0;
	cr_assert_eq(tw_netacct_buckets(na, &b, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (b[i].ifindex == ifindex) {
			*bytes += b[i].bytes;
			*pkts += b[i].packets;
		}
	free(b);
}

struct accuracy {
	struct side a, b;
	struct tw_netacct_proc cli, srv;
};

static struct tw_netacct *open_na(uint32_t max_procs, uint32_t retain_ms)
{
	struct tw_netacct_options o;
	struct tw_netacct *na;
	char err[256];

	it_require_bpf();
	tw_netacct_options_init(&o);
	if (max_procs)
		o.max_procs = max_procs;
	o.retain_ms = retain_ms;
	cr_assert_eq(tw_netacct_open(&na, &o, err, sizeof(err)), 0, "%s", err);
	return na;
}

/*
 * With concurrent_reads set, run_load reads the table in a loop while the
 * load runs: every read folds the sockets' counts (an atomic exchange per
 * count) while the programs add to them and sockets close.
 */
static bool concurrent_reads;
static volatile bool reader_stop;
static unsigned long reader_passes;

static void *reader_main(void *arg)
{
	struct tw_netacct *na = arg;

	while (!reader_stop) {
		struct tw_netacct_proc *procs;
		size_t n;
		if (tw_netacct_read(na, &procs, &n) == 0) {
			free(procs);
			reader_passes++;
		}
	}
	return NULL;
}

static void run_load(enum load load, unsigned gso_max_segs, struct accuracy *r)
{
	pthread_t reader;
	struct tw_netacct *na = open_na(0, 600000);
	int ready[2], go[2], st;
	uint64_t ba0, pa0, bb0, pb0, ba1, pa1, bb1, pb1;
	struct ifstats a0, a1, b0, b1;
	pid_t srv, cli;
	char c;

	memset(r, 0, sizeof(*r));
	topo_up(gso_max_segs);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	srv = spawn(NS_B, load, true, ready, go);
	cr_assert_eq(read(ready[0], &c, 1), 1, "server did not start");
	cli = spawn(NS_A, load, false, ready, go);
	cr_assert_eq(read(ready[0], &c, 1), 1, "client did not start");
	/* the interval starts here: both ends set up, nothing sent yet */
	a0 = read_ifstats(cli, IF_A);
	b0 = read_ifstats(srv, IF_B);
	bucket_sums(na, IFX_A, &ba0, &pa0);
	bucket_sums(na, IFX_B, &bb0, &pb0);
	reader_stop = false;
	reader_passes = 0;
	if (concurrent_reads)
		cr_assert_eq(pthread_create(&reader, NULL, reader_main, na), 0);
	cr_assert_eq(write(go[1], "g", 1), 1);
	/* both exit once the exchange (with its FINs) is over; counters stay readable (retained) */
	cr_assert_eq(waitpid(cli, &st, 0), cli);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client failed: %d", st);
	usleep(200000); /* last ACKs on the wire */
	cr_assert_eq(waitpid(srv, &st, 0), srv);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server failed: %d", st);
	usleep(100000);
	if (concurrent_reads) {
		reader_stop = true;
		pthread_join(reader, NULL);
		printf("netacct concurrent reads during the load: %lu\n", reader_passes);
	}
	/* both namespaces still exist (ip netns pins them): read through a helper in each */
	{
		int p[2];
		pid_t h;
		struct ifstats v[2];
		cr_assert_eq(pipe(p), 0);
		h = fork();
		if (h == 0) {
			char path[64], line[512];
			for (int k = 0; k < 2; k++) {
				FILE *f;
				struct ifstats s = {0};
				if (it_enter_netns(k ? NS_B : NS_A))
					_exit(1);
				snprintf(path, sizeof(path), "/proc/thread-self/net/dev");
				f = fopen(path, "r");
				if (!f)
					_exit(1);
				while (fgets(line, sizeof(line), f)) {
					unsigned long long x[10];
					char *colon = strchr(line, ':');
					if (!colon || !strstr(line, k ? IF_B : IF_A))
						continue;
					if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
						   &x[0], &x[1], &x[2], &x[3], &x[4], &x[5], &x[6], &x[7], &x[8],
						   &x[9]) == 10)
						s = (struct ifstats){x[0], x[1], x[8], x[9]};
				}
				fclose(f);
				if (write(p[1], &s, sizeof(s)) != sizeof(s))
					_exit(1);
			}
			_exit(0);
		}
		cr_assert_eq(full_read(p[0], v, sizeof(v)), 0);
		waitpid(h, NULL, 0);
		close(p[0]);
		close(p[1]);
		a1 = v[0];
		b1 = v[1];
	}
	bucket_sums(na, IFX_A, &ba1, &pa1);
	bucket_sums(na, IFX_B, &bb1, &pb1);
	cr_assert_eq(tw_netacct_lookup(na, cli, 0, &r->cli), 0, "client not accounted");
	cr_assert_eq(tw_netacct_lookup(na, srv, 0, &r->srv), 0, "server not accounted");
	add_proc(&r->a, &r->cli);
	add_proc(&r->b, &r->srv);
	r->a.bucket_bytes = ba1 - ba0, r->a.bucket_packets = pa1 - pa0;
	r->b.bucket_bytes = bb1 - bb0, r->b.bucket_packets = pb1 - pb0;
	r->a.iface_bytes = (a1.rx_bytes - a0.rx_bytes) + (a1.tx_bytes - a0.tx_bytes);
	r->a.iface_packets = (a1.rx_packets - a0.rx_packets) + (a1.tx_packets - a0.tx_packets);
	r->b.iface_bytes = (b1.rx_bytes - b0.rx_bytes) + (b1.tx_bytes - b0.tx_bytes);
	r->b.iface_packets = (b1.rx_packets - b0.rx_packets) + (b1.tx_packets - b0.tx_packets);
	topo_down();
	tw_netacct_close(na);
}

static double report_side(const char *test, const char *name, const struct side *s)
{
	uint64_t acc = s->attributed_bytes + s->bucket_bytes;
	double ratio = s->iface_bytes ? (double)acc / (double)s->iface_bytes : 0;

	printf("netacct accuracy %-9s %s: interface %lu B %lu pkts; attributed %lu B %lu pkts, "
	       "bucketed %lu B %lu pkts; total/interface %.4f, attributed fraction %.4f\n",
	       test, name, (unsigned long)s->iface_bytes, (unsigned long)s->iface_packets,
	       (unsigned long)s->attributed_bytes, (unsigned long)s->attributed_packets,
	       (unsigned long)s->bucket_bytes, (unsigned long)s->bucket_packets, ratio,
	       s->iface_bytes ? (double)s->attributed_bytes / (double)s->iface_bytes : 0);
	fflush(stdout);
	return ratio;
}

static void check_accuracy(const char *test, const struct accuracy *r)
{
	double ra = report_side(test, "A(client)", &r->a);
	double rb = report_side(test, "B(server)", &r->b);

	cr_expect(ra > 0.98 && ra < 1.02, "%s client side: accounted/interface %.4f", test, ra);
	cr_expect(rb > 0.98 && rb < 1.02, "%s server side: accounted/interface %.4f", test, rb);
}

TestSuite(netacct, .timeout = 240);

Test(netacct, tcp_unidirectional_50_byte_writes)
{
	struct accuracy r;

	run_load(LOAD_TCP_UNI, 0, &r);
	check_accuracy("tcp_uni", &r);
	/* payload exactly: every write succeeded */
	cr_expect_eq(r.cli.tcp_out.calls, UNI_WRITES);
	cr_expect_eq(r.cli.tcp_out.payload_bytes, (uint64_t)UNI_WRITES * MSG);
	cr_expect_eq(r.srv.tcp_in.payload_bytes, (uint64_t)UNI_WRITES * MSG);
}

Test(netacct, tcp_request_response_50_bytes)
{
	struct accuracy r;

	run_load(LOAD_TCP_RR, 0, &r);
	check_accuracy("tcp_rr", &r);
	cr_expect_eq(r.cli.tcp_out.calls, RR_ROUNDS);
	cr_expect_eq(r.cli.tcp_out.payload_bytes, (uint64_t)RR_ROUNDS * MSG);
	cr_expect_eq(r.cli.tcp_in.payload_bytes, (uint64_t)RR_ROUNDS * MSG);
	cr_expect_eq(r.srv.tcp_out.payload_bytes, (uint64_t)RR_ROUNDS * MSG);
	/* every request and response is its own segment: at least 2 packets per round each way */
	cr_expect_geq(r.cli.tcp_out.packets, RR_ROUNDS);
}

/* The link counts segments (gso_max_segs 1), as a NIC's counters do after TSO. */
Test(netacct, tcp_bulk_segments)
{
	struct accuracy r;

	run_load(LOAD_TCP_BULK, 1, &r);
	check_accuracy("tcp_bulk", &r);
	cr_expect_eq(r.cli.tcp_out.payload_bytes, (uint64_t)BULK_BYTES);
	cr_expect_eq(r.srv.tcp_in.payload_bytes, (uint64_t)BULK_BYTES);
}

/*
 * TSO on (the veth default): the link carries super-packets and counts each
 * as one packet with one set of headers; we count the segments it stands
 * for. The difference must be exactly the headers of the extra segments
 * (IP 20 + TCP 32 with timestamps + link 14 = 66 bytes each).
 */
Test(netacct, tcp_bulk_tso_segments_corrected)
{
	struct accuracy r;
	int64_t extra_pkts, extra_bytes, expect;

	run_load(LOAD_TCP_BULK, 0, &r);
	report_side("bulk_tso", "A(client)", &r.a);
	extra_pkts = (int64_t)(r.a.attributed_packets + r.a.bucket_packets) - (int64_t)r.a.iface_packets;
	extra_bytes = (int64_t)(r.a.attributed_bytes + r.a.bucket_bytes) - (int64_t)r.a.iface_bytes;
	expect = extra_pkts * 66;
	printf("netacct bulk_tso: %ld segments more than the link's %lu skbs, %ld bytes more "
	       "(model: %ld)\n", (long)extra_pkts, (unsigned long)r.a.iface_packets, (long)extra_bytes,
	       (long)expect);
	cr_expect_geq(extra_pkts, 0);
	cr_expect(llabs(extra_bytes - expect) <= (int64_t)(r.a.iface_bytes / 50),
		  "correction %ld bytes, model %ld", (long)extra_bytes, (long)expect);
}

/*
 * Many short connections, each closed right after one exchange: the
 * sockets' counts are folded at close, what they send and receive after
 * it (FIN, last ACKs) is counted per packet, and every accepted socket
 * starts as a clone of the listener. Nothing may be lost or doubled.
 */
Test(netacct, tcp_short_connections)
{
	struct accuracy r;

	run_load(LOAD_TCP_CONNS, 0, &r);
	check_accuracy("tcp_conns", &r);
	cr_expect_eq(r.cli.tcp_out.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.srv.tcp_in.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.srv.tcp_out.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.cli.tcp_in.payload_bytes, CONNS * MSG);
}

/* The same while another thread reads (and so folds) as fast as it can. */
Test(netacct, tcp_short_connections_read_concurrently)
{
	struct accuracy r;

	concurrent_reads = true;
	run_load(LOAD_TCP_CONNS, 0, &r);
	concurrent_reads = false;
	check_accuracy("conns+rd", &r);
	cr_expect_gt(reader_passes, 10, "the reader hardly ran: %lu", reader_passes);
	cr_expect_eq(r.cli.tcp_out.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.srv.tcp_in.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.srv.tcp_out.payload_bytes, CONNS * MSG);
	cr_expect_eq(r.cli.tcp_in.payload_bytes, CONNS * MSG);
}

Test(netacct, udp_50_byte_datagrams)
{
	struct accuracy r;

	run_load(LOAD_UDP, 0, &r);
	check_accuracy("udp", &r);
	cr_expect_eq(r.cli.udp_out.calls, UDP_DATAGRAMS);
	cr_expect_eq(r.cli.udp_out.payload_bytes, (uint64_t)UDP_DATAGRAMS * MSG);
	/* each datagram: 50 + UDP 8 + IP 20 + link 14 */
	cr_expect_eq(r.cli.udp_out.wire_bytes, (uint64_t)UDP_DATAGRAMS * 92);
	cr_expect_eq(r.cli.udp_out.packets, UDP_DATAGRAMS);
}

/* ---- faults not to repeat ---- */

/* Run fn in a child; its result words come back through a pipe. */
static pid_t child_run(void (*fn)(int out_fd), int *out_fd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		fn(p[1]);
		_exit(0);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

static void loopback_pair(int *cli, int *srv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		_exit(10);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*cli, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(11);
	*srv = accept(l, NULL, NULL);
	close(l);
}

static void eagain_child(int out)
{
	static char buf[4096];
	uint64_t res[3] = {0};
	int c, s;

	loopback_pair(&c, &s); /* s never reads: c's buffers fill */
	fcntl(c, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = send(c, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno != EAGAIN)
				_exit(12);
			break;
		}
		res[0]++;
		res[1] += (uint64_t)n;
	}
	for (int i = 0; i < 100; i++)
		if (send(c, buf, sizeof(buf), 0) < 0 && errno == EAGAIN)
			res[2]++;
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(13);
	_exit(0);
}

Test(netacct, failed_sends_not_counted)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_netacct_proc p;
	uint64_t res[3];
	int fd;
	pid_t pid = child_run(eagain_child, &fd);

	cr_assert_eq(full_read(fd, res, sizeof(res)), 0);
	waitpid(pid, NULL, 0);
	cr_assert_eq(res[2], 100, "the extra sends should all have failed with EAGAIN");
	cr_assert_eq(tw_netacct_lookup(na, pid, 0, &p), 0);
	cr_expect_eq(p.tcp_out.calls, res[0], "calls %lu, successful %lu", p.tcp_out.calls, res[0]);
	cr_expect_eq(p.tcp_out.payload_bytes, res[1], "bytes %lu, sent %lu", p.tcp_out.payload_bytes,
		     res[1]);
	cr_expect(p.tcp_out.payload_bytes < (1ull << 40), "a negative return was added");
	tw_netacct_close(na);
}

static void peek_child(int out)
{
	char buf[100];
	uint64_t ok = 1;
	int c, s;

	memset(buf, 'p', sizeof(buf));
	loopback_pair(&c, &s);
	if (send(c, buf, sizeof(buf), 0) != sizeof(buf))
		ok = 0;
	/* peek until all 100 are there, possibly several peeks, then one real read */
	while (recv(s, buf, sizeof(buf), MSG_PEEK) < (ssize_t)sizeof(buf))
		usleep(1000);
	if (recv(s, buf, sizeof(buf), 0) != sizeof(buf))
		ok = 0;
	if (write(out, &ok, sizeof(ok)) != sizeof(ok))
		_exit(13);
	_exit(0);
}

Test(netacct, msg_peek_not_counted_twice)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_netacct_proc p;
	uint64_t ok;
	int fd;
	pid_t pid = child_run(peek_child, &fd);

	cr_assert_eq(full_read(fd, &ok, sizeof(ok)), 0);
	waitpid(pid, NULL, 0);
	cr_assert_eq(ok, 1);
	cr_assert_eq(tw_netacct_lookup(na, pid, 0, &p), 0);
	cr_expect_eq(p.tcp_in.calls, 1, "receive calls %lu", p.tcp_in.calls);
	cr_expect_eq(p.tcp_in.payload_bytes, 100, "received %lu", p.tcp_in.payload_bytes);
	cr_expect_eq(p.tcp_out.payload_bytes, 100);
	tw_netacct_close(na);
}

/* One UDP datagram of n bytes to the discard port on loopback. */
static void udp_send(size_t n)
{
	static char buf[2048];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	if (sendto(u, buf, n, 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)n)
		_exit(20);
	close(u);
}

/* A child with a chosen pid (clone3 set_tid; needs CAP_SYS_ADMIN, which the test has). */
static pid_t fork_with_pid(pid_t want)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uint64_t)(uintptr_t)&want;
	args.set_tid_size = 1;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

Test(netacct, pid_reuse_not_merged)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_netacct_proc *procs;
	size_t n, found = 0;
	uint64_t seen111 = 0, seen222 = 0, start[2] = {0};
	pid_t first, second;

	first = fork();
	cr_assert(first >= 0);
	if (first == 0) {
		udp_send(111);
		_exit(0);
	}
	waitpid(first, NULL, 0);
	second = fork_with_pid(first);
	cr_assert(second >= 0, "clone3 with set_tid failed: %s", strerror(errno));
	if (second == 0) {
		udp_send(222);
		_exit(0);
	}
	waitpid(second, NULL, 0);
	cr_assert_eq(second, first, "the pid was not reused");
	cr_assert_eq(tw_netacct_read(na, &procs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (procs[i].pid != (uint32_t)first)
			continue;
		if (found < 2)
			start[found] = procs[i].start_boot_ns;
		found++;
		if (procs[i].udp_out.payload_bytes == 111)
			seen111++;
		if (procs[i].udp_out.payload_bytes == 222)
			seen222++;
		cr_expect(procs[i].exited);
	}
	free(procs);
	cr_expect_eq(found, 2, "entries for pid %d: %zu", first, found);
	cr_expect_eq(seen111, 1);
	cr_expect_eq(seen222, 1);
	cr_expect_neq(start[0], start[1]);
	tw_netacct_close(na);
}

/*
 * A small table, retention long: only eviction under pressure can make
 * room. Short-lived processes fill it, exited ones are evicted oldest first,
 * and a process started after that is tracked exactly.
 */
Test(netacct, full_table_still_tracks_new_processes)
{
	enum { CAP = 256, CHURN = 400 };
	struct tw_netacct *na = open_na(CAP, 600000);
	struct tw_netacct_stats s;
	struct tw_netacct_proc p;
	pid_t last;

	for (int i = 0; i < CHURN; i++) {
		pid_t c = fork();
		cr_assert(c >= 0);
		if (c == 0) {
			udp_send(10);
			_exit(0);
		}
		waitpid(c, NULL, 0);
		if (i % 50 == 49)
			tw_netacct_tick(na); /* as the maintenance thread does every second */
	}
	tw_netacct_tick(na);
	cr_assert_eq(tw_netacct_stats(na, &s), 0);
	printf("netacct full table: %lu entries of %lu, evicted early %lu, not tracked %lu\n",
	       (unsigned long)s.procs, (unsigned long)s.capacity, (unsigned long)s.evicted_pressure,
	       (unsigned long)s.proc_table_full);
	cr_expect_gt(s.evicted_pressure, 0, "the table never came under pressure");
	cr_expect_leq(s.procs, CAP * 9 / 10);
	last = fork();
	if (last == 0) {
		udp_send(333);
		_exit(0);
	}
	waitpid(last, NULL, 0);
	cr_assert_eq(tw_netacct_lookup(na, last, 0, &p), 0, "a new process was not tracked");
	cr_expect_eq(p.udp_out.payload_bytes, 333);
	cr_expect_eq(p.udp_out.calls, 1);
	tw_netacct_close(na);
}

/*
 * Counts kept in the socket (folded into the process entry on owner change,
 * close, and before every read) must be exact at every read: while the
 * socket is still open, and across an owner change (a socket shared with a
 * child), wire bytes included. UDP to the discard port on loopback: each
 * datagram of n bytes is n + 8 + 20 + 14 bytes on the wire, one packet out.
 */
static void shared_socket_child(int out)
{
	static char buf[512];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int u = socket(AF_INET, SOCK_DGRAM, 0), st;
	pid_t pids[2] = {getpid(), 0};
	char c;

	/* not connected: the port unreachable answer would fail the next send */
#define SEND_TO(n) (sendto(u, buf, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == n)
	if (!SEND_TO(100))
		_exit(20);
	pids[1] = fork();
	if (pids[1] == 0) {
		if (!SEND_TO(200))
			_exit(21);
		_exit(0);
	}
	if (waitpid(pids[1], &st, 0) != pids[1] || !WIFEXITED(st) || WEXITSTATUS(st))
		_exit(22);
	if (!SEND_TO(300))
		_exit(23);
#undef SEND_TO
	/* still open while the test reads: the counts are in the socket, not yet in the entry */
	if (write(out, pids, sizeof(pids)) != sizeof(pids) || read(out, &c, 1) < 0)
		_exit(24);
	_exit(0);
}

Test(netacct, socket_counts_exact_while_open_and_across_owners)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_netacct_proc a, b;
	int sv[2];
	pid_t pids[2], pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		shared_socket_child(sv[1]);
	}
	close(sv[1]);
	cr_assert_eq(full_read(sv[0], pids, sizeof(pids)), 0);
	cr_assert_eq(tw_netacct_lookup(na, pids[0], 0, &a), 0, "the socket's creator not tracked");
	cr_assert_eq(tw_netacct_lookup(na, pids[1], 0, &b), 0, "the child using it not tracked");
	cr_expect_eq(a.udp_out.calls, 2);
	cr_expect_eq(a.udp_out.payload_bytes, 400);
	cr_expect_eq(b.udp_out.calls, 1);
	cr_expect_eq(b.udp_out.payload_bytes, 200);
	/*
	 * Wire counts: the owner changes when a call returns, after its packet
	 * left, so the first packet of each user is still its predecessor's;
	 * the sum is exact.
	 */
	cr_expect_eq(a.udp_out.packets + b.udp_out.packets, 3);
	cr_expect_eq(a.udp_out.wire_bytes + b.udp_out.wire_bytes, 600 + 3 * 42,
		     "wire bytes %lu + %lu", (unsigned long)a.udp_out.wire_bytes,
		     (unsigned long)b.udp_out.wire_bytes);
	close(sv[0]); /* the child exits and closes the socket: nothing may change or double */
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(tw_netacct_lookup(na, pids[0], 0, &a), 0);
	cr_assert_eq(tw_netacct_lookup(na, pids[1], 0, &b), 0);
	cr_expect_eq(a.udp_out.payload_bytes, 400);
	cr_expect_eq(a.udp_out.wire_bytes + b.udp_out.wire_bytes, 600 + 3 * 42);
	tw_netacct_close(na);
}

/*
 * per_thread: one entry per thread, each carrying its process. A process
 * whose second thread sends 222 bytes while the main thread sends 111.
 */
static void *thread_send(void *arg)
{
	(void)arg;
	udp_send(222);
	return NULL;
}

static void two_thread_child(int out)
{
	pthread_t t;
	pid_t tids[2] = {(pid_t)syscall(SYS_gettid), 0};

	udp_send(111);
	if (pthread_create(&t, NULL, thread_send, NULL) || pthread_join(t, NULL))
		_exit(30);
	if (write(out, tids, sizeof(tids)) != sizeof(tids))
		_exit(31);
	_exit(0);
}

Test(netacct, per_thread_entries)
{
	struct tw_netacct_options o;
	struct tw_netacct *na;
	struct tw_netacct_proc *procs;
	char err[256];
	size_t n, threads = 0;
	uint64_t tid_bytes[2] = {0, 0};
	pid_t tids[2], pid;
	int fd;

	it_require_bpf();
	tw_netacct_options_init(&o);
	o.per_thread = true;
	cr_assert_eq(tw_netacct_open(&na, &o, err, sizeof(err)), 0, "%s", err);
	pid = child_run(two_thread_child, &fd);
	cr_assert_eq(full_read(fd, tids, sizeof(tids[0])), 0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(tw_netacct_read(na, &procs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (procs[i].pid != (uint32_t)pid)
			continue;
		threads++;
		cr_expect_neq(procs[i].tid, 0);
		cr_expect(procs[i].exited, "thread %u not marked exited", procs[i].tid);
		if (procs[i].tid == (uint32_t)pid)
			tid_bytes[0] += procs[i].udp_out.payload_bytes;
		else
			tid_bytes[1] += procs[i].udp_out.payload_bytes;
	}
	cr_expect_eq(threads, 2, "entries of process %d: %zu", pid, threads);
	cr_expect_eq(tid_bytes[0], 111, "main thread %lu", (unsigned long)tid_bytes[0]);
	cr_expect_eq(tid_bytes[1], 222, "second thread %lu", (unsigned long)tid_bytes[1]);
	/* what atop gets: one process with both */
	n = tw_netacct_merge_threads(procs, n);
	for (size_t i = 0; i < n; i++)
		if (procs[i].pid == (uint32_t)pid)
			cr_expect_eq(procs[i].udp_out.payload_bytes, 333);
	free(procs);
	tw_netacct_close(na);
}

/*
 * The mount of the hierarchy the library names cgroups in by default (as
 * the scheduler probe): the v2 one on pure v2 hosts, else v1 cpu, else v1
 * memory. False if none is mounted.
 */
static bool accounting_cgroup_mount(char *out, size_t len)
{
	const char *want[] = {"cpu", "memory"};
	char line[4096], mnt[1024], fstype[64], opts[1024];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		snprintf(out, len, "/sys/fs/cgroup");
		return true;
	}
	for (size_t w = 0; w < 2; w++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		while (f && fgets(line, sizeof(line), f)) {
			char *sep = strstr(line, " - "), *o;
			if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
			    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2 || strcmp(fstype, "cgroup"))
				continue;
			for (o = strtok(opts, ","); o; o = strtok(NULL, ","))
				if (!strcmp(o, want[w])) {
					snprintf(out, len, "%s", mnt);
					fclose(f);
					return true;
				}
		}
		if (f)
			fclose(f);
	}
	return false;
}

/*
 * A process started in a cgroup of its own: its entry names that cgroup
 * (the directory's inode number, as the scheduler probe names cgroups).
 */
Test(netacct, entry_carries_cgroup_id)
{
	struct tw_netacct *na;
	struct tw_netacct_proc p;
	char cg[256], root[1024];
	uint64_t id;
	int st;
	pid_t c;

	if (!accounting_cgroup_mount(root, sizeof(root)))
		cr_skip_test("no cgroup hierarchy mounted");
	id = it_cgroup_create(root, "tw-it-netacct", cg, sizeof(cg));
	na = open_na(0, 600000);
	c = fork();
	cr_assert(c >= 0);
	if (c == 0) {
		if (it_cgroup_enter(cg, 0))
			_exit(122);
		udp_send(44);
		_exit(0);
	}
	cr_assert_eq(waitpid(c, &st, 0), c);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);
	cr_assert_eq(tw_netacct_lookup(na, c, 0, &p), 0, "the process was not tracked");
	cr_expect_eq(p.udp_out.payload_bytes, 44);
	cr_expect_eq(p.cgroup_id, id, "cgroup_id %lu, the cgroup's inode %lu",
		     (unsigned long)p.cgroup_id, (unsigned long)id);
	tw_netacct_close(na);
	it_cgroup_remove(cg);
}

/* Run statistics of the accounting programs, as tw_ctx_prog_stats gives them for events. */
Test(netacct, prog_stats_lists_the_programs)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_prog_stats st[32];
	bool send_seen = false;
	int n = tw_netacct_prog_stats(na, st, 32);

	cr_assert_geq(n, 5, "programs: %d", n);
	cr_assert_leq(n, 32);
	for (int i = 0; i < n; i++)
		send_seen |= !strcmp(st[i].program, "tw_na_send");
	cr_expect(send_seen, "tw_na_send not listed");
	cr_expect_eq(tw_netacct_prog_stats(na, st, 1), n, "the count must not depend on max");
	tw_netacct_close(na);
}

/* ---- the atop protocol ---- */

#define SOCK_PATH "/tmp/tracewire-netacct-test.sock"

static uint64_t get_u64(const unsigned char *r, size_t off)
{
	uint64_t v;
	memcpy(&v, r + off, sizeof(v));
	return v;
}

/* btime as atop computes it for a live process: boot time + starttime ticks. */
static uint64_t proc_btime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	struct timespec rt, bt;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	cr_assert_not_null(p);
	start = strtoull(p + 1, NULL, 10);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (uint64_t)(rt.tv_sec - bt.tv_sec) + start / (uint64_t)sysconf(_SC_CLK_TCK);
}

Test(netacct, atop_protocol_and_peer_credentials)
{
	struct tw_netacct *na = open_na(0, 600000);
	struct tw_netatop_server *srv;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned char req[96] = {0}, rec[96];
	uint64_t answered, refused, btime;
	int fd, go[2], records = 0, mine = 0, st;
	struct stat sb;
	char err[256], c;
	pid_t worker, nobody;

	unlink(SOCK_PATH);
	cr_assert_eq(tw_netatop_server_start(&srv, na, SOCK_PATH, (gid_t)-1, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(stat(SOCK_PATH, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600, "socket mode %o", sb.st_mode & 0777);
	/* a second server on the same path must refuse, not steal the socket */
	{
		struct tw_netatop_server *other;
		cr_expect_neq(tw_netatop_server_start(&other, na, SOCK_PATH, (gid_t)-1, err, sizeof(err)),
			      0);
	}

	/* a live process with known traffic: 3 UDP sends of 70 bytes, then it waits */
	cr_assert_eq(pipe(go), 0);
	worker = fork();
	if (worker == 0) {
		udp_send(70), udp_send(70), udp_send(70);
		if (write(go[1], "d", 1) != 1)
			_exit(1);
		pause(); /* alive while asked about: killed by the test */
		_exit(0);
	}
	cr_assert_eq(read(go[0], &c, 1), 1);

	strcpy(sa.sun_path, SOCK_PATH);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (int round = 0; round < 2; round++) {
		records = 0;
		cr_assert_eq(send(fd, req, sizeof(req), 0), 96);
		for (;;) {
			ssize_t n = recv(fd, rec, sizeof(rec), 0); /* as atop reads: one recv per record */
			int32_t id;
			cr_assert_eq(n, 96, "a record arrived in pieces (%zd bytes)", n);
			memcpy(&id, rec, 4);
			if (id == 0) {
				for (int i = 0; i < 96; i++)
					cr_assert_eq(rec[i], 0, "terminator byte %d", i);
				break;
			}
			records++;
			cr_assert_eq(rec[4] | rec[5] | rec[6] | rec[7], 0, "padding not zero");
			if (id != worker)
				continue;
			mine++;
			btime = get_u64(rec, 8);
			cr_expect(llabs((long long)btime - (long long)proc_btime(worker)) <= 1,
				  "btime %lu, /proc says %lu", btime, proc_btime(worker));
			cr_expect_eq(memcmp(rec + 16, "it_netacct", 10), 0, "command '%.16s'", rec + 16);
			cr_expect_eq(rec[31], 0, "command not NUL-terminated");
			cr_expect_eq(get_u64(rec, 32), 0);   /* tcpsndpacks */
			cr_expect_eq(get_u64(rec, 40), 0);   /* tcpsndbytes */
			cr_expect_eq(get_u64(rec, 48), 0);   /* tcprcvpacks */
			cr_expect_eq(get_u64(rec, 56), 0);   /* tcprcvbytes */
			cr_expect_eq(get_u64(rec, 64), 3);   /* udpsndpacks */
			cr_expect_eq(get_u64(rec, 72), 210); /* udpsndbytes */
			cr_expect_eq(get_u64(rec, 80), 0);   /* udprcvpacks */
			cr_expect_eq(get_u64(rec, 88), 0);   /* udprcvbytes */
		}
		cr_expect_geq(records, 1);
	}
	cr_expect_eq(mine, 2, "the worker appeared %d times in two answers", mine);
	close(fd);
	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);

	/* not root: refused by the file mode, and by the credential check when the mode is opened */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			cr_assert_eq(chmod(SOCK_PATH, 0666), 0);
		nobody = fork();
		if (nobody == 0) {
			unsigned char b[96] = {0};
			int s;
			if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
				_exit(10);
			s = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
				_exit(pass == 0 && errno == EACCES ? 0 : 11);
			/* connected: the server must hang up without a single record */
			if (send(s, b, sizeof(b), MSG_NOSIGNAL) < 0 && errno != EPIPE)
				_exit(12);
			_exit(recv(s, b, sizeof(b), 0) <= 0 && pass == 1 ? 0 : 13);
		}
		cr_assert_eq(waitpid(nobody, &st, 0), nobody);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pass %d: uid 65534 got an answer (%d)",
			  pass, WEXITSTATUS(st));
	}
	usleep(50000);
	tw_netatop_server_counts(srv, &answered, &refused);
	cr_expect_eq(answered, 2);
	cr_expect_eq(refused, 1, "credential refusals %lu", refused);
	tw_netatop_server_stop(srv);
	cr_expect_neq(access(SOCK_PATH, F_OK), 0, "the socket file outlived the server");
	tw_netacct_close(na);
}
