/* conn.c - one pipelined TCP connection to ddtargetd: senders write whole
 * frames under a send mutex, a receiver thread reads replies and matches
 * them by id to the calls waiting for them (see conn.h).
 *
 * Over TLS (tlsc.c makes the session) the socket is non-blocking and
 * every SSL_* call on it is made under ssl_mu, since OpenSSL forbids two
 * threads in one SSL at once; the waits for the socket (poll() on what
 * SSL_get_error asked for) happen outside it, so the receiver reading and
 * a sender writing only ever queue for the few microseconds a record
 * takes to seal or open. A sender writes at most CONN_TLS_CHUNK per call
 * for the same reason.
 *
 * The target answers a session's requests in whatever order they finish,
 * so every request is registered in a table by id before its first byte
 * goes out (its reply may arrive before send() returns), and at most
 * max_inflight of them are outstanding: a sender blocks until a reply
 * frees a slot. Once anything breaks, the connection stays broken: the
 * receiver fails every pending call with the reason and later sends fail
 * at once, so no caller waits for a reply that cannot come. */
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "ddterr.h"
#include "net.h"
#include "now.h"

#define CONN_BUCKETS	256	/* pending calls by id; a power of two */
#define CONN_SOCKBUF	(4 << 20)	/* a few SEG_PUT frames in flight */
#define CONN_RXBUF	(64 << 10)	/* small replies in one recv() */
#define CONN_TICK_S	2	/* the receiver looks at the clock this often */
#define CONN_TLS_CHUNK	(256 << 10)	/* per SSL_write, under ssl_mu */
#define CONN_TLS_REREAD_MS	10	/* a write waiting on a read retries */

struct conn_req {
	conn *c;
	uint32_t id;
	uint8_t op;
	conn_cb cb;		/* NULL: a waiter collects the reply */
	void *arg;
	int done;
	pthread_cond_t cv;	/* the waiter's, signalled under conn.mu */
	conn_reply r;
	conn_req *next;	/* bucket chain */
};

struct conn {
	int fd;
	SSL *ssl;		/* NULL: plaintext */
	pthread_mutex_t ssl_mu;	/* around every SSL_* call on ssl */
	char note[TLSC_NOTE_LEN];	/* tlsc_connect's, for the user */
	char peer[300];		/* "host:port" (or the socket) for messages */
	pthread_t rx;
	int rx_started;

	pthread_mutex_t send_mu;	/* one frame at a time on the socket */

	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t slot_cv;	/* senders wait for a free slot */
	conn_req *pending[CONN_BUCKETS];
	uint32_t next_id;
	uint32_t inflight, max_inflight;
	int broken;		/* 0, or the error every call now gets */
	char why[CONN_MSG_LEN];

	atomic_uint_fast64_t wire_bytes;

	/* The receiver's read buffer (receiver thread only). */
	uint8_t *rb;
	size_t rb_start, rb_end;
	int timeout_s;		/* silence tolerated while requests wait */
	int64_t last_rx;	/* monotonic ns of the last byte or idle tick */
};

/* ---- failure ---- */

/* Mark the connection broken (the first reason wins) and shut the socket,
 * which wakes the receiver; it then fails the pending calls. */
static void conn_fail(conn *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(conn *c, int rc, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->mu);
	if (!c->broken) {
		c->broken = rc;
		va_start(ap, fmt);
		vsnprintf(c->why, sizeof(c->why), fmt, ap);
		va_end(ap);
	}
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->mu);
	shutdown(c->fd, SHUT_RDWR);
}

/* Hand k its reply (or failure): run its callback, or wake its waiter.
 * Called without c->mu. */
static void call_complete(conn *c, conn_req *k)
{
	if (k->cb) {
		k->cb(k->arg, &k->r);
		free(k->r.buf);
		pthread_cond_destroy(&k->cv);
		free(k);
		return;
	}
	pthread_mutex_lock(&c->mu);
	k->done = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Fail every pending call: the receiver's last act. */
static void conn_drain(conn *c)
{
	conn_req *list = NULL, *k;
	int i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < CONN_BUCKETS; i++) {
		while ((k = c->pending[i])) {
			c->pending[i] = k->next;
			k->next = list;
			list = k;
		}
	}
	c->inflight = 0;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->mu);
	while ((k = list)) {
		list = k->next;
		k->r.rc = c->broken;
		snprintf(k->r.msg, sizeof(k->r.msg), "%.440s; %s not done",
			 c->why, ddt_op_name(k->op));
		call_complete(c, k);
	}
}

