/* test_segmenter.c - a reader over a file or a pipe cuts exactly where
 * cdc_cut() cuts the same bytes held whole in memory, however read(2)
 * splits them, and segmenter_encode() names and packs a segment so that it
 * unpacks to the same bytes under the same fingerprint. */
#include "segmenter.h"
#include "codec.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MIB (1024u * 1024)

/* Random runs mixed with repeated earlier runs and zero runs: cut points
 * of every kind, including segments forced at max. */
static void fill_mixed(uint8_t *p, size_t n)
{
	size_t i = 0, run;

	while (i < n) {
		run = 1 + rnd64() % 100000;
		if (run > n - i)
			run = n - i;
		switch (rnd64() % 4) {
		case 0:
			memset(p + i, 0, run);
			break;
		case 1:
			if (i >= run) {
				memcpy(p + i, p + rnd64() % (i - run + 1), run);
				break;
			}
			/* fall through */
		default:
			rnd_fill(p + i, run);
		}
		i += run;
	}
}

/* Segment lengths of p[0..n) from cdc_cut() over the whole buffer. */
static size_t cut_in_memory(const cdc *c, const uint8_t *p, size_t n,
			    size_t **out)
{
	size_t *len = xmalloc((n / c->min + 2) * sizeof(*len));
	size_t off = 0, k = 0;

	while (off < n) {
		len[k] = cdc_cut(c, p + off, n - off);
		off += len[k++];
	}
	*out = len;
	return k;
}

/*
 * Read fd to its end through a segmenter and compare with the in-memory
 * cut of want[0..n): same number of segments, same lengths, and bytes that
 * concatenate back to want. Returns the number of mismatches (0 is a pass)
 * and sets *out_k to the segments read.
 */
