/* nfs3_io.c - NFS v3 READ, WRITE, CREATE and COMMIT over the gateway's
 * open files (gw_files.h). An UNSTABLE write is held by the gateway (in
 * memory, then as unpublished segments on the target) and answered at
 * once; COMMIT publishes it durably; FILE_SYNC and DATA_SYNC writes are
 * committed before the reply. The write verifier changes when the
 * gateway restarts or loses uncommitted data, so a client sends again
 * what it had not seen committed. */
#include "nfs3_int.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"
#include "now.h"

#define IO_MAX	(1u << 20)

static nfsstat3 file_ok(const ddt_attr *a)
{
	if (a->type == DDT_T_DIR)
		return NFS3ERR_ISDIR;
	return a->type == DDT_T_FILE ? NFS3_OK : NFS3ERR_INVAL;
}

int nfs3_read(void *ctx, const rpc_caller *c, void *args, void *res)
{
	READ3args *a = args;
	READ3res *o = res;
	READ3resok *ok = &o->READ3res_u.resok;
	size_t n = a->count < IO_MAX ? a->count : IO_MAX, got = 0;
	void *buf = NULL;
	ddt_attr at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin_read(&r, ctx, c, &a->file);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = file_ok(&r.obj);
	if (o->status == NFS3_OK && !nfs3_may(&r, &r.obj, 4) &&
	    r.obj.uid != r.uid)
		o->status = NFS3ERR_ACCES;
	if (o->status == NFS3_OK && !(buf = malloc(n ? n : 1)))
		o->status = NFS3ERR_JUKEBOX;
	if (o->status == NFS3_OK) {
		rc = gw_files_read(r.d->files, &r.obj, a->offset, &buf, n,
				   &got);
		o->status = nfs3_st(&r, rc);
		/* Removed since its attributes were read (attrc.h). */
		if (o->status == NFS3ERR_NOENT)
			o->status = NFS3ERR_STALE;
	}
	at = r.obj;
	gw_files_overlay(r.d->files, &at);
	if (o->status == NFS3_OK) {
		ok->count = (count3)got;
		ok->eof = a->offset + got >= at.size;
		ok->data.data_len = (u_int)got;
		ok->data.data_val = buf;
		buf = NULL;
	}
	nfs3_post(&r, &r.obj, &ok->file_attributes);
	free(buf);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_write(void *ctx, const rpc_caller *c, void *args, void *res)
{
	WRITE3args *a = args;
	WRITE3res *o = res;
	WRITE3resok *ok = &o->WRITE3res_u.resok;
	size_t n = a->count < a->data.data_len ? a->count : a->data.data_len;
	int sync = a->stable != UNSTABLE, rc;
	ddt_attr after;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->file);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	nfs3_pre(&r.obj, &ok->file_wcc.before);
	o->status = file_ok(&r.obj);
	if (o->status == NFS3_OK && r.e->cfg->read_only)
		o->status = NFS3ERR_ROFS;
	if (o->status == NFS3_OK && !nfs3_may(&r, &r.obj, 2) &&
	    r.obj.uid != r.uid)
		o->status = NFS3ERR_ACCES;
	after = r.obj;
	/* Growth past the unit's quota is refused now: a client that never
	 * sends COMMIT (nfs-cp) would otherwise not hear of it. */
	if (o->status == NFS3_OK && a->offset + n > after.size)
		o->status = nfs3_st(&r, nfsd_export_quota(r.d, r.c, r.e,
				    a->offset + n - after.size));
	if (o->status == NFS3_OK) {
		rc = gw_files_write(r.d->files, r.obj.ino, a->offset,
				    a->data.data_val, n, sync, &after);
		o->status = nfs3_st(&r, rc);
	}
	if (o->status == NFS3_OK) {
		ok->count = (count3)n;
		ok->committed = sync ? FILE_SYNC : UNSTABLE;
		nfs3_writeverf(r.d, ok->verf);
	}
	nfs3_post(&r, &after, &ok->file_wcc.after);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_commit(void *ctx, const rpc_caller *c, void *args, void *res)
{
	COMMIT3args *a = args;
	COMMIT3res *o = res;
	COMMIT3resok *ok = &o->COMMIT3res_u.resok;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->file);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	nfs3_pre(&r.obj, &ok->file_wcc.before);
	o->status = file_ok(&r.obj);
	if (o->status == NFS3_OK) {
		/* The whole file: a part of a file cannot be published. */
		rc = gw_files_commit(r.d->files, r.obj.ino, NULL);
		o->status = nfs3_st(&r, rc);
	}
	if (o->status == NFS3_OK)
		nfs3_writeverf(r.d, ok->verf);
	nfs3_post_ino(&r, r.obj.ino, &ok->file_wcc.after);
	nfs3_end(&r);
	return RPC_DONE;
}

