/* fbatch.c - many small files stored together (ddtc_fbatch_*, ddtc.h).
 * Through the file writer (file.c) a file of one segment costs an
 * FP_QUERY, a SEG_PUT and a COMMIT, each a round trip and several thread
 * hand-offs on both ends; on a tree of small files those, not the bytes,
 * are the cost. Here the caller's thread cuts, fingerprints and builds
 * each file's tree as it is added (the same cuts and trees as file.c, so
 * the two deduplicate against each other), and the store step pays once
 * per batch:
 *
 *   ask    the batch's distinct fingerprints less what the segment cache
 *          knows, in FP_QUERYs of up to DDT_MAX_QUERY, all sent before
 *          the first reply is awaited
 *   put    the missing ones compressed into as few SEG_PUT frames as the
 *          payload allows, again all sent before any reply is awaited;
 *          each replies once its segments are durable
 *   commit one COMMIT per run of files in the same directory, all sent,
 *          then collected: a file's name appears once its COMMIT is
 *          answered, as with ddtc_file_close()
 *
 * All of it runs on the caller's thread: a backup stores several batches
 * at once from its workers, which keeps the link and both cores busy. */
#include "rpc.h"
#include "segq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"
#include "tree.h"

#define FB_FIRST_BUF	(256u << 10)	/* the batch's first buffer; grows */
/* Entries per COMMIT: any entry fits in DDT_ENTRY_MIN + DDT_MAX_NAME
 * bytes, so this many fit a payload of 1 MiB, less than any target's. */
#define FB_COMMIT_MAX	2048

_Static_assert(FB_COMMIT_MAX * (DDT_ENTRY_MIN + DDT_MAX_NAME) + 16 <
	       (1u << 20), "a COMMIT of the batch fits a payload");

/* A segment of the batch: its raw bytes are buf[off .. off + len); its
 * fingerprint is fp[] at the same index (an array of its own, as the
 * segment cache takes them). */
typedef struct fb_seg {
	size_t off;
	uint32_t len;
} fb_seg;

typedef struct fb_file {
	uint64_t dir;
	ddtc_entry e;
} fb_file;

struct ddtc_fbatch {
	ddtc *c;
	tree_builder *tb;	/* emits into this batch (fb_emit) */
	uint8_t *buf;		/* the files' bytes, then their metadata */
	size_t len, cap;
	size_t bytes;		/* the files' content */
	fb_seg *seg;
	fp_t *fp;
	size_t nseg, segcap, fpcap;
	fb_file *file;
	size_t nfile, filecap;
	uint32_t *ask;		/* segments to ask about, then to send */
	size_t nask;
};

/* ---- growing ---- */

/* Room for want elements of size in *arr (capacity *cap). */
static int fb_grow(void **arr, size_t *cap, size_t want, size_t size,
		   size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *p;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return ddterr_set(-ENOMEM, "no memory for a batch of files");
	*arr = p;
	*cap = ncap;
	return 0;
}