static int read_and_compare(const cdc *c, int fd, const uint8_t *want,
			    size_t n, size_t *out_k)
{
	const uint8_t *seg;
	segmenter *r = NULL;
	size_t *len, k, i = 0, off = 0, sn;
	int rc, bad = 0;

	k = cut_in_memory(c, want, n, &len);
	if (segmenter_new(&r, c, fd) != 0)
		tap_bail("segmenter_new");
	while ((rc = segmenter_next(r, &seg, &sn)) == 1) {
		if (i >= k || sn != len[i] || off + sn > n ||
		    memcmp(seg, want + off, sn) != 0) {
			if (bad < 3)
				diag("segment %zu: %zu bytes at %zu, memory "
				     "cut %zu", i, sn, off,
				     i < k ? len[i] : 0);
			bad++;
		}
		off += sn;
		i++;
	}
	if (rc != 0) {
		diag("segmenter_next: %d %s", rc, ddterr_last(rc));
		bad++;
	}
	/* End of file is sticky: asking again is still the end. */
	if (segmenter_next(r, &seg, &sn) != 0)
		bad++;
	if (i != k || off != n) {
		diag("%zu segments, %zu bytes; memory cut %zu segments, %zu "
		     "bytes", i, off, k, n);
		bad++;
	}
	segmenter_free(r);
	free(len);
	*out_k = i;
	return bad;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t off = 0;
	ssize_t w;

	if (fd < 0)
		return -1;
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

static void test_file(const char *dir, const cdc *c, const uint8_t *data,
		      size_t n, const char *what)
{
	const char *path = tpath(dir, "in");
	size_t k = 0;
	int fd, bad;

	if (write_file(path, data, n) != 0)
		tap_bail("write %s: %s", path, strerror(errno));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		tap_bail("open %s: %s", path, strerror(errno));
	bad = read_and_compare(c, fd, data, n, &k);
	ok(bad == 0, "file of %zu bytes, %s: %zu segments match the "
	   "in-memory cut", n, what, k);
	close(fd);
}

/*
 * A pipe fed by a child in uneven writes (1 byte up to 100 KiB), so the
 * reader sees short reads of every size and has to keep refilling until it
 * holds max bytes before it may cut.
 */
static void test_pipe(const cdc *c, const uint8_t *data, size_t n)
{
	int pfd[2], status = 0, bad;
	size_t k = 0;
	pid_t pid;

	if (pipe(pfd) != 0)
		tap_bail("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		size_t off = 0, chunk;
		ssize_t w;

		close(pfd[0]);
		while (off < n) {
			chunk = (rnd64() % 3 == 0) ? 1 + rnd64() % 16 :
						     1 + rnd64() % 100000;
			if (chunk > n - off)
				chunk = n - off;
			w = write(pfd[1], data + off, chunk);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(pfd[1]);
	bad = read_and_compare(c, pfd[0], data, n, &k);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ok(bad == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "pipe with uneven writes, %zu bytes: %zu segments match the "
	   "in-memory cut", n, k);
}

static void test_empty_and_errors(const char *dir, const cdc *c)
{
	const uint8_t *seg = NULL;
	segmenter *r = NULL;
	const char *path = tpath(dir, "empty");
	size_t sn = 0;
	int fd, rc, rc2;
	cdc bogus;

	if (write_file(path, NULL, 0) != 0)
		tap_bail("write %s", path);
	fd = open(path, O_RDONLY);
	if (fd < 0 || segmenter_new(&r, c, fd) != 0)
		tap_bail("open %s", path);
	rc = segmenter_next(r, &seg, &sn);
	rc2 = segmenter_next(r, &seg, &sn);
	ok(rc == 0 && rc2 == 0 && seg == NULL && sn == 0,
	   "a 0-byte file gives no segments");
	segmenter_free(r);
	close(fd);

	/* read(2) on a directory fails with EISDIR: a read error. */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || segmenter_new(&r, c, fd) != 0)
		tap_bail("open %s", dir);
	ddterr_clear();
	rc = segmenter_next(r, &seg, &sn);
	ok(rc == -EISDIR && strstr(ddterr_last(rc), "read") != NULL,
	   "a read error comes back as -errno with a message: %s",
	   ddterr_last(rc));
	segmenter_free(r);
	close(fd);

	memset(&bogus, 0, sizeof(bogus));
	r = NULL;
	ok(segmenter_new(&r, &bogus, 0) == -EINVAL && r == NULL,
	   "a chunker cdc_init() never set up is refused");
	segmenter_free(NULL);
}

static void test_encode(void)
{
	enum { N = 40000 };
	uint8_t *raw = xmalloc(N), *dst = xmalloc(codec_bound(N));
	uint8_t *back = xmalloc(N);
	uint32_t stored = 0;
	fp_t f, want;
	size_t i;
	int codec = -1, rc, keep = 0;

	/* A compressible segment: a short pattern with a drifting byte. */
	for (i = 0; i < N; i++)
		raw[i] = (uint8_t)("dedup "[i % 6] + (i / 4096));
	rc = segmenter_encode(CODEC_LZ4, raw, N, &f, dst, codec_bound(N),
			      &stored, &codec);
	fp_compute(&want, raw, N);
	ok(rc == 0 && fp_equal(&f, &want),
	   "segmenter_encode's fingerprint is fp_compute of the raw bytes");
	ok(codec == CODEC_LZ4 && stored > 0 && stored <= N * 3 / 4 &&
	   codec_decompress(codec, dst, stored, back, N) == 0 &&
	   memcmp(back, raw, N) == 0,
	   "the stored form is lz4, %u of %d bytes, and unpacks to the "
	   "raw bytes", stored, N);

	rnd_fill(raw, N);
	rc = segmenter_encode(CODEC_ZSTD, raw, N, &f, dst, codec_bound(N),
			      &stored, &codec);
	fp_compute(&want, raw, N);
	ok(rc == 0 && fp_equal(&f, &want) && codec == CODEC_NONE &&
	   stored == N && codec_decompress(codec, dst, stored, back, N) == 0 &&
	   memcmp(back, raw, N) == 0,
	   "a random segment is stored raw under its fingerprint");

	stored = 12345;
	codec = 77;
	memset(&f, 0x5a, sizeof(f));
	rc = segmenter_encode(CODEC_COUNT, raw, N, &f, dst, codec_bound(N),
			      &stored, &codec);
	for (i = 0; i < FP_LEN; i++)
		keep += f.b[i] == 0x5a;
	ok(rc == -EINVAL && stored == 12345 && codec == 77 && keep == FP_LEN,
	   "an unknown codec gives -EINVAL and leaves the outputs alone");
	free(raw);
	free(dst);
	free(back);
}

int main(void)
{
	size_t n = 3 * MIB + 777;
	uint8_t *data = xmalloc(n);
	char *dir = tap_tmpdir("segmenter");
	cdc c, small, big;

	rnd_seed(0x9E3779B97F4A7C15ull);
	if (cdc_init(&c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT) ||
	    cdc_init(&small, 64, 256, 1024) ||
	    cdc_init(&big, 64 * 1024, 256 * 1024, CDC_MAX_LIMIT))
		tap_bail("cdc_init");
	fill_mixed(data, n);
	test_file(dir, &c, data, n, "default sizes");
	test_file(dir, &small, data, n, "64/256/1024 sizes");
	test_file(dir, &big, data, n, "sizes up to 1 MiB");
	test_file(dir, &c, data, 1000, "under min");
	test_file(dir, &c, data, CDC_MAX_DEFAULT + 1, "max + 1");
	test_pipe(&c, data, n);
	test_pipe(&big, data, n);
	test_empty_and_errors(dir, &c);
	test_encode();
	tap_rmtree(dir);
	free(dir);
	free(data);
	return tap_done();
}
