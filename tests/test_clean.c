/* test_clean.c - cleaning over a real store and namespace: deleted files'
 * space comes back and the rest reads byte for byte; containers partly live
 * are copied forward; a segment a writer was told exists survives (pins,
 * at scan and at drop time); a commit whose segments were cleaned away is
 * refused, never half-bound; a writer and a cleaner racing for many rounds
 * lose nothing; a cleaner killed at random leaves a store that reopens,
 * reads everything and cleans again. */
#include "clean.h"
#include "ns.h"
#include "store.h"
#include "store_gc.h"
#include "ddterr.h"
#include "segdata.h"
#include "tap.h"
#include "testutil.h"
#include "tree.h"
#include "tstore.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED		7
#define CTR_SIZE	(256u * 1024)
#define PUT_BATCH	256
#define MAX_RAW		(16u * 1024)

typedef struct env {
	store *s;
	ns *n;
	clean *c;
	uint64_t dir;		/* the storage unit's root */
} env;

static void env_open(env *e, const char *root, int threshold)
{
	clean_config cc = { .threshold_pct = threshold };
	store_config sc;
	ns_su su;
	int rc;

	store_config_default(&sc, root);
	sc.k = 2;
	sc.m = 1;
	sc.container_size = CTR_SIZE;
	if ((rc = tstore_open(&e->s, &sc)) != 0)
		tap_bail("store_open %s: %s", root, ddterr_last(rc));
	if ((rc = ns_open(&e->n, tstore_index(e->s))) != 0)
		tap_bail("ns_open: %s", ddterr_last(rc));
	rc = ns_su_get(e->n, "u", &su);
	if (rc == -ENOENT)
		rc = ns_su_create(e->n, "u", &su);
	if (rc != 0)
		tap_bail("storage unit: %s", ddterr_last(rc));
	e->dir = su.root;
	if ((rc = clean_new(&e->c, e->s, e->n, &cc)) != 0)
		tap_bail("clean_new: %s", ddterr_last(rc));
}

static void env_close(env *e)
{
	clean_free(e->c);
	ns_close(e->n);
	if (tstore_close(e->s) != 0)
		diag("store_close: %s", ddterr_last(-EIO));
}

/* ---- writing files of numbered blocks ---- */

typedef struct writer {
	store *s;
	store_seg segs[PUT_BATCH];
	uint8_t *bufs[PUT_BATCH];
	size_t n;
	int err;
} writer;

static void wr_init(writer *w, store *s)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	for (int i = 0; i < PUT_BATCH; i++)
		w->bufs[i] = xmalloc(codec_bound(TREE_MAX_SEG_LEN));
}

static int wr_flush(writer *w)
{
	int rc = w->n ? store_put(w->s, w->segs, w->n, NULL) : 0;

	w->n = 0;
	if (rc && !w->err)
		w->err = rc;
	return rc;
}

static void wr_free(writer *w)
{
	wr_flush(w);
	for (int i = 0; i < PUT_BATCH; i++)
		free(w->bufs[i]);
}

/* Queue raw bytes as a segment; its fingerprint in *fp. */
static int wr_add(writer *w, const void *raw, size_t len, fp_t *fp)
{
	store_seg *g = &w->segs[w->n];
	int codec, rc;

	rc = segmenter_encode(CODEC_LZ4, raw, len, &g->fp, w->bufs[w->n],
			      codec_bound(TREE_MAX_SEG_LEN), &g->stored_len,
			      &codec);
	if (rc)
		return rc;
	g->codec = codec;
	g->raw_len = (uint32_t)len;
	g->data = w->bufs[w->n];
	*fp = g->fp;
	if (++w->n == PUT_BATCH)
		return wr_flush(w);
	return 0;
}

static int emit_meta(void *arg, int level, const uint8_t *raw, size_t len,
		     const fp_t *fp)
{
	fp_t got;
	int rc;

	(void)level;
	rc = wr_add(arg, raw, len, &got);
	return rc ? rc : !fp_equal(&got, fp) ? -EINVAL : 0;
}

static void block_fp(uint64_t b, fp_t *fp)
{
	static __thread uint8_t raw[MAX_RAW];
	size_t n = segdata_raw(SEED, b, raw);

	fp_compute(fp, raw, n);
}

/* Store blocks[0..n) as one file's segments and tree; if skip_present,
 * ask first and send only what the store lacks (as a client does). */
