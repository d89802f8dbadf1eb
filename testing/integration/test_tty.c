// SPDX-License-Identifier: Apache-2.0
/* Terminal output from the real probe: a pty made by the test, known writes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static int master_fd = -1, slave_fd = -1;
static unsigned pts_minor;

static void open_pty(void)
{
	struct stat st;
	struct termios raw;

	it_require_bpf();
	cr_assert_eq(openpty(&master_fd, &slave_fd, NULL, NULL, NULL), 0);
	/* raw: the line discipline then passes bytes through unchanged (no \n -> \r\n) */
	cfmakeraw(&raw);
	tcsetattr(slave_fd, TCSANOW, &raw);
	cr_assert_eq(fstat(slave_fd, &st), 0);
	pts_minor = minor(st.st_rdev);
}

static void close_pty(void)
{
	close(master_fd);
	close(slave_fd);
}

/* TTY_WRITE events of the workload on our pty, slave side unless `master`. */
static size_t tty_events(struct it_trace *t, bool master, struct tw_event *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct tw_event ev;
		cr_assert_eq(tw_event_decode(t->recs[i].data, t->recs[i].len, &ev), 0);
		if (ev.hdr->type != TW_EVENT_PROCESS_TTY_WRITE)
			continue;
		const struct tw_tty_write *w = (const void *)ev.hdr;
		if (w->tty.minor != pts_minor ||
		    !!(w->flags & TW_TTY_FLAG_PTY_MASTER) != master)
			continue;
		if (n < max) {
			ev.ts_realtime_ns = 0;
			out[n] = ev;
		}
		n++;
	}
	return n;
}

static const struct tw_varlen_field *tty_out(const struct tw_event *ev)
{
	const struct tw_varlen_field *f = tw_event_field(ev, TW_FIELD_TTY_OUT);
	cr_assert_not_null(f);
	return f;
}

static void write_all(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(121);
}

/* ---- known text, escape sequences and bytes that are not UTF-8 ---- */

static const char text[] = "hello \033[1;31mtty\033[0m \xff\xfe end\r\n";

static void run_write_text(void *arg)
{
	write_all(slave_fd, text, sizeof(text) - 1);
}

static size_t b64_decode(const char *in, unsigned char *out)
{
	static const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	unsigned v = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(alphabet, *in);
		cr_assert_not_null(p);
		v = (v << 6) | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return n;
}

Test(tty, slave_write_is_captured_byte_for_byte)
{
	struct it_trace t;
	struct tw_event ev;
	unsigned char back[256];

	open_pty();
	it_start(&t, TW_EVENTS_TTY, false, run_write_text, NULL);
	it_run(&t, 5000);
	cr_assert_eq(tty_events(&t, false, &ev, 1), 1);
	const struct tw_tty_write *w = (const void *)ev.hdr;
	cr_assert_eq(w->hdr.pids.tgid, (uint32_t)t.child);
	cr_assert_eq(w->tty.major, 136);
	cr_assert_eq(w->orig_len, sizeof(text) - 1);
	cr_assert(w->flags & TW_TTY_FLAG_PTY_SLAVE);
	const struct tw_varlen_field *f = tty_out(&ev);
	cr_assert_eq(f->size, sizeof(text) - 1);
	cr_assert_eq(memcmp(f->data, text, f->size), 0);
	cr_assert_not(f->flags & TW_FIELD_FLAG_TRUNCATED);

	/* through JSON and back: the exact bytes, escape sequence and 0xff 0xfe included */
	cJSON *j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "side"), "slave");
	char name[32];
	snprintf(name, sizeof(name), "pts/%u", pts_minor);
	cr_assert_str_eq(it_json_str(j, "tty.name"), name);
	size_t n = b64_decode(it_json_str(j, "tty_out_b64"), back);
	cr_assert_eq(n, sizeof(text) - 1);
	cr_assert_eq(memcmp(back, text, n), 0);
	cJSON_Delete(j);
	it_stop(&t);
	close_pty();
}

/* ---- 20 KB in one write: 8 KiB kept, flagged, original length reported ---- */

static char *big_buf;
static pthread_t drainer;
static volatile int drain_stop;

/* The pty buffer is small: someone must read the master or the writer blocks. */
static void *drain_master(void *arg)
{
	char buf[65536];
	while (!drain_stop) {
		fd_set r;
		struct timeval tv = {0, 20000};
		FD_ZERO(&r);
		FD_SET(master_fd, &r);
		if (select(master_fd + 1, &r, NULL, NULL, &tv) > 0 && read(master_fd, buf, sizeof(buf)) < 0)
			break;
	}
	return NULL;
}

static void start_drain(void)
{
	drain_stop = 0;
	cr_assert_eq(pthread_create(&drainer, NULL, drain_master, NULL), 0);
}

static void stop_drain(void)
{
	drain_stop = 1;
	pthread_join(drainer, NULL);
}

static void run_write_20k(void *arg)
{
	write_all(slave_fd, big_buf, 20480);
}

Test(tty, long_write_is_cut_at_8k_with_its_length)
{
	struct it_trace t;
	struct tw_event ev;

	open_pty();
	big_buf = malloc(20480);
	for (int i = 0; i < 20480; i++)
		big_buf[i] = 'a' + i % 26;
	start_drain();
	it_start(&t, TW_EVENTS_TTY, false, run_write_20k, NULL);
	it_run(&t, 5000);
	stop_drain();
	cr_assert_eq(tty_events(&t, false, &ev, 1), 1);
	const struct tw_tty_write *w = (const void *)ev.hdr;
	const struct tw_varlen_field *f = tty_out(&ev);
	cr_assert_eq(w->orig_len, 20480);
	cr_assert_eq(f->size, 8192);
	cr_assert(f->flags & TW_FIELD_FLAG_TRUNCATED);
	cr_assert_eq(memcmp(f->data, big_buf, 8192), 0);
	cJSON *j = it_json(&ev);
	cr_assert_eq(it_json_num(j, "orig_len"), 20480);
	cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "truncated_fields"), 0)->valuestring,
			 "tty_out");
	cJSON_Delete(j);
	it_stop(&t);
	free(big_buf);
	close_pty();
}

