/* test_proto.c - the rules of PROTOCOL.md that a second client must rely
 * on, one test each, over a raw socket to a real ddtargetd: which opcode
 * and id an error reply carries; a failed AUTH ends the session; the role
 * of the first user; count limits are DDT_EINVAL and the session goes on;
 * FP_QUERY's bit order; SEG_GET answers with what fits; READ_FILES too,
 * each file's error its own; BACKUP_BEGIN's
 * name rules and one backup per name and second; BACKUP_END's totals are
 * checked; a busy maintenance job does not end the session. */
#include "cdc.h"
#include "ddterr.h"
#include "fp.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

#include <time.h>

/* ---- small requests ---- */

/* Send request op (payload p), read one frame: its header and payload. */
static int exchange(int fd, uint8_t op, uint32_t id, const wbuf *p,
		    ddt_hdr *h, uint8_t **out)
{
	if (wire_send(fd, op, 0, id, 0, p) < 0)
		return -1;
	return wire_recv(fd, h, out);
}

/* An error reply's payload is exactly one str. */
static int error_payload(const ddt_hdr *h, const uint8_t *p, char *msg)
{
	rbuf r;

	rb_init(&r, p, ddt_payload_len(h));
	rb_str(&r, msg, DDT_MAX_STR + 1);
	return rb_done(&r) == 0 && msg[0] != '\0';
}

static int alive(int fd)
{
	return wire_call(fd, DDT_OP_STATUS, NULL, NULL, NULL, NULL) == 0;
}

static void su_create(int fd, const char *name)
{
	char msg[DDT_MAX_STR + 1] = "";

	if (wire_su_create(fd, name, NULL, msg) != 0)
		tap_bail("SU_CREATE %s: %s", name, msg);
}

/* SEG_PUT raw segments segs[0..n) of len[i] bytes, stored raw; their
 * fingerprints into fps. */
static void put_raw(int fd, uint8_t *const *segs, const size_t *len,
		    uint32_t n, fp_t *fps)
{
	char msg[DDT_MAX_STR + 1] = "";
	wbuf p;

	wb_init(&p);
	wb_u32(&p, n);
	for (uint32_t i = 0; i < n; i++) {
		fp_compute(&fps[i], segs[i], len[i]);
		wb_fp(&p, &fps[i]);
		wb_u8(&p, 0);
		wb_u32(&p, (uint32_t)len[i]);
		wb_u32(&p, (uint32_t)len[i]);
		wb_bytes(&p, segs[i], len[i]);
	}
	if (wire_call(fd, DDT_OP_SEG_PUT, &p, NULL, NULL, msg) != 0)
		tap_bail("SEG_PUT: %s", msg);
	wb_free(&p);
}

/* One segment of n bytes of c, stored; its fingerprint. */
static fp_t put_filled(int fd, int c, size_t n)
{
	uint8_t *b = xmalloc(n);
	fp_t f;

	memset(b, c, n);
	put_raw(fd, &b, &n, 1, &f);
	free(b);
	return f;
}

/* COMMIT one level-0 file (size 0: empty, root zero): its inode. */
static uint64_t commit1(int fd, uint64_t dir, const char *name, uint64_t size,
			const fp_t *root)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint64_t ino = 0;

	if (wire_commit(fd, dir, name, size, 0, root, &ino, msg) != 0)
		tap_bail("COMMIT %s: %s", name, msg);
	return ino;
}

/* A request whose reply is an attr (MKDIR, LINK, SYMLINK). */
static void attr_call(int fd, uint8_t op, const wbuf *p, ddt_attr *out)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t *o = NULL;
	size_t len;
	rbuf r;

	if (wire_call(fd, op, p, &o, &len, msg) != 0)
		tap_bail("%s: %s", ddt_op_name(op), msg);
	rb_init(&r, o, len);
	rb_attr(&r, out);
	free(o);
}

static uint64_t su_root(int fd, const char *su)
{
	uint64_t root = 0;

	wire_su_open(fd, su, &root, NULL);
	return root;
}

static int end(int fd, uint64_t ino, uint64_t files, uint64_t bytes,
	       ddt_attr *a, char *msg)
{
	uint8_t *o = NULL;
	size_t len;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, files);
	wb_u64(&p, bytes);
	st = wire_call(fd, DDT_OP_BACKUP_END, &p, &o, &len, msg);
	if (st == 0) {
		rb_init(&r, o, len);
		rb_attr(&r, a);
	}
	free(o);
	wb_free(&p);
	return st;
}

