// SPDX-License-Identifier: Apache-2.0
/* Writing and replaying recordings (format in tracewire_record.h and docs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracewire_record.h"

struct tw_recorder {
	FILE *f;
	uint64_t records;
	uint64_t errors;
	int first_error;
};

static const uint8_t zeros[8];

int tw_recorder_open(struct tw_recorder **out, const char *path, int64_t realtime_offset_ns,
		     char *err, size_t errlen)
{
	struct tw_record_file_header h;
	struct tw_recorder *r;
	struct timespec now;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->f = fopen(path, "wb");
	if (!r->f) {
		int e = errno;
		snprintf(err, errlen, "cannot create recording %s: %s", path, strerror(e));
		free(r);
		return -e;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TW_RECORD_MAGIC, 8);
	h.file_version = TW_RECORD_FILE_VERSION;
	h.wire_version = TW_WIRE_VERSION;
	h.header_size = sizeof(h);
	h.byte_order = TW_RECORD_BYTE_ORDER_MARK;
	h.realtime_offset_ns = realtime_offset_ns;
	clock_gettime(CLOCK_REALTIME, &now);
	h.created_realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	if (fwrite(&h, sizeof(h), 1, r->f) != 1 || fflush(r->f)) {
		int e = errno ? errno : EIO;
		snprintf(err, errlen, "cannot write recording header to %s: %s", path, strerror(e));
		fclose(r->f);
		free(r);
		return -e;
	}
	*out = r;
	return 0;
}

int tw_recorder_write(struct tw_recorder *r, const void *data, size_t len)
{
	uint32_t prefix[2] = {(uint32_t)len, 0};
	size_t pad = (8 - (len & 7)) & 7;

	if (len > TW_RECORD_MAX_LEN) { /* replay would take it for corruption: refuse, count */
		r->errors++;
		if (!r->first_error)
			r->first_error = -EMSGSIZE;
		return -EMSGSIZE;
	}
	if (fwrite(prefix, sizeof(prefix), 1, r->f) != 1 || fwrite(data, 1, len, r->f) != len ||
	    (pad && fwrite(zeros, 1, pad, r->f) != pad)) {
		int e = errno ? errno : EIO;
		r->errors++;
		if (!r->first_error)
			r->first_error = -e;
		return -e;
	}
	r->records++;
	return 0;
}

uint64_t tw_recorder_records(const struct tw_recorder *r)
{
	return r->records;
}

uint64_t tw_recorder_errors(const struct tw_recorder *r)
{
	return r->errors;
}

int tw_recorder_close(struct tw_recorder *r)
{
	int rc;

	if (!r)
		return 0;
	rc = r->first_error;
	if (fclose(r->f) && !rc)
		rc = -(errno ? errno : EIO);
	free(r);
	return rc;
}

static int read_header(FILE *f, struct tw_replay_result *res, const char *path, char *err,
		       size_t errlen)
{
	struct tw_record_file_header h;

	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, TW_RECORD_MAGIC, 8)) {
		snprintf(err, errlen, "%s is not a tracewire recording (bad or short header)", path);
		return -EINVAL;
	}
	if (h.byte_order != TW_RECORD_BYTE_ORDER_MARK) {
		snprintf(err, errlen, "%s was recorded on a host of the other byte order", path);
		return -EINVAL;
	}
	if (h.file_version != TW_RECORD_FILE_VERSION || h.wire_version != TW_WIRE_VERSION) {
		snprintf(err, errlen, "%s: recording version %u / wire version %u, this build reads %u / %u",
			 path, h.file_version, h.wire_version, TW_RECORD_FILE_VERSION, TW_WIRE_VERSION);
		return -EINVAL;
	}
	if (h.header_size < sizeof(h) || fseek(f, h.header_size, SEEK_SET)) {
		snprintf(err, errlen, "%s: bad header size %u", path, h.header_size);
		return -EINVAL;
	}
	res->wire_version = h.wire_version;
	res->realtime_offset_ns = h.realtime_offset_ns;
	return 0;
}

int tw_replay_file(const char *path, tw_event_fn cb, void *user, struct tw_replay_result *res,
		   char *err, size_t errlen)
{
	uint64_t *buf; /* 8-aligned, as the ring buffer hands records out */
	FILE *f;
	int rc;

	memset(res, 0, sizeof(*res));
	f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot open recording %s: %s", path, strerror(e));
		return -e;
	}
	rc = read_header(f, res, path, err, errlen);
	buf = malloc(TW_RECORD_MAX_LEN);
	if (!rc && !buf)
		rc = -ENOMEM;
	while (!rc) {
		uint32_t prefix[2];
		size_t got = fread(prefix, 1, sizeof(prefix), f), len, padded;
		struct tw_event ev;
		int d;

		if (got == 0)
			break;
		if (got != sizeof(prefix)) {
			res->truncated_tail = true;
			break;
		}
		len = prefix[0];
		if (len > TW_RECORD_MAX_LEN) {
			snprintf(err, errlen, "%s: record %llu claims %zu bytes: file corrupt", path,
				 (unsigned long long)res->records, len);
			rc = -EBADMSG;
			break;
		}
		padded = (len + 7) & ~(size_t)7;
		if (fread(buf, 1, padded, f) != padded) {
			res->truncated_tail = true;
			break;
		}
		res->records++;
		d = tw_event_decode(buf, len, &ev);
		if (d < 0) {
			res->decode_errors[-d]++;
			continue;
		}
		ev.ts_realtime_ns = ev.hdr->ts_boot_ns + res->realtime_offset_ns;
		res->delivered++;
		res->received[ev.hdr->type]++;
		if (cb && cb(user, &ev))
			break;
	}
	free(buf);
	fclose(f);
	return rc;
}
