/* fcache.h - the client file cache (Avamar's): for every file a backup
 * stored, what it looked like then and the root its content was committed
 * under. A file that still looks the same is not read again; its name is
 * committed with the cached root. One cache per target and storage unit. */
#ifndef DDT_FCACHE_H
#define DDT_FCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc.h"

/* What a file looked like (the first five fields: all must match) and
 * what the target holds for it. Times in ns since the epoch. */
typedef struct fc_val {
	uint64_t size;
	int64_t mtime, ctime;
	uint64_t ino, dev;
	uint64_t root_size;
	uint8_t level;
	fp_t root;
} fc_val;

typedef struct fcache fcache;

/* "<dir>/<kind>-<host>-<port>[-<su>].cache" into out, where dir is
 * $DDT_CACHE_DIR or ~/.cache/ddt, created (0700) if missing. */
int fcache_path(char *out, size_t cap, const char *kind, const char *host,
		int port, const char *su);

/* Load the cache in file. A missing file gives an empty cache; a damaged,
 * unreadable or foreign one also gives an empty cache, and *why says what
 * was wrong with it (else NULL), for one warning. 0 or -ENOMEM. */
int fcache_load(fcache **out, const char *file, const char **why);
void fcache_free(fcache *fc);

/* Thread-safe. lookup: 1 and *out if path is cached, else 0. put: record
 * path (and keep it at the next save). drop: forget it. */
int fcache_lookup(fcache *fc, const char *path, fc_val *out);
int fcache_put(fcache *fc, const char *path, const fc_val *v);
void fcache_drop(fcache *fc, const char *path);

/* Entries in the cache. */
size_t fcache_count(fcache *fc);

/* Write the cache back to its file atomically (temp, fsync, rename). An
 * entry under scope (an absolute directory: the tree just backed up) that
 * was not put since the load is left out: its file is gone, or failed.
 * Entries of other trees are kept. 0 or -errno. */
int fcache_save(fcache *fc, const char *scope);

#endif
