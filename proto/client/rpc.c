/* rpc.c - the session (connect, HELLO, AUTH, close) and the simple
 * request/reply calls of ddtc.h: status, storage units, namespace, commit
 * and backups. Each encodes its request, waits for the reply on the
 * pipelined connection (conn.c) and parses it; any number of threads may
 * call at once. A reply that does not parse exactly is the target's fault
 * and reads -EPROTO. */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "ddterr.h"

#define RPC_READDIR_MAX	1024	/* entries asked for per READDIR */

/* ---- plumbing ---- */

/* Send w (freed here) and wait; on success r reads the reply payload,
 * which rpc_end() frees. */
static int rpc_call(ddtc *c, wbuf *w, conn_reply *rep, rbuf *r)
{
	int rc = conn_call(c->cn, w, rep);

	wb_free(w);
	if (rc == 0)
		rb_init(r, rep->buf, rep->len);
	return rc;
}

/* The reply was read: check that it parsed exactly, free it. */
static int rpc_end(conn_reply *rep, rbuf *r, uint8_t op)
{
	int rc = rb_done(r);

	conn_reply_free(rep);
	if (rc < 0)
		return ddterr_set(-EPROTO, "the target's %s reply does not "
				  "parse; is it a ddtargetd of protocol "
				  "version %d?", ddt_op_name(op),
				  DDT_PROTO_VERSION);
	return 0;
}

/* rpc_end() for a reply whose entries went to a callback: a callback that
 * returned cb_rc non-zero stopped the walk, and that is returned as it is,
 * the rest of the reply unread. */
static int rpc_end_cb(conn_reply *rep, rbuf *r, uint8_t op, int cb_rc)
{
	if (cb_rc != 0) {
		conn_reply_free(rep);
		return cb_rc;
	}
	return rpc_end(rep, r, op);
}

/* A request whose reply is empty. */
static int rpc_simple(ddtc *c, wbuf *w, uint8_t op)
{
	conn_reply rep;
	rbuf r;
	int rc;

	rc = rpc_call(c, w, &rep, &r);
	return rc < 0 ? rc : rpc_end(&rep, &r, op);
}

/* The reply to a started request whose reply is one attr; *out (if not
 * NULL) is set only on success. */
static int wait_attr(conn_req *k, uint8_t op, ddt_attr *out)
{
	conn_reply rep;
	ddt_attr a;
	rbuf r;
	int rc;

	rc = conn_wait(k, &rep);
	if (rc < 0)
		return rc;
	rb_init(&r, rep.buf, rep.len);
	rb_attr(&r, &a);
	rc = rpc_end(&rep, &r, op);
	if (rc == 0 && out)
		*out = a;
	return rc;
}

/* A request whose reply is one attr. */
static int rpc_attr(ddtc *c, wbuf *w, uint8_t op, ddt_attr *out)
{
	conn_req *k;
	int rc;

	rc = conn_start(c->cn, w, &k);
	wb_free(w);
	return rc < 0 ? rc : wait_attr(k, op, out);
}

/* ---- session ---- */

void ddtc_opts_default(ddtc_opts *o)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = DDT_DEFAULT_PORT;
	o->user = "admin";
	o->password = "";
	o->client_name = "ddtc";
	o->codec = CODEC_LZ4;
	o->threads = 0;
	o->seg_cache_path = NULL;
	o->timeout = DDTC_TIMEOUT_DEFAULT;
	if ((env = getenv("DDT_TIMEOUT")) != NULL && *env)
		o->timeout = atoi(env);
}

const char *ddtc_errmsg(int rc)
{
	return ddterr_last(rc);
}

int ddtc_role(const ddtc *c)
{
	return c->role;
}

int ddtc_codec_from_name(const char *name)
{
	return codec_from_name(name);
}

const char *ddtc_codec_name(int codec)
{
	return codec_name(codec);
}

int ddtc_name_ok(const char *name)
{
	return ddt_name_ok(name);
}

/* The codec to compress with: the one asked for if the target takes it,
 * else LZ4, else none (always accepted: the target must store raw). */
