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
 * dentry; the walk ends at the root mount of the task's mount namespace. So
 * a chroot'ed process's paths are reported as the host sees them, but inside
 * a container with its own mount namespace they are the container's view
 * (its root mount has no parent to cross into); the mount namespace inode in
 * the event tells which view a path belongs to.
 */
#ifndef TW_PATH_H
#define TW_PATH_H

#include "tw_emit.h"
#include "tw_task.h"

#define TW_PATH_MAX_DEPTH 128

/* Scratch areas used by path resolution (see tw_maps.h for the layout). */
#define TW_USER_PATH_OFF (TW_PATH_AREA_OFF + TW_PATH_AREA_SIZE)  /* user string, 4 KiB */
#define TW_SLASHES_OFF (TW_USER_PATH_OFF + TW_PATH_AREA_SIZE)    /* __u16[1024] */
#define TW_SLASHES_BASE 512  /* walk entries below this index, user entries from it */

struct tw_path_walk {
	char *area;               /* TW_PATH_AREA_SIZE bytes in scratch */
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;  /* mnt->mnt.mnt_root, cached per mount */
	__u32 pos;                /* first byte of the path built so far */
	__u32 truncated;
	__u32 track_slashes;      /* record area positions of each '/' in the slash stack */
	__u32 nslash;
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
	/* the walk goes leaf to root: fill the slash stack downwards from its base */
	if (w->track_slashes && w->nslash < TW_SLASHES_BASE) {
		/* a flag, not a pointer: the verifier loses a NULL pointer's type in the callback */
		__u16 *slashes = (__u16 *)(w->area + (TW_SLASHES_OFF - TW_PATH_AREA_OFF));
		slashes[(TW_SLASHES_BASE - 1 - w->nslash) & (TW_SLASHES_BASE - 1)] = pos;
		w->nslash++;
	}
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
			return 1; /* root mount of the task's mount namespace */
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
	w->track_slashes = 0;
	w->nslash = 0;
}

/* Walk (vfsmnt, dentry) into the path area; returns 0 if there was nothing to walk. */
static __always_inline int tw_path__walk_from(struct tw_path_walk *w, struct vfsmount *vfsmnt,
					      struct dentry *dentry)
{
	w->dentry = dentry;
	if (!w->dentry || !vfsmnt)
		return 0;
	w->mnt = tw_real_mount(vfsmnt);
	w->mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	bpf_loop(TW_PATH_MAX_DEPTH, tw_path__step, w, 0);
	struct dentry *last = w->dentry;
	if (BPF_CORE_READ(last, d_parent) != last && last != w->mnt_root)
		w->truncated = 1; /* deeper than TW_PATH_MAX_DEPTH */
	return 1;
}

/* Walk `path` into the path area; returns 0 if there was nothing to walk. */
static __always_inline int tw_path__walk(struct tw_path_walk *w, const struct path *path)
{
	return tw_path__walk_from(w, BPF_CORE_READ(path, mnt), BPF_CORE_READ(path, dentry));
}

/* Add the absolute path of `path` (dentry + vfsmount) as field `ftype`. */
static __always_inline void tw_path__add(struct tw_builder *b, __u16 ftype, const struct path *path)
{
	struct tw_path_walk w;

	tw_path__init(b, &w);
	if (tw_path__walk(&w, path))
		tw_path__emit(b, ftype, &w);
}

/* The same for a dentry and the mount it was reached through (vfs-level hooks). */
static __always_inline void tw_path__add_dentry(struct tw_builder *b, __u16 ftype,
						struct vfsmount *mnt, struct dentry *dentry)
{
	struct tw_path_walk w;

	tw_path__init(b, &w);
	if (tw_path__walk_from(&w, mnt, dentry))
		tw_path__emit(b, ftype, &w);
}

/*
 * The path of `name` (len bytes, no NUL) inside directory `dir`: a name the
 * dentry no longer carries (the source of a rename, read before the rename
 * moved the dentry). The name is prepended first, then the directory walked.
 */
static __always_inline void tw_path__add_child(struct tw_builder *b, __u16 ftype,
					       struct vfsmount *mnt, struct dentry *dir,
					       const char *name, __u32 len)
{
	struct tw_path_walk w;

	if (len == 0 || len > 255)
		return;
	tw_path__init(b, &w);
	tw_path__prepend(&w, (const unsigned char *)name, len);
	if (tw_path__walk_from(&w, mnt, dir))
		tw_path__emit(b, ftype, &w);
}

/*
 * Joining a directory and a path a process passed to a system call, with
 * "." and ".." resolved as text. The directory part comes from the kernel's
 * dentries (exact); the user part is taken as written, so a symlink inside
 * it is not followed: "dir/link/../x" gives "dir/x" where the kernel, which
 * follows the link first, may have used another directory. A slash stack in
 * scratch remembers where each component starts, so ".." is one pop, also
 * back into the directory part.
 */
#define TW_JOIN_ROOM (2 * TW_CAP_PATH)
#define TW_JOIN_MASK (TW_JOIN_ROOM - 1)

struct tw_slash_find {
	const char *buf;
	__u32 from, at;
};

static long tw_slash_find__step(__u32 i, void *ctx)
{
	struct tw_slash_find *f = ctx;
	__u32 p = f->from + i;

	if (f->buf[p & TW_JOIN_MASK] != '/')
		return 0;
	f->at = p;
	return 1;
}

