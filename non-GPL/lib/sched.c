// SPDX-License-Identifier: Apache-2.0
/*
 * Run-queue latency per cgroup: loads sched.bpf.c, flips its generation at
 * the end of every interval, reads and deletes the finished generation, and
 * turns it into one record per cgroup (with offenders, paths and cpu.stat).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cgroup_paths.h"
#include "net_probes.h"
#include "probe_table.h"
#include "prog_stats.h"
#include "sched.skel.h"
#include "tracewire_sched.h"

#define DEFAULT_INTERVAL_MS 1000
#define DEFAULT_OFFENDERS 5

/* A known cgroup: its path, and the last cpu.stat reading (for interval deltas). */
struct cg_entry {
	uint64_t id;
	char *path;
	bool have_prev;
	uint64_t nr_periods, nr_throttled, throttled_usec;
};

struct tw_sched {
	struct tw_sched_options opts;
	tw_sched_fn cb;
	void *user;
	struct sched_bpf *skel;
	int hierarchy;
	char mount[PATH_MAX]; /* the hierarchy's mount point; "" if not mounted */
	int ncpus;
	uint32_t gen;
	uint64_t seq;
	uint64_t due_mono_ns, start_realtime_ns;
	struct cg_entry *cgs; /* sorted by id */
	size_t n_cgs;
	uint64_t last_rescan_seq;
	struct tw_sched_stats stats;
};

void tw_sched_options_init(struct tw_sched_options *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_ms = DEFAULT_INTERVAL_MS;
	o->hierarchy = TW_SCHED_HIERARCHY_AUTO;
	o->max_offenders = DEFAULT_OFFENDERS;
	o->throttling = true;
	o->clock = TW_SCHED_CLOCK_OWN;
}

const char *tw_sched_clock_name(int clock)
{
	return clock == TW_SCHED_CLOCK_SCHED_INFO ? "sched_info" : "own";
}

static void slog(struct tw_sched *s, enum tw_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level == TW_LOG_DEBUG && !s->opts.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->opts.log)
		s->opts.log(s->opts.log_user, level, msg);
	else if (level <= TW_LOG_WARN || s->opts.verbose)
		fprintf(stderr, "tracewire sched: %s\n", msg);
}

static struct tw_sched *print_owner; /* libbpf's print hook is process-wide */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (!print_owner || !print_owner->opts.verbose)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	slog(print_owner, TW_LOG_DEBUG, "libbpf: %s", msg);
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The hierarchy (cgroup_paths.c picks it as the network accounting does) and its mount. */
static void pick_hierarchy(struct tw_sched *s)
{
	s->hierarchy = cgroup_pick_hierarchy(s->opts.hierarchy, s->mount, sizeof(s->mount));
}

/* ---- cgroup id -> path, by walking the hierarchy's mount (ids are inode numbers) ---- */

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const struct cg_entry *)a)->id, y = ((const struct cg_entry *)b)->id;
	return x < y ? -1 : x > y;
}

static struct cg_entry *find_cg(struct tw_sched *s, uint64_t id)
{
	struct cg_entry key = {.id = id};
	return s->n_cgs ? bsearch(&key, s->cgs, s->n_cgs, sizeof(key), cmp_entry) : NULL;
}

/* Rebuild the id -> path table, keeping the cpu.stat readings of cgroups still there. */
static void rescan(struct tw_sched *s)
{
	struct cgroup_dir *dirs = NULL;
	struct cg_entry *v;
	size_t n = 0;
	int rc;

	if (!s->mount[0])
		return;
	rc = cgroup_walk(s->mount, &dirs, &n);
	if (rc)
		slog(s, TW_LOG_DEBUG, "walking %s failed: %s", s->mount, strerror(-rc));
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		cgroup_dirs_free(dirs, n);
		return;
	}
	for (size_t i = 0; i < n; i++) { /* sorted by id, as find_cg wants */
		struct cg_entry *old = find_cg(s, dirs[i].id);

		v[i].id = dirs[i].id;
		v[i].path = dirs[i].path; /* taken over */
		if (old && old->have_prev && !strcmp(old->path, v[i].path)) {
			v[i].have_prev = true;
			v[i].nr_periods = old->nr_periods;
			v[i].nr_throttled = old->nr_throttled;
			v[i].throttled_usec = old->throttled_usec;
		}
	}
	free(dirs);
	for (size_t i = 0; i < s->n_cgs; i++)
		free(s->cgs[i].path);
	free(s->cgs);
	s->cgs = v;
	s->n_cgs = n;
	s->last_rescan_seq = s->seq;
}

