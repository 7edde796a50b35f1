/* dset.c - the tenants' segment sets in the index (dset.h). */
#include "dset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "ddtc_types.h"

#define DSET_KEY_MAX	(DDT_MAX_DOMAIN + 1 + FP_LEN)

int dset_fenced(const char *domain)
{
	return strcmp(domain, DDT_DOMAIN_SYSTEM) != 0;
}

static size_t dset_key(uint8_t *key, const char *domain, const fp_t *fp)
{
	size_t n = strnlen(domain, DDT_MAX_DOMAIN);

	memcpy(key, domain, n);
	key[n] = 0;
	memcpy(key + n + 1, fp->b, FP_LEN);
	return n + 1 + FP_LEN;
}

int dset_add(idx *ix, const char *domain, const fp_t *fps, uint32_t n)
{
	uint8_t key[DSET_KEY_MAX];
	idx_batch *b;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = idx_batch_new(&b)) < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		idx_batch_put(b, IDX_DSEG, key, dset_key(key, domain, &fps[i]),
			      "", 0);
	rc = idx_batch_write(ix, b, 0);
	idx_batch_free(b);
	return rc;
}

int dset_has(idx *ix, const char *domain, const fp_t *fp)
{
	uint8_t key[DSET_KEY_MAX];
	size_t vlen;
	void *v = NULL;
	int rc;

	rc = idx_kv_get(ix, IDX_DSEG, key, dset_key(key, domain, fp), &v,
			&vlen);
	free(v);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

/* Only the fingerprints still present are asked, in one MultiGet. */
int dset_filter(idx *ix, const char *domain, const fp_t *fps, uint32_t n,
		uint8_t *present)
{
	uint8_t (*keys)[DSET_KEY_MAX] = malloc((n ? n : 1) * sizeof(*keys));
	const void **kp = malloc((n ? n : 1) * sizeof(*kp));
	size_t *kl = malloc((n ? n : 1) * sizeof(*kl));
	uint32_t *at = malloc((n ? n : 1) * sizeof(*at));
	uint8_t *got = malloc(n ? n : 1);
	size_t m = 0;
	int rc = -ENOMEM;

	if (!keys || !kp || !kl || !at || !got)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		if (!present[i])
			continue;
		kl[m] = dset_key(keys[m], domain, &fps[i]);
		kp[m] = keys[m];
		at[m++] = i;
	}
	rc = idx_kv_has_many(ix, IDX_DSEG, kp, kl, m, got);
	for (size_t j = 0; rc == 0 && j < m; j++)
		present[at[j]] = got[j];
out:
	free(keys);
	free(kp);
	free(kl);
	free(at);
	free(got);
	return rc;
}
