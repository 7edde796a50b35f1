/* codec.c - per-segment compression with LZ4, zstd and ISA-L igzip, and the
 * rule that keeps a segment raw when compressing it does not pay (see
 * codec.h). Decompression treats its input as hostile: it comes off disks
 * and off the network. */
#include "codec.h"

#include "ddterr.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <lz4.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Level 1, not zstd's default 3: on the shared data set it compresses a
 * third faster (278 against 206 MB/s a core) for 2% less (ratio 1.90
 * against 1.94); decompression is the same. Still a quarter smaller than
 * LZ4 (1.50). */
#define CODEC_ZSTD_LEVEL 1

/* ISA-L writes its output 8 bytes at a time and will not start on less. */
#define GZ_MIN_OUT 8
/* A raw deflate stored block: 5 header bytes per 65535 bytes of data. */
#define GZ_STORED_HDR 5
#define GZ_STORED_MAX 65535

static const char *const codec_names[CODEC_COUNT] = {
	[CODEC_NONE] = "none",
	[CODEC_LZ4] = "lz4",
	[CODEC_ZSTD] = "zstd",
	[CODEC_GZFAST] = "gzfast",
};

/*
 * Per-thread codec state, each part allocated on first use so a thread that
 * only ever uses LZ4 pays nothing. The ISA-L structures are large (about
 * 80 KiB each, plus 276 KiB of level-1 hash tables), too large for a worker
 * thread's stack and too costly to allocate per segment. A pthread key's
 * destructor frees them when the thread exits.
 */
struct codec_tls {
	int registered;			/* the key holds this thread's state */
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	struct isal_zstream *gz;
	uint8_t *gz_level_buf;		/* ISAL_DEF_LVL1_DEFAULT bytes */
	struct inflate_state *gunz;
};

static _Thread_local struct codec_tls tls;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int tls_key_ok;

static void tls_free(void *p)
{
	struct codec_tls *t = p;

	ZSTD_freeCCtx(t->zc);
	ZSTD_freeDCtx(t->zd);
	free(t->gz);
	free(t->gz_level_buf);
	free(t->gunz);
	memset(t, 0, sizeof(*t));
}

