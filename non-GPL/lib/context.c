// SPDX-License-Identifier: Apache-2.0
/*
 * The events context: opens the embedded probe objects, configures them,
 * loads and attaches what was asked for, and drains the ring buffer.
 */
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_globals.h"
#include "exit_order.h"
#include "file_hooks.h"
#include "net_json.h"
#include "net_probes.h"
#include "udp_probes.h"
#include "probe_table.h"
#include "prog_stats.h"
#include "tracewire.h"

#define TW_DEFAULT_RING_SIZE (8u << 20)
#define TW_DEFAULT_WAKEUP_BYTES (256u << 10)
#define TW_DEFAULT_MAX_LATENCY_MS 50
#define TW_MAX_PROGRAMS 64
#define TW_MAX_LINKS 256
#define TW_DEFAULT_WRITE_WINDOW_MS 1000
#define TW_DEFAULT_EXIT_HOLD_MS 500
#define TW_DEFAULT_UDP_INTERVAL_MS 60000
#define TW_EXIT_ORDER_MAX_OPEN (1u << 20)

/* Maps every object declares; the first object loaded owns them. */
static const char *const shared_maps[] = {"tw_ringbuf",    "tw_scratch_map", "tw_stats",
					  "tw_pid_filter", "tw_comm_filter", "tw_uid_filter",
					  "tw_cgroup_filter"};
enum { MAP_RINGBUF, MAP_SCRATCH, MAP_STATS, MAP_PID_FILTER, MAP_COMM_FILTER, MAP_UID_FILTER,
       MAP_CGROUP_FILTER, N_SHARED_MAPS };

struct tw_ctx {
	struct tw_options opts;
	tw_event_fn cb;
	void *user;
	tw_raw_fn raw_fn;
	void *raw_user;

	/* opened probe objects; the first one owns the shared maps */
	struct {
		const struct tw_domain_def *def;
		void *skel;
		struct bpf_object *obj;
	} objs[8];
	size_t n_objs;
	struct bpf_link *link_slots[TW_MAX_LINKS];
	struct tw_links links;
	struct tw_probe_status probes[TW_MAX_PROGRAMS];
	const struct tw_program_def *probe_defs[TW_MAX_PROGRAMS];
	size_t n_probes;

	int map_fd[N_SHARED_MAPS]; /* shared_maps order */
	struct ring_buffer *rb;
	uint32_t ring_size;
	int64_t realtime_offset_ns;
	int ncpus;

	uint64_t received[TW_EVENT_TYPE_MAX];
	uint64_t decode_errors[TW_DECODE_ERROR_MAX];
	uint64_t dns_malformed;
	uint64_t deliver_mask;            /* what the caller asked for; the kernel may trace more */
	struct tw_exit_order *exit_order; /* NULL unless both EXIT and connections are traced */
	/* iterators run on a timer: periodic TCP metrics, UDP flow reports */
	struct tw_periodic {
		const char *what;
		struct bpf_link *iter;
		int64_t interval_ns, next_ns; /* CLOCK_MONOTONIC */
	} periodic[2];
	size_t n_periodic;
	struct bpf_object *udp_obj;       /* for the last report of live UDP flows at stop */
	struct bpf_link *udp_iter;
};

void tw_options_init(struct tw_options *o)
{
	memset(o, 0, sizeof(*o));
	o->struct_size = sizeof(*o);
	o->event_mask = TW_EVENTS_ALL;
	o->ring_size = TW_DEFAULT_RING_SIZE;
	o->wakeup_bytes = TW_DEFAULT_WAKEUP_BYTES;
	o->max_latency_ms = TW_DEFAULT_MAX_LATENCY_MS;
	o->exclude_self = true;
	o->file_write_window_ms = TW_DEFAULT_WRITE_WINDOW_MS;
	o->exit_hold_ms = TW_DEFAULT_EXIT_HOLD_MS;
	o->udp_flow_interval_ms = TW_DEFAULT_UDP_INTERVAL_MS;
}

/* libbpf's print callback is process-wide; route it to the open context's logger. */
static struct tw_ctx *log_ctx;

static void tw_log(struct tw_ctx *ctx, enum tw_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	/* debug only when verbose; info too on stderr, but an embedder's logger gets it */
	if (level == TW_LOG_DEBUG && !(ctx && ctx->opts.verbose))
		return;
	if (level == TW_LOG_INFO && !(ctx && (ctx->opts.verbose || ctx->opts.log)))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx && ctx->opts.log)
		ctx->opts.log(ctx->opts.log_user, level, msg);
	else
		fprintf(stderr, "tracewire: %s\n", msg);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && !(log_ctx && log_ctx->opts.verbose))
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* libbpf warns through the verifier log: keep it, but as debug unless verbose */
	/* libbpf warnings are mostly the verifier log: shown with verbose, else summarised by us */
	tw_log(log_ctx, TW_LOG_DEBUG, "libbpf: %s", msg);
	return 0;
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 4096;
	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Which hierarchy identifies a container here (see tw_task__cgroup). */
