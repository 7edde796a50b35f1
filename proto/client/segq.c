/* segq.c - the writers' pipeline: batches of cut segments are
 * fingerprinted, fed to their owner in order, asked about and the missing
 * ones sent compressed, on the session's workers (wpool.c, a tpool) and
 * the connection's receiver thread (conn.c):
 *
 *   HASH (worker)    sq_hash: fingerprint each segment; sq_feed: hand them
 *                    to the owner in stream order (batches may finish out
 *                    of order, so a batch waits "parked" for its turn);
 *                    then, on the same thread:
 *   QUERY (worker)   sq_query: drop repeats within the batch and what the
 *                    segment cache knows; FP_QUERY the rest, asynchronously
 *   reply (receiver) sq_query_done: remember what the target has; queue
 *                    the rest for PUT (the receiver only queues)
 *   PUT (worker)     sq_put: compress the missing segments straight into
 *                    SEG_PUT frames and send them; the raw bytes are freed
 *   reply (receiver) sq_put_done: remember them as stored; the batch is
 *                    done (sq_done)
 *
 * Segments emitted one at a time (a tree's metadata, segq_send) are
 * one-segment batches that start at QUERY. Many batches of many writers
 * are in flight at once, so one writer keeps the link, both cores and the
 * target busy; segq_wait() waits for a queue's own.
 *
 * Memory is bounded per session: the raw bytes of submitted batches are
 * charged against WPOOL_MEM_CAP, and a writer that submits a batch then
 * waits (wpool_mem_wait, running queued jobs itself meanwhile) until usage
 * is under the cap. Only submitted batches count: they finish without any
 * writer's help, so waiting can never deadlock, whatever else is open. */
#include "segq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"

#define SEGQ_UNIQ_SLOTS	2048		/* >= 2 * SEGQ_BATCH_SEGS, power of 2 */

_Static_assert(SEGQ_BATCH_SEGS <= DDT_MAX_QUERY, "a batch is one FP_QUERY");
_Static_assert(SEGQ_UNIQ_SLOTS >= 2 * SEGQ_BATCH_SEGS, "dedup table load");

enum { SEGQ_HASH, SEGQ_QUERY, SEGQ_PUT };

/* A SEG_PUT in flight: segments ask[first .. first + count) of b. */
typedef struct segq_put_ctx {
	segq_batch *b;
	uint32_t first, count;
} segq_put_ctx;

static void sq_run(void *worker, void *arg);

/* ---- failure ---- */

static void sq_fail_locked(segq *q, int rc, const char *msg)
{
	if (q->err)
		return;
	q->err = rc;
	snprintf(q->msg, sizeof(q->msg), "%.*s", (int)sizeof(q->msg) - 1,
		 msg);
}

void segq_fail(segq *q, int rc, const char *msg)
{
	pthread_mutex_lock(&q->mu);
	sq_fail_locked(q, rc, msg);
	pthread_mutex_unlock(&q->mu);
}