static void tls_setup(void)
{
	tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

/* This thread's state, registered for freeing at thread exit; NULL if that
 * cannot be arranged, as anything allocated then would leak. */
static struct codec_tls *tls_get(void)
{
	if (tls.registered)
		return &tls;
	pthread_once(&tls_once, tls_setup);
	if (!tls_key_ok || pthread_setspecific(tls_key, &tls) != 0)
		return NULL;
	tls.registered = 1;
	return &tls;
}

size_t codec_bound(size_t n)
{
	size_t b = n, z;

	if (n <= LZ4_MAX_INPUT_SIZE && (size_t)LZ4_compressBound((int)n) > b)
		b = (size_t)LZ4_compressBound((int)n);
	z = ZSTD_compressBound(n);
	if (!ZSTD_isError(z) && z > b)
		b = z;
	if (n <= UINT32_MAX) {
		z = n + GZ_STORED_HDR * (n / GZ_STORED_MAX + 1) + GZ_MIN_OUT;
		if (z > b)
			b = z;
	}
	return b;
}

/* The largest stored form that still saves min_saving percent,
 * computed without overflowing for any n. */
static size_t max_saving_len(size_t n, int min_saving)
{
	const size_t keep = (size_t)(100 - min_saving);

	return n / 100 * keep + n % 100 * keep / 100;
}

/*
 * Each compressor below is given only limit bytes of output, the most that
 * would be kept, so the 25% rule is the libraries' own "output too small"
 * and no compressor writes bytes that would be thrown away. (Measured: no
 * slower than compressing into the full bound and comparing after.) Each
 * returns the compressed length, 0 when it did not fit in limit, or a
 * negative errno.
 */
static long long lz4_pack(const void *src, size_t n, void *dst, size_t limit)
{
	int r;

	if (n > LZ4_MAX_INPUT_SIZE)
		return 0;
	if (limit > INT_MAX)
		limit = INT_MAX;
	r = LZ4_compress_default(src, dst, (int)n, (int)limit);
	return r > 0 ? r : 0;
}

static long long zstd_pack(const void *src, size_t n, void *dst, size_t limit,
			   int level)
{
	struct codec_tls *t = tls_get();
	size_t r;

	if (!t)
		return -ENOMEM;
	if (!t->zc) {
		t->zc = ZSTD_createCCtx();
		if (!t->zc)
			return -ENOMEM;
	}
	r = ZSTD_compressCCtx(t->zc, dst, limit, src, n,
			      level ? level : CODEC_ZSTD_LEVEL);
	if (!ZSTD_isError(r))
		return (long long)r;
	switch (ZSTD_getErrorCode(r)) {
	case ZSTD_error_dstSize_tooSmall:
		return 0;
	case ZSTD_error_memory_allocation:
		return -ENOMEM;
	default:
		return ddterr_set(-EIO, "zstd: compressing %zu bytes failed: "
				  "%s", n, ZSTD_getErrorName(r));
	}
}

static long long gz_pack(const void *src, size_t n, void *dst, size_t limit)
{
	struct codec_tls *t = tls_get();
	struct isal_zstream *s;
	int r;

	if (n > UINT32_MAX)
		return 0;
	if (!t)
		return -ENOMEM;
	if (!t->gz) {
		t->gz = malloc(sizeof(*t->gz));
		if (!t->gz)
			return -ENOMEM;
	}
	if (!t->gz_level_buf) {
		t->gz_level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		if (!t->gz_level_buf)
			return -ENOMEM;
	}
	s = t->gz;
	isal_deflate_stateless_init(s);
	s->next_in = (uint8_t *)src;
	s->avail_in = (uint32_t)n;
	s->next_out = dst;
	s->avail_out = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	s->level = 1;
	s->level_buf = t->gz_level_buf;
	s->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	s->end_of_stream = 1;
	s->flush = NO_FLUSH;
	s->gzip_flag = IGZIP_DEFLATE;
	/* isal_deflate_stateless_init() leaves this one alone; 0 is the
	 * full 32 KiB window. */
	s->hist_bits = 0;
	r = isal_deflate_stateless(s);
	if (r == COMP_OK)
		return s->total_out;
	if (r == STATELESS_OVERFLOW)
		return 0;
	return ddterr_set(-EIO, "igzip: compressing %zu bytes failed (ISA-L "
			  "error %d)", n, r);
}

int codec_compress(int want, const void *src, size_t n, void *dst, size_t cap,
		   size_t *out_len, int *out_codec)
{
	return codec_compress_level(want, 0, CODEC_MIN_SAVING, src, n, dst, cap,
				    out_len, out_codec);
}

int codec_compress_level(int want, int level, int min_saving, const void *src,
			 size_t n, void *dst, size_t cap, size_t *out_len,
			 int *out_codec)
{
	size_t limit;
	long long got = 0;

	if (want < 0 || want >= CODEC_COUNT)
		return ddterr_set(-EINVAL, "codec: unknown codec id %d", want);
	if (min_saving < 0 || min_saving > 99)
		return ddterr_set(-EINVAL, "codec: a saving of %d%% cannot be "
				  "asked for", min_saving);
	limit = max_saving_len(n, min_saving);
	if (cap < codec_bound(n))
		return ddterr_set(-EINVAL, "codec: output buffer of %zu bytes "
				  "is under codec_bound(%zu) = %zu", cap, n,
				  codec_bound(n));
	/* Nothing compresses into 0 bytes; spare the libraries the attempt. */
	if (limit > 0) {
		switch (want) {
		case CODEC_LZ4:
			got = lz4_pack(src, n, dst, limit);
			break;
		case CODEC_ZSTD:
			got = zstd_pack(src, n, dst, limit, level);
			break;
		case CODEC_GZFAST:
			got = gz_pack(src, n, dst, limit);
			break;
		}
	}
	if (got < 0)
		return (int)got;
	if (got == 0 || (size_t)got > limit) {
		if (n > 0)
			memcpy(dst, src, n);
		*out_len = n;
		*out_codec = CODEC_NONE;
		return 0;
	}
	*out_len = (size_t)got;
	*out_codec = want;
	return 0;
}

static int corrupt(int codec, size_t n, size_t raw_len, const char *why)
{
	return ddterr_set(-EBADMSG, "%s segment of %zu stored bytes does not "
			  "decode to %zu bytes (%s): the stored data is "
			  "damaged", codec_names[codec], n, raw_len, why);
}

static int lz4_unpack(const void *src, size_t n, void *dst, size_t raw_len)
{
	int r;

	if (n > INT_MAX || raw_len > INT_MAX)
		return corrupt(CODEC_LZ4, n, raw_len, "too long for LZ4");
	/* The _safe decoder checks every offset and length against both
	 * buffers, and fails rather than write past dst + raw_len. */
	r = LZ4_decompress_safe(src, dst, (int)n, (int)raw_len);
	if (r < 0)
		return corrupt(CODEC_LZ4, n, raw_len, "invalid LZ4 block");
	if ((size_t)r != raw_len)
		return corrupt(CODEC_LZ4, n, raw_len, "short output");
	return 0;
}

static int zstd_unpack(const void *src, size_t n, void *dst, size_t raw_len)
{
	struct codec_tls *t = tls_get();
	size_t r;

	if (!t)
		return -ENOMEM;
	if (!t->zd) {
		t->zd = ZSTD_createDCtx();
		if (!t->zd)
			return -ENOMEM;
	}
	r = ZSTD_decompressDCtx(t->zd, dst, raw_len, src, n);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
			return -ENOMEM;
		return corrupt(CODEC_ZSTD, n, raw_len, ZSTD_getErrorName(r));
	}
	if (r != raw_len)
		return corrupt(CODEC_ZSTD, n, raw_len, "short output");
	return 0;
}

