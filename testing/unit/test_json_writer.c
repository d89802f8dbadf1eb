// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the streaming NDJSON writer (non-GPL/lib/json_writer.c).
 *
 * Every line produced here goes through finish_line(), which checks NDJSON
 * framing (exactly one trailing '\n'), that no raw control byte leaked into
 * the output, that the output is valid UTF-8, and that cJSON accepts it as a
 * complete document.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"

/* ---- independent reference helpers ------------------------------------- */

/*
 * Reference UTF-8 decoder, deliberately written differently from the
 * implementation (decode the code point, then reject overlong / surrogate /
 * out-of-range values). Returns the sequence length at s, 0 if invalid.
 */
static size_t ref_utf8_seq(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		need = 2; cp = s[0] & 0x1F; min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		need = 3; cp = s[0] & 0x0F; min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		need = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return need;
}

static bool ref_utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = ref_utf8_seq(s + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Expected decoded string value: each invalid byte -> U+FFFD. Caller frees. */
static unsigned char *ref_replace(const unsigned char *s, size_t len, size_t *out_len)
{
	unsigned char *o = malloc(3 * len + 1);
	size_t n = 0;

	cr_assert_not_null(o);
	for (size_t i = 0; i < len;) {
		size_t k = ref_utf8_seq(s + i, len - i);
		if (!k) {
			memcpy(o + n, "\xEF\xBF\xBD", 3);
			n += 3;
			i++;
		} else {
			memcpy(o + n, s + i, k);
			n += k;
			i += k;
		}
	}
	o[n] = '\0';
	*out_len = n;
	return o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict padded base64 decoder. Caller frees the result. */
static unsigned char *b64_decode(const char *in, size_t *out_len)
{
	size_t len = strlen(in);
	unsigned char *out = malloc(len / 4 * 3 + 1);
	size_t n = 0;

	cr_assert_not_null(out);
	cr_assert_eq(len % 4, 0, "base64 length %zu not a multiple of 4: %s", len, in);
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
		cr_assert(pad == 0 || last, "padding in the middle: %s", in);
		cr_assert(!(in[i + 2] == '=' && in[i + 3] != '='), "bad padding: %s", in);
		uint32_t v = 0;
		for (int k = 0; k < 4 - pad; k++) {
			int d = b64_val(in[i + k]);
			cr_assert(d >= 0, "bad base64 char '%c' in %s", in[i + k], in);
			v |= (uint32_t)d << (18 - 6 * k);
		}
		out[n++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)v;
	}
	*out_len = n;
	return out;
}

/* ---- line helpers ------------------------------------------------------ */

/* Finish the line, check framing, return a NUL-terminated copy without the
 * trailing newline. Caller frees. */
static char *finish_line(struct tw_json *j)
{
	size_t n = 0;
	const char *b = tw_json_finish(j, &n);

	cr_assert_not_null(b, "tw_json_finish returned NULL");
	cr_assert(n >= 1 && b[n - 1] == '\n', "line must end in newline");
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)b[i];
		cr_assert(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu in output", c, i);
	}
	cr_assert(ref_utf8_valid((const unsigned char *)b, n), "output is not valid UTF-8");

	char *text = malloc(n);
	cr_assert_not_null(text);
	memcpy(text, b, n - 1);
	text[n - 1] = '\0';
	return text;
}

static cJSON *parse(const char *text)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(text, &end, 1);

	cr_assert_not_null(root, "cJSON rejected: %s", text);
	return root;
}

/* {"s": <tw_json_string(bytes)>} -> text; *valid gets the return value. */
static char *one_string(const void *s, size_t len, bool *valid)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	*valid = tw_json_string(&j, "s", s, len);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	tw_json_free(&j);
	return text;
}

static void assert_b64_is(const cJSON *item, const void *bytes, size_t len)
{
	size_t n;

	cr_assert(cJSON_IsString(item), "b64 item is not a string");
	unsigned char *dec = b64_decode(item->valuestring, &n);
	cr_assert_eq(n, len, "decoded length %zu != %zu", n, len);
	cr_assert(len == 0 || memcmp(dec, bytes, len) == 0, "decoded bytes differ");
	free(dec);
}

