/* store.h - the segment store: what the rest of ddtarget sees of containers,
 * erasure coding and the fingerprint index.
 *
 * Segments go in compressed (as the segmenter's codec made them) and are
 * named by the SHA-256 of their raw bytes. The store re-hashes every segment
 * before it trusts it, so a client cannot file bytes under another's name.
 * All calls are thread-safe; put verifies and get decodes outside the store's
 * lock, so callers on several threads use several cores. */
#ifndef STORE_H
#define STORE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define STORE_MAX_DIRS 16	/* = EC_MAX_FRAGS */

typedef struct store store;

/* Decoded containers the read cache keeps: up to one container's size of
 * memory each (4 MiB by default). Fewer than a restore's streams in flight
 * make them read containers again and again. */
#define STORE_READ_CACHE_DEFAULT 64

typedef struct store_config {
	const char *root;	/* index/ and journal/ live here */
	/* One directory per disk. None given: root/data/dir0 .. dir{k+m-1}.
	 * At least k + m; each container's fragments go to k + m distinct
	 * directories, rotating so that parity is spread over all of them. */
	const char *dirs[STORE_MAX_DIRS];
	int ndirs;
	/* 0: what the store was created with, 4 + 2 for a new store.
	 * 1 + 0 is one disk. */
	int k, m;
	uint32_t container_size;	/* bytes; CTR_SIZE_DEFAULT */
	uint64_t bloom_capacity;	/* fingerprints before the filter grows */
	size_t cache_containers;	/* locality cache, in containers */
	size_t read_cache_containers;	/* decoded containers kept for reads;
					   STORE_READ_CACHE_DEFAULT */
	/* New segments are refused ("store full") while a disk has less
	 * free space than this, so that sealing, the index and recovery
	 * always have room. 0: room for the seal queue plus 1% of the disk,
	 * at most 1 GiB of it. */
	uint64_t reserve_bytes;
	/* Where store_checkpoint() keeps checkpoints (NULL: root/checkpoints;
	 * better on another disk than the index), and how many (0: 7). */
	const char *checkpoint_dir;
	int checkpoint_keep;
} store_config;

/* The defaults, for a store under root. */
void store_config_default(store_config *c, const char *root);

/* Open or create a store. A store remembers its geometry: reopening with
 * another k, m or directory count is refused with a message saying what it
 * was created with (k = 0 takes it as created). -EBUSY if another process
 * has it open. The open container's log is replayed, so everything a
 * put acknowledged before a crash is there again. Returns 0 or -errno with a
 * ddterr message. */
int store_open(store **out, const store_config *cfg);

/* Make everything durable (the open container stays in its log) and free
 * the store. Returns the first error met; the store is freed regardless. */
int store_close(store *s);

/* One segment as a writer hands it over. */
typedef struct store_seg {
	fp_t fp;		/* SHA-256 of the raw bytes */
	int codec;		/* enum codec_id of the stored form */
	uint32_t raw_len;
	uint32_t stored_len;
	const void *data;	/* stored_len bytes */
} store_seg;

/* For each of fps[0..n), present[i] = 1 if the store holds it, else 0. This
 * is the dedup hot path: the Bloom filter answers most new fingerprints and
 * the locality cache most old ones; only the rest reach the index. */
int store_has(store *s, const fp_t *fps, size_t n, uint8_t *present);

/* How a lookup protects what it finds while a clean runs. A store_has
 * answer (like a duplicate in store_put) tells a writer it need not send a
 * segment, so cleaning protects such segments until the clean after next
 * (STORE_PIN_TOLD); a commit checking that a file's tree is all there
 * protects them only while a clean runs, since once committed the file
 * itself keeps them (STORE_PIN_COMMIT); a check that tells nobody they may
 * skip a segment, a scrub's, protects nothing (STORE_PIN_NONE). */
typedef enum store_pin {
	STORE_PIN_TOLD,
	STORE_PIN_COMMIT,
	STORE_PIN_NONE,
} store_pin;

/* For each of fps[0..n), raw_len[i] = the raw length of the segment if the
 * store holds it, else 0: store_has's lookup (the Bloom filter, the
 * locality cache, the index, one batch under one lock) with the figure a
 * tree check compares with what the segment's parent says of it. */
int store_lookup(store *s, const fp_t *fps, size_t n, store_pin pin,
		 uint32_t *raw_len);

/* Store a batch. Each new segment's fields are checked (a codec, raw_len
 * and stored_len that do not fit together are -EINVAL), then it is
 * decompressed and hashed (bytes that do not decompress to raw_len, or do
 * not hash to the fingerprint, are -EBADMSG); if any fails, nothing of the
 * batch is stored and the message names it. Segments already present are skipped; new
 * ones are refused with -ENOSPC ("store full") while a disk is within its
 * reserve of full, before it actually is. When
 * put returns 0 every segment of the batch is durable. *out_new (may be
 * NULL) is how many were new. On an I/O error (-ENOSPC, -EIO) the segments
 * that could not be made durable are not stored, and the store stays
 * consistent and usable. */
