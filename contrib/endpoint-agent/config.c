// SPDX-License-Identifier: Apache-2.0
/*
 * Configuration parsing. Every error names what is wrong the way a person
 * would look for it in the file: the dotted path of the key
 * ("output.ship.format", "filters.uid[2]"), or the line and column where the
 * JSON stops being JSON. Unknown keys are errors, not ignored: a misspelt
 * filter that silently did nothing would be worse than a refusal to start.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"

struct parser {
	struct agent_config *c;
	const char *name;   /* the file, first in every message */
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s: ", p->name);

	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "parent.key", "parent[3]" or "key" at the top level */
static void key_path(char *out, size_t outlen, const char *parent, const char *key, int index)
{
	if (key)
		snprintf(out, outlen, "%s%s%s", parent ? parent : "", parent && *parent ? "." : "", key);
	else
		snprintf(out, outlen, "%s[%d]", parent, index);
}

/*
 * Every member of `obj` must be one of `known` (NULL-terminated) and appear
 * once. The error lists the known keys, so a typo is fixed at a glance.
 */
static int check_keys(struct parser *p, const cJSON *obj, const char *path,
		      const char *const *known)
{
	for (const cJSON *m = obj->child; m; m = m->next) {
		bool ok = false;
		char where[256], list[512] = "";

		for (size_t i = 0; known[i]; i++)
			ok = ok || strcmp(m->string, known[i]) == 0;
		key_path(where, sizeof(where), path, m->string, 0);
		if (!ok) {
			for (size_t i = 0; known[i]; i++) {
				strncat(list, known[i], sizeof(list) - strlen(list) - 1);
				if (known[i + 1])
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			}
			return fail(p, "unknown key \"%s\" (known here: %s)", where, list);
		}
		for (const cJSON *o = obj->child; o != m; o = o->next)
			if (strcmp(o->string, m->string) == 0)
				return fail(p, "duplicate key \"%s\"", where);
	}
	return 0;
}

static int want_object(struct parser *p, const cJSON *v, const char *path)
{
	if (!cJSON_IsObject(v))
		return fail(p, "\"%s\" must be an object ({...})", path);
	return 0;
}

static int get_string(struct parser *p, const cJSON *v, const char *path, const char **out)
{
	if (!cJSON_IsString(v) || !*v->valuestring)
		return fail(p, "\"%s\" must be a non-empty string", path);
	*out = v->valuestring;
	return 0;
}