/* ---- receiving ---- */

/* A receive tick passed without a byte. Silence with nothing asked is
 * idleness and restarts the count; with requests waiting for longer than
 * the timeout the target is taken for gone (a hung or cut-off peer that
 * TCP keepalive would notice only after hours). */
static int rx_silent_too_long(conn *c)
{
	int64_t now = now_mono_ns();
	uint32_t waiting;

	pthread_mutex_lock(&c->mu);
	waiting = c->inflight;
	pthread_mutex_unlock(&c->mu);
	if (!waiting || c->timeout_s <= 0) {
		c->last_rx = now;
		return 0;
	}
	if (now - c->last_rx < (int64_t)c->timeout_s * 1000000000)
		return 0;
	conn_fail(c, -ETIMEDOUT, "ddtargetd at %s has not answered for %d s "
		  "(is it hung, or the network down? DDT_TIMEOUT sets the "
		  "wait)", c->peer, c->timeout_s);
	return 1;
}

/* ---- the socket, plain or TLS ---- */

/* One SSL_read or SSL_write of up to n bytes under ssl_mu: > 0 bytes
 * moved, or <= 0 with *err what SSL_get_error said (and its text in why
 * for a failure; errno kept for SSL_ERROR_SYSCALL). */
static int tls_io(conn *c, int write, void *p, size_t n, int *err,
		  char *why, size_t cap)
{
	int r, e = 0;

	pthread_mutex_lock(&c->ssl_mu);
	ERR_clear_error();
	r = write ? SSL_write(c->ssl, p, (int)n) : SSL_read(c->ssl, p, (int)n);
	if (r <= 0) {
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_SSL || (e == SSL_ERROR_SYSCALL &&
					   ERR_peek_error()))
			tlsc_error_text(why, cap);
		else if (e == SSL_ERROR_SYSCALL)
			snprintf(why, cap, "%s", errno ? strerror(errno) :
				 "the target closed it");
	}
	pthread_mutex_unlock(&c->ssl_mu);
	*err = e;
	return r;
}

/* Wait until the socket can do what SSL asked for, at most ms (-1: no
 * limit). 1 ready, 0 the time passed. */
static int tls_wait(conn *c, int err, int ms)
{
	struct pollfd p = { .fd = c->fd };
	int n;

	p.events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n != 0;
}

/* Some bytes from the target: > 0, 0 at its close, -EAGAIN when a
 * receive tick passed with none, else -errno with the reason in why. */
static ssize_t sock_recv(conn *c, void *dst, size_t n, char *why,
			 size_t cap)
{
	ssize_t got;
	int err;

	if (!c->ssl) {
		got = recv(c->fd, dst, n, 0);
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (got < 0 && errno != EINTR)
			snprintf(why, cap, "%s", strerror(errno));
		return got < 0 ? -errno : got;
	}
	if (n > INT_MAX)
		n = INT_MAX;
	got = tls_io(c, 0, dst, n, &err, why, cap);
	if (got > 0)
		return got;
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return tls_wait(c, err, CONN_TICK_S * 1000) ? -EINTR : -EAGAIN;
	return -ECONNRESET;
}

/* Some bytes to the target: > 0 taken, or -errno with the reason. */
static ssize_t sock_send(conn *c, const uint8_t *p, size_t n, char *why,
			 size_t cap)
{
	ssize_t put;
	int err;

	if (!c->ssl) {
		put = send(c->fd, p, n, MSG_NOSIGNAL);
		if (put < 0 && errno != EINTR)
			snprintf(why, cap, "%s", strerror(errno));
		return put < 0 ? -errno : put;
	}
	put = tls_io(c, 1, (void *)p, n > CONN_TLS_CHUNK ? CONN_TLS_CHUNK : n,
		     &err, why, cap);
	if (put > 0)
		return put;
	/* A write that must read first (TLS 1.3's key update) looks again
	 * soon: the receiver may take the bytes it waits for. */
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		(void)tls_wait(c, err, err == SSL_ERROR_WANT_READ ?
			       CONN_TLS_REREAD_MS : CONN_TICK_S * 1000);
		return -EINTR;
	}
	return -EPIPE;
}

/* Read exactly n bytes: from the buffer first, big payloads straight into
 * dst. 0, or -ECONNRESET (-ETIMEDOUT) with the connection marked broken. */
