/* read.c - reading files back: READ returns the stored segments that
 * overlap a range, and the client decompresses them and cuts out the
 * bytes asked for. ddtc_read_to_fd() keeps several READs in flight and
 * writes their windows in order, so a restore streams.
 *
 * Each segment is checked here, end to end (PROTOCOL.md, Reads): it
 * decompresses to its length, its bytes hash to the fingerprint the reply
 * gives (SHA-256, fp_compute(), as the writer named it), and the segments
 * tile the range: the first starts at or before it, each next one where
 * the last ended, none past the file's end. So a byte changed on the wire
 * or on the target's disk, a damaged tree or a confused reply (a gap, an
 * overlap) fails the read, naming the inode and the offset, rather than
 * leave wrong, stale or shifted bytes in the caller's buffer. */
#include "ddtc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "codec.h"
#include "ddterr.h"
#include "fdio.h"
#include "fp.h"

#define READ_WINDOW	(4u << 20)	/* bytes per READ of a stream */
#define READ_WINDOWS	4		/* READs in flight per stream */
#define READ_DIO_ALIGN	4096	/* what O_DIRECT wants of buffers, sizes and
				   offsets on the file systems we meet */
#define READ_DIO_MIN	(1u << 20)	/* smaller windows go buffered */

/* Bytes [off, end) of a file being filled into dst; pos: done up to. */
typedef struct read_range {
	uint64_t ino, off, end, pos;
	uint64_t size;		/* the file's, from the last reply */
	uint8_t *dst;
	uint8_t *scratch;	/* a segment cut at an edge; malloc'd lazily */
} read_range;

static void read_init(read_range *q, uint64_t ino, uint64_t off, uint64_t len,
		      uint8_t *dst)
{
	memset(q, 0, sizeof(*q));
	q->ino = ino;
	q->off = off;
	q->pos = off;
	q->end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	q->dst = dst;
}

/* A segment's raw bytes against its fingerprint: what the target stored
 * is what arrived. */
static int read_verify(const read_range *q, uint64_t so, const ddt_seg *s,
		       const uint8_t *raw)
{
	fp_t got;
	int rc = fp_compute(&got, raw, s->raw_len);

	if (rc < 0)
		return ddterr_set(rc, "READ of inode %" PRIu64 ": cannot "
				  "fingerprint the segment at offset %" PRIu64,
				  q->ino, so);
	if (!fp_equal(&got, &s->fp))
		return ddterr_set(-EBADMSG, "READ of inode %" PRIu64 ": the "
				  "%u-byte segment at offset %" PRIu64 " does "
				  "not match its fingerprint (changed on the "
				  "way or on the target)", q->ino, s->raw_len,
				  so);
	return 0;
}

/* One segment of a reply, starting at file offset so. */
static int read_seg(read_range *q, uint64_t so, const ddt_seg *s)
{
	uint32_t raw = s->raw_len;
	uint64_t from = q->pos, to;
	uint8_t *out;
	int rc;

	if (q->pos >= q->end || so >= q->end)
		return 0;	/* past what was asked: not ours to use */
	/* Only the range's first segment may start before where it is due
	 * (at a boundary before the range); every later one starts exactly
	 * where the last one ended. */
	if (raw == 0 || raw > CDC_MAX_LIMIT || so > q->pos ||
	    so + raw <= q->pos || (q->pos != q->off && so != q->pos))
		return ddterr_set(-EBADMSG, "READ of inode %" PRIu64 ": the "
				  "target sent a %u-byte segment at offset %"
				  PRIu64 " where offset %" PRIu64 " was due "
				  "(the file's tree is damaged)", q->ino, raw,
				  so, q->pos);
	if (so + raw > q->size)
		return ddterr_set(-EBADMSG, "READ of inode %" PRIu64 ": the "
				  "target sent a %u-byte segment at offset %"
				  PRIu64 ", past the file's %" PRIu64 " bytes "
				  "(the file's tree is damaged)", q->ino, raw,
				  so, q->size);
	to = so + raw < q->end ? so + raw : q->end;
	if (so == from && to == so + raw) {
		out = q->dst + (from - q->off);	/* whole: in place */
	} else {
		if (!q->scratch && !(q->scratch = malloc(CDC_MAX_LIMIT)))
			return -ENOMEM;
		out = q->scratch;
	}
	rc = codec_decompress(s->codec, s->data, s->stored_len, out, raw);
	if (rc < 0)
		return ddterr_set(rc, "READ of inode %" PRIu64 ": the segment "
				  "at offset %" PRIu64 " does not decompress: "
				  "%s", q->ino, so, ddterr_last(rc));
	rc = read_verify(q, so, s, out);
	if (rc < 0)
		return rc;
	if (out == q->scratch)
		memcpy(q->dst + (from - q->off), out + (from - so), to - from);
	q->pos = to;
	return 0;
}

