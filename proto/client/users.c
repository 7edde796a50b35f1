/* users.c - users managed online (ddtc.h; PROTOCOL.md section 5, Users):
 * add, list, change and remove, and a user's own password; and API
 * tokens (Tokens). */
#include "rpc.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"

int ddtc_user_add(ddtc *c, const char *user, const char *password, int role,
		  const char *domain)
{
	wbuf w;

	conn_begin(&w, DDT_OP_USER_ADD);
	wb_str(&w, user);
	wb_str(&w, password);
	wb_u8(&w, (uint8_t)role);
	wb_str(&w, domain ? domain : "");
	return rpc_simple(c, &w, DDT_OP_USER_ADD);
}

int ddtc_user_list(ddtc *c, ddtc_user_cb cb, void *arg)
{
	conn_reply rep;
	ddtc_user u;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_USER_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 2 + 1 + 2, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		memset(&u, 0, sizeof(u));
		rb_str(&r, u.name, sizeof(u.name));
		u.role = rb_u8(&r);
		rb_str(&r, u.domain, sizeof(u.domain));
		if (!r.err)
			rc = cb(arg, &u);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_USER_LIST, rc);
}

int ddtc_user_set(ddtc *c, const char *user, uint32_t mask,
		  const char *password, int role, const char *domain)
{
	wbuf w;

	conn_begin(&w, DDT_OP_USER_SET);
	wb_str(&w, user);
	wb_u32(&w, mask);
	wb_str(&w, password ? password : "");
	wb_u8(&w, (uint8_t)role);
	wb_str(&w, domain ? domain : "");
	return rpc_simple(c, &w, DDT_OP_USER_SET);
}

int ddtc_user_delete(ddtc *c, const char *user)
{
	wbuf w;

	conn_begin(&w, DDT_OP_USER_DELETE);
	wb_str(&w, user);
	return rpc_simple(c, &w, DDT_OP_USER_DELETE);
}

int ddtc_token_create(ddtc *c, const char *label, int64_t expires,
		      char *token, char *id)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_TOKEN_CREATE);
	wb_str(&w, label ? label : "");
	wb_i64(&w, expires);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rb_str(&r, token, DDTC_TOKEN_LEN + 1);
	rb_str(&r, id, 17);
	return rpc_end_cb(&rep, &r, DDT_OP_TOKEN_CREATE, 0);
}

int ddtc_token_list(ddtc *c, ddtc_token_cb cb, void *arg)
{
	conn_reply rep;
	ddtc_token t;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_TOKEN_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 3 * 2 + 16, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		memset(&t, 0, sizeof(t));
		rb_str(&r, t.id, sizeof(t.id));
		rb_str(&r, t.user, sizeof(t.user));
		rb_str(&r, t.label, sizeof(t.label));
		t.created = rb_i64(&r);
		t.expires = rb_i64(&r);
		if (!r.err)
			rc = cb(arg, &t);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_TOKEN_LIST, rc);
}

int ddtc_token_delete(ddtc *c, const char *id)
{
	wbuf w;

	conn_begin(&w, DDT_OP_TOKEN_DELETE);
	wb_str(&w, id);
	return rpc_simple(c, &w, DDT_OP_TOKEN_DELETE);
}
