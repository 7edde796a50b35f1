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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <isa-l/crc.h>

static const uint8_t frag_magic[8] = { 'D', 'D', 'T', 'F', 'R', 'A', 'G', '1' };

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

/* Write a fragment file and fsync it and its directory. atomic: through a
 * temp file and a rename, so a crash leaves the old file or the new one. */
static int write_frag(const char *path, const frag_hdr *h, const void *payload,
		      int atomic)
{
	uint8_t hdr[FRAG_HDR_LEN];
	size_t plen = strlen(path);
	char *tmp = NULL, *dir = NULL;
	const char *step = "", *target;
	int fd = -1, rc, have_tmp = 0;

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
	hdr_pack(hdr, h, frag_crc32c(payload, h->payload_len));

	step = "create";
	rc = fio_open(target, O_CREAT | O_TRUNC | O_WRONLY, 0644, &fd);
	if (rc)
		goto out;
	have_tmp = atomic;
	step = "allocate";
	rc = fio_prealloc(fd, (off_t)FRAG_HDR_LEN + h->payload_len);
	if (rc)
		goto out;
	/* Two writes rather than one joined buffer: the payload is up to a
	 * container's worth and copying it would cost more than a syscall. */
	step = "write";
	rc = fio_pwrite(fd, hdr, sizeof(hdr), 0);
	if (!rc && h->payload_len > 0)
		rc = fio_pwrite(fd, payload, h->payload_len, FRAG_HDR_LEN);
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

int frag_read(const char *path, const frag_hdr *want, void *payload,
	      uint32_t *out_container_len)
{
	uint8_t hdr[FRAG_HDR_LEN], extra;
	frag_hdr got;
	size_t n;
	int fd = -1, rc;

	rc = fio_open(path, O_RDONLY, 0, &fd);
	if (rc)
		return ddterr_set(rc, "fragment %s: open: %s", path,
				  strerror(-rc));
	rc = fio_pread(fd, hdr, sizeof(hdr), 0, &n);
	if (rc)
		goto io_err;
	if (n < sizeof(hdr)) {
		rc = bad(path, "truncated header");
		goto out;
	}
	if (memcmp(hdr + OFF_MAGIC, frag_magic, sizeof(frag_magic)) != 0) {
		rc = bad(path, "bad magic, not a fragment file");
		goto out;
	}
	if (get_le32(hdr + OFF_HDR_CRC) != frag_crc32c(hdr, OFF_HDR_CRC)) {
		rc = bad(path, "header checksum mismatch");
		goto out;
	}
	got.cid = get_le64(hdr + OFF_CID);
	got.payload_len = get_le32(hdr + OFF_PAYLOAD_LEN);
	got.container_len = get_le32(hdr + OFF_CONT_LEN);
	got.k = hdr[OFF_K];
	got.m = hdr[OFF_M];
	got.index = hdr[OFF_INDEX];
	/* A fragment with a good CRC but the wrong identity was misplaced
	 * (renamed, restored from elsewhere); its bytes are fine but are not
	 * the bytes this slot needs. */
	if (got.cid != want->cid) {
		rc = ddterr_set(-EBADMSG, "fragment %s: container id %llu, "
				"expected %llu", path,
				(unsigned long long)got.cid,
				(unsigned long long)want->cid);
		goto out;
	}
	if (got.k != want->k || got.m != want->m) {
		rc = ddterr_set(-EBADMSG, "fragment %s: geometry k=%u m=%u, "
				"expected k=%u m=%u", path, got.k, got.m,
				want->k, want->m);
		goto out;
	}
	if (got.index != want->index) {
		rc = ddterr_set(-EBADMSG, "fragment %s: index %u, expected %u",
				path, got.index, want->index);
		goto out;
	}
	if (got.payload_len != want->payload_len) {
		rc = ddterr_set(-EBADMSG, "fragment %s: payload length %u, "
				"expected %u", path, got.payload_len,
				want->payload_len);
		goto out;
	}
	if (!hdr_sane(&got)) {
		rc = ddterr_set(-EBADMSG, "fragment %s: container length %u "
				"exceeds k * payload length", path,
				got.container_len);
		goto out;
	}
	rc = fio_pread(fd, payload, got.payload_len, FRAG_HDR_LEN, &n);
	if (rc)
		goto io_err;
	if (n < got.payload_len) {
		rc = bad(path, "truncated");
		goto out;
	}
	/* Bytes past the payload mean the file is not what we wrote. */
	rc = fio_pread(fd, &extra, 1, (off_t)FRAG_HDR_LEN + got.payload_len,
		       &n);
	if (rc)
		goto io_err;
	if (n != 0) {
		rc = bad(path, "trailing bytes after payload");
		goto out;
	}
	if (get_le32(hdr + OFF_PAYLOAD_CRC) !=
	    frag_crc32c(payload, got.payload_len)) {
		rc = bad(path, "checksum mismatch");
		goto out;
	}
	*out_container_len = got.container_len;
	goto out;
io_err:
	rc = ddterr_set(rc, "fragment %s: read: %s", path, strerror(-rc));
out:
	fio_close(fd);
	return rc;
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

int frag_read_hdr(const char *path, frag_hdr *out)
{
	uint8_t hdr[FRAG_HDR_LEN];
	struct stat st;
	frag_hdr got;
	size_t n;
	int fd = -1, rc;

	rc = fio_open(path, O_RDONLY, 0, &fd);
	if (rc)
		return ddterr_set(rc, "fragment %s: open: %s", path,
				  strerror(-rc));
	rc = fio_pread(fd, hdr, sizeof(hdr), 0, &n);
	if (rc == 0 && fstat(fd, &st) != 0)
		rc = -errno;
	if (rc) {
		rc = ddterr_set(rc, "fragment %s: read: %s", path,
				strerror(-rc));
		goto out;
	}
	if (n < sizeof(hdr) ||
	    memcmp(hdr + OFF_MAGIC, frag_magic, sizeof(frag_magic)) != 0 ||
	    get_le32(hdr + OFF_HDR_CRC) != frag_crc32c(hdr, OFF_HDR_CRC)) {
		rc = bad(path, "no valid fragment header");
		goto out;
	}
	hdr_unpack(hdr, &got);
	if (!hdr_sane(&got))
		rc = bad(path, "header lengths out of range");
	else if ((uint64_t)st.st_size != (uint64_t)FRAG_HDR_LEN + got.payload_len)
		rc = bad(path, "file length does not match its header");
	else
		*out = got;
out:
	fio_close(fd);
	return rc;
}
