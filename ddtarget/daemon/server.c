/* server.c - sessions on libevent (memcached's shape: an event loop for the
 * sockets, a worker pool for the work).
 *
 * A connection becomes a session in accept.c (sniffed on the TCP port: TLS
 * or, where taken, plaintext; plaintext on the local socket), which calls
 * server_session_start(); a TLS session runs over bufferevent_openssl
 * (tlsd.h holds the key and certificate). The TLS handshake runs on the
 * loop thread; records are sealed by whichever thread writes to the
 * session's bufferevent, under its lock.
 *
 * The loop thread only frames: it reads a header, waits for the whole
 * payload, and queues the request. A worker runs it (ops.c) and writes the
 * reply into the session's bufferevent, which is thread-safe. A session
 * with DDT_MAX_INFLIGHT requests queued stops being read until replies
 * drain, so a fast client cannot queue unbounded work. A session lives
 * until its socket is gone and its last request has finished: requests and
 * the loop each hold a reference, and the last one frees it on the loop
 * thread.
 *
 * Before login (PROTOCOL.md section 3, Before login) a session is a
 * handshake: the gate (gate.h) caps them per address and in total, it
 * must log in within login_timeout, may send no frame over
 * LOGIN_MAX_PAYLOAD, and its AUTHs run one at a time, each held on the
 * loop (never on a worker) while its address's backoff lasts. */
#include "server_int.h"
#include "ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "ddterr.h"
#include "gate.h"
#include "log.h"
#include "net.h"
#include "now.h"
#include "tlsd.h"
#include "tpool.h"

#define SESSION_READ_CHUNK	(1u << 20)
/* The largest payload before a successful AUTH: HELLO and AUTH need at
 * most 2 + 2 * (2 + DDT_MAX_STR); so a peer not logged in buffers at most
 * this and one read of the same size. */
#define LOGIN_MAX_PAYLOAD	(64u << 10)
/* Requests in flight before login (HELLO and AUTH need one at a time):
 * with the above, what a handshake can make the target hold is bounded,
 * LOGIN_MAX_INFLIGHT + 2 times LOGIN_MAX_PAYLOAD. */
#define LOGIN_MAX_INFLIGHT	4
/* An AUTH still held or running at the deadline: looked at again in. */
#define DEADLINE_RECHECK_S	1
/* The gate's refusals are logged one line per this many seconds. */
#define REFUSED_LOG_S		10

typedef struct request request;

typedef struct session {
	server *srv;
	struct bufferevent *bev;
	ops_session ss;
	atomic_int refs;
	atomic_int inflight;
	atomic_int closing;	/* no more requests are read */
	atomic_int authed;	/* an AUTH succeeded */
	atomic_int in_gate;	/* holds a handshake of the gate */
	atomic_int auth_busy;	/* an AUTH held or running: read no more */
	int paused;		/* reading stopped (in flight, AUTH) */
	gate_addr addr;
	gate_addr user_key;	/* the user of the AUTH under way */
	struct event *deadline;	/* login_timeout; loop thread */
	struct event *hold_ev;	/* the held AUTH's backoff; loop thread */
	request *held;		/* that AUTH */
	struct session *prev, *next;	/* the server's list; loop thread */
} session;

struct request {
	session *s;
	ddt_hdr h;
	uint8_t *payload;
};

static void session_unref(session *s);

/* ---- session lifetime ---- */

static void session_free(session *s)
{
	server *srv = s->srv;

	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	bufferevent_free(s->bev);
	if (s->deadline)
		event_free(s->deadline);
	if (s->hold_ev)
		event_free(s->hold_ev);
	if (s->held) {		/* only at shutdown */
		free(s->held->payload);
		free(s->held);
	}
	if (atomic_load(&s->in_gate))
		gate_leave(srv->gate, &s->addr);
	ops_session_end(srv->d, &s->ss);
	if (s->ss.authed)
		__atomic_fetch_sub(&srv->d->sessions, 1, __ATOMIC_RELAXED);
	ops_session_destroy(&s->ss);
	free(s);
}