static int pick_codec(int want, uint64_t accepted)
{
	if (want > CODEC_NONE && want < CODEC_COUNT &&
	    (accepted >> want) & 1)
		return want;
	if ((accepted >> CODEC_LZ4) & 1)
		return CODEC_LZ4;
	return CODEC_NONE;
}

/* Check what HELLO offered and adopt it. */
static int hello_apply(ddtc *c, const ddtc_opts *o, uint32_t version,
		       uint32_t max_payload, uint32_t inflight,
		       const uint32_t cut[3], uint64_t codecs)
{
	int rc;

	if (version != DDT_PROTO_VERSION)
		return ddterr_set(-EPROTO, "the target speaks protocol version "
				  "%u, this client %d: upgrade the older one",
				  version, DDT_PROTO_VERSION);
	rc = cdc_init(&c->cut, cut[0], cut[1], cut[2]);
	if (rc < 0)
		return ddterr_set(-EPROTO, "the target asked for segments of "
				  "%u/%u/%u bytes (min/avg/max): %s", cut[0],
				  cut[1], cut[2], ddterr_last(rc));
	c->max_payload = max_payload < DDT_MAX_PAYLOAD ? max_payload :
			 DDT_MAX_PAYLOAD;
	/* One SEG_PUT must carry the largest segment, stored raw. */
	if (c->max_payload < 4 + DDT_SEG_HEAD_LEN + codec_bound(cut[2]))
		return ddterr_set(-EPROTO, "the target's payload limit %u is "
				  "too small for its own %u-byte segments",
				  max_payload, cut[2]);
	c->codec = pick_codec(o->codec, codecs);
	conn_set_inflight(c->cn, inflight);
	return 0;
}

static int hello(ddtc *c, const ddtc_opts *o)
{
	char server[DDT_MAX_STR + 1];
	uint32_t version, max_payload, inflight, cut[3];
	conn_reply rep;
	uint64_t codecs;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_HELLO);
	wb_u32(&w, DDT_PROTO_VERSION);
	wb_str(&w, o->client_name ? o->client_name : "ddtc");
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	version = rb_u32(&r);
	rb_str(&r, server, sizeof(server));
	max_payload = rb_u32(&r);
	inflight = rb_u32(&r);
	cut[0] = rb_u32(&r);
	cut[1] = rb_u32(&r);
	cut[2] = rb_u32(&r);
	codecs = rb_u64(&r);
	rc = rpc_end(&rep, &r, DDT_OP_HELLO);
	if (rc < 0)
		return rc;
	return hello_apply(c, o, version, max_payload, inflight, cut, codecs);
}

static int auth(ddtc *c, const ddtc_opts *o)
{
	conn_reply rep;
	uint8_t role;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_AUTH);
	wb_str(&w, o->user ? o->user : "admin");
	wb_str(&w, o->password ? o->password : "");
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	role = rb_u8(&r);
	rc = rpc_end(&rep, &r, DDT_OP_AUTH);
	if (rc == 0)
		c->role = role;
	return rc;
}

/* The segment cache is a convenience: without memory for it the session
 * still works, it only asks the target about everything. */
static void seg_cache_open(ddtc *c, const ddtc_opts *o)
{
	char tag[320];

	if (!o->seg_cache_path)
		return;
	c->sc_path = strdup(o->seg_cache_path);
	/* Fingerprints are global on a target, so the address names it. */
	snprintf(tag, sizeof(tag), "%s:%d", o->host ? o->host : "127.0.0.1",
		 o->port ? o->port : DDT_DEFAULT_PORT);
	if (c->sc_path && segcache_open(&c->sc, c->sc_path, segcache_tag(tag),
					SEGCACHE_MAX_DEFAULT, NULL) < 0)
		c->sc = NULL;
}

