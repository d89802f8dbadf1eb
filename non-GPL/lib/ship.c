// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP shipper: the caller's thread enqueues lines into the spool; one
 * sending thread takes batches out of it and drives up to `concurrency`
 * requests at once with a libcurl multi handle (whose connection cache gives
 * keep-alive). A batch leaves the spool only when the collector acknowledged
 * it or it was dead-lettered; everything else is retried, so delivery is
 * at-least-once and event ids let the collector drop the repeats.
 */
#define _GNU_SOURCE /* strptime, memmem, explicit_bzero */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ship_internal.h"

#define RESPONSE_CAP (4u << 20)  /* keep at most this much of an answer */
#define DEAD_LETTER_RESPONSE 4096 /* bytes of the answer stored with a rejected batch */
#define RETRY_AFTER_MAX_MS 300000
#define GZIP_LEVEL 3 /* most of the size gain of 6 at a fraction of the CPU for JSON */

enum slot_state { SLOT_IDLE, SLOT_ACTIVE, SLOT_WAITING };

struct slot {
	enum slot_state state;
	CURL *easy;
	struct ship_batch batch;
	struct ship_buf body;
	struct ship_buf resp;
	uint32_t attempt;
	uint64_t retry_at_ms;
	int64_t retry_after_ms; /* from the last answer, -1 if none */
	char errbuf[CURL_ERROR_SIZE];
};

struct tw_shipper {
	struct tw_ship_options o;
	char *url, *req_url, *table, *index, *host, *ca_file, *dl_path, *secret;
	struct curl_slist *headers;
	pthread_mutex_t lock;
	pthread_cond_t acked;
	pthread_t thread;
	bool thread_started;
	struct ship_spool sp;
	struct ship_seq seq;
	char boot_id[40];
	struct ship_buf line;
	CURLM *multi;
	struct slot *slots;
	bool stopping;
	uint64_t stop_deadline_ms;
	uint32_t flush_waiters;
	uint64_t pending_since_ms; /* when the oldest unsent record was queued */
	uint64_t last_sync_ms;
	int dl_fd;
	uint64_t dl_bytes;
	uint32_t fail_streak;
	unsigned int rand_state;
	struct tw_ship_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ship_log(struct tw_shipper *s, enum tw_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ship_log(struct tw_shipper *s, enum tw_log_level lvl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->o.log)
		s->o.log(s->o.log_user, lvl, msg);
	else if (lvl <= TW_LOG_WARN)
		fprintf(stderr, "tracewire shipper: %s\n", msg);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	struct slot *sl = user;
	size_t len = size * n;

	if (sl->resp.len < RESPONSE_CAP)
		ship_buf_put(&sl->resp, data, len < RESPONSE_CAP - sl->resp.len ? len : RESPONSE_CAP - sl->resp.len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	struct slot *sl = user;
	size_t len = size * n;
	char val[128];

	if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		size_t vl = len - 12 < sizeof(val) - 1 ? len - 12 : sizeof(val) - 1;
		memcpy(val, data + 12, vl);
		val[vl] = 0;
		val[strcspn(val, "\r\n")] = 0;
		sl->retry_after_ms = ship_parse_retry_after(val, time(NULL));
	}
	return len;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int setup_curl(struct tw_shipper *s, char *err, size_t errlen)
{
	char hdr[256];

	s->multi = curl_multi_init();
	if (!s->multi)
		goto oom;
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->o.concurrency);
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->o.concurrency + 1);
	s->headers = curl_slist_append(NULL, s->o.format == TW_SHIP_NDJSON ||
						     s->o.format == TW_SHIP_ELASTICSEARCH
					     ? "Content-Type: application/x-ndjson"
					     : "Content-Type: application/json");
	if (!s->o.no_gzip)
		s->headers = curl_slist_append(s->headers, "Content-Encoding: gzip");
	s->headers = curl_slist_append(s->headers, "Expect:"); /* no 100-continue round trip */
	if (s->o.auth == TW_SHIP_AUTH_BEARER || s->o.auth == TW_SHIP_AUTH_APIKEY) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s %s",
			 s->o.auth == TW_SHIP_AUTH_BEARER ? "Bearer" : "ApiKey", s->secret);
		s->headers = curl_slist_append(s->headers, hdr);
		explicit_bzero(hdr, sizeof(hdr));
	} else if (s->o.auth == TW_SHIP_AUTH_HEADER) {
		if (!strchr(s->secret, ':')) {
			snprintf(err, errlen, "a header credential must look like 'Name: value'");
			return -EINVAL;
		}
		s->headers = curl_slist_append(s->headers, s->secret);
	}
	if (!s->headers)
		goto oom;
	s->slots = calloc(s->o.concurrency, sizeof(*s->slots));
	if (!s->slots)
		goto oom;
	for (uint32_t i = 0; i < s->o.concurrency; i++) {
		struct slot *sl = &s->slots[i];
		CURL *e = curl_easy_init();
		if (!e)
			goto oom;
		sl->easy = e;
		curl_easy_setopt(e, CURLOPT_URL, s->req_url);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->o.timeout_ms);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->o.connect_timeout_ms);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_USERAGENT, "tracewire/" TW_LIB_VERSION);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s->o.insecure ? 0L : 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s->o.insecure ? 0L : 2L);
		if (s->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
		if (s->o.auth == TW_SHIP_AUTH_BASIC) {
			curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(e, CURLOPT_USERPWD, s->secret);
		}
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, sl);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, sl);
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
		curl_easy_setopt(e, CURLOPT_PRIVATE, sl);
	}
	return 0;
