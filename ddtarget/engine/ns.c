/* ns.c - the namespace in the store's RocksDB (see ns.h for what it offers):
 * open, close and sync, the records and their encoding, and the
 * transactions every update runs in (ns_tree.c and ns_su.c build on them).
 *
 * Every update runs as a small transaction: one write batch, plus a cache of
 * the inode records it has read and changed, written into that batch at the
 * end. So an update is all or nothing, and its steps see each other (two
 * hard links to one inode replaced in one commit drop its count twice).
 * The key layout is in ns_int.h. */
#include "ns_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"
#include "now.h"

/* ---- small helpers ---- */

size_t ns_ino_key(uint8_t *k, uint8_t tag, uint64_t ino)
{
	k[0] = tag;
	put_be64(k + 1, ino);
	return 9;
}

static size_t dent_key(uint8_t *k, uint64_t dir, const char *name)
{
	size_t len = strlen(name);

	ns_ino_key(k, 'D', dir);
	memcpy(k + 9, name, len);
	return 9 + len;
}

/* A name to be made in a directory: the whole rule (ddtc_types.h). */
int ns_name_check(const char *name)
{
	char msg[DDT_NAME_MSG_LEN];
	int rc = ddt_name_msg(msg, sizeof(msg), name, 1);

	return rc < 0 ? ddterr_set(rc, "%s", msg) : 0;
}

/* A name that finds an entry: its shape only, so that names stored before
 * the rule can still be looked up, renamed and removed. */
int ns_name_check_find(const char *name)
{
	char msg[DDT_NAME_MSG_LEN];
	int rc = ddt_name_msg(msg, sizeof(msg), name, 0);

	return rc < 0 ? ddterr_set(rc, "%s", msg) : 0;
}

void ns_to_attr(const inode *in, ddt_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = in->ino;
	a->type = in->type;
	a->mode = in->mode;
	a->uid = in->uid;
	a->gid = in->gid;
	a->nlink = in->nlink;
	a->size = in->size;
	a->atime = in->atime;
	a->mtime = in->mtime;
	a->ctime = in->ctime;
	a->flags = in->flags;
	if (in->type == DDT_T_FILE) {
		a->level = in->level;
		a->root = in->root;
	}
}

/* ---- inode records ---- */

static size_t encode_inode(const inode *in, uint8_t *p)
{
	p[0] = INO_VERSION;
	p[1] = in->type;
	put_le32(p + 2, in->mode);
	put_le32(p + 6, in->uid);
	put_le32(p + 10, in->gid);
	put_le32(p + 14, in->nlink);
	put_le64(p + 18, in->size);
	put_le64(p + 26, (uint64_t)in->atime);
	put_le64(p + 34, (uint64_t)in->mtime);
	put_le64(p + 42, (uint64_t)in->ctime);
	put_le32(p + 50, in->flags);
	put_le64(p + 54, in->parent);
	put_le64(p + 62, in->su);
	if (in->type == DDT_T_FILE) {
		p[INO_HEAD] = in->level;
		memcpy(p + INO_HEAD + 1, in->root.b, FP_LEN);
		return INO_FILE_LEN;
	}
	if (in->type == DDT_T_DIR) {
		put_le64(p + INO_HEAD, in->files);
		put_le64(p + INO_HEAD + 8, in->bytes);
		put_le64(p + INO_HEAD + 16, in->backups);
		put_le64(p + INO_HEAD + 24, (uint64_t)in->created);
		put_le64(p + INO_DIR_V1_LEN, (uint64_t)in->expires);
		put_le64(p + INO_DIR_V1_LEN + 8, in->retention);
		put_le64(p + INO_DIR_V1_LEN + 16, in->quota);
		put_le32(p + INO_DIR_V1_LEN + 24, in->su_flags);
		return INO_DIR_LEN;
	}
	return INO_HEAD;
}

