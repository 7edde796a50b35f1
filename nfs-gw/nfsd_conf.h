/* nfsd_conf.h - ddt-nfsd's configuration: the target to log in to, where
 * to listen, and the exports, read from an INI file (libinih; the keys
 * are contrib/ddt-nfsd.conf's and the man page's). */
#ifndef NFSD_CONF_H
#define NFSD_CONF_H

#include "ddtc.h"

#include <stddef.h>
#include <stdint.h>

#define NFSD_MAX_EXPORTS	64
#define NFSD_MAX_NETS		32

typedef struct nfsd_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
} nfsd_net;

typedef struct nfsd_export {
	char name[256];		/* the [export NAME] section */
	char su[256];		/* the storage unit; default NAME */
	char path[1024];	/* what MNT asks for; default "/NAME" */
	nfsd_net nets[NFSD_MAX_NETS];	/* allowed clients; none: anyone */
	unsigned nnets;
	int read_only, root_squash, all_squash;
	uint32_t anon_uid, anon_gid;
} nfsd_export;

typedef struct nfsd_conf {
	ddtc_target_conf target;	/* [target] */
	char listen[256];
	int nfs_port, mount_port;
	int threads;
	size_t dirty_cap;	/* bytes */
	int idle_ms;
	int read_attr_ms;	/* how long a READ may use attributes read */
	int rpcbind;
	nfsd_export exports[NFSD_MAX_EXPORTS];
	unsigned nexports;
} nfsd_conf;

/* Read path into c (defaults first). 0, or -errno with a one-line
 * message naming the file, line and key. */
int nfsd_conf_load(nfsd_conf *c, const char *path);

/* Whether sa's address is in one of e's networks (any, if it has none). */
struct sockaddr;
int nfsd_conf_allows(const nfsd_export *e, const struct sockaddr *sa);

#endif