static uint32_t detect_cgroup_hierarchy(void)
{
	char line[512];
	uint32_t h = TW_CGROUP_V2;
	FILE *f;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return TW_CGROUP_V2; /* pure v2 */
	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return TW_CGROUP_V2;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':');
		char *end = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!end)
			continue;
		*end = '\0';
		for (char *tok = strtok(ctrl + 1, ","); tok; tok = strtok(NULL, ",")) {
			if (!strcmp(tok, "memory"))
				h = TW_CGROUP_V1_MEMORY;
			else if (!strcmp(tok, "cpu") && h == TW_CGROUP_V2)
				h = TW_CGROUP_V1_CPU;
		}
	}
	fclose(f);
	return h;
}

static int set_globals(struct tw_ctx *ctx, struct bpf_object *obj)
{
	const struct tw_options *o = &ctx->opts;
	uint32_t include = 0, used = o->n_pid_rules > 0 || o->exclude_self;
	uint32_t env = o->capture_env, cg = detect_cgroup_hierarchy();
	uint64_t wake = o->wakeup_bytes, window = o->file_write_window_ms * 1000000ull;
	uint64_t udp_interval = o->udp_flow_interval_ms * 1000000ull;
	uint32_t path_used = o->n_path_rules > 0, path_include = 0;
	uint32_t task_cfg[3] = {0, 0, 0}; /* comm, uid, cgroup: TW_TASK_FILTER_* */
	uint32_t nr_write = SYS_write, nr_writev = SYS_writev, nr_pwritev2 = SYS_pwritev2;
	const struct {
		const char *name;
		const void *val;
		size_t size;
	} globals[] = {
	    {"tw_cfg_event_mask", &o->event_mask, 8}, {"tw_cfg_pid_include_mode", &include, 4},
	    {"tw_cfg_pid_filter_used", &used, 4},     {"tw_cfg_capture_env", &env, 4},
	    {"tw_cfg_cgroup_hierarchy", &cg, 4},      {"tw_cfg_wakeup_bytes", &wake, 8},
	    {"tw_cfg_write_window_ns", &window, 8},   {"tw_cfg_path_filter_used", &path_used, 4},
	    {"tw_cfg_path_include_mode", &path_include, 4},
	    {"tw_cfg_tty_budget_bytes", &o->tty_budget_bytes, 8},
	    {"tw_cfg_nr_write", &nr_write, 4},       {"tw_cfg_nr_writev", &nr_writev, 4},
	    {"tw_cfg_nr_pwritev2", &nr_pwritev2, 4},
	    {"tw_cfg_udp_interval_ns", &udp_interval, 8},
	    {"tw_cfg_comm_filter", &task_cfg[TW_RULE_COMM], 4},
	    {"tw_cfg_uid_filter", &task_cfg[TW_RULE_UID], 4},
	    {"tw_cfg_cgroup_filter", &task_cfg[TW_RULE_CGROUP], 4},
	};

	for (size_t i = 0; i < o->n_pid_rules; i++)
		if (o->pid_rules[i].flags & TW_PID_INCLUDE)
			include = 1;
	for (size_t i = 0; i < o->n_path_rules; i++)
		if (!o->path_rules[i].exclude)
			path_include = 1;
	for (size_t i = 0; i < o->n_task_rules; i++)
		task_cfg[o->task_rules[i].kind] |=
		    TW_TASK_FILTER_USED | (o->task_rules[i].exclude ? 0 : TW_TASK_FILTER_INCLUDE);
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		int err = tw_bpf_set_global(obj, globals[i].name, globals[i].val, globals[i].size);
		if (err && err != -ENOENT) /* an object only declares the globals it uses */
			return err;
	}
	return 0;
}

static bool descendants_used(const struct tw_options *o)
{
	for (size_t i = 0; i < o->n_pid_rules; i++)
		if (o->pid_rules[i].flags & TW_PID_DESCENDANTS)
			return true;
	return false;
}