static int get_bool(struct parser *p, const cJSON *v, const char *path, bool *out)
{
	if (!cJSON_IsBool(v))
		return fail(p, "\"%s\" must be true or false", path);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A whole number in [0, max]: JSON numbers are doubles, so 1.5 and 1e30 are refused here. */
static int get_uint(struct parser *p, const cJSON *v, const char *path, uint64_t max, uint64_t *out)
{
	double d = v->valuedouble;

	if (!cJSON_IsNumber(v) || d < 0 || d > (double)max || (double)(uint64_t)d != d)
		return fail(p, "\"%s\" must be a whole number from 0 to %llu", path,
			    (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

static int get_u32(struct parser *p, const cJSON *v, const char *path, uint32_t *out)
{
	uint64_t n = 0;

	if (get_uint(p, v, path, UINT32_MAX, &n))
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* 1048576, "1M", "64K", "2G" (binary units) */
static int get_size(struct parser *p, const cJSON *v, const char *path, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	if (cJSON_IsNumber(v))
		return get_uint(p, v, path, max, out);
	if (!cJSON_IsString(v) || !isdigit((unsigned char)v->valuestring[0]))
		goto bad;
	errno = 0;
	n = strtoull(v->valuestring, &end, 10);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (errno || *end || n > (max >> shift))
		goto bad;
	*out = n << shift;
	return 0;
bad:
	return fail(p, "\"%s\" must be a size in bytes such as 1048576, \"64K\" or \"8M\" (at most %llu)",
		    path, (unsigned long long)max);
}

static int want_array(struct parser *p, const cJSON *v, const char *path)
{
	if (!cJSON_IsArray(v))
		return fail(p, "\"%s\" must be an array ([...])", path);
	return 0;
}

/* ---- events ---- */

static const struct {
	const char *name;
	uint64_t mask;
} event_groups[] = {
	{"all", TW_EVENTS_ALL},
	{"process", TW_EVENTS_PROCESS},
	{"file", TW_EVENTS_FILE},
	{"tty", TW_EVENTS_TTY},
	{"network", TW_EVENTS_NETWORK},
};

static int parse_events(struct parser *p, const cJSON *v)
{
	int i = 0;

	if (want_array(p, v, "events"))
		return -1;
	if (!v->child)
		return fail(p, "\"events\" is empty: name at least one event type or group");
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		char where[64];
		int type;
		bool found = false;

		key_path(where, sizeof(where), "events", NULL, i);
		if (!cJSON_IsString(e))
			return fail(p, "\"%s\" must be a string (an event type such as "
				       "\"PROCESS_EXEC\", or a group)", where);
		for (size_t g = 0; g < sizeof(event_groups) / sizeof(event_groups[0]); g++) {
			if (strcasecmp(e->valuestring, event_groups[g].name) == 0) {
				p->c->event_mask |= event_groups[g].mask;
				found = true;
			}
		}
		if (found)
			continue;
		type = tw_event_type_from_name(e->valuestring);
		if (type < 0 || !(TW_EVENTS_ALL & TW_EVENT_BIT(type)))
			return fail(p, "\"%s\": unknown event type \"%s\" (a type such as PROCESS_EXEC or "
				       "FILE_CREATE, or a group: all, process, file, tty, network)",
				    where, e->valuestring);
		p->c->event_mask |= TW_EVENT_BIT(type);
	}
	return 0;
}

/* ---- filters ---- */

static int add_task_rule(struct parser *p, const char *where, struct tw_task_rule **out)
{
	if (p->c->n_task_rules == AGENT_MAX_RULES)
		return fail(p, "\"%s\": more than %d comm/uid/cgroup rules", where, AGENT_MAX_RULES);
	*out = &p->c->task_rules[p->c->n_task_rules++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* A uid, or a user name resolved now (a rule keeps numbers: the kernel compares uids). */
static int uid_value(struct parser *p, const cJSON *e, const char *where, uint32_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uint64_t n = 0;

	if (cJSON_IsString(e)) {
		int rc = getpwnam_r(e->valuestring, &pw, buf, sizeof(buf), &res);
		if (rc || !res)
			return fail(p, "\"%s\": no user named \"%s\"%s%s", where, e->valuestring,
				    rc ? ": " : "", rc ? strerror(rc) : "");
		*uid = res->pw_uid;
		return 0;
	}
	if (!cJSON_IsNumber(e))
		return fail(p, "\"%s\" must be a user id or a user name", where);
	if (get_uint(p, e, where, UINT32_MAX - 1, &n)) /* (uid_t)-1 is "no user" */
		return -1;
	*uid = (uint32_t)n;
	return 0;
}

static int parse_rule_list(struct parser *p, const cJSON *v, const char *key)
{
	char path[64], where[96];
	bool exclude = strncmp(key, "exclude_", 8) == 0;
	const char *kind = exclude ? key + 8 : key;
	int i = 0;

	key_path(path, sizeof(path), "filters", key, 0);
	if (want_array(p, v, path))
		return -1;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		struct tw_task_rule *r = NULL;

		key_path(where, sizeof(where), path, NULL, i);
		if (strcmp(key, "path_include") == 0 || strcmp(key, "path_exclude") == 0) {
			struct tw_path_rule *pr;
			const char *s = NULL;

			if (get_string(p, e, where, &s))
				return -1;
			if (s[0] != '/' || strlen(s) >= TW_PATH_PREFIX_MAX)
				return fail(p, "\"%s\": \"%s\" must be an absolute path shorter than %d "
					       "bytes", where, s, TW_PATH_PREFIX_MAX);
			if (p->c->n_path_rules == AGENT_MAX_RULES)
				return fail(p, "\"%s\": more than %d path rules", where, AGENT_MAX_RULES);
			pr = &p->c->path_rules[p->c->n_path_rules++];
			pr->prefix = s;
			pr->exclude = strcmp(key, "path_exclude") == 0;
			continue;
		}
		if (add_task_rule(p, where, &r))
			return -1;
		r->exclude = exclude;
		if (strcmp(kind, "comm") == 0) {
			if (get_string(p, e, where, &r->comm))
				return -1;
			if (strlen(r->comm) > 15)
				return fail(p, "\"%s\": \"%s\" is longer than the 15 bytes the kernel keeps "
					       "of a command name", where, r->comm);
			r->kind = TW_RULE_COMM;
		} else if (strcmp(kind, "uid") == 0) {
			if (uid_value(p, e, where, &r->uid))
				return -1;
			r->kind = TW_RULE_UID;
		} else { /* cgroup: a directory on a cgroup filesystem or its numeric id */
			r->kind = TW_RULE_CGROUP;
			if (cJSON_IsString(e) && e->valuestring[0] == '/') {
				r->cgroup_path = e->valuestring;
			} else if (cJSON_IsNumber(e)) {
				if (get_uint(p, e, where, UINT64_MAX >> 11, &r->cgroup_id) || !r->cgroup_id)
					return fail(p, "\"%s\" must be a cgroup id above 0 or a directory",
						    where);
			} else {
				return fail(p, "\"%s\" must be a cgroup directory (\"/sys/fs/cgroup/...\") "
					       "or a numeric cgroup id", where);
			}
		}
	}
	return 0;
}

static int parse_filters(struct parser *p, const cJSON *v)
{
	static const char *const known[] = {"comm", "exclude_comm", "uid", "exclude_uid", "cgroup",
					    "exclude_cgroup", "path_include", "path_exclude", NULL};

	if (want_object(p, v, "filters") || check_keys(p, v, "filters", known))
		return -1;
	for (const cJSON *m = v->child; m; m = m->next)
		if (parse_rule_list(p, m, m->string))
			return -1;
	return 0;
}

/* ---- enrichment ---- */

static int parse_enrich(struct parser *p, const cJSON *v)
{
	static const char *const known[] = {"user_names", "host", "labels", NULL};
	const cJSON *m;

	if (want_object(p, v, "enrich") || check_keys(p, v, "enrich", known))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "user_names")) &&
	    get_bool(p, m, "enrich.user_names", &p->c->user_names))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "host"))) {
		/* true: this machine's name at start; a string: that name; false: none */
		if (cJSON_IsTrue(m)) {
			if (gethostname(p->c->host_buf, sizeof(p->c->host_buf) - 1))
				return fail(p, "\"enrich.host\": gethostname failed: %s", strerror(errno));
			p->c->host_name = p->c->host_buf;
		} else if (cJSON_IsString(m) && *m->valuestring) {
			p->c->host_name = m->valuestring;
		} else if (!cJSON_IsFalse(m)) {
			return fail(p, "\"enrich.host\" must be true (this machine's name), false, or a "
				       "name");
		}
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "labels"))) {
		if (want_object(p, m, "enrich.labels"))
			return -1;
		for (const cJSON *l = m->child; l; l = l->next) {
			char where[128];
			key_path(where, sizeof(where), "enrich.labels", l->string, 0);
			if (!cJSON_IsString(l))
				return fail(p, "\"%s\" must be a string", where);
		}
		/* rendered once; every event gets the same bytes */
		p->c->labels_json = cJSON_PrintUnformatted(m);
		if (!p->c->labels_json)
			return fail(p, "out of memory");
	}
	return 0;
}

