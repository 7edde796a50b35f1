/* ns_su.c - the namespace's storage units and backups, the recursive
 * removal that deletes either, and the figures summed over all units. */
#include "ns_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "ddterr.h"

/* ---- storage unit records ---- */

static size_t su_key(uint8_t *k, const char *name)
{
	size_t len = strlen(name);

	k[0] = 'S';
	memcpy(k + 1, name, len);
	return 1 + len;
}

/* A storage unit or backup name: 1..max bytes of [A-Za-z0-9._-]. */
static int plain_name_check(const char *what, const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len > max)
		return ddterr_set(-ENAMETOOLONG, "%s name of %zu bytes: at "
				  "most %zu", what, len, max);
	if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return ddterr_set(-EINVAL, "%s name \"%s\" is not allowed",
				  what, name);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return ddterr_set(-EINVAL, "%s name \"%.64s\": only "
					  "letters, digits, '.', '_' and '-' "
					  "are allowed", what, name);
	}
	return 0;
}

/* The root of storage unit name. */
static int su_root(ns *n, const char *name, uint64_t *root)
{
	uint8_t key[1 + DDT_MAX_NAME];
	size_t len;
	void *v;
	int rc;

	rc = plain_name_check("storage unit", name, DDT_MAX_NAME);
	if (rc < 0)
		return rc;
	rc = idx_kv_get(n->ix, IDX_NS, key, su_key(key, name), &v, &len);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no storage unit \"%s\"", name);
	if (rc < 0)
		return rc;
	if (len != 9 || ((uint8_t *)v)[0] != SU_VERSION)
		rc = ddterr_set(-EBADMSG, "namespace: storage unit \"%s\": "
				"damaged record", name);
	else
		*root = get_le64((uint8_t *)v + 1);
	free(v);
	return rc;
}

/* ---- recursive removal ---- */

/* A directory being emptied, and the name its remaining entries follow. */
typedef struct rm_level {
	uint64_t ino;
	char after[DDT_MAX_NAME + 1];
} rm_level;

static int remove_entry(txn *t, uint64_t dir, const char *name)
{
	inode *d, *c;
	int rc;

	rc = nsi_txn_get_dir(t, dir, &d);
	if (rc == 0)
		rc = nsi_child_get(t, d, name, &c);
	if (rc < 0)
		return rc;
	nsi_unlink_entry(t, d, name, c);
	return nsi_drop_link(t, c);
}

/* Remove everything under directory top, deepest first. Every batch leaves
 * a whole tree behind (a directory goes only once empty, the counts move
 * with each file), so a crash midway leaves a smaller but sound tree; and
 * the batches stay small however large the tree is. top itself stays. */
static int rm_contents(txn *t, uint64_t top)
{
	rm_level *st = malloc(sizeof(*st));
	size_t depth = 1, cap = 1;
	dlist l = { 0 };
	int rc = 0;

	if (!st)
		return -ENOMEM;
	st[0].ino = top;
	st[0].after[0] = '\0';
	while (depth > 0 && rc == 0) {
		rm_level *lv = &st[depth - 1];
		size_t i;

		rc = nsi_list_dir(t->n, lv->ino, lv->after, RM_CHUNK, &l);
		if (rc < 0)
			break;
		if (l.n == 0) {
			/* Empty now; its parent's `after` is its name. */
			if (--depth > 0)
				rc = remove_entry(t, st[depth - 1].ino,
						  st[depth - 1].after);
			continue;
		}
		for (i = 0; i < l.n && rc == 0; i++) {
			strcpy(lv->after, l.v[i].name);
			if (l.v[i].type == DDT_T_DIR)
				break;
			rc = remove_entry(t, lv->ino, l.v[i].name);
		}
		if (rc == 0 && i < l.n && depth == MAX_DEPTH)
			rc = ddterr_set(-EBADMSG, "namespace: directories %d "
					"deep under %llu: a loop", MAX_DEPTH,
					(unsigned long long)top);
		if (rc == 0 && i < l.n) {
			if (depth == cap) {
				rm_level *nst;

				nst = realloc(st, 2 * cap * sizeof(*st));
				if (!nst) {
					rc = -ENOMEM;
					break;
				}
				st = nst;
				cap *= 2;
			}
			st[depth].ino = l.v[i].ino;
			st[depth].after[0] = '\0';
			depth++;
		}
		if (rc == 0 && t->ops + t->used >= RM_BATCH) {
			rc = nsi_txn_flush(t, 0);
			nsi_txn_forget(t);
		}
	}
	free(l.v);
	free(st);
	return rc;
}

/* ---- storage units ---- */

static void su_fill(ns_su *s, const char *name, const inode *r)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->root = r->ino;
	s->files = r->files;
	s->logical_bytes = r->bytes;
	s->created = r->created;
}

