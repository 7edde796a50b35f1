/* ops_ns.c - the namespace (PROTOCOL.md section 5, Namespace): lookups,
 * directories, renames and removals, attributes, symbolic and hard links,
 * each one call of ns.h. */
#include "ops_sections.h"

#include <errno.h>

#include "tenant.h"

static int op_lookup(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, dir)) < 0)
		return rc;
	return req_reply_attr(w, ns_lookup(d->ns, dir, name, &a), &a);
}

static int op_getattr(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint64_t ino = rb_u64(r);
	ddt_attr a;
	int rc;

	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, ino)) < 0)
		return rc;
	return req_reply_attr(w, ns_getattr(d->ns, ino, &a), &a);
}

static int op_mkdir(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
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
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, dir)) < 0)
		return rc;
	rc = ns_mkdir(d->ns, dir, name, mode, uid, gid, mtime, &a);
	return req_reply_attr(w, rc, &a);
}

static int readdir_cb(void *arg, const char *name, const ddt_attr *a)
{
	req_list *c = arg;

	/* Stop before the reply outgrows a payload. */
	if (c->w->len + DDT_MAX_STR + 256 > DDT_MAX_PAYLOAD)
		return 1;
	wb_str(c->w, name);
	wb_attr(c->w, a);
	c->n++;
	return c->w->err;
}

static int op_readdir(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char after[DDT_MAX_STR + 1];
	req_list l;
	uint64_t dir = rb_u64(r);
	uint32_t max;
	int eof = 0, rc;

	rb_str(r, after, sizeof(after));
	max = rb_u32(r);
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, dir)) < 0)
		return rc;
	if (max == 0 || max > DDT_MAX_READDIR)
		max = DDT_MAX_READDIR;
	req_list_begin(&l, w);
	rc = ns_readdir(d->ns, dir, after, max, readdir_cb, &l, &eof);
	if (rc > 0) {		/* the callback stopped it: more to come */
		rc = 0;
		eof = 0;
	}
	if (rc < 0)
		return rc;
	req_list_end(&l);
	wb_u8(w, (uint8_t)eof);
	return 0;
}

static int op_rename(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char sname[DDT_MAX_STR + 1], dname[DDT_MAX_STR + 1];
	uint64_t sdir, ddir;
	int rc;

	sdir = rb_u64(r);
	rb_str(r, sname, sizeof(sname));
	ddir = rb_u64(r);
	rb_str(r, dname, sizeof(dname));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, sdir)) < 0 ||
	    (rc = tenant_ino(q, ddir)) < 0)
		return rc;
	return ns_rename(d->ns, sdir, sname, ddir, dname);
}

static int op_unlink_rmdir(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char name[DDT_MAX_STR + 1];
	uint64_t dir = rb_u64(r);
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, dir)) < 0)
		return rc;
	return q->op == DDT_OP_RMDIR ? ns_rmdir(d->ns, dir, name)
				     : ns_unlink(d->ns, dir, name);
}

static int op_setattr(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	ddt_attr v = { 0 }, a;
	uint64_t ino = rb_u64(r);
	uint32_t mask = rb_u32(r);
	int rc;

	v.mode = rb_u32(r);
	v.uid = rb_u32(r);
	v.gid = rb_u32(r);
	v.atime = rb_i64(r);
	v.mtime = rb_i64(r);
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, ino)) < 0)
		return rc;
	return req_reply_attr(w, ns_setattr(d->ns, ino, mask, &v, &a), &a);
}

static int op_symlink(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
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
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, dir)) < 0)
		return rc;
	return req_reply_attr(w, ns_symlink(d->ns, dir, name, target, uid, gid,
					    mtime, &a), &a);
}

static int op_readlink(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char target[DDT_MAX_STR + 1];
	uint64_t ino = rb_u64(r);
	int rc;

	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, ino)) < 0 ||
	    (rc = ns_readlink(d->ns, ino, target, sizeof(target))) < 0)
		return rc;
	wb_str(w, target);
	return 0;
}

static int op_link(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	uint64_t ino = rb_u64(r), dir = rb_u64(r);
	ddt_attr a;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, ino)) < 0 ||
	    (rc = tenant_ino(q, dir)) < 0)
		return rc;
	return req_reply_attr(w, ns_link(d->ns, ino, dir, name, &a), &a);
}

const req_handler ops_ns_handlers[] = {
	{ DDT_OP_LOOKUP, op_lookup },
	{ DDT_OP_GETATTR, op_getattr },
	{ DDT_OP_MKDIR, op_mkdir },
	{ DDT_OP_READDIR, op_readdir },
	{ DDT_OP_RENAME, op_rename },
	{ DDT_OP_UNLINK, op_unlink_rmdir },
	{ DDT_OP_RMDIR, op_unlink_rmdir },
	{ DDT_OP_SETATTR, op_setattr },
	{ DDT_OP_SYMLINK, op_symlink },
	{ DDT_OP_READLINK, op_readlink },
	{ DDT_OP_LINK, op_link },
	{ 0, NULL }
};
