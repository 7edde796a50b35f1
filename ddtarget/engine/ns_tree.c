/* ns_tree.c - the namespace's tree: reading and changing directories, files,
 * symbolic links and hard links, committing file content, and walking the
 * file roots under an inode. Each change is one transaction (ns.c). */
#include "ns_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"
#include "fmt.h"

/* ---- the tree: reads ---- */

int ns_getattr(ns *n, uint64_t ino, ddt_attr *out)
{
	inode in;
	int rc = ns_read_inode(n, ino, &in);

	if (rc == 0)
		ns_to_attr(&in, out);
	return rc;
}

int ns_getattr_unit(ns *n, uint64_t ino, ddt_attr *out, uint64_t *out_unit)
{
	inode in;
	int rc = ns_read_inode(n, ino, &in);

	if (rc == 0) {
		ns_to_attr(&in, out);
		*out_unit = in.su;
	}
	return rc;
}

int ns_unit_of(ns *n, uint64_t ino, uint64_t *out_root)
{
	inode in;
	int rc = ns_read_inode(n, ino, &in);

	if (rc == 0)
		*out_root = in.su;
	return rc;
}

int ns_lookup(ns *n, uint64_t dir, const char *name, ddt_attr *out)
{
	uint64_t ino;
	uint8_t type;
	inode in;
	int rc;

	rc = ns_name_check_find(name);
	if (rc == 0)
		rc = ns_read_dir(n, dir, &in);
	if (rc == 0)
		rc = ns_dent_get(n, dir, name, &ino, &type);
	if (rc == 0)
		rc = ns_read_inode(n, ino, &in);
	if (rc == -ENOENT)	/* a removal raced the two reads */
		rc = ddterr_set(-ENOENT, "no \"%.64s\" in directory %llu",
				name, (unsigned long long)dir);
	if (rc == 0)
		ns_to_attr(&in, out);
	return rc;
}

int ns_readlink(ns *n, uint64_t ino, char *buf, size_t cap)
{
	uint8_t key[9];
	size_t len;
	inode in;
	void *v;
	int rc;

	rc = ns_read_inode(n, ino, &in);
	if (rc < 0)
		return rc;
	if (in.type != DDT_T_SYMLINK)
		return ddterr_set(-EINVAL, "inode %llu is not a symbolic link",
				  (unsigned long long)ino);
	rc = idx_kv_get(n->ix, IDX_NS, key, ns_ino_key(key, 'L', ino), &v,
			&len);
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

	rc = ns_read_dir(n, dir, &in);
	if (rc == 0)	/* one more than asked says whether any remain */
		rc = ns_list_dir(n, dir, after, (size_t)max + 1, &l);
	if (rc < 0)
		goto out;
	want = l.n > max ? max : l.n;
	ents = malloc((want ? want : 1) * sizeof(*ents));
	if (!ents) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < want; i++) {
		rc = ns_read_inode(n, l.v[i].ino, &in);
		if (rc == -ENOENT) {	/* removed since the scan */
			rc = 0;
			continue;
		}
		if (rc < 0)
			goto out;
		ents[got].name = l.v[i].name;
		ns_to_attr(&in, &ents[got++].a);
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

	rc = ns_txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = ns_dent_absent(t->n, m->dir, m->name);
	if (rc == 0)
		rc = ns_lock_dir(t, d);
	if (rc == 0)
		rc = ns_txn_new(t, m->type, d->su, &c);
	if (rc < 0)
		return rc;
	c->mode = m->mode & 07777;
	c->uid = m->uid;
	c->gid = m->gid;
	c->atime = c->mtime = m->mtime;
	if (m->type == DDT_T_SYMLINK) {
		c->size = strlen(m->target);
		ns_txn_put(t, key, ns_ino_key(key, 'L', c->ino), m->target,
			   c->size);
	}
	ns_link_entry(t, d, m->name, c);
	ns_to_attr(c, &m->a);
	return 0;
}