static int write_tree(store *s, const uint64_t *blocks, size_t n,
		      int skip_present, ns_entry *e)
{
	static __thread uint8_t raw[MAX_RAW];
	tree_builder *tb;
	writer *w = xmalloc(sizeof(*w));
	uint8_t *present = xmalloc(n ? n : 1);
	fp_t *fps = xmalloc((n ? n : 1) * sizeof(fp_t));
	int rc;

	for (size_t i = 0; i < n; i++)
		block_fp(blocks[i], &fps[i]);
	memset(present, 0, n);
	rc = skip_present ? store_has(s, fps, n, present) : 0;
	wr_init(w, s);
	if (rc == 0)
		rc = tree_builder_new(&tb, emit_meta, w);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t len = segdata_raw(SEED, blocks[i], raw);
		fp_t fp;

		if (!present[i])
			rc = wr_add(w, raw, len, &fp);
		if (rc == 0)
			rc = tree_add(tb, &fps[i], len);
	}
	if (rc == 0)
		rc = tree_finish(tb, &e->root, &e->level, &e->size);
	if (rc == 0)
		tree_builder_free(tb);
	wr_free(w);
	if (rc == 0)
		rc = w->err;
	free(w);
	free(present);
	free(fps);
	return rc;
}

static ns_entry entry(const char *name)
{
	ns_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.mode = 0100644;
	return e;
}

/* Write and commit a file, sending everything again if the commit finds a
 * segment cleaned away meanwhile (what the client does). A retry needs a
 * clean to begin twice while one file is written, which the race below
 * makes common by cleaning back to back. */
static int write_file(env *v, const char *name, const uint64_t *blocks,
		      size_t n, int *retries)
{
	ns_entry e = entry(name);
	int rc;

	rc = write_tree(v->s, blocks, n, 1, &e);
	if (rc == 0)
		rc = clean_commit(v->c, v->dir, &e, 1, 1, NULL, NULL);
	for (int tries = 0; rc == -ENOENT && tries < 8; tries++) {
		if (retries)
			++*retries;
		rc = write_tree(v->s, blocks, n, 0, &e);
		if (rc == 0)
			rc = clean_commit(v->c, v->dir, &e, 1, 1, NULL, NULL);
	}
	return rc;
}

/* ---- reading back ---- */

static int fetch(void *arg, const fp_t *fp, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = malloc(TREE_MAX_SEG_LEN);
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_read(arg, fp, buf, TREE_MAX_SEG_LEN, out_len);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

typedef struct vctx {
	store *s;
	const uint64_t *blocks;
	size_t n, at;
	int bad;
} vctx;

static int verify_visit(void *arg, int level, const fp_t *fp, uint64_t bytes)
{
	static __thread uint8_t want[MAX_RAW], got[MAX_RAW];
	vctx *x = arg;
	size_t wn, gn;

	(void)bytes;
	if (level > 0)
		return 0;
	if (x->at >= x->n)
		return x->bad = -ERANGE;
	wn = segdata_raw(SEED, x->blocks[x->at++], want);
	if ((x->bad = store_read(x->s, fp, got, sizeof(got), &gn)) != 0) {
		uint64_t cid = 0;
		uint32_t slot = 0;
		int r = idx_get_fp(tstore_index(x->s), fp, &cid, &slot);

		char hex[FP_HEX_LEN + 1];
		fp_to_hex(fp, hex);
		diag("block %zu %.16s: %s (index: %d, container %llu slot %u)",
		     x->at - 1, hex, ddterr_last(x->bad), r,
		     (unsigned long long)cid, slot);
		return x->bad;
	}
	if (gn != wn || memcmp(want, got, wn) != 0)
		return x->bad = -EIO;
	return 0;
}

/* Whether file name holds exactly blocks[0..n), every byte readable. */
static int file_intact(env *v, const char *name, const uint64_t *blocks,
		       size_t n)
{
	vctx x = { .s = v->s, .blocks = blocks, .n = n };
	ddt_attr a;
	int rc = ns_lookup(v->n, v->dir, name, &a);

	if (rc) {
		diag("%s: lookup: %s", name, ddterr_last(rc));
		return 0;
	}
	if (a.level == 0)
		rc = verify_visit(&x, 0, &a.root, a.size);
	else
		rc = tree_walk(&a.root, a.level, a.size, fetch, v->s,
			       verify_visit, &x);
	if (rc || x.at != n)
		diag("%s: %s (%zu of %zu blocks good)", name,
		     rc ? ddterr_last(rc) : "short", x.at, n);
	return rc == 0 && x.at == n;
}

static uint64_t *range(uint64_t first, size_t n)
{
	uint64_t *b = xmalloc(n * sizeof(*b));

	for (size_t i = 0; i < n; i++)
		b[i] = first + i;
	return b;
}

static uint64_t physical(env *v)
{
	store_stats st;

	store_get_stats(v->s, &st);
	return st.physical_bytes;
}

/* How many of blocks[0..n) the store still has (asked as a commit asks,
 * which does not protect them from the next clean). */
static size_t count_present(env *v, const uint64_t *blocks, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t len = 0;
		fp_t fp;

		block_fp(blocks[i], &fp);
		store_lookup(v->s, &fp, 1, STORE_PIN_COMMIT, &len);
		k += len > 0;
	}
	return k;
}

