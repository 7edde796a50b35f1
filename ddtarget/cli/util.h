/* util.h - growing an array by doubling, as every ddt listing and walk
 * does (names and directories are path.h's, as everywhere in ddtarget). */
#ifndef DDT_UTIL_H
#define DDT_UTIL_H

#include <stddef.h>

/* Room for more elements of size bytes in v, which holds *cap: twice as
 * many, or first if v holds none yet. The new array (and *cap updated),
 * or NULL with v and *cap untouched. */
void *util_grow_array(void *v, size_t *cap, size_t size, size_t first);

#endif
