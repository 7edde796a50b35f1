/* nfs3.c - NFS version 3 (RFC 1813) over the target: a request's context,
 * the conversions, the attribute and file system procedures, and the
 * procedure table. Every procedure runs on a pool worker and blocks on
 * the target through ddtc.h; a target that is away answers
 * NFS3ERR_JUKEBOX (the client retries), never a hang. Reads, writes and
 * creation are nfs3_io.c's, the namespace nfs3_ns.c's, listings
 * nfs3_dir.c's. */
#include "nfs3_int.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"
#include "gw_log.h"
#include "now.h"

#define NFS3_RTMAX	NFS3_MAXDATA	/* the XDR's bound (nfs3_prot.x) */
#define NFS3_WTMAX	NFS3_MAXDATA

/* ---- statuses ---- */

nfsstat3 nfs3_status(int rc)
{
	if (rc >= 0)
		return NFS3_OK;
	if (gw_sess_lost(rc))
		return NFS3ERR_JUKEBOX;
	switch (-rc) {
	case ENOENT: return NFS3ERR_NOENT;
	case EPERM: return NFS3ERR_ACCES;	/* a retention lock */
	case EACCES: return NFS3ERR_ACCES;
	case EEXIST: return NFS3ERR_EXIST;
	case ENOTDIR: return NFS3ERR_NOTDIR;
	case EISDIR: return NFS3ERR_ISDIR;
	case EINVAL: return NFS3ERR_INVAL;
	case ENOSPC: return NFS3ERR_NOSPC;
	case EDQUOT: return NFS3ERR_DQUOT;
	case EROFS: return NFS3ERR_ROFS;
	case ENAMETOOLONG: return NFS3ERR_NAMETOOLONG;
	case ENOTEMPTY: return NFS3ERR_NOTEMPTY;
	case EXDEV: return NFS3ERR_XDEV;
	case EFBIG: return NFS3ERR_FBIG;
	case EMLINK: return NFS3ERR_MLINK;
	case ESTALE: return NFS3ERR_STALE;
	case ENOSYS: case EOPNOTSUPP: return NFS3ERR_NOTSUPP;
	case EAGAIN: case EBUSY: case ENOMEM: return NFS3ERR_JUKEBOX;
	default: return NFS3ERR_IO;
	}
}

nfsstat3 nfs3_st(nfs3_req *r, int rc)
{
	if (rc < 0 && gw_sess_lost(rc))
		r->rc = rc;
	if (rc < 0)
		gw_debug("%s: %s", r->who->peer_name, ddtc_errmsg(rc));
	return nfs3_status(rc);
}

/* ---- attributes ---- */

static void nfstime(int64_t ns, nfstime3 *t)
{
	if (ns < 0)
		ns = 0;
	t->seconds = (uint32)(ns / 1000000000);
	t->nseconds = (uint32)(ns % 1000000000);
}

int64_t nfs3_ns(const nfstime3 *t)
{
	return (int64_t)t->seconds * 1000000000 + t->nseconds;
}

void nfs3_fattr(const nfs3_req *r, const ddt_attr *a, fattr3 *f)
{
	memset(f, 0, sizeof(*f));
	f->type = a->type == DDT_T_DIR ? NF3DIR :
		  a->type == DDT_T_SYMLINK ? NF3LNK : NF3REG;
	f->mode = a->mode & 07777;
	f->nlink = a->nlink ? a->nlink : 1;
	f->uid = a->uid;
	f->gid = a->gid;
	f->size = a->size;
	f->used = (a->size + 4095) & ~4095ull;
	f->fsid = r->e ? r->e->root : 0;
	f->fileid = a->ino;
	nfstime(a->atime, &f->atime);
	nfstime(a->mtime, &f->mtime);
	nfstime(a->ctime, &f->ctime);
}

void nfs3_post(const nfs3_req *r, const ddt_attr *a, post_op_attr *p)
{
	ddt_attr t = *a;

	gw_files_overlay(r->d->files, &t);
	p->attributes_follow = TRUE;
	nfs3_fattr(r, &t, &p->post_op_attr_u.attributes);
}

