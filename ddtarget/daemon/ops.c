/* ops.c - one handler per opcode: parse the request payload (trusting no
 * count and no length), call the engine, encode the reply. The handlers run
 * on worker threads, several per session at once. Status, alerts and the
 * maintenance jobs' requests are in ops_maint.c. */
#include "ops_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "tree.h"

#define SERVER_NAME	"ddtargetd " PACKAGE_VERSION
#define READ_MAX_SEGS	2048	/* data segments one READ looks up */

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

void ops_session_init(ops_session *ss, const char *peer)
{
	memset(ss, 0, sizeof(*ss));
	pthread_mutex_init(&ss->mu, NULL);
	snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
}

void ops_session_destroy(ops_session *ss)
{
	pthread_mutex_destroy(&ss->mu);
}

uint32_t ops_status(int rc)
{
	switch (-rc) {
	case DDT_EPERM: case DDT_ENOENT: case DDT_EIO: case DDT_EACCES:
	case DDT_EBUSY: case DDT_EEXIST: case DDT_ENOTDIR: case DDT_EISDIR:
	case DDT_EINVAL: case DDT_ENOSPC: case DDT_ENAMETOOLONG:
	case DDT_ENOTEMPTY: case DDT_EPROTO: case DDT_EBADMSG:
	case DDT_EDQUOT:
		return (uint32_t)-rc;
	default:
		return DDT_EIO;
	}
}

int64_t ops_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bad_payload(const char *op)
{
	return ddterr_set(-EPROTO, "malformed %s request", op);
}

/* Parsing ends here: every field read and nothing left over. */
int ops_parsed(const rbuf *r, uint8_t op)
{
	return rb_done(r) ? bad_payload(ddt_op_name(op)) : 0;
}

/* A request that parses but asks for more than the operation takes at
 * once: refused, and the session goes on (PROTOCOL.md, Limits). */
static int over_limit(uint8_t op, uint32_t n, const char *what, uint32_t max)
{
	return ddterr_set(-EINVAL, "%s: %u %s in one request, at most %u: "
			  "send them in several", ddt_op_name(op), n, what, max);
}

/* A list of n fixed-size elements of elem bytes over its limit: check
 * that the request parses (else -EPROTO), then refuse it. */
static int skip_over_limit(rbuf *r, uint8_t op, uint32_t n, size_t elem,
			   const char *what, uint32_t max)
{
	int rc;

	(void)rb_bytes(r, (size_t)n * elem);
	if ((rc = ops_parsed(r, op)) < 0)
		return rc;
	return over_limit(op, n, what, max);
}

static int role_of(ops_session *ss, int *authed)
{
	int role;

	pthread_mutex_lock(&ss->mu);
	*authed = ss->authed;
	role = ss->role;
	pthread_mutex_unlock(&ss->mu);
	return role;
}

/* ---- session ---- */

static int op_hello(ddtd *d, rbuf *r, wbuf *w)
{
	char client[DDT_MAX_STR + 1];
	uint32_t version = rb_u32(r);
	uint64_t codecs = 0;

	rb_str(r, client, sizeof(client));
	if (rb_done(r))
		return bad_payload("HELLO");
	if (version != DDT_PROTO_VERSION)
		return ddterr_set(-EPROTO, "client speaks protocol %u, this "
				  "target %u", version, DDT_PROTO_VERSION);
	for (int c = 0; c < CODEC_COUNT; c++)
		codecs |= 1ull << c;
	wb_u32(w, DDT_PROTO_VERSION);
	wb_str(w, SERVER_NAME);
	wb_u32(w, DDT_MAX_PAYLOAD);
	wb_u32(w, DDT_MAX_INFLIGHT);
	wb_u32(w, CDC_MIN_DEFAULT);
	wb_u32(w, CDC_AVG_DEFAULT);
	wb_u32(w, CDC_MAX_DEFAULT);
	wb_u64(w, codecs);
	(void)d;
	return 0;
}

/* A failed AUTH ends the session (ops_ends_session): guessing a password
 * costs a connection and a PBKDF2 each time. A user name no user can
 * have is refused like a wrong password, not as a protocol error. */
