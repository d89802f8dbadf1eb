// SPDX-License-Identifier: Apache-2.0
/* Record validation and the name tables of the wire format. */
#include <stddef.h>
#include <strings.h>

#include "tracewire_decode.h"

struct tw_type_info {
	const char *name;
	size_t fixed_size;
	size_t varlen_offset; /* 0: no varlen area */
};

static const struct tw_type_info type_info[TW_EVENT_TYPE_MAX] = {
	[TW_EVENT_PROCESS_EXEC] = {"PROCESS_EXEC", sizeof(struct tw_process_exec),
				   offsetof(struct tw_process_exec, vl)},
	[TW_EVENT_PROCESS_FORK] = {"PROCESS_FORK", sizeof(struct tw_process_fork), 0},
	[TW_EVENT_PROCESS_EXIT] = {"PROCESS_EXIT", sizeof(struct tw_process_exit), 0},
#define FILE_TYPE(t, name) [t] = {name, sizeof(struct tw_file_event), offsetof(struct tw_file_event, vl)}
	FILE_TYPE(TW_EVENT_FILE_CREATE, "FILE_CREATE"),
	FILE_TYPE(TW_EVENT_FILE_DELETE, "FILE_DELETE"),
	FILE_TYPE(TW_EVENT_FILE_RENAME, "FILE_RENAME"),
	FILE_TYPE(TW_EVENT_FILE_MODIFY, "FILE_MODIFY"),
	FILE_TYPE(TW_EVENT_FILE_SHMEM_OPEN, "FILE_SHMEM_OPEN"),
#undef FILE_TYPE
	[TW_EVENT_PROCESS_TTY_WRITE] = {"PROCESS_TTY_WRITE", sizeof(struct tw_tty_write),
					offsetof(struct tw_tty_write, vl)},
#define CALL_TYPE(t, name) [t] = {name, sizeof(struct tw_process_call), offsetof(struct tw_process_call, vl)}
	CALL_TYPE(TW_EVENT_PROCESS_SETUID, "PROCESS_SETUID"),
	CALL_TYPE(TW_EVENT_PROCESS_SETGID, "PROCESS_SETGID"),
	CALL_TYPE(TW_EVENT_PROCESS_SETSID, "PROCESS_SETSID"),
	CALL_TYPE(TW_EVENT_PROCESS_PTRACE, "PROCESS_PTRACE"),
	CALL_TYPE(TW_EVENT_PROCESS_MEMFD_CREATE, "PROCESS_MEMFD_CREATE"),
	CALL_TYPE(TW_EVENT_PROCESS_SHMGET, "PROCESS_SHMGET"),
#undef CALL_TYPE
	[TW_EVENT_PROCESS_SNAPSHOT] = {"PROCESS_SNAPSHOT", sizeof(struct tw_process_exec),
				       offsetof(struct tw_process_exec, vl)},
	[TW_EVENT_PROCESS_LOAD_MODULE] = {"PROCESS_LOAD_MODULE", sizeof(struct tw_module_load),
					  offsetof(struct tw_module_load, vl)},
#define NET_TYPE(t, name) [t] = {name, sizeof(struct tw_net_connection), 0}
	NET_TYPE(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, "NETWORK_CONNECTION_ATTEMPTED"),
	NET_TYPE(TW_EVENT_NETWORK_CONNECTION_ACCEPTED, "NETWORK_CONNECTION_ACCEPTED"),
	NET_TYPE(TW_EVENT_NETWORK_CONNECTION_CLOSED, "NETWORK_CONNECTION_CLOSED"),
#undef NET_TYPE
	[TW_EVENT_NETWORK_TCP_METRICS] = {"NETWORK_TCP_METRICS", sizeof(struct tw_tcp_metrics), 0},
	[TW_EVENT_NETWORK_UDP_FLOW] = {"NETWORK_UDP_FLOW", sizeof(struct tw_udp_flow), 0},
	[TW_EVENT_NETWORK_DNS] = {"NETWORK_DNS", sizeof(struct tw_dns_message),
				  offsetof(struct tw_dns_message, vl)},
};