int ns_su_create(ns *n, const char *name, ns_su *out)
{
	uint8_t key[1 + DDT_MAX_NAME], v[9];
	uint64_t root;
	inode *r;
	txn t;
	int rc;

	rc = plain_name_check("storage unit", name, DDT_MAX_NAME);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = nsi_txn_begin(n, &t);
	if (rc < 0)
		goto out;
	rc = su_root(n, name, &root);
	if (rc == 0)
		rc = ddterr_set(-EEXIST, "storage unit \"%s\" exists already",
				name);
	if (rc != -ENOENT)
		goto out;
	rc = nsi_txn_new(&t, DDT_T_DIR, 0, &r);
	if (rc < 0)
		goto out;
	r->mode = 0755;
	v[0] = SU_VERSION;
	put_le64(v + 1, r->ino);
	nsi_txn_put(&t, key, su_key(key, name), v, sizeof(v));
	rc = nsi_txn_flush(&t, 0);
	if (rc == 0 && out)
		su_fill(out, name, r);
out:
	nsi_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int ns_su_get(ns *n, const char *name, ns_su *out)
{
	uint64_t root;
	inode r;
	int rc;

	rc = su_root(n, name, &root);
	if (rc == 0)
		rc = nsi_read_dir(n, root, &r);
	if (rc == -ENOENT)	/* deleted meanwhile */
		rc = ddterr_set(-ENOENT, "no storage unit \"%s\"", name);
	if (rc == 0)
		su_fill(out, name, &r);
	return rc;
}

typedef struct su_vec {
	ns_su *v;
	size_t n, cap;
	ns *owner;
	uint64_t backups;	/* over all units, for ns_get_stats() */
	int err;
} su_vec;

static int su_vec_cb(void *arg, const uint8_t *key, size_t klen,
		     const uint8_t *val, size_t vlen)
{
	su_vec *s = arg;
	ns_su *e;
	inode r;
	int rc;

	if (klen < 2 || klen > 1 + DDT_MAX_NAME || vlen != 9 ||
	    val[0] != SU_VERSION) {
		s->err = ddterr_set(-EBADMSG, "namespace: damaged storage "
				    "unit record");
		return 1;
	}
	rc = nsi_read_dir(s->owner, get_le64(val + 1), &r);
	if (rc == -ENOENT)
		return 0;	/* being deleted */
	if (rc < 0) {
		s->err = rc;
		return 1;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		ns_su *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv) {
			s->err = -ENOMEM;
			return 1;
		}
		s->v = nv;
		s->cap = ncap;
	}
	e = &s->v[s->n++];
	su_fill(e, "", &r);
	memcpy(e->name, key + 1, klen - 1);
	e->name[klen - 1] = '\0';
	s->backups += r.backups;
	return 0;
}

/* Every storage unit with its root's figures. */
static int su_collect(ns *n, su_vec *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->owner = n;
	rc = idx_kv_scan(n->ix, IDX_NS, "S", 1, NULL, 0, su_vec_cb, s);
	if (s->err)
		rc = s->err;
	if (rc < 0) {
		free(s->v);
		s->v = NULL;
		return rc;
	}
	return 0;
}

int ns_su_list(ns *n, ns_su_cb cb, void *arg)
{
	su_vec s;
	int rc;

	/* Collected first: cb may call back into the namespace. */
	rc = su_collect(n, &s);
	for (size_t i = 0; rc == 0 && i < s.n; i++)
		rc = cb(arg, &s.v[i]);
	free(s.v);
	return rc;
}

int ns_su_delete(ns *n, const char *name, int recursive)
{
	uint8_t key[1 + DDT_MAX_NAME];
	uint64_t root;
	inode *r;
	txn t;
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = nsi_txn_begin(n, &t);
	if (rc == 0)
		rc = su_root(n, name, &root);
	if (rc == 0)
		rc = nsi_txn_get_dir(&t, root, &r);
	if (rc < 0)
		goto out;
	if (r->size && !recursive) {
		rc = ddterr_set(-ENOTEMPTY, "storage unit \"%s\" is not empty "
				"(%llu entries); delete it recursively", name,
				(unsigned long long)r->size);
		goto out;
	}
	rc = rm_contents(&t, root);
	if (rc == 0)
		rc = nsi_txn_get(&t, root, &r);
	if (rc < 0)
		goto out;
	r->state = GONE;
	nsi_txn_del(&t, key, su_key(key, name));
	rc = nsi_txn_flush(&t, 1);
out:
	nsi_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* ---- backups ---- */

static void backup_fill(ns_backup *b, const char *id, const inode *in)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->ino = in->ino;
	b->flags = in->flags;
	b->created = in->created;
	b->files = in->files;
	b->bytes = in->bytes;
}

typedef struct bb_args {
	const char *su, *name;
	char id[DDT_MAX_NAME + 1];
	int64_t now;
	ns_backup b;
	ddt_attr a;
} bb_args;

static int do_backup_begin(txn *t, void *arg)
{
	bb_args *b = arg;
	uint64_t root;
	inode *r, *d;
	int rc;

	rc = su_root(t->n, b->su, &root);
	if (rc == 0)
		rc = nsi_txn_get_dir(t, root, &r);
	if (rc == 0) {
		rc = nsi_dent_absent(t->n, root, b->id);
		if (rc == -EEXIST)
			rc = ddterr_set(-EEXIST, "backup %s exists already: "
					"one per name and second", b->id);
	}
	if (rc == 0)
		rc = nsi_txn_new(t, DDT_T_DIR, root, &d);
	if (rc < 0)
		return rc;
	d->mode = 0755;
	d->flags = DDT_AF_BACKUP | DDT_AF_INCOMPLETE;
	d->atime = d->mtime = d->created = b->now;
	nsi_link_entry(t, r, b->id, d);
	r->backups++;
	backup_fill(&b->b, b->id, d);
	nsi_to_attr(d, &b->a);
	return 0;
}