/* ---- the tests ---- */

static void test_reclaim(void)
{
	char *root = tap_tmpdir("clean-reclaim");
	uint64_t *a = range(0, 1500), *b = range(10000, 1500);
	uint64_t *c = xmalloc(1500 * sizeof(*c));
	uint64_t before, after;
	clean_report r;
	env v;
	int rc;

	for (size_t i = 0; i < 1500; i++)	/* half of a, half its own */
		c[i] = i < 750 ? i : 20000 + i;
	env_open(&v, root, 50);
	ok(write_file(&v, "a", a, 1500, NULL) == 0, "file a written");
	ok(write_file(&v, "b", b, 1500, NULL) == 0, "file b written");
	ok(write_file(&v, "c", c, 1500, NULL) == 0, "file c written");
	ok(store_flush(v.s) == 0, "flushed");
	before = physical(&v);
	ok(ns_unlink(v.n, v.dir, "b") == 0, "b removed from the namespace");
	rc = clean_run(v.c);
	clean_status(v.c, &r);
	ok(rc == 0, "a clean ran: %s", rc ? ddterr_last(rc) : "ok");
	after = physical(&v);
	diag("physical %llu -> %llu bytes; %llu of %llu containers dropped, "
	     "%llu bytes copied, %llu reclaimed",
	     (unsigned long long)before, (unsigned long long)after,
	     (unsigned long long)r.containers_dropped,
	     (unsigned long long)r.containers_examined,
	     (unsigned long long)r.bytes_copied,
	     (unsigned long long)r.reclaimed_bytes);
	ok(r.files == 2 && r.containers_dropped > 0, "files marked (%llu), "
	   "containers dropped", (unsigned long long)r.files);
	ok(after < before * 3 / 4, "physical bytes dropped by over a quarter");
	ok(r.reclaimed_bytes == before - after + 0 * r.orphan_bytes ||
	   r.reclaimed_bytes >= before - after,
	   "reclaimed figure covers the drop");
	ok(count_present(&v, b, 1500) < 15, "b's blocks are gone (%zu left)",
	   count_present(&v, b, 1500));
	ok(file_intact(&v, "a", a, 1500), "a reads back byte for byte");
	ok(file_intact(&v, "c", c, 1500), "c reads back byte for byte");
	rc = clean_run(v.c);
	clean_status(v.c, &r);
	ok(rc == 0 && r.containers_dropped == 0,
	   "a second clean finds nothing more to drop");
	env_close(&v);
	env_open(&v, root, 50);
	ok(physical(&v) == after, "the figures survive a reopen");
	ok(file_intact(&v, "a", a, 1500) && file_intact(&v, "c", c, 1500),
	   "after reopening, a and c read back");
	ok(count_present(&v, b, 1500) < 15, "and b stays gone");
	/* b again: its segments must be sent again, and then it reads. */
	ok(write_file(&v, "b", b, 1500, NULL) == 0 &&
	   file_intact(&v, "b", b, 1500), "b written again reads back");
	env_close(&v);
	free(a);
	free(b);
	free(c);
	tap_rmtree(root);
	free(root);
}

/* Two files written interleaved share every container; removing one leaves
 * containers half live, which a 60% threshold copies forward. */
