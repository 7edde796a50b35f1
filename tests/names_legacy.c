/* names_legacy.c - make a name as a target before the name rule stored
 * it, for tests/names.sh: an empty directory NAME, whatever its bytes, in
 * backup ID of storage unit SU of the (stopped) target's store, written
 * straight into the namespace past ns_name_check(). The store is taken as
 * its owner would (its lock, then its index).
 *
 *   names_legacy STORE SU ID NAME */
#include "ns_int.h"
#include "store.h"
#include "idx.h"
#include "ddterr.h"
#include "path.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct legacy {
	uint64_t dir;
	const char *name;
} legacy;

/* ns_mkdir()'s transaction without its name check. */
static int legacy_make(txn *t, void *arg)
{
	legacy *l = arg;
	inode *d, *c;
	int rc;

	rc = ns_txn_get_dir(t, l->dir, &d);
	if (rc == 0)
		rc = ns_dent_absent(t->n, l->dir, l->name);
	if (rc == 0)
		rc = ns_txn_new(t, DDT_T_DIR, d->su, &c);
	if (rc < 0)
		return rc;
	c->mode = 0755;
	ns_link_entry(t, d, l->name, c);
	return 0;
}

static int legacy_run(ns *n, const char *su_name, const char *id,
		      const char *name)
{
	legacy l = { .name = name };
	ddt_attr a;
	ns_su su;
	int rc;

	rc = ns_su_get(n, su_name, &su);
	if (rc == 0)
		rc = ns_lookup(n, su.root, id, &a);
	if (rc < 0)
		return rc;
	l.dir = a.ino;
	return ns_update(n, legacy_make, &l, 1);
}

int main(int argc, char **argv)
{
	store_lock *lock = NULL;
	idx *ix = NULL;
	ns *n = NULL;
	char *ipath;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: names_legacy STORE SU ID NAME\n");
		return 2;
	}
	ipath = path_join(argv[1], STORE_INDEX_DIR);
	rc = ipath ? store_lock_take(&lock, argv[1]) : -ENOMEM;
	if (rc == 0)
		rc = idx_open(&ix, ipath, 0);
	if (rc == 0)
		rc = ns_open(&n, ix);
	if (rc == 0)
		rc = legacy_run(n, argv[2], argv[3], argv[4]);
	if (rc < 0)
		fprintf(stderr, "names_legacy: %s\n", ddterr_last(rc));
	if (n)
		ns_close(n);
	if (ix)
		idx_close(ix);
	if (lock)
		store_lock_release(lock);
	free(ipath);
	return rc < 0;
}
