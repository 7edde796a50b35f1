/* test_codec.c - every codec round-trips, the 25% rule sends data that does
 * not shrink enough to CODEC_NONE, and damaged stored data is turned away
 * with -EBADMSG without a read or write outside the buffers (run it under
 * valgrind or ASan to see the reads; a guard zone after dst catches writes
 * here). */
#include "codec.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>

#define GUARD 64	/* bytes after every dst that must stay untouched */

static const int packers[] = { CODEC_LZ4, CODEC_ZSTD, CODEC_GZFAST };
#define NPACKERS ((int)(sizeof(packers) / sizeof(packers[0])))

/* Words drawn at random from a small vocabulary: compresses about 3:1
 * with any codec, but has no long exact repeats for a codec to cheat on. */
static void fill_text(uint8_t *p, size_t n)
{
	static const char *const words[] = {
		"segment", "container", "fingerprint", "the", "of", "store",
		"backup", "and", "index", "a", "stream", "restore", "dedup",
		"fragment", "parity", "disk", "to", "in", "chunk", "bloom",
	};
	size_t i = 0;

	while (i < n) {
		const char *w = words[rnd64() % (sizeof(words) /
						 sizeof(words[0]))];

		while (*w && i < n)
			p[i++] = (uint8_t)*w++;
		if (i < n)
			p[i++] = (rnd64() % 11) ? ' ' : '\n';
	}
}

/* Decompress into an exact-size buffer followed by a guard zone; returns
 * the codec's result, or -1000 if it wrote into the guard. */
static int unpack_guarded(int codec, const uint8_t *src, size_t n,
			  uint8_t *dst, size_t raw_len)
{
	int rc, i;

	memset(dst + raw_len, 0xEE, GUARD);
	rc = codec_decompress(codec, src, n, dst, raw_len);
	for (i = 0; i < GUARD; i++)
		if (dst[raw_len + i] != 0xEE)
			return -1000;
	return rc;
}

static void test_round_trip(void)
{
	enum { N = 64 * 1024 };
	uint8_t *text = xmalloc(N), *rnd = xmalloc(N);
	uint8_t *packed = xmalloc(codec_bound(N)), *back = xmalloc(N + GUARD);
	size_t len;
	int i, codec, rc;

	fill_text(text, N);
	rnd_fill(rnd, N);
	for (i = 0; i < NPACKERS; i++) {
		int want = packers[i];

		rc = codec_compress(want, text, N, packed, codec_bound(N),
				    &len, &codec);
		ok(rc == 0 && codec == want && len <= N * 3 / 4 && len > 0,
		   "%s: 64 KiB of text compresses (%zu bytes)",
		   codec_name(want), len);
		rc = unpack_guarded(codec, packed, len, back, N);
		ok(rc == 0 && memcmp(back, text, N) == 0,
		   "%s: text round-trips", codec_name(want));

		rc = codec_compress(want, rnd, N, packed, codec_bound(N),
				    &len, &codec);
		ok(rc == 0 && codec == CODEC_NONE && len == N &&
		   memcmp(packed, rnd, N) == 0,
		   "%s: random data is stored raw as CODEC_NONE",
		   codec_name(want));
		rc = unpack_guarded(codec, packed, len, back, N);
		ok(rc == 0 && memcmp(back, rnd, N) == 0,
		   "%s: the raw copy round-trips", codec_name(want));
	}
	free(text);
	free(rnd);
	free(packed);
	free(back);
}

/*
 * The 25% rule at both sides of the line: random bytes followed by zeros
 * compress to roughly the random share. 60% random is kept compressed by
 * every codec; 85% random cannot reach 75% and must come back raw.
 */
static void test_saving_rule(void)
{
	enum { N = 32 * 1024 };
	uint8_t *src = xmalloc(N), *packed = xmalloc(codec_bound(N));
	uint8_t *back = xmalloc(N + GUARD);
	size_t len;
	int i, codec, rc, bad_lo = 0, bad_hi = 0;

	for (i = 0; i < NPACKERS; i++) {
		memset(src, 0, N);
		rnd_fill(src, N * 60 / 100);
		rc = codec_compress(packers[i], src, N, packed,
				    codec_bound(N), &len, &codec);
		if (rc != 0 || codec != packers[i] || len > N * 3 / 4 ||
		    unpack_guarded(codec, packed, len, back, N) != 0 ||
		    memcmp(back, src, N) != 0) {
			diag("%s: 60%% random: rc %d codec %d len %zu",
			     codec_name(packers[i]), rc, codec, len);
			bad_lo++;
		}
		memset(src, 0, N);
		rnd_fill(src, N * 85 / 100);
		rc = codec_compress(packers[i], src, N, packed,
				    codec_bound(N), &len, &codec);
		if (rc != 0 || codec != CODEC_NONE || len != N ||
		    memcmp(packed, src, N) != 0) {
			diag("%s: 85%% random: rc %d codec %d len %zu",
			     codec_name(packers[i]), rc, codec, len);
			bad_hi++;
		}
	}
	ok(bad_lo == 0, "data that shrinks to ~60%% is kept compressed");
	ok(bad_hi == 0, "data that shrinks only to ~85%% is stored raw");
	free(src);
	free(packed);
	free(back);
}