static void session_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_free(arg);
}

/* The last reference may drop on a worker: the free happens on the loop,
 * which owns the session list and the bufferevent's callbacks. */
static void session_unref(session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (event_base_once(s->srv->base, -1, EV_TIMEOUT, session_free_cb, s,
			    NULL) != 0)
		log_err("cannot schedule freeing session %s", s->ss.peer);
}

/* Stop reading; drop the loop's reference once the output has drained, so
 * a final error reply still reaches the client. Loop thread. */
static void write_drained_cb(struct bufferevent *bev, void *arg)
{
	session *s = arg;

	(void)bev;
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	session_unref(s);
}

/* An AUTH held for its address's backoff is dropped with its session. */
static void drop_held(session *s)
{
	request *q = s->held;

	if (!q)
		return;
	s->held = NULL;
	evtimer_del(s->hold_ev);
	free(q->payload);
	free(q);
	atomic_fetch_sub(&s->inflight, 1);
	session_unref(s);	/* the request's reference */
}

static void session_close(session *s, int flush)
{
	if (atomic_exchange(&s->closing, 1))
		return;
	drop_held(s);
	bufferevent_disable(s->bev, EV_READ);
	if (flush && evbuffer_get_length(bufferevent_get_output(s->bev)) > 0) {
		bufferevent_setcb(s->bev, NULL, write_drained_cb, NULL, s);
		return;
	}
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	session_unref(s);
}

static void session_close_cb(evutil_socket_t fd, short what, void *arg)
{
	session *s = arg;

	(void)fd;
	(void)what;
	session_close(s, 1);
	session_unref(s);	/* the reference the worker handed over */
}

/* ---- replies ---- */

static void free_frame(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	free(arg);
}

/* A large reply's buffer, going back to the pool once sent. */
typedef struct pooled {
	bufpool *bp;
	uint8_t *p;
	size_t cap;
} pooled;

static void release_pooled(const void *data, size_t len, void *arg)
{
	pooled *o = arg;

	(void)data;
	(void)len;
	bufpool_put(o->bp, o->p, o->cap);
	free(o);
}

/* Queue the frame in w for the session. The buffer is handed to the
 * output as it is, not copied (a READ reply is megabytes), and a large
 * one goes back to the daemon's pool once sent; w is then empty. */
static void send_frame(session *s, wbuf *w)
{
	size_t n, cap = w->cap;
	pooled *o = NULL;
	uint8_t *p;
	int rc;

	if (ddt_frame_finish(w, 0) < 0)
		return;
	wb_take(w, &p, &n);
	if (cap >= BUFPOOL_MIN && (o = malloc(sizeof(*o))))
		*o = (pooled){ s->srv->d->replies, p, cap };
	if (o)
		rc = evbuffer_add_reference(bufferevent_get_output(s->bev), p,
					    n, release_pooled, o);
	else
		rc = evbuffer_add_reference(bufferevent_get_output(s->bev), p,
					    n, free_frame, p);
	if (rc < 0) {
		free(p);
		free(o);
		log_warn("session %s: cannot queue a reply", s->ss.peer);
	}
}

/* An error reply: status and a one-line message. */
static void send_error(session *s, uint8_t op, uint32_t id, int rc)
{
	wbuf w;

	wb_init(&w);
	ddt_frame_begin(&w, op, DDT_F_REPLY, id, ops_status(rc));
	wb_str(&w, ddterr_last(rc));
	send_frame(s, &w);
	wb_free(&w);
}

/* An AUTH ended (worker): logged in, the session leaves the gate and
 * may read megabytes at a time; refused, its address's next AUTHs wait.
 * Either way the loop may frame the session's next request. */
