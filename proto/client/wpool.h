/* wpool.h - the file writer's shared machinery, one per session (wpool.c):
 * its worker threads (a tpool), its cap on the raw bytes in flight, and
 * the buffers it keeps for reuse (full-size batch buffers, SEG_PUT frame
 * buffers). file.c's pipeline runs on it; file.c says which thread runs
 * which stage. */
#ifndef DDTC_WPOOL_H
#define DDTC_WPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "tpool.h"
#include "wire.h"

/* Raw bytes of submitted batches a session holds at most before a writer
 * waits (wpool_mem_wait). */
#define WPOOL_MEM_CAP	(64u << 20)

typedef struct wpool wpool;

/* threads workers (>= 1), which take no signals: they belong to the
 * application. full: the size of a full batch buffer. 0 or -errno with a
 * ddterr message. */
int wpool_new(wpool **out, int threads, size_t full);
/* Run what is queued, stop the workers, free the buffers. */
void wpool_free(wpool *p);

/* Queue fn(NULL, arg) for a worker; 0 or -ENOMEM. */
int wpool_push(wpool *p, tpool_fn fn, void *arg);

/* Raw bytes submitted, and given back once sent or known present. */
void wpool_charge(wpool *p, size_t n);
void wpool_uncharge(wpool *p, size_t n);
/* Wait until the session is under WPOOL_MEM_CAP, running queued work on
 * this thread meanwhile rather than idling. Only submitted batches are
 * charged and they finish without any writer's help, so this cannot
 * deadlock, whatever else the caller holds open. */
void wpool_mem_wait(wpool *p);

/* A full-size buffer (wpool_full() bytes), from the spares if one is
 * there: freeing and faulting in 4 MiB per batch would cost as much as
 * copying it. NULL without memory. wpool_buf_put() keeps a few full-size
 * ones (cap == wpool_full()) and frees the rest. */
size_t wpool_full(const wpool *p);
uint8_t *wpool_buf_get(wpool *p);
void wpool_buf_put(wpool *p, uint8_t *buf, size_t cap);

/* A SEG_PUT frame buffer, grown to size by earlier use if one is kept;
 * NULL without memory. wpool_wbuf_put() keeps a few, frees the rest. */
wbuf *wpool_wbuf_get(wpool *p);
void wpool_wbuf_put(wpool *p, wbuf *w);

#endif
