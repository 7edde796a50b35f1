/* wpool.c - the file writer's pool (wpool.h): a tpool for the threads, and
 * under one mutex the memory charged, the spare batch buffers and the idle
 * SEG_PUT frame buffers. */
#include "wpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "ddterr.h"

#define WPOOL_SPARE	4	/* full-size buffers kept for reuse */

struct wpool {
	tpool *tp;
	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t mem_cv;	/* writers wait for memory */
	size_t mem, full;	/* charged bytes; a full buffer's size */
	uint8_t *spare[WPOOL_SPARE];
	int nspare;
	wbuf **wbs;		/* idle SEG_PUT frame buffers */
	int nwbs, maxwbs;
};

/* Workers take no signals: the threads are made with every signal
 * blocked, and keep that mask. */
static int start_workers(wpool *p, int threads)
{
	tpool_opts o = { .threads = threads, .name = "ddtc" };
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = tpool_new(&p->tp, &o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return ddterr_set(rc, "cannot start the writer's threads: %s",
				  ddterr_last(rc));
	return 0;
}

int wpool_new(wpool **out, int threads, size_t full)
{
	wpool *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->mem_cv, NULL);
	p->full = full;
	p->maxwbs = threads + 2;
	p->wbs = calloc((size_t)p->maxwbs, sizeof(*p->wbs));
	rc = p->wbs ? start_workers(p, threads) : -ENOMEM;
	if (rc < 0) {
		wpool_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void wpool_free(wpool *p)
{
	if (!p)
		return;
	tpool_free(p->tp);
	for (int i = 0; i < p->nspare; i++)
		free(p->spare[i]);
	for (int i = 0; i < p->nwbs; i++) {
		wb_free(p->wbs[i]);
		free(p->wbs[i]);
	}
	pthread_cond_destroy(&p->mem_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->wbs);
	free(p);
}

int wpool_push(wpool *p, tpool_fn fn, void *arg)
{
	return tpool_push(p->tp, fn, arg);
}

void wpool_charge(wpool *p, size_t n)
{
	pthread_mutex_lock(&p->mu);
	p->mem += n;
	pthread_mutex_unlock(&p->mu);
}

void wpool_uncharge(wpool *p, size_t n)
{
	pthread_mutex_lock(&p->mu);
	p->mem -= n;
	if (p->mem <= WPOOL_MEM_CAP)
		pthread_cond_broadcast(&p->mem_cv);
	pthread_mutex_unlock(&p->mu);
}

/* mu is let go while a job runs: the job uncharges. */
void wpool_mem_wait(wpool *p)
{
	int ran;

	pthread_mutex_lock(&p->mu);
	while (p->mem > WPOOL_MEM_CAP) {
		pthread_mutex_unlock(&p->mu);
		ran = tpool_run_one(p->tp);
		pthread_mutex_lock(&p->mu);
		if (!ran && p->mem > WPOOL_MEM_CAP)
			pthread_cond_wait(&p->mem_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

size_t wpool_full(const wpool *p)
{
	return p->full;
}

uint8_t *wpool_buf_get(wpool *p)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->nspare)
		buf = p->spare[--p->nspare];
	pthread_mutex_unlock(&p->mu);
	return buf ? buf : malloc(p->full);
}

void wpool_buf_put(wpool *p, uint8_t *buf, size_t cap)
{
	pthread_mutex_lock(&p->mu);
	if (cap == p->full && p->nspare < WPOOL_SPARE) {
		p->spare[p->nspare++] = buf;
		buf = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	free(buf);
}

wbuf *wpool_wbuf_get(wpool *p)
{
	wbuf *w = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->nwbs)
		w = p->wbs[--p->nwbs];
	pthread_mutex_unlock(&p->mu);
	if (!w && (w = malloc(sizeof(*w))))
		wb_init(w);
	return w;
}

void wpool_wbuf_put(wpool *p, wbuf *w)
{
	pthread_mutex_lock(&p->mu);
	if (p->nwbs < p->maxwbs) {
		p->wbs[p->nwbs++] = w;
		w = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (w) {
		wb_free(w);
		free(w);
	}
}
