/* cdc.h - content-defined chunking (FastCDC: Gear rolling hash with
 * normalized chunking).
 *
 * Cut points depend only on the bytes in a 64-byte window before them, so an
 * insertion early in a stream changes the segments around it and nothing
 * downstream. Every writer (client library, daemon, gateways) cuts with this
 * one implementation, or deduplication across front ends would not happen.
 * PROTOCOL.md section 6 ("Cutting a file into data segments") defines it
 * for other clients; tests/vectors/cdc.txt pins its cuts. */
#ifndef CDC_H
#define CDC_H

#include <stddef.h>
#include <stdint.h>

#define CDC_MIN_DEFAULT  (2u * 1024)
#define CDC_AVG_DEFAULT  (8u * 1024)
#define CDC_MAX_DEFAULT  (64u * 1024)
#define CDC_MAX_LIMIT    (1024u * 1024)	/* largest segment any writer may make */

typedef struct cdc {
	uint32_t min, avg, max;
	uint64_t mask_s;	/* harder to match: used below avg */
	uint64_t mask_l;	/* easier to match: used above avg */
} cdc;

/* Set up a chunker. avg must be a power of two; 64 <= min < avg < max <=
 * CDC_MAX_LIMIT. Returns 0 or -EINVAL (with a ddterr message). */
int cdc_init(cdc *c, uint32_t min, uint32_t avg, uint32_t max);

/* Length of the first segment of p[0..n). The result is content-defined only
 * when n >= c->max or the stream ends at p + n: a caller that has fewer than
 * max bytes buffered and more to come must refill before asking. Returns n
 * when n <= min, and never more than max. */
size_t cdc_cut(const cdc *c, const uint8_t *p, size_t n);

#endif
