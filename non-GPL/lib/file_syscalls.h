// SPDX-License-Identifier: Apache-2.0
/* The system calls the file probe traces, and how to attach it to them. */
#ifndef TW_FILE_SYSCALLS_H
#define TW_FILE_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

#include "tracewire_config.h"

struct tw_file_syscall_def {
	long nr;                    /* this architecture's syscall number */
	const char *name;           /* tracepoint suffix: syscalls/sys_enter_<name> */
	struct tw_file_syscall sc;  /* what the probe does with it */
};

extern const struct tw_file_syscall_def tw_file_syscall_defs[];
extern const size_t tw_n_file_syscall_defs;

/* The event types a call can produce (open family: create and shm open). */
uint64_t tw_file_syscall_events(const struct tw_file_syscall *sc);
const char *tw_file_op_name(uint32_t op);

#endif
