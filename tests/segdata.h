/* segdata.h - deterministic segments for the store tests: segment i of a
 * seed is always the same bytes, so a test (or a parent process checking a
 * killed child's work) can rebuild any segment from its number alone. Also
 * the opening, filling and fragment paths of the stores they go into. */
#ifndef SEGDATA_H
#define SEGDATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctrio.h"
#include "ddterr.h"
#include "ec.h"
#include "segmenter.h"
#include "store.h"
#include "tap.h"
#include "tstore.h"

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

		if (segmenter_encode(CODEC_LZ4, raw, len, &g->fp, dst, slot,
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

/* Open (or create) the store c describes; NULL, with a diag, on failure. */
static inline store *segdata_open_config(const store_config *c)
{
	store *s = NULL;
	int rc = tstore_open(&s, c);

	if (rc)
		diag("store_open %s: %s", c->root, ddterr_last(rc));
	return s;
}

/* The store at root with the default configuration but for container_size
 * (small containers make many containers from little data) and its code:
 * 4 + 2, as on separate disks, because these tests lose and damage
 * fragments two at a time (on one file system the default is 8 + 1). */
static inline store *segdata_open(const char *root, uint32_t container_size)
{
	store_config c;

	store_config_default(&c, root);
	c.container_size = container_size;
	c.k = STORE_EC_SPREAD_K;
	c.m = STORE_EC_SPREAD_M;
	return segdata_open_config(&c);
}

#define SEGDATA_BATCH 256

/* Put segments first..first+n-1, SEGDATA_BATCH to a store_put. Returns 0,
 * or the error of the first store_put that fails (later batches are not
 * tried); *fresh, if not NULL, counts the segments that were new. */
static inline int segdata_put(store *s, uint64_t seed, uint64_t first,
			      size_t n, size_t *fresh)
{
	if (fresh)
		*fresh = 0;
	for (size_t done = 0; done < n; done += SEGDATA_BATCH) {
		size_t cnt = n - done, nw = 0;
		segbatch b;
		int rc;

		if (cnt > SEGDATA_BATCH)
			cnt = SEGDATA_BATCH;
		if (segbatch_make(&b, seed, first + done, cnt) != 0)
			tap_bail("segbatch_make");
		rc = store_put(s, b.segs, b.n, &nw);
		segbatch_free(&b);
		if (rc)
			return rc;
		if (fresh)
			*fresh += nw;
	}
	return 0;
}

/* The path of fragment index of container cid in a store with the default
 * data directories (root/data/dir0..5) and geometry (4 + 2). */
static inline void segdata_frag_path(const char *root, uint64_t cid,
				     int index, char *out, size_t cap)
{
	char *dirs[6], p[1024];
	ctrio_layout L;
	ec *e;

	for (int i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/data/dir%d", root, i);
		dirs[i] = strdup(p);
		if (!dirs[i])
			tap_bail("strdup");
	}
	if (ec_new(&e, 4, 2) != 0)
		tap_bail("ec_new");
	L = (ctrio_layout){ .e = e, .ndirs = 6, .dirs = dirs };
	ctrio_frag_path(&L, cid, index, out, cap);
	for (int i = 0; i < 6; i++)
		free(dirs[i]);
	ec_free(e);
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
