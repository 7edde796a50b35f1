/* jnl.c - the open container's write-ahead log, in copies (jnl.h).
 *
 * Group commit: writers stage records under the store's lock (cheap
 * copies), then each waits, outside that lock, for its own records to be
 * durable. The first waiter to find nobody writing takes everything staged
 * so far — its own records and any that others staged meanwhile — writes it
 * to every copy at the same offset and fsyncs each once; the others sleep
 * and usually find their records already covered. So with several streams
 * the fsync cost is shared, and no lookup ever waits behind a disk flush.
 * Two buffers swap roles so staging goes on while a write is in flight.
 *
 * Where the file system allows, records go to disk with O_DIRECT: a journal
 * is written once and read only after a crash, and filling the page cache
 * with it cost more CPU than anything else in the daemon's write path.
 * O_DIRECT writes whole aligned blocks, so each group write starts at the
 * block holding the tail (its head kept in tailblk, the same in every copy)
 * and is padded with zeros, which replay takes for the end; the next write
 * rewrites that block with more records in it.
 *
 * Replay walks the copies side by side: a record is taken from the first
 * copy that holds it whole (its CRC passes), and where none does, the walk
 * looks ahead for the next record that passes in any copy, so one damaged
 * record costs itself, never the records behind it. */
#include "jnl.h"

#include <errno.h>
#include <isa-l/crc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"

#define JNL_REC_MAGIC	0x4745534au

static const char jnl_magic[8] = { 'D', 'D', 'T', 'J', 'N', 'L', '0', '2' };

static atomic_int use_direct = 1;	/* see jnl_set_direct() */

void jnl_set_direct(int on)
{
	atomic_store(&use_direct, on);
}

/* One copy of the log. fd is -1 once the copy is dropped. */
typedef struct jcopy {
	char *path;
	int fd;
	int dfd;		/* the file again, O_DIRECT; -1: buffered */
} jcopy;

struct jnl {
	uint64_t cid;
	jcopy c[JNL_COPIES];
	int n;			/* copies made */
	atomic_int refs;
	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t cv;	/* a write finished */
	uint64_t tail;		/* end of the last durable record */
	uint8_t *buf;		/* staged records */
	size_t len, cap;
	uint8_t *spare;		/* the other buffer, while not writing */
	size_t spare_cap;
	uint32_t staged_recs;	/* records ever staged */
	uint32_t durable_recs;	/* of those, durable */
	int writing;		/* a write is in flight */
	int live;		/* copies still written */
	uint8_t *tailblk;	/* a file's block holding tail, up to it */
	uint8_t *dbuf;		/* aligned: a group write, padded */
	size_t dcap;
	int broken;		/* a write failed (with err_code): no more records */
	int err_code;
	char err[512];
};

/* ---- opening ---- */

/* The block holding tail, up to tail, as the first copy has it; every
 * copy holds the same bytes there. */
static int read_tail_block(jnl *j)
{
	uint64_t blk = j->tail / FIO_DIO_ALIGN * FIO_DIO_ALIGN;
	size_t head = (size_t)(j->tail - blk), got = 0;
	int rfd = -1, r;

	if (posix_memalign((void **)&j->tailblk, FIO_DIO_ALIGN,
			   FIO_DIO_ALIGN) != 0) {
		j->tailblk = NULL;
		return -ENOMEM;
	}
	if (!head)
		return 0;
	r = fio_open(j->c[0].path, O_RDONLY, 0, &rfd);
	if (r == 0)
		r = fio_pread(rfd, j->tailblk, head, (off_t)blk, &got);
	if (r == 0 && got != head)
		r = -EIO;
	if (rfd >= 0)
		fio_close(rfd);
	return r;
}

/* Open the O_DIRECT twin of each copy; anything failing leaves that copy
 * (or, without the tail's block, every copy) buffered. */
static void direct_open(jnl *j)
{
	if (!atomic_load(&use_direct) || read_tail_block(j) < 0)
		return;
	for (int i = 0; i < j->n; i++)
		if (fio_open(j->c[i].path, O_WRONLY | O_DIRECT, FIO_FILE_MODE,
			     &j->c[i].dfd) < 0)
			j->c[i].dfd = -1;
}