/* Valid input without NUL: exact parse round trip, no _b64 sibling. */
static void check_valid_roundtrip(const char *s, size_t len)
{
	bool valid;
	char *text = one_string(s, len, &valid);
	cJSON *root = parse(text);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "s");

	cr_assert(valid);
	cr_assert(cJSON_IsString(v));
	cr_assert_eq(strlen(v->valuestring), len, "len mismatch for %s", text);
	cr_assert(memcmp(v->valuestring, s, len) == 0, "value mismatch for %s", text);
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(root, "s_b64"));
	cJSON_Delete(root);
	free(text);
}

/* ---- escaping ---------------------------------------------------------- */

Test(json_escape, quote_and_backslash)
{
	bool valid;
	char *text = one_string("a\"b\\c", 5, &valid);

	cr_assert(valid);
	cr_assert_str_eq(text, "{\"s\":\"a\\\"b\\\\c\"}");
	free(text);
	check_valid_roundtrip("a\"b\\c\"\"\\\\", 9);
}

static const char *expected_escape(unsigned char c, char tmp[8])
{
	switch (c) {
	case '\b': return "\\b";
	case '\t': return "\\t";
	case '\n': return "\\n";
	case '\f': return "\\f";
	case '\r': return "\\r";
	default:
		snprintf(tmp, 8, "\\u%04x", c);
		return tmp;
	}
}

Test(json_escape, every_control_byte_and_del)
{
	for (unsigned c = 0; c <= 0x7f; c++) {
		if (c >= 0x20 && c != 0x7f)
			continue;
		unsigned char in[3] = { 'x', (unsigned char)c, 'y' };
		char tmp[8], want[64];
		bool valid;

		snprintf(want, sizeof(want), "{\"s\":\"x%sy\"}", expected_escape((unsigned char)c, tmp));
		char *text = one_string(in, 3, &valid);
		cr_assert(valid, "byte 0x%02x reported invalid", c);
		cr_assert_str_eq(text, want, "byte 0x%02x", c);

		cJSON *root = parse(text);
		cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "s");
		cr_assert(cJSON_IsString(v));
		if (c == 0) /* cJSON strings are C strings: \u0000 truncates */
			cr_assert_str_eq(v->valuestring, "x");
		else
			cr_assert(memcmp(v->valuestring, in, 3) == 0 && v->valuestring[3] == '\0');
		cJSON_Delete(root);
		free(text);
	}
}

Test(json_escape, all_controls_in_one_run)
{
	unsigned char in[33];
	char want[512] = "{\"s\":\"", tmp[8];
	bool valid;

	for (int c = 0; c < 0x20; c++)
		in[c] = (unsigned char)c;
	in[32] = 0x7f;
	for (int i = 0; i < 33; i++)
		strcat(want, expected_escape(in[i], tmp));
	strcat(want, "\"}");
	char *text = one_string(in, sizeof(in), &valid);
	cr_assert(valid);
	cr_assert_str_eq(text, want);
	cJSON_Delete(parse(text));
	free(text);
	/* Without the leading NUL the value must round trip exactly. */
	check_valid_roundtrip((const char *)in + 1, sizeof(in) - 1);
}

Test(json_escape, nul_bytes_are_data)
{
	bool valid;
	char *text = one_string("a\0b\0", 4, &valid);

	cr_assert(valid);
	cr_assert_str_eq(text, "{\"s\":\"a\\u0000b\\u0000\"}");
	cJSON_Delete(parse(text));
	free(text);
}

Test(json_escape, keys_are_escaped)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_u64(&j, "we\"ird\\key\n", 1);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"we\\\"ird\\\\key\\n\":1}");
	cJSON *root = parse(text);
	cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(root, "we\"ird\\key\n"));
	cJSON_Delete(root);
	free(text);
	tw_json_free(&j);
}

/* ---- UTF-8 ------------------------------------------------------------- */

