/* pool.c - the job queues and the worker loop of pool.h. One lock covers
 * every queue, so "idle" (all queues empty and nothing running) is one
 * condition; a failure wakes a producer waiting for room, which then drops
 * what it holds instead of waiting on workers that run nothing more. */
#include "pool.h"

void pool_init(pool *p, unsigned nq, size_t max, atomic_int *failed,
	       pool_run_fn run, pool_drop_fn drop)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->nq = nq;
	for (unsigned i = 0; i < nq; i++) {
		pool_queue *q = &p->q[i];

		q->head = q->tail = NULL;
		q->n = 0;
		pthread_cond_init(&q->more, NULL);
		pthread_cond_init(&q->room, NULL);
	}
	p->max = max;
	p->busy = 0;
	p->stop = 0;
	p->failed = failed;
	p->run = run;
	p->drop = drop;
}

void pool_put(pool *p, pool_queue *q, pool_job *j)
{
	pthread_mutex_lock(&p->lock);
	while (q->n >= p->max && !atomic_load(p->failed))
		pthread_cond_wait(&q->room, &p->lock);
	if (atomic_load(p->failed)) {
		pthread_mutex_unlock(&p->lock);
		p->drop(j);
		return;
	}
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&p->lock);
}

static int idle_locked(pool *p)
{
	for (unsigned i = 0; i < p->nq; i++)
		if (p->q[i].head)
			return 0;
	return p->busy == 0;
}

void pool_drain(pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (!idle_locked(p))
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void pool_work(pool *p, pool_queue *q, void *worker)
{
	pool_job *j;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!q->head && !p->stop)
			pthread_cond_wait(&q->more, &p->lock);
		j = q->head;
		if (!j) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		p->busy++;
		pthread_cond_signal(&q->room);
		pthread_mutex_unlock(&p->lock);

		if (!atomic_load(p->failed))
			p->run(worker, j);
		else
			p->drop(j);

		pthread_mutex_lock(&p->lock);
		p->busy--;
		if (idle_locked(p))
			pthread_cond_broadcast(&p->idle);
		/* A failure may have left the producer waiting for room. */
		if (atomic_load(p->failed))
			for (unsigned i = 0; i < p->nq; i++)
				pthread_cond_broadcast(&p->q[i].room);
		pthread_mutex_unlock(&p->lock);
	}
}

void pool_stop(pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	for (unsigned i = 0; i < p->nq; i++)
		pthread_cond_broadcast(&p->q[i].more);
	pthread_mutex_unlock(&p->lock);
}
