// SPDX-License-Identifier: Apache-2.0
/*
 * Per-process network accounting, loader and reader side
 * (tracewire_netacct.h; kernel side GPL/probes/netacct.bpf.c).
 *
 * Retention runs here, in tw_netacct_tick(), on the embedder's timer and
 * never on a client's request: netatop-bpf cleaned its table only when its
 * first client asked, so with no client (or a second one) the table filled
 * and new processes were silently not tracked. Here exited processes are
 * dropped after retain_ms, and earlier, oldest first, whenever the table is
 * more than 90% full, so live processes always find room; what still
 * cannot be created is counted in the kernel and its traffic bucketed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cgroup_paths.h"
#include "net_probes.h"
#include "netacct.skel.h"
#include "probe_table.h"
#include "prog_stats.h"
#include "tracewire_netacct.h"
#include "tracewire_netacct_wire.h"
#include "tracewire_sched_wire.h"

#define NA_DEFAULT_MAX_PROCS 16384
#define NA_DEFAULT_RETAIN_MS 60000
#define NA_MAX_LINKS 16

struct tw_netacct {
	struct netacct_bpf *skel;
	struct bpf_link *links[NA_MAX_LINKS];
	size_t n_links;
	struct bpf_link *fold_iter; /* tw_na_fold over the socket storage, or tw_na_fold_files */
	bool fold_by_files;         /* the socket storage walk is unsafe here (fold_by_files()) */
	int procs_fd, buckets_fd, stats_fd, ifaces_fd;
	bool ifaces; /* interface_totals */
	uint32_t max_procs;
	uint64_t retain_ns;
	bool per_thread;
	int ncpus;
	pthread_mutex_t lock;
	uint64_t evicted_retention, evicted_pressure;
	/* maintenance thread: retention runs whether or not anyone reads */
	pthread_t maint;
	bool maint_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	/* cgroup ids of the entries back to paths (tw_netacct_cgroup_path), under cg_lock */
	int hierarchy;
	char cg_mount[PATH_MAX];
	pthread_mutex_t cg_lock;
	struct cgroup_dir *cg_dirs;
	size_t n_cg_dirs;
	uint64_t cg_walked_ns; /* a miss walks the hierarchy again at most once a second */
};

void tw_netacct_options_init(struct tw_netacct_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_procs = NA_DEFAULT_MAX_PROCS;
	o->retain_ms = NA_DEFAULT_RETAIN_MS;
	o->cgroup_hierarchy = -1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool na_verbose;

static int na_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !na_verbose)
		return 0;
	if (!na_verbose)
		return 0; /* the error sentence we return says what failed */
	return vfprintf(stderr, fmt, ap);
}

/* Entries the kernel could not create so far (summed over CPUs). */
static uint64_t proc_full_count(struct tw_netacct *na)
{
	uint64_t percpu[512], sum = 0;
	uint32_t idx = TW_NA_STAT_PROC_FULL;

	if (na->ncpus > 512 || bpf_map_lookup_elem(na->stats_fd, &idx, percpu))
		return 0;
	for (int c = 0; c < na->ncpus; c++)
		sum += percpu[c];
	return sum;
}

/*
 * Retention once a second; and within 100 ms when the kernel reports a
 * process it could not track (a burst of new processes filled the table):
 * one per-CPU counter read per 100 ms is the price of reacting quickly.
 */
static void *maintenance(void *arg)
{
	struct tw_netacct *na = arg;
	uint64_t full_seen = proc_full_count(na), ticks = 0;
	struct timespec until;

	pthread_mutex_lock(&na->stop_lock);
	while (!na->stopping) {
		uint64_t full;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&na->stop_cond, &na->stop_lock, &until);
		if (na->stopping)
			break;
		pthread_mutex_unlock(&na->stop_lock);
		full = proc_full_count(na);
		if (++ticks % 10 == 0 || full != full_seen)
			tw_netacct_tick(na);
		full_seen = full;
		pthread_mutex_lock(&na->stop_lock);
	}
	pthread_mutex_unlock(&na->stop_lock);
	return NULL;
}