Test(json_utf8, multibyte_passes_through)
{
	static const char *cases[] = {
		"\xC3\xA9",             /* é, 2 bytes */
		"\xC2\x80", "\xDF\xBF", /* U+0080, U+07FF */
		"\xE2\x82\xAC",         /* €, 3 bytes */
		"\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
		"\xF0\x9F\x98\x80",     /* 😀, 4 bytes */
		"\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", /* U+10000, U+10FFFF */
		"caf\xC3\xA9 \xE2\x82\xAC\xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i];
		char want[128];
		bool valid;

		snprintf(want, sizeof(want), "{\"s\":\"%s\"}", s);
		char *text = one_string(s, strlen(s), &valid);
		cr_assert(valid, "case %zu reported invalid", i);
		cr_assert_str_eq(text, want, "case %zu not passed through verbatim", i);
		free(text);
		check_valid_roundtrip(s, strlen(s));
	}
}

Test(json_utf8, line_separators_escaped)
{
	bool valid;
	char *text = one_string("a\xE2\x80\xA8" "b\xE2\x80\xA9", 8, &valid);

	cr_assert(valid);
	cr_assert_str_eq(text, "{\"s\":\"a\\u2028b\\u2029\"}");
	free(text);
	check_valid_roundtrip("a\xE2\x80\xA8" "b\xE2\x80\xA9", 8);
	/* Neighbours of U+2028 are not escaped. */
	text = one_string("\xE2\x80\xA7\xE2\x80\xAA", 6, &valid);
	cr_assert_str_eq(text, "{\"s\":\"\xE2\x80\xA7\xE2\x80\xAA\"}");
	free(text);
}

#define FFFD "\xEF\xBF\xBD"

struct invalid_case {
	const char *name;
	const char *in;
	size_t len;
	const char *replaced; /* expected parsed value of "s" */
};

static const struct invalid_case invalid_cases[] = {
	{ "lone continuation", "a\x80" "b", 3, "a" FFFD "b" },
	{ "lone continuation at end", "\xBF", 1, FFFD },
	{ "truncated 3-byte", "\xE2\x82", 2, FFFD FFFD },
	{ "truncated then ascii", "\xC3(", 2, FFFD "(" },
	{ "truncated 4-byte at end", "abc\xF0\x9F\x98", 6, "abc" FFFD FFFD FFFD },
	{ "overlong C0 80", "\xC0\x80", 2, FFFD FFFD },
	{ "overlong C1 BF", "\xC1\xBF", 2, FFFD FFFD },
	{ "overlong E0 80 80", "\xE0\x80\x80", 3, FFFD FFFD FFFD },
	{ "overlong F0 80 80 80", "\xF0\x80\x80\x80", 4, FFFD FFFD FFFD FFFD },
	{ "surrogate ED A0 80", "\xED\xA0\x80", 3, FFFD FFFD FFFD },
	{ "surrogate ED BF BF", "\xED\xBF\xBF", 3, FFFD FFFD FFFD },
	{ "above U+10FFFF", "\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD },
	{ "F5 lead", "\xF5\x80\x80\x80", 4, FFFD FFFD FFFD FFFD },
	{ "0xFF", "\xFF", 1, FFFD },
	{ "0xFE in text", "ab\xFE" "cd", 5, "ab" FFFD "cd" },
	{ "invalid with escapes", "\xFF\"\n\\\x01", 5, FFFD "\"\n\\\x01" },
	{ "invalid with NUL", "\xFF\0x", 3, FFFD },  /* cJSON stops at NUL */
	{ "valid then invalid", "\xC3\xA9\xE9", 3, "\xC3\xA9" FFFD },
};

Test(json_utf8, invalid_gets_b64_sibling)
{
	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct invalid_case *c = &invalid_cases[i];
		bool valid = true;

		cr_assert(!tw_utf8_valid(c->in, c->len), "%s: tw_utf8_valid", c->name);
		char *text = one_string(c->in, c->len, &valid);
		cr_assert(!valid, "%s: reported valid", c->name);
		cJSON *root = parse(text);
		cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "s");
		cr_assert(cJSON_IsString(s), "%s", c->name);
		cr_assert_str_eq(s->valuestring, c->replaced, "%s: replaced value", c->name);
		assert_b64_is(cJSON_GetObjectItemCaseSensitive(root, "s_b64"), c->in, c->len);
		cr_assert_eq(cJSON_GetArraySize(root), 2, "%s: exactly s and s_b64", c->name);
		cJSON_Delete(root);
		free(text);
	}
}

