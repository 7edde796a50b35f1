/* auth.c - users and password checks (see auth.h). Each user's record
 * (auth_rec.h) names the hash its password was stored with and that
 * hash's parameters, so the default can change and old records still
 * verify; they are rehashed, with today's default (scrypt), when their
 * password is next set. A record without a domain (made before domains)
 * is of the system domain, so old stores need no migration. */
#include "auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth_rec.h"
#include "auth_token.h"
#include "bytes.h"
#include "ddterr.h"
#include "ddtc_types.h"
#include "now.h"

#define AUTH_MAX_USER	DDT_MAX_USER

typedef auth_rec user_rec;

static int user_ok(const char *user)
{
	size_t len = strlen(user);

	if (len == 0 || len > AUTH_MAX_USER)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = user[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* 0 and the record, -ENOENT, -EBADMSG, -EIO. */
static int get_rec(idx *ix, const char *user, user_rec *r)
{
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(ix, IDX_USERS, user, strlen(user), &v, &len);
	if (rc < 0)
		return rc;
	rc = auth_rec_decode(user, v, len, r);
	OPENSSL_cleanse(v, len);
	free(v);
	return rc;
}

static int write_one(idx *ix, const char *user, const void *val, size_t vlen)
{
	return idx_kv_write_one(ix, IDX_USERS, user, strlen(user), val, vlen);
}

/* The domain a user keeps when none is given: its own, or the
 * system's for a new user. */
static int domain_kept(idx *ix, const char *user, char *out)
{
	user_rec old;
	int rc = get_rec(ix, user, &old);

	OPENSSL_cleanse(old.hash, sizeof(old.hash));
	if (rc == -ENOENT) {
		strcpy(out, DDT_DOMAIN_SYSTEM);
		return 0;
	}
	if (rc == 0)
		strcpy(out, old.domain);
	return rc;
}

int auth_set_user(idx *ix, const char *user, const char *password, int role,
		  const char *domain)
{
	uint8_t rec[AUTH_REC_MAX];
	user_rec r = { .role = role };
	size_t plen = strlen(password), len;
	int rc;

	auth_rec_fresh(&r);
	if (!user_ok(user))
		return ddterr_set(-EINVAL, "user name \"%.64s\": 1 to %d "
				  "letters, digits, '.', '_' or '-'", user,
				  AUTH_MAX_USER);
	if (plen == 0 || plen > AUTH_MAX_PASSWORD)
		return ddterr_set(-EINVAL, "a password is 1 to %d bytes",
				  AUTH_MAX_PASSWORD);
	if (!ddt_role_name(role))
		return ddterr_set(-EINVAL, "unknown access level %d", role);
	if (domain && !ddt_domain_ok(domain))
		return ddterr_set(-EINVAL, "domain \"%.64s\": 1 to %d letters, "
				  "digits, '.', '_' or '-'", domain,
				  DDT_MAX_DOMAIN);
	if (domain)
		strcpy(r.domain, domain);
	else if ((rc = domain_kept(ix, user, r.domain)) < 0)
		return rc;
	if (RAND_bytes(r.salt, AUTH_SALT_LEN) != 1)
		return ddterr_set(-EIO, "auth: no random bytes for a salt");
	rc = auth_rec_hash(&r, password, r.hash);
	if (rc == 0) {
		len = auth_rec_encode(&r, rec);
		rc = write_one(ix, user, rec, len);
	}
	OPENSSL_cleanse(&r, sizeof(r));
	OPENSSL_cleanse(rec, sizeof(rec));
	return rc;
}

/* Every refusal looks alike, so a caller cannot tell a wrong name from a
 * wrong password. */
static int refuse(void)
{
	return ddterr_set(-EACCES, "wrong user name or password");
}

/* A token (auth_token.h) in place of the password: its user's level and
 * domain as they are now. */
static int check_token(idx *ix, const char *user, const char *token,
		       int *out_role, char *out_domain)
{
	user_rec r;
	int rc;

	if (!user_ok(user))
		return refuse();
	rc = auth_token_check(ix, user, token, now_ns());
	if (rc == 0 && (rc = get_rec(ix, user, &r)) == -ENOENT)
		rc = refuse();
	if (rc < 0)
		return rc;
	if (out_role)
		*out_role = r.role;
	if (out_domain)
		strcpy(out_domain, r.domain);
	return 0;
}

int auth_check(idx *ix, const char *user, const char *password,
	       int *out_role, char *out_domain)
{
	uint8_t got[AUTH_HASH_LEN];
	user_rec r;
	int rc, known, same;

	if (auth_token_shaped(password))
		return check_token(ix, user, password, out_role, out_domain);

	known = user_ok(user) && strlen(password) <= AUTH_MAX_PASSWORD;
	rc = known ? get_rec(ix, user, &r) : -ENOENT;
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT) {
		/* The same work as for a real user: timing tells nothing. */
		known = 0;
		memset(&r, 0, sizeof(r));
		auth_rec_fresh(&r);
	}
	rc = auth_rec_hash(&r, password, got);
	same = CRYPTO_memcmp(got, r.hash, AUTH_HASH_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(r.hash, sizeof(r.hash));
	if (rc < 0)
		return rc;
	if (!known || !same)
		return refuse();
	if (out_role)
		*out_role = r.role;
	if (out_domain)
		strcpy(out_domain, r.domain);
	return 0;
}

int auth_delete_user(idx *ix, const char *user)
{
	size_t len;
	void *v;
	int rc;

	if (!user_ok(user))
		return ddterr_set(-ENOENT, "no user \"%.64s\"", user);
	rc = idx_kv_get(ix, IDX_USERS, user, strlen(user), &v, &len);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no user \"%s\"", user);
	if (rc < 0)
		return rc;
	free(v);
	rc = write_one(ix, user, NULL, 0);
	/* Its tokens would log nobody in; gone with it. */
	if (rc == 0)
		rc = auth_token_delete_user(ix, user);
	return rc;
}

int auth_get_user(idx *ix, const char *user, int *out_role,
		  char *out_domain)
{
	user_rec r;
	int rc = user_ok(user) ? get_rec(ix, user, &r) : -ENOENT;

	if (rc == 0) {
		OPENSSL_cleanse(r.hash, sizeof(r.hash));
		if (out_role)
			*out_role = r.role;
		if (out_domain)
			strcpy(out_domain, r.domain);
	}
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no user \"%.64s\"", user);
	return rc;
}

