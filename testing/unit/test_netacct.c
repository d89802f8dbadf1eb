// SPDX-License-Identifier: Apache-2.0
/*
 * Network accounting without the kernel: the atop record, byte for byte,
 * and the retention/eviction decision (non-GPL/lib/netacct_core.c).
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tracewire_netacct.h"

static uint64_t u64_at(const unsigned char *r, size_t off)
{
	uint64_t v;
	memcpy(&v, r + off, 8);
	return v;
}

static struct tw_netacct_proc sample(void)
{
	struct tw_netacct_proc p;

	memset(&p, 0, sizeof(p));
	p.pid = 0x01020304;
	p.start_epoch_s = 0x1122334455667788ull;
	strcpy(p.comm, "nginx");
	p.tcp_out = (struct tw_netacct_dir){.calls = 1, .payload_bytes = 2, .packets = 900, .wire_bytes = 901};
	p.tcp_in = (struct tw_netacct_dir){.calls = 3, .payload_bytes = 4, .packets = 902, .wire_bytes = 903};
	p.udp_out = (struct tw_netacct_dir){.calls = 5, .payload_bytes = 6, .packets = 904, .wire_bytes = 905};
	p.udp_in = (struct tw_netacct_dir){.calls = 7, .payload_bytes = 8, .packets = 906, .wire_bytes = 907};
	return p;
}

Test(netatop_record, exact_layout)
{
	struct tw_netacct_proc p = sample();
	unsigned char r[TW_NETATOP_RECORD_SIZE];
	/* x86_64 little endian: id, padding, btime, command[16], eight counters */
	static const unsigned char head[32] = {
		0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		'n', 'g', 'i', 'n', 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};

	cr_assert_eq(TW_NETATOP_RECORD_SIZE, 96);
	memset(r, 0xee, sizeof(r));
	tw_netatop_encode(&p, r);
	cr_assert_arr_eq(r, head, sizeof(head));
	/* atop's counters are the socket layer's calls and payload, never the wire figures */
	for (int i = 0; i < 8; i++)
		cr_assert_eq(u64_at(r, 32 + 8 * i), (uint64_t)(i + 1), "counter %d at offset %d", i,
			     32 + 8 * i);
}

Test(netatop_record, command_of_sixteen_bytes_keeps_a_nul)
{
	struct tw_netacct_proc p = sample();
	unsigned char r[TW_NETATOP_RECORD_SIZE];

	memcpy(p.comm, "abcdefghijklmnop", 16); /* no NUL at all: must not run over */
	tw_netatop_encode(&p, r);
	cr_assert_eq(memcmp(r + 16, "abcdefghijklmno", 15), 0);
	cr_assert_eq(r[31], 0);
	cr_assert_eq(u64_at(r, 32), 1); /* the next field untouched by the name */
}

Test(netatop_record, terminator_is_all_zero)
{
	unsigned char r[TW_NETATOP_RECORD_SIZE];

	memset(r, 0xff, sizeof(r));
	tw_netatop_encode_end(r);
	for (int i = 0; i < TW_NETATOP_RECORD_SIZE; i++)
		cr_assert_eq(r[i], 0, "byte %d", i);
}

Test(netatop_record, negative_looking_pid_stays_32_bits)
{
	struct tw_netacct_proc p = sample();
	unsigned char r[TW_NETATOP_RECORD_SIZE];

	p.pid = 4194304; /* pid_max on 64-bit: needs more than 16 bits */
	tw_netatop_encode(&p, r);
	cr_assert_eq(r[0] | r[1] << 8 | r[2] << 16 | (uint32_t)r[3] << 24, 4194304u);
	cr_assert_eq(r[4] | r[5] | r[6] | r[7], 0);
}

#define S 1000000000ull

Test(eviction, retention_keeps_young_exited_and_all_live)
{
	/* alive, exited 10 s ago, exited 70 s ago, exited 59 s ago; retention 60 s */
	uint64_t exit_ns[] = {0, 90 * S, 30 * S, 41 * S};
	bool evict[4];
	size_t early, n;

	n = tw_netacct_plan_eviction(exit_ns, 4, 100 * S, 60 * S, 100, evict, &early);
	cr_assert_eq(n, 1);
	cr_assert_eq(early, 0);
	cr_assert(!evict[0] && !evict[1] && evict[2] && !evict[3]);
}

Test(eviction, pressure_evicts_oldest_exited_first_never_live)
{
	/* six entries, room for three: the three oldest exited go, live ones stay */
	uint64_t exit_ns[] = {0, 50 * S, 10 * S, 0, 30 * S, 20 * S};
	bool evict[6];
	size_t early, n;

	n = tw_netacct_plan_eviction(exit_ns, 6, 60 * S, 3600 * S, 3, evict, &early);
	cr_assert_eq(n, 3);
	cr_assert_eq(early, 3);
	cr_assert(evict[2] && evict[5] && evict[4], "oldest three exited");
	cr_assert(!evict[0] && !evict[3] && !evict[1]);
}

Test(eviction, all_live_and_full_evicts_nothing)
{
	uint64_t exit_ns[] = {0, 0, 0, 0};
	bool evict[4];
	size_t early;

	cr_assert_eq(tw_netacct_plan_eviction(exit_ns, 4, 10 * S, 60 * S, 2, evict, &early), 0);
	cr_assert_eq(early, 0);
}

