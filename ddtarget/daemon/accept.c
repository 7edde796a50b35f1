/* accept.c - how a connection becomes a session (server_int.h): on the
 * TCP port, its first bytes are sniffed, a TLS handshake record starting a
 * TLS session and a frame a plaintext one where the target takes them
 * (PROTOCOL.md section 1, TLS); on the local socket, the host's own,
 * every session is plaintext and its peer is known by its uid. Both pass
 * the gate first. Loop thread only. */
#include "server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "ddterr.h"
#include "log.h"
#include "net.h"
#include "now.h"
#include "tlsd.h"

/* A TLS record's first byte when it carries a handshake (a ClientHello):
 * never the first byte of a frame (PROTOCOL.md section 1, TLS). */
#define TLS_RECORD_HANDSHAKE	0x16
/* A first TLS record not whole enough to tell: looked at again in. */
#define SNIFF_RETRY_MS		20
#define LOCAL_SNDBUF		(4 << 20)	/* a local session's send buffer */

/* What the peer's first bytes are: 1 a TLS record carrying a handshake
 * (0x16, then version 3.1 to 3.4), 0 a frame (whose length would be over
 * what section 3 allows before login if it began so), -EAGAIN too few
 * bytes yet to tell (or none), -1 the peer is gone. */
static int sniff_is_tls(evutil_socket_t fd)
{
	uint8_t b[3];
	ssize_t n = recv(fd, b, sizeof(b), MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return -EAGAIN;	/* a timer fired a little early, say */
	if (n <= 0)
		return -1;
	if (b[0] != TLS_RECORD_HANDSHAKE)
		return 0;
	if (n < 3)
		return -EAGAIN;
	return b[1] == 3 && b[2] >= 1 && b[2] <= 4;
}

static void sniff_cb(evutil_socket_t fd, short what, void *arg);

/* The login deadline passed before the first bytes told what the peer
 * speaks: closed as deadline_cb closes a session, with the same line. */
static void sniff_expired(sniff *n)
{
	int rc = ddterr_set(-EPERM, "not logged in within %d s: closing",
			    n->srv->d->cfg.login_timeout);

	log_info("session %s: %s", n->peer, ddterr_last(rc));
	server_send_refusal(n->fd, rc);
	server_sniff_free(n, 1);
}

/* Look again once SNIFF_RETRY_MS has passed, if the deadline allows: a
 * timer now, since the socket stays readable with the bytes peeked. */
static void sniff_later(sniff *n)
{
	int64_t left = (int64_t)n->srv->d->cfg.login_timeout * 1000000 -
		       (now_mono_ns() - n->accepted) / 1000;
	struct timeval tv = { 0, SNIFF_RETRY_MS * 1000 };

	event_del(n->ev);
	if (left <= 0 || event_assign(n->ev, n->srv->base, -1, 0, sniff_cb,
				      n) != 0 || event_add(n->ev, &tv) != 0)
		sniff_expired(n);
}

/* The one-line refusal of a plaintext peer (section 1, TLS). */
static void refuse_plain(sniff *n)
{
	server *srv = n->srv;
	int rc = ddterr_set(-EPERM, "the target requires TLS: connect with "
			    "TLS (ddt does unless told --no-tls)%s",
			    srv->d->cfg.tls_plain_loopback ? "; plaintext is "
			    "taken from loopback only" : "");

	gate_leave(srv->gate, &n->addr);
	server_refuse_now(srv, n->fd, n->peer, rc);
	server_sniff_free(n, 0);
}

/* The first bytes are in (or a deadline passed): a TLS handshake record
 * starts a TLS session; a frame, a plaintext one if the target takes
 * plaintext from this peer, else the refusal. The bytes are only peeked:
 * the session reads them again. */
static void sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	sniff *n = arg;
	server *srv = n->srv;
	int tls;
	SSL *ssl;

	(void)fd;	/* -1 when sniff_later's timer calls */
	if ((what & EV_TIMEOUT) && !(what & EV_READ) &&
	    now_mono_ns() - n->accepted >=
	    (int64_t)srv->d->cfg.login_timeout * 1000000000) {
		sniff_expired(n);
		return;
	}
	tls = sniff_is_tls(n->fd);
	if (tls == -EAGAIN) {
		sniff_later(n);
	} else if (tls < 0) {
		server_sniff_free(n, 1);	/* gone before a byte */
	} else if (tls) {
		ssl = tlsd_session_new(srv->d->tls);
		if (ssl)
			server_session_start(n, ssl);
		else
			server_sniff_free(n, 1);
	} else if (srv->d->cfg.tls_plain_loopback && n->loopback) {
		server_session_start(n, NULL);
	} else {
		refuse_plain(n);
	}
}

