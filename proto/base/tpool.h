/* tpool.h - the one shape of worker pool in ddtarget: a fixed set of
 * threads taking jobs, in order, from one FIFO queue under one lock. The
 * daemon's request workers, the client library's pipeline, ddt's backup
 * and restore workers and the store's fragment writers are all one.
 *
 * A job is a function and its argument. A queue may be bounded, so that a
 * producer never runs ahead of its workers without limit; a thread may
 * have state of its own (a buffer, a session), made on the thread before
 * its first job and passed to each; a thread that would otherwise wait
 * can run a queued job itself (tpool_run_one), so waiting for the pool
 * from outside it never idles a core. */
#ifndef TPOOL_H
#define TPOOL_H

#include <stddef.h>

typedef struct tpool tpool;

/* worker: the running thread's state (NULL without worker_init, and for
 * a job run by tpool_run_one). */
typedef void (*tpool_fn)(void *worker, void *arg);

typedef struct tpool_opts {
	int threads;		/* at least 1 */
	size_t max_queued;	/* tpool_push waits while this many wait; 0:
				   no bound */
	/* Per-thread state, both optional: init runs on each new thread
	 * before its first job (a failure ends that thread; tpool_new then
	 * fails), fini after its last. */
	int (*worker_init)(void *ctx, void **out_worker);
	void (*worker_fini)(void *ctx, void *worker);
	void *ctx;
	const char *name;	/* for the threads' names (15 bytes shown) */
} tpool_opts;

/* Start the threads. 0, -ENOMEM, or the error of a thread that could not
 * start (or whose worker_init failed), with a ddterr message. */
int tpool_new(tpool **out, const tpool_opts *o);

/* Queue fn(worker, arg), waiting for room in a bounded queue. 0 or
 * -ENOMEM. Thread-safe; a job may push more jobs, but a pool's own thread
 * must not wait for room in its own bounded queue (it would wait on
 * itself): give such pools no bound. */
int tpool_push(tpool *p, tpool_fn fn, void *arg);

/* Run one queued job on the calling thread, if there is one: 1 if it ran
 * one, 0 if the queue was empty. */
int tpool_run_one(tpool *p);

/* Wait until no job is queued or running. */
void tpool_drain(tpool *p);

/* How many jobs are queued, not yet taken. */
size_t tpool_queued(tpool *p);

/* Run what is queued, stop the threads and join them, free the pool. */
void tpool_free(tpool *p);

#endif
