/* ns_int.h - the namespace's private half: the record layout, struct ns, the
 * transaction and listing types, and the helpers that ns.c (records and
 * transactions), ns_tree.c (the tree) and ns_su.c (units, backups) share.
 *
 * Keys (IDX_NS; numbers in keys big-endian so they sort, values little-endian):
 *   'I' ino                -> inode record (below)
 *   'D' dir name           -> child ino u64, type u8
 *   'L' ino                -> a symbolic link's target
 *   'S' name               -> version u8, root ino u64 (a storage unit)
 *   'O' root ino           -> its domain's name, unless the system's
 *   'M' "next_ino"         -> u64; 'M' "format" -> u32
 * A storage unit's usage (files, bytes, backups), creation time and
 * settings (default retention, retention lock, quota) live in its root
 * directory's record, and every inode records its unit's root, so a commit
 * anywhere finds the counters and the quota with one read. A backup's
 * expiry lives in its directory's record. Inode 1 is reserved: there is no
 * global root.
 *
 * Record versions: format 1 (INO_VERSION 1) had no expiry, settings or file
 * parents; its directory records are INO_DIR_V1_LEN bytes and decode with
 * those fields 0 (never expires, no lock, no quota, parent unknown). Format
 * 2 writes every record at version 2; a store is marked format 2 when this
 * build first opens it, so an older build then refuses it cleanly. */
#ifndef NS_INT_H
#define NS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ns.h"

#define NS_FORMAT	2
#define NS_FORMAT_V1	1		/* read, and upgraded on open */
#define INO_VERSION	2
#define INO_VERSION_V1	1
#define SU_VERSION	1
#define FIRST_INO	2
#define INO_HEAD	70		/* the part common to all types */
#define INO_FILE_LEN	(INO_HEAD + 1 + FP_LEN)
#define INO_DIR_V1_LEN	(INO_HEAD + 32)
#define INO_DIR_LEN	(INO_DIR_V1_LEN + 28)	/* + expires, retention,
						   quota, su_flags */
#define INO_MAX_LEN	INO_DIR_LEN	/* the longest of them */
#define SU_LOCKED	1u		/* su_flags: retention lock is on */
/* An incomplete backup past its expiry is left this long to finish before
 * ns_expire() takes it: it may still be running. */
#define EXPIRE_INCOMPLETE_GRACE	(86400LL * 1000000000LL)
#define DENT_LEN	9
#define KEY_MAX		(1 + 8 + DDT_MAX_NAME)
#define SYMLINK_MAX	(DDT_MAX_STR - 1)	/* a PATH_MAX with its NUL */
#define MAX_DEPTH	100000		/* deeper parent walks are loops */
#define RM_CHUNK	1024	/* entries a removal reads at a time */
#define RM_BATCH	8192	/* records a removal writes per batch */

enum { CLEAN = 1, DIRTY, GONE };

/* An inode, decoded. Directories use files/bytes/backups/created: a storage
 * unit's root keeps the unit's usage there, a backup its totals. A backup
 * keeps its expiry in expires; a unit's root its settings in retention,
 * quota and su_flags. */
typedef struct inode {
	uint64_t ino;
	uint8_t type;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint32_t flags;
	uint64_t parent;	/* directories: the one holding it, 0 for a
				   unit's root; others: a directory holding
				   one of its names, 0 if not known */
	uint64_t su;		/* the storage unit's root */
	uint8_t level;		/* files */
	fp_t root;
	uint64_t files, bytes, backups;
	int64_t created;
	int64_t expires;	/* backups: ns since the epoch; 0 never */
	uint64_t retention;	/* unit roots: default, seconds; 0 forever */
	uint64_t quota;		/* unit roots: logical bytes; 0 none */
	uint32_t su_flags;	/* unit roots: SU_LOCKED */
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

/* ---- small helpers (ns.c) ---- */

size_t ns_ino_key(uint8_t *k, uint8_t tag, uint64_t ino);
int ns_name_check(const char *name);
int ns_name_check_find(const char *name);
void ns_to_attr(const inode *in, ddt_attr *a);

/* ---- reads straight from RocksDB, outside any transaction (ns.c) ---- */

int ns_read_inode(ns *n, uint64_t ino, inode *out);
int ns_read_dir(ns *n, uint64_t ino, inode *out);
int ns_dent_get(ns *n, uint64_t dir, const char *name, uint64_t *ino,
		uint8_t *type);
int ns_dent_absent(ns *n, uint64_t dir, const char *name);
int ns_list_dir(ns *n, uint64_t dir, const char *after, size_t max,
		dlist *l);

/* ---- transactions (ns.c) ---- */

int ns_txn_begin(ns *n, txn *t);
void ns_txn_forget(txn *t);
void ns_txn_end(txn *t);
int ns_txn_get(txn *t, uint64_t ino, inode **out);
int ns_txn_get_dir(txn *t, uint64_t ino, inode **out);
int ns_txn_new(txn *t, uint8_t type, uint64_t su, inode **out);
void ns_touch(txn *t, inode *in);
void ns_txn_put(txn *t, const void *key, size_t klen, const void *val,
		size_t vlen);
void ns_txn_del(txn *t, const void *key, size_t klen);
int ns_txn_flush(txn *t, int sync);

/* ---- a unit's domain (ns_domain.c) ---- */

void ns_domain_put(txn *t, uint64_t root, const char *domain);
void ns_domain_del(txn *t, uint64_t root);

/* ---- entries (ns.c) ---- */

void ns_link_entry(txn *t, inode *d, const char *name, inode *c);
void ns_unlink_entry(txn *t, inode *d, const char *name, inode *c);
int ns_drop_link(txn *t, inode *c);
int ns_child_get(txn *t, const inode *d, const char *name, inode **out);

/* ---- retention lock and quota (ns_lock.c) ---- */

/* 0 unless the change would touch a backup under retention lock: then
 * -EPERM with a message naming it and its date. d is a directory whose
 * content changes (or the directory itself); for ns_lock_inode() any
 * inode whose own record changes (a file's content or attributes). */
int ns_lock_dir(txn *t, inode *d);
int ns_lock_inode(txn *t, inode *in);
/* In a locked unit, -EPERM if a new name of c in d would make c's names
 * span two backups (or a backup and the outside). */
int ns_lock_span(txn *t, inode *c, inode *d);
/* Whether backup b (of unit root r) is under retention lock at now (the
 * real clock: t->now in a transaction). */
int ns_backup_locked(int64_t now, const inode *r, const inode *b);
/* The backup directory holding directory d (itself if it is one), 0 if
 * none. */
int ns_backup_of(txn *t, inode *d, uint64_t *out);
/* -EPERM for a locked backup b of unit root r, with the message. */
int ns_lock_refuse(txn *t, const inode *r, const inode *b, const char *what);
/* The name of the unit whose root is root, and of entry ino in directory
 * dir: for messages (a scan, so error paths only). "?" if not found. */
void ns_su_name(ns *n, uint64_t root, char *buf, size_t cap);
void ns_entry_name(ns *n, uint64_t dir, uint64_t ino, char *buf, size_t cap);
/* "2026-12-25 10:00:00 UTC" into buf (at least 32 bytes). */

/* fn as one locked transaction, flushed with sync (ns.c). */
typedef int (*ns_update_fn)(txn *t, void *arg);
int ns_update(ns *n, ns_update_fn fn, void *arg, int sync);

#endif
