/* req.c - what the handlers of the session layer share (req.h). */
#include "req.h"

#include <errno.h>

#include "ddterr.h"

int req_parsed(req *q)
{
	if (rb_done(&q->r))
		return ddterr_set(-EPROTO, "malformed %s request",
				  ddt_op_name(q->op));
	return 0;
}

int req_need_admin(const req *q, const char *what)
{
	if (q->role != DDT_ROLE_ADMIN)
		return ddterr_set(-EPERM, "%s needs an admin user; %s has "
				  "the %s level", what, q->user,
				  ddt_role_name(q->role));
	return 0;
}

int req_over_limit(const req *q, uint32_t n, const char *what, uint32_t max)
{
	return ddterr_set(-EINVAL, "%s: %u %s in one request, at most %u: "
			  "send them in several", ddt_op_name(q->op), n, what,
			  max);
}

int req_skip_over_limit(req *q, uint32_t n, size_t elem, const char *what,
			uint32_t max)
{
	int rc;

	(void)rb_bytes(&q->r, (size_t)n * elem);
	if ((rc = req_parsed(q)) < 0)
		return rc;
	return req_over_limit(q, n, what, max);
}

int req_reply_attr(wbuf *w, int rc, const ddt_attr *a)
{
	if (rc == 0)
		wb_attr(w, a);
	return rc;
}

void req_list_begin(req_list *l, wbuf *w)
{
	l->w = w;
	l->at = w->len;
	l->n = 0;
	wb_u32(w, 0);
}

void req_list_end(req_list *l)
{
	wb_put_u32_at(l->w, l->at, l->n);
}

void req_kv(req_list *l, const char *key, uint64_t v)
{
	wb_str(l->w, key);
	wb_u64(l->w, v);
	l->n++;
}