/* A reply's (u64 offset, seg)[] passed over, unused. */
static void read_skip_segs(rbuf *r)
{
	uint32_t n = rb_count(r, DDT_READ_SEG_MIN, UINT32_MAX);
	uint64_t so;
	ddt_seg s;

	for (uint32_t i = 0; i < n && !r->err; i++)
		rb_read_seg(r, &so, &s);
}

/* A reply's (u64 offset, seg)[] into q. Past a segment that fails, the
 * rest are parsed but not used: the caller may read on in r. */
static int read_apply_segs(read_range *q, rbuf *r)
{
	uint32_t n = rb_count(r, DDT_READ_SEG_MIN, UINT32_MAX), i;
	uint64_t so;
	ddt_seg s;
	int rc = 0;

	for (i = 0; i < n && !r->err; i++) {
		rb_read_seg(r, &so, &s);
		if (!r->err && rc == 0)
			rc = read_seg(q, so, &s);
	}
	return rc;
}

/* Apply a READ reply: the size (which may shorten the range), then the
 * segments. */
static int read_apply(read_range *q, const uint8_t *p, size_t len)
{
	int rc;
	rbuf r;

	rb_init(&r, p, len);
	q->size = rb_u64(&r);
	if (q->end > q->size)
		q->end = q->size > q->off ? q->size : q->off;
	rc = read_apply_segs(q, &r);
	if (rc == 0 && rb_done(&r) < 0)
		rc = ddterr_set(-EPROTO, "the target's READ reply does not "
				"parse");
	return rc;
}

static int read_start(ddtc *c, const read_range *q, conn_req **out)
{
	uint64_t left = q->end - q->pos;
	wbuf w;
	int rc;

	conn_begin(&w, DDT_OP_READ);
	wb_u64(&w, q->ino);
	wb_u64(&w, q->pos);
	wb_u32(&w, left > READ_WINDOW ? READ_WINDOW : (uint32_t)left);
	rc = conn_start(c->cn, &w, out);
	wb_free(&w);
	return rc;
}

/* Collect a READ started for q and apply it. */
static int read_finish(conn_req *k, read_range *q)
{
	conn_reply rep;
	int rc;

	rc = conn_wait(k, &rep);
	if (rc < 0)
		return rc;
	rc = read_apply(q, rep.buf, rep.len);
	conn_reply_free(&rep);
	return rc;
}

/* READ until q is filled (a reply holds what fits one payload). */
static int read_fill(ddtc *c, read_range *q)
{
	uint64_t before;
	conn_req *k;
	int rc;

	while (q->pos < q->end) {
		before = q->pos;
		rc = read_start(c, q, &k);
		if (rc == 0)
			rc = read_finish(k, q);
		if (rc < 0)
			return rc;
		if (q->pos == before && q->pos < q->end)
			return ddterr_set(-EIO, "READ of inode %" PRIu64 " at "
					  "offset %" PRIu64 " of %" PRIu64
					  " bytes returned no data", q->ino,
					  q->pos, q->size);
	}
	return 0;
}

/* ---- streaming: several windows in flight ---- */

