/* nfsd.h - what ddt-nfsd's procedures share: the configuration, the
 * session with the target, the open files, the directory snapshots, the
 * exports as they resolve to storage units, the clients' mounts, and the
 * file handle's layout. MOUNT (mount.c) and NFS (nfs3.c) are its two RPC
 * programs. */
#ifndef NFSD_H
#define NFSD_H

#include <pthread.h>
#include <stdint.h>

#include "attrc.h"
#include "dircache.h"
#include "gw_files.h"
#include "gw_sess.h"
#include "nfsd_conf.h"
#include "rpcsrv.h"

/* The file handle: 32 bytes, the same for every object of every export.
 *   0  4  magic "DdN" and layout version 2
 *   4  8  export id: the storage unit's root directory inode, big-endian
 *  12  8  the object's inode, big-endian
 *  20 12  HMAC-SHA256 of bytes 0..19 under the gateway's key, truncated
 * Both numbers are the target's, and the target never reuses an inode
 * number (ns.c's next_ino only grows), so a handle holds across a gateway
 * or daemon restart and can never name another object later: a removed
 * object's handle answers NFS3ERR_STALE. The MAC is what keeps a client
 * of one export from forging a handle for an inode of another (the
 * target's attributes do not say which unit an inode is in): only handles
 * this gateway gave out verify. The key comes from the gateway's password
 * (nfsd_fh_key), so handles hold across restarts until it changes. */
#define NFSD_FH_LEN	32
#define NFSD_FH_MAC	12
#define NFSD_FH_MAGIC	"DdN\x02"

typedef struct nfsd_exp {
	const nfsd_export *cfg;
	uint64_t root;		/* its unit's root inode; 0 until resolved */
	/* The unit's quota and logical bytes as last read (mu), so a write
	 * past the quota is refused at once, not at its commit. */
	uint64_t quota, logical;
	int64_t su_read;	/* now_mono_ns() of that reading; 0 never */
} nfsd_exp;

typedef struct nfsd_mount {
	char host[64];
	char path[1024];
} nfsd_mount;

typedef struct nfsd {
	const nfsd_conf *conf;
	gw_sess *sess;
	gw_files *files;
	dircache *dc;
	attrc *ac;		/* attributes for READs (attrc.h) */
	int64_t boot_ns;	/* the write verifier's base */
	pthread_mutex_t mu;	/* exps[].root and mounts */
	nfsd_exp exps[NFSD_MAX_EXPORTS];
	unsigned nexps;
	nfsd_mount *mounts;
	unsigned nmounts;
} nfsd;

/* The export whose id is exp, resolving unresolved ones as needed (c is
 * the session to ask); NULL if none. */
nfsd_exp *nfsd_export_by_id(nfsd *d, ddtc *c, uint64_t exp);
/* Resolve e's root now; 0 or -errno. */
int nfsd_export_resolve(nfsd *d, ddtc *c, nfsd_exp *e);

/* -EDQUOT if growing e's unit by grow bytes would pass its quota (as
 * read at most a second ago). */
int nfsd_export_quota(nfsd *d, ddtc *c, nfsd_exp *e, uint64_t grow);

/* The key handles are signed with, from a secret the gateway keeps (its
 * password for ddtargetd). Called once, before any handle is made. */
void nfsd_fh_key(const char *secret);
void nfsd_fh_pack(uint8_t out[NFSD_FH_LEN], uint64_t exp, uint64_t ino);
/* 0, or -1 if h is not one of ours (or its MAC does not verify). */
int nfsd_fh_unpack(const uint8_t *h, unsigned len, uint64_t *exp,
		   uint64_t *ino);

/* The two programs' procedure tables (ctx: the nfsd). */
extern const rpc_proc nfs3_procs[];
extern const unsigned nfs3_nprocs;
extern const rpc_proc mount_procs[];
extern const unsigned mount_nprocs;
extern const uint32_t mount_prog, mount_vers;

#endif
