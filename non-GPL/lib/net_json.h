// SPDX-License-Identifier: Apache-2.0
/* JSON of the network event types (schema: docs/events.md, "Network events"). */
#ifndef TW_NET_JSON_H
#define TW_NET_JSON_H

#include <stddef.h>

#include "json_writer.h"
#include "tracewire_decode.h"

#include <stdbool.h>

/* The members after the common header of a NETWORK_* event. */
void tw_net_event_json(struct tw_json *j, const struct tw_event *ev);

/* "127.0.0.1", "::1", "::ffff:10.0.0.1": family AF_INET or AF_INET6, addr as on the wire. */
const char *tw_net_addr_str(uint16_t family, const uint8_t addr[16], char *buf, size_t len);
/* "ESTABLISHED", ... for a TCP state number, NULL if unknown. */
const char *tw_tcp_state_name(uint32_t state);

/* A NETWORK_DNS event whose message does not parse (the library counts and drops these). */
bool tw_dns_event_malformed(const struct tw_event *ev);

#endif
