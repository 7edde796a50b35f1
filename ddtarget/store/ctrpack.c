/* ctrpack.c - compression regions at sealing (see ctrpack.h): each run of
 * segments is decompressed into one buffer and compressed whole, the runs
 * side by side on a pool; a region is kept if it is smaller than its
 * run's segments as they were stored. */
#include "ctrpack.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"

/* A region must save this much to be worth decompressing whole on reads;
 * it must also beat the segments' own compression (ctrpack_build). */
#define REGION_MIN_SAVING 3

/* One run of consecutive segments and, once compressed, its region. A
 * run is compressed by whichever thread takes its job; the container is
 * put together from the runs in order, on the caller's thread. */
typedef struct run {
	const ctr_builder *b;
	const ctrpack_opts *o;
	uint32_t first, n;	/* builder entries [first, first + n) */
	uint32_t raw_len;
	uint8_t *z;		/* the region, zlen bytes in codec */
	size_t zlen;
	int codec;
	int rc;
	char msg[160];		/* ddterr is per thread: the job's message */
	struct packing *k;
} run;

typedef struct packing {
	ctrpack *p;
	run *runs;
	uint32_t nruns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t pending;	/* runs not compressed yet */
} packing;

static int data_room(ctrpack *p, uint32_t more)
{
	uint32_t cap = p->data_cap ? p->data_cap : 64 * 1024;
	uint8_t *d;

	if (more > UINT32_MAX - p->data_len)
		return ddterr_set(-EINVAL, "container of more than 4 GiB");
	while (cap < p->data_len + more)
		cap = cap > UINT32_MAX / 2 ? p->data_len + more : cap * 2;
	if (cap == p->data_cap)
		return 0;
	d = realloc(p->data, cap);
	if (!d)
		return -ENOMEM;
	p->data = d;
	p->data_cap = cap;
	return 0;
}

static int data_append(ctrpack *p, const void *src, uint32_t len,
		       uint32_t *out_off)
{
	int rc = data_room(p, len);

	if (rc < 0)
		return rc;
	*out_off = p->data_len;
	if (len)
		memcpy(p->data + p->data_len, src, len);
	p->data_len += len;
	return 0;
}

/* ---- compressing a run (any thread) ---- */

static int run_compress(run *r)
{
	uint8_t *raw = malloc(r->raw_len ? r->raw_len : 1);
	size_t zcap = codec_bound(r->raw_len);
	uint32_t at = 0;
	int rc = 0;

	r->z = malloc(zcap ? zcap : 1);
	if (!raw || !r->z) {
		free(raw);
		return -ENOMEM;
	}
	for (uint32_t i = r->first; i < r->first + r->n && rc == 0; i++) {
		const ctr_entry *e = &r->b->ents[i];

		rc = codec_decompress(e->codec, r->b->data + e->off,
				      e->stored_len, raw + at, e->raw_len);
		if (rc < 0 && rc != -ENOMEM)
			rc = ddterr_set(-EIO, "sealing container %llu: "
					"segment %u: %s",
					(unsigned long long)r->b->cid, i,
					ddterr_last(rc));
		at += e->raw_len;
	}
	if (rc == 0)
		rc = codec_compress_level(r->o->codec, r->o->level,
					  REGION_MIN_SAVING, raw, r->raw_len,
					  r->z, zcap, &r->zlen, &r->codec);
	free(raw);
	return rc;
}

static void run_job(void *worker, void *arg)
{
	run *r = arg;
	packing *k = r->k;

	(void)worker;
	r->rc = run_compress(r);
	if (r->rc < 0)
		snprintf(r->msg, sizeof(r->msg), "%s", ddterr_last(r->rc));
	pthread_mutex_lock(&k->mu);
	if (--k->pending == 0)
		pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* Cut the builder's segments into runs of at most region_raw raw bytes
 * (a larger segment is a run alone). */
static int plan_runs(packing *k, const ctr_builder *b, const ctrpack_opts *o)
{
	run *r = NULL;

	k->runs = calloc(b->n ? b->n : 1, sizeof(*k->runs));
	if (!k->runs)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n; i++) {
		if (!r || r->raw_len + b->ents[i].raw_len > o->region_raw) {
			r = &k->runs[k->nruns++];
			*r = (run){ .b = b, .o = o, .first = i, .k = k };
		}
		r->n++;
		r->raw_len += b->ents[i].raw_len;
	}
	return 0;
}

/* Compress every run: on the pool, with this thread taking jobs too
 * while it waits, or here alone. */
