/* fp.h - segment fingerprints: SHA-256 through OpenSSL's EVP interface,
 * which uses the CPU's SHA extensions where present. SHA-256 rather than
 * SHA-1 because a client must not be able to craft a colliding segment and
 * poison another client's data. */
#ifndef FP_H
#define FP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ddtc_types.h"		/* fp_t, FP_LEN: the protocol's */

#define FP_HEX_LEN  64

/* Fingerprint len bytes at data. Thread-safe (a context per thread).
 * Returns 0, -ENOMEM, or -EIO if OpenSSL fails. */
int fp_compute(fp_t *out, const void *data, size_t len);

/* Lower-case hex, NUL-terminated (buf must hold FP_HEX_LEN + 1). */
void fp_to_hex(const fp_t *f, char *buf);

/* Parse exactly 64 hex digits (either case) ending the string. Returns 0,
 * or -EINVAL with *out untouched. */
int fp_from_hex(fp_t *out, const char *hex);

static inline int fp_equal(const fp_t *a, const fp_t *b)
{
	return memcmp(a->b, b->b, FP_LEN) == 0;
}

/* A 64-bit hash of a fingerprint for tables and filters: the digest is
 * already uniformly distributed, so its first eight bytes will do. */
static inline uint64_t fp_hash64(const fp_t *f)
{
	uint64_t h;
	memcpy(&h, f->b, sizeof(h));
	return h;
}

#endif