void tw_netacct_close(struct tw_netacct *na)
{
	if (!na)
		return;
	if (na->maint_started) {
		pthread_mutex_lock(&na->stop_lock);
		na->stopping = true;
		pthread_cond_signal(&na->stop_cond);
		pthread_mutex_unlock(&na->stop_lock);
		pthread_join(na->maint, NULL);
	}
	pthread_cond_destroy(&na->stop_cond);
	pthread_mutex_destroy(&na->stop_lock);
	bpf_link__destroy(na->fold_iter);
	for (size_t i = 0; i < na->n_links; i++)
		bpf_link__destroy(na->links[i]);
	netacct_bpf__destroy(na->skel);
	pthread_mutex_destroy(&na->lock);
	pthread_mutex_destroy(&na->cg_lock);
	cgroup_dirs_free(na->cg_dirs, na->n_cg_dirs);
	free(na);
}

int tw_netacct_cgroup_path(struct tw_netacct *na, uint64_t cgroup_id, char *buf, size_t len)
{
	const struct cgroup_dir *d;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	int rc = -ENOENT;

	if (!cgroup_id || !na->cg_mount[0])
		return -ENOENT;
	pthread_mutex_lock(&na->cg_lock);
	d = cgroup_find(na->cg_dirs, na->n_cg_dirs, cgroup_id);
	if (!d && now - na->cg_walked_ns >= 1000000000ull) { /* a cgroup made since the last walk */
		cgroup_dirs_free(na->cg_dirs, na->n_cg_dirs);
		na->cg_dirs = NULL;
		na->n_cg_dirs = 0;
		cgroup_walk(na->cg_mount, &na->cg_dirs, &na->n_cg_dirs); /* partial on error: fine */
		na->cg_walked_ns = now;
		d = cgroup_find(na->cg_dirs, na->n_cg_dirs, cgroup_id);
	}
	if (d) {
		snprintf(buf, len, "%s", d->path);
		rc = 0;
	}
	pthread_mutex_unlock(&na->cg_lock);
	return rc;
}

/*
 * Can the socket storage map be walked (tw_na_fold)? Not on kernels with
 * the local-storage rework that added bpf_local_storage_elem.state (7.x):
 * there an element being unlinked while the iterator visits it has no
 * storage, and Debian's 7.2.13 oopsed in __bpf_sk_storage_map_seq_show
 * (NULL local_storage) while sockets closed during a read, found by the
 * kernel matrix. Those kernels fold through the open files instead
 * (tw_na_fold_files). TRACEWIRE_NETACCT_FOLD=task_files|storage_map
 * overrides the choice (tests run the files walk on any kernel with it).
 */
static bool fold_by_files(const struct btf *vmlinux)
{
	const char *env = getenv("TRACEWIRE_NETACCT_FOLD");

	if (env && !strcmp(env, "task_files"))
		return true;
	if (env && !strcmp(env, "storage_map"))
		return false;
	return tw_btf_has_member(vmlinux, "bpf_local_storage_elem", "state");
}

static int na_fail(struct tw_netacct *na, char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "network accounting: %s: %s", what, strerror(rc < 0 ? -rc : rc));
	tw_netacct_close(na);
	return rc < 0 ? rc : -rc;
}

/*
 * Feature probing, not version numbers: the payload counts come from the
 * sock_send_length / sock_recv_length tracepoints (Linux 6.3 and later;
 * Debian 12's 6.1 lacks them), so without them the accounting is refused
 * with a sentence rather than a loader errno.
 */
static int kernel_supported(const struct btf *vmlinux, char *err, size_t errlen)
{
	static const char *const hooks[] = {"tp_btf/sock_send_length", "tp_btf/sock_recv_length"};
	int rc = 0;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]) && !rc; i++) {
		if (!tw_hook_available(vmlinux, hooks[i])) {
			snprintf(err, errlen, "network accounting needs the %s tracepoint, which this "
					      "kernel lacks (Linux 6.3 or later has it), or the kernel has no BTF",
				 hooks[i] + strlen("tp_btf/"));
			rc = -ENOTSUP;
		}
	}
	return rc;
}