static int rx_read(conn *c, uint8_t *dst, size_t n)
{
	char why[256] = "";
	size_t have;
	ssize_t got;

	while (n) {
		have = c->rb_end - c->rb_start;
		if (have) {
			if (have > n)
				have = n;
			memcpy(dst, c->rb + c->rb_start, have);
			c->rb_start += have;
			dst += have;
			n -= have;
			continue;
		}
		if (n >= CONN_RXBUF)
			got = sock_recv(c, dst, n, why, sizeof(why));
		else
			got = sock_recv(c, c->rb, CONN_RXBUF, why, sizeof(why));
		if (got == -EINTR)
			continue;
		if (got == -EAGAIN) {
			if (rx_silent_too_long(c))
				return -ETIMEDOUT;
			continue;
		}
		if (got > 0)
			c->last_rx = now_mono_ns();
		if (got <= 0) {
			conn_fail(c, -ECONNRESET, "connection to ddtargetd at "
				  "%s lost: %s", c->peer, got < 0 ? why :
				  "the target closed it");
			return -ECONNRESET;
		}
		if (n >= CONN_RXBUF) {
			dst += got;
			n -= (size_t)got;
		} else {
			c->rb_start = 0;
			c->rb_end = (size_t)got;
		}
	}
	return 0;
}

/* Take the pending call with this id out of the table, or NULL. */
static conn_req *pending_take(conn *c, uint32_t id)
{
	conn_req **pp, *k;

	pthread_mutex_lock(&c->mu);
	for (pp = &c->pending[id & (CONN_BUCKETS - 1)]; (k = *pp);
	     pp = &k->next) {
		if (k->id == id) {
			*pp = k->next;
			c->inflight--;
			pthread_cond_signal(&c->slot_cv);
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return k;
}

/* An error reply's payload is one str: the target's message. */
static void error_message(const ddt_hdr *h, const uint8_t *p, size_t len,
			  char *out, size_t cap)
{
	char msg[DDT_MAX_STR + 1];
	rbuf r;

	rb_init(&r, p, len);
	rb_str(&r, msg, sizeof(msg));
	if (rb_done(&r) == 0 && msg[0])
		snprintf(out, cap, "%.*s", (int)cap - 1, msg);
	else
		snprintf(out, cap, "%s failed with status %u (the target "
			 "gave no readable message)", ddt_op_name(h->opcode),
			 h->status);
}

/* One reply frame: header checked, payload read, call completed. */
static int rx_frame(conn *c)
{
	uint8_t hb[DDT_HDR_LEN];
	uint8_t *payload = NULL;
	conn_req *k;
	ddt_hdr h;
	size_t len;
	int rc;

	rc = rx_read(c, hb, sizeof(hb));
	if (rc < 0)
		return rc;
	rc = ddt_hdr_parse(hb, &h);
	if (rc < 0) {
		conn_fail(c, -ECONNRESET, "connection to ddtargetd at %s "
			  "dropped: %s (is a ddtargetd listening there?)",
			  c->peer, ddterr_last(rc));
		return rc;
	}
	len = ddt_payload_len(&h);
	payload = malloc(len ? len : 1);
	if (!payload) {
		conn_fail(c, -ENOMEM, "connection to ddtargetd at %s "
			  "dropped: no memory for a %zu-byte reply", c->peer,
			  len);
		return -ENOMEM;
	}
	rc = rx_read(c, payload, len);
	if (rc < 0)
		goto bad;
	k = pending_take(c, h.id);
	if (!k || !(h.flags & DDT_F_REPLY) || h.opcode != k->op) {
		char msg[CONN_MSG_LEN];

		/* Id 0 with an error: the target could not read our frame. */
		if (!k && h.status) {
			error_message(&h, payload, len, msg, sizeof(msg));
			conn_fail(c, -ECONNRESET, "ddtargetd at %s ended the "
				  "session: %s", c->peer, msg);
		} else {
			conn_fail(c, -ECONNRESET, "connection to ddtargetd at "
				  "%s dropped: a %s frame with id %u answers "
				  "no request of ours", c->peer,
				  ddt_op_name(h.opcode), h.id);
		}
		if (k) {
			/* Give it back so the drain fails it. */
			pthread_mutex_lock(&c->mu);
			k->next = c->pending[k->id & (CONN_BUCKETS - 1)];
			c->pending[k->id & (CONN_BUCKETS - 1)] = k;
			c->inflight++;
			pthread_mutex_unlock(&c->mu);
		}
		rc = -ECONNRESET;
		goto bad;
	}
	if (h.status) {
		/* Wire codes are errno values (wire.h). */
		k->r.rc = -(int)h.status;
		error_message(&h, payload, len, k->r.msg, sizeof(k->r.msg));
		free(payload);
	} else {
		k->r.rc = 0;
		k->r.buf = payload;
		k->r.len = len;
	}
	call_complete(c, k);
	return 0;
bad:
	free(payload);
	return rc;
}

static void *conn_rx_main(void *arg)
{
	conn *c = arg;

	while (rx_frame(c) == 0)
		;
	conn_drain(c);
	return NULL;
}

/* ---- opening and closing ---- */

static void sock_tune(int fd)
{
	struct timeval tick = { .tv_sec = CONN_TICK_S };
	int one = 1, size = CONN_SOCKBUF;

	/* Requests are whole frames written at once; Nagle would only delay
	 * the small ones (FP_QUERY, COMMIT) behind an ACK. Failures here cost
	 * speed, not correctness. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* recv() returns every tick, so the receiver can tell a silent
	 * target from a quiet session (rx_silent_too_long). */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
}

static int sock_connect(const char *host, int port, int *out_fd)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_family = AF_UNSPEC };
	struct addrinfo *ai, *a;
	char service[16];
	int fd = -1, err = ECONNREFUSED, rc;

	if (net_host_is_local(host)) {
		rc = net_local_connect(host, &fd);
		if (rc == 0)
			sock_tune(fd);
		*out_fd = fd;
		return rc;
	}
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(host, service, &hints, &ai);
	if (rc != 0)
		return ddterr_set(-EHOSTUNREACH, "cannot resolve ddtargetd "
				  "host \"%s\": %s", host, gai_strerror(rc));
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		sock_tune(fd);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return ddterr_set(-err, "cannot connect to ddtargetd at %s:%d: "
				  "%s; is it running and listening there?",
				  host, port, strerror(err));
	*out_fd = fd;
	return 0;
}