static int fb_append(ddtc_fbatch *b, const void *p, size_t n)
{
	int rc = fb_grow((void **)&b->buf, &b->cap, b->len + n, 1,
			 FB_FIRST_BUF);

	if (rc < 0)
		return rc;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

static int fb_seg_add(ddtc_fbatch *b, size_t off, size_t len, const fp_t *fp)
{
	int rc = fb_grow((void **)&b->seg, &b->segcap, b->nseg + 1,
			 sizeof(*b->seg), 64);

	if (rc == 0)
		rc = fb_grow((void **)&b->fp, &b->fpcap, b->nseg + 1,
			     sizeof(*b->fp), 64);
	if (rc < 0)
		return rc;
	b->seg[b->nseg] = (fb_seg){ .off = off, .len = (uint32_t)len };
	b->fp[b->nseg++] = *fp;
	return 0;
}

/* A metadata segment of the file being added: kept with the data. */
static int fb_emit(void *arg, int level, const uint8_t *raw, size_t len,
		   const fp_t *fp)
{
	ddtc_fbatch *b = arg;
	size_t off = b->len;
	int rc;

	(void)level;
	rc = fb_append(b, raw, len);
	if (rc == 0)
		rc = fb_seg_add(b, off, len, fp);
	return rc;
}

/* ---- adding a file ---- */

int ddtc_fbatch_new(ddtc *c, ddtc_fbatch **out)
{
	ddtc_fbatch *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return ddterr_set(-ENOMEM, "no memory for a batch of files");
	b->c = c;
	rc = tree_builder_new(&b->tb, fb_emit, b);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* Cut buf[base .. base + len) as file.c does (a cut looks at most
 * cut.max bytes ahead, so cutting the whole at once cuts the same),
 * fingerprint each segment and feed the tree. */
static int fb_cut(ddtc_fbatch *b, size_t base, size_t len)
{
	size_t off = 0, k;
	fp_t fp;
	int rc;

	while (off < len) {
		/* Recomputed each time: the tree's emits may move buf. */
		const uint8_t *p = b->buf + base + off;

		k = cdc_cut(&b->c->cut, p, len - off);
		rc = fp_compute(&fp, p, k);
		if (rc == 0)
			rc = fb_seg_add(b, base + off, k, &fp);
		if (rc == 0)
			rc = tree_add(b->tb, &fp, k);
		if (rc < 0)
			return rc;
		off += k;
	}
	return 0;
}

void *ddtc_fbatch_room(ddtc_fbatch *b, size_t n)
{
	if (fb_grow((void **)&b->buf, &b->cap, b->len + n, 1,
		    FB_FIRST_BUF) < 0)
		return NULL;
	return b->buf + b->len;
}

int ddtc_fbatch_add(ddtc_fbatch *b, const ddtc_meta *m, const void *data,
		    size_t len)
{
	size_t len0 = b->len, nseg0 = b->nseg;
	fb_file *f;
	int rc, rc2;

	rc = ddtc_name_check(m->name);
	if (rc == 0)
		rc = fb_grow((void **)&b->file, &b->filecap, b->nfile + 1,
			     sizeof(*b->file), 16);
	/* Read into ddtc_fbatch_room(): the bytes are in place already. */
	if (rc == 0 && b->buf && data == b->buf + b->len &&
	    len <= b->cap - b->len)
		b->len += len;
	else if (rc == 0)
		rc = fb_append(b, data, len);
	if (rc < 0)
		return rc;
	f = &b->file[b->nfile];
	memset(f, 0, sizeof(*f));
	rc = fb_cut(b, len0, len);
	/* Also after a failure: it empties the builder for the next file. */
	rc2 = tree_finish(b->tb, &f->e.root, &f->e.level, &f->e.size);
	if (rc == 0)
		rc = rc2;
	if (rc == 0 && f->e.size != len)
		rc = ddterr_set(-EIO, "file batch: the tree holds %llu bytes of "
				"%zu", (unsigned long long)f->e.size, len);
	if (rc < 0) {
		b->len = len0;
		b->nseg = nseg0;
		return rc;
	}
	f->dir = m->dir;
	snprintf(f->e.name, sizeof(f->e.name), "%s", m->name);
	f->e.mode = m->mode;
	f->e.uid = m->uid;
	f->e.gid = m->gid;
	f->e.atime = m->atime;
	f->e.mtime = m->mtime;
	b->nfile++;
	b->bytes += len;
	atomic_fetch_add(&b->c->logical_bytes, len);
	atomic_fetch_add(&b->c->segments, b->nseg - nseg0);
	return 0;
}

size_t ddtc_fbatch_count(const ddtc_fbatch *b)
{
	return b->nfile;
}

size_t ddtc_fbatch_bytes(const ddtc_fbatch *b)
{
	return b->bytes;
}

/* ---- storing: the first failure of several requests ---- */

/* Several requests are in flight and each must be collected; the first
 * failure is what the caller hears, its message kept from the later
 * ones'. */
typedef struct fb_err {
	int rc;
	char msg[CONN_MSG_LEN];
} fb_err;

static void fb_keep(fb_err *e, int rc)
{
	if (rc >= 0 || e->rc)
		return;
	e->rc = rc;
	snprintf(e->msg, sizeof(e->msg), "%s", ddterr_last(rc));
}

static int fb_result(const fb_err *e)
{
	return e->rc ? ddterr_set(e->rc, "%s", e->msg) : 0;
}

/* Room for one more started request in *k. */
static int fb_req_room(conn_req ***k, size_t *cap, size_t n)
{
	return fb_grow((void **)k, cap, n + 1, sizeof(**k), 8);
}

/* ---- ask: which segments does the target lack? ---- */

/* The first occurrence of each fingerprint, into b->ask; then drop what
 * the segment cache vouches for. */
static int fb_unique(ddtc_fbatch *b)
{
	size_t slots = 64, n = 0, h;
	uint32_t *slot;
	uint8_t *hit;

	while (slots < 2 * b->nseg)
		slots *= 2;
	slot = calloc(slots, sizeof(*slot));
	b->ask = calloc(b->nseg ? b->nseg : 1, sizeof(*b->ask));
	hit = calloc(b->nseg ? b->nseg : 1, 1);
	if (!slot || !b->ask || !hit) {
		free(slot);
		free(hit);
		return ddterr_set(-ENOMEM, "no memory for a batch of files");
	}
	for (size_t i = 0; i < b->nseg; i++) {
		h = (size_t)fp_hash64(&b->fp[i]) & (slots - 1);
		while (slot[h] && !fp_equal(&b->fp[slot[h] - 1], &b->fp[i]))
			h = (h + 1) & (slots - 1);
		if (slot[h])
			continue;
		slot[h] = (uint32_t)i + 1;
		b->ask[n++] = (uint32_t)i;
	}
	b->nask = n;
	if (b->c->sc) {
		segcache_lookup(b->c->sc, b->fp, b->ask, (uint32_t)n, hit);
		b->nask = 0;
		for (size_t k = 0; k < n; k++)
			if (!hit[k])
				b->ask[b->nask++] = b->ask[k];
		atomic_fetch_add(&b->c->queries_saved, n - b->nask);
	}
	free(slot);
	free(hit);
	return 0;
}

static int fb_query_send(ddtc_fbatch *b, size_t first, size_t n,
			 conn_req **k)
{
	wbuf w;
	int rc;

	conn_begin(&w, DDT_OP_FP_QUERY);
	wb_u32(&w, (uint32_t)n);
	for (size_t i = first; i < first + n; i++)
		wb_fp(&w, &b->fp[b->ask[i]]);
	rc = conn_start(b->c->cn, &w, k);
	wb_free(&w);
	return rc;
}

/* The reply to ask[first .. first + n): what the target holds goes to
 * the segment cache, what it lacks to ask[*kept ...] (kept <= first). */
static int fb_query_take(ddtc_fbatch *b, conn_req *k, size_t first,
			 size_t n, size_t *kept)
{
	const uint8_t *bits;
	conn_reply rep;
	uint32_t len, *have, nhave = 0;
	rbuf r;
	int rc;

	rc = rpc_wait(k, &rep, &r);
	if (rc < 0)
		return rc;
	bits = rb_blob(&r, &len);
	if (rb_done(&r) < 0 || len != (n + 7) / 8) {
		conn_reply_free(&rep);
		return ddterr_set(-EPROTO, "the target's FP_QUERY reply does "
				  "not parse; is it a ddtargetd of this "
				  "protocol version?");
	}
	/* What the target holds goes to the cache in one call (its lock,
	 * taken once), after the loop has moved the rest down in ask. */
	have = malloc(n * sizeof(*have));
	for (size_t i = 0; i < n; i++) {
		uint32_t s = b->ask[first + i];

		if (!(bits[i / 8] >> (i % 8) & 1))
			b->ask[(*kept)++] = s;
		else if (have)
			have[nhave++] = s;
	}
	if (b->c->sc && nhave)
		segcache_add(b->c->sc, b->fp, have, nhave);
	free(have);
	conn_reply_free(&rep);
	return 0;
}

/* FP_QUERY every fingerprint of ask, all queries sent first; ask keeps
 * the ones the target lacks, in order. */
static int fb_query(ddtc_fbatch *b)
{
	size_t nk = 0, kcap = 0, kept = 0, first;
	conn_req **k = NULL;
	fb_err e = { 0 };

	for (first = 0; first < b->nask; first += DDT_MAX_QUERY) {
		size_t n = b->nask - first;
		int rc = fb_req_room(&k, &kcap, nk);

		if (n > DDT_MAX_QUERY)
			n = DDT_MAX_QUERY;
		if (rc == 0)
			rc = fb_query_send(b, first, n, &k[nk]);
		if (rc < 0) {
			fb_keep(&e, rc);
			break;
		}
		nk++;
	}
	for (size_t j = 0; j < nk; j++) {
		size_t n = b->nask - j * DDT_MAX_QUERY;

		if (n > DDT_MAX_QUERY)
			n = DDT_MAX_QUERY;
		fb_keep(&e, fb_query_take(b, k[j], j * DDT_MAX_QUERY, n,
					  &kept));
	}
	free(k);
	b->nask = kept;
	return fb_result(&e);
}

/* ---- put: the missing segments, compressed ---- */

/* Append segment i to the SEG_PUT frame in w, compressed in place. */
static int fb_put_add(ddtc_fbatch *b, wbuf *w, uint32_t i)
{
	const fb_seg *s = &b->seg[i];

	return segq_put_seg(b->c, w, &b->fp[i], b->buf + s->off, s->len);
}

static int fb_put_send(ddtc_fbatch *b, wbuf *w, uint32_t count,
		       conn_req **k)
{
	wb_put_u32_at(w, DDT_HDR_LEN, count);
	return conn_start(b->c->cn, w, k);
}

static int fb_put_take(conn_req *k)
{
	conn_reply rep;
	rbuf r;
	int rc;

	rc = rpc_wait(k, &rep, &r);
	if (rc < 0)
		return rc;
	(void)rb_u32(&r);	/* how many were new: not ours to use */
	return rpc_end(&rep, &r, DDT_OP_SEG_PUT);
}

/* Send ask's segments in frames filled up to the payload limit, each
 * sent as it fills. The started requests go to *k (*nk of them). */
static int fb_put_send_all(ddtc_fbatch *b, conn_req ***k, size_t *nk,
			   size_t *kcap)
{
	uint32_t count = 0;
	int rc = 0;
	wbuf w;

	conn_begin(&w, DDT_OP_SEG_PUT);
	wb_u32(&w, 0);		/* the count, known at the end */
	for (size_t a = 0; a < b->nask && rc == 0; a++) {
		uint32_t i = b->ask[a];

		if (count && w.len - DDT_HDR_LEN + DDT_SEG_HEAD_LEN +
		    codec_bound(b->seg[i].len) > b->c->max_payload) {
			rc = fb_req_room(k, kcap, *nk);
			if (rc == 0)
				rc = fb_put_send(b, &w, count, &(*k)[*nk]);
			if (rc < 0)
				break;
			(*nk)++;
			count = 0;
			wb_reset(&w);
			ddt_frame_begin(&w, DDT_OP_SEG_PUT, 0, 0, 0);
			wb_u32(&w, 0);
		}
		rc = fb_put_add(b, &w, i);
		count += rc == 0;
	}
	if (rc == 0 && count) {
		rc = fb_req_room(k, kcap, *nk);
		if (rc == 0)
			rc = fb_put_send(b, &w, count, &(*k)[*nk]);
		if (rc == 0)
			(*nk)++;
	}
	wb_free(&w);
	return rc;
}

/* SEG_PUT what the target lacks; once every reply is in, they are
 * durable, and the segment cache knows them. */
static int fb_put(ddtc_fbatch *b)
{
	size_t nk = 0, kcap = 0;
	conn_req **k = NULL;
	fb_err e = { 0 };

	if (b->nask == 0)
		return 0;
	fb_keep(&e, fb_put_send_all(b, &k, &nk, &kcap));
	for (size_t j = 0; j < nk; j++)
		fb_keep(&e, fb_put_take(k[j]));
	free(k);
	if (e.rc == 0 && b->c->sc)
		segcache_add(b->c->sc, b->fp, b->ask, (uint32_t)b->nask);
	return fb_result(&e);
}

/* ---- commit: one COMMIT per run of files in one directory ---- */

/* Where the run of files starting at first ends. */
static size_t fb_run_end(const ddtc_fbatch *b, size_t first)
{
	size_t end = first + 1;

	while (end < b->nfile && end - first < FB_COMMIT_MAX &&
	       b->file[end].dir == b->file[first].dir)
		end++;
	return end;
}

/* Commit the run file[first .. end), whose COMMIT is k: its files'
 * status into rcs, their attributes into out. */
static int fb_commit_take(ddtc_fbatch *b, conn_req *k, size_t first,
			  size_t end, ddt_attr *out, int *rcs)
{
	int rc = commit_collect(k, end - first, out + first);

	/* The target lacks a segment the cache promised: forget the cache,
	 * so that storing the files again sends it (as file.c does). */
	if (rc == -ENOENT && b->c->sc && strstr(ddterr_last(rc), "segment"))
		segcache_clear(b->c->sc);
	for (size_t i = first; i < end; i++)
		rcs[i] = rc;
	return rc;
}

/* Send the COMMIT of every run into k (*nk of them); the files of the
 * runs not sent share the failure that stopped the sending. */
static int fb_commit_send(ddtc_fbatch *b, const ddtc_entry *ent,
			  uint32_t flags, conn_req ***k, size_t *nk,
			  int *rcs)
{
	size_t first = 0, end, kcap = 0;
	int rc = 0;

	while (first < b->nfile) {
		end = fb_run_end(b, first);
		rc = fb_req_room(k, &kcap, *nk);
		if (rc == 0)
			rc = commit_start(b->c, b->file[first].dir,
					  ent + first, end - first, flags,
					  &(*k)[*nk]);
		if (rc < 0)
			break;
		(*nk)++;
		first = end;
	}
	for (size_t i = first; rc < 0 && i < b->nfile; i++)
		rcs[i] = rc;
	return rc;
}

static int fb_commit(ddtc_fbatch *b, int sync, ddt_attr *out, int *rcs)
{
	uint32_t flags = sync ? DDT_CF_SYNC : 0;
	size_t nk = 0, first = 0, end;
	conn_req **k = NULL;
	ddtc_entry *ent;
	fb_err e = { 0 };

	ent = malloc((b->nfile ? b->nfile : 1) * sizeof(*ent));
	if (!ent) {
		fb_keep(&e, ddterr_set(-ENOMEM, "no memory for a batch of "
				       "files"));
		for (size_t i = 0; i < b->nfile; i++)
			rcs[i] = e.rc;
		return fb_result(&e);
	}
	for (size_t i = 0; i < b->nfile; i++)
		ent[i] = b->file[i].e;
	fb_keep(&e, fb_commit_send(b, ent, flags, &k, &nk, rcs));
	for (size_t j = 0; j < nk; j++, first = end) {
		end = fb_run_end(b, first);
		fb_keep(&e, fb_commit_take(b, k[j], first, end, out, rcs));
	}
	free(k);
	free(ent);
	return fb_result(&e);
}

/* ---- the batch's end ---- */

/* Empty again, keeping the memory. */
static void fb_reset(ddtc_fbatch *b)
{
	free(b->ask);
	b->ask = NULL;
	b->nask = 0;
	b->len = 0;
	b->bytes = 0;
	b->nseg = 0;
	b->nfile = 0;
}

int ddtc_fbatch_store(ddtc_fbatch *b, int sync, ddt_attr *out, int *rcs)
{
	int rc = fb_unique(b);

	if (rc == 0)
		rc = fb_query(b);
	if (rc == 0)
		rc = fb_put(b);
	if (rc == 0) {
		rc = fb_commit(b, sync, out, rcs);
	} else {
		for (size_t i = 0; i < b->nfile; i++)
			rcs[i] = rc;
	}
	fb_reset(b);
	return rc;
}

void ddtc_fbatch_free(ddtc_fbatch *b)
{
	if (!b)
		return;
	tree_builder_free(b->tb);
	free(b->buf);
	free(b->seg);
	free(b->fp);
	free(b->file);
	free(b->ask);
	free(b);
}