int ddtc_connect(ddtc **out, const ddtc_opts *o)
{
	ddtc_opts def;
	ddtc *c;
	long cpus;
	int rc;

	if (!o) {
		ddtc_opts_default(&def);
		o = &def;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = o->threads > 0 ? o->threads : cpus > 0 ? (int)cpus : 1;
	rc = conn_open(&c->cn, o->host ? o->host : "127.0.0.1",
		       o->port ? o->port : DDT_DEFAULT_PORT, o->timeout);
	if (rc == 0)
		rc = hello(c, o);
	if (rc == 0)
		rc = auth(c, o);
	if (rc < 0) {
		ddtc_close(c);
		return rc;
	}
	seg_cache_open(c, o);
	*out = c;
	return 0;
}

void ddtc_close(ddtc *c)
{
	if (!c)
		return;
	/* Workers first: they send, and their callbacks need the conn. */
	fw_pool_free(c->pool);
	conn_close(c->cn);
	if (c->sc) {
		/* ddtc_close() cannot fail: a cache not saved is only a
		 * slower next session. */
		(void)segcache_save(c->sc);
		segcache_free(c->sc);
	}
	free(c->sc_path);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void ddtc_get_counters(ddtc *c, ddtc_counters *out)
{
	out->logical_bytes = atomic_load(&c->logical_bytes);
	out->wire_bytes = conn_wire_bytes(c->cn);
	out->segments = atomic_load(&c->segments);
	out->segments_sent = atomic_load(&c->segments_sent);
	out->bytes_sent_stored = atomic_load(&c->bytes_sent_stored);
	out->queries_saved = atomic_load(&c->queries_saved);
}

/* ---- status and storage units ---- */

/* A (str key, u64 value)[] list, each pair to cb (if not NULL). */
static int read_kvs(rbuf *r, ddtc_kv_cb cb, void *arg)
{
	char key[DDT_MAX_STR + 1];
	uint32_t n = rb_count(r, 2 + 8, UINT32_MAX);
	uint64_t v;
	int rc = 0;

	for (uint32_t i = 0; i < n && rc == 0 && !r->err; i++) {
		rb_str(r, key, sizeof(key));
		v = rb_u64(r);
		if (!r->err && cb)
			rc = cb(arg, key, v);
	}
	return rc;
}

/* The head of CLEAN_STATUS and SCRUB_STATUS. */
static void read_job(rbuf *r, ddtc_job *out)
{
	out->running = rb_u8(r);
	rb_str(r, out->phase, sizeof(out->phase));
	rb_str(r, out->msg, sizeof(out->msg));
}

int ddtc_status(ddtc *c, ddtc_kv_cb cb, void *arg)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rc = read_kvs(&r, cb, arg);
	return rpc_end_cb(&rep, &r, DDT_OP_STATUS, rc);
}

int ddtc_clean_start(ddtc *c)
{
	wbuf w;

	conn_begin(&w, DDT_OP_CLEAN_START);
	return rpc_simple(c, &w, DDT_OP_CLEAN_START);
}

int ddtc_clean_status(ddtc *c, ddtc_clean *out, ddtc_kv_cb cb, void *arg)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CLEAN_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	read_job(&r, out);
	rc = read_kvs(&r, cb, arg);
	return rpc_end_cb(&rep, &r, DDT_OP_CLEAN_STATUS, rc);
}

/* ---- status text, scrub, alerts ---- */

int ddtc_status_text(ddtc *c, ddtc_text_cb cb, void *arg)
{
	char key[DDT_MAX_STR + 1], val[DDT_MAX_STR + 1];
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_STATUS_TEXT);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 2 + 2, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_str(&r, key, sizeof(key));
		rb_str(&r, val, sizeof(val));
		if (!r.err)
			rc = cb(arg, key, val);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_STATUS_TEXT, rc);
}

int ddtc_scrub_start(ddtc *c, int repair)
{
	wbuf w;

	conn_begin(&w, DDT_OP_SCRUB_START);
	wb_u8(&w, repair ? 1 : 0);
	return rpc_simple(c, &w, DDT_OP_SCRUB_START);
}