static void compress_runs(packing *k, tpool *pool)
{
	k->pending = k->nruns;
	for (uint32_t i = 0; i < k->nruns; i++)
		if (!pool || tpool_push(pool, run_job, &k->runs[i]) < 0)
			run_job(NULL, &k->runs[i]);
	pthread_mutex_lock(&k->mu);
	while (k->pending) {
		pthread_mutex_unlock(&k->mu);
		if (!pool || !tpool_run_one(pool)) {
			pthread_mutex_lock(&k->mu);
			if (k->pending)
				pthread_cond_wait(&k->cv, &k->mu);
			continue;
		}
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
}

/* ---- putting the container together (the caller's thread) ---- */

/* The run's segments as the writers stored them, each alone. */
static int keep_as_stored(packing *k, const run *r)
{
	for (uint32_t i = r->first; i < r->first + r->n; i++) {
		const ctr_entry *e = &r->b->ents[i];
		ctr_entry *d = &k->p->ents[i];
		int rc;

		*d = *e;
		rc = data_append(k->p, r->b->data + e->off, e->stored_len,
				 &d->off);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Each segment's share of the region's stored bytes, in proportion to its
 * raw bytes; the last takes what rounding leaves, so they add up. */
static void share_stored(packing *k, const run *r)
{
	uint64_t left = r->zlen;

	for (uint32_t i = r->first; i < r->first + r->n; i++) {
		ctr_entry *d = &k->p->ents[i];
		uint64_t share = r->raw_len ?
			(uint64_t)r->zlen * d->raw_len / r->raw_len : 0;

		if (i + 1 == r->first + r->n || share > left)
			share = left;
		d->stored_len = (uint32_t)share;
		left -= share;
	}
}

static int as_region(packing *k, const run *r)
{
	uint32_t at = 0, off;
	int rc;

	if (k->p->nreg == UINT16_MAX)
		return keep_as_stored(k, r);
	rc = data_append(k->p, r->z, (uint32_t)r->zlen, &off);
	if (rc < 0)
		return rc;
	k->p->regs[k->p->nreg++] = (ctr_region){
		.off = off, .stored_len = (uint32_t)r->zlen,
		.raw_len = r->raw_len, .codec = (uint8_t)r->codec };
	for (uint32_t i = r->first; i < r->first + r->n; i++) {
		ctr_entry *d = &k->p->ents[i];

		*d = r->b->ents[i];
		d->codec = CODEC_NONE;
		d->off = at;
		d->region = (uint16_t)k->p->nreg;
		at += d->raw_len;
	}
	share_stored(k, r);
	return 0;
}

/* A region is kept only if it beats the run's segments as stored. */
static int place_run(packing *k, const run *r)
{
	uint64_t as_stored = 0;

	if (r->rc < 0)
		return ddterr_set(r->rc, "%s", r->msg);
	for (uint32_t i = r->first; i < r->first + r->n; i++)
		as_stored += r->b->ents[i].stored_len;
	if (r->codec == CODEC_NONE || r->zlen >= as_stored)
		return keep_as_stored(k, r);
	return as_region(k, r);
}

int ctrpack_check(const ctrpack_opts *o)
{
	if (o->codec <= CODEC_NONE || o->codec >= CODEC_COUNT)
		return ddterr_set(-EINVAL, "compression regions: codec %d "
				  "cannot make regions", o->codec);
	if (o->level < -100 || o->level > 22)
		return ddterr_set(-EINVAL, "compression regions: level %d is "
				  "out of range -100..22", o->level);
	if (o->region_raw < 4096 || o->region_raw > CTR_REGION_MAX)
		return ddterr_set(-EINVAL, "compression regions of %u bytes: "
				  "4 KiB to %u", o->region_raw, CTR_REGION_MAX);
	return 0;
}

int ctrpack_build(const ctr_builder *b, const ctrpack_opts *o, tpool *pool,
		  ctrpack *out)
{
	packing k = { .p = out };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ctrpack_check(o);
	if (rc < 0)
		return rc;
	pthread_mutex_init(&k.mu, NULL);
	pthread_cond_init(&k.cv, NULL);
	out->ents = malloc((b->n ? b->n : 1) * sizeof(*out->ents));
	/* At most one region per segment. */
	out->regs = malloc((b->n ? b->n : 1) * sizeof(*out->regs));
	rc = out->ents && out->regs ? 0 : -ENOMEM;
	if (rc == 0)
		rc = plan_runs(&k, b, o);
	if (rc == 0)
		rc = data_room(out, b->data_len);
	if (rc == 0)
		compress_runs(&k, pool);
	for (uint32_t i = 0; rc == 0 && i < k.nruns; i++)
		rc = place_run(&k, &k.runs[i]);
	out->nseg = b->n;
	for (uint32_t i = 0; i < k.nruns; i++)
		free(k.runs[i].z);
	free(k.runs);
	pthread_mutex_destroy(&k.mu);
	pthread_cond_destroy(&k.cv);
	if (rc < 0)
		ctrpack_free(out);
	return rc;
}

void ctrpack_parts(const ctrpack *p, uint64_t cid, ctr_parts *out)
{
	*out = (ctr_parts){ .cid = cid, .ents = p->ents, .nseg = p->nseg,
			    .regs = p->regs, .nreg = p->nreg, .data = p->data,
			    .data_len = p->data_len };
}

uint64_t ctrpack_stored(const ctrpack *p)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < p->nseg; i++)
		sum += p->ents[i].stored_len;
	return sum;
}

void ctrpack_free(ctrpack *p)
{
	free(p->ents);
	free(p->regs);
	free(p->data);
	memset(p, 0, sizeof(*p));
}