/*
 * A range is read in windows of READ_WINDOW bytes, READ_WINDOWS of them in
 * flight, completed in order. Windows keep each reply far below the
 * payload limit (a window's segments, plus the two cut at its edges), and
 * in flight they hide the round trip and the target's disk reads. The
 * first window goes alone: its reply says how large the file is. Into
 * memory, each window decompresses straight into the caller's buffer; to
 * a file descriptor, into a buffer per window, written out in order (so
 * pipes work too).
 */
typedef struct read_stream {
	ddtc *c;
	uint64_t ino;
	uint64_t start, end;	/* wanted; end shrinks to the size */
	uint64_t size, issued, done;
	int fd;			/* -1: into mem */
	/* Whole windows go to a regular file with O_DIRECT where the file
	 * system takes it: a restore writes gigabytes once, and filling
	 * the page cache with them costs more CPU than the copy itself
	 * (several times more on some virtual machines) and evicts what is
	 * worth keeping. The tail and anything unaligned go buffered, and
	 * so does a window under READ_DIO_MIN: a small file is one buffered
	 * write, not a synchronous disk write and three fcntl calls, and
	 * the descriptor is looked at (dio_setup) only for a large one. */
	int dio_setup, dio_ok, dio_on, fd_flags;
	uint64_t fd_pos;	/* the descriptor's offset */
	uint8_t *mem;		/* mem[0] is file offset start */
	uint8_t *scratch;
	int head, count;
	conn_req *k[READ_WINDOWS];
	read_range q[READ_WINDOWS];
	uint8_t *buf[READ_WINDOWS];
} read_stream;

/* Turn O_DIRECT on or off for the stream's descriptor; 0 or -1. */
static int read_set_direct(read_stream *s, int on)
{
	int fl = on ? s->fd_flags | O_DIRECT : s->fd_flags & ~O_DIRECT;

	if (fcntl(s->fd, F_SETFL, fl) < 0)
		return -1;
	s->dio_on = on;
	return 0;
}

static void read_direct_setup(read_stream *s)
{
	struct stat st;
	off_t pos;

	s->fd_flags = fcntl(s->fd, F_GETFL);
	pos = lseek(s->fd, 0, SEEK_CUR);
	s->dio_ok = s->fd_flags >= 0 && !(s->fd_flags & O_DIRECT) &&
		    !(s->fd_flags & O_APPEND) && pos >= 0 &&
		    fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
	s->fd_pos = pos > 0 ? (uint64_t)pos : 0;
	s->dio_setup = 1;
}

/* One write, O_DIRECT or not as direct says. */
static int read_write_part(read_stream *s, const uint8_t *p, size_t n,
			   int direct)
{
	int rc;

	if (direct != s->dio_on && read_set_direct(s, direct) < 0)
		s->dio_ok = direct = 0;		/* not here: buffered */
	rc = fd_write_all(s->fd, p, n);
	if (rc == -EINVAL && direct) {
		/* The file system took the flag but not the write (it
		 * failed before writing anything, as a misaligned one does):
		 * write buffered from now on. */
		s->dio_ok = 0;
		if (read_set_direct(s, 0) == 0)
			rc = fd_write_all(s->fd, p, n);
	}
	if (rc == 0)
		s->fd_pos += n;
	return rc;
}

/* A window: its aligned part around the page cache where that works, the
 * rest (a file's tail) buffered. */
static int read_write_all(read_stream *s, const uint8_t *p, size_t n)
{
	size_t head = 0;
	int rc = 0;

	if (n >= READ_DIO_MIN && !s->dio_setup)
		read_direct_setup(s);
	if (n >= READ_DIO_MIN && s->dio_ok &&
	    ((uintptr_t)p | s->fd_pos) % READ_DIO_ALIGN == 0)
		head = n / READ_DIO_ALIGN * READ_DIO_ALIGN;
	if (head)
		rc = read_write_part(s, p, head, 1);
	if (rc == 0 && head < n)
		rc = read_write_part(s, p + head, n - head, 0);
	if (rc < 0)
		return ddterr_set(rc, "writing the restored data: %s",
				  strerror(-rc));
	return 0;
}

