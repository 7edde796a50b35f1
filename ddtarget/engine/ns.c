/* ns.c - the namespace in the store's RocksDB (see ns.h for what it offers).
 *
 * Every update runs as a small transaction: one write batch, plus a cache of
 * the inode records it has read and changed, written into that batch at the
 * end. So an update is all or nothing, and its steps see each other (two
 * hard links to one inode replaced in one commit drop its count twice).
 *
 * Keys (IDX_NS; numbers in keys big-endian so they sort, values little-endian):
 *   'I' ino                -> inode record (below)
 *   'D' dir name           -> child ino u64, type u8
 *   'L' ino                -> a symbolic link's target
 *   'S' name               -> version u8, root ino u64 (a storage unit)
 *   'M' "next_ino"         -> u64; 'M' "format" -> u32
 * A storage unit's usage (files, bytes, backups) and creation time live in
 * its root directory's record, and every inode records its unit's root, so
 * a commit anywhere finds the counters to update with one read. Inode 1 is
 * reserved: there is no global root. */
#include "ns.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "ddterr.h"

#define NS_FORMAT	1
#define INO_VERSION	1
#define SU_VERSION	1
#define FIRST_INO	2
#define INO_HEAD	70		/* the part common to all types */
#define INO_FILE_LEN	(INO_HEAD + 1 + FP_LEN)
#define INO_DIR_LEN	(INO_HEAD + 32)
#define INO_MAX_LEN	INO_FILE_LEN	/* the longest of the two */
#define DENT_LEN	9
#define KEY_MAX		(1 + 8 + DDT_MAX_NAME)
#define SYMLINK_MAX	(DDT_MAX_STR - 1)	/* a PATH_MAX with its NUL */
#define ID_SUFFIX_LEN	17			/* "@YYYYMMDDTHHMMSSZ" */
#define MAX_DEPTH	100000		/* deeper parent walks are loops */
#define RM_CHUNK	1024	/* entries a removal reads at a time */
#define RM_BATCH	8192	/* records a removal writes per batch */

enum { CLEAN = 1, DIRTY, GONE };

/* An inode, decoded. Directories use files/bytes/backups/created: a storage
 * unit's root keeps the unit's usage there, a backup its totals. */
typedef struct inode {
	uint64_t ino;
	uint8_t type;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint32_t flags;
	uint64_t parent;	/* directories: the one holding it; 0: root */
	uint64_t su;		/* the storage unit's root */
	uint8_t level;		/* files */
	fp_t root;
	uint64_t files, bytes, backups;
	int64_t created;
	uint8_t state;		/* in a transaction's cache */
} inode;

struct ns {
	idx *ix;
	pthread_mutex_t lock;	/* serializes updates; reads go straight */
	uint64_t next_ino;	/* as last written */
};

typedef struct txn {
	ns *n;
	idx_batch *b;
	int err;		/* sticky: the batch could not be made */
	inode **tab;		/* open addressing by ino */
	size_t cap, used;
	size_t ops;		/* entry writes in the batch */
	uint64_t next_ino;
	int64_t now;
} txn;

/* A directory entry as listings collect it. */
typedef struct dent {
	char name[DDT_MAX_NAME + 1];
	uint64_t ino;
	uint8_t type;
} dent;

typedef struct dlist {
	dent *v;
	size_t n, cap, max;
	int err;
} dlist;

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t ino_key(uint8_t *k, uint8_t tag, uint64_t ino)
{
	k[0] = tag;
	put_be64(k + 1, ino);
	return 9;
}

static size_t dent_key(uint8_t *k, uint64_t dir, const char *name)
{
	size_t len = strlen(name);

	ino_key(k, 'D', dir);
	memcpy(k + 9, name, len);
	return 9 + len;
}

static size_t su_key(uint8_t *k, const char *name)
{
	size_t len = strlen(name);

	k[0] = 'S';
	memcpy(k + 1, name, len);
	return 1 + len;
}

/* A name for a directory entry (protocol section 4's codes). */
static int name_check(const char *name)
{
	size_t len = strlen(name);

	if (len > DDT_MAX_NAME)
		return ddterr_set(-ENAMETOOLONG, "name of %zu bytes: at most "
				  "%d", len, DDT_MAX_NAME);
	if (strchr(name, '/'))
		return ddterr_set(-ENAMETOOLONG, "name \"%.64s\" contains '/'",
				  name);
	if (!ddt_name_ok(name))
		return ddterr_set(-EINVAL, "\"%s\" is not a usable name", name);
	return 0;
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

static void to_attr(const inode *in, ddt_attr *a)
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
		return INO_DIR_LEN;
	}
	return INO_HEAD;
}

