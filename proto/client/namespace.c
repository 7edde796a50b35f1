/* namespace.c - the namespace calls of ddtc.h: lookups, directories,
 * renames and removals, attributes, symbolic and hard links. MKDIRs and
 * SETATTRs also go in batches, all sent before the first reply is awaited. */
#include "rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

#define READDIR_ASK	1024	/* entries asked for per READDIR */

int ddtc_name_check(const char *name)
{
	char msg[DDT_NAME_MSG_LEN];
	int rc = ddt_name_msg(msg, sizeof(msg), name, 1);

	return rc < 0 ? ddterr_set(rc, "%s", msg) : 0;
}

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
	wb_u32(&w, READDIR_ASK);
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

/* A READLINK reply, the target into buf. */
static int readlink_take(conn_reply *rep, rbuf *r, uint64_t ino, char *buf,
			 size_t cap)
{
	char target[DDT_MAX_STR + 1];
	size_t n;
	int rc;

	rb_str(r, target, sizeof(target));
	rc = rpc_end(rep, r, DDT_OP_READLINK);
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

static void readlink_begin(wbuf *w, uint64_t ino)
{
	conn_begin(w, DDT_OP_READLINK);
	wb_u64(w, ino);
}

int ddtc_readlink(ddtc *c, uint64_t ino, char *buf, size_t cap)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	readlink_begin(&w, ino);
	rc = rpc_call(c, &w, &rep, &r);
	return rc < 0 ? rc : readlink_take(&rep, &r, ino, buf, cap);
}

int ddtc_readlink_many(ddtc *c, ddtc_readlink_req *reqs, size_t n)
{
	conn_req **k = calloc(n ? n : 1, sizeof(*k));
	conn_reply rep;
	size_t sent = 0;
	int rc = 0;
	wbuf w;
	rbuf r;

	if (!k)
		return ddterr_set(-ENOMEM, "no memory for %zu READLINKs", n);
	for (; sent < n; sent++) {
		readlink_begin(&w, reqs[sent].ino);
		rc = conn_start(c->cn, &w, &k[sent]);
		wb_free(&w);
		if (rc < 0)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		ddtc_readlink_req *q = &reqs[i];

		q->rc = i < sent ? rpc_wait(k[i], &rep, &r) : rc;
		if (i < sent && q->rc == 0)
			q->rc = readlink_take(&rep, &r, q->ino, q->buf, q->cap);
	}
	free(k);
	return rc;
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