/* BACKUP_LIST's line for id: flags, files, bytes. 0 if listed. */
static int listed(int fd, const char *su, const char *id, uint32_t *flags,
		  uint64_t *files, uint64_t *bytes)
{
	char got[DDT_MAX_STR + 1];
	uint8_t *o = NULL;
	size_t len;
	uint32_t n;
	int found = -1;
	wbuf p;
	rbuf r;

	wb_init(&p);
	wb_str(&p, su);
	if (wire_call(fd, DDT_OP_BACKUP_LIST, &p, &o, &len, NULL) == 0) {
		rb_init(&r, o, len);
		n = rb_count(&r, 2 + 8 + 4 + 4 * 8, UINT32_MAX);
		for (uint32_t i = 0; i < n && !r.err; i++) {
			uint32_t f;
			uint64_t fi, by;

			rb_str(&r, got, sizeof(got));
			rb_u64(&r);
			f = rb_u32(&r);
			rb_i64(&r);
			fi = rb_u64(&r);
			by = rb_u64(&r);
			rb_i64(&r);
			if (!strcmp(got, id)) {
				*flags = f;
				*files = fi;
				*bytes = by;
				found = 0;
			}
		}
		if (rb_done(&r))
			found = -1;
	}
	free(o);
	wb_free(&p);
	return found;
}

/* ---- error replies (section 1, 4) ---- */

static void test_error_replies(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t *o = NULL;
	ddt_hdr h;
	int fd = wire_admin_login(d), good;
	wbuf p;

	wb_init(&p);
	wb_u64(&p, 999999999);
	wb_str(&p, "x");
	good = exchange(fd, DDT_OP_LOOKUP, 4242, &p, &h, &o) == 0 &&
	       h.status == DDT_ENOENT && h.opcode == DDT_OP_LOOKUP &&
	       h.id == 4242 && h.flags == DDT_F_REPLY &&
	       error_payload(&h, o, msg);
	ok(good, "an error reply carries the request's opcode and id, "
	   "DDT_F_REPLY, and one str: %s", msg);
	free(o);
	ok(alive(fd), "and the session goes on");

	wb_reset(&p);
	wb_u8(&p, 0);
	good = exchange(fd, DDT_OP_STATUS, 4343, &p, &h, &o) == 0 &&
	       h.status == DDT_EPROTO && h.opcode == DDT_OP_STATUS &&
	       h.id == 4343 && error_payload(&h, o, msg) &&
	       wire_closed_by_peer(fd);
	ok(good, "a payload that does not parse: EPROTO with the request's "
	   "opcode and id, then closed: %s", msg);
	free(o);
	close(fd);

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, DDT_PROTO_VERSION, 0x77, 0, NULL, 0);
	good = wire_recv(fd, &h, &o) == 0 && h.status == DDT_EPROTO &&
	       h.opcode == 0 && h.id == 0 && h.flags == DDT_F_REPLY &&
	       error_payload(&h, o, msg) && wire_closed_by_peer(fd);
	ok(good, "a frame refused by its header (unknown opcode, id 99): "
	   "opcode 0, id 0: %s", msg);
	free(o);
	close(fd);

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, 2, DDT_OP_STATUS, 0, NULL, 0);
	good = wire_recv(fd, &h, &o) == 0 && h.status == DDT_EPROTO &&
	       h.opcode == 0 && h.id == 0 && wire_closed_by_peer(fd);
	ok(good, "so is one of another version");
	free(o);
	close(fd);
	wb_free(&p);
}

/* ---- AUTH (section 3) ---- */

