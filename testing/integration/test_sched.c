// SPDX-License-Identifier: Apache-2.0
/*
 * Run-queue latency per cgroup on the real probes: CPU hogs in one cgroup
 * and a periodic sleeper in another, all pinned to one CPU. The sleeper's
 * cgroup must show the latency, with the hog cgroup as its offender; with the
 * hogs gone its latency must fall back; and the sum of its measured waits
 * must agree with the kernel's own count, run_delay in /proc/PID/schedstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <criterion/criterion.h>

#include "harness.h"
#include "json_writer.h"
#include "probe_table.h"
#include "tracewire_sched.h"

#define N_HOGS 2
/*
 * The sleeper wants 60 % of its CPU, more than its cgroup's fair half
 * against the hogs' cgroup, so besides waiting after each wakeup it is also
 * preempted in favour of the hogs now and then.
 */
#define CYCLES 200       /* sleeper cycles per phase */
#define SPIN_US 3000     /* work per cycle */
#define SLEEP_US 2000    /* sleep per cycle */

/* EEVDF replaced CFS's pick in 6.6; its sched_entity has a deadline (BTF, not the version). */
static bool scheduler_is_eevdf(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool eevdf = !btf || tw_btf_has_member(btf, "sched_entity", "deadline");

	btf__free(btf); /* no BTF: the probes would not have loaded either */
	return eevdf;
}

/* ---- collected records (copied: the library's are valid only in the callback) ---- */

struct rec {
	struct tw_sched_record r;
	struct tw_sched_offender offs[TW_SCHED_MAX_OFFENDERS];
};

static struct rec recs[256];
static size_t n_recs;

static int collect(void *user, const struct tw_sched_record *r)
{
	struct rec *c;

	cr_assert_lt(n_recs, sizeof(recs) / sizeof(recs[0]));
	c = &recs[n_recs++];
	c->r = *r;
	c->r.cgroup_path = r->cgroup_path ? strdup(r->cgroup_path) : NULL;
	for (size_t i = 0; i < r->n_offenders && i < TW_SCHED_MAX_OFFENDERS; i++) {
		c->offs[i] = r->offenders[i];
		c->offs[i].path = r->offenders[i].path ? strdup(r->offenders[i].path) : NULL;
	}
	c->r.offenders = c->offs;
	return 0;
}

/* The record of cgroup id in interval seq (NULL: its tasks did not run). */
static const struct tw_sched_record *find_rec(uint64_t seq, uint64_t id)
{
	for (size_t i = 0; i < n_recs; i++)
		if (recs[i].r.seq == seq && recs[i].r.cgroup_id == id)
			return &recs[i].r;
	return NULL;
}

static const struct tw_sched_offender *find_offender(const struct tw_sched_record *r, uint64_t id)
{
	for (size_t i = 0; i < r->n_offenders; i++)
		if (r->offenders[i].cgroup_id == id)
			return &r->offenders[i];
	return NULL;
}

/* ---- workload ---- */

