// SPDX-License-Identifier: Apache-2.0
/* The process calls the proc_calls probe traces (set*id, setsid, ptrace, memfd, shmget). */
#ifndef TW_PROC_CALLS_H
#define TW_PROC_CALLS_H

#include <stddef.h>
#include <stdint.h>

struct tw_proc_call_def {
	long nr;              /* this architecture's syscall number */
	const char *name;     /* tracepoint suffix and JSON "syscall" */
	uint32_t op;          /* enum tw_proc_op */
	uint32_t event_type;
};

extern const struct tw_proc_call_def tw_proc_call_defs[];
extern const size_t tw_n_proc_call_defs;

const char *tw_proc_op_name(uint32_t op);

#endif
