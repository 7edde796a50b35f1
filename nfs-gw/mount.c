/* mount.c - MOUNT version 3 (RFC 1813, Appendix I): an export's path
 * gives its root file handle, for clients on its allowed networks, with
 * AUTH_SYS the one flavor offered. The mount list (DUMP) is what clients
 * said, kept in memory only, as advice (RFC 1813 says no more). */
/* nfsd.h first: mount3.h's typedef "name" would shadow ddtc_types.h's
 * parameters. */
#include "nfsd.h"
#include "mount3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "gw_log.h"

/* The export path names, or whose directory it names below the export's
 * path ("/backups/db/daily"): *rest is then "db/daily", else "". */
static nfsd_exp *export_by_path(nfsd *d, const char *path, const char **rest)
{
	for (unsigned i = 0; i < d->nexps; i++) {
		const char *p = d->exps[i].cfg->path;
		size_t n = strlen(p);

		while (n > 1 && p[n - 1] == '/')
			n--;
		if (strncmp(p, path, n) != 0 ||
		    (path[n] != 0 && path[n] != '/' && n > 1))
			continue;
		*rest = path + n;
		while (**rest == '/')
			(*rest)++;
		return &d->exps[i];
	}
	return NULL;
}

/* The inode MNT's path names: the export's root, or a directory in it. */
static int mnt_ino(nfsd *d, ddtc *c, nfsd_exp *e, const char *rest,
		   uint64_t *ino)
{
	ddt_attr a;
	int rc = nfsd_export_resolve(d, c, e);

	*ino = e->root;
	if (rc < 0 || !*rest)
		return rc;
	rc = ddtc_lookup_path(c, e->root, rest, &a);
	if (rc == 0 && a.type != DDT_T_DIR)
		rc = ddterr_set(-ENOTDIR, "%s is not a directory", rest);
	if (rc == 0)
		*ino = a.ino;
	return rc;
}

static void mount_note(nfsd *d, const rpc_caller *c, const char *path)
{
	nfsd_mount *m;

	pthread_mutex_lock(&d->mu);
	for (unsigned i = 0; i < d->nmounts; i++)
		if (!strcmp(d->mounts[i].path, path) &&
		    !strcmp(d->mounts[i].host, c->peer_name))
			goto out;
	m = realloc(d->mounts, (d->nmounts + 1) * sizeof(*m));
	if (!m)
		goto out;
	d->mounts = m;
	m = &d->mounts[d->nmounts++];
	snprintf(m->host, sizeof(m->host), "%s", c->peer_name);
	snprintf(m->path, sizeof(m->path), "%s", path);
out:
	pthread_mutex_unlock(&d->mu);
}

/* Forget the caller's mounts of path (NULL: all of them). */
static void mount_forget(nfsd *d, const rpc_caller *c, const char *path)
{
	pthread_mutex_lock(&d->mu);
	for (unsigned i = 0; i < d->nmounts;) {
		if (!strcmp(d->mounts[i].host, c->peer_name) &&
		    (!path || !strcmp(d->mounts[i].path, path)))
			d->mounts[i] = d->mounts[--d->nmounts];
		else
			i++;
	}
	pthread_mutex_unlock(&d->mu);
}

static int m_null(void *ctx, const rpc_caller *c, void *args, void *res)
{
	return RPC_DONE;
}

static mountstat3 mnt_status(int rc)
{
	switch (-rc) {
	case ENOENT: return MNT3ERR_NOENT;
	case ENOTDIR: return MNT3ERR_NOTDIR;
	case EACCES: case EPERM: return MNT3ERR_ACCES;
	default: return MNT3ERR_SERVERFAULT;
	}
}

