/* test_daemon.c - ddtargetd over a raw socket, speaking PROTOCOL.md by hand
 * (no client library): the session rules, a deduplicated write and read of
 * a file, the retention ops' payloads, the scrub, alert and directory
 * ops' payloads, the errors a client can provoke,
 * malformed frames that must end only their own session, and the session
 * limit. */
#include "ddterr.h"
#include "segmenter.h"
#include "codec.h"
#include "tree.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

static void test_session_rules(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "";
	int fd = tcp_connect(d->port), st;

	ok(fd >= 0 && wire_hello(fd, NULL) == 0, "HELLO is answered");
	st = wire_call(fd, DDT_OP_STATUS, NULL, NULL, NULL, msg);
	ok(st == DDT_EPERM && strstr(msg, "authenticate"),
	   "a request before AUTH is refused: %s", msg);
	st = wire_auth(fd, "admin", "not-the-password", msg);
	ok(st == DDT_EACCES && strstr(msg, "wrong user name or password") &&
	   wire_closed_by_peer(fd),
	   "a wrong password is refused, and the session closed: %s", msg);
	close(fd);
	fd = tcp_connect(d->port);
	ok(fd >= 0 && wire_hello(fd, NULL) == 0 &&
	   wire_auth(fd, "nobody", d->password, msg) == DDT_EACCES &&
	   wire_closed_by_peer(fd),
	   "an unknown user gets the same answer: %s", msg);
	close(fd);
	fd = tcp_connect(d->port);
	ok(fd >= 0 && wire_hello(fd, NULL) == 0 &&
	   wire_auth(fd, "admin", d->password, NULL) == 0,
	   "the right password works on a new connection");
	close(fd);
}

/* A deduplicated write by hand: cut, fingerprint, query, put what is
 * missing, the tree's metadata segments too, and commit. */
typedef struct upload {
	int fd;
	wbuf segs;		/* SEG_PUT payload being built */
	uint32_t nsegs;
	uint32_t total, fresh;	/* segments sent, and new, in all SEG_PUTs */
	int err;
} upload;

static int put_segs(upload *u, uint32_t *out_new, char *msg);

/* Send what is gathered once it nears the largest payload. */
static void up_flush(upload *u, size_t limit)
{
	uint32_t fresh = 0;

	if (u->nsegs == 0 || u->segs.len < limit)
		return;
	if (put_segs(u, &fresh, NULL) != 0)
		u->err = 1;
	u->total += u->nsegs;
	u->fresh += fresh;
	wb_reset(&u->segs);
	wb_u32(&u->segs, 0);
	u->nsegs = 0;
}

static void up_add(upload *u, const fp_t *fp, const void *raw, size_t n)
{
	uint8_t *dst = malloc(codec_bound(n));
	uint32_t stored;
	int codec;
	fp_t f;

	if (!dst || segmenter_encode(CODEC_LZ4, raw, n, &f, dst,
				     codec_bound(n), &stored, &codec) != 0 ||
	    !fp_equal(&f, fp)) {
		u->err = 1;
		free(dst);
		return;
	}
	wb_fp(&u->segs, fp);
	wb_u8(&u->segs, (uint8_t)codec);
	wb_u32(&u->segs, (uint32_t)n);
	wb_u32(&u->segs, stored);
	wb_bytes(&u->segs, dst, stored);
	u->nsegs++;
	free(dst);
	up_flush(u, 4u << 20);
}

static int emit_meta(void *arg, int level, const uint8_t *raw, size_t len,
		     const fp_t *fp)
{
	(void)level;
	up_add(arg, fp, raw, len);
	return 0;
}

static int put_segs(upload *u, uint32_t *out_new, char *msg)
{
	uint8_t *out = NULL;
	size_t len;
	rbuf r;
	int st;

	wb_put_u32_at(&u->segs, 0, u->nsegs);
	st = wire_call(u->fd, DDT_OP_SEG_PUT, &u->segs, &out, &len, msg);
	if (st == 0) {
		rb_init(&r, out, len);
		*out_new = rb_u32(&r);
	}
	free(out);
	return st;
}

