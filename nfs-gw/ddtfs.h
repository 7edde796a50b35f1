/* ddtfs.h - ddtfs, a storage unit of ddtargetd as a FUSE file system:
 * the state every operation shares (ddtfs_state.c: the session to the
 * target, which comes back by itself after a restart, and the table of
 * open files) and the operations table (ddtfs_ops.c). */
#ifndef DDTFS_H
#define DDTFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>

#include "ddtc.h"

/* One open regular file, shared by every open of its inode: the
 * random-access handle exists from the first write or truncate on. */
typedef struct ddtfs_file {
	uint64_t ino;
	int refs;			/* under the table's lock */
	pthread_mutex_t mu;		/* everything below */
	ddtc_rfile *rf;
	size_t counted;			/* of rf's buffer, in ddtfs.buffered */
	int64_t mtime;			/* of the last write, while dirty */
	struct ddtfs_file *next;
} ddtfs_file;

typedef struct ddtfs {
	ddtc_opts o;			/* how to connect again */
	char password[DDT_MAX_STR + 1];
	char su[DDT_MAX_NAME + 1];
	uint64_t root;			/* the unit's root inode: FUSE's 1 */
	int reconnect_secs;		/* how long an operation waits for it */
	double attr_secs;		/* the kernel's attribute cache */
	size_t cap;			/* buffered bytes before a flush */

	pthread_rwlock_t conn_lk;	/* held shared by every call */
	ddtc *c;
	unsigned gen;			/* bumped at each reconnect */

	pthread_mutex_t files_mu;
	ddtfs_file *files;
	size_t buffered;		/* all files' held bytes, about */
} ddtfs;

/* ---- the session (ddtfs_state.c) ---- */

/* The session, held shared until ddtfs_conn_put(); *gen names it. */
ddtc *ddtfs_conn_get(ddtfs *fs, unsigned *gen);
void ddtfs_conn_put(ddtfs *fs);
/* rc is a lost connection's: connect again (once for every caller that
 * saw session gen fail), waiting up to reconnect_secs for the target.
 * 1 if the call should be tried again, 0 if not. */
int ddtfs_conn_retry(ddtfs *fs, unsigned gen, int rc);

/* Run CALL (an expression of c, the session) and put its result in rc,
 * again on a new session if the target went away meanwhile. */
#define DDTFS_CALL(fs, rc, CALL)					\
	do {								\
		unsigned gen_;						\
		ddtc *c = ddtfs_conn_get((fs), &gen_);			\
		(rc) = (CALL);						\
		ddtfs_conn_put(fs);					\
		if (!ddtfs_conn_retry((fs), gen_, (rc)))		\
			break;						\
	} while (1)

/* ---- open files (ddtfs_state.c) ---- */

/* The file of ino, made if none; a reference for the caller. */
int ddtfs_file_get(ddtfs *fs, uint64_t ino, ddtfs_file **out);
/* The file of ino if open (a reference), else NULL. */
ddtfs_file *ddtfs_file_find(ddtfs *fs, uint64_t ino);
/* Drop a reference; the last one closes the handle, dropping whatever
 * was not committed (callers commit first). */
void ddtfs_file_put(ddtfs *fs, ddtfs_file *f);
/* Under f->mu: the random-access handle, opened if need be. */
int ddtfs_file_rfile(ddtfs *fs, ddtfs_file *f);
/* Under f->mu: publish f's changes (sync: durably) if it has any. */
int ddtfs_file_commit(ddtfs *fs, ddtfs_file *f, int sync, ddt_attr *out);
/* Under f->mu, after a write: count its buffer, and flush it when all
 * files together hold more than the cap. */
int ddtfs_file_account(ddtfs *fs, ddtfs_file *f);
/* Commit and close every open file (at unmount). */
void ddtfs_files_finish(ddtfs *fs);

/* ---- operations (ddtfs_ops.c) ---- */

extern const struct fuse_lowlevel_ops ddtfs_ops;

#endif
