// SPDX-License-Identifier: Apache-2.0
/*
 * --netatop-server and --net-bandwidth: per-process network accounting in
 * EventsTrace (the library does the work: tracewire_netacct.h).
 *
 * NET_BANDWIDTH records carry, for every process with traffic in the
 * interval, the deltas of both layers: socket payload (calls and bytes) and
 * wire (packets and bytes as the interface carries them), per protocol and
 * direction, and rates. Unattributed traffic gets NET_BANDWIDTH_UNATTRIBUTED
 * records per interface, kind and protocol; with --net-interface-totals
 * also one record of kind "interface" per interface and direction: all it
 * carried, split into sockets, ARP, non-IP, forwarded and the remainder.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_writer.h"
#include "netacct_out.h"
#include "tracewire_json.h"
#include "tracewire_netacct.h"

struct et_netacct {
	struct tw_netacct *na;
	struct tw_netatop_server *server;
	uint32_t interval_s;
	uint64_t next_ns, last_ns; /* CLOCK_MONOTONIC */
	struct tw_netacct_proc *prev;
	size_t n_prev;
	struct tw_netacct_bucket *prev_b;
	size_t n_prev_b;
	struct tw_netacct_iface *prev_if; /* --net-interface-totals */
	size_t n_prev_if;
	bool ifaces;
	struct tw_json json;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int by_key(const void *a, const void *b)
{
	const struct tw_netacct_proc *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_boot_ns != y->start_boot_ns)
		return x->start_boot_ns < y->start_boot_ns ? -1 : 1;
	if (x->tid != y->tid) /* --net-per-thread: one entry per thread */
		return x->tid < y->tid ? -1 : 1;
	return x->thread_start_boot_ns < y->thread_start_boot_ns ? -1
	       : x->thread_start_boot_ns > y->thread_start_boot_ns;
}