static int op_auth(ddtd *d, ops_session *ss, rbuf *r, wbuf *w)
{
	char user[DDT_MAX_STR + 1], pass[DDT_MAX_STR + 1];
	int role, rc;

	rb_str(r, user, sizeof(user));
	rb_str(r, pass, sizeof(pass));
	if (rb_done(r))
		return bad_payload("AUTH");
	rc = auth_check(d->ix, user, pass, &role);
	memset(pass, 0, sizeof(pass));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&ss->mu);
	ss->authed = 1;
	ss->role = role;
	snprintf(ss->user, sizeof(ss->user), "%.*s", DDT_MAX_NAME, user);
	pthread_mutex_unlock(&ss->mu);
	wb_u8(w, (uint8_t)role);
	return 0;
}

void ops_kv(wbuf *w, uint32_t *n, const char *key, uint64_t v)
{
	wb_str(w, key);
	wb_u64(w, v);
	(*n)++;
}

int ops_need_admin(ops_session *ss, const char *what)
{
	int authed;

	if (role_of(ss, &authed) != DDT_ROLE_ADMIN)
		return ddterr_set(-EPERM, "%s needs an admin user", what);
	return 0;
}

/* ---- storage units ---- */

static int op_su_create(ddtd *d, ops_session *ss, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = ops_parsed(r, DDT_OP_SU_CREATE)) < 0 ||
	    (rc = ops_need_admin(ss, "creating a storage unit")) < 0 ||
	    (rc = ns_su_create(d->ns, name, &su)) < 0)
		return rc;
	wb_u64(w, su.root);
	return 0;
}

static int su_list_cb(void *arg, const ns_su *su)
{
	void **a = arg;
	wbuf *w = a[0];

	wb_str(w, su->name);
	wb_u64(w, su->root);
	wb_u64(w, su->files);
	wb_u64(w, su->logical_bytes);
	wb_i64(w, su->created);
	wb_u64(w, su->retention);
	wb_u8(w, (uint8_t)su->locked);
	wb_u64(w, su->quota);
	(*(uint32_t *)a[1])++;
	return w->err;
}

static int op_su_list(ddtd *d, rbuf *r, wbuf *w)
{
	uint32_t n = 0;
	void *a[2] = { w, &n };
	size_t at;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_SU_LIST)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	rc = ns_su_list(d->ns, su_list_cb, a);
	wb_put_u32_at(w, at, n);
	return rc;
}

static int op_su_delete(ddtd *d, ops_session *ss, rbuf *r)
{
	char name[DDT_MAX_STR + 1];
	uint8_t recursive;
	int rc;

	rb_str(r, name, sizeof(name));
	recursive = rb_u8(r);
	if ((rc = ops_parsed(r, DDT_OP_SU_DELETE)) < 0 ||
	    (rc = ops_need_admin(ss, "deleting a storage unit")) < 0)
		return rc;
	return ns_su_delete(d->ns, name, recursive);
}

/* SU_OPEN's reply, which SU_SET's repeats. */
static void su_reply(wbuf *w, const ns_su *su)
{
	wb_u64(w, su->root);
	wb_u64(w, su->files);
	wb_u64(w, su->logical_bytes);
	wb_u64(w, su->retention);
	wb_u8(w, (uint8_t)su->locked);
	wb_u64(w, su->quota);
}

static int op_su_open(ddtd *d, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = ops_parsed(r, DDT_OP_SU_OPEN)) < 0 ||
	    (rc = ns_su_get(d->ns, name, &su)) < 0)
		return rc;
	su_reply(w, &su);
	return 0;
}

/* ---- retention, retention lock, quota ---- */

static int op_su_set(ddtd *d, ops_session *ss, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	uint64_t retention, quota;
	uint32_t mask;
	uint8_t lock;
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	mask = rb_u32(r);
	retention = rb_u64(r);
	lock = rb_u8(r);
	quota = rb_u64(r);
	if ((rc = ops_parsed(r, DDT_OP_SU_SET)) < 0 ||
	    (rc = ops_need_admin(ss, "changing a storage unit's settings")) < 0 ||
	    (rc = ns_su_set(d->ns, name, mask, retention, lock, quota,
			    &su)) < 0)
		return rc;
	su_reply(w, &su);
	return 0;
}

