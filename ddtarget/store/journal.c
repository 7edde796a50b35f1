/* journal.c - the open container's write-ahead log (see journal.h). One
 * write and one fsync per batch of segments: the cost of durability is paid
 * per batch, not per segment. */
#include "journal.h"

#include <errno.h>
#include <isa-l/crc.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"

#define JNL_HDR_LEN	16
#define JNL_REC_HDR	52
#define JNL_REC_MAGIC	0x4745534au

static const char jnl_magic[8] = { 'D', 'D', 'T', 'J', 'N', 'L', '0', '1' };

struct jnl {
	int fd;
	uint64_t cid;
	uint64_t tail;		/* end of the last committed record */
	uint8_t *buf;		/* staged records */
	size_t len, cap;
	char *path;
};

static int jnl_alloc(jnl **out, const char *path, uint64_t cid, int fd,
		     uint64_t tail)
{
	jnl *j = calloc(1, sizeof(*j));

	if (!j || !(j->path = strdup(path))) {
		free(j);
		return -ENOMEM;
	}
	j->fd = fd;
	j->cid = cid;
	j->tail = tail;
	*out = j;
	return 0;
}

/* The header goes in through a temp file and a rename, so a crash while
 * creating leaves either no journal or one with a whole header: a journal
 * whose header is bad was damaged later, and replay must not ignore it. */
int jnl_create(jnl **out, const char *path, uint64_t cid)
{
	uint8_t hdr[JNL_HDR_LEN];
	int fd = -1, r;

	memcpy(hdr, jnl_magic, sizeof(jnl_magic));
	put_le64(hdr + 8, cid);
	r = fio_write_file_atomic(path, hdr, sizeof(hdr));
	if (r < 0) {
		/* The rename may have happened before the directory fsync
		 * failed; a journal we report as not created must not be. */
		(void)fio_unlink(path);
		return ddterr_set(r, "journal %s: cannot create: %s", path,
				  strerror(-r));
	}
	r = fio_open(path, O_WRONLY, 0644, &fd);
	if (r == 0)
		r = jnl_alloc(out, path, cid, fd, JNL_HDR_LEN);
	if (r < 0) {
		if (fd >= 0)
			fio_close(fd);
		fio_unlink(path);
		return ddterr_set(r, "journal %s: cannot open: %s", path,
				  strerror(-r));
	}
	return 0;
}

int jnl_reopen(jnl **out, const char *path, uint64_t cid, uint64_t tail)
{
	int fd, r;

	r = fio_open(path, O_WRONLY, 0644, &fd);
	if (r < 0)
		return ddterr_set(r, "journal %s: cannot open: %s", path,
				  strerror(-r));
	r = jnl_alloc(out, path, cid, fd, tail);
	if (r < 0)
		fio_close(fd);
	return r;
}

/* CRC32C of the record header continued over its data, seeded as
 * frag_crc32c() is so that every CRC in the store is the same function. */
static uint32_t rec_crc(const uint8_t *hdr, const void *data, uint32_t n)
{
	uint32_t c = crc32_iscsi((unsigned char *)hdr, JNL_REC_HDR - 4, 0xFFFFFFFFu);

	return crc32_iscsi((unsigned char *)data, (int)n, c);
}

int jnl_add(jnl *j, const fp_t *fp, int codec, uint32_t raw_len,
	    const void *data, uint32_t stored_len)
{
	size_t need = j->len + JNL_REC_HDR + stored_len;
	uint8_t *rec;

	if (need > j->cap) {
		size_t ncap = j->cap ? j->cap : 1 << 20;
		uint8_t *nb;

		while (ncap < need)
			ncap *= 2;
		nb = realloc(j->buf, ncap);
		if (!nb)
			return -ENOMEM;
		j->buf = nb;
		j->cap = ncap;
	}
	rec = j->buf + j->len;
	put_le32(rec, JNL_REC_MAGIC);
	put_le32(rec + 4, stored_len);
	put_le32(rec + 8, raw_len);
	rec[12] = (uint8_t)codec;
	rec[13] = rec[14] = rec[15] = 0;
	memcpy(rec + 16, fp->b, FP_LEN);
	put_le32(rec + 48, rec_crc(rec, data, stored_len));
	memcpy(rec + JNL_REC_HDR, data, stored_len);
	j->len = need;
	return 0;
}

void jnl_discard(jnl *j)
{
	j->len = 0;
}

size_t jnl_pending(const jnl *j)
{
	return j->len;
}

int jnl_commit(jnl *j)
{
	int r;

	if (j->len == 0)
		return 0;
	r = fio_pwrite(j->fd, j->buf, j->len, (off_t)j->tail);
	if (r == 0)
		r = fio_fsync(j->fd);
	if (r < 0) {
		/* Cut any torn part away so the next commit starts clean; if
		 * even that fails, replay will stop at the bad CRC anyway. */
		(void)fio_truncate(j->fd, (off_t)j->tail);
		j->len = 0;
		return ddterr_set(r, "journal %s: write failed: %s", j->path,
				  strerror(-r));
	}
	j->tail += j->len;
	j->len = 0;
	return 0;
}

void jnl_close(jnl *j)
{
	if (!j)
		return;
	fio_close(j->fd);
	free(j->buf);
	free(j->path);
	free(j);
}

static int replay_records(const uint8_t *buf, size_t len, jnl_replay_cb cb,
			  void *arg, uint64_t *out_tail)
{
	size_t off = JNL_HDR_LEN;
	int r;

	while (len - off >= JNL_REC_HDR) {
		const uint8_t *rec = buf + off;
		uint32_t stored_len = get_le32(rec + 4);
		fp_t fp;

		if (get_le32(rec) != JNL_REC_MAGIC ||
		    stored_len > len - off - JNL_REC_HDR ||
		    get_le32(rec + 48) != rec_crc(rec, rec + JNL_REC_HDR, stored_len))
			break;
		memcpy(fp.b, rec + 16, FP_LEN);
		r = cb(arg, &fp, rec[12], get_le32(rec + 8), rec + JNL_REC_HDR,
		       stored_len);
		if (r)
			return r;
		off += JNL_REC_HDR + stored_len;
	}
	*out_tail = off;
	return 0;
}

int jnl_replay(const char *path, uint64_t *out_cid, jnl_replay_cb cb,
	       void *arg, uint64_t *out_tail)
{
	void *raw = NULL;
	uint8_t *buf;
	size_t len;
	uint64_t tail = 0;
	int fd, r;

	r = fio_read_file(path, &raw, &len);
	if (r < 0)
		return ddterr_set(r, "journal %s: cannot read: %s", path,
				  strerror(-r));
	buf = raw;
	if (len < JNL_HDR_LEN || memcmp(buf, jnl_magic, sizeof(jnl_magic))) {
		r = ddterr_set(-EBADMSG, "journal %s: bad header", path);
		goto out;
	}
	*out_cid = get_le64(buf + 8);
	r = replay_records(buf, len, cb, arg, &tail);
	if (r)
		goto out;
	if (tail < len) {
		r = fio_open(path, O_WRONLY, 0644, &fd);
		if (r == 0) {
			r = fio_truncate(fd, (off_t)tail);
			if (r == 0)
				r = fio_fsync(fd);
			fio_close(fd);
		}
		if (r < 0)
			goto out;
	}
	*out_tail = tail;
out:
	free(raw);
	return r;
}
