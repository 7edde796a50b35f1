/* path.c - building file names (path.h). */
#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

char *path_join(const char *dir, const char *name)
{
	size_t ld = strlen(dir), ln = strlen(name);
	int slash = ld == 0 || dir[ld - 1] != '/';
	char *p = malloc(ld + ln + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, ld);
	if (slash)
		p[ld++] = '/';
	memcpy(p + ld, name, ln + 1);
	return p;
}

int path_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return ddterr_set(-ENAMETOOLONG, "path too long: %.64s...",
				  buf);
	return 0;
}