/* Decide autoload per program; returns how many programs will load. */
static int select_programs(struct tw_ctx *ctx, const struct tw_domain_def *d, struct bpf_object *obj,
			   const struct btf *vmlinux)
{
	bool follow = descendants_used(&ctx->opts);
	int n = 0;

	for (size_t i = 0; i < d->n_programs; i++) {
		const struct tw_program_def *p = &d->programs[i];
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, p->program);
		struct tw_probe_status *st = &ctx->probes[ctx->n_probes++];
		bool wanted = ((ctx->opts.event_mask & p->event_mask) ||
			       (p->needed_by_pid_filter && follow)) &&
			      (!p->wanted || p->wanted(&ctx->opts));

		st->program = p->program;
		st->hook = p->hook;
		st->event_mask = p->event_mask;
		ctx->probe_defs[ctx->n_probes - 1] = p;
		st->state = TW_PROBE_NOT_REQUESTED;
		if (!prog)
			return -ENOENT;
		if (wanted && !tw_hook_available(vmlinux, p->hook)) {
			/* the start record says so too; not worth a warning on every start */
			tw_log(ctx, TW_LOG_INFO, "%s: hook not present on this kernel, %s unavailable",
			       p->hook, p->program);
			st->state = TW_PROBE_UNAVAILABLE;
			wanted = false;
		}
		bpf_program__set_autoload(prog, wanted);
		if (wanted) {
			st->state = TW_PROBE_ATTACHED; /* confirmed by attach below */
			n++;
		}
	}
	return n;
}

static int share_maps(struct tw_ctx *ctx, struct bpf_object *obj, bool first)
{
	for (size_t i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shared_maps[i]);
		int err;

		if (!m)
			return -ENOENT;
		if (!first) {
			err = bpf_map__reuse_fd(m, ctx->map_fd[i]);
			if (err)
				return err;
			continue;
		}
		if (!strcmp(shared_maps[i], "tw_ringbuf"))
			err = bpf_map__set_max_entries(m, ctx->ring_size);
		else if (!strcmp(shared_maps[i], "tw_scratch_map"))
			err = bpf_map__set_max_entries(m, ctx->ncpus);
		else
			err = 0;
		if (err)
			return err;
	}
	return 0;
}

static void remember_map_fds(struct tw_ctx *ctx, struct bpf_object *obj)
{
	for (size_t i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++)
		ctx->map_fd[i] = bpf_map__fd(bpf_object__find_map_by_name(obj, shared_maps[i]));
}

static bool on_cgroupfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 &&
	       (fs.f_type == 0x27e0eb /* cgroup v1 */ || fs.f_type == 0x63677270 /* cgroup2 */);
}

