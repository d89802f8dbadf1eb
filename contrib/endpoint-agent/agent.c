// SPDX-License-Identifier: Apache-2.0
/*
 * tracewire-endpoint-agent: an example of an agent built on the installed
 * tracewire library, the way a third party would write one (only
 * <tracewire/tracewire.h> and `pkg-config tracewire`). It traces the event
 * types and filters its JSON configuration asks for, adds user names, the
 * host and labels to every event, and writes the events as NDJSON to a file
 * and/or ships them to a collector through the library's spooling shipper.
 *
 *   tracewire-endpoint-agent -c /etc/tracewire/endpoint-agent.json
 *   tracewire-endpoint-agent -c config.json --check     (validate and exit)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <tracewire/tracewire.h>

#include "config.h"
#include "enrich.h"

#define AGENT_NAME "tracewire-endpoint-agent"
#define AGENT_VERSION "0.1.0"

struct agent {
	struct agent_config cfg;
	FILE *out;                    /* output.file, or NULL */
	const char *out_path;
	struct tw_shipper *ship;      /* output.ship, or NULL */
	struct tw_json line, extra;   /* the event, and what the agent adds to it */
	struct user_cache users;
	struct proc_cache procs;
	time_t now;
	uint64_t events, written, enqueued, ship_errors, write_errors;
};

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

static void logmsg(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", AGENT_NAME, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The library's and the shipper's log, on our stderr with our prefix (the journal under systemd). */
static void on_log(void *user, enum tw_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};

	(void)user;
	logmsg(level <= TW_LOG_DEBUG ? names[level] : "log", "%s", msg);
}

/*
 * systemd Type=notify: READY=1 once the probes are attached, so units ordered
 * after this one start with tracing already on. A no-op outside systemd.
 */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static const char msg[] = "READY=1";
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		logmsg("warning", "sd_notify: %s", strerror(errno));
	close(fd);
}

/*
 * The agent's additions, as one JSON object in a->extra:
 *   "user" / "euser": names of the real and effective uid (when the system knows them),
 *   "host", "labels": from the configuration.
 * Returns false when there is nothing to add.
 */
static bool build_extra(struct agent *a, const struct tw_event *ev)
{
	const struct tw_creds *cr = event_creds(ev);
	const struct tw_pid_info *pids = &ev->hdr->pids;
	bool any = false, have_uid = false;
	uint32_t ruid = 0;

	/* keep the process table current: credentials teach, fork inherits, exit forgets */
	if (cr) {
		ruid = cr->ruid;
		have_uid = true;
		proc_cache_learn(&a->procs, pids, ruid);
	} else if (ev->hdr->type == TW_EVENT_PROCESS_FORK) {
		const struct tw_process_fork *f = (const struct tw_process_fork *)ev->hdr;
		if ((have_uid = proc_cache_find(&a->procs, &f->parent, &ruid)))
			proc_cache_learn(&a->procs, pids, ruid);
	} else {
		have_uid = proc_cache_find(&a->procs, pids, &ruid);
		if (ev->hdr->type == TW_EVENT_PROCESS_EXIT)
			proc_cache_forget(&a->procs, pids);
	}

	tw_json_reset(&a->extra);
	tw_json_begin_object(&a->extra, NULL);
	if (a->cfg.user_names && have_uid) {
		const char *name = user_name(&a->users, ruid, a->now);
		if (name) {
			tw_json_raw_string(&a->extra, "user", name);
			any = true;
		}
		if (cr && cr->euid != cr->ruid && (name = user_name(&a->users, cr->euid, a->now))) {
			tw_json_raw_string(&a->extra, "euser", name);
			any = true;
		}
	}
	/* here rather than tw_ship_options.host_name: the file output gets it too */
	if (a->cfg.host_name) {
		tw_json_raw_string(&a->extra, "host", a->cfg.host_name);
		any = true;
	}
	tw_json_end_object(&a->extra);
	return any || a->cfg.labels_json;
}

/* "{event...}" + "{extra...}" -> "{event...,extra...}": the event's closing brace becomes a comma. */
static const char *render(struct agent *a, const struct tw_event *ev, size_t *len)
{
	size_t n, en = 0;
	const char *extra = NULL;

	tw_json_reset(&a->line);
	tw_event_to_json(&a->line, ev);
	if (build_extra(a, ev)) {
		extra = tw_json_finish(&a->extra, &en); /* "{...}\n" */
		if (!extra)
			return NULL;
		/* drop the brace at either end (and the newline): what is between is "k":v,... */
		extra++;
		en = en >= 3 ? en - 3 : 0;
	}
	if (a->line.oom || a->line.len == 0 || a->line.buf[a->line.len - 1] != '}')
		return NULL;
	if (en || a->cfg.labels_json) {
		/* reopen the event object and append ours through the writer's own buffer */
		struct tw_json *j = &a->line;
		size_t need = j->len + en + (a->cfg.labels_json ? strlen(a->cfg.labels_json) + 12 : 0) + 4;
		if (need > j->cap) {
			char *b = realloc(j->buf, need);
			if (!b)
				return NULL;
			j->buf = b;
			j->cap = need;
		}
		j->len--; /* the '}' */
		if (en) {
			j->buf[j->len++] = ',';
			memcpy(j->buf + j->len, extra, en);
			j->len += en;
		}
		if (a->cfg.labels_json) {
			j->len += (size_t)sprintf(j->buf + j->len, ",\"labels\":%s", a->cfg.labels_json);
		}
		j->buf[j->len++] = '}';
	}
	n = a->line.len;
	*len = n;
	return a->line.buf;
}