static size_t type_len(uint8_t type)
{
	switch (type) {
	case DDT_T_FILE:
		return INO_FILE_LEN;
	case DDT_T_DIR:
		return INO_DIR_LEN;
	case DDT_T_SYMLINK:
		return INO_HEAD;
	}
	return 0;
}

static int decode_inode(uint64_t ino, const uint8_t *p, size_t len, inode *in)
{
	memset(in, 0, sizeof(*in));
	if (len < INO_HEAD || p[0] != INO_VERSION || type_len(p[1]) != len)
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
	return 0;
}

/* Read an inode from RocksDB (not through a transaction). */
static int read_inode(ns *n, uint64_t ino, inode *out)
{
	uint8_t key[9];
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(n->ix, IDX_NS, key, ino_key(key, 'I', ino), &v, &len);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "inode %llu does not exist",
				  (unsigned long long)ino);
	if (rc < 0)
		return rc;
	rc = decode_inode(ino, v, len, out);
	free(v);
	return rc;
}

static int read_dir(ns *n, uint64_t ino, inode *out)
{
	int rc = read_inode(n, ino, out);

	if (rc == 0 && out->type != DDT_T_DIR)
		rc = ddterr_set(-ENOTDIR, "inode %llu is not a directory",
				(unsigned long long)ino);
	return rc;
}

