/* frag.c - fragment files: one erasure-coded piece of a container on disk.
 *
 * Packs and checks the 64-byte header that frag.h lays out, so that every
 * way a fragment can go bad reads back as -EBADMSG and is rebuilt, never used. */
#include "frag.h"

#include "bytes.h"
#include "ddterr.h"
#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/crc.h>

static const uint8_t frag_magic[8] = { 'D', 'D', 'T', 'F', 'R', 'A', 'G', '2' };
/* The first version: the payload right after the 64 header bytes. */
static const uint8_t frag_magic_v1[8] = { 'D', 'D', 'T', 'F', 'R', 'A', 'G', '1' };

/* Byte offsets of the header fields (see frag.h). */
#define OFF_MAGIC	0
#define OFF_CID		8
#define OFF_PAYLOAD_LEN	16
#define OFF_CONT_LEN	20
#define OFF_K		24
#define OFF_M		25
#define OFF_INDEX	26
#define OFF_PAYLOAD_CRC	28
#define OFF_HDR_CRC	60

/* Seeded with 0xFFFFFFFF and returned without the final inversion that the
 * textbook CRC-32C applies (ISA-L's crc32_iscsi convention), so the value is
 * the bitwise NOT of the standard one: "123456789" gives 0x1CF96D7C, not
 * 0xE3069283. That keeps it chainable: crc(a|b) = crc32_iscsi(b, crc(a)). */
uint32_t frag_crc32c(const void *buf, size_t n)
{
	unsigned char *p = (unsigned char *)buf;	/* ISA-L lacks const */
	uint32_t crc = 0xFFFFFFFFu;

	/* crc32_iscsi takes an int length. */
	while (n > 0) {
		int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;

		crc = crc32_iscsi(p, chunk, crc);
		p += chunk;
		n -= (size_t)chunk;
	}
	return crc;
}

/* The same sanity rule on both sides: a header that claims more container
 * bytes than its k data fragments can hold is nonsense. */
static int hdr_sane(const frag_hdr *h)
{
	return h->k >= 1 && h->index < h->k + h->m &&
	       (uint64_t)h->container_len <= (uint64_t)h->k * h->payload_len;
}

static void hdr_pack(uint8_t *b, const frag_hdr *h, uint32_t payload_crc)
{
	memset(b, 0, FRAG_HDR_LEN);
	memcpy(b + OFF_MAGIC, frag_magic, sizeof(frag_magic));
	put_le64(b + OFF_CID, h->cid);
	put_le32(b + OFF_PAYLOAD_LEN, h->payload_len);
	put_le32(b + OFF_CONT_LEN, h->container_len);
	b[OFF_K] = h->k;
	b[OFF_M] = h->m;
	b[OFF_INDEX] = h->index;
	put_le32(b + OFF_PAYLOAD_CRC, payload_crc);
	put_le32(b + OFF_HDR_CRC, frag_crc32c(b, OFF_HDR_CRC));
}

/* Can n bytes at p go to or come from disk with O_DIRECT as they lie? */
static int dio_fits(const void *p, size_t n)
{
	return (uintptr_t)p % FIO_DIO_ALIGN == 0 && n % FIO_DIO_ALIGN == 0;
}

/* Open path with flags, adding O_DIRECT when *direct and the file system
 * takes it (tmpfs before Linux 6.6 answers EINVAL); *direct says which. */
static int open_maybe_direct(const char *path, int flags, int *direct,
			     int *fd)
{
	if (*direct) {
		int rc = fio_open(path, flags | O_DIRECT, FIO_FILE_MODE, fd);

		if (rc != -EINVAL)
			return rc;
		*direct = 0;
	}
	return fio_open(path, flags, FIO_FILE_MODE, fd);
}

/* Write a fragment file and fsync it and its directory. atomic: through a
 * temp file and a rename, so a crash leaves the old file or the new one. */
