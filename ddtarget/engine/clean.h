/* clean.h - cleaning (garbage collection): reclaim the space of segments no
 * file refers to any more, online, while backups keep writing.
 *
 * Mark: every file's tree in one consistent snapshot of the namespace is
 * walked and its segments set in a Bloom filter sized to the store (DDFS);
 * a false positive only keeps a dead segment a while longer. Sweep: each
 * container sealed before the clean began is measured; one with no live
 * segment is dropped outright, one less than threshold percent live has its
 * live segments copied forward first. What keeps it safe while writers run
 * is the pinning in store_gc.h plus the commit rule below: a clean begins only
 * when no commit is between its check and its namespace write, so every
 * committed file is either in the marked snapshot or was checked (and its
 * segments pinned) while the clean ran. */
#ifndef CLEAN_H
#define CLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "ns.h"
#include "store.h"

typedef struct clean clean;

typedef struct clean_config {
	int threshold_pct;	/* copy forward below this % live; 0: 50 */
	uint64_t batch_bytes;	/* copied between drops; 0: 64 MiB */
	/* Called on the cleaner's thread when a clean ends (may be NULL). */
	void (*done)(void *arg, int rc, const char *msg);
	void *done_arg;
} clean_config;

typedef struct clean_report {
	int running;
	char phase[16];		/* idle, mark, sweep, copy, orphans, done, failed */
	int64_t started, finished;	/* ns since the epoch; 0: not yet */
	uint64_t files, metadata_segments, damaged_files;
	uint64_t containers_total, containers_examined, examined_bytes;
	uint64_t candidates, containers_dropped, containers_kept;
	uint64_t segments_removed, bytes_copied, reclaimed_bytes;
	uint64_t orphan_files, orphan_bytes;
	uint64_t physical_before, physical_after;
	/* Dead segments' share of the fragments of the containers it
	 * measured and kept (over the threshold live): on disk, what a
	 * clean would still reclaim. */
	uint64_t dead_kept_bytes;
	uint64_t cleans;	/* completed since the daemon started */
	int rc;			/* of the last clean */
	char msg[256];
} clean_report;

int clean_new(clean **out, store *st, ns *n, const clean_config *cfg);
/* Stops a running clean (at its next container) and waits for it. */
void clean_free(clean *c);

/* Clean now, on this thread. -EBUSY if one is running. */
int clean_run(clean *c);
/* Clean on a thread of its own; -EBUSY if one is running. */
int clean_start(clean *c);
/* Ask a running clean to stop at its next step. */
void clean_cancel(clean *c);
void clean_status(clean *c, clean_report *out);

/* What a writer may name in its trees, beyond their being on the target
 * (a tenant: only the segments it proved it holds; the daemon's dset.h),
 * and who is credited with them. filter (may be NULL) clears ok[i] for
 * each fps[i] it may not name; credit (may be NULL) hears of every
 * segment of a tree checked; each 0 or -errno. salt keeps the subtrees
 * checked for one writer apart from another's (those are not walked
 * again, so neither filtered nor credited twice). */
typedef struct clean_fence {
	int (*filter)(void *arg, const fp_t *fps, uint32_t n, uint8_t *ok);
	int (*credit)(void *arg, const fp_t *fps, uint32_t n);
	void *arg;
	uint64_t salt;
} clean_fence;

/* Bind files to trees the way every writer must: each entry's tree is
 * checked complete and on the target (every segment, metadata included,
 * looked up: during a clean that pins them), everything durable
 * (store_barrier), then ns_commit (flags: DDT_CF_*). A segment missing,
 * or one fence (may be NULL) does not let the writer name, is -ENOENT
 * naming it: the client sends it and commits again. */
int clean_commit(clean *c, uint64_t dir, const ns_entry *e, size_t n,
		 uint32_t flags, const clean_fence *fence, ddt_attr *out);

/* SET_CONTENT: k's tree checked as clean_commit() checks one, then
 * ns_set_content(). */
int clean_set_content(clean *c, const ddt_content *k,
		      const clean_fence *fence, ddt_attr *out);

#endif
