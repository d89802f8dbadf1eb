// SPDX-License-Identifier: Apache-2.0
/*
 * twk_guest: /init of the kernel-matrix initramfs (testing/kernels/README.md).
 *
 *   as pid 1     mount what the probes need, bring lo up, run every phase,
 *                report on the console, leave qemu through isa-debug-exit
 *   --run        the same phases on a running system (no mounts, no exit device)
 *   --true       exit with status 7 (the program the workload executes)
 *
 * Exit device: qemu -device isa-debug-exit,iobase=0xf4,iosize=0x04 exits with
 * (value << 1) | 1, so pass (0x10) gives 33 and fail (0x11) gives 35. The
 * console's "TWK RESULT" line is authoritative; the exit status is a check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "guest.h"

#define TWK_EXIT_PORT 0xf4
#define TWK_EXIT_PASS 0x10
#define TWK_EXIT_FAIL 0x11

static void mount_one(const char *src, const char *dir, const char *type, const char *data)
{
	char buf[160];

	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, data) && errno != EBUSY)
		twk_say("MOUNT dir=%s type=%s error=%s", dir, type, twk_text(strerror(errno), buf, sizeof(buf)));
}

static void setup_system(void)
{
	struct ifreq ifr;
	int fd, s;

	mount_one("proc", "/proc", "proc", NULL);
	mount_one("sysfs", "/sys", "sysfs", NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", NULL);
	mount_one("tmpfs", "/tmp", "tmpfs", NULL);
	mount_one("tmpfs", "/run", "tmpfs", NULL);
	mount_one("tmpfs", "/dev/shm", "tmpfs", "mode=1777");
	mount_one("devpts", "/dev/pts", "devpts", "ptmxmode=0666,mode=0620"); /* openpty() */
	mount_one("bpf", "/sys/fs/bpf", "bpf", NULL);
	mount_one("tracefs", "/sys/kernel/tracing", "tracefs", NULL);
	mount_one("securityfs", "/sys/kernel/security", "securityfs", NULL);
	mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", NULL);
	/* the console again, now from devtmpfs, for stdin/stdout/stderr */
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* what an init system does: the controllers available to child cgroups (sched tests) */
	fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY);
	if (fd >= 0) {
		const char *ctl[] = {"+cpu", "+memory", "+pids", "+io"};
		for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
			if (write(fd, ctl[i], strlen(ctl[i])) < 0)
				twk_say("CGROUP controller=%s error=%d", ctl[i] + 1, errno);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			twk_say("NET lo=down error=%d", errno);
	}
	if (s >= 0)
		close(s);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Can BPF local storage be created here? From userspace a task storage
 * element is made with the task's pidfd as key; unlike the helper inside a
 * program (which only returns NULL), this gives the kernel's errno.
 * (Debian's 7.2 refused every create from programs: this says why.)
 */
static void report_task_storage(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct btf *btf = btf__new_empty(); /* local storage maps want BTF key and value types */
	int key_id = btf ? btf__add_int(btf, "int", 4, BTF_INT_SIGNED) : -1;
	int val_id = btf ? btf__add_int(btf, "long long unsigned int", 8, 0) : -1;
	int map = -1, pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0), rc = -1, e = 0, map_e = 0;
	uint64_t v = 1;

	if (btf && key_id > 0 && val_id > 0 && !btf__load_into_kernel(btf)) {
		o.btf_fd = btf__fd(btf);
		o.btf_key_type_id = key_id;
		o.btf_value_type_id = val_id;
		map = bpf_map_create(BPF_MAP_TYPE_TASK_STORAGE, "twk_ts", 4, 8, 0, &o);
		map_e = map < 0 ? errno : 0;
	}

	if (map >= 0 && pidfd >= 0) {
		rc = bpf_map_update_elem(map, &pidfd, &v, BPF_NOEXIST);
		e = rc ? errno : 0;
	}
	twk_say("FEATURE task_storage_create map=%d map_errno=%d pidfd=%d update=%d errno=%d (%s)",
		map >= 0, map_e, pidfd >= 0, rc, e, e ? strerror(e) : "ok");
	btf__free(btf);
	if (pidfd >= 0)
		close(pidfd);
	if (map >= 0)
		close(map);
}