int tw_netacct_open(struct tw_netacct **out, const struct tw_netacct_options *o, char *err,
		    size_t errlen)
{
	struct tw_netacct *na;
	libbpf_print_fn_t old_print;
	const char *root;
	struct btf *vmlinux;
	bool has_rdonly_cast, by_files;
	int rc, cg_fd;

	*out = NULL;
	if (geteuid() != 0) {
		snprintf(err, errlen, "network accounting must run as root (it loads BPF programs)");
		return -EPERM;
	}
	/* everything asked of the kernel's BTF, from one load of it */
	vmlinux = btf__load_vmlinux_btf();
	rc = kernel_supported(vmlinux, err, errlen);
	has_rdonly_cast = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
	by_files = fold_by_files(vmlinux);
	btf__free(vmlinux);
	if (rc)
		return rc;
	na = calloc(1, sizeof(*na));
	if (!na)
		return -ENOMEM;
	pthread_mutex_init(&na->lock, NULL);
	pthread_mutex_init(&na->stop_lock, NULL);
	pthread_mutex_init(&na->cg_lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&na->stop_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	na->max_procs = o->max_procs ? o->max_procs : NA_DEFAULT_MAX_PROCS;
	na->retain_ns = (uint64_t)o->retain_ms * 1000000ull;
	na->ncpus = libbpf_num_possible_cpus();
	na_verbose = o->verbose;
	/* libbpf's printer is process-wide: ours only while we load, then the embedder's again */
	old_print = libbpf_set_print(na_print);
	na->skel = netacct_bpf__open();
	if (!na->skel) {
		rc = -errno;
		libbpf_set_print(old_print);
		return na_fail(na, err, errlen, rc, "opening the probes");
	}
	/* as the run-queue latency companion names cgroups (cgroup_paths.c) */
	na->hierarchy = cgroup_pick_hierarchy(o->cgroup_hierarchy, na->cg_mount, sizeof(na->cg_mount));
	na->skel->rodata->tw_cfg_sched_hierarchy = (uint32_t)na->hierarchy;
	na->per_thread = o->per_thread;
	na->skel->rodata->tw_cfg_na_per_thread = o->per_thread;
	/*
	 * The interface layer: its programs, and a map worth the name, only
	 * when asked for; the variant reading skb_shinfo() with the
	 * bpf_rdonly_cast kfunc where the kernel has it (6.2), else with a helper.
	 */
	na->ifaces = o->interface_totals;
	na->skel->rodata->tw_cfg_na_ifaces = o->interface_totals;
	{
		bool cast = o->interface_totals && has_rdonly_cast;
		bpf_program__set_autoload(na->skel->progs.tw_na_if_rx, cast);
		bpf_program__set_autoload(na->skel->progs.tw_na_if_tx, cast);
		bpf_program__set_autoload(na->skel->progs.tw_na_if_rx_pr, o->interface_totals && !cast);
		bpf_program__set_autoload(na->skel->progs.tw_na_if_tx_pr, o->interface_totals && !cast);
	}
	if (!o->interface_totals)
		bpf_map__set_max_entries(na->skel->maps.tw_na_ifaces, 1);
	na->fold_by_files = by_files;
	bpf_program__set_autoload(na->skel->progs.tw_na_fold, !na->fold_by_files);
	bpf_program__set_autoload(na->skel->progs.tw_na_fold_files, na->fold_by_files);
	rc = bpf_map__set_max_entries(na->skel->maps.tw_na_procs, na->max_procs);
	if (rc) {
		libbpf_set_print(old_print);
		return na_fail(na, err, errlen, rc, "sizing the process table");
	}
	rc = netacct_bpf__load(na->skel);
	libbpf_set_print(old_print);
	if (rc)
		return na_fail(na, err, errlen, rc, "loading the probes (verbose shows the verifier log)");
	na->procs_fd = bpf_map__fd(na->skel->maps.tw_na_procs);
	na->buckets_fd = bpf_map__fd(na->skel->maps.tw_na_buckets);
	na->stats_fd = bpf_map__fd(na->skel->maps.tw_na_stats);
	na->ifaces_fd = bpf_map__fd(na->skel->maps.tw_na_ifaces);

	root = tw_cgroup2_root();
	if (!root)
		return na_fail(na, err, errlen, -ENOENT, "no cgroup v2 hierarchy to attach to");
	cg_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return na_fail(na, err, errlen, -errno, root);
	/*
	 * sock_release first: a socket that counts in its own storage must not
	 * be closed unseen. Then the process-context hooks, so sockets have
	 * owners before packets are counted.
	 */
	struct bpf_program *progs[] = {na->skel->progs.tw_na_sock_release,
				       na->skel->progs.tw_na_exec,   na->skel->progs.tw_na_exit,
				       na->skel->progs.tw_na_send,   na->skel->progs.tw_na_recv,
				       na->skel->progs.tw_na_sock_create,
				       na->skel->progs.tw_na_egress, na->skel->progs.tw_na_ingress,
				       na->skel->progs.tw_na_if_rx,  na->skel->progs.tw_na_if_tx,
				       na->skel->progs.tw_na_if_rx_pr, na->skel->progs.tw_na_if_tx_pr};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i]))
			continue; /* the interface layer, not asked for */
		enum bpf_attach_type t = bpf_program__expected_attach_type(progs[i]);
		bool cg = t == BPF_CGROUP_INET_SOCK_CREATE || t == BPF_CGROUP_INET_SOCK_RELEASE ||
			  t == BPF_CGROUP_INET_EGRESS || t == BPF_CGROUP_INET_INGRESS;
		struct bpf_link *l = cg ? bpf_program__attach_cgroup(progs[i], cg_fd)
					: bpf_program__attach(progs[i]);
		if (!l) {
			rc = -errno;
			close(cg_fd);
			return na_fail(na, err, errlen, rc, bpf_program__name(progs[i]));
		}
		na->links[na->n_links++] = l;
	}
	close(cg_fd); /* the links hold the cgroup */
	na->fold_iter = na->fold_by_files
		? bpf_program__attach_iter(na->skel->progs.tw_na_fold_files, NULL)
		: tw_map_iter_attach(na->skel->obj, "tw_na_fold", "tw_na_owners");
	if (!na->fold_iter)
		return na_fail(na, err, errlen, -errno,
			       na->fold_by_files ? "tw_na_fold_files" : "tw_na_fold");
	rc = pthread_create(&na->maint, NULL, maintenance, na);
	if (rc)
		return na_fail(na, err, errlen, -rc, "starting the retention thread");
	na->maint_started = true;
	*out = na;
	return 0;
}

