// SPDX-License-Identifier: Apache-2.0
/*
 * The shipper's handling of what comes back from a collector and of event
 * lines: Elasticsearch bulk responses, ClickHouse error bodies, Retry-After
 * values, and the per-line rewriting (event id, ClickHouse flattening) on
 * arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ship_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *z = malloc(size + 1), field[64];
	struct ship_buf out = {0};
	enum ship_verdict v;

	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	v = ship_classify_bulk_response(s, size);
	if (v != SHIP_DELIVERED && v != SHIP_RETRY && v != SHIP_DEAD_LETTER)
		abort();
	v = ship_classify_clickhouse_error(500, s, size);
	if (v != SHIP_RETRY && v != SHIP_DEAD_LETTER)
		abort();
	if (ship_parse_retry_after(z, (time_t)1700000000) < -1)
		abort();
	ship_json_string_field(s, size, "event_type", field, sizeof(field));
	if (memchr(field, 0, sizeof(field)) == NULL)
		abort();
	ship_line_with_id(&out, s, size, "0123-42", "host");
	out.len = 0;
	ship_clickhouse_row(&out, s, size);
	ship_buf_free(&out);
	free(z);
	return 0;
}
