// SPDX-License-Identifier: Apache-2.0
/* EventsTrace command line: parsing kept apart from main so it can be unit tested. */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "tracewire.h"
#include "tracewire_ship.h"

#define TW_CLI_MAX_PID_RULES 64
#define TW_CLI_MAX_PATH_RULES 64
#define TW_CLI_MAX_TASK_RULES 64

enum tw_stats_json_dest { TW_STATS_JSON_OFF, TW_STATS_JSON_STDERR, TW_STATS_JSON_STREAM };

/* --ship* flags; credentials are named here (file or variable), read in main */
struct tw_cli_ship {
	const char *url;              /* NULL: no shipping */
	enum tw_ship_format format;
	const char *table, *index, *spool_dir, *ca_file, *dead_letter;
	enum tw_ship_auth auth;
	const char *auth_file, *auth_env;
	bool insecure, no_gzip;
	uint64_t spool_bytes;         /* 0: library default, likewise below */
	uint32_t batch_events, batch_bytes, batch_ms, concurrency, timeout_ms;
	uint32_t backoff_min_ms, backoff_max_ms;
	int64_t drain_ms;             /* -1: default (5000) */
	const char *first_option;     /* a --ship-* flag seen, to insist on --ship */
};

struct tw_cli {
	uint64_t event_mask;          /* 0 after parsing means "none chosen": all */
	struct tw_pid_rule pid_rules[TW_CLI_MAX_PID_RULES];
	size_t n_pid_rules;
	struct tw_task_rule task_rules[TW_CLI_MAX_TASK_RULES];
	size_t n_task_rules;
	struct tw_path_rule path_rules[TW_CLI_MAX_PATH_RULES];
	size_t n_path_rules;
	int64_t write_window_ms;      /* -1: library default */
	uint32_t tcp_metrics_interval_s; /* 0: TCP metrics only at the end of a flow */
	int64_t udp_flow_interval_s;  /* -1: library default; 0: only at release */
	int64_t exit_hold_ms;         /* -1: library default; 0: kernel order */
	bool keep_capabilities;       /* do not drop capabilities once attached */
	uint64_t tty_budget_bytes;    /* 0: no limit */
	bool env;
	uint32_t ring_size;           /* 0: library default */
	int64_t wakeup_bytes;         /* -1: library default, 0: kernel policy */
	uint32_t max_latency_ms;      /* 0: library default */
	unsigned stats_interval_s;    /* 0: no periodic stats */
	bool stats_interval_given;    /* --stats=N was explicit (0 means final only) */
	bool stats;                   /* human stats to stderr (final summary at least) */
	enum tw_stats_json_dest stats_json;
	const char *record_path;
	const char *replay_path;
	bool no_start_record;
	struct tw_cli_ship ship;      /* --ship*: HTTP shipping (docs/shipper.md) */
	unsigned runqlat_interval_s;  /* 0: no run-queue latency records */
	bool runqlat_human;           /* runqlat-style histograms instead of SCHED_RUNQ NDJSON */
	bool runqlat_sched_info;      /* --runqlat-clock sched_info */
	bool runqlat_clock_set;       /* --runqlat-clock given (needs --runqlat) */
	/* per-process network accounting (tracewire_netacct.h); alone, no events are traced */
	const char *netatop_path;     /* --netatop-server[=PATH]: atop-compatible server; NULL: off */
	const char *netatop_group;    /* --netatop-group GROUP: may connect besides root */
	uint32_t net_bandwidth_s;     /* --net-bandwidth SECONDS: NET_BANDWIDTH records; 0: off */
	int64_t netacct_retain_s;     /* --netacct-retain SECONDS; -1: library default (60) */
	uint32_t netacct_max_procs;   /* --netacct-max-procs N; 0: library default (16384) */
	bool netacct_per_thread;      /* --net-per-thread */
	bool netacct_iface_totals;    /* --net-interface-totals */
	/* Prometheus endpoint (docs/metrics.md) */
	const char *metrics_listen;   /* --metrics-listen as given; NULL: no endpoint */
	struct sockaddr_storage metrics_addr; /* ...parsed */
	socklen_t metrics_addrlen;
	uint32_t metrics_top;         /* --metrics-top N (default 10) */
	uint32_t metrics_interval_ms; /* --metrics-interval-ms (default 1000) */
	const char *metrics_option;   /* a --metrics-* flag seen, to insist on --metrics-listen */
	bool no_snapshot;
	bool verbose;
	bool help;
	bool version;
};

/* Returns 0, or -1 with a one-line reason in err. */
int tw_cli_parse(int argc, char **argv, struct tw_cli *cli, char *err, size_t errlen);
void tw_cli_usage(FILE *f);
/* "64K", "8M", "1G", plain bytes; -1 on garbage or overflow past 4 GiB. */
int64_t tw_cli_parse_size(const char *s);
/*
 * A listen address: "PORT" (127.0.0.1), "A.B.C.D:PORT" or "[IPV6]:PORT",
 * numeric only (no name lookups). 0, or -1 if malformed.
 */
int tw_cli_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len);

#endif
