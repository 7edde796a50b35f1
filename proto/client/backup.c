/* backup.c - backups (ddtc.h): begin, end, list, delete, set an expiry, and
 * expire what is past it. */
#include "rpc.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"

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
