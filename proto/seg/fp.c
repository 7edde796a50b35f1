/* fp.c - SHA-256 segment fingerprints through OpenSSL's EVP interface (see
 * fp.h). Every segment of every stream is hashed here, on both ends, so the
 * per-call overhead around the hash matters as much as the hash itself. */
#include "fp.h"

#include "ddterr.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>

/*
 * In OpenSSL 3 both EVP_MD_fetch() (a locked provider lookup) and a fresh
 * EVP_MD_CTX (an allocation plus the provider's context) cost about as much
 * as hashing a few KiB with the SHA extensions, and segments average 8 KiB.
 * So the digest is fetched once per process and each thread keeps one
 * context that it re-initialises per call. The key's destructor frees a
 * thread's context when the thread exits, so worker pools that come and go
 * do not leak one context per thread.
 */
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;
static EVP_MD *fp_md;		/* NULL if OpenSSL has no SHA-256 */
static pthread_key_t fp_key;
static int fp_key_ok;
static _Thread_local EVP_MD_CTX *fp_ctx;

static void fp_ctx_free(void *p)
{
	EVP_MD_CTX_free(p);
	fp_ctx = NULL;
}

static void fp_setup(void)
{
	fp_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	fp_key_ok = pthread_key_create(&fp_key, fp_ctx_free) == 0;
}

static EVP_MD_CTX *fp_thread_ctx(void)
{
	EVP_MD_CTX *ctx;

	if (fp_ctx)
		return fp_ctx;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return NULL;
	/* Without the key the context could never be freed: fail instead. */
	if (!fp_key_ok || pthread_setspecific(fp_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	fp_ctx = ctx;
	return ctx;
}

/* The oldest queued OpenSSL error as text, and the queue emptied so the
 * next failure does not report this one. */
static const char *fp_ssl_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "no OpenSSL error queued");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

int fp_compute(fp_t *out, const void *data, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx;
	char why[256];

	pthread_once(&fp_once, fp_setup);
	if (!fp_md)
		return ddterr_set(-EIO, "fingerprint: OpenSSL offers no "
				  "SHA-256 (%s); check its default provider",
				  fp_ssl_error(why, sizeof(why)));
	ctx = fp_thread_ctx();
	if (!ctx)
		return ddterr_set(-ENOMEM, "fingerprint: out of memory for a "
				  "hash context");
	if (!EVP_DigestInit_ex2(ctx, fp_md, NULL) ||
	    !EVP_DigestUpdate(ctx, data, len) ||
	    !EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != FP_LEN) {
		/* Leave no half-used state behind for the next call. */
		EVP_MD_CTX_reset(ctx);
		return ddterr_set(-EIO, "fingerprint: SHA-256 of %zu bytes "
				  "failed: %s", len,
				  fp_ssl_error(why, sizeof(why)));
	}
	memcpy(out->b, md, FP_LEN);
	return 0;
}

void fp_to_hex(const fp_t *f, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < FP_LEN; i++) {
		buf[2 * i] = digits[f->b[i] >> 4];
		buf[2 * i + 1] = digits[f->b[i] & 0xf];
	}
	buf[FP_HEX_LEN] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fp_from_hex(fp_t *out, const char *hex)
{
	fp_t f;
	int i, hi, lo;

	if (!hex)
		return ddterr_set(-EINVAL, "fingerprint: no text given");
	for (i = 0; i < FP_LEN; i++) {
		/* A NUL fails hex_val(), so a short string stops in time. */
		hi = hex_val(hex[2 * i]);
		if (hi < 0)
			goto bad;
		lo = hex_val(hex[2 * i + 1]);
		if (lo < 0)
			goto bad;
		f.b[i] = (uint8_t)(hi << 4 | lo);
	}
	/* A 65th digit means the caller holds something other than a
	 * fingerprint; silently taking its prefix would hide that. */
	if (hex[FP_HEX_LEN] != '\0')
		goto bad;
	*out = f;
	return 0;
bad:
	return ddterr_set(-EINVAL, "fingerprint \"%.80s\" is not %d hex "
			  "digits", hex, FP_HEX_LEN);
}