int ddtc_scrub_status(ddtc *c, ddtc_scrub *out, ddtc_kv_cb cb, void *arg,
		      ddtc_affected_cb acb, void *aarg)
{
	char su[DDT_MAX_STR + 1], bk[DDT_MAX_STR + 1];
	conn_reply rep;
	uint32_t n = 0, i;
	uint64_t v;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SCRUB_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	read_job(&r, out);
	rc = read_kvs(&r, cb, arg);
	if (rc == 0)
		n = rb_count(&r, 2 + 2 + 8, UINT32_MAX);
	for (i = 0; rc == 0 && i < n && !r.err; i++) {
		rb_str(&r, su, sizeof(su));
		rb_str(&r, bk, sizeof(bk));
		v = rb_u64(&r);
		if (!r.err && acb)
			rc = acb(aarg, su, bk, v);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_SCRUB_STATUS, rc);
}

int ddtc_alerts(ddtc *c, ddtc_alert_cb cb, void *arg)
{
	conn_reply rep;
	ddtc_alert a;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_ALERTS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_ALERT_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_alert(&r, &a);
		if (!r.err)
			rc = cb(arg, &a);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_ALERTS, rc);
}

int ddtc_su_create(ddtc *c, const char *name, uint64_t *out_root)
{
	conn_reply rep;
	uint64_t root;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SU_CREATE);
	wb_str(&w, name);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	root = rb_u64(&r);
	rc = rpc_end(&rep, &r, DDT_OP_SU_CREATE);
	if (rc == 0 && out_root)
		*out_root = root;
	return rc;
}

int ddtc_su_open(ddtc *c, const char *name, ddtc_su *out)
{
	conn_reply rep;
	ddtc_su su;
	wbuf w;
	rbuf r;
	int rc;

	if (strlen(name) > DDT_MAX_NAME)
		return ddterr_set(-ENAMETOOLONG, "storage unit name \"%.40s"
				  "...\" is over %d bytes", name, DDT_MAX_NAME);
	conn_begin(&w, DDT_OP_SU_OPEN);
	wb_str(&w, name);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	memset(&su, 0, sizeof(su));
	strcpy(su.name, name);
	rb_su_info(&r, &su);
	rc = rpc_end(&rep, &r, DDT_OP_SU_OPEN);
	if (rc == 0 && out)
		*out = su;
	return rc;
}

int ddtc_su_list(ddtc *c, ddtc_su_cb cb, void *arg)
{
	conn_reply rep;
	uint32_t n, i;
	ddtc_su su;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SU_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_SU_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_su(&r, &su);
		if (!r.err)
			rc = cb(arg, &su);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_SU_LIST, rc);
}

int ddtc_su_delete(ddtc *c, const char *name, int recursive)
{
	wbuf w;

	conn_begin(&w, DDT_OP_SU_DELETE);
	wb_str(&w, name);
	wb_u8(&w, recursive ? 1 : 0);
	return rpc_simple(c, &w, DDT_OP_SU_DELETE);
}

int ddtc_su_set(ddtc *c, const char *name, uint32_t mask, uint64_t retention,
		int lock, uint64_t quota, ddtc_su *out)
{
	conn_reply rep;
	ddtc_su su;
	wbuf w;
	rbuf r;
	int rc;

	if (strlen(name) > DDT_MAX_NAME)
		return ddterr_set(-ENAMETOOLONG, "storage unit name \"%.40s"
				  "...\" is over %d bytes", name, DDT_MAX_NAME);
	conn_begin(&w, DDT_OP_SU_SET);
	wb_str(&w, name);
	wb_u32(&w, mask);
	wb_u64(&w, retention);
	wb_u8(&w, lock ? 1 : 0);
	wb_u64(&w, quota);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	memset(&su, 0, sizeof(su));
	strcpy(su.name, name);
	rb_su_info(&r, &su);
	rc = rpc_end(&rep, &r, DDT_OP_SU_SET);
	if (rc == 0 && out)
		*out = su;
	return rc;
}

/* ---- namespace ---- */

int ddtc_lookup(ddtc *c, uint64_t dir, const char *name, ddt_attr *out)
{
	wbuf w;

	conn_begin(&w, DDT_OP_LOOKUP);
	wb_u64(&w, dir);
	wb_str(&w, name);
	return rpc_attr(c, &w, DDT_OP_LOOKUP, out);
}