int auth_update_user(idx *ix, const char *user, int role,
		     const char *domain)
{
	uint8_t rec[AUTH_REC_MAX];
	size_t len;
	user_rec r;
	int rc;

	if (role && !ddt_role_name(role))
		return ddterr_set(-EINVAL, "unknown access level %d", role);
	if (domain && !ddt_domain_ok(domain))
		return ddterr_set(-EINVAL, "domain \"%.64s\": 1 to %d letters, "
				  "digits, '.', '_' or '-'", domain,
				  DDT_MAX_DOMAIN);
	rc = user_ok(user) ? get_rec(ix, user, &r) : -ENOENT;
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "no user \"%.64s\"", user);
	if (rc < 0)
		return rc;
	if (role)
		r.role = role;
	if (domain)
		strcpy(r.domain, domain);
	len = auth_rec_encode(&r, rec);
	rc = write_one(ix, user, rec, len);
	OPENSSL_cleanse(&r, sizeof(r));
	OPENSSL_cleanse(rec, sizeof(rec));
	return rc;
}

typedef struct list_args {
	auth_user_cb cb;
	void *arg;
	uint64_t n;
	int err;
} list_args;

static int list_cb(void *arg, const uint8_t *key, size_t klen,
		   const uint8_t *val, size_t vlen)
{
	list_args *l = arg;
	char name[AUTH_MAX_USER + 1];
	user_rec r;
	int rc;

	if (klen == 0 || klen > AUTH_MAX_USER) {
		l->err = ddterr_set(-EBADMSG, "auth: a user record with a "
				    "damaged name (%zu bytes)", klen);
		return 1;
	}
	memcpy(name, key, klen);
	name[klen] = '\0';
	rc = auth_rec_decode(name, val, vlen, &r);
	OPENSSL_cleanse(r.hash, sizeof(r.hash));
	if (rc < 0) {
		l->err = rc;
		return 1;
	}
	l->n++;
	return l->cb ? l->cb(l->arg, name, r.role, r.domain) : 0;
}

static int scan_users(idx *ix, list_args *l)
{
	int rc = idx_kv_scan(ix, IDX_USERS, "", 0, NULL, 0, list_cb, l);

	return l->err ? l->err : rc;
}

int auth_count(idx *ix, uint64_t *out_n)
{
	list_args l = { 0 };
	int rc = scan_users(ix, &l);

	if (rc == 0)
		*out_n = l.n;
	return rc;
}

int auth_list(idx *ix, auth_user_cb cb, void *arg)
{
	list_args l = { .cb = cb, .arg = arg };

	return scan_users(ix, &l);
}
