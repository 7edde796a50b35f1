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

#include "container.h"

typedef struct ccache ccache;

typedef struct ccache_ent {
	uint64_t cid;
	uint8_t *buf;		/* the container's bytes */
	ctr_view view;		/* parsed from buf */
	int refs;
	uint64_t last_use;
	int read_ahead;		/* read before anyone asked; not yet used */
} ccache_ent;

int ccache_new(ccache **out, size_t max);
void ccache_free(ccache *c);

/* The cached container cid with a reference taken, or NULL. */
ccache_ent *ccache_get(ccache *c, uint64_t cid);

/* Cache a parsed container; the cache takes buf and view. Returns the
 * entry with a reference taken: the new one, or one another thread cached
 * first (then buf and view are freed here). NULL and -ENOMEM only if no
 * slot could be made, in which case the caller still owns buf and view. */
ccache_ent *ccache_put(ccache *c, uint64_t cid, uint8_t *buf, ctr_view *view);

/* Drop a reference; an evicted entry is freed with its last one. */
void ccache_release(ccache *c, ccache_ent *e);

/* Forget container cid (cleaning removed it). */
void ccache_drop(ccache *c, uint64_t cid);

#endif