static int m_mnt(void *ctx, const rpc_caller *c, void *args, void *res)
{
	nfsd *d = ctx;
	dirpath *path = args;
	mountres3 *o = res;
	mountres3_ok *ok = &o->mountres3_u.mountinfo;
	const char *rest = "";
	nfsd_exp *e = export_by_path(d, *path, &rest);
	uint64_t ino = 0;
	ddtc *s;
	int rc;

	if (!e) {
		o->fhs_status = MNT3ERR_NOENT;
		return RPC_DONE;
	}
	if (!nfsd_conf_allows(e->cfg, (const struct sockaddr *)&c->peer)) {
		gw_info("%s: mount of %s refused: not an allowed client",
			c->peer_name, *path);
		o->fhs_status = MNT3ERR_ACCES;
		return RPC_DONE;
	}
	/* Twice if the first finds the session lost (the target restarted):
	 * MOUNT has no JUKEBOX to make the client try again. */
	for (int i = 0; i < 2; i++) {
		rc = gw_sess_get(d->sess, &s);
		if (rc == 0) {
			rc = mnt_ino(d, s, e, rest, &ino);
			gw_sess_put(d->sess, s, rc);
		}
		if (!gw_sess_lost(rc))
			break;
	}
	if (rc < 0) {
		gw_warn("%s: mount of %s: %s", c->peer_name, *path,
			ddtc_errmsg(rc));
		o->fhs_status = mnt_status(rc);
		return RPC_DONE;
	}
	ok->fhandle.fhandle3_val = malloc(NFSD_FH_LEN);
	ok->auth_flavors.auth_flavors_val = malloc(sizeof(int));
	if (!ok->fhandle.fhandle3_val || !ok->auth_flavors.auth_flavors_val)
		return RPC_SYSERR;
	nfsd_fh_pack((uint8_t *)ok->fhandle.fhandle3_val, e->root, ino);
	ok->fhandle.fhandle3_len = NFSD_FH_LEN;
	ok->auth_flavors.auth_flavors_val[0] = AUTH_SYS;
	ok->auth_flavors.auth_flavors_len = 1;
	o->fhs_status = MNT3_OK;
	mount_note(d, c, *path);
	gw_info("%s: mounted %s", c->peer_name, *path);
	return RPC_DONE;
}

static int m_dump(void *ctx, const rpc_caller *c, void *args, void *res)
{
	nfsd *d = ctx;
	mountlist *tail = res;
	mountbody *b;

	pthread_mutex_lock(&d->mu);
	for (unsigned i = 0; i < d->nmounts; i++) {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->ml_hostname = strdup(d->mounts[i].host)) ||
		    !(b->ml_directory = strdup(d->mounts[i].path))) {
			if (b)
				free(b->ml_hostname);
			free(b);
			break;
		}
		*tail = b;
		tail = &b->ml_next;
	}
	pthread_mutex_unlock(&d->mu);
	return RPC_DONE;
}

static int m_umnt(void *ctx, const rpc_caller *c, void *args, void *res)
{
	mount_forget(ctx, c, *(dirpath *)args);
	return RPC_DONE;
}

static int m_umntall(void *ctx, const rpc_caller *c, void *args, void *res)
{
	mount_forget(ctx, c, NULL);
	return RPC_DONE;
}

/* An export's allowed networks, as "ADDR/PREFIX" group names. */
static int export_groups(const nfsd_export *x, groups *tail)
{
	char buf[INET6_ADDRSTRLEN + 8], a[INET6_ADDRSTRLEN];
	groupnode *g;

	for (unsigned i = 0; i < x->nnets; i++) {
		inet_ntop(x->nets[i].family, x->nets[i].addr, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s/%d", a, x->nets[i].prefix);
		g = calloc(1, sizeof(*g));
		if (!g || !(g->gr_name = strdup(buf))) {
			free(g);
			return -1;
		}
		*tail = g;
		tail = &g->gr_next;
	}
	return 0;
}

static int m_export(void *ctx, const rpc_caller *c, void *args, void *res)
{
	nfsd *d = ctx;
	exports *tail = res;
	exportnode *n;

	for (unsigned i = 0; i < d->nexps; i++) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->ex_dir = strdup(d->exps[i].cfg->path))) {
			free(n);
			break;
		}
		*tail = n;
		tail = &n->ex_next;
		if (export_groups(d->exps[i].cfg, &n->ex_groups) < 0)
			break;
	}
	return RPC_DONE;
}

#define MPROC(fn, A, R) { (xdrproc_t)xdr_##A, (xdrproc_t)xdr_##R, \
			  sizeof(A), sizeof(R), fn, 1 }

const rpc_proc mount_procs[] = {
	{ rpcsrv_xdr_void, rpcsrv_xdr_void, 0, 0, m_null, 1 },
	MPROC(m_mnt, dirpath, mountres3),
	{ rpcsrv_xdr_void, (xdrproc_t)xdr_mountlist, 0,
	  sizeof(mountlist), m_dump, 1 },
	{ (xdrproc_t)xdr_dirpath, rpcsrv_xdr_void, sizeof(dirpath), 0,
	  m_umnt, 1 },
	{ rpcsrv_xdr_void, rpcsrv_xdr_void, 0, 0, m_umntall, 1 },
	{ rpcsrv_xdr_void, (xdrproc_t)xdr_exports, 0, sizeof(exports),
	  m_export, 1 },
};
const uint32_t mount_prog = MOUNT_PROGRAM;
const uint32_t mount_vers = MOUNT_V3;
const unsigned mount_nprocs =
	sizeof(mount_procs) / sizeof(mount_procs[0]);
