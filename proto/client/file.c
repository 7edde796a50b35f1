/* file.c - the deduplicating file writer (ddtc_file_*): cut the bytes into
 * segments, fingerprint them, ask the target which it lacks, send those
 * compressed, build the file's tree, commit (commit.c).
 *
 * The caller's thread only copies and cuts (ddtc_file_write: file_room,
 * file_cut): every ~4 MiB of segments becomes a batch (file_rollover,
 * file_submit) that flows through a pipeline on the session's workers
 * (wpool.c, a tpool) and the connection's receiver thread (conn.c):
 *
 *   HASH (worker)    file_hash: fingerprint each segment; file_feed: feed
 *                    the tree builder in file order (batches may finish
 *                    out of order, so a batch waits "parked" for its
 *                    turn); then, on the same thread:
 *   QUERY (worker)   file_query: drop repeats within the batch and what
 *                    the segment cache knows; FP_QUERY the rest,
 *                    asynchronously
 *   reply (receiver) file_query_done: remember what the target has; queue
 *                    the rest for PUT (the receiver only queues)
 *   PUT (worker)     file_put: compress the missing segments straight into
 *                    SEG_PUT frames and send them; the raw bytes are freed
 *   reply (receiver) file_put_done: remember them as stored; the batch is
 *                    done (file_done)
 *
 * Metadata segments the tree emits (file_emit) are one-segment batches
 * that start at QUERY. Many batches of many files are in flight at once,
 * so one writer keeps the link, both cores and the target busy.
 * ddtc_file_close() waits until every batch of its file is done, then
 * commits, on the caller's thread.
 *
 * Memory is bounded per session: the raw bytes of submitted batches are
 * charged against WPOOL_MEM_CAP, and a writer that submits a batch then
 * waits (wpool_mem_wait, running queued jobs itself meanwhile) until usage
 * is under the cap. Only submitted batches count: they finish without any
 * writer's help, so waiting can never deadlock, whatever else is open. */
#include "ddtc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"
#include "tree.h"

#define FILE_BATCH_BYTES	(4u << 20)	/* raw bytes per batch, about */
#define FILE_BATCH_SEGS	1024		/* segments per batch, at most */
#define FILE_FIRST_BUF	(128u << 10)	/* a new file's buffer; grows */
#define FILE_UNIQ_SLOTS	2048		/* >= 2 * FILE_BATCH_SEGS, power of 2 */

_Static_assert(FILE_BATCH_SEGS <= DDT_MAX_QUERY, "a batch is one FP_QUERY");
_Static_assert(FILE_UNIQ_SLOTS >= 2 * FILE_BATCH_SEGS, "dedup table load");

enum { FILE_HASH, FILE_QUERY, FILE_PUT };

typedef struct file_batch file_batch;

typedef struct file_seg {
	uint32_t off, len;
} file_seg;

struct file_batch {
	file_batch *qnext;	/* the file's list of emitted batches */
	file_batch *pnext;	/* the file's parked list */
	ddtc_file *f;
	ddtc *c;
	int stage;
	uint64_t seq;		/* data batches: order in the file */
	uint8_t *buf;		/* raw bytes; freed once compressed */
	size_t cap, len, charged;
	fp_t *fp;		/* per segment */
	file_seg *seg;
	uint32_t n, segcap;
	uint32_t *ask;		/* segments queried, then those to send */
	uint32_t nask;
	atomic_int puts;	/* SEG_PUTs unanswered, + 1 while sending */
	atomic_int refs;	/* the pipeline, and the tree feed */
};

/* A SEG_PUT in flight: segments ask[first .. first + count) of b. */
typedef struct file_put_ctx {
	file_batch *b;
	uint32_t first, count;
} file_put_ctx;

struct ddtc_file {
	ddtc *c;
	ddtc_meta m;
	file_batch *cur;		/* being filled: the caller's alone */
	size_t cut;		/* bytes of cur already cut */
	uint64_t size;		/* bytes written */
	uint64_t next_seq;	/* of the next batch submitted */

	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t cv;	/* pending or fed_seq changed */
	tree_builder *tb;
	uint64_t fed_seq;	/* batches fed to the tree */
	file_batch *parked;	/* hashed, waiting for their turn; by seq */
	file_batch *emitted, **emitted_tail;	/* metadata, to be queued */
	int pending;		/* batches submitted and not done */
	int err;		/* the first failure; then msg */
	char msg[CONN_MSG_LEN];
};

