/* store_scrub.h - scrub and repair: every fragment of every sealed
 * container read and checked, what is lost or damaged rebuilt, every
 * segment re-hashed; and the fingerprints a lost container held.
 *
 * A scrub reads every fragment of every sealed container and checks its
 * CRCs, rebuilds what is missing or damaged from the others (erasure
 * coding) and rewrites it atomically, re-hashes every segment against its
 * fingerprint, re-encodes parity to catch parity damaged behind a good
 * CRC, and checks that every segment is indexed. It runs online, beside
 * writers, readers and the cleaner, without holding the store's lock over
 * any I/O; containers the cleaner deletes meanwhile are skipped. */
#ifndef STORE_SCRUB_H
#define STORE_SCRUB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct store_scrub_report {
	uint64_t containers_total;	/* sealed when the scrub began */
	uint64_t containers_checked;
	uint64_t containers_vanished;	/* deleted (cleaned) while scrubbed */
	uint64_t fragments_checked;
	uint64_t bytes_read;		/* fragment files, headers included */
	uint64_t fragments_missing;
	uint64_t fragments_corrupt;	/* bad CRC, misplaced, unreadable, or
					   caught by a re-hash or re-encode */
	uint64_t fragments_rebuilt;	/* rewritten from the others */
	uint64_t segments_checked;
	uint64_t segments_bad;		/* failed their hash as first decoded */
	uint64_t containers_damaged;	/* bad segments no repair could fix */
	uint64_t containers_unrecoverable; /* fewer than k good fragments */
	uint64_t index_missing;		/* segments not (rightly) indexed */
	uint64_t errors;		/* repairs that failed, see error */
	/* The journals of the containers not yet sealed, read back in
	 * every copy (store_journal.h): damaged means a copy damaged,
	 * missing or dropped; with repair such a container is sealed
	 * early, from its segments in memory. */
	uint64_t journals_checked;
	uint64_t journal_records;
	uint64_t journals_damaged;
	uint64_t journals_sealed;
	/* Containers whose data is lost, damaged or unrecoverable, in cid
	 * order (malloc'd; store_scrub_report_free). store_ctr_fps() names
	 * their segments, so the namespace can name the files they hold. */
	uint64_t *lost_cids;
	size_t nlost;
	char error[256];		/* the first failed repair's message */
	double seconds;
} store_scrub_report;

typedef struct store_scrub_opts {
	int repair;		/* rewrite what is rebuilt; 0: report only */
	/* With repair: leave a storage directory that is gone as it is (a
	 * scheduled scrub must not take an unmounted disk's mount point for
	 * the disk); its fragments stay missing, reported. 0: recreate it. */
	int keep_missing_dirs;
	uint64_t max_bytes_per_sec;	/* read at most this fast; 0: no limit */
	/* Called after every container with the running report. */
	void (*progress)(void *arg, const store_scrub_report *r);
	void *progress_arg;
	/* Called with every segment that hashed right as first decoded, its
	 * raw bytes valid only during the call: a caller that checks files'
	 * trees next keeps the metadata segments rather than read their
	 * containers a second time. May be NULL. */
	void (*segment)(void *arg, const fp_t *fp, const uint8_t *raw,
			uint32_t raw_len);
	void *segment_arg;
	/* Set (by another thread or a signal) to stop between containers. */
	const volatile sig_atomic_t *cancel;
} store_scrub_opts;

/* Scrub every container sealed when the call begins. r is zeroed first
 * and filled as it goes, also on failure. Returns 0 when the walk is done
 * (whatever it found: see store_scrub_clean), -ECANCELED if cancelled,
 * -EBUSY if another scrub is running, or the index's error. */
int store_scrub(store *s, const store_scrub_opts *o, store_scrub_report *r);

/* 1 if the scrub left nothing wrong behind (everything it found it
 * repaired), else 0. */
int store_scrub_clean(const store_scrub_report *r);

/* A one-paragraph human summary into buf (cap bytes); returns buf. */
char *store_scrub_summary(const store_scrub_report *r, char *buf, size_t cap);

void store_scrub_report_free(store_scrub_report *r);

/* The fingerprints of sealed container cid, in slot order, from its index
 * record (no fragment is read, so this works for an unrecoverable
 * container). A non-zero return from cb stops and is returned. -ENOENT if
 * the container is not indexed. */
int store_ctr_fps(store *s, uint64_t cid,
		  int (*cb)(void *arg, const fp_t *fp), void *arg);

#endif
