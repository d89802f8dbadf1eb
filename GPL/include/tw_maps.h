/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maps and load-time configuration shared by every probe object. Each
 * domain's object (process, file, ...) declares the same maps; the events
 * library creates them once and makes the other objects reuse them, so all
 * probes feed one ring buffer, one set of counters and one pid filter.
 */
#ifndef TW_MAPS_H
#define TW_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tracewire_wire.h"

/*
 * Scratch buffer layout (one 256 KiB value per CPU). PERCPU_ARRAY values are
 * capped at 32 KiB on this kernel, so this is a plain ARRAY indexed by CPU
 * (max_entries is set to the number of possible CPUs at load time).
 *
 *   [0, 128K)      the event being built; every field starts below 128K
 *   [128K, 192K)   room for the largest single field (64K) that starts
 *                  just below 128K: the verifier sees offset & (128K-1)
 *                  plus a length & (64K-1), always inside the value
 *   [192K, 196K)   path assembly area (components are written backwards)
 *   [196K, 200K)   a path string read from user memory
 *   [200K, 202K)   slash stack for resolving ".." (tw_path.h)
 *   [202K, 203K)   path prefix filter lookup key (tw_filter.h)
 */
#define TW_SCRATCH_SIZE (256 * 1024)
#define TW_EVENT_MAX (128 * 1024)
#define TW_EVENT_OFF_MASK (TW_EVENT_MAX - 1)
#define TW_FIELD_MAX (64 * 1024)
#define TW_FIELD_LEN_MASK (TW_FIELD_MAX - 1)
#define TW_PATH_AREA_OFF (192 * 1024)
#define TW_PATH_AREA_SIZE 4096
#define TW_PATH_AREA_MASK (TW_PATH_AREA_SIZE - 1)

struct tw_scratch {
	__u64 owner; /* the build holding it (tw_emit.h, tw_scratch__hold): 0 when free */
	char data[TW_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* overridden at load time */
} tw_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs at load time */
	__type(key, __u32);
	__type(value, struct tw_scratch);
} tw_scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_EVENT_TYPE_MAX);
	__type(key, __u32);
	__type(value, struct tw_kernel_stats);
} tw_stats SEC(".maps");

/* Pid filter: tgid -> TW_PID_* flags (tracewire_wire.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} tw_pid_filter SEC(".maps");

/*
 * Load-time configuration (read-only globals, frozen before attach). Globals
 * are __u32/__u64 only: bpftool 7.1 skeletons mishandle smaller types.
 */
const volatile __u32 tw_cfg_pid_include_mode = 0; /* 1: only tgids with TW_PID_INCLUDE */
const volatile __u32 tw_cfg_pid_filter_used = 0;  /* 0: skip the map lookup entirely */
const volatile __u32 tw_cfg_capture_env = 0;
const volatile __u32 tw_cfg_cgroup_hierarchy = TW_CGROUP_V2;

/*
 * Wakeup policy, changeable at run time (a writable global: it lives in .bss
 * and the library rewrites it through the map).
 * 0: let the kernel decide (wake when the consumer has caught up).
 * N: adaptive: no wakeup until at least N bytes are pending; the consumer
 *    also polls with a timeout, which bounds latency at low rates.
 */
__u64 tw_cfg_wakeup_bytes = 0;

#endif /* TW_MAPS_H */
