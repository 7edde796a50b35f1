/* path.h - building file names, once: a directory and a name joined with
 * one slash, malloc'd or into a caller's buffer that must be big enough;
 * and making the directories a path needs. */
#ifndef PATH_H
#define PATH_H

#include <stddef.h>
#include <sys/types.h>

/* dir + "/" + name, malloc'd (free() it); NULL when out of memory. A dir
 * that ends in a slash ("/", "out/") gets no second one. */
char *path_join(const char *dir, const char *name);

/* snprintf for paths: 0, or -ENAMETOOLONG (with a ddterr message naming
 * the start of the path) if it did not fit in cap bytes. */
int path_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like mkdir -p: make path and every missing parent with mode; repeated
 * and trailing slashes are fine. 0, -ENOTDIR if something in the way is
 * not a directory, -ENOENT for an empty path, or -errno of mkdir. */
int path_mkdir_p(const char *path, mode_t mode);

#endif
