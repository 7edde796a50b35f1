/* auth_token.c - API tokens in the index (auth_token.h). A record: u8
 * version, str user, str label, i64 created, i64 expires, the secret's
 * SHA-256. */
#include "auth_token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bytes.h"
#include "ddterr.h"

#define TOKEN_VERSION	1
#define SECRET_LEN	32
#define REC_MAX		(1 + 2 * (1 + 64) + 16 + SECRET_LEN)

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int auth_token_shaped(const char *pw)
{
	size_t p = sizeof(AUTH_TOKEN_PREFIX) - 1;

	return strlen(pw) == AUTH_TOKEN_LEN &&
	       !strncmp(pw, AUTH_TOKEN_PREFIX, p) &&
	       is_hex(pw + p, AUTH_TOKEN_ID_LEN) &&
	       pw[p + AUTH_TOKEN_ID_LEN] == '_' &&
	       is_hex(pw + p + AUTH_TOKEN_ID_LEN + 1, 2 * SECRET_LEN);
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hash_secret(const char *hex, uint8_t *out)
{
	unsigned int len = 0;

	if (EVP_Digest(hex, 2 * SECRET_LEN, out, &len, EVP_sha256(), NULL)
	    != 1 || len != SECRET_LEN)
		return ddterr_set(-EIO, "token: SHA-256 failed in OpenSSL");
	return 0;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return 1 + n;
}

static size_t encode(const auth_token *t, const uint8_t *hash, uint8_t *p)
{
	size_t o = 0;

	p[o++] = TOKEN_VERSION;
	o += put_str(p + o, t->user);
	o += put_str(p + o, t->label);
	put_le64(p + o, (uint64_t)t->created);
	put_le64(p + o + 8, (uint64_t)t->expires);
	o += 16;
	memcpy(p + o, hash, SECRET_LEN);
	return o + SECRET_LEN;
}

static int get_str(const uint8_t *p, size_t len, size_t *o, char *out,
		   size_t cap)
{
	size_t n;

	if (*o >= len || (n = p[*o]) + 1 > len - *o || n + 1 > cap)
		return -1;
	memcpy(out, p + *o + 1, n);
	out[n] = '\0';
	*o += 1 + n;
	return 0;
}

static int decode(const char *id, const uint8_t *p, size_t len,
		  auth_token *t, uint8_t *hash)
{
	size_t o = 1;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	if (len < 1 || p[0] != TOKEN_VERSION ||
	    get_str(p, len, &o, t->user, sizeof(t->user)) ||
	    get_str(p, len, &o, t->label, sizeof(t->label)) ||
	    len - o != 16 + SECRET_LEN)
		return ddterr_set(-EBADMSG, "token %s: a damaged record", id);
	t->created = (int64_t)get_le64(p + o);
	t->expires = (int64_t)get_le64(p + o + 8);
	if (hash)
		memcpy(hash, p + o + 16, SECRET_LEN);
	return 0;
}

static int get_rec(idx *ix, const char *id, auth_token *t, uint8_t *hash)
{
	void *v = NULL;
	size_t len = 0;
	int rc = idx_kv_get(ix, IDX_TOKENS, id, strlen(id), &v, &len);

	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no token %.16s", id);
	if (rc == 0)
		rc = decode(id, v, len, t, hash);
	free(v);
	return rc;
}

static int write_rec(idx *ix, const char *id, const uint8_t *val,
		     size_t vlen)
{
	return idx_kv_write_one(ix, IDX_TOKENS, id, strlen(id), val, vlen);
}

int auth_token_create(idx *ix, const char *user, const char *label,
		      int64_t now, int64_t expires, char *out, auth_token *rec)
{
	uint8_t rnd[8 + SECRET_LEN], hash[SECRET_LEN], val[REC_MAX];
	char secret[2 * SECRET_LEN + 1];
	auth_token t = { .created = now, .expires = expires };
	int rc;

	if (strlen(label) > AUTH_TOKEN_LABEL_MAX)
		return ddterr_set(-EINVAL, "a token's label is at most %d "
				  "bytes", AUTH_TOKEN_LABEL_MAX);
	if (expires && expires <= now)
		return ddterr_set(-EINVAL, "a token's expiry must be in the "
				  "future");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return ddterr_set(-EIO, "no randomness for a token");
	to_hex(rnd, 8, t.id);
	to_hex(rnd + 8, SECRET_LEN, secret);
	snprintf(t.user, sizeof(t.user), "%s", user);
	snprintf(t.label, sizeof(t.label), "%s", label);
	rc = hash_secret(secret, hash);
	if (rc == 0)
		rc = write_rec(ix, t.id, val, encode(&t, hash, val));
	if (rc == 0) {
		snprintf(out, AUTH_TOKEN_LEN + 1, AUTH_TOKEN_PREFIX "%s_%s",
			 t.id, secret);
		if (rec)
			*rec = t;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return rc;
}

static int refuse(void)
{
	return ddterr_set(-EACCES, "wrong user name or password");
}

int auth_token_check(idx *ix, const char *user, const char *token,
		     int64_t now)
{
	char id[AUTH_TOKEN_ID_LEN + 1];
	uint8_t want[SECRET_LEN], got[SECRET_LEN];
	auth_token t;
	size_t p = sizeof(AUTH_TOKEN_PREFIX) - 1;

	if (!auth_token_shaped(token))
		return refuse();
	memcpy(id, token + p, AUTH_TOKEN_ID_LEN);
	id[AUTH_TOKEN_ID_LEN] = '\0';
	if (get_rec(ix, id, &t, want) < 0 ||
	    hash_secret(token + p + AUTH_TOKEN_ID_LEN + 1, got) < 0)
		return refuse();
	if (CRYPTO_memcmp(want, got, SECRET_LEN) != 0 ||
	    strcmp(t.user, user) != 0 || (t.expires && t.expires <= now))
		return refuse();
	return 0;
}

int auth_token_get(idx *ix, const char *id, auth_token *out)
{
	return get_rec(ix, id, out, NULL);
}

int auth_token_delete(idx *ix, const char *id)
{
	auth_token t;
	int rc = get_rec(ix, id, &t, NULL);

	return rc < 0 ? rc : write_rec(ix, id, NULL, 0);
}

typedef struct list_args {
	auth_token_cb cb;
	void *arg;
} list_args;

static int list_cb(void *arg, const uint8_t *key, size_t klen,
		   const uint8_t *val, size_t vlen)
{
	list_args *l = arg;
	char id[AUTH_TOKEN_ID_LEN + 1];
	auth_token t;

	if (klen != AUTH_TOKEN_ID_LEN)
		return 0;
	memcpy(id, key, klen);
	id[klen] = '\0';
	if (decode(id, val, vlen, &t, NULL) < 0)
		return 0;	/* a damaged record logs nobody in either */
	return l->cb(l->arg, &t);
}

int auth_token_list(idx *ix, auth_token_cb cb, void *arg)
{
	list_args l = { cb, arg };

	return idx_kv_scan(ix, IDX_TOKENS, "", 0, NULL, 0, list_cb, &l);
}

typedef struct of_user {
	const char *user;
	char (*ids)[AUTH_TOKEN_ID_LEN + 1];
	size_t n, cap;
} of_user;

static int collect_cb(void *arg, const auth_token *t)
{
	of_user *u = arg;

	if (strcmp(t->user, u->user))
		return 0;
	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		void *p = realloc(u->ids, cap * sizeof(*u->ids));

		if (!p)
			return -ENOMEM;
		u->ids = p;
		u->cap = cap;
	}
	memcpy(u->ids[u->n++], t->id, sizeof(t->id));
	return 0;
}

int auth_token_delete_user(idx *ix, const char *user)
{
	of_user u = { .user = user };
	int rc = auth_token_list(ix, collect_cb, &u);

	for (size_t i = 0; rc == 0 && i < u.n; i++)
		rc = write_rec(ix, u.ids[i], NULL, 0);
	free(u.ids);
	return rc;
}