static void test_copy_forward(void)
{
	char *root = tap_tmpdir("clean-forward");
	uint64_t *d = xmalloc(1200 * sizeof(*d)), *e = xmalloc(1200 * sizeof(*e));
	uint64_t *both = xmalloc(2400 * sizeof(*both));
	uint64_t before;
	ns_entry ent;
	clean_report r;
	env v;
	int rc;

	for (size_t i = 0; i < 1200; i++) {
		/* Pairs of blocks, so each file gets text and binary ones
		 * (odd blocks compress, even ones do not). */
		d[i] = 30000 + 4 * (i / 2) + (i & 1);
		e[i] = d[i] + 2;
		both[2 * i] = d[i];
		both[2 * i + 1] = e[i];
	}
	env_open(&v, root, 60);
	/* Lay the blocks down interleaved, then commit d and e on top. */
	ent = entry("both");
	ok(write_tree(v.s, both, 2400, 0, &ent) == 0, "interleaved blocks put");
	ok(write_file(&v, "d", d, 1200, NULL) == 0 &&
	   write_file(&v, "e", e, 1200, NULL) == 0, "d and e committed");
	ok(store_flush(v.s) == 0, "flushed");
	before = physical(&v);
	ok(ns_unlink(v.n, v.dir, "e") == 0, "e removed");
	/* d and e were written asking first: told "present", their blocks
	 * are kept by the next clean, whatever the namespace says. */
	rc = clean_run(v.c);
	clean_status(v.c, &r);
	ok(rc == 0 && count_present(&v, e, 1200) == 1200, "the first clean "
	   "keeps the blocks writers were just told exist");
	rc = clean_run(v.c);
	clean_status(v.c, &r);
	ok(rc == 0, "clean: %s", rc ? ddterr_last(rc) : "ok");
	diag("copied %llu bytes forward, dropped %llu, physical %llu -> %llu",
	     (unsigned long long)r.bytes_copied,
	     (unsigned long long)r.containers_dropped,
	     (unsigned long long)before, (unsigned long long)physical(&v));
	ok(r.bytes_copied > 0 && r.containers_dropped > 0,
	   "half-live containers were copied forward and dropped");
	ok(physical(&v) < before, "and space came back");
	ok(file_intact(&v, "d", d, 1200), "d reads back after copy-forward");
	env_close(&v);
	env_open(&v, root, 60);
	ok(file_intact(&v, "d", d, 1200), "and after a reopen");
	ok(count_present(&v, e, 1200) < 12, "e's blocks are gone");
	env_close(&v);
	free(d);
	free(e);
	free(both);
	tap_rmtree(root);
	free(root);
}

static int none_live(void *arg, const fp_t *fp)
{
	(void)arg;
	(void)fp;
	return 0;
}

typedef struct scan_rec {
	uint64_t cids[4096];
	uint32_t live[4096];
	size_t n;
} scan_rec;

static int rec_cb(void *arg, const store_gc_ctr *g)
{
	scan_rec *s = arg;

	if (s->n < 4096) {
		s->cids[s->n] = g->cid;
		s->live[s->n++] = g->live_segs;
	}
	return 0;
}

/* The store's half, step by step: what a writer is told exists survives a
 * clean that marked nothing live, whether it asked before the scan or
 * between copy-forward and drop. */
