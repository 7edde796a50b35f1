/* segcache.h - the client's segment-hash cache: fingerprints the target is
 * known to hold, so a writer need not ask about them again. It is only a
 * hint: the target checks every COMMIT, so a stale entry costs a failed
 * commit, never lost data. Kept across sessions in one small file. */
#ifndef SEGCACHE_H
#define SEGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

/* Entries kept at most: 2 Mi fingerprints (64 MiB on disk), enough for
 * about 16 GiB of distinct data at 8 KiB segments. */
#define SEGCACHE_MAX_DEFAULT	(2u << 20)

typedef struct segcache segcache;

/* Load the cache kept in path (NULL: memory only) for the target named by
 * tag. A missing, unreadable or damaged file, or one kept for another
 * target, gives an empty cache: it is rebuilt as the target answers.
 * Returns 0 or -ENOMEM; *out_reset (if not NULL) is 1 when a file was
 * there but could not be used. */
int segcache_open(segcache **out, const char *path, uint64_t tag,
		  uint32_t max_entries, int *out_reset);
void segcache_free(segcache *s);

/* hit[k] = 1 if fps[idx[k]] is known, else 0, for k < n (idx NULL: the
 * first n). Thread-safe. */
void segcache_lookup(segcache *s, const fp_t *fps, const uint32_t *idx,
		     uint32_t n, uint8_t *hit);
/* Remember fps[idx[k]] (idx NULL: the first n). When full, the older half
 * of what was not used in this session goes. Thread-safe. */
void segcache_add(segcache *s, const fp_t *fps, const uint32_t *idx,
		  uint32_t n);
/* Forget everything (the target turned out to lack a listed segment). */
void segcache_clear(segcache *s);
uint32_t segcache_count(segcache *s);

/* Write the cache to its file if it changed: a temporary file, fsync,
 * then rename over the old one, so a crash leaves the old file or the new
 * one. 0 or -errno with a message. */
int segcache_save(segcache *s);

/* A tag naming a target, for segcache_open(). */
uint64_t segcache_tag(const char *s);

#endif
