/* store_dirs.h - the store's directories as an administrator sees them:
 * the root and each data directory, present or not and why, their file
 * systems' space as df shows it, and what the store's own files take. */
#ifndef STORE_DIRS_H
#define STORE_DIRS_H

#include <stdint.h>

#include "store.h"

typedef struct store_dir_info {
	const char *path;	/* valid until store_close */
	int index;		/* data directory index, -1: the root (index,
				   journal) */
	int present;		/* a readable directory with this store's
				   identity marker (.ddtarget) */
	const char *problem;	/* why not present; "" when present */
	/* Its file system as df -B1 shows it (0 when the directory is
	 * missing): size f_blocks, used f_blocks - f_bfree, free (available
	 * to the store) f_bavail, all times f_frsize; used_pct is
	 * used / (used + free) in percent, rounded up. Blocks reserved for
	 * root count as neither used nor free. */
	uint64_t total_bytes, used_bytes, free_bytes;
	int used_pct;
	uint64_t fsid;		/* equal for directories sharing a file system
				   (st_dev) */
} store_dir_info;

#define STORE_DIR_INFO_MAX (STORE_MAX_DIRS + 1)

/* How many of the store's directories (root, index, journal, data,
 * checkpoints) store_open() found open to other users and closed to them
 * (0700), for a store made when they were 0755; 0 if none was. */
int store_dirs_tightened(const store *s);

/* The root and every data directory, in that order. *n holds the room in
 * out on entry (STORE_DIR_INFO_MAX is always enough) and the count on
 * return; -ENOBUFS if there is too little room. No lock is taken. */
int store_dir_status(store *s, store_dir_info *out, int *n);

/* The store's identity, as its directories' markers hold it: 32 hex
 * digits and a NUL. */
void store_id_hex(const store *s, char hex[33]);

/* The data directories' space: the file systems of those present in d
 * (from store_dir_status), each counted once however many of them it
 * holds; used_pct as df computes it from the sums. The root's file
 * system counts only if a data directory is on it. */
typedef struct store_space {
	uint64_t total_bytes, used_bytes, free_bytes;
	int used_pct;
	int filesystems;
} store_space;

void store_data_space(const store_dir_info *d, int n, store_space *out);

/* The bytes the store's own files take on disk, as du -sB1 counts them
 * (allocated blocks; a file linked from several places once, where it is
 * met first, in this order): the index (RocksDB), the journals of the
 * open containers (with the spare ones made ready), and the checkpoints
 * (what they do not share with the index). Fragments are not in it.
 * Returns 0 or -ENOMEM. */
typedef struct store_footprint_info {
	uint64_t index_bytes, journal_bytes, checkpoint_bytes;
	uint64_t total_bytes;		/* their sum */
} store_footprint_info;

int store_footprint(store *s, store_footprint_info *out);

#endif