static void test_pins(void)
{
	char *root = tap_tmpdir("clean-pins");
	uint64_t *g = range(40000, 600), *h = range(50000, 600);
	uint64_t boundary, copied, total = 0;
	store_gc_drop_report dr;
	scan_rec *sr = xmalloc(sizeof(*sr));
	uint8_t p[600];
	fp_t fps[600];
	ns_entry e = entry("g");
	size_t lost = 0, kept_live = 0;
	env v;
	int rc;

	env_open(&v, root, 50);
	ok(write_tree(v.s, g, 600, 0, &e) == 0, "g's segments put, not "
	   "committed");
	e = entry("h");
	ok(write_tree(v.s, h, 600, 0, &e) == 0, "h's segments put, not "
	   "committed");
	ok(store_flush(v.s) == 0, "flushed");
	ok(store_gc_begin(v.s, &boundary) == 0, "pinning begins");
	ok(store_gc_begin(v.s, &copied) == -EBUSY, "a second clean is refused");
	for (size_t i = 0; i < 600; i++)
		block_fp(g[i], &fps[i]);
	ok(store_has(v.s, fps, 600, p) == 0 && p[0] && p[599],
	   "a writer asks about g's blocks: present");
	sr->n = 0;
	ok(store_gc_scan(v.s, boundary, none_live, NULL, rec_cb, sr) == 0,
	   "scan with nothing marked");
	for (size_t i = 0; i < sr->n; i++) {
		if (sr->live[i]) {
			kept_live++;
			rc = store_gc_forward(v.s, sr->cids[i], none_live,
					      NULL, &copied);
			total += rc == 0 ? copied : 0;
		}
	}
	ok(kept_live > 0 && total > 0, "pinned segments count live and are "
	   "copied forward (%zu containers, %llu bytes)", kept_live,
	   (unsigned long long)total);
	/* Now a writer asks about h, after the scan called it dead. */
	for (size_t i = 0; i < 600; i++)
		block_fp(h[i], &fps[i]);
	ok(store_has(v.s, fps, 1, p) == 0 && p[0],
	   "a writer asks about h's first block: present");
	ok(store_gc_drop(v.s, sr->cids, sr->n, none_live, NULL, &dr) == 0,
	   "drop");
	ok(dr.kept >= 1 && dr.dropped > 0, "the container pinned after the "
	   "scan is kept (%u kept, %u dropped)", dr.kept, dr.dropped);
	store_gc_end(v.s);
	for (size_t i = 0; i < 600; i++)
		block_fp(g[i], &fps[i]);
	ok(store_has(v.s, fps, 600, p) == 0, "has");
	for (size_t i = 0; i < 600; i++)
		lost += !p[i];
	ok(lost == 0, "every pinned block of g survived (%zu lost)", lost);
	ok(count_present(&v, h, 1) == 1, "h's pinned block survived");
	/* g can be committed now without sending anything. */
	e = entry("g");
	ok(write_tree(v.s, g, 600, 1, &e) == 0 &&
	   clean_commit(v.c, v.dir, &e, 1, 1, NULL, NULL) == 0 &&
	   file_intact(&v, "g", g, 600), "g commits and reads back");
	env_close(&v);
	free(g);
	free(h);
	free(sr);
	tap_rmtree(root);
	free(root);
}

static int only_fp(void *arg, const fp_t *fp)
{
	return fp_equal(arg, fp);
}

/* A container kept after copy-forward holds a stale copy; once the copy's
 * new home is cleaned, no lookup may be answered from the stale one (the
 * locality cache loads whole directories), or a writer would commit a file
 * to a segment that the next clean cannot see. */
static void test_stale_copy(void)
{
	char *root = tap_tmpdir("clean-stalecopy");
	uint64_t *blk = range(80000, 40), boundary, copied, xcid;
	store_gc_drop_report dr;
	scan_rec *sr = xmalloc(sizeof(*sr));
	ns_entry e = entry("x");
	fp_t f, l;
	uint32_t len;
	uint8_t p;
	env v;

	env_open(&v, root, 50);
	ok(write_tree(v.s, blk, 40, 0, &e) == 0 && store_flush(v.s) == 0,
	   "40 blocks in one container");
	block_fp(blk[3], &f);
	block_fp(blk[7], &l);
	ok(store_gc_begin(v.s, &boundary) == 0, "clean 1 begins");
	sr->n = 0;
	store_gc_scan(v.s, boundary, none_live, NULL, rec_cb, sr);
	xcid = sr->n ? sr->cids[0] : 0;
	ok(sr->n >= 1 && store_gc_forward(v.s, xcid, only_fp, &f, &copied) == 0
	   && copied > 0, "block 3 copied forward out of container %llu",
	   (unsigned long long)xcid);
	ok(store_has(v.s, &l, 1, &p) == 0 && p, "a writer is told block 7 "
	   "exists (pinned)");
	ok(store_gc_drop(v.s, &xcid, 1, only_fp, &f, &dr) == 0 && dr.kept == 1,
	   "so the container is kept, holding a stale copy of block 3");
	store_gc_end(v.s);
	/* Clean 2 with nothing live: block 3's new home goes, the old
	 * container stays pinned by what writers were told. */
	ok(store_gc_begin(v.s, &boundary) == 0, "clean 2 begins");
	sr->n = 0;
	store_gc_scan(v.s, boundary, none_live, NULL, rec_cb, sr);
	for (size_t i = 0; i < sr->n; i++)
		if (sr->cids[i] != xcid)
			store_gc_drop(v.s, &sr->cids[i], 1, none_live, NULL, &dr);
	store_gc_end(v.s);
	/* Block 7's lookup loads the old container's directory into the
	 * locality cache; block 3 must not be found through it. */
	ok(store_has(v.s, &l, 1, &p) == 0 && p, "block 7 still there");
	ok(store_lookup(v.s, &f, 1, STORE_PIN_COMMIT, &len) == 0 && !len,
	   "block 3 is gone, not served from its stale copy");
	env_close(&v);
	free(blk);
	free(sr);
	tap_rmtree(root);
	free(root);
}

