/* auth_token.h - API tokens: a long random secret that logs one user in
 * instead of its password, for scripts and monitors, each with a label,
 * an optional expiry, and revocable one by one without touching the
 * password. Kept in the index (space IDX_TOKENS) under a public id, with
 * the SHA-256 of the secret only (it has 256 random bits: no slow hash is
 * needed to make guessing hopeless). A token is
 * "ddt1_" + 16 hex digits of id + "_" + 64 hex digits of secret, so a
 * login can tell it from a password; it has its user's level and domain,
 * whatever they are when it is used. */
#ifndef AUTH_TOKEN_H
#define AUTH_TOKEN_H

#include <stdint.h>

#include "ddtc_types.h"
#include "idx.h"

#define AUTH_TOKEN_PREFIX	"ddt1_"
#define AUTH_TOKEN_ID_LEN	16	/* hex digits */
#define AUTH_TOKEN_LEN		(5 + AUTH_TOKEN_ID_LEN + 1 + 64)
#define AUTH_TOKEN_LABEL_MAX	64

typedef struct auth_token {
	char id[AUTH_TOKEN_ID_LEN + 1];
	char user[DDT_MAX_USER + 1];
	char label[AUTH_TOKEN_LABEL_MAX + 1];
	int64_t created, expires;	/* ns since the epoch; expires 0 never */
} auth_token;

/* Whether a password is shaped as a token. */
int auth_token_shaped(const char *password);

/* A new token for user (which must exist) into out (AUTH_TOKEN_LEN + 1
 * bytes), its record into rec (may be NULL). 0 or -errno. */
int auth_token_create(idx *ix, const char *user, const char *label,
		      int64_t now, int64_t expires, char *out, auth_token *rec);

/* 0 if token is a live token of user at now; else -EACCES with the
 * same line as a wrong password. */
int auth_token_check(idx *ix, const char *user, const char *token,
		     int64_t now);

int auth_token_get(idx *ix, const char *id, auth_token *out); /* -ENOENT */
int auth_token_delete(idx *ix, const char *id);		/* -ENOENT */
/* Every token of user goes (its user was removed). */
int auth_token_delete_user(idx *ix, const char *user);

typedef int (*auth_token_cb)(void *arg, const auth_token *t);
int auth_token_list(idx *ix, auth_token_cb cb, void *arg);

#endif
