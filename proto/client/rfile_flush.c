/* rfile_flush.c - a random-access file's overlay turned into segments
 * (ddtc_rfile_flush), and the file published (ddtc_rfile_commit: the tree
 * of all its leaves, then SET_CONTENT).
 *
 * Only the changed ranges are cut again. A cut depends only on the bytes
 * since the previous cut (cdc.c: the hash starts afresh at each cut and
 * sees 64 bytes; the cut lies within max bytes of it), so re-cutting from
 * an old cut point before a changed range, with the same chunker the
 * writers use, gives exactly the cuts a whole re-cut would, and once a new
 * cut past the changed bytes falls on an old cut point, every old cut
 * after it would come again: the old leaves from there on are reused as
 * they are. Writes overwrite in place, so an old cut point keeps its file
 * offset; only the end of the file moves (a truncate or an extension adds
 * a range at the end, which is then cut to the end).
 *
 * The new segments go through the writers' pipeline (segq.c): fingerprint,
 * FP_QUERY, SEG_PUT of those missing; the pipeline hands the fingerprints
 * back in cut order (rf_feed). A run of zeros (a hole) long enough for a
 * whole segment is cut without copying or hashing: its segment is always
 * the same (rf_zero_seg), sent once per flush. A flush that is not a
 * commit holds back the last bytes of the file (under max, not yet cut
 * content-defined) so that appends do not split a segment at each flush.
 *
 * The commit builds the file's tree from the whole leaf list with the
 * writers' tree builder: metadata boundaries are content-defined, so the
 * metadata segments away from the changes come out the same and FP_QUERY
 * finds them on the target; only the path above a change is sent. */
#include "rfile_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "rpc.h"
#include "segq.h"
#include "tree.h"

/* A changed range [a, e) of the file (e == a: the end moved to a). */
typedef struct rf_range {
	uint64_t a, e;
} rf_range;

/* The fingerprints of the re-cut segments, in cut order. */
typedef struct rf_fps {
	fp_t *v;
	size_t n, cap;
} rf_fps;

typedef struct rf_cut {
	ddtc *c;
	ddtc_rfile *f;
	segq *q;
	const cdc *cut;
	int final;		/* cut to the end: a commit */
	rf_range *r;		/* the changed ranges, by offset */
	size_t nr, ri;		/* ri: the next not yet reached */
	uint64_t e;		/* the region must cut past this */
	rf_leaf *nl;		/* the new leaf list */
	size_t nn, ncap;
	uint32_t nnew;		/* segments cut (fingerprints to come) */
	size_t oi;		/* the next old leaf not yet taken or passed */
	segq_batch *b;		/* being filled */
	size_t bcut;		/* bytes of b cut */
	uint64_t at;		/* the file offset of b->buf[bcut] */
	uint64_t fill;		/* ... of b->buf[b->len] */
	int real;		/* at is a content-defined cut */
	int zsent;		/* the zero segment went out */
	int eof;		/* the end of the file was reached */
	uint8_t *tail;		/* bytes held back at the end */
	size_t ntail;
} rf_cut;

/* The pipeline's feed (under its lock). */
static int rf_feed(void *arg, const fp_t *fp, uint32_t len)
{
	rf_fps *p = arg;
	fp_t *v;

	(void)len;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;

		v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return ddterr_set(-ENOMEM, "no memory for fingerprints");
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *fp;
	return 0;
}

/* ---- what changed ---- */

static int rf_ranges(rf_cut *x)
{
	const ddtc_rfile *f = x->f;

	x->r = malloc((f->next + 1) * sizeof(*x->r));
	if (!x->r)
		return ddterr_set(-ENOMEM, "no memory for changed ranges");
	for (size_t i = 0; i < f->next; i++) {
		const rf_ext *e = &f->ext[i];

		if (x->nr && x->r[x->nr - 1].e == e->off)
			x->r[x->nr - 1].e = e->off + e->len;
		else
			x->r[x->nr++] = (rf_range){ e->off, e->off + e->len };
	}
	/* Shortened: the segment holding the new end is cut again. (A file
	 * that grew has its new bytes in the overlay.) */
	if (f->size < f->lsize && !(x->nr && x->r[x->nr - 1].e >= f->size))
		x->r[x->nr++] = (rf_range){ f->size, f->size };
	return 0;
}