static void auth_done(session *s, int rc)
{
	server *srv = s->srv;

	if (rc == 0) {
		gate_auth_ok(srv->gate, &s->addr, now_mono_ns() / 1000000);
		gate_auth_ok(srv->gate, &s->user_key, now_mono_ns() / 1000000);
	}
	if (rc == 0 && !atomic_exchange(&s->authed, 1)) {
		if (atomic_exchange(&s->in_gate, 0))
			gate_leave(srv->gate, &s->addr);
		bufferevent_set_max_single_read(s->bev, SESSION_READ_CHUNK);
	} else if (rc == -EACCES) {
		int64_t now = now_mono_ns() / 1000000;
		int64_t d = gate_auth_failed(srv->gate, &s->addr, now);
		int64_t du = gate_auth_failed(srv->gate, &s->user_key, now);

		log_info("session %s: the next AUTH from this address waits "
			 "%lld ms, and for this user from any address %lld ms",
			 s->ss.peer, (long long)d, (long long)du);
	}
	atomic_store(&s->auth_busy, 0);
}

/* The most requests the session may have in flight now. */
static int session_max_inflight(session *s)
{
	return atomic_load(&s->authed) ? DDT_MAX_INFLIGHT : LOGIN_MAX_INFLIGHT;
}

/* One request of s is done: 1 if that brings it below its limit. */
static int session_in_flight_done(session *s)
{
	return atomic_fetch_sub(&s->inflight, 1) == session_max_inflight(s);
}

/* A worker's job (worker: no per-thread state). */
static void run_request(void *worker, void *arg)
{
	request *q = arg;
	session *s = q->s;
	int q_auth = q->h.opcode == DDT_OP_AUTH;
	wbuf w;
	int rc = 0, closes = 0;

	(void)worker;
	wb_init(&w);
	if (!atomic_load(&s->closing)) {
		ddt_frame_begin(&w, q->h.opcode, DDT_F_REPLY, q->h.id, 0);
		rc = ops_handle(s->srv->d, &s->ss, q->h.opcode, q->payload,
				ddt_payload_len(&q->h), &w);
		if (q_auth)
			auth_done(s, rc);
	}
	closes = ops_ends_session(&s->ss, q->h.opcode, rc);
	if (rc == 0 && !atomic_load(&s->closing))
		send_frame(s, &w);
	else if (rc < 0)
		send_error(s, q->h.opcode, q->h.id, rc);
	if (rc == -EPROTO)
		log_warn("session %s: protocol error, closing: %s",
			 s->ss.peer, ddterr_last(rc));
	else if (rc < 0 && closes && rc != -EACCES)
		log_info("session %s: %s failed, closing: %s", s->ss.peer,
			 ddt_op_name(q->h.opcode), ddterr_last(rc));
	else if (rc < 0 && !closes)
		log_debug("session %s: %s: %s", s->ss.peer,
			  ddt_op_name(q->h.opcode), ddterr_last(rc));
	wb_free(&w);
	free(q->payload);
	free(q);

	if (closes) {
		atomic_fetch_sub(&s->inflight, 1);
		/* Our reference goes to the loop, which closes: from here on
		 * s may be freed at any moment. */
		if (event_base_once(s->srv->base, -1, EV_TIMEOUT,
				    session_close_cb, s, NULL) != 0)
			session_unref(s);
		return;
	}
	/* Below the limit again, or the AUTH answered: let the loop read
	 * (and frame what is already buffered, which no new data would
	 * announce). */
	if (session_in_flight_done(s) || q_auth)
		bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	session_unref(s);
}

/* ---- framing (loop thread) ---- */

/* A frame refused before it is a request (its header breaks section 1 of
 * PROTOCOL.md, or the target cannot take it in): none of its fields is
 * trusted, so the reply carries opcode 0 and id 0. */
static void protocol_error(session *s, int rc)
{
	log_warn("session %s: protocol error, closing: %s", s->ss.peer,
		 ddterr_last(rc));
	send_error(s, 0, 0, rc);
	session_close(s, 1);
}

