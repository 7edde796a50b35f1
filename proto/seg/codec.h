/* codec.h - per-segment compression: LZ4 (default), zstd and ISA-L igzip
 * ("gzfast"). A segment that does not shrink by at least CODEC_MIN_SAVING
 * percent is kept raw: decompressing it would cost more than it saves. The
 * stored form always records which codec produced it. */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"

/* The protocol's codec ids (ddtc_types.h), under this module's names. */
enum codec_id {
	CODEC_NONE   = DDT_CODEC_NONE,	/* stored raw */
	CODEC_LZ4    = DDT_CODEC_LZ4,
	CODEC_ZSTD   = DDT_CODEC_ZSTD,
	CODEC_GZFAST = DDT_CODEC_GZFAST,	/* ISA-L igzip, raw deflate, level 1 */
	CODEC_COUNT  = DDT_CODEC_COUNT
};

#define CODEC_MIN_SAVING 25	/* percent */

/* Size of a dst buffer large enough for codec_compress() of n bytes with any
 * codec (it is always >= n). */
size_t codec_bound(size_t n);

/* Compress src[0..n) with codec want into dst (cap >= codec_bound(n)).
 * On success *out_codec is want, or CODEC_NONE when the result did not save
 * CODEC_MIN_SAVING percent, in which case dst holds a copy of src and
 * *out_len == n. Thread-safe (per-thread codec contexts). Returns 0, -EINVAL
 * for an unknown codec or small cap, -ENOMEM, or -EIO if a codec library
 * fails in a way that is not "did not fit". */
int codec_compress(int want, const void *src, size_t n, void *dst, size_t cap,
		   size_t *out_len, int *out_codec);

/* codec_compress at a level of the codec's (0: its default; only zstd
 * has levels, 1..19 and the negative fast ones) keeping the result only if
 * it saves min_saving percent (0..99): the containers' compression regions
 * are worth keeping for a few percent, a segment alone is not. */
int codec_compress_level(int want, int level, int min_saving, const void *src,
			 size_t n, void *dst, size_t cap, size_t *out_len,
			 int *out_codec);

/* Decompress src[0..n), stored with codec, into dst, which must come out at
 * exactly raw_len bytes. Returns 0, -EINVAL for an unknown codec, -ENOMEM,
 * or -EBADMSG when the input is corrupt or decodes to another length. Never
 * reads or writes outside the two buffers whatever the input holds. No
 * codec here carries a checksum, so damaged input can still decode to wrong
 * bytes of the right length: callers verify the fingerprint. */
int codec_decompress(int codec, const void *src, size_t n, void *dst,
		     size_t raw_len);

/* "none", "lz4", "zstd", "gzfast"; NULL for an unknown id. */
const char *codec_name(int codec);

/* The id for a name above, or -EINVAL. */
int codec_from_name(const char *name);

#endif
