/* ctrcache.h - decoded containers kept for reads.
 *
 * A restore reads a backup's segments in the order they were written, so
 * they come from one container after another: reading and decoding a
 * container once and serving its next few hundred segments from memory is
 * what makes restores stream. Entries are reference counted, so a reader
 * can copy from a container while another thread evicts it. Not
 * thread-safe by itself: the store calls it under its lock. */
#ifndef CTRCACHE_H
#define CTRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ctr.h"

typedef struct ctrcache ctrcache;

typedef struct ctrcache_ent {
	uint64_t cid;
	uint8_t *buf;		/* the container's bytes, or NULL once its
				 * regions hold every segment */
	size_t bytes;		/* buf's and the view's regions' */
	ctr_view view;		/* parsed from buf */
	int refs;
	uint64_t last_use;
	int read_ahead;		/* read before anyone asked; not yet used */
} ctrcache_ent;

/* At most max entries of max_bytes in all (0: no bound on bytes); the
 * entry just put stays whatever its size. */
int ctrcache_new(ctrcache **out, size_t max, size_t max_bytes);
void ctrcache_free(ctrcache *c);

/* The cached container cid with a reference taken, or NULL. */
ctrcache_ent *ctrcache_get(ctrcache *c, uint64_t cid);

/* Cache a parsed container of bytes bytes; the cache takes buf and view. Returns the
 * entry with a reference taken: the new one, or one another thread cached
 * first (then buf and view are freed here). NULL and -ENOMEM only if no
 * slot could be made, in which case the caller still owns buf and view. */
ctrcache_ent *ctrcache_put(ctrcache *c, uint64_t cid, uint8_t *buf,
			   ctr_view *view, size_t bytes);

/* Drop a reference; an evicted entry is freed with its last one. */
void ctrcache_release(ctrcache *c, ctrcache_ent *e);

/* Forget container cid (cleaning removed it). */
void ctrcache_drop(ctrcache *c, uint64_t cid);

#endif
