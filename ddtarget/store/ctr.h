/* ctr.h - the container: an append-only bundle of compressed segments
 * in arrival order, so that one backup's segments stay together on disk and
 * a restore or a locality-cache load reads them in one go (DDFS).
 *
 * Serialized layout (the bytes that erasure coding then cuts into
 * fragments), little-endian:
 *   header, CTR_HDR_LEN bytes:
 *     0 magic "DDTCTR01"   8 cid u64   16 nseg u32   20 data_len u32
 *    24 dir crc32c u32     28 reserved (32 bytes, zero)
 *    60 header crc32c u32 (over bytes 0..59)
 *   directory, nseg entries of CTR_DIR_ENTRY bytes:
 *     0 fingerprint (32)  32 offset in data u32  36 stored_len u32
 *    40 raw_len u32       44 codec u8  45 moved u8 (the index's copy
 *    only; 0 in a container)    46 reserved (2, zero)
 *   data, data_len bytes: the stored (compressed or raw) segments. */
#ifndef CTR_H
#define CTR_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define CTR_HDR_LEN	  64
#define CTR_DIR_ENTRY	  48
#define CTR_SIZE_DEFAULT  (4u * 1024 * 1024)

typedef struct ctr_entry {
	fp_t fp;
	uint32_t off;		/* within the data area */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t codec;
	/* Only in the index's copy of a directory: cleaning copied this
	 * segment forward and this copy is no longer the one to use. */
	uint8_t moved;
} ctr_entry;

/* The open container being filled in memory. */
typedef struct ctr_builder {
	uint64_t cid;
	uint32_t limit;		/* serialized size to stay under */
	uint8_t *data;
	uint32_t data_len, data_cap;
	ctr_entry *ents;
	uint32_t n, cap;
} ctr_builder;

int ctr_builder_init(ctr_builder *b, uint64_t cid, uint32_t limit);
void ctr_builder_free(ctr_builder *b);

/* Whether a segment of stored_len bytes still fits. An empty container
 * takes any segment, so no segment is ever refused for its size. */
int ctr_builder_fits(const ctr_builder *b, uint32_t stored_len);

/* Append a segment; *out_slot is its directory index. -ENOMEM. */
int ctr_builder_append(ctr_builder *b, const fp_t *fp, int codec,
		       uint32_t raw_len, const void *data, uint32_t stored_len,
		       uint32_t *out_slot);

size_t ctr_serialized_len(const ctr_builder *b);
/* Write the serialized container into out (ctr_serialized_len bytes). */
void ctr_serialize(const ctr_builder *b, uint8_t *out);

/* A parsed container. ents is allocated; data points into the parsed buffer. */
typedef struct ctr_view {
	uint64_t cid;
	uint32_t nseg;
	ctr_entry *ents;
	const uint8_t *data;
	uint32_t data_len;
} ctr_view;

/* Parse and check a serialized container: magic, both CRCs, the expected
 * cid, and that every entry lies inside the data area with a known codec.
 * Returns 0, -EBADMSG (with a ddterr message) or -ENOMEM. */
int ctr_parse(const uint8_t *buf, size_t len, uint64_t want_cid,
	      ctr_view *out);
void ctr_view_free(ctr_view *v);

/* The directory alone, as the index keeps it per container. */
size_t ctr_dir_len(uint32_t n);
void ctr_dir_encode(const ctr_entry *e, uint32_t n, uint8_t *out);
int ctr_dir_decode(const uint8_t *buf, size_t len, uint32_t data_len,
		   ctr_entry **out, uint32_t *out_n);

#endif
