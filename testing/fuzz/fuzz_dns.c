// SPDX-License-Identifier: Apache-2.0
/*
 * The DNS parser on arbitrary bytes, both as a whole message and as one cut
 * at the capture cap; then the JSON of a NETWORK_DNS event carrying them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "tracewire_json.h"

static struct tw_dns_message_parsed parsed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the record: fixed part, one field header, the payload; 8-aligned like the ring's */
	static uint64_t buf[(sizeof(struct tw_dns_message) + sizeof(struct tw_varlen_field) +
			     TW_CAP_DNS_PACKET) / 8 + 1];
	struct tw_dns_message *m = (struct tw_dns_message *)buf;
	struct tw_varlen_field *f = (struct tw_varlen_field *)((char *)buf + sizeof(*m));
	struct tw_event ev;
	struct tw_json j;
	size_t n = size < TW_CAP_DNS_PACKET ? size : TW_CAP_DNS_PACKET, len;

	tw_dns_parse(data, size, false, &parsed);
	tw_dns_parse(data, size, true, &parsed);
	/* every name the parser produced is a terminated string within its buffer */
	for (size_t i = 0; i < parsed.n_questions; i++)
		if (!memchr(parsed.questions[i].name, 0, sizeof(parsed.questions[i].name)))
			abort();

	memset(buf, 0, sizeof(buf));
	m->hdr.type = TW_EVENT_NETWORK_DNS;
	m->tuple.family = 2;
	m->direction = TW_DNS_RECEIVED;
	m->orig_len = (uint32_t)size;
	m->vl.count = 1;
	m->vl.size = (uint32_t)(sizeof(*f) + n);
	f->type = TW_FIELD_DNS_PACKET;
	f->flags = size > n ? TW_FIELD_FLAG_TRUNCATED : 0;
	f->size = (uint32_t)n;
	memcpy(f->data, data, n);
	len = sizeof(*m) + sizeof(*f) + n;
	m->hdr.size = (uint32_t)len;
	if (tw_event_decode(buf, len, &ev) != 0)
		abort(); /* we built it valid */
	tw_json_init(&j);
	tw_event_to_json(&j, &ev);
	if (!tw_json_finish(&j, &len))
		abort();
	tw_json_free(&j);
	return 0;
}
