/* nfs3_ns.c - NFS v3's namespace procedures: MKDIR, SYMLINK, MKNOD (not
 * supported: the target keeps files, directories and symbolic links),
 * REMOVE, RMDIR, RENAME and LINK, each one call on the target, with the
 * directories' attributes before and after (wcc_data) as RFC 1813 asks.
 * For the procedures that make an object, resok and resfail put the
 * directory's wcc_data at different places, so it is filled after the
 * status is known. */
#include "nfs3_int.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"

/* The checks every entry-making or -removing procedure starts with. */
static nfsstat3 entry_ok(const nfs3_req *r, const char *name, int make)
{
	nfsstat3 st = nfs3_dir_writable(r);

	return st != NFS3_OK ? st : nfs3_name(name, make);
}

static uint32_t sattr_mode(const sattr3 *s, uint32_t dflt)
{
	return s->mode.set_it ? s->mode.set_mode3_u.mode & 07777 : dflt;
}

int nfs3_mkdir(void *ctx, const rpc_caller *c, void *args, void *res)
{
	MKDIR3args *a = args;
	MKDIR3res *o = res;
	MKDIR3resok *ok = &o->MKDIR3res_u.resok;
	const sattr3 *s = &a->attributes;
	ddt_attr at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->where.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->where.name, 1);
	if (o->status == NFS3_OK) {
		rc = ddtc_mkdir(r.c, r.obj.ino, a->where.name,
				sattr_mode(s, 0755),
				s->uid.set_it ? s->uid.set_uid3_u.uid : r.uid,
				s->gid.set_it ? s->gid.set_gid3_u.gid : r.gid,
				0, &at);
		if (rc == 0 && (s->atime.set_it || s->mtime.set_it))
			rc = nfs3_setattr(&r, at.ino, s, &at);
		o->status = nfs3_st(&r, rc);
	}
	if (o->status == NFS3_OK) {
		nfs3_post_fh(&r, at.ino, &ok->obj);
		nfs3_post(&r, &at, &ok->obj_attributes);
	}
	nfs3_wcc(&r, &r.obj, o->status == NFS3_OK ? &ok->dir_wcc :
			     &o->MKDIR3res_u.resfail.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_symlink(void *ctx, const rpc_caller *c, void *args, void *res)
{
	SYMLINK3args *a = args;
	SYMLINK3res *o = res;
	SYMLINK3resok *ok = &o->SYMLINK3res_u.resok;
	const sattr3 *s = &a->symlink.symlink_attributes;
	const char *target = a->symlink.symlink_data;
	ddt_attr at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->where.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->where.name, 1);
	if (o->status == NFS3_OK && (!target || !*target ||
				     strlen(target) > DDT_MAX_STR))
		o->status = NFS3ERR_INVAL;
	if (o->status == NFS3_OK) {
		rc = ddtc_symlink(r.c, r.obj.ino, a->where.name, target,
				  s->uid.set_it ? s->uid.set_uid3_u.uid : r.uid,
				  s->gid.set_it ? s->gid.set_gid3_u.gid : r.gid,
				  0, &at);
		o->status = nfs3_st(&r, rc);
	}
	if (o->status == NFS3_OK) {
		nfs3_post_fh(&r, at.ino, &ok->obj);
		nfs3_post(&r, &at, &ok->obj_attributes);
	}
	nfs3_wcc(&r, &r.obj, o->status == NFS3_OK ? &ok->dir_wcc :
			     &o->SYMLINK3res_u.resfail.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_mknod(void *ctx, const rpc_caller *c, void *args, void *res)
{
	MKNOD3args *a = args;
	MKNOD3res *o = res;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->where.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->where.name, 1);
	if (o->status == NFS3_OK)
		o->status = NFS3ERR_NOTSUPP;
	nfs3_wcc(&r, &r.obj, &o->MKNOD3res_u.resfail.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

/* REMOVE and RMDIR: the entry's inode first, so a file the gateway has
 * open is forgotten with its last name. */
static int unlink_entry(nfs3_req *r, const char *name, int dir)
{
	ddt_attr victim;
	int rc;

	rc = ddtc_lookup(r->c, r->obj.ino, name, &victim);
	if (rc < 0)
		return rc;
	if (dir && victim.type != DDT_T_DIR)
		return ddterr_set(-ENOTDIR, "%s is not a directory", name);
	if (!dir && victim.type == DDT_T_DIR)
		return ddterr_set(-EISDIR, "%s is a directory", name);
	rc = dir ? ddtc_rmdir(r->c, r->obj.ino, name)
		 : ddtc_unlink(r->c, r->obj.ino, name);
	if (rc == 0 && !dir && victim.nlink <= 1)
		gw_files_forget(r->d->files, victim.ino);
	return rc;
}

int nfs3_remove(void *ctx, const rpc_caller *c, void *args, void *res)
{
	REMOVE3args *a = args;
	REMOVE3res *o = res;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->object.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->object.name, 0);
	if (o->status == NFS3_OK)
		o->status = nfs3_st(&r, unlink_entry(&r, a->object.name, 0));
	nfs3_wcc(&r, &r.obj, &o->REMOVE3res_u.resok.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_rmdir(void *ctx, const rpc_caller *c, void *args, void *res)
{
	RMDIR3args *a = args;
	RMDIR3res *o = res;
	nfs3_req r;

	o->status = nfs3_begin(&r, ctx, c, &a->object.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->object.name, 0);
	if (o->status == NFS3_OK)
		o->status = nfs3_st(&r, unlink_entry(&r, a->object.name, 1));
	nfs3_wcc(&r, &r.obj, &o->RMDIR3res_u.resok.dir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_rename(void *ctx, const rpc_caller *c, void *args, void *res)
{
	RENAME3args *a = args;
	RENAME3res *o = res;
	RENAME3resok *ok = &o->RENAME3res_u.resok;
	uint64_t exp, to_ino;
	ddt_attr to = { 0 };
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->from.dir);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	o->status = entry_ok(&r, a->from.name, 0);
	if (o->status == NFS3_OK)
		o->status = nfs3_name(a->to.name, 1);
	if (o->status == NFS3_OK &&
	    (nfsd_fh_unpack((const uint8_t *)a->to.dir.data.data_val,
			    a->to.dir.data.data_len, &exp, &to_ino) < 0))
		o->status = NFS3ERR_BADHANDLE;
	else if (o->status == NFS3_OK && exp != r.e->root)
		o->status = NFS3ERR_XDEV;
	if (o->status == NFS3_OK) {
		rc = ddtc_getattr(r.c, to_ino, &to);
		if (rc == 0 && to.type != DDT_T_DIR)
			rc = ddterr_set(-ENOTDIR, "not a directory");
		if (rc == 0 && !nfs3_may(&r, &to, 3))
			rc = ddterr_set(-EACCES, "no write permission");
		if (rc == 0)
			rc = ddtc_rename(r.c, r.obj.ino, a->from.name, to_ino,
					 a->to.name);
		o->status = nfs3_st(&r, rc);
		if (to.ino != to_ino && o->status == NFS3ERR_NOENT)
			o->status = NFS3ERR_STALE;	/* the target dir */
		if (to.ino == to_ino) {
			nfs3_pre(&to, &ok->todir_wcc.before);
			nfs3_post_ino(&r, to_ino, &ok->todir_wcc.after);
		}
	}
	nfs3_wcc(&r, &r.obj, &ok->fromdir_wcc);
	nfs3_end(&r);
	return RPC_DONE;
}

int nfs3_link(void *ctx, const rpc_caller *c, void *args, void *res)
{
	LINK3args *a = args;
	LINK3res *o = res;
	LINK3resok *ok = &o->LINK3res_u.resok;
	uint64_t exp, dir_ino;
	ddt_attr dir = { 0 }, at;
	nfs3_req r;
	int rc;

	o->status = nfs3_begin(&r, ctx, c, &a->file);
	if (o->status != NFS3_OK)
		return RPC_DONE;
	if (nfsd_fh_unpack((const uint8_t *)a->link.dir.data.data_val,
			   a->link.dir.data.data_len, &exp, &dir_ino) < 0)
		o->status = NFS3ERR_BADHANDLE;
	else if (exp != r.e->root)
		o->status = NFS3ERR_XDEV;
	else if (r.e->cfg->read_only)
		o->status = NFS3ERR_ROFS;
	else if (r.obj.type == DDT_T_DIR)
		o->status = NFS3ERR_ISDIR;
	else
		o->status = nfs3_name(a->link.name, 1);
	if (o->status == NFS3_OK) {
		rc = ddtc_getattr(r.c, dir_ino, &dir);
		if (rc == 0 && !nfs3_may(&r, &dir, 3))
			rc = ddterr_set(-EACCES, "no write permission");
		if (rc == 0)
			rc = ddtc_link(r.c, r.obj.ino, dir_ino, a->link.name,
				       &at);
		o->status = nfs3_st(&r, rc);
		if (dir.ino == dir_ino) {
			nfs3_pre(&dir, &ok->linkdir_wcc.before);
			nfs3_post_ino(&r, dir_ino, &ok->linkdir_wcc.after);
		}
	}
	nfs3_post_ino(&r, r.obj.ino, &ok->file_attributes);
	nfs3_end(&r);
	return RPC_DONE;
}
