/* test_bufpool.c - the pool of large buffers (proto/base/bufpool.h): sizes
 * rounded up to a power of two from BUFPOOL_MIN, a buffer given back is
 * the next one given out, at most BUFPOOL_KEEP of a size kept, odd sizes
 * freed, and requests outside its range refused. */
#include "bufpool.h"
#include "tap.h"

#include <string.h>

static void test_sizes_and_reuse(void)
{
	uint8_t *p, *q;
	size_t cap = 0;
	bufpool *bp;

	ok(bufpool_new(&bp) == 0, "a pool");
	p = bufpool_get(bp, (1u << 20) + 12, &cap);
	ok(p && cap == 2u << 20, "1 MiB + 12 bytes: a 2 MiB buffer");
	memset(p, 7, cap);
	bufpool_put(bp, p, cap);
	ok(bufpool_kept(bp) == 1, "given back, it is kept");
	q = bufpool_get(bp, 1500000, &cap);
	ok(q == p && cap == 2u << 20 && q[cap - 1] == 7,
	   "the next request of that size gets the same buffer");
	bufpool_put(bp, q, cap);
	p = bufpool_get(bp, 100, &cap);
	ok(p && cap == BUFPOOL_MIN, "a small request: the smallest size");
	bufpool_put(bp, p, 3u << 20);
	ok(bufpool_kept(bp) == 1, "a buffer of another size is freed, not kept");
	ok(!bufpool_get(bp, 0, &cap) && !bufpool_get(bp, BUFPOOL_MAX + 1, &cap),
	   "0 bytes and more than BUFPOOL_MAX are refused");
	bufpool_free(bp);
}

static void test_bound(void)
{
	uint8_t *p[BUFPOOL_KEEP + 3];
	size_t cap = 0;
	bufpool *bp;
	int aligned = 1;

	ok(bufpool_new(&bp) == 0, "a pool");
	for (int i = 0; i < BUFPOOL_KEEP + 3; i++) {
		p[i] = bufpool_get(bp, 1u << 20, &cap);
		aligned &= p[i] && ((uintptr_t)p[i] & 4095) == 0;
	}
	ok(aligned, "buffers are page-aligned (for O_DIRECT)");
	for (int i = 0; i < BUFPOOL_KEEP + 3; i++)
		bufpool_put(bp, p[i], cap);
	ok(bufpool_kept(bp) == BUFPOOL_KEEP,
	   "of %d given back, BUFPOOL_KEEP are kept", BUFPOOL_KEEP + 3);
	bufpool_free(bp);
}

int main(void)
{
	test_sizes_and_reuse();
	test_bound();
	return tap_done();
}
