/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records of the per-syscall tracepoints. Every syscalls:sys_enter_* record
 * has the call number and then six 8-byte argument slots (as many as the
 * call has are valid), every sys_exit_* record the number and the return
 * value, so one program can serve many calls.
 */
#ifndef TW_SYSCALL_H
#define TW_SYSCALL_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct tw_sys_enter_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

struct tw_sys_exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

/*
 * Copy the first n argument slots through probe_read, not ctx loads: the
 * kernel refuses to attach a program whose ctx reads go past the record of
 * the call with the fewest arguments (unlink has one), and a copy can then
 * be indexed. Slots past the call's own arguments hold garbage: never used.
 */
static __always_inline void tw_syscall__args(const struct tw_sys_enter_ctx *ctx, __u64 *args,
					     __u32 n)
{
	bpf_probe_read_kernel(args, n * sizeof(__u64),
			      (const char *)ctx + __builtin_offsetof(struct tw_sys_enter_ctx, args));
}

#endif /* TW_SYSCALL_H */
