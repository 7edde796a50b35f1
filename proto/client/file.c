/* file.c - the deduplicating file writer (ddtc_file_*): cut the bytes into
 * segments, hand them to the writers' pipeline (segq.c: fingerprint, ask
 * the target which it lacks, send those compressed), build the file's tree
 * as the fingerprints come, commit (commit.c).
 *
 * The caller's thread only copies and cuts (ddtc_file_write: file_room,
 * file_cut): every ~4 MiB of segments becomes a batch (segq_rollover) that
 * flows through the pipeline on the session's workers; segq.c says which
 * thread runs which stage. The pipeline feeds the fingerprints, in file
 * order, to the tree builder (file_feed), whose metadata segments go out
 * through the same pipeline. ddtc_file_close() waits until every batch of
 * its file is done, then commits, on the caller's thread. */
#include "segq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "tree.h"

#define FILE_FIRST_BUF	(128u << 10)	/* a new file's buffer; grows */

struct ddtc_file {
	ddtc *c;
	ddtc_meta m;
	segq q;			/* its pipeline */
	tree_builder *tb;	/* fed under q.mu */
	segq_batch *cur;	/* being filled: the caller's alone */
	size_t cut;		/* bytes of cur already cut */
	uint64_t size;		/* bytes written */
};

/* The pipeline's feed (under q.mu, in file order): the tree. */
static int file_feed(void *arg, const fp_t *fp, uint32_t len)
{
	ddtc_file *f = arg;

	return tree_add(f->tb, fp, len);
}

/* ---- the caller's side: copy, cut, submit ---- */

/* Cut what is buffered into segments. Before the end (final 0) a cut is
 * content-defined only with max bytes ahead (cdc.h), so the last bytes
 * wait for more. */
static int file_cut(ddtc_file *f, int final)
{
	const cdc *cut = &f->c->cut;
	segq_batch *b;
	size_t left, k;
	int rc;

	while ((b = f->cur) && (left = b->len - f->cut) > 0 &&
	       (final || left >= cut->max)) {
		k = cdc_cut(cut, b->buf + f->cut, left);
		rc = segq_seg_add(b, f->cut, k);
		if (rc < 0)
			return ddterr_set(rc, "no memory for a segment list");
		f->cut += k;
		if (f->cut >= SEGQ_BATCH_BYTES || b->n == SEGQ_BATCH_SEGS) {
			rc = segq_rollover(&f->q, &f->cur, f->cut);
			if (rc < 0)
				return rc;
			f->cut = 0;
		}
	}
	return 0;
}

/* Room in cur for more bytes: a small buffer first (most files are
 * small), doubled up to the full size as the file grows. */
static int file_room(ddtc_file *f, size_t want)
{
	size_t ncap, full = segq_full(&f->q);
	segq_batch *b = f->cur;
	uint8_t *nbuf;

	if (!b) {
		ncap = FILE_FIRST_BUF > 2 * (size_t)f->c->cut.max ?
		       FILE_FIRST_BUF : 2 * (size_t)f->c->cut.max;
		if (ncap < want)
			ncap = want;
		if (ncap > full)
			ncap = full;
		if (!(f->cur = segq_batch_new(&f->q, ncap)))
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

int ddtc_file_create(ddtc *c, const ddtc_meta *m, ddtc_file **out)
{
	ddtc_file *f;
	int rc;

	rc = ddtc_name_check(m->name);
	if (rc < 0)
		return rc;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	rc = segq_init(&f->q, c, file_feed, f);
	if (rc == 0) {
		rc = tree_builder_new(&f->tb, segq_emit, &f->q);
		if (rc < 0)
			segq_destroy(&f->q);
	}
	if (rc < 0) {
		free(f);
		return rc;
	}
	f->c = c;
	f->m = *m;
	*out = f;
	return 0;
}

int ddtc_file_write(ddtc_file *f, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t take;
	int rc;

	rc = segq_error(&f->q);
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
	segq_fail(&f->q, rc, ddterr_last(rc));
	return rc;
}

/* Everything cut, submitted and fed to the tree; an unsent cur dropped. */
static void file_flush(ddtc_file *f)
{
	int rc = segq_failed(&f->q);

	if (rc == 0)
		rc = file_cut(f, 1);
	if (rc < 0)
		segq_fail(&f->q, rc, ddterr_last(rc));
	if (f->cur && f->cur->n && rc == 0) {
		f->cur->len = f->cut;
		segq_submit(&f->q, f->cur);
	} else {
		segq_batch_drop(f->cur);
	}
	f->cur = NULL;
	segq_wait(&f->q, 0);
}

/* The tree's root, once every data segment is in; its metadata segments
 * go out through the pipeline, and every segment is answered for. */
static int file_finish_tree(ddtc_file *f, ddtc_entry *e)
{
	int rc = segq_tree_finish(&f->q, f->tb, &e->root, &e->level,
				  &e->size);

	if (rc == 0 && e->size != f->size)
		rc = ddterr_set(-EIO, "file writer: the tree holds %llu bytes "
				"of %llu written", (unsigned long long)e->size,
				(unsigned long long)f->size);
	return rc;
}

static void file_free(ddtc_file *f)
{
	tree_builder_free(f->tb);
	segq_destroy(&f->q);
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
	segq_fail(&f->q, -ECANCELED, "the file was abandoned");
	file_flush(f);
	segq_wait(&f->q, 1);
	file_free(f);
}
