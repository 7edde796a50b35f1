/* conn.h - one pipelined connection to ddtargetd (conn.c): requests go out
 * whole, replies are matched to them by id. Private to the client library;
 * front ends have ddtc.h. */
#ifndef DDTC_CONN_H
#define DDTC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "tlsc.h"
#include "wire.h"

#define CONN_MSG_LEN	512	/* as long as a ddterr message */

typedef struct conn conn;

/* A finished request: rc 0 and the reply's payload, or a negative errno
 * and a one-line reason (the target's error message, or why the
 * connection broke). */
typedef struct conn_reply {
	int rc;
	uint8_t *buf;		/* malloc'd payload; a callback may keep it by
				   setting buf to NULL */
	size_t len;
	char msg[CONN_MSG_LEN];
} conn_reply;

/* Runs on the receiver thread (or on the thread that closes the
 * connection): it must not block on the connection, i.e. never wait for a
 * reply nor send a request itself. */
typedef void (*conn_cb)(void *arg, conn_reply *r);

/* A request sent with conn_start(), to be collected with conn_wait(). */
typedef struct conn_req conn_req;

/* Connect to host:port (TCP_NODELAY, large socket buffers), over TLS
 * with the certificate trusted as tls says (NULL: plaintext), and start
 * the receiver thread. Until conn_set_inflight() one request is in flight
 * at a time. A target that sends nothing for timeout_s seconds while
 * requests wait fails the connection (-ETIMEDOUT); an idle one is no
 * failure. 0 or -errno with a message naming the address. */
int conn_open(conn **out, const char *host, int port, int timeout_s,
	      const tlsc_trust *tls);
/* The line tlsc_connect left for the user (a certificate pinned now), or
 * NULL. */
const char *conn_tls_note(const conn *c);
/* The limit the target's HELLO gave. */
void conn_set_inflight(conn *c, uint32_t max);
/* Fail whatever is pending, join the receiver, close the socket. */
void conn_close(conn *c);

/* Begin a request frame in w (initialised here): the id and the length
 * are filled in when it is sent. Append the payload with wb_*(). */
void conn_begin(wbuf *w, uint8_t opcode);

/* Send the request in w and wait for its reply. On success r holds the
 * payload (conn_reply_free() it); an error reply or a broken connection
 * returns its negative errno with the message in ddterr. w may be reused
 * as soon as this returns (true of conn_start and conn_send too). */
int conn_call(conn *c, wbuf *w, conn_reply *r);
/* Send without waiting; conn_wait() collects the reply (and must be
 * called exactly once for every call started). */
int conn_start(conn *c, wbuf *w, conn_req **out);
int conn_wait(conn_req *k, conn_reply *r);
/* Send; cb(arg, reply) runs once the reply is in. Returns 0 when the
 * request was taken: cb then runs exactly once, with the reply or with
 * the error that broke the connection. A negative return means it was not
 * taken and cb will never run. */
int conn_send(conn *c, wbuf *w, conn_cb cb, void *arg);
void conn_reply_free(conn_reply *r);

/* Bytes written to the socket so far (all frames). */
uint64_t conn_wire_bytes(conn *c);

#endif
