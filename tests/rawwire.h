/* rawwire.h - PROTOCOL.md by hand over a socket, for tests that must see
 * exactly what goes on the wire (no client library): frames out and in,
 * one call at a time, and the few requests such tests keep making. Both
 * ends' helpers: a test may also play the target (wire_reply). */
#ifndef TEST_RAWWIRE_H
#define TEST_RAWWIRE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fp.h"
#include "wire.h"

static uint32_t wire_next_id = 1;

static inline int wire_write_all(int fd, const void *p, size_t n)
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

static inline int wire_read_all(int fd, void *p, size_t n)
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

/* One frame: 0 and its header and payload (malloc'd, to free), or -1 at
 * EOF or on a header that does not parse. */
static inline int wire_recv(int fd, ddt_hdr *h, uint8_t **payload)
{
	uint8_t hb[DDT_HDR_LEN];
	size_t n;

	*payload = NULL;
	if (wire_read_all(fd, hb, sizeof(hb)) < 0 || ddt_hdr_parse(hb, h) < 0)
		return -1;
	n = ddt_payload_len(h);
	*payload = malloc(n ? n : 1);
	if (!*payload || wire_read_all(fd, *payload, n) < 0)
		return -1;
	return 0;
}

/* Send one frame: op (a reply if reply is set) with id, status and
 * payload p (may be NULL). 0 or -1. */
static inline int wire_send(int fd, uint8_t op, int reply, uint32_t id,
			    uint32_t status, const wbuf *p)
{
	wbuf w;
	int rc;

	wb_init(&w);
	ddt_frame_begin(&w, op, reply ? DDT_F_REPLY : 0, id, status);
	if (p && p->len)
		wb_bytes(&w, p->p, p->len);
	ddt_frame_finish(&w, 0);
	rc = wire_write_all(fd, w.p, w.len);
	wb_free(&w);
	return rc;
}

/* Send op with payload p (may be NULL) and wait for its reply. Returns the
 * reply's status, or -1 if the connection ended. *out (if not NULL) gets
 * the payload, to free; errmsg (if not NULL, DDT_MAX_STR + 1 bytes) an
 * error reply's message, "" after a success. */
static inline int wire_call(int fd, uint8_t op, const wbuf *p, uint8_t **out,
			    size_t *out_len, char *errmsg)
{
	uint32_t id = wire_next_id++;
	uint8_t *payload;
	ddt_hdr h;

	if (wire_send(fd, op, 0, id, 0, p) < 0 ||
	    wire_recv(fd, &h, &payload) < 0)
		return -1;
	if (h.id != id || !(h.flags & DDT_F_REPLY) || h.opcode != op) {
		free(payload);
		return -1;
	}
	if (errmsg)
		errmsg[0] = '\0';
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

/* HELLO and AUTH as user with password pw: 0, or the first non-zero
 * status (-1: the connection ended). */
static inline int wire_login(int fd, const char *user, const char *pw,
			     char *errmsg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, DDT_PROTO_VERSION);
	wb_str(&p, "rawwire");
	st = wire_call(fd, DDT_OP_HELLO, &p, NULL, NULL, errmsg);
	if (st == 0) {
		wb_reset(&p);
		wb_str(&p, user);
		wb_str(&p, pw);
		st = wire_call(fd, DDT_OP_AUTH, &p, NULL, NULL, errmsg);
	}
	wb_free(&p);
	return st;
}

/* SEG_PUT of one segment, its fields as given (stored_len bytes at
 * data). The reply's status. */
static inline int wire_seg_put(int fd, const fp_t *fp, uint8_t codec,
			       uint32_t raw_len, const void *data,
			       uint32_t stored_len, char *errmsg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, 1);
	wb_fp(&p, fp);
	wb_u8(&p, codec);
	wb_u32(&p, raw_len);
	wb_u32(&p, stored_len);
	wb_bytes(&p, data, stored_len);
	st = wire_call(fd, DDT_OP_SEG_PUT, &p, NULL, NULL, errmsg);
	wb_free(&p);
	return st;
}

/* SEG_PUT of raw bytes as they are (codec 0), named by their hash. */
static inline int wire_put_raw(int fd, const void *raw, uint32_t len,
			       fp_t *out_fp, char *errmsg)
{
	fp_t f;

	if (fp_compute(&f, raw, len) != 0)
		return -1;
	if (out_fp)
		*out_fp = f;
	return wire_seg_put(fd, &f, 0, len, raw, len, errmsg);
}

/* COMMIT of one file (synced) in dir: the reply's status; *out_ino (may
 * be NULL) the new inode. */
static inline int wire_commit(int fd, uint64_t dir, const char *name,
			      uint64_t size, uint8_t level, const fp_t *root,
			      uint64_t *out_ino, char *errmsg)
{
	uint8_t *out = NULL;
	size_t len;
	ddt_attr a;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_u32(&p, DDT_CF_SYNC);
	wb_u32(&p, 1);
	wb_str(&p, name);
	wb_u32(&p, 0644);
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 1);
	wb_i64(&p, 2);
	wb_u64(&p, size);
	wb_u8(&p, level);
	wb_fp(&p, root);
	st = wire_call(fd, DDT_OP_COMMIT, &p, &out, &len, errmsg);
	wb_free(&p);
	if (st == 0 && out_ino) {
		rb_init(&r, out, len);
		rb_u32(&r);
		rb_attr(&r, &a);
		*out_ino = a.ino;
	}
	free(out);
	return st;
}

/* LOOKUP name in dir: the reply's status; *out_ino (may be NULL). */
static inline int wire_lookup(int fd, uint64_t dir, const char *name,
			      uint64_t *out_ino)
{
	uint8_t *out = NULL;
	size_t len;
	ddt_attr a;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, name);
	st = wire_call(fd, DDT_OP_LOOKUP, &p, &out, &len, NULL);
	wb_free(&p);
	if (st == 0 && out_ino) {
		rb_init(&r, out, len);
		rb_attr(&r, &a);
		*out_ino = a.ino;
	}
	free(out);
	return st;
}

/* The value of STATUS key, or -1 if absent or the call failed. */
static inline int64_t wire_status_key(int fd, const char *key)
{
	char k[DDT_MAX_STR + 1];
	uint8_t *out = NULL;
	int64_t v = -1;
	uint32_t n;
	size_t len;
	rbuf r;

	if (wire_call(fd, DDT_OP_STATUS, NULL, &out, &len, NULL) == 0) {
		rb_init(&r, out, len);
		n = rb_count(&r, 2 + 8, UINT32_MAX);
		for (uint32_t i = 0; i < n && !r.err; i++) {
			uint64_t x;

			rb_str(&r, k, sizeof(k));
			x = rb_u64(&r);
			if (v < 0 && !strcmp(k, key))
				v = (int64_t)x;
		}
	}
	free(out);
	return v;
}

#endif
