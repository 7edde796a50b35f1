/* ctrpack.h - compression regions: at sealing, a full container's
 * segments, as the writers stored them each alone, are compressed again in
 * runs of about region_raw bytes (format 2 of ctr.h). Eight to sixteen 8 KiB
 * segments compressed together share one window and one set of tables, so
 * they shrink far more than each alone (DDFS's local compression). */
#ifndef CTRPACK_H
#define CTRPACK_H

#include <stdint.h>

#include "ctr.h"
#include "tpool.h"

typedef struct ctrpack_opts {
	int codec;		/* CODEC_ZSTD, CODEC_LZ4, ... */
	int level;		/* the codec's level; 0: its default */
	uint32_t region_raw;	/* raw bytes a region holds, at most */
} ctrpack_opts;

/* A packed container: its parts, allocated. */
typedef struct ctrpack {
	ctr_entry *ents;
	uint32_t nseg;
	ctr_region *regs;
	uint32_t nreg;
	uint8_t *data;
	uint32_t data_len, data_cap;
} ctrpack;

/* 0, or -EINVAL with a message naming the bad option. */
int ctrpack_check(const ctrpack_opts *o);

/* Pack builder b, compressing its runs on pool's threads and the caller's
 * (pool NULL: the caller's alone). A run whose region would not come out
 * smaller than its segments as they are stays as they are. 0, -EINVAL
 * (bad options), -ENOMEM, or -EIO if a segment of b does not decompress. */
int ctrpack_build(const ctr_builder *b, const ctrpack_opts *o, tpool *pool,
		  ctrpack *out);

/* The parts to serialize p as container cid (ctr_parts_serialize). */
void ctrpack_parts(const ctrpack *p, uint64_t cid, ctr_parts *out);

/* The stored bytes of the segments, their shares of regions included. */
uint64_t ctrpack_stored(const ctrpack *p);

void ctrpack_free(ctrpack *p);

#endif
