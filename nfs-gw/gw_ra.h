/* gw_ra.h - read-ahead for sequential readers, shared by the gateways.
 * NFS clients (and FUSE) read a file in requests of a fixed size, one or
 * a few at a time, and each costs a round trip to the target; a reader
 * found reading on from near where it stopped (the kernel sends a FUSE
 * mount's read-ahead as several requests at once, arriving in any order)
 * gets the next GW_RA_DEPTH blocks
 * of the same size fetched ahead, in parallel, by threads of its own, so
 * the target's latency overlaps the client's transfer (ddt restore keeps
 * several READs in flight for the same reason).
 *
 * A block is tagged with the version of the file the caller saw (from its
 * attributes: mtime and size), and is used only for that version; a
 * gateway's own writes drop the file's blocks (gw_ra_forget). Memory is
 * bounded: GW_RA_STREAMS files, GW_RA_DEPTH blocks each (8 blocks: twice
 * the 4 MiB window ddtfs has the kernel read ahead, so the gateway's
 * fetches stay ahead of the kernel's requests). */
#ifndef GW_RA_H
#define GW_RA_H

#include <stddef.h>
#include <stdint.h>

#include "gw_sess.h"

#define GW_RA_DEPTH	8
#define GW_RA_STREAMS	16

typedef struct gw_ra gw_ra;

int gw_ra_new(gw_ra **out, gw_sess *s);
void gw_ra_free(gw_ra *r);

/* Up to n bytes of file ino (in version ver, size bytes long) at off, as
 * ddtc_read, into *bufp: a malloc'd buffer of at least n bytes, which a
 * block fetched ahead may take the place of (*bufp is then that block's
 * buffer, as large, and the caller's is the stream's) rather than be
 * copied into it. The caller frees *bufp. */
int gw_ra_read(gw_ra *r, uint64_t ino, uint64_t ver, uint64_t size,
	       uint64_t off, void **bufp, size_t n, size_t *out_n);
void gw_ra_forget(gw_ra *r, uint64_t ino);

#endif
