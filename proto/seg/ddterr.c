/* ddterr.c - per-thread last-error message (see ddterr.h). */
#include "ddterr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[512];

int ddterr_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *ddterr_last(int code)
{
	if (last_msg[0])
		return last_msg;
	return strerror(code < 0 ? -code : code);
}

void ddterr_clear(void)
{
	last_msg[0] = '\0';
}