int ddtc_getattr(ddtc *c, uint64_t ino, ddt_attr *out)
{
	wbuf w;

	conn_begin(&w, DDT_OP_GETATTR);
	wb_u64(&w, ino);
	return rpc_attr(c, &w, DDT_OP_GETATTR, out);
}

int ddtc_lookup_path(ddtc *c, uint64_t dir, const char *path, ddt_attr *out)
{
	char name[DDT_MAX_NAME + 1];
	const char *p = path, *end;
	ddt_attr a;
	size_t n;
	int rc;

	/* An empty path names dir itself. */
	rc = ddtc_getattr(c, dir, &a);
	while (rc == 0 && *p) {
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		p = *end ? end + 1 : end;
		if (n == 0 || (n == 1 && end[-1] == '.'))
			continue;
		if (n == 2 && end[-2] == '.' && end[-1] == '.')
			return ddterr_set(-EINVAL, "path \"%s\": \"..\" is not "
					  "supported; give a path downwards",
					  path);
		if (n > DDT_MAX_NAME)
			return ddterr_set(-ENAMETOOLONG, "path \"%s\": a name "
					  "is over %d bytes", path,
					  DDT_MAX_NAME);
		memcpy(name, end - n, n);
		name[n] = '\0';
		rc = ddtc_lookup(c, a.ino, name, &a);
	}
	if (rc == 0 && out)
		*out = a;
	return rc;
}

static void mkdir_encode(wbuf *w, uint64_t dir, const char *name,
			 uint32_t mode, uint32_t uid, uint32_t gid,
			 int64_t mtime)
{
	conn_begin(w, DDT_OP_MKDIR);
	wb_u64(w, dir);
	wb_str(w, name);
	wb_u32(w, mode);
	wb_u32(w, uid);
	wb_u32(w, gid);
	wb_i64(w, mtime);
}

int ddtc_mkdir(ddtc *c, uint64_t dir, const char *name, uint32_t mode,
	       uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out)
{
	wbuf w;

	mkdir_encode(&w, dir, name, mode, uid, gid, mtime);
	return rpc_attr(c, &w, DDT_OP_MKDIR, out);
}

/* n requests whose replies are one attr each, all sent before the first
 * reply is awaited: one round trip for the lot. encode builds request i
 * of arg into w; result says where its status and (if not NULL) its attr
 * go. A request that could not be sent gets the error that stopped the
 * sending, which is also what this returns (0 once all were sent). */
static int rpc_attr_many(ddtc *c, uint8_t op, size_t n, void *arg,
			 void (*encode)(wbuf *w, const void *arg, size_t i),
			 int *(*result)(void *arg, size_t i, ddt_attr **attr))
{
	conn_req **k = calloc(n ? n : 1, sizeof(*k));
	size_t sent = 0;
	int rc = 0;
	wbuf w;

	if (!k)
		return -ENOMEM;
	for (; sent < n; sent++) {
		encode(&w, arg, sent);
		rc = conn_start(c->cn, &w, &k[sent]);
		wb_free(&w);
		if (rc < 0)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		ddt_attr *attr;
		int *st = result(arg, i, &attr);

		*st = i < sent ? wait_attr(k[i], op, attr) : rc;
	}
	free(k);
	return rc;
}

/* ddtc_mkdir_many's requests: the MKDIRs of reqs in dir. */
typedef struct mkdir_batch {
	uint64_t dir;
	ddtc_mkdir_req *reqs;
} mkdir_batch;

static void mkdir_batch_encode(wbuf *w, const void *arg, size_t i)
{
	const mkdir_batch *b = arg;
	const ddtc_mkdir_req *q = &b->reqs[i];

	mkdir_encode(w, b->dir, q->name, q->mode, q->uid, q->gid, q->mtime);
}

static int *mkdir_batch_result(void *arg, size_t i, ddt_attr **attr)
{
	ddtc_mkdir_req *q = &((mkdir_batch *)arg)->reqs[i];

	*attr = &q->attr;
	return &q->rc;
}