/* ---- writev: segments joined in order ---- */

static void run_writev(void *arg)
{
	struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
	if (writev(slave_fd, iov, 3) != 14)
		_exit(121);
}

Test(tty, writev_segments_are_joined_in_order)
{
	struct it_trace t;
	struct tw_event ev;

	open_pty();
	it_start(&t, TW_EVENTS_TTY, false, run_writev, NULL);
	it_run(&t, 5000);
	cr_assert_eq(tty_events(&t, false, &ev, 1), 1);
	const struct tw_varlen_field *f = tty_out(&ev);
	cr_assert_eq(f->size, 14);
	cr_assert_eq(memcmp(f->data, "one two three\n", 14), 0);
	cr_assert_eq(((const struct tw_tty_write *)ev.hdr)->orig_len, 14);
	it_stop(&t);
	close_pty();
}

/* ---- the master side (what a terminal emulator or sshd writes) is told apart ---- */

static void run_write_master(void *arg)
{
	write_all(master_fd, "typed\n", 6);
}

Test(tty, master_writes_are_distinguished)
{
	struct it_trace t;
	struct tw_event ev;

	open_pty();
	it_start(&t, TW_EVENTS_TTY, false, run_write_master, NULL);
	it_run(&t, 5000);
	cr_assert_eq(tty_events(&t, true, &ev, 1), 1);
	cr_assert_eq(tty_events(&t, false, NULL, 0), 0);
	cJSON *j = it_json(&ev);
	cr_assert_str_eq(it_json_str(j, "side"), "master");
	cr_assert_str_eq(it_json_str(j, "tty_out"), "typed\n");
	cJSON_Delete(j);
	it_stop(&t);
	close_pty();
}

/* ---- a byte budget per tty: the excess is dropped in the kernel and counted ---- */

static void run_over_budget(void *arg)
{
	char chunk[500];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 10; i++) /* 5000 bytes against a 1000-byte budget */
		write_all(slave_fd, chunk, sizeof(chunk));
	sleep(1); /* next window: this event carries what was dropped */
	write_all(slave_fd, "after\n", 6);
}

Test(tty, budget_drops_and_counts_the_excess)
{
	struct it_trace t;
	struct tw_event ev[16];
	struct tw_stats s;

	open_pty();
	start_drain();
	it_tty_budget = 1000;
	it_start(&t, TW_EVENTS_TTY, false, run_over_budget, NULL);
	it_tty_budget = 0;
	it_run(&t, 10000);
	stop_drain();
	cr_assert_eq(tty_events(&t, false, ev, 16), 3, "two 500-byte writes fit, then 'after'");
	cr_assert_eq(((const struct tw_tty_write *)ev[2].hdr)->dropped_bytes, 4000);
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	cr_assert_eq(s.type[TW_EVENT_PROCESS_TTY_WRITE].rate_limited, 8);
	cr_assert_eq(s.type[TW_EVENT_PROCESS_TTY_WRITE].rate_limited_bytes, 4000);
	it_stop(&t);
	close_pty();
}

/* ---- 50 MB as fast as possible: every write delivered or counted, no wedge ---- */

#define SPAM_CHUNK 65536
#define SPAM_WRITES ((int)it_scaled(800)) /* 50 MiB (TW_TEST_SCALE: fewer in emulated guests) */

static void run_spam(void *arg)
{
	static char chunk[SPAM_CHUNK];
	memset(chunk, 'z', sizeof(chunk));
	for (int i = 0; i < SPAM_WRITES; i++)
		write_all(slave_fd, chunk, sizeof(chunk));
}

Test(tty, spam_of_50mb_is_delivered_or_counted, .timeout = 180)
{
	struct it_trace t;
	struct tw_stats s;

	open_pty();
	start_drain();
	it_start(&t, TW_EVENTS_TTY, false, run_spam, NULL);
	it_run(&t, 120000);
	stop_drain();
	size_t got = tty_events(&t, false, NULL, 0);
	cr_assert_eq(tw_ctx_stats(t.ctx, &s), 0);
	const struct tw_type_stats *x = &s.type[TW_EVENT_PROCESS_TTY_WRITE];
	cr_log_info("tty spam: %zu of %d writes delivered, %llu lost", got, SPAM_WRITES,
		    (unsigned long long)(x->lost_ringbuf + x->lost_scratch));
	cr_assert_eq(got + x->lost_ringbuf + x->lost_scratch, SPAM_WRITES);
	it_stop(&t);
	close_pty();
}

/* ---- pwritev2 with offset -1 writes a tty like writev ---- */

static void run_pwritev2(void *arg)
{
	struct iovec iov[2] = {{"left ", 5}, {"right\n", 6}};
	if (pwritev2(slave_fd, iov, 2, -1, 0) != 11)
		_exit(121);
}

Test(tty, pwritev2_is_captured_like_writev)
{
	struct it_trace t;
	struct tw_event ev;

	open_pty();
	it_start(&t, TW_EVENTS_TTY, false, run_pwritev2, NULL);
	int status = it_run(&t, 5000);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(tty_events(&t, false, &ev, 1), 1);
	const struct tw_varlen_field *f = tty_out(&ev);
	cr_assert_eq(f->size, 11);
	cr_assert_eq(memcmp(f->data, "left right\n", 11), 0);
	it_stop(&t);
	close_pty();
}
