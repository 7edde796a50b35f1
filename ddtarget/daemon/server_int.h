/* server_int.h - what the protocol server's three files share: the
 * server itself, a connection not yet a session (a sniff), the calls by
 * which accept.c (the listeners, sniffing) hands a connection to server.c
 * (the sessions), and those by which serve.c (the loop) starts and ends
 * both. Calls go one way: serve.c -> accept.c -> server.c. Loop thread
 * only. */
#ifndef DDTD_SERVER_INT_H
#define DDTD_SERVER_INT_H

#include <limits.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "ddtd.h"
#include "gate.h"
#include "tpool.h"

typedef struct session session;
typedef struct server server;

struct server {
	ddtd *d;
	struct event_base *base;
	tpool *workers;		/* run the requests */
	gate *gate;		/* handshakes and failed logins */
	uint64_t refused;	/* by the gate, since refused_logged */
	int64_t refused_logged;	/* ns, monotonic; loop thread */
	session *sessions;	/* loop thread only */
	struct sniff *sniffs;	/* accepted, first byte not in; loop only */
};

/* Not a session yet: accepted, in the gate, waiting for its first byte,
 * which says TLS (a handshake record) or plaintext (a frame). Loop
 * thread only. */
typedef struct sniff {
	server *srv;
	evutil_socket_t fd;
	gate_addr addr;
	int loopback;
	int64_t accepted;	/* ns, monotonic: the login deadline's start */
	char peer[64];
	struct event *ev;
	struct sniff *prev, *next;	/* the server's list */
} sniff;

/* Take n off the server's list and free it; close_fd: its socket too,
 * and its place in the gate. */
void server_sniff_free(sniff *n, int close_fd);
/* n becomes a session, over TLS if ssl (NULL: plaintext). n's socket
 * and gate place go to it; on failure both are let go. */
void server_session_start(sniff *n, SSL *ssl);
/* One error reply (opcode 0, id 0) straight to a socket that is no
 * session, in plaintext. */
void server_send_refusal(evutil_socket_t fd, int rc);
/* Over the gate's caps: the refusal, logged a line per REFUSED_LOG_S,
 * and the socket closed. */
void server_refuse_now(server *srv, evutil_socket_t fd, const char *peer,
		       int rc);

/* After the loop: the workers finish what was queued (their replies may
 * go nowhere), then every session and sniff is freed whatever its
 * references. */
void server_teardown(server *srv);

/* ---- accept.c ---- */

/* The TCP listener's callback: the connection is sniffed. */
void accept_tcp_cb(struct evconnlistener *l, evutil_socket_t fd,
		   struct sockaddr *sa, int salen, void *arg);

/* The local socket (config_local_socket), if any; its path goes when
 * the daemon stops. */
typedef struct local_listener {
	struct evconnlistener *l;
	char path[PATH_MAX];
} local_listener;

/* Listen on it: 0 (also when none is set, or the default path is too
 * long), or -errno with a message. */
int accept_listen_local(server *srv, local_listener *ll);
void accept_local_close(server *srv, local_listener *ll);

#endif