static void file_run(void *worker, void *arg);

/* ---- failure ---- */

static void file_fail_locked(ddtc_file *f, int rc, const char *msg)
{
	if (f->err)
		return;
	f->err = rc;
	snprintf(f->msg, sizeof(f->msg), "%.*s", (int)sizeof(f->msg) - 1,
		 msg);
}

/* Record the file's first failure; later stages then skip their work. */
static void file_fail(ddtc_file *f, int rc, const char *msg)
{
	pthread_mutex_lock(&f->mu);
	file_fail_locked(f, rc, msg);
	pthread_mutex_unlock(&f->mu);
}

static int file_failed(ddtc_file *f)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	rc = f->err;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* The file's failure, raised again on this thread. */
static int file_error(ddtc_file *f)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	rc = f->err;
	if (rc)
		ddterr_set(rc, "%s", f->msg);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* The raw bytes are no longer needed (sent, or known present). */
static void file_release_buf(file_batch *b)
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

/* A batch with room for cap raw bytes (cap == the pool's full size takes
 * a spare buffer). NULL without memory. */
static file_batch *file_batch_new(ddtc_file *f, size_t cap)
{
	wpool *p = f->c->pool;
	file_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->f = f;
	b->c = f->c;
	b->cap = cap;
	b->buf = cap == wpool_full(p) ? wpool_buf_get(p) : malloc(cap);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	return b;
}

