/* nfsd.c - ddt-nfsd's exports as they resolve to storage units, and the
 * file handle's packing (its layout is nfsd.h's). */
#include "nfsd.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ddterr.h"
#include "gw_log.h"
#include "now.h"

#define QUOTA_FRESH_NS	1000000000LL

static uint8_t fh_key[32];

void nfsd_fh_key(const char *secret)
{
	static const char label[] = "ddt-nfsd file handle key 1";
	unsigned n = sizeof(fh_key);

	HMAC(EVP_sha256(), label, (int)strlen(label),
	     (const unsigned char *)secret, strlen(secret), fh_key, &n);
}

static void fh_mac(const uint8_t *h, uint8_t mac[NFSD_FH_MAC])
{
	uint8_t full[32];
	unsigned n = sizeof(full);

	HMAC(EVP_sha256(), fh_key, sizeof(fh_key), h,
	     NFSD_FH_LEN - NFSD_FH_MAC, full, &n);
	memcpy(mac, full, NFSD_FH_MAC);
}

void nfsd_fh_pack(uint8_t out[NFSD_FH_LEN], uint64_t exp, uint64_t ino)
{
	memcpy(out, NFSD_FH_MAGIC, 4);
	for (int i = 0; i < 8; i++) {
		out[4 + i] = (uint8_t)(exp >> (56 - 8 * i));
		out[12 + i] = (uint8_t)(ino >> (56 - 8 * i));
	}
	fh_mac(out, out + NFSD_FH_LEN - NFSD_FH_MAC);
}

int nfsd_fh_unpack(const uint8_t *h, unsigned len, uint64_t *exp,
		   uint64_t *ino)
{
	uint8_t mac[NFSD_FH_MAC];

	if (!h || len != NFSD_FH_LEN || memcmp(h, NFSD_FH_MAGIC, 4) != 0)
		return -1;
	fh_mac(h, mac);
	if (CRYPTO_memcmp(mac, h + NFSD_FH_LEN - NFSD_FH_MAC, NFSD_FH_MAC))
		return -1;
	*exp = *ino = 0;
	for (int i = 0; i < 8; i++) {
		*exp = *exp << 8 | h[4 + i];
		*ino = *ino << 8 | h[12 + i];
	}
	return *exp && *ino ? 0 : -1;
}

int nfsd_export_resolve(nfsd *d, ddtc *c, nfsd_exp *e)
{
	ddtc_su su;
	int rc = ddtc_su_open(c, e->cfg->su, &su);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&d->mu);
	if (e->root && e->root != su.root)
		gw_warn("export %s: storage unit %s was made again; old "
			"handles are stale", e->cfg->name, e->cfg->su);
	e->root = su.root;
	e->quota = su.quota;
	e->logical = su.logical_bytes;
	e->su_read = now_mono_ns();
	pthread_mutex_unlock(&d->mu);
	return 0;
}

int nfsd_export_quota(nfsd *d, ddtc *c, nfsd_exp *e, uint64_t grow)
{
	uint64_t quota, logical;
	int64_t age;
	int rc = 0;

	pthread_mutex_lock(&d->mu);
	age = now_mono_ns() - e->su_read;
	pthread_mutex_unlock(&d->mu);
	if (!e->su_read || age > QUOTA_FRESH_NS)
		rc = nfsd_export_resolve(d, c, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&d->mu);
	quota = e->quota;
	logical = e->logical;
	pthread_mutex_unlock(&d->mu);
	if (quota && (logical > quota || grow > quota - logical))
		return ddterr_set(-EDQUOT, "storage unit %s: quota of %llu "
				  "bytes reached", e->cfg->su,
				  (unsigned long long)quota);
	return 0;
}

static nfsd_exp *by_id(nfsd *d, uint64_t exp)
{
	nfsd_exp *e = NULL;

	pthread_mutex_lock(&d->mu);
	for (unsigned i = 0; i < d->nexps && !e; i++)
		if (d->exps[i].root == exp)
			e = &d->exps[i];
	pthread_mutex_unlock(&d->mu);
	return e;
}

nfsd_exp *nfsd_export_by_id(nfsd *d, ddtc *c, uint64_t exp)
{
	nfsd_exp *e = by_id(d, exp);
	int unresolved = 0;

	if (e)
		return e;
	/* After a gateway restart: a client's handle names an export not
	 * yet resolved. */
	pthread_mutex_lock(&d->mu);
	for (unsigned i = 0; i < d->nexps; i++)
		unresolved |= !d->exps[i].root;
	pthread_mutex_unlock(&d->mu);
	if (!unresolved)
		return NULL;
	for (unsigned i = 0; i < d->nexps; i++)
		if (!d->exps[i].root)
			(void)nfsd_export_resolve(d, c, &d->exps[i]);
	return by_id(d, exp);
}