/* Task rules into the comm / uid / cgroup maps; a cgroup path is resolved to its id. */
static int fill_task_filters(struct tw_ctx *ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < ctx->opts.n_task_rules; i++) {
		const struct tw_task_rule *r = &ctx->opts.task_rules[i];
		uint32_t action = r->exclude ? TW_PID_EXCLUDE : TW_PID_INCLUDE;
		char comm[16] = {0};
		uint64_t id = r->cgroup_id;
		struct stat st;
		int rc = 0;

		switch (r->kind) {
		case TW_RULE_COMM:
			strncpy(comm, r->comm, sizeof(comm) - 1); /* the kernel keeps 15 bytes */
			rc = bpf_map_update_elem(ctx->map_fd[MAP_COMM_FILTER], comm, &action, BPF_ANY);
			break;
		case TW_RULE_UID:
			rc = bpf_map_update_elem(ctx->map_fd[MAP_UID_FILTER], &r->uid, &action, BPF_ANY);
			break;
		case TW_RULE_CGROUP:
			if (!id && (!r->cgroup_path || stat(r->cgroup_path, &st) || !S_ISDIR(st.st_mode) ||
				    !on_cgroupfs(r->cgroup_path))) {
				snprintf(err, errlen, "cgroup filter: %s is not a cgroup directory",
					 r->cgroup_path ? r->cgroup_path : "(none)");
				return -EINVAL;
			}
			if (!id)
				id = st.st_ino; /* a cgroup's id is its kernfs inode number */
			rc = bpf_map_update_elem(ctx->map_fd[MAP_CGROUP_FILTER], &id, &action, BPF_ANY);
			break;
		}
		if (rc) {
			snprintf(err, errlen, "setting a task filter failed: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int fill_pid_filter(struct tw_ctx *ctx)
{
	for (size_t i = 0; i < ctx->opts.n_pid_rules; i++) {
		int err = tw_ctx_add_pid_rule(ctx, ctx->opts.pid_rules[i].pid, ctx->opts.pid_rules[i].flags);
		if (err)
			return err;
	}
	if (ctx->opts.exclude_self)
		return tw_ctx_add_pid_rule(ctx, getpid(), TW_PID_EXCLUDE);
	return 0;
}

static int deliver(void *arg, const struct tw_event *ev)
{
	struct tw_ctx *ctx = arg;

	if (!(ctx->deliver_mask & TW_EVENT_BIT(ev->hdr->type)))
		return 0; /* traced only for the library's own bookkeeping (exit ordering) */
	return ctx->cb ? ctx->cb(ctx->user, ev) : 0;
}

/* EXITs wait for the CLOSED of their connections: what the caller asked for allows it. */
static bool exit_order_wanted(const struct tw_options *o)
{
	return o->exit_hold_ms && (o->event_mask & TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT)) &&
	       (o->event_mask & TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED));
}

static int on_sample(void *arg, void *data, size_t len)
{
	struct tw_ctx *ctx = arg;
	struct tw_event ev;
	int err;

	if (ctx->raw_fn)
		ctx->raw_fn(ctx->raw_user, data, len);
	err = tw_event_decode(data, len, &ev);
	if (err < 0) {
		ctx->decode_errors[-err]++;
		tw_log(ctx, TW_LOG_DEBUG, "record of %zu bytes rejected: %s", len, tw_decode_error_str(err));
		return 0;
	}
	ev.ts_realtime_ns = ev.hdr->ts_boot_ns + ctx->realtime_offset_ns;
	ctx->received[ev.hdr->type]++;
	if (ev.hdr->type == TW_EVENT_NETWORK_DNS && tw_dns_event_malformed(&ev)) {
		ctx->dns_malformed++; /* counted and skipped: nothing in it can be trusted */
		return 0;
	}
	if (ctx->exit_order)
		return tw_exit_order_feed(ctx->exit_order, &ev, deliver, ctx) ? -ECANCELED : 0;
	return deliver(ctx, &ev) ? -ECANCELED : 0;
}

/* Release EXITs whose wait for their connections' CLOSED is over. */
static int exit_order_tick(struct tw_ctx *ctx, int flush)
{
	if (!ctx->exit_order)
		return 0;
	return tw_exit_order_tick(ctx->exit_order, (uint64_t)clock_ns(CLOCK_MONOTONIC), flush, deliver, ctx) ? -ECANCELED
											 : 0;
}

/* Work due on a timer: the periodic iterators. */
static void run_timers(struct tw_ctx *ctx)
{
	int64_t now;
	int err;

	if (!ctx->n_periodic)
		return;
	now = clock_ns(CLOCK_MONOTONIC);
	for (size_t i = 0; i < ctx->n_periodic; i++) {
		struct tw_periodic *p = &ctx->periodic[i];
		if (now < p->next_ns)
			continue;
		/* the next run keeps the cadence; after a long stall it starts over from now */
		p->next_ns += p->interval_ns;
		if (p->next_ns < now)
			p->next_ns = now + p->interval_ns;
		if ((err = tw_iter_run(p->iter)))
			tw_log(ctx, TW_LOG_WARN, "%s: %s", p->what, strerror(-err));
	}
}

static int add_periodic(struct tw_ctx *ctx, const char *what, struct bpf_link *iter,
			uint32_t interval_ms)
{
	struct tw_periodic *p = &ctx->periodic[ctx->n_periodic];

	if (!iter)
		return -errno;
	if (ctx->n_periodic == sizeof(ctx->periodic) / sizeof(ctx->periodic[0])) {
		bpf_link__destroy(iter);
		return -E2BIG;
	}
	p->what = what;
	p->iter = iter;
	p->interval_ns = (int64_t)interval_ms * 1000000;
	p->next_ns = clock_ns(CLOCK_MONOTONIC) + p->interval_ns;
	ctx->n_periodic++;
	return 0;
}

/* Live UDP flows have counts nobody has seen yet: report them once more (reason "stop"). */
static void report_udp_flows_at_stop(struct tw_ctx *ctx)
{
	uint64_t all = 1;
	int err;

	if (!ctx->udp_iter || tw_bpf_set_global(ctx->udp_obj, "tw_udp_flush_all", &all, sizeof(all)))
		return;
	if ((err = tw_iter_run(ctx->udp_iter)))
		tw_log(ctx, TW_LOG_WARN, "last UDP flow report: %s", strerror(-err));
	all = 0;
	tw_bpf_set_global(ctx->udp_obj, "tw_udp_flush_all", &all, sizeof(all));
	ring_buffer__consume(ctx->rb);
}

int tw_ctx_flush(struct tw_ctx *ctx)
{
	report_udp_flows_at_stop(ctx);
	return exit_order_tick(ctx, 1);
}

static int fail(struct tw_ctx *ctx, char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	tw_ctx_close(ctx);
	return code < 0 ? code : -code;
}

/* Classic tracepoints attach by id, read from tracefs: make sure it is there. */
static int need_tracefs(struct tw_ctx *ctx, char *err, size_t errlen)
{
	if (!(ctx->opts.event_mask &
	      (TW_EVENTS_FILE | TW_EVENTS_TTY | TW_EVENTS_PROCESS_CALLS | TW_EVENTS_NETWORK)) ||
	    tw_tracefs_root())
		return 0;
	return fail(ctx, err, errlen, ENOENT, "tracefs is not mounted and could not be mounted at "
					      "/sys/kernel/tracing (needed for syscall tracepoints)");
}

/*
 * Features every probe object relies on that older kernels lack. Probed
 * only after a load failed, to turn a verifier message into a sentence
 * (kernel matrix: 5.10 has none of these). NULL when all are there.
 */
static const char *missing_kernel_feature(void)
{
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) <= 0)
		return "bpf_loop() (Linux 5.17 or later), which the path walks need";
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) <= 0)
		return "task storage maps (Linux 5.11 or later)";
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACING, BPF_FUNC_get_current_task_btf, NULL) <= 0 &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf, NULL) <= 0)
		return "bpf_get_current_task_btf() (Linux 5.11 or later)";
	return NULL;
}

