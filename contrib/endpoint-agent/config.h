// SPDX-License-Identifier: Apache-2.0
/* The endpoint agent's configuration: a JSON file (README.md describes every key). */
#ifndef ENDPOINT_AGENT_CONFIG_H
#define ENDPOINT_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <tracewire/tracewire.h>

#define AGENT_MAX_RULES 64
#define AGENT_DEFAULT_SPOOL "/var/lib/tracewire-endpoint-agent/spool"

struct agent_ship_config {
	bool enabled;
	const char *url;
	enum tw_ship_format format;
	const char *table, *index, *spool_dir, *ca_file, *dead_letter;
	enum tw_ship_auth auth;
	const char *auth_file, *auth_env;   /* where the secret is: never in the config itself */
	bool insecure, no_gzip;
	uint64_t spool_max_bytes;           /* 0: the library's default, likewise below */
	uint32_t batch_max_events, batch_max_ms, timeout_ms;
	int drain_ms;                       /* at exit; default 5000 */
};

struct agent_config {
	cJSON *root;                        /* the strings below point into it */
	uint64_t event_mask;
	struct tw_task_rule task_rules[AGENT_MAX_RULES];
	size_t n_task_rules;
	struct tw_path_rule path_rules[AGENT_MAX_RULES];
	size_t n_path_rules;
	bool capture_env;
	uint32_t ring_size;                 /* 0: library default */
	bool user_names;                    /* enrich.user_names (default on) */
	const char *host_name;              /* enrich.host: NULL none */
	char host_buf[256];
	char *labels_json;                  /* enrich.labels as one JSON object, or NULL */
	const char *output_file;            /* output.file: NULL none, "-" stdout */
	struct agent_ship_config ship;
	uint32_t stats_interval_s;          /* 0: statistics only at exit */
};

/*
 * Parse the configuration in text[0..len). `name` (the file's path) starts
 * every error message. Returns 0, or -1 with one line in err naming the key
 * ("filters.uid[1]") or, for a syntax error, the line and column.
 */
int agent_config_parse(struct agent_config *c, const char *text, size_t len, const char *name,
		       char *err, size_t errlen);
/* Read and parse a file: 0 or -1 with the reason in err. */
int agent_config_load(struct agent_config *c, const char *path, char *err, size_t errlen);
void agent_config_free(struct agent_config *c);

#endif
