/* scrub.h - the daemon's scrub job: the store's scrub and repair
 * (store_scrub) run on a thread of its own, with a status report to poll,
 * then every file's tree checked, naming the backups of the files that
 * cannot be restored whole.
 *
 * The store knows containers, not files. After the containers, every
 * file of every storage unit has its tree checked as COMMIT checks it
 * (PROTOCOL.md section 6): a file is affected when its tree names a
 * segment the store does not hold, or holds in a container the scrub
 * left unrecoverable (fewer than k good fragments) or damaged (segments no
 * repair could fix; store_ctr_fps names them from the index record, which
 * survives the fragments), or a metadata segment that cannot be read
 * (missing segments); or when a metadata segment does not parse or add
 * up, a data segment has other bytes than its parent gives it, or the
 * root does not describe the file's size (a bad tree). Metadata segments
 * are judged once per claim (fingerprint, level, bytes), since files and
 * backups share most of their trees, and those the containers' pass
 * decoded are kept (up to a budget) rather than read a second time from
 * their containers, which every backup's metadata is spread over. Each
 * file is judged once, in a scan of the namespace's inodes; then, only if
 * any is wrong, the units are walked by name to count the wrong files per
 * backup (a file with two names counts twice); files of a unit that lie
 * outside its backups count under the backup "". */
#ifndef SCRUB_H
#define SCRUB_H

#include <stddef.h>
#include <stdint.h>

#include "ns.h"
#include "store.h"
#include "store_scrub.h"

#define SCRUB_AFFECTED_MAX	100	/* backups named in a report; the
					   totals count them all */

typedef struct scrub scrub;

/* Files of one backup (or of a unit outside its backups: backup "")
 * whose trees a scrub found missing segments or wrong. */
typedef struct scrub_affected {
	char su[DDT_MAX_NAME + 1];
	char backup[DDT_MAX_NAME + 1];
	uint64_t files;
} scrub_affected;

typedef struct scrub_report {
	int running;
	int repair;		/* of the current or last scrub */
	/* idle, start, scrub, trees (checking every file's tree),
	 * affected (naming the backups of files found wrong), done, failed */
	char phase[16];
	int64_t started, finished;	/* ns since the epoch; 0: not yet */
	/* The store's figures, as they grow; lost_cids is always NULL in a
	 * copy (nlost says how many there were). */
	store_scrub_report st;
	uint64_t lost_segments;	/* fingerprints in the lost containers */
	uint64_t unnamed_containers;	/* lost, and their record too */
	uint64_t files_checked;		/* files with data whose trees were
					   checked, each once */
	/* Names (as in affected[]) of files whose trees name segments not
	 * held, lost or unreadable; or do not describe the file. The first
	 * problem found decides which count a file is in. */
	uint64_t files_missing_segments;
	uint64_t files_bad_tree;
	uint64_t affected_backups;	/* entries found, even past the list */
	uint64_t affected_files;	/* in all of them: the two above */
	size_t naffected;	/* entries in affected[] */
	scrub_affected affected[SCRUB_AFFECTED_MAX];
	uint64_t scrubs;	/* completed since the daemon started */
	int rc;			/* the last one's: 0, -ECANCELED, -errno */
	int clean;		/* the last scrub left nothing wrong behind,
				   and found every file's tree whole */
	char msg[1024];		/* its summary, or why it failed */
} scrub_report;

typedef struct scrub_config {
	uint64_t max_bytes_per_sec;	/* read rate; 0: no limit */
	/* Called on the scrub's thread as a scrub ends, with its final
	 * report, before scrub_status() says it is over: whoever polls the
	 * status sees what done did. It must not start a scrub. */
	void (*done)(void *arg, const scrub_report *r);
	void *done_arg;
} scrub_config;

int scrub_new(scrub **out, store *st, ns *n, const scrub_config *cfg);
/* Stops a running scrub (after its current container) and waits. */
void scrub_free(scrub *s);

/* What a scrub may change: nothing (0), or rewrite what can be rebuilt
 * (SCRUB_REPAIR), then also, with SCRUB_KEEP_DIRS, not into a storage
 * directory that is gone: a scheduled scrub must not take an unmounted
 * disk's mount point for the disk; one an administrator starts may. */
#define SCRUB_REPAIR	1
#define SCRUB_KEEP_DIRS	2

/* Scrub now, on this thread; repair: the SCRUB_* above. -EBUSY if one is
 * running. Returns the scrub's rc (0 whatever it found). */
int scrub_run(scrub *s, int repair);
/* Scrub on a thread of its own; -EBUSY if one is running. */
int scrub_start(scrub *s, int repair);
/* Ask a running scrub to stop at its next container. */
void scrub_cancel(scrub *s);
/* The current or last scrub's report (a large struct: not for the stack
 * of a thread that is short of it). */
void scrub_status(scrub *s, scrub_report *out);

#endif