static void test_auth(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", longname[301];
	uint8_t *o = NULL;
	size_t len = 0;
	ddt_hdr h;
	wbuf p;
	int fd, st, good;

	fd = tcp_connect(d->port);
	if (fd < 0 || wire_hello(fd, NULL) != 0)
		tap_bail("HELLO");
	wb_init(&p);
	wb_str(&p, "admin");
	wb_str(&p, d->password);
	st = wire_call(fd, DDT_OP_AUTH, &p, &o, &len, msg);
	ok(st == 0 && len == 1 && o[0] == DDT_ROLE_ADMIN,
	   "the first user is admin, with the password of admin.password, "
	   "role %d (admin)", o ? o[0] : -1);
	free(o);
	close(fd);

	/* A wrong password, and a request pipelined behind it: the reply
	 * says why, and the session ends; nothing after it succeeds. */
	fd = tcp_connect(d->port);
	if (fd < 0 || wire_hello(fd, NULL) != 0)
		tap_bail("HELLO");
	wb_reset(&p);
	wb_str(&p, "admin");
	wb_str(&p, "wrong");
	good = wire_send(fd, DDT_OP_AUTH, 0, 7, 0, &p) == 0 &&
	       wire_send(fd, DDT_OP_STATUS, 0, 8, 0, NULL) == 0;
	/* Requests of a session run concurrently: STATUS may be answered
	 * (EPERM) before AUTH, after it, or not at all. */
	for (int k = 0, seen = 0; good && k < 2 && !seen; k++) {
		if (wire_recv(fd, &h, &o) < 0) {
			good = 0;
		} else if (h.id == 7) {
			seen = 1;
			good = h.opcode == DDT_OP_AUTH &&
			       h.status == DDT_EACCES &&
			       error_payload(&h, o, msg) &&
			       !strcmp(msg, "wrong user name or password");
		} else {
			good = h.id == 8 && h.status == DDT_EPERM;
		}
		free(o);
		o = NULL;
	}
	if (good && wire_recv(fd, &h, &o) == 0)	/* STATUS after AUTH */
		good = h.id == 8 && h.status == DDT_EPERM;
	free(o);
	o = NULL;
	ok(good && wire_closed_by_peer(fd), "a failed AUTH is answered EACCES "
	   "(%s) and the target closes the session", msg);
	close(fd);

	memset(longname, 'u', 300);
	longname[300] = '\0';
	fd = tcp_connect(d->port);
	ok(fd >= 0 && wire_hello(fd, NULL) == 0 &&
	   wire_auth(fd, longname, "x", msg) == DDT_EACCES &&
	   wire_closed_by_peer(fd),
	   "a user name no user can have is refused alike, not EPROTO: %s",
	   msg);
	close(fd);
	wb_free(&p);
}

/* ---- count limits (section 5, Limits) ---- */

static int fp_list_call(int fd, uint8_t op, uint32_t n, char *msg,
			uint8_t **out, size_t *len)
{
	fp_t f = { { 0 } };
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, n);
	for (uint32_t i = 0; i < n; i++) {
		f.b[0] = (uint8_t)i;
		f.b[1] = (uint8_t)(i >> 8);
		f.b[2] = 0xa5;
		wb_fp(&p, &f);
	}
	st = wire_call(fd, op, &p, out, len, msg);
	wb_free(&p);
	return st;
}

static void test_limits(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", name[300];
	int fd = wire_admin_login(d), st;
	uint8_t *o = NULL;
	fp_t zero = { { 0 } };
	size_t len = 0;
	uint32_t blen = 0;
	wbuf p;
	rbuf r;

	st = fp_list_call(fd, DDT_OP_FP_QUERY, DDT_MAX_QUERY, msg, &o, &len);
	rb_init(&r, o, len);
	ok(st == 0 && rb_blob(&r, &blen) && blen == DDT_MAX_QUERY / 8 &&
	   rb_done(&r) == 0, "FP_QUERY of %d fingerprints works", DDT_MAX_QUERY);
	free(o);
	o = NULL;
	st = fp_list_call(fd, DDT_OP_FP_QUERY, DDT_MAX_QUERY + 1, msg, NULL,
			  NULL);
	ok(st == DDT_EINVAL && strstr(msg, "16384") && alive(fd),
	   "one more is EINVAL, and the session goes on: %s", msg);
	st = fp_list_call(fd, DDT_OP_SEG_GET, DDT_MAX_GET + 1, msg, NULL, NULL);
	ok(st == DDT_EINVAL && strstr(msg, "4096") && alive(fd),
	   "SEG_GET of %d: EINVAL, the session goes on: %s", DDT_MAX_GET + 1,
	   msg);

	wb_init(&p);
	wb_u64(&p, su_root(fd, "lim"));
	wb_u32(&p, 0);
	wb_u32(&p, DDT_MAX_COMMIT + 1);
	for (uint32_t i = 0; i < DDT_MAX_COMMIT + 1; i++)
		wire_entry(&p, "x", 0, 0, &zero);
	st = wire_call(fd, DDT_OP_COMMIT, &p, NULL, NULL, msg);
	ok(st == DDT_EINVAL && strstr(msg, "100000") && alive(fd),
	   "COMMIT of %d entries: EINVAL, the session goes on: %s",
	   DDT_MAX_COMMIT + 1, msg);

	memset(name, 'n', 299);
	name[299] = '\0';
	wb_reset(&p);
	wb_u64(&p, su_root(fd, "lim"));
	wb_u32(&p, 0);
	wb_u32(&p, 1);
	wire_entry(&p, name, 0, 0, &zero);
	st = wire_call(fd, DDT_OP_COMMIT, &p, NULL, NULL, msg);
	ok(st == DDT_ENAMETOOLONG && alive(fd),
	   "a COMMIT entry named with 299 bytes: ENAMETOOLONG, not EPROTO: %s",
	   msg);
	wb_free(&p);
	close(fd);
}