int ns_backup_begin(ns *n, const char *su, const char *name, int64_t now,
		    ns_backup *out, ddt_attr *out_attr)
{
	bb_args b = { .su = su, .name = name, .now = now };
	time_t sec = (time_t)(now / 1000000000);
	struct tm tm;
	int rc;

	rc = plain_name_check("backup", name, DDT_MAX_NAME - ID_SUFFIX_LEN);
	if (rc < 0)
		return rc;
	if (now < 0 || !gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return ddterr_set(-EINVAL, "backup: time %lld out of range",
				  (long long)now);
	snprintf(b.id, sizeof(b.id), "%s@%04d%02d%02dT%02d%02d%02dZ", name,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	rc = nsi_update(n, do_backup_begin, &b, 0);
	if (rc == 0 && out)
		*out = b.b;
	if (rc == 0 && out_attr)
		*out_attr = b.a;
	return rc;
}

typedef struct be_args {
	uint64_t ino, files, bytes;
	ddt_attr a;
} be_args;

static int do_backup_end(txn *t, void *arg)
{
	be_args *b = arg;
	inode *d;
	int rc;

	rc = nsi_txn_get(t, b->ino, &d);
	if (rc < 0)
		return rc;
	if (d->type != DDT_T_DIR || !(d->flags & DDT_AF_BACKUP))
		return ddterr_set(-EINVAL, "inode %llu is not a backup",
				  (unsigned long long)b->ino);
	/* Ending twice only records the totals again: a client whose reply
	 * was lost may retry. */
	d->flags &= ~DDT_AF_INCOMPLETE;
	d->files = b->files;
	d->bytes = b->bytes;
	nsi_touch(t, d);
	nsi_to_attr(d, &b->a);
	return 0;
}

int ns_backup_end(ns *n, uint64_t ino, uint64_t files, uint64_t bytes,
		  ddt_attr *out)
{
	be_args b = { .ino = ino, .files = files, .bytes = bytes };
	int rc = nsi_update(n, do_backup_end, &b, 1);

	if (rc == 0 && out)
		*out = b.a;
	return rc;
}

int ns_backup_list(ns *n, const char *su, ns_backup_cb cb, void *arg)
{
	ns_backup *v = NULL;
	size_t got = 0;
	dlist l = { 0 };
	uint64_t root;
	inode in;
	int rc;

	rc = su_root(n, su, &root);
	if (rc == 0)
		rc = nsi_list_dir(n, root, "", SIZE_MAX, &l);
	if (rc < 0)
		goto out;
	v = malloc((l.n ? l.n : 1) * sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].type != DDT_T_DIR)
			continue;
		rc = nsi_read_inode(n, l.v[i].ino, &in);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			goto out;
		if (in.flags & DDT_AF_BACKUP)
			backup_fill(&v[got++], l.v[i].name, &in);
	}
	for (size_t i = 0; i < got && rc == 0; i++)
		rc = cb(arg, &v[i]);
out:
	free(v);
	free(l.v);
	return rc;
}

/* Synced, like a unit's deletion: the cleaner may reclaim the segments as
 * soon as this returns, so the names must not come back after a crash. */
int ns_backup_delete(ns *n, const char *su, const char *id)
{
	uint64_t root;
	inode *r, *b;
	txn t;
	int rc;

	rc = nsi_name_check(id);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = nsi_txn_begin(n, &t);
	if (rc == 0)
		rc = su_root(n, su, &root);
	if (rc == 0)
		rc = nsi_txn_get_dir(&t, root, &r);
	if (rc == 0)
		rc = nsi_child_get(&t, r, id, &b);
	if (rc == -ENOENT)
		rc = ddterr_set(-ENOENT, "no backup %s in storage unit %s",
				id, su);
	if (rc < 0)
		goto out;
	if (b->type != DDT_T_DIR || !(b->flags & DDT_AF_BACKUP)) {
		rc = ddterr_set(-EINVAL, "\"%.64s\" in storage unit %s is not "
				"a backup", id, su);
		goto out;
	}
	rc = rm_contents(&t, b->ino);
	if (rc == 0)
		rc = remove_entry(&t, root, id);
	if (rc == 0)
		rc = nsi_txn_flush(&t, 1);
out:
	nsi_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* ---- figures ---- */

int ns_get_stats(ns *n, ns_stats *out)
{
	su_vec s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = su_collect(n, &s);
	if (rc < 0)
		return rc;
	out->storage_units = s.n;
	out->backups = s.backups;
	for (size_t i = 0; i < s.n; i++) {
		out->files += s.v[i].files;
		out->logical_bytes += s.v[i].logical_bytes;
	}
	free(s.v);
	return 0;
}
