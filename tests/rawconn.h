/* rawconn.h - speaking PROTOCOL.md by hand to a test's ddtargetd (no client
 * library): frames out and in, a request and its reply, HELLO and AUTH,
 * and what a test needs to see the target end a session. For the tests
 * that check the wire itself (test_daemon.c, test_proto.c). */
#ifndef TEST_RAWCONN_H
#define TEST_RAWCONN_H

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "tap.h"
#include "wire.h"

static uint32_t next_id = 1;

static inline int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static inline int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = read(fd, b, n);

		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One reply: 0 and its header and payload (malloc'd), or -1 at EOF. */
static inline int recv_frame(int fd, ddt_hdr *h, uint8_t **payload)
{
	uint8_t hb[DDT_HDR_LEN];
	size_t n;

	*payload = NULL;
	if (read_all(fd, hb, sizeof(hb)) < 0 || ddt_hdr_parse(hb, h) < 0)
		return -1;
	n = ddt_payload_len(h);
	*payload = malloc(n ? n : 1);
	if (!*payload || read_all(fd, *payload, n) < 0)
		return -1;
	return 0;
}

/* Send request op (id) with payload p (may be NULL). 0 or -1. */
static inline int send_req(int fd, uint8_t op, uint32_t id, const wbuf *p)
{
	wbuf w;
	int rc;

	wb_init(&w);
	ddt_frame_begin(&w, op, 0, id, 0);
	if (p && p->len)
		wb_bytes(&w, p->p, p->len);
	rc = ddt_frame_finish(&w, 0) < 0 ? -1 : write_all(fd, w.p, w.len);
	wb_free(&w);
	return rc;
}

/* Send op with payload p (may be NULL) and wait for its reply. Returns the
 * reply's status, or -1 if the connection ended or the reply is not this
 * request's (another id or opcode, or no DDT_F_REPLY). *out (if not NULL)
 * gets the payload, to free; errmsg (if not NULL) an error reply's
 * message. */
static inline int call(int fd, uint8_t op, const wbuf *p, uint8_t **out,
		       size_t *out_len, char *errmsg)
{
	uint32_t id = next_id++;
	uint8_t *payload;
	ddt_hdr h;

	if (send_req(fd, op, id, p) < 0 || recv_frame(fd, &h, &payload) < 0)
		return -1;
	if (h.id != id || !(h.flags & DDT_F_REPLY) || h.opcode != op) {
		free(payload);
		return -1;
	}
	if (h.status && errmsg) {
		rbuf r;

		rb_init(&r, payload, ddt_payload_len(&h));
		rb_str(&r, errmsg, DDT_MAX_STR + 1);
	}
	if (out) {
		*out = payload;
		if (out_len)
			*out_len = ddt_payload_len(&h);
	} else {
		free(payload);
	}
	return (int)h.status;
}

static inline int hello(int fd, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, DDT_PROTO_VERSION);
	wb_str(&p, "rawconn");
	st = call(fd, DDT_OP_HELLO, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static inline int auth(int fd, const char *user, const char *pw, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, user);
	wb_str(&p, pw);
	st = call(fd, DDT_OP_AUTH, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

/* A session logged in as admin with the password the target made. */
static inline int login(const test_daemon *d)
{
	int fd = tcp_connect(d->port);

	if (fd < 0 || hello(fd, NULL) != 0 ||
	    auth(fd, "admin", d->password, NULL) != 0)
		tap_bail("cannot log in to the daemon (see %s)", d->log);
	return fd;
}

/* The connection was closed by the daemon (after its error reply). */
static inline int closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b;

	if (poll(&p, 1, 5000) <= 0)
		return 0;
	return read(fd, &b, 1) == 0;
}

/* A raw frame: header fields as given (id 99), payload p. */
static inline int send_raw(int fd, uint32_t length, uint8_t version,
			   uint8_t op, uint16_t flags, const void *p, size_t n)
{
	ddt_hdr h = { .length = length, .version = version, .opcode = op,
		      .flags = flags, .id = 99 };
	uint8_t hb[DDT_HDR_LEN];

	ddt_hdr_pack(&h, hb);
	return write_all(fd, hb, sizeof(hb)) || (n && write_all(fd, p, n));
}

/* The next reply is DDT_EPROTO and then the target closes; fd is closed. */
static inline int expect_eproto(int fd)
{
	uint8_t *payload = NULL;
	ddt_hdr h;
	int good;

	good = recv_frame(fd, &h, &payload) == 0 && h.status == DDT_EPROTO &&
	       closed_by_peer(fd);
	free(payload);
	close(fd);
	return good;
}

#endif