static int gz_unpack(const void *src, size_t n, void *dst, size_t raw_len)
{
	struct codec_tls *t = tls_get();
	struct inflate_state *s;
	int r;

	if (n > UINT32_MAX || raw_len > UINT32_MAX)
		return corrupt(CODEC_GZFAST, n, raw_len, "too long for igzip");
	if (!t)
		return -ENOMEM;
	if (!t->gunz) {
		t->gunz = malloc(sizeof(*t->gunz));
		if (!t->gunz)
			return -ENOMEM;
	}
	s = t->gunz;
	isal_inflate_init(s);
	s->next_in = (uint8_t *)src;
	s->avail_in = (uint32_t)n;
	s->next_out = dst;
	s->avail_out = (uint32_t)raw_len;
	s->crc_flag = ISAL_DEFLATE;
	s->hist_bits = 0;
	r = isal_inflate_stateless(s);
	if (r != ISAL_DECOMP_OK)
		return corrupt(CODEC_GZFAST, n, raw_len,
			       r == ISAL_END_INPUT ? "truncated" :
			       r == ISAL_OUT_OVERFLOW ? "longer output" :
			       "invalid deflate stream");
	if (s->block_state != ISAL_BLOCK_FINISH || s->total_out != raw_len)
		return corrupt(CODEC_GZFAST, n, raw_len, "short output");
	/* LZ4 and zstd reject bytes after the end of their stream, and deflate
	 * would ignore them: reject them too, as a sign of damage. ISA-L hands
	 * back what it read ahead, in avail_in or as whole bytes of read_in. */
	if (s->avail_in > 0 || s->read_in_length >= 8)
		return corrupt(CODEC_GZFAST, n, raw_len,
			       "bytes after the end of the stream");
	return 0;
}

int codec_decompress(int codec, const void *src, size_t n, void *dst,
		     size_t raw_len)
{
	switch (codec) {
	case CODEC_NONE:
		if (n != raw_len)
			return corrupt(CODEC_NONE, n, raw_len,
				       "length differs");
		if (n > 0)
			memcpy(dst, src, n);
		return 0;
	case CODEC_LZ4:
		return lz4_unpack(src, n, dst, raw_len);
	case CODEC_ZSTD:
		return zstd_unpack(src, n, dst, raw_len);
	case CODEC_GZFAST:
		return gz_unpack(src, n, dst, raw_len);
	default:
		return ddterr_set(-EINVAL, "codec: unknown codec id %d in a "
				  "stored segment", codec);
	}
}

const char *codec_name(int codec)
{
	if (codec < 0 || codec >= CODEC_COUNT)
		return NULL;
	return codec_names[codec];
}

int codec_from_name(const char *name)
{
	int i;

	if (name)
		for (i = 0; i < CODEC_COUNT; i++)
			if (strcmp(name, codec_names[i]) == 0)
				return i;
	return ddterr_set(-EINVAL, "unknown codec \"%s\": use none, lz4, zstd "
			  "or gzfast", name ? name : "(null)");
}