static void test_tiny(void)
{
	uint8_t one = 'x', out[8 + GUARD], back[1 + GUARD];
	size_t len = 99;
	int i, codec = -1, bad = 0, rc;

	for (i = 0; i < NPACKERS; i++) {
		rc = codec_compress(packers[i], "", 0, out, codec_bound(0),
				    &len, &codec);
		if (rc != 0 || codec != CODEC_NONE || len != 0)
			bad++;
		if (unpack_guarded(codec, out, len, back, 0) != 0)
			bad++;
		rc = codec_compress(packers[i], &one, 1, out, codec_bound(1),
				    &len, &codec);
		if (rc != 0 || codec != CODEC_NONE || len != 1 || out[0] != 'x')
			bad++;
		back[0] = 0;
		if (unpack_guarded(codec, out, len, back, 1) != 0 ||
		    back[0] != 'x')
			bad++;
	}
	ok(bad == 0, "0- and 1-byte inputs are stored raw and round-trip");
	ok(codec_bound(1) >= 1 &&
	   codec_bound(1 << 20) >= (1 << 20) + (1 << 20) / 255,
	   "codec_bound covers n and LZ4's worst case (%zu for 1 MiB)",
	   codec_bound(1 << 20));
}

static void test_bad_args(void)
{
	uint8_t src[100] = { 0 }, dst[200];
	size_t len = 7;
	int codec = 7, bad = 0;

	bad += codec_compress(CODEC_COUNT, src, sizeof(src), dst,
			      sizeof(dst), &len, &codec) != -EINVAL;
	bad += codec_compress(-1, src, sizeof(src), dst, sizeof(dst),
			      &len, &codec) != -EINVAL;
	ok(bad == 0 && len == 7 && codec == 7,
	   "unknown codec ids are rejected, out-parameters untouched");
	ok(codec_compress(CODEC_LZ4, src, sizeof(src), dst,
			  codec_bound(sizeof(src)) - 1, &len, &codec) ==
	   -EINVAL, "cap under codec_bound() is rejected");
	ok(codec_decompress(CODEC_COUNT, src, 10, dst, 10) == -EINVAL &&
	   codec_decompress(-3, src, 10, dst, 10) == -EINVAL,
	   "decompressing an unknown codec id gives -EINVAL");
	ok(codec_decompress(CODEC_NONE, src, 10, dst, 11) == -EBADMSG &&
	   codec_decompress(CODEC_NONE, src, 11, dst, 10) == -EBADMSG,
	   "a raw segment whose length differs gives -EBADMSG");
}

/*
 * Damage the compressed form of some text in the ways a disk or a peer
 * could: truncation, a wrong recorded length, trailing bytes, flipped bytes,
 * garbage, and another codec's data. Truncation, lengths and trailing bytes
 * must all be caught; a flipped byte inside a literal can decode cleanly to
 * wrong bytes (no codec here has a checksum), so for flips only the absence
 * of a crash or a stray write and a result of 0 or -EBADMSG is required.
 */
static void test_corruption(int want)
{
	enum { N = 20000, FLIPS = 3000 };
	uint8_t *text = xmalloc(N), *packed = xmalloc(codec_bound(N));
	uint8_t *back = xmalloc(N + 1 + GUARD), *src;
	const char *name = codec_name(want);
	size_t len, cut;
	int codec, rc, i, bad = 0, caught = 0, other;

	fill_text(text, N);
	if (codec_compress(want, text, N, packed, codec_bound(N), &len,
			   &codec) != 0 || codec != want)
		tap_bail("%s: text did not compress", name);

	/* Truncations, each copied to an exact-size buffer so an overread
	 * is an error valgrind and ASan can see. */
	for (cut = 0; cut < len; cut += cut < 16 ? 1 : len / 7 + 1) {
		src = xmalloc(cut);
		memcpy(src, packed, cut);
		rc = unpack_guarded(want, src, cut, back, N);
		if (rc != -EBADMSG) {
			diag("%s: cut to %zu of %zu bytes: rc %d", name, cut,
			     len, rc);
			bad++;
		}
		free(src);
	}
	ok(bad == 0, "%s: every truncation gives -EBADMSG", name);

	bad = 0;
	if (unpack_guarded(want, packed, len, back, N - 1) != -EBADMSG)
		bad++;
	if (unpack_guarded(want, packed, len, back, N + 1) != -EBADMSG)
		bad++;
	if (unpack_guarded(want, packed, len, back, 0) != -EBADMSG)
		bad++;
	ok(bad == 0, "%s: a wrong raw_len (short, long, 0) gives -EBADMSG",
	   name);

	src = xmalloc(len + 3);
	memcpy(src, packed, len);
	memset(src + len, 0, 3);
	rc = unpack_guarded(want, src, len + 3, back, N);
	ok(rc == -EBADMSG, "%s: bytes after the stream give -EBADMSG (%d)",
	   name, rc);
	free(src);

	bad = 0;
	src = xmalloc(len);
	for (i = 0; i < FLIPS; i++) {
		int k, nflip = 1 + (int)(rnd64() % 4);

		memcpy(src, packed, len);
		for (k = 0; k < nflip; k++)
			src[rnd64() % len] ^= (uint8_t)(1 + rnd64() % 255);
		rc = unpack_guarded(want, src, len, back, N);
		if (rc == -EBADMSG)
			caught++;
		else if (rc != 0)
			bad++;
	}
	free(src);
	ok(bad == 0, "%s: %d damaged copies: each 0 or -EBADMSG, guard intact",
	   name, FLIPS);
	diag("%s: %d of %d damaged copies caught by the decoder", name,
	     caught, FLIPS);

	/* Pure garbage, at the compressed length. */
	bad = 0;
	src = xmalloc(len);
	for (i = 0; i < 50; i++) {
		rnd_fill(src, len);
		if (unpack_guarded(want, src, len, back, N) != -EBADMSG)
			bad++;
	}
	free(src);
	ok(bad == 0, "%s: random bytes give -EBADMSG", name);

	/* The right bytes under the wrong codec id. */
	bad = 0;
	for (other = CODEC_LZ4; other < CODEC_COUNT; other++) {
		if (other == want)
			continue;
		rc = unpack_guarded(other, packed, len, back, N);
		if (rc != -EBADMSG) {
			diag("%s data decoded as %s: rc %d", name,
			     codec_name(other), rc);
			bad++;
		}
	}
	ok(bad == 0, "%s: its data under another codec id gives -EBADMSG",
	   name);

	ddterr_clear();
	rc = codec_decompress(want, packed, len / 2, back, N);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), name) != NULL,
	   "%s: the message names the codec: %s", name, ddterr_last(rc));
	free(text);
	free(packed);
	free(back);
}

