/* rfile_leaf.c - a random-access file's leaf list (its data segments, in
 * file order, with their offsets) and the bytes behind it: the list is
 * read once from the committed tree (tree_walk, each metadata segment
 * fetched with SEG_GET); a leaf's bytes come from a small per-handle LRU
 * of decompressed segments, filled by SEG_GETs that read a few leaves
 * ahead, since reads and re-cuts go forward. Every fetched segment is
 * checked against its fingerprint: a re-cut would otherwise store a
 * damaged byte again under a new, valid name. */
#include "rfile_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "rpc.h"
#include "tree.h"

uint8_t rf_zeros[CDC_MAX_LIMIT];

/* ---- SEG_GET ---- */

typedef int (*rf_got_fn)(void *arg, uint32_t i, uint8_t *raw, uint32_t len);

/* One segment of a reply: decompressed into a malloc'd buffer, checked. */
static int rf_seg_raw(const ddt_seg *s, const fp_t *want, uint8_t **out)
{
	char hex[FP_HEX_LEN + 1];
	uint8_t *raw;
	fp_t got;
	int rc;

	fp_to_hex(want, hex);
	if (!fp_equal(&s->fp, want) || s->raw_len == 0 ||
	    s->raw_len > CDC_MAX_LIMIT)
		return ddterr_set(-EPROTO, "SEG_GET: the target answered for "
				  "segment %s with another", hex);
	raw = malloc(s->raw_len);
	if (!raw)
		return -ENOMEM;
	rc = codec_decompress(s->codec, s->data, s->stored_len, raw,
			      s->raw_len);
	if (rc == 0)
		rc = fp_compute(&got, raw, s->raw_len);
	if (rc == 0 && !fp_equal(&got, want))
		rc = -EBADMSG;
	if (rc < 0) {
		free(raw);
		return ddterr_set(rc == -ENOMEM ? rc : -EBADMSG, "segment %s "
				  "from the target does not decode to its "
				  "fingerprint", hex);
	}
	*out = raw;
	return 0;
}

/* SEG_GET fps[0..n): each segment, raw and checked, to got (which owns
 * it), in order; as many requests as the replies' size takes. */
static int rf_segget(ddtc *c, const fp_t *fps, uint32_t n, rf_got_fn got,
		     void *arg)
{
	uint32_t done = 0, ask, m, i;
	conn_reply rep;
	uint8_t *raw = NULL;
	ddt_seg s;
	wbuf w;
	rbuf r;
	int rc;

	while (done < n) {
		ask = n - done < DDT_MAX_GET ? n - done : DDT_MAX_GET;
		conn_begin(&w, DDT_OP_SEG_GET);
		wb_u32(&w, ask);
		for (i = 0; i < ask; i++)
			wb_fp(&w, &fps[done + i]);
		rc = rpc_call(c, &w, &rep, &r);
		if (rc < 0)
			return rc;
		m = rb_count(&r, DDT_SEG_HEAD_LEN, ask);
		if (m == 0)
			r.err = -EPROTO;
		for (i = 0, rc = 0; i < m && rc == 0 && !r.err; i++) {
			rb_seg(&r, &s);
			if (r.err)
				break;
			rc = rf_seg_raw(&s, &fps[done + i], &raw);
			if (rc == 0)
				rc = got(arg, done + i, raw, s.raw_len);
		}
		if (rc < 0) {
			conn_reply_free(&rep);
			return rc;
		}
		rc = rpc_end(&rep, &r, DDT_OP_SEG_GET);
		if (rc < 0)
			return rc;
		done += m;
	}
	return 0;
}

/* ---- the leaf list ---- */

typedef struct rf_walk {
	ddtc *c;
	ddtc_rfile *f;
	size_t cap;
	uint64_t pos;
} rf_walk;

typedef struct rf_one {
	uint8_t *raw;
	size_t len;
} rf_one;

static int rf_keep_one(void *arg, uint32_t i, uint8_t *raw, uint32_t len)
{
	rf_one *o = arg;

	(void)i;
	o->raw = raw;
	o->len = len;
	return 0;
}

/* tree_walk's fetch: a metadata segment, raw and checked. */
static int rf_fetch_meta(void *arg, const fp_t *fp, uint8_t **out_raw,
			 size_t *out_len)
{
	rf_walk *w = arg;
	rf_one o = { 0 };
	int rc;

	rc = rf_segget(w->c, fp, 1, rf_keep_one, &o);
	if (rc < 0)
		return rc;
	*out_raw = o.raw;
	*out_len = o.len;
	return 0;
}

static int rf_visit(void *arg, int level, const fp_t *fp, uint64_t bytes)
{
	rf_walk *w = arg;
	ddtc_rfile *f = w->f;
	rf_leaf *l;

	if (level > 0)
		return 0;
	if (bytes == 0 || bytes > CDC_MAX_LIMIT)
		return ddterr_set(-EBADMSG, "a data segment of %llu bytes in "
				  "file %llu's tree", (unsigned long long)bytes,
				  (unsigned long long)f->ino);
	if (f->nleaf == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		l = realloc(f->leaf, w->cap * sizeof(*l));
		if (!l)
			return ddterr_set(-ENOMEM, "no memory for a file's "
					  "segment list");
		f->leaf = l;
	}
	f->leaf[f->nleaf++] = (rf_leaf){ .fp = *fp, .off = w->pos,
					 .len = (uint32_t)bytes };
	w->pos += bytes;
	return 0;
}