static const char *const field_names[TW_FIELD_TYPE_MAX] = {
	[TW_FIELD_FILENAME] = "filename",
	[TW_FIELD_EXE_PATH] = "executable",
	[TW_FIELD_ARGV] = "argv",
	[TW_FIELD_ENV] = "env",
	[TW_FIELD_CWD] = "cwd",
	[TW_FIELD_CGROUP_PATH] = "cgroup_path",
	[TW_FIELD_PATH] = "path",
	[TW_FIELD_OLD_PATH] = "old_path",
	[TW_FIELD_NEW_PATH] = "new_path",
	[TW_FIELD_SYMLINK_TARGET] = "symlink_target",
	[TW_FIELD_TTY_OUT] = "tty_out",
	[TW_FIELD_DNS_NAME] = "dns_name",
	[TW_FIELD_INTERPRETER] = "interpreter",
	[TW_FIELD_LINK_SOURCE] = "link_source",
	[TW_FIELD_MEMFD_NAME] = "memfd_name",
	[TW_FIELD_MODULE_NAME] = "module_name",
	[TW_FIELD_MODULE_VERSION] = "module_version",
	[TW_FIELD_MODULE_SRCVERSION] = "module_srcversion",
	[TW_FIELD_DNS_PACKET] = "dns_packet",
};

static const char *const decode_errors[TW_DECODE_ERROR_MAX] = {
	[TW_DECODE_OK] = "ok",
	[TW_DECODE_SHORT_HEADER] = "record shorter than the event header",
	[TW_DECODE_SIZE_MISMATCH] = "header size disagrees with record length",
	[TW_DECODE_UNKNOWN_TYPE] = "unknown event type",
	[TW_DECODE_SHORT_FIXED] = "record shorter than its type's fixed part",
	[TW_DECODE_FIELDS_OVERRUN] = "variable-length field runs past the record",
	[TW_DECODE_FIELD_COUNT] = "field count disagrees with the fields present",
};

const char *tw_decode_error_str(int reason)
{
	if (reason < 0)
		reason = -reason;
	if (reason >= TW_DECODE_ERROR_MAX)
		return "unknown decode error";
	return decode_errors[reason];
}

size_t tw_event_fixed_size(uint32_t type)
{
	return type < TW_EVENT_TYPE_MAX ? type_info[type].fixed_size : 0;
}

size_t tw_event_varlen_offset(uint32_t type)
{
	return type < TW_EVENT_TYPE_MAX ? type_info[type].varlen_offset : 0;
}

const char *tw_event_type_name(uint32_t type)
{
	return type < TW_EVENT_TYPE_MAX ? type_info[type].name : NULL;
}

int tw_event_type_from_name(const char *name)
{
	for (int t = 0; t < TW_EVENT_TYPE_MAX; t++)
		if (type_info[t].name && !strcasecmp(type_info[t].name, name))
			return t;
	return -1;
}

const char *tw_field_type_name(uint32_t type)
{
	return type < TW_FIELD_TYPE_MAX ? field_names[type] : NULL;
}

/*
 * The wire structs assume natural alignment: the ring buffer hands records
 * out 8-aligned and the recording format pads every record to 8 (record.c),
 * so plain member access is safe here.
 */
int tw_event_decode(const void *data, size_t len, struct tw_event *ev)
{
	const struct tw_event_header *h = data;
	const struct tw_varlen_fields *vl;
	size_t fixed, vl_off, walked = 0;
	uint32_t count = 0;

	if (len < sizeof(*h))
		return -TW_DECODE_SHORT_HEADER;
	if (h->size != len)
		return -TW_DECODE_SIZE_MISMATCH;
	fixed = tw_event_fixed_size(h->type);
	if (!fixed)
		return -TW_DECODE_UNKNOWN_TYPE;
	if (len < fixed)
		return -TW_DECODE_SHORT_FIXED;

	ev->hdr = h;
	ev->len = len;
	ev->vl = NULL;
	ev->ts_realtime_ns = 0;
	vl_off = tw_event_varlen_offset(h->type);
	if (!vl_off)
		return len == fixed ? 0 : -TW_DECODE_SIZE_MISMATCH; /* no bytes unaccounted for */

	vl = (const struct tw_varlen_fields *)((const char *)data + vl_off);
	if (vl->size > len - fixed)
		return -TW_DECODE_FIELDS_OVERRUN;
	if (vl->size < len - fixed)
		return -TW_DECODE_SIZE_MISMATCH; /* trailing bytes nobody accounts for */
	FOR_EACH_VARLEN_FIELD(vl, f) {
		walked += sizeof(*f) + f->size;
		count++;
	}
	if (walked != vl->size)
		return -TW_DECODE_FIELDS_OVERRUN; /* the walk stopped at a field that overran */
	if (count != vl->count)
		return -TW_DECODE_FIELD_COUNT;
	ev->vl = vl;
	return 0;
}

const struct tw_varlen_field *tw_event_field(const struct tw_event *ev, uint16_t type)
{
	if (!ev->vl)
		return NULL;
	FOR_EACH_VARLEN_FIELD(ev->vl, f)
		if (f->type == type)
			return f;
	return NULL;
}
