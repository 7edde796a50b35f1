/* gw_ra.c - read-ahead (gw_ra.h). A stream is a file being read in
 * order: its version, where its reader stopped, and up to GW_RA_DEPTH
 * blocks, each empty, being fetched, or fetched (with the result of its
 * ddtc_read). The fetches run on a small pool of their own, never on the
 * callers' threads, so a caller waiting for a block never waits on a job
 * queued behind itself. Streams are reused least recently used first;
 * a block still being fetched keeps its stream's slot from reuse. */
#include "gw_ra.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "now.h"
#include "tpool.h"

#define RA_THREADS	4

typedef struct ra_block {
	uint64_t off;
	size_t len, got;
	uint8_t *buf;
	int state;		/* 0 empty, 1 fetching, 2 fetched */
	int rc;
	unsigned gen;		/* its stream's, when it was asked for */
} ra_block;

typedef struct ra_stream {
	uint64_t ino, ver, size;
	uint64_t next;		/* where the reader stopped */
	uint64_t ahead;		/* where the fetched blocks end */
	unsigned gen;		/* up at each reset: older blocks are void */
	int64_t used;
	ra_block b[GW_RA_DEPTH];
} ra_stream;

struct gw_ra {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	gw_sess *sess;
	tpool *pool;
	ra_stream s[GW_RA_STREAMS];
};

typedef struct ra_job {
	gw_ra *r;
	ra_stream *st;
	ra_block *b;
	uint64_t ino;
} ra_job;