/* ---- a thread's buffers, kept from one stream to the next ---- */

/*
 * A stream's windows (4 MiB each) and scratch went back to malloc when its
 * file was done, and the next file's came back as fresh pages often
 * enough (the heaps of glibc's thread arenas come and go) that a restore
 * of large files spent an eighth of its client's CPU in page faults,
 * decompressing into untouched memory. The thread that ran a stream keeps
 * its buffers for its next one instead, and frees them when it exits.
 */
typedef struct read_bufs {
	uint8_t *win[READ_WINDOWS];
	uint8_t *scratch;
} read_bufs;

static pthread_key_t read_bufs_key;
static int read_bufs_ok;
static pthread_once_t read_bufs_once = PTHREAD_ONCE_INIT;

static void read_bufs_free(void *p)
{
	read_bufs *b = p;

	for (int i = 0; i < READ_WINDOWS; i++)
		free(b->win[i]);
	free(b->scratch);
	free(b);
}

static void read_bufs_key_make(void)
{
	read_bufs_ok = pthread_key_create(&read_bufs_key, read_bufs_free) == 0;
}

/* The calling thread's kept buffers; NULL if there is no room for them. */
static read_bufs *read_bufs_mine(void)
{
	read_bufs *b;

	pthread_once(&read_bufs_once, read_bufs_key_make);
	if (!read_bufs_ok)
		return NULL;
	b = pthread_getspecific(read_bufs_key);
	if (!b && (b = calloc(1, sizeof(*b))) &&
	    pthread_setspecific(read_bufs_key, b) != 0) {
		free(b);
		b = NULL;
	}
	return b;
}

/* Take *kept (a buffer kept by this thread), leaving NULL there. */
static uint8_t *read_bufs_take(uint8_t **kept)
{
	uint8_t *p = *kept;

	*kept = NULL;
	return p;
}

/* Keep p in *kept if that is free, else free it. */
static void read_bufs_keep(uint8_t **kept, uint8_t *p)
{
	if (!*kept)
		*kept = p;
	else
		free(p);
}

/* Set up window slot for [off, off + len); a descriptor's window gets
 * its buffer when first used (a small file needs one). 0 or -ENOMEM. */
static int read_window(read_stream *s, int slot, uint64_t off, uint64_t len)
{
	uint8_t *dst = s->fd < 0 ? s->mem + (off - s->start) : s->buf[slot];

	if (!dst && posix_memalign((void **)&s->buf[slot], READ_DIO_ALIGN,
				   READ_WINDOW) != 0) {
		s->buf[slot] = NULL;
		return ddterr_set(-ENOMEM, "no memory for a read window");
	}
	if (!dst)
		dst = s->buf[slot];
	read_init(&s->q[slot], s->ino, off, len, dst);
	s->q[slot].scratch = s->scratch;
	return 0;
}

/* A window is complete: write it out (to a descriptor). */
static int read_sink(read_stream *s, read_range *q)
{
	int rc = 0;

	if (s->fd >= 0)
		rc = read_write_all(s, q->dst, (size_t)(q->end - q->off));
	if (rc == 0)
		s->done = q->end;
	return rc;
}

/* Start READs until READ_WINDOWS are in flight or the range is asked for. */
static int read_issue(read_stream *s)
{
	uint64_t len;
	int slot, rc;

	while (s->count < READ_WINDOWS && s->issued < s->end) {
		slot = (s->head + s->count) % READ_WINDOWS;
		len = s->end - s->issued;
		if (len > READ_WINDOW)
			len = READ_WINDOW;
		rc = read_window(s, slot, s->issued, len);
		if (rc == 0)
			rc = read_start(s->c, &s->q[slot], &s->k[slot]);
		if (rc < 0)
			return rc;
		s->count++;
		s->issued += len;
	}
	return 0;
}

