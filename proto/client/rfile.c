/* rfile.c - random-access files (ddtc_rfile_*, ddtc_create; ddtc.h): the
 * handle and its overlay, the bytes written at any offset and not yet cut
 * into segments, kept as disjoint extents sorted by offset (a hole is an
 * extent without a buffer); reads through the overlay to the leaves.
 * Flushing and committing, which turn the overlay into segments, are
 * rfile_flush.c's; the leaves and their bytes rfile_leaf.c's.
 *
 * Writes in order fill extents of RF_EXT_MAX bytes, so a gateway streaming
 * a file costs one copy per byte until the flush; a write inside an
 * extent is copied in place. */
#include "rfile_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "now.h"
#include "rpc.h"

/* ---- the overlay ---- */

static uint64_t ext_end(const rf_ext *e)
{
	return e->off + e->len;
}

/* The first extent that ends after off (f->next if none). */
static size_t ext_first_after(const ddtc_rfile *f, uint64_t off)
{
	size_t lo = 0, hi = f->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ext_end(&f->ext[mid]) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const rf_ext *rf_ext_at(const ddtc_rfile *f, uint64_t off)
{
	size_t i = ext_first_after(f, off);

	return i < f->next && f->ext[i].off <= off ? &f->ext[i] : NULL;
}

static void ext_drop(ddtc_rfile *f, size_t i)
{
	if (f->ext[i].buf)
		f->buffered -= f->ext[i].cap;
	free(f->ext[i].buf);
	memmove(&f->ext[i], &f->ext[i + 1], (f->next - i - 1) *
		sizeof(*f->ext));
	f->next--;
}

/* Room for one more extent at i. */
static int ext_open(ddtc_rfile *f, size_t i)
{
	if (f->next == f->extcap) {
		size_t cap = f->extcap ? f->extcap * 2 : 8;
		rf_ext *e = realloc(f->ext, cap * sizeof(*e));

		if (!e)
			return ddterr_set(-ENOMEM, "no memory for a file's "
					  "written ranges");
		f->ext = e;
		f->extcap = cap;
	}
	memmove(&f->ext[i + 1], &f->ext[i], (f->next - i) * sizeof(*f->ext));
	f->next++;
	memset(&f->ext[i], 0, sizeof(f->ext[i]));
	return 0;
}

/* A new extent [off, off + len) at i: a copy of src (in a buffer of cap
 * >= len bytes), or a hole (src NULL). */
static int ext_insert(ddtc_rfile *f, size_t i, uint64_t off, size_t len,
		      const uint8_t *src, size_t cap)
{
	uint8_t *buf = NULL;
	int rc;

	if (src && !(buf = malloc(cap)))
		return ddterr_set(-ENOMEM, "no memory for %zu written bytes",
				  len);
	rc = ext_open(f, i);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	if (buf) {
		memcpy(buf, src, len);
		f->buffered += cap;
	}
	f->ext[i] = (rf_ext){ .off = off, .len = len, .cap = cap,
			      .buf = buf };
	return 0;
}

/* Take [a, b) out of the overlay: extents inside go, those across an end
 * are cut back (their buffers kept: f->buffered counts memory), one
 * across both is split. Fails only for want of memory
 * to split, and then changes nothing. */
static int ext_punch(ddtc_rfile *f, uint64_t a, uint64_t b)
{
	size_t i = ext_first_after(f, a);
	rf_ext *e;
	int rc;

	if (i < f->next && f->ext[i].off < a && ext_end(&f->ext[i]) > b) {
		e = &f->ext[i];
		rc = ext_insert(f, i + 1, b, ext_end(e) - b,
				e->buf ? e->buf + (b - e->off) : NULL,
				ext_end(e) - b);
		if (rc < 0)
			return rc;
		f->ext[i].len = a - f->ext[i].off;
		return 0;
	}
	if (i < f->next && f->ext[i].off < a) {
		f->ext[i].len = a - f->ext[i].off;
		i++;
	}
	while (i < f->next && ext_end(&f->ext[i]) <= b)
		ext_drop(f, i);
	if (i < f->next && f->ext[i].off < b) {
		e = &f->ext[i];
		if (e->buf)
			memmove(e->buf, e->buf + (b - e->off), ext_end(e) - b);
		e->len = ext_end(e) - b;
		e->off = b;
	}
	return 0;
}

/* Append src to extent e, its buffer grown to RF_EXT_MAX at most. */
static int ext_append(ddtc_rfile *f, rf_ext *e, const uint8_t *src, size_t n)
{
	size_t cap;
	uint8_t *buf;

	if (e->len + n > e->cap) {
		cap = e->cap * 2 > e->len + n ? e->cap * 2 : e->len + n;
		if (cap > RF_EXT_MAX)
			cap = RF_EXT_MAX;
		buf = realloc(e->buf, cap);
		if (!buf)
			return ddterr_set(-ENOMEM, "no memory for %zu written "
					  "bytes", cap);
		f->buffered += cap - e->cap;
		e->buf = buf;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, src, n);
	e->len += n;
	return 0;
}

/* Whether the extent before i (if any) holds bytes and ends at off. */
static rf_ext *ext_before(ddtc_rfile *f, size_t i, uint64_t off)
{
	rf_ext *p = i > 0 ? &f->ext[i - 1] : NULL;

	return p && p->buf && ext_end(p) == off ? p : NULL;
}

/* Bytes src[0..n) at off: in place inside one extent, else over whatever
 * was there, appended to the extent ending at off while it has room. A
 * stream of writes fills extents of RF_EXT_MAX bytes, each allocated
 * once, so nothing is copied twice on the way in. */
static int ext_write(ddtc_rfile *f, uint64_t off, const uint8_t *src,
		     size_t n)
{
	size_t i = ext_first_after(f, off), take;
	rf_ext *e = i < f->next ? &f->ext[i] : NULL, *prev;
	int rc;

	if (e && e->buf && e->off <= off && ext_end(e) >= off + n) {
		memcpy(e->buf + (off - e->off), src, n);
		return 0;
	}
	rc = ext_punch(f, off, off + n);
	for (; rc == 0 && n > 0; off += take, src += take, n -= take) {
		i = ext_first_after(f, off);
		prev = ext_before(f, i, off);
		take = n < RF_EXT_MAX ? n : RF_EXT_MAX;
		if (prev && prev->len < RF_EXT_MAX) {
			if (take > RF_EXT_MAX - prev->len)
				take = RF_EXT_MAX - prev->len;
			rc = ext_append(f, prev, src, take);
		} else {
			/* After a full one: a stream; room for what comes. */
			rc = ext_insert(f, i, off, take, src,
					prev ? RF_EXT_MAX : take);
		}
	}
	return rc;
}

/* A hole [off, off + len) past every extent (the end of the file). */
static int ext_hole(ddtc_rfile *f, uint64_t off, uint64_t len)
{
	rf_ext *last = f->next ? &f->ext[f->next - 1] : NULL;

	if (last && !last->buf && ext_end(last) == off) {
		last->len += len;
		return 0;
	}
	return ext_insert(f, f->next, off, len, NULL, 0);
}

void rf_ext_free_all(ddtc_rfile *f)
{
	for (size_t i = 0; i < f->next; i++)
		free(f->ext[i].buf);
	f->next = 0;
	f->buffered = 0;
}

/* ---- reading ---- */

/* Bytes [off, end) from the leaves (all below f->lsize). */
static int rf_read_leaves(ddtc *c, ddtc_rfile *f, uint64_t off, uint64_t end,
			  uint8_t *dst)
{
	const uint8_t *raw;
	size_t i, n;
	int rc;

	if (end > f->lsize)
		return ddterr_set(-EIO, "file %llu: no segment holds bytes "
				  "%llu..%llu", (unsigned long long)f->ino,
				  (unsigned long long)f->lsize,
				  (unsigned long long)end);
	while (off < end) {
		i = rf_leaf_find(f, off);
		rc = rf_leaf_bytes(c, f, i, &raw);
		if (rc < 0)
			return rc;
		n = f->leaf[i].off + f->leaf[i].len - off;
		if (n > end - off)
			n = end - off;
		memcpy(dst, raw + (off - f->leaf[i].off), n);
		dst += n;
		off += n;
	}
	return 0;
}

int rf_read_at(ddtc *c, ddtc_rfile *f, uint64_t off, uint8_t *dst, size_t n)
{
	uint64_t end = off + n, to;
	size_t i = ext_first_after(f, off);
	const rf_ext *e;
	int rc;

	while (off < end) {
		e = i < f->next ? &f->ext[i] : NULL;
		if (e && e->off <= off) {
			to = ext_end(e) < end ? ext_end(e) : end;
			if (e->buf)
				memcpy(dst, e->buf + (off - e->off), to - off);
			else
				memset(dst, 0, to - off);
			i++;
		} else {
			to = e && e->off < end ? e->off : end;
			rc = rf_read_leaves(c, f, off, to, dst);
			if (rc < 0)
				return rc;
		}
		dst += to - off;
		off = to;
	}
	return 0;
}

/* ---- the API ---- */

int ddtc_create(ddtc *c, uint64_t dir, const char *name, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t mtime, int excl,
		ddt_attr *out)
{
	ddtc_entry e;
	int rc;

	rc = ddtc_name_check(name);
	if (rc < 0)
		return rc;
	if (excl && (rc = session_has_set_content(c)) < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	strcpy(e.name, name);
	e.mode = mode;
	e.uid = uid;
	e.gid = gid;
	e.mtime = e.atime = mtime ? mtime : now_ns();
	return commit_entries(c, dir, &e, 1, DDT_CF_SYNC |
			      (excl ? DDT_CF_EXCL : 0), out);
}

int ddtc_rfile_open(ddtc *c, uint64_t ino, ddtc_rfile **out)
{
	ddtc_rfile *f;
	ddt_attr a;
	int rc;

	rc = ddtc_getattr(c, ino, &a);
	if (rc < 0)
		return rc;
	if (a.type != DDT_T_FILE)
		return ddterr_set(a.type == DDT_T_DIR ? -EISDIR : -EINVAL,
				  "inode %llu is not a regular file",
				  (unsigned long long)ino);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ino = ino;
	f->size = f->base_size = a.size;
	f->root = a.root;
	f->level = a.level;
	*out = f;
	return 0;
}

int ddtc_rfile_write(ddtc *c, ddtc_rfile *f, uint64_t off, const void *buf,
		     size_t n)
{
	int rc;

	(void)c;
	if (n == 0)
		return 0;
	if (off > INT64_MAX || n > INT64_MAX - off)
		return ddterr_set(-EFBIG, "a write at %llu of %zu bytes is past "
				  "the largest file", (unsigned long long)off,
				  n);
	if (off > f->size && (rc = ext_hole(f, f->size, off - f->size)) < 0)
		return rc;
	if (off > f->size)
		f->size = off;
	rc = ext_write(f, off, buf, n);
	if (rc < 0)
		return rc;
	if (off + n > f->size)
		f->size = off + n;
	f->dirty = 1;
	return 0;
}

int ddtc_rfile_truncate(ddtc *c, ddtc_rfile *f, uint64_t size)
{
	int rc = 0;

	(void)c;
	if (size > INT64_MAX)
		return ddterr_set(-EFBIG, "%llu bytes is past the largest file",
				  (unsigned long long)size);
	if (size < f->size)
		rc = ext_punch(f, size, UINT64_MAX);
	else if (size > f->size)
		rc = ext_hole(f, f->size, size - f->size);
	if (rc < 0)
		return rc;
	if (size != f->size)
		f->dirty = 1;
	f->size = size;
	return 0;
}

int ddtc_rfile_read(ddtc *c, ddtc_rfile *f, uint64_t off, void *buf,
		    size_t n, size_t *out_n)
{
	int rc;

	*out_n = 0;
	if (off >= f->size || n == 0)
		return 0;
	if (n > f->size - off)
		n = (size_t)(f->size - off);
	/* Untouched: the target reads its tree itself, as fast as READ. */
	if (!f->loaded && !f->dirty)
		return ddtc_read(c, f->ino, off, buf, n, out_n);
	rc = rf_load(c, f);
	if (rc == 0)
		rc = rf_read_at(c, f, off, buf, n);
	if (rc == 0)
		*out_n = n;
	return rc;
}

uint64_t ddtc_rfile_size(const ddtc_rfile *f)
{
	return f->size;
}

int ddtc_rfile_dirty(const ddtc_rfile *f)
{
	return f->dirty;
}

size_t ddtc_rfile_buffered(const ddtc_rfile *f)
{
	return f->buffered;
}

void ddtc_rfile_close(ddtc_rfile *f)
{
	if (!f)
		return;
	rf_ext_free_all(f);
	free(f->ext);
	free(f->leaf);
	rf_cache_free(f);
	free(f);
}