int gw_ra_new(gw_ra **out, gw_sess *s)
{
	tpool_opts o = { .threads = RA_THREADS, .name = "gw-readahead" };
	gw_ra *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->sess = s;
	rc = tpool_new(&r->pool, &o);
	if (rc < 0) {
		gw_ra_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void block_clear(ra_block *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void gw_ra_free(gw_ra *r)
{
	if (!r)
		return;
	tpool_free(r->pool);	/* the fetches in progress finish */
	for (int i = 0; i < GW_RA_STREAMS; i++)
		for (int k = 0; k < GW_RA_DEPTH; k++)
			block_clear(&r->s[i].b[k]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* ---- fetching (the pool's threads) ---- */

static void fetch(void *worker, void *arg)
{
	ra_job *j = arg;
	ra_block *b = j->b;
	size_t got = 0;
	ddtc *c;
	int rc;

	(void)worker;
	rc = gw_sess_get(j->r->sess, &c);
	if (rc == 0) {
		rc = ddtc_read(c, j->ino, b->off, b->buf, b->len, &got);
		gw_sess_put(j->r->sess, c, rc);
	}
	pthread_mutex_lock(&j->r->mu);
	b->got = got;
	b->rc = rc;
	b->state = 2;
	pthread_cond_broadcast(&j->r->cv);
	pthread_mutex_unlock(&j->r->mu);
	free(j);
}

/* Under the lock: fetch blocks of n bytes from st->ahead on, in the
 * empty places. */
static void fill(gw_ra *r, ra_stream *st, size_t n)
{
	for (int k = 0; k < GW_RA_DEPTH; k++) {
		ra_block *b = &st->b[k];
		ra_job *j;

		if (b->state != 0)
			continue;
		if (st->ahead >= st->size)
			return;		/* nothing past the end */
		b->buf = malloc(n);
		j = malloc(sizeof(*j));
		if (!b->buf || !j) {
			free(j);
			block_clear(b);
			return;
		}
		b->off = st->ahead;
		b->len = n;
		b->state = 1;
		b->gen = st->gen;
		*j = (ra_job){ r, st, b, st->ino };
		if (tpool_push(r->pool, fetch, j) < 0) {
			free(j);
			block_clear(b);
			return;
		}
		st->ahead += n;
	}
}

/* ---- streams (under the lock) ---- */

static int stream_busy(const ra_stream *st)
{
	for (int k = 0; k < GW_RA_DEPTH; k++)
		if (st->b[k].state == 1)
			return 1;
	return 0;
}

/* Drop what st holds that was fetched; a block being fetched is void
 * from now on (its generation is old) and dropped when it arrives. */
static void stream_reset(ra_stream *st, uint64_t ino, uint64_t ver,
			 uint64_t size)
{
	for (int k = 0; k < GW_RA_DEPTH; k++)
		if (st->b[k].state == 2)
			block_clear(&st->b[k]);
	st->ino = ino;
	st->ver = ver;
	st->size = size;
	st->next = st->ahead = 0;
	st->gen++;
}

/* Whether a read at off, n bytes, goes on from where st's reader was:
 * near it, either side, because the kernel sends a FUSE mount's
 * read-ahead as several requests at once, which arrive in any order. */
static int stream_near(const ra_stream *st, uint64_t off, size_t n)
{
	uint64_t w = (uint64_t)GW_RA_DEPTH * n;

	return off > 0 && off + w >= st->next && off <= st->next + w;
}

/* Drop the fetched blocks no reader will take: void ones, those well
 * behind the reader, and those of another size than it reads. */
static void stream_prune(ra_stream *st, size_t n)
{
	uint64_t w = (uint64_t)GW_RA_DEPTH * n;

	for (int k = 0; k < GW_RA_DEPTH; k++) {
		ra_block *b = &st->b[k];

		if (b->state == 2 && (b->gen != st->gen || b->len != n ||
				      b->off + w < st->next))
			block_clear(b);
	}
}

static ra_stream *stream_of(gw_ra *r, uint64_t ino)
{
	for (int i = 0; i < GW_RA_STREAMS; i++)
		if (r->s[i].ino == ino)
			return &r->s[i];
	return NULL;
}

/* A slot for ino: the least recently used one not fetching. */
static ra_stream *stream_new(gw_ra *r, uint64_t ino, uint64_t ver,
			     uint64_t size)
{
	ra_stream *best = NULL;

	for (int i = 0; i < GW_RA_STREAMS; i++)
		if (!stream_busy(&r->s[i]) && (!best ||
					       r->s[i].used < best->used))
			best = &r->s[i];
	if (best)
		stream_reset(best, ino, ver, size);
	return best;
}

/* The block of st at off, n bytes, waiting for its fetch; NULL if none. */
static ra_block *block_at(gw_ra *r, ra_stream *st, uint64_t off, size_t n)
{
	for (int k = 0; k < GW_RA_DEPTH; k++) {
		ra_block *b = &st->b[k];

		if (b->state == 0 || b->gen != st->gen || b->off != off ||
		    b->len != n)
			continue;
		while (b->state == 1)
			pthread_cond_wait(&r->cv, &r->mu);
		/* (the wait let go of the lock: look again) */
		return b->state == 2 && b->gen == st->gen && b->off == off &&
		       b->len == n ? b : NULL;
	}
	return NULL;
}

/* ---- reading ---- */

static int read_direct(gw_ra *r, uint64_t ino, uint64_t off, void *buf,
		       size_t n, size_t *out_n)
{
	ddtc *c;
	int rc = gw_sess_get(r->sess, &c);

	if (rc < 0)
		return rc;
	rc = ddtc_read(c, ino, off, buf, n, out_n);
	gw_sess_put(r->sess, c, rc);
	return rc;
}

int gw_ra_read(gw_ra *r, uint64_t ino, uint64_t ver, uint64_t size,
	       uint64_t off, void **bufp, size_t n, size_t *out_n)
{
	ra_stream *st;
	ra_block *b = NULL;
	int rc = 1, seq;

	pthread_mutex_lock(&r->mu);
	st = stream_of(r, ino);
	if (st && st->ver != ver)
		stream_reset(st, ino, ver, size);
	if (!st)
		st = stream_new(r, ino, ver, size);
	seq = st && stream_near(st, off, n);
	if (st)
		b = block_at(r, st, off, n);
	if (b) {
		void *mine = *bufp;

		rc = b->rc;
		*bufp = b->buf;		/* as large as n: no copy */
		b->buf = mine;
		*out_n = b->got;
		block_clear(b);
	}
	if (st && st->ino == ino && st->ver == ver) {
		st->used = now_mono_ns();
		if (!seq)	/* a new start: what is ahead starts here */
			st->next = st->ahead = off + n;
		else if (st->next < off + n)
			st->next = off + n;
		stream_prune(st, n);
		if (seq || b) {
			/* Reading on in order: keep GW_RA_DEPTH blocks
			 * ahead of it. */
			if (st->ahead < off + n)
				st->ahead = off + n;
			fill(r, st, n);
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (rc == 1 || (rc < 0 && gw_sess_lost(rc)))
		rc = read_direct(r, ino, off, *bufp, n, out_n);
	return rc;
}

void gw_ra_forget(gw_ra *r, uint64_t ino)
{
	ra_stream *st;

	pthread_mutex_lock(&r->mu);
	st = stream_of(r, ino);
	if (st)
		stream_reset(st, ino, UINT64_MAX, 0);
	pthread_mutex_unlock(&r->mu);
}
