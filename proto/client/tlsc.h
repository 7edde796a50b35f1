/* tlsc.h - the client's side of TLS (PROTOCOL.md section 1, TLS): the
 * handshake on a connected socket and the trust in the target's
 * certificate, by an explicit fingerprint, a CA, or a known-hosts file
 * pinned on first use as ssh does. Private to the client library. */
#ifndef DDTC_TLSC_H
#define DDTC_TLSC_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLSC_NOTE_LEN	512

/* How the target's certificate is trusted: the first of these set. */
typedef struct tlsc_trust {
	const char *fingerprint;	/* "SHA256:<hex>" (case, ':' ignored) */
	const char *ca_file;		/* PEM CAs; the host name is checked */
	const char *known_hosts;	/* NULL: tlsc_known_hosts_default() */
} tlsc_trust;

/* TLS over fd (connected, made non-blocking here) to host:port, within
 * timeout_s (0 or less: no limit), and the certificate checked as t says.
 * 0 with *out the session, and note a line to show the user when a
 * certificate was pinned now ("" otherwise); or -errno with a one-line
 * ddterr message (-EACCES: the certificate is not the one trusted). */
int tlsc_connect(SSL **out, int fd, const char *host, int port,
		 const tlsc_trust *t, int timeout_s, char note[TLSC_NOTE_LEN]);

/* The default known-hosts file: $DDT_KNOWN_HOSTS, else
 * $XDG_CONFIG_HOME/ddt/known_hosts, else ~/.config/ddt/known_hosts.
 * 0, or -ENOENT when none can be named. */
int tlsc_known_hosts_default(char *buf, size_t cap);

/* OpenSSL's newest error queued on this thread, as text (and cleared). */
void tlsc_error_text(char *buf, size_t cap);

#endif