/* The cgroup's entry, rescanning (at most once per interval) when it is new; may free paths. */
static struct cg_entry *lookup_cg(struct tw_sched *s, uint64_t id)
{
	struct cg_entry *e = find_cg(s, id);

	if (!e && s->last_rescan_seq != s->seq) {
		rescan(s);
		e = find_cg(s, id);
	}
	return e;
}

/* cpu.stat: v1 has throttled_time in ns, v2 throttled_usec. */
static void read_throttling(struct tw_sched *s, struct cg_entry *e, struct tw_sched_throttling *t)
{
	char path[PATH_MAX + 32], key[64];
	unsigned long long v;
	bool have_time = false;
	FILE *f;

	memset(t, 0, sizeof(*t));
	if (!s->opts.throttling || !e || !s->mount[0])
		return;
	snprintf(path, sizeof(path), "%s%s/cpu.stat", s->mount, strcmp(e->path, "/") ? e->path : "");
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (!strcmp(key, "nr_periods"))
			t->nr_periods = v;
		else if (!strcmp(key, "nr_throttled"))
			t->nr_throttled = v;
		else if (!strcmp(key, "throttled_usec"))
			t->throttled_usec = v, have_time = true;
		else if (!strcmp(key, "throttled_time") && !have_time)
			t->throttled_usec = v / 1000, have_time = true;
	}
	fclose(f);
	/* v2's cpu.stat exists without the cpu controller, with usage only */
	t->available = have_time;
	if (!t->available)
		return;
	if (e->have_prev && t->nr_periods >= e->nr_periods && t->nr_throttled >= e->nr_throttled &&
	    t->throttled_usec >= e->throttled_usec) {
		t->has_delta = true;
		t->interval_nr_periods = t->nr_periods - e->nr_periods;
		t->interval_nr_throttled = t->nr_throttled - e->nr_throttled;
		t->interval_throttled_usec = t->throttled_usec - e->throttled_usec;
	}
	e->have_prev = true;
	e->nr_periods = t->nr_periods;
	e->nr_throttled = t->nr_throttled;
	e->throttled_usec = t->throttled_usec;
}

static void read_drops(struct tw_sched *s);

/*
 * Task storage for every task already running, made by an iterator in
 * process context (sched.bpf.c explains why not in sched_switch); new tasks
 * get theirs at fork, which is attached before this runs.
 */
static int prepare_tasks(struct tw_sched *s)
{
	struct bpf_link *it = bpf_program__attach_iter(s->skel->progs.tw_sched_prepare, NULL);
	int rc;

	if (!it)
		return -errno;
	rc = tw_iter_run(it);
	bpf_link__destroy(it);
	return rc;
}

