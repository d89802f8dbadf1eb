// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark floor for network accounting: attaches the do-nothing programs
 * of netacct_floor.bpf.c on exactly the hooks of netacct.bpf.c (sock_create,
 * sock_release, cgroup_skb egress and ingress on the cgroup v2 root, the sock_send_length
 * and sock_recv_length BTF tracepoints), prints "attached" and holds them
 * until SIGINT or SIGTERM.
 */
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netacct_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct netacct_floor_bpf *s = netacct_floor_bpf__open_and_load();
	struct bpf_link *links[6] = {0};
	struct mntent *m;
	FILE *f;
	int cg = -1, rc = 1;

	if (!s) {
		perror("netacct_floor: load");
		return 1;
	}
	f = setmntent("/proc/self/mounts", "r");
	while (f && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			cg = open(m->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			break;
		}
	if (f)
		endmntent(f);
	if (cg < 0) {
		fprintf(stderr, "netacct_floor: no cgroup v2 mount\n");
		goto out;
	}
	links[0] = bpf_program__attach_cgroup(s->progs.tw_naf_sock_create, cg);
	links[1] = bpf_program__attach_cgroup(s->progs.tw_naf_egress, cg);
	links[2] = bpf_program__attach_cgroup(s->progs.tw_naf_ingress, cg);
	links[3] = bpf_program__attach(s->progs.tw_naf_send);
	links[4] = bpf_program__attach(s->progs.tw_naf_recv);
	links[5] = bpf_program__attach_cgroup(s->progs.tw_naf_sock_release, cg);
	for (int i = 0; i < 6; i++)
		if (!links[i]) {
			fprintf(stderr, "netacct_floor: attaching program %d failed\n", i);
			goto out;
		}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	rc = 0;
out:
	for (int i = 0; i < 6; i++)
		bpf_link__destroy(links[i]);
	if (cg >= 0)
		close(cg);
	netacct_floor_bpf__destroy(s);
	return rc;
}
