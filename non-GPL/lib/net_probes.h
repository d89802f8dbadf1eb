// SPDX-License-Identifier: Apache-2.0
/* The network probe domain (GPL/probes/network.bpf.c): its table entry for probe_table.c. */
#ifndef TW_NET_PROBES_H
#define TW_NET_PROBES_H

#include "probe_table.h"

extern const struct tw_domain_def tw_network_domain;

/*
 * The root of the cgroup v2 hierarchy, where the socket programs attach so
 * that they see every socket on the host (hybrid hosts mount it at
 * /sys/fs/cgroup/unified). Mounted at /run/tracewire/cgroup2 when no cgroup2
 * filesystem is mounted. NULL if impossible.
 */
const char *tw_cgroup2_root(void);

/*
 * Periodic TCP metrics: the iterator program over the flow table, attached
 * by the library (not by the probe table) because it is run on a timer.
 * attach returns NULL with errno set; run returns 0 or -errno.
 */
struct bpf_link *tw_net_metrics_iter_attach(struct bpf_object *obj);
int tw_net_metrics_iter_run(struct bpf_link *iter);

#endif