int segq_failed(segq *q)
{
	int rc;

	pthread_mutex_lock(&q->mu);
	rc = q->err;
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int segq_error(segq *q)
{
	int rc;

	pthread_mutex_lock(&q->mu);
	rc = q->err;
	if (rc)
		ddterr_set(rc, "%s", q->msg);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

/* The raw bytes are no longer needed (sent, or known present). */
static void sq_release_buf(segq_batch *b)
{
	if (!b->buf)
		return;
	wpool_buf_put(b->c->pool, b->buf, b->cap);
	b->buf = NULL;
	if (b->charged)
		wpool_uncharge(b->c->pool, b->charged);
	b->charged = 0;
}

/* ---- batches ---- */

segq_batch *segq_batch_new(segq *q, size_t cap)
{
	wpool *p = q->c->pool;
	segq_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->q = q;
	b->c = q->c;
	b->cap = cap;
	b->buf = cap == wpool_full(p) ? wpool_buf_get(p) : malloc(cap);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	return b;
}

static void sq_unref(segq_batch *b)
{
	if (atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	sq_release_buf(b);
	free(b->fp);
	free(b->seg);
	free(b->ask);
	free(b);
}

int segq_seg_add(segq_batch *b, size_t off, size_t len)
{
	uint32_t ncap;
	segq_seg *s;
	fp_t *fp;

	if (b->n == b->segcap) {
		ncap = b->segcap ? b->segcap * 2 : 16;
		s = realloc(b->seg, ncap * sizeof(*s));
		if (s)
			b->seg = s;
		fp = realloc(b->fp, ncap * sizeof(*fp));
		if (fp)
			b->fp = fp;
		if (!s || !fp)
			return -ENOMEM;
		b->segcap = ncap;
	}
	b->seg[b->n].off = (uint32_t)off;
	b->seg[b->n].len = (uint32_t)len;
	b->n++;
	return 0;
}

/* The pipeline is through with b: let segq_wait() know. */
static void sq_done(segq_batch *b)
{
	segq *q = b->q;

	sq_unref(b);
	/* q lives until pending reaches 0, which is below. */
	pthread_mutex_lock(&q->mu);
	if (--q->pending == 0)
		pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* ---- the pool ---- */

/* Queue b's next stage for a worker. Without memory to queue it, it runs
 * here: every caller but the receiver may work (that one fails the queue
 * instead: sq_query_done). */
static void sq_push(segq_batch *b)
{
	if (wpool_push(b->c->pool, sq_run, b) < 0)
		sq_run(NULL, b);
}

/* ---- HASH: fingerprints, and the feed in stream order ---- */

/* A metadata segment from the tree builder (under q->mu, from tree_add
 * or tree_finish), or a segment of segq_send: a batch of its own. */
int segq_emit(void *arg, int level, const uint8_t *raw, size_t len,
	      const fp_t *fp)
{
	segq *q = arg;
	segq_batch *b = segq_batch_new(q, len);

	(void)level;
	if (!b || segq_seg_add(b, 0, len) < 0) {
		if (b)
			sq_unref(b);
		return ddterr_set(-ENOMEM, "no memory for a metadata segment");
	}
	memcpy(b->buf, raw, len);
	b->len = len;
	b->fp[0] = *fp;
	b->stage = SEGQ_QUERY;
	b->charged = len;
	wpool_charge(q->c->pool, len);
	*q->emitted_tail = b;
	q->emitted_tail = &b->qnext;
	b->qnext = NULL;
	q->pending++;
	atomic_fetch_add(&q->c->segments, 1);
	return 0;
}

/* Queue the metadata segments emitted so far (taken under q->mu). */
static void sq_queue_emitted(segq_batch *list)
{
	segq_batch *b;

	while ((b = list)) {
		list = b->qnext;
		sq_push(b);
	}
}

static segq_batch *sq_take_emitted_locked(segq *q)
{
	segq_batch *list = q->emitted;

	q->emitted = NULL;
	q->emitted_tail = &q->emitted;
	return list;
}

static void sq_feed_one_locked(segq *q, segq_batch *b)
{
	int rc = 0;

	for (uint32_t i = 0; i < b->n && !q->err && rc == 0; i++)
		rc = q->feed(q->arg, &b->fp[i], b->seg[i].len);
	if (rc)
		sq_fail_locked(q, rc, ddterr_last(rc));
}

/* Park b in seq order, then feed every batch whose turn has come. */
static void sq_feed(segq *q, segq_batch *b)
{
	segq_batch **pp, *x, *fed = NULL, *emitted;

	pthread_mutex_lock(&q->mu);
	for (pp = &q->parked; *pp && (*pp)->seq < b->seq; pp = &(*pp)->pnext)
		;
	b->pnext = *pp;
	*pp = b;
	while ((x = q->parked) && x->seq == q->fed_seq) {
		q->parked = x->pnext;
		sq_feed_one_locked(q, x);
		q->fed_seq++;
		x->pnext = fed;
		fed = x;
	}
	emitted = sq_take_emitted_locked(q);
	if (fed)
		pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	while ((x = fed)) {
		fed = x->pnext;
		sq_unref(x);
	}
	sq_queue_emitted(emitted);
}

static void sq_query(segq_batch *b);

static void sq_hash(segq_batch *b)
{
	int rc = 0;

	if (!segq_failed(b->q))
		for (uint32_t i = 0; i < b->n && rc == 0; i++)
			rc = fp_compute(&b->fp[i], b->buf + b->seg[i].off,
					b->seg[i].len);
	if (rc < 0)
		segq_fail(b->q, rc, ddterr_last(rc));
	sq_feed(b->q, b);
	sq_query(b);
}

/* ---- QUERY ---- */

/* The first occurrence of each fingerprint in b, into ask; returns how
 * many. A file of zeros is one segment repeated: ask once, send once. */
static uint32_t sq_unique(segq_batch *b, uint32_t *ask)
{
	uint16_t slot[SEGQ_UNIQ_SLOTS];
	uint32_t i, h, n = 0;

	memset(slot, 0, sizeof(slot));
	for (i = 0; i < b->n; i++) {
		h = (uint32_t)fp_hash64(&b->fp[i]) & (SEGQ_UNIQ_SLOTS - 1);
		while (slot[h] && !fp_equal(&b->fp[slot[h] - 1], &b->fp[i]))
			h = (h + 1) & (SEGQ_UNIQ_SLOTS - 1);
		if (slot[h])
			continue;
		slot[h] = (uint16_t)(i + 1);
		ask[n++] = i;
	}
	return n;
}

/* Drop from b->ask what the segment cache vouches for. */
static void sq_cache_filter(segq_batch *b)
{
	uint8_t hit[SEGQ_BATCH_SEGS];
	uint32_t k, kept = 0;
	ddtc *c = b->c;

	if (!c->sc)
		return;
	segcache_lookup(c->sc, b->fp, b->ask, b->nask, hit);
	for (k = 0; k < b->nask; k++)
		if (!hit[k])
			b->ask[kept++] = b->ask[k];
	atomic_fetch_add(&c->queries_saved, b->nask - kept);
	b->nask = kept;
}

static void sq_query_done(void *arg, conn_reply *r);

static void sq_query(segq_batch *b)
{
	segq *q = b->q;
	wbuf w;
	int rc;

	if (segq_failed(q))
		goto done;
	b->ask = malloc(b->n * sizeof(*b->ask));
	if (!b->ask) {
		segq_fail(q, -ENOMEM, "no memory to query fingerprints");
		goto done;
	}
	b->nask = sq_unique(b, b->ask);
	sq_cache_filter(b);
	if (b->nask == 0)
		goto done;
	conn_begin(&w, DDT_OP_FP_QUERY);
	wb_u32(&w, b->nask);
	for (uint32_t k = 0; k < b->nask; k++)
		wb_fp(&w, &b->fp[b->ask[k]]);
	rc = conn_send(b->c->cn, &w, sq_query_done, b);
	wb_free(&w);
	if (rc == 0)
		return;
	segq_fail(q, rc, ddterr_last(rc));
done:
	sq_done(b);
}

/* The have-bitmap is in: remember what the target holds, send the rest.
 * Receiver thread: queue, do not work. */
static void sq_query_done(void *arg, conn_reply *r)
{
	uint32_t have[SEGQ_BATCH_SEGS];
	segq_batch *b = arg;
	const uint8_t *bits;
	uint32_t len, k, nhave = 0, kept = 0, i;
	rbuf rd;

	if (r->rc < 0) {
		segq_fail(b->q, r->rc, r->msg);
		goto done;
	}
	rb_init(&rd, r->buf, r->len);
	bits = rb_blob(&rd, &len);
	if (rb_done(&rd) < 0 || len != (b->nask + 7) / 8) {
		segq_fail(b->q, -EPROTO, "the target's FP_QUERY reply does not "
			  "parse; is it a ddtargetd of this protocol version?");
		goto done;
	}
	for (k = 0; k < b->nask; k++) {
		i = b->ask[k];
		if (bits[k / 8] >> (k % 8) & 1)
			have[nhave++] = i;
		else
			b->ask[kept++] = i;
	}
	if (b->c->sc)
		segcache_add(b->c->sc, b->fp, have, nhave);
	b->nask = kept;
	if (kept == 0)
		goto done;
	b->stage = SEGQ_PUT;
	if (wpool_push(b->c->pool, sq_run, b) == 0)
		return;
	segq_fail(b->q, -ENOMEM, "no memory to queue segments to send");
done:
	sq_done(b);
}

/* ---- PUT ---- */

static void sq_put_done(void *arg, conn_reply *r)
{
	segq_put_ctx *x = arg;
	segq_batch *b = x->b;
	rbuf rd;

	if (r->rc < 0) {
		segq_fail(b->q, r->rc, r->msg);
	} else {
		rb_init(&rd, r->buf, r->len);
		(void)rb_u32(&rd);	/* how many were new: not ours to use */
		if (rb_done(&rd) < 0)
			segq_fail(b->q, -EPROTO, "the target's SEG_PUT reply "
				  "does not parse");
		else if (b->c->sc)
			segcache_add(b->c->sc, b->fp, b->ask + x->first,
				     x->count);
	}
	free(x);
	if (atomic_fetch_sub(&b->puts, 1) == 1)
		sq_done(b);
}

static void sq_frame_begin(wbuf *w)
{
	wb_reset(w);
	ddt_frame_begin(w, DDT_OP_SEG_PUT, 0, 0, 0);
	wb_u32(w, 0);		/* the count, known at the end */
}

int segq_put_seg(ddtc *c, wbuf *w, const fp_t *fp, const uint8_t *raw,
		 uint32_t len)
{
	size_t bound = codec_bound(len), stored;
	uint8_t *dst;
	int codec, rc;

	dst = wb_seg_begin(w, fp, len, bound);
	if (!dst)
		return ddterr_set(w->err, "no memory for a SEG_PUT frame");
	rc = codec_compress(c->codec, raw, len, dst, bound, &stored, &codec);
	if (rc < 0)
		return rc;
	wb_seg_end(w, dst, (uint8_t)codec, (uint32_t)stored);
	atomic_fetch_add(&c->segments_sent, 1);
	atomic_fetch_add(&c->bytes_sent_stored, stored);
	return 0;
}

/* Append segment i, compressed in place: no copy of its stored form. */
static int sq_frame_add(segq_batch *b, wbuf *w, uint32_t i)
{
	const segq_seg *s = &b->seg[i];

	return segq_put_seg(b->c, w, &b->fp[i], b->buf + s->off, s->len);
}

/* Send the frame holding ask[first .. first + count). */
static int sq_frame_send(segq_batch *b, wbuf *w, uint32_t first,
			 uint32_t count)
{
	segq_put_ctx *x = malloc(sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	x->b = b;
	x->first = first;
	x->count = count;
	wb_put_u32_at(w, DDT_HDR_LEN, count);
	atomic_fetch_add(&b->puts, 1);
	rc = conn_send(b->c->cn, w, sq_put_done, x);
	if (rc < 0) {
		atomic_fetch_sub(&b->puts, 1);	/* the sentinel holds it */
		free(x);
	}
	return rc;
}

/* Fill frames up to the payload limit and send each as it fills. */
static int sq_put_all(segq_batch *b, wbuf *w)
{
	uint32_t k, first = 0, len;
	int rc = 0;

	sq_frame_begin(w);
	for (k = 0; k < b->nask && rc == 0; k++) {
		len = b->seg[b->ask[k]].len;
		if (k > first && w->len - DDT_HDR_LEN + DDT_SEG_HEAD_LEN +
		    codec_bound(len) > b->c->max_payload) {
			rc = sq_frame_send(b, w, first, k - first);
			first = k;
			sq_frame_begin(w);
		}
		if (rc == 0)
			rc = sq_frame_add(b, w, b->ask[k]);
	}
	if (rc == 0)
		rc = sq_frame_send(b, w, first, b->nask - first);
	return rc;
}

static void sq_put(segq_batch *b)
{
	wpool *p = b->c->pool;
	wbuf *w;
	int rc;

	atomic_store(&b->puts, 1);
	if (!segq_failed(b->q)) {
		w = wpool_wbuf_get(p);
		rc = w ? sq_put_all(b, w) : -ENOMEM;
		if (rc < 0)
			segq_fail(b->q, rc, ddterr_last(rc));
		if (w)
			wpool_wbuf_put(p, w);
	}
	sq_release_buf(b);
	if (atomic_fetch_sub(&b->puts, 1) == 1)
		sq_done(b);
}

/* A worker's job (worker: unused, NULL when a writer helps). */
static void sq_run(void *worker, void *arg)
{
	segq_batch *b = arg;

	(void)worker;
	switch (b->stage) {
	case SEGQ_HASH:
		sq_hash(b);
		break;
	case SEGQ_QUERY:
		sq_query(b);
		break;
	default:
		sq_put(b);
		break;
	}
}

void segq_submit(segq *q, segq_batch *b)
{
	b->seq = q->next_seq++;
	b->stage = SEGQ_HASH;
	atomic_store(&b->refs, 2);	/* the pipeline and the feed */
	b->charged = b->cap;
	wpool_charge(q->c->pool, b->cap);
	atomic_fetch_add(&q->c->segments, b->n);
	pthread_mutex_lock(&q->mu);
	q->pending++;
	pthread_mutex_unlock(&q->mu);
	sq_push(b);
}


void segq_batch_drop(segq_batch *b)
{
	if (b)
		sq_unref(b);
}

size_t segq_full(const segq *q)
{
	return wpool_full(q->c->pool);
}

int segq_rollover(segq *q, segq_batch **bp, size_t cut)
{
	segq_batch *old = *bp, *nb;
	size_t tail = old->len - cut;

	nb = segq_batch_new(q, segq_full(q));
	if (!nb)
		return ddterr_set(-ENOMEM, "no memory for a write buffer");
	memcpy(nb->buf, old->buf + cut, tail);
	nb->len = tail;
	old->len = cut;
	*bp = nb;
	segq_submit(q, old);
	wpool_mem_wait(q->c->pool);
	return 0;
}

int segq_send(segq *q, const uint8_t *raw, size_t len, const fp_t *fp)
{
	segq_batch *list;
	int rc;

	pthread_mutex_lock(&q->mu);
	rc = segq_emit(q, 0, raw, len, fp);
	list = sq_take_emitted_locked(q);
	pthread_mutex_unlock(&q->mu);
	sq_queue_emitted(list);
	return rc;
}

int segq_tree_add(segq *q, tree_builder *tb, const fp_t *fp, uint64_t len)
{
	segq_batch *list;
	int rc;

	pthread_mutex_lock(&q->mu);
	rc = q->err;
	if (rc == 0)
		rc = tree_add(tb, fp, len);
	if (rc)
		sq_fail_locked(q, rc, ddterr_last(rc));
	list = sq_take_emitted_locked(q);
	pthread_mutex_unlock(&q->mu);
	sq_queue_emitted(list);
	return rc;
}

int segq_tree_finish(segq *q, tree_builder *tb, fp_t *root, uint8_t *level,
		     uint64_t *size)
{
	segq_batch *list;
	int rc;

	pthread_mutex_lock(&q->mu);
	rc = q->err;
	if (rc == 0)
		rc = tree_finish(tb, root, level, size);
	if (rc)
		sq_fail_locked(q, rc, ddterr_last(rc));
	list = sq_take_emitted_locked(q);
	pthread_mutex_unlock(&q->mu);
	sq_queue_emitted(list);
	segq_wait(q, 1);
	return segq_error(q);
}

void segq_wait(segq *q, int all)
{
	pthread_mutex_lock(&q->mu);
	while (q->fed_seq < q->next_seq || (all && q->pending > 0))
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

/* The session's pool: a batch's bytes plus the uncut tail it may have to
 * hold. */
static int sq_pool_get(ddtc *c)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->pool)
		rc = wpool_new(&c->pool, c->threads,
			       SEGQ_BATCH_BYTES + c->cut.max);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int segq_init(segq *q, ddtc *c, segq_feed_fn feed, void *arg)
{
	int rc = sq_pool_get(c);

	if (rc < 0)
		return rc;
	memset(q, 0, sizeof(*q));
	q->c = c;
	q->feed = feed;
	q->arg = arg;
	q->emitted_tail = &q->emitted;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	return 0;
}

void segq_destroy(segq *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}
