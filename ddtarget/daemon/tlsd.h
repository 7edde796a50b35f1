/* tlsd.h - the daemon's TLS: its key and certificate (made at first start,
 * or the configured files), the fingerprint clients pin, and the context
 * every session's TLS is made from (PROTOCOL.md section 1, TLS). */
#ifndef DDTD_TLSD_H
#define DDTD_TLSD_H

#include <openssl/ssl.h>

#include "config.h"

/* "SHA256:" and 64 hex digits, the form PROTOCOL.md gives. */
#define TLSD_FP_LEN	(7 + 64 + 1)

typedef struct tlsd tlsd;

/* Load c's tls_cert and tls_key, or the store's own pair (<store>/
 * tls_key.pem, mode 0600, and tls_cert.pem), made now if the store has
 * neither: an EC P-256 key and a self-signed certificate. A store with
 * one file of the pair and not the other is refused, so a key is never
 * replaced behind the clients' backs. 0 or -errno with a ddterr message. */
int tlsd_open(tlsd **out, const ddtd_config *c);
void tlsd_free(tlsd *t);

/* The certificate's SHA-256 fingerprint ("SHA256:<hex>"). */
const char *tlsd_fingerprint(const tlsd *t);
/* The file the certificate came from, for the log. */
const char *tlsd_cert_path(const tlsd *t);

/* A new server-side TLS for one session; NULL without memory. */
SSL *tlsd_session_new(tlsd *t);

#endif
