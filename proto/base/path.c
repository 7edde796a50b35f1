/* path.c - building file names and the directories they live in (path.h). */
#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* Something is there; it has to be a directory (or a link to one). */
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int path_mkdir_p(const char *path, mode_t mode)
{
	char *copy, *p;
	int rc = 0;

	if (!path || !*path)
		return -ENOENT;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	/* Cut the path at each '/' after a component and create the prefix;
	 * repeated and trailing slashes make empty steps, which are skipped. */
	for (p = copy + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		rc = mkdir_one(copy, mode);
		*p = '/';
		if (rc)
			goto out;
	}
	rc = mkdir_one(copy, mode);
out:
	free(copy);
	return rc;
}
