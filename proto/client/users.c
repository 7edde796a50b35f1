/* users.c - users managed online (ddtc.h; PROTOCOL.md section 5, Users):
 * add, list, change and remove, and a user's own password. */
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
