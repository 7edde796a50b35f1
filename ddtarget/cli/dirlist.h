/* dirlist.h - the entries of one directory on the target, gathered by
 * ddtc_readdir() into a growable array: what ddt ls prints and what ddt
 * restore walks. */
#ifndef DDT_DIRLIST_H
#define DDT_DIRLIST_H

#include <stddef.h>

#include "ddtc.h"

typedef struct dirlist_ent {
	char *name;
	ddt_attr a;
	char *target;		/* a symlink's, when the caller reads it */
} dirlist_ent;

typedef struct dirlist {
	dirlist_ent *v;
	size_t n, cap;
} dirlist;

/* A ddtc_dirent_cb: append name and *a to the dirlist at arg (target
 * NULL). 0 or -ENOMEM. */
int dirlist_add(void *arg, const char *name, const ddt_attr *a);

/* Free every name and target (either may be NULL) and the array. */
void dirlist_free(dirlist *l);

#endif
