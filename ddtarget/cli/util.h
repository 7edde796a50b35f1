/* util.h - small helpers the ddt commands share: growing an array by
 * doubling, and mkdir -p. Kept here so backup, restore and the listing
 * commands grow and make things alike (a directory and a name are joined
 * by path.h's path_join, as everywhere in ddtarget). */
#ifndef DDT_UTIL_H
#define DDT_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Room for more elements of size bytes in v, which holds *cap: twice as
 * many, or first if v holds none yet. The new array (and *cap updated),
 * or NULL with v and *cap untouched. */
void *grow_array(void *v, size_t *cap, size_t size, size_t first);

/* Create path and every missing parent with mode, like mkdir -p. path is
 * changed while it runs and restored before it returns. 0 or -errno. */
int mkdir_p(char *path, mode_t mode);

#endif
