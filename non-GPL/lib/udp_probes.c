// SPDX-License-Identifier: Apache-2.0
/*
 * Loader side of the UDP probes: the socket and packet programs are cgroup
 * programs on the cgroup v2 root (like the TCP ones); the flow iterator is
 * attached here and run by the library on a timer.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "net_probes.h"
#include "udp.skel.h"
#include "udp_probes.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TW_UDP_TYPES (TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW) | TW_EVENT_BIT(TW_EVENT_NETWORK_DNS))

static const struct tw_program_def udp_programs[] = {
	{"tw_udp_sock_create", "cgroup/sock_create", TW_UDP_TYPES, false, tw_attach_cgroup_root, NULL},
	/* also for DNS alone: it frees the owner entry of a released socket */
	{"tw_udp_sock_release", "cgroup/sock_release", TW_UDP_TYPES, false, tw_attach_cgroup_root, NULL},
	{"tw_udp_egress", "cgroup_skb/egress", TW_UDP_TYPES, false, tw_attach_cgroup_root, NULL},
	{"tw_udp_ingress", "cgroup_skb/ingress", TW_UDP_TYPES, false, tw_attach_cgroup_root, NULL},
	{"tw_udp_flows_tick", "iter/bpf_map_elem", TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW), false,
	 tw_attach_none, NULL},
};

struct bpf_link *tw_udp_flows_iter_attach(struct bpf_object *obj)
{
	return tw_map_iter_attach(obj, "tw_udp_flows_tick", "tw_udp_flows");
}

static struct bpf_object *udp_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct udp_bpf *s = udp_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void udp_destroy(void *skel)
{
	udp_bpf__destroy(skel);
}

const struct tw_domain_def tw_udp_domain = {
	"udp", udp_open, udp_destroy, NULL, udp_programs, ARRAY_LEN(udp_programs),
};