/* Where to start cutting for a change at a: the old cut point at or
 * before it (the start of the leaf holding it, or the end of the leaves
 * if that is a cut); *k the old leaf starting there. */
static uint64_t rf_restart(const ddtc_rfile *f, uint64_t a, size_t *k)
{
	if ((f->end_cut && a >= f->lsize) || f->nleaf == 0) {
		*k = f->nleaf;
		return f->lsize;
	}
	*k = rf_leaf_find(f, a < f->lsize ? a : f->lsize - 1);
	return f->leaf[*k].off;
}

/* Whether at is an old cut point, the start of old leaf *k. */
static int rf_old_cut(const ddtc_rfile *f, uint64_t at, size_t *k)
{
	if (at >= f->lsize) {
		*k = f->nleaf;
		return at == f->lsize && f->end_cut;
	}
	*k = rf_leaf_find(f, at);
	return f->leaf[*k].off == at;
}

/* ---- the new leaf list ---- */

static int rf_add_leaf(rf_cut *x, const rf_leaf *l)
{
	if (x->nn == x->ncap) {
		size_t cap = x->ncap ? x->ncap * 2 : 256;
		rf_leaf *v = realloc(x->nl, cap * sizeof(*v));

		if (!v)
			return ddterr_set(-ENOMEM, "no memory for a file's "
					  "segment list");
		x->nl = v;
		x->ncap = cap;
	}
	x->nl[x->nn++] = *l;
	return 0;
}

/* Take the old leaves up to leaf k as they are. */
static int rf_keep_old(rf_cut *x, size_t k)
{
	int rc = 0;

	for (; x->oi < k && rc == 0; x->oi++)
		rc = rf_add_leaf(x, &x->f->leaf[x->oi]);
	return rc;
}

/* After a cut at x->at: whether the region ends there, at the end of the
 * file or on an old cut point past every change it has reached. */
static int rf_stop(rf_cut *x)
{
	size_t k;

	if (x->at >= x->f->size) {
		x->eof = 1;
		return 1;
	}
	for (; x->ri < x->nr && x->r[x->ri].a < x->at; x->ri++)
		if (x->r[x->ri].e > x->e)
			x->e = x->r[x->ri].e;
	if (x->at < x->e || !rf_old_cut(x->f, x->at, &k))
		return 0;
	x->b->len = x->bcut;	/* the bytes read ahead are old ones */
	x->fill = x->at;
	x->oi = k;
	return 1;
}

/* ---- cutting ---- */

/* Segment b->buf[bcut, bcut + k) at x->at. */
static int rf_emit(rf_cut *x, size_t k)
{
	rf_leaf l = { .off = x->at, .len = (uint32_t)k, .pend = ++x->nnew };
	int rc;

	rc = segq_seg_add(x->b, x->bcut, k);
	if (rc == 0)
		rc = rf_add_leaf(x, &l);
	if (rc < 0)
		return ddterr_set(rc, "no memory for a segment list");
	x->at += k;
	x->bcut += k;
	if (x->bcut >= SEGQ_BATCH_BYTES || x->b->n == SEGQ_BATCH_SEGS) {
		rc = segq_rollover(x->q, &x->b, x->bcut);
		x->bcut = 0;
	}
	return rc;
}

/* Read ahead so that the cutter sees max bytes (or the end). */
static int rf_fill(rf_cut *x)
{
	uint64_t want = x->at + 2 * (uint64_t)x->cut->max;
	uint64_t room = x->at + (x->b->cap - x->bcut);
	size_t take;
	int rc;

	if (x->fill - x->at >= x->cut->max)
		return 0;
	if (want > room)
		want = room;
	if (want > x->f->size)
		want = x->f->size;
	if (want <= x->fill)
		return 0;
	take = (size_t)(want - x->fill);
	rc = rf_read_at(x->c, x->f, x->fill, x->b->buf + x->b->len, take);
	if (rc < 0)
		return rc;
	x->b->len += take;
	x->fill += take;
	return 0;
}

/* At a cut point inside a hole with a whole segment of zeros ahead: the
 * zero segments, without reading, copying or hashing them. *stop: the
 * region ended among them. */
