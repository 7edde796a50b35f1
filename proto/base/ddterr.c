/* ddterr.c - per-thread last-error message (see ddterr.h). The message is
 * kept with the code it was set for, so a later failure that set none (a
 * bare -ENOMEM) never shows an older, unrelated message. */
#include "ddterr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[512];
static _Thread_local int last_code;

int ddterr_set(int code, const char *fmt, ...)
{
	char tmp[sizeof(last_msg)];
	va_list ap;

	/* Format aside first: callers pass ddterr_last() as an argument to
	 * wrap an inner message, which lives in last_msg itself. */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(last_msg, tmp, sizeof(tmp));
	last_code = code;
	return code;
}

const char *ddterr_last(int code)
{
	if (last_msg[0] && last_code == code)
		return last_msg;
	return strerror(code < 0 ? -code : code);
}

void ddterr_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}
