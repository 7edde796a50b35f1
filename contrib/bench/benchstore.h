/* benchstore.h - the benchmarks' store, opened as its owner opens it (the
 * root's lock, the index, the store) and closed in the reverse order. */
#ifndef BENCHSTORE_H
#define BENCHSTORE_H

#include "idx.h"
#include "store.h"

/* Open the store cfg names into *lk, *ix, *st. 0, or -errno with a
 * ddterr message; on failure whatever was opened is closed again. */
int benchstore_open(const store_config *cfg, store_lock **lk, idx **ix,
		    store **st);
/* Close what is open of the three (NULL is skipped) and clear them;
 * store_close's error. */
int benchstore_close(store_lock **lk, idx **ix, store **st);
/* Remove the store directory dir and all in it: 0, or -errno (some of it
 * may be left). */
int benchstore_remove(const char *dir);

#endif