void twk_report_features(void)
{
	struct utsname u;
	char lsm[256], cmd[512], b1[200], b2[200];

	uname(&u);
	read_line("/sys/kernel/security/lsm", lsm, sizeof(lsm));
	read_line("/proc/cmdline", cmd, sizeof(cmd));
	twk_say("KERNEL release=%s machine=%s", u.release, u.machine);
	report_task_storage();
	twk_say("CMDLINE %s", twk_text(cmd, b1, sizeof(b1)));
	twk_say("FEATURE btf=%d lsm=%s bpf_lsm=%d kprobes=%d modules=%d",
		access("/sys/kernel/btf/vmlinux", R_OK) == 0, twk_clean(lsm, b2, sizeof(b2)),
		strstr(lsm, "bpf") != NULL, access("/sys/kernel/tracing/kprobe_events", F_OK) == 0,
		access("/proc/modules", F_OK) == 0);
	twk_say("FEATURE ringbuf=%d task_storage=%d inode_storage=%d sk_storage=%d "
		"bpf_loop=%d get_current_task_btf=%d",
		libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1,
		libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1,
		libbpf_probe_bpf_map_type(BPF_MAP_TYPE_INODE_STORAGE, NULL) == 1,
		libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1,
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) == 1,
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_get_current_task_btf, NULL) == 1);
}

static int run_all(void)
{
	struct twk_domain_result d[TWK_MAX_DOMAINS];
	int n, failed = 0, fired, event_failures, suite_failures;
	long t0 = twk_now_ms();

	twk_say("BEGIN");
	twk_report_features();
	n = twk_load_domains(d, TWK_MAX_DOMAINS);
	for (int i = 0; i < n; i++)
		failed += d[i].failed + !d[i].ok;
	failed += !twk_load_sched(TW_SCHED_CLOCK_OWN);
	failed += !twk_load_sched(TW_SCHED_CLOCK_SCHED_INFO);
	failed += !twk_load_netacct();
	event_failures = twk_check_events(d, (size_t)n);
	fired = twk_probe_hooks();
	/* a kernel the library refuses outright (5.10: no bpf_loop) would only fail every test */
	int loaded = 0;
	for (int i = 0; i < n; i++)
		loaded += d[i].ok;
	if (twk_suite_present() && !loaded) {
		twk_say("SUITE-SKIPPED reason=no probe domain loads on this kernel (phase 1)");
		suite_failures = 1;
	} else {
		suite_failures = twk_run_suite();
	}
	twk_say("RESULT status=%s domains_failed=%d event_failures=%d hooks_fired=%d suite=%s "
		"suite_failures=%d ms=%ld",
		failed || event_failures || suite_failures ? "fail" : "pass", failed, event_failures,
		fired, twk_suite_present() ? "ran" : "none", suite_failures, twk_now_ms() - t0);
	twk_say("END");
	return failed || event_failures || suite_failures;
}

static void leave_qemu(int failed)
{
	sync();
	if (ioperm(TWK_EXIT_PORT, 4, 1) == 0)
		outb(failed ? TWK_EXIT_FAIL : TWK_EXIT_PASS, TWK_EXIT_PORT);
	/* no exit device (or no port access): power off, the console has the result */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--true"))
		return 7;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (getpid() == 1) {
		setup_system();
		leave_qemu(run_all());
	}
	if (argc > 1 && !strcmp(argv[1], "--run"))
		return run_all() ? 1 : 0;
	fprintf(stderr, "usage: %s --run | --true (as pid 1: the kernel-matrix guest)\n", argv[0]);
	return 2;
}