void nfs3_post_ino(nfs3_req *r, uint64_t ino, post_op_attr *p)
{
	ddt_attr a;
	int rc = ddtc_getattr(r->c, ino, &a);

	if (rc < 0) {
		nfs3_st(r, rc);
		p->attributes_follow = FALSE;
		return;
	}
	nfs3_post(r, &a, p);
}

void nfs3_pre(const ddt_attr *a, pre_op_attr *p)
{
	p->attributes_follow = TRUE;
	p->pre_op_attr_u.attributes.size = a->size;
	nfstime(a->mtime, &p->pre_op_attr_u.attributes.mtime);
	nfstime(a->ctime, &p->pre_op_attr_u.attributes.ctime);
}

void nfs3_wcc(nfs3_req *r, const ddt_attr *before, wcc_data *w)
{
	nfs3_pre(before, &w->before);
	nfs3_post_ino(r, before->ino, &w->after);
}

int nfs3_fh(const nfs3_req *r, uint64_t ino, nfs_fh3 *fh)
{
	fh->data.data_val = malloc(NFSD_FH_LEN);
	if (!fh->data.data_val)
		return -ENOMEM;
	fh->data.data_len = NFSD_FH_LEN;
	nfsd_fh_pack((uint8_t *)fh->data.data_val, r->e->root, ino);
	return 0;
}

int nfs3_post_fh(const nfs3_req *r, uint64_t ino, post_op_fh3 *fh)
{
	fh->handle_follows = nfs3_fh(r, ino, &fh->post_op_fh3_u.handle) == 0;
	return 0;
}

nfsstat3 nfs3_name(const char *name, int make)
{
	if (!name)
		return NFS3ERR_INVAL;
	if (strlen(name) > DDT_MAX_NAME)
		return NFS3ERR_NAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return NFS3ERR_EXIST;
	/* Only a new name must be UTF-8 without control characters: one
	 * stored before the rule can still be removed or renamed. */
	if (make ? ddt_name_ok(name) : ddt_name_shape_ok(name))
		return NFS3_OK;
	return NFS3ERR_INVAL;
}

/* ---- permissions ---- */

static int in_group(const nfs3_req *r, uint32_t gid)
{
	if (r->gid == gid)
		return 1;
	if (r->e->cfg->all_squash || (r->who->uid == 0 &&
				      r->e->cfg->root_squash))
		return 0;
	for (unsigned i = 0; i < r->who->ngids; i++)
		if (r->who->gids[i] == gid)
			return 1;
	return 0;
}

int nfs3_may(const nfs3_req *r, const ddt_attr *a, unsigned want)
{
	unsigned bits;

	if (r->root) {
		/* Root may do anything but run a file no one may run. */
		return !(want & 1) || a->type == DDT_T_DIR || (a->mode & 0111);
	}
	if (a->uid == r->uid)
		bits = (a->mode >> 6) & 7;
	else if (in_group(r, a->gid))
		bits = (a->mode >> 3) & 7;
	else
		bits = a->mode & 7;
	return (bits & want) == want;
}

nfsstat3 nfs3_dir_writable(const nfs3_req *r)
{
	if (r->e->cfg->read_only)
		return NFS3ERR_ROFS;
	if (r->obj.type != DDT_T_DIR)
		return NFS3ERR_NOTDIR;
	return nfs3_may(r, &r->obj, 3) ? NFS3_OK : NFS3ERR_ACCES;
}

/* ---- a request ---- */

/* The handle, the session, the export and the caller: NFS3_OK with *ino,
 * or the status to answer (the request is then ended). */
static nfsstat3 begin_call(nfs3_req *r, nfsd *d, const rpc_caller *who,
			   const nfs_fh3 *fh, uint64_t *ino)
{
	const nfsd_export *x;
	uint64_t exp;
	int rc;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->who = who;
	if (nfsd_fh_unpack((const uint8_t *)fh->data.data_val,
			   fh->data.data_len, &exp, ino) < 0)
		return NFS3ERR_BADHANDLE;
	rc = gw_sess_get(d->sess, &r->c);
	if (rc < 0)
		return NFS3ERR_JUKEBOX;
	r->e = nfsd_export_by_id(d, r->c, exp);
	if (!r->e) {
		nfs3_end(r);
		return NFS3ERR_STALE;
	}
	x = r->e->cfg;
	if (!nfsd_conf_allows(x, (const struct sockaddr *)&who->peer)) {
		nfs3_end(r);
		return NFS3ERR_ACCES;
	}
	r->uid = who->uid;
	r->gid = who->gid;
	if (x->all_squash || (who->uid == 0 && x->root_squash)) {
		r->uid = x->anon_uid;
		r->gid = x->anon_gid;
	}
	r->root = r->uid == 0;
	return NFS3_OK;
}