/* The entry name in dir: 0 with its ino and type, -ENOENT, -EBADMSG. */
static int dent_get(ns *n, uint64_t dir, const char *name, uint64_t *ino,
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
static int dent_absent(ns *n, uint64_t dir, const char *name)
{
	uint64_t ino;
	uint8_t type;
	int rc = dent_get(n, dir, name, &ino, &type);

	if (rc == 0)
		return ddterr_set(-EEXIST, "\"%.64s\" exists already in "
				  "directory %llu", name,
				  (unsigned long long)dir);
	return rc == -ENOENT ? 0 : rc;
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
static int list_dir(ns *n, uint64_t dir, const char *after, size_t max,
		    dlist *l)
{
	uint8_t start[KEY_MAX + 1], prefix[9];
	size_t slen, alen = strlen(after);
	int rc;

	if (alen > DDT_MAX_NAME)
		return ddterr_set(-ENAMETOOLONG, "readdir: a start name over "
				  "%d bytes", DDT_MAX_NAME);
	ino_key(prefix, 'D', dir);
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

static int txn_begin(ns *n, txn *t)
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
static void txn_forget(txn *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->tab[i]);
		t->tab[i] = NULL;
	}
	t->used = 0;
}

static void txn_end(txn *t)
{
	if (t->tab)
		txn_forget(t);
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
 * which stays valid until txn_forget(). */
static int txn_get(txn *t, uint64_t ino, inode **out)
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
	rc = read_inode(t->n, ino, in);
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

static int txn_get_dir(txn *t, uint64_t ino, inode **out)
{
	int rc = txn_get(t, ino, out);

	if (rc == 0 && (*out)->type != DDT_T_DIR)
		rc = ddterr_set(-ENOTDIR, "inode %llu is not a directory",
				(unsigned long long)ino);
	return rc;
}

/* A new inode of type in su, with nlink 1 (2 for a directory). */
static int txn_new(txn *t, uint8_t type, uint64_t su, inode **out)
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
static void touch(txn *t, inode *in)
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

static void txn_put(txn *t, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	if (txn_batch(t) == 0)
		idx_batch_put(t->b, IDX_NS, key, klen, val, vlen);
	t->ops++;
}

static void txn_del(txn *t, const void *key, size_t klen)
{
	if (txn_batch(t) == 0)
		idx_batch_del(t->b, IDX_NS, key, klen);
	t->ops++;
}

/* Write the batch with every changed inode, and the inode counter. The
 * cache stays valid: it now matches the database. */
static int txn_flush(txn *t, int sync)
{
	uint8_t key[9], rec[INO_MAX_LEN];
	int rc;

	for (size_t i = 0; i < t->cap; i++) {
		inode *in = t->tab[i];

		if (!in || in->state == CLEAN)
			continue;
		ino_key(key, 'I', in->ino);
		if (in->state == GONE) {
			txn_del(t, key, sizeof(key));
		} else {
			txn_put(t, key, sizeof(key), rec,
				encode_inode(in, rec));
			in->state = CLEAN;
		}
	}
	if (t->next_ino != t->n->next_ino) {
		uint8_t v[8];

		put_le64(v, t->next_ino);
		txn_put(t, "Mnext_ino", 9, v, sizeof(v));
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
	txn_put(t, key, dent_key(key, dir, name), v, sizeof(v));
}

/* Enter c as name in d (the name is known to be free). */
static void link_entry(txn *t, inode *d, const char *name, inode *c)
{
	dent_put(t, d->ino, name, c);
	d->size++;
	if (c->type == DDT_T_DIR) {
		d->nlink++;
		c->parent = d->ino;
	}
	d->mtime = t->now;
	touch(t, d);
}

static void unlink_entry(txn *t, inode *d, const char *name, const inode *c)
{
	uint8_t key[KEY_MAX];

	txn_del(t, key, dent_key(key, d->ino, name));
	if (d->size)
		d->size--;
	if (c->type == DDT_T_DIR && d->nlink > 2)
		d->nlink--;
	d->mtime = t->now;
	touch(t, d);
}

/* c lost one name: a directory or a last link goes, and the storage unit's
 * figures with it. */
static int drop_link(txn *t, inode *c)
{
	uint8_t key[9];
	inode *r;
	int rc;

	if (c->type != DDT_T_DIR && c->nlink > 1) {
		c->nlink--;
		touch(t, c);
		return 0;
	}
	rc = txn_get(t, c->su, &r);
	if (rc < 0)
		return rc;
	if (c->type == DDT_T_FILE) {
		r->files -= r->files ? 1 : 0;
		r->bytes -= r->bytes >= c->size ? c->size : r->bytes;
	} else if (c->type == DDT_T_DIR && (c->flags & DDT_AF_BACKUP)) {
		r->backups -= r->backups ? 1 : 0;
	} else if (c->type == DDT_T_SYMLINK) {
		txn_del(t, key, ino_key(key, 'L', c->ino));
	}
	r->state = DIRTY;
	c->state = GONE;
	return 0;
}

/* The entry name of d, as an inode of this transaction. */
static int child_get(txn *t, const inode *d, const char *name, inode **out)
{
	uint64_t ino;
	uint8_t type;
	int rc;

	rc = dent_get(t->n, d->ino, name, &ino, &type);
	if (rc < 0)
		return rc;
	rc = txn_get(t, ino, out);
	if (rc == -ENOENT)
		rc = ddterr_set(-EBADMSG, "namespace: \"%.64s\" in directory "
				"%llu names missing inode %llu", name,
				(unsigned long long)d->ino,
				(unsigned long long)ino);
	return rc;
}

/* ---- open, close, sync ---- */

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
	if (len != 4 || get_le32(v) != NS_FORMAT)
		rc = ddterr_set(-EINVAL, "namespace: format %u is not "
				"supported (this build reads %d)",
				len == 4 ? get_le32(v) : 0, NS_FORMAT);
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

	rc = txn_get_dir(t, dir, &d);
	if (rc == 0)
		rc = child_get(t, d, name, &c);
	if (rc < 0)
		return rc;
	unlink_entry(t, d, name, c);
	return drop_link(t, c);
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

		rc = list_dir(t->n, lv->ino, lv->after, RM_CHUNK, &l);
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
			rc = txn_flush(t, 0);
			txn_forget(t);
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
	rc = txn_begin(n, &t);
	if (rc < 0)
		goto out;
	rc = su_root(n, name, &root);
	if (rc == 0)
		rc = ddterr_set(-EEXIST, "storage unit \"%s\" exists already",
				name);
	if (rc != -ENOENT)
		goto out;
	rc = txn_new(&t, DDT_T_DIR, 0, &r);
	if (rc < 0)
		goto out;
	r->mode = 0755;
	v[0] = SU_VERSION;
	put_le64(v + 1, r->ino);
	txn_put(&t, key, su_key(key, name), v, sizeof(v));
	rc = txn_flush(&t, 0);
	if (rc == 0 && out)
		su_fill(out, name, r);
out:
	txn_end(&t);
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
		rc = read_dir(n, root, &r);
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
	rc = read_dir(s->owner, get_le64(val + 1), &r);
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
	rc = txn_begin(n, &t);
	if (rc == 0)
		rc = su_root(n, name, &root);
	if (rc == 0)
		rc = txn_get_dir(&t, root, &r);
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
		rc = txn_get(&t, root, &r);
	if (rc < 0)
		goto out;
	r->state = GONE;
	txn_del(&t, key, su_key(key, name));
	rc = txn_flush(&t, 1);
out:
	txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* ---- the tree: reads ---- */

int ns_getattr(ns *n, uint64_t ino, ddt_attr *out)
{
	inode in;
	int rc = read_inode(n, ino, &in);

	if (rc == 0)
		to_attr(&in, out);
	return rc;
}

int ns_lookup(ns *n, uint64_t dir, const char *name, ddt_attr *out)
{
	uint64_t ino;
	uint8_t type;
	inode in;
	int rc;

	rc = name_check(name);
	if (rc == 0)
		rc = read_dir(n, dir, &in);
	if (rc == 0)
		rc = dent_get(n, dir, name, &ino, &type);
	if (rc == 0)
		rc = read_inode(n, ino, &in);
	if (rc == -ENOENT)	/* a removal raced the two reads */
		rc = ddterr_set(-ENOENT, "no \"%.64s\" in directory %llu",
				name, (unsigned long long)dir);
	if (rc == 0)
		to_attr(&in, out);
	return rc;
}

int ns_readlink(ns *n, uint64_t ino, char *buf, size_t cap)
{
	uint8_t key[9];
	size_t len;
	inode in;
	void *v;
	int rc;

	rc = read_inode(n, ino, &in);
	if (rc < 0)
		return rc;
	if (in.type != DDT_T_SYMLINK)
		return ddterr_set(-EINVAL, "inode %llu is not a symbolic link",
				  (unsigned long long)ino);
	rc = idx_kv_get(n->ix, IDX_NS, key, ino_key(key, 'L', ino), &v, &len);
	if (rc == -ENOENT)
		return ddterr_set(-EBADMSG, "namespace: symbolic link %llu "
				  "has no target", (unsigned long long)ino);
	if (rc < 0)
		return rc;
	if (len == 0 || len > SYMLINK_MAX || memchr(v, 0, len))
		rc = ddterr_set(-EBADMSG, "namespace: symbolic link %llu: "
				"damaged target", (unsigned long long)ino);
	else if (len + 1 > cap)
		rc = ddterr_set(-ENAMETOOLONG, "symbolic link target of %zu "
				"bytes does not fit %zu", len, cap);
	else {
		memcpy(buf, v, len);
		buf[len] = '\0';
	}
	free(v);
	return rc;
}

typedef struct rd_ent {
	const char *name;
	ddt_attr a;
} rd_ent;

int ns_readdir(ns *n, uint64_t dir, const char *after, uint32_t max,
	       ns_dirent_cb cb, void *arg, int *out_eof)
{
	rd_ent *ents = NULL;
	size_t got = 0, want;
	dlist l = { 0 };
	inode in;
	int rc;

	rc = read_dir(n, dir, &in);
	if (rc == 0)	/* one more than asked says whether any remain */
		rc = list_dir(n, dir, after, (size_t)max + 1, &l);
	if (rc < 0)
		goto out;
	want = l.n > max ? max : l.n;
	ents = malloc((want ? want : 1) * sizeof(*ents));
	if (!ents) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < want; i++) {
		rc = read_inode(n, l.v[i].ino, &in);
		if (rc == -ENOENT) {	/* removed since the scan */
			rc = 0;
			continue;
		}
		if (rc < 0)
			goto out;
		ents[got].name = l.v[i].name;
		to_attr(&in, &ents[got++].a);
	}
	for (size_t i = 0; i < got && rc == 0; i++)
		rc = cb(arg, ents[i].name, &ents[i].a);
	if (out_eof)
		*out_eof = l.n <= max;
out:
	free(ents);
	free(l.v);
	return rc;
}

/* ---- the tree: changes ---- */

/* Lock, begin, run fn, flush, end, unlock: the shape of every update. */
typedef int (*update_fn)(txn *t, void *arg);

static int update(ns *n, update_fn fn, void *arg, int sync)
{
	txn t;
	int rc;

	pthread_mutex_lock(&n->lock);
	rc = txn_begin(n, &t);
	if (rc == 0)
		rc = fn(&t, arg);
	if (rc == 0)
		rc = txn_flush(&t, sync);
	txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

typedef struct mk_args {
	uint64_t dir, ino;
	const char *name, *target;
	uint8_t type;
	uint32_t mode, uid, gid;
	int64_t mtime;
	ddt_attr a;
} mk_args;

/* mkdir and symlink: a new inode under a new name. */
static int do_make(txn *t, void *arg)
{
	mk_args *m = arg;
	uint8_t key[9];
	inode *d, *c;
	int rc;

	rc = txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = dent_absent(t->n, m->dir, m->name);
	if (rc == 0)
		rc = txn_new(t, m->type, d->su, &c);
	if (rc < 0)
		return rc;
	c->mode = m->mode & 07777;
	c->uid = m->uid;
	c->gid = m->gid;
	c->atime = c->mtime = m->mtime;
	if (m->type == DDT_T_SYMLINK) {
		c->size = strlen(m->target);
		txn_put(t, key, ino_key(key, 'L', c->ino), m->target, c->size);
	}
	link_entry(t, d, m->name, c);
	to_attr(c, &m->a);
	return 0;
}

int ns_mkdir(ns *n, uint64_t dir, const char *name, uint32_t mode,
	     uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_DIR,
		      .mode = mode, .uid = uid, .gid = gid, .mtime = mtime };
	int rc = name_check(name);

	if (rc == 0)
		rc = update(n, do_make, &m, 0);
	if (rc == 0 && out)
		*out = m.a;
	return rc;
}

int ns_symlink(ns *n, uint64_t dir, const char *name, const char *target,
	       uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out)
{
	mk_args m = { .dir = dir, .name = name, .target = target,
		      .type = DDT_T_SYMLINK, .mode = 0777, .uid = uid,
		      .gid = gid, .mtime = mtime };
	size_t tlen = strlen(target);
	int rc = name_check(name);

	if (rc == 0 && tlen == 0)
		rc = ddterr_set(-EINVAL, "a symbolic link needs a target");
	if (rc == 0 && tlen > SYMLINK_MAX)
		rc = ddterr_set(-ENAMETOOLONG, "symbolic link target of %zu "
				"bytes: at most %d", tlen, SYMLINK_MAX);
	if (rc == 0)
		rc = update(n, do_make, &m, 0);
	if (rc == 0 && out)
		*out = m.a;
	return rc;
}

/* Refuse to mix storage units in one tree: each inode's su must stay true,
 * and moving a directory would mean rewriting all of its subtree. */
static int same_su(const inode *a, const inode *b)
{
	if (a->su == b->su)
		return 0;
	return ddterr_set(-EINVAL, "inodes %llu and %llu are in different "
			  "storage units", (unsigned long long)a->ino,
			  (unsigned long long)b->ino);
}

static int do_link(txn *t, void *arg)
{
	mk_args *m = arg;
	inode *d, *c;
	int rc;

	rc = txn_get(t, m->ino, &c);
	if (rc == 0 && c->type == DDT_T_DIR)
		rc = ddterr_set(-EISDIR, "inode %llu is a directory: "
				"directories cannot be hard-linked",
				(unsigned long long)m->ino);
	if (rc == 0)
		rc = txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = same_su(c, d);
	if (rc == 0)
		rc = dent_absent(t->n, m->dir, m->name);
	if (rc == 0 && c->nlink == UINT32_MAX)
		rc = ddterr_set(-EINVAL, "inode %llu has too many links",
				(unsigned long long)m->ino);
	if (rc < 0)
		return rc;
	link_entry(t, d, m->name, c);
	c->nlink++;
	touch(t, c);
	to_attr(c, &m->a);
	return 0;
}

int ns_link(ns *n, uint64_t ino, uint64_t dir, const char *name,
	    ddt_attr *out)
{
	mk_args m = { .dir = dir, .ino = ino, .name = name };
	int rc = name_check(name);

	if (rc == 0)
		rc = update(n, do_link, &m, 0);
	if (rc == 0 && out)
		*out = m.a;
	return rc;
}

/* unlink (want_dir 0) and rmdir (1). */
static int do_remove(txn *t, void *arg)
{
	mk_args *m = arg;
	int want_dir = m->type == DDT_T_DIR;
	inode *d, *c;
	int rc;

	rc = txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = child_get(t, d, m->name, &c);
	if (rc < 0)
		return rc;
	if (!want_dir && c->type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "\"%.64s\" is a directory: use "
				  "rmdir", m->name);
	if (want_dir && c->type != DDT_T_DIR)
		return ddterr_set(-ENOTDIR, "\"%.64s\" is not a directory",
				  m->name);
	if (want_dir && c->size)
		return ddterr_set(-ENOTEMPTY, "directory \"%.64s\" is not "
				  "empty (%llu entries)", m->name,
				  (unsigned long long)c->size);
	unlink_entry(t, d, m->name, c);
	return drop_link(t, c);
}

int ns_unlink(ns *n, uint64_t dir, const char *name)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_FILE };
	int rc = name_check(name);

	return rc ? rc : update(n, do_remove, &m, 0);
}

