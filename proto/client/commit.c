/* commit.c - COMMIT (ddtc.h, writing files): bind names in a directory to
 * file trees already on the target, all or none. The file writer (file.c)
 * ends each file with one; a backup binds an unchanged file's cached root
 * with one, without reading the file; ddtc_create() (rfile.c) makes an
 * empty file with one; a batch of small files (fbatch.c) ends with one per
 * directory, all sent before the first reply is awaited. */
#include "rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

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
	return commit_entries(c, dir, e, n, sync ? DDT_CF_SYNC : 0, out);
}

int commit_start(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		 uint32_t flags, conn_req **out)
{
	wbuf w;
	int rc;

	conn_begin(&w, DDT_OP_COMMIT);
	wb_u64(&w, dir);
	wb_u32(&w, flags);
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
	rc = conn_start(c->cn, &w, out);
	wb_free(&w);
	return rc;
}

int commit_collect(conn_req *k, size_t n, ddt_attr *out)
{
	conn_reply rep;
	rbuf r;
	int rc;

	rc = rpc_wait(k, &rep, &r);
	if (rc < 0)
		return rc;
	return commit_reply(&rep, &r, n, out);
}

int commit_entries(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		   uint32_t flags, ddt_attr *out)
{
	conn_req *k;
	int rc;

	rc = commit_start(c, dir, e, n, flags, &k);
	return rc < 0 ? rc : commit_collect(k, n, out);
}