static int op_backup_set(ddtd *d, rbuf *r)
{
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int64_t expires;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	expires = rb_i64(r);
	if ((rc = ops_parsed(r, DDT_OP_BACKUP_SET)) < 0)
		return rc;
	return ns_backup_set_expiry(d->ns, su, id, expires);
}

typedef struct expire_ctx {
	wbuf *w;
	uint32_t n;
} expire_ctx;

static int expire_cb(void *arg, const char *su, const ns_backup *b)
{
	expire_ctx *c = arg;

	wb_str(c->w, su);
	wb_str(c->w, b->id);
	wb_i64(c->w, b->expires);
	c->n++;
	/* Full: stop before the reply outgrows a payload; what was removed
	 * is all in it, and the client asks again for the rest. */
	if (c->w->len + 2 * (2 + DDT_MAX_NAME) + 8 > DDT_MAX_PAYLOAD)
		return 1;
	return c->w->err;
}

static int op_expire(ddtd *d, rbuf *r, wbuf *w)
{
	char su[DDT_MAX_STR + 1];
	expire_ctx c = { .w = w, .n = 0 };
	uint8_t dry_run;
	size_t at;
	int rc;

	rb_str(r, su, sizeof(su));
	dry_run = rb_u8(r);
	if ((rc = ops_parsed(r, DDT_OP_EXPIRE)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	rc = ns_expire(d->ns, su[0] ? su : NULL, ops_now_ns(), dry_run, expire_cb,
		       &c);
	if (rc > 0)
		rc = 0;
	wb_put_u32_at(w, at, c.n);
	return rc;
}

/* ---- namespace ---- */

static int reply_attr(wbuf *w, int rc, const ddt_attr *a)
{
	if (rc == 0)
		wb_attr(w, a);
	return rc;
}

static int op_lookup(ddtd *d, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = ops_parsed(r, DDT_OP_LOOKUP)) < 0)
		return rc;
	return reply_attr(w, ns_lookup(d->ns, dir, name, &a), &a);
}

static int op_getattr(ddtd *d, rbuf *r, wbuf *w)
{
	uint64_t ino = rb_u64(r);
	ddt_attr a;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_GETATTR)) < 0)
		return rc;
	return reply_attr(w, ns_getattr(d->ns, ino, &a), &a);
}

static int op_mkdir(ddtd *d, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	uint32_t mode, uid, gid;
	int64_t mtime;
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	mode = rb_u32(r);
	uid = rb_u32(r);
	gid = rb_u32(r);
	mtime = rb_i64(r);
	if ((rc = ops_parsed(r, DDT_OP_MKDIR)) < 0)
		return rc;
	return reply_attr(w, ns_mkdir(d->ns, dir, name, mode, uid, gid, mtime,
				      &a), &a);
}

typedef struct readdir_ctx {
	wbuf *w;
	uint32_t n;
} readdir_ctx;

static int readdir_cb(void *arg, const char *name, const ddt_attr *a)
{
	readdir_ctx *c = arg;

	/* Stop before the reply outgrows a payload. */
	if (c->w->len + DDT_MAX_STR + 256 > DDT_MAX_PAYLOAD)
		return 1;
	wb_str(c->w, name);
	wb_attr(c->w, a);
	c->n++;
	return c->w->err;
}

static int op_readdir(ddtd *d, rbuf *r, wbuf *w)
{
	char after[DDT_MAX_STR + 1];
	readdir_ctx c = { .w = w, .n = 0 };
	uint64_t dir = rb_u64(r);
	uint32_t max;
	size_t at;
	int eof = 0, rc;

	rb_str(r, after, sizeof(after));
	max = rb_u32(r);
	if ((rc = ops_parsed(r, DDT_OP_READDIR)) < 0)
		return rc;
	if (max == 0 || max > DDT_MAX_READDIR)
		max = DDT_MAX_READDIR;
	at = w->len;
	wb_u32(w, 0);
	rc = ns_readdir(d->ns, dir, after, max, readdir_cb, &c, &eof);
	if (rc > 0) {		/* the callback stopped it: more to come */
		rc = 0;
		eof = 0;
	}
	if (rc < 0)
		return rc;
	wb_put_u32_at(w, at, c.n);
	wb_u8(w, (uint8_t)eof);
	return 0;
}