oom:
	snprintf(err, errlen, "cannot set up libcurl (out of memory)");
	return -ENOMEM;
}

static void free_shipper(struct tw_shipper *s)
{
	if (s->slots) {
		for (uint32_t i = 0; i < s->o.concurrency; i++) {
			struct slot *sl = &s->slots[i];
			if (sl->easy) {
				if (sl->state == SLOT_ACTIVE)
					curl_multi_remove_handle(s->multi, sl->easy);
				curl_easy_cleanup(sl->easy);
			}
			ship_batch_free(&sl->batch);
			ship_buf_free(&sl->body);
			ship_buf_free(&sl->resp);
		}
		free(s->slots);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->headers) {
		/* the list may hold the credential header: wipe it before it is freed */
		for (struct curl_slist *l = s->headers; l; l = l->next)
			explicit_bzero(l->data, strlen(l->data));
		curl_slist_free_all(s->headers);
	}
	if (s->sp.dirfd >= 0)
		ship_spool_close(&s->sp);
	if (s->dl_fd >= 0)
		close(s->dl_fd);
	if (s->secret) {
		explicit_bzero(s->secret, strlen(s->secret));
		free(s->secret);
	}
	ship_buf_free(&s->line);
	free(s->url);
	free(s->req_url);
	free(s->table);
	free(s->index);
	free(s->host);
	free(s->ca_file);
	free(s->dl_path);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->acked);
	free(s);
}

/* ---- the sending thread ---- */

static bool batch_due(struct tw_shipper *s, uint64_t now)
{
	return ship_batch_due(&s->sp, s->o.batch_max_events, s->o.batch_max_bytes, s->o.batch_max_ms,
			      s->pending_since_ms, now, s->stopping || s->flush_waiters);
}

static void slot_start(struct tw_shipper *s, struct slot *sl)
{
	sl->resp.len = 0;
	sl->errbuf[0] = 0;
	sl->retry_after_ms = -1;
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, sl->body.p);
	curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sl->body.len);
	sl->state = SLOT_ACTIVE;
	curl_multi_add_handle(s->multi, sl->easy);
}