/* The object's attributes from the target, as this gateway sees them. */
static nfsstat3 begin_getattr(nfs3_req *r, uint64_t ino)
{
	int rc = ddtc_getattr(r->c, ino, &r->obj);

	if (gw_sess_lost(rc)) {
		/* The target restarted since the last call: this is the
		 * first to hear it. Once more, on a new session. */
		gw_sess_put(r->d->sess, r->c, rc);
		r->c = NULL;
		rc = gw_sess_get(r->d->sess, &r->c);
		if (rc < 0)
			return NFS3ERR_JUKEBOX;
		rc = ddtc_getattr(r->c, ino, &r->obj);
	}
	if (rc < 0) {
		nfsstat3 st = nfs3_st(r, rc);

		nfs3_end(r);
		return st == NFS3ERR_NOENT ? NFS3ERR_STALE : st;
	}
	gw_files_overlay(r->d->files, &r->obj);
	return NFS3_OK;
}

nfsstat3 nfs3_begin(nfs3_req *r, nfsd *d, const rpc_caller *who,
		    const nfs_fh3 *fh)
{
	uint64_t ino;
	nfsstat3 st = begin_call(r, d, who, fh, &ino);

	if (st != NFS3_OK)
		return st;
	/* Whatever this call changes, no READ keeps what it saw before. */
	attrc_clear(d->ac);
	r->clears = 1;
	return begin_getattr(r, ino);
}

nfsstat3 nfs3_begin_read(nfs3_req *r, nfsd *d, const rpc_caller *who,
			 const nfs_fh3 *fh)
{
	uint64_t ino, gen;
	nfsstat3 st = begin_call(r, d, who, fh, &ino);

	if (st != NFS3_OK)
		return st;
	if (attrc_get(d->ac, ino, &r->obj, &gen)) {
		gw_files_overlay(d->files, &r->obj);
		return NFS3_OK;
	}
	st = begin_getattr(r, ino);
	if (st == NFS3_OK)
		attrc_put(d->ac, &r->obj, gen);
	return st;
}

void nfs3_end(nfs3_req *r)
{
	if (r->c)
		gw_sess_put(r->d->sess, r->c, r->rc);
	r->c = NULL;
	if (r->clears)
		attrc_clear(r->d->ac);
	r->clears = 0;
}

void nfs3_writeverf(nfsd *d, char verf[NFS3_WRITEVERFSIZE])
{
	uint64_t v = (uint64_t)d->boot_ns + gw_files_epoch(d->files);

	memcpy(verf, &v, sizeof(v));
}

/* ---- SETATTR's pieces ---- */

int nfs3_setattr(nfs3_req *r, uint64_t ino, const sattr3 *s, ddt_attr *out)
{
	ddt_attr v;
	uint32_t mask = 0;
	int64_t now = now_ns();

	memset(&v, 0, sizeof(v));
	if (s->mode.set_it) {
		mask |= DDT_SA_MODE;
		v.mode = s->mode.set_mode3_u.mode & 07777;
	}
	if (s->uid.set_it) {
		mask |= DDT_SA_UID;
		v.uid = s->uid.set_uid3_u.uid;
	}
	if (s->gid.set_it) {
		mask |= DDT_SA_GID;
		v.gid = s->gid.set_gid3_u.gid;
	}
	if (s->atime.set_it != DONT_CHANGE) {
		mask |= DDT_SA_ATIME;
		v.atime = s->atime.set_it == SET_TO_CLIENT_TIME ?
			  nfs3_ns(&s->atime.set_atime_u.atime) :
			  now;
	}
	if (s->mtime.set_it != DONT_CHANGE) {
		mask |= DDT_SA_MTIME;
		v.mtime = s->mtime.set_it == SET_TO_CLIENT_TIME ?
			  nfs3_ns(&s->mtime.set_mtime_u.mtime) : now;
	}
	if (!mask) {
		if (out)
			return ddtc_getattr(r->c, ino, out);
		return 0;
	}
	return ddtc_setattr(r->c, ino, mask, &v, out);
}

