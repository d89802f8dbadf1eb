/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Path resolution in BPF, without bpf_d_path (not allowed from tracepoints).
 *
 * The walk goes from the leaf up to the root, so components are written
 * backwards into the path area of the scratch buffer: each component is
 * copied once, at pos - len, then the finished path is copied once into the
 * event. Walking is done in a bpf_loop callback so the verifier checks one
 * iteration instead of an unrolled 128-deep loop, which also lets the depth
 * be generous. Crossing a mount point moves to the parent mount's mountpoint
 * dentry; the walk ends at the root of the initial mount namespace, so a path
 * inside a container or chroot is reported as the host sees it.
 */
#ifndef TW_PATH_H
#define TW_PATH_H

#include "tw_emit.h"
#include "tw_task.h"

#define TW_PATH_MAX_DEPTH 128

struct tw_path_walk {
	char *area;               /* TW_PATH_AREA_SIZE bytes in scratch */
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;  /* mnt->mnt.mnt_root, cached per mount */
	__u32 pos;                /* first byte of the path built so far */
	__u32 truncated;
};

static __always_inline struct mount *tw_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* Prepend "/name" (len bytes); returns 1 to stop the walk. */
static __always_inline int tw_path__prepend(struct tw_path_walk *w, const unsigned char *name,
					    __u32 len)
{
	__u32 pos = w->pos;
	if (len + 1 > pos) {
		w->truncated = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(w->area + (pos & TW_PATH_AREA_MASK), len & TW_PATH_AREA_MASK, name);
	pos -= 1;
	w->area[pos & TW_PATH_AREA_MASK] = '/';
	w->pos = pos;
	return 0;
}

static long tw_path__step(__u32 i, void *ctx)
{
	struct tw_path_walk *w = ctx;
	/* locals: CO-RE macros must not see the walk state's own struct */
	struct dentry *d = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);

	if (d == w->mnt_root) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt)
			return 1; /* root of the initial mount namespace */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->mnt_root = BPF_CORE_READ(mp, mnt.mnt_root);
		return 0;
	}
	if (d == parent) {
		/* a pseudo file (memfd, pipe) or a tree cut off from its mount: keep its name */
		tw_path__prepend(w, BPF_CORE_READ(d, d_name.name), BPF_CORE_READ(d, d_name.len));
		return 1;
	}
	if (tw_path__prepend(w, BPF_CORE_READ(d, d_name.name), BPF_CORE_READ(d, d_name.len)))
		return 1;
	w->dentry = parent;
	return 0;
}

/* Copy the assembled path (area[pos..]) into a new field of the event. */
static __always_inline void tw_path__emit(struct tw_builder *b, __u16 ftype, struct tw_path_walk *w)
{
	__u32 size;
	char *d;

	if (w->pos == TW_PATH_AREA_SIZE - 1) { /* nothing prepended: the root itself */
		w->pos--;
		w->area[w->pos & TW_PATH_AREA_MASK] = '/';
	}
	size = TW_PATH_AREA_SIZE - w->pos;
	d = tw_field__data(b, TW_CAP_PATH);
	if (!d)
		return;
	bpf_probe_read_kernel(d, size & (TW_PATH_AREA_SIZE * 2 - 1),
			      w->area + (w->pos & TW_PATH_AREA_MASK));
	tw_field__commit(b, ftype, size, w->truncated ? TW_FIELD_FLAG_TRUNCATED : 0);
}

static __always_inline void tw_path__init(struct tw_builder *b, struct tw_path_walk *w)
{
	w->area = b->buf + TW_PATH_AREA_OFF;
	w->pos = TW_PATH_AREA_SIZE - 1;
	w->area[TW_PATH_AREA_SIZE - 1] = '\0';
	w->truncated = 0;
}

/* Add the absolute path of `path` (dentry + vfsmount) as field `ftype`. */
static __always_inline void tw_path__add(struct tw_builder *b, __u16 ftype, const struct path *path)
{
	struct tw_path_walk w;
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);

	tw_path__init(b, &w);
	w.dentry = BPF_CORE_READ(path, dentry);
	if (!w.dentry || !vfsmnt)
		return;
	w.mnt = tw_real_mount(vfsmnt);
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	bpf_loop(TW_PATH_MAX_DEPTH, tw_path__step, &w, 0);
	tw_path__emit(b, ftype, &w);
}

struct tw_kernfs_walk {
	struct tw_path_walk w;
	struct kernfs_node *kn;
};

static long tw_kernfs__step(__u32 i, void *ctx)
{
	struct tw_kernfs_walk *k = ctx;
	struct kernfs_node *kn = k->kn;
	struct kernfs_node *parent = tw_kernfs__parent(kn);
	const char *name;
	long n;

	if (!parent)
		return 1; /* the hierarchy's root node has no name in the path */
	name = BPF_CORE_READ(kn, name);
	/* kernfs names have no cached length: measure via a bounded string read */
	n = bpf_probe_read_kernel_str(k->w.area, 256, name);
	if (n <= 1 || tw_path__prepend(&k->w, (const unsigned char *)name, n - 1))
		return 1;
	k->kn = parent;
	return 0;
}

/* Add the path of a cgroup inside its hierarchy ("/" for the root). */
static __always_inline void tw_path__add_cgroup(struct tw_builder *b, __u16 ftype, struct cgroup *cg)
{
	struct tw_kernfs_walk k;

	tw_path__init(b, &k.w);
	k.kn = BPF_CORE_READ(cg, kn);
	if (!k.kn)
		return;
	bpf_loop(TW_PATH_MAX_DEPTH, tw_kernfs__step, &k, 0);
	tw_path__emit(b, ftype, &k.w);
}

#endif /* TW_PATH_H */
