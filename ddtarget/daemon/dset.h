/* dset.h - each tenant's segments (PROTOCOL.md, Domains and dedup): the
 * fingerprints a domain other than system has proved it holds, by sending
 * their bytes in SEG_PUT (which the store checks against the fingerprint,
 * stored already or not). Such a domain's FP_QUERY says held only for
 * those, its SEG_GET serves only those, and its COMMIT may name only
 * those: so what another domain stores can neither be probed for nor
 * borrowed by fingerprint, and still deduplicates on the target (the
 * bytes are sent once more, and stored once). Kept in the index (space
 * IDX_DSEG, key: domain, NUL, fingerprint), so checkpoints carry it. */
#ifndef DDTD_DSET_H
#define DDTD_DSET_H

#include <stdint.h>

#include "fp.h"
#include "idx.h"

/* Whether sessions of domain are fenced so (every domain but system,
 * whose users are the provider's own). */
int dset_fenced(const char *domain);

/* Record that domain holds fps[0..n). 0 or -errno with a message. */
int dset_add(idx *ix, const char *domain, const fp_t *fps, uint32_t n);

/* Clear present[i] for each fps[i] domain has not proved it holds. 0 or
 * -errno. */
int dset_filter(idx *ix, const char *domain, const fp_t *fps, uint32_t n,
		uint8_t *present);

/* 1 if domain holds fp, 0 if not, -errno. */
int dset_has(idx *ix, const char *domain, const fp_t *fp);

#endif
