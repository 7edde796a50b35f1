/* confval.c - configuration values (confval.h). */
#include "confval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ddterr.h"

int confval_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

int confval_int(int *dst, const char *v, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*dst = (int)n;
	return 0;
}

int confval_bool(int *dst, const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcmp(v, "1") || !strcasecmp(v, "on"))
		*dst = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
		 !strcmp(v, "0") || !strcasecmp(v, "off"))
		*dst = 0;
	else
		return -1;
	return 0;
}

int confval_key_done(int rc, char *err, size_t cap, const char *section,
		     const char *key, const char *value)
{
	if (rc == -2)
		snprintf(err, cap, "[%s] %s: unknown key", section, key);
	else if (rc < 0)
		snprintf(err, cap, "[%s] %s: bad value '%s'", section, key,
			 value);
	return rc == 0;
}

int confval_ini_done(const char *path, int line, const char *err)
{
	if (line < 0)
		return ddterr_set(-ENOENT, "cannot read %s", path);
	if (line > 0)
		return ddterr_set(-EINVAL, "%s line %d: %s", path, line,
				  err[0] ? err : "syntax error");
	return 0;
}

int confval_password(char *dst, size_t cap, const char *file)
{
	const char *env = getenv("DDT_PASSWORD");
	FILE *f;

	dst[0] = '\0';
	if (!file || !file[0]) {
		if (env && confval_str(dst, cap, env) < 0)
			return ddterr_set(-EINVAL, "$DDT_PASSWORD: too long");
		return 0;
	}
	f = fopen(file, "r");
	if (!f)
		return ddterr_set(-errno, "password_file %s: %s", file,
				  strerror(errno));
	if (!fgets(dst, (int)cap, f))
		dst[0] = '\0';
	fclose(f);
	dst[strcspn(dst, "\r\n")] = '\0';
	return 0;
}