static void copy_close(jcopy *c)
{
	if (c->fd >= 0)
		fio_close(c->fd);
	if (c->dfd >= 0)
		fio_close(c->dfd);
	c->fd = c->dfd = -1;
}

static void jnl_free(jnl *j)
{
	for (int i = 0; i < j->n; i++) {
		copy_close(&j->c[i]);
		free(j->c[i].path);
	}
	free(j->tailblk);
	free(j->dbuf);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->buf);
	free(j->spare);
	free(j);
}

static jnl *jnl_alloc(uint64_t cid, uint64_t tail)
{
	jnl *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->cid = cid;
	j->tail = tail;
	for (int i = 0; i < JNL_COPIES; i++)
		j->c[i].fd = j->c[i].dfd = -1;
	atomic_init(&j->refs, 1);
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	return j;
}

/* Take over fd as the next copy, at path. */
static int add_copy(jnl *j, const char *path, int fd)
{
	jcopy *c = &j->c[j->n];

	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	c->fd = fd;
	j->n++;
	j->live++;
	return 0;
}

static void pack_header(uint8_t *hdr, uint64_t cid)
{
	memcpy(hdr, jnl_magic, sizeof(jnl_magic));
	put_le64(hdr + 8, cid);
}

/* A spare (a sealed container's old journal) gets the new header in place
 * and is renamed over path: its blocks are already allocated, so writing
 * records over them costs a copy, not an allocation (on ext4 that is the
 * difference between 0.25 and 3 seconds a gigabyte). Its old records stay
 * behind the header but cannot replay: every record's CRC is seeded with
 * its container id. The header is made durable before the rename, so a
 * crash leaves a spare or a whole journal, never a journal with a stale
 * header. */
static int create_from_spare(const char *path, uint64_t cid,
			     const char *spare, int *out_fd)
{
	uint8_t hdr[JNL_HDR_LEN];
	char *dir;
	int fd = -1, r;

	pack_header(hdr, cid);
	r = fio_open(spare, O_WRONLY, FIO_FILE_MODE, &fd);
	if (r == 0)
		r = fio_pwrite(fd, hdr, sizeof(hdr), 0);
	if (r == 0)
		r = fio_fsync(fd);
	if (r == 0)
		r = fio_rename(spare, path);
	if (r == 0) {
		dir = fio_parent_dir(path);
		r = dir ? fio_fsync_dir(dir) : -ENOMEM;
		free(dir);
	}
	if (r < 0) {
		if (fd >= 0)
			fio_close(fd);
		return r;
	}
	*out_fd = fd;
	return 0;
}

/* A new file: the header through a temp file and a rename, for the same
 * reason; then its blocks reserved up front (see fio_prealloc). */
static int create_new(const char *path, uint64_t cid, uint64_t prealloc,
		      int *out_fd)
{
	uint8_t hdr[JNL_HDR_LEN];
	int r;

	pack_header(hdr, cid);
	r = fio_write_file_atomic(path, hdr, sizeof(hdr));
	if (r == 0)
		r = fio_open(path, O_WRONLY, FIO_FILE_MODE, out_fd);
	if (r == 0 && prealloc) {
		r = fio_prealloc(*out_fd, (off_t)prealloc);
		if (r < 0)
			fio_close(*out_fd);
	}
	return r;
}

/* One copy, from its spare if that works, else a fresh file. On failure
 * no file is left at path (a rename may have happened before a later step
 * failed; a copy we report as not made must not exist). */
static int make_copy(const jnl_place *pl, uint64_t cid, uint64_t prealloc,
		     int *out_fd)
{
	int r = -ENOENT;

	if (pl->spare) {
		r = create_from_spare(pl->path, cid, pl->spare, out_fd);
		if (r < 0)
			(void)fio_unlink(pl->path);
	}
	if (r < 0)
		r = create_new(pl->path, cid, prealloc, out_fd);
	if (r < 0) {
		(void)fio_unlink(pl->path);
		return ddterr_set(r, "journal %s: cannot create: %s", pl->path,
				  strerror(-r));
	}
	return 0;
}

