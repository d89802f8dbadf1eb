// SPDX-License-Identifier: Apache-2.0
/*
 * The probe objects the library embeds and which event type each program
 * serves. Adding a domain (file, tty, network, sched) means adding its
 * skeleton to GPL/CMakeLists.txt and one entry to each table in probe_table.c.
 */
#ifndef TW_PROBE_TABLE_H
#define TW_PROBE_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>

#include "tracewire.h"

/* Links a program made; the context owns and destroys them. */
struct tw_links {
	struct bpf_link **links;
	size_t n, max;
};

struct tw_program_def {
	const char *program;   /* BPF program name in its object */
	const char *hook;      /* section, for messages and availability checks */
	uint64_t event_mask;   /* the types it can emit */
	/* also needed when the pid filter follows descendants (fork/exit bookkeeping) */
	bool needed_by_pid_filter;
	/* NULL: bpf_program__attach(); else attaches itself, possibly to many hooks */
	int (*attach)(struct bpf_program *prog, const struct tw_options *o, struct tw_links *out);
	/* NULL: wanted whenever one of its types is; else also asks the options */
	bool (*wanted)(const struct tw_options *o);
};

struct tw_domain_def {
	const char *name;
	/* open the embedded skeleton; returns its bpf_object, the skeleton in *skel */
	struct bpf_object *(*open)(void **skel, const struct bpf_object_open_opts *opts);
	void (*destroy)(void *skel);
	/* optional: fill the domain's own maps after load, before attach */
	int (*after_load)(struct bpf_object *obj, const struct tw_options *o);
	const struct tw_program_def *programs;
	size_t n_programs;
};

extern const struct tw_domain_def *const tw_domains[];
extern const size_t tw_n_domains;

/*
 * Whether the kernel has the hook of a program: a tp_btf needs its
 * btf_trace_<name> type in vmlinux BTF, a classic tracepoint its tracefs
 * directory. Unknown kinds are assumed present (the load will tell).
 */
bool tw_hook_available(const struct btf *vmlinux, const char *hook);
/* Whether the kernel's struct `type` has a member `member` (false without BTF). */
bool tw_btf_has_member(const struct btf *vmlinux, const char *type, const char *member);

/* Path prefix rules (tw_options.path_rules) into an object's tw_path_prefixes map. */
int tw_fill_path_rules(struct bpf_object *obj, const struct tw_options *o);

/* Where tracefs is mounted, mounting it at /sys/kernel/tracing if needed; NULL if impossible. */
const char *tw_tracefs_root(void);

#endif
