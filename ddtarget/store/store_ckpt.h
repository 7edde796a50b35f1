/* store_ckpt.h - checkpoints of the store's metadata, taken while it
 * serves, listed, and restored offline after the index is lost.
 *
 * A checkpoint is a consistent copy of the whole RocksDB index -- the
 * fingerprints, the container records, the counters, and with them the
 * namespace and the users -- in ckdir/ckpt-YYYYMMDDTHHMMSSZ/, beside a
 * small text MANIFEST (format, time, next container id, geometry, counts).
 * Containers are not copied: they are append-only and stay where they are,
 * which is what makes a checkpoint cheap and a restore a reconciliation.
 *
 * Restoring one brings the whole index back to that moment. The segment
 * index is then brought forward to the containers actually on the disks
 * (see store_restore_checkpoint), but the namespace and the users stay as
 * the checkpoint has them: backups, files and users made after it are
 * gone from the namespace (their segments stay on disk as garbage for the
 * cleaner), and those deleted after it are back, though the cleaner may
 * have removed their data since. */
#ifndef STORE_CKPT_H
#define STORE_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_CKPT_NAME_MAX	64	/* with the NUL */

/* Take a checkpoint while the store keeps serving; the sealer waits only
 * while RocksDB flushes and links its files. ckdir NULL: the configured
 * directory; keep <= 0: the configured count. The checkpoint appears whole
 * or not at all (built under a temporary name, fsynced, renamed); then the
 * oldest are removed until keep remain. Its name goes to name_out (cap
 * bytes, may be NULL). 0 or -errno with a ddterr message. */
int store_checkpoint(store *s, const char *ckdir, int keep, char *name_out,
		     size_t cap);

/* The directory store_checkpoint() uses by default. */
const char *store_checkpoint_dir(const store *s);

typedef struct store_ckpt_info {
	char name[STORE_CKPT_NAME_MAX];
	int64_t created;	/* ns since the epoch */
	uint64_t bytes;		/* its files' sizes, added up */
	uint64_t next_cid, containers, segments;
	int k, m, ndirs;
	char store_id[33];	/* the store it was taken of, in hex; "" in
				   checkpoints older than the field */
} store_ckpt_info;

/* Call cb for every checkpoint in ckdir, oldest first (a non-zero return
 * stops and is returned). A missing ckdir has none. */
typedef int (*store_ckpt_cb)(void *arg, const store_ckpt_info *ci);
int store_checkpoint_list(const char *ckdir, store_ckpt_cb cb, void *arg);

#define STORE_RESTORE_LIST 16	/* container ids a report names, at most */

typedef struct store_restore_report {
	store_ckpt_info ckpt;	/* the checkpoint used */
	char replaced[4096];	/* where the old index went; "" if none */
	uint64_t containers;	/* containers the checkpoint lists */
	uint64_t reindexed;	/* on disk, sealed after it: indexed now */
	uint64_t dropped;	/* listed, but gone from the disks */
	uint64_t unreadable;	/* fragment sets on disk that cannot be read:
				   left in place, not indexed */
	uint64_t journaled;	/* on disk but with a journal still: left
				   for the next open to replay and seal */
	uint64_t next_cid;	/* the store's next container id now */
	uint64_t dropped_cids[STORE_RESTORE_LIST];
	uint64_t unreadable_cids[STORE_RESTORE_LIST];
} store_restore_report;

/* Bring the store cfg names back from a checkpoint after its index is
 * lost or damaged. Offline: -EBUSY if the store is open. ckdir NULL: the
 * configured directory; name NULL: the newest checkpoint. The current
 * index directory, if any, is moved aside to index.replaced-<time> (never
 * deleted), and the checkpoint is copied in (it stays intact for another
 * try). Then the index is reconciled with the data directories:
 *  - a container it lists that has fewer than k fragments left (cleaned
 *    after the checkpoint) is dropped, record and fingerprints;
 *  - a container on disk it does not list (sealed after the checkpoint,
 *    or written by the cleaner) is read back and indexed like a fresh
 *    seal, unless its journal still exists: then the next store_open
 *    replays the journal, which holds at least as much, and seals it;
 *  - the next container id goes past every id found in fragments and
 *    journals, and the counters follow what was dropped and added.
 * The reconciliation is done on the copy before it replaces anything, so
 * a restore that fails leaves the store as it was, and can be run again.
 * If not one of the containers the checkpoint lists is on the disks, it
 * fails with -EIO (check the data directories). The report (not NULL)
 * says what was done. 0 or -errno with a ddterr message. */
/* check, if not NULL, is asked before anything is replaced whether the
 * index the restore would bring back (a copy at new_index) may replace
 * the store's (cur_index): 0 goes on, -errno (with its ddterr message)
 * refuses the restore. The namespace's retention lock is checked so
 * (ns_restore_keeps_locks, ns.h). */
typedef int (*store_restore_check_fn)(void *arg, const char *cur_index,
				      const char *new_index);
int store_restore_checkpoint(const store_config *cfg, const char *ckdir,
			     const char *name, store_restore_check_fn check,
			     void *check_arg, store_restore_report *r);

/* The report as "key: value" lines for a person, into buf (cap bytes,
 * always NUL-terminated), so every tool prints it alike. */
void store_restore_report_format(const store_restore_report *r, char *buf,
				 size_t cap);

#endif