static int rf_zero_run(rf_cut *x, int *stop)
{
	const rf_ext *e = rf_ext_at(x->f, x->at);
	ddtc_rfile *f = x->f;
	int rc;

	*stop = 0;
	if (!e || e->buf || e->off + e->len - x->at < x->cut->max)
		return 0;
	rc = rf_zero_seg(x->c, f);
	if (rc == 0 && !x->zsent)
		rc = segq_send(x->q, rf_zeros, f->zlen, &f->zfp);
	if (rc < 0)
		return rc;
	x->zsent = 1;
	x->b->len = x->bcut;
	while (e->off + e->len - x->at >= x->cut->max) {
		rc = rf_add_leaf(x, &(rf_leaf){ .fp = f->zfp, .off = x->at,
						.len = f->zlen });
		if (rc < 0)
			return rc;
		x->at += f->zlen;
		x->fill = x->at;
		x->real = 1;
		if ((*stop = rf_stop(x)))
			return 0;
	}
	return 0;
}

/* The bytes at the end, under max, kept in the overlay (not a commit). */
static int rf_hold_tail(rf_cut *x)
{
	size_t n = (size_t)(x->fill - x->at);

	x->tail = malloc(n);
	if (!x->tail)
		return ddterr_set(-ENOMEM, "no memory for a file's last bytes");
	memcpy(x->tail, x->b->buf + x->bcut, n);
	x->ntail = n;
	x->b->len = x->bcut;
	x->eof = 1;
	return 0;
}

/* Cut from old cut point s until the region stops (rf_stop). */
static int rf_region(rf_cut *x, uint64_t s)
{
	size_t avail, k, max = x->cut->max;
	int rc, stop;

	x->at = x->fill = s;
	x->real = 1;
	for (;;) {
		rc = rf_zero_run(x, &stop);
		if (rc < 0 || stop)
			return rc;
		rc = rf_fill(x);
		if (rc < 0)
			return rc;
		avail = (size_t)(x->fill - x->at);
		if (avail == 0) {
			x->eof = 1;
			return 0;
		}
		if (avail < max && !x->final)
			return rf_hold_tail(x);
		k = cdc_cut(x->cut, x->b->buf + x->bcut, avail);
		x->real = k < avail || avail >= max;
		rc = rf_emit(x, k);
		if (rc < 0 || rf_stop(x))
			return rc;
	}
}

static int rf_cut_all(rf_cut *x)
{
	uint64_t s;
	size_t k;
	int rc = 0;

	while (rc == 0 && x->ri < x->nr && !x->eof) {
		s = rf_restart(x->f, x->r[x->ri].a, &k);
		rc = rf_keep_old(x, k);
		x->e = x->r[x->ri++].e;
		if (rc == 0)
			rc = rf_region(x, s);
	}
	if (rc == 0 && !x->eof)
		rc = rf_keep_old(x, x->f->nleaf);
	return rc;
}

/* ---- the flush ---- */

/* The new list in place of the old: fingerprints filled in, the overlay
 * emptied but for the tail held back. */
static void rf_install(rf_cut *x, const rf_fps *fps)
{
	ddtc_rfile *f = x->f;

	for (size_t i = 0; i < x->nn; i++)
		if (x->nl[i].pend) {
			x->nl[i].fp = fps->v[x->nl[i].pend - 1];
			x->nl[i].pend = 0;
		}
	free(f->leaf);
	f->leaf = x->nl;
	f->nleaf = x->nn;
	x->nl = NULL;
	rf_cache_free(f);	/* what the re-cut read: idle memory now */
	if (x->eof) {
		f->lsize = x->at;
		f->end_cut = x->tail ? 1 : x->real;
	}
	rf_ext_free_all(f);
	if (x->tail) {
		f->ext[0] = (rf_ext){ .off = x->at, .len = x->ntail,
				      .cap = x->ntail, .buf = x->tail };
		f->next = 1;
		f->buffered = x->ntail;
		x->tail = NULL;
	}
}

/* Cut the overlay into segments through q (whose feed is rf_feed on
 * fps), wait until all are on the target, and take the new leaves.
 * Failing, f is as it was. */