/* How many of fps[0..n) the target has. */
static int query(int fd, const fp_t *fps, uint32_t n, uint32_t *out_have)
{
	uint8_t *out = NULL;
	const uint8_t *bits;
	uint32_t blen, have = 0;
	size_t len;
	rbuf r;
	int st;

	st = wire_fp_call(fd, DDT_OP_FP_QUERY, fps, n, &out, &len, NULL);
	if (st == 0) {
		rb_init(&r, out, len);
		bits = rb_blob(&r, &blen);
		for (uint32_t i = 0; bits && i < n && i / 8 < blen; i++)
			have += (bits[i / 8] >> (i % 8)) & 1;
	}
	free(out);
	*out_have = have;
	return st;
}

/* READ the whole file back into buf; bytes read, or -1. */
static long read_file(int fd, uint64_t ino, uint8_t *buf, size_t cap)
{
	uint64_t off = 0, size = 1;

	while (off < size) {
		uint8_t *out = NULL;
		uint32_t n, last_end = 0;
		size_t len;
		wbuf p;
		rbuf r;

		wb_init(&p);
		wb_u64(&p, ino);
		wb_u64(&p, off);
		wb_u32(&p, 64u << 20);	/* more than fits: the reply stops short */
		if (wire_call(fd, DDT_OP_READ, &p, &out, &len, NULL) != 0) {
			wb_free(&p);
			free(out);
			return -1;
		}
		wb_free(&p);
		rb_init(&r, out, len);
		size = rb_u64(&r);
		n = rb_count(&r, 8 + FP_LEN + 9, UINT32_MAX);
		if (size > cap || n == 0) {
			free(out);
			return size == 0 ? 0 : -1;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t at = rb_u64(&r);
			uint32_t raw, stored;
			const uint8_t *data;
			uint8_t codec;
			fp_t f;

			rb_fp(&r, &f);
			codec = rb_u8(&r);
			raw = rb_u32(&r);
			stored = rb_u32(&r);
			data = rb_bytes(&r, stored);
			if (!data || at + raw > cap ||
			    codec_decompress(codec, data, stored, buf + at, raw)) {
				free(out);
				return -1;
			}
			last_end = (uint32_t)(at + raw);
		}
		free(out);
		off = last_end;
	}
	return (long)size;
}

#define FILE_BYTES (12 << 20)	/* more than one READ reply holds */

