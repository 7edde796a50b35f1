/* tstore.h - the tests as a store's owner, the way the daemon is one
 * (store.h): the root's lock first, then the index, then the store on it;
 * closed in the reverse order. The lock and the index of each store a test
 * has open (a few at a time) are kept here, so the tests go on passing a
 * store * around. */
#ifndef TSTORE_H
#define TSTORE_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "ddterr.h"
#include "idx.h"
#include "store.h"

#define TSTORE_MAX 8

typedef struct tstore_owned {
	store *s;
	store_lock *lock;
	idx *ix;
} tstore_owned;

static tstore_owned tstore_v[TSTORE_MAX];

static inline tstore_owned *tstore_find(const store *s)
{
	for (int i = 0; i < TSTORE_MAX; i++)
		if (tstore_v[i].s == s)
			return &tstore_v[i];
	return NULL;
}

static inline void tstore_release(tstore_owned *o)
{
	if (o->ix)
		idx_close(o->ix);
	store_lock_release(o->lock);
	o->ix = NULL;
	o->lock = NULL;
	o->s = NULL;
}

/* store_open as an owner does it: -EBUSY from the lock while another
 * handle has the store, else the first error met (with its message). */
static inline int tstore_open(store **out, const store_config *c)
{
	tstore_owned *o = tstore_find(NULL);
	char ipath[PATH_MAX];
	int rc;

	if (!o)
		return ddterr_set(-ENFILE, "tstore: more than %d stores open",
				  TSTORE_MAX);
	if ((size_t)snprintf(ipath, sizeof(ipath), "%s/" STORE_INDEX_DIR,
			     c->root) >= sizeof(ipath))
		return ddterr_set(-ENAMETOOLONG, "tstore: %s: too long",
				  c->root);
	rc = store_lock_take(&o->lock, c->root);
	if (rc == 0)
		rc = idx_open(&o->ix, ipath, 0);
	if (rc == 0)
		rc = store_open(&o->s, c, o->ix);
	if (rc < 0) {
		tstore_release(o);
		return rc;
	}
	*out = o->s;
	return 0;
}

/* The index under s, as the owner holds it. */
static inline idx *tstore_index(const store *s)
{
	tstore_owned *o = s ? tstore_find(s) : NULL;

	return o ? o->ix : NULL;
}

/* store_close's result; the index and the lock are let go after it. */
static inline int tstore_close(store *s)
{
	tstore_owned *o = s ? tstore_find(s) : NULL;
	int rc = store_close(s);

	if (o)
		tstore_release(o);
	return rc;
}

#endif
