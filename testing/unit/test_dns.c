// SPDX-License-Identifier: Apache-2.0
/* The bounded DNS parser behind NETWORK_DNS events. */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dns.h"

static struct tw_dns_message_parsed d;

struct msg {
	uint8_t b[2048];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	cr_assert_leq(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = {v >> 8, v & 0xff};
	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void header(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void name(struct msg *m, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		uint8_t len = (uint8_t)l;
		put(m, &len, 1);
		put(m, dotted, l);
		dotted += l + (dot ? 1 : 0);
	}
	put(m, "", 1);
}

static void rr_head(struct msg *m, uint16_t type, uint32_t ttl, uint16_t rdlength)
{
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlength);
}

Test(dns, query)
{
	struct msg m;

	header(&m, 0xbeef, 0x0100, 1, 0);
	name(&m, "www.example.com");
	put16(&m, 28);
	put16(&m, 1);
	cr_assert_eq(tw_dns_parse(m.b, m.n, false, &d), 0);
	cr_expect_eq(d.id, 0xbeef);
	cr_expect_not(d.response);
	cr_expect(d.recursion_desired);
	cr_assert_eq(d.n_questions, 1);
	cr_expect_str_eq(d.questions[0].name, "www.example.com");
	cr_expect_eq(d.questions[0].type, 28);
	cr_expect_eq(d.n_answers, 0);
}

Test(dns, answers_with_compression)
{
	struct msg m;
	static const uint8_t web[] = {3, 'w', 'e', 'b', 0xc0, 16}; /* web + pointer to "example.com" */
	static const uint8_t addr[] = {93, 184, 216, 34};
	static const uint8_t addr6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	size_t web_at;

	header(&m, 1, 0x8180, 1, 3);
	name(&m, "www.example.com"); /* at 12; "example.com" at 16 */
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 0xc00c);
	rr_head(&m, 5, 300, sizeof(web));
	web_at = m.n;
	put(&m, web, sizeof(web));
	put16(&m, (uint16_t)(0xc000 | web_at));
	rr_head(&m, 1, 30, 4);
	put(&m, addr, 4);
	put16(&m, (uint16_t)(0xc000 | web_at));
	rr_head(&m, 28, 31, 16);
	put(&m, addr6, 16);
	cr_assert_eq(tw_dns_parse(m.b, m.n, false, &d), 0);
	cr_expect(d.response);
	cr_expect_eq(d.rcode, 0);
	cr_assert_eq(d.n_answers, 3);
	cr_expect_str_eq(d.answers[0].name, "www.example.com");
	cr_expect_str_eq(d.answers[0].data, "web.example.com");
	cr_expect_eq(d.answers[0].ttl, 300);
	cr_expect_str_eq(d.answers[1].name, "web.example.com");
	cr_expect_str_eq(d.answers[1].data, "93.184.216.34");
	cr_expect_str_eq(d.answers[2].data, "2001:db8::1");
	cr_expect_str_eq(tw_dns_type_name(d.answers[0].type), "CNAME");
}

Test(dns, nxdomain_and_unknown_types)
{
	struct msg m;

	header(&m, 2, 0x8183, 1, 1);
	name(&m, "a.test");
	put16(&m, 16);
	put16(&m, 1);
	put16(&m, 0xc00c);
	rr_head(&m, 99, 5, 3); /* a type we do not decode: kept with its length */
	put(&m, "abc", 3);
	cr_assert_eq(tw_dns_parse(m.b, m.n, false, &d), 0);
	cr_expect_str_eq(tw_dns_rcode_name(d.rcode), "NXDOMAIN");
	cr_expect_eq(d.answers[0].type, 99);
	cr_expect_eq(d.answers[0].rdlength, 3);
	cr_expect_str_eq(d.answers[0].data, "");
	cr_expect_null(tw_dns_type_name(99));
	cr_expect_null(tw_dns_rcode_name(12));
}

