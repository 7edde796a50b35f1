/* nfs3_int.h - what the NFS v3 procedures' files (nfs3.c, nfs3_io.c,
 * nfs3_ns.c, nfs3_dir.c) share: a request's context (its export, the
 * caller after squashing, the object its handle names, the session) and
 * the conversions between the target's records and RFC 1813's. */
#ifndef NFS3_INT_H
#define NFS3_INT_H

#include "nfs3_prot.h"
#include "nfsd.h"

typedef struct nfs3_req {
	nfsd *d;
	const rpc_caller *who;
	nfsd_exp *e;
	uint32_t uid, gid;	/* after squashing */
	int root;		/* uid 0, not squashed */
	ddtc *c;		/* the session, held */
	int rc;			/* the last ddtc result, for gw_sess_put */
	ddt_attr obj;		/* what the handle names */
	int clears;		/* empties the READ attribute cache at its end */
} nfs3_req;

/* Take the session, check the handle, the export and the client, and
 * read the object's attributes. NFS3_OK, or the status to answer (the
 * request is then ended already). */
nfsstat3 nfs3_begin(nfs3_req *r, nfsd *d, const rpc_caller *who,
		    const nfs_fh3 *fh);
/* The same for a READ: attributes read less than read_attr_ms ago, with
 * no change by this gateway since, serve (attrc.h). */
nfsstat3 nfs3_begin_read(nfs3_req *r, nfsd *d, const rpc_caller *who,
			 const nfs_fh3 *fh);
void nfs3_end(nfs3_req *r);
/* Keep rc (a ddtc result) and map it to a status. */
nfsstat3 nfs3_st(nfs3_req *r, int rc);

nfsstat3 nfs3_status(int rc);
void nfs3_fattr(const nfs3_req *r, const ddt_attr *a, fattr3 *f);
void nfs3_post(const nfs3_req *r, const ddt_attr *a, post_op_attr *p);
/* Read ino's attributes now into p (none if that fails). */
void nfs3_post_ino(nfs3_req *r, uint64_t ino, post_op_attr *p);
void nfs3_pre(const ddt_attr *a, pre_op_attr *p);
void nfs3_wcc(nfs3_req *r, const ddt_attr *before, wcc_data *w);
int nfs3_fh(const nfs3_req *r, uint64_t ino, nfs_fh3 *fh);
int nfs3_post_fh(const nfs3_req *r, uint64_t ino, post_op_fh3 *fh);
/* A name the target takes (to make one, make = 1: the whole rule of
 * ddtc_types.h; to find one, its shape): NFS3_OK, NAMETOOLONG or INVAL
 * (EXIST for "." and ".."). */
nfsstat3 nfs3_name(const char *name, int make);
int64_t nfs3_ns(const nfstime3 *t);

/* Unix permission of the caller on a: want is a mask of 4 (read), 2
 * (write), 1 (search/execute). */
int nfs3_may(const nfs3_req *r, const ddt_attr *a, unsigned want);
/* The directory r->obj may get or lose entries: a writable export, a
 * directory, write and search permission. */
nfsstat3 nfs3_dir_writable(const nfs3_req *r);

/* Apply a sattr3's mode, owner and times to ino (size is the caller's);
 * out: the attributes after. */
int nfs3_setattr(nfs3_req *r, uint64_t ino, const sattr3 *s, ddt_attr *out);

int nfs3_read(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_write(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_create(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_commit(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_mkdir(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_symlink(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_mknod(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_remove(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_rmdir(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_rename(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_link(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_readdir(void *ctx, const rpc_caller *c, void *args, void *res);
int nfs3_readdirplus(void *ctx, const rpc_caller *c, void *args, void *res);

/* The write verifier: the gateway's start and its lost-writes epoch. */
void nfs3_writeverf(nfsd *d, char verf[NFS3_WRITEVERFSIZE]);

#endif
