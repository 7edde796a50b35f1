/* gw_log.c - the gateways' log lines: "LEVEL: message" on stderr, one
 * write each so lines from many threads never interleave. */
#include "gw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int gw_log_level = GW_LOG_INFO;

void gw_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char line[1024];
	va_list ap;
	int n;

	if (level > gw_log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: ", names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