static int open_domain(struct tw_ctx *ctx, const struct tw_domain_def *d, const struct btf *vmlinux,
		       char *err, size_t errlen)
{
	const char *missing;
	void *skel = NULL;
	struct bpf_object *obj = d->open(&skel, NULL);
	bool first = ctx->n_objs == 0;
	int rc, n;

	if (!obj)
		return fail(ctx, err, errlen, errno ? errno : EINVAL, "opening the %s probes failed: %s",
			    d->name, strerror(errno));
	n = select_programs(ctx, d, obj, vmlinux);
	if (n <= 0) {
		/* nothing to run here (or a broken object): drop it without loading */
		d->destroy(skel);
		if (n < 0)
			return fail(ctx, err, errlen, n, "%s probes: a program is missing from the object",
				    d->name);
		return 0;
	}
	ctx->objs[ctx->n_objs].def = d;
	ctx->objs[ctx->n_objs].skel = skel;
	ctx->objs[ctx->n_objs].obj = obj;
	ctx->n_objs++;
	if ((rc = set_globals(ctx, obj)) || (rc = share_maps(ctx, obj, first)))
		return fail(ctx, err, errlen, rc, "configuring the %s probes failed: %s", d->name,
			    strerror(-rc));
	rc = bpf_object__load(obj);
	if (rc && (missing = missing_kernel_feature()))
		return fail(ctx, err, errlen, rc, "loading the %s probes failed: this kernel lacks %s",
			    d->name, missing);
	if (rc)
		return fail(ctx, err, errlen, rc,
			    "loading the %s probes failed: %s%s", d->name, strerror(-rc),
			    ctx->opts.verbose ? " (verifier log above)"
					      : " (run with verbose for the verifier log)");
	if (first)
		remember_map_fds(ctx, obj);
	if (d->after_load && (rc = d->after_load(obj, &ctx->opts)))
		return fail(ctx, err, errlen, rc, "configuring the loaded %s probes failed: %s", d->name,
			    strerror(-rc));
	return 0;
}

static int attach_all(struct tw_ctx *ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < ctx->n_probes; i++) {
		struct tw_probe_status *st = &ctx->probes[i];
		struct bpf_program *prog = NULL;
		struct bpf_link *link;

		if (st->state != TW_PROBE_ATTACHED)
			continue;
		for (size_t o = 0; o < ctx->n_objs && !prog; o++)
			prog = bpf_object__find_program_by_name(ctx->objs[o].obj, st->program);
		if (prog && ctx->probe_defs[i]->attach) {
			int rc = ctx->probe_defs[i]->attach(prog, &ctx->opts, &ctx->links);
			if (rc)
				return fail(ctx, err, errlen, rc, "attaching %s failed: %s", st->program,
					    strerror(-rc));
			continue;
		}
		link = prog ? bpf_program__attach(prog) : NULL;
		if (!link || ctx->links.n == ctx->links.max)
			return fail(ctx, err, errlen, errno ? errno : ENOENT, "attaching %s (%s) failed: %s",
				    st->program, st->hook, strerror(errno));
		ctx->links.links[ctx->links.n++] = link;
	}
	return 0;
}

/*
 * The caller's options as this library's struct (tracewire.h, "Options"): the
 * bytes the caller's header knew over our defaults; a larger struct only if
 * what we do not know of it is zero. The smallest valid size is the struct of
 * 0.1.0 (ending at `verbose`), the first release with struct_size.
 */
