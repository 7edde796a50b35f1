/* test_frag.c - a fragment file reads back exactly, and every way it can go
 * bad (a flipped byte, a cut, extra bytes, another container's or index's
 * fragment, a full disk while writing) is reported, never used. */
#include "frag.h"
#include "bytes.h"
#include "ddterr.h"
#include "fio.h"
#include "path.h"
#include "tap.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

static char *dir;

#define path_of(name) tpath(dir, name)

/* Entries in dir other than . and .. */
static int dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	if (!dp)
		return -1;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* Read the file, let edit() change it, write it back (plainly, not
 * through fio, so no fault can interfere). */
static void edit_file(const char *path, size_t flip_at, long new_len)
{
	void *buf = NULL;
	size_t n = 0;
	FILE *f;

	if (fio_read_file(path, &buf, &n) != 0)
		tap_bail("read %s", path);
	if (flip_at != (size_t)-1)
		((uint8_t *)buf)[flip_at] ^= 0x01;
	f = fopen(path, "wb");
	if (!f)
		tap_bail("fopen %s", path);
	if (new_len < 0)
		new_len = (long)n;
	if ((size_t)new_len <= n) {
		fwrite(buf, 1, (size_t)new_len, f);
	} else {
		fwrite(buf, 1, n, f);
		for (long i = (long)n; i < new_len; i++)
			fputc(0, f);
	}
	fclose(f);
	free(buf);
}

static void copy_file(const char *from, const char *to)
{
	void *buf = NULL;
	size_t n = 0;

	if (fio_read_file(from, &buf, &n) != 0 ||
	    fio_write_file_atomic(to, buf, n) != 0)
		tap_bail("copy %s", from);
	free(buf);
}

enum { PLEN = 70001 };
static uint8_t payload[PLEN], got[PLEN];

static const frag_hdr H = {
	.cid = 0x0123456789ABCDEFull,
	.payload_len = PLEN,
	.container_len = 4 * PLEN - 17,
	.k = 4, .m = 2, .index = 5,
};

static int rd(const char *path, const frag_hdr *want)
{
	uint32_t clen = 0;

	memset(got, 0, sizeof(got));
	return frag_read(path, want, got, &clen);
}

static void test_crc(void)
{
	uint8_t big[1000];
	uint32_t a, ab;

	ok(frag_crc32c("123456789", 9) == 0x1CF96D7Cu,
	   "frag_crc32c(\"123456789\") is 0x1CF96D7C as documented (got "
	   "0x%08X)", frag_crc32c("123456789", 9));
	ok((frag_crc32c("123456789", 9) ^ 0xFFFFFFFFu) == 0xE3069283u,
	   "its complement is the standard CRC-32C check value");
	ok(frag_crc32c(NULL, 0) == 0xFFFFFFFFu, "the CRC of nothing is the "
	   "seed");
	rnd_fill(big, sizeof(big));
	a = frag_crc32c(big, 300);
	ab = frag_crc32c(big, sizeof(big));
	ok(ab != a && ab != frag_crc32c(big + 1, sizeof(big) - 1),
	   "the CRC depends on every byte");
}

static void test_round_trip(void)
{
	uint32_t clen = 0;
	frag_hdr h0 = { .cid = 9, .payload_len = 0, .container_len = 0,
			.k = 1, .m = 0, .index = 0 };
	int rc;

	rnd_fill(payload, PLEN);
	rc = frag_write(path_of("f"), &H, payload);
	ok(rc == 0 && !file_exists(path_of("f.tmp")),
	   "frag_write succeeds and leaves no .tmp (rc %d)", rc);
	rc = frag_read(path_of("f"), &H, got, &clen);
	ok(rc == 0 && memcmp(got, payload, PLEN) == 0 &&
	   clen == H.container_len,
	   "frag_read gives back the payload and the container length "
	   "(rc %d, %u)", rc, clen);
	{
		struct stat st;

		ok(stat(path_of("f"), &st) == 0 &&
		   st.st_size == FRAG_DATA_OFF + PLEN,
		   "the file is the header block plus the payload");
	}
	rc = frag_write(path_of("f0"), &h0, NULL);
	if (rc == 0)
		rc = frag_read(path_of("f0"), &h0, got, &clen);
	ok(rc == 0 && clen == 0, "an empty fragment round-trips (rc %d)", rc);

	/* Overwriting replaces the whole file. */
	{
		frag_hdr h2 = H;

		h2.payload_len = 100;
		h2.container_len = 400;
		rc = frag_write(path_of("f2"), &H, payload);
		if (rc == 0)
			rc = frag_write(path_of("f2"), &h2, payload + 5);
		if (rc == 0)
			rc = frag_read(path_of("f2"), &h2, got, &clen);
		ok(rc == 0 && memcmp(got, payload + 5, 100) == 0 &&
		   clen == 400, "rewriting a fragment replaces it (rc %d)", rc);
	}
}

