// SPDX-License-Identifier: Apache-2.0
/*
 * Globals by name rather than through each skeleton's typed rodata struct:
 * every probe object shares the same tw_cfg_* variables, and this lets the
 * loader configure all of them with one loop instead of per-skeleton code.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include <bpf/btf.h>

#include "bpf_globals.h"

/*
 * After load the kernel holds the map; libbpf only remaps its image onto it
 * in skeleton loads, which the library does not use, so read-modify-write
 * the single value through the map fd (.rodata is frozen: that fails, rightly).
 */
static int set_in_loaded_map(struct bpf_map *map, size_t offset, const void *val, size_t size)
{
	size_t vsize = bpf_map__value_size(map);
	uint32_t key = 0;
	char *buf;
	int err = 0;

	if (offset + size > vsize)
		return -EINVAL;
	buf = malloc(vsize);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(map), &key, buf))
		err = -errno;
	if (!err) {
		memcpy(buf + offset, val, size);
		if (bpf_map_update_elem(bpf_map__fd(map), &key, buf, BPF_ANY))
			err = -errno;
	}
	free(buf);
	return err;
}

static int set_in_section(struct bpf_object *obj, const struct btf *btf, const char *sec,
			  const char *name, const void *val, size_t size)
{
	struct bpf_map *map;
	const struct btf_type *ds;
	const struct btf_var_secinfo *vs;
	size_t map_size;
	char *data;
	int id;

	id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	ds = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(ds);
	for (int i = 0; i < btf_vlen(ds); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size != size)
			return -EINVAL;
		bpf_object__for_each_map(map, obj) {
			const char *mname = bpf_map__name(map);
			/* internal maps are named "<obj prefix>.rodata" etc. */
			const char *dot = strrchr(mname, '.');
			if (!dot || strcmp(dot, sec))
				continue;
			if (bpf_map__fd(map) >= 0)
				return set_in_loaded_map(map, vs->offset, val, size);
			/* before load: the initial image libbpf will create the map from */
			data = (char *)bpf_map__initial_value(map, &map_size);
			if (!data || vs->offset + size > map_size)
				return -EINVAL;
			memcpy(data + vs->offset, val, size);
			return 0;
		}
		return -ENOENT;
	}
	return -ENOENT;
}

int tw_bpf_set_global(struct bpf_object *obj, const char *name, const void *val, size_t size)
{
	static const char *const sections[] = {".rodata", ".data", ".bss"};
	const struct btf *btf = bpf_object__btf(obj);
	int err = -ENOENT;

	if (!btf)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]) && err == -ENOENT; i++)
		err = set_in_section(obj, btf, sections[i], name, val, size);
	return err;
}
