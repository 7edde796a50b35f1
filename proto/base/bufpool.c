/* bufpool.c - large buffers kept for reuse (bufpool.h): one small stack of
 * free buffers per power of two, under one lock. */
#include "bufpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ddterr.h"

#define CLASSES	7	/* 1, 2, 4, ..., 64 MiB */

struct bufpool {
	pthread_mutex_t mu;
	uint8_t *kept[CLASSES][BUFPOOL_KEEP];
	unsigned n[CLASSES];
};

int bufpool_new(bufpool **out)
{
	bufpool *bp = calloc(1, sizeof(*bp));

	if (!bp)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&bp->mu, NULL);
	*out = bp;
	return 0;
}

void bufpool_free(bufpool *bp)
{
	if (!bp)
		return;
	for (int c = 0; c < CLASSES; c++)
		for (unsigned i = 0; i < bp->n[c]; i++)
			free(bp->kept[c][i]);
	pthread_mutex_destroy(&bp->mu);
	free(bp);
}

/* The class of size: c with BUFPOOL_MIN << c at or above it. */
static int class_of(size_t size)
{
	int c = 0;

	while (c < CLASSES && ((size_t)BUFPOOL_MIN << c) < size)
		c++;
	return c;
}

uint8_t *bufpool_get(bufpool *bp, size_t need, size_t *cap)
{
	uint8_t *p = NULL;
	int c;

	if (need == 0 || need > BUFPOOL_MAX)
		return NULL;
	c = class_of(need);
	pthread_mutex_lock(&bp->mu);
	if (bp->n[c])
		p = bp->kept[c][--bp->n[c]];
	pthread_mutex_unlock(&bp->mu);
	if (!p)
		p = aligned_alloc(4096, (size_t)BUFPOOL_MIN << c);
	if (p)
		*cap = (size_t)BUFPOOL_MIN << c;
	return p;
}

void bufpool_put(bufpool *bp, uint8_t *p, size_t cap)
{
	int c = class_of(cap);

	if (!p)
		return;
	if (c < CLASSES && ((size_t)BUFPOOL_MIN << c) == cap) {
		pthread_mutex_lock(&bp->mu);
		if (bp->n[c] < BUFPOOL_KEEP) {
			bp->kept[c][bp->n[c]++] = p;
			p = NULL;
		}
		pthread_mutex_unlock(&bp->mu);
	}
	free(p);
}

size_t bufpool_kept(bufpool *bp)
{
	size_t k = 0;

	pthread_mutex_lock(&bp->mu);
	for (int c = 0; c < CLASSES; c++)
		k += bp->n[c];
	pthread_mutex_unlock(&bp->mu);
	return k;
}
