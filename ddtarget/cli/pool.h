/* pool.h - the worker pool ddt backup and ddt restore share: bounded FIFO
 * queues of jobs under one lock, worker threads that each serve one queue,
 * and a failure flag after which jobs are dropped instead of run. The
 * threads are the caller's (each command gives its workers what they
 * need); every one of them runs pool_work(). */
#ifndef DDT_POOL_H
#define DDT_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define POOL_QUEUES_MAX	2

/* The link a job starts with: the caller's job struct has it first. */
typedef struct pool_job {
	struct pool_job *next;
} pool_job;

typedef struct pool_queue {
	pool_job *head, *tail;
	size_t n;
	pthread_cond_t more, room;
} pool_queue;

/* Runs j on the worker that took it (the caller's worker struct), then
 * frees it. */
typedef void (*pool_run_fn)(void *worker, pool_job *j);
/* Disposes of a job that will not run: queued or taken after a failure. */
typedef void (*pool_drop_fn)(pool_job *j);

typedef struct pool {
	pthread_mutex_t lock;	/* the queues, busy, stop */
	pthread_cond_t idle;
	pool_queue q[POOL_QUEUES_MAX];
	unsigned nq;
	size_t max;		/* jobs a queue holds before pool_put waits */
	unsigned busy;		/* jobs being run */
	int stop;
	atomic_int *failed;	/* set (by the caller): drop, do not run */
	pool_run_fn run;
	pool_drop_fn drop;
} pool;

/* nq queues (at most POOL_QUEUES_MAX) of max jobs each. */
void pool_init(pool *p, unsigned nq, size_t max, atomic_int *failed,
	       pool_run_fn run, pool_drop_fn drop);

/* Hand j to q, waiting for room: the producer runs ahead, but not without
 * bound. Once *failed is set, j is dropped instead. */
void pool_put(pool *p, pool_queue *q, pool_job *j);

/* Wait until every queue is empty and no job runs. */
void pool_drain(pool *p);

/* A worker thread's loop: run the jobs of q until pool_stop(); worker is
 * passed to run(). */
void pool_work(pool *p, pool_queue *q, void *worker);

/* Tell the workers to return once their queues are empty; the caller
 * then joins its threads. */
void pool_stop(pool *p);

#endif