/* Pinned to CPU 0; dies with the test process, so a failed assertion leaves no hog behind. */
static void pin_cpu0(void)
{
	cpu_set_t set;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		_exit(121);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static pid_t spawn_hog(const char *cg)
{
	pid_t p = fork();

	cr_assert_geq(p, 0);
	if (p == 0) {
		if (it_cgroup_enter(cg, 0))
			_exit(122);
		pin_cpu0();
		uint64_t end = now_ns() + 60 * 1000000000ull; /* a bound, in case nobody kills us */
		while (now_ns() < end)
			;
		_exit(0);
	}
	return p;
}

/*
 * The sleeper runs CYCLES cycles of (spin, sleep) each time it reads a byte
 * from `go`, then writes a byte to `done`, then blocks on `go` again: while
 * blocked it is not runnable, so neither we nor schedstat count anything for
 * it, and the test can read both sides at rest.
 */
static pid_t spawn_sleeper(const char *cg, int go[2], int done[2])
{
	pid_t p = fork();

	cr_assert_geq(p, 0);
	if (p == 0) {
		char c;

		/* only the test holds go's write end: its close ends us */
		close(go[1]);
		close(done[0]);
		if (it_cgroup_enter(cg, 0))
			_exit(122);
		pin_cpu0();
		while (read(go[0], &c, 1) == 1) {
			for (int i = 0; i < CYCLES; i++) {
				uint64_t end = now_ns() + SPIN_US * 1000ull;
				struct timespec ts = {0, SLEEP_US * 1000L};
				while (now_ns() < end)
					;
				nanosleep(&ts, NULL);
			}
			if (write(done[1], "d", 1) != 1)
				_exit(123);
		}
		_exit(0);
	}
	return p;
}

/* run_delay (ns) from /proc/PID/schedstat: on-CPU time, run-queue wait, timeslices. */
static uint64_t run_delay(pid_t pid)
{
	char path[64];
	unsigned long long run, delay;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s (kernel without CONFIG_SCHED_INFO?)", path);
	cr_assert_eq(fscanf(f, "%llu %llu", &run, &delay), 2);
	fclose(f);
	return delay;
}

/* Wait until pid sleeps (state S) in its read(): it has left the run queue. */
static void wait_blocked(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 1000; i++) {
		f = fopen(path, "r");
		cr_assert_not_null(f);
		buf[0] = '\0';
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		usleep(1000);
	}
	cr_assert_fail("sleeper %d never blocked", pid);
}

/* One phase: release the sleeper, wait for its cycles, flush the interval. */
static uint64_t run_phase(struct tw_sched *s, pid_t sleeper, int go, int done, uint64_t *delay)
{
	uint64_t before = run_delay(sleeper), seq;
	char c;

	cr_assert_eq(write(go, "g", 1), 1);
	cr_assert_eq(read(done, &c, 1), 1);
	wait_blocked(sleeper);
	*delay = run_delay(sleeper) - before;
	cr_assert_geq(tw_sched_flush(s), 0);
	seq = recs[n_recs - 1].r.seq;
	return seq;
}

static void print_rec(const char *what, const struct tw_sched_record *r)
{
	struct tw_json j;
	size_t len;
	const char *line;

	tw_json_init(&j);
	tw_sched_record_to_json(&j, r);
	line = tw_json_finish(&j, &len);
	cr_log_info("%s: %.*s", what, (int)len, line ? line : "(none)");
	tw_json_free(&j);
}

/*
 * The noisy-neighbour scenario under one clock (enum tw_sched_clock): the
 * same assertions hold for both, except how closely our sums follow
 * run_delay (see the end).
 */
