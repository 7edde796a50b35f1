/* nfs3_dir.c - READDIR and READDIRPLUS on directory snapshots
 * (dircache.h has the cookie scheme: entry i of a snapshot has cookie
 * i + 1, the verifier names the snapshot). A reply holds what fits the
 * client's byte counts, and at most MAX_ENTRIES entries: the generated
 * XDR code frees the list recursively, one stack frame an entry. */
#include "nfs3_int.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"

#define MAX_ENTRIES	4096
/* XDR bytes: a reply's fixed part (status, post_op_attr, verifier, the
 * list's end and eof), an entry3 without its name, and what an
 * entryplus3 adds (post_op_attr and post_op_fh3 with our handle). */
#define FIXED_BYTES	(4 + 4 + 84 + 8 + 4 + 4)
#define ENTRY_BYTES	(4 + 8 + 4 + 8)
#define PLUS_BYTES	(4 + 84 + 4 + 4 + NFSD_FH_LEN)

static size_t xdr_str_bytes(const char *s)
{
	return (strlen(s) + 3) & ~(size_t)3;
}

/* The snapshot for a listing at cookie/verf; a status if none. */
static nfsstat3 snapshot(nfs3_req *r, cookie3 cookie, const cookieverf3 cv,
			 dc_snap **out)
{
	uint64_t verf;
	int rc;

	if (r->obj.type != DDT_T_DIR)
		return NFS3ERR_NOTDIR;
	if (!nfs3_may(r, &r->obj, 4))
		return NFS3ERR_ACCES;
	memcpy(&verf, cv, sizeof(verf));
	rc = dircache_get(r->d->dc, r->c, &r->obj, cookie, verf, out);
	if (rc == -EAGAIN)
		return NFS3ERR_BAD_COOKIE;
	if (rc == 0 && cookie > (*out)->n) {
		dircache_put(r->d->dc, *out);
		return NFS3ERR_BAD_COOKIE;
	}
	return nfs3_st(r, rc);
}

int nfs3_readdir(void *ctx, const rpc_caller *c, void *args, void *res)
{
	READDIR3args *a = args;
	READDIR3res *o = res;
	READDIR3resok *ok = &o->READDIR3res_u.resok;
	entry3 **tail = &ok->reply.entries, *e;
	size_t used = FIXED_BYTES, i, n = 0;
	dc_snap *s;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = snapshot(&r, a->cookie, a->cookieverf, &s);
	nfs3_post(&r, &r.obj, &ok->dir_attributes);
	if (o->status != NFS3_OK) {
		nfs3_end(&r);
		return RPC_DONE;
	}
	memcpy(ok->cookieverf, &s->verf, sizeof(s->verf));
	for (i = a->cookie; i < s->n && n < MAX_ENTRIES; i++, n++) {
		size_t b = ENTRY_BYTES + xdr_str_bytes(s->e[i].name);

		if (used + b > a->count)
			break;
		e = calloc(1, sizeof(*e));
		if (!e || !(e->name = strdup(s->e[i].name))) {
			free(e);
			break;
		}
		e->fileid = s->e[i].a.ino;
		e->cookie = i + 1;
		*tail = e;
		tail = &e->nextentry;
		used += b;
	}
	ok->reply.eof = i >= s->n;
	if (n == 0 && !ok->reply.eof)
		o->status = NFS3ERR_TOOSMALL;
	dircache_put(r.d->dc, s);
	nfs3_end(&r);
	return RPC_DONE;
}

static entryplus3 *plus_entry(nfs3_req *r, const dc_ent *de, cookie3 cookie)
{
	entryplus3 *e = calloc(1, sizeof(*e));

	if (!e || !(e->name = strdup(de->name))) {
		free(e);
		return NULL;
	}
	e->fileid = de->a.ino;
	e->cookie = cookie;
	nfs3_post(r, &de->a, &e->name_attributes);
	nfs3_post_fh(r, de->a.ino, &e->name_handle);
	return e;
}

int nfs3_readdirplus(void *ctx, const rpc_caller *c, void *args, void *res)
{
	READDIRPLUS3args *a = args;
	READDIRPLUS3res *o = res;
	READDIRPLUS3resok *ok = &o->READDIRPLUS3res_u.resok;
	entryplus3 **tail = &ok->reply.entries, *e;
	size_t used = FIXED_BYTES, dused = 0, i, n = 0;
	dc_snap *s;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = snapshot(&r, a->cookie, a->cookieverf, &s);
	nfs3_post(&r, &r.obj, &ok->dir_attributes);
	if (o->status != NFS3_OK) {
		nfs3_end(&r);
		return RPC_DONE;
	}
	memcpy(ok->cookieverf, &s->verf, sizeof(s->verf));
	for (i = a->cookie; i < s->n && n < MAX_ENTRIES; i++, n++) {
		size_t d = ENTRY_BYTES + xdr_str_bytes(s->e[i].name);

		if (used + d + PLUS_BYTES > a->maxcount ||
		    dused + d > a->dircount)
			break;
		e = plus_entry(&r, &s->e[i], i + 1);
		if (!e)
			break;
		*tail = e;
		tail = &e->nextentry;
		used += d + PLUS_BYTES;
		dused += d;
	}
	ok->reply.eof = i >= s->n;
	if (n == 0 && !ok->reply.eof)
		o->status = NFS3ERR_TOOSMALL;
	dircache_put(r.d->dc, s);
	nfs3_end(&r);
	return RPC_DONE;
}
