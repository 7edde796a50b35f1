/* auth_rec.h - one user's record in the store's RocksDB (IDX_USERS), and
 * the password hash it names (auth.c's private half). The record names
 * its hash function and that function's parameters, so defaults can rise
 * and every older record still verifies, until its password is next set:
 *
 *   version 1: u8 1, u8 level, u32 iterations, salt[16], hash[32]
 *              (PBKDF2-HMAC-SHA256; domain "system")
 *   version 2: version 1's fields (u8 2), u8 domain length, the domain
 *   version 3: u8 3, u8 level, u8 kdf, u32 a, u32 b, u32 c, salt[16],
 *              hash[32], u8 domain length, the domain; kdf 1 PBKDF2 (a:
 *              iterations), kdf 2 scrypt (a: N, b: r, c: p)
 *
 * New records are version 3 with scrypt, memory-hard (AUTH_SCRYPT_*):
 * what a guess costs an attacker with the index is memory, not only
 * time. Numbers little-endian. */
#ifndef AUTH_REC_H
#define AUTH_REC_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"

#define AUTH_SALT_LEN	16
#define AUTH_HASH_LEN	32
#define AUTH_REC_MAX	(15 + AUTH_SALT_LEN + AUTH_HASH_LEN + 1 + \
			 DDT_MAX_DOMAIN)

enum { AUTH_KDF_PBKDF2 = 1, AUTH_KDF_SCRYPT = 2 };

/* scrypt's cost for new passwords: N 2^14, r 8, p 1 (16 MiB, ~40 ms on
 * this class of machine): a worker's AUTH stays short, and a guess with
 * the index in hand costs 16 MiB of memory. */
#define AUTH_SCRYPT_N	16384u
#define AUTH_SCRYPT_R	8u
#define AUTH_SCRYPT_P	1u

typedef struct auth_rec {
	int role;
	int kdf;			/* AUTH_KDF_* */
	uint32_t a, b, c;		/* its parameters (above) */
	uint8_t salt[AUTH_SALT_LEN];
	uint8_t hash[AUTH_HASH_LEN];
	char domain[DDT_MAX_DOMAIN + 1];
} auth_rec;

/* A new record's hash function and parameters: scrypt, the defaults. */
void auth_rec_fresh(auth_rec *r);

/* r as version 3 into p (AUTH_REC_MAX bytes): its length. */
size_t auth_rec_encode(const auth_rec *r, uint8_t *p);

/* Any version into r: 0, or -EBADMSG naming user. */
int auth_rec_decode(const char *user, const uint8_t *p, size_t len,
		    auth_rec *r);

/* password under r's function, parameters and salt into out
 * (AUTH_HASH_LEN bytes): 0 or -EIO. */
int auth_rec_hash(const auth_rec *r, const char *password, uint8_t *out);

#endif
