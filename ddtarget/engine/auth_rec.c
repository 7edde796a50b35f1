/* auth_rec.c - a user's record and its password hash (auth_rec.h): the
 * three versions' layouts, each field checked as it is read (a record
 * out of range is damage, not a reason to spend a minute hashing), and
 * PBKDF2 or scrypt through OpenSSL. */
#include "auth_rec.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "ddterr.h"

#define V1		1
#define V2		2
#define V3		3
#define V1_LEN		(6 + AUTH_SALT_LEN + AUTH_HASH_LEN)
#define V3_HEAD		15
#define MAX_ITER	10000000u	/* PBKDF2: beyond it, damage */
#define MAX_SCRYPT_N	(1u << 20)	/* scrypt: 128 MiB with r 8 */
#define MAX_SCRYPT_R	32u
#define MAX_SCRYPT_P	16u

void auth_rec_fresh(auth_rec *r)
{
	r->kdf = AUTH_KDF_SCRYPT;
	r->a = AUTH_SCRYPT_N;
	r->b = AUTH_SCRYPT_R;
	r->c = AUTH_SCRYPT_P;
}

size_t auth_rec_encode(const auth_rec *r, uint8_t *p)
{
	size_t dlen = strlen(r->domain);
	size_t at = V3_HEAD;

	p[0] = V3;
	p[1] = (uint8_t)r->role;
	p[2] = (uint8_t)r->kdf;
	put_le32(p + 3, r->a);
	put_le32(p + 7, r->b);
	put_le32(p + 11, r->c);
	memcpy(p + at, r->salt, AUTH_SALT_LEN);
	at += AUTH_SALT_LEN;
	memcpy(p + at, r->hash, AUTH_HASH_LEN);
	at += AUTH_HASH_LEN;
	p[at++] = (uint8_t)dlen;
	memcpy(p + at, r->domain, dlen);
	return at + dlen;
}

static int params_ok(const auth_rec *r)
{
	if (r->kdf == AUTH_KDF_PBKDF2)
		return r->a > 0 && r->a <= MAX_ITER;
	return r->kdf == AUTH_KDF_SCRYPT && r->a >= 2 &&
	       r->a <= MAX_SCRYPT_N && (r->a & (r->a - 1)) == 0 &&
	       r->b >= 1 && r->b <= MAX_SCRYPT_R && r->c >= 1 &&
	       r->c <= MAX_SCRYPT_P;
}

/* The domain at p[at] (length, bytes) ending the record: 0 or -1. */
static int decode_domain(const uint8_t *p, size_t len, size_t at,
			 auth_rec *r)
{
	size_t dlen;

	if (len < at + 1)
		return -1;
	dlen = p[at];
	if (dlen > DDT_MAX_DOMAIN || len != at + 1 + dlen)
		return -1;
	memcpy(r->domain, p + at + 1, dlen);
	r->domain[dlen] = '\0';
	return ddt_domain_ok(r->domain) ? 0 : -1;
}

/* Versions 1 and 2: PBKDF2, the head of version 1. */
static int decode_v12(const uint8_t *p, size_t len, auth_rec *r)
{
	if (len < V1_LEN)
		return -1;
	r->kdf = AUTH_KDF_PBKDF2;
	r->a = get_le32(p + 2);
	r->b = r->c = 0;
	memcpy(r->salt, p + 6, AUTH_SALT_LEN);
	memcpy(r->hash, p + 6 + AUTH_SALT_LEN, AUTH_HASH_LEN);
	if (p[0] == V2)
		return decode_domain(p, len, V1_LEN, r);
	strcpy(r->domain, DDT_DOMAIN_SYSTEM);
	return len == V1_LEN ? 0 : -1;
}

static int decode_v3(const uint8_t *p, size_t len, auth_rec *r)
{
	size_t at = V3_HEAD;

	if (len < V3_HEAD + AUTH_SALT_LEN + AUTH_HASH_LEN)
		return -1;
	r->kdf = p[2];
	r->a = get_le32(p + 3);
	r->b = get_le32(p + 7);
	r->c = get_le32(p + 11);
	memcpy(r->salt, p + at, AUTH_SALT_LEN);
	at += AUTH_SALT_LEN;
	memcpy(r->hash, p + at, AUTH_HASH_LEN);
	at += AUTH_HASH_LEN;
	return decode_domain(p, len, at, r);
}

int auth_rec_decode(const char *user, const uint8_t *p, size_t len,
		    auth_rec *r)
{
	int bad = len < 2 || !ddt_role_name(p[1]);

	if (!bad)
		bad = p[0] == V3 ? decode_v3(p, len, r) :
		      p[0] == V1 || p[0] == V2 ? decode_v12(p, len, r) : -1;
	if (bad || !params_ok(r))
		return ddterr_set(-EBADMSG, "auth: the record of user \"%s\" "
				  "is damaged; set the password again", user);
	r->role = p[1];
	return 0;
}

int auth_rec_hash(const auth_rec *r, const char *password, uint8_t *out)
{
	size_t plen = strlen(password);
	uint64_t mem;

	if (r->kdf == AUTH_KDF_PBKDF2) {
		if (PKCS5_PBKDF2_HMAC(password, (int)plen, r->salt,
				      AUTH_SALT_LEN, (int)r->a, EVP_sha256(),
				      AUTH_HASH_LEN, out) != 1)
			return ddterr_set(-EIO, "auth: PBKDF2 failed in "
					  "OpenSSL");
		return 0;
	}
	/* What scrypt needs (128 N r p bytes) and a margin: OpenSSL's own
	 * default cap (32 MiB) would refuse a record's larger N. */
	mem = 128ull * r->a * r->b * r->c + (1u << 20);
	if (EVP_PBE_scrypt(password, plen, r->salt, AUTH_SALT_LEN, r->a, r->b,
			   r->c, mem, out, AUTH_HASH_LEN) != 1)
		return ddterr_set(-EIO, "auth: scrypt failed in OpenSSL (out "
				  "of memory?)");
	return 0;
}
