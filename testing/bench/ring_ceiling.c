// SPDX-License-Identifier: Apache-2.0
/*
 * The synthetic maximum: a getppid loop on every CPU, turned into ring
 * buffer records by one program of bpf/ring_ceiling.bpf.c, consumed by this
 * process with libbpf's ring_buffer. Prints one line of key=value counts;
 * testing/bench/ring_ceiling.sh alternates the modes and computes ratios.
 *
 * Usage: ring_ceiling MODE SECONDS [--ring-bytes N] [--wakeup-bytes N]
 *                     [--bare-size N] [--json]
 *   none      the loop alone (also the baseline when another tracer runs)
 *   floor     an empty program on the hook
 *   bare      bpf_ringbuf_output of --bare-size bytes (default 64), counted
 *   tw        a tracewire record (tw_emit.h), decoded with the library's
 *             decoder, and with --json also rendered as NDJSON (not written)
 *   tw_nopid  the tw path without the task's pid block (where the time goes)
 *   filtered  the probes' pid filter rejecting this process
 *
 * The consumer is the main thread and is not pinned: on 2 CPUs it competes
 * with the producers, as an agent does. Its CPU time is measured alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ring_ceiling.skel.h"
#include "tracewire_decode.h"
#include "tracewire_json.h"

struct producer {
	pthread_t thread;
	int cpu;
	unsigned long long calls;
};

static atomic_int stop_loop;
static unsigned long long delivered, decode_errors, json_bytes;
static int render_json;
static struct tw_json json;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	/* the flag is read every 256 calls so the check costs nothing measurable */
	while (!atomic_load_explicit(&stop_loop, memory_order_relaxed)) {
		for (int i = 0; i < 256; i++)
			syscall(SYS_getppid);
		p->calls += 256;
	}
	return NULL;
}

static int on_bare(void *ctx, void *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	delivered++;
	return 0;
}

static int on_tw(void *ctx, void *data, size_t len)
{
	struct tw_event ev;

	(void)ctx;
	if (tw_event_decode(data, len, &ev) != TW_DECODE_OK) {
		decode_errors++;
		return 0;
	}
	delivered++;
	if (render_json) {
		size_t n;
		tw_json_reset(&json);
		tw_event_to_json(&json, &ev);
		if (tw_json_finish(&json, &n))
			json_bytes += n; /* the line ends with its newline */
	}
	return 0;
}

static unsigned long long percpu_sum(int map_fd, __u32 key, size_t value_size, size_t member_off)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long sum = 0;
	char *vals = calloc(ncpu, value_size);

	if (vals && bpf_map_lookup_elem(map_fd, &key, vals) == 0)
		for (int c = 0; c < ncpu; c++)
			sum += *(unsigned long long *)(vals + c * value_size + member_off);
	free(vals);
	return sum;
}

/* memlock of every BPF map and program this process holds (what the kernel charges). */
static unsigned long long bpf_memlock_kb(void)
{
	unsigned long long total = 0, v;
	char path[300], line[256];
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "memlock: %llu", &v) == 1)
				total += v;
		fclose(f);
	}
	closedir(d);
	return total / 1024;
}

