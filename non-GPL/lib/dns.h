// SPDX-License-Identifier: Apache-2.0
/*
 * A bounded DNS message parser (RFC 1035 wire format) for NETWORK_DNS
 * events. Every read is checked against the message length, compression
 * pointers may only point backwards (so they cannot loop), names are capped
 * at 255 bytes and the number of records kept is capped. Never allocates.
 */
#ifndef TW_DNS_H
#define TW_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_DNS_NAME_MAX 1024      /* presentation form: 255 bytes, some escaped as \DDD */
#define TW_DNS_MAX_QUESTIONS 4
#define TW_DNS_MAX_ANSWERS 16

struct tw_dns_question {
	char name[TW_DNS_NAME_MAX];
	uint16_t type, qclass;
};

struct tw_dns_answer {
	char name[TW_DNS_NAME_MAX];
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlength;
	char data[TW_DNS_NAME_MAX]; /* A/AAAA address, CNAME/NS/PTR name; "" for other types */
};

struct tw_dns_message_parsed {
	uint16_t id;
	bool response;
	uint8_t opcode, rcode;
	bool authoritative, truncated, recursion_desired, recursion_available;
	uint16_t qdcount, ancount;        /* as the header says */
	size_t n_questions, n_answers;    /* as parsed (capped) */
	struct tw_dns_question questions[TW_DNS_MAX_QUESTIONS];
	struct tw_dns_answer answers[TW_DNS_MAX_ANSWERS];
};

enum tw_dns_error {
	TW_DNS_OK = 0,
	TW_DNS_SHORT = 1,        /* shorter than its header or a record */
	TW_DNS_BAD_NAME = 2,     /* label too long, name over 255 bytes, bad pointer */
	TW_DNS_BAD_RDATA = 3,    /* record data runs past the message or has the wrong size */
};

/*
 * Parse `len` bytes. Returns 0 or -TW_DNS_*. When the message was cut at the
 * capture cap (`cut`), records that run past the end are not an error: the
 * ones parsed so far are kept.
 */
int tw_dns_parse(const uint8_t *msg, size_t len, bool cut, struct tw_dns_message_parsed *out);

const char *tw_dns_type_name(uint16_t type);   /* "A", "AAAA", ...; NULL if not known */
const char *tw_dns_rcode_name(uint8_t rcode);  /* "NOERROR", "NXDOMAIN", ...; NULL if not known */

#endif
