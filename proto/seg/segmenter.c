/* segmenter.c - a file descriptor in, content-defined segments out, and the
 * fingerprint-and-compress step that turns a raw segment into its stored
 * form (see segmenter.h). */
#include "segmenter.h"

#include "codec.h"
#include "ddterr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The buffer must hold at least 2 * max so that a refill, which starts with
 * fewer than max bytes left, always has room to bring it up to max. It is
 * made larger than that when max is small: each refill first moves the
 * unconsumed tail (under max bytes) down to the start, and a bigger buffer
 * makes those moves, and the read(2) calls, rarer per byte.
 */
#define SEGMENTER_BUF_MIN (1024u * 1024)

struct segmenter {
	cdc c;
	int fd;
	int eof;
	uint8_t *buf;
	size_t cap;
	size_t start;	/* first byte not yet handed out */
	size_t end;	/* one past the last byte read */
};

int segmenter_encode(int want, const void *raw, size_t n, fp_t *out_fp,
		     void *dst, size_t cap, uint32_t *out_stored_len,
		     int *out_codec)
{
	size_t stored;
	int codec, rc;
	fp_t f;

	/* The stored length is 32 bits on disk and on the wire. */
	if (n > UINT32_MAX)
		return ddterr_set(-EINVAL, "segment of %zu bytes is larger "
				  "than any stored form allows", n);
	rc = fp_compute(&f, raw, n);
	if (rc < 0)
		return rc;
	rc = codec_compress(want, raw, n, dst, cap, &stored, &codec);
	if (rc < 0)
		return rc;
	*out_fp = f;
	*out_stored_len = (uint32_t)stored;
	*out_codec = codec;
	return 0;
}

int segmenter_new(segmenter **out, const cdc *c, int fd)
{
	segmenter *r;

	/* A chunker that cdc_init() never accepted would cut nonsense. */
	if (c->min == 0 || c->min >= c->max || c->max > CDC_MAX_LIMIT)
		return ddterr_set(-EINVAL, "segment reader: chunker sizes min "
				  "%u max %u were not set up by cdc_init()",
				  c->min, c->max);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->c = *c;
	r->fd = fd;
	r->cap = 2 * (size_t)c->max;
	if (r->cap < SEGMENTER_BUF_MIN)
		r->cap = SEGMENTER_BUF_MIN;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void segmenter_free(segmenter *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

/* Read until at least max bytes are buffered or the input ends: cdc_cut()
 * is content-defined only then (see cdc.h). 0 or -errno. */
static int segmenter_fill(segmenter *r)
{
	ssize_t got;
	int err;

	while (!r->eof && r->end - r->start < r->c.max) {
		if (r->cap - r->end < r->c.max) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		got = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (got < 0) {
			err = errno;
			if (err == EINTR)
				continue;
			return ddterr_set(-err, "reading the input to segment: "
					  "%s", strerror(err));
		}
		if (got == 0)
			r->eof = 1;
		r->end += (size_t)got;
	}
	return 0;
}

int segmenter_next(segmenter *r, const uint8_t **out, size_t *out_n)
{
	size_t avail, n;
	int rc;

	rc = segmenter_fill(r);
	if (rc < 0)
		return rc;
	avail = r->end - r->start;
	if (avail == 0)
		return 0;
	n = cdc_cut(&r->c, r->buf + r->start, avail);
	*out = r->buf + r->start;
	*out_n = n;
	r->start += n;
	return 1;
}