/* ---- FP_QUERY's bit order (section 5) ---- */

static void test_fp_bits(const test_daemon *d)
{
	int fd = wire_admin_login(d), st;
	fp_t fps[10];
	uint8_t *o = NULL;
	const uint8_t *bits;
	uint32_t blen = 0;
	size_t len = 0;
	rbuf r;

	/* Held: 0, 2 and 9 of ten; the others are made up. */
	for (int i = 0; i < 10; i++) {
		memset(&fps[i], 0x5a, sizeof(fps[i]));
		fps[i].b[0] = (uint8_t)i;
	}
	fps[0] = put_filled(fd, 'a', 1000);
	fps[2] = put_filled(fd, 'b', 1000);
	fps[9] = put_filled(fd, 'c', 1000);
	st = wire_fp_call(fd, DDT_OP_FP_QUERY, fps, 10, &o, &len, NULL);
	rb_init(&r, o, len);
	bits = rb_blob(&r, &blen);
	ok(st == 0 && rb_done(&r) == 0 && blen == 2 && bits[0] == 0x05 &&
	   bits[1] == 0x02, "FP_QUERY of 10 holding 0, 2, 9: bytes 05 02, "
	   "least significant bit first (got %02x %02x)",
	   bits && blen > 0 ? bits[0] : 0, bits && blen > 1 ? bits[1] : 0);
	free(o);
	close(fd);
}

/* ---- SEG_GET answers with what fits (section 5, Reads) ---- */

#define BIG_SEGS	10
#define BIG_LEN		CDC_MAX_LIMIT

/* SEG_GET fps[0..n): how many came back, each checked against data. */
static int seg_get(int fd, const fp_t *fps, uint32_t n, uint8_t *const *data,
		   uint32_t *got, size_t *plen, char *msg)
{
	uint8_t *o = NULL;
	size_t len = 0;
	int st, good = 1;
	rbuf r;

	st = wire_fp_call(fd, DDT_OP_SEG_GET, fps, n, &o, &len, msg);
	*got = 0;
	*plen = len;
	if (st != 0) {
		free(o);
		return st;
	}
	rb_init(&r, o, len);
	*got = rb_count(&r, FP_LEN + 9, UINT32_MAX);
	for (uint32_t i = 0; i < *got && !r.err; i++) {
		fp_t f;
		uint8_t codec;
		uint32_t raw, stored;
		const uint8_t *b;

		rb_fp(&r, &f);
		codec = rb_u8(&r);
		raw = rb_u32(&r);
		stored = rb_u32(&r);
		b = rb_bytes(&r, stored);
		good &= fp_equal(&f, &fps[i]) && codec == 0 &&
			raw == BIG_LEN && stored == raw && b &&
			memcmp(b, data[i], raw) == 0;
	}
	good &= rb_done(&r) == 0 && *got <= n;
	free(o);
	return good ? 0 : -1;
}

