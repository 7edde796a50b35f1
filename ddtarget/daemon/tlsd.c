/* tlsd.c - the daemon's TLS (tlsd.h): the key and certificate, and the
 * context sessions are made from. TLS 1.2 at least, 1.3 preferred
 * (OpenSSL's own order); no renegotiation.
 *
 * A store with no pair gets one at first start: an EC P-256 key and a
 * self-signed certificate, written key first (0600), each atomically.
 * Clients pin the certificate's fingerprint, so the pair is never remade
 * while the key is there: a lone key (a start that stopped before the
 * certificate was written, which no client saw) gets a new certificate; a
 * lone certificate is an error to resolve by hand. */
#include "tlsd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ddterr.h"
#include "fio.h"
#include "log.h"

#define TLSD_CERT_DAYS	(20 * 365)	/* pinned, not checked for age */

struct tlsd {
	SSL_CTX *ctx;
	char fp[TLSD_FP_LEN];
	char cert_path[PATH_MAX];
};

/* OpenSSL's newest error as a ddterr message after what. */
static int tls_error(int rc, const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ddterr_set(rc, "%s: %s", what, buf);
}

/* ---- making a pair ---- */

/* A PEM object from bio to path (0600, atomically). */
static int bio_to_file(BIO *bio, const char *path)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	int rc;

	rc = fio_write_file_atomic(path, p, (size_t)n);
	if (rc < 0)
		return ddterr_set(rc, "cannot write %s: %s", path,
				  strerror(-rc));
	return 0;
}

static int key_write(EVP_PKEY *key, const char *path)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
					      NULL))
		rc = tls_error(-ENOMEM, "cannot encode the TLS key");
	else
		rc = bio_to_file(bio, path);
	BIO_free(bio);
	return rc;
}

/* Serial, validity, names: what a self-signed certificate needs. */
static int cert_fill(X509 *x, EVP_PKEY *key)
{
	unsigned char serial[16];
	X509_NAME *name = X509_get_subject_name(x);
	char host[256] = "localhost";
	BIGNUM *bn = NULL;
	int ok;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return 0;
	serial[0] &= 0x7f;	/* a positive serial */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	(void)gethostname(host, sizeof(host) - 1);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_set_version(x, 2) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)TLSD_CERT_DAYS * 86400) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"ddtarget", -1,
					-1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)host, -1, -1,
					0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	BN_free(bn);
	return ok;
}

static int cert_make(EVP_PKEY *key, const char *path)
{
	X509 *x = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (!x || !bio || !cert_fill(x, key) || !PEM_write_bio_X509(bio, x))
		rc = tls_error(-ENOMEM, "cannot make a self-signed "
			       "certificate");
	else
		rc = bio_to_file(bio, path);
	BIO_free(bio);
	X509_free(x);
	return rc;
}

static int key_load(const char *path, EVP_PKEY **out)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return ddterr_set(-errno, "cannot read the TLS key %s: %s",
				  path, strerror(errno));
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*out)
		return tls_error(-EINVAL, path);
	return 0;
}

/* The store's own pair: made if missing (see the opening comment). */
static int pair_ensure(const char *key_path, const char *cert_path)
{
	int have_key = access(key_path, F_OK) == 0;
	int have_cert = access(cert_path, F_OK) == 0;
	EVP_PKEY *key = NULL;
	int rc;

	if (have_key && have_cert)
		return 0;
	if (have_cert)
		return ddterr_set(-ENOENT, "%s is there but its key %s is "
				  "not: put the key back, or remove the "
				  "certificate to make a new pair (clients "
				  "that pinned the old one will refuse the "
				  "new)", cert_path, key_path);
	if (have_key) {
		rc = key_load(key_path, &key);
	} else {
		key = EVP_EC_gen("P-256");
		rc = key ? key_write(key, key_path)
			 : tls_error(-ENOMEM, "cannot make a TLS key");
	}
	if (rc == 0)
		rc = cert_make(key, cert_path);
	if (rc == 0)
		log_info("made a TLS key %s and a self-signed certificate %s",
			 key_path, cert_path);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- the context ---- */

static int fingerprint_of(SSL_CTX *ctx, char out[TLSD_FP_LEN])
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!x || !X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return tls_error(-EINVAL, "cannot hash the TLS certificate");
	memcpy(out, "SHA256:", 7);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int ctx_make(tlsd *t, const char *key_path)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char what[PATH_MAX + 64];

	if (!ctx)
		return tls_error(-ENOMEM, "cannot make a TLS context");
	t->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Sessions are long and clients do not resume them: no tickets. */
	SSL_CTX_set_num_tickets(ctx, 0);
	snprintf(what, sizeof(what), "cannot load the TLS certificate %s",
		 t->cert_path);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_path) != 1)
		return tls_error(-EINVAL, what);
	snprintf(what, sizeof(what), "cannot load the TLS key %s", key_path);
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1)
		return tls_error(-EINVAL, what);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_error(-EINVAL, "the TLS key does not match the "
				 "certificate");
	return fingerprint_of(ctx, t->fp);
}

int tlsd_open(tlsd **out, const ddtd_config *c)
{
	char key_path[PATH_MAX];
	tlsd *t;
	int rc;

	if (!!c->tls_cert[0] != !!c->tls_key[0])
		return ddterr_set(-EINVAL, "tls_cert and tls_key go together: "
				  "set both, or neither for the store's own "
				  "pair");
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (c->tls_cert[0]) {
		snprintf(t->cert_path, sizeof(t->cert_path), "%s",
			 c->tls_cert);
		snprintf(key_path, sizeof(key_path), "%s", c->tls_key);
		rc = 0;
	} else {
		snprintf(t->cert_path, sizeof(t->cert_path), "%.*s/"
			 "tls_cert.pem", PATH_MAX - 16, c->store);
		snprintf(key_path, sizeof(key_path), "%.*s/tls_key.pem",
			 PATH_MAX - 16, c->store);
		rc = pair_ensure(key_path, t->cert_path);
	}
	if (rc == 0)
		rc = ctx_make(t, key_path);
	if (rc < 0) {
		tlsd_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void tlsd_free(tlsd *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

const char *tlsd_fingerprint(const tlsd *t)
{
	return t->fp;
}

const char *tlsd_cert_path(const tlsd *t)
{
	return t->cert_path;
}

SSL *tlsd_session_new(tlsd *t)
{
	return SSL_new(t->ctx);
}