/* A writer told "present" before a clean began, committing after it
 * ended: the segments were garbage then, so they are gone, and the commit
 * must say so instead of binding a name to missing data. */
static void test_stale_commit(void)
{
	char *root = tap_tmpdir("clean-stale");
	uint64_t *f = range(60000, 800);
	ns_entry e = entry("f");
	ddt_attr a;
	env v;
	int rc, retries = 0;

	env_open(&v, root, 50);
	ok(write_tree(v.s, f, 800, 0, &e) == 0 && store_flush(v.s) == 0,
	   "f's segments put and sealed, not committed");
	ok(clean_run(v.c) == 0, "a clean runs meanwhile");
	rc = clean_commit(v.c, v.dir, &e, 1, 1, NULL, NULL);
	ok(rc == -ENOENT, "the late commit is refused: %s", ddterr_last(rc));
	ok(ns_lookup(v.n, v.dir, "f", &a) == -ENOENT, "no name was bound");
	ok(write_file(&v, "f", f, 800, &retries) == 0 && retries == 0,
	   "writing it again (asking first) works");
	ok(file_intact(&v, "f", f, 800), "and it reads back");
	env_close(&v);
	free(f);
	tap_rmtree(root);
	free(root);
}

/* A tree checked once is not walked again until a clean begins; then it
 * is, and a tree whose segments that clean took is refused. */
static void test_verified_trees(void)
{
	char *root = tap_tmpdir("clean-verified");
	uint64_t *f = range(110000, 500);
	ns_entry e = entry("f"), e2;
	ddt_attr a;
	env v;
	int rc;

	env_open(&v, root, 50);
	ok(write_tree(v.s, f, 500, 0, &e) == 0 &&
	   clean_commit(v.c, v.dir, &e, 1, 1, NULL, NULL) == 0, "f committed");
	e2 = e;
	snprintf(e2.name, sizeof(e2.name), "f2");
	ok(clean_commit(v.c, v.dir, &e2, 1, 1, NULL, NULL) == 0,
	   "the same tree under a second name commits (remembered)");
	{
		/* f with 3000 blocks more: it shares f's subtrees. */
		uint64_t *g = range(110000, 3500);
		ns_entry e3 = entry("g");

		ok(write_tree(v.s, g, 3500, 1, &e3) == 0 &&
		   clean_commit(v.c, v.dir, &e3, 1, 1, NULL, NULL) == 0 &&
		   file_intact(&v, "g", g, 3500) &&
		   ns_unlink(v.n, v.dir, "g") == 0,
		   "a larger file sharing its subtrees commits and reads back");
		free(g);
	}
	e2.size++;
	rc = clean_commit(v.c, v.dir, &e2, 1, 1, NULL, NULL);
	ok(rc == -EBADMSG || rc == -EINVAL, "the same root with another size "
	   "is still checked, and refused: %s", ddterr_last(rc));
	ok(ns_unlink(v.n, v.dir, "f") == 0 && ns_unlink(v.n, v.dir, "f2") == 0
	   && store_flush(v.s) == 0, "both names removed");
	ok(clean_run(v.c) == 0 && clean_run(v.c) == 0, "two cleans");
	ok(count_present(&v, f, 500) < 5, "f's segments are gone");
	rc = clean_commit(v.c, v.dir, &e, 1, 1, NULL, NULL);
	ok(rc == -ENOENT, "committing the remembered tree again is refused: %s",
	   ddterr_last(rc));
	ok(ns_lookup(v.n, v.dir, "f", &a) == -ENOENT, "and binds nothing");
	env_close(&v);
	free(f);
	tap_rmtree(root);
	free(root);
}

/* ---- a writer and a cleaner racing ---- */

#define RACE_FILES	24
#define RACE_BLOCKS	300