int tw_sched_open(struct tw_sched **out, const struct tw_sched_options *o, tw_sched_fn cb,
		  void *user, char *err, size_t errlen)
{
	static const char *const hooks[] = {"tp_btf/sched_switch", "tp_btf/sched_wakeup",
					    "tp_btf/sched_wakeup_new"};
	bool own_clock = o->clock != TW_SCHED_CLOCK_SCHED_INFO;
	libbpf_print_fn_t old_print;
	struct tw_sched *s;
	struct btf *vmlinux;
	int rc;

	*out = NULL;
	if (geteuid() != 0) {
		snprintf(err, errlen, "run-queue latency needs root: it loads BPF programs (effective "
				      "uid is %u)", geteuid());
		return -EPERM;
	}
	if (o->clock != TW_SCHED_CLOCK_OWN && o->clock != TW_SCHED_CLOCK_SCHED_INFO) {
		snprintf(err, errlen, "unknown run-queue latency clock %d", o->clock);
		return -EINVAL;
	}
	/* /proc/PID/schedstat exists exactly when the kernel keeps sched_info */
	if (!own_clock && access("/proc/self/schedstat", R_OK)) {
		snprintf(err, errlen, "the sched_info clock needs a kernel with CONFIG_SCHED_INFO "
				      "(/proc/self/schedstat is missing); use the own clock");
		return -ENOTSUP;
	}
	if (o->interval_ms < 10) {
		snprintf(err, errlen, "run-queue latency interval must be at least 10 ms");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opts = *o;
	if (s->opts.max_offenders > TW_SCHED_MAX_OFFENDERS)
		s->opts.max_offenders = TW_SCHED_MAX_OFFENDERS;
	s->cb = cb;
	s->user = user;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		snprintf(err, errlen, "cannot count possible CPUs");
		free(s);
		return -EINVAL;
	}
	vmlinux = btf__load_vmlinux_btf();
	/* the sched_info clock needs only the first */
	for (size_t i = 0; i < (own_clock ? sizeof(hooks) / sizeof(hooks[0]) : 1); i++) {
		if (!tw_hook_available(vmlinux, hooks[i])) {
			snprintf(err, errlen, "run-queue latency needs %s, which this kernel lacks "
					      "(or has no BTF)", hooks[i]);
			btf__free(vmlinux);
			free(s);
			return -ENOTSUP;
		}
	}
	/* struct cfs_rq has its run queue pointer only with CONFIG_FAIR_GROUP_SCHED */
	if (!own_clock && !tw_btf_has_member(vmlinux, "cfs_rq", "rq")) {
		snprintf(err, errlen, "the sched_info clock needs a kernel with group scheduling "
				      "(CONFIG_FAIR_GROUP_SCHED: struct cfs_rq has no rq); use the own clock");
		btf__free(vmlinux);
		free(s);
		return -ENOTSUP;
	}
	btf__free(vmlinux);
	pick_hierarchy(s);

	print_owner = s;
	old_print = libbpf_set_print(libbpf_print);
	s->skel = sched_bpf__open();
	rc = s->skel ? 0 : -errno;
	if (!rc) {
		s->skel->rodata->tw_cfg_sched_hierarchy = (uint32_t)s->hierarchy;
		s->skel->rodata->tw_cfg_sched_clock = (uint32_t)s->opts.clock;
		if (!own_clock) { /* nothing to stamp at wakeups */
			bpf_program__set_autoload(s->skel->progs.tw_sched_wakeup, false);
			bpf_program__set_autoload(s->skel->progs.tw_sched_wakeup_new, false);
		}
		bpf_program__set_autoattach(s->skel->progs.tw_sched_prepare, false); /* run once, below */
		rc = sched_bpf__load(s->skel);
		if (!rc)
			rc = sched_bpf__attach(s->skel);
		if (!rc)
			rc = prepare_tasks(s);
	}
	libbpf_set_print(old_print);
	print_owner = NULL;
	if (rc) {
		snprintf(err, errlen, "loading the run-queue latency probes failed: %s%s", strerror(-rc),
			 s->opts.verbose ? "" : " (run verbose for the verifier log)");
		sched_bpf__destroy(s->skel);
		free(s);
		return rc < 0 ? rc : -EINVAL;
	}
	if (own_clock) {
		read_drops(s);
		/* a few tasks exiting during the walk can fail too: only many failures count */
		if (s->stats.dropped_task_storage > 16) {
			/*
			 * The kernel gave no task storage, not even in process context
			 * (seen on Debian's 7.2): the own clock would measure nothing.
			 * The sched_info clock needs none for what it measures.
			 */
			struct tw_sched_options fallback = s->opts;
			tw_sched_fn cb_ = s->cb;
			void *user_ = s->user;

			slog(s, TW_LOG_WARN, "this kernel refuses BPF task storage (%llu tasks): "
					     "run-queue latency uses the sched_info clock instead",
			     (unsigned long long)s->stats.dropped_task_storage);
			sched_bpf__destroy(s->skel);
			free(s);
			fallback.clock = TW_SCHED_CLOCK_SCHED_INFO;
			return tw_sched_open(out, &fallback, cb_, user_, err, errlen);
		}
	}
	slog(s, TW_LOG_DEBUG, "run-queue latency per %s cgroup (%s), %s clock",
	     tw_sched_hierarchy_name(s->hierarchy), s->mount[0] ? s->mount : "not mounted",
	     tw_sched_clock_name(s->opts.clock));
	rescan(s);
	s->start_realtime_ns = clock_ns(CLOCK_REALTIME);
	s->due_mono_ns = clock_ns(CLOCK_MONOTONIC) + (uint64_t)s->opts.interval_ms * 1000000ull;
	*out = s;
	return 0;
}