static void test_seg_get(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t *data[BIG_SEGS];
	size_t lens[BIG_SEGS], plen = 0;
	fp_t fps[BIG_SEGS], missing;
	uint32_t got = 0, got2 = 0;
	int fd = wire_admin_login(d), st;

	rnd_seed(11);
	for (int i = 0; i < BIG_SEGS; i++) {
		data[i] = xmalloc(BIG_LEN);
		rnd_fill(data[i], BIG_LEN);
		lens[i] = BIG_LEN;
	}
	put_raw(fd, data, lens, BIG_SEGS / 2, fps);
	put_raw(fd, data + BIG_SEGS / 2, lens, BIG_SEGS / 2, fps + BIG_SEGS / 2);

	st = seg_get(fd, fps, BIG_SEGS, data, &got, &plen, msg);
	ok(st == 0 && got >= 1 && got < BIG_SEGS && plen <= DDT_MAX_PAYLOAD,
	   "SEG_GET of %d 1-MiB segments answers with the first %u, in order "
	   "(%zu bytes) %s", BIG_SEGS, got, plen, msg);
	st = seg_get(fd, fps + got, BIG_SEGS - got, data + got, &got2, &plen,
		     msg);
	ok(st == 0 && got + got2 == BIG_SEGS,
	   "asking again from there brings the other %u", got2);
	st = seg_get(fd, fps, 0, data, &got, &plen, msg);
	ok(st == 0 && got == 0 && plen == 4, "SEG_GET of none: an empty list");
	missing = fps[0];
	missing.b[5] ^= 0xff;
	st = seg_get(fd, &missing, 1, data, &got, &plen, msg);
	ok(st == DDT_ENOENT && alive(fd),
	   "a fingerprint the target lacks: ENOENT, the session goes on: %s",
	   msg);
	for (int i = 0; i < BIG_SEGS; i++)
		free(data[i]);
	close(fd);
}

/* ---- READ_FILES (section 5, Reads) ---- */

#define RF_BIG		10	/* 1-MiB files: more than one reply holds */

/* One file of a READ_FILES reply, as parsed. */
typedef struct rf_file {
	uint32_t status, nseg;
	uint64_t size;
	int same;		/* its segments tile [0, size) with want's bytes */
	char msg[DDT_MAX_STR + 1];
} rf_file;

/* READ_FILES inos[0..n): *m files back into out[], each checked against
 * want[i] (NULL: not checked). The request's status. */
static int read_files(int fd, const uint64_t *inos, uint32_t n,
		      uint8_t *const *want, rf_file *out, uint32_t *m,
		      char *msg)
{
	uint8_t *o = NULL;
	size_t len = 0;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_u32(&p, n);
	for (uint32_t i = 0; i < n; i++)
		wb_u64(&p, inos[i]);
	st = wire_call(fd, DDT_OP_READ_FILES, &p, &o, &len, msg);
	wb_free(&p);
	*m = 0;
	if (st != 0)
		return st;
	rb_init(&r, o, len);
	*m = rb_count(&r, 4, n);
	for (uint32_t i = 0; i < *m && !r.err; i++) {
		rf_file *f = &out[i];
		uint64_t at = 0;

		memset(f, 0, sizeof(*f));
		f->status = rb_u32(&r);
		if (f->status) {
			rb_str(&r, f->msg, sizeof(f->msg));
			continue;
		}
		f->size = rb_u64(&r);
		f->nseg = rb_count(&r, DDT_READ_SEG_MIN, UINT32_MAX);
		f->same = 1;
		for (uint32_t j = 0; j < f->nseg && !r.err; j++) {
			uint64_t off;
			ddt_seg sg;

			rb_read_seg(&r, &off, &sg);
			f->same &= !r.err && off == at && sg.codec == 0 &&
				   off + sg.raw_len <= f->size &&
				   (!want[i] || memcmp(sg.data, want[i] + off,
						       sg.raw_len) == 0);
			at = off + sg.raw_len;
		}
		f->same &= at == f->size;
	}
	st = rb_done(&r) == 0 ? 0 : -1;
	free(o);
	return st;
}

