/* util.c - array growth (util.h), written once for every command. */
#include "util.h"

#include <stdlib.h>

void *util_grow_array(void *v, size_t *cap, size_t size, size_t first)
{
	size_t n = *cap ? *cap * 2 : first;
	void *p = realloc(v, n * size);

	if (!p)
		return NULL;
	*cap = n;
	return p;
}