static void test_write_read(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t *data = xmalloc(FILE_BYTES), *back = xmalloc(FILE_BYTES);
	fp_t *fps = xmalloc(4096 * sizeof(fp_t)), root;
	uint32_t nf = 0, have, fresh = 0;
	upload u = { .fd = wire_admin_login(d) };
	tree_builder *tb;
	uint64_t suroot, ino;
	uint8_t level;
	uint64_t size;
	size_t off = 0;
	cdc c;
	int st;

	st = wire_su_open(u.fd, "nope", &suroot, msg);
	ok(st == DDT_ENOENT && strstr(msg, "nope"),
	   "an unknown storage unit is refused: %s", msg);
	st = wire_su_create(u.fd, "su1", NULL, msg);
	ok(st == 0 && wire_su_open(u.fd, "su1", &suroot, NULL) == 0,
	   "a storage unit is created and opened");

	rnd_seed(7);
	rnd_fill(data, FILE_BYTES);
	for (size_t i = FILE_BYTES * 3 / 4; i < FILE_BYTES; i++)
		data[i] = (uint8_t)('a' + (data[i] & 7));	/* compressible */
	cdc_init(&c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT);
	wb_init(&u.segs);
	wb_u32(&u.segs, 0);
	tree_builder_new(&tb, emit_meta, &u);
	while (off < FILE_BYTES) {
		size_t n = cdc_cut(&c, data + off, FILE_BYTES - off);

		fp_compute(&fps[nf], data + off, n);
		tree_add(tb, &fps[nf], n);	/* metadata goes to u */
		nf++;
		off += n;
	}
	tree_finish(tb, &root, &level, &size);
	tree_builder_free(tb);
	ok(query(u.fd, fps, nf, &have) == 0 && have == 0,
	   "FP_QUERY: the target has none of %u new segments", nf);
	off = 0;
	while (off < FILE_BYTES) {
		size_t n = cdc_cut(&c, data + off, FILE_BYTES - off);
		fp_t f;

		fp_compute(&f, data + off, n);
		up_add(&u, &f, data + off, n);
		off += n;
	}
	up_flush(&u, 0);
	ok(!u.err && u.fresh == u.total && u.total > nf,
	   "SEG_PUTs store all %u (data and metadata): %u new", u.total,
	   u.fresh);
	ok(query(u.fd, fps, nf, &have) == 0 && have == nf,
	   "FP_QUERY: now it has all of them");
	u.total = u.fresh = 0;
	off = 0;
	while (off < FILE_BYTES) {	/* the same segments again */
		size_t n = cdc_cut(&c, data + off, FILE_BYTES - off);
		fp_t f;

		fp_compute(&f, data + off, n);
		up_add(&u, &f, data + off, n);
		off += n;
	}
	up_flush(&u, 0);
	ok(!u.err && u.fresh == 0 && u.total == nf,
	   "the same SEG_PUTs again store nothing new");
	st = wire_commit(u.fd, suroot, "file1", size, level, &root, &ino, msg);
	ok(st == 0 && size == FILE_BYTES && level >= 1,
	   "COMMIT binds a %llu-byte, level-%u tree: %s",
	   (unsigned long long)size, level, st ? msg : "ok");
	ok(read_file(u.fd, ino, back, FILE_BYTES) == FILE_BYTES &&
	   memcmp(back, data, FILE_BYTES) == 0,
	   "READ returns every byte as written");

	st = wire_commit(u.fd, suroot, "file2", size + 1, level, &root, &ino,
			 msg);
	ok(st == DDT_EINVAL,
	   "a COMMIT whose size does not match its tree is refused (EINVAL): "
	   "%s", msg);
	root.b[0] ^= 1;
	st = wire_commit(u.fd, suroot, "file3", size, level, &root, &ino, msg);
	ok(st == DDT_ENOENT, "a COMMIT naming a missing tree is refused: %s", msg);
	st = wire_commit(u.fd, suroot, "bad/name", 0, 0, &(fp_t){ { 0 } },
			 &ino, msg);
	ok(st == DDT_ENAMETOOLONG || st == DDT_EINVAL,
	   "a name with a slash is refused: %s", msg);

	/* A segment whose bytes are not what its fingerprint says. */
	wb_reset(&u.segs);
	wb_u32(&u.segs, 0);
	u.nsegs = 0;
	memset(back, 'q', 5000);
	fp_compute(&root, back, 5000);
	back[10] = 'x';
	up_add(&u, &root, back, 5000);		/* fails its own check */
	u.err = 0;
	{
		fp_t f;
		uint8_t *dst = xmalloc(codec_bound(5000));
		uint32_t stored;
		int codec;

		segmenter_encode(CODEC_NONE, back, 5000, &f, dst,
				 codec_bound(5000), &stored, &codec);
		wb_fp(&u.segs, &root);		/* the wrong name */
		wb_u8(&u.segs, (uint8_t)codec);
		wb_u32(&u.segs, 5000);
		wb_u32(&u.segs, stored);
		wb_bytes(&u.segs, dst, stored);
		u.nsegs = 1;
		free(dst);
	}
	st = put_segs(&u, &fresh, msg);
	ok(st == DDT_EBADMSG && strstr(msg, "fingerprint"),
	   "a segment that does not match its fingerprint is refused: %s", msg);
	ok(query(u.fd, &root, 1, &have) == 0 && have == 0,
	   "and it is not stored");
	wb_free(&u.segs);
	close(u.fd);
	free(data);
	free(back);
	free(fps);
}

/* The lifecycle ops by hand: SU_SET, the retention fields SU_LIST, SU_OPEN,
 * BACKUP_BEGIN and BACKUP_LIST carry, BACKUP_SET and EXPIRE; each reply
 * must parse exactly. */
