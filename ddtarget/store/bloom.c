/* bloom.c - a cache-line-blocked Bloom filter.
 *
 * A classic Bloom filter touches k random cache lines per query; with tens of
 * millions of fingerprints the filter is far larger than the CPU caches, so
 * each probe is a cache miss. Here a fingerprint picks one 64-byte block and
 * sets all its k bits inside it: one miss per query. The price is a slightly
 * higher false-positive rate for the same size (Putze et al., "Cache-,
 * Hash- and Space-Efficient Bloom Filters"), paid for with 16 bits per entry
 * instead of 10, which keeps it near 0.5%. The fingerprint is already a
 * uniform hash, so its bytes are used directly: 8 bytes choose the block and
 * the next bytes give the k in-block bit positions, 9 bits each.
 *
 * One miss per query is still a miss in a filter of hundreds of MiB (1 TB
 * of 8 KiB segments: 512 MiB), and on 4 KiB pages it is a TLB miss and a
 * page walk as well; a filter of 2 MiB or more asks for huge pages. */
#include "bloom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bytes.h"

#define BLOOM_BITS_PER_ENTRY	16
#define BLOOM_K			8
#define BLOCK_WORDS		8	/* 8 x 64 bits = one 64-byte line */
#define HUGE_PAGE		(2u << 20)

struct bloom {
	uint64_t *words;
	uint64_t nblocks;
	uint64_t count, capacity;
};

int bloom_new(bloom **out, uint64_t capacity)
{
	bloom *b = calloc(1, sizeof(*b));
	uint64_t bits;
	size_t bytes;

	if (!b)
		return -ENOMEM;
	if (capacity < 1024)
		capacity = 1024;
	bits = capacity * BLOOM_BITS_PER_ENTRY;
	b->nblocks = (bits + 511) / 512;
	b->capacity = capacity;
	bytes = b->nblocks * BLOCK_WORDS * sizeof(uint64_t);
	if (posix_memalign((void **)&b->words, bytes >= HUGE_PAGE ? HUGE_PAGE :
			   64, bytes)) {
		free(b);
		return -ENOMEM;
	}
	/* Before the pages are touched; only a hint, so its failure (no
	 * transparent huge pages here) changes nothing but speed. */
	if (bytes >= HUGE_PAGE)
		(void)madvise(b->words, bytes & ~(size_t)(HUGE_PAGE - 1),
			      MADV_HUGEPAGE);
	memset(b->words, 0, bytes);
	*out = b;
	return 0;
}

void bloom_free(bloom *b)
{
	if (!b)
		return;
	free(b->words);
	free(b);
}

static uint64_t *block_of(const bloom *b, const fp_t *fp)
{
	/* Multiply-shift maps the 64-bit hash onto [0, nblocks) without a
	 * division and without favouring low blocks. */
	uint64_t h = get_le64(fp->b);
	uint64_t i = (uint64_t)(((unsigned __int128)h * b->nblocks) >> 64);

	return b->words + i * BLOCK_WORDS;
}

/* The k bit positions (0..511) within the block, from bytes 8..17. */
static void positions(const fp_t *fp, unsigned pos[BLOOM_K])
{
	uint64_t v = get_le64(fp->b + 8);
	uint64_t w = get_le64(fp->b + 16);

	for (int i = 0; i < BLOOM_K; i++) {
		pos[i] = (unsigned)(v & 511);
		v = (v >> 9) | (w << 55);
		w >>= 9;
	}
}

void bloom_add(bloom *b, const fp_t *fp)
{
	uint64_t *blk = block_of(b, fp);
	unsigned pos[BLOOM_K];

	positions(fp, pos);
	for (int i = 0; i < BLOOM_K; i++)
		blk[pos[i] >> 6] |= 1ull << (pos[i] & 63);
	b->count++;
}

int bloom_maybe(const bloom *b, const fp_t *fp)
{
	const uint64_t *blk = block_of(b, fp);
	unsigned pos[BLOOM_K];

	positions(fp, pos);
	for (int i = 0; i < BLOOM_K; i++)
		if (!(blk[pos[i] >> 6] & (1ull << (pos[i] & 63))))
			return 0;
	return 1;
}

uint64_t bloom_count(const bloom *b)
{
	return b->count;
}

uint64_t bloom_capacity(const bloom *b)
{
	return b->capacity;
}

size_t bloom_bytes(const bloom *b)
{
	return b->nblocks * BLOCK_WORDS * sizeof(uint64_t);
}