/*
 * Move the counts the kernel keeps per socket into the process entries
 * (tw_na_fold runs once per socket storage; it writes nothing to read).
 * Before every read, so a reader sees all traffic up to now, and before
 * eviction, so an exited process's last counts reach its entry in time.
 */
static int fold_sockets(struct tw_netacct *na)
{
	char buf[64];
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(na->fold_iter));

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Every key of the process table (a snapshot: entries come and go meanwhile). */
static int all_keys(struct tw_netacct *na, struct tw_na_key **out, size_t *n)
{
	size_t cap = 256, cnt = 0;
	struct tw_na_key *keys = malloc(cap * sizeof(*keys)), prev, cur;
	void *prevp = NULL;

	if (!keys)
		return -ENOMEM;
	while (bpf_map_get_next_key(na->procs_fd, prevp, &cur) == 0) {
		if (cnt == cap) {
			struct tw_na_key *k = realloc(keys, 2 * cap * sizeof(*keys));
			if (!k) {
				free(keys);
				return -ENOMEM;
			}
			keys = k;
			cap *= 2;
		}
		keys[cnt++] = cur;
		prev = cur;
		prevp = &prev;
		if (cnt > 4u * na->max_procs)
			break; /* a table churning under us: enough for one pass */
	}
	*out = keys;
	*n = cnt;
	return 0;
}