/* The receiver takes no signals: they belong to the application. */
static int rx_start(conn *c)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->rx, NULL, conn_rx_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return ddterr_set(-rc, "cannot start the connection's receiver "
				  "thread: %s", strerror(rc));
	c->rx_started = 1;
	return 0;
}

int conn_open(conn **out, const char *host, int port, int timeout_s,
	      const tlsc_trust *tls)
{
	conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->rb = malloc(CONN_RXBUF);
	if (!c->rb) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->send_mu, NULL);
	pthread_mutex_init(&c->ssl_mu, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->slot_cv, NULL);
	c->max_inflight = 1;
	c->next_id = 1;
	c->timeout_s = timeout_s;
	c->last_rx = now_mono_ns();
	if (net_host_is_local(host))
		snprintf(c->peer, sizeof(c->peer), "%s", host);
	else
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	rc = sock_connect(host, port, &c->fd);
	/* The local socket is the target's own host: no wire to protect,
	 * and the daemon speaks plaintext there (PROTOCOL.md section 1). */
	if (rc == 0 && tls && !net_host_is_local(host))
		rc = tlsc_connect(&c->ssl, c->fd, host, port, tls, timeout_s,
				  c->note);
	if (rc == 0)
		rc = rx_start(c);
	if (rc < 0) {
		conn_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void conn_set_inflight(conn *c, uint32_t max)
{
	pthread_mutex_lock(&c->mu);
	c->max_inflight = max ? max : 1;
	pthread_cond_broadcast(&c->slot_cv);
	pthread_mutex_unlock(&c->mu);
}

/* Tell a TLS peer the session ends on purpose (close_notify), once and
 * without waiting: the target takes a bare close as well. */
static void tls_say_bye(conn *c)
{
	int broken;

	pthread_mutex_lock(&c->mu);
	broken = c->broken;
	pthread_mutex_unlock(&c->mu);
	if (!c->ssl || broken)
		return;
	pthread_mutex_lock(&c->ssl_mu);
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	pthread_mutex_unlock(&c->ssl_mu);
}

void conn_close(conn *c)
{
	if (!c)
		return;
	tls_say_bye(c);
	if (c->fd >= 0)
		conn_fail(c, -ECONNRESET, "connection to ddtargetd at %s "
			  "closed by this client", c->peer);
	if (c->rx_started)
		pthread_join(c->rx, NULL);
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	pthread_cond_destroy(&c->slot_cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->ssl_mu);
	pthread_mutex_destroy(&c->send_mu);
	free(c->rb);
	free(c);
}

/* ---- sending ---- */

void conn_begin(wbuf *w, uint8_t opcode)
{
	wb_init(w);
	ddt_frame_begin(w, opcode, 0, 0, 0);
}

static int send_all(conn *c, const uint8_t *p, size_t n)
{
	char why[256] = "";
	ssize_t put;

	while (n) {
		put = sock_send(c, p, n, why, sizeof(why));
		if (put == -EINTR)
			continue;
		if (put < 0) {
			conn_fail(c, -EPIPE, "connection to ddtargetd at %s "
				  "lost while sending: %s", c->peer, why);
			return -EPIPE;
		}
		p += put;
		n -= (size_t)put;
		atomic_fetch_add(&c->wire_bytes, (uint64_t)put);
	}
	return 0;
}

/* Register k under a fresh id once a slot is free; -errno if broken. */
static int call_register(conn *c, conn_req *k)
{
	conn_req **b;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	while (!c->broken && c->inflight >= c->max_inflight)
		pthread_cond_wait(&c->slot_cv, &c->mu);
	if (c->broken) {
		rc = ddterr_set(c->broken, "%s", c->why);
	} else {
		k->id = c->next_id++;
		if (c->next_id == 0)	/* id 0 means "unreadable" */
			c->next_id = 1;
		b = &c->pending[k->id & (CONN_BUCKETS - 1)];
		k->next = *b;
		*b = k;
		c->inflight++;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Register and send; afterwards k belongs to the receiver (or the drain)
 * until it completes, so a send failure is reported through k. */
static int conn_submit(conn *c, wbuf *w, conn_cb cb, void *arg,
		       conn_req **out)
{
	conn_req *k;
	int rc;

	if (w->err || w->len < DDT_HDR_LEN)
		return ddterr_set(w->err ? w->err : -EINVAL, "%s request "
				  "does not fit one frame (a string over %d "
				  "bytes, or over %u bytes in all)",
				  w->len >= DDT_HDR_LEN ?
				  ddt_op_name(ddt_frame_opcode(w, 0)) : "a",
				  DDT_MAX_STR, DDT_MAX_PAYLOAD);
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->c = c;
	k->op = ddt_frame_opcode(w, 0);
	k->cb = cb;
	k->arg = arg;
	pthread_cond_init(&k->cv, NULL);
	rc = call_register(c, k);
	if (rc < 0) {
		pthread_cond_destroy(&k->cv);
		free(k);
		return rc;
	}
	ddt_frame_set_id(w, 0, k->id);
	ddt_frame_finish(w, 0);
	pthread_mutex_lock(&c->send_mu);
	(void)send_all(c, w->p, w->len);
	pthread_mutex_unlock(&c->send_mu);
	if (out)
		*out = k;
	return 0;
}

int conn_start(conn *c, wbuf *w, conn_req **out)
{
	return conn_submit(c, w, NULL, NULL, out);
}

int conn_send(conn *c, wbuf *w, conn_cb cb, void *arg)
{
	return conn_submit(c, w, cb, arg, NULL);
}

int conn_wait(conn_req *k, conn_reply *r)
{
	/* The receiver sets done and signals under the connection's mutex. */
	pthread_mutex_t *mu = &k->c->mu;
	int rc;

	pthread_mutex_lock(mu);
	while (!k->done)
		pthread_cond_wait(&k->cv, mu);
	pthread_mutex_unlock(mu);
	*r = k->r;
	rc = r->rc;
	if (rc < 0)
		ddterr_set(rc, "%s", r->msg);
	pthread_cond_destroy(&k->cv);
	free(k);
	return rc;
}

int conn_call(conn *c, wbuf *w, conn_reply *r)
{
	conn_req *k;
	int rc;

	rc = conn_start(c, w, &k);
	if (rc < 0)
		return rc;
	return conn_wait(k, r);
}

void conn_reply_free(conn_reply *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
}

const char *conn_tls_note(const conn *c)
{
	return c->note[0] ? c->note : NULL;
}

uint64_t conn_wire_bytes(conn *c)
{
	return atomic_load(&c->wire_bytes);
}
