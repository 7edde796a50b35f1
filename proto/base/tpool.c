/* tpool.c - the worker pool (tpool.h): a mutex, three condition variables
 * (work for the threads, room for producers, idle for drain) and a singly
 * linked FIFO. Jobs are milliseconds of work (a request, a batch of
 * segments, a fragment), so one shared queue costs nothing next to them. */
#include "tpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

typedef struct tjob {
	tpool_fn fn;
	void *arg;
	struct tjob *next;
} tjob;

struct tpool {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* a job was queued, or stopping */
	pthread_cond_t room;	/* a bounded queue shrank */
	pthread_cond_t idle;	/* nothing queued or running */
	tjob *head, *tail;
	size_t queued, running, max;
	int stopping;
	tpool_opts o;
	pthread_t *th;
	int nth;
	int started;		/* threads past worker_init */
	int init_err;		/* the first worker_init failure */
};

/* Take the next job, under mu. */
static tjob *take_locked(tpool *p)
{
	tjob *j = p->head;

	p->head = j->next;
	if (!p->head)
		p->tail = NULL;
	p->queued--;
	p->running++;
	pthread_cond_signal(&p->room);
	return j;
}

/* A job done, under mu. */
static void done_locked(tpool *p)
{
	p->running--;
	if (!p->queued && !p->running)
		pthread_cond_broadcast(&p->idle);
}

/* Run j, taken under mu: mu is let go for the job and held again after. */
static void run_taken(tpool *p, tjob *j, void *worker)
{
	pthread_mutex_unlock(&p->mu);
	j->fn(worker, j->arg);
	free(j);
	pthread_mutex_lock(&p->mu);
	done_locked(p);
}

static void *thread_main(void *arg)
{
	tpool *p = arg;
	void *worker = NULL;
	int rc = p->o.worker_init ? p->o.worker_init(p->o.ctx, &worker) : 0;

	pthread_mutex_lock(&p->mu);
	if (rc < 0 && !p->init_err)
		p->init_err = rc;
	p->started++;
	pthread_cond_broadcast(&p->idle);
	while (rc == 0) {
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->work, &p->mu);
		if (!p->head)
			break;
		run_taken(p, take_locked(p), worker);
	}
	pthread_mutex_unlock(&p->mu);
	if (rc == 0 && p->o.worker_fini)
		p->o.worker_fini(p->o.ctx, worker);
	return NULL;
}

/* Threads named "name-N" where the system allows; only a label. */
static void name_thread(tpool *p, int i)
{
	char name[24];

	if (!p->o.name)
		return;
	snprintf(name, sizeof(name), "%.11s-%d", p->o.name, i % 1000);
	name[15] = '\0';	/* the kernel keeps 15 bytes */
	(void)pthread_setname_np(p->th[i], name);
}

static int start_threads(tpool *p)
{
	int rc;

	for (int i = 0; i < p->o.threads; i++) {
		rc = pthread_create(&p->th[i], NULL, thread_main, p);
		if (rc != 0)
			return ddterr_set(-rc, "cannot start a %s thread: %s",
					  p->o.name ? p->o.name : "worker",
					  strerror(rc));
		p->nth++;
		name_thread(p, i);
	}
	pthread_mutex_lock(&p->mu);
	while (p->started < p->nth)
		pthread_cond_wait(&p->idle, &p->mu);
	rc = p->init_err;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int tpool_new(tpool **out, const tpool_opts *o)
{
	tpool *p;
	int rc;

	if (o->threads < 1)
		return ddterr_set(-EINVAL, "a pool needs a thread, not %d",
				  o->threads);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *o;
	p->max = o->max_queued;
	p->th = calloc((size_t)o->threads, sizeof(*p->th));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->idle, NULL);
	rc = p->th ? start_threads(p) : -ENOMEM;
	if (rc < 0) {
		tpool_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int tpool_push(tpool *p, tpool_fn fn, void *arg)
{
	tjob *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	while (p->max && p->queued >= p->max && !p->stopping)
		pthread_cond_wait(&p->room, &p->mu);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int tpool_run_one(tpool *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->head) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	run_taken(p, take_locked(p), NULL);
	pthread_mutex_unlock(&p->mu);
	return 1;
}

void tpool_drain(tpool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->queued || p->running)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

size_t tpool_queued(tpool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void tpool_free(tpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->room);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	/* A pool whose threads never started (or all failed to) may still
	 * hold jobs: run them here, as promised. */
	while (tpool_run_one(p))
		;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->idle);
	free(p->th);
	free(p);
}
