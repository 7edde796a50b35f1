/* ddtfs.h - ddtfs, a storage unit of ddtargetd as a FUSE file system:
 * the state every operation shares (the gateway core's session, which
 * comes back by itself after a restart, and its table of files being
 * written, gw_sess.h and gw_files.h, shared with ddt-nfsd) and the
 * operations table (ddtfs_ops.c). */
#ifndef DDTFS_H
#define DDTFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <stdint.h>

#include "ddtc.h"
#include "gw_files.h"
#include "gw_sess.h"

typedef struct ddtfs {
	gw_sess *sess;			/* reconnects by itself */
	gw_files *files;		/* the files being written */
	char su[DDT_MAX_NAME + 1];
	uint64_t root;			/* the unit's root inode: FUSE's 1 */
	int reconnect_secs;		/* how long an operation waits for it */
	double attr_secs;		/* the kernel's attribute cache */
	unsigned readahead;		/* bytes the kernel may read ahead */
	int read_only;			/* the user has the restore level */
} ddtfs;

/* An open file: its attributes when it was opened, which name the version
 * a sequential reader's read-ahead fetches (close-to-open consistency). */
typedef struct ddtfs_open {
	ddt_attr attr;
} ddtfs_open;

/* 1 (after a pause) if a call that returned rc on try number tries should
 * be made again: the target is away and reconnect_secs have not passed. */
int ddtfs_retry(ddtfs *fs, int rc, int tries);

/* rc = EXPR, again while the target is away (up to reconnect_secs). */
#define DDTFS_RETRY(fs, rc, EXPR)					\
	do {								\
		for (int tries_ = 0;; tries_++) {			\
			(rc) = (EXPR);					\
			if (!ddtfs_retry((fs), (rc), tries_))		\
				break;					\
		}							\
	} while (0)

/* rc = CALL, an expression of c, the session: made on the current
 * session, and again while the target is away. */
#define DDTFS_CALL(fs, rc, CALL)					\
	do {								\
		for (int tries_ = 0;; tries_++) {			\
			ddtc *c;					\
			(rc) = gw_sess_get((fs)->sess, &c);		\
			if ((rc) == 0) {				\
				(rc) = (CALL);				\
				gw_sess_put((fs)->sess, c, (rc));	\
			}						\
			if (!ddtfs_retry((fs), (rc), tries_))		\
				break;					\
		}							\
	} while (0)

/* ---- operations (ddtfs_ops.c) ---- */

extern const struct fuse_lowlevel_ops ddtfs_ops;

#endif