/* Format (and gzip) a batch just taken; a line that does not fit the format is dead-lettered. */
static int slot_prepare(struct tw_shipper *s, struct slot *sl)
{
	struct ship_buf raw = {0};
	int rc = ship_format_body(&raw, s->o.format, s->index, sl->batch.lines, sl->batch.len);

	sl->body.len = 0;
	if (!rc && s->o.no_gzip)
		rc = ship_buf_put(&sl->body, raw.p, raw.len);
	else if (!rc)
		rc = ship_gzip(&sl->body, raw.p, raw.len, GZIP_LEVEL);
	ship_buf_free(&raw);
	sl->attempt = 0;
	return rc;
}

/* Append a rejected batch with the answer to the dead-letter file; caller holds the lock. */
static void dead_letter(struct tw_shipper *s, struct slot *sl, long status, const char *why)
{
	struct ship_buf h = {0};
	char tmp[256];
	size_t rlen = sl->resp.len < DEAD_LETTER_RESPONSE ? sl->resp.len : DEAD_LETTER_RESPONSE;
	bool ok = false;

	snprintf(tmp, sizeof(tmp), "{\"dead_letter\":{\"time\":%" PRIu64 ",\"status\":%ld,\"events\":%u,"
				   "\"reason\":\"%s\",\"response\":\"",
		 (uint64_t)time(NULL), status, sl->batch.n, why);
	ship_buf_put(&h, tmp, strlen(tmp));
	for (size_t i = 0; i < rlen; i++) { /* the answer as a JSON string, bytes escaped */
		unsigned char c = (unsigned char)sl->resp.p[i];
		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			ship_buf_put(&h, tmp, 6);
		} else {
			ship_buf_put(&h, &sl->resp.p[i], 1);
		}
	}
	ship_buf_put(&h, "\"}}\n", 4);
	if (s->dl_fd < 0) {
		struct stat st;
		s->dl_fd = open(s->dl_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (s->dl_fd >= 0 && !fstat(s->dl_fd, &st))
			s->dl_bytes = (uint64_t)st.st_size;
	}
	if (s->dl_fd >= 0 && h.p && s->dl_bytes + h.len + sl->batch.len <= s->o.dead_letter_max_bytes) {
		ok = write(s->dl_fd, h.p, h.len) == (ssize_t)h.len &&
		     write(s->dl_fd, sl->batch.lines, sl->batch.len) == (ssize_t)sl->batch.len &&
		     fdatasync(s->dl_fd) == 0;
		s->dl_bytes += h.len + sl->batch.len;
	}
	ship_buf_free(&h);
	if (ok) {
		s->st.events_dead_lettered += sl->batch.n;
		s->st.batches_dead_lettered++;
		ship_log(s, TW_LOG_WARN, "collector rejected a batch of %u events (%s, HTTP %ld): "
					 "written to %s", sl->batch.n, why, status, s->dl_path);
	} else {
		s->st.dead_letter_dropped += sl->batch.n;
		ship_log(s, TW_LOG_ERROR, "collector rejected a batch of %u events (%s, HTTP %ld) and "
					  "the dead-letter file %s is full or failed: dropped",
			 sl->batch.n, why, status, s->dl_path);
	}
}

/* A batch is finished (delivered or dead-lettered): out of the spool. Caller holds the lock. */
static void slot_done(struct tw_shipper *s, struct slot *sl)
{
	ship_spool_ack(&s->sp, &sl->batch);
	ship_batch_free(&sl->batch);
	sl->state = SLOT_IDLE;
	pthread_cond_broadcast(&s->acked);
}