static void test_read_files(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", name[32];
	int fd = wire_admin_login(d), st, whole = 1;
	uint8_t *want[4 + RF_BIG] = { NULL }, small[1000];
	rf_file got[4 + RF_BIG];
	uint64_t inos[4 + RF_BIG], dir, many[DDT_MAX_READ_FILES + 1];
	uint8_t *many_want[DDT_MAX_READ_FILES + 1];
	rf_file *many_got = xmalloc((DDT_MAX_READ_FILES + 1) *
				    sizeof(*many_got));
	uint32_t m = 0, m2 = 0;
	size_t big = BIG_LEN;
	fp_t f, zero = { { 0 } };

	su_create(fd, "rf");
	dir = su_root(fd, "rf");
	memset(small, 'a', sizeof(small));
	f = put_filled(fd, 'a', sizeof(small));
	inos[0] = commit1(fd, dir, "small", sizeof(small), &f);
	want[0] = small;
	inos[1] = dir;				/* a directory */
	inos[2] = commit1(fd, dir, "empty", 0, &zero);
	inos[3] = UINT64_MAX / 2;		/* no such inode */
	rnd_seed(12);
	for (int i = 0; i < RF_BIG; i++) {
		want[4 + i] = xmalloc(BIG_LEN);
		rnd_fill(want[4 + i], BIG_LEN);
		put_raw(fd, &want[4 + i], &big, 1, &f);
		snprintf(name, sizeof(name), "big%d", i);
		inos[4 + i] = commit1(fd, dir, name, BIG_LEN, &f);
	}

	st = read_files(fd, inos, 4 + RF_BIG, want, got, &m, msg);
	ok(st == 0 && m > 4 && m < 4 + RF_BIG,
	   "READ_FILES of %d files answers with the first %u (the payload is "
	   "full) %s", 4 + RF_BIG, m, msg);
	ok(m > 0 && got[0].status == 0 && got[0].size == sizeof(small) &&
	   got[0].nseg == 1 && got[0].same,
	   "a small file comes whole, its bytes as stored");
	ok(m > 1 && got[1].status == DDT_EISDIR && got[1].msg[0],
	   "a directory among them is its entry's DDT_EISDIR: %s", got[1].msg);
	ok(m > 2 && got[2].status == 0 && got[2].size == 0 &&
	   got[2].nseg == 0, "an empty file: size 0, no segment");
	ok(m > 3 && got[3].status == DDT_ENOENT && got[3].msg[0],
	   "an inode that is not there: DDT_ENOENT, and the rest are read: %s",
	   got[3].msg);
	for (uint32_t i = 4; i < m; i++)
		whole &= got[i].status == 0 && got[i].size == BIG_LEN &&
			 got[i].same;
	ok(m > 4 && whole, "the 1-MiB files before the cut come whole");
	st = read_files(fd, inos + m, 4 + RF_BIG - m, want + m, got, &m2, msg);
	whole = st == 0 && m + m2 == 4 + RF_BIG;
	for (uint32_t i = 0; whole && i < m2; i++)
		whole &= got[i].status == 0 && got[i].same;
	ok(whole, "asking again from there brings the other %u, whole", m2);

	for (uint32_t i = 0; i <= DDT_MAX_READ_FILES; i++) {
		many[i] = inos[0];
		many_want[i] = small;
	}
	st = read_files(fd, many, DDT_MAX_READ_FILES, many_want, many_got, &m,
			msg);
	for (uint32_t i = 0; i < m; i++)
		whole &= many_got[i].status == 0 && many_got[i].same;
	ok(st == 0 && m == DDT_MAX_READ_FILES && whole,
	   "READ_FILES of %d files works (%u back)", DDT_MAX_READ_FILES, m);
	st = read_files(fd, many, DDT_MAX_READ_FILES + 1, many_want, many_got,
			&m, msg);
	ok(st == DDT_EINVAL && strstr(msg, "1024") && alive(fd),
	   "one more is EINVAL, and the session goes on: %s", msg);
	for (int i = 0; i < RF_BIG; i++)
		free(want[4 + i]);
	free(many_got);
	close(fd);
}

/* ---- BACKUP_BEGIN's names (section 5, Backups) ---- */