static void fill_dir(struct tw_netacct_dir *d, const struct tw_na_proc *v, int payload_idx,
		     int proto, int dir)
{
	if (payload_idx >= 0) {
		d->calls = v->cnt[payload_idx];
		d->payload_bytes = v->cnt[payload_idx + 1];
	}
	d->packets = v->cnt[TW_NA_WIRE(proto, dir)];
	d->wire_bytes = v->cnt[TW_NA_WIRE(proto, dir) + 1];
}

static void to_proc(const struct tw_na_key *k, const struct tw_na_proc *v, int64_t boot_to_epoch_ns,
		    bool per_thread, struct tw_netacct_proc *p)
{
	memset(p, 0, sizeof(*p));
	/* the process; a per-thread entry's key is its thread */
	p->pid = v->tgid;
	p->start_boot_ns = v->proc_start_ns;
	if (per_thread) {
		p->tid = k->id;
		p->thread_start_boot_ns = k->start_ns;
	}
	p->start_epoch_s = (uint64_t)(((int64_t)p->start_boot_ns + boot_to_epoch_ns) / 1000000000);
	memcpy(p->comm, v->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	p->exited = v->flags & TW_NA_PROC_EXITED;
	p->kthread = v->flags & TW_NA_PROC_KTHREAD;
	p->exit_boot_ns = v->exit_ns;
	p->cgroup_id = v->cgroup_id;
	fill_dir(&p->tcp_out, v, TW_NA_TCP_SND_CALLS, TW_NA_PROTO_TCP, TW_NA_DIR_OUT);
	fill_dir(&p->tcp_in, v, TW_NA_TCP_RCV_CALLS, TW_NA_PROTO_TCP, TW_NA_DIR_IN);
	fill_dir(&p->udp_out, v, TW_NA_UDP_SND_CALLS, TW_NA_PROTO_UDP, TW_NA_DIR_OUT);
	fill_dir(&p->udp_in, v, TW_NA_UDP_RCV_CALLS, TW_NA_PROTO_UDP, TW_NA_DIR_IN);
	fill_dir(&p->other_out, v, -1, TW_NA_PROTO_OTHER, TW_NA_DIR_OUT);
	fill_dir(&p->other_in, v, -1, TW_NA_PROTO_OTHER, TW_NA_DIR_IN);
}

int tw_netacct_read(struct tw_netacct *na, struct tw_netacct_proc **out, size_t *n)
{
	int64_t boot_to_epoch = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);
	struct tw_netacct_proc *procs;
	struct tw_na_key *keys;
	struct tw_na_proc v;
	size_t nk, cnt = 0;
	int rc;

	pthread_mutex_lock(&na->lock);
	fold_sockets(na); /* should it fail, the counts are read a fold behind, not lost */
	rc = all_keys(na, &keys, &nk);
	pthread_mutex_unlock(&na->lock);
	if (rc)
		return rc;
	procs = calloc(nk ? nk : 1, sizeof(*procs));
	if (!procs) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nk; i++) {
		if (bpf_map_lookup_elem(na->procs_fd, &keys[i], &v))
			continue; /* evicted meanwhile */
		to_proc(&keys[i], &v, boot_to_epoch, na->per_thread, &procs[cnt++]);
	}
	free(keys);
	*out = procs;
	*n = cnt;
	return 0;
}

int tw_netacct_lookup(struct tw_netacct *na, uint32_t pid, uint64_t start_boot_ns,
		      struct tw_netacct_proc *out)
{
	struct tw_netacct_proc *procs;
	size_t n, best = (size_t)-1;
	int rc = tw_netacct_read(na, &procs, &n);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = na->per_thread ? procs[i].tid : procs[i].pid;
		uint64_t start = na->per_thread ? procs[i].thread_start_boot_ns : procs[i].start_boot_ns;
		if (id != pid || (start_boot_ns && start != start_boot_ns))
			continue;
		if (best == (size_t)-1 || start > (na->per_thread ? procs[best].thread_start_boot_ns
								 : procs[best].start_boot_ns))
			best = i;
	}
	if (best != (size_t)-1)
		*out = procs[best];
	free(procs);
	return best == (size_t)-1 ? -ENOENT : 0;
}