/* Hand q to the workers; the session's reference and in-flight count
 * are taken already. 0, or -1 (the session is closing). */
static int queue_request(session *s, request *q)
{
	if (tpool_push(s->srv->workers, run_request, q) == 0)
		return 0;
	atomic_fetch_sub(&s->inflight, 1);
	session_unref(s);
	free(q->payload);
	free(q);
	protocol_error(s, ddterr_set(-EIO, "out of memory"));
	return -1;
}

/* The held AUTH's backoff is over: it runs now. */
static void hold_cb(evutil_socket_t fd, short what, void *arg)
{
	session *s = arg;
	request *q = s->held;

	(void)fd;
	(void)what;
	s->held = NULL;
	if (q)
		queue_request(s, q);
}

/* The key of the user an AUTH names (its first field); a payload that
 * does not parse gets the empty name's, and fails in ops.c. */
static void auth_user_key(const request *q, gate_addr *out)
{
	char user[DDT_MAX_STR + 1];
	rbuf r;

	rb_init(&r, q->payload, ddt_payload_len(&q->h));
	rb_str(&r, user, sizeof(user));
	gate_addr_user(r.err ? "" : user, out);
}

/* An AUTH: no other request of the session is framed until it is
 * answered (so a session's failures are counted one by one), and it waits
 * on the loop while its address's backoff lasts. 0 or -1 as above. */
static int queue_auth(session *s, request *q)
{
	int64_t now = now_mono_ns() / 1000000, wait, wait_user;
	struct timeval tv;

	auth_user_key(q, &s->user_key);
	wait = gate_auth_wait(s->srv->gate, &s->addr, now);
	wait_user = gate_auth_wait(s->srv->gate, &s->user_key, now);
	if (wait_user > wait)
		wait = wait_user;
	tv = (struct timeval){ (time_t)(wait / 1000),
			       (suseconds_t)(wait % 1000) * 1000 };
	atomic_store(&s->auth_busy, 1);
	if (wait <= 0 || evtimer_add(s->hold_ev, &tv) != 0)
		return queue_request(s, q);
	log_debug("session %s: AUTH held %lld ms (failed logins from this "
		  "address, or for this user)", s->ss.peer, (long long)wait);
	s->held = q;
	return 0;
}

/* A header that section 1 accepts, checked against what the session may
 * send now: before login, no frame over LOGIN_MAX_PAYLOAD (refused before
 * its payload is read). 0 or -EPROTO. */
static int frame_allowed(session *s, const ddt_hdr *h)
{
	if (h->flags & DDT_F_REPLY)
		return ddterr_set(-EPROTO, "a reply frame sent to the target");
	if (!ddt_op_known(h->opcode))
		return ddterr_set(-EPROTO, "unknown opcode 0x%02x", h->opcode);
	if (!atomic_load(&s->authed) && ddt_payload_len(h) > LOGIN_MAX_PAYLOAD)
		return ddterr_set(-EPROTO, "a frame of %u bytes before "
				  "login: at most %u until AUTH succeeds",
				  ddt_payload_len(h), LOGIN_MAX_PAYLOAD);
	return 0;
}

/* Take one whole frame off the input, if there is one. 1: queued a
 * request; 0: need more bytes (or paused); -1: the session is closing. */
