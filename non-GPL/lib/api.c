// SPDX-License-Identifier: Apache-2.0
/*
 * The parts of the public API that belong to no subsystem: the library's
 * version and the error strings (tracewire.h, docs/library.md).
 */
#define _GNU_SOURCE /* strerrordesc_np */
#include <errno.h>
#include <string.h>

#include "tracewire.h"

const char *tw_version(void)
{
	return TW_LIB_VERSION;
}

const char *tw_strerror(int err)
{
	/* callers get -errno back; accept either sign so a stored positive code works too */
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	/* the codes tw_ctx_open() documents, worded for what they mean there */
	case EPERM:
		return "not permitted: loading BPF programs needs root (CAP_BPF, CAP_PERFMON, "
		       "CAP_SYS_ADMIN, CAP_NET_ADMIN)";
	case ENOTSUP:
		return "not supported by this kernel (no BTF, or a required hook is missing)";
	case E2BIG:
		return "options set that this library version does not know (struct tw_options "
		       "from a newer tracewire.h with a new field set)";
	case EINVAL:
		return "invalid argument (options not initialised with tw_options_init(), or a bad "
		       "value)";
	default:
		break;
	}
	/* strerrordesc_np returns a constant string (no shared buffer): safe in any thread */
	const char *s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