/* ---- output ---- */

static int parse_ship(struct parser *p, const cJSON *v)
{
	static const char *const known[] = {
		"url", "format", "table", "index", "spool_dir", "spool_max_bytes", "batch_max_events",
		"batch_max_ms", "timeout_ms", "drain_ms", "no_gzip", "ca_file", "insecure", "auth",
		"auth_file", "auth_env", "dead_letter", NULL};
	struct agent_ship_config *s = &p->c->ship;
	const cJSON *m;
	char reason[256];
	uint64_t n = 0;

	if (want_object(p, v, "output.ship") || check_keys(p, v, "output.ship", known))
		return -1;
	s->enabled = true;
	if (!(m = cJSON_GetObjectItemCaseSensitive(v, "url")))
		return fail(p, "\"output.ship.url\" is missing (the collector's http:// or https:// URL)");
	if (get_string(p, m, "output.ship.url", &s->url))
		return -1;
	if (tw_ship_url_check(s->url, reason, sizeof(reason)))
		return fail(p, "\"output.ship.url\": %s", reason);
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "format"))) {
		int f = cJSON_IsString(m) ? tw_ship_format_parse(m->valuestring) : -1;
		if (f < 0)
			return fail(p, "\"output.ship.format\" must be \"ndjson\", \"clickhouse\" or "
				       "\"elasticsearch\"");
		s->format = (enum tw_ship_format)f;
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "auth"))) {
		int a = cJSON_IsString(m) ? tw_ship_auth_parse(m->valuestring) : -1;
		if (a < 0)
			return fail(p, "\"output.ship.auth\" must be \"basic\", \"bearer\", \"apikey\" or "
				       "\"header\"");
		s->auth = (enum tw_ship_auth)a;
	}
	struct {
		const char *key;
		const char **dst;
	} strings[] = {
		{"table", &s->table}, {"index", &s->index}, {"spool_dir", &s->spool_dir},
		{"ca_file", &s->ca_file}, {"auth_file", &s->auth_file}, {"auth_env", &s->auth_env},
		{"dead_letter", &s->dead_letter},
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		char where[64];
		key_path(where, sizeof(where), "output.ship", strings[i].key, 0);
		if ((m = cJSON_GetObjectItemCaseSensitive(v, strings[i].key)) &&
		    get_string(p, m, where, strings[i].dst))
			return -1;
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "no_gzip")) &&
	    get_bool(p, m, "output.ship.no_gzip", &s->no_gzip))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "insecure")) &&
	    get_bool(p, m, "output.ship.insecure", &s->insecure))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "spool_max_bytes")) &&
	    get_size(p, m, "output.ship.spool_max_bytes", 1ull << 40, &s->spool_max_bytes))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "batch_max_events")) &&
	    get_u32(p, m, "output.ship.batch_max_events", &s->batch_max_events))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "batch_max_ms")) &&
	    get_u32(p, m, "output.ship.batch_max_ms", &s->batch_max_ms))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "timeout_ms")) &&
	    get_u32(p, m, "output.ship.timeout_ms", &s->timeout_ms))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "drain_ms"))) {
		if (get_uint(p, m, "output.ship.drain_ms", 3600000, &n))
			return -1;
		s->drain_ms = (int)n;
	}
	if (s->auth != TW_SHIP_AUTH_NONE && !s->auth_file == !s->auth_env)
		return fail(p, "\"output.ship.auth\" needs exactly one of \"auth_file\" and \"auth_env\" "
			       "(the secret is never written in this file)");
	if (s->auth == TW_SHIP_AUTH_NONE && (s->auth_file || s->auth_env))
		return fail(p, "\"output.ship.%s\" is set but \"output.ship.auth\" is not",
			    s->auth_file ? "auth_file" : "auth_env");
	if (!s->spool_dir)
		s->spool_dir = AGENT_DEFAULT_SPOOL;
	return 0;
}