/* A record's length by version and type; 0 for neither. */
static size_t type_len(uint8_t version, uint8_t type)
{
	switch (type) {
	case DDT_T_FILE:
		return INO_FILE_LEN;
	case DDT_T_DIR:
		return version == INO_VERSION_V1 ? INO_DIR_V1_LEN : INO_DIR_LEN;
	case DDT_T_SYMLINK:
		return INO_HEAD;
	}
	return 0;
}

static int decode_inode(uint64_t ino, const uint8_t *p, size_t len, inode *in)
{
	memset(in, 0, sizeof(*in));
	if (len < INO_HEAD ||
	    (p[0] != INO_VERSION && p[0] != INO_VERSION_V1) ||
	    type_len(p[0], p[1]) != len)
		return ddterr_set(-EBADMSG, "namespace: inode %llu: damaged "
				  "record (%zu bytes)", (unsigned long long)ino,
				  len);
	in->ino = ino;
	in->type = p[1];
	in->mode = get_le32(p + 2);
	in->uid = get_le32(p + 6);
	in->gid = get_le32(p + 10);
	in->nlink = get_le32(p + 14);
	in->size = get_le64(p + 18);
	in->atime = (int64_t)get_le64(p + 26);
	in->mtime = (int64_t)get_le64(p + 34);
	in->ctime = (int64_t)get_le64(p + 42);
	in->flags = get_le32(p + 50);
	in->parent = get_le64(p + 54);
	in->su = get_le64(p + 62);
	if (in->type == DDT_T_FILE) {
		in->level = p[INO_HEAD];
		memcpy(in->root.b, p + INO_HEAD + 1, FP_LEN);
	} else if (in->type == DDT_T_DIR) {
		in->files = get_le64(p + INO_HEAD);
		in->bytes = get_le64(p + INO_HEAD + 8);
		in->backups = get_le64(p + INO_HEAD + 16);
		in->created = (int64_t)get_le64(p + INO_HEAD + 24);
	}
	if (in->type == DDT_T_DIR && len == INO_DIR_LEN) {
		in->expires = (int64_t)get_le64(p + INO_DIR_V1_LEN);
		in->retention = get_le64(p + INO_DIR_V1_LEN + 8);
		in->quota = get_le64(p + INO_DIR_V1_LEN + 16);
		in->su_flags = get_le32(p + INO_DIR_V1_LEN + 24);
	}
	/* Version 1 left a non-directory's parent 0 (unknown) already. */
	return 0;
}

/* Read an inode from RocksDB (not through a transaction). */
int ns_read_inode(ns *n, uint64_t ino, inode *out)
{
	uint8_t key[9];
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(n->ix, IDX_NS, key, ns_ino_key(key, 'I', ino), &v,
			&len);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "inode %llu does not exist",
				  (unsigned long long)ino);
	if (rc < 0)
		return rc;
	rc = decode_inode(ino, v, len, out);
	free(v);
	return rc;
}

int ns_read_dir(ns *n, uint64_t ino, inode *out)
{
	int rc = ns_read_inode(n, ino, out);

	if (rc == 0 && out->type != DDT_T_DIR)
		rc = ddterr_set(-ENOTDIR, "inode %llu is not a directory",
				(unsigned long long)ino);
	return rc;
}

/* The entry name in dir: 0 with its ino and type, -ENOENT, -EBADMSG. */
int ns_dent_get(ns *n, uint64_t dir, const char *name, uint64_t *ino,
		uint8_t *type)
{
	uint8_t key[KEY_MAX];
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(n->ix, IDX_NS, key, dent_key(key, dir, name), &v,
			&len);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no \"%.64s\" in directory %llu",
				  name, (unsigned long long)dir);
	if (rc < 0)
		return rc;
	if (len != DENT_LEN) {
		rc = ddterr_set(-EBADMSG, "namespace: entry \"%.64s\" of "
				"directory %llu: damaged (%zu bytes)", name,
				(unsigned long long)dir, len);
	} else {
		*ino = get_le64(v);
		*type = ((uint8_t *)v)[8];
	}
	free(v);
	return rc;
}

