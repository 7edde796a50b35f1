/* bufpool.h - large buffers kept for the next use instead of freed. A
 * server that builds a multi-MiB reply for every READ and frees it once
 * sent leaves holes of the wrong size among the heap's other blocks: its
 * heap grows past what it uses, and each new buffer is fresh pages, a page
 * fault for every 4 KiB it fills. Kept here, a buffer comes back to the
 * next reply with its pages still mapped. Sizes are powers of two from
 * BUFPOOL_MIN; at most BUFPOOL_KEEP of each size are kept. Thread-safe. */
#ifndef DDT_BUFPOOL_H
#define DDT_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

#define BUFPOOL_MIN	(1u << 20)
#define BUFPOOL_MAX	(64u << 20)
#define BUFPOOL_KEEP	8

typedef struct bufpool bufpool;

int bufpool_new(bufpool **out);
/* Frees the buffers kept; the ones given out are the holders'. */
void bufpool_free(bufpool *bp);

/* A buffer of at least need bytes, page-aligned (from aligned_alloc():
 * free() may take it too);
 * *cap: its size, the power of two at or above need. NULL if need is
 * outside [1, BUFPOOL_MAX] or memory is short. */
uint8_t *bufpool_get(bufpool *bp, size_t need, size_t *cap);
/* Give back p, cap bytes long: kept if cap is one of the pool's sizes
 * and fewer than BUFPOOL_KEEP of it are kept, else freed. */
void bufpool_put(bufpool *bp, uint8_t *p, size_t cap);

/* Buffers kept now, for tests. */
size_t bufpool_kept(bufpool *bp);

#endif