int ddtc_mkdir_many(ddtc *c, uint64_t dir, ddtc_mkdir_req *reqs, size_t n)
{
	mkdir_batch b = { dir, reqs };

	return rpc_attr_many(c, DDT_OP_MKDIR, n, &b, mkdir_batch_encode,
			     mkdir_batch_result);
}

/* One READDIR: entries after `after` go to cb; *eof, and the last name
 * seen is left in after for the next call. */
static int readdir_one(ddtc *c, uint64_t dir, char *after, ddtc_dirent_cb cb,
		       void *arg, int *eof)
{
	char name[DDT_MAX_STR + 1];
	conn_reply rep;
	uint32_t n, i;
	ddt_attr a;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_READDIR);
	wb_u64(&w, dir);
	wb_str(&w, after);
	wb_u32(&w, RPC_READDIR_MAX);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 2 + DDT_ATTR_LEN, UINT32_MAX);
	for (i = 0; i < n && rc == 0 && !r.err; i++) {
		rb_str(&r, name, sizeof(name));
		rb_attr(&r, &a);
		if (!r.err && strlen(name) <= DDT_MAX_NAME) {
			strcpy(after, name);
			rc = cb(arg, name, &a);
		} else {
			r.err = -EPROTO;
		}
	}
	*eof = rb_u8(&r);
	rc = rpc_end_cb(&rep, &r, DDT_OP_READDIR, rc);
	/* No entries and no end would ask the same question forever. */
	if (rc == 0 && n == 0 && !*eof)
		rc = ddterr_set(-EPROTO, "READDIR of directory %" PRIu64
				" returned nothing but no end either", dir);
	return rc;
}

int ddtc_readdir(ddtc *c, uint64_t dir, ddtc_dirent_cb cb, void *arg)
{
	char after[DDT_MAX_NAME + 1] = "";
	int eof = 0, rc = 0;

	while (rc == 0 && !eof)
		rc = readdir_one(c, dir, after, cb, arg, &eof);
	return rc;
}

int ddtc_rename(ddtc *c, uint64_t sdir, const char *sname, uint64_t ddir,
		const char *dname)
{
	wbuf w;

	conn_begin(&w, DDT_OP_RENAME);
	wb_u64(&w, sdir);
	wb_str(&w, sname);
	wb_u64(&w, ddir);
	wb_str(&w, dname);
	return rpc_simple(c, &w, DDT_OP_RENAME);
}

/* UNLINK and RMDIR: the same request, a name in a directory. */
static int remove_name(ddtc *c, uint8_t op, uint64_t dir, const char *name)
{
	wbuf w;

	conn_begin(&w, op);
	wb_u64(&w, dir);
	wb_str(&w, name);
	return rpc_simple(c, &w, op);
}

int ddtc_unlink(ddtc *c, uint64_t dir, const char *name)
{
	return remove_name(c, DDT_OP_UNLINK, dir, name);
}

int ddtc_rmdir(ddtc *c, uint64_t dir, const char *name)
{
	return remove_name(c, DDT_OP_RMDIR, dir, name);
}

static void setattr_encode(wbuf *w, uint64_t ino, uint32_t mask,
			   const ddt_attr *v)
{
	conn_begin(w, DDT_OP_SETATTR);
	wb_u64(w, ino);
	wb_u32(w, mask);
	wb_u32(w, v->mode);
	wb_u32(w, v->uid);
	wb_u32(w, v->gid);
	wb_i64(w, v->atime);
	wb_i64(w, v->mtime);
}

int ddtc_setattr(ddtc *c, uint64_t ino, uint32_t mask, const ddt_attr *v,
		 ddt_attr *out)
{
	wbuf w;

	setattr_encode(&w, ino, mask, v);
	return rpc_attr(c, &w, DDT_OP_SETATTR, out);
}

static void setattr_batch_encode(wbuf *w, const void *arg, size_t i)
{
	const ddtc_setattr_req *q = (const ddtc_setattr_req *)arg + i;

	setattr_encode(w, q->ino, q->mask, &q->v);
}

static int *setattr_batch_result(void *arg, size_t i, ddt_attr **attr)
{
	*attr = NULL;
	return &((ddtc_setattr_req *)arg)[i].rc;
}

