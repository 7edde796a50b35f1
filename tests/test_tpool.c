/* test_tpool.c - the worker pool runs every job once, in order per
 * thread, bounds its queue, gives each thread its own state, lets an
 * outsider run a job, drains, and runs what is left when freed. */
#include "tpool.h"
#include "tap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int ran;
static atomic_int hits[1000];

static void count_job(void *worker, void *arg)
{
	(void)worker;
	atomic_fetch_add(&hits[(intptr_t)arg], 1);
	atomic_fetch_add(&ran, 1);
}

static void test_all_run_once(void)
{
	tpool_opts o = { .threads = 3, .name = "t" };
	tpool *p;
	int once = 1;

	ok(tpool_new(&p, &o) == 0, "a pool of three threads starts");
	for (intptr_t i = 0; i < 1000; i++)
		if (tpool_push(p, count_job, (void *)i) != 0)
			tap_bail("push");
	tpool_drain(p);
	for (int i = 0; i < 1000; i++)
		once &= atomic_load(&hits[i]) == 1;
	ok(atomic_load(&ran) == 1000 && once && tpool_queued(p) == 0,
	   "after drain, each of 1000 jobs ran exactly once");
	tpool_free(p);
}

/* One thread: jobs run in the order they were queued. */
static int seen[64], nseen;

static void order_job(void *worker, void *arg)
{
	(void)worker;
	seen[nseen++] = (int)(intptr_t)arg;
}

static void test_fifo(void)
{
	tpool_opts o = { .threads = 1 };
	tpool *p;
	int inorder = 1;

	if (tpool_new(&p, &o) != 0)
		tap_bail("tpool_new");
	for (intptr_t i = 0; i < 64; i++)
		tpool_push(p, order_job, (void *)i);
	tpool_free(p);		/* runs what is queued first */
	for (int i = 0; i < 64; i++)
		inorder &= seen[i] == i;
	ok(nseen == 64 && inorder, "one thread runs 64 jobs in queue order, "
	   "and free runs them all first");
}

/* A bounded queue: the producer waits while max jobs wait. */
static atomic_int gate, most_queued;
static tpool *bp;

static void slow_job(void *worker, void *arg)
{
	int q;

	(void)worker;
	(void)arg;
	while (!atomic_load(&gate))
		usleep(1000);
	q = (int)tpool_queued(bp);
	if (q > atomic_load(&most_queued))
		atomic_store(&most_queued, q);
}

static void *open_gate(void *arg)
{
	(void)arg;
	usleep(50000);
	atomic_store(&gate, 1);
	return NULL;
}

static void test_bound(void)
{
	tpool_opts o = { .threads = 2, .max_queued = 4 };
	pthread_t t;

	if (tpool_new(&bp, &o) != 0)
		tap_bail("tpool_new");
	pthread_create(&t, NULL, open_gate, NULL);
	for (int i = 0; i < 40; i++) {
		tpool_push(bp, slow_job, NULL);
		if ((int)tpool_queued(bp) > 4)
			atomic_store(&most_queued, 99);
	}
	tpool_drain(bp);
	pthread_join(t, NULL);
	ok(atomic_load(&most_queued) <= 4,
	   "a queue bounded at 4 never holds more (most seen %d)",
	   atomic_load(&most_queued));
	tpool_free(bp);
}

/* Each thread's own state, made on it and freed after. */
static atomic_int inits, finis, bad_worker;

static int w_init(void *ctx, void **out)
{
	int *w = malloc(sizeof(*w));

	if (!w)
		return -12;
	*w = 42 + (int)(intptr_t)ctx;
	*out = w;
	atomic_fetch_add(&inits, 1);
	return 0;
}

static void w_fini(void *ctx, void *worker)
{
	(void)ctx;
	free(worker);
	atomic_fetch_add(&finis, 1);
}

static void worker_job(void *worker, void *arg)
{
	(void)arg;
	if (!worker || *(int *)worker != 43)
		atomic_store(&bad_worker, 1);
}

static void test_worker_state(void)
{
	tpool_opts o = { .threads = 2, .worker_init = w_init,
			 .worker_fini = w_fini, .ctx = (void *)1 };
	tpool *p;

	if (tpool_new(&p, &o) != 0)
		tap_bail("tpool_new");
	for (int i = 0; i < 100; i++)
		tpool_push(p, worker_job, NULL);
	tpool_free(p);
	ok(atomic_load(&inits) == 2 && atomic_load(&finis) == 2 &&
	   !atomic_load(&bad_worker),
	   "each thread's state is made once, given to its jobs, freed once");
}

static int fail_init(void *ctx, void **out)
{
	(void)ctx;
	(void)out;
	return -5;
}

static void test_init_fails(void)
{
	tpool_opts o = { .threads = 2, .worker_init = fail_init };
	tpool *p = NULL;

	ok(tpool_new(&p, &o) == -5 && p == NULL,
	   "a worker_init that fails fails tpool_new with its error");
	o.threads = 0;
	ok(tpool_new(&p, &o) == -22, "a pool of no thread is -EINVAL");
}

/* An outsider runs a queued job while the only thread is busy. */
static atomic_int release;

static void block_job(void *worker, void *arg)
{
	(void)worker;
	(void)arg;
	while (!atomic_load(&release))
		usleep(1000);
}

static atomic_int outsider_ran;

static void mark_job(void *worker, void *arg)
{
	(void)arg;
	if (!worker)
		atomic_store(&outsider_ran, 1);
}

static void test_run_one(void)
{
	tpool_opts o = { .threads = 1 };
	tpool *p;
	int r0, r1, r2;

	if (tpool_new(&p, &o) != 0)
		tap_bail("tpool_new");
	tpool_push(p, block_job, NULL);
	while (tpool_queued(p))
		usleep(1000);	/* the thread has taken it */
	tpool_push(p, mark_job, NULL);
	r1 = tpool_run_one(p);
	r2 = tpool_run_one(p);
	atomic_store(&release, 1);
	tpool_drain(p);
	r0 = tpool_run_one(p);
	ok(r1 == 1 && r2 == 0 && r0 == 0 && atomic_load(&outsider_ran),
	   "tpool_run_one runs a queued job on the caller (worker NULL), "
	   "and says 0 when none waits");
	tpool_free(p);
}

int main(void)
{
	test_all_run_once();
	test_fifo();
	test_bound();
	test_worker_state();
	test_init_fails();
	test_run_one();
	return tap_done();
}