void accept_tcp_cb(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	server *srv = arg;
	struct timeval tv = { srv->d->cfg.login_timeout, 0 };
	sniff *n;
	int one = 1, rc;

	(void)l;
	(void)salen;
	n = calloc(1, sizeof(*n));
	if (!n) {
		evutil_closesocket(fd);
		return;
	}
	net_peer_name(sa, n->peer, sizeof(n->peer));
	gate_addr_of(sa, &n->addr);
	rc = gate_enter(srv->gate, &n->addr);
	if (rc < 0) {
		server_refuse_now(srv, fd, n->peer, rc);
		free(n);
		return;
	}
	n->srv = srv;
	n->fd = fd;
	n->loopback = net_is_loopback(sa);
	n->accepted = now_mono_ns();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A client that vanishes without a FIN (a cut cable, a crashed host)
	 * would hold its session, and a slot under max_sessions, for hours. */
	net_keepalive(fd);
	n->next = srv->sniffs;
	if (n->next)
		n->next->prev = n;
	srv->sniffs = n;
	n->ev = event_new(srv->base, fd, EV_READ, sniff_cb, n);
	if (!n->ev || event_add(n->ev, &tv) != 0)
		server_sniff_free(n, 1);
}

/* A local peer is known by its uid: the gate counts its handshakes
 * apart from those of other local users and of every network address.
 * The local socket is this host's own: its sessions are plaintext
 * (PROTOCOL.md section 1), with nothing to sniff. */
static void accept_local_cb(struct evconnlistener *l, evutil_socket_t fd,
			    struct sockaddr *sa, int salen, void *arg)
{
	server *srv = arg;
	long uid = net_local_peer_uid(fd);
	int sndbuf = LOCAL_SNDBUF, rc;
	sniff *n;

	(void)l;
	(void)sa;
	(void)salen;
	n = calloc(1, sizeof(*n));
	if (!n) {
		evutil_closesocket(fd);
		return;
	}
	snprintf(n->peer, sizeof(n->peer), "local:uid=%ld", uid);
	gate_addr_local(uid, &n->addr);
	rc = gate_enter(srv->gate, &n->addr);
	if (rc < 0) {
		server_refuse_now(srv, fd, n->peer, rc);
		free(n);
		return;
	}
	/* A local stream's replies queue in its sender's buffer alone (a
	 * TCP window grows; this does not): at the 208 KiB default, a 4 MiB
	 * READ reply would take 20 wake-ups of the reader. Best effort: the
	 * kernel caps it at net.core.wmem_max. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	n->srv = srv;
	n->fd = fd;
	n->loopback = 1;
	n->accepted = now_mono_ns();
	n->next = srv->sniffs;	/* session_start takes it off the list */
	if (n->next)
		n->next->prev = n;
	srv->sniffs = n;
	server_session_start(n, NULL);
}

int accept_listen_local(server *srv, local_listener *ll)
{
	int fd, rc;

	if (config_local_socket(&srv->d->cfg, ll->path, sizeof(ll->path)) < 0)
		return ddterr_set(-ENAMETOOLONG, "unix_socket: the path is "
				  "too long");
	if (!ll->path[0])
		return 0;
	rc = net_local_listen(ll->path, 128, srv->d->cfg.unix_socket_gid, &fd);
	if (rc == -ENAMETOOLONG && !srv->d->cfg.unix_socket[0]) {
		/* Only the default place: a deep store runs without it. */
		log_warn("%s; no local socket (set unix_socket)",
			 ddterr_last(rc));
		ll->path[0] = '\0';
		return 0;
	}
	if (rc < 0)
		return rc;
	ll->l = evconnlistener_new(srv->base, accept_local_cb, srv,
				   LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!ll->l) {
		close(fd);
		unlink(ll->path);
		return ddterr_set(-ENOMEM, "cannot listen on the local socket "
				  "%s", ll->path);
	}
	log_info("listening on the local socket %s", ll->path);
	return 0;
}

void accept_local_close(server *srv, local_listener *ll)
{
	(void)srv;
	if (!ll->l)
		return;
	evconnlistener_free(ll->l);
	ll->l = NULL;
	unlink(ll->path);
}

