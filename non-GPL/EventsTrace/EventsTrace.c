// SPDX-License-Identifier: Apache-2.0
/*
 * EventsTrace: trace events with the tracewire library and print them as
 * NDJSON on stdout. Diagnostics and human statistics go to stderr only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tracewire.h"
#include "tracewire_json.h"
#include "tracewire_record.h"
#include "privileges.h"
#include "tracewire_ship.h"
#include "tracewire_sched.h"
#include "netacct_out.h"
#include "metrics_out.h"

/*
 * Replay applies the event-type and pid filters itself (live, the kernel
 * does). Pid rules with descendants follow the recording's FORK records.
 */
struct replay_filter {
	struct tw_pid_rule *rules; /* copied from the CLI, grown by followed forks */
	size_t n, cap;
	bool include_mode;
};

struct trace_state {
	struct tw_cli cli;
	struct replay_filter replay;
	struct tw_json json;
	struct tw_recorder *recorder;
	struct tw_sched *sched; /* --runqlat */
	struct et_netacct *netacct; /* --netatop-server, --net-bandwidth */
	struct et_metrics *metrics; /* --metrics-listen */
	uint64_t record_errors_reported;
	struct tw_shipper *shipper; /* --ship */
	uint64_t ship_enqueue_errors;
	bool stdout_closed;
};

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1; /* logrotate moved the recording: start a new one */
	else
		stop_requested = 1;
}

/* SIGHUP: close the recording (complete, flushed) and start a new one at the same path. */
static void reopen_recording(struct trace_state *st, struct tw_ctx *ctx)
{
	char err[512];
	int rc;

	reopen_requested = 0;
	if (!st->recorder)
		return;
	if ((rc = tw_recorder_close(st->recorder)) < 0)
		fprintf(stderr, "EventsTrace: the previous recording is incomplete: %s\n", strerror(-rc));
	st->recorder = NULL;
	st->record_errors_reported = 0;
	if (tw_recorder_open(&st->recorder, st->cli.record_path, tw_ctx_realtime_offset(ctx), err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "EventsTrace: %s (no longer recording; tracing goes on)\n", err);
		tw_ctx_set_raw_tap(ctx, NULL, NULL);
	}
}

/* Write a finished JSON line to stdout; false once stdout is gone. */
static bool emit_line(struct trace_state *st, FILE *out)
{
	size_t len;
	const char *line = tw_json_finish(&st->json, &len);

	if (line && fwrite(line, 1, len, out) != len && out == stdout)
		st->stdout_closed = true;
	tw_json_reset(&st->json);
	return !st->stdout_closed;
}

/* An event line: to stdout, and with --ship also to the shipper, which spools it first. */
static bool emit_event_line(struct trace_state *st)
{
	size_t len;
	const char *line;

	if (!st->shipper)
		return emit_line(st, stdout);
	line = tw_json_finish(&st->json, &len);
	if (line && tw_ship_enqueue(st->shipper, line, len) < 0)
		st->ship_enqueue_errors++; /* counted by the shipper as dropped too */
	if (line && fwrite(line, 1, len, stdout) != len)
		st->stdout_closed = true;
	tw_json_reset(&st->json);
	return !st->stdout_closed;
}

static void print_ship_stats(const struct tw_ship_stats *s, const char *when)
{
	fprintf(stderr,
		"  shipping%s: enqueued %" PRIu64 " shipped %" PRIu64 " batches %" PRIu64 " requests %" PRIu64
		" retries %" PRIu64 " dropped %" PRIu64 " dead_lettered %" PRIu64 " (%" PRIu64
		" batches) pending %" PRIu64 " spooled_bytes %" PRIu64 " recovered %" PRIu64
		" corrupt %" PRIu64 "%s%s\n",
		when, s->events_enqueued, s->events_shipped, s->batches_shipped, s->requests, s->retries,
		s->events_dropped + s->dead_letter_dropped, s->events_dead_lettered,
		s->batches_dead_lettered, s->events_pending, s->spool_bytes, s->events_recovered,
		s->corrupt_frames, s->last_error[0] ? " last error: " : "", s->last_error);
}