static void on_done(struct tw_shipper *s, struct slot *sl, CURLcode cres)
{
	long status = 0;
	enum ship_verdict v;
	const char *why = "rejected";

	curl_multi_remove_handle(s->multi, sl->easy);
	if (cres == CURLE_OK)
		curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
	v = ship_classify(cres != CURLE_OK, status);
	if (v == SHIP_DELIVERED && s->o.format == TW_SHIP_ELASTICSEARCH) {
		v = ship_classify_bulk_response(sl->resp.p ? sl->resp.p : "", sl->resp.len);
		why = "bulk item errors";
	} else if (v == SHIP_RETRY && status >= 500 && s->o.format == TW_SHIP_CLICKHOUSE) {
		v = ship_classify_clickhouse_error(status, sl->resp.p ? sl->resp.p : "", sl->resp.len);
		why = "rows ClickHouse cannot parse";
	}
	pthread_mutex_lock(&s->lock);
	s->st.requests++;
	s->st.last_http_status = (int)status;
	if (v == SHIP_DELIVERED) {
		if (s->fail_streak)
			ship_log(s, TW_LOG_WARN, "collector reachable again after %u failed attempts",
				 s->fail_streak);
		s->fail_streak = 0;
		s->st.events_shipped += sl->batch.n;
		s->st.batches_shipped++;
		s->st.bytes_sent += sl->body.len;
		slot_done(s, sl);
	} else if (v == SHIP_DEAD_LETTER) {
		snprintf(s->st.last_error, sizeof(s->st.last_error), "HTTP %ld: %s", status, why);
		dead_letter(s, sl, status, why);
		slot_done(s, sl);
	} else {
		uint64_t delay;
		sl->attempt++;
		s->st.retries++;
		if (cres != CURLE_OK)
			snprintf(s->st.last_error, sizeof(s->st.last_error), "%.150s",
				 sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(cres));
		else
			snprintf(s->st.last_error, sizeof(s->st.last_error), "HTTP %ld", status);
		if (sl->retry_after_ms >= 0 && status != 0)
			delay = (uint64_t)(sl->retry_after_ms < RETRY_AFTER_MAX_MS ? sl->retry_after_ms
										  : RETRY_AFTER_MAX_MS);
		else
			delay = ship_backoff_ms(sl->attempt, s->o.backoff_initial_ms, s->o.backoff_max_ms,
						(double)rand_r(&s->rand_state) / ((double)RAND_MAX + 1));
		/* say it once per outage, not once per attempt */
		if (s->fail_streak++ == 0)
			ship_log(s, TW_LOG_WARN, "sending to the collector failed (%s); retrying, the "
						 "events stay spooled", s->st.last_error);
		sl->retry_at_ms = now_ms() + delay;
		sl->state = SLOT_WAITING;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *ship_thread(void *arg)
{
	struct tw_shipper *s = arg;

	for (;;) {
		uint64_t now = now_ms(), wait_ms = 100;
		struct slot *fresh[64];
		uint32_t nfresh = 0;
		int running, msgs;
		CURLMsg *m;

		pthread_mutex_lock(&s->lock);
		bool busy = false;
		for (uint32_t i = 0; i < s->o.concurrency; i++)
			busy |= s->slots[i].state != SLOT_IDLE;
		if (s->stopping && (now >= s->stop_deadline_ms ||
				    (!busy && !s->sp.unread_records))) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		for (uint32_t i = 0; i < s->o.concurrency && nfresh < 64; i++) {
			struct slot *sl = &s->slots[i];
			if (sl->state != SLOT_IDLE || !batch_due(s, now))
				continue;
			if (ship_spool_commit(&s->sp) < 0)
				ship_log(s, TW_LOG_ERROR, "writing the spool failed: %s", strerror(errno));
			int n = ship_spool_take(&s->sp, s->o.batch_max_events, s->o.batch_max_bytes,
						&sl->batch);
			if (n < 0)
				ship_log(s, TW_LOG_ERROR, "reading the spool failed: %s", strerror(-n));
			if (n <= 0)
				break;
			sl->state = SLOT_ACTIVE; /* reserved; started below, outside the lock */
			fresh[nfresh++] = sl;
		}
		/* the rest waits from now: it may still be only a partial batch */
		if (nfresh && s->sp.unread_records)
			s->pending_since_ms = now;
		if (now - s->last_sync_ms >= s->o.sync_ms) {
			ship_spool_commit(&s->sp);
			ship_spool_sync(&s->sp);
			s->last_sync_ms = now;
		}
		if (s->sp.unread_records && !nfresh) {
			uint64_t due = s->pending_since_ms + s->o.batch_max_ms;
			wait_ms = due > now ? (due - now < wait_ms ? due - now : wait_ms) : 0;
			if (wait_ms == 0)
				wait_ms = 10; /* due, but every slot is busy */
		}
		pthread_mutex_unlock(&s->lock);

		for (uint32_t i = 0; i < nfresh; i++) {
			if (slot_prepare(s, fresh[i]) < 0) {
				pthread_mutex_lock(&s->lock);
				fresh[i]->resp.len = 0;
				dead_letter(s, fresh[i], 0, "not a JSON object, cannot be formatted");
				slot_done(s, fresh[i]);
				pthread_mutex_unlock(&s->lock);
				continue;
			}
			slot_start(s, fresh[i]);
		}
		now = now_ms();
		for (uint32_t i = 0; i < s->o.concurrency; i++) {
			struct slot *sl = &s->slots[i];
			if (sl->state != SLOT_WAITING)
				continue;
			if (sl->retry_at_ms <= now)
				slot_start(s, sl);
			else if (sl->retry_at_ms - now < wait_ms)
				wait_ms = sl->retry_at_ms - now;
		}
		curl_multi_perform(s->multi, &running);
		while ((m = curl_multi_info_read(s->multi, &msgs))) {
			struct slot *sl;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
			on_done(s, sl, m->data.result);
			wait_ms = 0; /* a slot is free: look at the spool again at once */
		}
		if (wait_ms)
			curl_multi_poll(s->multi, NULL, 0, (int)wait_ms, NULL);
	}
	return NULL;
}

/* ---- the API ---- */

int tw_ship_open(struct tw_shipper **out, const struct tw_ship_options *opts, char *err,
		 size_t errlen)
{
	struct tw_shipper *s;
	char path[4200];
	int rc;

	*out = NULL;
	if (tw_ship_url_check(opts->url, err, errlen))
		return -EINVAL;
	if (!opts->spool_dir || !*opts->spool_dir) {
		snprintf(err, errlen, "the shipper needs a spool directory");
		return -EINVAL;
	}
	if (opts->format > TW_SHIP_ELASTICSEARCH) {
		snprintf(err, errlen, "unknown shipping format");
		return -EINVAL;
	}
	if (opts->auth != TW_SHIP_AUTH_NONE && (!opts->auth_secret || !*opts->auth_secret)) {
		snprintf(err, errlen, "an auth type was set without credentials");
		return -EINVAL;
	}
	if (!opts->concurrency || opts->concurrency > 64 || !opts->batch_max_events ||
	    opts->batch_max_bytes < 1024 || !opts->segment_bytes ||
	    (uint64_t)opts->segment_bytes * 4 > opts->spool_max_bytes) {
		snprintf(err, errlen, "shipper limits out of range (concurrency 1-64, batch at least "
				      "1 KiB, spool at least 4 segments)");
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialise: %s", curl_easy_strerror(curl_init_rc));
		return -EIO;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->o = *opts;
	s->dl_fd = -1;
	s->sp.dirfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->acked, NULL);
	s->url = strdup(opts->url);
	s->table = strdup(opts->table ? opts->table : "tracewire.events");
	s->index = strdup(opts->index ? opts->index : "tracewire");
	s->host = dup_or_null(opts->host_name);
	s->ca_file = dup_or_null(opts->ca_file);
	s->secret = dup_or_null(opts->auth_secret);
	snprintf(path, sizeof(path), "%s/dead-letter.ndjson", opts->spool_dir);
	s->dl_path = strdup(opts->dead_letter_path ? opts->dead_letter_path : path);
	s->o.url = s->o.table = s->o.index = s->o.host_name = s->o.ca_file = NULL;
	s->o.auth_secret = s->o.dead_letter_path = s->o.spool_dir = NULL; /* ours are above */
	s->rand_state = (unsigned)(now_ms() ^ (uint64_t)getpid() << 16);
	if (!s->url || !s->table || !s->index || !s->dl_path) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	s->req_url = ship_request_url(s->url, s->o.format, s->table);
	if (!s->req_url) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = ship_read_boot_id(s->boot_id, sizeof(s->boot_id))) < 0) {
		snprintf(err, errlen, "cannot read /proc/sys/kernel/random/boot_id: %s", strerror(-rc));
		goto fail;
	}
	rc = ship_spool_open(&s->sp, opts->spool_dir, opts->spool_max_bytes, opts->segment_bytes, err,
			     errlen);
	if (rc < 0)
		goto fail;
	if ((rc = ship_seq_open(&s->seq, s->sp.dirfd, s->boot_id, 0, err, errlen)) < 0)
		goto fail;
	s->st.events_recovered = s->sp.recovered_records;
	if (s->sp.corrupt_frames)
		ship_log(s, TW_LOG_WARN, "the spool had %" PRIu64 " damaged or torn regions (%" PRIu64
					 " bytes): skipped", s->sp.corrupt_frames, s->sp.corrupt_bytes);
	if ((rc = setup_curl(s, err, errlen)) < 0)
		goto fail;
	s->pending_since_ms = s->last_sync_ms = now_ms();
	if ((rc = -pthread_create(&s->thread, NULL, ship_thread, s)) < 0) {
		snprintf(err, errlen, "cannot start the shipping thread: %s", strerror(-rc));
		goto fail;
	}
	s->thread_started = true;
	*out = s;
	return 0;
fail:
	free_shipper(s);
	return rc;
}

