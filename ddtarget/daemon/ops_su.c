/* ops_su.c - storage units (PROTOCOL.md section 5, Storage units): create,
 * list, delete, open, and SU_SET's retention, retention lock and quota. */
#include "ops_sections.h"

#include <errno.h>

static int op_su_create(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "creating a storage unit")) < 0 ||
	    (rc = ns_su_create(d->ns, name, &su)) < 0)
		return rc;
	wb_u64(w, su.root);
	return 0;
}

static int su_list_cb(void *arg, const ns_su *su)
{
	req_list *l = arg;
	wbuf *w = l->w;

	wb_su(w, su);
	l->n++;
	return w->err;
}

static int op_su_list(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	req_list l;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = ns_su_list(d->ns, su_list_cb, &l);
	req_list_end(&l);
	return rc;
}

static int op_su_delete(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char name[DDT_MAX_STR + 1];
	uint8_t recursive;
	int rc;

	rb_str(r, name, sizeof(name));
	recursive = rb_u8(r);
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "deleting a storage unit")) < 0)
		return rc;
	return ns_su_delete(d->ns, name, recursive);
}

static int op_su_open(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = ns_su_get(d->ns, name, &su)) < 0)
		return rc;
	wb_su_info(w, &su);
	return 0;
}

static int op_su_set(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
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
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "changing a storage unit's settings")) < 0 ||
	    (rc = ns_su_set(d->ns, name, mask, retention, lock, quota,
			    &su)) < 0)
		return rc;
	wb_su_info(w, &su);
	return 0;
}

const req_handler ops_su_handlers[] = {
	{ DDT_OP_SU_CREATE, op_su_create },
	{ DDT_OP_SU_LIST, op_su_list },
	{ DDT_OP_SU_DELETE, op_su_delete },
	{ DDT_OP_SU_OPEN, op_su_open },
	{ DDT_OP_SU_SET, op_su_set },
	{ 0, NULL }
};