static int open_shipper(struct trace_state *st)
{
	const struct tw_cli_ship *c = &st->cli.ship;
	struct tw_ship_options o;
	char err[512], host[256] = "";
	char *secret = NULL;
	int rc;

	tw_ship_options_init(&o);
	o.url = c->url;
	o.format = c->format;
	if (c->table)
		o.table = c->table;
	if (c->index)
		o.index = c->index;
	if (!gethostname(host, sizeof(host) - 1) && host[0])
		o.host_name = host;
	o.spool_dir = c->spool_dir;
	if (!o.spool_dir) {
		mkdir("/var/lib/tracewire", 0700); /* the default spool's parent; EEXIST is fine */
		o.spool_dir = "/var/lib/tracewire/spool";
	}
	if (c->spool_bytes)
		o.spool_max_bytes = c->spool_bytes;
	if (o.segment_bytes * 4ull > o.spool_max_bytes)
		o.segment_bytes = (uint32_t)(o.spool_max_bytes / 4);
	if (c->batch_events)
		o.batch_max_events = c->batch_events;
	if (c->batch_bytes)
		o.batch_max_bytes = c->batch_bytes;
	if (c->batch_ms)
		o.batch_max_ms = c->batch_ms;
	if (c->concurrency)
		o.concurrency = c->concurrency;
	if (c->timeout_ms)
		o.timeout_ms = c->timeout_ms;
	if (c->backoff_min_ms) {
		o.backoff_initial_ms = c->backoff_min_ms;
		o.backoff_max_ms = c->backoff_max_ms;
	}
	o.no_gzip = c->no_gzip;
	o.ca_file = c->ca_file;
	o.insecure = c->insecure;
	o.dead_letter_path = c->dead_letter;
	o.auth = c->auth;
	if (c->auth) {
		secret = tw_ship_load_secret(c->auth_file, c->auth_env, err, sizeof(err));
		if (!secret) {
			fprintf(stderr, "EventsTrace: %s\n", err);
			return -1;
		}
		o.auth_secret = secret;
	}
	rc = tw_ship_open(&st->shipper, &o, err, sizeof(err));
	if (secret) { /* the shipper keeps its own copy */
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (rc < 0) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		return -1;
	}
	return 0;
}

/* Deliver what is left for at most --ship-drain-ms; the rest stays spooled for the next start. */
static void close_shipper(struct trace_state *st)
{
	struct tw_ship_stats s;
	int64_t drain = st->cli.ship.drain_ms >= 0 ? st->cli.ship.drain_ms : 5000;

	if (!st->shipper)
		return;
	tw_ship_commit(st->shipper);
	if (tw_ship_flush(st->shipper, (int)drain) < 0)
		fprintf(stderr, "EventsTrace: not every event reached the collector in time; the rest "
				"stays in the spool for the next start\n");
	tw_ship_get_stats(st->shipper, &s);
	if (st->cli.stats)
		print_ship_stats(&s, " (final)");
	tw_ship_close(st->shipper, 0);
	st->shipper = NULL;
}

static const struct tw_pid_rule *replay_rule(const struct replay_filter *f, uint32_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rules[i].pid == pid)
			return &f->rules[i];
	return NULL;
}