static long peak_rss_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	unsigned ring_bytes = 8u << 20, wakeup_bytes = 64 * 1024, bare_size = 64;
	struct ring_ceiling_bpf *skel = NULL;
	struct bpf_program *prog = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_link *link = NULL;
	unsigned long long calls = 0, emitted = 0, lost = 0, filtered = 0, run_ns = 0, run_cnt = 0;
	struct rusage ru;
	const char *mode;
	double seconds, t0, elapsed, cpu_s;
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct producer *prod;

	if (argc < 3) {
		fprintf(stderr, "usage: ring_ceiling none|floor|bare|tw|tw_nopid|filtered SECONDS [--ring-bytes N] "
				"[--wakeup-bytes N] [--bare-size N] [--json]\n");
		return 2;
	}
	mode = argv[1];
	seconds = atof(argv[2]);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			render_json = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--ring-bytes"))
			ring_bytes = strtoul(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--wakeup-bytes"))
			wakeup_bytes = strtoul(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--bare-size"))
			bare_size = strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "ring_ceiling: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	tw_json_init(&json);

	if (strcmp(mode, "none")) {
		struct bpf_program *p;
		const char *want = !strcmp(mode, "floor") ? "rc_floor"
				   : !strcmp(mode, "bare") ? "rc_bare"
				   : !strcmp(mode, "tw")   ? "rc_tw"
				   : !strcmp(mode, "tw_nopid") ? "rc_tw_nopid"
				   : !strcmp(mode, "filtered") ? "rc_filtered" : NULL;
		if (!want) {
			fprintf(stderr, "ring_ceiling: unknown mode %s\n", mode);
			return 2;
		}
		skel = ring_ceiling_bpf__open();
		if (!skel) {
			fprintf(stderr, "ring_ceiling: opening the BPF object failed\n");
			return 1;
		}
		bpf_object__for_each_program(p, skel->obj) {
			bool mine = !strcmp(bpf_program__name(p), want);
			bpf_program__set_autoload(p, mine);
			if (mine)
				prog = p;
		}
		skel->rodata->rc_tgid = getpid();
		skel->rodata->rc_bare_size = bare_size;
		if (!strcmp(mode, "filtered"))
			skel->rodata->tw_cfg_pid_filter_used = 1;
		bpf_map__set_max_entries(skel->maps.tw_ringbuf, ring_bytes);
		bpf_map__set_max_entries(skel->maps.tw_scratch_map, libbpf_num_possible_cpus());
		if (ring_ceiling_bpf__load(skel)) {
			fprintf(stderr, "ring_ceiling: loading %s failed\n", want);
			return 1;
		}
		skel->bss->tw_cfg_wakeup_bytes = wakeup_bytes;
		if (!strcmp(mode, "filtered")) {
			__u32 tgid = getpid(), flags = TW_PID_EXCLUDE;
			bpf_map_update_elem(bpf_map__fd(skel->maps.tw_pid_filter), &tgid, &flags, BPF_ANY);
		}
		if (!strcmp(mode, "bare") || !strncmp(mode, "tw", 2)) {
			rb = ring_buffer__new(bpf_map__fd(skel->maps.tw_ringbuf),
					      !strcmp(mode, "bare") ? on_bare : on_tw, NULL, NULL);
			if (!rb) {
				fprintf(stderr, "ring_ceiling: ring_buffer__new failed\n");
				return 1;
			}
		}
		link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "ring_ceiling: attaching %s failed: %s\n", want, strerror(errno));
			return 1;
		}
	}

	prod = calloc(ncpu, sizeof(*prod));
	getrusage(RUSAGE_THREAD, &ru);
	cpu_s = -(ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		  ru.ru_stime.tv_usec / 1e6);
	t0 = now_s();
	for (int c = 0; c < ncpu; c++) {
		prod[c].cpu = c;
		pthread_create(&prod[c].thread, NULL, produce, &prod[c]);
	}
	/* consume while the loop runs; without a ring the main thread just waits */
	while (now_s() - t0 < seconds) {
		if (rb)
			ring_buffer__poll(rb, 100);
		else
			usleep(50000);
	}
	atomic_store(&stop_loop, 1);
	for (int c = 0; c < ncpu; c++) {
		pthread_join(prod[c].thread, NULL);
		calls += prod[c].calls;
	}
	elapsed = now_s() - t0;
	if (rb)
		ring_buffer__consume(rb); /* what was still pending is delivered, not lost */
	getrusage(RUSAGE_THREAD, &ru);
	cpu_s += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		 ru.ru_stime.tv_usec / 1e6;

	if (skel) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
			run_ns = info.run_time_ns;
			run_cnt = info.run_cnt;
		}
		if (!strcmp(mode, "bare")) {
			int fd = bpf_map__fd(skel->maps.rc_counts);
			emitted = percpu_sum(fd, 0, sizeof(__u64), 0);
			lost = percpu_sum(fd, 1, sizeof(__u64), 0);
		} else {
			int fd = bpf_map__fd(skel->maps.tw_stats);
			__u32 t = TW_EVENT_PROCESS_LOAD_MODULE;
			size_t sz = sizeof(struct tw_kernel_stats);
			emitted = percpu_sum(fd, t, sz, offsetof(struct tw_kernel_stats, emitted));
			lost = percpu_sum(fd, t, sz, offsetof(struct tw_kernel_stats, lost_ringbuf)) +
			       percpu_sum(fd, t, sz, offsetof(struct tw_kernel_stats, lost_scratch));
			filtered = percpu_sum(fd, t, sz, offsetof(struct tw_kernel_stats, filtered));
		}
	}
	printf("ring_ceiling mode=%s seconds=%.3f cpus=%d calls=%llu calls_per_s=%.0f emitted=%llu "
	       "lost=%llu filtered=%llu delivered=%llu decode_errors=%llu json_bytes=%llu "
	       "bpf_run_ns=%llu bpf_run_cnt=%llu consumer_cpu_s=%.3f rss_kb=%ld bpf_memlock_kb=%llu\n",
	       mode, elapsed, ncpu, calls, calls / elapsed, emitted, lost, filtered, delivered,
	       decode_errors, json_bytes, run_ns, run_cnt, cpu_s, peak_rss_kb(), bpf_memlock_kb());
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	ring_ceiling_bpf__destroy(skel);
	tw_json_free(&json);
	free(prod);
	return 0;
}