static void test_retention_ops(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", id[DDT_MAX_STR + 1] = "",
	     s2[DDT_MAX_STR + 1];
	int fd = wire_admin_login(d), st, good = 0;
	uint8_t *out = NULL;
	int64_t expires = 0;
	ddt_attr a;
	size_t len;
	wbuf p;
	rbuf r;

	if (wire_su_create(fd, "ret", NULL, msg) != 0)
		tap_bail("SU_CREATE: %s", msg);
	wb_init(&p);
	wb_str(&p, "ret");
	wb_u32(&p, DDT_SU_SET_RETENTION | DDT_SU_SET_QUOTA);
	wb_u64(&p, 60);
	wb_u8(&p, 1);			/* not in the mask: ignored */
	wb_u64(&p, 12345);
	st = wire_call(fd, DDT_OP_SU_SET, &p, &out, &len, msg);
	if (st == 0) {
		rb_init(&r, out, len);
		rb_u64(&r);
		rb_u64(&r);
		rb_u64(&r);
		good = rb_u64(&r) == 60 && rb_u8(&r) == 0 &&
		       rb_u64(&r) == 12345 && rb_done(&r) == 0;
	}
	free(out);
	ok(st == 0 && good, "SU_SET: retention and quota, lock untouched (%s)",
	   msg);

	wb_reset(&p);
	wb_str(&p, "ret");
	wb_str(&p, "x");
	wb_i64(&p, DDT_RETAIN_DEFAULT);
	st = wire_call(fd, DDT_OP_BACKUP_BEGIN, &p, &out, &len, msg);
	good = 0;
	if (st == 0) {
		rb_init(&r, out, len);
		rb_str(&r, id, sizeof(id));
		rb_attr(&r, &a);
		expires = rb_i64(&r);
		good = rb_done(&r) == 0 &&
		       expires == a.mtime + 60 * 1000000000LL;
	}
	free(out);
	ok(st == 0 && good, "BACKUP_BEGIN takes the unit's retention: %s", id);

	wb_reset(&p);
	wb_str(&p, "ret");
	st = wire_call(fd, DDT_OP_BACKUP_LIST, &p, &out, &len, msg);
	good = 0;
	if (st == 0) {
		rb_init(&r, out, len);
		good = rb_u32(&r) == 1;
		rb_str(&r, s2, sizeof(s2));
		rb_u64(&r);
		good &= rb_u32(&r) == (DDT_AF_BACKUP | DDT_AF_INCOMPLETE);
		rb_i64(&r);
		rb_u64(&r);
		rb_u64(&r);
		good &= rb_i64(&r) == expires && rb_done(&r) == 0 &&
			strcmp(s2, id) == 0;
	}
	free(out);
	ok(st == 0 && good, "BACKUP_LIST carries the expiry");

	wb_reset(&p);
	wb_str(&p, "ret");
	wb_str(&p, id);
	wb_i64(&p, 1);
	st = wire_call(fd, DDT_OP_BACKUP_SET, &p, &out, &len, msg);
	ok(st == 0 && len == 0, "BACKUP_SET moves it to 1970 (%s)", msg);
	free(out);
	for (int dry = 1; dry >= 0; dry--) {
		wb_reset(&p);
		wb_str(&p, "");
		wb_u8(&p, (uint8_t)dry);
		st = wire_call(fd, DDT_OP_EXPIRE, &p, &out, &len, msg);
		good = 0;
		if (st == 0) {
			rb_init(&r, out, len);
			good = rb_u32(&r) == 1;
			rb_str(&r, s2, sizeof(s2));
			good &= strcmp(s2, "ret") == 0;
			rb_str(&r, s2, sizeof(s2));
			good &= strcmp(s2, id) == 0 && rb_i64(&r) == 1 &&
				rb_done(&r) == 0;
		}
		free(out);
		ok(st == 0 && good, "EXPIRE%s names it", dry ? " (dry run)" :
		   "");
	}
	wb_reset(&p);
	wb_str(&p, "ret");
	st = wire_call(fd, DDT_OP_BACKUP_LIST, &p, &out, &len, msg);
	ok(st == 0 && len == 4 && out[0] == 0, "and it is gone");
	free(out);
	wb_reset(&p);
	wb_str(&p, "");
	st = wire_call(fd, DDT_OP_EXPIRE, &p, NULL, NULL, msg);
	ok(st == DDT_EPROTO && wire_closed_by_peer(fd),
	   "an EXPIRE without dry_run is a protocol error");
	wb_free(&p);
	close(fd);
}

