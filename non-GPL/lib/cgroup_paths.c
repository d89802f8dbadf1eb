// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_paths.h"
#include "tracewire_sched_wire.h"

/* Whether the comma-separated list `opts` has the token `tok`. */
static bool has_token(const char *opts, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, tok, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n' || p[n] == ' '))
			return true;
	return false;
}

/*
 * The mount point of a cgroup hierarchy from /proc/self/mountinfo: a v1
 * mount whose super options name `controller`, or (controller NULL) the
 * cgroup2 mount. Fields: id parent dev root mountpoint opts... - fstype src superopts.
 */
static bool find_cgroup_mount(const char *controller, char *out, size_t outlen)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64], superopts[1024];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, superopts) != 2)
			continue;
		if (controller ? (!strcmp(fstype, "cgroup") && has_token(superopts, controller))
			       : !strcmp(fstype, "cgroup2")) {
			snprintf(out, outlen, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

int cgroup_pick_hierarchy(int want, char *mount, size_t mountlen)
{
	mount[0] = '\0';
	if (want < 0) {
		if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
			want = TW_SCHED_HIER_V2;
		else if (find_cgroup_mount("cpu", mount, mountlen))
			return TW_SCHED_HIER_V1_CPU;
		else if (find_cgroup_mount("memory", mount, mountlen))
			return TW_SCHED_HIER_V1_MEMORY;
		else
			want = TW_SCHED_HIER_V2;
	}
	if (want == TW_SCHED_HIER_V1_CPU)
		find_cgroup_mount("cpu", mount, mountlen);
	else if (want == TW_SCHED_HIER_V1_MEMORY)
		find_cgroup_mount("memory", mount, mountlen);
	else
		find_cgroup_mount(NULL, mount, mountlen);
	return want;
}

/* nftw has no user pointer: the walk in progress, one at a time (walk_lock) */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct cgroup_dir *v;
	size_t n, cap;
	size_t root_len;
} walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = path + walk.root_len;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (walk.n == walk.cap) {
		size_t cap = walk.cap ? walk.cap * 2 : 256;
		struct cgroup_dir *v = realloc(walk.v, cap * sizeof(*v));
		if (!v)
			return -1;
		walk.v = v;
		walk.cap = cap;
	}
	walk.v[walk.n].id = st->st_ino;
	walk.v[walk.n].path = strdup(*rel ? rel : "/");
	if (!walk.v[walk.n].path)
		return -1;
	walk.n++;
	return 0;
}

static int cmp_dir(const void *a, const void *b)
{
	uint64_t x = ((const struct cgroup_dir *)a)->id, y = ((const struct cgroup_dir *)b)->id;
	return x < y ? -1 : x > y;
}

int cgroup_walk(const char *mount, struct cgroup_dir **out, size_t *n)
{
	int rc = 0;

	pthread_mutex_lock(&walk_lock);
	memset(&walk, 0, sizeof(walk));
	walk.root_len = strlen(mount);
	errno = 0;
	if (nftw(mount, walk_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
		rc = errno ? -errno : -ENOMEM;
	qsort(walk.v, walk.n, sizeof(walk.v[0]), cmp_dir);
	*out = walk.v;
	*n = walk.n;
	memset(&walk, 0, sizeof(walk));
	pthread_mutex_unlock(&walk_lock);
	return rc;
}

const struct cgroup_dir *cgroup_find(const struct cgroup_dir *v, size_t n, uint64_t id)
{
	struct cgroup_dir key = {.id = id};
	return n ? bsearch(&key, v, n, sizeof(key), cmp_dir) : NULL;
}

void cgroup_dirs_free(struct cgroup_dir *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