static bool replay_keeps(struct trace_state *st, const struct tw_event *ev)
{
	struct replay_filter *f = &st->replay;
	const struct tw_pid_rule *r;
	uint32_t tgid = ev->hdr->pids.tgid;

	if (ev->hdr->type == TW_EVENT_PROCESS_FORK && f->n) {
		const struct tw_process_fork *fk = (const void *)ev->hdr;
		const struct tw_pid_rule *parent = replay_rule(f, fk->parent.tgid);
		if (parent && (parent->flags & TW_PID_DESCENDANTS) && !replay_rule(f, tgid)) {
			uint32_t flags = parent->flags; /* before a realloc moves it */
			if (f->n == f->cap) {
				struct tw_pid_rule *grown = realloc(f->rules, 2 * f->cap * sizeof(*f->rules));
				if (!grown) {
					fprintf(stderr, "EventsTrace: out of memory following forks in replay\n");
					exit(1);
				}
				f->rules = grown;
				f->cap *= 2;
			}
			f->rules[f->n].pid = tgid;
			f->rules[f->n++].flags = flags;
		}
	}
	if (!(st->cli.event_mask & TW_EVENT_BIT(ev->hdr->type)))
		return false;
	r = replay_rule(f, tgid);
	if (r && (r->flags & TW_PID_EXCLUDE))
		return false;
	return !f->include_mode || (r && (r->flags & TW_PID_INCLUDE));
}

static void replay_filter_init(struct trace_state *st)
{
	struct replay_filter *f = &st->replay;

	f->cap = st->cli.n_pid_rules + 64;
	f->rules = calloc(f->cap, sizeof(*f->rules));
	for (size_t i = 0; i < st->cli.n_pid_rules; i++) {
		f->rules[f->n++] = st->cli.pid_rules[i];
		if (st->cli.pid_rules[i].flags & TW_PID_INCLUDE)
			f->include_mode = true;
	}
}

static int on_event(void *user, const struct tw_event *ev)
{
	struct trace_state *st = user;

	if (st->cli.replay_path && !replay_keeps(st, ev))
		return 0;
	et_metrics_event(st->metrics, ev); /* TCP flow aggregates; a no-op without --metrics-listen */
	tw_event_to_json(&st->json, ev);
	return emit_event_line(st) ? 0 : 1;
}

