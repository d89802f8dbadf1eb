// SPDX-License-Identifier: Apache-2.0
/*
 * The public API's promises (docs/library.md) that need neither root nor BPF,
 * checked against the shared library an embedder links: the options size
 * field, error strings, the version, and tracewire.h as the only include.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tracewire.h" /* alone: everything below must come through it */

/* tw_ctx_open() checks the options before anything needs root, so these run anywhere. */
static int open_with(const void *opts, char *err, size_t errlen)
{
	struct tw_ctx *ctx = (struct tw_ctx *)1;
	int rc = tw_ctx_open(&ctx, opts, NULL, NULL, err, errlen);

	if (rc == 0)
		tw_ctx_close(ctx);
	else
		cr_expect_null(ctx, "a failed open leaves *out NULL");
	return rc;
}

/* an option check passed: whatever failed next was not about the options */
static void expect_options_accepted(int rc, const char *err)
{
	cr_expect(rc == 0 || (rc != -E2BIG && !strstr(err, "struct_size") && !strstr(err, "does not know")),
		  "options refused: %d %s", rc, err);
}

Test(options, init_sets_struct_size)
{
	struct tw_options o;

	memset(&o, 0xa5, sizeof(o));
	tw_options_init(&o);
	cr_expect_eq(o.struct_size, sizeof(o));
	cr_expect_eq(o.event_mask, TW_EVENTS_ALL);
}

Test(options, uninitialised_options_are_refused)
{
	struct tw_options o;
	char err[256] = "";

	tw_options_init(&o);
	o.struct_size = 0; /* as from memset(&o, 0, ...) and fields set by hand */
	cr_expect_eq(open_with(&o, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "tw_options_init"), "the message says what to do: %s", err);
}

Test(options, newer_caller_with_unknown_field_set_is_refused)
{
	/* a struct from a newer header: ours, then a field this library has never heard of */
	struct {
		struct tw_options o;
		uint64_t future_option;
	} newer;
	char err[256] = "";

	tw_options_init(&newer.o);
	newer.o.event_mask = 0; /* nothing to load, should it get that far */
	newer.o.struct_size = sizeof(newer);
	newer.future_option = 1;
	cr_expect_eq(open_with(&newer, err, sizeof(err)), -E2BIG, "%s", err);
	cr_expect(strstr(err, "does not know"), "%s", err);
	cr_expect(strstr(tw_strerror(-E2BIG), "newer"), "tw_strerror explains E2BIG");
}

Test(options, newer_caller_leaving_unknown_fields_zero_is_accepted)
{
	struct {
		struct tw_options o;
		uint64_t future_option;
	} newer;
	char err[256] = "";

	memset(&newer, 0, sizeof(newer));
	tw_options_init(&newer.o);
	newer.o.event_mask = 0;
	newer.o.struct_size = sizeof(newer);
	expect_options_accepted(open_with(&newer, err, sizeof(err)), err);
}

Test(options, older_caller_is_read_only_up_to_its_size)
{
	/* the 0.1.0 struct ends at `verbose`: bytes after it (padding here, newer fields later)
	 * are the caller's garbage and must not be read as options */
	struct tw_options o;
	char err[256] = "";
	size_t v1 = offsetof(struct tw_options, verbose) + sizeof(o.verbose);

	memset(&o, 0xff, sizeof(o));
	tw_options_init(&o);
	memset((char *)&o + v1, 0xff, sizeof(o) - v1);
	o.event_mask = 0;
	o.struct_size = (uint32_t)v1;
	expect_options_accepted(open_with(&o, err, sizeof(err)), err);
	o.struct_size = (uint32_t)v1 - 1; /* smaller than any released struct */
	cr_expect_eq(open_with(&o, err, sizeof(err)), -EINVAL);
}

Test(errors, strerror_covers_the_documented_codes)
{
	cr_expect(strstr(tw_strerror(-EPERM), "CAP_BPF"));
	cr_expect(strstr(tw_strerror(EPERM), "CAP_BPF"), "either sign");
	cr_expect(strstr(tw_strerror(-ENOTSUP), "BTF"));
	cr_expect(strstr(tw_strerror(-EINVAL), "tw_options_init"));
	cr_expect_str_eq(tw_strerror(0), "success");
	cr_expect_str_eq(tw_strerror(-ENOENT), "No such file or directory");
	cr_expect_not_null(tw_strerror(-99999));
}

Test(version, header_and_library_agree)
{
	cr_expect_str_eq(tw_version(), TW_LIB_VERSION);
}

Test(umbrella, one_header_declares_the_whole_api)
{
	/* one function of each header tracewire.h pulls in, called through the shared library */
	struct tw_json j;
	size_t n;

	cr_expect_eq(tw_ship_format_parse("clickhouse"), TW_SHIP_CLICKHOUSE);     /* ship */
	cr_expect_str_eq(tw_sched_hierarchy_name(TW_SCHED_HIERARCHY_V2), "v2");   /* sched */
	cr_expect_str_eq(tw_event_type_name(TW_EVENT_PROCESS_EXEC), "PROCESS_EXEC"); /* decode */
	tw_json_init(&j);                                                          /* json */
	tw_json_begin_object(&j, NULL);
	tw_json_end_object(&j);
	cr_expect_not_null(tw_json_finish(&j, &n));
	tw_json_free(&j);
	cr_expect_eq(sizeof(struct tw_record_file_header) % 8, 0);                 /* record */
}