static void file_unref(file_batch *b)
{
	if (atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	file_release_buf(b);
	free(b->fp);
	free(b->seg);
	free(b->ask);
	free(b);
}

static int file_seg_add(file_batch *b, size_t off, size_t len)
{
	uint32_t ncap;
	file_seg *s;
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

/* The pipeline is through with b: let close() know. */
static void file_done(file_batch *b)
{
	ddtc_file *f = b->f;

	file_unref(b);
	/* f lives until pending reaches 0, which is below. */
	pthread_mutex_lock(&f->mu);
	if (--f->pending == 0)
		pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* ---- the pool ---- */

/* Queue b's next stage for a worker. Without memory to queue it, it runs
 * here: every caller but the receiver may work (that one fails the file
 * instead: file_query_done). */
static void file_push(file_batch *b)
{
	if (wpool_push(b->c->pool, file_run, b) < 0)
		file_run(NULL, b);
}

/* ---- HASH: fingerprints, and the tree in file order ---- */

/* The tree builder hands over a finished metadata segment (under f->mu,
 * from tree_add or tree_finish): copy it into a batch of its own. */
static int file_emit(void *arg, int level, const uint8_t *raw, size_t len,
		     const fp_t *fp)
{
	ddtc_file *f = arg;
	file_batch *b = file_batch_new(f, len);

	if (!b || file_seg_add(b, 0, len) < 0) {
		if (b)
			file_unref(b);
		return ddterr_set(-ENOMEM, "no memory for a metadata segment");
	}
	memcpy(b->buf, raw, len);
	b->len = len;
	b->fp[0] = *fp;
	b->stage = FILE_QUERY;
	b->charged = len;
	wpool_charge(f->c->pool, len);
	*f->emitted_tail = b;
	f->emitted_tail = &b->qnext;
	b->qnext = NULL;
	f->pending++;
	atomic_fetch_add(&f->c->segments, 1);
	return 0;
}

/* Queue the metadata segments emitted so far (taken under f->mu). */
static void file_queue_emitted(file_batch *list)
{
	file_batch *b;

	while ((b = list)) {
		list = b->qnext;
		file_push(b);
	}
}

static file_batch *file_take_emitted_locked(ddtc_file *f)
{
	file_batch *list = f->emitted;

	f->emitted = NULL;
	f->emitted_tail = &f->emitted;
	return list;
}

static void file_feed_one_locked(ddtc_file *f, file_batch *b)
{
	int rc = 0;

	for (uint32_t i = 0; i < b->n && !f->err && rc == 0; i++)
		rc = tree_add(f->tb, &b->fp[i], b->seg[i].len);
	if (rc)
		file_fail_locked(f, rc, ddterr_last(rc));
}

/* Park b in seq order, then feed every batch whose turn has come. */
static void file_feed(ddtc_file *f, file_batch *b)
{
	file_batch **pp, *x, *fed = NULL, *emitted;

	pthread_mutex_lock(&f->mu);
	for (pp = &f->parked; *pp && (*pp)->seq < b->seq; pp = &(*pp)->pnext)
		;
	b->pnext = *pp;
	*pp = b;
	while ((x = f->parked) && x->seq == f->fed_seq) {
		f->parked = x->pnext;
		file_feed_one_locked(f, x);
		f->fed_seq++;
		x->pnext = fed;
		fed = x;
	}
	emitted = file_take_emitted_locked(f);
	if (fed)
		pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	while ((x = fed)) {
		fed = x->pnext;
		file_unref(x);
	}
	file_queue_emitted(emitted);
}

static void file_query(file_batch *b);

static void file_hash(file_batch *b)
{
	int rc = 0;

	if (!file_failed(b->f))
		for (uint32_t i = 0; i < b->n && rc == 0; i++)
			rc = fp_compute(&b->fp[i], b->buf + b->seg[i].off,
					b->seg[i].len);
	if (rc < 0)
		file_fail(b->f, rc, ddterr_last(rc));
	file_feed(b->f, b);
	file_query(b);
}

/* ---- QUERY ---- */

/* The first occurrence of each fingerprint in b, into ask; returns how
 * many. A file of zeros is one segment repeated: ask once, send once. */
static uint32_t file_unique(file_batch *b, uint32_t *ask)
{
	uint16_t slot[FILE_UNIQ_SLOTS];
	uint32_t i, h, n = 0;

	memset(slot, 0, sizeof(slot));
	for (i = 0; i < b->n; i++) {
		h = (uint32_t)fp_hash64(&b->fp[i]) & (FILE_UNIQ_SLOTS - 1);
		while (slot[h] && !fp_equal(&b->fp[slot[h] - 1], &b->fp[i]))
			h = (h + 1) & (FILE_UNIQ_SLOTS - 1);
		if (slot[h])
			continue;
		slot[h] = (uint16_t)(i + 1);
		ask[n++] = i;
	}
	return n;
}

/* Drop from b->ask what the segment cache vouches for. */
static void file_cache_filter(file_batch *b)
{
	uint8_t hit[FILE_BATCH_SEGS];
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

static void file_query_done(void *arg, conn_reply *r);

static void file_query(file_batch *b)
{
	ddtc_file *f = b->f;
	wbuf w;
	int rc;

	if (file_failed(f))
		goto done;
	b->ask = malloc(b->n * sizeof(*b->ask));
	if (!b->ask) {
		file_fail(f, -ENOMEM, "no memory to query fingerprints");
		goto done;
	}
	b->nask = file_unique(b, b->ask);
	file_cache_filter(b);
	if (b->nask == 0)
		goto done;
	conn_begin(&w, DDT_OP_FP_QUERY);
	wb_u32(&w, b->nask);
	for (uint32_t k = 0; k < b->nask; k++)
		wb_fp(&w, &b->fp[b->ask[k]]);
	rc = conn_send(b->c->cn, &w, file_query_done, b);
	wb_free(&w);
	if (rc == 0)
		return;
	file_fail(f, rc, ddterr_last(rc));
done:
	file_done(b);
}

/* The have-bitmap is in: remember what the target holds, send the rest.
 * Receiver thread: queue, do not work. */
static void file_query_done(void *arg, conn_reply *r)
{
	uint32_t have[FILE_BATCH_SEGS];
	file_batch *b = arg;
	const uint8_t *bits;
	uint32_t len, k, nhave = 0, kept = 0, i;
	rbuf rd;

	if (r->rc < 0) {
		file_fail(b->f, r->rc, r->msg);
		goto done;
	}
	rb_init(&rd, r->buf, r->len);
	bits = rb_blob(&rd, &len);
	if (rb_done(&rd) < 0 || len != (b->nask + 7) / 8) {
		file_fail(b->f, -EPROTO, "the target's FP_QUERY reply does not "
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
	b->stage = FILE_PUT;
	if (wpool_push(b->c->pool, file_run, b) == 0)
		return;
	file_fail(b->f, -ENOMEM, "no memory to queue segments to send");
done:
	file_done(b);
}

/* ---- PUT ---- */

static void file_put_done(void *arg, conn_reply *r)
{
	file_put_ctx *x = arg;
	file_batch *b = x->b;
	rbuf rd;

	if (r->rc < 0) {
		file_fail(b->f, r->rc, r->msg);
	} else {
		rb_init(&rd, r->buf, r->len);
		(void)rb_u32(&rd);	/* how many were new: not ours to use */
		if (rb_done(&rd) < 0)
			file_fail(b->f, -EPROTO, "the target's SEG_PUT reply "
				  "does not parse");
		else if (b->c->sc)
			segcache_add(b->c->sc, b->fp, b->ask + x->first,
				     x->count);
	}
	free(x);
	if (atomic_fetch_sub(&b->puts, 1) == 1)
		file_done(b);
}

static void file_frame_begin(wbuf *w)
{
	wb_reset(w);
	ddt_frame_begin(w, DDT_OP_SEG_PUT, 0, 0, 0);
	wb_u32(w, 0);		/* the count, known at the end */
}

/* Append segment i, compressed in place: no copy of its stored form. */
static int file_frame_add(file_batch *b, wbuf *w, uint32_t i)
{
	const file_seg *s = &b->seg[i];
	size_t bound = codec_bound(s->len), stored;
	uint8_t *dst;
	int codec, rc;

	dst = wb_seg_begin(w, &b->fp[i], s->len, bound);
	if (!dst)
		return ddterr_set(w->err, "no memory for a SEG_PUT frame");
	rc = codec_compress(b->c->codec, b->buf + s->off, s->len, dst, bound,
			    &stored, &codec);
	if (rc < 0)
		return rc;
	wb_seg_end(w, dst, (uint8_t)codec, (uint32_t)stored);
	atomic_fetch_add(&b->c->segments_sent, 1);
	atomic_fetch_add(&b->c->bytes_sent_stored, stored);
	return 0;
}

/* Send the frame holding ask[first .. first + count). */
static int file_frame_send(file_batch *b, wbuf *w, uint32_t first,
			   uint32_t count)
{
	file_put_ctx *x = malloc(sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	x->b = b;
	x->first = first;
	x->count = count;
	wb_put_u32_at(w, DDT_HDR_LEN, count);
	atomic_fetch_add(&b->puts, 1);
	rc = conn_send(b->c->cn, w, file_put_done, x);
	if (rc < 0) {
		atomic_fetch_sub(&b->puts, 1);	/* the sentinel holds it */
		free(x);
	}
	return rc;
}

/* Fill frames up to the payload limit and send each as it fills. */
static int file_put_all(file_batch *b, wbuf *w)
{
	uint32_t k, first = 0, len;
	int rc = 0;

	file_frame_begin(w);
	for (k = 0; k < b->nask && rc == 0; k++) {
		len = b->seg[b->ask[k]].len;
		if (k > first && w->len - DDT_HDR_LEN + DDT_SEG_HEAD_LEN +
		    codec_bound(len) > b->c->max_payload) {
			rc = file_frame_send(b, w, first, k - first);
			first = k;
			file_frame_begin(w);
		}
		if (rc == 0)
			rc = file_frame_add(b, w, b->ask[k]);
	}
	if (rc == 0)
		rc = file_frame_send(b, w, first, b->nask - first);
	return rc;
}

static void file_put(file_batch *b)
{
	wpool *p = b->c->pool;
	wbuf *w;
	int rc;

	atomic_store(&b->puts, 1);
	if (!file_failed(b->f)) {
		w = wpool_wbuf_get(p);
		rc = w ? file_put_all(b, w) : -ENOMEM;
		if (rc < 0)
			file_fail(b->f, rc, ddterr_last(rc));
		if (w)
			wpool_wbuf_put(p, w);
	}
	file_release_buf(b);
	if (atomic_fetch_sub(&b->puts, 1) == 1)
		file_done(b);
}

/* A worker's job (worker: unused, NULL when a writer helps). */
static void file_run(void *worker, void *arg)
{
	file_batch *b = arg;

	(void)worker;
	switch (b->stage) {
	case FILE_HASH:
		file_hash(b);
		break;
	case FILE_QUERY:
		file_query(b);
		break;
	default:
		file_put(b);
		break;
	}
}

/* ---- the caller's side: copy, cut, submit ---- */

static void file_submit(ddtc_file *f, file_batch *b)
{
	b->seq = f->next_seq++;
	b->stage = FILE_HASH;
	atomic_store(&b->refs, 2);	/* the pipeline and the tree feed */
	b->charged = b->cap;
	wpool_charge(f->c->pool, b->cap);
	atomic_fetch_add(&f->c->segments, b->n);
	pthread_mutex_lock(&f->mu);
	f->pending++;
	pthread_mutex_unlock(&f->mu);
	file_push(b);
}

/* cur is full: submit it and carry its uncut tail into a fresh batch. */
static int file_rollover(ddtc_file *f)
{
	file_batch *old = f->cur, *nb;
	size_t tail = old->len - f->cut;

	nb = file_batch_new(f, wpool_full(f->c->pool));
	if (!nb)
		return ddterr_set(-ENOMEM, "no memory for a write buffer");
	memcpy(nb->buf, old->buf + f->cut, tail);
	nb->len = tail;
	old->len = f->cut;
	f->cur = nb;
	f->cut = 0;
	file_submit(f, old);
	wpool_mem_wait(f->c->pool);
	return 0;
}

/* Cut what is buffered into segments. Before the end (final 0) a cut is
 * content-defined only with max bytes ahead (cdc.h), so the last bytes
 * wait for more. */
static int file_cut(ddtc_file *f, int final)
{
	const cdc *cut = &f->c->cut;
	file_batch *b;
	size_t left, k;
	int rc;

	while ((b = f->cur) && (left = b->len - f->cut) > 0 &&
	       (final || left >= cut->max)) {
		k = cdc_cut(cut, b->buf + f->cut, left);
		rc = file_seg_add(b, f->cut, k);
		if (rc < 0)
			return ddterr_set(rc, "no memory for a segment list");
		f->cut += k;
		if (f->cut >= FILE_BATCH_BYTES || b->n == FILE_BATCH_SEGS) {
			rc = file_rollover(f);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Room in cur for more bytes: a small buffer first (most files are
 * small), doubled up to the full size as the file grows. */
static int file_room(ddtc_file *f, size_t want)
{
	size_t ncap, full = wpool_full(f->c->pool);
	file_batch *b = f->cur;
	uint8_t *nbuf;

	if (!b) {
		ncap = FILE_FIRST_BUF > 2 * (size_t)f->c->cut.max ?
		       FILE_FIRST_BUF : 2 * (size_t)f->c->cut.max;
		if (ncap < want)
			ncap = want;
		if (ncap > full)
			ncap = full;
		if (!(f->cur = file_batch_new(f, ncap)))
			return ddterr_set(-ENOMEM, "no memory for a write "
					  "buffer");
		return 0;
	}
	if (b->len < b->cap)
		return 0;
	/* Full-size and full cannot be: file_cut() submits it first. */
	if (b->cap >= full)
		return ddterr_set(-EIO, "file writer: buffer full and uncut");
	ncap = b->cap * 2 > b->len + want ? b->cap * 2 : b->len + want;
	if (ncap > full)
		ncap = full;
	if (ncap == full) {
		nbuf = wpool_buf_get(f->c->pool);
		if (nbuf) {
			memcpy(nbuf, b->buf, b->len);
			free(b->buf);
		}
	} else {
		nbuf = realloc(b->buf, ncap);
	}
	if (!nbuf)
		return ddterr_set(-ENOMEM, "no memory for a write buffer");
	b->buf = nbuf;
	b->cap = ncap;
	return 0;
}

/* ---- the API ---- */

static int file_pool_get(ddtc *c)
{
	int rc = 0;

	/* A batch's bytes plus the uncut tail it may have to hold. */
	pthread_mutex_lock(&c->mu);
	if (!c->pool)
		rc = wpool_new(&c->pool, c->threads,
			       FILE_BATCH_BYTES + c->cut.max);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int ddtc_file_create(ddtc *c, const ddtc_meta *m, ddtc_file **out)
{
	ddtc_file *f;
	int rc;

	if (!ddt_name_ok(m->name))
		return ddterr_set(strlen(m->name) > DDT_MAX_NAME ?
				  -ENAMETOOLONG : -EINVAL, "\"%.80s\" cannot "
				  "name a file: 1 to %d bytes, no '/', not "
				  "\".\" or \"..\"", m->name, DDT_MAX_NAME);
	rc = file_pool_get(c);
	if (rc < 0)
		return rc;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	rc = tree_builder_new(&f->tb, file_emit, f);
	if (rc < 0) {
		free(f);
		return rc;
	}
	f->c = c;
	f->m = *m;
	f->emitted_tail = &f->emitted;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	*out = f;
	return 0;
}

int ddtc_file_write(ddtc_file *f, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t take;
	int rc;

	rc = file_error(f);
	if (rc < 0)
		return rc;
	atomic_fetch_add(&f->c->logical_bytes, n);
	while (n) {
		rc = file_room(f, n);
		if (rc < 0)
			goto fail;
		take = f->cur->cap - f->cur->len;
		if (take > n)
			take = n;
		memcpy(f->cur->buf + f->cur->len, p, take);
		f->cur->len += take;
		f->size += take;
		p += take;
		n -= take;
		rc = file_cut(f, 0);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	file_fail(f, rc, ddterr_last(rc));
	return rc;
}

/* Wait until every batch is fed to the tree, and (all) every segment
 * is answered for too. */
static void file_wait(ddtc_file *f, int all)
{
	pthread_mutex_lock(&f->mu);
	while (f->fed_seq < f->next_seq || (all && f->pending > 0))
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

/* Everything cut, submitted and fed to the tree; an unsent cur dropped. */
static void file_flush(ddtc_file *f)
{
	int rc = file_failed(f);

	if (rc == 0)
		rc = file_cut(f, 1);
	if (rc < 0)
		file_fail(f, rc, ddterr_last(rc));
	if (f->cur && f->cur->n && rc == 0) {
		f->cur->len = f->cut;
		file_submit(f, f->cur);
	} else if (f->cur) {
		file_unref(f->cur);
	}
	f->cur = NULL;
	file_wait(f, 0);
}

/* The tree's root, once every data segment is in; its metadata segments
 * then go out like any batch. */
static int file_finish_tree(ddtc_file *f, ddtc_entry *e)
{
	file_batch *emitted;
	int rc;

	pthread_mutex_lock(&f->mu);
	rc = f->err;
	if (rc == 0) {
		rc = tree_finish(f->tb, &e->root, &e->level, &e->size);
		if (rc == 0 && e->size != f->size)
			rc = ddterr_set(-EIO, "file writer: the tree holds "
					"%llu bytes of %llu written",
					(unsigned long long)e->size,
					(unsigned long long)f->size);
		if (rc)
			file_fail_locked(f, rc, ddterr_last(rc));
	}
	emitted = file_take_emitted_locked(f);
	pthread_mutex_unlock(&f->mu);
	file_queue_emitted(emitted);
	file_wait(f, 1);
	return file_error(f);
}

static void file_free(ddtc_file *f)
{
	tree_builder_free(f->tb);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int ddtc_file_close(ddtc_file *f, int sync, ddt_attr *out)
{
	ddtc *c = f->c;
	ddtc_entry e;
	int rc;

	file_flush(f);
	memset(&e, 0, sizeof(e));
	rc = file_finish_tree(f, &e);
	if (rc == 0) {
		strcpy(e.name, f->m.name);
		e.mode = f->m.mode;
		e.uid = f->m.uid;
		e.gid = f->m.gid;
		e.atime = f->m.atime;
		e.mtime = f->m.mtime;
		rc = ddtc_commit(c, f->m.dir, &e, 1, sync, out);
	}
	/* The target lacks a segment this file relied on: the cache may
	 * list segments cleaned away since. Forget it, so that writing the
	 * file again sends what is missing. (ENOENT also means a missing
	 * directory; the target's message names a segment when one is
	 * missing.) */
	if (rc == -ENOENT && c->sc && strstr(ddterr_last(rc), "segment")) {
		segcache_clear(c->sc);
		rc = ddterr_set(rc, "%s (the client's segment cache is now "
				"cleared: write the file again)",
				ddterr_last(rc));
	}
	file_free(f);
	return rc;
}

void ddtc_file_abort(ddtc_file *f)
{
	if (!f)
		return;
	file_fail(f, -ECANCELED, "the file was abandoned");
	file_flush(f);
	file_wait(f, 1);
	file_free(f);
}