typedef struct race {
	env *v;
	int stop, rounds, retries, failures;
	int cleans, clean_failures;
	uint64_t next_block;
	uint64_t *blocks[RACE_FILES];	/* what file i holds, NULL: absent */
} race;

static void *race_writer(void *arg)
{
	race *r = arg;
	char name[32];

	for (int round = 0; round < 60; round++) {
		int i = (int)(rnd64() % RACE_FILES);
		uint64_t *b = xmalloc(RACE_BLOCKS * sizeof(*b));

		/* Half old blocks (dedup against anything, live or dead),
		 * half new. */
		for (size_t j = 0; j < RACE_BLOCKS; j++)
			b[j] = (j & 1) && r->next_block > 0 ?
			       rnd64() % r->next_block : r->next_block++;
		snprintf(name, sizeof(name), "f%02d", i);
		int rc = write_file(r->v, name, b, RACE_BLOCKS, &r->retries);

		if (rc != 0) {
			diag("race write %s: rc %d: %s", name, rc,
			     ddterr_last(rc));
			r->failures++;
			free(b);
			continue;
		}
		free(r->blocks[i]);
		r->blocks[i] = b;
		/* And drop another now and then. */
		i = (int)(rnd64() % RACE_FILES);
		if (round % 3 == 0 && r->blocks[i]) {
			snprintf(name, sizeof(name), "f%02d", i);
			if (ns_unlink(r->v->n, r->v->dir, name) == 0) {
				free(r->blocks[i]);
				r->blocks[i] = NULL;
			}
		}
		r->rounds++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *race_cleaner(void *arg)
{
	race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		int rc = clean_run(r->v->c);
		clean_report rep;

		clean_status(r->v->c, &rep);
		if (rep.damaged_files)
			diag("clean %d: %llu damaged files", r->cleans,
			     (unsigned long long)rep.damaged_files);
		r->cleans++;
		if (rc) {
			diag("race clean: %s", ddterr_last(rc));
			r->clean_failures++;
		}
	}
	return NULL;
}

static void test_race(void)
{
	char *root = tap_tmpdir("clean-race");
	race r = { 0 };
	pthread_t tw, tc;
	int bad = 0, files = 0;
	char name[32];
	env v;

	env_open(&v, root, 70);
	r.v = &v;
	pthread_create(&tw, NULL, race_writer, &r);
	pthread_create(&tc, NULL, race_cleaner, &r);
	pthread_join(tw, NULL);
	pthread_join(tc, NULL);
	diag("%d writes (%d resent after a clean), %d cleans", r.rounds,
	     r.retries, r.cleans);
	ok(r.failures == 0 && r.clean_failures == 0,
	   "no write or clean failed");
	ok(r.cleans >= 3, "the cleaner ran while the writer wrote (%d)",
	   r.cleans);
	ok(clean_run(v.c) == 0, "a last clean");
	for (int i = 0; i < RACE_FILES; i++) {
		if (!r.blocks[i])
			continue;
		snprintf(name, sizeof(name), "f%02d", i);
		files++;
		bad += !file_intact(&v, name, r.blocks[i], RACE_BLOCKS);
	}
	ok(bad == 0, "all %d surviving files read back byte for byte", files);
	env_close(&v);
	env_open(&v, root, 70);
	bad = 0;
	for (int i = 0; i < RACE_FILES; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		if (r.blocks[i])
			bad += !file_intact(&v, name, r.blocks[i],
					    RACE_BLOCKS);
		free(r.blocks[i]);
	}
	ok(bad == 0, "and after a reopen");
	env_close(&v);
	tap_rmtree(root);
	free(root);
}

/* ---- reads while cleaning copies forward ---- */

typedef struct reader {
	env *v;
	uint64_t *blocks[4];
	int stop, reads, bad;
} reader;

static void *read_loop(void *arg)
{
	reader *r = arg;
	char name[16];

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		for (int i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), "r%d", i);
			r->bad += !file_intact(r->v, name, r->blocks[i], 400);
			__atomic_add_fetch(&r->reads, 1, __ATOMIC_SEQ_CST);
		}
	}
	return NULL;
}

/* Files read over and over while cleans copy their segments from one
 * container to the next: every read finds every byte (a reader that
 * raced a drop looks the segment up again). */
