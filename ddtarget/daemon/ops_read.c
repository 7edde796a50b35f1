/* ops_read.c - reads (PROTOCOL.md section 5, Reads): SEG_GET by
 * fingerprint, READ by file range through the file's tree. Segments go
 * into the reply straight from where the store holds them, as stored. */
#include "ops_sections.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "ddterr.h"
#include "now.h"
#include "ops.h"
#include "dset.h"
#include "ops_audit.h"
#include "tenant.h"
#include "tree.h"

#define READ_MAX_SEGS	2048	/* data segments one READ looks up */

/* Where segment fp goes: a seg of the reply in w (SEG_GET), or with
 * read set a READ element, the seg and off, where it starts in the file. */
typedef struct seg_put {
	wbuf *w;
	const fp_t *fp;
	int read;
	uint64_t off;
} seg_put;

/* Straight from where the store holds it into the reply, unless it would
 * take the payload past DDT_MAX_PAYLOAD: then nothing is appended and 1
 * is returned. */
static int append_seg(void *arg, int codec, uint32_t raw, const void *data,
		      uint32_t stored)
{
	ddt_seg s = { .codec = (uint8_t)codec, .raw_len = raw,
		      .stored_len = stored, .data = data };
	seg_put *p = arg;
	size_t need = (p->read ? DDT_READ_SEG_MIN : DDT_SEG_HEAD_LEN) + stored;
	wbuf *w = p->w;

	if (w->len - DDT_HDR_LEN + need > DDT_MAX_PAYLOAD)
		return 1;
	s.fp = *p->fp;
	if (p->read)
		wb_read_seg(w, p->off, &s);
	else
		wb_seg(w, &s);
	return w->err;
}

static int put_seg(req *q, wbuf *w, const fp_t *fp)
{
	seg_put p = { .w = w, .fp = fp };
	char hex[FP_HEX_LEN + 1];
	int rc = 1;

	/* A tenant gets only what it sent itself: another's segment is
	 * one the target does not hold. */
	if (dset_fenced(q->domain))
		rc = dset_has(q->d->ix, q->domain, fp);
	if (rc == 1)
		rc = store_peek(q->d->st, fp, append_seg, &p);
	else if (rc == 0)
		rc = -ENOENT;

	if (rc == -ENOENT) {
		fp_to_hex(fp, hex);
		rc = ddterr_set(-ENOENT, "segment %s is not on the target",
				hex);
	}
	return rc;
}

/* As many segments as fit, in request order: the reply holds those of
 * the first m fingerprints, m >= 1 if any were asked for (a segment is at
 * most codec_bound(1 MiB) bytes, far less than a payload), and the client
 * asks again for the rest. */
static int op_seg_get(req *q)
{
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint32_t n = rb_count(r, FP_LEN, UINT32_MAX), m = 0;
	fp_t *fps;
	size_t at;
	int rc = 0;

	if (n > DDT_MAX_GET)
		return req_skip_over_limit(q, n, FP_LEN,
					   "fingerprints", DDT_MAX_GET);
	fps = malloc((n ? n : 1) * sizeof(*fps));
	if (!fps)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		rb_fp(r, &fps[i]);
	rc = req_parsed(q);
	at = w->len;
	wb_u32(w, 0);
	for (; rc == 0 && m < n; m++) {
		rc = put_seg(q, w, &fps[m]);
		if (rc == 1)		/* full: the rest in the next SEG_GET */
			break;
	}
	if (rc == 1)
		rc = m > 0 ? 0 : ddterr_set(-EIO, "SEG_GET: a segment larger "
					    "than a reply");
	wb_put_u32_at(w, at, m);
	free(fps);
	return rc;
}

/* A READ's metadata segments, whole from the store (decompressed and
 * checked against their fingerprints by store_read). */
