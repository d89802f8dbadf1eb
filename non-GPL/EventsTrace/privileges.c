// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privileges.h"

static int fail(char *err, size_t errlen, const char *what)
{
	int e = errno;
	snprintf(err, errlen, "dropping privileges: %s failed: %s", what, strerror(e));
	return -e;
}

int tw_drop_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, "no_new_privs");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return fail(err, errlen, "non-dumpable");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(err, errlen, "clearing ambient capabilities");
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which goes last */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return fail(err, errlen, "dropping the bounding set");
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return fail(err, errlen, "capset");
	/* verify rather than trust: a kernel or seccomp policy could have ignored us */
	if (syscall(SYS_capget, &hdr, data))
		return fail(err, errlen, "capget");
	for (int i = 0; i < 2; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			errno = EPERM;
			return fail(err, errlen, "verification (capabilities still held)");
		}
	}
	return 0;
}
