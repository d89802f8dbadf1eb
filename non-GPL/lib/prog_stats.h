/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel run statistics (bpf_prog_info) of the programs of one BPF object,
 * shared by the event context, the run-queue latency and the network
 * accounting objects, which each expose them through their own API.
 */
#ifndef TW_PROG_STATS_H
#define TW_PROG_STATS_H

#include <stddef.h>

#include "tracewire.h"

struct bpf_object;

/*
 * Appends the loaded programs of obj to out (up to max entries in all),
 * advancing *n by every loaded program, also past max, so the caller can
 * report how many there are. Programs never loaded (not requested, hook
 * missing) are skipped. Returns 0 or -errno.
 */
int tw_object_prog_stats(struct bpf_object *obj, struct tw_prog_stats *out, size_t max,
			 size_t *n);

#endif