static void test_damage(void)
{
	frag_hdr w;
	int rc, bad;

	copy_file(path_of("f"), path_of("d"));
	edit_file(path_of("d"), FRAG_DATA_OFF + 12345, -1);
	ddterr_clear();
	rc = rd(path_of("d"), &H);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "checksum mismatch"),
	   "a flipped payload bit: -EBADMSG \"%s\"", ddterr_last(rc));

	copy_file(path_of("f"), path_of("d"));
	edit_file(path_of("d"), FRAG_DATA_OFF + PLEN - 1, -1);
	ok(rd(path_of("d"), &H) == -EBADMSG, "a flipped last payload byte: "
	   "-EBADMSG");

	/* Every header byte, flipped in turn. */
	bad = 0;
	for (size_t i = 0; i < FRAG_HDR_LEN; i++) {
		copy_file(path_of("f"), path_of("d"));
		edit_file(path_of("d"), i, -1);
		if (rd(path_of("d"), &H) != -EBADMSG)
			bad++;
	}
	ok(bad == 0, "a flipped bit in any of the %d header bytes: -EBADMSG "
	   "(%d accepted)", FRAG_HDR_LEN, bad);

	{
		static const long cuts[] = { 0, 1, 8, FRAG_HDR_LEN - 1,
					     FRAG_HDR_LEN, FRAG_DATA_OFF,
					     FRAG_DATA_OFF + 1,
					     FRAG_DATA_OFF + PLEN - 1 };

		bad = 0;
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			copy_file(path_of("f"), path_of("d"));
			edit_file(path_of("d"), (size_t)-1, cuts[i]);
			if (rd(path_of("d"), &H) != -EBADMSG)
				bad++;
		}
		ok(bad == 0, "a file cut at 0, 1, 8, 63, 64, 4096, 4097 or one "
		   "short of the end: -EBADMSG (%d accepted)", bad);
	}

	copy_file(path_of("f"), path_of("d"));
	edit_file(path_of("d"), (size_t)-1, FRAG_DATA_OFF + PLEN + 1);
	ddterr_clear();
	rc = rd(path_of("d"), &H);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "trailing"),
	   "one trailing byte: -EBADMSG \"%s\"", ddterr_last(rc));

	w = H;
	w.cid++;
	ok(rd(path_of("f"), &w) == -EBADMSG, "expecting another cid: "
	   "-EBADMSG");
	w = H;
	w.index = 4;
	ok(rd(path_of("f"), &w) == -EBADMSG, "expecting another index: "
	   "-EBADMSG");
	w = H;
	w.k = 5;
	ok(rd(path_of("f"), &w) == -EBADMSG, "expecting another k: -EBADMSG");
	w = H;
	w.m = 3;
	ok(rd(path_of("f"), &w) == -EBADMSG, "expecting another m: -EBADMSG");
	w = H;
	w.payload_len = PLEN - 1;
	ok(rd(path_of("f"), &w) == -EBADMSG, "expecting another payload "
	   "length: -EBADMSG (and no write past the smaller buffer)");

	/* A well-sealed header that claims more container bytes than k
	 * payloads hold. */
	{
		void *buf = NULL;
		size_t n = 0;

		if (fio_read_file(path_of("f"), &buf, &n) != 0)
			tap_bail("read f");
		put_le32((uint8_t *)buf + 20, 4 * PLEN + 1);
		put_le32((uint8_t *)buf + 60, frag_crc32c(buf, 60));
		if (fio_write_file_atomic(path_of("d"), buf, n) != 0)
			tap_bail("write d");
		free(buf);
		ddterr_clear();
		rc = rd(path_of("d"), &H);
		ok(rc == -EBADMSG && strstr(ddterr_last(rc), "exceeds"),
		   "a re-sealed header with container_len > k * payload_len: "
		   "-EBADMSG \"%s\"", ddterr_last(rc));
	}

	ddterr_clear();
	rc = rd(path_of("missing"), &H);
	ok(rc == -ENOENT && strstr(ddterr_last(rc), "missing"),
	   "a missing file: -ENOENT \"%s\"", ddterr_last(rc));
	ok(rd(dir, &H) < 0 && rd(dir, &H) != -ENOENT,
	   "a directory in its place is an error, not a fragment");
}