static void noisy_neighbour(int clock)
{
	struct tw_sched_options o;
	struct tw_sched *s;
	char err[512], root[256], hog_cg[300], sleep_cg[300];
	uint64_t hog_id, sleep_id, seq1, seq2, delay1, delay2;
	const struct tw_sched_record *r1, *r2;
	const struct tw_sched_offender *off;
	pid_t hogs[N_HOGS], sleeper;
	int go[2], done[2];
	double agree1, agree2;

	it_require_bpf();
	tw_sched_options_init(&o);
	o.interval_ms = 3600 * 1000; /* the test ends intervals itself (tw_sched_flush) */
	o.max_offenders = TW_SCHED_MAX_OFFENDERS;
	o.clock = clock;
	cr_assert_eq(tw_sched_open(&s, &o, collect, NULL, err, sizeof(err)), 0, "%s", err);
	cr_log_info("clock: %s", tw_sched_clock_name(clock));
	/* cgroups in the hierarchy the library counts by (v1 cpu here, v2 on unified hosts) */
	snprintf(root, sizeof(root), "%s", tw_sched_cgroup_mount(s));
	cr_assert_neq(root[0], '\0', "the %s hierarchy is not mounted",
		      tw_sched_hierarchy_name(tw_sched_hierarchy_of(s)));
	hog_id = it_cgroup_create(root, "tw-it-hog", hog_cg, sizeof(hog_cg));
	sleep_id = it_cgroup_create(root, "tw-it-sleep", sleep_cg, sizeof(sleep_cg));
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	sleeper = spawn_sleeper(sleep_cg, go, done);
	close(go[0]);
	close(done[1]);
	for (int i = 0; i < N_HOGS; i++)
		hogs[i] = spawn_hog(hog_cg);
	usleep(100000); /* hogs in their cgroup and spinning */
	tw_sched_flush(s); /* start clean: what came before is not part of the phases */

	/* phase 1: contended */
	seq1 = run_phase(s, sleeper, go[1], done[0], &delay1);
	for (int i = 0; i < N_HOGS; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
	}
	tw_sched_flush(s); /* the hogs' deaths are not part of phase 2 */
	/*
	 * phase 2: alone. The machine is shared: other work on CPU 0 can make a
	 * quiet phase noisy, so up to four are run and the quietest counts.
	 */
	seq2 = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		uint64_t d, sq = run_phase(s, sleeper, go[1], done[0], &d);
		const struct tw_sched_record *q = find_rec(sq, sleep_id), *best = find_rec(seq2, sleep_id);

		cr_assert_not_null(q, "no record of the sleeper's cgroup in a quiet phase");
		if (!best || q->sum_ns < best->sum_ns) {
			seq2 = sq;
			delay2 = d;
		}
		if (q->p90_ns < 200000)
			break; /* quiet enough: no hog-sized waits at all */
	}
	close(go[1]);
	kill(sleeper, SIGKILL); /* it would end on EOF anyway; do not wait for it */
	waitpid(sleeper, NULL, 0);
	tw_sched_close(s);
	it_cgroup_remove(hog_cg);
	it_cgroup_remove(sleep_cg);

	r1 = find_rec(seq1, sleep_id);
	r2 = find_rec(seq2, sleep_id);
	cr_assert_not_null(r1, "no record of the sleeper's cgroup in the contended phase");
	cr_assert_not_null(r2, "no record of the sleeper's cgroup in the quiet phase");
	print_rec("contended", r1);
	print_rec("quiet", r2);
	agree1 = delay1 ? (double)r1->sum_ns / (double)delay1 : 0;
	agree2 = delay2 ? (double)r2->sum_ns / (double)delay2 : 0;
	cr_log_info("contended: %lu waits, sum %lu ns, schedstat run_delay +%lu ns (ratio %.4f); "
		    "quiet: %lu waits, sum %lu ns, run_delay +%lu ns (ratio %.4f)",
		    (unsigned long)r1->count, (unsigned long)r1->sum_ns, (unsigned long)delay1, agree1,
		    (unsigned long)r2->count, (unsigned long)r2->sum_ns, (unsigned long)delay2, agree2);

	/* the path resolves to the directory we made */
	cr_assert_not_null(r1->cgroup_path);
	cr_assert_str_eq(r1->cgroup_path, sleep_cg + strlen(root));
	/* every cycle is a wakeup: at least one measured wait each */
	cr_assert_geq(r1->count, CYCLES);
	cr_assert_geq(r1->switches, CYCLES);
	/* with two hogs on its CPU the sleeper waits for their slices: milliseconds */
	cr_assert_gt(r1->p90_ns, 200000, "contended p90 %lu ns", (unsigned long)r1->p90_ns);
	/*
	 * The hog cgroup is an offender: it ran while the sleeper waited, for a
	 * good share of the sleeper's latency, and it preempted the sleeper. (Not
	 * necessarily the top one: on a shared machine other work in the root
	 * cgroup runs on CPU 0 too.)
	 */
	off = find_offender(r1, hog_id);
	cr_assert_not_null(off, "the hog cgroup %lu is not among the sleeper's offenders",
			   (unsigned long)hog_id);
	cr_assert_geq(off->waited, CYCLES / 4, "hogs ran during only %lu waits", (unsigned long)off->waited);
	cr_assert_geq(off->waited_ns * 4, r1->sum_ns, "hogs explain %lu of %lu ns",
		      (unsigned long)off->waited_ns, (unsigned long)r1->sum_ns);
	/*
	 * EEVDF (6.6+) cuts the sleeper's 3 ms spin at its slice; CFS's sleeper
	 * credit (half a 6 ms latency period) can let it run every spin out, so
	 * on CFS kernels (the matrix's 6.1) no preemption is a correct answer.
	 */
	if (scheduler_is_eevdf())
		cr_assert_geq(off->preempted, 1);
	else
		cr_log_info("CFS scheduler: the hogs preempted the sleeper %lu times (not required)",
			    (unsigned long)off->preempted);
	cr_assert_geq(r1->preempted_cross, off->preempted);
	/* offenders come most first */
	for (size_t i = 1; i < r1->n_offenders; i++)
		cr_assert_geq(r1->offenders[i - 1].preempted + r1->offenders[i - 1].waited,
			      r1->offenders[i].preempted + r1->offenders[i].waited);
	/* and the hogs' cgroup was seen from its side too: preempted by the sleeper's */
	{
		const struct tw_sched_record *h = find_rec(seq1, hog_id);
		cr_assert_not_null(h);
		cr_assert_geq(h->preempted_cross, 1);
		cr_assert_not_null(find_offender(h, sleep_id));
	}

	/* alone, the latency falls back: no hog offender, a fraction of the contended latency */
	cr_assert_geq(r2->count, CYCLES);
	cr_assert_null(find_offender(r2, hog_id));
	/*
	 * What other cgroups' tasks caused is named in the offenders (other work
	 * on a shared machine, in the root cgroup); what no other cgroup
	 * explains is less than half of what the hogs caused.
	 */
	{
		uint64_t explained = 0, unexplained;

		for (size_t i = 0; i < r2->n_offenders; i++)
			explained += r2->offenders[i].waited_ns;
		unexplained = r2->sum_ns > explained ? r2->sum_ns - explained : 0;
		cr_assert_lt(unexplained * 2, off->waited_ns,
			     "quiet sum %lu ns (%lu ns behind other cgroups), hogs caused %lu ns",
			     (unsigned long)r2->sum_ns, (unsigned long)explained,
			     (unsigned long)off->waited_ns);
	}
	if (r2->p90_ns < 200000) {
		/* and when nothing else ran there, it is back to microseconds */
		cr_assert_lt(r2->p90_ns * 4, r1->p90_ns, "quiet p90 %lu ns vs contended %lu ns",
			     (unsigned long)r2->p90_ns, (unsigned long)r1->p90_ns);
		cr_assert_lt(r2->sum_ns * 4, r1->sum_ns);
	} else {
		cr_log_info("CPU 0 was never quiet (other work on the machine, quiet p90 %lu ns): "
			    "only the hogs' share was checked", (unsigned long)r2->p90_ns);
	}

	/*
	 * fidelity: our summed waits agree with the kernel's run_delay within 5 %.
	 * The own clock ends each wait at sched_switch, after the run-queue clock
	 * run_delay ends with: the pick in between costs ~0.1 us here, but ~100 us
	 * per wait under the kernel matrix's software emulation (TW_TEST_EMULATED,
	 * set by its guests: 1.04-1.07 measured), which gets 10 % for this clock.
	 */
	double slack = clock == TW_SCHED_CLOCK_OWN && getenv("TW_TEST_EMULATED") ? 0.10 : 0.05;
	cr_assert(agree1 > 1 - slack && agree1 < 1 + slack,
		  "contended: summed latency %lu ns vs run_delay %lu ns (ratio %.4f, slack %.2f)",
		  (unsigned long)r1->sum_ns, (unsigned long)delay1, agree1, slack);
	if (clock == TW_SCHED_CLOCK_SCHED_INFO) {
		/*
		 * The scheduler's own figures: our sum is run_delay's growth, in
		 * both phases; the only slack is a wait that straddles the flush
		 * (the sleeper may still be switched out and in after writing
		 * `done`).
		 */
		cr_assert(agree2 > 0.95 && agree2 < 1.05,
			  "quiet: summed latency %lu ns vs run_delay %lu ns (ratio %.4f)",
			  (unsigned long)r2->sum_ns, (unsigned long)delay2, agree2);
		return;
	}
	/*
	 * Alone, each wait is a few microseconds and run_delay misses most of
	 * it: a wakeup that preempts sets RQCF_ACT_SKIP (rq_clock_skip_update()),
	 * so the switch that follows reuses the rq clock of the wakeup, and the
	 * time from the wakeup to the switch (interrupt exit, leaving idle) is
	 * never added to run_delay. The same skip dates the wait of a task
	 * preempted by such a wakeup back to the wakeup, while it still ran, so
	 * run_delay is a little high for a task that is often preempted (other
	 * work on a shared machine). We time both ends with the real clock: more
	 * than run_delay for short waits, at most a few percent less otherwise.
	 */
	cr_assert_geq(agree2, 0.95, "quiet: summed latency %lu ns below run_delay %lu ns",
		      (unsigned long)r2->sum_ns, (unsigned long)delay2);
}