static void test_malformed(const test_daemon *d)
{
	uint8_t junk[64] = { 0 };
	int fd;

	fd = wire_admin_login(d);
	wire_send_raw(fd, DDT_MAX_FRAME + 100, DDT_PROTO_VERSION, DDT_OP_STATUS,
		      0, NULL, 0);
	ok(wire_expect_eproto(fd),
	   "an oversized frame: EPROTO, session closed");

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, DDT_PROTO_VERSION, 0x77, 0, NULL, 0);
	ok(wire_expect_eproto(fd), "an unknown opcode: EPROTO, session closed");

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, 9, DDT_OP_STATUS, 0, NULL, 0);
	ok(wire_expect_eproto(fd), "another protocol version: EPROTO, closed");

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, DDT_PROTO_VERSION, DDT_OP_STATUS, DDT_F_REPLY,
		      NULL, 0);
	ok(wire_expect_eproto(fd),
	   "a reply sent to the target: EPROTO, closed");

	/* A COMMIT whose entry count claims far more than the payload. */
	fd = wire_admin_login(d);
	junk[8] = 0;
	junk[12] = 0xff;
	junk[13] = 0xff;
	wire_send_raw(fd, 12 + sizeof(junk), DDT_PROTO_VERSION, DDT_OP_COMMIT,
		      0, junk, sizeof(junk));
	ok(wire_expect_eproto(fd),
	   "a COMMIT with a lying count: EPROTO, closed");

	/* A SEG_PUT whose segment length runs past the payload. */
	fd = wire_admin_login(d);
	memset(junk, 0, sizeof(junk));
	junk[0] = 1;			/* one segment */
	junk[4 + 32] = 1;		/* codec */
	junk[4 + 33] = 100;		/* raw_len */
	junk[4 + 37] = 0xff;		/* stored_len: huge */
	junk[4 + 38] = 0xff;
	wire_send_raw(fd, 12 + sizeof(junk), DDT_PROTO_VERSION, DDT_OP_SEG_PUT,
		      0, junk, sizeof(junk));
	ok(wire_expect_eproto(fd),
	   "a SEG_PUT with a lying length: EPROTO, closed");

	/* A session that does not start with HELLO. */
	fd = tcp_connect(d->port);
	wire_send_raw(fd, 12, DDT_PROTO_VERSION, DDT_OP_STATUS, 0, NULL, 0);
	ok(wire_expect_eproto(fd), "a request before HELLO: EPROTO, closed");

	/* Garbage instead of a header, then a vanished client mid-frame. */
	fd = tcp_connect(d->port);
	memset(junk, 0xee, sizeof(junk));
	wire_write_all(fd, junk, sizeof(junk));
	ok(wire_expect_eproto(fd), "garbage bytes: EPROTO, closed");
	fd = wire_admin_login(d);
	wire_send_raw(fd, 12 + 1000, DDT_PROTO_VERSION, DDT_OP_SEG_PUT, 0,
		      junk, 10);
	close(fd);

	fd = wire_admin_login(d);
	ok(fd >= 0 && wire_call(fd, DDT_OP_STATUS, NULL, NULL, NULL, NULL) == 0,
	   "after all that, the daemon still serves new sessions");
	close(fd);
}

/* ---- scrub, alerts, directories ---- */

/* SCRUB_STATUS: running, and the key asked for (-1 if absent); 0, or -1
 * when the reply does not parse exactly. */
static int scrub_status(int fd, int *running, const char *key, int64_t *v)
{
	char phase[DDT_MAX_STR + 1], msg[DDT_MAX_STR + 1];
	uint8_t *out = NULL;
	uint64_t x = 0;
	size_t len;
	rbuf r;
	int rc = -1;

	*v = -1;
	if (wire_call(fd, DDT_OP_SCRUB_STATUS, NULL, &out, &len, NULL) == 0) {
		rb_init(&r, out, len);
		*running = rb_u8(&r);
		rb_str(&r, phase, sizeof(phase));
		rb_str(&r, msg, sizeof(msg));
		if (wire_kv_find(&r, key, &x))
			*v = (int64_t)x;
		rb_count(&r, 2 + 2 + 8, UINT32_MAX);	/* none affected */
		rc = rb_done(&r) == 0 ? 0 : -1;
	}
	free(out);
	return rc;
}