int store_put(store *s, const store_seg *segs, size_t n, size_t *out_new);

/* The stored form of a segment, without a copy: fn sees its codec,
 * lengths and stored bytes where they lie (in the read cache, or the open
 * container under the store's lock: fn must be quick and must not call the
 * store). Returns fn's return; -ENOENT if absent; -EIO with a message if
 * its container cannot be read even with erasure coding. */
typedef int (*store_seg_fn)(void *arg, int codec, uint32_t raw_len,
			    const void *data, uint32_t stored_len);
int store_peek(store *s, const fp_t *fp, store_seg_fn fn, void *arg);

/* The raw bytes of a segment, decompressed and checked against the
 * fingerprint, into buf (cap bytes); *out_len is its length. -ENOBUFS if
 * cap is too small, -ENOENT, -EIO, -EBADMSG. */
int store_read(store *s, const fp_t *fp, void *buf, size_t cap,
	       size_t *out_len);

/* Seal the open container now (normally it is sealed when full). */
int store_flush(store *s);

typedef struct store_stats {
	uint64_t logical_bytes;	 /* raw bytes offered to put, duplicates too */
	uint64_t raw_bytes;	 /* raw bytes of the distinct segments held */
	uint64_t stored_bytes;	 /* the same, as stored (after compression) */
	uint64_t physical_bytes; /* on the disks: fragments with parity */
	uint64_t segments;	 /* distinct segments */
	uint64_t containers;	 /* sealed containers */
	uint64_t open_segments;	 /* segments in the open container */
	uint64_t index_lookups;	 /* lookups that reached RocksDB */
	uint64_t bloom_negatives; /* lookups the Bloom filter answered */
	uint64_t cache_hits;	 /* lookups the locality cache answered */
	uint64_t fragments_rebuilt; /* reads that needed erasure decoding */
	uint64_t containers_read; /* sealed containers read from disk for
				     reads (once each while they stay in
				     the read cache), since open */
	uint64_t containers_read_ahead; /* of those, read before a reader
					   asked (a restore streaming) */
	uint64_t degraded_containers; /* sealed without the fragments of a
					 missing disk, since open */
	uint64_t journals_unmirrored; /* journals written in one copy only
					 (no data directory could take the
					 second, or it failed), since open */
} store_stats;

int store_get_stats(store *s, store_stats *out);

/* The RocksDB index the store keeps its metadata in; the namespace and
 * the users live there too (index.h's key/value calls). */
struct idx *store_index(store *s);

/* Wait until every segment that store_has() reports present is durable
 * (segments another writer staged may still be on their way to disk).
 * A commit that binds a file to segments calls this first. */
int store_barrier(store *s);

/* The store's geometry, for status displays. */
void store_geometry(const store *s, int *out_k, int *out_m, int *out_ndirs);

/* ---- cleaning (store_gc.c) ----
 * The store's half of garbage collection; the cleaner (engine/clean.h)
 * decides what is live. Between store_gc_begin() and store_gc_end() every
 * fingerprint a lookup reports present (store_has; store_lookup, unless
 * with STORE_PIN_NONE; a duplicate in store_put) is pinned: a writer told
 * "the target has it" may commit a file that needs it, so it is never dropped
 * in this clean. What writers were told since the previous clean began is
 * kept too (a Bloom filter), so that a backup deduplicating just before a
 * clean starts does not have to send its segments again. Only
 * containers sealed before the clean began (cid < boundary) are looked at.
 * A segment is live if the cleaner's live() says so or it is pinned; a
 * container's live segments are copied forward (appended to the open
 * container like new writes, durably) before the container is dropped. */
typedef int (*store_live_fn)(void *arg, const fp_t *fp);

typedef struct store_gc_ctr {
	uint64_t cid;
	uint32_t nseg, live_segs;	/* live: and indexed in this container */
	uint64_t stored_bytes, live_bytes; /* segments' bytes as stored */
	uint64_t physical_bytes;	/* its fragments on disk */
} store_gc_ctr;

/* Start pinning; *out_boundary is the first cid not yet sealed. -EBUSY if
 * a clean is running already. */
int store_gc_begin(store *s, uint64_t *out_boundary);
/* Stop pinning (also after a failed clean). */
void store_gc_end(store *s);

/* Call cb with the figures of every sealed container below boundary. */
typedef int (*store_gc_ctr_cb)(void *arg, const store_gc_ctr *c);
int store_gc_scan(store *s, uint64_t boundary, store_live_fn live,
		  void *larg, store_gc_ctr_cb cb, void *arg);

