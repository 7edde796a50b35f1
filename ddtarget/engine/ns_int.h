/* ns_int.h - the namespace's private half: the record layout, struct ns, the
 * transaction and listing types, and the helpers that ns.c (records and
 * transactions), ns_tree.c (the tree) and ns_su.c (units, backups) share.
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
#ifndef NS_INT_H
#define NS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ns.h"

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

/* ---- small helpers (ns.c) ---- */

size_t nsi_ino_key(uint8_t *k, uint8_t tag, uint64_t ino);
int nsi_name_check(const char *name);
void nsi_to_attr(const inode *in, ddt_attr *a);

/* ---- reads straight from RocksDB, outside any transaction (ns.c) ---- */

int nsi_read_inode(ns *n, uint64_t ino, inode *out);
int nsi_read_dir(ns *n, uint64_t ino, inode *out);
int nsi_dent_get(ns *n, uint64_t dir, const char *name, uint64_t *ino,
		 uint8_t *type);
int nsi_dent_absent(ns *n, uint64_t dir, const char *name);
int nsi_list_dir(ns *n, uint64_t dir, const char *after, size_t max,
		 dlist *l);

/* ---- transactions (ns.c) ---- */

int nsi_txn_begin(ns *n, txn *t);
void nsi_txn_forget(txn *t);
void nsi_txn_end(txn *t);
int nsi_txn_get(txn *t, uint64_t ino, inode **out);
int nsi_txn_get_dir(txn *t, uint64_t ino, inode **out);
int nsi_txn_new(txn *t, uint8_t type, uint64_t su, inode **out);
void nsi_touch(txn *t, inode *in);
void nsi_txn_put(txn *t, const void *key, size_t klen, const void *val,
		 size_t vlen);
void nsi_txn_del(txn *t, const void *key, size_t klen);
int nsi_txn_flush(txn *t, int sync);

/* ---- entries (ns.c) ---- */

void nsi_link_entry(txn *t, inode *d, const char *name, inode *c);
void nsi_unlink_entry(txn *t, inode *d, const char *name, const inode *c);
int nsi_drop_link(txn *t, inode *c);
int nsi_child_get(txn *t, const inode *d, const char *name, inode **out);

/* fn as one locked transaction, flushed with sync (ns.c). */
typedef int (*nsi_update_fn)(txn *t, void *arg);
int nsi_update(ns *n, nsi_update_fn fn, void *arg, int sync);

#endif