static int take_frame(session *s, struct evbuffer *in)
{
	uint8_t hb[DDT_HDR_LEN];
	request *q;
	size_t plen;
	int rc;

	if (evbuffer_get_length(in) < DDT_HDR_LEN)
		return 0;
	evbuffer_copyout(in, hb, sizeof(hb));
	q = calloc(1, sizeof(*q));
	if (!q) {
		protocol_error(s, ddterr_set(-EIO, "out of memory"));
		return -1;
	}
	rc = ddt_hdr_parse(hb, &q->h);
	if (rc == 0)
		rc = frame_allowed(s, &q->h);
	if (rc < 0) {
		protocol_error(s, rc);
		free(q);
		return -1;
	}
	plen = ddt_payload_len(&q->h);
	if (evbuffer_get_length(in) < DDT_HDR_LEN + plen) {
		free(q);
		return 0;
	}
	q->payload = malloc(plen ? plen : 1);
	if (!q->payload) {
		free(q);
		protocol_error(s, ddterr_set(-EIO, "out of memory"));
		return -1;
	}
	evbuffer_drain(in, DDT_HDR_LEN);
	evbuffer_remove(in, q->payload, plen);
	q->s = s;
	atomic_fetch_add(&s->refs, 1);
	atomic_fetch_add(&s->inflight, 1);
	rc = q->h.opcode == DDT_OP_AUTH ? queue_auth(s, q)
					: queue_request(s, q);
	return rc < 0 ? -1 : 1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!atomic_load(&s->closing)) {
		if (atomic_load(&s->inflight) >= session_max_inflight(s) ||
		    atomic_load(&s->auth_busy)) {
			/* Flow control: the kernel's buffers fill and TCP
			 * slows the client down. */
			bufferevent_disable(bev, EV_READ);
			s->paused = 1;
			return;
		}
		if (s->paused) {
			bufferevent_enable(bev, EV_READ);
			s->paused = 0;
		}
		if (take_frame(s, in) <= 0)
			return;
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	session *s = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (what & BEV_EVENT_ERROR)
			log_debug("session %s: %s", s->ss.peer,
				  evutil_socket_error_to_string(
					  EVUTIL_SOCKET_ERROR()));
		log_debug("session %s: closed", s->ss.peer);
		session_close(s, 0);
	}
}

/* Not logged in by login_timeout: closed, with an error reply of opcode
 * 0 and id 0 (section 3). An AUTH held or running is let finish. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	session *s = arg;
	struct timeval tv = { DEADLINE_RECHECK_S, 0 };
	int rc;

	(void)fd;
	(void)what;
	/* auth_busy first: once it reads 0 no AUTH can start (the loop
	 * starts them), so authed then reads what holds. */
	if (atomic_load(&s->auth_busy)) {
		evtimer_add(s->deadline, &tv);
		return;
	}
	if (atomic_load(&s->authed) || atomic_load(&s->closing))
		return;
	rc = ddterr_set(-EPERM, "not logged in within %d s: closing",
			s->srv->d->cfg.login_timeout);
	log_info("session %s: %s", s->ss.peer, ddterr_last(rc));
	send_error(s, 0, 0, rc);
	session_close(s, 1);
}

/* One error reply (opcode 0, id 0) written straight to a socket that is
 * no session, in plaintext: what the peer sent is read first, so that
 * the close that follows does not reset the connection. */