Test(json_utf8, invalid_in_array_has_no_sibling)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_begin_array(&j, "a");
	cr_assert(!tw_json_string(&j, NULL, "\xFF", 1));
	cr_assert(tw_json_string(&j, NULL, "ok", 2));
	tw_json_end_array(&j);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"a\":[\"" FFFD "\",\"ok\"]}");
	cJSON_Delete(parse(text));
	free(text);
	tw_json_free(&j);
}

Test(json_utf8, validator_table)
{
	cr_assert(tw_utf8_valid("", 0));
	cr_assert(tw_utf8_valid("plain", 5));
	cr_assert(tw_utf8_valid("\0", 1));
	cr_assert(tw_utf8_valid("\xF4\x8F\xBF\xBF", 4));
	cr_assert(tw_utf8_valid("\xED\x9F\xBF", 3));
	cr_assert(!tw_utf8_valid("\xF4\x8F\xBF", 3));
	cr_assert(!tw_utf8_valid("\xE0\x9F\xBF", 3));
	cr_assert(!tw_utf8_valid("\xF0\x8F\xBF\xBF", 4));
	cr_assert(!tw_utf8_valid("\xC3\xC3", 2));
	cr_assert(!tw_utf8_valid("\xE2\x82\x41", 3));
	/* Exhaustive over all 1- and 2-byte inputs against the reference. */
	for (unsigned a = 0; a < 256; a++) {
		unsigned char one = (unsigned char)a;
		cr_assert_eq(tw_utf8_valid(&one, 1), ref_utf8_valid(&one, 1), "0x%02x", a);
		for (unsigned b = 0; b < 256; b++) {
			unsigned char two[2] = { (unsigned char)a, (unsigned char)b };
			cr_assert_eq(tw_utf8_valid(two, 2), ref_utf8_valid(two, 2),
				     "0x%02x 0x%02x", a, b);
		}
	}
	/* All 3-byte sequences starting with E0..EF and all 4-byte F0..F4 heads. */
	for (unsigned a = 0xE0; a <= 0xF4; a++)
		for (unsigned b = 0; b < 256; b++)
			for (unsigned c = 0x70; c < 0xD0; c++) {
				unsigned char s[4] = { (unsigned char)a, (unsigned char)b,
						       (unsigned char)c, 0x80 };
				size_t n = a < 0xF0 ? 3 : 4;
				cr_assert_eq(tw_utf8_valid(s, n), ref_utf8_valid(s, n),
					     "%02x %02x %02x", a, b, c);
			}
}

/* ---- string lists ------------------------------------------------------ */

/* {"argv": list} -> parsed root; *count gets the return value. */
static cJSON *list_line(const void *s, size_t len, size_t *count, char **text_out)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	*count = tw_json_string_list(&j, "argv", s, len);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	tw_json_free(&j);
	cJSON *root = parse(text);
	if (text_out)
		*text_out = text;
	else
		free(text);
	return root;
}

static void check_list(const void *s, size_t len, const char *const *want, size_t n)
{
	size_t count;
	cJSON *root = list_line(s, len, &count, NULL);
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "argv");

	cr_assert_eq(count, n);
	cr_assert(cJSON_IsArray(arr));
	cr_assert_eq((size_t)cJSON_GetArraySize(arr), n);
	for (size_t i = 0; i < n; i++) {
		cJSON *e = cJSON_GetArrayItem(arr, (int)i);
		cr_assert(cJSON_IsString(e));
		cr_assert_str_eq(e->valuestring, want[i], "element %zu", i);
	}
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(root, "argv_b64"));
	cJSON_Delete(root);
}

Test(json_list, trailing_nul)
{
	static const char *const want[] = { "a", "bc", "d" };
	check_list("a\0bc\0d\0", 7, want, 3);
}