static int op_rename(ddtd *d, rbuf *r)
{
	char sname[DDT_MAX_STR + 1], dname[DDT_MAX_STR + 1];
	uint64_t sdir, ddir;
	int rc;

	sdir = rb_u64(r);
	rb_str(r, sname, sizeof(sname));
	ddir = rb_u64(r);
	rb_str(r, dname, sizeof(dname));
	if ((rc = ops_parsed(r, DDT_OP_RENAME)) < 0)
		return rc;
	return ns_rename(d->ns, sdir, sname, ddir, dname);
}

static int op_unlink_rmdir(ddtd *d, rbuf *r, uint8_t op)
{
	char name[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = ops_parsed(r, op)) < 0)
		return rc;
	return op == DDT_OP_RMDIR ? ns_rmdir(d->ns, dir, name)
				  : ns_unlink(d->ns, dir, name);
}

static int op_setattr(ddtd *d, rbuf *r, wbuf *w)
{
	ddt_attr v = { 0 }, a;
	uint64_t ino = rb_u64(r);
	uint32_t mask = rb_u32(r);
	int rc;

	v.mode = rb_u32(r);
	v.uid = rb_u32(r);
	v.gid = rb_u32(r);
	v.atime = rb_i64(r);
	v.mtime = rb_i64(r);
	if ((rc = ops_parsed(r, DDT_OP_SETATTR)) < 0)
		return rc;
	return reply_attr(w, ns_setattr(d->ns, ino, mask, &v, &a), &a);
}

static int op_symlink(ddtd *d, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1], target[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	uint32_t uid, gid;
	int64_t mtime;
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	rb_str(r, target, sizeof(target));
	uid = rb_u32(r);
	gid = rb_u32(r);
	mtime = rb_i64(r);
	if ((rc = ops_parsed(r, DDT_OP_SYMLINK)) < 0)
		return rc;
	return reply_attr(w, ns_symlink(d->ns, dir, name, target, uid, gid,
					mtime, &a), &a);
}

static int op_readlink(ddtd *d, rbuf *r, wbuf *w)
{
	char target[DDT_MAX_STR + 1];
	uint64_t ino = rb_u64(r);
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_READLINK)) < 0 ||
	    (rc = ns_readlink(d->ns, ino, target, sizeof(target))) < 0)
		return rc;
	wb_str(w, target);
	return 0;
}

static int op_link(ddtd *d, rbuf *r, wbuf *w)
{
	char name[DDT_MAX_STR + 1];
	uint64_t ino = rb_u64(r), dir = rb_u64(r);
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = ops_parsed(r, DDT_OP_LINK)) < 0)
		return rc;
	return reply_attr(w, ns_link(d->ns, ino, dir, name, &a), &a);
}

/* ---- the deduplicated write ---- */

/* Bit i of the reply is (byte i / 8) & (1 << (i % 8)): least significant
 * first. */
static int op_fp_query(ddtd *d, rbuf *r, wbuf *w)
{
	uint32_t n = rb_count(r, FP_LEN, UINT32_MAX), nbytes = (n + 7) / 8;
	uint8_t *present = NULL, *bits;
	fp_t *fps;
	int rc;

	if (n > DDT_MAX_QUERY)
		return skip_over_limit(r, DDT_OP_FP_QUERY, n, FP_LEN,
				       "fingerprints", DDT_MAX_QUERY);
	fps = malloc((n ? n : 1) * sizeof(*fps));
	if (!fps)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		rb_fp(r, &fps[i]);
	if ((rc = ops_parsed(r, DDT_OP_FP_QUERY)) < 0)
		goto out;
	present = malloc(n ? n : 1);
	if (!present) {
		rc = -ENOMEM;
		goto out;
	}
	rc = store_has(d->st, fps, n, present);
	if (rc < 0)
		goto out;
	wb_u32(w, nbytes);
	bits = wb_reserve(w, nbytes);
	if (!bits) {
		rc = w->err;
		goto out;
	}
	memset(bits, 0, nbytes);
	for (uint32_t i = 0; i < n; i++)
		if (present[i])
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
out:
	free(present);
	free(fps);
	return rc;
}

