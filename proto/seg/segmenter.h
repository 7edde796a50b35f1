/* segmenter.h - a file descriptor in, segments out (cut by cdc.h), and
 * the fingerprint-and-compress step (fp.h, codec.h) in one call: for a
 * writer that reads a descriptor (ddtstore's ingest) or stores every
 * segment it makes (the benchmarks, the tests).
 *
 * The client library's file writer (proto/client/file.c) makes the same
 * three steps apart, with the same cdc.h, fp.h and codec.h: its bytes come
 * from ddtc_file_write(), not a descriptor, and it fingerprints on one
 * stage, asks the target, and compresses only what the target lacks on
 * another; segmenter_encode() would compress segments that are then not
 * sent, which an unchanged re-backup would pay for in full. */
#ifndef SEGMENTER_H
#define SEGMENTER_H

#include <stddef.h>
#include <stdint.h>

#include "cdc.h"
#include "fp.h"

/* Fingerprint raw[0..n) and compress it with codec want into dst (cap >=
 * codec_bound(n)). *out_codec is want, or CODEC_NONE if it did not shrink
 * enough. Returns 0, -EINVAL, -ENOMEM, -EIO. Thread-safe. */
int segmenter_encode(int want, const void *raw, size_t n, fp_t *out_fp,
		     void *dst, size_t cap, uint32_t *out_stored_len,
		     int *out_codec);

/* Cuts the bytes read from a file descriptor into segments. */
typedef struct segmenter segmenter;

/* Read fd (not closed here) through chunker c (copied; set up by
 * cdc_init()). 0, -EINVAL for a chunker cdc_init() did not set up, or
 * -ENOMEM. */
int segmenter_new(segmenter **out, const cdc *c, int fd);
void segmenter_free(segmenter *r);

/* The next segment: *out points at its raw bytes, valid until the next
 * call, *out_n is its length. Returns 1 for a segment, 0 at end of file,
 * or -errno for a read error (with a ddterr message). */
int segmenter_next(segmenter *r, const uint8_t **out, size_t *out_n);

#endif