/* 0 if name is free in dir, -EEXIST if taken. */
int ns_dent_absent(ns *n, uint64_t dir, const char *name)
{
	uint64_t ino;
	uint8_t type;
	int rc = ns_dent_get(n, dir, name, &ino, &type);

	if (rc == 0)
		return ddterr_set(-EEXIST, "\"%.64s\" exists already in "
				  "directory %llu", name,
				  (unsigned long long)dir);
	return rc == -ENOENT ? 0 : rc;
}

/* ---- directory listings ---- */

static int dlist_cb(void *arg, const uint8_t *key, size_t klen,
		    const uint8_t *val, size_t vlen)
{
	dlist *l = arg;
	dent *d;

	if (l->n == l->max)
		return 1;
	if (klen <= 9 || klen > KEY_MAX || vlen != DENT_LEN) {
		l->err = ddterr_set(-EBADMSG, "namespace: damaged directory "
				    "entry (%zu/%zu bytes)", klen, vlen);
		return 1;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		dent *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv) {
			l->err = -ENOMEM;
			return 1;
		}
		l->v = nv;
		l->cap = ncap;
	}
	d = &l->v[l->n++];
	memcpy(d->name, key + 9, klen - 9);
	d->name[klen - 9] = '\0';
	d->ino = get_le64(val);
	d->type = val[8];
	return 0;
}

/* Up to max entries of dir named after `after` ("" from the start) into l
 * (emptied first, its memory kept). */
int ns_list_dir(ns *n, uint64_t dir, const char *after, size_t max,
		dlist *l)
{
	uint8_t start[KEY_MAX + 1], prefix[9];
	size_t slen, alen = strlen(after);
	int rc;

	if (alen > DDT_MAX_NAME)
		return ddterr_set(-ENAMETOOLONG, "readdir: a start name over "
				  "%d bytes", DDT_MAX_NAME);
	ns_ino_key(prefix, 'D', dir);
	/* Names hold no NUL, so name + "\0" is the first key past name. */
	slen = dent_key(start, dir, after);
	if (alen)
		start[slen++] = 0;
	l->n = 0;
	l->max = max;
	l->err = 0;
	rc = idx_kv_scan(n->ix, IDX_NS, prefix, sizeof(prefix), start, slen,
			 dlist_cb, l);
	if (l->err)
		return l->err;
	return rc < 0 ? rc : 0;
}

/* ---- transactions ---- */

int ns_txn_begin(ns *n, txn *t)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->next_ino = n->next_ino;
	t->now = now_ns();
	t->cap = 64;
	t->tab = calloc(t->cap, sizeof(*t->tab));
	return t->tab ? 0 : -ENOMEM;
}

/* Drop every cached inode (after a flush, to bound memory). */
void ns_txn_forget(txn *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->tab[i]);
		t->tab[i] = NULL;
	}
	t->used = 0;
}

void ns_txn_end(txn *t)
{
	if (t->tab)
		ns_txn_forget(t);
	free(t->tab);
	idx_batch_free(t->b);
}