Test(dns, root_name_and_escapes)
{
	struct msg m;
	static const uint8_t odd[] = {4, 'a', '.', 0x01, '\\', 0};

	header(&m, 3, 0, 2, 0);
	put(&m, "", 1); /* the root */
	put16(&m, 2);
	put16(&m, 1);
	put(&m, odd, sizeof(odd));
	put16(&m, 1);
	put16(&m, 1);
	cr_assert_eq(tw_dns_parse(m.b, m.n, false, &d), 0);
	cr_expect_str_eq(d.questions[0].name, ".");
	cr_expect_str_eq(d.questions[1].name, "a\\.\\001\\\\");
}

Test(dns, malformed)
{
	struct msg m = {0};

	cr_expect_eq(tw_dns_parse(m.b, 11, false, &d), -TW_DNS_SHORT, "shorter than a header");
	/* a pointer forward, then one to itself: both could loop */
	header(&m, 4, 0, 1, 0);
	put16(&m, 0xc000 | 20);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_NAME);
	header(&m, 4, 0, 1, 0);
	put16(&m, 0xc000 | 12);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_NAME);
	/* 0x40 label type */
	header(&m, 4, 0, 1, 0);
	put(&m, "\x41", 1);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_NAME);
	/* a name over 255 bytes: five labels of 60 */
	header(&m, 4, 0, 1, 0);
	for (int i = 0; i < 5; i++) {
		uint8_t l = 60, lab[60];
		memset(lab, 'x', sizeof(lab));
		put(&m, &l, 1);
		put(&m, lab, sizeof(lab));
	}
	put(&m, "", 1);
	put16(&m, 1);
	put16(&m, 1);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_NAME);
	/* an A record with 5 bytes of data */
	header(&m, 4, 0x8000, 0, 1);
	put(&m, "", 1);
	rr_head(&m, 1, 1, 5);
	put(&m, "12345", 5);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_RDATA);
	/* a label that runs past the end */
	header(&m, 4, 0, 1, 0);
	put(&m, "\x09" "abc", 4);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_SHORT);
	/* a CNAME whose name runs past its record */
	header(&m, 4, 0x8000, 0, 1);
	put(&m, "", 1);
	rr_head(&m, 5, 1, 2);
	put(&m, "\x03www", 4);
	put(&m, "", 1);
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_BAD_RDATA);
}

Test(dns, cut_at_capture_cap_keeps_what_parsed)
{
	struct msg m;
	static const uint8_t addr[] = {10, 0, 0, 1};

	header(&m, 5, 0x8180, 1, 2);
	name(&m, "x.test");
	put16(&m, 1);
	put16(&m, 1);
	put16(&m, 0xc00c);
	rr_head(&m, 1, 1, 4);
	put(&m, addr, 4);
	put16(&m, 0xc00c);
	rr_head(&m, 1, 1, 4);
	put(&m, addr, 2); /* cut in the middle of the second record */
	cr_expect_eq(tw_dns_parse(m.b, m.n, false, &d), -TW_DNS_SHORT, "uncut: an error");
	cr_assert_eq(tw_dns_parse(m.b, m.n, true, &d), 0, "cut at the cap: what fits is kept");
	cr_expect_eq(d.n_answers, 1);
	cr_expect_eq(d.ancount, 2);
}

Test(dns, record_counts_are_capped)
{
	struct msg m;
	static const uint8_t addr[] = {10, 0, 0, 2};

	header(&m, 6, 0x8180, 0, 40);
	for (int i = 0; i < 40; i++) {
		put(&m, "", 1);
		rr_head(&m, 1, 1, 4);
		put(&m, addr, 4);
	}
	cr_assert_eq(tw_dns_parse(m.b, m.n, false, &d), 0);
	cr_expect_eq(d.n_answers, TW_DNS_MAX_ANSWERS);
	cr_expect_eq(d.ancount, 40);
	cr_expect_str_eq(d.answers[TW_DNS_MAX_ANSWERS - 1].data, "10.0.0.2");
}