void tw_sched_close(struct tw_sched *s)
{
	if (!s)
		return;
	sched_bpf__destroy(s->skel);
	for (size_t i = 0; i < s->n_cgs; i++)
		free(s->cgs[i].path);
	free(s->cgs);
	free(s);
}

int tw_sched_clock_of(struct tw_sched *s)
{
	return s->opts.clock;
}

int tw_sched_hierarchy_of(struct tw_sched *s)
{
	return s->hierarchy;
}

const char *tw_sched_cgroup_mount(struct tw_sched *s)
{
	return s->mount;
}

int tw_sched_timeout_ms(struct tw_sched *s)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	return now >= s->due_mono_ns ? 0 : (int)((s->due_mono_ns - now + 999999) / 1000000);
}

/*
 * After the flip, programs that read the old generation may still be
 * running on another CPU. They run inside an RCU read-side section (with
 * preemption off, in sched_switch's case), so a grace period outlasts them:
 * membarrier(GLOBAL) waits for exactly that (synchronize_rcu()).
 */
static void wait_for_writers(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0) {
		struct timespec ts = {0, 20 * 1000000}; /* programs take microseconds */
		nanosleep(&ts, NULL);
	}
}

struct pair {
	struct tw_sched_pair_key k;
	struct tw_sched_pair_stats v;
};

static int cmp_offender(const void *a, const void *b)
{
	const struct tw_sched_offender *x = a, *y = b;
	uint64_t nx = x->preempted + x->waited, ny = y->preempted + y->waited;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x->waited_ns > y->waited_ns ? -1 : x->waited_ns < y->waited_ns;
}

static int cmp_record(const void *a, const void *b)
{
	uint64_t x = ((const struct tw_sched_record *)a)->cgroup_id;
	uint64_t y = ((const struct tw_sched_record *)b)->cgroup_id;
	return x < y ? -1 : x > y;
}

/* Read and delete every pair of generation `gen`. */
static int drain_pairs(struct tw_sched *s, uint32_t gen, struct pair **out, size_t *n_out)
{
	int fd = bpf_map__fd(s->skel->maps.tw_sched_pairs);
	/* zeroed: the kernel reads whole keys, padding included (valgrind checks it) */
	struct tw_sched_pair_key k = {0}, next = {0}, *keys = NULL;
	struct pair *v = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (k.gen != gen)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			keys = realloc(keys, cap * sizeof(*keys));
			if (!v || !keys) {
				free(v);
				free(keys);
				return -ENOMEM;
			}
		}
		v[n].k = k;
		if (bpf_map_lookup_elem(fd, &k, &v[n].v) == 0)
			keys[n] = k, n++;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	*out = v;
	*n_out = n;
	return 0;
}

struct rec_set {
	struct tw_sched_record *v;
	size_t n, cap;
};

/* The record of cgroup id, created empty on first use; NULL when out of memory. */
static struct tw_sched_record *rec_for(struct rec_set *rs, uint64_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].cgroup_id == id)
			return &rs->v[i];
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 32;
		struct tw_sched_record *v = realloc(rs->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		rs->v = v;
		rs->cap = cap;
	}
	memset(&rs->v[rs->n], 0, sizeof(rs->v[0]));
	rs->v[rs->n].cgroup_id = id;
	return &rs->v[rs->n++];
}