void server_send_refusal(evutil_socket_t fd, int rc)
{
	uint8_t junk[4096];
	wbuf w;

	wb_init(&w);
	ddt_frame_begin(&w, 0, DDT_F_REPLY, 0, ops_status(rc));
	wb_str(&w, ddterr_last(rc));
	if (ddt_frame_finish(&w, 0) == 0)
		(void)send(fd, w.p, w.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	wb_free(&w);
	(void)recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
}

/* Over the gate's caps: the refusal (EBUSY), and the socket closed at
 * once. A flood of them is logged one line per REFUSED_LOG_S, not one
 * per connection. */
void server_refuse_now(server *srv, evutil_socket_t fd, const char *peer,
		       int rc)
{
	int64_t now = now_mono_ns();

	srv->refused++;
	if (now - srv->refused_logged >= REFUSED_LOG_S * 1000000000LL) {
		log_info("session %s: refused (%llu so since the last such "
			 "line): %s", peer, (unsigned long long)srv->refused,
			 ddterr_last(rc));
		srv->refused = 0;
		srv->refused_logged = now;
	}
	server_send_refusal(fd, rc);
	evutil_closesocket(fd);
}

/* ---- starting a session (accept.c hands it over) ---- */

void server_sniff_free(sniff *n, int close_fd)
{
	server *srv = n->srv;

	if (n->prev)
		n->prev->next = n->next;
	else
		srv->sniffs = n->next;
	if (n->next)
		n->next->prev = n->prev;
	if (n->ev)
		event_free(n->ev);
	if (close_fd) {
		gate_leave(srv->gate, &n->addr);
		evutil_closesocket(n->fd);
	}
	free(n);
}

/* The session's bufferevent: TLS over the socket (accepting), or the
 * socket itself. NULL on failure (ssl is freed, fd is not closed). */
static struct bufferevent *session_bev(server *srv, evutil_socket_t fd,
				       SSL *ssl)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE;
	struct bufferevent *bev;

	if (!ssl)
		return bufferevent_socket_new(srv->base, fd, opts);
	bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
					     BUFFEREVENT_SSL_ACCEPTING, opts);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* A peer that closes without TLS's close_notify is an end of
	 * session like any other, not an error to log. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The session's timers: its login deadline (login_timeout from the
 * accept), and the one that holds its AUTHs. 0 or -1. */
static int session_timers(server *srv, session *s, int64_t accepted)
{
	int64_t left = (int64_t)srv->d->cfg.login_timeout * 1000000 -
		       (now_mono_ns() - accepted) / 1000;
	struct timeval tv = { 0, 0 };

	if (left > 0) {
		tv.tv_sec = (time_t)(left / 1000000);
		tv.tv_usec = (suseconds_t)(left % 1000000);
	}
	s->deadline = evtimer_new(srv->base, deadline_cb, s);
	s->hold_ev = evtimer_new(srv->base, hold_cb, s);
	if (!s->deadline || !s->hold_ev || evtimer_add(s->deadline, &tv))
		return -1;
	return 0;
}

/* n becomes a session, over TLS if ssl. n's socket and gate place go to
 * it; on failure both are let go. */
void server_session_start(sniff *n, SSL *ssl)
{
	server *srv = n->srv;
	session *s = calloc(1, sizeof(*s));

	if (!s) {
		SSL_free(ssl);
		server_sniff_free(n, 1);
		return;
	}
	s->addr = n->addr;
	atomic_init(&s->in_gate, 1);
	s->srv = srv;
	atomic_init(&s->refs, 1);
	ops_session_init(&s->ss, n->peer);
	s->bev = session_bev(srv, n->fd, ssl);
	if (!s->bev || session_timers(srv, s, n->accepted) < 0) {
		if (s->bev)
			bufferevent_free(s->bev);	/* closes the socket */
		else
			evutil_closesocket(n->fd);
		if (s->deadline)
			event_free(s->deadline);
		if (s->hold_ev)
			event_free(s->hold_ev);
		gate_leave(srv->gate, &s->addr);
		ops_session_destroy(&s->ss);
		free(s);
		server_sniff_free(n, 0);
		return;
	}
	log_debug("session %s: connected%s", n->peer, ssl ? " (TLS)" :
		  " (plaintext, local)");
	server_sniff_free(n, 0);
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
	/* Segment uploads are megabytes a frame: libevent's default 16 KiB
	 * per read would cost a syscall pair per 16 KiB. Before login no
	 * frame is larger than LOGIN_MAX_PAYLOAD, and no read either. */
	bufferevent_set_max_single_read(s->bev, LOGIN_MAX_PAYLOAD);
	bufferevent_set_max_single_write(s->bev, SESSION_READ_CHUNK);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void server_teardown(server *srv)
{
	tpool_free(srv->workers);
	srv->workers = NULL;
	while (srv->sessions)
		session_free(srv->sessions);
	while (srv->sniffs)
		server_sniff_free(srv->sniffs, 1);
}