Test(sched, noisy_neighbour_latency_offenders_and_schedstat_agreement, .timeout = 120)
{
	noisy_neighbour(TW_SCHED_CLOCK_OWN);
}

Test(sched, noisy_neighbour_with_the_sched_info_clock, .timeout = 120)
{
	noisy_neighbour(TW_SCHED_CLOCK_SCHED_INFO);
}

/* Write a cgroup control file (e.g. the CPU quota). */
static void cg_write(const char *cg, const char *file, const char *val)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_gt(fprintf(f, "%s", val), 0);
	cr_assert_eq(fclose(f), 0, "writing %s to %s failed", val, path);
}

/*
 * Throttling is not contention: a lone hog under a 10 % CPU quota waits on
 * the run queue for most of every period, and its record says why, with the
 * cpu.stat counters of the interval, and names no offender.
 */
Test(sched, throttled_cgroup_reports_cpu_stat_counters, .timeout = 60)
{
	struct tw_sched_options o;
	struct tw_sched *s;
	char err[512], cg[300];
	const struct tw_sched_record *r;
	uint64_t id, seq;
	pid_t hog;
	int h;

	it_require_bpf();
	tw_sched_options_init(&o);
	o.interval_ms = 3600 * 1000;
	cr_assert_eq(tw_sched_open(&s, &o, collect, NULL, err, sizeof(err)), 0, "%s", err);
	h = tw_sched_hierarchy_of(s);
	if (h == TW_SCHED_HIERARCHY_V1_MEMORY)
		cr_skip_test("no cpu controller: nothing to throttle with");
	id = it_cgroup_create(tw_sched_cgroup_mount(s), "tw-it-quota", cg, sizeof(cg));
	if (h == TW_SCHED_HIERARCHY_V1_CPU) {
		cg_write(cg, "cpu.cfs_period_us", "100000");
		cg_write(cg, "cpu.cfs_quota_us", "10000");
	} else {
		cg_write(cg, "cpu.max", "10000 100000");
	}
	hog = spawn_hog(cg);
	usleep(300000);
	tw_sched_flush(s); /* the first reading of its cpu.stat: the baseline */
	usleep(600000);
	tw_sched_flush(s);
	seq = recs[n_recs - 1].r.seq;
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	tw_sched_close(s);
	it_cgroup_remove(cg);

	r = find_rec(seq, id);
	cr_assert_not_null(r, "no record of the throttled cgroup");
	print_rec("throttled", r);
	cr_assert(r->throttling.available, "cpu.stat not read");
	cr_assert(r->throttling.has_delta, "no interval figures on the second reading");
	/* ~6 periods of 100 ms in 0.6 s, each throttled after 10 ms */
	cr_assert_geq(r->throttling.interval_nr_periods, 4);
	cr_assert_geq(r->throttling.interval_nr_throttled, 4);
	cr_assert_gt(r->throttling.interval_throttled_usec, 300000);
	/* its waits are the throttled time (~90 ms per period), not other cgroups' doing */
	cr_assert_gt(r->max_ns, 50000000ull, "max wait %lu ns", (unsigned long)r->max_ns);
	cr_assert_gt(r->sum_ns, r->throttling.interval_throttled_usec * 1000 / 2);
}