static void on_raw(void *user, const void *data, size_t len)
{
	struct trace_state *st = user;
	int err = tw_recorder_write(st->recorder, data, len);

	/* keep tracing; say it once per failure streak, the count goes into the stats */
	if (err && tw_recorder_errors(st->recorder) == st->record_errors_reported + 1)
		fprintf(stderr, "EventsTrace: writing the recording failed: %s (records are still "
				"printed; failed writes are counted)\n", strerror(-err));
	if (!err)
		st->record_errors_reported = tw_recorder_errors(st->recorder);
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A reader that went away (EventsTrace | head) shows as POLLERR on our end of the pipe. */
static bool stdout_gone(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

static void print_stats_human(const struct tw_stats *s, const struct tw_recorder *rec, bool final)
{
	fprintf(stderr, "EventsTrace stats%s: lost %" PRIu64 ", decode errors %" PRIu64 "\n",
		final ? " (final)" : "", s->lost_total, s->decode_errors_total);
	for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++) {
		const struct tw_type_stats *ts = &s->type[t];
		if (!tw_event_type_name(t) ||
		    !(ts->emitted | ts->received | ts->filtered | ts->lost_ringbuf | ts->lost_scratch |
		      ts->truncated | ts->rate_limited))
			continue;
		fprintf(stderr,
			"  %-20s emitted %" PRIu64 " received %" PRIu64 " filtered %" PRIu64
			" lost_ringbuf %" PRIu64 " lost_scratch %" PRIu64 " truncated %" PRIu64
			" rate_limited %" PRIu64 " (%" PRIu64 " bytes)\n",
			tw_event_type_name(t), ts->emitted, ts->received, ts->filtered, ts->lost_ringbuf,
			ts->lost_scratch, ts->truncated, ts->rate_limited, ts->rate_limited_bytes);
	}
	if (s->exits_held)
		fprintf(stderr,
			"  exit ordering: %" PRIu64 " exits waited for their connections to close, %" PRIu64
			" released by the deadline\n",
			s->exits_held, s->exits_hold_expired);
	if (rec)
		fprintf(stderr, "  recording: %" PRIu64 " records written, %" PRIu64 " failed writes\n",
			tw_recorder_records(rec), tw_recorder_errors(rec));
}

static void report_ship_stats(struct trace_state *st)
{
	struct tw_ship_stats s;

	if (!st->shipper || !st->cli.stats)
		return;
	tw_ship_get_stats(st->shipper, &s);
	print_ship_stats(&s, "");
}

/* The shipper's counters inside the STATS record, as "shipping". */
static void ship_stats_json(struct tw_json *j, void *arg)
{
	struct tw_shipper *shipper = arg;
	struct tw_ship_stats s;

	tw_ship_get_stats(shipper, &s);
	tw_json_begin_object(j, "shipping");
	tw_json_u64(j, "events_enqueued", s.events_enqueued);
	tw_json_u64(j, "events_shipped", s.events_shipped);
	tw_json_u64(j, "batches_shipped", s.batches_shipped);
	tw_json_u64(j, "bytes_sent", s.bytes_sent);
	tw_json_u64(j, "requests", s.requests);
	tw_json_u64(j, "retries", s.retries);
	tw_json_u64(j, "events_dropped", s.events_dropped);
	tw_json_u64(j, "events_dead_lettered", s.events_dead_lettered);
	tw_json_u64(j, "dead_letter_dropped", s.dead_letter_dropped);
	tw_json_u64(j, "events_recovered", s.events_recovered);
	tw_json_u64(j, "events_pending", s.events_pending);
	tw_json_u64(j, "spool_bytes", s.spool_bytes);
	tw_json_u64(j, "corrupt_frames", s.corrupt_frames);
	tw_json_u64(j, "spool_write_errors", s.spool_write_errors);
	tw_json_u64(j, "last_http_status", (uint64_t)(s.last_http_status > 0 ? s.last_http_status : 0));
	tw_json_end_object(j);
}

static void report_stats(struct trace_state *st, const struct tw_stats *s, bool final)
{
	if (st->cli.stats && (final || st->cli.stats_interval_s))
		print_stats_human(s, st->recorder, final);
	if (st->cli.stats_json != TW_STATS_JSON_OFF) {
		FILE *out = st->cli.stats_json == TW_STATS_JSON_STREAM ? stdout : stderr;
		tw_stats_to_json_with(&st->json, s, final, st->shipper ? ship_stats_json : NULL,
				      st->shipper);
		emit_line(st, out);
		fflush(out);
	}
}

static void print_start_record(struct trace_state *st, const char *source, struct tw_ctx *ctx)
{
	struct tw_stream_info info = {
	    .agent = "EventsTrace", .source = source, .event_mask = st->cli.event_mask};
	const char *sets[TW_EVENT_TYPE_MAX] = {0};
	char report[1024];

	if (st->cli.no_start_record)
		return;
	if (ctx) {
		for (uint32_t t = 0; t < TW_EVENT_TYPE_MAX; t++)
			if ((st->cli.event_mask >> t) & 1)
				sets[t] = tw_ctx_hook_set(ctx, t);
		info.hook_sets = sets;
		tw_ctx_hook_report(ctx, report, sizeof(report));
		info.hook_report = report;
		info.ring_size = tw_ctx_ring_size(ctx);
		info.probes = tw_ctx_probes(ctx, &info.n_probes);
		info.wakeup_bytes = st->cli.wakeup_bytes < 0 ? 0 : (uint32_t)st->cli.wakeup_bytes;
	}
	tw_stream_start_to_json(&st->json, &info);
	emit_line(st, stdout);
	fflush(stdout);
}

/*
 * Detaching syscall tracepoints costs an RCU grace period each, serialized
 * in the kernel: with the file probes that is seconds. The user is done with
 * us once the final stats are out, so a child inherits the links and pays
 * that cost while we exit at once (our own closes only drop references).
 */
static void close_in_background(struct tw_ctx *ctx)
{
	int gate[2];
	pid_t p;

	/*
	 * The child must be the last holder of the links, or our own exit would
	 * do the slow detach after all: it waits for EOF on a pipe whose write
	 * end only we hold, which comes when we are gone.
	 */
	if (pipe(gate)) {
		tw_ctx_close(ctx);
		return;
	}
	p = fork();
	if (p == 0) {
		int null = open("/dev/null", O_RDWR);
		char c;

		close(gate[1]);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		tw_ctx_close(ctx);
		_exit(0);
	}
	close(gate[0]);
	if (p < 0)
		tw_ctx_close(ctx);
	/* gate[1] stays open until we exit */
}

static int run_replay(struct trace_state *st)
{
	struct tw_replay_result res;
	struct tw_stats s;
	char err[512], source[4200];
	int rc;

	snprintf(source, sizeof(source), "replay:%s", st->cli.replay_path);
	replay_filter_init(st);
	print_start_record(st, source, NULL);
	rc = tw_replay_file(st->cli.replay_path, on_event, st, &res, err, sizeof(err));
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		return 1;
	}
	if (res.truncated_tail)
		fprintf(stderr, "EventsTrace: %s ends inside a record (recording cut short)\n",
			st->cli.replay_path);
	memset(&s, 0, sizeof(s));
	for (int t = 0; t < TW_EVENT_TYPE_MAX; t++)
		s.type[t].received = res.received[t];
	for (int r = 0; r < TW_DECODE_ERROR_MAX; r++) {
		s.decode_errors[r] = res.decode_errors[r];
		s.decode_errors_total += res.decode_errors[r];
	}
	if (s.decode_errors_total)
		fprintf(stderr, "EventsTrace: %" PRIu64 " malformed records skipped (see --stats)\n",
			s.decode_errors_total);
	report_stats(st, &s, true);
	free(st->replay.rules);
	return 0;
}

