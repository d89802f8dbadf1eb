// SPDX-License-Identifier: Apache-2.0
/*
 * The parts of network accounting that need no kernel: the atop record
 * encoding and the retention/eviction decision. Kept apart so the unit
 * tests check them byte for byte without BPF.
 */
#include <stdlib.h>
#include <string.h>

#include "tracewire_netacct.h"

/*
 * atop's struct netpertask on x86_64: pid_t id (4), 4 bytes of padding,
 * unsigned long btime (8), char command[16], struct taskcount (eight
 * unsigned long long). Written field by field at fixed offsets, in host
 * byte order, so the layout does not depend on this compiler's padding.
 */
enum {
	NA_OFF_ID = 0,
	NA_OFF_BTIME = 8,
	NA_OFF_COMMAND = 16,
	NA_OFF_COUNTS = 32,
};

static void put_u64(unsigned char *at, uint64_t v)
{
	memcpy(at, &v, sizeof(v));
}

void tw_netatop_encode(const struct tw_netacct_proc *p, unsigned char out[TW_NETATOP_RECORD_SIZE])
{
	int32_t id = (int32_t)p->pid;
	/* atop's counters: socket-layer calls ("packets") and payload bytes */
	const uint64_t counts[8] = {
		p->tcp_out.calls, p->tcp_out.payload_bytes, p->tcp_in.calls, p->tcp_in.payload_bytes,
		p->udp_out.calls, p->udp_out.payload_bytes, p->udp_in.calls, p->udp_in.payload_bytes,
	};

	memset(out, 0, TW_NETATOP_RECORD_SIZE);
	memcpy(out + NA_OFF_ID, &id, sizeof(id));
	put_u64(out + NA_OFF_BTIME, p->start_epoch_s);
	/* comm is at most 15 characters and NUL-terminated in the kernel; keep the NUL */
	memcpy(out + NA_OFF_COMMAND, p->comm, strnlen(p->comm, 15));
	for (int i = 0; i < 8; i++)
		put_u64(out + NA_OFF_COUNTS + 8 * i, counts[i]);
}

void tw_netatop_encode_end(unsigned char out[TW_NETATOP_RECORD_SIZE])
{
	memset(out, 0, TW_NETATOP_RECORD_SIZE); /* id 0 ends the answer */
}

struct exited {
	uint64_t exit_ns;
	size_t idx;
};

static int by_exit(const void *a, const void *b)
{
	const struct exited *x = a, *y = b;
	return x->exit_ns < y->exit_ns ? -1 : x->exit_ns > y->exit_ns;
}

size_t tw_netacct_plan_eviction(const uint64_t *exit_ns, size_t n, uint64_t now_ns,
				uint64_t retain_ns, size_t high_water, bool *evict, size_t *early)
{
	struct exited *ex;
	size_t n_ex = 0, marked = 0, i;

	*early = 0;
	memset(evict, 0, n * sizeof(*evict));
	ex = malloc((n ? n : 1) * sizeof(*ex));
	if (!ex)
		return 0;
	for (i = 0; i < n; i++)
		if (exit_ns[i])
			ex[n_ex++] = (struct exited){exit_ns[i], i};
	qsort(ex, n_ex, sizeof(*ex), by_exit);
	for (i = 0; i < n_ex; i++) {
		/* retention over (an exit stamped after now, by clock skew, is young) */
		if (ex[i].exit_ns <= now_ns && now_ns - ex[i].exit_ns >= retain_ns) {
			evict[ex[i].idx] = true;
			marked++;
		}
	}
	/*
	 * pressure: live processes must always find room, so the oldest exited go
	 * first; but never one that exited less than 100 ms ago: the kernel
	 * marks the exit (microseconds) before the process's sockets are released, and their
	 * counts are folded into the entry at release, which must still be there
	 */
	for (i = 0; i < n_ex && n - marked > high_water; i++) {
		if (ex[i].exit_ns > now_ns || now_ns - ex[i].exit_ns < TW_NETACCT_EVICT_MIN_AGE_NS)
			break; /* sorted by exit: the rest are younger still */
		if (evict[ex[i].idx])
			continue;
		evict[ex[i].idx] = true;
		marked++;
		(*early)++;
	}
	free(ex);
	return marked;
}

static int by_process(const void *a, const void *b)
{
	const struct tw_netacct_proc *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->start_boot_ns != y->start_boot_ns)
		return x->start_boot_ns < y->start_boot_ns ? -1 : 1;
	return (x->tid != x->pid) - (y->tid != y->pid); /* the main thread first: its comm */
}

static void add_dir(struct tw_netacct_dir *to, const struct tw_netacct_dir *d)
{
	to->calls += d->calls;
	to->payload_bytes += d->payload_bytes;
	to->packets += d->packets;
	to->wire_bytes += d->wire_bytes;
}

size_t tw_netacct_merge_threads(struct tw_netacct_proc *p, size_t n)
{
	size_t out = 0;

	qsort(p, n, sizeof(*p), by_process);
	for (size_t i = 0; i < n; i++) {
		struct tw_netacct_proc *m = &p[out];

		if (out && m[-1].pid == p[i].pid && m[-1].start_boot_ns == p[i].start_boot_ns) {
			m--;
			add_dir(&m->tcp_out, &p[i].tcp_out);
			add_dir(&m->tcp_in, &p[i].tcp_in);
			add_dir(&m->udp_out, &p[i].udp_out);
			add_dir(&m->udp_in, &p[i].udp_in);
			add_dir(&m->other_out, &p[i].other_out);
			add_dir(&m->other_in, &p[i].other_in);
			/* the process has exited when its last thread has */
			m->exited = m->exited && p[i].exited;
			if (p[i].exit_boot_ns > m->exit_boot_ns)
				m->exit_boot_ns = p[i].exit_boot_ns;
			continue;
		}
		if (out != i)
			*m = p[i];
		m->tid = 0;
		m->thread_start_boot_ns = 0;
		out++;
	}
	return out;
}

void tw_netacct_kthread_name(const char *comm, char out[16])
{
	size_t i = 0;

	/* kworker/u8:2, ksoftirqd/1, irq/24-eth0: the name before the instance */
	while (i < 15 && comm[i] && comm[i] != '/')
		i++;
	if (i == 0) /* "/..." or empty: keep what there is */
		while (i < 15 && comm[i])
			i++;
	memcpy(out, comm, i);
	memset(out + i, 0, 16 - i);
}

void tw_netacct_iface_remainder(const struct tw_netacct_iface_dir *d, int64_t *packets,
				int64_t *bytes)
{
	*packets = (int64_t)(d->total.packets - d->sockets.packets - d->arp.packets -
			     d->non_ip.packets - d->forwarded.packets);
	*bytes = (int64_t)(d->total.bytes - d->sockets.bytes - d->arp.bytes - d->non_ip.bytes -
			   d->forwarded.bytes);
}
