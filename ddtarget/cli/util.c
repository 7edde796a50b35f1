/* util.c - the helpers of util.h: array growth, mkdir -p.
 * Each used to be written once per command; they are the same steps,
 * with the same limits, wherever they run. */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

void *grow_array(void *v, size_t *cap, size_t size, size_t first)
{
	size_t n = *cap ? *cap * 2 : first;
	void *p = realloc(v, n * size);

	if (!p)
		return NULL;
	*cap = n;
	return p;
}

int mkdir_p(char *path, mode_t mode)
{
	/* Not the first character: "/a" has no parent to make but "/". */
	for (char *s = path; *s; s++) {
		if (*s != '/' || s == path)
			continue;
		*s = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
