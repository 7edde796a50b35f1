/* ns_su.c - the namespace's storage units (and their retention, lock and
 * quota settings) and backups (and their expiry), the recursive removal
 * that deletes either, expiry, and the figures summed over all units. */
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
#include "fmt.h"
#include "now.h"

#define NS_PER_S	1000000000LL
/* The longest retention: 200 years from now still fits an int64 of ns. */
#define RETAIN_MAX	(200LL * 366 * 86400)

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

	rc = ns_txn_get_dir(t, dir, &d);
	if (rc == 0)
		rc = ns_child_get(t, d, name, &c);
	if (rc < 0)
		return rc;
	ns_unlink_entry(t, d, name, c);
	return ns_drop_link(t, c);
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

		rc = ns_list_dir(t->n, lv->ino, lv->after, RM_CHUNK, &l);
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
			rc = ns_txn_flush(t, 0);
			ns_txn_forget(t);
		}
	}
	free(l.v);
	free(st);
	return rc;
}

/* ---- storage units ---- */

static void backup_fill(ns_backup *b, const char *id, const inode *in)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->ino = in->ino;
	b->flags = in->flags;
	b->created = in->created;
	b->files = in->files;
	b->bytes = in->bytes;
	b->expires = in->expires;
}

static void su_fill(ns_su *s, const char *name, const inode *r)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->root = r->ino;
	s->files = r->files;
	s->logical_bytes = r->bytes;
	s->created = r->created;
	s->retention = r->retention;
	s->locked = !!(r->su_flags & SU_LOCKED);
	s->quota = r->quota;
}

int ns_su_create(ns *n, const char *name, ns_su *out)
{
	return ns_su_create_in(n, name, DDT_DOMAIN_SYSTEM, out);
}

