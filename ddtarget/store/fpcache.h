/* fpcache.h - the locality-preserved cache (DDFS, FAST '08).
 *
 * When a lookup finds a fingerprint in the index, the fingerprints of its
 * whole container are loaded here, because the next segments of the stream
 * being written were almost certainly stored right after it. The following
 * lookups then hit memory instead of the index. Containers are evicted whole,
 * least recently used first; pinned ones (the open container) never are. */
#ifndef FPCACHE_H
#define FPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ctr.h"
#include "fp.h"

typedef struct fpcache fpcache;

/* Keep up to max_containers unpinned containers. 0 or -ENOMEM. */
int fpcache_new(fpcache **out, size_t max_containers);
void fpcache_free(fpcache *c);

/* 1 and the location (and the segment's raw length, if out_raw_len is
 * not NULL) if fp is cached, and its container becomes most recently
 * used; 0 if not. */
int fpcache_lookup(fpcache *c, const fp_t *fp, uint64_t *out_cid,
		   uint32_t *out_slot, uint32_t *out_raw_len);

/* Whether container cid is cached. */
int fpcache_has_container(const fpcache *c, uint64_t cid);

/* Cache a container's fingerprints and raw lengths (slot i is ents[i];
 * entries marked moved are left out), evicting the least recently used unpinned container if
 * full. 0 or -ENOMEM. */
int fpcache_insert(fpcache *c, uint64_t cid, const ctr_entry *ents, uint32_t n,
		   int pinned);

/* Add one segment at the next slot of a cached container (the open
 * container grows one segment at a time). 0, -ENOENT, -ENOMEM. */
int fpcache_append(fpcache *c, uint64_t cid, const fp_t *fp, uint32_t raw_len);

/* Pin or unpin a cached container. */
void fpcache_pin(fpcache *c, uint64_t cid, int pinned);

/* Drop a container (for example one that cleaning removed). */
void fpcache_remove(fpcache *c, uint64_t cid);

size_t fpcache_containers(const fpcache *c);
size_t fpcache_fingerprints(const fpcache *c);

#endif
