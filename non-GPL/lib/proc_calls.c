// SPDX-License-Identifier: Apache-2.0
#include <sys/syscall.h>

#include "proc_calls.h"
#include "tracewire_wire.h"

const struct tw_proc_call_def tw_proc_call_defs[] = {
	{SYS_setuid, "setuid", TW_PROC_OP_SETUID, TW_EVENT_PROCESS_SETUID},
	{SYS_setreuid, "setreuid", TW_PROC_OP_SETREUID, TW_EVENT_PROCESS_SETUID},
	{SYS_setresuid, "setresuid", TW_PROC_OP_SETRESUID, TW_EVENT_PROCESS_SETUID},
	{SYS_setfsuid, "setfsuid", TW_PROC_OP_SETFSUID, TW_EVENT_PROCESS_SETUID},
	{SYS_setgid, "setgid", TW_PROC_OP_SETGID, TW_EVENT_PROCESS_SETGID},
	{SYS_setregid, "setregid", TW_PROC_OP_SETREGID, TW_EVENT_PROCESS_SETGID},
	{SYS_setresgid, "setresgid", TW_PROC_OP_SETRESGID, TW_EVENT_PROCESS_SETGID},
	{SYS_setfsgid, "setfsgid", TW_PROC_OP_SETFSGID, TW_EVENT_PROCESS_SETGID},
	{SYS_setsid, "setsid", TW_PROC_OP_SETSID, TW_EVENT_PROCESS_SETSID},
	{SYS_ptrace, "ptrace", TW_PROC_OP_PTRACE, TW_EVENT_PROCESS_PTRACE},
	{SYS_memfd_create, "memfd_create", TW_PROC_OP_MEMFD_CREATE, TW_EVENT_PROCESS_MEMFD_CREATE},
	{SYS_shmget, "shmget", TW_PROC_OP_SHMGET, TW_EVENT_PROCESS_SHMGET},
};
const size_t tw_n_proc_call_defs = sizeof(tw_proc_call_defs) / sizeof(tw_proc_call_defs[0]);

const char *tw_proc_op_name(uint32_t op)
{
	for (size_t i = 0; i < tw_n_proc_call_defs; i++)
		if (tw_proc_call_defs[i].op == op)
			return tw_proc_call_defs[i].name;
	return NULL;
}