/* One SCHED_RUNQ record, or its histogram; human text leaves stdout to events if there are any. */
static int on_sched_record(void *user, const struct tw_sched_record *r)
{
	struct trace_state *st = user;

	et_metrics_sched(st->metrics, r);
	if (st->cli.runqlat_human) {
		tw_sched_print_histogram(st->cli.event_mask ? stderr : stdout, r);
		return 0;
	}
	tw_sched_record_to_json(&st->json, r);
	return emit_line(st, stdout) ? 0 : 1;
}

static int open_sched(struct trace_state *st)
{
	struct tw_sched_options o;
	char err[512];

	tw_sched_options_init(&o);
	o.interval_ms = st->cli.runqlat_interval_s * 1000;
	o.verbose = st->cli.verbose;
	o.clock = st->cli.runqlat_sched_info ? TW_SCHED_CLOCK_SCHED_INFO : TW_SCHED_CLOCK_OWN;
	if (tw_sched_open(&st->sched, &o, on_sched_record, st, err, sizeof(err)) < 0) {
		fprintf(stderr, "EventsTrace: %s\n", err);
		return -1;
	}
	return 0;
}

/* Report the partial last interval (as runqlat does on Ctrl-C), then detach. */
static void close_sched(struct trace_state *st)
{
	struct tw_sched_stats ss;

	if (!st->sched)
		return;
	if (!st->stdout_closed)
		tw_sched_flush(st->sched);
	fflush(NULL);
	/* the kernel side never drops silently: say so if a map was full */
	if (!tw_sched_stats(st->sched, &ss) &&
	    (ss.dropped_cgroup_full | ss.dropped_pair_full | ss.dropped_task_storage))
		fprintf(stderr, "EventsTrace: run-queue latency lost updates: %" PRIu64
				" (cgroup map full), %" PRIu64 " (offender map full), %" PRIu64
				" (task storage)\n",
			ss.dropped_cgroup_full, ss.dropped_pair_full, ss.dropped_task_storage);
	tw_sched_close(st->sched);
	st->sched = NULL;
}