static int op_seg_put(ddtd *d, rbuf *r, wbuf *w)
{
	uint32_t n = rb_count(r, FP_LEN + 9, UINT32_MAX);
	store_seg *segs;
	size_t fresh = 0;
	int rc;

	segs = calloc(n ? n : 1, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		rb_fp(r, &segs[i].fp);
		segs[i].codec = rb_u8(r);
		segs[i].raw_len = rb_u32(r);
		segs[i].stored_len = rb_u32(r);
		segs[i].data = rb_bytes(r, segs[i].stored_len);
	}
	rc = ops_parsed(r, DDT_OP_SEG_PUT);
	if (rc == 0)
		rc = store_put(d->st, segs, n, &fresh);
	if (rc == 0)
		wb_u32(w, (uint32_t)fresh);
	free(segs);
	return rc;
}

#define COMMIT_ENTRY_MIN	(2 + 3 * 4 + 3 * 8 + 1 + FP_LEN)

/* One COMMIT entry into e. A name too long for any directory still
 * parses: *long_name remembers the first (1-based) for -ENAMETOOLONG. */
static void rb_entry(rbuf *r, ns_entry *e, uint32_t i, uint32_t *long_name)
{
	char name[DDT_MAX_STR + 1];

	rb_str(r, name, sizeof(name));
	if (strlen(name) > DDT_MAX_NAME && !*long_name)
		*long_name = i + 1;
	snprintf(e->name, sizeof(e->name), "%.*s", DDT_MAX_NAME, name);
	e->mode = rb_u32(r);
	e->uid = rb_u32(r);
	e->gid = rb_u32(r);
	e->atime = rb_i64(r);
	e->mtime = rb_i64(r);
	e->size = rb_u64(r);
	e->level = rb_u8(r);
	rb_fp(r, &e->root);
}