Test(json_list, missing_trailing_nul)
{
	static const char *const want[] = { "a", "bc", "d" };
	check_list("a\0bc\0d", 6, want, 3);
}

Test(json_list, empty_list_and_empty_elements)
{
	size_t count;
	char *text;
	cJSON *root = list_line("", 0, &count, &text);
	cr_assert_eq(count, 0);
	cr_assert_str_eq(text, "{\"argv\":[]}");
	cJSON_Delete(root);
	free(text);

	static const char *const one_empty[] = { "" };
	check_list("\0", 1, one_empty, 1);
	static const char *const mid_empty[] = { "a", "", "b" };
	check_list("a\0\0b\0", 5, mid_empty, 3);
}

Test(json_list, escapes_and_utf8)
{
	static const char *const want[] = { "FOO=a\"b\n", "P=\\x", "\xC3\xA9t\xC3\xA9" };
	static const char list[] = "FOO=a\"b\n\0P=\\x\0\xC3\xA9t\xC3\xA9\0";
	check_list(list, sizeof(list) - 1, want, 3);
}

static void check_invalid_list(const char *s, size_t len, const char *const *raw,
			       const size_t *raw_len, const char *const *replaced, size_t n)
{
	size_t count;
	cJSON *root = list_line(s, len, &count, NULL);
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "argv");
	cJSON *b64 = cJSON_GetObjectItemCaseSensitive(root, "argv_b64");

	cr_assert_eq(count, n);
	cr_assert(cJSON_IsArray(arr) && cJSON_IsArray(b64));
	cr_assert_eq((size_t)cJSON_GetArraySize(arr), n);
	cr_assert_eq((size_t)cJSON_GetArraySize(b64), n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(cJSON_GetArrayItem(arr, (int)i)->valuestring, replaced[i]);
		assert_b64_is(cJSON_GetArrayItem(b64, (int)i), raw[i], raw_len[i]);
	}
	cJSON_Delete(root);
}

Test(json_list, one_invalid_element)
{
	static const char *const raw[] = { "ls", "\xFF\xFE", "-l" };
	static const size_t raw_len[] = { 2, 2, 2 };
	static const char *const rep[] = { "ls", FFFD FFFD, "-l" };
	check_invalid_list("ls\0\xFF\xFE\0-l\0", 9, raw, raw_len, rep, 3);
}

Test(json_list, invalid_last_element_without_nul)
{
	static const char *const raw[] = { "", "x", "a\xC0" };
	static const size_t raw_len[] = { 0, 1, 2 };
	static const char *const rep[] = { "", "x", ("a" FFFD) };
	check_invalid_list("\0x\0a\xC0", 5, raw, raw_len, rep, 3);
}

Test(json_list, siblings_keep_commas)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_u64(&j, "pid", 1);
	tw_json_string_list(&j, "argv", "a\0\xFF", 3);
	tw_json_u64(&j, "ppid", 2);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"pid\":1,\"argv\":[\"a\",\"" FFFD "\"],"
			       "\"argv_b64\":[\"YQ==\",\"/w==\"],\"ppid\":2}");
	cJSON_Delete(parse(text));
	free(text);
	tw_json_free(&j);
}

/* ---- structure --------------------------------------------------------- */

Test(json_struct, nested_commas)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_u64(&j, "a", 1);
	tw_json_begin_object(&j, "o");
	tw_json_bool(&j, "x", true);
	tw_json_null(&j, "y");
	tw_json_bool(&j, "f", false);
	tw_json_end_object(&j);
	tw_json_begin_array(&j, "arr");
	tw_json_u64(&j, NULL, 1);
	tw_json_i64(&j, NULL, -2);
	tw_json_begin_object(&j, NULL);
	tw_json_raw_string(&j, "k", "v");
	tw_json_end_object(&j);
	tw_json_begin_array(&j, NULL);
	tw_json_end_array(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_end_object(&j);
	tw_json_end_array(&j);
	tw_json_begin_object(&j, "e");
	tw_json_end_object(&j);
	tw_json_raw_string(&j, "z", "end");
	tw_json_end_object(&j);

	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"a\":1,\"o\":{\"x\":true,\"y\":null,\"f\":false},"
			       "\"arr\":[1,-2,{\"k\":\"v\"},[],{}],\"e\":{},\"z\":\"end\"}");
	cJSON *root = parse(text);
	cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "o");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "x")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "y")));
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "arr");
	cr_assert_eq(cJSON_GetArraySize(arr), 5);
	cr_assert_eq(cJSON_GetArrayItem(arr, 1)->valuedouble, -2.0);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "z")->valuestring, "end");
	cJSON_Delete(root);
	free(text);
	tw_json_free(&j);
}