static int parse_output(struct parser *p, const cJSON *v)
{
	static const char *const known[] = {"file", "ship", NULL};
	const cJSON *m;

	if (want_object(p, v, "output") || check_keys(p, v, "output", known))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "file")) &&
	    get_string(p, m, "output.file", &p->c->output_file))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(v, "ship")) && parse_ship(p, m))
		return -1;
	return 0;
}

/* Line and column (from 1) of byte `off`, for syntax errors. */
static void position(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * True when the text stops inside a string, object or array: cJSON then
 * points at the last byte, which would send the reader to the wrong place.
 */
static bool ends_unclosed(const char *text, size_t len)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return in_string || depth > 0;
}

/*
 * The syntax error message: line and column, and the line's text up to that
 * point, so the reader sees what came just before (cJSON points at the
 * offending byte or, inside nested values, at the one after it).
 */
static int syntax_error(struct parser *p, const char *text, size_t len, size_t off)
{
	int line, col;
	size_t start = off, end;
	char shown[64];

	if (ends_unclosed(text, len)) {
		position(text, len, &line, &col);
		return fail(p, "JSON syntax error: the text ends at line %d, column %d inside an "
			       "object, array or string (a missing '}', ']' or '\"')", line, col);
	}
	position(text, off, &line, &col);
	while (start > 0 && text[start - 1] != '\n' && off - start < 40)
		start--;
	end = off < len && text[off] != '\n' ? off + 1 : off;
	snprintf(shown, sizeof(shown), "%s%.*s", start > 0 && text[start - 1] != '\n' ? "..." : "",
		 (int)(end - start), text + start);
	return fail(p, "JSON syntax error at line %d, column %d: %s <- here", line, col, shown);
}

