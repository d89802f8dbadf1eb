// SPDX-License-Identifier: Apache-2.0
/*
 * Reads NDJSON on stdin; fails (exit 1, line number on stderr) unless every
 * line is one complete JSON object that cJSON parses strictly.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int main(void)
{
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		n++;
		if (line[len - 1] != '\n') {
			fprintf(stderr, "jsoncheck: line %zu has no newline\n", n);
			return 1;
		}
		line[len - 1] = '\0';
		if (memchr(line, '\0', len - 1)) {
			fprintf(stderr, "jsoncheck: line %zu contains a NUL byte\n", n);
			return 1;
		}
		cJSON *o = cJSON_ParseWithOpts(line, NULL, 1);
		if (!cJSON_IsObject(o)) {
			fprintf(stderr, "jsoncheck: line %zu is not a JSON object: %.200s\n", n, line);
			return 1;
		}
		cJSON_Delete(o);
	}
	free(line);
	printf("%zu lines valid\n", n);
	return 0;
}