int ns_mkdir(ns *n, uint64_t dir, const char *name, uint32_t mode,
	     uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_DIR,
		      .mode = mode, .uid = uid, .gid = gid, .mtime = mtime };
	int rc = ns_name_check(name);

	if (rc == 0)
		rc = ns_update(n, do_make, &m, 0);
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
	int rc = ns_name_check(name);

	if (rc == 0 && tlen == 0)
		rc = ddterr_set(-EINVAL, "a symbolic link needs a target");
	if (rc == 0 && tlen > SYMLINK_MAX)
		rc = ddterr_set(-ENAMETOOLONG, "symbolic link target of %zu "
				"bytes: at most %d", tlen, SYMLINK_MAX);
	if (rc == 0)
		rc = ns_update(n, do_make, &m, 0);
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

	rc = ns_txn_get(t, m->ino, &c);
	if (rc == 0 && c->type == DDT_T_DIR)
		rc = ddterr_set(-EISDIR, "inode %llu is a directory: "
				"directories cannot be hard-linked",
				(unsigned long long)m->ino);
	if (rc == 0)
		rc = ns_txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = same_su(c, d);
	if (rc == 0)
		rc = ns_dent_absent(t->n, m->dir, m->name);
	if (rc == 0)
		rc = ns_lock_dir(t, d);
	if (rc == 0)
		rc = ns_lock_inode(t, c);
	if (rc == 0)
		rc = ns_lock_span(t, c, d);
	if (rc == 0 && c->nlink == UINT32_MAX)
		rc = ddterr_set(-EINVAL, "inode %llu has too many links",
				(unsigned long long)m->ino);
	if (rc < 0)
		return rc;
	ns_link_entry(t, d, m->name, c);
	c->nlink++;
	ns_touch(t, c);
	ns_to_attr(c, &m->a);
	return 0;
}

int ns_link(ns *n, uint64_t ino, uint64_t dir, const char *name,
	    ddt_attr *out)
{
	mk_args m = { .dir = dir, .ino = ino, .name = name };
	int rc = ns_name_check(name);

	if (rc == 0)
		rc = ns_update(n, do_link, &m, 0);
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

	rc = ns_txn_get_dir(t, m->dir, &d);
	if (rc == 0)
		rc = ns_child_get(t, d, m->name, &c);
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
	rc = ns_lock_dir(t, d);
	if (rc == 0 && want_dir)	/* an empty backup itself */
		rc = ns_lock_dir(t, c);
	if (rc < 0)
		return rc;
	ns_unlink_entry(t, d, m->name, c);
	return ns_drop_link(t, c);
}

int ns_unlink(ns *n, uint64_t dir, const char *name)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_FILE };
	int rc = ns_name_check_find(name);

	return rc ? rc : ns_update(n, do_remove, &m, 0);
}

