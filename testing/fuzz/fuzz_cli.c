// SPDX-License-Identifier: Apache-2.0
/* Fuzz target: NUL-separated words as EventsTrace's argv. Must never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[66] = {"EventsTrace"}, err[256];
	struct tw_cli cli;
	int argc = 1;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i < size && argc < 65;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	tw_cli_parse(argc, argv, &cli, err, sizeof(err));
	free(buf);
	return 0;
}
