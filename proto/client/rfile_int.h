/* rfile_int.h - a random-access file's state (ddtc_rfile), shared by
 * rfile.c (the handle, its overlay of written bytes, reads, create),
 * rfile_leaf.c (the leaf list of the committed tree and the segments
 * behind it: loaded with SEG_GET, cached) and rfile_flush.c (re-cutting
 * the changed ranges into segments, and the commit). Private to the
 * client library.
 *
 * The file as the handle sees it is, byte by byte: the overlay's extent
 * holding the byte if one does, else the leaf covering it. Bytes in
 * [lsize, size) are always in the overlay (a write past the end or a
 * truncate that extends puts a hole extent there), so a read never
 * needs a leaf past lsize. */
#ifndef DDTC_RFILE_INT_H
#define DDTC_RFILE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_int.h"
#include "fp.h"

#define RF_CACHE	64	/* decompressed segments a handle keeps */
#define RF_AHEAD	16	/* segments one SEG_GET asks for, at most */
#define RF_EXT_MAX	(4u << 20)	/* an extent's buffer, at most */

/* A data segment of the file: 48 bytes per ~8 KiB. */
typedef struct rf_leaf {
	fp_t fp;
	uint64_t off;		/* where it starts in the file */
	uint32_t len;
	uint32_t pend;		/* in a flush's new list: 1 + the number of
				   its fingerprint still to come; else 0 */
} rf_leaf;

/* Bytes written and not yet cut, [off, off + len). */
typedef struct rf_ext {
	uint64_t off;
	size_t len, cap;
	uint8_t *buf;		/* NULL: a hole, zeros */
} rf_ext;

typedef struct rf_cached {
	fp_t fp;
	uint8_t *raw;		/* NULL: a free slot */
	uint32_t len;
	uint64_t used;		/* for LRU */
} rf_cached;

struct ddtc_rfile {
	uint64_t ino;
	uint64_t size;		/* as this handle sees the file */
	int dirty;		/* changed since open or the last commit */

	/* The base: the tree last committed (or found at open). */
	fp_t root;
	uint8_t level;
	uint64_t base_size;

	/* Its data segments, and those flushed since, in file order. */
	int loaded;
	rf_leaf *leaf;
	size_t nleaf;
	uint64_t lsize;		/* the bytes they cover */
	int end_cut;		/* lsize is a content-defined cut (a flush
				   held the tail back), not just the end */

	rf_ext *ext;		/* the overlay, by offset, disjoint */
	size_t next, extcap;
	size_t buffered;	/* bytes the data extents' buffers hold */

	rf_cached cache[RF_CACHE];
	uint64_t tick;

	/* The segment a run of zeros is cut into, once computed. */
	int zknown;
	uint32_t zlen;
	fp_t zfp;
};

/* A buffer of CDC_MAX_LIMIT zeros (rfile_leaf.c). */
extern uint8_t rf_zeros[];

/* ---- the leaves (rfile_leaf.c) ---- */

/* Load the base's leaf list (tree walk with SEG_GET), once. */
int rf_load(ddtc *c, ddtc_rfile *f);
/* The leaf holding byte off (< f->lsize). */
size_t rf_leaf_find(const ddtc_rfile *f, uint64_t off);
/* The raw bytes of leaf i (valid until the next call on f). */
int rf_leaf_bytes(ddtc *c, ddtc_rfile *f, size_t i, const uint8_t **out);
/* The zero segment's length and fingerprint, computed once. */
int rf_zero_seg(ddtc *c, ddtc_rfile *f);
void rf_cache_free(ddtc_rfile *f);

/* ---- the overlay (rfile.c) ---- */

/* Bytes [off, off + n) as the handle sees them (off + n <= f->size). */
int rf_read_at(ddtc *c, ddtc_rfile *f, uint64_t off, uint8_t *dst, size_t n);
/* The extent holding off, or NULL. */
const rf_ext *rf_ext_at(const ddtc_rfile *f, uint64_t off);
void rf_ext_free_all(ddtc_rfile *f);

/* ---- checks (rfile_flush.c) ---- */


#endif