static int on_event(void *user, const struct tw_event *ev)
{
	struct agent *a = user;
	const char *line;
	size_t len;

	a->events++;
	line = render(a, ev, &len);
	if (!line) {
		logmsg("error", "out of memory rendering an event");
		return 0;
	}
	if (a->out) {
		if (fwrite(line, 1, len, a->out) != len || putc('\n', a->out) == EOF)
			a->write_errors++;
		else
			a->written++;
	}
	if (a->ship) {
		int rc = tw_ship_enqueue(a->ship, line, len);
		if (rc < 0) {
			/* counted and reported in the statistics; one bad event must not stop tracing */
			if (a->ship_errors++ == 0)
				logmsg("warning", "shipping an event failed: %s", tw_strerror(rc));
		} else {
			a->enqueued++;
		}
	}
	return 0;
}

static int open_output(struct agent *a)
{
	const char *path = a->cfg.output_file;

	if (!path)
		return 0;
	if (strcmp(path, "-") == 0) {
		a->out = stdout;
		a->out_path = "stdout";
		return 0;
	}
	/* append: a restart continues the file; SIGHUP reopens it after logrotate moved it */
	a->out = fopen(path, "ae");
	if (!a->out) {
		logmsg("error", "output.file %s: %s", path, strerror(errno));
		return -1;
	}
	a->out_path = path;
	return 0;
}