int rf_load(ddtc *c, ddtc_rfile *f)
{
	rf_walk w = { .c = c, .f = f };
	int rc;

	if (f->loaded)
		return 0;
	/* Known before the walk: a hole's segments need no SEG_GET. */
	rc = rf_zero_seg(c, f);
	if (rc == 0)
		rc = tree_walk(&f->root, f->level, f->base_size,
			       rf_fetch_meta, &w, rf_visit, &w);
	if (rc == 0 && w.pos != f->base_size)
		rc = ddterr_set(-EBADMSG, "file %llu's tree covers %llu bytes "
				"of %llu", (unsigned long long)f->ino,
				(unsigned long long)w.pos,
				(unsigned long long)f->base_size);
	if (rc < 0) {
		free(f->leaf);
		f->leaf = NULL;
		f->nleaf = 0;
		return rc;
	}
	f->lsize = f->base_size;
	f->end_cut = 0;
	f->loaded = 1;
	return 0;
}

size_t rf_leaf_find(const ddtc_rfile *f, uint64_t off)
{
	size_t lo = 0, hi = f->nleaf;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->leaf[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the segment cache ---- */

static rf_cached *rf_cache_find(ddtc_rfile *f, const fp_t *fp)
{
	for (int i = 0; i < RF_CACHE; i++)
		if (f->cache[i].raw && fp_equal(&f->cache[i].fp, fp))
			return &f->cache[i];
	return NULL;
}

/* Keep raw (malloc'd, len bytes) as fp's, in place of the least
 * recently used. */
static void rf_cache_add(ddtc_rfile *f, const fp_t *fp, uint8_t *raw,
			 uint32_t len)
{
	rf_cached *slot = &f->cache[0];

	for (int k = 0; k < RF_CACHE && slot->raw; k++)
		if (!f->cache[k].raw || f->cache[k].used < slot->used)
			slot = &f->cache[k];
	free(slot->raw);
	*slot = (rf_cached){ .fp = *fp, .raw = raw, .len = len,
			     .used = ++f->tick };
}

typedef struct rf_ahead {
	ddtc_rfile *f;
	const fp_t *fps;
} rf_ahead;

static int rf_ahead_put(void *arg, uint32_t i, uint8_t *raw, uint32_t len)
{
	rf_ahead *a = arg;

	rf_cache_add(a->f, &a->fps[i], raw, len);
	return 0;
}

static int rf_is_zero(const ddtc_rfile *f, const rf_leaf *l)
{
	return f->zknown && l->len == f->zlen && fp_equal(&l->fp, &f->zfp);
}

/* SEG_GET leaf i and the next few not cached, at most 1 MiB raw. */
static int rf_fetch_ahead(ddtc *c, ddtc_rfile *f, size_t i)
{
	fp_t fps[RF_AHEAD];
	uint32_t n = 0;
	uint64_t raw = 0;
	rf_ahead a = { .f = f, .fps = fps };

	for (size_t k = i; k < f->nleaf && n < RF_AHEAD; k++) {
		const rf_leaf *l = &f->leaf[k];
		int dup = 0;

		if (k > i && raw + l->len > CDC_MAX_LIMIT)
			break;
		if (rf_is_zero(f, l) || rf_cache_find(f, &l->fp))
			continue;
		for (uint32_t j = 0; j < n && !dup; j++)
			dup = fp_equal(&fps[j], &l->fp);
		if (dup)
			continue;
		fps[n++] = l->fp;
		raw += l->len;
	}
	return rf_segget(c, fps, n, rf_ahead_put, &a);
}

int rf_leaf_bytes(ddtc *c, ddtc_rfile *f, size_t i, const uint8_t **out)
{
	const rf_leaf *l = &f->leaf[i];
	rf_cached *e;
	int rc;

	if (rf_is_zero(f, l)) {
		*out = rf_zeros;
		return 0;
	}
	e = rf_cache_find(f, &l->fp);
	if (!e) {
		rc = rf_fetch_ahead(c, f, i);
		if (rc == -EBADMSG || rc == -EPROTO)	/* name the file */
			return ddterr_set(rc, "reading inode %llu from offset "
					  "%llu: %s", (unsigned long long)f->ino,
					  (unsigned long long)l->off,
					  ddterr_last(rc));
		if (rc < 0)
			return rc;
		e = rf_cache_find(f, &l->fp);
	}
	if (!e || e->len != l->len)
		return ddterr_set(-EBADMSG, "segment of %u bytes at offset "
				  "%llu of file %llu came back with %u",
				  l->len, (unsigned long long)l->off,
				  (unsigned long long)f->ino, e ? e->len : 0);
	e->used = ++f->tick;
	*out = e->raw;
	return 0;
}

int rf_zero_seg(ddtc *c, ddtc_rfile *f)
{
	uint32_t len;
	int rc;

	if (f->zknown)
		return 0;
	len = (uint32_t)cdc_cut(&c->cut, rf_zeros, c->cut.max);
	rc = fp_compute(&f->zfp, rf_zeros, len);
	if (rc < 0)
		return rc;
	f->zlen = len;
	f->zknown = 1;
	return 0;
}

void rf_cache_free(ddtc_rfile *f)
{
	for (int i = 0; i < RF_CACHE; i++) {
		free(f->cache[i].raw);
		f->cache[i].raw = NULL;
	}
}
