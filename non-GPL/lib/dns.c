// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

#define DNS_HEADER 12
#define MAX_POINTERS 32

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Append one label in presentation form: dots and backslashes escaped, bytes outside 0x21..0x7e as \DDD. */
static int put_label(char *out, size_t *o, const uint8_t *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = l[i];
		int w;
		if (*o + 5 >= TW_DNS_NAME_MAX)
			return -1;
		if (c == '.' || c == '\\')
			w = snprintf(out + *o, 5, "\\%c", c);
		else if (c > 0x20 && c < 0x7f)
			w = snprintf(out + *o, 5, "%c", c);
		else
			w = snprintf(out + *o, 5, "\\%03u", c);
		*o += (size_t)w;
	}
	return 0;
}

/*
 * Read the name at *pos. On return *pos is just past the name where it
 * first appeared (pointers are followed, but only backwards).
 */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, o = 0, wire = 0, end = 0;
	int pointers = 0;
	bool jumped = false;

	out[0] = '\0';
	for (;;) {
		uint8_t n;
		if (p >= len)
			return -TW_DNS_SHORT;
		n = msg[p];
		if ((n & 0xc0) == 0xc0) {
			size_t target;
			if (p + 1 >= len)
				return -TW_DNS_SHORT;
			target = (size_t)((n & 0x3f) << 8 | msg[p + 1]);
			if (target >= p || ++pointers > MAX_POINTERS)
				return -TW_DNS_BAD_NAME; /* forward or self pointer: could loop */
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if (n & 0xc0)
			return -TW_DNS_BAD_NAME; /* 0x40 / 0x80: extended label types, obsolete */
		if (n == 0) {
			p++;
			break;
		}
		if (p + 1 + n > len)
			return -TW_DNS_SHORT;
		wire += (size_t)n + 1;
		if (wire > 254)
			return -TW_DNS_BAD_NAME;
		if (o && o + 1 < TW_DNS_NAME_MAX)
			out[o++] = '.';
		if (put_label(out, &o, msg + p + 1, n))
			return -TW_DNS_BAD_NAME;
		out[o] = '\0';
		p += (size_t)n + 1;
	}
	if (o == 0)
		strcpy(out, ".");
	*pos = jumped ? end : p;
	return 0;
}

static int read_answer(const uint8_t *msg, size_t len, size_t *pos, struct tw_dns_answer *a)
{
	size_t p = *pos, rd;
	int err = read_name(msg, len, &p, a->name);

	if (err)
		return err;
	if (p + 10 > len)
		return -TW_DNS_SHORT;
	a->type = be16(msg + p);
	a->rclass = be16(msg + p + 2);
	a->ttl = be32(msg + p + 4);
	a->rdlength = be16(msg + p + 8);
	p += 10;
	if (p + a->rdlength > len)
		return -TW_DNS_SHORT;
	a->data[0] = '\0';
	switch (a->type) {
	case 1: /* A */
		if (a->rdlength != 4 || !inet_ntop(AF_INET, msg + p, a->data, sizeof(a->data)))
			return -TW_DNS_BAD_RDATA;
		break;
	case 28: /* AAAA */
		if (a->rdlength != 16 || !inet_ntop(AF_INET6, msg + p, a->data, sizeof(a->data)))
			return -TW_DNS_BAD_RDATA;
		break;
	case 2: /* NS */
	case 5: /* CNAME */
	case 12: /* PTR */
		rd = p;
		if ((err = read_name(msg, len, &rd, a->data)))
			return err;
		if (rd > p + a->rdlength)
			return -TW_DNS_BAD_RDATA; /* the name runs past its record */
		break;
	default:
		break; /* kept as type, class, ttl and length */
	}
	*pos = p + a->rdlength;
	return 0;
}

int tw_dns_parse(const uint8_t *msg, size_t len, bool cut, struct tw_dns_message_parsed *out)
{
	size_t pos = DNS_HEADER;
	uint16_t flags;
	int err;

	memset(out, 0, offsetof(struct tw_dns_message_parsed, questions));
	if (len < DNS_HEADER)
		return -TW_DNS_SHORT;
	out->id = be16(msg);
	flags = be16(msg + 2);
	out->response = flags >> 15;
	out->opcode = (flags >> 11) & 0xf;
	out->authoritative = (flags >> 10) & 1;
	out->truncated = (flags >> 9) & 1;
	out->recursion_desired = (flags >> 8) & 1;
	out->recursion_available = (flags >> 7) & 1;
	out->rcode = flags & 0xf;
	out->qdcount = be16(msg + 4);
	out->ancount = be16(msg + 6);
	for (uint16_t i = 0; i < out->qdcount; i++) {
		struct tw_dns_question scratch, *q =
			out->n_questions < TW_DNS_MAX_QUESTIONS ? &out->questions[out->n_questions] : &scratch;
		if ((err = read_name(msg, len, &pos, q->name)) || pos + 4 > len) {
			if (cut && (err == -TW_DNS_SHORT || !err))
				return 0;
			return err ? err : -TW_DNS_SHORT;
		}
		q->type = be16(msg + pos);
		q->qclass = be16(msg + pos + 2);
		pos += 4;
		if (q != &scratch)
			out->n_questions++;
	}
	for (uint16_t i = 0; i < out->ancount; i++) {
		struct tw_dns_answer scratch, *a =
			out->n_answers < TW_DNS_MAX_ANSWERS ? &out->answers[out->n_answers] : &scratch;
		if ((err = read_answer(msg, len, &pos, a))) {
			if (cut && err == -TW_DNS_SHORT)
				return 0;
			return err;
		}
		if (a != &scratch)
			out->n_answers++;
	}
	return 0; /* authority and additional sections are not reported */
}

const char *tw_dns_type_name(uint16_t type)
{
	switch (type) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 41: return "OPT";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	default: return NULL;
	}
}

const char *tw_dns_rcode_name(uint8_t rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED"};
	return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : NULL;
}
