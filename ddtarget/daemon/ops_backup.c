/* ops_backup.c - backups and their retention (PROTOCOL.md section 5,
 * Backups): begin, end, list, delete, set an expiry, expire. */
#include "ops_sections.h"

#include <errno.h>

#include "now.h"

static int op_backup_begin(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1], name[DDT_MAX_STR + 1];
	int64_t retain;
	ns_backup b;
	ddt_attr a;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, name, sizeof(name));
	retain = rb_i64(r);
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = ns_backup_begin(d->ns, su, name, now_ns(), retain, &b,
				  &a)) < 0)
		return rc;
	wb_str(w, b.id);
	wb_attr(w, &a);
	wb_i64(w, b.expires);
	return 0;
}

static int op_backup_end(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint64_t ino = rb_u64(r), files = rb_u64(r), bytes = rb_u64(r);
	ddt_attr a;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	/* Everything the backup's commits name must be durable before the
	 * backup is called complete. */
	rc = store_barrier(d->st);
	if (rc == 0)
		rc = ns_backup_end(d->ns, ino, files, bytes, &a);
	return req_reply_attr(w, rc, &a);
}

static int backup_list_cb(void *arg, const ns_backup *b)
{
	req_list *l = arg;
	wbuf *w = l->w;

	wb_backup(w, b);
	l->n++;
	return w->err;
}

static int op_backup_list(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1];
	req_list l;
	int rc;

	rb_str(r, su, sizeof(su));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = ns_backup_list(d->ns, su, backup_list_cb, &l);
	req_list_end(&l);
	return rc;
}

static int op_backup_delete(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	return ns_backup_delete(d->ns, su, id);
}

static int op_backup_set(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int64_t expires;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	expires = rb_i64(r);
	if ((rc = req_parsed(q)) < 0)
		return rc;
	return ns_backup_set_expiry(d->ns, su, id, expires);
}

static int expire_cb(void *arg, const char *su, const ns_backup *b)
{
	req_list *c = arg;

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

static int op_expire(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1];
	req_list l;
	uint8_t dry_run;
	int rc;

	rb_str(r, su, sizeof(su));
	dry_run = rb_u8(r);
	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = ns_expire(d->ns, su[0] ? su : NULL, now_ns(), dry_run, expire_cb,
		       &l);
	if (rc > 0)
		rc = 0;
	req_list_end(&l);
	return rc;
}

const req_handler ops_backup_handlers[] = {
	{ DDT_OP_BACKUP_BEGIN, op_backup_begin },
	{ DDT_OP_BACKUP_END, op_backup_end },
	{ DDT_OP_BACKUP_LIST, op_backup_list },
	{ DDT_OP_BACKUP_DELETE, op_backup_delete },
	{ DDT_OP_BACKUP_SET, op_backup_set },
	{ DDT_OP_EXPIRE, op_expire },
	{ 0, NULL }
};