static int rf_flush(ddtc *c, ddtc_rfile *f, segq *q, rf_fps *fps, int final)
{
	rf_cut x = { .c = c, .f = f, .q = q, .cut = &c->cut,
		     .final = final };
	int rc;

	rc = rf_ranges(&x);
	if (rc < 0 || x.nr == 0) {
		free(x.r);
		return rc;
	}
	x.b = segq_batch_new(q, segq_full(q));
	rc = x.b ? rf_cut_all(&x) : ddterr_set(-ENOMEM, "no memory for a "
					       "write buffer");
	if (x.b && x.b->n && rc == 0) {
		x.b->len = x.bcut;
		segq_submit(q, x.b);
	} else {
		segq_batch_drop(x.b);
	}
	segq_wait(q, 1);
	if (rc == 0)
		rc = segq_error(q);
	if (rc == 0 && fps->n != x.nnew)
		rc = ddterr_set(-EIO, "rfile: %zu fingerprints for %u segments",
				fps->n, x.nnew);
	if (rc == 0 && x.tail && f->extcap == 0) {
		f->ext = malloc(sizeof(*f->ext));
		if (!f->ext)
			rc = ddterr_set(-ENOMEM, "no memory for a file's "
					"last bytes");
		else
			f->extcap = 1;
	}
	if (rc == 0)
		rf_install(&x, fps);
	free(x.nl);
	free(x.tail);
	free(x.r);
	return rc;
}

int ddtc_rfile_flush(ddtc *c, ddtc_rfile *f)
{
	rf_fps fps = { 0 };
	segq q;
	int rc;

	if (!f->dirty)
		return 0;
	rc = rf_load(c, f);
	if (rc == 0)
		rc = segq_init(&q, c, rf_feed, &fps);
	if (rc < 0)
		return rc;
	rc = rf_flush(c, f, &q, &fps, 0);
	segq_destroy(&q);
	free(fps.v);
	return rc;
}

/* ---- the commit ---- */

/* The tree of every leaf, its metadata segments sent through q. */
static int rf_tree(segq *q, const ddtc_rfile *f, ddt_content *k)
{
	tree_builder *tb;
	int rc;

	rc = tree_builder_new(&tb, segq_emit, q);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < f->nleaf && rc == 0; i++)
		rc = segq_tree_add(q, tb, &f->leaf[i].fp, f->leaf[i].len);
	if (rc == 0)
		rc = segq_tree_finish(q, tb, &k->root, &k->level, &k->size);
	else
		segq_wait(q, 1);
	tree_builder_free(tb);
	if (rc == 0 && k->size != f->size)
		rc = ddterr_set(-EIO, "rfile: the tree holds %llu bytes of %llu",
				(unsigned long long)k->size,
				(unsigned long long)f->size);
	return rc;
}

static int rf_set_content(ddtc *c, const ddt_content *k, ddt_attr *out)
{
	wbuf w;
	int rc;

	conn_begin(&w, DDT_OP_SET_CONTENT);
	wb_content(&w, k);
	rc = rpc_attr(c, &w, DDT_OP_SET_CONTENT, out);
	/* As ddtc_file_close(): the segment cache vouched for a segment the
	 * target no longer has. */
	if (rc == -ENOENT && c->sc && strstr(ddterr_last(rc), "segment")) {
		segcache_clear(c->sc);
		rc = ddterr_set(rc, "%s (the client's segment cache is now "
				"cleared)", ddterr_last(rc));
	}
	return rc;
}

int ddtc_rfile_commit(ddtc *c, ddtc_rfile *f, int64_t mtime, int sync,
		      ddt_attr *out)
{
	ddt_content k = { .ino = f->ino, .mtime = mtime,
			  .flags = sync ? DDT_CF_SYNC : 0 };
	rf_fps fps = { 0 };
	ddt_attr a;
	segq q;
	int rc;

	rc = session_has_set_content(c);
	if (rc == 0)
		rc = rf_load(c, f);
	if (rc == 0)
		rc = segq_init(&q, c, rf_feed, &fps);
	if (rc < 0)
		return rc;
	rc = rf_flush(c, f, &q, &fps, 1);
	if (rc == 0)
		rc = rf_tree(&q, f, &k);
	segq_destroy(&q);
	free(fps.v);
	if (rc == 0)
		rc = rf_set_content(c, &k, &a);
	if (rc < 0)
		return rc;
	f->root = k.root;
	f->level = k.level;
	f->base_size = k.size;
	f->dirty = 0;
	if (out)
		*out = a;
	return 0;
}
