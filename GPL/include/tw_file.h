/* SPDX-License-Identifier: GPL-2.0-only */
/* Readers for open files and inodes: fd lookup, file info for file events. */
#ifndef TW_FILE_H
#define TW_FILE_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_task.h"

#define TW_S_IFMT 00170000
#define TW_S_IFREG 0100000
#define TW_FMODE_CREATED 0x100000
#define TW_TMPFS_MAGIC 0x01021994

/* Inode timestamps moved: timespec64 i_mtime (< 6.6), __i_mtime (6.6-6.10), *_sec/_nsec (6.11+). */
struct inode___pre66 {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
};
struct inode___pre611 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
};

/* The struct file behind fd in the current task, NULL if none. */
static __always_inline struct file *tw_fd__file(struct task_struct *task, __s64 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xfffff]);
	return f;
}

static __always_inline void tw_inode__times(struct inode *ino, struct tw_file_info *fi)
{
	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		fi->mtime_ns = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_mtime_nsec);
		fi->ctime_ns = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_ctime_nsec);
		return;
	}
	struct inode___pre611 *i611 = (void *)ino;
	if (bpf_core_field_exists(i611->__i_mtime)) {
		fi->mtime_ns = BPF_CORE_READ(i611, __i_mtime.tv_sec) * 1000000000ull +
			       BPF_CORE_READ(i611, __i_mtime.tv_nsec);
		fi->ctime_ns = BPF_CORE_READ(i611, __i_ctime.tv_sec) * 1000000000ull +
			       BPF_CORE_READ(i611, __i_ctime.tv_nsec);
		return;
	}
	struct inode___pre66 *i66 = (void *)ino;
	fi->mtime_ns = BPF_CORE_READ(i66, i_mtime.tv_sec) * 1000000000ull + BPF_CORE_READ(i66, i_mtime.tv_nsec);
	fi->ctime_ns = BPF_CORE_READ(i66, i_ctime.tv_sec) * 1000000000ull + BPF_CORE_READ(i66, i_ctime.tv_nsec);
}

static __always_inline void tw_inode__info(struct inode *ino, struct tw_file_info *fi)
{
	dev_t dev;

	if (!ino)
		return;
	dev = BPF_CORE_READ(ino, i_sb, s_dev);
	fi->present = 1;
	fi->mode = BPF_CORE_READ(ino, i_mode);
	fi->inode = BPF_CORE_READ(ino, i_ino);
	fi->dev_major = dev >> 20; /* kernel dev_t: 12 bits major, 20 bits minor */
	fi->dev_minor = dev & 0xfffff;
	fi->uid = BPF_CORE_READ(ino, i_uid.val);
	fi->gid = BPF_CORE_READ(ino, i_gid.val);
	fi->size = BPF_CORE_READ(ino, i_size);
	fi->nlink = BPF_CORE_READ(ino, __i_nlink);
	tw_inode__times(ino, fi);
}

/*
 * A file on a tmpfs mounted on a directory named "shm" (/dev/shm, /run/shm):
 * POSIX shared memory. Mounts stacked on the same place (a tmpfs over a
 * tmpfs, as some hosts have) sit on the root of the mount below, so climb
 * while the mountpoint is itself a mount root.
 */
static __always_inline int tw_file__is_shm(struct file *f)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(f, f_path.mnt);
	struct mount *mnt = (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	struct dentry *mp;
	char buf[4];

	if (BPF_CORE_READ(f, f_inode, i_sb, s_magic) != TW_TMPFS_MAGIC)
		return 0;
	mp = BPF_CORE_READ(mnt, mnt_mountpoint);
	for (int i = 0; i < 4; i++) {
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
		if (parent == mnt || mp != BPF_CORE_READ(parent, mnt.mnt_root))
			break;
		mnt = parent;
		mp = BPF_CORE_READ(mnt, mnt_mountpoint);
	}
	if (bpf_probe_read_kernel(buf, sizeof(buf), BPF_CORE_READ(mp, d_name.name)))
		return 0;
	return buf[0] == 's' && buf[1] == 'h' && buf[2] == 'm' && buf[3] == '\0';
}

/* Start a file event in scratch (zeroed fixed part); NULL (counted) without scratch. */
static __always_inline struct tw_file_event *tw_file_event__begin(struct tw_builder *b, __u32 type)
{
	struct tw_file_event *e = tw_event__begin(b, type, sizeof(*e),
						  __builtin_offsetof(struct tw_file_event, vl));
	if (e)
		__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/*
 * The fields every file event has, whichever hook set made it (syscall
 * tracepoints in file.bpf.c, vfs functions in file_vfs.bpf.c): header,
 * credentials, mount namespace, the call (op) and the kind of change.
 */
static __always_inline void tw_file_event__common(struct tw_file_event *e, __u32 type,
						  struct task_struct *task, __u32 op, __u32 change)
{
	tw_header__fill(&e->hdr, type, task);
	tw_task__creds(task, &e->creds);
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->op = op;
	e->change = change;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

#endif /* TW_FILE_H */
