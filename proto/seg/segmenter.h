/* segmenter.h - a byte stream in, segments out: cut (cdc.h), fingerprint
 * (fp.h) and compress (codec.h), the three steps every writer makes in the
 * same way. The client library, the daemon's gateways and the tools all
 * segment through here. */
#ifndef SEGMENTER_H
#define SEGMENTER_H

#include <stddef.h>
#include <stdint.h>

#include "cdc.h"
#include "fp.h"

/* Fingerprint raw[0..n) and compress it with codec want into dst (cap >=
 * codec_bound(n)). *out_codec is want, or CODEC_NONE if it did not shrink
 * enough. Returns 0, -EINVAL, -ENOMEM, -EIO. Thread-safe. */
int seg_encode(int want, const void *raw, size_t n, fp_t *out_fp, void *dst,
	       size_t cap, uint32_t *out_stored_len, int *out_codec);

/* Cuts the bytes read from a file descriptor into segments. */
typedef struct seg_reader seg_reader;

/* Read fd (not closed here) through chunker c (copied; set up by
 * cdc_init()). 0, -EINVAL for a chunker cdc_init() did not set up, or
 * -ENOMEM. */
int segr_new(seg_reader **out, const cdc *c, int fd);
void segr_free(seg_reader *r);

/* The next segment: *out points at its raw bytes, valid until the next
 * call, *out_n is its length. Returns 1 for a segment, 0 at end of file,
 * or -errno for a read error (with a ddterr message). */
int segr_next(seg_reader *r, const uint8_t **out, size_t *out_n);

#endif
