/* ns.h - the namespace: storage units, and in each a POSIX-like tree of
 * directories, files, symbolic links and hard links, plus backups (marked
 * directories at a storage unit's root). It lives in the store's RocksDB
 * (idx.h's IDX_NS space), so the same checkpoint holds it and the segment
 * index. Inode numbers are global to the target.
 *
 * Files are never written in place: ns_commit() binds a name to a whole,
 * already stored tree of segments (root, level, size), so a file appears
 * complete or not at all. What lies behind a root is the caller's to check
 * (the session layer walks the tree before it commits).
 *
 * All calls are thread-safe: updates take one mutex (they are small) and
 * each is one atomic RocksDB batch, but for the recursive deletes, which
 * leave a sound tree after every batch. Reads take no lock: each record
 * they read is as some whole update left it (a lookup racing an unlink
 * may find the name, then no inode: -ENOENT). Callbacks run outside the
 * lock, so they may call back into the namespace. Calls return 0 or a
 * negative errno that maps to the protocol's codes (wire.h), with a ddterr
 * message. Moving or linking between storage units is -EINVAL: a unit's figures
 * would otherwise have to follow whole subtrees.
 *
 * Retention. Every backup has an expiry (0: never), set when it begins
 * (from the unit's default retention unless given) and changed with
 * ns_backup_set_expiry(); ns_expire() removes the backups past theirs.
 *
 * Retention lock (compliance mode) is a unit setting that can be turned on
 * and never off. In a locked unit a backup is locked while it is complete
 * and its expiry is in the future (or never comes): then, for every caller,
 * it cannot be deleted, its expiry cannot be brought forward, and nothing
 * inside it can change (unlink, rmdir, rename into, out of or within,
 * setattr, mkdir, symlink, link into, commit) - each is -EPERM with a
 * message naming the backup and its date. The lock goes by the real clock
 * (CLOCK_REALTIME), whatever `now` a caller passes. An incomplete backup
 * is not locked: an interrupted one may be removed. Because hard links may
 * join backups made before the lock, a file with several names cannot
 * change in a locked unit, nor can one stored by format 1 (which did not
 * record where a file lives); their names can still be removed where no
 * lock holds them. In a locked unit a hard link or a rename may not make a
 * file's names span two backups.
 *
 * A complete backup is immutable, locked or not: nothing under it can
 * change (every change above is -EROFS naming it, a locked one's -EPERM
 * taking precedence); only ns_backup_delete() and ns_expire() remove it,
 * whole. So that no change reaches into one through another name, a
 * file's names may not span a backup and another place (a link or rename
 * that would is -EINVAL), in every unit.
 *
 * Quota: a commit that would take a unit's logical bytes over its quota
 * (and adds bytes) is -EDQUOT, and nothing of it is committed. */
#ifndef NS_H
#define NS_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"
#include "ddtc_types.h"

typedef struct ns ns;

/* The namespace in index ix, which its owner opened (store.h) and closes
 * after ns_close. */
int ns_open(ns **out, idx *ix);
void ns_close(ns *n);

/* Make every earlier change durable. */
int ns_sync(ns *n);

/* ---- storage units ---- */

/* A storage unit as SU_LIST reports it: the protocol's record. */
typedef ddt_su ns_su;

/* -EEXIST, -ENAMETOOLONG / -EINVAL for a bad name. A unit of the system
 * domain; ns_su_create_in: of domain (ddt_domain_ok()). */
int ns_su_create(ns *n, const char *name, ns_su *out);
int ns_su_create_in(ns *n, const char *name, const char *domain,
		    ns_su *out);
/* The domain owning the unit whose root is root, into out
 * (DDT_MAX_DOMAIN + 1 bytes): DDT_DOMAIN_SYSTEM if it names none. */
int ns_su_domain(ns *n, uint64_t root, char *out);
int ns_su_get(ns *n, const char *name, ns_su *out);	/* -ENOENT */
typedef int (*ns_su_cb)(void *arg, const ns_su *su);
int ns_su_list(ns *n, ns_su_cb cb, void *arg);
/* The logical bytes the unit whose root is root holds, and its quota (0
 * none). */
int ns_su_usage(ns *n, uint64_t root, uint64_t *out_bytes,
		uint64_t *out_quota);
