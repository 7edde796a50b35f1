/* segdata.h - deterministic segments for the store tests: segment i of a
 * seed is always the same bytes, so a test (or a parent process checking a
 * killed child's work) can rebuild any segment from its number alone. */
#ifndef SEGDATA_H
#define SEGDATA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "segmenter.h"
#include "store.h"

/* Segment i: 1..16 KiB, half of it text-like so LZ4 keeps some of it
 * compressed and some raw. */
static inline size_t segdata_raw(uint64_t seed, uint64_t i, uint8_t *out)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xD1B54A32D192ED03ull;
	size_t n, j;

	x ^= x >> 29;
	n = 1024 + (size_t)(x % (15 * 1024));
	static const char *const words[8] = {
		"segment ", "container ", "fingerprint ", "erasure ",
		"backup ", "restore ", "dedup ", "index ",
	};

	for (j = 0; j < n;) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i & 1) {	/* every other segment is text: compresses */
			const char *w = words[x & 7];

			while (*w && j < n)
				out[j++] = (uint8_t)*w++;
		} else {
			out[j++] = (uint8_t)x;
		}
	}
	memcpy(out, &i, sizeof(i));	/* distinct even if x repeats */
	return n;
}

/* A batch of segments first..first+n-1, stored form in one malloc'd arena
 * owned by the batch. */
typedef struct segbatch {
	store_seg *segs;
	uint8_t *arena;
	size_t n;
} segbatch;

static inline int segbatch_make(segbatch *b, uint64_t seed, uint64_t first,
				size_t n)
{
	size_t slot = codec_bound(16 * 1024);
	uint8_t raw[16 * 1024];

	b->n = n;
	b->segs = calloc(n ? n : 1, sizeof(*b->segs));
	b->arena = malloc((n ? n : 1) * slot);
	if (!b->segs || !b->arena)
		return -1;
	for (size_t i = 0; i < n; i++) {
		store_seg *g = &b->segs[i];
		size_t len = segdata_raw(seed, first + i, raw);
		uint8_t *dst = b->arena + i * slot;

		if (seg_encode(CODEC_LZ4, raw, len, &g->fp, dst, slot,
			       &g->stored_len, &g->codec) != 0)
			return -1;
		g->raw_len = (uint32_t)len;
		g->data = dst;
	}
	return 0;
}

static inline void segbatch_free(segbatch *b)
{
	free(b->segs);
	free(b->arena);
	memset(b, 0, sizeof(*b));
}

/* How many of segments first..first+n-1 store_read does NOT return intact. */
static inline size_t segdata_check(store *s, uint64_t seed, uint64_t first,
				   size_t n)
{
	uint8_t want[16 * 1024], got[16 * 1024];
	size_t bad = 0, len, glen;
	fp_t fp;

	for (size_t i = 0; i < n; i++) {
		len = segdata_raw(seed, first + i, want);
		fp_compute(&fp, want, len);
		if (store_read(s, &fp, got, sizeof(got), &glen) != 0 ||
		    glen != len || memcmp(got, want, len) != 0)
			bad++;
	}
	return bad;
}

#endif
