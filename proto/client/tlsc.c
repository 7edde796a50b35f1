/* tlsc.c - the client's TLS handshake and its trust in the target
 * (tlsc.h).
 *
 * A target's certificate is self-signed unless its owner gave it one a CA
 * signed, so trust comes from one of three places, the first given wins:
 * a fingerprint the user was told (ddtargetd logs it, `ddt status` shows
 * it); a CA file, with the host name checked as a browser would; or the
 * known-hosts file, which takes the certificate a target first shows and
 * refuses any other from the same "host:port" after, naming the line to
 * remove if the change was meant. Each line of that file is
 * "HOST:PORT SHA256:<64 hex>"; '#' starts a comment.
 *
 * The handshake runs on the caller's thread, non-blocking with poll(), so
 * a silent peer costs at most the session's timeout; afterwards conn.c
 * does the I/O. */
#include "tlsc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ddterr.h"
#include "now.h"
#include "path.h"

#define TLSC_FP_HEX	64
#define TLSC_FP_LEN	(7 + TLSC_FP_HEX + 1)	/* "SHA256:" hex NUL */
#define TLSC_READ_BUF	(256 << 10)	/* bytes per read from the socket */

void tlsc_error_text(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();

	snprintf(buf, cap, "unknown TLS error");
	if (e)
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
}

/* ---- fingerprints ---- */

static int peer_fingerprint(SSL *ssl, char out[TLSC_FP_LEN])
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	ok = x && X509_digest(x, EVP_sha256(), md, &n) && n == 32;
	X509_free(x);
	if (!ok)
		return ddterr_set(-EPROTO, "the target sent no certificate "
				  "to check");
	memcpy(out, "SHA256:", 7);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* A fingerprint as people write it ("SHA256:AB:CD...", any case, or the
 * bare hex) in the form peer_fingerprint makes. 0 or -EINVAL. */
static int fingerprint_norm(const char *in, char out[TLSC_FP_LEN])
{
	size_t n = 0;

	if (strncasecmp(in, "SHA256:", 7) == 0)
		in += 7;
	memcpy(out, "SHA256:", 7);
	for (; *in && *in != '\n' && *in != ' ' && *in != '\t'; in++) {
		if (*in == ':')
			continue;
		if (n == TLSC_FP_HEX || !strchr("0123456789abcdefABCDEF", *in))
			return -EINVAL;
		out[7 + n++] = (char)(*in | 0x20);	/* lower case */
	}
	out[7 + n] = '\0';
	return n == TLSC_FP_HEX ? 0 : -EINVAL;
}

/* ---- the known-hosts file ---- */