static int fetch_meta(void *arg, const fp_t *fp, uint8_t **out,
		      size_t *out_len)
{
	uint8_t *buf = malloc(TREE_MAX_SEG_LEN);
	char hex[FP_HEX_LEN + 1];
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_read(arg, fp, buf, TREE_MAX_SEG_LEN, out_len);
	if (rc == -ENOENT || rc == -ENOBUFS) {
		fp_to_hex(fp, hex);
		rc = ddterr_set(-EIO, "the file's metadata segment %s is %s",
				hex, rc == -ENOENT ? "missing" : "too large");
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* A READ's data segment, appended only if it has the bytes its parent in
 * the tree gives it: a tree committed before COMMIT checked that (or
 * damaged since) would otherwise hand the client holes or overlaps. */
typedef struct read_put {
	seg_put p;
	uint64_t want;		/* the tree's figure */
	int root;		/* a level-0 root: the figure is the size */
} read_put;

static int append_checked(void *arg, int codec, uint32_t raw,
			  const void *data, uint32_t stored)
{
	read_put *q = arg;
	char hex[FP_HEX_LEN + 1];

	if (raw == q->want)
		return append_seg(&q->p, codec, raw, data, stored);
	fp_to_hex(q->p.fp, hex);
	return ddterr_set(-EBADMSG, "the file's tree is damaged: data segment "
			  "%s has %u bytes where %s says %" PRIu64, hex, raw,
			  q->root ? "the file's size" : "its parent", q->want);
}

static int put_read_seg(ddtd *d, wbuf *w, const tree_entry *e, uint64_t off,
			int root)
{
	read_put q = { .p = { .w = w, .fp = &e->fp, .read = 1, .off = off },
		       .want = e->bytes, .root = root };

	return store_peek(d->st, &e->fp, append_checked, &q);
}

/* A READ of a file of unit makes the session a restore stream of that
 * unit (PROTOCOL.md, Streams). */
static void count_read(req *q, uint64_t unit)
{
	streams_read(q->d->streams, q->ss, unit, now_ns());
	ops_audit_read(q, unit);
}

static void grow_reply(ddtd *d, wbuf *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->cap < w->len + n &&
	    (p = bufpool_get(d->replies, w->len + n, &cap)))
		wb_adopt(w, p, cap);
	else
		wb_grow(w, n);
}

/* The data segments of file a that overlap [off, off + len), appended to
 * w after a u32 count, as many as fit the payload (and READ_MAX_SEGS):
 * *out_sent of them. *whole: they reach the range's end (or the file's). */
static int read_segs(ddtd *d, wbuf *w, const ddt_attr *a, uint64_t off,
		     uint32_t len, uint32_t *out_sent, int *whole)
{
	tree_entry *segs = NULL;
	uint64_t *offs = NULL;
	uint32_t n = 0, sent = 0;
	size_t at = w->len;
	int rc = 0;

	wb_u32(w, 0);
	*whole = 1;
	*out_sent = 0;
	if (off >= a->size || len == 0)
		return 0;
	segs = malloc(READ_MAX_SEGS * sizeof(*segs));
	offs = malloc(READ_MAX_SEGS * sizeof(*offs));
	if (!segs || !offs) {
		rc = -ENOMEM;
		goto out;
	}
	rc = tree_map(&a->root, a->level, a->size, off, len, fetch_meta, d->st,
		      segs, offs, READ_MAX_SEGS, &n);
	if (rc == -EBADMSG)
		rc = ddterr_set(rc, "the file's tree is damaged: %s",
				ddterr_last(rc));
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		rc = put_read_seg(d, w, &segs[i], offs[i], a->level == 0);
		if (rc == 1) {		/* full: the rest in the next READ */
			rc = 0;
			break;
		}
		sent += rc == 0;
	}
	if (rc == 0 && n > 0)
		*whole = sent == n && offs[n - 1] + segs[n - 1].bytes >=
			 (a->size - off < len ? a->size : off + len);
	wb_put_u32_at(w, at, sent);
	*out_sent = sent;
out:
	free(segs);
	free(offs);
	return rc;
}

/* The regular file ino, for reading: its attributes, the session
 * counted as a restore stream of its unit. */
static int read_attr(req *q, uint64_t ino, ddt_attr *a)
{
	uint64_t unit;
	int rc;

	if ((rc = tenant_ino(q, ino)) < 0 ||
	    (rc = ns_getattr_unit(q->d->ns, ino, a, &unit)) < 0)
		return rc;
	if (a->type != DDT_T_FILE)
		return ddterr_set(a->type == DDT_T_DIR ? -EISDIR : -EINVAL,
				  "inode %" PRIu64 " is not a regular file", ino);
	count_read(q, unit);
	return 0;
}