int ns_su_create_in(ns *n, const char *name, const char *domain,
		    ns_su *out)
{
	uint8_t key[1 + DDT_MAX_NAME], v[9];
	uint64_t root;
	inode *r;
	txn t;
	int rc;

	rc = plain_name_check("storage unit", name, DDT_MAX_NAME);
	if (rc < 0)
		return rc;
	if (!ddt_domain_ok(domain))
		return ddterr_set(-EINVAL, "domain \"%.64s\": 1 to %d letters, "
				  "digits, '.', '_' or '-'", domain,
				  DDT_MAX_DOMAIN);
	pthread_mutex_lock(&n->lock);
	rc = ns_txn_begin(n, &t);
	if (rc < 0)
		goto out;
	rc = su_root(n, name, &root);
	if (rc == 0)
		rc = ddterr_set(-EEXIST, "storage unit \"%s\" exists already",
				name);
	if (rc != -ENOENT)
		goto out;
	rc = ns_txn_new(&t, DDT_T_DIR, 0, &r);
	if (rc < 0)
		goto out;
	r->mode = 0755;
	v[0] = SU_VERSION;
	put_le64(v + 1, r->ino);
	ns_txn_put(&t, key, su_key(key, name), v, sizeof(v));
	ns_domain_put(&t, r->ino, domain);
	rc = ns_txn_flush(&t, 0);
	if (rc == 0 && out)
		su_fill(out, name, r);
out:
	ns_txn_end(&t);
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
		rc = ns_read_dir(n, root, &r);
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
	rc = ns_read_dir(s->owner, get_le64(val + 1), &r);
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

int ns_su_backups(ns *n, uint64_t root, uint64_t *out)
{
	inode r;
	int rc = ns_read_dir(n, root, &r);

	if (rc == 0)
		*out = r.backups;
	return rc;
}

int ns_su_usage(ns *n, uint64_t root, uint64_t *out_bytes,
		uint64_t *out_quota)
{
	inode r;
	int rc = ns_read_dir(n, root, &r);

	if (rc == 0) {
		*out_bytes = r.bytes;
		*out_quota = r.quota;
	}
	return rc;
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

/* The backups at unit root r, read as they are now; *out (malloc'd, count
 * in *got) has DDT_AF_LOCKED set on those locked at now. */
static int root_backups(ns *n, const inode *r, int64_t now, ns_backup **out,
			size_t *got)
{
	ns_backup *v = NULL;
	dlist l = { 0 };
	inode in;
	int rc;

	*got = 0;
	rc = ns_list_dir(n, r->ino, "", SIZE_MAX, &l);
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
		rc = ns_read_inode(n, l.v[i].ino, &in);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			goto out;
		if (!(in.flags & DDT_AF_BACKUP))
			continue;
		backup_fill(&v[*got], l.v[i].name, &in);
		if (ns_backup_locked(now, r, &in))
			v[*got].flags |= DDT_AF_LOCKED;
		(*got)++;
	}
out:
	free(l.v);
	if (rc < 0) {
		free(v);
		v = NULL;
		*got = 0;
	}
	*out = v;
	return rc;
}

/* A locked unit goes only once none of its backups is locked. */
static int no_locked_backup(txn *t, inode *r)
{
	ns_backup *v;
	size_t got, i;
	inode *b;
	int rc;

	if (!(r->su_flags & SU_LOCKED))
		return 0;
	rc = root_backups(t->n, r, t->now, &v, &got);
	for (i = 0; rc == 0 && i < got; i++)
		if (v[i].flags & DDT_AF_LOCKED)
			break;
	if (rc == 0 && i < got) {
		rc = ns_txn_get_dir(t, v[i].ino, &b);
		if (rc == 0)
			rc = ns_lock_refuse(t, r, b, "its storage unit cannot "
					    "be deleted before");
	}
	free(v);
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
	rc = ns_txn_begin(n, &t);
	if (rc == 0)
		rc = su_root(n, name, &root);
	if (rc == 0)
		rc = ns_txn_get_dir(&t, root, &r);
	if (rc < 0)
		goto out;
	if (r->size && !recursive) {
		rc = ddterr_set(-ENOTEMPTY, "storage unit \"%s\" is not empty "
				"(%llu entries); delete it recursively", name,
				(unsigned long long)r->size);
		goto out;
	}
	rc = no_locked_backup(&t, r);
	if (rc == 0)
		rc = rm_contents(&t, root);
	if (rc == 0)
		rc = ns_txn_get(&t, root, &r);
	if (rc < 0)
		goto out;
	r->state = GONE;
	ns_txn_del(&t, key, su_key(key, name));
	ns_domain_del(&t, root);
	rc = ns_txn_flush(&t, 1);
out:
	ns_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

/* ---- storage unit settings ---- */

typedef struct ss_args {
	const char *name;
	uint32_t mask;
	uint64_t retention, quota;
	int lock;
	ns_su out;
} ss_args;

/* Before the lock goes on: every backup must have a date, or it would be
 * locked for ever (an incomplete one, once ended) by an act that did not
 * name it. */
static int all_expire(txn *t, const char *name, const inode *r)
{
	ns_backup *v;
	size_t got, none = 0, first = 0;
	int rc;

	rc = root_backups(t->n, r, t->now, &v, &got);
	for (size_t i = 0; rc == 0 && i < got; i++)
		if (v[i].expires == 0 && none++ == 0)
			first = i;
	if (rc == 0 && none)
		rc = ddterr_set(-EINVAL, "storage unit %s: backup %s%s never "
				"expires, and a retention lock would keep it for "
				"ever: give %s an expiry (ddt retain) or remove "
				"%s first", name, v[first].id,
				none > 1 ? " and others" : "",
				none > 1 ? "each" : "it",
				none > 1 ? "them" : "it");
	free(v);
	return rc;
}

static int do_su_set(txn *t, void *arg)
{
	ss_args *s = arg;
	uint64_t root, retention;
	int locked, lock;
	inode *r;
	int rc;

	rc = su_root(t->n, s->name, &root);
	if (rc == 0)
		rc = ns_txn_get_dir(t, root, &r);
	if (rc < 0)
		return rc;
	locked = !!(r->su_flags & SU_LOCKED);
	retention = s->mask & DDT_SU_SET_RETENTION ? s->retention :
		    r->retention;
	lock = s->mask & DDT_SU_SET_LOCK ? s->lock : locked;
	if (locked && !lock)
		return ddterr_set(-EPERM, "retention lock on storage unit %s "
				  "cannot be turned off: it is in compliance "
				  "mode, for every user", s->name);
	if (locked && retention < r->retention)
		return ddterr_set(-EPERM, "retention lock: storage unit %s's "
				  "retention (%llu s) can grow but not shrink",
				  s->name, (unsigned long long)r->retention);
	if (lock && !locked) {
		if (retention == 0)
			return ddterr_set(-EINVAL, "storage unit %s: a retention "
					  "lock needs a retention (how long "
					  "new backups are kept); set one",
					  s->name);
		rc = all_expire(t, s->name, r);
		if (rc < 0)
			return rc;
	}
	r->retention = retention;
	if (lock)
		r->su_flags |= SU_LOCKED;
	if (s->mask & DDT_SU_SET_QUOTA)
		r->quota = s->quota;
	ns_touch(t, r);
	su_fill(&s->out, s->name, r);
	return 0;
}

int ns_su_set(ns *n, const char *name, uint32_t mask, uint64_t retention,
	      int lock, uint64_t quota, ns_su *out)
{
	const uint32_t all = DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK |
			     DDT_SU_SET_QUOTA;
	ss_args s = { .name = name, .mask = mask, .retention = retention,
		      .quota = quota, .lock = lock };
	int rc;

	if (mask & ~all)
		return ddterr_set(-EINVAL, "storage unit settings: unknown mask "
				  "bits 0x%x", mask & ~all);
	if ((mask & DDT_SU_SET_LOCK) && lock != 0 && lock != 1)
		return ddterr_set(-EINVAL, "retention lock: %d is neither on "
				  "(1) nor off (0)", lock);
	if ((mask & DDT_SU_SET_RETENTION) && retention > RETAIN_MAX)
		return ddterr_set(-EINVAL, "a retention of %llu s is over 200 "
				  "years", (unsigned long long)retention);
	rc = ns_update(n, do_su_set, &s, 1);
	if (rc == 0 && out)
		*out = s.out;
	return rc;
}

/* ---- backups ---- */

typedef struct bb_args {
	const char *su, *name;
	char id[DDT_MAX_NAME + 1];
	int64_t now, retain;
	ns_backup b;
	ddt_attr a;
} bb_args;

/* The expiry of a backup begun at now with retain (ns.h) in unit root r;
 * a locked unit keeps its backups at least its retention. */
static int begin_expiry(const bb_args *b, const inode *r, int64_t *out)
{
	int64_t secs = b->retain == DDT_RETAIN_DEFAULT ?
		       (int64_t)r->retention : b->retain;

	if (secs > 0 && b->now > INT64_MAX - secs * NS_PER_S)
		return ddterr_set(-EINVAL, "backup: %lld s from now is past "
				  "the year 2262", (long long)secs);
	*out = secs == DDT_RETAIN_NEVER || secs == 0 ? 0 :
	       b->now + secs * NS_PER_S;
	if ((r->su_flags & SU_LOCKED) && *out &&
	    secs < (int64_t)r->retention)
		return ddterr_set(-EPERM, "retention lock: storage unit %s "
				  "keeps backups at least %llu s; %lld s is "
				  "shorter", b->su,
				  (unsigned long long)r->retention,
				  (long long)secs);
	return 0;
}

static int do_backup_begin(txn *t, void *arg)
{
	bb_args *b = arg;
	uint64_t root;
	int64_t expires = 0;
	inode *r, *d;
	int rc;

	rc = su_root(t->n, b->su, &root);
	if (rc == 0)
		rc = ns_txn_get_dir(t, root, &r);
	if (rc == 0)
		rc = begin_expiry(b, r, &expires);
	if (rc == 0) {
		rc = ns_dent_absent(t->n, root, b->id);
		if (rc == -EEXIST)
			rc = ddterr_set(-EEXIST, "backup %s exists already: "
					"one per name and second", b->id);
	}
	if (rc == 0)
		rc = ns_txn_new(t, DDT_T_DIR, root, &d);
	if (rc < 0)
		return rc;
	d->mode = 0755;
	d->flags = DDT_AF_BACKUP | DDT_AF_INCOMPLETE;
	d->atime = d->mtime = d->created = b->now;
	d->expires = expires;
	ns_link_entry(t, r, b->id, d);
	r->backups++;
	backup_fill(&b->b, b->id, d);
	ns_to_attr(d, &b->a);
	return 0;
}

int ns_backup_begin(ns *n, const char *su, const char *name, int64_t now,
		    int64_t retain, ns_backup *out, ddt_attr *out_attr)
{
	bb_args b = { .su = su, .name = name, .now = now, .retain = retain };
	time_t sec = (time_t)(now / NS_PER_S);
	char stamp[FMT_LEN];
	struct tm tm;
	int rc;

	rc = plain_name_check("backup", name, DDT_MAX_BACKUP_NAME);
	if (rc < 0)
		return rc;
	if (now < 0 || !gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return ddterr_set(-EINVAL, "backup: time %lld out of range",
				  (long long)now);
	if (retain < DDT_RETAIN_NEVER || retain > RETAIN_MAX ||
	    (retain > 0 && now > INT64_MAX - retain * NS_PER_S))
		return ddterr_set(-EINVAL, "backup: a retention of %lld s is "
				  "out of range (-1 never, 0 the unit's, at "
				  "most 200 years)", (long long)retain);
	snprintf(b.id, sizeof(b.id), "%s@%s", name, fmt_utc_stamp(now, stamp));
	rc = ns_update(n, do_backup_begin, &b, 0);
	if (rc == 0 && out)
		*out = b.b;
	if (rc == 0 && out_attr)
		*out_attr = b.a;
	return rc;
}

typedef struct be_args {
	uint64_t ino, files, bytes;
	uint64_t held_files, held_bytes;	/* what the backup holds */
	ddt_attr a;
} be_args;

/* ns_foreach_root() reports each name of a regular file once. */
static int count_file(void *arg, const fp_t *root, uint8_t level,
		      uint64_t size)
{
	be_args *b = arg;

	(void)root;
	(void)level;
	b->held_files++;
	b->held_bytes += size;
	return 0;
}

/* The client's totals must be what the backup holds: a client that lost
 * files on the way (a failed COMMIT it did not notice) learns it here,
 * while the backup is still incomplete and can be redone. */
static int totals_match(txn *t, const inode *d, const be_args *b)
{
	char id[DDT_MAX_NAME + 1];

	if (b->files == b->held_files && b->bytes == b->held_bytes)
		return 0;
	ns_entry_name(t->n, d->su, d->ino, id, sizeof(id));
	return ddterr_set(-EINVAL, "backup %s: the client counted %llu files "
			  "of %llu bytes, the backup holds %llu files of %llu "
			  "bytes; it is left %s", id,
			  (unsigned long long)b->files,
			  (unsigned long long)b->bytes,
			  (unsigned long long)b->held_files,
			  (unsigned long long)b->held_bytes,
			  (d->flags & DDT_AF_INCOMPLETE) ? "incomplete"
							 : "as it was");
}

static int do_backup_end(txn *t, void *arg)
{
	be_args *b = arg;
	inode *d, *r;
	int rc;

	rc = ns_txn_get(t, b->ino, &d);
	if (rc < 0)
		return rc;
	if (d->type != DDT_T_DIR || !(d->flags & DDT_AF_BACKUP))
		return ddterr_set(-EINVAL, "inode %llu is not a backup",
				  (unsigned long long)b->ino);
	rc = ns_txn_get_dir(t, d->su, &r);
	if (rc < 0)
		return rc;
	/* Ending twice only records the totals again: a client whose reply
	 * was lost may retry. A locked backup's totals stay as they are. */
	if (ns_backup_locked(t->now, r, d) &&
	    (d->files != b->files || d->bytes != b->bytes))
		return ns_lock_refuse(t, r, d, "its totals cannot change");
	if (!(d->flags & DDT_AF_INCOMPLETE) &&
	    (d->files != b->files || d->bytes != b->bytes))
		return ns_lock_dir(t, d);	/* complete: -EROFS */
	rc = totals_match(t, d, b);
	if (rc < 0)
		return rc;
	d->flags &= ~DDT_AF_INCOMPLETE;
	d->files = b->files;
	d->bytes = b->bytes;
	ns_touch(t, d);
	ns_to_attr(d, &b->a);
	return 0;
}

/* The count is a walk of the backup, outside the lock (ns_foreach_root):
 * 0.2-0.3 s for 100,000 files (2-3 us a file; the namespace keeps counts
 * per storage unit, not per backup), once per backup. A client racing its
 * own BACKUP_END with commits into the backup gets what the walk saw. */
int ns_backup_end(ns *n, uint64_t ino, uint64_t files, uint64_t bytes,
		  ddt_attr *out)
{
	be_args b = { .ino = ino, .files = files, .bytes = bytes };
	int rc = ns_foreach_root(n, ino, count_file, &b);

	if (rc == 0)
		rc = ns_update(n, do_backup_end, &b, 1);
	if (rc == 0 && out)
		*out = b.a;
	return rc;
}

int ns_backup_list(ns *n, const char *su, ns_backup_cb cb, void *arg)
{
	ns_backup *v = NULL;
	size_t got = 0;
	uint64_t root;
	inode r;
	int rc;

	rc = su_root(n, su, &root);
	if (rc == 0)
		rc = ns_read_dir(n, root, &r);
	if (rc == 0)
		rc = root_backups(n, &r, now_ns(), &v, &got);
	for (size_t i = 0; i < got && rc == 0; i++)
		rc = cb(arg, &v[i]);
	free(v);
	return rc;
}

/* Backup id of unit su, in transaction t: its unit's root and itself. */
static int backup_get(txn *t, const char *su, const char *id, inode **r,
		      inode **b)
{
	uint64_t root;
	int rc;

	rc = su_root(t->n, su, &root);
	if (rc == 0)
		rc = ns_txn_get_dir(t, root, r);
	if (rc == 0)
		rc = ns_child_get(t, *r, id, b);
	if (rc == -ENOENT)
		rc = ddterr_set(-ENOENT, "no backup %s in storage unit %s",
				id, su);
	if (rc == 0 && ((*b)->type != DDT_T_DIR ||
			!((*b)->flags & DDT_AF_BACKUP)))
		rc = ddterr_set(-EINVAL, "\"%.64s\" in storage unit %s is not "
				"a backup", id, su);
	return rc;
}

/* Whether backup b has expired by now (ns.h: incomplete ones a day on). */
static int expired(const ns_backup *b, int64_t now)
{
	int64_t grace = b->flags & DDT_AF_INCOMPLETE ?
			EXPIRE_INCOMPLETE_GRACE : 0;

	return b->expires != 0 && b->expires <= now - grace &&
	       !(b->flags & DDT_AF_LOCKED);
}

/* Remove backup id of su, synced: the cleaner may reclaim the segments as
 * soon as this returns, so the names must not come back after a crash.
 * expire_at: only if it has expired by *expire_at (else 1, nothing done);
 * NULL: unless locked. */
static int backup_remove(ns *n, const char *su, const char *id,
			 const int64_t *expire_at)
{
	ns_backup now_b;
	uint64_t root;
	inode *r, *b;
	txn t;
	int rc;

	rc = ns_name_check_find(id);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&n->lock);
	rc = ns_txn_begin(n, &t);
	if (rc == 0)
		rc = backup_get(&t, su, id, &r, &b);
	if (rc < 0)
		goto out;
	if (expire_at) {
		backup_fill(&now_b, id, b);
		if (ns_backup_locked(t.now, r, b))
			now_b.flags |= DDT_AF_LOCKED;
		if (!expired(&now_b, *expire_at)) {
			rc = 1;
			goto out;
		}
	} else if (ns_backup_locked(t.now, r, b)) {
		rc = ns_lock_refuse(&t, r, b, "it cannot be removed before");
		goto out;
	}
	/* rm_contents() may flush and forget the cached inodes: r, b too. */
	root = r->ino;
	rc = rm_contents(&t, b->ino);
	if (rc == 0)
		rc = remove_entry(&t, root, id);
	if (rc == 0)
		rc = ns_txn_flush(&t, 1);
out:
	ns_txn_end(&t);
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int ns_backup_delete(ns *n, const char *su, const char *id)
{
	return backup_remove(n, su, id, NULL);
}

typedef struct bs_args {
	const char *su, *id;
	int64_t expires;
} bs_args;

/* Whether expiry a comes before b (0 is never: after everything). */
static int sooner(int64_t a, int64_t b)
{
	return a != 0 && (b == 0 || a < b);
}

static int do_backup_set(txn *t, void *arg)
{
	bs_args *s = arg;
	inode *r, *b;
	int64_t least;
	int rc;

	rc = backup_get(t, s->su, s->id, &r, &b);
	if (rc < 0)
		return rc;
	if (ns_backup_locked(t->now, r, b) && sooner(s->expires, b->expires))
		return ns_lock_refuse(t, r, b, "its expiry can be extended, "
				      "not brought forward");
	least = b->created + (int64_t)r->retention * NS_PER_S;
	if ((r->su_flags & SU_LOCKED) && (b->flags & DDT_AF_INCOMPLETE) &&
	    sooner(s->expires, least))
		return ddterr_set(-EPERM, "retention lock: storage unit %s "
				  "keeps backups at least %llu s from their "
				  "start", s->su,
				  (unsigned long long)r->retention);
	b->expires = s->expires;
	b->state = DIRTY;
	return 0;
}

int ns_backup_set_expiry(ns *n, const char *su, const char *id,
			 int64_t expires)
{
	bs_args s = { .su = su, .id = id, .expires = expires };
	int rc = ns_name_check_find(id);

	if (rc == 0 && expires < 0)
		rc = ddterr_set(-EINVAL, "backup %s: expiry %lld is before "
				"1970", id, (long long)expires);
	return rc ? rc : ns_update(n, do_backup_set, &s, 1);
}

/* ---- expiry ---- */

/* The expired backups of one unit, each removed (unless dry_run) and told.
 * named: the caller named su (else a unit deleted meanwhile is skipped). */
static int expire_su(ns *n, const char *su, int named, int64_t now,
		     int dry_run, ns_expire_cb cb, void *arg)
{
	ns_backup *v = NULL;
	size_t got = 0;
	uint64_t root;
	inode r;
	int rc;

	rc = su_root(n, su, &root);
	if (rc == 0)
		rc = ns_read_dir(n, root, &r);
	if (rc == -ENOENT && !named)	/* deleted meanwhile */
		return 0;
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no storage unit \"%s\"", su);
	if (rc == 0)
		rc = root_backups(n, &r, now_ns(), &v, &got);
	for (size_t i = 0; rc == 0 && i < got; i++) {
		if (!expired(&v[i], now))
			continue;
		if (!dry_run) {
			rc = backup_remove(n, su, v[i].id, &now);
			if (rc == -ENOENT || rc == 1) {	/* gone, or kept */
				rc = 0;
				continue;
			}
		}
		if (rc == 0 && cb)
			rc = cb(arg, su, &v[i]);
	}
	free(v);
	return rc;
}

int ns_expire(ns *n, const char *su, int64_t now, int dry_run,
	      ns_expire_cb cb, void *arg)
{
	su_vec s;
	int rc;

	if (su)
		return expire_su(n, su, 1, now, dry_run, cb, arg);
	rc = su_collect(n, &s);
	for (size_t i = 0; rc == 0 && i < s.n; i++)
		rc = expire_su(n, s.v[i].name, 0, now, dry_run, cb, arg);
	free(s.v);
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