static void add_stats(struct tw_sched_record *r, const struct tw_sched_cg_stats *p)
{
	r->sum_ns += p->sum_ns;
	if (p->max_ns > r->max_ns)
		r->max_ns = p->max_ns;
	r->switches += p->switches;
	r->preempted += p->preempted;
	r->preempted_cross += p->preempted_cross;
	for (int b = 0; b < TW_SCHED_BUCKETS; b++)
		r->buckets[b] += p->buckets[b];
}

/* Generation gen's per-CPU slots into rs, then zeroed (the probe writes the other one). */
static int drain_slots(struct tw_sched *s, uint32_t gen, struct rec_set *rs)
{
	int fd = bpf_map__fd(s->skel->maps.tw_sched_slots);
	struct tw_sched_cg_slot *percpu = calloc(s->ncpus, sizeof(*percpu));
	int rc = 0;

	if (!percpu)
		return -ENOMEM;
	for (uint32_t i = 0; i < TW_SCHED_SLOTS && !rc; i++) {
		uint32_t idx = (gen << TW_SCHED_SLOT_BITS) | i;
		bool used = false;

		if (bpf_map_lookup_elem(fd, &idx, percpu))
			continue;
		for (int c = 0; c < s->ncpus; c++) {
			struct tw_sched_record *r;
			if (!percpu[c].cgroup_id)
				continue;
			used = true;
			if (!(r = rec_for(rs, percpu[c].cgroup_id))) {
				rc = -ENOMEM;
				break;
			}
			add_stats(r, &percpu[c].s);
		}
		if (used) {
			memset(percpu, 0, s->ncpus * sizeof(*percpu));
			bpf_map_update_elem(fd, &idx, percpu, BPF_ANY);
		}
	}
	free(percpu);
	return rc;
}