static int write_frag(const char *path, const frag_hdr *h, const void *payload,
		      int atomic)
{
	_Alignas(FIO_DIO_ALIGN) uint8_t blk[FRAG_DATA_OFF];
	size_t plen = strlen(path);
	char *tmp = NULL, *dir = NULL;
	const char *step = "", *target;
	int fd = -1, rc, have_tmp = 0;
	int direct = dio_fits(payload, h->payload_len);

	if (!hdr_sane(h) || (h->payload_len > 0 && !payload))
		return ddterr_set(-EINVAL, "fragment %s: bad header (k=%u m=%u "
				  "index=%u container_len=%u payload_len=%u)",
				  path, h->k, h->m, h->index, h->container_len,
				  h->payload_len);
	tmp = malloc(plen + sizeof(".tmp"));
	dir = fio_parent_dir(path);
	if (!tmp || !dir) {
		rc = -ENOMEM;
		step = "allocate";
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof(".tmp"));
	target = atomic ? tmp : path;
	memset(blk, 0, sizeof(blk));
	hdr_pack(blk, h, frag_crc32c(payload, h->payload_len));

	step = "create";
	rc = open_maybe_direct(target, O_CREAT | O_TRUNC | O_WRONLY, &direct,
			       &fd);
	if (rc)
		goto out;
	have_tmp = atomic;
	step = "allocate";
	rc = fio_prealloc(fd, (off_t)frag_file_len(h->payload_len));
	if (rc)
		goto out;
	step = "write";
	rc = fio_pwrite(fd, blk, sizeof(blk), 0);
	if (!rc && h->payload_len > 0)
		rc = fio_pwrite(fd, payload, h->payload_len, FRAG_DATA_OFF);
	if (rc)
		goto out;
	step = "fsync";
	rc = fio_fsync(fd);
	if (rc)
		goto out;
	step = "close";
	rc = fio_close(fd);
	fd = -1;
	if (rc)
		goto out;
	if (atomic) {
		step = "rename";
		rc = fio_rename(tmp, path);
		if (rc)
			goto out;
		have_tmp = 0;
	}
	step = "fsync directory";
	rc = fio_fsync_dir(dir);
out:
	if (fd >= 0)
		fio_close(fd);
	if (have_tmp)
		fio_unlink(tmp);
	free(tmp);
	free(dir);
	if (rc)
		rc = ddterr_set(rc, "fragment %s: %s: %s", path, step,
				strerror(-rc));
	return rc;
}

uint64_t frag_file_len(uint32_t payload_len)
{
	return (uint64_t)FRAG_DATA_OFF + payload_len;
}

int frag_write(const char *path, const frag_hdr *h, const void *payload)
{
	return write_frag(path, h, payload, 1);
}

int frag_write_new(const char *path, const frag_hdr *h, const void *payload)
{
	return write_frag(path, h, payload, 0);
}

static int bad(const char *path, const char *why)
{
	return ddterr_set(-EBADMSG, "fragment %s: %s", path, why);
}

static void hdr_unpack(const uint8_t *b, frag_hdr *h)
{
	h->cid = get_le64(b + OFF_CID);
	h->payload_len = get_le32(b + OFF_PAYLOAD_LEN);
	h->container_len = get_le32(b + OFF_CONT_LEN);
	h->k = b[OFF_K];
	h->m = b[OFF_M];
	h->index = b[OFF_INDEX];
}

/* An open fragment whose header block has been read and checked. */
typedef struct frag_file {
	int fd;
	int direct;		/* fd is O_DIRECT */
	frag_hdr h;
	uint32_t payload_crc;
	off_t data_off;		/* where the payload starts: by version */
	off_t size;		/* of the file */
} frag_file;

/* Stop using O_DIRECT on f: for a payload that is not page-aligned. */
static void dio_off(frag_file *f)
{
	int fl = fcntl(f->fd, F_GETFL);

	if (f->direct && fl >= 0 && fcntl(f->fd, F_SETFL, fl & ~O_DIRECT) == 0)
		f->direct = 0;
}

/* One read of the header block. Not fio_pread's loop: after a short
 * O_DIRECT read at the end of a small file, its next read would be
 * unaligned. */
static ssize_t read_block(frag_file *f, uint8_t *blk)
{
	ssize_t n;

	do
		n = pread(f->fd, blk, FRAG_DATA_OFF, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EINVAL && f->direct) {
		dio_off(f);
		if (!f->direct)
			return read_block(f, blk);
	}
	return n < 0 ? -errno : n;
}

/* Open a fragment, with O_DIRECT if want_direct, and check its header:
 * magic, version and header CRC. -EBADMSG, -ENOENT or -errno with a
 * message; on success the caller closes f->fd. */
