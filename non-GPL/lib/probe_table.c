// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "probe_table.h"
#include "process.skel.h"
#include "tracewire_wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct bpf_object *process_open(void **skel, const struct bpf_object_open_opts *opts)
{
	struct process_bpf *s = process_bpf__open_opts(opts);
	*skel = s;
	return s ? s->obj : NULL;
}

static void process_destroy(void *skel)
{
	process_bpf__destroy(skel);
}

static const struct tw_program_def process_programs[] = {
	{"tw_process_exec", "tp_btf/sched_process_exec", TW_EVENT_PROCESS_EXEC, false},
	{"tw_process_fork", "tp_btf/sched_process_fork", TW_EVENT_PROCESS_FORK, true},
	{"tw_process_exit", "tp_btf/sched_process_exit", TW_EVENT_PROCESS_EXIT, true},
};

const struct tw_domain_def tw_domains[] = {
	{"process", process_open, process_destroy, process_programs, ARRAY_LEN(process_programs)},
};
const size_t tw_n_domains = ARRAY_LEN(tw_domains);

bool tw_hook_available(const struct btf *vmlinux, const char *hook)
{
	char buf[256];
	const char *slash = strchr(hook, '/');

	if (!slash)
		return true;
	if (!strncmp(hook, "tp_btf/", 7)) {
		snprintf(buf, sizeof(buf), "btf_trace_%s", slash + 1);
		return vmlinux && btf__find_by_name_kind(vmlinux, buf, BTF_KIND_TYPEDEF) > 0;
	}
	if (!strncmp(hook, "tracepoint/", 11) || !strncmp(hook, "tp/", 3)) {
		const char *root = tw_tracefs_root();
		if (!root)
			return false;
		snprintf(buf, sizeof(buf), "%s/events/%s", root, slash + 1);
		return access(buf, F_OK) == 0;
	}
	return true;
}

/*
 * Classic tracepoints are attached by id, which libbpf reads from tracefs.
 * Minimal hosts and containers often do not mount it (this machine does
 * not), so mount it at its standard place when it is missing.
 */
const char *tw_tracefs_root(void)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char buf[64];

	for (size_t i = 0; i < ARRAY_LEN(roots); i++) {
		snprintf(buf, sizeof(buf), "%s/events", roots[i]);
		if (access(buf, F_OK) == 0)
			return roots[i];
	}
	if (mount("nodev", roots[0], "tracefs", 0, NULL) == 0)
		return roots[0];
	return NULL;
}
