/* ec.h - Reed-Solomon erasure coding with ISA-L.
 *
 * A container is cut into k equal data fragments and m parity fragments are
 * computed from them; any k of the k+m recover the rest. The generator is a
 * Cauchy matrix (gf_gen_cauchy1_matrix), whose every k x k submatrix is
 * invertible, so every pattern of up to m losses is recoverable (the
 * Vandermonde form ISA-L also offers is not guaranteed to be). k=1, m=0 is
 * a plain single copy. */
#ifndef EC_H
#define EC_H

#include <stddef.h>
#include <stdint.h>

#define EC_MAX_FRAGS 16		/* k + m */

typedef struct ec ec;

/* 1 <= k, 0 <= m, k + m <= EC_MAX_FRAGS. Returns 0, -EINVAL or -ENOMEM. */
int ec_new(ec **out, int k, int m);
void ec_free(ec *e);
int ec_k(const ec *e);
int ec_m(const ec *e);

/* Compute the m parity fragments from the k data fragments, each frag_len
 * bytes. Returns 0 or -EINVAL. */
int ec_encode(const ec *e, size_t frag_len, uint8_t *const *data,
	      uint8_t *const *parity);

/* frags[0..k+m) are buffers of frag_len bytes (data first, then parity);
 * present[i] says whether frags[i] holds good bytes. Every fragment that is
 * not present is rebuilt in place. Returns 0, or -EIO when fewer than k are
 * present (with a ddterr message), -EINVAL, -ENOMEM. Thread-safe. */
int ec_reconstruct(const ec *e, size_t frag_len, uint8_t *const *frags,
		   const uint8_t *present);

#endif