static int op_commit(ddtd *d, rbuf *r, wbuf *w)
{
	uint64_t dir = rb_u64(r);
	uint32_t flags = rb_u32(r);
	uint32_t n = rb_count(r, COMMIT_ENTRY_MIN, UINT32_MAX), long_name = 0;
	uint32_t keep = n < DDT_MAX_COMMIT ? n : DDT_MAX_COMMIT;
	ns_entry *e, extra;
	ddt_attr *out = NULL;
	int rc;

	e = calloc(keep ? keep : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* Entries past the limit are parsed, to tell EPROTO from EINVAL. */
	for (uint32_t i = 0; i < n; i++)
		rb_entry(r, i < keep ? &e[i] : &extra, i, &long_name);
	rc = ops_parsed(r, DDT_OP_COMMIT);
	if (rc == 0 && n > DDT_MAX_COMMIT)
		rc = over_limit(DDT_OP_COMMIT, n, "entries", DDT_MAX_COMMIT);
	if (rc == 0 && long_name)
		rc = ddterr_set(-ENAMETOOLONG, "COMMIT: entry %u has a name of "
				"over %d bytes", long_name, DDT_MAX_NAME);
	if (rc == 0 && !(out = calloc(n ? n : 1, sizeof(*out))))
		rc = -ENOMEM;
	if (rc == 0)
		rc = clean_commit(d->cl, dir, e, n, flags & DDT_CF_SYNC, out);
	if (rc == 0) {
		wb_u32(w, n);
		for (uint32_t i = 0; i < n; i++)
			wb_attr(w, &out[i]);
	}
	free(out);
	free(e);
	return rc;
}

/* ---- reads ---- */

/* Append segment fp (with lead extra bytes of the caller's in front) to
 * the reply, unless it would take the payload past DDT_MAX_PAYLOAD: then
 * nothing is appended and 1 is returned. */
typedef struct seg_put {
	wbuf *w;
	const fp_t *fp;
	size_t lead;
} seg_put;

/* Straight from where the store holds it into the reply. */
static int append_seg(void *arg, int codec, uint32_t raw, const void *data,
		      uint32_t stored)
{
	seg_put *p = arg;
	wbuf *w = p->w;

	if (w->len - DDT_HDR_LEN + p->lead + FP_LEN + 9 + stored >
	    DDT_MAX_PAYLOAD)
		return 1;
	wb_fp(w, p->fp);
	wb_u8(w, (uint8_t)codec);
	wb_u32(w, raw);
	wb_u32(w, stored);
	wb_bytes(w, data, stored);
	return w->err;
}

static int put_seg(ddtd *d, wbuf *w, const fp_t *fp, size_t lead)
{
	seg_put p = { .w = w, .fp = fp, .lead = lead };
	char hex[FP_HEX_LEN + 1];
	int rc = store_peek(d->st, fp, append_seg, &p);

	if (rc == -ENOENT) {
		fp_to_hex(fp, hex);
		rc = ddterr_set(-ENOENT, "segment %s is not on the target",
				hex);
	}
	return rc;
}

/* As many segments as fit, in request order: the reply holds those of
 * the first m fingerprints, m >= 1 if any were asked for (a segment is at
 * most codec_bound(1 MiB) bytes, far less than a payload), and the client
 * asks again for the rest. */
static int op_seg_get(ddtd *d, rbuf *r, wbuf *w)
{
	uint32_t n = rb_count(r, FP_LEN, UINT32_MAX), m = 0;
	fp_t *fps;
	size_t at;
	int rc = 0;

	if (n > DDT_MAX_GET)
		return skip_over_limit(r, DDT_OP_SEG_GET, n, FP_LEN,
				       "fingerprints", DDT_MAX_GET);
	fps = malloc((n ? n : 1) * sizeof(*fps));
	if (!fps)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		rb_fp(r, &fps[i]);
	rc = ops_parsed(r, DDT_OP_SEG_GET);
	at = w->len;
	wb_u32(w, 0);
	for (; rc == 0 && m < n; m++) {
		rc = put_seg(d, w, &fps[m], 0);
		if (rc == 1)		/* full: the rest in the next SEG_GET */
			break;
	}
	if (rc == 1)
		rc = m > 0 ? 0 : ddterr_set(-EIO, "SEG_GET: a segment larger "
					    "than a reply");
	wb_put_u32_at(w, at, m);
	free(fps);
	return rc;
}

/* A READ's metadata segments, whole from the store (decompressed and
 * checked against their fingerprints by store_read). */
static int fetch_meta(void *arg, const fp_t *fp, uint8_t **out,
		      size_t *out_len)
{
	uint8_t *buf = malloc(TREE_MAX_SEG_LEN);
	char hex[FP_HEX_LEN + 1];
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_read(arg, fp, buf, TREE_MAX_SEG_LEN, out_len);
	if (rc == -ENOENT || rc == -ENOBUFS) {
		fp_to_hex(fp, hex);
		rc = ddterr_set(-EIO, "the file's metadata segment %s is %s",
				hex, rc == -ENOENT ? "missing" : "too large");
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* A READ's data segment, appended only if it has the bytes its parent in
 * the tree gives it: a tree committed before COMMIT checked that (or
 * damaged since) would otherwise hand the client holes or overlaps. */
typedef struct read_put {
	seg_put p;
	uint64_t want;		/* the tree's figure */
	int root;		/* a level-0 root: the figure is the size */
} read_put;

static int append_checked(void *arg, int codec, uint32_t raw,
			  const void *data, uint32_t stored)
{
	read_put *q = arg;
	char hex[FP_HEX_LEN + 1];

	if (raw == q->want)
		return append_seg(&q->p, codec, raw, data, stored);
	fp_to_hex(q->p.fp, hex);
	return ddterr_set(-EBADMSG, "the file's tree is damaged: data segment "
			  "%s has %u bytes where %s says %" PRIu64, hex, raw,
			  q->root ? "the file's size" : "its parent", q->want);
}

static int put_read_seg(ddtd *d, wbuf *w, const tree_entry *e, int root)
{
	read_put q = { .p = { .w = w, .fp = &e->fp }, .want = e->bytes,
		       .root = root };

	return store_peek(d->st, &e->fp, append_checked, &q);
}

static int op_read(ddtd *d, rbuf *r, wbuf *w)
{
	uint64_t ino = rb_u64(r), off = rb_u64(r);
	uint32_t len = rb_u32(r), n = 0, sent = 0;
	tree_entry *segs = NULL;
	uint64_t *offs = NULL;
	ddt_attr a;
	size_t at;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_READ)) < 0 ||
	    (rc = ns_getattr(d->ns, ino, &a)) < 0)
		return rc;
	if (a.type != DDT_T_FILE)
		return ddterr_set(a.type == DDT_T_DIR ? -EISDIR : -EINVAL,
				  "inode %" PRIu64 " is not a regular file", ino);
	wb_u64(w, a.size);
	at = w->len;
	wb_u32(w, 0);
	if (off >= a.size || len == 0)
		return 0;
	/* Room for the window, compressed or not, at once: growing the
	 * reply by doubling would copy it again and again. */
	wb_grow(w, len < DDT_MAX_PAYLOAD ? len + 64 * 1024 : DDT_MAX_PAYLOAD);
	segs = malloc(READ_MAX_SEGS * sizeof(*segs));
	offs = malloc(READ_MAX_SEGS * sizeof(*offs));
	if (!segs || !offs) {
		rc = -ENOMEM;
		goto out;
	}
	rc = tree_map(&a.root, a.level, a.size, off, len, fetch_meta, d->st,
		      segs, offs, READ_MAX_SEGS, &n);
	if (rc == -EBADMSG)
		rc = ddterr_set(rc, "the file's tree is damaged: %s",
				ddterr_last(rc));
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		size_t before = w->len;

		wb_u64(w, offs[i]);
		rc = put_read_seg(d, w, &segs[i], a.level == 0);
		if (rc == 1) {		/* full: the rest in the next READ */
			w->len = before;
			rc = 0;
			break;
		}
		sent += rc == 0;
	}
	wb_put_u32_at(w, at, sent);
