// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: arbitrary bytes as one record. The decoder must reject or
 * accept without reading out of bounds, and whatever it accepts must render
 * as JSON (field contents are arbitrary bytes too: the JSON writer's escaping
 * and base64 paths get exercised).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracewire_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tw_json j;
	struct tw_event ev;
	uint64_t *copy;
	size_t len;

	if (size > (1u << 20))
		return 0;
	/* records arrive 8-aligned from the ring and from recordings: keep that */
	copy = malloc(size ? (size + 7) & ~(size_t)7 : 8);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (tw_event_decode(copy, size, &ev) == 0) {
		ev.ts_realtime_ns = ev.hdr->ts_boot_ns;
		tw_json_reset(&j);
		tw_event_to_json(&j, &ev);
		if (!tw_json_finish(&j, &len))
			abort(); /* a decoded event always renders */
	}
	free(copy);
	return 0;
}
