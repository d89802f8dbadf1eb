// SPDX-License-Identifier: Apache-2.0
/* Set a BPF object's global variables by name, before load, for any object. */
#ifndef TW_BPF_GLOBALS_H
#define TW_BPF_GLOBALS_H

#include <stddef.h>
#include <bpf/libbpf.h>

/*
 * Write `size` bytes into global `name` of `obj` (found in .rodata, .data or
 * .bss through the object's BTF). Returns 0, -ENOENT if the object has no
 * such variable, -EINVAL on a size mismatch.
 */
int tw_bpf_set_global(struct bpf_object *obj, const char *name, const void *val, size_t size);

#endif
