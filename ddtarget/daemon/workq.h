/* workq.h - a fixed pool of worker threads for the daemon's CPU and disk
 * work (hashing received segments, erasure coding, index reads), so that
 * none of it runs on the event loop and both cores are used. Jobs are run
 * in the order they were queued, by whichever worker is free. */
#ifndef WORKQ_H
#define WORKQ_H

typedef struct workq workq;
typedef void (*workq_fn)(void *arg);

int workq_new(workq **out, int nthreads);
/* Queue fn(arg). 0 or -ENOMEM. Thread-safe. */
int workq_push(workq *q, workq_fn fn, void *arg);
/* Run what is queued, then stop and join the threads. */
void workq_free(workq *q);

#endif
