/* ns_keep.c - a checkpoint restore against the retention lock (ns.h,
 * ns_restore_keeps_locks): the namespace a restore would bring back must
 * hold every backup that the lock protects today, each expiring no
 * earlier, or the restore is refused. Rolling an index back must not be a
 * way around a compliance lock. */
#include "ns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "fmt.h"
#include "idx.h"

/* One namespace opened on its own index, read and closed. */
typedef struct opened {
	idx *ix;
	ns *n;
} opened;

static int open_ns(const char *path, opened *o)
{
	int rc = idx_open(&o->ix, path, 8);

	if (rc < 0)
		return rc;
	rc = ns_open(&o->n, o->ix);
	if (rc < 0) {
		idx_close(o->ix);
		o->ix = NULL;
	}
	return rc;
}

static void close_ns(opened *o)
{
	if (o->n)
		ns_close(o->n);
	if (o->ix)
		idx_close(o->ix);
}

typedef struct keep {
	ns *then;		/* what the restore would bring back */
	const char *su;		/* the locked unit being walked */
	int64_t expires;	/* of the backup being looked for */
	const char *id;
	int found, later;	/* it is there; expiring no earlier */
} keep;

static int find_cb(void *arg, const ns_backup *b)
{
	keep *k = arg;

	if (strcmp(b->id, k->id))
		return 0;
	k->found = 1;
	/* 0 is never: later than any date. */
	k->later = b->expires == 0 ||
		   (k->expires != 0 && b->expires >= k->expires);
	return 1;
}

static int refuse(const keep *k, const ns_backup *b, const char *how)
{
	char until[FMT_LEN];

	if (b->expires)
		fmt_utc(b->expires, until);
	else
		snprintf(until, sizeof(until), "ever");
	return ddterr_set(-EPERM, "the checkpoint would %s backup %s of "
			  "storage unit %s, which its retention lock protects "
			  "until %s: refused (restore a newer checkpoint)",
			  how, b->id, k->su, until);
}

/* Each backup under the lock today, looked for in the checkpoint. */
static int backup_cb(void *arg, const ns_backup *b)
{
	keep *k = arg;
	int rc;

	if (!(b->flags & DDT_AF_LOCKED))
		return 0;
	k->id = b->id;
	k->expires = b->expires;
	k->found = k->later = 0;
	rc = ns_backup_list(k->then, k->su, find_cb, k);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (!k->found)
		return refuse(k, b, "remove");
	if (!k->later)
		return refuse(k, b, "shorten the expiry of");
	return 0;
}

typedef struct walk {
	ns *now;
	keep k;
} walk;

static int unit_cb(void *arg, const ns_su *su)
{
	walk *w = arg;

	if (!su->locked)
		return 0;
	w->k.su = su->name;
	return ns_backup_list(w->now, su->name, backup_cb, &w->k);
}

int ns_restore_keeps_locks(void *arg, const char *cur_index,
			   const char *new_index)
{
	opened now = { 0 }, then = { 0 };
	walk w = { 0 };
	struct stat st;
	int rc;

	(void)arg;
	if (stat(cur_index, &st) != 0)	/* no index today: no lock */
		return errno == ENOENT ? 0 : ddterr_set(-errno, "%s: %s",
				cur_index, strerror(errno));
	rc = open_ns(cur_index, &now);
	if (rc == 0)
		rc = open_ns(new_index, &then);
	if (rc == 0) {
		w.now = now.n;
		w.k.then = then.n;
		rc = ns_su_list(now.n, unit_cb, &w);
		if (rc > 0)
			rc = 0;
	}
	close_ns(&then);
	close_ns(&now);
	return rc;
}