int ddtc_setattr_many(ddtc *c, ddtc_setattr_req *reqs, size_t n)
{
	return rpc_attr_many(c, DDT_OP_SETATTR, n, reqs, setattr_batch_encode,
			     setattr_batch_result);
}

int ddtc_symlink(ddtc *c, uint64_t dir, const char *name, const char *target,
		 uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out)
{
	wbuf w;

	conn_begin(&w, DDT_OP_SYMLINK);
	wb_u64(&w, dir);
	wb_str(&w, name);
	wb_str(&w, target);
	wb_u32(&w, uid);
	wb_u32(&w, gid);
	wb_i64(&w, mtime);
	return rpc_attr(c, &w, DDT_OP_SYMLINK, out);
}

int ddtc_readlink(ddtc *c, uint64_t ino, char *buf, size_t cap)
{
	char target[DDT_MAX_STR + 1];
	conn_reply rep;
	size_t n;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_READLINK);
	wb_u64(&w, ino);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rb_str(&r, target, sizeof(target));
	rc = rpc_end(&rep, &r, DDT_OP_READLINK);
	if (rc < 0)
		return rc;
	n = strlen(target);
	if (n + 1 > cap)
		return ddterr_set(-ERANGE, "symbolic link %" PRIu64 " holds "
				  "%zu bytes, more than the %zu-byte buffer",
				  ino, n, cap);
	memcpy(buf, target, n + 1);
	return 0;
}

int ddtc_link(ddtc *c, uint64_t ino, uint64_t dir, const char *name,
	      ddt_attr *out)
{
	wbuf w;

	conn_begin(&w, DDT_OP_LINK);
	wb_u64(&w, ino);
	wb_u64(&w, dir);
	wb_str(&w, name);
	return rpc_attr(c, &w, DDT_OP_LINK, out);
}

/* ---- commit ---- */

/* The reply's attr[] into out (n of them; out may be NULL). */
static int commit_reply(conn_reply *rep, rbuf *r, size_t n, ddt_attr *out)
{
	ddt_attr *a;
	uint32_t got, i;
	int rc;

	a = calloc(n ? n : 1, sizeof(*a));
	if (!a) {
		conn_reply_free(rep);
		return -ENOMEM;
	}
	got = rb_count(r, DDT_ATTR_LEN, UINT32_MAX);
	if (got != n)
		r->err = -EPROTO;
	for (i = 0; i < got && !r->err; i++)
		rb_attr(r, &a[i]);
	rc = rpc_end(rep, r, DDT_OP_COMMIT);
	if (rc == 0 && out)
		memcpy(out, a, n * sizeof(*a));
	free(a);
	return rc;
}

int ddtc_commit(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		int sync, ddt_attr *out)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_COMMIT);
	wb_u64(&w, dir);
	wb_u32(&w, sync ? DDT_CF_SYNC : 0);
	wb_u32(&w, (uint32_t)n);
	for (size_t i = 0; i < n && !w.err; i++)
		wb_entry(&w, &e[i]);
	if (!w.err && w.len - DDT_HDR_LEN > c->max_payload)
		w.err = -E2BIG;
	if (w.err == -E2BIG) {
		wb_free(&w);
		return ddterr_set(-E2BIG, "a COMMIT of %zu entries does not "
				  "fit one request; commit fewer at once", n);
	}
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	return commit_reply(&rep, &r, n, out);
}

/* ---- backups ---- */

int ddtc_backup_begin(ddtc *c, const char *su, const char *name,
		      int64_t retain, ddtc_backup *out)
{
	char id[DDT_MAX_STR + 1];
	conn_reply rep;
	ddtc_backup b;
	int64_t expires;
	ddt_attr a;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_BACKUP_BEGIN);
	wb_str(&w, su);
	wb_str(&w, name);
	wb_i64(&w, retain);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rb_str(&r, id, sizeof(id));
	rb_attr(&r, &a);
	expires = rb_i64(&r);
	if (strlen(id) > DDT_MAX_NAME)
		r.err = -EPROTO;
	rc = rpc_end(&rep, &r, DDT_OP_BACKUP_BEGIN);
	if (rc < 0)
		return rc;
	memset(&b, 0, sizeof(b));
	strcpy(b.id, id);
	b.ino = a.ino;
	b.flags = a.flags;
	b.created = a.ctime;
	b.expires = expires;
	if (out)
		*out = b;
	return 0;
}