/* How many backups the unit whose root is root holds. */
int ns_su_backups(ns *n, uint64_t root, uint64_t *out);
/* -ENOTEMPTY unless empty or recursive; -EPERM while it holds a locked
 * backup. Synced. */
int ns_su_delete(ns *n, const char *name, int recursive);
/* Change the settings that mask (DDT_SU_SET_* bits) names, all or none;
 * synced; out (may be NULL) gets the unit after. The lock: 1 turns it on
 * (it needs a retention > 0, and every backup of the unit to have an
 * expiry: -EINVAL naming the first that has none); 0 is -EPERM once it
 * is on. A locked unit's retention can grow, not shrink (-EPERM). */
int ns_su_set(ns *n, const char *name, uint32_t mask, uint64_t retention,
	      int lock, uint64_t quota, ns_su *out);

/* ---- the tree ----
 * Times as POSIX keeps them (PROTOCOL.md, Namespace): a directory's mtime
 * and ctime become the transaction's clock whenever an entry of it is
 * added, removed or renamed, so an mtime given to ns_mkdir() or
 * ns_setattr() holds until the next such change; every change of an inode
 * sets its ctime. */

int ns_getattr(ns *n, uint64_t ino, ddt_attr *out);
/* ns_getattr() and ns_unit_of() in one read of the inode. */
int ns_getattr_unit(ns *n, uint64_t ino, ddt_attr *out, uint64_t *out_unit);
/* The root inode of the storage unit holding ino (a root: itself). */
int ns_unit_of(ns *n, uint64_t ino, uint64_t *out_root);
int ns_lookup(ns *n, uint64_t dir, const char *name, ddt_attr *out);
int ns_mkdir(ns *n, uint64_t dir, const char *name, uint32_t mode,
	     uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out);
int ns_symlink(ns *n, uint64_t dir, const char *name, const char *target,
	       uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out);
/* target into buf (cap bytes, NUL-terminated); -ENAMETOOLONG if short. */
int ns_readlink(ns *n, uint64_t ino, char *buf, size_t cap);
int ns_link(ns *n, uint64_t ino, uint64_t dir, const char *name,
	    ddt_attr *out);
/* Files and symlinks; -EISDIR for a directory. */
int ns_unlink(ns *n, uint64_t dir, const char *name);
/* Empty directories; -ENOTEMPTY, -ENOTDIR. */
int ns_rmdir(ns *n, uint64_t dir, const char *name);
/* Replaces an existing file or empty directory of a compatible type. */
int ns_rename(ns *n, uint64_t sdir, const char *sname, uint64_t ddir,
	      const char *dname);
/* mask: DDT_SA_* bits saying which of v's fields apply. */
int ns_setattr(ns *n, uint64_t ino, uint32_t mask, const ddt_attr *v,
	       ddt_attr *out);

/* Entries of dir with names after `after` (byte order; "" from the
 * start), at most max; *out_eof set when none remain after those given. */
typedef int (*ns_dirent_cb)(void *arg, const char *name, const ddt_attr *a);
int ns_readdir(ns *n, uint64_t dir, const char *after, uint32_t max,
	       ns_dirent_cb cb, void *arg, int *out_eof);

/* ---- file content ---- */

/* A file to bind: the protocol's COMMIT entry. */
typedef ddt_entry ns_entry;

/* Create or replace files e[0..count) in dir, all or none; out[i] (out may
 * be NULL) gets each one's attributes. Replacing a directory is -EISDIR, a
 * name given twice -EINVAL. A replaced file keeps its inode number (and
 * every hard link sees the new content); a replaced symlink gives way to
 * a new inode. flags: DDT_CF_SYNC, durable before returning; DDT_CF_EXCL,
 * a name that exists (of any type) is -EEXIST. Keeps the storage unit's
 * file and byte counts (a file counts once, however many links). */
int ns_commit(ns *n, uint64_t dir, const ns_entry *e, size_t count,
	      uint32_t flags, ddt_attr *out);

/* New content (k's size, level, root) for regular file k->ino, with
 * k->mtime (0: now); its mode, owners, atime and names stay. -ENOENT for
 * no such inode, -EISDIR for a directory, -EINVAL for a symlink; -EPERM
 * under retention lock and -EDQUOT over quota, as ns_commit(). Synced
 * with DDT_CF_SYNC in k->flags. */