/* Finish the oldest window in flight. */
static int read_next(read_stream *s)
{
	int slot = s->head, rc;
	read_range *q = &s->q[slot];

	s->head = (s->head + 1) % READ_WINDOWS;
	s->count--;
	rc = read_finish(s->k[slot], q);
	if (rc == 0 && q->size != s->size)
		rc = ddterr_set(-ESTALE, "inode %" PRIu64 " changed size while "
				"being read (%" PRIu64 " then %" PRIu64 " bytes)",
				q->ino, s->size, q->size);
	if (rc == 0)
		rc = read_fill(s->c, q);	/* what did not fit one reply */
	return rc ? rc : read_sink(s, q);
}

static int read_stream_run(read_stream *s)
{
	read_range *q = &s->q[0];
	uint64_t len = s->end - s->start;
	int rc;

	rc = read_window(s, 0, s->start, len < READ_WINDOW ? len : READ_WINDOW);
	if (rc == 0)
		rc = read_fill(s->c, q);
	if (rc == 0)
		rc = read_sink(s, q);
	if (rc < 0)
		return rc;
	s->size = q->size;
	if (s->end > s->size)
		s->end = s->size > s->start ? s->size : s->start;
	s->issued = s->done;
	while (rc == 0 && s->done < s->end) {
		rc = read_issue(s);
		if (rc == 0)
			rc = read_next(s);
	}
	return rc;
}

/* Collect and drop the READs still in flight after a failure, keeping
 * the failure's message. */
static int read_stream_abandon(read_stream *s, int rc)
{
	char msg[CONN_MSG_LEN];
	conn_reply rep;

	snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
	for (; s->count > 0; s->count--) {
		if (conn_wait(s->k[s->head], &rep) == 0)
			conn_reply_free(&rep);
		s->head = (s->head + 1) % READ_WINDOWS;
	}
	return ddterr_set(rc, "%s", msg);
}

static void read_stream_free(read_stream *s)
{
	read_bufs *b = read_bufs_mine();

	if (s->dio_on)
		(void)read_set_direct(s, 0);	/* the descriptor as found */
	for (int i = 0; i < READ_WINDOWS; i++) {
		if (b)
			read_bufs_keep(&b->win[i], s->buf[i]);
		else
			free(s->buf[i]);
	}
	if (b)
		read_bufs_keep(&b->scratch, s->scratch);
	else
		free(s->scratch);
	free(s);
}