static int options_from_caller(const struct tw_options *in, struct tw_options *o, char *err,
			       size_t errlen)
{
	const size_t v1 = offsetof(struct tw_options, verbose) + sizeof(in->verbose);
	size_t n;

	tw_options_init(o);
	if (!in)
		return 0;
	n = in->struct_size;
	if (n < v1) {
		snprintf(err, errlen, "tw_options.struct_size is %zu: initialise the options with "
				      "tw_options_init()", n);
		return -EINVAL;
	}
	for (size_t i = sizeof(*o); i < n; i++) {
		if (((const unsigned char *)in)[i]) {
			snprintf(err, errlen, "tw_options has a field at byte %zu that tracewire %s "
					      "does not know", i, TW_LIB_VERSION);
			return -E2BIG;
		}
	}
	memcpy(o, in, n < sizeof(*o) ? n : sizeof(*o));
	o->struct_size = sizeof(*o);
	return 0;
}

static int ctx_open(struct tw_ctx **out, const struct tw_options *opts, tw_event_fn cb, void *user,
		    char *err, size_t errlen);

/*
 * The vfs file probes are tried before they are chosen (file_hooks.c), but
 * the trial cannot foresee everything: filters add code the verifier may
 * refuse, another tool may take the last trampoline slot of a function
 * meanwhile. Then the whole open is done once more on the tracepoints
 * rather than failing.
 */
int tw_ctx_open(struct tw_ctx **out, const struct tw_options *opts, tw_event_fn cb, void *user,
		char *err, size_t errlen)
{
	char why[160];
	int rc = ctx_open(out, opts, cb, user, err, errlen);

	if (rc >= 0 || !tw_file_vfs_chosen() || rc == -EPERM || rc == -E2BIG)
		return rc;
	snprintf(why, sizeof(why), "the vfs set failed after its trial: %s", err ? err : "");
	tw_file_vfs_refuse(why);
	rc = ctx_open(out, opts, cb, user, err, errlen);
	tw_file_vfs_refuse(NULL);
	return rc;
}

static int ctx_open(struct tw_ctx **out, const struct tw_options *opts, tw_event_fn cb, void *user,
		    char *err, size_t errlen)
{
	struct tw_ctx *ctx;
	struct btf *vmlinux;
	struct tw_options caller_opts;
	int rc;

	*out = NULL;
	if ((rc = options_from_caller(opts, &caller_opts, err, errlen)))
		return rc;
	opts = &caller_opts;
	if (geteuid() != 0) {
		snprintf(err, errlen, "tracewire must run as root: it loads BPF programs into the "
				      "kernel (effective uid is %u)", geteuid());
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(err, errlen, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux missing; "
				      "needs CONFIG_DEBUG_INFO_BTF=y)");
		return -ENOTSUP;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->opts = *opts;
	ctx->deliver_mask = opts->event_mask;
	/* ordering needs to know which connections are open, even if their opens are not wanted */
	if (exit_order_wanted(opts))
		ctx->opts.event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED) |
					TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ACCEPTED);
	ctx->links.links = ctx->link_slots;
	ctx->links.max = TW_MAX_LINKS;
	ctx->cb = cb;
	ctx->user = user;
	ctx->ring_size = round_pow2(opts->ring_size ? opts->ring_size : TW_DEFAULT_RING_SIZE);
	ctx->opts.ring_size = ctx->ring_size;
	if (!ctx->opts.max_latency_ms)
		ctx->opts.max_latency_ms = TW_DEFAULT_MAX_LATENCY_MS;
	ctx->ncpus = libbpf_num_possible_cpus();
	if (ctx->ncpus <= 0)
		return fail(ctx, err, errlen, EINVAL, "cannot count possible CPUs");
	log_ctx = ctx;
	libbpf_set_print(libbpf_print);

	if ((rc = need_tracefs(ctx, err, errlen)))
		return rc;
	vmlinux = btf__load_vmlinux_btf();
	for (size_t i = 0; i < tw_n_domains; i++) {
		rc = open_domain(ctx, tw_domains[i], vmlinux, err, errlen);
		if (rc) {
			btf__free(vmlinux);
			return rc; /* ctx already freed by fail() */
		}
	}
	btf__free(vmlinux);
	if (ctx->n_objs == 0)
		return fail(ctx, err, errlen, EINVAL, "no probe to load: no requested event type is "
						      "available on this kernel");
	if ((rc = fill_pid_filter(ctx)))
		return fail(ctx, err, errlen, rc, "setting pid filter rules failed: %s", strerror(-rc));
	if ((rc = fill_task_filters(ctx, err, errlen))) {
		tw_ctx_close(ctx);
		return rc;
	}
	if ((rc = attach_all(ctx, err, errlen)))
		return rc;
	ctx->rb = ring_buffer__new(ctx->map_fd[MAP_RINGBUF], on_sample, ctx, NULL);
	if (!ctx->rb)
		return fail(ctx, err, errlen, errno, "ring buffer setup failed: %s", strerror(errno));
	for (size_t i = 0; i < ctx->n_objs; i++) {
		if (ctx->objs[i].def == &tw_network_domain && ctx->opts.tcp_metrics_interval_ms &&
		    (ctx->opts.event_mask & TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS)))
			rc = add_periodic(ctx, "periodic TCP metrics",
					  tw_net_metrics_iter_attach(ctx->objs[i].obj),
					  ctx->opts.tcp_metrics_interval_ms);
		else if (ctx->objs[i].def == &tw_udp_domain &&
			 (ctx->opts.event_mask & TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW))) {
			rc = add_periodic(ctx, "UDP flow reports",
					  tw_udp_flows_iter_attach(ctx->objs[i].obj), TW_UDP_TICK_MS);
			if (!rc)
				ctx->udp_obj = ctx->objs[i].obj;
			ctx->udp_iter = rc ? NULL : ctx->periodic[ctx->n_periodic - 1].iter;
		}
		if (rc)
			return fail(ctx, err, errlen, rc, "attaching a periodic iterator failed: %s",
				    strerror(-rc));
	}
	if (exit_order_wanted(&ctx->opts)) {
		ctx->exit_order = tw_exit_order_new(ctx->opts.exit_hold_ms * 1000000ull,
						    TW_EXIT_ORDER_MAX_OPEN);
		if (!ctx->exit_order)
			return fail(ctx, err, errlen, ENOMEM, "out of memory");
	}
	ctx->realtime_offset_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	*out = ctx;
	return 0;
}