static void test_write_faults(void)
{
	char *sub;
	frag_hdr bad_h = H;
	int rc;

	if (path_mkdir_p(path_of("w"), 0755) != 0)
		tap_bail("mkdir");
	sub = strdup(path_of("w"));

	/* The header write, then the payload write, under ENOSPC. */
	for (int after = 0; after < 2; after++) {
		char name[64];

		snprintf(name, sizeof(name), "w/enospc%d", after);
		fio_fault_arm(FIO_FAULT_ENOSPC, after, 0);
		ddterr_clear();
		rc = frag_write(path_of(name), &H, payload);
		fio_fault_clear();
		ok(rc == -ENOSPC && strstr(ddterr_last(rc), "write") &&
		   dir_entries(sub) == 0,
		   "ENOSPC on write %d: -ENOSPC, and neither the file nor a "
		   ".tmp is left (\"%s\")", after + 1, ddterr_last(rc));
	}
	fio_fault_arm(FIO_FAULT_SHORT, 1, 0);
	rc = frag_write(path_of("w/short"), &H, payload);
	fio_fault_clear();
	ok(rc == -ENOSPC && dir_entries(sub) == 0,
	   "a torn payload write fails cleanly, nothing left");
	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 1);
	rc = frag_write(path_of("w/sticky"), &H, payload);
	fio_fault_clear();
	ok(rc == -ENOSPC && dir_entries(sub) == 0,
	   "a disk that stays full: same");
	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 0, 0);
	rc = frag_write(path_of("w/fsync"), &H, payload);
	fio_fault_clear();
	ok(rc == -EIO && dir_entries(sub) == 0,
	   "a failed fsync: -EIO, nothing left");

	/* A failed overwrite keeps the old fragment intact. */
	copy_file(path_of("f"), path_of("w/keep"));
	fio_fault_arm(FIO_FAULT_EIO, 1, 0);
	rc = frag_write(path_of("w/keep"), &H, payload + 1);
	fio_fault_clear();
	ok(rc == -EIO && rd(path_of("w/keep"), &H) == 0 &&
	   memcmp(got, payload, PLEN) == 0 && dir_entries(sub) == 1,
	   "a failed overwrite leaves the old fragment readable");

	bad_h.index = 6;
	ok(frag_write(path_of("w/badidx"), &bad_h, payload) == -EINVAL,
	   "index >= k + m is refused");
	bad_h = H;
	bad_h.container_len = 4 * PLEN + 1;
	ok(frag_write(path_of("w/badlen"), &bad_h, payload) == -EINVAL,
	   "container_len > k * payload_len is refused");
	bad_h = H;
	bad_h.k = 0;
	ok(frag_write(path_of("w/badk"), &bad_h, payload) == -EINVAL &&
	   dir_entries(sub) == 1, "k = 0 is refused, nothing written");
	ok(frag_write(path_of("nodir/x"), &H, payload) == -ENOENT,
	   "a missing directory: -ENOENT");
	free(sub);
}

/* Whole-page payloads in page-aligned buffers take the O_DIRECT path both
 * ways; files of the first version, payload right after the header, still
 * read. */
static void test_direct_and_v1(void)
{
	enum { DLEN = 5 * FIO_DIO_ALIGN };
	frag_hdr h = { .cid = 77, .payload_len = DLEN,
		       .container_len = 3 * DLEN + 5, .k = 4, .m = 2,
		       .index = 3 };
	uint8_t *a = NULL, *b = NULL, v1[FRAG_HDR_LEN + 100];
	uint32_t clen = 0;
	int rc;

	if (posix_memalign((void **)&a, FIO_DIO_ALIGN, DLEN) ||
	    posix_memalign((void **)&b, FIO_DIO_ALIGN, DLEN + 1))
		tap_bail("posix_memalign");
	rnd_fill(a, DLEN);
	rc = frag_write_new(path_of("dio"), &h, a);
	if (rc == 0)
		rc = frag_read(path_of("dio"), &h, b, &clen);
	ok(rc == 0 && memcmp(a, b, DLEN) == 0 && clen == h.container_len,
	   "an aligned whole-page fragment round-trips (rc %d)", rc);
	memset(b, 0, DLEN + 1);
	rc = frag_read(path_of("dio"), &h, b + 1, &clen);
	ok(rc == 0 && memcmp(a, b + 1, DLEN) == 0,
	   "and reads into an unaligned buffer too (rc %d)", rc);

	/* A version-1 file, built by hand as those versions wrote it. */
	h.payload_len = 100;
	h.container_len = 300;
	memset(v1, 0, sizeof(v1));
	memcpy(v1, "DDTFRAG1", 8);
	put_le64(v1 + 8, h.cid);
	put_le32(v1 + 16, h.payload_len);
	put_le32(v1 + 20, h.container_len);
	v1[24] = h.k;
	v1[25] = h.m;
	v1[26] = h.index;
	memcpy(v1 + FRAG_HDR_LEN, a, 100);
	put_le32(v1 + 28, frag_crc32c(a, 100));
	put_le32(v1 + 60, frag_crc32c(v1, 60));
	if (fio_write_file_atomic(path_of("v1"), v1, sizeof(v1)) != 0)
		tap_bail("write v1");
	memset(b, 0, DLEN);
	rc = frag_read(path_of("v1"), &h, b, &clen);
	ok(rc == 0 && memcmp(a, b, 100) == 0 && clen == 300,
	   "a version-1 fragment reads (rc %d)", rc);
	{
		frag_hdr hh;

		rc = frag_read_hdr(path_of("v1"), &hh);
		ok(rc == 0 && hh.payload_len == 100, "and its header alone "
		   "(rc %d)", rc);
	}
	free(a);
	free(b);
}

int main(void)
{
	rnd_seed(0xF4A6F4A6F4A6ull);
	dir = tap_tmpdir("frag");
	test_crc();
	test_round_trip();
	test_damage();
	test_direct_and_v1();
	test_write_faults();
	tap_rmtree(dir);
	free(dir);
	return tap_done();
}
