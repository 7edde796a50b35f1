/* dirlist.c - one target directory's entries in memory (see dirlist.h).
 * The array doubles from 64 entries; each name is copied, since the
 * library's buffer does not outlive the callback. */
#include "dirlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DIRLIST_FIRST	64	/* entries of the first allocation */

int dirlist_add(void *arg, const char *name, const ddt_attr *a)
{
	dirlist *l = arg;

	if (l->n == l->cap) {
		dirlist_ent *v = util_grow_array(l->v, &l->cap, sizeof(*v),
					    DIRLIST_FIRST);

		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	l->v[l->n].name = strdup(name);
	if (!l->v[l->n].name)
		return -ENOMEM;
	l->v[l->n].a = *a;
	l->v[l->n].target = NULL;
	l->n++;
	return 0;
}

void dirlist_free(dirlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].target);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