out:
	free(segs);
	free(offs);
	return rc;
}

/* ---- backups ---- */

static int op_backup_begin(ddtd *d, rbuf *r, wbuf *w)
{
	char su[DDT_MAX_STR + 1], name[DDT_MAX_STR + 1];
	int64_t retain;
	ns_backup b;
	ddt_attr a;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, name, sizeof(name));
	retain = rb_i64(r);
	if ((rc = ops_parsed(r, DDT_OP_BACKUP_BEGIN)) < 0 ||
	    (rc = ns_backup_begin(d->ns, su, name, ops_now_ns(), retain, &b,
				  &a)) < 0)
		return rc;
	wb_str(w, b.id);
	wb_attr(w, &a);
	wb_i64(w, b.expires);
	return 0;
}

static int op_backup_end(ddtd *d, rbuf *r, wbuf *w)
{
	uint64_t ino = rb_u64(r), files = rb_u64(r), bytes = rb_u64(r);
	ddt_attr a;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_BACKUP_END)) < 0)
		return rc;
	/* Everything the backup's commits name must be durable before the
	 * backup is called complete. */
	rc = store_barrier(d->st);
	if (rc == 0)
		rc = ns_backup_end(d->ns, ino, files, bytes, &a);
	return reply_attr(w, rc, &a);
}

static int backup_list_cb(void *arg, const ns_backup *b)
{
	void **a = arg;
	wbuf *w = a[0];

	wb_str(w, b->id);
	wb_u64(w, b->ino);
	wb_u32(w, b->flags);
	wb_i64(w, b->created);
	wb_u64(w, b->files);
	wb_u64(w, b->bytes);
	wb_i64(w, b->expires);
	(*(uint32_t *)a[1])++;
	return w->err;
}