int et_netacct_open(struct et_netacct **out, const struct tw_cli *cli)
{
	struct tw_netacct_options o;
	struct et_netacct *n;
	gid_t gid = (gid_t)-1;
	char err[512];

	*out = NULL;
	if (!cli->netatop_path && !cli->net_bandwidth_s)
		return 0;
	if (cli->netatop_group) {
		struct group *g = getgrnam(cli->netatop_group);
		char *end;
		unsigned long v = strtoul(cli->netatop_group, &end, 10);
		if (g)
			gid = g->gr_gid;
		else if (*end == '\0' && end != cli->netatop_group)
			gid = (gid_t)v;
		else {
			fprintf(stderr, "EventsTrace: --netatop-group: no group '%s'\n", cli->netatop_group);
			return -1;
		}
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -1;
	tw_json_init(&n->json);
	tw_netacct_options_init(&o);
	if (cli->netacct_retain_s >= 0)
		o.retain_ms = (uint32_t)cli->netacct_retain_s * 1000;
	if (cli->netacct_max_procs)
		o.max_procs = cli->netacct_max_procs;
	o.per_thread = cli->netacct_per_thread;
	o.interface_totals = cli->netacct_iface_totals;
	o.verbose = cli->verbose;
	if (tw_netacct_open(&n->na, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		free(n);
		return -1;
	}
	if (cli->netatop_path &&
	    tw_netatop_server_start(&n->server, n->na, cli->netatop_path, gid, err, sizeof(err)) < 0) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		tw_netacct_close(n->na);
		free(n);
		return -1;
	}
	n->interval_s = cli->net_bandwidth_s;
	n->last_ns = mono_ns();
	n->next_ns = n->last_ns + (uint64_t)n->interval_s * 1000000000ull;
	/* the baseline: counters of processes that existed before are not this interval's */
	if (n->interval_s && tw_netacct_read(n->na, &n->prev, &n->n_prev) == 0)
		qsort(n->prev, n->n_prev, sizeof(*n->prev), by_key);
	if (n->interval_s)
		tw_netacct_buckets(n->na, &n->prev_b, &n->n_prev_b);
	n->ifaces = cli->netacct_iface_totals;
	if (n->interval_s && n->ifaces)
		tw_netacct_interfaces(n->na, &n->prev_if, &n->n_prev_if);
	*out = n;
	return 0;
}

static void dir_json(struct tw_json *j, const char *key, const struct tw_netacct_dir *d,
		     const struct tw_netacct_dir *p, bool payload)
{
	tw_json_begin_object(j, key);
	if (payload) {
		tw_json_u64(j, "calls", d->calls - p->calls);
		tw_json_u64(j, "payload_bytes", d->payload_bytes - p->payload_bytes);
	}
	tw_json_u64(j, "packets", d->packets - p->packets);
	tw_json_u64(j, "wire_bytes", d->wire_bytes - p->wire_bytes);
	tw_json_end_object(j);
}

static bool dir_changed(const struct tw_netacct_dir *d, const struct tw_netacct_dir *p)
{
	return d->calls != p->calls || d->payload_bytes != p->payload_bytes ||
	       d->packets != p->packets || d->wire_bytes != p->wire_bytes;
}

static int emit(struct et_netacct *n, FILE *out)
{
	size_t len;
	const char *line = tw_json_finish(&n->json, &len);
	int rc = line && fwrite(line, 1, len, out) != len ? -1 : 0;

	tw_json_reset(&n->json);
	return rc;
}

static void header(struct tw_json *j, const char *type, uint64_t now_real, uint64_t dur_ns)
{
	char iso[40];

	tw_json_begin_object(j, NULL);
	tw_json_raw_string(j, "event_type", type);
	tw_format_iso8601(now_real, iso, sizeof(iso));
	tw_json_raw_string(j, "time", iso);
	tw_json_u64(j, "interval_ns", dur_ns);
}

static const char *kind_name(enum tw_netacct_bucket_kind k)
{
	return k == TW_NETACCT_NO_OWNER ? "no_owner" : k == TW_NETACCT_NO_ENTRY ? "table_full" : "other";
}

/* One NET_BANDWIDTH record: the traffic of c since p. */
static int proc_record(struct et_netacct *n, FILE *out, const struct tw_netacct_proc *c,
		       const struct tw_netacct_proc *p, uint64_t now_real, uint64_t dur)
{
	struct tw_json *j = &n->json;
	uint64_t out_b, in_b;

	header(j, "NET_BANDWIDTH", now_real, dur);
	tw_json_begin_object(j, "process");
	tw_json_u64(j, "pid", c->pid);
	tw_json_u64(j, "start_time_ns", c->start_boot_ns);
	tw_json_string(j, "comm", c->comm, strnlen(c->comm, sizeof(c->comm)));
	tw_json_bool(j, "exited", c->exited);
	tw_json_bool(j, "kernel_thread", c->kthread);
	tw_json_u64(j, "cgroup_id", c->cgroup_id);
	if (c->tid) { /* --net-per-thread */
		tw_json_u64(j, "tid", c->tid);
		tw_json_u64(j, "thread_start_time_ns", c->thread_start_boot_ns);
	}
	tw_json_end_object(j);
	tw_json_begin_object(j, "tcp");
	dir_json(j, "out", &c->tcp_out, &p->tcp_out, true);
	dir_json(j, "in", &c->tcp_in, &p->tcp_in, true);
	tw_json_end_object(j);
	tw_json_begin_object(j, "udp");
	dir_json(j, "out", &c->udp_out, &p->udp_out, true);
	dir_json(j, "in", &c->udp_in, &p->udp_in, true);
	tw_json_end_object(j);
	tw_json_begin_object(j, "other");
	dir_json(j, "out", &c->other_out, &p->other_out, false);
	dir_json(j, "in", &c->other_in, &p->other_in, false);
	tw_json_end_object(j);
	out_b = (c->tcp_out.wire_bytes - p->tcp_out.wire_bytes) +
		(c->udp_out.wire_bytes - p->udp_out.wire_bytes) +
		(c->other_out.wire_bytes - p->other_out.wire_bytes);
	in_b = (c->tcp_in.wire_bytes - p->tcp_in.wire_bytes) +
	       (c->udp_in.wire_bytes - p->udp_in.wire_bytes) +
	       (c->other_in.wire_bytes - p->other_in.wire_bytes);
	/* bits per second on the wire, as interface monitors show it */
	tw_json_u64(j, "wire_bps_out", dur ? (uint64_t)((double)out_b * 8e9 / (double)dur) : 0);
	tw_json_u64(j, "wire_bps_in", dur ? (uint64_t)((double)in_b * 8e9 / (double)dur) : 0);
	tw_json_end_object(j);
	return emit(n, out);
}

static void add_delta(struct tw_netacct_dir *to, const struct tw_netacct_dir *c,
		      const struct tw_netacct_dir *p)
{
	to->calls += c->calls - p->calls;
	to->payload_bytes += c->payload_bytes - p->payload_bytes;
	to->packets += c->packets - p->packets;
	to->wire_bytes += c->wire_bytes - p->wire_bytes;
}

/*
 * Kernel threads come and go by the hundred (kworkers), so their traffic
 * (NFS, iSCSI, ...) is reported per name: one record per kernel thread
 * name (tw_netacct_kthread_name: kworker/u8:2 -> kworker) with pid 0, its
 * interval's deltas summed over the threads. The deltas are summed, not
 * the totals, so a thread's entry leaving the table takes nothing back.
 */
struct kt_group {
	struct tw_netacct_proc sum;
	bool active;
};

static void kt_add(struct kt_group *g, size_t *ng, size_t max, const struct tw_netacct_proc *c,
		   const struct tw_netacct_proc *p)
{
	char name[16];
	size_t i;

	tw_netacct_kthread_name(c->comm, name);
	for (i = 0; i < *ng && strcmp(g[i].sum.comm, name); i++)
		;
	if (i == *ng) {
		if (*ng == max)
			i = max - 1; /* more names than slots: the last one takes the rest */
		else {
			memset(&g[i], 0, sizeof(g[i]));
			memcpy(g[i].sum.comm, name, sizeof(name));
			g[i].sum.kthread = true;
			(*ng)++;
		}
	}
	g[i].active = true;
	add_delta(&g[i].sum.tcp_out, &c->tcp_out, &p->tcp_out);
	add_delta(&g[i].sum.tcp_in, &c->tcp_in, &p->tcp_in);
	add_delta(&g[i].sum.udp_out, &c->udp_out, &p->udp_out);
	add_delta(&g[i].sum.udp_in, &c->udp_in, &p->udp_in);
	add_delta(&g[i].sum.other_out, &c->other_out, &p->other_out);
	add_delta(&g[i].sum.other_in, &c->other_in, &p->other_in);
}

static void count_json(struct tw_json *j, const char *key, const struct tw_netacct_count *c)
{
	tw_json_begin_object(j, key);
	tw_json_u64(j, "packets", c->packets);
	tw_json_u64(j, "wire_bytes", c->bytes);
	tw_json_end_object(j);
}

static struct tw_netacct_count count_sub(struct tw_netacct_count c, struct tw_netacct_count p)
{
	return (struct tw_netacct_count){c.packets - p.packets, c.bytes - p.bytes};
}

/* The interval's delta of one direction of an interface (c - p). */
static struct tw_netacct_iface_dir iface_delta(const struct tw_netacct_iface_dir *c,
					       const struct tw_netacct_iface_dir *p)
{
	return (struct tw_netacct_iface_dir){
		.total = count_sub(c->total, p->total),
		.sockets = count_sub(c->sockets, p->sockets),
		.arp = count_sub(c->arp, p->arp),
		.non_ip = count_sub(c->non_ip, p->non_ip),
		.forwarded = count_sub(c->forwarded, p->forwarded),
	};
}

/*
 * --net-interface-totals: per interface and direction with traffic in the
 * interval, one record of kind "interface": the total the interface carried
 * and its parts (sockets = attributed + this interface's no_owner and
 * table_full records), the remainder signed.
 */
static int iface_records(struct et_netacct *n, FILE *out, uint64_t now_real, uint64_t dur)
{
	static const struct tw_netacct_iface none;
	struct tw_netacct_iface *cur;
	struct tw_json *j = &n->json;
	size_t nc;
	int rc = 0;

	if (tw_netacct_interfaces(n->na, &cur, &nc))
		return 0;
	for (size_t i = 0; i < nc && rc == 0; i++) {
		const struct tw_netacct_iface *p = &none;
		for (size_t k = 0; k < n->n_prev_if; k++)
			if (n->prev_if[k].ifindex == cur[i].ifindex)
				p = &n->prev_if[k];
		for (int dir = 0; dir < 2 && rc == 0; dir++) {
			struct tw_netacct_iface_dir d =
				dir ? iface_delta(&cur[i].in, &p->in) : iface_delta(&cur[i].out, &p->out);
			int64_t rp, rb;
			if (!d.total.packets && !d.sockets.packets && !d.forwarded.packets)
				continue;
			tw_netacct_iface_remainder(&d, &rp, &rb);
			header(j, "NET_BANDWIDTH_UNATTRIBUTED", now_real, dur);
			tw_json_u64(j, "ifindex", cur[i].ifindex);
			tw_json_raw_string(j, "kind", "interface");
			tw_json_raw_string(j, "direction", dir ? "in" : "out");
			tw_json_u64(j, "packets", d.total.packets);
			tw_json_u64(j, "wire_bytes", d.total.bytes);
			count_json(j, "sockets", &d.sockets);
			count_json(j, "arp", &d.arp);
			count_json(j, "non_ip", &d.non_ip);
			count_json(j, "forwarded", &d.forwarded);
			tw_json_begin_object(j, "remainder");
			tw_json_i64(j, "packets", rp);
			tw_json_i64(j, "wire_bytes", rb);
			tw_json_end_object(j);
			tw_json_end_object(j);
			rc = emit(n, out);
		}
	}
	free(n->prev_if);
	n->prev_if = cur;
	n->n_prev_if = nc;
	return rc;
}

int et_netacct_poll(struct et_netacct *n, FILE *out)
{
	static const struct tw_netacct_proc zero;
	enum { KT_MAX = 64 };
	struct kt_group kt[KT_MAX];
	size_t n_kt = 0;
	struct tw_netacct_proc *cur;
	struct tw_netacct_bucket *b;
	size_t nc, nb;
	uint64_t now, dur, now_real;
	struct tw_json *j = &n->json;
	int rc = 0;

	if (!n || !n->interval_s)
		return 0;
	now = mono_ns();
	if (now < n->next_ns)
		return 0;
	dur = now - n->last_ns;
	n->last_ns = now;
	n->next_ns += (uint64_t)n->interval_s * 1000000000ull;
	if (n->next_ns < now)
		n->next_ns = now + (uint64_t)n->interval_s * 1000000000ull;
	if (tw_netacct_read(n->na, &cur, &nc))
		return 0;
	qsort(cur, nc, sizeof(*cur), by_key);
	now_real = real_ns();
	for (size_t i = 0; i < nc && rc == 0; i++) {
		const struct tw_netacct_proc *c = &cur[i];
		const struct tw_netacct_proc *p = bsearch(c, n->prev, n->n_prev, sizeof(*c), by_key);

		if (!p)
			p = &zero;
		if (!dir_changed(&c->tcp_out, &p->tcp_out) && !dir_changed(&c->tcp_in, &p->tcp_in) &&
		    !dir_changed(&c->udp_out, &p->udp_out) && !dir_changed(&c->udp_in, &p->udp_in) &&
		    !dir_changed(&c->other_out, &p->other_out) && !dir_changed(&c->other_in, &p->other_in))
			continue;
		if (c->kthread)
			kt_add(kt, &n_kt, KT_MAX, c, p);
		else
			rc = proc_record(n, out, c, p, now_real, dur);
	}
	for (size_t i = 0; i < n_kt && rc == 0; i++)
		if (kt[i].active)
			rc = proc_record(n, out, &kt[i].sum, &zero, now_real, dur);
	free(n->prev);
	n->prev = cur;
	n->n_prev = nc;
	if (rc == 0 && tw_netacct_buckets(n->na, &b, &nb) == 0) {
		for (size_t i = 0; i < nb && rc == 0; i++) {
			uint64_t pp = 0, pb = 0;
			for (size_t k = 0; k < n->n_prev_b; k++) {
				const struct tw_netacct_bucket *q = &n->prev_b[k];
				if (q->ifindex == b[i].ifindex && q->kind == b[i].kind &&
				    q->protocol == b[i].protocol && q->ingress == b[i].ingress) {
					pp = q->packets;
					pb = q->bytes;
				}
			}
			if (b[i].packets == pp)
				continue;
			header(j, "NET_BANDWIDTH_UNATTRIBUTED", now_real, dur);
			tw_json_u64(j, "ifindex", b[i].ifindex);
			tw_json_raw_string(j, "kind", kind_name(b[i].kind));
			tw_json_u64(j, "protocol", b[i].protocol);
			tw_json_raw_string(j, "direction", b[i].ingress ? "in" : "out");
			tw_json_u64(j, "packets", b[i].packets - pp);
			tw_json_u64(j, "wire_bytes", b[i].bytes - pb);
			tw_json_end_object(j);
			rc = emit(n, out);
		}
		free(n->prev_b);
		n->prev_b = b;
		n->n_prev_b = nb;
	}
	if (rc == 0 && n->ifaces)
		rc = iface_records(n, out, now_real, dur);
	return rc;
}

void et_netacct_close(struct et_netacct *n)
{
	struct tw_netacct_stats s;
	uint64_t answered = 0, refused = 0;

	if (!n)
		return;
	if (n->server) {
		tw_netatop_server_counts(n->server, &answered, &refused);
		tw_netatop_server_stop(n->server);
	}
	if (!tw_netacct_stats(n->na, &s))
		fprintf(stderr,
			"EventsTrace: network accounting: %lu processes (%lu exited) of %lu, "
			"not tracked (table full) %lu, evicted early %lu, folded after eviction %lu, "
			"interfaces not tracked %lu, maps %lu KiB; netatop answers %lu, refused %lu\n",
			(unsigned long)s.procs, (unsigned long)s.procs_exited, (unsigned long)s.capacity,
			(unsigned long)s.proc_table_full, (unsigned long)s.evicted_pressure,
			(unsigned long)s.folded_without_entry, (unsigned long)s.iface_table_full,
			(unsigned long)(s.map_bytes >> 10), (unsigned long)answered,
			(unsigned long)refused);
	tw_netacct_close(n->na);
	free(n->prev);
	free(n->prev_b);
	free(n->prev_if);
	tw_json_free(&n->json);
	free(n);
}

struct tw_netacct *et_netacct_handle(struct et_netacct *n)
{
	return n ? n->na : NULL;
}