static int op_read(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint64_t ino = rb_u64(r), off = rb_u64(r);
	uint32_t len = rb_u32(r), sent;
	int rc, whole;
	ddt_attr a;

	if ((rc = req_parsed(q)) < 0 || (rc = read_attr(q, ino, &a)) < 0)
		return rc;
	wb_u64(w, a.size);
	/* Room for the window, compressed or not, at once (growing the
	 * reply by doubling would copy it again and again), in a buffer a
	 * reply sent earlier gave back (bufpool.h). */
	if (off < a.size && len > 0)
		grow_reply(d, w, len < DDT_MAX_PAYLOAD ? len + 64 * 1024 :
			   DDT_MAX_PAYLOAD);
	return read_segs(d, w, &a, off, len, &sent, &whole);
}

/* ---- READ_FILES: many small files in one request ---- */

/* A file of a READ_FILES request: its attributes, or why not. */
typedef struct rf_file {
	uint64_t ino;
	int rc;
	ddt_attr a;
} rf_file;

/* One file's entry of a READ_FILES reply: status 0, its size and its
 * segments from offset 0; or its error and message, the entry's
 * segments (if any were appended) taken back. *last: the reply ends
 * with this entry (the file did not fit whole). 1: the file got none of
 * the room, and is left for the next request. */
static int read_file_entry(req *q, const rf_file *f, int first, int *last)
{
	wbuf *w = q->w;
	size_t at = w->len;
	int rc = f->rc, whole = 1;
	uint32_t sent = 0;
	ddt_attr a;

	wb_u32(w, 0);
	if (rc < 0)	/* again, for its message */
		rc = read_attr(q, f->ino, &a);
	if (rc == 0) {
		wb_u64(w, f->a.size);
		rc = read_segs(q->d, w, &f->a, 0, UINT32_MAX, &sent, &whole);
	}
	if (rc == 0 && !whole && !first && sent == 0) {
		w->len = at;	/* not one segment of it fitted */
		return 1;
	}
	*last = !whole;
	if (rc == -ENOMEM || w->err)
		return rc ? rc : -ENOMEM;
	if (rc < 0) {
		w->len = at;
		wb_u32(w, ops_status(rc));
		wb_str(w, ddterr_last(rc));
	}
	return 0;
}

/* Every file's attributes first: the reply's room is then taken at once,
 * for the bytes the files hold (and what a segment adds to them), not
 * for a whole payload. */
static void read_files_attrs(req *q, rf_file *f, uint32_t n)
{
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < n; i++) {
		f[i].rc = read_attr(q, f[i].ino, &f[i].a);
		if (f[i].rc == 0)
			bytes += f[i].a.size;
	}
	bytes += bytes / 32 + (uint64_t)n * 64 + 4096;
	grow_reply(q->d, q->w, bytes < DDT_MAX_PAYLOAD ? (size_t)bytes :
		   DDT_MAX_PAYLOAD);
}

/* The files in request order, each whole, until the payload is full:
 * the last one in the reply may be partial (the client goes on with
 * READ), and those after it are for the next READ_FILES. A file's error
 * is its entry's; only a malformed request, or no memory, fails it. */
static int op_read_files(req *q)
{
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint32_t n = rb_count(r, 8, UINT32_MAX), m = 0;
	rf_file *f;
	int rc = 0, last = 0;
	size_t at;

	if (n > DDT_MAX_READ_FILES)
		return req_skip_over_limit(q, n, 8, "files",
					   DDT_MAX_READ_FILES);
	f = calloc(n ? n : 1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		f[i].ino = rb_u64(r);
	rc = req_parsed(q);
	at = w->len;
	wb_u32(w, 0);
	if (rc == 0)
		read_files_attrs(q, f, n);
	for (; rc == 0 && m < n && !last; m++) {
		rc = read_file_entry(q, &f[m], m == 0, &last);
		if (rc == 1) {
			rc = 0;
			break;
		}
	}
	if (rc == 0)
		wb_put_u32_at(w, at, m);
	free(f);
	return rc;
}

const req_handler ops_read_handlers[] = {
	{ DDT_OP_SEG_GET, op_seg_get },
	{ DDT_OP_READ, op_read },
	{ DDT_OP_READ_FILES, op_read_files },
	{ 0, NULL }
};