int agent_config_parse(struct agent_config *c, const char *text, size_t len, const char *name,
		       char *err, size_t errlen)
{
	static const char *const known[] = {"events", "filters", "enrich", "output", "capture_env",
					    "ring_size", "stats_interval_s", NULL};
	struct parser p = {c, name, err, errlen};
	const char *end = NULL;
	const cJSON *m;
	uint64_t n = 0;

	memset(c, 0, sizeof(*c));
	c->user_names = true;
	c->ship.drain_ms = 5000;
	/* the end pointer is per call: cJSON_GetErrorPtr() is a global, unsafe with threads */
	c->root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!c->root)
		return syntax_error(&p, text, len,
				    end && end >= text && end <= text + len ? (size_t)(end - text) : 0);
	/* trailing text after the object is a mistake too (two objects, a stray brace) */
	while (end && end < text + len && isspace((unsigned char)*end))
		end++;
	if (end && end < text + len && *end) {
		int line, col;
		position(text, (size_t)(end - text), &line, &col);
		return fail(&p, "JSON syntax error at line %d, column %d: text after the end of the "
				"configuration object", line, col);
	}
	if (want_object(&p, c->root, "(top level)") || check_keys(&p, c->root, NULL, known))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "events"))) {
		if (parse_events(&p, m))
			return -1;
	} else {
		c->event_mask = TW_EVENTS_PROCESS;
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "filters")) && parse_filters(&p, m))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "enrich")) && parse_enrich(&p, m))
		return -1;
	if (!(m = cJSON_GetObjectItemCaseSensitive(c->root, "output")))
		return fail(&p, "\"output\" is missing: set \"output.file\" (a path, or \"-\" for "
				"stdout) and/or \"output.ship\"");
	if (parse_output(&p, m))
		return -1;
	if (!c->output_file && !c->ship.enabled)
		return fail(&p, "\"output\" needs \"file\" or \"ship\" (or both)");
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "capture_env")) &&
	    get_bool(&p, m, "capture_env", &c->capture_env))
		return -1;
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "ring_size"))) {
		if (get_size(&p, m, "ring_size", 1ull << 30, &n))
			return -1;
		c->ring_size = (uint32_t)n;
	}
	if ((m = cJSON_GetObjectItemCaseSensitive(c->root, "stats_interval_s")) &&
	    get_u32(&p, m, "stats_interval_s", &c->stats_interval_s))
		return -1;
	return 0;
}

int agent_config_load(struct agent_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *t;
			if (cap > (1u << 20)) { /* a configuration, not a data file */
				snprintf(err, errlen, "%s: larger than 1 MiB", path);
				free(text);
				fclose(f);
				return -1;
			}
			t = realloc(text, cap = cap ? cap * 2 : 8192);
			if (!t) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(text);
				fclose(f);
				return -1;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	text[len] = 0;
	rc = agent_config_parse(c, text, len, path, err, errlen);
	free(text); /* cJSON copied every string it kept */
	return rc;
}

void agent_config_free(struct agent_config *c)
{
	cJSON_Delete(c->root);
	free(c->labels_json);
	c->root = NULL;
	c->labels_json = NULL;
}