/* EXCLUSIVE's verifier is kept in the new file's times, as Linux's knfsd
 * does: its first 4 bytes are atime's seconds, the last 4 mtime's. A
 * retransmitted CREATE finds the same times and succeeds; the client
 * then sets the real times with SETATTR. */
static void verf_times(const createverf3 v, int64_t *atime, int64_t *mtime)
{
	uint32_t a, m;

	memcpy(&a, v, 4);
	memcpy(&m, v + 4, 4);
	*atime = (int64_t)a * 1000000000;
	*mtime = (int64_t)m * 1000000000;
}

static int create_excl(nfs3_req *r, const char *name, const createverf3 v,
		       ddt_attr *out)
{
	ddt_attr t;
	int rc;

	verf_times(v, &t.atime, &t.mtime);
	rc = ddtc_create(r->c, r->obj.ino, name, 0600, r->uid, r->gid,
			 t.mtime, 1, out);
	if (rc == -EEXIST) {
		rc = ddtc_lookup(r->c, r->obj.ino, name, out);
		if (rc == 0 && (out->type != DDT_T_FILE ||
				out->atime != t.atime || out->mtime != t.mtime))
			return ddterr_set(-EEXIST, "%s exists", name);
		return rc;
	}
	if (rc == 0)
		rc = ddtc_setattr(r->c, out->ino, DDT_SA_ATIME | DDT_SA_MTIME,
				  &t, out);
	return rc;
}

/* UNCHECKED: an existing file is kept (truncated only if the attributes
 * ask for size 0), GUARDED: it is an error. */
static int create_plain(nfs3_req *r, const char *name, const sattr3 *s,
			int guarded, ddt_attr *out)
{
	uint32_t mode = s->mode.set_it ? s->mode.set_mode3_u.mode & 07777
				       : 0644;
	int rc;

	rc = ddtc_create(r->c, r->obj.ino, name, mode,
			 s->uid.set_it ? s->uid.set_uid3_u.uid : r->uid,
			 s->gid.set_it ? s->gid.set_gid3_u.gid : r->gid, 0, 1,
			 out);
	if (rc == -EEXIST && !guarded) {
		rc = ddtc_lookup(r->c, r->obj.ino, name, out);
		if (rc == 0 && out->type != DDT_T_FILE)
			rc = ddterr_set(-EISDIR, "%s is not a file", name);
		if (rc == 0 && s->size.set_it)
			rc = gw_files_truncate(r->d->files, out->ino,
					       s->size.set_size3_u.size, out);
	}
	if (rc == 0 && (s->atime.set_it || s->mtime.set_it ||
			s->mode.set_it))
		rc = nfs3_setattr(r, out->ino, s, out);
	return rc;
}

int nfs3_create(void *ctx, const rpc_caller *c, void *args, void *res)
{
	CREATE3args *a = args;
	CREATE3res *o = res;
	CREATE3resok *ok = &o->CREATE3res_u.resok;
	const char *name = a->where.name;
	ddt_attr at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->where.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = nfs3_dir_writable(&r);
	if (o->status == NFS3_OK)
		o->status = nfs3_name(name, 1);
	if (o->status == NFS3_OK) {
		if (a->how.mode == EXCLUSIVE)
			rc = create_excl(&r, name, a->how.createhow3_u.verf,
					 &at);
		else
			rc = create_plain(&r, name,
					  &a->how.createhow3_u.obj_attributes,
					  a->how.mode == GUARDED, &at);
		o->status = nfs3_st(&r, rc);
	}
	if (o->status == NFS3_OK) {
		nfs3_post_fh(&r, at.ino, &ok->obj);
		nfs3_post(&r, &at, &ok->obj_attributes);
	}
	/* resok and resfail overlap: the wcc goes where the status says. */
	nfs3_wcc(&r, &r.obj, o->status == NFS3_OK ? &ok->dir_wcc :
			     &o->CREATE3res_u.resfail.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}
