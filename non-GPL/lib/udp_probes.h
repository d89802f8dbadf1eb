// SPDX-License-Identifier: Apache-2.0
/* The UDP probe domain (GPL/probes/udp.bpf.c): flows and DNS messages. */
#ifndef TW_UDP_PROBES_H
#define TW_UDP_PROBES_H

#include "probe_table.h"

extern const struct tw_domain_def tw_udp_domain;

/* The library runs the flow iterator this often: released sockets are reported within it. */
#define TW_UDP_TICK_MS 1000

/* The flow iterator (reports released sockets' flows, and live ones at the interval). */
struct bpf_link *tw_udp_flows_iter_attach(struct bpf_object *obj);

#endif