int ns_rmdir(ns *n, uint64_t dir, const char *name)
{
	mk_args m = { .dir = dir, .name = name, .type = DDT_T_DIR };
	int rc = ns_name_check_find(name);

	return rc ? rc : ns_update(n, do_remove, &m, 0);
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
		rc = ns_txn_get(t, d->parent, &d);
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

/* The retention lock's part of a rename: neither directory may be in a
 * locked backup, nor may a moved directory be one; several names of a
 * file may not come to span backups. */
static int rename_lock(txn *t, inode *sd, inode *dd, inode *src)
{
	int rc = ns_lock_dir(t, sd);

	if (rc == 0 && dd != sd)
		rc = ns_lock_dir(t, dd);
	if (rc == 0 && src->type == DDT_T_DIR)
		rc = ns_lock_dir(t, src);
	if (rc == 0 && src->type != DDT_T_DIR && src->nlink > 1 && dd != sd) {
		rc = ns_lock_inode(t, src);
		if (rc == 0)
			rc = ns_lock_span(t, src, dd);
	}
	return rc;
}

static int do_rename(txn *t, void *arg)
{
	mv_args *m = arg;
	inode *sd, *dd, *src, *dst;
	int rc;

	rc = ns_txn_get_dir(t, m->sdir, &sd);
	if (rc == 0)
		rc = ns_txn_get_dir(t, m->ddir, &dd);
	if (rc == 0)
		rc = ns_child_get(t, sd, m->sname, &src);
	if (rc == 0)
		rc = same_su(sd, dd);
	if (rc == 0 && src->type == DDT_T_DIR && sd != dd)
		rc = not_inside(t, src, dd);
	if (rc == 0)
		rc = rename_lock(t, sd, dd, src);
	if (rc < 0)
		return rc;
	rc = ns_child_get(t, dd, m->dname, &dst);
	if (rc == 0) {
		if (dst == src)		/* two names of one inode: POSIX
					   says do nothing */
			return 0;
		rc = victim_ok(src, dst, m->dname);
		if (rc == 0 && dst->type == DDT_T_DIR)
			rc = ns_lock_dir(t, dst);
		if (rc == 0) {
			ns_unlink_entry(t, dd, m->dname, dst);
			rc = ns_drop_link(t, dst);
		}
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	ns_unlink_entry(t, sd, m->sname, src);
	ns_link_entry(t, dd, m->dname, src);
	ns_touch(t, src);
	return 0;
}

int ns_rename(ns *n, uint64_t sdir, const char *sname, uint64_t ddir,
	      const char *dname)
{
	mv_args m = { .sdir = sdir, .ddir = ddir, .sname = sname,
		      .dname = dname };
	int rc = ns_name_check_find(sname);

	if (rc == 0)
		rc = ns_name_check(dname);
	return rc ? rc : ns_update(n, do_rename, &m, 0);
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

	rc = ns_txn_get(t, s->ino, &in);
	if (rc == 0)
		rc = ns_lock_inode(t, in);
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
	ns_touch(t, in);
	ns_to_attr(in, &s->a);
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
	rc = ns_update(n, do_setattr, &s, 0);
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
		rc = ns_name_check(e[i].name);
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
	ns_touch(t, f);
}

/* One entry of a commit. Replacing a file keeps its inode (a gateway's
 * file handle stays good, and every hard link sees the new content); a
 * symbolic link in the way is replaced by a new file. */
static int commit_one(txn *t, inode *d, inode *r, const ns_entry *e,
		      uint32_t flags, ddt_attr *a)
{
	inode *f;
	int rc;

	rc = ns_child_get(t, d, e->name, &f);
	if (rc == 0 && (flags & DDT_CF_EXCL))
		return ddterr_set(-EEXIST, "cannot create \"%.64s\": the "
				  "name exists", e->name);
	if (rc == 0 && f->type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "cannot commit \"%.64s\": a "
				  "directory has that name", e->name);
	if (rc == 0 && f->type == DDT_T_FILE) {
		rc = ns_lock_inode(t, f);
		if (rc < 0)
			return rc;
		r->bytes = r->bytes - f->size + e->size;
		r->state = DIRTY;
		/* New content under an old name is a write to the file, not
		 * a change of d's entries: as in POSIX, d's times stay. */
		set_content(t, f, e);
		ns_to_attr(f, a);
		return 0;
	}
	if (rc == 0) {
		ns_unlink_entry(t, d, e->name, f);
		rc = ns_drop_link(t, f);
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = ns_txn_new(t, DDT_T_FILE, d->su, &f);
	if (rc < 0)
		return rc;
	set_content(t, f, e);
	ns_link_entry(t, d, e->name, f);
	r->files++;
	r->bytes += e->size;
	r->state = DIRTY;
	ns_to_attr(f, a);
	return 0;
}

typedef struct cm_args {
	uint64_t dir;
	const ns_entry *e;
	size_t count;
	uint32_t flags;
	ddt_attr *out;
} cm_args;

/* -EDQUOT if the commit took unit root r from `before` bytes over its
 * quota. A commit that shrinks a unit already over (its quota was lowered)
 * passes: it brings the unit closer. */
static int quota_check(txn *t, const inode *r, uint64_t before, size_t count)
{
	char su[DDT_MAX_NAME + 1], q[FMT_LEN], u[FMT_LEN], a[FMT_LEN];

	if (!r->quota || r->bytes <= r->quota || r->bytes <= before)
		return 0;
	ns_su_name(t->n, r->ino, su, sizeof(su));
	return ddterr_set(-EDQUOT, "storage unit %s: quota of %s would be "
			  "exceeded (%s used, %s %s)", su,
			  fmt_bytes(r->quota, q), fmt_bytes(before, u),
			  count == 1 ? "this file adds" : "these files add",
			  fmt_bytes(r->bytes - before, a));
}

static int do_commit(txn *t, void *arg)
{
	cm_args *c = arg;
	inode *d, *r;
	ddt_attr scratch;
	uint64_t before = 0;
	int rc;

	rc = ns_txn_get_dir(t, c->dir, &d);
	if (rc == 0)
		rc = ns_txn_get_dir(t, d->su, &r);
	if (rc == 0)
		rc = ns_lock_dir(t, d);
	if (rc == 0)
		before = r->bytes;
	for (size_t i = 0; rc == 0 && i < c->count; i++)
		rc = commit_one(t, d, r, &c->e[i], c->flags,
				c->out ? &c->out[i] : &scratch);
	/* The transaction is dropped on failure: nothing is committed. */
	return rc == 0 ? quota_check(t, r, before, c->count) : rc;
}

int ns_commit(ns *n, uint64_t dir, const ns_entry *e, size_t count,
	      uint32_t flags, ddt_attr *out)
{
	cm_args c = { .dir = dir, .e = e, .count = count, .flags = flags,
		      .out = out };
	int rc = check_entries(e, count);

	return rc ? rc : ns_update(n, do_commit, &c, flags & DDT_CF_SYNC);
}

typedef struct sc_args {
	const ddt_content *k;
	ddt_attr a;
} sc_args;

/* SET_CONTENT: the file found by inode, whatever its names, so a file
 * renamed or linked under an open gateway handle still gets its writes.
 * Its unit's counters and quota as a commit keeps them. */
static int do_set_content(txn *t, void *arg)
{
	sc_args *s = arg;
	const ddt_content *k = s->k;
	uint64_t before;
	inode *f, *r;
	int rc;

	rc = ns_txn_get(t, k->ino, &f);
	if (rc < 0)
		return rc;
	if (f->type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "inode %llu is a directory, not a "
				  "file", (unsigned long long)k->ino);
	if (f->type != DDT_T_FILE)
		return ddterr_set(-EINVAL, "inode %llu is a symbolic link, not "
				  "a file", (unsigned long long)k->ino);
	rc = ns_lock_inode(t, f);
	if (rc == 0)
		rc = ns_txn_get_dir(t, f->su, &r);
	if (rc < 0)
		return rc;
	before = r->bytes;
	r->bytes = r->bytes - f->size + k->size;
	r->state = DIRTY;
	f->size = k->size;
	f->level = k->level;
	f->root = k->root;
	f->mtime = k->mtime ? k->mtime : t->now;
	ns_touch(t, f);
	ns_to_attr(f, &s->a);
	return quota_check(t, r, before, 1);
}

int ns_set_content(ns *n, const ddt_content *k, ddt_attr *out)
{
	sc_args s = { .k = k };
	int rc = ns_update(n, do_set_content, &s, k->flags & DDT_CF_SYNC);

	if (rc == 0 && out)
		*out = s.a;
	return rc;
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
	int rc = ns_read_inode(f->n, ino, &in);

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

	rc = ns_read_inode(n, ino, &in);
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

		ns_ino_key(prefix, 'D', f.stack[--f.depth]);
		rc = idx_kv_scan(n->ix, IDX_NS, prefix, sizeof(prefix), NULL,
				 0, fr_cb, &f);
		if (f.err)
			rc = f.err;
	}
	free(f.stack);
	return rc;
}
