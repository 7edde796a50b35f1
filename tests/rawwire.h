/* rawwire.h - PROTOCOL.md by hand over a socket (no client library), for
 * tests that must see exactly what goes on the wire: frames, sessions and
 * the requests they keep making; a test may also play the target. */
#ifndef TEST_RAWWIRE_H
#define TEST_RAWWIRE_H

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fp.h"
#include "wire.h"
#include "tap.h"
#include "daemon.h"

/* Frames by hand are plaintext: the test's daemons take it from
 * loopback (daemon.h); tests/tls.sh proves the TLS that clients use. */
__attribute__((constructor)) static void wire_plain_ok(void)
{
	daemon_plain_ok = 1;
}

/* ---- frames ---- */

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
	rc = ddt_frame_finish(&w, 0) < 0 ? -1 : wire_write_all(fd, w.p, w.len);
	wb_free(&w);
	return rc;
}

/* A frame whose header fields are as given (id 99), payload p[0..n):
 * for frames no encoder would make. 0, or non-zero if not all was sent. */
static inline int wire_send_raw(int fd, uint32_t length, uint8_t version,
				uint8_t op, uint16_t flags, const void *p,
				size_t n)
{
	ddt_hdr h = { .length = length, .version = version, .opcode = op,
		      .flags = flags, .id = 99 };
	uint8_t hb[DDT_HDR_LEN];

	ddt_hdr_pack(&h, hb);
	return wire_write_all(fd, hb, sizeof(hb)) ||
	       (n && wire_write_all(fd, p, n));
}

/* Send op with payload p (may be NULL) and wait for its reply. Returns the
 * reply's status, or -1 if the connection ended or the reply is not this
 * request's (another id or opcode, or no DDT_F_REPLY). *out (if not NULL)
 * gets the payload, to free; errmsg (if not NULL, DDT_MAX_STR + 1 bytes)
 * an error reply's message, "" after a success. */
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

/* ---- sessions ---- */

/* HELLO: the reply's status. */
static inline int wire_hello(int fd, char *errmsg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, DDT_PROTO_VERSION);
	wb_str(&p, "rawwire");
	st = wire_call(fd, DDT_OP_HELLO, &p, NULL, NULL, errmsg);
	wb_free(&p);
	return st;
}

/* AUTH as user with password pw: the reply's status. */
static inline int wire_auth(int fd, const char *user, const char *pw,
			    char *errmsg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, user);
	wb_str(&p, pw);
	st = wire_call(fd, DDT_OP_AUTH, &p, NULL, NULL, errmsg);
	wb_free(&p);
	return st;
}

/* HELLO and AUTH: 0, or the first non-zero status (-1: the connection
 * ended). */
static inline int wire_login(int fd, const char *user, const char *pw,
			     char *errmsg)
{
	int st = wire_hello(fd, errmsg);

	return st != 0 ? st : wire_auth(fd, user, pw, errmsg);
}

/* A new session with d, logged in as admin with the password the target
 * made; bails out of the test if it cannot be had. */
static inline int wire_admin_login(const test_daemon *d)
{
	int fd = tcp_connect(d->port);

	if (fd < 0 || wire_login(fd, "admin", d->password, NULL) != 0)
		tap_bail("cannot log in to the daemon (see %s)", d->log);
	return fd;
}

/* The target closed the connection (after its error reply, if any),
 * within 5 s. */
static inline int wire_closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b;

	if (poll(&p, 1, 5000) <= 0)
		return 0;
	return read(fd, &b, 1) == 0;
}

/* The next frame is a DDT_EPROTO reply and then the target closes; fd is
 * closed either way. */
static inline int wire_expect_eproto(int fd)
{
	uint8_t *payload = NULL;
	ddt_hdr h;
	int good;

	good = wire_recv(fd, &h, &payload) == 0 && h.status == DDT_EPROTO &&
	       wire_closed_by_peer(fd);
	free(payload);
	close(fd);
	return good;
}

/* ---- requests ---- */

/* Walk a (str key, u64 value)[] list in r: the value of key into *v (the
 * first, if found). Leaves r after the list; 1 if found. */
static inline int wire_kv_find(rbuf *r, const char *key, uint64_t *v)
{
	char k[DDT_MAX_STR + 1];
	uint32_t n = rb_count(r, 2 + 8, UINT32_MAX);
	int found = 0;

	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint64_t x;

		rb_str(r, k, sizeof(k));
		x = rb_u64(r);
		if (!found && !strcmp(k, key)) {
			*v = x;
			found = 1;
		}
	}
	return found;
}

/* The value of STATUS key, or -1 if absent, the call failed or the reply
 * is not exactly one (str, u64)[] list. */
static inline int64_t wire_status_key(int fd, const char *key)
{
	uint8_t *out = NULL;
	uint64_t v = 0;
	size_t len;
	rbuf r;
	int got = 0;

	if (wire_call(fd, DDT_OP_STATUS, NULL, &out, &len, NULL) == 0) {
		rb_init(&r, out, len);
		got = wire_kv_find(&r, key, &v) && rb_done(&r) == 0;
	}
	free(out);
	return got ? (int64_t)v : -1;
}

/* SU_CREATE or SU_OPEN (op) of name (SU_CREATE: in domain, if not
 * NULL): the reply's status; *root (may be NULL) the unit's root
 * directory, which both replies start with. */