int ns_rmdir(ns *n, uint64_t dir, const char *name)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_DIR };
	int rc = name_check(name);

	return rc ? rc : update(n, do_remove, &m, 0);
}

typedef struct mv_args {
	uint64_t sdir, ddir;
	const char *sname, *dname;
} mv_args;

/* -EINVAL if moving directory src under d would put it inside itself. */
static int not_inside(txn *t, const inode *src, inode *d)
{
	for (int i = 0; i < MAX_DEPTH; i++) {
		int rc;

		if (d->ino == src->ino)
			return ddterr_set(-EINVAL, "cannot move directory %llu "
					  "into itself", (unsigned long long)
					  src->ino);
		if (!d->parent)
			return 0;
		rc = txn_get(t, d->parent, &d);
		if (rc < 0)
			return rc;
	}
	return ddterr_set(-EBADMSG, "namespace: the parents of directory "
			  "%llu loop", (unsigned long long)d->ino);
}

/* What may stand at the destination: the same kind, and no content. */
static int victim_ok(const inode *src, const inode *dst, const char *dname)
{
	if (src->type == DDT_T_DIR && dst->type != DDT_T_DIR)
		return ddterr_set(-ENOTDIR, "cannot replace \"%.64s\", not a "
				  "directory, with a directory", dname);
	if (src->type != DDT_T_DIR && dst->type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "cannot replace directory "
				  "\"%.64s\" with a non-directory", dname);
	if (dst->type == DDT_T_DIR && dst->size)
		return ddterr_set(-ENOTEMPTY, "cannot replace \"%.64s\": the "
				  "directory is not empty", dname);
	return 0;
}