static void test_read_during_clean(void)
{
	char *root = tap_tmpdir("clean-read");
	reader r = { 0 };
	pthread_t t;
	char name[16];
	env v;
	int fails = 0, cleans = 0;

	env_open(&v, root, 95);
	r.v = &v;
	for (int i = 0; i < 4; i++) {
		uint64_t *junk = range(200000 + 1000 * (uint64_t)i, 400);

		r.blocks[i] = range(90000 + 1000 * (uint64_t)i, 400);
		snprintf(name, sizeof(name), "r%d", i);
		if (write_file(&v, name, r.blocks[i], 400, NULL) ||
		    write_file(&v, "junk", junk, 400, NULL))
			tap_bail("write: %s", ddterr_last(-EIO));
		free(junk);
	}
	ns_unlink(v.n, v.dir, "junk");
	pthread_create(&t, NULL, read_loop, &r);
	/* Each clean frees the junk around the files and copies the files'
	 * segments out of the containers they shared with it. */
	for (int i = 0; i < 40 &&
	     __atomic_load_n(&r.reads, __ATOMIC_SEQ_CST) < 60; i++) {
		clean_report rep;

		fails += clean_run(v.c) != 0;
		clean_status(v.c, &rep);
		cleans += rep.containers_dropped > 0;
		if (i % 3 == 2) {
			uint64_t *junk = range(300000 + 1000 * (uint64_t)i,
					       300);

			write_file(&v, "junk", junk, 300, NULL);
			ns_unlink(v.n, v.dir, "junk");
			free(junk);
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	ok(fails == 0 && cleans > 2, "cleans ran, %d of them dropping "
	   "containers", cleans);
	ok(r.bad == 0 && r.reads > 0, "%d file reads during them, all byte "
	   "for byte (%d bad)", r.reads, r.bad);
	for (int i = 0; i < 4; i++)
		free(r.blocks[i]);
	env_close(&v);
	tap_rmtree(root);
	free(root);
}

/* ---- a cleaner killed ---- */

static void test_kill(void)
{
	char *root = tap_tmpdir("clean-kill");
	uint64_t *keep[6];
	int bad = 0, rounds = 4;
	char name[32];
	env v;

	for (int round = 0; round < rounds; round++) {
		pid_t pid;
		int st;

		/* Garbage for the child to clean, around what we keep. */
		env_open(&v, root, 70);
		for (int i = 0; i < 3; i++) {
			uint64_t *junk = range(100000 + 10000 * (uint64_t)
					       (round * 3 + i), 700);

			snprintf(name, sizeof(name), "junk%d", i);
			if (write_file(&v, name, junk, 700, NULL) != 0)
				tap_bail("junk: %s", ddterr_last(-EIO));
			free(junk);
		}
		if (round == 0)
			for (int i = 0; i < 6; i++) {
				keep[i] = range(70000 + 1000 * (uint64_t)i,
						700);
				snprintf(name, sizeof(name), "keep%d", i);
				if (write_file(&v, name, keep[i], 700, NULL))
					tap_bail("keep: %s", ddterr_last(-EIO));
			}
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "junk%d", i);
			ns_unlink(v.n, v.dir, name);
		}
		env_close(&v);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			env_open(&v, root, 70);
			for (;;)
				clean_run(v.c);
		}
		usleep((useconds_t)(20000 + rnd64() % 200000));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		env_open(&v, root, 70);
		for (int i = 0; i < 6; i++) {
			snprintf(name, sizeof(name), "keep%d", i);
			bad += !file_intact(&v, name, keep[i], 700);
		}
		if (clean_run(v.c) != 0) {
			diag("clean after the kill: %s", ddterr_last(-EIO));
			bad++;
		}
		env_close(&v);
	}
	ok(bad == 0, "%d cleaners killed at random: every kept file reads "
	   "back, and cleaning runs again", rounds);
	env_open(&v, root, 70);
	bad = 0;
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "keep%d", i);
		bad += !file_intact(&v, name, keep[i], 700);
		free(keep[i]);
	}
	ok(bad == 0, "and after the last clean");
	env_close(&v);
	tap_rmtree(root);
	free(root);
}

int main(void)
{
	rnd_seed((uint64_t)getpid());
	test_reclaim();
	test_copy_forward();
	test_pins();
	test_stale_commit();
	test_stale_copy();
	test_verified_trees();
	test_race();
	test_read_during_clean();
	test_kill();
	return tap_done();
}
