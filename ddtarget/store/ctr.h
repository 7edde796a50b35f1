/* ctr.h - the container: an append-only bundle of compressed segments
 * in arrival order, so that one backup's segments stay together on disk and
 * a restore or a locality-cache load reads them in one go (DDFS).
 *
 * Serialized layout (the bytes that erasure coding then cuts into
 * fragments), little-endian. Format 1 ("DDTCTR01") stores each segment as
 * it came, compressed alone; format 2 ("DDTCTR02") adds compression
 * regions: runs of consecutive segments compressed together (DDFS's local
 * compression), which an 8 KiB segment alone compresses far worse than.
 *   header, CTR_HDR_LEN bytes:
 *     0 magic "DDTCTR01" or "DDTCTR02"   8 cid u64   16 nseg u32
 *    20 data_len u32   24 dir crc32c u32
 *    28 nreg u32 (format 2; 0 in format 1)
 *    32 region table crc32c u32 (format 2; 0 in format 1)
 *    36 reserved (24 bytes, zero)
 *    60 header crc32c u32 (over bytes 0..59)
 *   region table (format 2), nreg entries of CTR_REGION_ENTRY bytes:
 *     0 offset in data u32   4 stored_len u32   8 raw_len u32
 *    12 codec u8   13 reserved (3, zero)
 *   directory, nseg entries of CTR_DIR_ENTRY bytes:
 *     0 fingerprint (32)  32 offset u32  36 stored_len u32
 *    40 raw_len u32       44 codec u8  45 moved u8 (the index's copy
 *    only; 0 in a container)    46 region u16 (0: none)
 *   data, data_len bytes: the stored (compressed or raw) segments and
 *   regions.
 * A segment with region 0 lies at offset in the data area, stored_len
 * bytes in codec. A segment with region r + 1 lies raw (codec "none") at
 * offset in region r's raw_len bytes once decompressed; its stored_len is
 * its share of the region's stored bytes (the shares of a region add up to
 * the region's stored_len), which only the byte counts use. */
#ifndef CTR_H
#define CTR_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define CTR_HDR_LEN	  64
#define CTR_DIR_ENTRY	  48
#define CTR_REGION_ENTRY  16
#define CTR_SIZE_DEFAULT  (4u * 1024 * 1024)
/* The most raw bytes a region may hold: a region is decompressed whole to
 * read any segment of it, so a damaged table cannot ask for more. */
#define CTR_REGION_MAX	  (1u * 1024 * 1024)

typedef struct ctr_entry {
	fp_t fp;
	uint32_t off;		/* within the data area */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t codec;
	/* Only in the index's copy of a directory: cleaning copied this
	 * segment forward and this copy is no longer the one to use. */
	uint8_t moved;
	uint16_t region;	/* 0, or r + 1 for region r */
} ctr_entry;

/* A compression region (format 2). raw_off and bad are a parsed view's:
 * where the region's bytes begin in the view's raw area, and whether they
 * failed to decompress. */
typedef struct ctr_region {
	uint32_t off;		/* within the data area */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t codec;
	uint8_t bad;
	uint32_t raw_off;
} ctr_region;

/* What a serialized container is made of. nreg 0 makes format 1. */
typedef struct ctr_parts {
	uint64_t cid;
	const ctr_entry *ents;
	uint32_t nseg;
	const ctr_region *regs;
	uint32_t nreg;
	const uint8_t *data;
	uint32_t data_len;
} ctr_parts;

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
/* Write the builder as a format 1 container into out (ctr_serialized_len
 * bytes). */
void ctr_serialize(const ctr_builder *b, uint8_t *out);

/* The builder's segments as they are: the parts of a format 1 container. */
void ctr_builder_parts(const ctr_builder *b, ctr_parts *out);

size_t ctr_parts_len(const ctr_parts *p);
void ctr_parts_serialize(const ctr_parts *p, uint8_t *out);

/* A parsed container. ents, regs and raw are allocated; data points into
 * the parsed buffer; raw holds every region decompressed. */
typedef struct ctr_view {
	uint64_t cid;
	uint32_t nseg;
	ctr_entry *ents;
	const uint8_t *data;
	uint32_t data_len;
	uint32_t nreg;
	ctr_region *regs;
	uint8_t *raw;
	size_t raw_size;	/* of raw */
} ctr_view;

/* Parse and check a serialized container: magic, the CRCs, the expected
 * cid, that every region and entry lies inside the data area (or its
 * region) with a known codec; then decompress the regions. A region that
 * does not decompress is marked bad, and only its segments fail to read.
 * Returns 0, -EBADMSG (with a ddterr message) or -ENOMEM. */
int ctr_parse(const uint8_t *buf, size_t len, uint64_t want_cid,
	      ctr_view *out);
void ctr_view_free(ctr_view *v);

/* Whether any segment is read from the parsed buffer: when none is, the
 * caller may free it and clear v->data (every segment is in a region). */
int ctr_view_uses_data(const ctr_view *v);

/* Segment i of a parsed container, as stored: codec, and the bytes. */
typedef struct ctr_seg {
	int codec;
	uint32_t raw_len;
	const uint8_t *data;
	uint32_t len;
} ctr_seg;

/* 0, or -EBADMSG if its region did not decompress. */
int ctr_view_seg(const ctr_view *v, uint32_t i, ctr_seg *out);

/* The directory alone, as the index keeps it per container. */
size_t ctr_dir_len(uint32_t n);
void ctr_dir_encode(const ctr_entry *e, uint32_t n, uint8_t *out);
/* Checks each entry against data_len; a region entry against the regions
 * only when regs is given (the index's copy has none). */
int ctr_dir_decode(const uint8_t *buf, size_t len, uint32_t data_len,
		   const ctr_region *regs, uint32_t nreg, ctr_entry **out,
		   uint32_t *out_n);

#endif