int tw_netacct_tick(struct tw_netacct *na)
{
	struct tw_na_key *keys;
	struct tw_na_proc v;
	uint64_t *exit_ns;
	size_t nk, early = 0, marked;
	bool *evict;
	int rc;

	pthread_mutex_lock(&na->lock);
	fold_sockets(na); /* exited processes' sockets were folded at close anyway */
	rc = all_keys(na, &keys, &nk);
	if (rc)
		goto out;
	exit_ns = calloc(nk ? nk : 1, sizeof(*exit_ns));
	evict = calloc(nk ? nk : 1, sizeof(*evict));
	if (!exit_ns || !evict) {
		rc = -ENOMEM;
		goto free_all;
	}
	for (size_t i = 0; i < nk; i++)
		if (!bpf_map_lookup_elem(na->procs_fd, &keys[i], &v) && (v.flags & TW_NA_PROC_EXITED))
			exit_ns[i] = v.exit_ns ? v.exit_ns : 1;
	/* keep a tenth of the table free for processes starting before the next tick */
	marked = tw_netacct_plan_eviction(exit_ns, nk, clock_ns(CLOCK_BOOTTIME), na->retain_ns,
					  (size_t)na->max_procs * 9 / 10, evict, &early);
	for (size_t i = 0; marked && i < nk; i++)
		if (evict[i])
			bpf_map_delete_elem(na->procs_fd, &keys[i]);
	na->evicted_retention += marked - early;
	na->evicted_pressure += early;
free_all:
	free(exit_ns);
	free(evict);
	free(keys);
out:
	pthread_mutex_unlock(&na->lock);
	return rc;
}

int tw_netacct_buckets(struct tw_netacct *na, struct tw_netacct_bucket **out, size_t *n)
{
	struct tw_na_bucket_key k, prev;
	struct tw_na_bucket *percpu = calloc(na->ncpus, sizeof(*percpu));
	struct tw_netacct_bucket *b = NULL;
	size_t cnt = 0, cap = 0;
	void *prevp = NULL;

	if (!percpu)
		return -ENOMEM;
	while (bpf_map_get_next_key(na->buckets_fd, prevp, &k) == 0) {
		prev = k;
		prevp = &prev;
		if (bpf_map_lookup_elem(na->buckets_fd, &k, percpu))
			continue;
		if (cnt == cap) {
			struct tw_netacct_bucket *nb = realloc(b, (cap ? 2 * cap : 16) * sizeof(*b));
			if (!nb) {
				free(b);
				free(percpu);
				return -ENOMEM;
			}
			b = nb;
			cap = cap ? 2 * cap : 16;
		}
		memset(&b[cnt], 0, sizeof(b[cnt]));
		b[cnt].ifindex = k.ifindex;
		b[cnt].kind = (enum tw_netacct_bucket_kind)k.kind;
		b[cnt].protocol = k.proto;
		b[cnt].ingress = k.dir == TW_NA_DIR_IN;
		for (int c = 0; c < na->ncpus; c++) {
			b[cnt].packets += percpu[c].packets;
			b[cnt].bytes += percpu[c].bytes;
		}
		cnt++;
	}
	free(percpu);
	*out = b;
	*n = cnt;
	return 0;
}