struct link_batch {
	struct bpf_link **links;
	size_t n;
};

static void *destroy_links(void *arg)
{
	struct link_batch *b = arg;
	for (size_t i = 0; i < b->n; i++)
		bpf_link__destroy(b->links[i]);
	return NULL;
}

/*
 * Detaching a syscall tracepoint waits for an RCU grace period (tens of ms
 * here), one detach after another: ~80 file-probe links took 6 s to tear
 * down. Detaching from several threads lets the waits overlap.
 */
static void destroy_links_parallel(struct tw_links *l)
{
	enum { THREADS = 16 };
	struct link_batch batch[THREADS];
	pthread_t th[THREADS];
	bool started[THREADS] = {false};
	size_t per = (l->n + THREADS - 1) / THREADS;

	for (size_t t = 0; t < THREADS; t++) {
		size_t from = t * per;
		batch[t].links = l->links + from;
		batch[t].n = from >= l->n ? 0 : (l->n - from < per ? l->n - from : per);
		if (batch[t].n)
			started[t] = pthread_create(&th[t], NULL, destroy_links, &batch[t]) == 0;
		if (batch[t].n && !started[t])
			destroy_links(&batch[t]); /* no thread: do it here */
	}
	for (size_t t = 0; t < THREADS; t++)
		if (started[t])
			pthread_join(th[t], NULL);
	l->n = 0;
}

void tw_ctx_close(struct tw_ctx *ctx)
{
	if (!ctx)
		return;
	exit_order_tick(ctx, 1); /* nothing held back is lost at close */
	tw_exit_order_free(ctx->exit_order);
	for (size_t i = 0; i < ctx->n_periodic; i++)
		bpf_link__destroy(ctx->periodic[i].iter);
	ring_buffer__free(ctx->rb);
	destroy_links_parallel(&ctx->links);
	for (size_t i = 0; i < ctx->n_objs; i++)
		ctx->objs[i].def->destroy(ctx->objs[i].skel);
	if (log_ctx == ctx)
		log_ctx = NULL;
	free(ctx);
}

int tw_ctx_fd(struct tw_ctx *ctx)
{
	return ring_buffer__epoll_fd(ctx->rb);
}

int tw_ctx_consume(struct tw_ctx *ctx)
{
	int n, rc;

	run_timers(ctx);
	n = ring_buffer__consume(ctx->rb);
	rc = exit_order_tick(ctx, 0);
	return n < 0 ? n : rc < 0 ? rc : n;
}

int tw_ctx_poll(struct tw_ctx *ctx, int timeout_ms)
{
	int n, m, rc;

	if (timeout_ms < 0 || (uint32_t)timeout_ms > ctx->opts.max_latency_ms)
		timeout_ms = ctx->opts.max_latency_ms;
	run_timers(ctx);
	n = ring_buffer__poll(ctx->rb, timeout_ms);
	if (n < 0)
		return n;
	/* with adaptive wakeups records may be pending without a wakeup: drain anyway */
	m = ring_buffer__consume(ctx->rb);
	if (m < 0)
		return m;
	if ((rc = exit_order_tick(ctx, 0)) < 0)
		return rc;
	return n + m;
}