/* id is name@YYYYMMDDTHHMMSSZ, the UTC time within [t0, t1]. */
static int id_ok(const char *id, const char *name, time_t t0, time_t t1)
{
	size_t n = strlen(name);
	struct tm tm = { 0 };
	const char *end;
	time_t t;

	if (strncmp(id, name, n) || id[n] != '@' ||
	    strlen(id) != n + DDT_BACKUP_SUFFIX_LEN)
		return 0;
	end = strptime(id + n + 1, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return 0;
	t = timegm(&tm);
	return t >= t0 && t <= t1;
}

static void test_backup_names(const test_daemon *d)
{
	static const char *bad[] = { "a/b", "a@b", "x y", "", ".", "..",
				     "\xc3\xbc", "tab\t" };
	char msg[DDT_MAX_STR + 1] = "", id[DDT_MAX_STR + 1], id2[DDT_MAX_STR + 1];
	char name[DDT_MAX_NAME + 2];
	int fd = wire_admin_login(d), st, refused = 0, eexist = 0, clash = 0;
	uint64_t ino;
	time_t t0, t1;

	su_create(fd, "nm");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = wire_backup_begin(fd, "nm", bad[i], id, &ino, msg);
		refused += st == DDT_EINVAL;
		if (st != DDT_EINVAL)
			diag("name \"%s\": status %d", bad[i], st);
	}
	ok(refused == (int)(sizeof(bad) / sizeof(bad[0])),
	   "names with other than letters, digits, '.', '_', '-' (or . ..) "
	   "are EINVAL: %s", msg);
	memset(name, 'n', DDT_MAX_BACKUP_NAME);
	name[DDT_MAX_BACKUP_NAME] = '\0';
	t0 = time(NULL);
	st = wire_backup_begin(fd, "nm", name, id, &ino, msg);
	t1 = time(NULL);
	ok(st == 0 && id_ok(id, name, t0, t1) && strlen(id) == DDT_MAX_NAME,
	   "a %d-byte name gives a %d-byte id, NAME@<UTC time>Z",
	   DDT_MAX_BACKUP_NAME, DDT_MAX_NAME);
	strcat(name, "n");
	st = wire_backup_begin(fd, "nm", name, id, &ino, msg);
	ok(st == DDT_ENAMETOOLONG, "one byte more: ENAMETOOLONG: %s", msg);
	st = wire_backup_begin(fd, "nope", "x", id, &ino, msg);
	ok(st == DDT_ENOENT, "an unknown storage unit: ENOENT: %s", msg);

	/* Two begins of one name: the second lands in the same second
	 * (EEXIST) or in the next (a new id); try until one clashes. */
	for (int i = 0; i < 50 && !eexist; i++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "twice%d", i);
		t0 = time(NULL);
		if (wire_backup_begin(fd, "nm", nm, id, &ino, msg) != 0)
			break;
		st = wire_backup_begin(fd, "nm", nm, id2, &ino, msg);
		t1 = time(NULL);
		if (st == DDT_EEXIST)
			eexist = strstr(msg, id) != NULL;
		else if (st != 0 || !strcmp(id, id2) ||
			 !id_ok(id2, nm, t0, t1))
			clash = 1;
	}
	ok(eexist && !clash, "a second backup of a name in the same second: "
	   "EEXIST naming it (%s)", msg);
	close(fd);
}

/* ---- BACKUP_END's totals (section 5, Backups) ---- */