static int open_shipper(struct agent *a)
{
	const struct agent_ship_config *s = &a->cfg.ship;
	struct tw_ship_options so;
	char err[512];
	char *secret = NULL;
	int rc;

	if (!s->enabled)
		return 0;
	tw_ship_options_init(&so);
	so.url = s->url;
	so.format = s->format;
	so.table = s->table;
	so.index = s->index;
	so.spool_dir = s->spool_dir;
	so.ca_file = s->ca_file;
	so.insecure = s->insecure;
	so.no_gzip = s->no_gzip;
	so.dead_letter_path = s->dead_letter;
	so.log = on_log;
	if (s->spool_max_bytes)
		so.spool_max_bytes = s->spool_max_bytes;
	if (so.segment_bytes * 4ull > so.spool_max_bytes)
		so.segment_bytes = (uint32_t)(so.spool_max_bytes / 4);
	if (s->batch_max_events)
		so.batch_max_events = s->batch_max_events;
	if (s->batch_max_ms)
		so.batch_max_ms = s->batch_max_ms;
	if (s->timeout_ms)
		so.timeout_ms = s->timeout_ms;
	if (s->auth != TW_SHIP_AUTH_NONE) {
		secret = tw_ship_load_secret(s->auth_file, s->auth_env, err, sizeof(err));
		if (!secret) {
			logmsg("error", "output.ship: %s", err);
			return -1;
		}
		so.auth = s->auth;
		so.auth_secret = secret;
	}
	rc = tw_ship_open(&a->ship, &so, err, sizeof(err));
	if (secret) {
		/* the shipper keeps its own copy; ours goes now */
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (rc < 0) {
		logmsg("error", "output.ship: %s (%s)", err, tw_strerror(rc));
		return -1;
	}
	return 0;
}

static void print_stats(struct agent *a, struct tw_ctx *ctx, const char *when)
{
	struct tw_stats st;
	uint64_t lost = 0, filtered = 0;

	if (tw_ctx_stats(ctx, &st) == 0) {
		lost = st.lost_total;
		for (int t = 0; t < TW_EVENT_TYPE_MAX; t++)
			filtered += st.type[t].filtered;
	}
	logmsg("info", "%s: %llu events, %llu written, %llu queued for shipping, %llu lost in the "
		       "kernel, %llu filtered in the kernel, user cache %llu/%llu hits",
	       when, (unsigned long long)a->events, (unsigned long long)a->written,
	       (unsigned long long)a->enqueued, (unsigned long long)lost,
	       (unsigned long long)filtered, (unsigned long long)a->users.hits,
	       (unsigned long long)a->users.lookups);
	if (a->ship) {
		struct tw_ship_stats ss;
		tw_ship_get_stats(a->ship, &ss);
		logmsg("info", "%s: shipped %llu, pending %llu, retries %llu, dropped %llu, "
			       "dead-lettered %llu%s%s",
		       when, (unsigned long long)ss.events_shipped,
		       (unsigned long long)ss.events_pending, (unsigned long long)ss.retries,
		       (unsigned long long)ss.events_dropped,
		       (unsigned long long)ss.events_dead_lettered, ss.last_error[0] ? ", last error: " : "",
		       ss.last_error);
	}
}

static void usage(FILE *f)
{
	fputs("Usage: " AGENT_NAME " -c CONFIG [--check]\n"
	      "Trace endpoint events with tracewire, add user names, host and labels, and write\n"
	      "them as NDJSON to a file and/or ship them to a collector (README.md).\n"
	      "  -c, --config FILE   the JSON configuration\n"
	      "      --check         validate the configuration and exit (0: valid)\n"
	      "  -h, --help          this help\n"
	      "      --version       print the versions of the agent and of the library\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static struct agent a; /* static: the caches are large, keep them off the stack */
	const char *config_path = NULL;
	bool check_only = false;
	struct tw_options o;
	struct tw_ctx *ctx = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[512];
	time_t next_stats = 0;
	int c, rc, status = 0;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("%s %s (tracewire library %s, built against %s)\n", AGENT_NAME,
			       AGENT_VERSION, tw_version(), TW_LIB_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (agent_config_load(&a.cfg, config_path, err, sizeof(err))) {
		logmsg("error", "%s", err);
		agent_config_free(&a.cfg);
		return 2;
	}
	if (check_only) {
		printf("%s: valid\n", config_path);
		agent_config_free(&a.cfg);
		return 0;
	}

	/* no SA_RESTART: a signal must end tw_ctx_poll()'s wait, not resume it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	tw_json_init(&a.line);
	tw_json_init(&a.extra);
	if (open_output(&a) || open_shipper(&a)) {
		status = 1;
		goto out;
	}

	tw_options_init(&o);
	o.event_mask = a.cfg.event_mask;
	o.task_rules = a.cfg.task_rules;
	o.n_task_rules = a.cfg.n_task_rules;
	o.path_rules = a.cfg.path_rules;
	o.n_path_rules = a.cfg.n_path_rules;
	o.capture_env = a.cfg.capture_env;
	if (a.cfg.ring_size)
		o.ring_size = a.cfg.ring_size;
	o.log = on_log;
	rc = tw_ctx_open(&ctx, &o, on_event, &a, err, sizeof(err));
	if (rc < 0) {
		logmsg("error", "cannot start tracing: %s (%s)", err, tw_strerror(rc));
		status = 1;
		goto out;
	}
	logmsg("info", "tracing (library %s)%s%s%s%s", tw_version(), a.out ? ", writing to " : "",
	       a.out ? a.out_path : "", a.ship ? ", shipping to " : "", a.ship ? a.cfg.ship.url : "");
	sd_notify_ready();

	while (!stop_requested) {
		a.now = time(NULL);
		rc = tw_ctx_poll(ctx, 500);
		if (rc < 0 && rc != -EINTR) {
			logmsg("error", "reading events: %s", tw_strerror(rc));
			status = 1;
			break;
		}
		/* one flush and one spool commit per drained batch, not per event */
		if (a.out)
			fflush(a.out);
		if (a.ship)
			tw_ship_commit(a.ship);
		if (reopen_requested) {
			reopen_requested = 0;
			if (a.out && a.out != stdout) {
				fclose(a.out);
				a.out = NULL;
				if (open_output(&a))
					logmsg("error", "output.file cannot be reopened: events are only shipped now");
			}
		}
		if (a.cfg.stats_interval_s && a.now >= next_stats) {
			if (next_stats)
				print_stats(&a, ctx, "statistics");
			next_stats = a.now + a.cfg.stats_interval_s;
		}
	}
	/* the events held back for ordering (exits waiting for their connections' close) */
	tw_ctx_flush(ctx);
	tw_ctx_consume(ctx);
	print_stats(&a, ctx, "at exit");
	if (a.write_errors)
		logmsg("error", "%llu events could not be written to %s",
		       (unsigned long long)a.write_errors, a.out_path);

out:
	if (ctx)
		tw_ctx_close(ctx);
	if (a.ship) {
		tw_ship_commit(a.ship);
		tw_ship_close(a.ship, a.cfg.ship.drain_ms);
	}
	if (a.out && fflush(a.out) != 0)
		status = 1;
	if (a.out && a.out != stdout)
		fclose(a.out);
	tw_json_free(&a.line);
	tw_json_free(&a.extra);
	agent_config_free(&a.cfg);
	return status;
}