/* A stream over [start, start + len) of ino, into mem or to fd. */
static int read_stream_new(ddtc *c, uint64_t ino, uint64_t start, uint64_t len,
			   uint8_t *mem, int fd, read_stream **out)
{
	read_stream *s = calloc(1, sizeof(*s));
	read_bufs *b;

	if (!s)
		return -ENOMEM;
	s->c = c;
	s->ino = ino;
	s->start = s->done = start;
	s->end = len > UINT64_MAX - start ? UINT64_MAX : start + len;
	s->mem = mem;
	s->fd = mem ? -1 : fd;
	if ((b = read_bufs_mine())) {
		for (int i = 0; i < READ_WINDOWS; i++)
			s->buf[i] = read_bufs_take(&b->win[i]);
		s->scratch = read_bufs_take(&b->scratch);
	}
	if (!s->scratch)
		s->scratch = malloc(CDC_MAX_LIMIT);
	if (!s->scratch) {
		read_stream_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static int read_stream_do(read_stream *s, uint64_t *out_done)
{
	int rc = read_stream_run(s);

	if (rc < 0)
		rc = read_stream_abandon(s, rc);
	else
		*out_done = s->done - s->start;
	read_stream_free(s);
	return rc;
}

/* ---- many small files: READ_FILES ---- */

/*
 * ddtc_read_files() asks for many files per READ_FILES, up to
 * READ_FILES_BYTES of them (by the sizes the caller gives) so that a reply
 * stays far below the payload limit, and keeps READ_FILES_INFLIGHT such
 * requests in flight: a restore of small files pays one round trip and
 * one wake-up per request, not per file, and the target one hand-off to
 * a worker. Each file is decoded and checked (read_seg) on the caller's
 * thread into one buffer, reused, and handed to the callback whole, in
 * the caller's order. A file the reply left out or cut short is read on
 * at once (READ_FILES again, READ for a file's rest), before the next
 * file is handed over.
 */
#define READ_FILES_BYTES	(2u << 20)	/* file bytes per request */
#define READ_FILES_INFLIGHT	4

typedef struct read_files {
	ddtc *c;
	const uint64_t *inos, *sizes;
	size_t n;
	ddtc_file_cb cb;
	void *arg;
	size_t asked, handed;	/* files asked for, handed to cb */
	int stopped;		/* cb returned non-zero */
	read_bufs *kept;	/* the thread's, where buf and scratch came
				   from and go back to (may be NULL) */
	uint8_t *buf, *scratch;
	size_t cap;
	int buf_kept;		/* buf is a kept window */
	/* Requests in flight, oldest first: files [from[i], to[i]). */
	conn_req *k[READ_FILES_INFLIGHT];
	size_t from[READ_FILES_INFLIGHT], to[READ_FILES_INFLIGHT];
	int head, count;
} read_files;

/* The end of the group of files starting at from: as many as fit one
 * request. */
static size_t read_files_group(const read_files *f, size_t from)
{
	uint64_t bytes = f->sizes[from];
	size_t to = from + 1;

	while (to < f->n && to - from < DDT_MAX_READ_FILES &&
	       bytes + f->sizes[to] <= READ_FILES_BYTES)
		bytes += f->sizes[to++];
	return to;
}

static int read_files_start(read_files *f, size_t from, size_t to,
			    conn_req **out)
{
	wbuf w;
	int rc;

	conn_begin(&w, DDT_OP_READ_FILES);
	wb_u32(&w, (uint32_t)(to - from));
	for (size_t i = from; i < to; i++)
		wb_u64(&w, f->inos[i]);
	rc = conn_start(f->c->cn, &w, out);
	wb_free(&w);
	return rc;
}

/* Start requests for the files not yet asked for, up to the limit. */
static int read_files_issue(read_files *f)
{
	int slot, rc;

	while (f->count < READ_FILES_INFLIGHT && f->asked < f->n) {
		slot = (f->head + f->count) % READ_FILES_INFLIGHT;
		f->from[slot] = f->asked;
		f->to[slot] = read_files_group(f, f->asked);
		rc = read_files_start(f, f->from[slot], f->to[slot],
				      &f->k[slot]);
		if (rc < 0)
			return rc;
		f->asked = f->to[slot];
		f->count++;
	}
	return 0;
}

/* f->buf given back: a kept window to the thread, else to malloc. */
static void read_files_drop(read_files *f)
{
	if (f->buf_kept)
		read_bufs_keep(&f->kept->win[0], f->buf);
	else
		free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	f->buf_kept = 0;
}

/* Room for a file of size bytes in f->buf: the thread's first window
 * (made now if it has none; kept when done) where it is large enough, as
 * a restore's small files always are. */
static int read_files_room(read_files *f, uint64_t size)
{
	uint8_t *p;

	if (size <= f->cap)
		return 0;
	if (!f->buf && f->kept && size <= READ_WINDOW) {
		p = read_bufs_take(&f->kept->win[0]);
		if (!p && posix_memalign((void **)&p, READ_DIO_ALIGN,
					 READ_WINDOW) != 0)
			p = NULL;
		if (p) {
			f->buf = p;
			f->cap = READ_WINDOW;
			f->buf_kept = 1;
			return 0;
		}
	}
	p = malloc((size_t)size);
	if (!p)
		return ddterr_set(-ENOMEM, "no memory for a %" PRIu64 "-byte "
				  "file", size);
	read_files_drop(f);
	f->buf = p;
	f->cap = (size_t)size;
	return 0;
}

/* File i's entry of a reply, read on with READ if it was cut short:
 * its bytes in f->buf, or its own error. */
static int read_files_entry(read_files *f, size_t i, rbuf *r)
{
	uint32_t status = rb_u32(r);
	char msg[DDT_MAX_STR + 1];
	read_range q;
	uint64_t size;
	int rc;

	if (status) {
		rb_str(r, msg, sizeof(msg));
		rc = status < 4096 ? -(int)status : -EIO;
		return ddterr_set(rc, "%s", msg);
	}
	size = rb_u64(r);
	rc = size == f->sizes[i] ? read_files_room(f, size) :
	     ddterr_set(-ESTALE, "inode %" PRIu64 " changed size while being "
			"read (%" PRIu64 " then %" PRIu64 " bytes)", f->inos[i],
			f->sizes[i], size);
	read_init(&q, f->inos[i], 0, size, f->buf);
	q.size = size;
	q.scratch = f->scratch;
	if (rc == 0)
		rc = read_apply_segs(&q, r);
	else
		read_skip_segs(r);
	if (rc == 0 && !r->err && q.pos < q.end)
		rc = read_fill(f->c, &q);
	if (rc == 0 && q.size != size)
		rc = ddterr_set(-ESTALE, "inode %" PRIu64 " changed size while "
				"being read", f->inos[i]);
	return rc;
}

/* Hand file i to the callback; its non-zero return stops the call. */
static int read_files_hand(read_files *f, size_t i, int rc)
{
	f->handed = i + 1;
	rc = f->cb(f->arg, i, rc, rc == 0 ? f->buf : NULL,
		   rc == 0 ? (size_t)f->sizes[i] : 0);
	f->stopped = rc != 0;
	return rc;
}

/* A reply for files [from, to): its m entries to the callback. *m may be
 * short of to - from: the rest are asked for again. */
static int read_files_apply(read_files *f, size_t from, size_t to,
			    conn_reply *rep, size_t *out_m)
{
	uint32_t m;
	int rc = 0, frc;
	rbuf r;

	rb_init(&r, rep->buf, rep->len);
	m = rb_count(&r, 4, UINT32_MAX);
	if (!r.err && (m > to - from || (m == 0 && to > from)))
		return ddterr_set(-EPROTO, "the target's READ_FILES reply "
				  "holds %u files of %zu asked for", m,
				  to - from);
	for (uint32_t j = 0; j < m && rc == 0 && !r.err; j++) {
		frc = read_files_entry(f, from + j, &r);
		if (r.err)
			break;
		if (frc == -ENOMEM)
			return frc;	/* not the file's: the call's */
		rc = read_files_hand(f, from + j, frc);
	}
	if (rc == 0 && rb_done(&r) < 0)
		return ddterr_set(-EPROTO, "the target's READ_FILES reply "
				  "does not parse");
	*out_m = m;
	return rc;
}

/* Files [from, to), asked for again one request at a time: what a reply
 * left for the next. */
static int read_files_sync(read_files *f, size_t from, size_t to)
{
	conn_reply rep;
	conn_req *k;
	size_t m;
	int rc;

	while (from < to) {
		rc = read_files_start(f, from, to, &k);
		if (rc == 0)
			rc = conn_wait(k, &rep);
		if (rc < 0)
			return rc;
		rc = read_files_apply(f, from, to, &rep, &m);
		conn_reply_free(&rep);
		if (rc)
			return rc;
		from += m;
	}
	return 0;
}

/* Collect the oldest request in flight and hand over its files. */
static int read_files_next(read_files *f)
{
	int slot = f->head, rc;
	conn_reply rep;
	size_t m = 0;

	f->head = (f->head + 1) % READ_FILES_INFLIGHT;
	f->count--;
	rc = conn_wait(f->k[slot], &rep);
	if (rc < 0)
		return rc;
	rc = read_files_apply(f, f->from[slot], f->to[slot], &rep, &m);
	conn_reply_free(&rep);
	if (rc == 0)
		rc = read_files_sync(f, f->from[slot] + m, f->to[slot]);
	return rc;
}

/* The call ends early: the requests still in flight collected and
 * dropped, and after a failure (not the callback's stop) every file not
 * yet handed over gets its error. */
static int read_files_abandon(read_files *f, int rc)
{
	int stopped = f->stopped;

	char msg[CONN_MSG_LEN];
	conn_reply rep;

	snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
	for (; f->count > 0; f->count--) {
		if (conn_wait(f->k[f->head], &rep) == 0)
			conn_reply_free(&rep);
		f->head = (f->head + 1) % READ_FILES_INFLIGHT;
	}
	for (size_t i = f->handed; !stopped && i < f->n; i++) {
		ddterr_set(rc, "%s", msg);
		if (read_files_hand(f, i, rc))
			break;
	}
	return ddterr_set(rc, "%s", msg);
}

/* A target without READ_FILES: each file whole with READ, into one
 * buffer as large as the largest file. */
static int read_files_singly(ddtc *c, const uint64_t *inos,
			     const uint64_t *sizes, size_t n, ddtc_file_cb cb,
			     void *arg)
{
	uint64_t max = 0;
	uint8_t *buf;
	size_t got;
	int rc = 0, frc;

	for (size_t i = 0; i < n; i++)
		max = sizes[i] > max ? sizes[i] : max;
	if (max >= SIZE_MAX || !(buf = malloc((size_t)max + 1)))
		return ddterr_set(-ENOMEM, "no memory to read files");
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* One byte more than expected tells a file that grew. */
		frc = ddtc_read(c, inos[i], 0, buf, (size_t)sizes[i] + 1, &got);
		if (frc == 0 && got != sizes[i])
			frc = ddterr_set(-ESTALE, "inode %" PRIu64 " changed size "
					 "while being read (%" PRIu64 " then %zu "
					 "bytes)", inos[i], sizes[i], got);
		rc = cb(arg, i, frc, buf, frc == 0 ? got : 0);
	}
	free(buf);
	return rc;
}

int ddtc_read_files(ddtc *c, const uint64_t *inos, const uint64_t *sizes,
		    size_t n, ddtc_file_cb cb, void *arg)
{
	read_files f = { .c = c, .inos = inos, .sizes = sizes, .n = n,
			 .cb = cb, .arg = arg };
	int rc = session_has_read_files(c);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return read_files_singly(c, inos, sizes, n, cb, arg);
	rc = 0;

	if ((f.kept = read_bufs_mine()))
		f.scratch = read_bufs_take(&f.kept->scratch);
	if (!f.scratch)
		f.scratch = malloc(CDC_MAX_LIMIT);
	if (!f.scratch)
		rc = ddterr_set(-ENOMEM, "no memory to read files");
	while (rc == 0 && f.handed < n) {
		rc = read_files_issue(&f);
		if (rc == 0 && f.count == 0)
			rc = ddterr_set(-EPROTO, "READ_FILES: files left over");
		if (rc == 0)
			rc = read_files_next(&f);
	}
	if (f.stopped)
		(void)read_files_abandon(&f, -ECANCELED);
	else if (rc < 0)
		rc = read_files_abandon(&f, rc);
	read_files_drop(&f);
	if (f.kept)
		read_bufs_keep(&f.kept->scratch, f.scratch);
	else
		free(f.scratch);
	return rc;
}

int ddtc_read(ddtc *c, uint64_t ino, uint64_t off, void *buf, size_t n,
	      size_t *out_n)
{
	uint64_t done = 0;
	read_stream *s;
	int rc;

	if (n == 0) {
		*out_n = 0;
		return 0;
	}
	rc = read_stream_new(c, ino, off, n, buf, -1, &s);
	if (rc == 0)
		rc = read_stream_do(s, &done);
	if (rc == 0)
		*out_n = (size_t)done;
	return rc;
}

int ddtc_read_to_fd(ddtc *c, uint64_t ino, int fd, uint64_t *out_bytes)
{
	uint64_t done = 0;
	read_stream *s;
	int rc;

	rc = read_stream_new(c, ino, 0, UINT64_MAX, NULL, fd, &s);
	if (rc == 0)
		rc = read_stream_do(s, &done);
	if (rc == 0 && out_bytes)
		*out_bytes = done;
	return rc;
}