int tw_ship_enqueue(struct tw_shipper *s, const char *line, size_t len)
{
	char id[96];
	uint64_t seq;
	int rc;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len || memchr(line, '\n', len))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	rc = ship_seq_next(&s->seq, &seq);
	if (rc == 0) {
		snprintf(id, sizeof(id), "%s-%" PRIu64, s->boot_id, seq);
		s->line.len = 0;
		rc = ship_line_with_id(&s->line, line, len, id, s->host);
	}
	if (rc == 0) {
		bool was_empty = s->sp.unread_records == 0;
		rc = ship_spool_append(&s->sp, s->line.p, s->line.len);
		if (rc == 0 || s->sp.wlen == 0) /* a failed commit still took the record */
			s->st.events_enqueued++;
		if (was_empty)
			s->pending_since_ms = now_ms();
		if (s->sp.unread_records >= s->o.batch_max_events ||
		    s->sp.unread_bytes >= s->o.batch_max_bytes)
			curl_multi_wakeup(s->multi);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int tw_ship_commit(struct tw_shipper *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = ship_spool_commit(&s->sp);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int tw_ship_flush(struct tw_shipper *s, int timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	s->flush_waiters++;
	curl_multi_wakeup(s->multi);
	while (ship_spool_pending(&s->sp) && rc == 0)
		rc = pthread_cond_timedwait(&s->acked, &s->lock, &until);
	s->flush_waiters--;
	rc = ship_spool_pending(&s->sp) ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void tw_ship_get_stats(struct tw_shipper *s, struct tw_ship_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->events_dropped = s->sp.dropped_records;
	out->spool_bytes = s->sp.bytes;
	out->spool_segments = s->sp.segments;
	out->events_pending = ship_spool_pending(&s->sp);
	out->corrupt_frames = s->sp.corrupt_frames;
	out->corrupt_bytes = s->sp.corrupt_bytes;
	out->spool_write_errors = s->sp.write_errors;
	out->in_flight = 0;
	for (uint32_t i = 0; i < s->o.concurrency; i++)
		out->in_flight += s->slots[i].state != SLOT_IDLE;
	pthread_mutex_unlock(&s->lock);
}

void tw_ship_close(struct tw_shipper *s, int drain_timeout_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	ship_spool_commit(&s->sp);
	s->stopping = true;
	s->stop_deadline_ms = now_ms() + (uint64_t)(drain_timeout_ms > 0 ? drain_timeout_ms : 0);
	pthread_mutex_unlock(&s->lock);
	curl_multi_wakeup(s->multi);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	/* requests still in flight are abandoned: their records stay in the spool for next time */
	free_shipper(s);
}