static inline int wire_su_call_in(int fd, uint8_t op, const char *name,
				  const char *domain, uint64_t *root,
				  char *errmsg)
{
	uint8_t *out = NULL;
	size_t len;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_str(&p, name);
	if (domain)
		wb_str(&p, domain);
	st = wire_call(fd, op, &p, &out, &len, errmsg);
	wb_free(&p);
	if (st == 0 && root) {
		rb_init(&r, out, len);
		*root = rb_u64(&r);
	}
	free(out);
	return st;
}

static inline int wire_su_call(int fd, uint8_t op, const char *name,
			       uint64_t *root, char *errmsg)
{
	return wire_su_call_in(fd, op, name, NULL, root, errmsg);
}

static inline int wire_su_create(int fd, const char *name, uint64_t *root,
				 char *errmsg)
{
	return wire_su_call(fd, DDT_OP_SU_CREATE, name, root, errmsg);
}

static inline int wire_su_open(int fd, const char *name, uint64_t *root,
			       char *errmsg)
{
	return wire_su_call(fd, DDT_OP_SU_OPEN, name, root, errmsg);
}

/* BACKUP_BEGIN of a backup kept for ever: the reply's status; on success
 * its id (DDT_MAX_STR + 1 bytes) and its directory's inode. */
static inline int wire_backup_begin(int fd, const char *su, const char *name,
				    char *id, uint64_t *ino, char *errmsg)
{
	uint8_t *out = NULL;
	size_t len;
	ddt_attr a;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_str(&p, su);
	wb_str(&p, name);
	wb_i64(&p, DDT_RETAIN_NEVER);
	st = wire_call(fd, DDT_OP_BACKUP_BEGIN, &p, &out, &len, errmsg);
	wb_free(&p);
	if (st == 0) {
		rb_init(&r, out, len);
		rb_str(&r, id, DDT_MAX_STR + 1);
		rb_attr(&r, &a);
		*ino = a.ino;
	}
	free(out);
	return st;
}

/* A request whose payload is a list of fingerprints, fps[0..n) (FP_QUERY,
 * SEG_GET): as wire_call. */
static inline int wire_fp_call(int fd, uint8_t op, const fp_t *fps,
			       uint32_t n, uint8_t **out, size_t *out_len,
			       char *errmsg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, n);
	for (uint32_t i = 0; i < n; i++)
		wb_fp(&p, &fps[i]);
	st = wire_call(fd, op, &p, out, out_len, errmsg);
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

/* One COMMIT entry: a file of mode 0644, uid and gid 0, atime 1 and mtime
 * 2 (ns), whose tree is (size, level, root). */
static inline void wire_entry(wbuf *p, const char *name, uint64_t size,
			      uint8_t level, const fp_t *root)
{
	wb_str(p, name);
	wb_u32(p, 0644);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 1);
	wb_i64(p, 2);
	wb_u64(p, size);
	wb_u8(p, level);
	wb_fp(p, root);
}

/* Send p (freed here) as op; *out_ino (may be NULL): the inode of the
 * attributes the reply carries after its first skip bytes. The reply's
 * status. */
static inline int wire_call_ino(int fd, uint8_t op, wbuf *p, size_t skip,
				uint64_t *out_ino, char *errmsg)
{
	uint8_t *out = NULL;
	size_t len;
	ddt_attr a;
	rbuf r;
	int st = wire_call(fd, op, p, &out, &len, errmsg);

	wb_free(p);
	if (st == 0 && out_ino) {
		rb_init(&r, out, len);
		(void)rb_bytes(&r, skip);
		rb_attr(&r, &a);
		*out_ino = a.ino;
	}
	free(out);
	return st;
}

/* COMMIT of one file in dir with flags (DDT_CF_*): the reply's status;
 * *out_ino (may be NULL) the file's inode. */
static inline int wire_commit_flags(int fd, uint64_t dir, const char *name,
				    uint32_t flags, uint64_t size,
				    uint8_t level, const fp_t *root,
				    uint64_t *out_ino, char *errmsg)
{
	wbuf p;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_u32(&p, flags);
	wb_u32(&p, 1);
	wire_entry(&p, name, size, level, root);
	return wire_call_ino(fd, DDT_OP_COMMIT, &p, 4, out_ino, errmsg);
}

/* COMMIT of one file (synced) in dir: the reply's status; *out_ino (may
 * be NULL) the new inode. */
static inline int wire_commit(int fd, uint64_t dir, const char *name,
			      uint64_t size, uint8_t level, const fp_t *root,
			      uint64_t *out_ino, char *errmsg)
{
	return wire_commit_flags(fd, dir, name, DDT_CF_SYNC, size, level,
				 root, out_ino, errmsg);
}

/* LOOKUP name in dir: the reply's status; *out_ino (may be NULL). */
static inline int wire_lookup(int fd, uint64_t dir, const char *name,
			      uint64_t *out_ino)
{
	wbuf p;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, name);
	return wire_call_ino(fd, DDT_OP_LOOKUP, &p, 0, out_ino, NULL);
}

/* MKDIR name (0755, uid and gid 0) in dir: the reply's status; *out_ino
 * (may be NULL) the new directory's inode. */
static inline int wire_mkdir(int fd, uint64_t dir, const char *name,
			     uint64_t *out_ino, char *errmsg)
{
	wbuf p;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, name);
	wb_u32(&p, 0755);
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 5);
	return wire_call_ino(fd, DDT_OP_MKDIR, &p, 0, out_ino, errmsg);
}

#endif
