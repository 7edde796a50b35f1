/* benchstore.c - the benchmarks' store, opened as its owner opens it
 * (store.h: the root's lock, the index, the store). */
#include "benchstore.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "path.h"

int benchstore_close(store_lock **lk, idx **ix, store **st)
{
	int rc = *st ? store_close(*st) : 0;

	if (*ix)
		idx_close(*ix);
	store_lock_release(*lk);
	*st = NULL;
	*ix = NULL;
	*lk = NULL;
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

int benchstore_remove(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

int benchstore_open(const store_config *cfg, store_lock **lk, idx **ix,
		    store **st)
{
	char *ipath;
	int rc;

	*lk = NULL;
	*ix = NULL;
	*st = NULL;
	rc = store_lock_take(lk, cfg->root);
	ipath = rc ? NULL : path_join(cfg->root, STORE_INDEX_DIR);
	if (rc == 0 && !ipath)
		rc = -ENOMEM;
	if (rc == 0)
		rc = idx_open(ix, ipath, 0);
	free(ipath);
	if (rc == 0)
		rc = store_open(st, cfg, *ix);
	if (rc < 0)
		(void)benchstore_close(lk, ix, st);
	return rc;
}