static int op_backup_list(ddtd *d, rbuf *r, wbuf *w)
{
	char su[DDT_MAX_STR + 1];
	uint32_t n = 0;
	void *a[2] = { w, &n };
	size_t at;
	int rc;

	rb_str(r, su, sizeof(su));
	if ((rc = ops_parsed(r, DDT_OP_BACKUP_LIST)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	rc = ns_backup_list(d->ns, su, backup_list_cb, a);
	wb_put_u32_at(w, at, n);
	return rc;
}

static int op_backup_delete(ddtd *d, rbuf *r)
{
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	if ((rc = ops_parsed(r, DDT_OP_BACKUP_DELETE)) < 0)
		return rc;
	return ns_backup_delete(d->ns, su, id);
}

static int dispatch(ddtd *d, ops_session *ss, uint8_t op, rbuf *r, wbuf *w)
{
	switch (op) {
	case DDT_OP_STATUS:	return ops_status_req(d, r, w);
	case DDT_OP_SU_CREATE:	return op_su_create(d, ss, r, w);
	case DDT_OP_SU_LIST:	return op_su_list(d, r, w);
	case DDT_OP_SU_DELETE:	return op_su_delete(d, ss, r);
	case DDT_OP_SU_OPEN:	return op_su_open(d, r, w);
	case DDT_OP_LOOKUP:	return op_lookup(d, r, w);
	case DDT_OP_GETATTR:	return op_getattr(d, r, w);
	case DDT_OP_MKDIR:	return op_mkdir(d, r, w);
	case DDT_OP_READDIR:	return op_readdir(d, r, w);
	case DDT_OP_RENAME:	return op_rename(d, r);
	case DDT_OP_UNLINK:
	case DDT_OP_RMDIR:	return op_unlink_rmdir(d, r, op);
	case DDT_OP_SETATTR:	return op_setattr(d, r, w);
	case DDT_OP_SYMLINK:	return op_symlink(d, r, w);
	case DDT_OP_READLINK:	return op_readlink(d, r, w);
	case DDT_OP_LINK:	return op_link(d, r, w);
	case DDT_OP_FP_QUERY:	return op_fp_query(d, r, w);
	case DDT_OP_SEG_PUT:	return op_seg_put(d, r, w);
	case DDT_OP_COMMIT:	return op_commit(d, r, w);
	case DDT_OP_SEG_GET:	return op_seg_get(d, r, w);
	case DDT_OP_READ:	return op_read(d, r, w);
	case DDT_OP_BACKUP_BEGIN: return op_backup_begin(d, r, w);
	case DDT_OP_BACKUP_END:	return op_backup_end(d, r, w);
	case DDT_OP_BACKUP_LIST: return op_backup_list(d, r, w);
	case DDT_OP_BACKUP_DELETE: return op_backup_delete(d, r);
	case DDT_OP_CLEAN_START: return ops_clean_start(d, ss, r);
	case DDT_OP_CLEAN_STATUS: return ops_clean_status(d, r, w);
	case DDT_OP_SU_SET:	return op_su_set(d, ss, r, w);
	case DDT_OP_BACKUP_SET:	return op_backup_set(d, r);
	case DDT_OP_EXPIRE:	return op_expire(d, r, w);
	case DDT_OP_CHECKPOINT:	return ops_checkpoint(d, ss, r, w);
	case DDT_OP_CHECKPOINT_LIST: return ops_checkpoint_list(d, r, w);
	case DDT_OP_STATUS_TEXT: return ops_status_text(d, r, w);
	case DDT_OP_SCRUB_START: return ops_scrub_start(d, ss, r);
	case DDT_OP_SCRUB_STATUS: return ops_scrub_status(d, r, w);
	case DDT_OP_ALERTS:	return ops_alerts(d, r, w);
	}
	return ddterr_set(-EPROTO, "unknown opcode 0x%02x", op);
}

int ops_handle(ddtd *d, ops_session *ss, uint8_t op, const uint8_t *payload,
	       size_t len, wbuf *w)
{
	rbuf r;
	int authed, rc;

	ddterr_clear();
	rb_init(&r, payload, len);
	if (op == DDT_OP_HELLO) {
		rc = op_hello(d, &r, w);
		if (rc == 0) {
			pthread_mutex_lock(&ss->mu);
			ss->hello = 1;
			pthread_mutex_unlock(&ss->mu);
		}
		return rc;
	}
	pthread_mutex_lock(&ss->mu);
	rc = ss->hello;
	pthread_mutex_unlock(&ss->mu);
	if (!rc)	/* not our protocol, or a client out of step */
		return ddterr_set(-EPROTO, "a session starts with HELLO, not %s",
				  ddt_op_name(op));
	if (op == DDT_OP_AUTH)
		return op_auth(d, ss, &r, w);
	role_of(ss, &authed);
	if (!authed)
		return ddterr_set(-EPERM, "authenticate first (AUTH)");
	rc = dispatch(d, ss, op, &r, w);
	if (rc == 0 && !w->err && w->len - DDT_HDR_LEN > DDT_MAX_PAYLOAD)
		w->err = -E2BIG;
	if (rc == 0 && w->err)
		rc = w->err == -E2BIG ?
			ddterr_set(-EINVAL, "%s: the reply would exceed the "
				   "largest frame; ask for less",
				   ddt_op_name(op)) : w->err;
	return rc;
}

int ops_ends_session(uint8_t op, int rc)
{
	return rc == -EPROTO || (op == DDT_OP_AUTH && rc < 0);
}