/* Copy container cid's live segments forward; *out_bytes (stored bytes)
 * copied. Durable on return. */
int store_gc_forward(store *s, uint64_t cid, store_live_fn live, void *larg,
		     uint64_t *out_bytes);

typedef struct store_gc_drop_report {
	uint32_t dropped, kept;		/* kept: a segment was pinned meanwhile */
	uint64_t segments, physical_bytes;	/* removed */
} store_gc_drop_report;

/* Seal what was copied forward, then remove containers cids[0..n) from the
 * index in one synced batch and delete their fragments. A container that
 * still holds a live or pinned segment that was not copied forward is
 * kept (counted in kept), never dropped. */
int store_gc_drop(store *s, const uint64_t *cids, size_t n,
		  store_live_fn live, void *larg, store_gc_drop_report *out);

/* Delete fragment files of containers below boundary that the index does
 * not know (a crash between a drop and its unlinks leaves them);
 * *out_files, *out_bytes removed. */
int store_gc_orphans(store *s, uint64_t boundary, uint64_t *out_files,
		     uint64_t *out_bytes);
/* ---- scrub and repair ----
 * A scrub reads every fragment of every sealed container and checks its
 * CRCs, rebuilds what is missing or damaged from the others (erasure
 * coding) and rewrites it atomically, re-hashes every segment against its
 * fingerprint, re-encodes parity to catch parity damaged behind a good
 * CRC, and checks that every segment is indexed. It runs online, beside
 * writers, readers and the cleaner, without holding the store's lock over
 * any I/O; containers the cleaner deletes meanwhile are skipped. */

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

/* ---- directory health and capacity ---- */

typedef struct store_dir_info {
	const char *path;	/* valid until store_close */
	int index;		/* data directory index, -1: the root (index,
				   journal) */
	int present;		/* a readable directory with this store's
				   identity marker (.ddtarget) */
	const char *problem;	/* why not present; "" when present */
	/* Its file system as df -B1 shows it (0 when the directory is
	 * missing): size f_blocks, used f_blocks - f_bfree, free (available
	 * to the store) f_bavail, all times f_frsize; used_pct is
	 * used / (used + free) in percent, rounded up. Blocks reserved for
	 * root count as neither used nor free. */
	uint64_t total_bytes, used_bytes, free_bytes;
	int used_pct;
	uint64_t fsid;		/* equal for directories sharing a file system
				   (st_dev) */
} store_dir_info;

#define STORE_DIR_INFO_MAX (STORE_MAX_DIRS + 1)

/* How many of the store's directories (root, index, journal, data,
 * checkpoints) store_open() found open to other users and closed to them
 * (0700), for a store made when they were 0755; 0 if none was. */
int store_dirs_tightened(const store *s);

/* The root and every data directory, in that order. *n holds the room in
 * out on entry (STORE_DIR_INFO_MAX is always enough) and the count on
 * return; -ENOBUFS if there is too little room. No lock is taken. */
int store_dir_status(store *s, store_dir_info *out, int *n);

/* The data directories' space: the file systems of those present in d
 * (from store_dir_status), each counted once however many of them it
 * holds; used_pct as df computes it from the sums. The root's file
 * system counts only if a data directory is on it. */
typedef struct store_space {
	uint64_t total_bytes, used_bytes, free_bytes;
	int used_pct;
	int filesystems;
} store_space;

void store_data_space(const store_dir_info *d, int n, store_space *out);

/* The bytes the store's own files take on disk, as du -sB1 counts them
 * (allocated blocks; a file linked from several places once, where it is
 * met first, in this order): the index (RocksDB), the journals of the
 * open containers (with the spare ones made ready), and the checkpoints
 * (what they do not share with the index). Fragments are not in it.
 * Returns 0 or -ENOMEM. */
typedef struct store_footprint_info {
	uint64_t index_bytes, journal_bytes, checkpoint_bytes;
	uint64_t total_bytes;		/* their sum */
} store_footprint_info;

int store_footprint(store *s, store_footprint_info *out);
/* ---- checkpoints (store_ckpt.c) ----
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

#define STORE_CKPT_KEEP_DEFAULT	7
#define STORE_CKPT_NAME_MAX	64	/* with the NUL */
#define STORE_CKPT_DIR		"checkpoints"	/* under the root, by default */

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
int store_restore_checkpoint(const store_config *cfg, const char *ckdir,
			     const char *name, store_restore_report *r);

/* The report as "key: value" lines for a person, into buf (cap bytes,
 * always NUL-terminated), so every tool prints it alike. */
void store_restore_report_format(const store_restore_report *r, char *buf,
				 size_t cap);

#endif