/* A journal of n copies, none opened yet. */
static int jnl_begin(int n, uint64_t cid, uint64_t tail, jnl **out)
{
	if (n < 1 || n > JNL_COPIES)
		return ddterr_set(-EINVAL, "journal: %d copies", n);
	*out = jnl_alloc(cid, tail);
	return *out ? 0 : -ENOMEM;
}

int jnl_create(jnl **out, const jnl_place *pl, int n, uint64_t cid,
	       uint64_t prealloc)
{
	jnl *j = NULL;
	int fd, r = jnl_begin(n, cid, JNL_HDR_LEN, &j);

	if (r < 0)
		return r;
	for (int i = 0; i < n; i++) {
		r = make_copy(&pl[i], cid, prealloc, &fd);
		if (r == 0 && (r = add_copy(j, pl[i].path, fd)) < 0) {
			fio_close(fd);
			(void)fio_unlink(pl[i].path);
		}
		if (r < 0 && (i == 0 || r == -ENOMEM))
			break;
		r = 0;		/* a later copy is left out */
	}
	if (r < 0) {
		for (int i = 0; i < j->n; i++)
			(void)fio_unlink(j->c[i].path);
		jnl_free(j);
		return r;
	}
	direct_open(j);
	*out = j;
	return 0;
}

int jnl_reopen(jnl **out, const char *const *paths, int n, uint64_t cid,
	       uint64_t tail)
{
	jnl *j = NULL;
	int fd, r = jnl_begin(n, cid, tail, &j);

	if (r < 0)
		return r;
	for (int i = 0; r == 0 && i < n; i++) {
		r = fio_open(paths[i], O_WRONLY, FIO_FILE_MODE, &fd);
		if (r < 0) {
			r = ddterr_set(r, "journal %s: cannot open: %s",
				       paths[i], strerror(-r));
			break;
		}
		if ((r = add_copy(j, paths[i], fd)) < 0)
			fio_close(fd);
	}
	if (r < 0) {
		jnl_free(j);
		return r;
	}
	direct_open(j);
	*out = j;
	return 0;
}

/* ---- staging ---- */

/* CRC32C of the container id, the record header and its data, seeded as
 * frag_crc32c() is so that every CRC in the store is the same function.
 * The id makes a recycled journal's old records fail. */
static uint32_t rec_crc(uint64_t cid, const uint8_t *hdr, const void *data,
			uint32_t n)
{
	uint8_t id[8];
	uint32_t c;

	put_le64(id, cid);
	c = crc32_iscsi(id, sizeof(id), 0xFFFFFFFFu);
	c = crc32_iscsi((unsigned char *)hdr, JNL_REC_HDR - 4, c);
	return crc32_iscsi((unsigned char *)data, (int)n, c);
}