/* What the caller may change: the owner (or root) mode and times, root
 * the owner; the owner a group it is in. */
static nfsstat3 may_setattr(const nfs3_req *r, const sattr3 *s)
{
	int owner = r->root || r->obj.uid == r->uid;

	if (r->e->cfg->read_only)
		return NFS3ERR_ROFS;
	if ((s->mode.set_it || s->atime.set_it == SET_TO_CLIENT_TIME ||
	     s->mtime.set_it == SET_TO_CLIENT_TIME) && !owner)
		return NFS3ERR_PERM;
	if ((s->atime.set_it == SET_TO_SERVER_TIME ||
	     s->mtime.set_it == SET_TO_SERVER_TIME) && !owner &&
	    !nfs3_may(r, &r->obj, 2))
		return NFS3ERR_ACCES;
	if (s->uid.set_it && !r->root && s->uid.set_uid3_u.uid != r->obj.uid)
		return NFS3ERR_PERM;
	if (s->gid.set_it && !r->root && s->gid.set_gid3_u.gid != r->obj.gid &&
	    (!owner || !in_group(r, s->gid.set_gid3_u.gid)))
		return NFS3ERR_PERM;
	if (s->size.set_it && r->obj.type != DDT_T_FILE)
		return r->obj.type == DDT_T_DIR ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
	if (s->size.set_it && !owner && !nfs3_may(r, &r->obj, 2))
		return NFS3ERR_ACCES;
	return NFS3_OK;
}

/* ---- the procedures ---- */

static int p_null(void *ctx, const rpc_caller *c, void *args, void *res)
{
	return RPC_DONE;
}