int tw_ctx_add_pid_rule(struct tw_ctx *ctx, uint32_t pid, uint32_t flags)
{
	int fd = ctx->map_fd[MAP_PID_FILTER];
	if (bpf_map_update_elem(fd, &pid, &flags, BPF_ANY))
		return -errno;
	return 0;
}

int tw_ctx_set_wakeup_bytes(struct tw_ctx *ctx, uint32_t bytes)
{
	uint64_t v = bytes;
	for (size_t i = 0; i < ctx->n_objs; i++) {
		int err = tw_bpf_set_global(ctx->objs[i].obj, "tw_cfg_wakeup_bytes", &v, sizeof(v));
		if (err)
			return err;
	}
	ctx->opts.wakeup_bytes = bytes;
	return 0;
}

int tw_ctx_stats(struct tw_ctx *ctx, struct tw_stats *out)
{
	struct tw_kernel_stats *percpu = calloc(ctx->ncpus, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		struct tw_type_stats *s = &out->type[t];
		s->received = ctx->received[t];
		if (!tw_event_type_name(t))
			continue;
		if (bpf_map_lookup_elem(ctx->map_fd[MAP_STATS], &t, percpu))
			continue;
		for (int c = 0; c < ctx->ncpus; c++) {
			s->emitted += percpu[c].emitted;
			s->filtered += percpu[c].filtered;
			s->lost_ringbuf += percpu[c].lost_ringbuf;
			s->truncated += percpu[c].truncated;
			s->lost_scratch += percpu[c].lost_scratch;
			s->rate_limited += percpu[c].rate_limited;
			s->rate_limited_bytes += percpu[c].rate_limited_bytes;
		}
		out->lost_total += s->lost_ringbuf + s->lost_scratch;
	}
	for (int r = 0; r < TW_DECODE_ERROR_MAX; r++) {
		out->decode_errors[r] = ctx->decode_errors[r];
		out->decode_errors_total += ctx->decode_errors[r];
	}
	out->dns_malformed = ctx->dns_malformed;
	{
		/* every loaded program: first how many, then their counters */
		int n = tw_ctx_prog_stats(ctx, NULL, 0);
		struct tw_prog_stats *ps = n > 0 ? calloc((size_t)n, sizeof(*ps)) : NULL;

		if (ps && tw_ctx_prog_stats(ctx, ps, (size_t)n) == n)
			for (int i = 0; i < n; i++)
				out->runs_skipped += ps[i].recursion_misses;
		free(ps);
	}
	if (ctx->exit_order) {
		struct tw_exit_order_stats eo;
		tw_exit_order_stats(ctx->exit_order, &eo);
		out->exits_held = eo.held;
		out->exits_hold_expired = eo.expired;
		out->connections_untracked = eo.untracked;
		out->connections_open = eo.open_now;
	}
	free(percpu);
	return 0;
}

const struct tw_probe_status *tw_ctx_probes(struct tw_ctx *ctx, size_t *n)
{
	*n = ctx->n_probes;
	return ctx->probes;
}

int64_t tw_ctx_realtime_offset(struct tw_ctx *ctx)
{
	return ctx->realtime_offset_ns;
}

uint32_t tw_ctx_ring_size(struct tw_ctx *ctx)
{
	return ctx->ring_size;
}

void tw_ctx_set_raw_tap(struct tw_ctx *ctx, tw_raw_fn fn, void *user)
{
	ctx->raw_fn = fn;
	ctx->raw_user = user;
}

/*
 * The ring's fill level without libbpf's ring__avail_data_size() (libbpf 1.3;
 * Debian 12 has 1.1): the kernel exposes the consumer position at the start
 * of the map's first page and the producer position at the start of the
 * second. Both pages are mapped read-only for the call only, so nothing
 * outlives it and the consumer (libbpf) is not disturbed.
 */
int tw_ctx_ring_pending(struct tw_ctx *ctx, uint64_t *bytes)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, ctx->map_fd[MAP_RINGBUF], 0);
	unsigned long cons, prod;

	if (p == MAP_FAILED)
		return -errno;
	/* the producer is read after the consumer, as libbpf does: pending is never negative */
	cons = __atomic_load_n((unsigned long *)p, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n((unsigned long *)((char *)p + page), __ATOMIC_ACQUIRE);
	munmap(p, 2 * (size_t)page);
	*bytes = prod - cons;
	return 0;
}

int tw_ctx_prog_stats(struct tw_ctx *ctx, struct tw_prog_stats *out, size_t max)
{
	size_t n = 0;
	int err;

	for (size_t i = 0; i < ctx->n_objs; i++)
		if ((err = tw_object_prog_stats(ctx->objs[i].obj, out, max, &n)))
			return err;
	return (int)n;
}
