/* path.h - building file names, once: a directory and a name joined with
 * one slash, malloc'd or into a caller's buffer that must be big enough. */
#ifndef PATH_H
#define PATH_H

#include <stddef.h>

/* dir + "/" + name, malloc'd (free() it); NULL when out of memory. A dir
 * that ends in a slash ("/", "out/") gets no second one. */
char *path_join(const char *dir, const char *name);

/* snprintf for paths: 0, or -ENAMETOOLONG (with a ddterr message naming
 * the start of the path) if it did not fit in cap bytes. */
int path_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