static int p_getattr(void *ctx, const rpc_caller *c, void *args, void *res)
{
	GETATTR3args *a = args;
	GETATTR3res *o = res;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->object);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	nfs3_fattr(&r, &r.obj, &o->GETATTR3res_u.resok.obj_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_setattr(void *ctx, const rpc_caller *c, void *args, void *res)
{
	SETATTR3args *a = args;
	SETATTR3res *o = res;
	wcc_data *w = &o->SETATTR3res_u.resok.obj_wcc;
	ddt_attr after;
	nfs3_req r;
	int rc = 0;

	o->status = nfs3_begin(&r, ctx, c, &a->object);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	nfs3_pre(&r.obj, &w->before);
	/* The guard: the change time the client last saw. */
	if (a->guard.check &&
	    nfs3_ns(&a->guard.sattrguard3_u.obj_ctime) != r.obj.ctime)
		o->status = NFS3ERR_NOT_SYNC;
	if (o->status == NFS3_OK)
		o->status = may_setattr(&r, &a->new_attributes);
	/* Times set after writes (cp -p, rsync) must not be overwritten by
	 * the later commit of those writes: commit them first. */
	if (o->status == NFS3_OK && r.obj.type == DDT_T_FILE &&
	    (a->new_attributes.atime.set_it || a->new_attributes.mtime.set_it))
		rc = gw_files_commit(r.d->files, r.obj.ino, NULL);
	if (o->status == NFS3_OK && rc == 0 && a->new_attributes.size.set_it)
		rc = gw_files_truncate(r.d->files, r.obj.ino,
				       a->new_attributes.size.set_size3_u.size,
				       NULL);
	if (o->status == NFS3_OK && rc == 0)
		rc = nfs3_setattr(&r, r.obj.ino, &a->new_attributes, &after);
	if (o->status == NFS3_OK)
		o->status = nfs3_st(&r, rc);
	nfs3_post_ino(&r, r.obj.ino, &w->after);
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_lookup(void *ctx, const rpc_caller *c, void *args, void *res)
{
	LOOKUP3args *a = args;
	LOOKUP3res *o = res;
	LOOKUP3resok *ok = &o->LOOKUP3res_u.resok;
	const char *name = a->what.name;
	ddt_attr at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->what.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	if (r.obj.type != DDT_T_DIR)
		o->status = NFS3ERR_NOTDIR;
	else if (!nfs3_may(&r, &r.obj, 1))
		o->status = NFS3ERR_ACCES;
	else if (!strcmp(name, ".") ||
		 (!strcmp(name, "..") && r.obj.ino == r.e->root))
		at = r.obj;	/* the export's root is its own parent */
	else if (!strcmp(name, ".."))
		o->status = NFS3ERR_NOENT;	/* no parent in attr */
	else if (strlen(name) > DDT_MAX_NAME)
		o->status = NFS3ERR_NAMETOOLONG;
	else if ((rc = ddtc_lookup(r.c, r.obj.ino, name, &at)) < 0)
		o->status = nfs3_st(&r, rc);
	if (o->status == NFS3_OK) {
		nfs3_fh(&r, at.ino, &ok->object);
		nfs3_post(&r, &at, &ok->obj_attributes);
		nfs3_post(&r, &r.obj, &ok->dir_attributes);
	} else {
		nfs3_post(&r, &r.obj, &o->LOOKUP3res_u.resfail.dir_attributes);
	}
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_access(void *ctx, const rpc_caller *c, void *args, void *res)
{
	ACCESS3args *a = args;
	ACCESS3res *o = res;
	uint32 want = a->access, got = 0;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->object);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	if (nfs3_may(&r, &r.obj, 4))
		got |= ACCESS3_READ;
	if (r.obj.type == DDT_T_DIR && nfs3_may(&r, &r.obj, 1))
		got |= ACCESS3_LOOKUP;
	if (r.obj.type != DDT_T_DIR && nfs3_may(&r, &r.obj, 1))
		got |= ACCESS3_EXECUTE;
	if (!r.e->cfg->read_only && nfs3_may(&r, &r.obj, 2)) {
		got |= ACCESS3_MODIFY | ACCESS3_EXTEND;
		if (r.obj.type == DDT_T_DIR)
			got |= ACCESS3_DELETE;
	}
	o->ACCESS3res_u.resok.access = got & want;
	nfs3_post(&r, &r.obj, &o->ACCESS3res_u.resok.obj_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_readlink(void *ctx, const rpc_caller *c, void *args, void *res)
{
	READLINK3args *a = args;
	READLINK3res *o = res;
	char *buf = NULL;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->symlink);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	nfs3_post(&r, &r.obj, &o->READLINK3res_u.resok.symlink_attributes);
	if (r.obj.type != DDT_T_SYMLINK) {
		o->status = NFS3ERR_INVAL;
	} else if (!(buf = malloc(DDT_MAX_STR + 1))) {
		o->status = NFS3ERR_JUKEBOX;
	} else {
		rc = ddtc_readlink(r.c, r.obj.ino, buf, DDT_MAX_STR + 1);
		o->status = nfs3_st(&r, rc);
		if (o->status == NFS3_OK) {
			o->READLINK3res_u.resok.data = buf;
			buf = NULL;
		}
	}
	free(buf);
	nfs3_end(&r);
	return RPC_DONE;
}

typedef struct fsstat_kv {
	uint64_t capacity, free;
} fsstat_kv;

static int fsstat_cb(void *arg, const char *key, uint64_t value)
{
	fsstat_kv *k = arg;

	if (!strcmp(key, "capacity_bytes"))
		k->capacity = value;
	else if (!strcmp(key, "free_bytes"))
		k->free = value;
	return 0;
}

static int p_fsstat(void *ctx, const rpc_caller *c, void *args, void *res)
{
	FSSTAT3args *a = args;
	FSSTAT3res *o = res;
	FSSTAT3resok *ok = &o->FSSTAT3res_u.resok;
	fsstat_kv kv = { 0, 0 };
	ddtc_su su;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->fsroot);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	rc = ddtc_status(r.c, fsstat_cb, &kv);
	if (rc == 0)
		rc = ddtc_su_open(r.c, r.e->cfg->su, &su);
	o->status = nfs3_st(&r, rc);
	if (o->status == NFS3_OK) {
		ok->tbytes = kv.capacity;
		ok->fbytes = ok->abytes = kv.free;
		/* A quota bounds what this export may still take. */
		if (su.quota) {
			uint64_t left = su.quota > su.logical_bytes ?
					su.quota - su.logical_bytes : 0;

			ok->tbytes = su.quota;
			if (left < ok->fbytes)
				ok->fbytes = ok->abytes = left;
		}
		ok->tfiles = ok->ffiles = ok->afiles = 1ull << 40;
		ok->invarsec = 0;
	}
	nfs3_post(&r, &r.obj, &ok->obj_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_fsinfo(void *ctx, const rpc_caller *c, void *args, void *res)
{
	FSINFO3args *a = args;
	FSINFO3res *o = res;
	FSINFO3resok *ok = &o->FSINFO3res_u.resok;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->fsroot);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	ok->rtmax = ok->rtpref = NFS3_RTMAX;
	ok->wtmax = ok->wtpref = NFS3_WTMAX;
	ok->rtmult = ok->wtmult = 4096;
	ok->dtpref = 64 * 1024;
	ok->maxfilesize = INT64_MAX;
	ok->time_delta.seconds = 0;
	ok->time_delta.nseconds = 1;
	ok->properties = FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS |
			 FSF3_CANSETTIME;
	nfs3_post(&r, &r.obj, &ok->obj_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}

static int p_pathconf(void *ctx, const rpc_caller *c, void *args, void *res)
{
	PATHCONF3args *a = args;
	PATHCONF3res *o = res;
	PATHCONF3resok *ok = &o->PATHCONF3res_u.resok;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->object);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	ok->linkmax = UINT32_MAX;
	ok->name_max = DDT_MAX_NAME;
	ok->no_trunc = TRUE;
	ok->chown_restricted = TRUE;
	ok->case_insensitive = FALSE;
	ok->case_preserving = TRUE;
	nfs3_post(&r, &r.obj, &ok->obj_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}

#define PROC(fn, A, R) { (xdrproc_t)xdr_##A, (xdrproc_t)xdr_##R, \
			 sizeof(A), sizeof(R), fn, 0 }

const rpc_proc nfs3_procs[] = {
	{ rpcsrv_xdr_void, rpcsrv_xdr_void, 0, 0, p_null, 1 },
	PROC(p_getattr, GETATTR3args, GETATTR3res),
	PROC(p_setattr, SETATTR3args, SETATTR3res),
	PROC(p_lookup, LOOKUP3args, LOOKUP3res),
	PROC(p_access, ACCESS3args, ACCESS3res),
	PROC(p_readlink, READLINK3args, READLINK3res),
	PROC(nfs3_read, READ3args, READ3res),
	PROC(nfs3_write, WRITE3args, WRITE3res),
	PROC(nfs3_create, CREATE3args, CREATE3res),
	PROC(nfs3_mkdir, MKDIR3args, MKDIR3res),
	PROC(nfs3_symlink, SYMLINK3args, SYMLINK3res),
	PROC(nfs3_mknod, MKNOD3args, MKNOD3res),
	PROC(nfs3_remove, REMOVE3args, REMOVE3res),
	PROC(nfs3_rmdir, RMDIR3args, RMDIR3res),
	PROC(nfs3_rename, RENAME3args, RENAME3res),
	PROC(nfs3_link, LINK3args, LINK3res),
	PROC(nfs3_readdir, READDIR3args, READDIR3res),
	PROC(nfs3_readdirplus, READDIRPLUS3args, READDIRPLUS3res),
	PROC(p_fsstat, FSSTAT3args, FSSTAT3res),
	PROC(p_fsinfo, FSINFO3args, FSINFO3res),
	PROC(p_pathconf, PATHCONF3args, PATHCONF3res),
	PROC(nfs3_commit, COMMIT3args, COMMIT3res),
};
const unsigned nfs3_nprocs =
	sizeof(nfs3_procs) / sizeof(nfs3_procs[0]);
