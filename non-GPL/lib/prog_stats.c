// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "prog_stats.h"

int tw_object_prog_stats(struct bpf_object *obj, struct tw_prog_stats *out, size_t max,
			 size_t *n)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue; /* not loaded: not requested, or its hook is missing */
		if (*n < max) {
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &len))
				return -errno;
			out[*n].program = bpf_program__name(prog);
			out[*n].run_count = info.run_cnt;
			out[*n].run_time_ns = info.run_time_ns;
			out[*n].recursion_misses = info.recursion_misses;
		}
		(*n)++;
	}
	return 0;
}
