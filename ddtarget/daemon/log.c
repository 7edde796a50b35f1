/* log.c - stderr or syslog lines for ddtargetd (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "now.h"

static int use_syslog, debug_on;

void log_setup(const char *ident, int to_syslog, int verbose)
{
	use_syslog = to_syslog;
	debug_on = verbose;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[8] = {
		"", "", "", "error", "warning", "", "info", "debug",
	};
	char line[1024], stamp[32];
	int64_t ns;
	time_t sec;
	struct tm tm;
	va_list ap;

	if (level == LOG_DEBUG_ && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(level, "%s", line);
		return;
	}
	ns = now_ns();
	sec = (time_t)(ns / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf: stdio locks the stream, so lines never interleave. */
	fprintf(stderr, "%s.%03dZ ddtargetd %s: %s\n", stamp,
		(int)(ns % 1000000000 / 1000000), names[level & 7], line);
}