int ns_set_content(ns *n, const ddt_content *k, ddt_attr *out);

/* Every file root under ino (a file: itself; a directory: recursively),
 * for cleaning and for verifying a backup; a file with several names in
 * the tree is reported once per name. Runs without the lock: a tree that
 * changes meanwhile is seen one directory at a time, so a cleaner must
 * also keep what is committed while it walks. */
typedef int (*ns_root_cb)(void *arg, const fp_t *root, uint8_t level,
			  uint64_t size);
int ns_foreach_root(ns *n, uint64_t ino, ns_root_cb cb, void *arg);

/* Every file's root in the whole namespace, once per inode however many
 * names it has, as of one instant: a single RocksDB iterator reads a
 * consistent snapshot, so a file renamed or committed meanwhile is seen
 * exactly as it was (or not at all, if newer). What the cleaner marks. */
int ns_foreach_file(ns *n, ns_root_cb cb, void *arg);

/* ---- backups ---- */

/* A backup as BACKUP_LIST reports it: the protocol's record. */
typedef ddt_backup ns_backup;

/* A new backup directory at the root of storage unit su, flagged backup
 * and incomplete; id from name and now (ns). -EEXIST if one of that
 * second exists. retain: seconds it is kept from now, DDT_RETAIN_DEFAULT
 * (0) for the unit's default retention, DDT_RETAIN_NEVER (-1) for no
 * expiry. In a locked unit, less than the unit's retention is -EPERM. */
int ns_backup_begin(ns *n, const char *su, const char *name, int64_t now,
		    int64_t retain, ns_backup *out, ddt_attr *out_attr);
/* Set backup id's expiry (ns since the epoch; 0: never, the latest of all).
 * Lengthening always works; bringing a locked backup's expiry forward is
 * -EPERM, and so is setting an incomplete one's in a locked unit below
 * its creation plus the unit's retention. */
int ns_backup_set_expiry(ns *n, const char *su, const char *id,
			 int64_t expires);
/* Clear the incomplete flag, record the totals; synced. files and bytes
 * must be what the backup holds: its regular files, each name counted,
 * and the sum of their sizes (a walk of the backup); else -EINVAL naming
 * both figures, and nothing changes. */
int ns_backup_end(ns *n, uint64_t ino, uint64_t files, uint64_t bytes,
		  ddt_attr *out);
typedef int (*ns_backup_cb)(void *arg, const ns_backup *b);
int ns_backup_list(ns *n, const char *su, ns_backup_cb cb, void *arg);
/* Remove a backup and everything under it; synced, so that what the
 * cleaner then reclaims cannot reappear after a crash. -EPERM if locked. */
int ns_backup_delete(ns *n, const char *su, const char *id);

/* Remove the backups of unit su (NULL: of every unit) whose expiry is at
 * or before now (ns): the complete ones, and the incomplete ones a day
 * past it (they may still be running before that). Each removal is synced
 * like ns_backup_delete() and re-checked under the lock, so a backup whose
 * expiry was just extended stays; a backup still locked by the real clock
 * stays whatever now says. cb (may be NULL) hears of each removal after
 * it, outside the lock; dry_run: only hear of them. A cb that returns
 * non-zero stops the run, and that value is returned (> 0: not an error).
 * Safe to call from any thread, at any time, next to any other call. */
typedef int (*ns_expire_cb)(void *arg, const char *su, const ns_backup *b);
int ns_expire(ns *n, const char *su, int64_t now, int dry_run,
	      ns_expire_cb cb, void *arg);

/* A checkpoint restore's check (store_restore_check_fn, store_ckpt.h):
 * the index at new_index, which would replace the one at cur_index, must
 * hold every backup that the retention lock protects in cur_index now,
 * each expiring no earlier; else -EPERM naming the first that it would
 * remove or shorten. Both indexes are opened here (offline, the store's
 * lock held); no index at cur_index: 0. arg is unused. */
int ns_restore_keeps_locks(void *arg, const char *cur_index,
			   const char *new_index);

/* ---- figures ---- */

typedef struct ns_stats {
	uint64_t storage_units, backups, files, logical_bytes;
} ns_stats;

int ns_get_stats(ns *n, ns_stats *out);

#endif
