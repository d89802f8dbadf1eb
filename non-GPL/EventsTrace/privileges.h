// SPDX-License-Identifier: Apache-2.0
#ifndef TW_PRIVILEGES_H
#define TW_PRIVILEGES_H

#include <stddef.h>

/*
 * Once the probes are loaded and attached, the agent needs no capability:
 * the ring buffer, the maps and the links are open descriptors, and
 * descriptors keep the rights they were opened with. Dropping every
 * capability (effective, permitted, inheritable, ambient and the bounding
 * set), setting no_new_privs and making the process non-dumpable (no core
 * file or ptrace attach exposes a shipper credential) leaves a compromised
 * agent with a root uid but no kernel privilege: it cannot load programs,
 * mount, or read other processes' memory. Returns 0 or -errno with a
 * sentence in err.
 */
int tw_drop_privileges(char *err, size_t errlen);

#endif