int tw_netacct_interfaces(struct tw_netacct *na, struct tw_netacct_iface **out, size_t *n)
{
	struct tw_na_iface *percpu;
	struct tw_netacct_iface *r = NULL;
	size_t cnt = 0, cap = 0;
	uint32_t k, prev;
	void *prevp = NULL;

	*out = NULL;
	*n = 0;
	if (!na->ifaces)
		return -EOPNOTSUPP;
	percpu = calloc(na->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	while (bpf_map_get_next_key(na->ifaces_fd, prevp, &k) == 0) {
		prev = k;
		prevp = &prev;
		if (bpf_map_lookup_elem(na->ifaces_fd, &k, percpu))
			continue;
		if (cnt == cap) {
			struct tw_netacct_iface *nr = realloc(r, (cap ? 2 * cap : 16) * sizeof(*r));
			if (!nr) {
				free(r);
				free(percpu);
				return -ENOMEM;
			}
			r = nr;
			cap = cap ? 2 * cap : 16;
		}
		memset(&r[cnt], 0, sizeof(r[cnt]));
		r[cnt].ifindex = k;
		for (int dir = 0; dir < 2; dir++) {
			struct tw_netacct_iface_dir *d = dir == TW_NA_DIR_IN ? &r[cnt].in : &r[cnt].out;
			struct tw_netacct_count *to[TW_NA_IF_N] = {
				[TW_NA_IF_TOTAL] = &d->total, [TW_NA_IF_SOCKET] = &d->sockets,
				[TW_NA_IF_ARP] = &d->arp,     [TW_NA_IF_NON_IP] = &d->non_ip,
				[TW_NA_IF_FORWARDED] = &d->forwarded,
			};
			for (int cls = 0; cls < TW_NA_IF_N; cls++)
				for (int c = 0; c < na->ncpus; c++) {
					to[cls]->packets += percpu[c].c[dir][cls].packets;
					to[cls]->bytes += percpu[c].c[dir][cls].bytes;
				}
		}
		cnt++;
	}
	free(percpu);
	*out = r;
	*n = cnt;
	return 0;
}

/* The kernel's memory figure for a map (fdinfo "memlock"). */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int tw_netacct_stats(struct tw_netacct *na, struct tw_netacct_stats *out)
{
	uint64_t *percpu = calloc(na->ncpus, sizeof(*percpu)), sums[TW_NA_STAT_MAX] = {0};
	struct tw_netacct_proc *procs;
	size_t n;
	int rc;

	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	for (uint32_t s = 0; s < TW_NA_STAT_MAX; s++) {
		if (bpf_map_lookup_elem(na->stats_fd, &s, percpu))
			continue;
		for (int c = 0; c < na->ncpus; c++)
			sums[s] += percpu[c];
	}
	free(percpu);
	rc = tw_netacct_read(na, &procs, &n);
	if (rc)
		return rc;
	out->procs = n;
	for (size_t i = 0; i < n; i++)
		out->procs_exited += procs[i].exited;
	free(procs);
	out->capacity = na->max_procs;
	out->proc_table_full = sums[TW_NA_STAT_PROC_FULL];
	out->bucket_table_full = sums[TW_NA_STAT_BUCKET_FULL];
	out->gso_skbs = sums[TW_NA_STAT_GSO_SKBS];
	out->gso_extra_packets = sums[TW_NA_STAT_GSO_EXTRA_PKTS];
	out->gso_extra_bytes = sums[TW_NA_STAT_GSO_EXTRA_BYTES];
	out->folded_without_entry = sums[TW_NA_STAT_FOLD_NO_ENTRY];
	out->iface_table_full = sums[TW_NA_STAT_IFACE_FULL];
	pthread_mutex_lock(&na->lock);
	out->evicted_retention = na->evicted_retention;
	out->evicted_pressure = na->evicted_pressure;
	pthread_mutex_unlock(&na->lock);
	out->map_bytes = map_memlock(na->procs_fd) + map_memlock(na->buckets_fd) +
			 map_memlock(na->stats_fd) + map_memlock(na->ifaces_fd) +
			 map_memlock(bpf_map__fd(na->skel->maps.tw_na_owners));
	return 0;
}

int tw_netacct_prog_stats(struct tw_netacct *na, struct tw_prog_stats *out, size_t max)
{
	size_t n = 0;
	int rc = tw_object_prog_stats(na->skel->obj, out, max, &n);

	return rc ? rc : (int)n;
}