static int frag_open(const char *path, int want_direct, frag_file *f)
{
	_Alignas(FIO_DIO_ALIGN) uint8_t blk[FRAG_DATA_OFF];
	struct stat st;
	ssize_t n;
	int rc;

	f->fd = -1;
	f->direct = want_direct;
	rc = open_maybe_direct(path, O_RDONLY, &f->direct, &f->fd);
	if (rc)
		return ddterr_set(rc, "fragment %s: open: %s", path,
				  strerror(-rc));
	n = read_block(f, blk);
	rc = n < 0 ? (int)n : fstat(f->fd, &st) != 0 ? -errno : 0;
	if (rc) {
		rc = ddterr_set(rc, "fragment %s: read: %s", path,
				strerror(-rc));
		goto fail;
	}
	if (n < FRAG_HDR_LEN) {
		rc = bad(path, "truncated header");
		goto fail;
	}
	if (memcmp(blk + OFF_MAGIC, frag_magic, sizeof(frag_magic)) == 0)
		f->data_off = FRAG_DATA_OFF;
	else if (memcmp(blk + OFF_MAGIC, frag_magic_v1,
			sizeof(frag_magic_v1)) == 0)
		f->data_off = FRAG_HDR_LEN;
	else {
		rc = bad(path, "bad magic, not a fragment file");
		goto fail;
	}
	if (get_le32(blk + OFF_HDR_CRC) != frag_crc32c(blk, OFF_HDR_CRC)) {
		rc = bad(path, "header checksum mismatch");
		goto fail;
	}
	hdr_unpack(blk, &f->h);
	f->payload_crc = get_le32(blk + OFF_PAYLOAD_CRC);
	f->size = st.st_size;
	return 0;
fail:
	fio_close(f->fd);
	f->fd = -1;
	return rc;
}

/* A fragment with a good CRC but the wrong identity was misplaced
 * (renamed, restored from elsewhere); its bytes are fine but are not the
 * bytes this slot needs. */
static int check_identity(const char *path, const frag_hdr *got,
			  const frag_hdr *want)
{
	if (got->cid != want->cid)
		return ddterr_set(-EBADMSG, "fragment %s: container id %llu, "
				  "expected %llu", path,
				  (unsigned long long)got->cid,
				  (unsigned long long)want->cid);
	if (got->k != want->k || got->m != want->m)
		return ddterr_set(-EBADMSG, "fragment %s: geometry k=%u m=%u, "
				  "expected k=%u m=%u", path, got->k, got->m,
				  want->k, want->m);
	if (got->index != want->index)
		return ddterr_set(-EBADMSG, "fragment %s: index %u, expected %u",
				  path, got->index, want->index);
	if (got->payload_len != want->payload_len)
		return ddterr_set(-EBADMSG, "fragment %s: payload length %u, "
				  "expected %u", path, got->payload_len,
				  want->payload_len);
	if (!hdr_sane(got))
		return ddterr_set(-EBADMSG, "fragment %s: container length %u "
				  "exceeds k * payload length", path,
				  got->container_len);
	return 0;
}

int frag_read(const char *path, const frag_hdr *want, void *payload,
	      uint32_t *out_container_len)
{
	frag_file f;
	off_t end;
	size_t n;
	int rc;

	/* Straight into the caller's buffer when it is page-aligned and
	 * whole pages; otherwise all through the page cache, where a
	 * prefetch (the scrub's) may already have put it. */
	rc = frag_open(path, dio_fits(payload, want->payload_len), &f);
	if (rc)
		return rc;
	rc = check_identity(path, &f.h, want);
	if (rc)
		goto out;
	end = f.data_off + (off_t)f.h.payload_len;
	if (f.size != end) {
		rc = bad(path, f.size < end ? "truncated" :
			 "trailing bytes after payload");
		goto out;
	}
	if (f.data_off != FRAG_DATA_OFF ||
	    !dio_fits(payload, f.h.payload_len))
		dio_off(&f);
	rc = fio_pread(f.fd, payload, f.h.payload_len, f.data_off, &n);
	if (rc) {
		rc = ddterr_set(rc, "fragment %s: read: %s", path,
				strerror(-rc));
		goto out;
	}
	if (n < f.h.payload_len)
		rc = bad(path, "truncated");
	else if (f.payload_crc != frag_crc32c(payload, f.h.payload_len))
		rc = bad(path, "checksum mismatch");
	else
		*out_container_len = f.h.container_len;
out:
	fio_close(f.fd);
	return rc;
}

int frag_read_hdr(const char *path, frag_hdr *out)
{
	frag_file f;
	int rc;

	/* Only the header is read: through the page cache is cheaper. */
	rc = frag_open(path, 0, &f);
	if (rc)
		return rc == -EBADMSG ? bad(path, "no valid fragment header") :
		       rc;
	if (!hdr_sane(&f.h))
		rc = bad(path, "header lengths out of range");
	else if (f.size != f.data_off + (off_t)f.h.payload_len)
		rc = bad(path, "file length does not match its header");
	else
		*out = f.h;
	fio_close(f.fd);
	return rc;
}