struct tw_join {
	char *out;        /* field data in the event */
	const char *user; /* user string in scratch */
	__u16 *slashes;
	__u32 out_len;
	__u32 comp_start;
	__u32 lo, top;    /* slash stack: [lo, top) */
	__u32 pos_final;  /* area position of out[0]: converts walk entries */
	__u32 truncated;
};

static long tw_join__step(__u32 i, void *ctx)
{
	struct tw_join *j = ctx;
	char c = j->user[i & TW_PATH_AREA_MASK];
	__u32 cs = j->comp_start, clen, out_len = j->out_len;

	if (c != '/' && c != '\0')
		return 0;
	j->comp_start = i + 1;
	clen = i - cs;
	if (clen == 0 || (clen == 1 && j->user[cs & TW_PATH_AREA_MASK] == '.'))
		return c == '\0';
	if (clen == 2 && j->user[cs & TW_PATH_AREA_MASK] == '.' &&
	    j->user[(cs + 1) & TW_PATH_AREA_MASK] == '.') {
		if (j->top > j->lo) { /* at the root, ".." stays there */
			j->top--;
			j->out_len = j->slashes[j->top & 1023] - j->pos_final;
		}
		return c == '\0';
	}
	/* room for twice the cap: a directory and a user string of up to 4 KiB each */
	if (out_len + 1 + clen >= TW_JOIN_ROOM) {
		j->truncated = 1;
		return 1;
	}
	j->out[out_len & TW_JOIN_MASK] = '/';
	bpf_probe_read_kernel(j->out + ((out_len + 1) & TW_JOIN_MASK), clen & TW_PATH_AREA_MASK,
			      j->user + (cs & TW_PATH_AREA_MASK));
	if (j->top < 1024) {
		j->slashes[j->top & 1023] = out_len + j->pos_final;
		j->top++;
	}
	j->out_len = out_len + 1 + clen;
	return c == '\0';
}

/*
 * Add as field `ftype` the absolute path a process meant by `upath` relative
 * to `dir` (its cwd or a dirfd), or to `root` when upath is absolute.
 * Returns the field size, 0 when nothing could be added.
 */
static __always_inline __u32 tw_path__add_at(struct tw_builder *b, __u16 ftype,
					     const struct path *root, const struct path *dir,
					     const char *upath)
{
	struct tw_path_walk w;
	struct tw_join j;
	char *user = b->buf + TW_USER_PATH_OFF;
	long n;
	__u32 base_len;
	char *d;

	n = bpf_probe_read_user_str(user, TW_PATH_AREA_SIZE, upath);
	if (n <= 0)
		return 0;
	tw_path__init(b, &w);
	w.track_slashes = 1;
	if (!tw_path__walk(&w, user[0] == '/' ? root : dir))
		return 0;
	d = tw_field__data(b, TW_JOIN_ROOM); /* joined first, cut to the cap after */
	if (!d)
		return 0;
	base_len = TW_PATH_AREA_SIZE - 1 - w.pos; /* "" for the root */
	bpf_probe_read_kernel(d, base_len & TW_PATH_AREA_MASK, w.area + (w.pos & TW_PATH_AREA_MASK));

	j.out = d;
	j.user = user;
	j.slashes = (__u16 *)(b->buf + TW_SLASHES_OFF);
	j.out_len = base_len;
	j.comp_start = 0;
	j.lo = TW_SLASHES_BASE - w.nslash;
	j.top = TW_SLASHES_BASE;
	j.pos_final = w.pos;
	j.truncated = w.truncated;
	bpf_loop(TW_PATH_AREA_SIZE, tw_join__step, &j, 0);
	if (j.out_len == 0) { /* the root itself */
		d[0] = '/';
		j.out_len = 1;
	}
	if (j.out_len >= TW_CAP_PATH) {
		/*
		 * Over the cap with its NUL: keep the tail, as the walk does (the
		 * last names say most), starting at a '/': shift left, a forward
		 * copy, which is safe for this overlap.
		 */
		struct tw_slash_find f = {.buf = d, .from = j.out_len + 1 - TW_CAP_PATH, .at = j.out_len};
		bpf_loop(TW_CAP_PATH, tw_slash_find__step, &f, 0);
		if (f.at >= j.out_len) /* one name longer than the cap: keep its end */
			f.at = j.out_len + 1 - TW_CAP_PATH;
		bpf_probe_read_kernel(d, (j.out_len - f.at) & TW_JOIN_MASK, d + (f.at & TW_JOIN_MASK));
		j.out_len -= f.at;
		j.truncated = 1;
	}
	d[j.out_len & TW_JOIN_MASK] = '\0';
	tw_field__commit(b, ftype, j.out_len + 1, j.truncated ? TW_FIELD_FLAG_TRUNCATED : 0);
	return j.out_len + 1;
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
	/*
	 * kernfs names have no cached length: measure with a bounded string read
	 * into the user-path area, which is unused here (the path area itself
	 * holds the path being built and must not be overwritten)
	 */
	n = bpf_probe_read_kernel_str(k->w.area + (TW_USER_PATH_OFF - TW_PATH_AREA_OFF), 256, name);
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
