/* store_gc.h - the store's half of cleaning (garbage collection): pinning
 * what writers were told exists, measuring how live each old container
 * is, copying live segments forward and dropping containers. The cleaner
 * (engine/clean.h) decides what is live.
 *
 * Between store_gc_begin() and store_gc_end() every fingerprint a lookup
 * reports present (store_has; store_lookup, unless with STORE_PIN_NONE; a
 * duplicate in store_put) is pinned: a writer told "the target has it" may
 * commit a file that needs it, so it is never dropped in this clean. What
 * writers were told since the previous clean began is kept too (a Bloom
 * filter), so that a backup deduplicating just before a clean starts does
 * not have to send its segments again. Only containers sealed before the
 * clean began (cid < boundary) are looked at. A segment is live if the
 * cleaner's live() says so or it is pinned; a container's live segments
 * are copied forward (appended to the open container like new writes,
 * durably) before the container is dropped. */
#ifndef STORE_GC_H
#define STORE_GC_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef int (*store_live_fn)(void *arg, const fp_t *fp);

typedef struct store_gc_ctr {
	uint64_t cid;
	uint32_t nseg, live_segs;	/* live: and indexed in this container */
	uint64_t stored_bytes, live_bytes; /* segments' bytes as stored */
	uint64_t physical_bytes;	/* its fragments on disk */
} store_gc_ctr;

/* Start pinning; *out_boundary is the first cid not yet sealed. -EBUSY if
 * a clean is running already. */
int store_gc_begin(store *s, uint64_t *out_boundary);
/* Stop pinning (also after a failed clean). */
void store_gc_end(store *s);

/* Call cb with the figures of every sealed container below boundary. */
typedef int (*store_gc_ctr_cb)(void *arg, const store_gc_ctr *c);
int store_gc_scan(store *s, uint64_t boundary, store_live_fn live,
		  void *larg, store_gc_ctr_cb cb, void *arg);

/* Copy container cid's live segments forward; *out_bytes (stored bytes)
 * copied. Durable on return. */
int store_gc_forward(store *s, uint64_t cid, store_live_fn live, void *larg,
		     uint64_t *out_bytes);

typedef struct store_gc_drop_report {
	uint32_t dropped, kept;		/* kept: a segment was pinned meanwhile */
	uint64_t segments, physical_bytes;	/* removed */
} store_gc_drop_report;

/* Seal what was copied forward, then remove containers cids[0..n) from the
 * index in one synced batch and delete their fragments. A container that
 * still holds a live or pinned segment that was not copied forward is
 * kept (counted in kept), never dropped. */
int store_gc_drop(store *s, const uint64_t *cids, size_t n,
		  store_live_fn live, void *larg, store_gc_drop_report *out);

/* Delete fragment files of containers below boundary that the index does
 * not know (a crash between a drop and its unlinks leaves them);
 * *out_files, *out_bytes removed. */
int store_gc_orphans(store *s, uint64_t boundary, uint64_t *out_files,
		     uint64_t *out_bytes);

#endif