/* --runqlat or network accounting without event types: no events context, just the intervals. */
static int run_sched_only(struct trace_state *st)
{
	print_start_record(st, "kernel", NULL);
	while (!stop_requested && !st->stdout_closed) {
		int rc = st->sched ? tw_sched_poll(st->sched, 100) : poll(NULL, 0, 100);
		if (st->sched && rc < 0 && rc != -EINTR) {
			fprintf(stderr, "EventsTrace: reading run-queue latency failed: %s\n", strerror(-rc));
			break;
		}
		if (st->netacct && et_netacct_poll(st->netacct, stdout))
			st->stdout_closed = true;
		if (fflush(stdout) || stdout_gone())
			st->stdout_closed = true;
		et_metrics_tick(st->metrics, &(struct et_metrics_sources){
			.sched = st->sched, .shipper = st->shipper,
			.netacct = et_netacct_handle(st->netacct)}, false);
	}
	et_metrics_close(st->metrics);
	st->metrics = NULL; /* close_sched() below still reports a last interval */
	et_netacct_close(st->netacct);
	close_sched(st);
	return 0;
}

static int run_live(struct trace_state *st)
{
	struct tw_options o;
	struct tw_ctx *ctx;
	struct tw_stats s;
	char err[512];
	uint64_t next_stats;
	int rc;

	tw_options_init(&o);
	o.event_mask = st->cli.event_mask;
	o.capture_env = st->cli.env;
	o.pid_rules = st->cli.pid_rules;
	o.n_pid_rules = st->cli.n_pid_rules;
	o.task_rules = st->cli.task_rules;
	o.n_task_rules = st->cli.n_task_rules;
	o.path_rules = st->cli.path_rules;
	o.n_path_rules = st->cli.n_path_rules;
	o.tty_budget_bytes = st->cli.tty_budget_bytes;
	if (st->cli.write_window_ms >= 0)
		o.file_write_window_ms = (uint32_t)st->cli.write_window_ms;
	o.tcp_metrics_interval_ms = st->cli.tcp_metrics_interval_s * 1000;
	if (st->cli.udp_flow_interval_s >= 0)
		o.udp_flow_interval_ms = (uint32_t)st->cli.udp_flow_interval_s * 1000;
	if (st->cli.exit_hold_ms >= 0)
		o.exit_hold_ms = (uint32_t)st->cli.exit_hold_ms;
	o.verbose = st->cli.verbose;
	if (st->cli.ring_size)
		o.ring_size = st->cli.ring_size;
	if (st->cli.wakeup_bytes >= 0)
		o.wakeup_bytes = (uint32_t)st->cli.wakeup_bytes;
	if (st->cli.max_latency_ms)
		o.max_latency_ms = st->cli.max_latency_ms;
	st->cli.wakeup_bytes = o.wakeup_bytes;

	if (st->cli.runqlat_interval_s && open_sched(st))
		return 1;
	if (et_netacct_open(&st->netacct, &st->cli)) {
		tw_sched_close(st->sched);
		return 1;
	}
	if (et_metrics_open(&st->metrics, &st->cli)) {
		et_netacct_close(st->netacct);
		tw_sched_close(st->sched);
		return 1;
	}
	if (!st->cli.event_mask)
		return run_sched_only(st);
	rc = tw_ctx_open(&ctx, &o, on_event, st, err, sizeof(err));
	if (rc < 0) {
		et_metrics_close(st->metrics);
		et_netacct_close(st->netacct);
		tw_sched_close(st->sched);
		fprintf(stderr, "EventsTrace: %s\n", err);
		return 1;
	}
	if (st->cli.record_path) {
		if (tw_recorder_open(&st->recorder, st->cli.record_path, tw_ctx_realtime_offset(ctx), err,
				     sizeof(err)) < 0) {
			fprintf(stderr, "EventsTrace: %s\n", err);
			tw_ctx_close(ctx);
			return 1;
		}
		tw_ctx_set_raw_tap(ctx, on_raw, st);
	}
	print_start_record(st, "kernel", ctx);
	if (!st->cli.keep_capabilities && tw_drop_privileges(err, sizeof(err)) < 0)
		fprintf(stderr, "EventsTrace: warning: %s; running with full privileges\n", err);

	next_stats = monotonic_ms() + st->cli.stats_interval_s * 1000ull;
	while (!stop_requested && !st->stdout_closed) {
		if (reopen_requested)
			reopen_recording(st, ctx);
		rc = tw_ctx_poll(ctx, 100);
		if (st->sched && rc >= 0 && (rc = tw_sched_poll(st->sched, 0)) < 0)
			fprintf(stderr, "EventsTrace: reading run-queue latency failed: %s\n", strerror(-rc));
		if (st->netacct && et_netacct_poll(st->netacct, stdout))
			st->stdout_closed = true;
		if (rc < 0 && rc != -EINTR && rc != -ECANCELED) {
			fprintf(stderr, "EventsTrace: polling the ring buffer failed: %s\n", strerror(-rc));
			break;
		}
		if (st->shipper)
			tw_ship_commit(st->shipper); /* this batch survives a crash of ours from now on */
		if (fflush(stdout) || stdout_gone())
			st->stdout_closed = true;
		if (st->cli.stats_interval_s && monotonic_ms() >= next_stats) {
			tw_ctx_stats(ctx, &s);
			report_stats(st, &s, false);
			report_ship_stats(st);
			next_stats += st->cli.stats_interval_s * 1000ull;
		}
		et_metrics_tick(st->metrics, &(struct et_metrics_sources){
			.ctx = ctx, .sched = st->sched, .shipper = st->shipper,
			.netacct = et_netacct_handle(st->netacct), .event_mask = st->cli.event_mask}, false);
	}
	/* deliver what is still in the ring before the final count */
	if (!st->stdout_closed) {
		tw_ctx_consume(ctx);
		tw_ctx_flush(ctx); /* EXITs still waiting for their connections' CLOSED */
		fflush(stdout);
	}
	tw_ctx_stats(ctx, &s);
	report_stats(st, &s, true);
	if (st->recorder && (rc = tw_recorder_close(st->recorder)) < 0)
		fprintf(stderr, "EventsTrace: the recording is incomplete: %s\n", strerror(-rc));
	fflush(NULL);
	et_metrics_close(st->metrics); /* before the fork below: the child must not keep the port */
	st->metrics = NULL;            /* close_sched() below still reports a last interval */
	et_netacct_close(st->netacct);
	close_sched(st);
	close_shipper(st); /* before the fork below: the child must not hold the spool's lock */
	close_in_background(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	static struct trace_state st;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[256];
	int rc;

	if (tw_cli_parse(argc, argv, &st.cli, err, sizeof(err))) {
		fprintf(stderr, "EventsTrace: %s\nTry 'EventsTrace --help'.\n", err);
		return 2;
	}
	if (st.cli.help) {
		tw_cli_usage(stdout);
		return 0;
	}
	if (st.cli.version) {
		printf("EventsTrace %s (wire format %d)\n", TW_LIB_VERSION, TW_WIRE_VERSION);
		return 0;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an EPIPE we handle, not a crash */
	/* full buffering, flushed after every drained batch: few syscalls, low latency */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	tw_json_init(&st.json);

	if (st.cli.ship.url && open_shipper(&st))
		return 1;
	rc = st.cli.replay_path ? run_replay(&st) : run_live(&st);
	close_shipper(&st);
	tw_json_free(&st.json);
	return rc;
}
