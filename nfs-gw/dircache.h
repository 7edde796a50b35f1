/* dircache.h - READDIR's cookies over a target that lists a directory in
 * name order: snapshots of whole directories, kept a while.
 *
 * The cookie scheme. The target can resume a listing only after a name,
 * and an NFS cookie is 8 bytes, so a cookie cannot carry the name. A
 * listing that starts (cookie 0) takes a snapshot: every entry, in name
 * order, read through ddtc_readdir; the cookie of entry i is i + 1 (its
 * position), and the cookie verifier names the snapshot. The verifier is
 * derived from the directory's mtime and ctime when the directory did not
 * change while it was read (its attributes equal before and after), so an
 * evicted snapshot, or one lost with a gateway restart, is read again
 * identically while the directory is unchanged: same names, same order,
 * same positions. A directory that changes gets a new verifier with its
 * next snapshot, while listings under the old one continue on the old
 * snapshot as long as it is cached: a client walking a changing
 * 100,000-entry directory sees one consistent state, never an entry twice
 * or none skipped. Only if the old snapshot was evicted and the directory
 * has changed since does a continuation get NFS3ERR_BAD_COOKIE, and the
 * client starts over. A snapshot that changed while it was read gets a
 * verifier that can never be rebuilt (the top bit set, a counter), so it
 * is served only from the cache. Memory is bounded (DIRCACHE_MAX_BYTES);
 * snapshots unused for DIRCACHE_TTL_NS go. */
#ifndef DIRCACHE_H
#define DIRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc.h"

typedef struct dc_ent {
	char *name;
	ddt_attr a;
} dc_ent;

typedef struct dc_snap {
	uint64_t ino, verf;
	dc_ent *e;
	size_t n, cap, bytes;
	unsigned refs;		/* cache lock */
	int64_t used;		/* cache lock */
	struct dc_snap *next;
} dc_snap;

typedef struct dircache dircache;

int dircache_new(dircache **out);
void dircache_free(dircache *d);

/* The snapshot of directory ino (whose attributes now are dir) for a
 * listing at cookie with verifier verf: cookie 0 (or verf 0): the current
 * one, taken if needed; else the one verf names. -EAGAIN
 * (BAD_COOKIE) if it is gone for good. Release with dircache_put(). */
int dircache_get(dircache *d, ddtc *c, const ddt_attr *dir, uint64_t cookie,
		 uint64_t verf, dc_snap **out);
void dircache_put(dircache *d, dc_snap *s);

/* A directory's verifier from its attributes (never 0, top bit clear). */
uint64_t dircache_verf(const ddt_attr *dir);

#endif
