// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

void twk_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	memcpy(line, "TWK ", 4);
	va_start(ap, fmt);
	n = vsnprintf(line + 4, sizeof(line) - 5, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 4;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, n) < 0)
		return;
}

const char *twk_clean(const char *s, char *buf, size_t len)
{
	size_t j = 0;

	if (len > 161)
		len = 161;
	for (size_t i = 0; s && s[i] && j + 1 < len; i++) {
		char c = s[i];
		if (c == '\t' || c == '\n' || c == ' ')
			c = '_';
		else if (c == '"' || c == '|' || (unsigned char)c < 0x20)
			c = '\'';
		buf[j++] = c;
	}
	buf[j] = '\0';
	if (!j && len > 1)
		snprintf(buf, len, "-");
	return buf;
}

const char *twk_text(const char *s, char *buf, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; s && s[i] && j + 1 < len; i++)
		buf[j++] = (unsigned char)s[i] < 0x20 || s[i] == '|' ? ' ' : s[i];
	buf[j] = '\0';
	return buf;
}

bool twk_cmdline_value(const char *key, char *buf, size_t len)
{
	char cmd[1024], *p;
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;

	if (f)
		fclose(f);
	cmd[n] = '\0';
	p = strstr(cmd, key);
	if (!p)
		return false;
	snprintf(buf, len, "%s", p + strlen(key));
	buf[strcspn(buf, " \n")] = '\0';
	return true;
}

long twk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

const char *twk_true_path(void)
{
	const char *p = getenv("TWK_TRUE");

	return p && *p ? p : "/bin/twk-true";
}