static void test_names(void)
{
	int i, bad = 0;

	for (i = 0; i < CODEC_COUNT; i++)
		if (!codec_name(i) || codec_from_name(codec_name(i)) != i)
			bad++;
	ok(bad == 0, "codec_from_name(codec_name(id)) == id for every codec");
	ok(strcmp(codec_name(CODEC_NONE), "none") == 0 &&
	   strcmp(codec_name(CODEC_LZ4), "lz4") == 0 &&
	   strcmp(codec_name(CODEC_ZSTD), "zstd") == 0 &&
	   strcmp(codec_name(CODEC_GZFAST), "gzfast") == 0,
	   "the names are none, lz4, zstd, gzfast");
	ok(codec_name(CODEC_COUNT) == NULL && codec_name(-1) == NULL,
	   "codec_name of an unknown id is NULL");
	ok(codec_from_name("LZ4") == -EINVAL &&
	   codec_from_name("") == -EINVAL &&
	   codec_from_name("gzip") == -EINVAL &&
	   codec_from_name(NULL) == -EINVAL,
	   "unknown names give -EINVAL");
}

/* Threads share nothing but the code: each keeps its own zstd and ISA-L
 * state, so concurrent round trips must all come back intact. */
struct th_arg {
	int want;
	int fails;
	uint64_t seed;
};

static void *th_round_trips(void *p)
{
	enum { N = 16 * 1024 };
	struct th_arg *a = p;
	uint8_t *src = malloc(N), *packed = malloc(codec_bound(N));
	uint8_t *back = malloc(N);
	size_t len, i, j;
	int codec;

	if (!src || !packed || !back) {
		a->fails = -1;
		goto out;
	}
	for (i = 0; i < 200; i++) {
		for (j = 0; j < N; j++)
			src[j] = (uint8_t)("abcab"[(a->seed + i * j / 7) % 5] +
					   (j % 97 == 0));
		if (codec_compress(a->want, src, N, packed, codec_bound(N),
				   &len, &codec) != 0 || codec != a->want ||
		    codec_decompress(codec, packed, len, back, N) != 0 ||
		    memcmp(src, back, N) != 0)
			a->fails++;
	}
out:
	free(src);
	free(packed);
	free(back);
	return NULL;
}

static void test_threads(void)
{
	enum { NT = 6 };
	struct th_arg arg[NT];
	pthread_t th[NT];
	int i, started = 0, fails = 0;

	for (i = 0; i < NT; i++) {
		arg[i].want = packers[i % NPACKERS];
		arg[i].fails = 0;
		arg[i].seed = (uint64_t)i * 7919;
	}
	for (i = 0; i < NT; i++) {
		if (pthread_create(&th[i], NULL, th_round_trips, &arg[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		fails += arg[i].fails;
	}
	ok(started == NT && fails == 0,
	   "%d threads x 200 round trips over all codecs: %d failed",
	   started, fails);
}

int main(void)
{
	int i;

	rnd_seed(0x9E3779B97F4A7C15ull);
	test_round_trip();
	test_saving_rule();
	test_tiny();
	test_bad_args();
	for (i = 0; i < NPACKERS; i++)
		test_corruption(packers[i]);
	test_names();
	test_threads();
	return tap_done();
}
