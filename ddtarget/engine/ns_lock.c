/* ns_lock.c - the checks that keep finished backups as they were (what
 * ns.h promises about complete and locked backups): which backup an inode
 * lies in, whether that backup is complete (then nothing in it changes,
 * -EROFS) or locked (then not even its removal or an earlier expiry,
 * -EPERM), and the one-line refusal that names it.
 *
 * The checks run inside the updates' transactions: a walk up the changed
 * directory's parents to the backup it lies in, or to the unit's root,
 * through the transaction's cache (the reads a change makes anyway hold
 * most of them). Directories record their parent; a file or symlink
 * records a directory holding one of its names, so its backup is that
 * directory's; and a file's names may not span a backup and another place,
 * so that directory's backup is that of all its names. */
#include "ns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "ddterr.h"
#include "fmt.h"

/* ---- names for messages ---- */

typedef struct find_name {
	uint64_t want;
	size_t skip;		/* key bytes before the name */
	int by_val;		/* the ino is the value's u64 at offset 1 */
	char *buf;
	size_t cap;
	int found;
} find_name;

static int find_name_cb(void *arg, const uint8_t *key, size_t klen,
			const uint8_t *val, size_t vlen)
{
	find_name *f = arg;
	size_t off = f->by_val ? 1 : 0;
	size_t len;

	if (klen <= f->skip || vlen < off + 8 ||
	    get_le64(val + off) != f->want)
		return 0;
	len = klen - f->skip;
	if (len >= f->cap)
		len = f->cap - 1;
	memcpy(f->buf, key + f->skip, len);
	f->buf[len] = '\0';
	f->found = 1;
	return 1;
}

void ns_su_name(ns *n, uint64_t root, char *buf, size_t cap)
{
	find_name f = { .want = root, .skip = 1, .by_val = 1, .buf = buf,
			.cap = cap };

	if (idx_kv_scan(n->ix, IDX_NS, "S", 1, NULL, 0, find_name_cb, &f) < 0 ||
	    !f.found)
		snprintf(buf, cap, "?");
}

void ns_entry_name(ns *n, uint64_t dir, uint64_t ino, char *buf, size_t cap)
{
	find_name f = { .want = ino, .skip = 9, .buf = buf, .cap = cap };
	uint8_t prefix[9];

	ns_ino_key(prefix, 'D', dir);
	if (idx_kv_scan(n->ix, IDX_NS, prefix, sizeof(prefix), NULL, 0,
			find_name_cb, &f) < 0 || !f.found)
		snprintf(buf, cap, "?");
}

/* ---- the lock ---- */

int ns_backup_locked(int64_t now, const inode *r, const inode *b)
{
	return (r->su_flags & SU_LOCKED) && (b->flags & DDT_AF_BACKUP) &&
	       !(b->flags & DDT_AF_INCOMPLETE) &&
	       (b->expires == 0 || b->expires > now);
}

int ns_lock_refuse(txn *t, const inode *r, const inode *b, const char *what)
{
	char su[DDT_MAX_NAME + 1], id[DDT_MAX_NAME + 1], utc[FMT_LEN], date[64];

	ns_su_name(t->n, r->ino, su, sizeof(su));
	ns_entry_name(t->n, r->ino, b->ino, id, sizeof(id));
	if (b->expires == 0)
		snprintf(date, sizeof(date), "for ever (it never expires)");
	else
		snprintf(date, sizeof(date), "until %s",
			 fmt_utc(b->expires, utc));
	return ddterr_set(-EPERM, "retention lock: backup %s of storage unit "
			  "%s is locked %s%s%s", id, su, date,
			  what ? ": " : "", what ? what : "");
}

/* -EROFS for complete backup b of unit root r, with the message. */
static int frozen_refuse(txn *t, const inode *r, const inode *b)
{
	char su[DDT_MAX_NAME + 1], id[DDT_MAX_NAME + 1];

	ns_su_name(t->n, r->ino, su, sizeof(su));
	ns_entry_name(t->n, r->ino, b->ino, id, sizeof(id));
	return ddterr_set(-EROFS, "backup %s of storage unit %s is complete: "
			  "nothing in it can change (only the whole backup "
			  "can be removed)", id, su);
}