Test(eviction, pressure_spares_processes_that_just_exited)
{
	/* their sockets are released (and folded into the entry) just after the exit mark */
	uint64_t now = 10 * S, young = now - TW_NETACCT_EVICT_MIN_AGE_NS / 2;
	uint64_t exit_ns[] = {young, now - 2 * S, young, 0};
	bool evict[4];
	size_t early;

	cr_assert_eq(tw_netacct_plan_eviction(exit_ns, 4, now, 3600 * S, 0, evict, &early), 1);
	cr_assert(evict[1] && !evict[0] && !evict[2] && !evict[3]);
	cr_assert_eq(early, 1);
}

Test(eviction, expired_count_toward_pressure_first)
{
	/* one expired already frees room: pressure takes only what is still missing */
	uint64_t exit_ns[] = {1 * S, 95 * S, 96 * S, 0};
	bool evict[4];
	size_t early, n;

	n = tw_netacct_plan_eviction(exit_ns, 4, 100 * S, 60 * S, 2, evict, &early);
	cr_assert_eq(n, 2);
	cr_assert_eq(early, 1);
	cr_assert(evict[0] && evict[1] && !evict[2] && !evict[3]);
}

Test(eviction, exit_stamped_in_the_future_is_young)
{
	uint64_t exit_ns[] = {200 * S};
	bool evict[1];
	size_t early;

	cr_assert_eq(tw_netacct_plan_eviction(exit_ns, 1, 100 * S, 0, 10, evict, &early), 0);
}

/* Per-thread entries: summed per process for atop, the main thread's comm kept. */
Test(merge_threads, sums_threads_of_a_process_keeps_others_apart)
{
	struct tw_netacct_proc p[4];

	memset(p, 0, sizeof(p));
	/* process 10 (start 5): a worker thread 12 listed before the main thread 10 */
	p[0] = (struct tw_netacct_proc){.pid = 10, .start_boot_ns = 5, .tid = 12, .comm = "worker",
					.exited = true, .udp_out = {1, 100, 1, 142}};
	p[1] = (struct tw_netacct_proc){.pid = 10, .start_boot_ns = 5, .tid = 10, .comm = "main",
					.udp_out = {2, 50, 2, 134}, .tcp_in = {1, 7, 3, 200}};
	/* pid 10 reused (another start): never merged with the first */
	p[2] = (struct tw_netacct_proc){.pid = 10, .start_boot_ns = 9, .tid = 10, .comm = "again",
					.udp_out = {1, 1, 1, 43}};
	p[3] = (struct tw_netacct_proc){.pid = 3, .start_boot_ns = 1, .tid = 3, .comm = "other"};
	cr_assert_eq(tw_netacct_merge_threads(p, 4), 3);
	cr_expect_eq(p[0].pid, 3);
	cr_expect_eq(p[1].pid, 10);
	cr_expect_eq(p[1].start_boot_ns, 5);
	cr_expect_str_eq(p[1].comm, "main");
	cr_expect_eq(p[1].tid, 0);
	cr_expect_eq(p[1].udp_out.calls, 3);
	cr_expect_eq(p[1].udp_out.payload_bytes, 150);
	cr_expect_eq(p[1].udp_out.wire_bytes, 276);
	cr_expect_eq(p[1].tcp_in.wire_bytes, 200);
	cr_expect(!p[1].exited, "a process with a live thread has not exited");
	cr_expect_eq(p[2].start_boot_ns, 9);
	cr_expect_eq(p[2].udp_out.payload_bytes, 1);
}

Test(kthread_name, instance_suffix_dropped)
{
	char out[16];

	tw_netacct_kthread_name("kworker/u8:2", out);
	cr_expect_str_eq(out, "kworker");
	tw_netacct_kthread_name("ksoftirqd/0", out);
	cr_expect_str_eq(out, "ksoftirqd");
	tw_netacct_kthread_name("rpciod", out);
	cr_expect_str_eq(out, "rpciod");
	tw_netacct_kthread_name("", out);
	cr_expect_str_eq(out, "");
	tw_netacct_kthread_name("/odd", out);
	cr_expect_str_eq(out, "/odd");
	for (int i = 0; i < 16; i++)
		cr_expect(i < 4 || out[i] == 0, "byte %d not padded", i);
}

Test(iface_remainder, total_minus_the_explained_parts)
{
	struct tw_netacct_iface_dir d = {
		.total = {100, 10000},
		.sockets = {60, 7000},
		.arp = {2, 84},
		.non_ip = {1, 60},
		.forwarded = {30, 2700},
	};
	int64_t p, b;

	tw_netacct_iface_remainder(&d, &p, &b);
	cr_expect_eq(p, 7);
	cr_expect_eq(b, 156);
	/* the socket layer saw more than the interface (an upper device): negative, not wrapped */
	d.sockets = (struct tw_netacct_count){80, 8000};
	tw_netacct_iface_remainder(&d, &p, &b);
	cr_expect_eq(p, -13);
	cr_expect_eq(b, -844);
}