static size_t slot_of(const txn *t, uint64_t ino)
{
	size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (t->cap - 1);

	while (t->tab[i] && t->tab[i]->ino != ino)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int txn_grow(txn *t)
{
	inode **old = t->tab;
	size_t ocap = t->cap;

	t->tab = calloc(ocap * 2, sizeof(*t->tab));
	if (!t->tab) {
		t->tab = old;
		return -ENOMEM;
	}
	t->cap = ocap * 2;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			t->tab[slot_of(t, old[i]->ino)] = old[i];
	free(old);
	return 0;
}

/* Take in (malloc'd) into the cache. */
static int txn_add(txn *t, inode *in)
{
	if ((t->used + 1) * 2 > t->cap && txn_grow(t) < 0)
		return -ENOMEM;
	t->tab[slot_of(t, in->ino)] = in;
	t->used++;
	return 0;
}

/* The inode as this transaction sees it; changes go through the pointer,
 * which stays valid until ns_txn_forget(). */
int ns_txn_get(txn *t, uint64_t ino, inode **out)
{
	inode *in = t->tab[slot_of(t, ino)];
	int rc;

	if (in) {
		if (in->state == GONE)
			return ddterr_set(-ENOENT, "inode %llu does not exist",
					  (unsigned long long)ino);
		*out = in;
		return 0;
	}
	in = malloc(sizeof(*in));
	if (!in)
		return -ENOMEM;
	rc = ns_read_inode(t->n, ino, in);
	if (rc == 0) {
		in->state = CLEAN;
		rc = txn_add(t, in);
	}
	if (rc < 0) {
		free(in);
		return rc;
	}
	*out = in;
	return 0;
}

int ns_txn_get_dir(txn *t, uint64_t ino, inode **out)
{
	int rc = ns_txn_get(t, ino, out);

	if (rc == 0 && (*out)->type != DDT_T_DIR)
		rc = ddterr_set(-ENOTDIR, "inode %llu is not a directory",
				(unsigned long long)ino);
	return rc;
}

/* A new inode of type in su, with nlink 1 (2 for a directory). */
int ns_txn_new(txn *t, uint8_t type, uint64_t su, inode **out)
{
	inode *in = calloc(1, sizeof(*in));

	if (!in)
		return -ENOMEM;
	in->ino = t->next_ino++;
	in->type = type;
	in->nlink = type == DDT_T_DIR ? 2 : 1;
	in->atime = in->mtime = in->ctime = in->created = t->now;
	in->su = su ? su : in->ino;
	in->state = DIRTY;
	if (txn_add(t, in) < 0) {
		free(in);
		return -ENOMEM;
	}
	*out = in;
	return 0;
}

/* A change: written back, with ctime now. */
void ns_touch(txn *t, inode *in)
{
	in->state = DIRTY;
	in->ctime = t->now;
}

static int txn_batch(txn *t)
{
	if (!t->b && !t->err)
		t->err = idx_batch_new(&t->b);
	return t->err;
}

void ns_txn_put(txn *t, const void *key, size_t klen, const void *val,
		size_t vlen)
{
	if (txn_batch(t) == 0)
		idx_batch_put(t->b, IDX_NS, key, klen, val, vlen);
	t->ops++;
}

void ns_txn_del(txn *t, const void *key, size_t klen)
{
	if (txn_batch(t) == 0)
		idx_batch_del(t->b, IDX_NS, key, klen);
	t->ops++;
}

/* Write the batch with every changed inode, and the inode counter. The
 * cache stays valid: it now matches the database. */
int ns_txn_flush(txn *t, int sync)
{
	uint8_t key[9], rec[INO_MAX_LEN];
	int rc;

	for (size_t i = 0; i < t->cap; i++) {
		inode *in = t->tab[i];

		if (!in || in->state == CLEAN)
			continue;
		ns_ino_key(key, 'I', in->ino);
		if (in->state == GONE) {
			ns_txn_del(t, key, sizeof(key));
		} else {
			ns_txn_put(t, key, sizeof(key), rec,
				   encode_inode(in, rec));
			in->state = CLEAN;
		}
	}
	if (t->next_ino != t->n->next_ino) {
		uint8_t v[8];

		put_le64(v, t->next_ino);
		ns_txn_put(t, "Mnext_ino", 9, v, sizeof(v));
	}
	rc = txn_batch(t);
	if (rc == 0)
		rc = idx_batch_write(t->n->ix, t->b, sync);
	idx_batch_free(t->b);
	t->b = NULL;
	t->ops = 0;
	if (rc == 0)
		t->n->next_ino = t->next_ino;
	return rc;
}

/* ---- entries ---- */

static void dent_put(txn *t, uint64_t dir, const char *name, const inode *c)
{
	uint8_t key[KEY_MAX], v[DENT_LEN];

	put_le64(v, c->ino);
	v[8] = c->type;
	ns_txn_put(t, key, dent_key(key, dir, name), v, sizeof(v));
}

/* Enter c as name in d (the name is known to be free). A file or symlink
 * without a known directory takes d: the retention lock finds the backup
 * holding an inode through it (ns_lock.c). Its callers mark c changed. */
void ns_link_entry(txn *t, inode *d, const char *name, inode *c)
{
	dent_put(t, d->ino, name, c);
	d->size++;
	if (c->type == DDT_T_DIR) {
		d->nlink++;
		c->parent = d->ino;
	} else if (!c->parent) {
		c->parent = d->ino;
	}
	d->mtime = t->now;
	ns_touch(t, d);
}

typedef struct other_name {
	uint64_t ino;
	const char *skip;
	int found;
} other_name;

static int other_name_cb(void *arg, const uint8_t *key, size_t klen,
			 const uint8_t *val, size_t vlen)
{
	other_name *o = arg;

	if (vlen != DENT_LEN || get_le64(val) != o->ino)
		return 0;
	if (klen - 9 == strlen(o->skip) && !memcmp(key + 9, o->skip, klen - 9))
		return 0;
	o->found = 1;
	return 1;
}

/* Whether directory dir holds ino under a name other than skip. A scan of
 * dir: only for a file of several names losing the one in its known
 * directory, which is rare. */
static int has_other_name(ns *n, uint64_t dir, const char *skip, uint64_t ino)
{
	other_name o = { .ino = ino, .skip = skip };
	uint8_t prefix[9];

	ns_ino_key(prefix, 'D', dir);
	if (idx_kv_scan(n->ix, IDX_NS, prefix, sizeof(prefix), NULL, 0,
			other_name_cb, &o) < 0)
		return 0;
	return o.found;
}

/* Remove name from d. A file or symlink whose known directory was d keeps
 * it if another of its names is there; else it knows none any more (its
 * names are not indexed by inode), which the retention lock reads as
 * "cannot be placed". */
void ns_unlink_entry(txn *t, inode *d, const char *name, inode *c)
{
	uint8_t key[KEY_MAX];

	ns_txn_del(t, key, dent_key(key, d->ino, name));
	if (d->size)
		d->size--;
	if (c->type == DDT_T_DIR && d->nlink > 2)
		d->nlink--;
	if (c->type != DDT_T_DIR && c->parent == d->ino &&
	    (c->nlink <= 1 || !has_other_name(t->n, d->ino, name, c->ino))) {
		c->parent = 0;
		if (c->state == CLEAN)
			c->state = DIRTY;
	}
	d->mtime = t->now;
	ns_touch(t, d);
}

/* c lost one name: a directory or a last link goes, and the storage unit's
 * figures with it. */
int ns_drop_link(txn *t, inode *c)
{
	uint8_t key[9];
	inode *r;
	int rc;

	if (c->type != DDT_T_DIR && c->nlink > 1) {
		c->nlink--;
		ns_touch(t, c);
		return 0;
	}
	rc = ns_txn_get(t, c->su, &r);
	if (rc < 0)
		return rc;
	if (c->type == DDT_T_FILE) {
		r->files -= r->files ? 1 : 0;
		r->bytes -= r->bytes >= c->size ? c->size : r->bytes;
	} else if (c->type == DDT_T_DIR && (c->flags & DDT_AF_BACKUP)) {
		r->backups -= r->backups ? 1 : 0;
	} else if (c->type == DDT_T_SYMLINK) {
		ns_txn_del(t, key, ns_ino_key(key, 'L', c->ino));
	}
	r->state = DIRTY;
	c->state = GONE;
	return 0;
}

/* The entry name of d, as an inode of this transaction. */
int ns_child_get(txn *t, const inode *d, const char *name, inode **out)
{
	uint64_t ino;
	uint8_t type;
	int rc;

	rc = ns_dent_get(t->n, d->ino, name, &ino, &type);
	if (rc < 0)
		return rc;
	rc = ns_txn_get(t, ino, out);
	if (rc == -ENOENT)
		rc = ddterr_set(-EBADMSG, "namespace: \"%.64s\" in directory "
				"%llu names missing inode %llu", name,
				(unsigned long long)d->ino,
				(unsigned long long)ino);
	return rc;
}

/* ---- open, close, sync ---- */

/* A format-1 store reads as it is (ns_int.h): only the mark changes, so
 * that an older build, which could not read the records this one writes,
 * refuses the store instead of calling them damaged. */
static int upgrade_format(ns *n)
{
	uint8_t fmt[4];
	idx_batch *b;
	int rc;

	put_le32(fmt, NS_FORMAT);
	rc = idx_batch_new(&b);
	if (rc < 0)
		return rc;
	idx_batch_put(b, IDX_NS, "Mformat", 7, fmt, sizeof(fmt));
	rc = idx_batch_write(n->ix, b, 1);
	idx_batch_free(b);
	return rc;
}

static int load_meta(ns *n)
{
	uint8_t fmt[4];
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(n->ix, IDX_NS, "Mformat", 7, &v, &len);
	if (rc == -ENOENT) {
		idx_batch *b;

		put_le32(fmt, NS_FORMAT);
		rc = idx_batch_new(&b);
		if (rc < 0)
			return rc;
		idx_batch_put(b, IDX_NS, "Mformat", 7, fmt, sizeof(fmt));
		rc = idx_batch_write(n->ix, b, 0);
		idx_batch_free(b);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (len != 4 || (get_le32(v) != NS_FORMAT &&
			 get_le32(v) != NS_FORMAT_V1))
		rc = ddterr_set(-EINVAL, "namespace: format %u is not "
				"supported (this build reads %d and %d)",
				len == 4 ? get_le32(v) : 0, NS_FORMAT_V1,
				NS_FORMAT);
	else if (get_le32(v) == NS_FORMAT_V1)
		rc = upgrade_format(n);
	free(v);
	if (rc < 0)
		return rc;
	rc = idx_kv_get(n->ix, IDX_NS, "Mnext_ino", 9, &v, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (len != 8 || get_le64(v) < FIRST_INO)
		rc = ddterr_set(-EBADMSG, "namespace: damaged inode counter");
	else
		n->next_ino = get_le64(v);
	free(v);
	return rc;
}

int ns_open(ns **out, idx *ix)
{
	ns *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	n->ix = ix;
	n->next_ino = FIRST_INO;
	rc = load_meta(n);
	if (rc < 0) {
		free(n);
		return rc;
	}
	pthread_mutex_init(&n->lock, NULL);
	*out = n;
	return 0;
}

void ns_close(ns *n)
{
	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int ns_sync(ns *n)
{
	return idx_sync(n->ix);
}

/* ---- the shape of every update ---- */

/* Lock, begin, run fn, flush, end, unlock: the shape of every update. */
int ns_update(ns *n, ns_update_fn fn, void *arg, int sync)
{
	txn t;
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = ns_txn_begin(n, &t);
	if (rc == 0)
		rc = fn(&t, arg);
	if (rc == 0)
		rc = ns_txn_flush(&t, sync);
	ns_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

typedef struct ff_args {
	ns_root_cb cb;
	void *arg;
} ff_args;

static int ff_cb(void *arg, const uint8_t *key, size_t klen,
		 const uint8_t *val, size_t vlen)
{
	ff_args *f = arg;
	inode in;
	int rc;

	if (klen != 9)
		return 0;
	rc = decode_inode(get_be64(key + 1), val, vlen, &in);
	if (rc < 0)
		return rc;
	if (in.type != DDT_T_FILE || in.size == 0)
		return 0;
	return f->cb(f->arg, &in.root, in.level, in.size);
}

int ns_foreach_file(ns *n, ns_root_cb cb, void *arg)
{
	ff_args f = { .cb = cb, .arg = arg };

	return idx_kv_scan(n->ix, IDX_NS, "I", 1, NULL, 0, ff_cb, &f);
}