static int do_rename(txn *t, void *arg)
{
	mv_args *m = arg;
	inode *sd, *dd, *src, *dst;
	int rc;

	rc = txn_get_dir(t, m->sdir, &sd);
	if (rc == 0)
		rc = txn_get_dir(t, m->ddir, &dd);
	if (rc == 0)
		rc = child_get(t, sd, m->sname, &src);
	if (rc == 0)
		rc = same_su(sd, dd);
	if (rc == 0 && src->type == DDT_T_DIR && sd != dd)
		rc = not_inside(t, src, dd);
	if (rc < 0)
		return rc;
	rc = child_get(t, dd, m->dname, &dst);
	if (rc == 0) {
		if (dst == src)		/* two names of one inode: POSIX
					   says do nothing */
			return 0;
		rc = victim_ok(src, dst, m->dname);
		if (rc == 0) {
			unlink_entry(t, dd, m->dname, dst);
			rc = drop_link(t, dst);
		}
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	unlink_entry(t, sd, m->sname, src);
	link_entry(t, dd, m->dname, src);
	touch(t, src);
	return 0;
}

int ns_rename(ns *n, uint64_t sdir, const char *sname, uint64_t ddir,
	      const char *dname)
{
	mv_args m = { .sdir = sdir, .ddir = ddir, .sname = sname,
		      .dname = dname };
	int rc = name_check(sname);

	if (rc == 0)
		rc = name_check(dname);
	return rc ? rc : update(n, do_rename, &m, 0);
}

typedef struct sa_args {
	uint64_t ino;
	uint32_t mask;
	const ddt_attr *v;
	ddt_attr a;
} sa_args;

static int do_setattr(txn *t, void *arg)
{
	sa_args *s = arg;
	inode *in;
	int rc;

	rc = txn_get(t, s->ino, &in);
	if (rc < 0)
		return rc;
	if (s->mask & DDT_SA_MODE)
		in->mode = s->v->mode & 07777;
	if (s->mask & DDT_SA_UID)
		in->uid = s->v->uid;
	if (s->mask & DDT_SA_GID)
		in->gid = s->v->gid;
	if (s->mask & DDT_SA_ATIME)
		in->atime = s->v->atime;
	if (s->mask & DDT_SA_MTIME)
		in->mtime = s->v->mtime;
	touch(t, in);
	to_attr(in, &s->a);
	return 0;
}

int ns_setattr(ns *n, uint64_t ino, uint32_t mask, const ddt_attr *v,
	       ddt_attr *out)
{
	const uint32_t all = DDT_SA_MODE | DDT_SA_UID | DDT_SA_GID |
			     DDT_SA_ATIME | DDT_SA_MTIME;
	sa_args s = { .ino = ino, .mask = mask, .v = v };
	int rc;

	if (mask & ~all)
		return ddterr_set(-EINVAL, "setattr: unknown mask bits 0x%x",
				  mask & ~all);
	rc = update(n, do_setattr, &s, 0);
	if (rc == 0 && out)
		*out = s.a;
	return rc;
}

/* ---- file content ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every name usable, and none twice (the batch could not say which wins). */
static int check_entries(const ns_entry *e, size_t count)
{
	const char **names;
	int rc = 0;

	for (size_t i = 0; i < count; i++) {
		rc = name_check(e[i].name);
		if (rc < 0)
			return rc;
	}
	if (count < 2)
		return 0;
	names = malloc(count * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		names[i] = e[i].name;
	qsort(names, count, sizeof(*names), cmp_names);
	for (size_t i = 1; i < count && rc == 0; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			rc = ddterr_set(-EINVAL, "commit names \"%.64s\" twice",
					names[i]);
	free(names);
	return rc;
}

static void set_content(txn *t, inode *f, const ns_entry *e)
{
	f->mode = e->mode & 07777;
	f->uid = e->uid;
	f->gid = e->gid;
	f->atime = e->atime;
	f->mtime = e->mtime;
	f->size = e->size;
	f->level = e->level;
	f->root = e->root;
	touch(t, f);
}

/* One entry of a commit. Replacing a file keeps its inode (a gateway's
 * file handle stays good, and every hard link sees the new content); a
 * symbolic link in the way is replaced by a new file. */
static int commit_one(txn *t, inode *d, inode *r, const ns_entry *e,
		      ddt_attr *a)
{
	inode *f;
	int rc;

	rc = child_get(t, d, e->name, &f);
	if (rc == 0 && f->type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "cannot commit \"%.64s\": a "
				  "directory has that name", e->name);
	if (rc == 0 && f->type == DDT_T_FILE) {
		r->bytes = r->bytes - f->size + e->size;
		r->state = DIRTY;
		set_content(t, f, e);
		d->mtime = t->now;
		touch(t, d);
		to_attr(f, a);
		return 0;
	}
	if (rc == 0) {
		unlink_entry(t, d, e->name, f);
		rc = drop_link(t, f);
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = txn_new(t, DDT_T_FILE, d->su, &f);
	if (rc < 0)
		return rc;
	set_content(t, f, e);
	link_entry(t, d, e->name, f);
	r->files++;
	r->bytes += e->size;
	r->state = DIRTY;
	to_attr(f, a);
	return 0;
}

typedef struct cm_args {
	uint64_t dir;
	const ns_entry *e;
	size_t count;
	ddt_attr *out;
} cm_args;

static int do_commit(txn *t, void *arg)
{
	cm_args *c = arg;
	inode *d, *r;
	ddt_attr scratch;
	int rc;

	rc = txn_get_dir(t, c->dir, &d);
	if (rc == 0)
		rc = txn_get_dir(t, d->su, &r);
	for (size_t i = 0; rc == 0 && i < c->count; i++)
		rc = commit_one(t, d, r, &c->e[i],
				c->out ? &c->out[i] : &scratch);
	return rc;
}

int ns_commit(ns *n, uint64_t dir, const ns_entry *e, size_t count, int sync,
	      ddt_attr *out)
{
	cm_args c = { .dir = dir, .e = e, .count = count, .out = out };
	int rc = check_entries(e, count);

	return rc ? rc : update(n, do_commit, &c, sync);
}

typedef struct fr_args {
	ns *n;
	ns_root_cb cb;
	void *arg;
	uint64_t *stack;
	size_t depth, cap;
	int err;
} fr_args;

static int fr_file(fr_args *f, uint64_t ino)
{
	inode in;
	int rc = read_inode(f->n, ino, &in);

	if (rc == -ENOENT)	/* removed since the scan */
		return 0;
	if (rc < 0 || in.type != DDT_T_FILE)
		return rc;
	return f->cb(f->arg, &in.root, in.level, in.size);
}

static int fr_cb(void *arg, const uint8_t *key, size_t klen,
		 const uint8_t *val, size_t vlen)
{
	fr_args *f = arg;

	if (klen <= 9 || vlen != DENT_LEN) {
		f->err = ddterr_set(-EBADMSG, "namespace: damaged directory "
				    "entry (%zu/%zu bytes)", klen, vlen);
		return 1;
	}
	if (val[8] != DDT_T_DIR)
		return fr_file(f, get_le64(val));
	if (f->depth == f->cap) {
		size_t ncap = f->cap * 2;
		uint64_t *ns2 = realloc(f->stack, ncap * sizeof(*ns2));

		if (!ns2) {
			f->err = -ENOMEM;
			return 1;
		}
		f->stack = ns2;
		f->cap = ncap;
	}
	f->stack[f->depth++] = get_le64(val);
	return 0;
}

/* Without the lock: a walk may take long (its caller reads segments), and
 * each directory is seen as it is when its turn comes. */
int ns_foreach_root(ns *n, uint64_t ino, ns_root_cb cb, void *arg)
{
	fr_args f = { .n = n, .cb = cb, .arg = arg, .cap = 64 };
	inode in;
	int rc;

	rc = read_inode(n, ino, &in);
	if (rc < 0 || in.type == DDT_T_SYMLINK)
		return rc;
	if (in.type == DDT_T_FILE)
		return cb(arg, &in.root, in.level, in.size);
	f.stack = malloc(f.cap * sizeof(*f.stack));
	if (!f.stack)
		return -ENOMEM;
	f.stack[f.depth++] = ino;
	while (rc == 0 && f.depth > 0) {
		uint8_t prefix[9];

		ino_key(prefix, 'D', f.stack[--f.depth]);
		rc = idx_kv_scan(n->ix, IDX_NS, prefix, sizeof(prefix), NULL,
				 0, fr_cb, &f);
		if (f.err)
			rc = f.err;
	}
	free(f.stack);
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
		rc = txn_get_dir(t, root, &r);
	if (rc == 0) {
		rc = dent_absent(t->n, root, b->id);
		if (rc == -EEXIST)
			rc = ddterr_set(-EEXIST, "backup %s exists already: "
					"one per name and second", b->id);
	}
	if (rc == 0)
		rc = txn_new(t, DDT_T_DIR, root, &d);
	if (rc < 0)
		return rc;
	d->mode = 0755;
	d->flags = DDT_AF_BACKUP | DDT_AF_INCOMPLETE;
	d->atime = d->mtime = d->created = b->now;
	link_entry(t, r, b->id, d);
	r->backups++;
	backup_fill(&b->b, b->id, d);
	to_attr(d, &b->a);
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
	rc = update(n, do_backup_begin, &b, 0);
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

	rc = txn_get(t, b->ino, &d);
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
	touch(t, d);
	to_attr(d, &b->a);
	return 0;
}

int ns_backup_end(ns *n, uint64_t ino, uint64_t files, uint64_t bytes,
		  ddt_attr *out)
{
	be_args b = { .ino = ino, .files = files, .bytes = bytes };
	int rc = update(n, do_backup_end, &b, 1);

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
		rc = list_dir(n, root, "", SIZE_MAX, &l);
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
		rc = read_inode(n, l.v[i].ino, &in);
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

	rc = name_check(id);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = txn_begin(n, &t);
	if (rc == 0)
		rc = su_root(n, su, &root);
	if (rc == 0)
		rc = txn_get_dir(&t, root, &r);
	if (rc == 0)
		rc = child_get(&t, r, id, &b);
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
		rc = txn_flush(&t, 1);
out:
	txn_end(&t);
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
