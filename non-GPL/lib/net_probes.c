// SPDX-License-Identifier: Apache-2.0
/*
 * Loader side of the network probes: which program serves which event type
 * and how each attaches. The socket programs (sockops, sock_release) are
 * cgroup programs: attached to the root of the cgroup v2 hierarchy they see
 * every socket, and their links go away with the agent (no pinning, nothing
 * left behind after a crash).
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "net_probes.h"
#include "network.skel.h"
#include "tracewire_wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* every network type needs the flow bookkeeping these programs do */
#define TW_NET_TRACKING                                                                 \
	(TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED) |                            \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ACCEPTED) |                             \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED) | TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS))
#define TW_NET_CONN_END                                                     \
	(TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED) |                  \
	 TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS))

const char *tw_cgroup2_root(void)
{
	static char root[256];
	static const char fallback[] = "/run/tracewire/cgroup2";
	struct mntent *m;
	FILE *f;

	if (root[0])
		return root;
	f = setmntent("/proc/self/mounts", "r");
	while (f && (m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2") && strlen(m->mnt_dir) < sizeof(root)) {
			strcpy(root, m->mnt_dir);
			break;
		}
	}
	if (f)
		endmntent(f);
	if (root[0])
		return root;
	mkdir("/run/tracewire", 0700);
	mkdir(fallback, 0700);
	if (mount("cgroup2", fallback, "cgroup2", 0, NULL) != 0)
		return NULL;
	strcpy(root, fallback);
	return root;
}

int tw_attach_cgroup_root(struct bpf_program *prog, const struct tw_options *o,
			  struct tw_links *out)
{
	const char *root = tw_cgroup2_root();
	struct bpf_link *link;
	int fd, err;

	(void)o;
	if (!root)
		return -ENOENT;
	if (out->n == out->max)
		return -E2BIG;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	link = bpf_program__attach_cgroup(prog, fd);
	err = link ? 0 : -errno;
	close(fd); /* the link holds the cgroup */
	if (err)
		return err;
	out->links[out->n++] = link;
	return 0;
}

/* accept() and accept4(): the owner of a passively opened connection. */
static int attach_accept_exits(struct bpf_program *prog, const struct tw_options *o,
			       struct tw_links *out)
{
	static const char *const calls[] = {"sys_exit_accept", "sys_exit_accept4"};
	char path[160];
	const char *tracefs = tw_tracefs_root();
	size_t attached = 0;

	(void)o;
	if (!tracefs)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_LEN(calls); i++) {
		struct bpf_link *link;

		snprintf(path, sizeof(path), "%s/events/syscalls/%s", tracefs, calls[i]);
		if (access(path, F_OK) != 0)
			continue; /* e.g. no plain accept on arm64 */
		if (out->n == out->max)
			return -E2BIG;
		link = bpf_program__attach_tracepoint(prog, "syscalls", calls[i]);
		if (!link)
			return -errno;
		out->links[out->n++] = link;
		attached++;
	}
	return attached ? 0 : -ENOENT;
}

/* Attached by the library itself (tw_net_metrics_iter_attach): it runs it on a timer. */
int tw_attach_none(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out)
{
	(void)prog, (void)o, (void)out;
	return 0;
}

static bool periodic_metrics_wanted(const struct tw_options *o)
{
	return o->tcp_metrics_interval_ms > 0;
}

struct bpf_link *tw_map_iter_attach(struct bpf_object *obj, const char *program, const char *map)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, program);
	int map_fd = bpf_object__find_map_fd_by_name(obj, map);
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info info;

	if (!prog || map_fd < 0 || !bpf_program__autoload(prog)) {
		errno = ENOENT;
		return NULL;
	}
	memset(&info, 0, sizeof(info));
	info.map.map_fd = map_fd;
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	return bpf_program__attach_iter(prog, &opts);
}

struct bpf_link *tw_net_metrics_iter_attach(struct bpf_object *obj)
{
	return tw_map_iter_attach(obj, "tw_net_metrics_tick", "tw_flows");
}

int tw_iter_run(struct bpf_link *iter)
{
	char buf[256];
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(iter)), err = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		; /* the program writes to the ring, not to this fd */
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static const struct tw_program_def network_programs[] = {
	{"tw_net_sockops", "sockops", TW_NET_TRACKING, false, tw_attach_cgroup_root, NULL},
	{"tw_net_accept_exit", "tracepoint/syscalls/sys_exit_accept4", TW_NET_TRACKING, false,
	 attach_accept_exits, NULL},
	{"tw_net_release", "cgroup/sock_release", TW_NET_TRACKING, false, tw_attach_cgroup_root, NULL},
	{"tw_net_cong_state", "tp_btf/tcp_cong_state_set", TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS),
	 false, NULL, NULL},
	{"tw_net_reset_received", "tp_btf/tcp_receive_reset", TW_NET_CONN_END, false, NULL, NULL},
	{"tw_net_reset_sent", "tp_btf/tcp_send_reset", TW_NET_CONN_END, false, NULL, NULL},
	{"tw_net_metrics_tick", "iter/bpf_map_elem", TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS), false,
	 tw_attach_none, periodic_metrics_wanted},
};

static struct bpf_object *network_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct network_bpf *s = network_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void network_destroy(void *skel)
{
	network_bpf__destroy(skel);
}

const struct tw_domain_def tw_network_domain = {
	"network", network_open, network_destroy, NULL, network_programs, ARRAY_LEN(network_programs),
};
