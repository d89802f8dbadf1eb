/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which cgroup hierarchy names a task's cgroup, where it is mounted, and its
 * cgroup ids (kernfs ids = directory inode numbers) back to paths. Shared by
 * the run-queue latency companion (sched.c) and the network accounting
 * (netacct.c), so both name a process's cgroup with the same id and path.
 * Internal: not part of the installed API.
 */
#ifndef TW_CGROUP_PATHS_H
#define TW_CGROUP_PATHS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The hierarchy to use (TW_SCHED_HIER_* of tracewire_sched_wire.h) for
 * `want` (one of them, or -1 for automatic: v2 on pure v2 hosts, else the v1
 * cpu controller, whose cgroups the scheduler's group scheduling and
 * bandwidth limits act on, else v1 memory), and its mount point in mount
 * ("" when it is not mounted).
 */
int cgroup_pick_hierarchy(int want, char *mount, size_t mountlen);

struct cgroup_dir {
	uint64_t id;  /* inode number of the directory = kernfs id */
	char *path;   /* below the mount point, "/" for the root */
};

/*
 * Every cgroup directory under mount, sorted by id (malloc'ed; free with
 * cgroup_dirs_free). 0, or -errno (what was walked is still returned).
 */
int cgroup_walk(const char *mount, struct cgroup_dir **out, size_t *n);
const struct cgroup_dir *cgroup_find(const struct cgroup_dir *v, size_t n, uint64_t id);
void cgroup_dirs_free(struct cgroup_dir *v, size_t n);

#endif
