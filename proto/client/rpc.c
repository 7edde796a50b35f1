/* rpc.c - the request/reply plumbing every call of ddtc.h shares (rpc.h):
 * send a request on the pipelined connection (conn.c), wait for its reply,
 * check that the reply parsed exactly. A reply that does not parse is the
 * target's fault and reads -EPROTO. */
#include "rpc.h"

#include <errno.h>
#include <stdlib.h>

#include "ddterr.h"

int rpc_call(ddtc *c, wbuf *w, conn_reply *rep, rbuf *r)
{
	int rc = conn_call(c->cn, w, rep);

	wb_free(w);
	if (rc == 0)
		rb_init(r, rep->buf, rep->len);
	return rc;
}

int rpc_wait(conn_req *k, conn_reply *rep, rbuf *r)
{
	int rc = conn_wait(k, rep);

	if (rc == 0)
		rb_init(r, rep->buf, rep->len);
	return rc;
}

int rpc_end(conn_reply *rep, rbuf *r, uint8_t op)
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

int rpc_end_cb(conn_reply *rep, rbuf *r, uint8_t op, int cb_rc)
{
	if (cb_rc != 0) {
		conn_reply_free(rep);
		return cb_rc;
	}
	return rpc_end(rep, r, op);
}

int rpc_simple(ddtc *c, wbuf *w, uint8_t op)
{
	conn_reply rep;
	rbuf r;
	int rc;

	rc = rpc_call(c, w, &rep, &r);
	return rc < 0 ? rc : rpc_end(&rep, &r, op);
}

int rpc_wait_attr(conn_req *k, uint8_t op, ddt_attr *out)
{
	conn_reply rep;
	ddt_attr a;
	rbuf r;
	int rc;

	rc = rpc_wait(k, &rep, &r);
	if (rc < 0)
		return rc;
	rb_attr(&r, &a);
	rc = rpc_end(&rep, &r, op);
	if (rc == 0 && out)
		*out = a;
	return rc;
}

int rpc_attr(ddtc *c, wbuf *w, uint8_t op, ddt_attr *out)
{
	conn_req *k;
	int rc;

	rc = conn_start(c->cn, w, &k);
	wb_free(w);
	return rc < 0 ? rc : rpc_wait_attr(k, op, out);
}

int rpc_attr_many(ddtc *c, uint8_t op, size_t n, void *arg,
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

		*st = i < sent ? rpc_wait_attr(k[i], op, attr) : rc;
	}
	free(k);
	return rc;
}

int rpc_kvs(rbuf *r, ddtc_kv_cb cb, void *arg)
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