static void test_backup_end(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", id[DDT_MAX_STR + 1];
	int fd = wire_admin_login(d), st;
	ddt_attr a, sub;
	fp_t f5000, f3000, zero = { { 0 } };
	uint64_t ino, fa_ino, files = 0, bytes = 0;
	uint32_t flags = 0;
	wbuf p;

	su_create(fd, "tot");
	if (wire_backup_begin(fd, "tot", "t", id, &ino, msg) != 0)
		tap_bail("BACKUP_BEGIN: %s", msg);
	f5000 = put_filled(fd, 'x', 5000);
	f3000 = put_filled(fd, 'y', 3000);
	wb_init(&p);
	wb_u64(&p, ino);
	wb_str(&p, "sub");
	wb_u32(&p, 0755);
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 0);
	attr_call(fd, DDT_OP_MKDIR, &p, &sub);
	fa_ino = commit1(fd, ino, "a", 5000, &f5000);
	commit1(fd, ino, "empty", 0, &zero);
	commit1(fd, sub.ino, "b", 3000, &f3000);
	wb_reset(&p);
	wb_u64(&p, fa_ino);
	wb_u64(&p, sub.ino);
	wb_str(&p, "a2");
	attr_call(fd, DDT_OP_LINK, &p, &a);
	wb_reset(&p);
	wb_u64(&p, sub.ino);
	wb_str(&p, "s");
	wb_str(&p, "a");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 0);
	attr_call(fd, DDT_OP_SYMLINK, &p, &a);

	/* Held: a, empty, sub/b, sub/a2 (a's second name): 4 files of
	 * 5000 + 0 + 3000 + 5000 bytes; the symlink and directory do not
	 * count. */
	st = end(fd, ino, 3, 8000, &a, msg);
	ok(st == DDT_EINVAL && strstr(msg, "3 files of 8000 bytes") &&
	   strstr(msg, "4 files of 13000 bytes") && alive(fd),
	   "BACKUP_END with other totals than held: EINVAL naming both: %s",
	   msg);
	ok(listed(fd, "tot", id, &flags, &files, &bytes) == 0 &&
	   flags == (DDT_AF_BACKUP | DDT_AF_INCOMPLETE) && files == 0,
	   "and the backup stays incomplete");
	st = end(fd, ino, 4, 13000, &a, msg);
	ok(st == 0 && a.flags == DDT_AF_BACKUP,
	   "the totals it holds (each name of a file, its size each time) "
	   "end it");
	ok(listed(fd, "tot", id, &flags, &files, &bytes) == 0 &&
	   flags == DDT_AF_BACKUP && files == 4 && bytes == 13000,
	   "BACKUP_LIST shows it complete, 4 files of 13000 bytes");
	ok(end(fd, ino, 4, 13000, &a, msg) == 0,
	   "ending it again with the same totals is fine (a retry)");
	st = end(fd, ino, 4, 13001, &a, msg);
	ok(st == DDT_EROFS && listed(fd, "tot", id, &flags, &files,
				      &bytes) == 0 &&
	   flags == DDT_AF_BACKUP && bytes == 13000,
	   "with other totals it is refused and left as it was: %s", msg);
	st = end(fd, sub.ino, 0, 0, &a, msg);
	ok(st == DDT_EINVAL, "ending a directory that is no backup: EINVAL: "
	   "%s", msg);
	st = end(fd, 999999999, 0, 0, &a, msg);
	ok(st == DDT_ENOENT, "ending no inode at all: ENOENT: %s", msg);
	wb_free(&p);
	close(fd);
}

/* ---- a job that runs already is EBUSY, and the session goes on ---- */

static void test_busy_job(const test_daemon *d)
{
	int fd = wire_admin_login(d), busy = 0, good = 1;
	uint8_t *o = NULL;
	ddt_hdr h;
	wbuf p;

	/* Two SCRUB_STARTs at once: the second may find the first running
	 * (EBUSY) or finished (0); either way the session must live. */
	wb_init(&p);
	wb_u8(&p, 0);
	for (int i = 0; i < 20 && !busy && good; i++) {
		good = wire_send(fd, DDT_OP_SCRUB_START, 0, 500 + 2 * i, 0,
				 &p) == 0 &&
		       wire_send(fd, DDT_OP_SCRUB_START, 0, 501 + 2 * i, 0,
				 &p) == 0;
		for (int k = 0; k < 2 && good; k++) {
			good = wire_recv(fd, &h, &o) == 0 &&
			       (h.status == 0 || h.status == DDT_EBUSY);
			busy |= h.status == DDT_EBUSY;
			free(o);
			o = NULL;
		}
		for (int k = 0; k < 500 && good; k++) {	/* let it end */
			uint8_t *s = NULL;
			size_t len;

			if (wire_call(fd, DDT_OP_SCRUB_STATUS, NULL, &s, &len,
				      NULL) != 0)
				good = 0;
			else if (len > 0 && s[0] == 0)
				k = 500;
			else
				sleep_ms(10);
			free(s);
		}
	}
	if (busy)
		ok(good && alive(fd), "SCRUB_START while a scrub runs: EBUSY, "
		   "and the session goes on");
	else
		ok(good, "# SKIP no scrub was caught running");
	wb_free(&p);
	close(fd);
}

int main(void)
{
	char *root = tap_tmpdir("proto");
	test_daemon d;
	int fd;

	daemon_start_in(&d, root);
	fd = wire_admin_login(&d);
	su_create(fd, "lim");
	close(fd);
	test_error_replies(&d);
	test_auth(&d);
	test_limits(&d);
	test_fp_bits(&d);
	test_seg_get(&d);
	test_read_files(&d);
	test_backup_names(&d);
	test_backup_end(&d);
	test_busy_job(&d);
	ok(WIFEXITED(daemon_stop(&d, SIGTERM)), "the daemon stops cleanly");
	tap_rmtree(root);
	free(root);
	return tap_done();
}