/* Generation gen of the per-cgroup hash (cgroups that found their slot taken) into rs, deleted. */
static int drain_cgroups(struct tw_sched *s, uint32_t gen, struct tw_sched_record **out,
			 size_t *n_out)
{
	int fd = bpf_map__fd(s->skel->maps.tw_sched_cgroups);
	struct tw_sched_cg_key k = {0}, next = {0}; /* zeroed: the kernel reads whole keys */
	struct tw_sched_cg_key *keys = NULL;
	struct tw_sched_cg_stats *percpu = calloc(s->ncpus, sizeof(*percpu));
	struct rec_set rs = {0};
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int rc = 0;

	if (!percpu)
		return -ENOMEM;
	rc = drain_slots(s, gen, &rs);
	while (!rc && bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct tw_sched_record *r;

		k = next;
		prev = &k;
		if (k.gen != gen || bpf_map_lookup_elem(fd, &k, percpu))
			continue;
		if (n == cap) {
			struct tw_sched_cg_key *grown = realloc(keys, (cap ? cap * 2 : 32) * sizeof(*keys));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			keys = grown;
			cap = cap ? cap * 2 : 32;
		}
		keys[n++] = k;
		if (!(r = rec_for(&rs, k.cgroup_id))) {
			rc = -ENOMEM;
			break;
		}
		for (int c = 0; c < s->ncpus; c++)
			add_stats(r, &percpu[c]);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	free(percpu);
	if (rc) {
		free(rs.v);
		return rc;
	}
	*out = rs.v;
	*n_out = rs.n;
	return 0;
}

static void read_drops(struct tw_sched *s)
{
	int fd = bpf_map__fd(s->skel->maps.tw_sched_drops);
	uint64_t *v = calloc(s->ncpus, sizeof(*v));
	uint64_t *dst[TW_SCHED_DROP_MAX] = {&s->stats.dropped_cgroup_full,
					    &s->stats.dropped_pair_full,
					    &s->stats.dropped_task_storage};

	if (!v)
		return;
	for (uint32_t i = 0; i < TW_SCHED_DROP_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		*dst[i] = 0;
		for (int c = 0; c < s->ncpus; c++)
			*dst[i] += v[c];
	}
	free(v);
}

int tw_sched_flush(struct tw_sched *s)
{
	uint32_t old = s->gen;
	uint64_t end = clock_ns(CLOCK_REALTIME);
	struct tw_sched_record *recs = NULL;
	struct tw_sched_offender *offs = NULL;
	struct pair *pairs = NULL;
	size_t n = 0, n_pairs = 0;
	int rc, delivered = 0;

	/* new switches count into the other generation from here on */
	s->gen ^= 1;
	s->skel->bss->tw_sched_gen = s->gen;
	wait_for_writers();
	s->seq++;
	if ((rc = drain_cgroups(s, old, &recs, &n)) || (rc = drain_pairs(s, old, &pairs, &n_pairs)))
		goto out;
	s->stats.intervals++;
	qsort(recs, n, sizeof(*recs), cmp_record);
	offs = calloc(n_pairs ? n_pairs : 1, sizeof(*offs));
	if (!offs) {
		rc = -ENOMEM;
		goto out;
	}
	/* resolve every id up front: a rescan frees the old paths */
	for (size_t i = 0; i < n + n_pairs; i++)
		if (!lookup_cg(s, i < n ? recs[i].cgroup_id : pairs[i - n].k.offender))
			break; /* a rescan happened (or the cgroup is gone): the rest is settled */
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct tw_sched_record *r = &recs[i];
		struct cg_entry *e = find_cg(s, r->cgroup_id);
		size_t no = 0;

		r->seq = s->seq;
		r->start_realtime_ns = s->start_realtime_ns;
		r->end_realtime_ns = end;
		r->hierarchy = s->hierarchy;
		r->cgroup_path = e ? e->path : NULL;
		tw_sched_record_summarize(r);
		for (size_t p = 0; p < n_pairs; p++) {
			if (pairs[p].k.victim != r->cgroup_id)
				continue;
			offs[no].cgroup_id = pairs[p].k.offender;
			offs[no].preempted = pairs[p].v.preempted;
			offs[no].waited = pairs[p].v.waited;
			offs[no].waited_ns = pairs[p].v.waited_ns;
			no++;
		}
		qsort(offs, no, sizeof(*offs), cmp_offender);
		if (no > s->opts.max_offenders)
			no = s->opts.max_offenders;
		for (size_t p = 0; p < no; p++) {
			struct cg_entry *oe = find_cg(s, offs[p].cgroup_id);
			offs[p].path = oe ? oe->path : NULL;
		}
		read_throttling(s, e, &r->throttling);
		r->offenders = offs;
		r->n_offenders = no;
		s->stats.records++;
		delivered++;
		if (s->cb && s->cb(s->user, r))
			break;
	}
out:
	read_drops(s);
	s->start_realtime_ns = end;
	free(offs);
	free(pairs);
	free(recs);
	return rc ? rc : delivered;
}

int tw_sched_poll(struct tw_sched *s, int timeout_ms)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), interval = s->opts.interval_ms * 1000000ull;

	if (now < s->due_mono_ns && timeout_ms > 0) {
		uint64_t wait = s->due_mono_ns - now;
		struct timespec ts;

		if (wait > (uint64_t)timeout_ms * 1000000ull)
			wait = (uint64_t)timeout_ms * 1000000ull;
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		if (nanosleep(&ts, NULL) && errno == EINTR)
			return -EINTR;
		now = clock_ns(CLOCK_MONOTONIC);
	}
	if (now < s->due_mono_ns)
		return 0;
	/* keep the cadence; after a long stall start afresh rather than firing a burst */
	s->due_mono_ns += interval;
	if (s->due_mono_ns <= now)
		s->due_mono_ns = now + interval;
	return tw_sched_flush(s);
}

int tw_sched_prog_stats(struct tw_sched *s, struct tw_prog_stats *out, size_t max)
{
	size_t n = 0;
	int err = tw_object_prog_stats(s->skel->obj, out, max, &n);

	return err ? err : (int)n;
}

int tw_sched_stats(struct tw_sched *s, struct tw_sched_stats *out)
{
	read_drops(s);
	*out = s->stats;
	return 0;
}