static void test_health_ops(const test_daemon *d)
{
	char msg[DDT_MAX_STR + 1] = "", k[DDT_MAX_STR + 1], v[DDT_MAX_STR + 1];
	int fd = wire_admin_login(d), st, running = 1, good = 0;
	uint8_t *out = NULL;
	int64_t x;
	size_t len;
	wbuf p;
	rbuf r;

	ok(scrub_status(fd, &running, "started_ns", &x) == 0 && !running &&
	   x == 0, "SCRUB_STATUS before any scrub: idle, never started");
	wb_init(&p);
	wb_u8(&p, 2);
	st = wire_call(fd, DDT_OP_SCRUB_START, &p, NULL, NULL, msg);
	ok(st == DDT_EINVAL, "SCRUB_START with repair 2 is refused: %s", msg);
	wb_reset(&p);
	wb_u8(&p, 1);
	st = wire_call(fd, DDT_OP_SCRUB_START, &p, NULL, NULL, msg);
	ok(st == 0, "SCRUB_START starts a scrub %s", msg);
	running = 1;
	x = -1;
	for (int i = 0; i < 500 && running; i++) {
		if (scrub_status(fd, &running, "clean", &x) < 0)
			break;
		if (running)
			sleep_ms(20);
	}
	ok(!running && x == 1, "it ends, leaving nothing wrong");
	ok(wire_status_key(fd, "dir0.present") == 1 &&
	   wire_status_key(fd, "root.present") == 1 &&
	   /* a store on one file system: 8+1 by default */
	   wire_status_key(fd, "data_dirs") == 9 &&
	   wire_status_key(fd, "dir8.capacity_bytes") > 0 &&
	   wire_status_key(fd, "alerts_critical") == 0,
	   "STATUS has each directory's figures and the alert counts");
	st = wire_call(fd, DDT_OP_STATUS_TEXT, NULL, &out, &len, NULL);
	if (st == 0) {
		uint32_t n;

		rb_init(&r, out, len);
		n = rb_count(&r, 4, UINT32_MAX);
		for (uint32_t i = 0; i < n && !r.err; i++) {
			rb_str(&r, k, sizeof(k));
			rb_str(&r, v, sizeof(v));
			if (!strcmp(k, "dir3.path") && strlen(v) > 10 &&
			    !strcmp(v + strlen(v) - 10, "/data/dir3"))
				good++;
			if (!strcmp(k, "dir3.problem") && !v[0])
				good++;
		}
		good = good == 2 && rb_done(&r) == 0;
	}
	free(out);
	ok(st == 0 && good, "STATUS_TEXT names each directory's path");
	out = NULL;
	st = wire_call(fd, DDT_OP_ALERTS, NULL, &out, &len, NULL);
	rb_init(&r, out, len);
	ok(st == 0 && rb_count(&r, 13, UINT32_MAX) == 0 && rb_done(&r) == 0,
	   "ALERTS: none on a healthy target");
	free(out);
	wb_free(&p);
	close(fd);

	fd = wire_admin_login(d);
	wire_send_raw(fd, 12, DDT_PROTO_VERSION, DDT_OP_SCRUB_START, 0, NULL,
		      0);
	ok(wire_expect_eproto(fd), "a SCRUB_START without its byte: EPROTO");
}

static void test_busy(const char *root)
{
	const char *extra[] = { "--max-sessions", "1", NULL };
	char store[600], msg[DDT_MAX_STR + 1] = "";
	test_daemon d;
	int a, b, st;

	snprintf(store, sizeof(store), "%s/busy", root);
	if (daemon_start(&d, store, extra) != 0)
		tap_bail("daemon did not start (see %s)", d.log);
	/* daemon_start's probe connection may not be reaped yet: the one
	 * allowed session can take a moment to become free. */
	for (int i = 0; i < 100; i++) {
		a = tcp_connect(d.port);
		if (a >= 0 && wire_hello(a, NULL) == 0)
			break;
		close(a);
		a = -1;
		sleep_ms(20);
	}
	if (a < 0 || wire_auth(a, "admin", d.password, NULL) != 0)
		tap_bail("cannot log in (see %s)", d.log);
	/* Sessions count once logged in: HELLO is answered, AUTH told. */
	b = tcp_connect(d.port);
	st = wire_hello(b, msg);
	if (st == 0)
		st = wire_auth(b, "admin", d.password, msg);
	ok(st == DDT_EBUSY && strstr(msg, "busy") && wire_closed_by_peer(b),
	   "a session over the limit is told at its AUTH, and closed: %s",
	   msg);
	close(b);
	close(a);
	sleep_ms(100);
	b = tcp_connect(d.port);
	ok(b >= 0 && wire_login(b, "admin", d.password, NULL) == 0,
	   "once a session ends the next one is served");
	close(b);
	st = daemon_stop(&d, SIGTERM);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM stops it cleanly");
}

int main(void)
{
	char *root = tap_tmpdir("daemon");
	test_daemon d;
	int st;

	daemon_start_in(&d, root);
	test_session_rules(&d);
	test_write_read(&d);
	test_retention_ops(&d);
	test_malformed(&d);
	test_health_ops(&d);
	st = daemon_stop(&d, SIGTERM);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "the daemon stops cleanly on SIGTERM");
	test_busy(root);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
