// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark floor for the network probe: attaches the do-nothing programs of
 * network_floor.bpf.c where the library attaches network.bpf.c (sockops and
 * sock_release on the cgroup v2 root, the accept/accept4 exit tracepoints,
 * three TCP BTF tracepoints), prints "attached", and holds them until SIGINT
 * or SIGTERM. The difference between this and no probes is the kernel's
 * price for calling BPF programs there at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "network_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* the first cgroup2 mount: on hybrid hosts it is not /sys/fs/cgroup */
static int cgroup2_root_fd(void)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	int fd = -1;

	while (f && (m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			fd = open(m->mnt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			break;
		}
	}
	if (f)
		endmntent(f);
	return fd;
}

/* keeps a link; a failure is fatal unless the hook is optional */
static int keep(struct bpf_link **links, size_t *n, struct bpf_link *link, const char *what,
		int optional)
{
	if (!link) {
		if (optional)
			return 0;
		fprintf(stderr, "net_floor: attaching %s failed: %s\n", what, strerror(errno));
		return -1;
	}
	links[(*n)++] = link;
	return 0;
}

int main(void)
{
	struct network_floor_bpf *skel;
	struct bpf_link *links[8];
	sigset_t block, old;
	size_t n = 0;
	int cg = -1, rc = 1;

	/* blocked until sigsuspend, so a signal between "attached" and the wait is not lost */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, SIGINT);
	sigdelset(&old, SIGTERM);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = network_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "net_floor: loading the programs failed: %s\n", strerror(errno));
		return 1;
	}
	cg = cgroup2_root_fd();
	if (cg < 0) {
		fprintf(stderr, "net_floor: no cgroup2 mount in /proc/self/mounts\n");
		goto out;
	}
	if (keep(links, &n, bpf_program__attach_cgroup(skel->progs.tw_nfl_sockops, cg),
		 "sockops", 0) ||
	    keep(links, &n, bpf_program__attach_cgroup(skel->progs.tw_nfl_release, cg),
		 "sock_release", 0) ||
	    keep(links, &n,
		 bpf_program__attach_tracepoint(skel->progs.tw_nfl_accept, "syscalls",
						"sys_exit_accept4"),
		 "sys_exit_accept4", 0) ||
	    /* plain accept is missing on some architectures (arm64): accept4 serves there */
	    keep(links, &n,
		 bpf_program__attach_tracepoint(skel->progs.tw_nfl_accept, "syscalls",
						"sys_exit_accept"),
		 "sys_exit_accept", 1) ||
	    keep(links, &n, bpf_program__attach(skel->progs.tw_nfl_cong), "tcp_cong_state_set", 0) ||
	    keep(links, &n, bpf_program__attach(skel->progs.tw_nfl_rst_rcv), "tcp_receive_reset",
		 0) ||
	    keep(links, &n, bpf_program__attach(skel->progs.tw_nfl_rst_snd), "tcp_send_reset", 0))
		goto out;
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	if (cg >= 0)
		close(cg);
	network_floor_bpf__destroy(skel);
	return rc;
}
