/* auth.h - users and their passwords, in the store's RocksDB (IDX_USERS).
 *
 * Passwords are never stored: each user has a random 16-byte salt and the
 * scrypt hash of the password under it (OpenSSL; memory-hard, its
 * parameters in the record: auth_rec.h), compared in constant time.
 * Records stored with PBKDF2-HMAC-SHA256 before still verify, and are
 * rehashed with scrypt when their password is next set. */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"

#define AUTH_MAX_PASSWORD DDT_MAX_PASSWORD

/* Create or replace a user (role: a DDT_ROLE_*) of domain (NULL: the one
 * the user has, DDT_DOMAIN_SYSTEM for a new one). A user or domain name
 * is 1..64 bytes of letters, digits, '-', '_', '.'; -EINVAL otherwise. */
int auth_set_user(idx *ix, const char *user, const char *password, int role,
		  const char *domain);

/* 0, *out_role and out_domain (DDT_MAX_DOMAIN + 1 bytes; either may be
 * NULL) if the password is right; -EACCES ("wrong user name or password",
 * the same for an unknown user, so names cannot be probed). */
int auth_check(idx *ix, const char *user, const char *password,
	       int *out_role, char *out_domain);

int auth_delete_user(idx *ix, const char *user);	/* -ENOENT */

/* A user's level and domain (DDT_MAX_DOMAIN + 1 bytes; either may be
 * NULL): 0, or -ENOENT ("no user U"). */
int auth_get_user(idx *ix, const char *user, int *out_role,
		  char *out_domain);

/* Change a user's level (0: keep it) and domain (NULL: keep it), its
 * password staying: 0, -ENOENT, -EINVAL for a bad level or domain. */
int auth_update_user(idx *ix, const char *user, int role,
		     const char *domain);

/* How many users exist (the daemon creates the first admin if none). */
int auth_count(idx *ix, uint64_t *out_n);

typedef int (*auth_user_cb)(void *arg, const char *user, int role,
			    const char *domain);
int auth_list(idx *ix, auth_user_cb cb, void *arg);

#endif
