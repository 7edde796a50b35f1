/* ec.c - Reed-Solomon encode and rebuild over ISA-L.
 *
 * An ec holds only what never changes for a (k, m): the generator matrix and
 * the expanded encode tables. A rebuild builds its decode tables on the call's
 * own memory, so one ec may be shared by any number of worker threads. */
#include "ec.h"

#include "ddterr.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/erasure_code.h>

/* ISA-L expands each matrix coefficient into a 32-byte multiply table. */
#define GFTBL_BYTES 32

struct ec {
	int k, m;
	uint8_t *matrix;	/* (k+m) x k, rows 0..k-1 are the identity */
	uint8_t *tbls;		/* GFTBL_BYTES * k * m, for the parity rows */
};

int ec_new(ec **out, int k, int m)
{
	ec *e;

	if (k < 1 || m < 0 || k + m > EC_MAX_FRAGS)
		return ddterr_set(-EINVAL, "erasure code k=%d m=%d: need k >= 1, "
				  "m >= 0, k + m <= %d", k, m, EC_MAX_FRAGS);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->k = k;
	e->m = m;
	e->matrix = malloc((size_t)(k + m) * k);
	/* +1: malloc(0) may return NULL, and m == 0 is legal. */
	e->tbls = malloc((size_t)GFTBL_BYTES * k * m + 1);
	if (!e->matrix || !e->tbls) {
		ec_free(e);
		return -ENOMEM;
	}
	gf_gen_cauchy1_matrix(e->matrix, k + m, k);
	if (m > 0)
		ec_init_tables(k, m, &e->matrix[k * k], e->tbls);
	*out = e;
	return 0;
}

void ec_free(ec *e)
{
	if (!e)
		return;
	free(e->matrix);
	free(e->tbls);
	free(e);
}

int ec_k(const ec *e)
{
	return e->k;
}

int ec_m(const ec *e)
{
	return e->m;
}

int ec_encode(const ec *e, size_t frag_len, uint8_t *const *data,
	      uint8_t *const *parity)
{
	uint8_t *src[EC_MAX_FRAGS], *dst[EC_MAX_FRAGS];
	int i;

	if (!e || frag_len == 0 || frag_len > INT_MAX || !data ||
	    (e->m > 0 && !parity))
		return -EINVAL;
	if (e->m == 0)
		return 0;
	/* ISA-L wants mutable pointer arrays; copying them is cheaper than
	 * casting away the caller's const promise. */
	for (i = 0; i < e->k; i++)
		src[i] = data[i];
	for (i = 0; i < e->m; i++)
		dst[i] = parity[i];
	ec_encode_data((int)frag_len, e->k, e->m, e->tbls, src, dst);
	return 0;
}

int ec_reconstruct(const ec *e, size_t frag_len, uint8_t *const *frags,
		   const uint8_t *present)
{
	uint8_t *src[EC_MAX_FRAGS], *dst[EC_MAX_FRAGS];
	int chosen[EC_MAX_FRAGS], missing[EC_MAX_FRAGS];
	uint8_t *mem, *sub, *inv, *rows, *tbls;
	int k, n, nchosen = 0, nmissing = 0, npresent = 0;
	int i, j, c, rc = 0;

	if (!e || frag_len == 0 || frag_len > INT_MAX || !frags || !present)
		return -EINVAL;
	k = e->k;
	n = e->k + e->m;
	for (i = 0; i < n; i++) {
		if (present[i]) {
			npresent++;
			if (nchosen < k)
				chosen[nchosen++] = i;
		} else {
			missing[nmissing++] = i;
		}
	}
	if (nmissing == 0)
		return 0;
	if (npresent < k)
		return ddterr_set(-EIO, "erasure code %d+%d: only %d of %d "
				  "fragments survive, %d needed",
				  k, e->m, npresent, n, k);

	/* One block for the k x k submatrix, its inverse, the decode rows
	 * and their tables: at most ~9 KiB, so a malloc per rebuild is noise
	 * next to the megabytes it decodes. */
	mem = malloc((size_t)2 * k * k + (size_t)nmissing * k +
		     (size_t)GFTBL_BYTES * k * nmissing);
	if (!mem)
		return -ENOMEM;
	sub = mem;
	inv = sub + k * k;
	rows = inv + k * k;
	tbls = rows + nmissing * k;

	/* The chosen survivors are chosen = matrix[chosen] * data, so
	 * data = inv(matrix[chosen]) * chosen. */
	for (i = 0; i < k; i++)
		memcpy(&sub[i * k], &e->matrix[chosen[i] * k], k);
	if (gf_invert_matrix(sub, inv, k) != 0) {
		/* Cannot happen with a Cauchy generator; if it does the
		 * matrix in memory is damaged, and guessing would corrupt. */
		rc = ddterr_set(-EIO, "erasure code %d+%d: decode matrix is "
				"singular", k, e->m);
		goto out;
	}
	/* A lost data fragment is a row of the inverse; a lost parity
	 * fragment is its encode row applied to the recovered data, i.e. the
	 * encode row times the inverse. */
	for (j = 0; j < nmissing; j++) {
		int idx = missing[j];
		uint8_t *r = &rows[j * k];

		if (idx < k) {
			memcpy(r, &inv[idx * k], k);
			continue;
		}
		for (i = 0; i < k; i++) {
			uint8_t acc = 0;

			for (c = 0; c < k; c++)
				acc ^= gf_mul(e->matrix[idx * k + c],
					      inv[c * k + i]);
			r[i] = acc;
		}
	}
	ec_init_tables(k, nmissing, rows, tbls);
	for (i = 0; i < k; i++)
		src[i] = frags[chosen[i]];
	for (j = 0; j < nmissing; j++)
		dst[j] = frags[missing[j]];
	ec_encode_data((int)frag_len, k, nmissing, tbls, src, dst);
out:
	free(mem);
	return rc;
}