Test(json_struct, integer_extremes)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_array(&j, NULL);
	tw_json_u64(&j, NULL, 0);
	tw_json_u64(&j, NULL, UINT64_MAX);
	tw_json_i64(&j, NULL, 0);
	tw_json_i64(&j, NULL, -1);
	tw_json_i64(&j, NULL, INT64_MIN);
	tw_json_i64(&j, NULL, INT64_MAX);
	tw_json_u64(&j, NULL, 1000000007);
	tw_json_end_array(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "[0,18446744073709551615,0,-1,-9223372036854775808,"
			       "9223372036854775807,1000000007]");
	cJSON_Delete(parse(text));
	free(text);
	tw_json_free(&j);
}

Test(json_struct, raw_string_escapes)
{
	struct tw_json j;
	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_raw_string(&j, "ts", "2024-01-01T00:00:00.123456789Z");
	tw_json_raw_string(&j, "bad", "a\"b\\c");
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"ts\":\"2024-01-01T00:00:00.123456789Z\",\"bad\":\"a\\\"b\\\\c\"}");
	cJSON *root = parse(text);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "bad")->valuestring, "a\"b\\c");
	cJSON_Delete(root);
	free(text);
	tw_json_free(&j);
}

Test(json_struct, unbalanced_returns_null)
{
	struct tw_json j;
	size_t n = 99;

	tw_json_init(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_begin_array(&j, "a");
	tw_json_end_array(&j);
	cr_assert_null(tw_json_finish(&j, &n), "missing end_object");
	cr_assert_eq(n, 0);

	tw_json_reset(&j);
	tw_json_begin_object(&j, NULL);
	tw_json_end_object(&j);
	tw_json_end_object(&j);
	cr_assert_null(tw_json_finish(&j, &n), "extra end_object");

	/* Exactly TW_JSON_MAX_DEPTH levels is fine, one more is not. */
	for (int extra = 0; extra <= 1; extra++) {
		tw_json_reset(&j);
		for (int d = 0; d < TW_JSON_MAX_DEPTH + extra; d++)
			tw_json_begin_array(&j, NULL);
		for (int d = 0; d < TW_JSON_MAX_DEPTH + extra; d++)
			tw_json_end_array(&j);
		if (extra) {
			cr_assert_null(tw_json_finish(&j, &n), "depth overflow accepted");
		} else {
			char *text = finish_line(&j);
			cr_assert_eq(strlen(text), 2 * TW_JSON_MAX_DEPTH);
			cJSON_Delete(parse(text));
			free(text);
		}
	}
	tw_json_free(&j);
}

Test(json_struct, reset_reuses_buffer)
{
	struct tw_json j;
	tw_json_init(&j);
	cr_assert_null(j.buf);
	tw_json_begin_object(&j, NULL);
	tw_json_string(&j, "s", "first line", 10);
	tw_json_end_object(&j);
	free(finish_line(&j));
	char *buf = j.buf;
	size_t cap = j.cap;

	tw_json_reset(&j);
	cr_assert_eq(j.len, 0);
	tw_json_begin_object(&j, NULL);
	tw_json_u64(&j, "n", 2);
	tw_json_end_object(&j);
	char *text = finish_line(&j);
	cr_assert_str_eq(text, "{\"n\":2}");
	cr_assert_eq(j.buf, buf);
	cr_assert_eq(j.cap, cap);
	free(text);
	tw_json_free(&j);
	cr_assert_null(j.buf);
}

Test(json_struct, large_string_grows_buffer)
{
	size_t len = 200000;
	char *s = malloc(len + 1);
	cr_assert_not_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + i % 26);
	s[len] = '\0';
	s[len / 2] = '"';
	check_valid_roundtrip(s, len);
	free(s);
}

