/* workq.c - the daemon's worker pool: a mutex, a condition variable and a
 * singly linked FIFO of jobs. Requests are milliseconds of work each, so a
 * simple shared queue costs nothing next to them. */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct job {
	workq_fn fn;
	void *arg;
	struct job *next;
} job;

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *head, *tail;
	int stopping;
	int nthreads;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	workq *q = arg;
	job *j;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->head)
			break;
		j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int workq_new(workq **out, int nthreads)
{
	workq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->threads = calloc((size_t)nthreads, sizeof(*q->threads));
	if (!q->threads) {
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker_main, q) != 0)
			break;
		q->nthreads++;
	}
	if (q->nthreads == 0) {
		workq_free(q);
		return -EAGAIN;
	}
	*out = q;
	return 0;
}

int workq_push(workq *q, workq_fn fn, void *arg)
{
	job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void workq_free(workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->threads);
	free(q);
}