/* Grow the staging buffer to hold need bytes. Called under mu. */
static int stage_room(jnl *j, size_t need)
{
	size_t ncap = j->cap ? j->cap : 1 << 20;
	uint8_t *nb;

	if (need <= j->cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(j->buf, ncap);
	if (!nb)
		return -ENOMEM;
	j->buf = nb;
	j->cap = ncap;
	return 0;
}

int jnl_add(jnl *j, const fp_t *fp, int codec, uint32_t raw_len,
	    const void *data, uint32_t stored_len, uint64_t *out_ticket)
{
	uint8_t *rec;
	int rc;

	pthread_mutex_lock(&j->mu);
	if (j->broken) {
		rc = ddterr_set(j->err_code, "%s", j->err);
		goto out;
	}
	rc = stage_room(j, j->len + JNL_REC_HDR + stored_len);
	if (rc < 0)
		goto out;
	rec = j->buf + j->len;
	put_le32(rec, JNL_REC_MAGIC);
	put_le32(rec + 4, stored_len);
	put_le32(rec + 8, raw_len);
	rec[12] = (uint8_t)codec;
	rec[13] = rec[14] = rec[15] = 0;
	memcpy(rec + 16, fp->b, FP_LEN);
	put_le32(rec + 48, rec_crc(j->cid, rec, data, stored_len));
	if (stored_len)
		memcpy(rec + JNL_REC_HDR, data, stored_len);
	j->len += JNL_REC_HDR + stored_len;
	j->staged_recs++;
	if (out_ticket)
		*out_ticket = j->tail + j->len;
out:
	pthread_mutex_unlock(&j->mu);
	return rc;
}

size_t jnl_pending(jnl *j)
{
	size_t n;

	pthread_mutex_lock(&j->mu);
	n = j->len;
	pthread_mutex_unlock(&j->mu);
	return n;
}

uint32_t jnl_durable_records(jnl *j)
{
	uint32_t n;

	pthread_mutex_lock(&j->mu);
	n = j->durable_recs;
	pthread_mutex_unlock(&j->mu);
	return n;
}

int jnl_broken(jnl *j)
{
	int b;

	pthread_mutex_lock(&j->mu);
	b = j->broken;
	pthread_mutex_unlock(&j->mu);
	return b;
}

int jnl_copies(jnl *j)
{
	int n;

	pthread_mutex_lock(&j->mu);
	n = j->live;
	pthread_mutex_unlock(&j->mu);
	return n;
}

/* ---- the group write ---- */

/* wbuf[0..wlen) at off as whole blocks from the one holding off, into
 * dbuf: the bytes before off come from tailblk, zeros pad the end. The
 * one writer only, so dbuf and tailblk need no lock. */
static int pad_direct(jnl *j, const uint8_t *wbuf, size_t wlen, uint64_t off,
		      uint64_t *out_blk, size_t *out_padded)
{
	uint64_t blk = off / FIO_DIO_ALIGN * FIO_DIO_ALIGN;
	size_t head = (size_t)(off - blk), len = head + wlen;
	size_t padded = (len + FIO_DIO_ALIGN - 1) / FIO_DIO_ALIGN *
			FIO_DIO_ALIGN;

	if (padded > j->dcap) {
		uint8_t *nb;

		if (posix_memalign((void **)&nb, FIO_DIO_ALIGN, padded) != 0)
			return -ENOMEM;
		free(j->dbuf);
		j->dbuf = nb;
		j->dcap = padded;
	}
	memcpy(j->dbuf, j->tailblk, head);
	memcpy(j->dbuf + head, wbuf, wlen);
	memset(j->dbuf + len, 0, padded - len);
	*out_blk = blk;
	*out_padded = padded;
	return 0;
}

static int any_direct(const jnl *j)
{
	for (int i = 0; i < j->n; i++)
		if (j->c[i].fd >= 0 && j->c[i].dfd >= 0)
			return 1;
	return 0;
}

/* A later copy whose write failed: it is no longer written, and its file,
 * now behind the others, goes if it can. */
static void drop_copy(jcopy *c)
{
	copy_close(c);
	(void)fio_unlink(c->path);
}

/* Write wbuf[0..wlen) at off to every live copy and fsync each. Returns
 * the first copy's result; a later copy that fails is dropped. */
static int write_copies(jnl *j, const uint8_t *wbuf, size_t wlen,
			uint64_t off)
{
	int rc[JNL_COPIES] = { 0 }, direct = any_direct(j), r;
	uint64_t blk = 0, end = off + wlen;
	size_t padded = 0;

	if (direct && (r = pad_direct(j, wbuf, wlen, off, &blk, &padded)) < 0)
		return r;
	for (int i = 0; i < j->n; i++) {
		jcopy *c = &j->c[i];

		if (c->fd < 0)
			continue;
		rc[i] = c->dfd >= 0 ?
			fio_pwrite(c->dfd, j->dbuf, padded, (off_t)blk) :
			fio_pwrite(c->fd, wbuf, wlen, (off_t)off);
	}
	/* All the writes, then the flushes: one file system's journal
	 * commit (or one disk's cache flush) usually covers both copies,
	 * so the second fsync finds little left to do. */
	for (int i = 0; i < j->n; i++)
		if (j->c[i].fd >= 0 && rc[i] == 0)
			rc[i] = fio_fsync(j->c[i].fd);
	for (int i = 1; i < j->n; i++)
		if (rc[i] < 0 && j->c[i].fd >= 0)
			drop_copy(&j->c[i]);
	if (rc[0] == 0 && direct) {
		uint64_t eblk = end / FIO_DIO_ALIGN * FIO_DIO_ALIGN;

		memcpy(j->tailblk, j->dbuf + (eblk - blk), (size_t)(end - eblk));
	}
	if (rc[0] < 0)
		/* Cut a torn part away, in every copy, so they stay alike;
		 * if even that fails, replay stops at the bad CRC anyway. */
		for (int i = 0; i < j->n; i++)
			if (j->c[i].fd >= 0)
				(void)fio_truncate(j->c[i].fd, (off_t)off);
	return rc[0];
}

static int count_live(const jnl *j)
{
	int n = 0;

	for (int i = 0; i < j->n; i++)
		n += j->c[i].fd >= 0;
	return n;
}

/* Write out everything staged, as the one writer. Entered and left with
 * mu held; the disk work happens without it. */
static void write_staged(jnl *j)
{
	uint8_t *wbuf = j->buf;
	size_t wlen = j->len, wcap = j->cap;
	uint32_t wrecs = j->staged_recs;
	uint64_t off = j->tail;
	int r;

	j->writing = 1;
	j->buf = j->spare;
	j->cap = j->spare_cap;
	j->len = 0;
	pthread_mutex_unlock(&j->mu);
	r = write_copies(j, wbuf, wlen, off);
	pthread_mutex_lock(&j->mu);
	j->live = count_live(j);
	j->spare = wbuf;
	j->spare_cap = wcap;
	if (r == 0) {
		j->tail = off + wlen;
		j->durable_recs = wrecs;
	} else {
		/* What was staged after this write cannot follow it: the
		 * journal is done, and its records past tail are lost. */
		j->broken = 1;
		j->err_code = r;
		j->len = 0;
		snprintf(j->err, sizeof(j->err), "journal %s: write failed: %s",
			 j->c[0].path, strerror(-r));
	}
	j->writing = 0;
	pthread_cond_broadcast(&j->cv);
}

int jnl_sync(jnl *j, uint64_t ticket)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	while (j->tail < ticket && !j->broken) {
		if (j->writing)
			pthread_cond_wait(&j->cv, &j->mu);
		else
			write_staged(j);
	}
	if (j->tail < ticket)
		rc = ddterr_set(j->err_code, "%s", j->err);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int jnl_commit(jnl *j)
{
	uint64_t ticket;

	pthread_mutex_lock(&j->mu);
	ticket = j->tail + j->len;
	pthread_mutex_unlock(&j->mu);
	return jnl_sync(j, ticket);
}

jnl *jnl_ref(jnl *j)
{
	atomic_fetch_add(&j->refs, 1);
	return j;
}

void jnl_close(jnl *j)
{
	if (!j || atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	jnl_free(j);
}

/* ---- reading back ---- */

/* One copy as read from disk; b is NULL when it could not be read. */
typedef struct jimg {
	uint8_t *b;
	size_t len;
	int hdr_ok;
} jimg;

/* The length of the record at off in img if it is whole and its CRC holds
 * for cid, else 0. Never reads past the image, whatever a length says. */
static size_t rec_at(const jimg *img, size_t off, uint64_t cid)
{
	const uint8_t *rec;
	uint32_t stored;

	if (!img->b || off > img->len || img->len - off < JNL_REC_HDR)
		return 0;
	rec = img->b + off;
	stored = get_le32(rec + 4);
	if (get_le32(rec) != JNL_REC_MAGIC ||
	    stored > img->len - off - JNL_REC_HDR ||
	    get_le32(rec + 48) != rec_crc(cid, rec, rec + JNL_REC_HDR, stored))
		return 0;
	return JNL_REC_HDR + stored;
}

/* Whether the record at rec decodes to bytes that hash to its name: what
 * a record found by looking ahead must show, since the bytes it was found
 * in may be any segment's data. scratch holds CDC_MAX_LIMIT bytes. */
static int rec_hash_ok(const uint8_t *rec, uint8_t *scratch)
{
	uint32_t stored = get_le32(rec + 4), raw = get_le32(rec + 8);
	fp_t got;

	if (raw == 0 || raw > CDC_MAX_LIMIT || rec[12] >= CODEC_COUNT ||
	    codec_decompress(rec[12], rec + JNL_REC_HDR, stored, scratch,
			     raw) < 0 ||
	    fp_compute(&got, scratch, raw) < 0)
		return 0;
	return memcmp(got.b, rec + 16, FP_LEN) == 0;
}

static const uint8_t rec_magic_bytes[4] = { 0x4a, 0x53, 0x45, 0x47 };

/* The first offset at or after from where some copy holds a record that
 * passes its CRC and its hash, or 0 if there is none. */
static size_t look_ahead(const jimg *img, int n, uint64_t cid, size_t from,
			 uint8_t *scratch)
{
	size_t best = 0;

	for (int i = 0; i < n; i++) {
		const uint8_t *b = img[i].b, *p;
		size_t at = from;

		while (b && at < img[i].len && (!best || at < best)) {
			p = memmem(b + at, img[i].len - at, rec_magic_bytes, 4);
			if (!p)
				break;
			at = (size_t)(p - b);
			if (best && at >= best)
				break;
			if (rec_at(&img[i], at, cid) && rec_hash_ok(p, scratch)) {
				best = at;
				break;
			}
			at++;
		}
	}
	return best;
}

/* Record headers (their magic) in [from, to) of the copy with the most:
 * about how many records a lost stretch held; at least one. */
static uint32_t magics_in(const jimg *img, int n, size_t from, size_t to)
{
	uint32_t most = 1;

	for (int i = 0; i < n; i++) {
		const uint8_t *b = img[i].b, *p;
		size_t at = from, end = to < img[i].len ? to : img[i].len;
		uint32_t k = 0;

		while (b && at + 4 <= end &&
		       (p = memmem(b + at, end - at, rec_magic_bytes, 4))) {
			k++;
			at = (size_t)(p - b) + 4;
		}
		if (k > most)
			most = k;
	}
	return most;
}

static int load_copies(const char *const *paths, int n, uint64_t cid,
		       jimg *img, jnl_replay_report *r)
{
	int err = -ENOENT;

	for (int i = 0; i < n; i++) {
		void *raw = NULL;
		int rc = fio_read_file(paths[i], &raw, &img[i].len);

		if (rc < 0) {
			if (rc != -ENOENT && err == -ENOENT)
				err = ddterr_set(rc, "journal %s: cannot read: %s",
						 paths[i], strerror(-rc));
			continue;
		}
		img[i].b = raw;
		img[i].hdr_ok = img[i].len >= JNL_HDR_LEN &&
				!memcmp(img[i].b, jnl_magic, sizeof(jnl_magic)) &&
				get_le64(img[i].b + 8) == cid;
		r->copies++;
		r->bad_headers += !img[i].hdr_ok;
	}
	return r->copies ? 0 : err;
}

/* The record at off from the first copy holding it whole: its copy index
 * and length, or -1. Copies that do not hold it are counted in r->bad. */
static int pick_record(const jimg *img, int n, uint64_t cid, size_t off,
		       size_t *out_len, jnl_replay_report *r)
{
	size_t l[JNL_COPIES];
	int from = -1;

	for (int i = 0; i < n; i++) {
		l[i] = rec_at(&img[i], off, cid);
		if (l[i] && from < 0) {
			from = i;
			*out_len = l[i];
		}
	}
	if (from < 0)
		return -1;
	for (int i = 0, healed = 0; i < n; i++) {
		if (l[i] == *out_len)
			continue;
		r->bad[i]++;
		r->healed += !healed;
		healed = 1;
	}
	return from;
}

static void note_lost(jnl_replay_report *r, const jimg *img, int n,
		      size_t off, size_t next)
{
	if (!r->lost_ranges)
		r->lost_off = off;
	r->lost_ranges++;
	r->lost_bytes += next - off;
	r->lost_records += magics_in(img, n, off, next);
}

static int walk_copies(const jimg *img, int n, uint64_t cid,
		       jnl_replay_cb cb, void *arg, jnl_replay_report *r)
{
	uint8_t *scratch = NULL;
	size_t off = JNL_HDR_LEN, len = 0, next;
	int from, rc = 0;

	r->tail = JNL_HDR_LEN;
	for (;;) {
		from = pick_record(img, n, cid, off, &len, r);
		if (from >= 0) {
			const uint8_t *rec = img[from].b + off;
			fp_t fp;

			memcpy(fp.b, rec + 16, FP_LEN);
			rc = cb(arg, &fp, rec[12], get_le32(rec + 8),
				rec + JNL_REC_HDR, get_le32(rec + 4));
			if (rc)
				break;
			r->records++;
			off += len;
			r->tail = off;
			continue;
		}
		if (!scratch && !(scratch = malloc(CDC_MAX_LIMIT))) {
			rc = -ENOMEM;
			break;
		}
		next = look_ahead(img, n, cid, off + 1, scratch);
		if (!next)
			break;		/* the end, or a torn tail */
		note_lost(r, img, n, off, next);
		off = next;
	}
	free(scratch);
	return rc;
}

/* Cut every copy back to tail, where it runs past it. */
static int truncate_copies(const char *const *paths, const jimg *img, int n,
			   uint64_t tail)
{
	int fd, r = 0;

	for (int i = 0; r == 0 && i < n; i++) {
		if (img[i].len <= tail)
			continue;
		r = fio_open(paths[i], O_WRONLY, FIO_FILE_MODE, &fd);
		if (r == 0) {
			r = fio_truncate(fd, (off_t)tail);
			if (r == 0)
				r = fio_fsync(fd);
			fio_close(fd);
		}
	}
	return r;
}

int jnl_replay(const char *const *paths, int n, uint64_t cid,
	       jnl_replay_cb cb, void *arg, jnl_replay_report *out)
{
	jimg img[JNL_COPIES] = { { 0 } };
	int rc;

	memset(out, 0, sizeof(*out));
	if (n < 1 || n > JNL_COPIES)
		return ddterr_set(-EINVAL, "journal: %d copies", n);
	rc = load_copies(paths, n, cid, img, out);
	if (rc < 0)
		return rc;
	rc = walk_copies(img, n, cid, cb, arg, out);
	if (rc)
		goto out;
	if (out->records == 0 && out->bad_headers == out->copies) {
		rc = ddterr_set(-EBADMSG, "journal %s: bad header", paths[0]);
		goto out;
	}
	out->whole = out->copies == n && !out->bad_headers && !out->healed &&
		     !out->lost_ranges;
	if (out->whole)
		rc = truncate_copies(paths, img, n, out->tail);
out:
	for (int i = 0; i < n; i++)
		free(img[i].b);
	return rc;
}

/* ---- checking a live log ---- */

/* Whether copy c holds exactly the records of [JNL_HDR_LEN, tail): its
 * header, then records that pass their CRCs and end at tail. */
static int copy_sound(const char *path, uint64_t cid, uint64_t tail,
		      uint32_t *out_records)
{
	jimg img = { 0 };
	size_t off = JNL_HDR_LEN, l;
	uint32_t n = 0;
	void *raw = NULL;
	int rc;

	rc = fio_read_file(path, &raw, &img.len);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	img.b = raw;
	if (img.len > tail)
		img.len = (size_t)tail;	/* beyond: still being written */
	img.hdr_ok = img.len >= JNL_HDR_LEN &&
		     !memcmp(img.b, jnl_magic, sizeof(jnl_magic)) &&
		     get_le64(img.b + 8) == cid;
	while (img.hdr_ok && off < img.len && (l = rec_at(&img, off, cid))) {
		off += l;
		n++;
	}
	free(raw);
	*out_records = n;
	return img.hdr_ok && off == tail;
}

int jnl_check(jnl *j, int *out_damaged, uint32_t *out_records)
{
	uint64_t tail;
	uint32_t recs = 0, got = 0;
	int live[JNL_COPIES], damaged = 0, rc;

	pthread_mutex_lock(&j->mu);
	tail = j->tail;
	for (int i = 0; i < j->n; i++)
		live[i] = j->c[i].fd >= 0;
	pthread_mutex_unlock(&j->mu);
	for (int i = 0; i < j->n; i++) {
		if (!live[i]) {
			damaged++;
			continue;
		}
		rc = copy_sound(j->c[i].path, j->cid, tail, &got);
		if (rc < 0)
			return rc;
		damaged += !rc;
		if (got > recs)
			recs = got;
	}
	*out_damaged = damaged;
	*out_records = recs;
	return 0;
}
