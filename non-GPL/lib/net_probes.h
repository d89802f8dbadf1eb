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

/* Probe table attach function for the map iterators below: the library attaches them. */
int tw_attach_none(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out);

/* Probe table attach function: a cgroup program on the cgroup v2 root. */
int tw_attach_cgroup_root(struct bpf_program *prog, const struct tw_options *o,
			  struct tw_links *out);

/*
 * Iterators over a map that the library runs on a timer (periodic reports),
 * so it attaches them itself rather than through the probe table. attach
 * returns NULL with errno set when the program is not loaded; run returns 0
 * or -errno.
 */
struct bpf_link *tw_map_iter_attach(struct bpf_object *obj, const char *program, const char *map);
int tw_iter_run(struct bpf_link *iter);
/* Periodic TCP metrics: the iterator over the TCP flow table. */
struct bpf_link *tw_net_metrics_iter_attach(struct bpf_object *obj);

#endif