/* ---- base64 ------------------------------------------------------------ */

Test(json_base64, rfc4648_vectors)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char buf[16];

	for (size_t i = 0; i < 7; i++) {
		memset(buf, 'X', sizeof(buf));
		size_t n = tw_base64_encode(in[i], strlen(in[i]), buf);
		cr_assert_eq(n, strlen(out[i]));
		cr_assert_str_eq(buf, out[i]);
	}
}

Test(json_base64, all_byte_values_roundtrip)
{
	unsigned char in[256];
	char out[4 * ((256 + 2) / 3) + 1];

	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= 256; len++) {
		size_t n = tw_base64_encode(in, len, out), dn;
		cr_assert_eq(n, 4 * ((len + 2) / 3));
		cr_assert_eq(out[n], '\0');
		unsigned char *dec = b64_decode(out, &dn);
		cr_assert_eq(dn, len);
		cr_assert(len == 0 || memcmp(dec, in, len) == 0);
		free(dec);
	}
}

/* ---- randomized round trip --------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic across platforms, unlike rand(). */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static size_t put_cp(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Random input of exactly len bytes; the mode mixes pure noise with mostly
 * valid text so both branches get exercised. */
static void gen(unsigned char *s, size_t len, int mode)
{
	size_t i = 0;
	while (i < len) {
		if (mode == 0) {               /* raw noise */
			s[i++] = (unsigned char)rng();
		} else if (mode == 1) {        /* ASCII incl. controls and DEL */
			s[i++] = (unsigned char)(rng() & 0x7F);
		} else {                       /* valid code points, any width */
			static const uint32_t top[] = { 0x80, 0x800, 0x10000, 0x110000 };
			uint32_t cp = rng() % top[rng() % 4];
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0x2028 + (cp & 1);
			unsigned char tmp[4];
			size_t n = put_cp(tmp, cp);
			if (n > len - i)       /* keep exact length: pad with ASCII */
				s[i++] = (unsigned char)('A' + rng() % 26);
			else
				for (size_t k = 0; k < n; k++)
					s[i++] = tmp[k];
		}
	}
	/* mode 3: valid text with one corrupted byte */
	if (mode == 3 && len)
		s[rng() % len] = (unsigned char)(0x80 | rng());
}

Test(json_random, roundtrip_2000)
{
	unsigned char s[64];
	size_t nvalid = 0, ninvalid = 0;

	for (int iter = 0; iter < 2000; iter++) {
		size_t len = rng() % 65;
		bool valid;

		gen(s, len, iter % 4);
		char *text = one_string(s, len, &valid);
		cr_assert_eq(valid, ref_utf8_valid(s, len), "iter %d: validity", iter);
		cr_assert_eq(valid, tw_utf8_valid(s, len), "iter %d", iter);

		cJSON *root = parse(text);
		cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "s");
		cJSON *b64 = cJSON_GetObjectItemCaseSensitive(root, "s_b64");
		cr_assert(cJSON_IsString(v), "iter %d", iter);

		/* cJSON values are C strings, so compare up to the first NUL. */
		size_t want_len;
		unsigned char *want = ref_replace(s, len, &want_len);
		size_t cut = strnlen((const char *)want, want_len);
		cr_assert_eq(strlen(v->valuestring), cut, "iter %d: %s", iter, text);
		cr_assert(memcmp(v->valuestring, want, cut) == 0, "iter %d: %s", iter, text);
		if (valid) {
			cr_assert_null(b64, "iter %d: unexpected s_b64", iter);
			cr_assert(want_len == len && memcmp(want, s, len) == 0);
			nvalid++;
		} else {
			assert_b64_is(b64, s, len);
			ninvalid++;
		}
		free(want);
		cJSON_Delete(root);
		free(text);
	}
	/* Guard against a generator that silently stops covering a branch. */
	cr_assert_gt(nvalid, 500);
	cr_assert_gt(ninvalid, 500);
}