int ddtc_backup_end(ddtc *c, uint64_t ino, uint64_t files, uint64_t bytes)
{
	wbuf w;

	conn_begin(&w, DDT_OP_BACKUP_END);
	wb_u64(&w, ino);
	wb_u64(&w, files);
	wb_u64(&w, bytes);
	return rpc_attr(c, &w, DDT_OP_BACKUP_END, NULL);
}

int ddtc_backup_list(ddtc *c, const char *su, ddtc_backup_cb cb, void *arg)
{
	conn_reply rep;
	ddtc_backup b;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_BACKUP_LIST);
	wb_str(&w, su);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_BACKUP_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_backup(&r, &b);
		if (!r.err)
			rc = cb(arg, &b);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_BACKUP_LIST, rc);
}

int ddtc_backup_delete(ddtc *c, const char *su, const char *id)
{
	wbuf w;

	conn_begin(&w, DDT_OP_BACKUP_DELETE);
	wb_str(&w, su);
	wb_str(&w, id);
	return rpc_simple(c, &w, DDT_OP_BACKUP_DELETE);
}

int ddtc_backup_set_expiry(ddtc *c, const char *su, const char *id,
			   int64_t expires)
{
	wbuf w;

	conn_begin(&w, DDT_OP_BACKUP_SET);
	wb_str(&w, su);
	wb_str(&w, id);
	wb_i64(&w, expires);
	return rpc_simple(c, &w, DDT_OP_BACKUP_SET);
}

/* One EXPIRE; *got is how many backups it named. */
static int expire_one(ddtc *c, const char *su, int dry_run,
		      ddtc_expire_cb cb, void *arg, uint32_t *got)
{
	char name[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	conn_reply rep;
	int64_t expires;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_EXPIRE);
	wb_str(&w, su ? su : "");
	wb_u8(&w, dry_run ? 1 : 0);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 2 + 2 + 8, UINT32_MAX);
	for (i = 0; i < n && rc == 0 && !r.err; i++) {
		rb_str(&r, name, sizeof(name));
		rb_str(&r, id, sizeof(id));
		expires = rb_i64(&r);
		if (!r.err && cb)
			rc = cb(arg, name, id, expires);
	}
	*got = n;
	return rpc_end_cb(&rep, &r, DDT_OP_EXPIRE, rc);
}

/* The target stops a reply when it is full; what it removed is in it, so
 * asking again until a reply is empty removes the rest. A dry run names
 * the same backups every time: one request. */
#define EXPIRE_ROUNDS	10000

int ddtc_expire(ddtc *c, const char *su, int dry_run, ddtc_expire_cb cb,
		void *arg)
{
	uint32_t got = 0;
	int rc, round = 0;

	do
		rc = expire_one(c, su, dry_run, cb, arg, &got);
	while (rc == 0 && got > 0 && !dry_run && ++round < EXPIRE_ROUNDS);
	return rc;
}

/* ---- checkpoints ---- */

int ddtc_checkpoint_create(ddtc *c, char *name, size_t cap)
{
	char got[DDT_MAX_STR + 1];
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CHECKPOINT);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rb_str(&r, got, sizeof(got));
	rc = rpc_end(&rep, &r, DDT_OP_CHECKPOINT);
	if (rc == 0 && name && cap)
		snprintf(name, cap, "%s", got);
	return rc;
}

int ddtc_checkpoint_list(ddtc *c, ddtc_checkpoint_cb cb, void *arg)
{
	ddtc_checkpoint ck;
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CHECKPOINT_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_CHECKPOINT_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_checkpoint(&r, &ck);
		if (!r.err)
			rc = cb(arg, &ck);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_CHECKPOINT_LIST, rc);
}