int ns_backup_of(txn *t, inode *d, uint64_t *out)
{
	for (int i = 0; i < MAX_DEPTH; i++) {
		int rc;

		if (d->type == DDT_T_DIR && (d->flags & DDT_AF_BACKUP)) {
			*out = d->ino;
			return 0;
		}
		if (!d->parent) {
			*out = 0;
			return 0;
		}
		rc = ns_txn_get_dir(t, d->parent, &d);
		if (rc < 0)
			return rc;
	}
	return ddterr_set(-EBADMSG, "namespace: the parents of directory "
			  "%llu loop", (unsigned long long)d->ino);
}

/* The unit root of in, and whether it is locked. */
static int unit_of(txn *t, const inode *in, inode **r)
{
	return ns_txn_get_dir(t, in->su, r);
}

int ns_lock_dir(txn *t, inode *d)
{
	uint64_t bino;
	inode *r, *b;
	int rc;

	rc = ns_backup_of(t, d, &bino);
	if (rc < 0 || !bino)
		return rc;
	rc = ns_txn_get_dir(t, bino, &b);
	if (rc < 0 || (b->flags & DDT_AF_INCOMPLETE))
		return rc;
	rc = unit_of(t, d, &r);
	if (rc < 0)
		return rc;
	return ns_backup_locked(t->now, r, b) ? ns_lock_refuse(t, r, b, NULL)
					       : frozen_refuse(t, r, b);
}

/* A file whose names may lie in a locked backup we cannot name: frozen
 * while its unit is locked (ns.h says why). */
static int unplaced(txn *t, const inode *r, const inode *in)
{
	char su[DDT_MAX_NAME + 1];

	ns_su_name(t->n, r->ino, su, sizeof(su));
	if (in->nlink > 1)
		return ddterr_set(-EPERM, "retention lock: inode %llu has %u "
				  "names, which may lie in locked backups of "
				  "storage unit %s: it cannot change while the "
				  "unit is locked", (unsigned long long)in->ino,
				  in->nlink, su);
	return ddterr_set(-EPERM, "retention lock: storage unit %s is locked "
			  "and inode %llu cannot be placed in a backup (an "
			  "older version stored it, or the name it was known "
			  "by was removed): it cannot change", su,
			  (unsigned long long)in->ino);
}

int ns_lock_inode(txn *t, inode *in)
{
	inode *r, *d;
	int rc;

	if (in->type == DDT_T_DIR)
		return ns_lock_dir(t, in);
	rc = unit_of(t, in, &r);
	if (rc < 0)
		return rc;
	if ((r->su_flags & SU_LOCKED) && (in->nlink > 1 || !in->parent))
		return unplaced(t, r, in);
	if (!in->parent)	/* stored before files knew their place */
		return 0;
	rc = ns_txn_get_dir(t, in->parent, &d);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = ddterr_set(-EBADMSG, "namespace: inode %llu names missing "
				"directory %llu", (unsigned long long)in->ino,
				(unsigned long long)in->parent);
	return rc < 0 ? rc : ns_lock_dir(t, d);
}

/* A new name of c in d (a hard link, or a rename of one of several names)
 * must lie in the backup c lies in, or outside backups if c does: else
 * c's names would span two places, and a change through one name would
 * reach into a backup once it is complete (or locked). c has passed
 * ns_lock_inode(), so its directory is known (or, unlocked, unknown: an
 * old file, left as it was). */
int ns_lock_span(txn *t, inode *c, inode *d)
{
	uint64_t bc, bd;
	char su[DDT_MAX_NAME + 1];
	inode *r, *cd;
	int rc;

	rc = unit_of(t, d, &r);
	if (rc < 0 || c->type == DDT_T_DIR || !c->parent)
		return rc;
	rc = ns_txn_get_dir(t, c->parent, &cd);
	if (rc == 0)
		rc = ns_backup_of(t, cd, &bc);
	if (rc == 0)
		rc = ns_backup_of(t, d, &bd);
	if (rc < 0 || bc == bd)
		return rc;
	ns_su_name(t->n, r->ino, su, sizeof(su));
	if (!(r->su_flags & SU_LOCKED))
		return ddterr_set(-EINVAL, "storage unit %s: a file's names may "
				  "not span a backup and another place (inode "
				  "%llu into directory %llu)", su,
				  (unsigned long long)c->ino,
				  (unsigned long long)d->ino);
	return ddterr_set(-EPERM, "retention lock: storage unit %s is locked, "
			  "and a file's names may not span two backups (inode "
			  "%llu into directory %llu)", su,
			  (unsigned long long)c->ino,
			  (unsigned long long)d->ino);
}