int tlsc_known_hosts_default(char *buf, size_t cap)
{
	const char *env = getenv("DDT_KNOWN_HOSTS");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (env && *env)
		n = snprintf(buf, cap, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, cap, "%s/ddt/known_hosts", xdg);
	else if (home && *home)
		n = snprintf(buf, cap, "%s/.config/ddt/known_hosts", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* The line of file pinning key ("host:port"): 0 with its fingerprint and
 * line number, -ENOENT if none (or no file), -errno if unreadable. */
static int known_find(const char *file, const char *key,
		      char fp[TLSC_FP_LEN], int *out_line)
{
	char line[1024];
	size_t klen = strlen(key);
	int lineno = 0, rc = -ENOENT;
	FILE *f = fopen(file, "re");

	if (!f)
		return errno == ENOENT ? -ENOENT :
		       ddterr_set(-errno, "cannot read the known-hosts file "
				  "%s: %s", file, strerror(errno));
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		lineno++;
		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		if (fingerprint_norm(line + klen + 1, fp) < 0) {
			rc = ddterr_set(-EINVAL, "%s line %d: not \"HOST:PORT "
					"SHA256:<64 hex digits>\"", file,
					lineno);
			break;
		}
		*out_line = lineno;
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* Append "key fp" to file, its folder made if need be (0700). */
static int known_add(const char *file, const char *key, const char *fp)
{
	char *dir = strdup(file), *slash;
	char line[600];
	int fd, n, rc = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = path_mkdir_p(dir, 0700);
	}
	free(dir);
	if (rc < 0)
		return ddterr_set(rc, "cannot make the folder of the "
				  "known-hosts file %s: %s", file,
				  strerror(-rc));
	n = snprintf(line, sizeof(line), "%s %s\n", key, fp);
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		rc = ddterr_set(-errno, "cannot write the known-hosts file "
				"%s: %s", file, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Trust on first use: a "host:port" never seen is pinned now; one seen
 * must show the certificate it showed then. */
static int known_check(const tlsc_trust *t, const char *key,
		       const char *fp, char note[TLSC_NOTE_LEN])
{
	char file[PATH_MAX], pinned[TLSC_FP_LEN];
	int rc, line = 0;

	if (t->known_hosts)
		snprintf(file, sizeof(file), "%s", t->known_hosts);
	else if (tlsc_known_hosts_default(file, sizeof(file)) < 0)
		return ddterr_set(-EACCES, "cannot check the certificate of "
				  "ddtargetd at %s: no known-hosts file (set "
				  "HOME or DDT_KNOWN_HOSTS, or give its "
				  "fingerprint)", key);
	rc = known_find(file, key, pinned, &line);
	if (rc == 0 && strcmp(pinned, fp) == 0)
		return 0;
	if (rc == 0)
		return ddterr_set(-EACCES, "ddtargetd at %s shows certificate "
				  "%s, not %s pinned at %s line %d: if its "
				  "certificate was changed on purpose, remove "
				  "line %d of %s", key, fp, pinned, file, line,
				  line, file);
	if (rc != -ENOENT)
		return rc;
	rc = known_add(file, key, fp);
	if (rc == 0)
		snprintf(note, TLSC_NOTE_LEN, "pinned the certificate of "
			 "ddtargetd at %.200s (%s) in %.200s", key, fp, file);
	return rc;
}

/* ---- the handshake ---- */

static SSL_CTX *ctx_make(const tlsc_trust *t)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A close without close_notify reads as the end of the stream, as it
	 * does in plaintext: frames carry their own lengths, so a cut one is
	 * seen for what it is (and the target ends sessions that way). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* conn.c's senders write what the socket takes and go on from
	 * there, from buffers that are not always the same. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* READ replies are megabytes: take what the socket holds in one
	 * read, not two syscalls per 16 KiB record. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLSC_READ_BUF);
	if (!t->fingerprint && t->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
}

/* With a CA, the certificate must name the host we dialled. */
static int expect_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	unsigned char ip[16];

	if (inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	return SSL_set_tlsext_host_name(ssl, host) &&
	       X509_VERIFY_PARAM_set1_host(vp, host, 0);
}

/* Wait for fd to be ready as SSL_get_error says, until deadline (ns,
 * monotonic; 0 none). 0, or -ETIMEDOUT. */
static int wait_ready(int fd, int err, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = err == SSL_ERROR_WANT_WRITE ?
						POLLOUT : POLLIN };
	int ms = -1, n;

	if (deadline) {
		int64_t left = (deadline - now_mono_ns()) / 1000000;

		if (left <= 0)
			return -ETIMEDOUT;
		ms = left > 60000 ? 60000 : (int)left;
	}
	n = poll(&p, 1, ms);
	return n < 0 && errno != EINTR ? -errno : 0;
}

static int handshake(SSL *ssl, int fd, const char *key, int timeout_s)
{
	int64_t deadline = timeout_s > 0 ?
		now_mono_ns() + (int64_t)timeout_s * 1000000000 : 0;
	char why[256];
	int r, err;

	for (;;) {
		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1)
			return 0;
		err = SSL_get_error(ssl, r);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			break;
		if (wait_ready(fd, err, deadline) < 0)
			return ddterr_set(-ETIMEDOUT, "ddtargetd at %s has "
					  "not answered for %d s, in the TLS "
					  "handshake (is it hung, or the "
					  "network down? DDT_TIMEOUT sets the "
					  "wait)", key, timeout_s);
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return ddterr_set(-EACCES, "the certificate of ddtargetd at "
				  "%s does not check against the CA file: %s",
				  key, X509_verify_cert_error_string(
					  SSL_get_verify_result(ssl)));
	tlsc_error_text(why, sizeof(why));
	return ddterr_set(-ECONNRESET, "TLS handshake with ddtargetd at %s "
			  "failed: %s (is it a ddtargetd, and one that "
			  "speaks TLS?)", key, err == SSL_ERROR_SYSCALL &&
			  !ERR_peek_error() ? "the connection was closed" :
			  why);
}

/* After the handshake: the certificate is the one trusted. */
static int check_peer(SSL *ssl, const tlsc_trust *t, const char *key,
		      char note[TLSC_NOTE_LEN])
{
	char fp[TLSC_FP_LEN], want[TLSC_FP_LEN];
	int rc = peer_fingerprint(ssl, fp);

	if (rc < 0 || (!t->fingerprint && t->ca_file))
		return rc;	/* the CA was checked in the handshake */
	if (!t->fingerprint)
		return known_check(t, key, fp, note);
	if (fingerprint_norm(t->fingerprint, want) < 0)
		return ddterr_set(-EINVAL, "TLS fingerprint \"%.80s\" is not "
				  "SHA256: and 64 hex digits", t->fingerprint);
	if (strcmp(fp, want) != 0)
		return ddterr_set(-EACCES, "ddtargetd at %s shows certificate "
				  "%s, not the %s it was to show", key, fp,
				  want);
	return 0;
}

int tlsc_connect(SSL **out, int fd, const char *host, int port,
		 const tlsc_trust *t, int timeout_s, char note[TLSC_NOTE_LEN])
{
	char key[300], why[256];
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	int rc, fl;

	note[0] = '\0';
	snprintf(key, sizeof(key), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
		 host, port);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ddterr_set(-errno, "cannot make the socket "
				  "non-blocking: %s", strerror(errno));
	ctx = ctx_make(t);
	if (ctx)
		ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* ssl holds its own reference */
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    (!t->fingerprint && t->ca_file && !expect_host(ssl, host))) {
		tlsc_error_text(why, sizeof(why));
		SSL_free(ssl);
		return ddterr_set(t->ca_file && !ctx ? -EINVAL : -ENOMEM,
				  "cannot set up TLS%s%s: %s", t->ca_file &&
				  !ctx ? " with the CA file " : "", t->ca_file
				  && !ctx ? t->ca_file : "", why);
	}
	rc = handshake(ssl, fd, key, timeout_s);
	if (rc == 0)
		rc = check_peer(ssl, t, key, note);
	if (rc < 0) {
		SSL_free(ssl);
		return rc;
	}
	*out = ssl;
	return 0;
}
