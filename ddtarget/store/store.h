/* store.h - the segment store: each segment kept once, compressed, named by
 * the SHA-256 of its raw bytes (checked before a new one is trusted), in
 * containers erasure-coded over several disks. All calls are thread-safe.
 * Cleaning, scrub, checkpoints, the directories and the journals' mishaps
 * have headers of their own: store_gc.h, store_scrub.h, store_ckpt.h,
 * store_dirs.h, store_journal.h. */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"
#include "fp.h"

#define STORE_MAX_DIRS		16	/* = EC_MAX_FRAGS */
#define STORE_READ_CACHE_DEFAULT 64	/* decoded containers kept */
#define STORE_REGION_CODEC_DEFAULT DDT_CODEC_ZSTD
#define STORE_REGION_LEVEL_DEFAULT 1
#define STORE_REGION_SIZE_DEFAULT (256u * 1024)
#define STORE_CKPT_KEEP_DEFAULT	7
#define STORE_INDEX_DIR		"index"	/* the index: root/index */
#define STORE_CKPT_DIR		"checkpoints"	/* by default, root/checkpoints */
/* A new store's erasure code when none is given: data directories on
 * separate file systems get the spread code; all on one file system get
 * the shared one (over fewer directories if fewer are named: n-1 + 1). */
#define STORE_EC_SPREAD_K	4
#define STORE_EC_SPREAD_M	2
#define STORE_EC_SHARED_K	8
#define STORE_EC_SHARED_M	1

typedef struct store store;
typedef struct store_lock store_lock;
struct idx;

typedef struct store_config {
	const char *root;	/* index/ and journal/ live here */
	/* One directory per disk, at least k + m (none: root/data/dirN);
	 * each container's fragments rotate over k + m of them. */
	const char *dirs[STORE_MAX_DIRS];
	int ndirs;
	/* 0: as created; if new, the default below (store_geo.c). 1 + 0:
	 * one disk. */
	int k, m;
	uint32_t container_size;	/* bytes; CTR_SIZE_DEFAULT */
	uint64_t bloom_capacity;	/* fingerprints before the filter grows */
	size_t cache_containers;	/* locality cache, in containers */
	size_t read_cache_containers;	/* at least a restore's streams */
	/* Compression regions at sealing (ctrpack.h): a codec id (0 keeps
	 * every segment as the writer compressed it alone), its level (0:
	 * the codec's default), and the raw bytes of a region. */
	int region_codec;		/* STORE_REGION_CODEC_DEFAULT */
	int region_level;		/* STORE_REGION_LEVEL_DEFAULT */
	uint32_t region_size;		/* STORE_REGION_SIZE_DEFAULT */
	/* New segments are refused ("store full") while a disk has less free
	 * space than this, so that sealing, the index and recovery have room.
	 * 0: the seal queue plus 1% of the disk, at most 1 GiB of it. */
	uint64_t reserve_bytes;
	const char *checkpoint_dir;	/* NULL: root/STORE_CKPT_DIR */
	int checkpoint_keep;		/* 0: STORE_CKPT_KEEP_DEFAULT */
} store_config;

void store_config_default(store_config *c, const char *root);

/* The owner of a store (one process, one handle at a time) takes its
 * root's lock (-EBUSY if taken; the root is made if missing), opens the
 * index (idx_open of root/STORE_INDEX_DIR, which also holds the namespace
 * and the users), hands it to store_open (and ns_open), and closes them
 * in the reverse order. The lock comes first: an offline restore swaps
 * the index directory under it. */
int store_lock_take(store_lock **out, const char *root);
void store_lock_release(store_lock *lk);

/* Open or create the store on index ix (which store_close leaves open).
 * Its geometry is fixed: another k, m or directory count is refused, with
 * what it was made with. The journals are replayed: all that put
 * acknowledged before a crash is there. 0 or -errno and a ddterr message,
 * as every call. */
int store_open(store **out, const store_config *cfg, struct idx *ix);
/* Make everything durable and free the store (also on error: the first
 * met is returned). */
int store_close(store *s);

/* What a lookup that finds a segment protects from a running clean: told
 * writers they need not send it (STORE_PIN_TOLD: kept until the clean after
 * next), checked a tree about to be committed (STORE_PIN_COMMIT: kept while
 * the clean runs), or told nobody anything, as a scrub (STORE_PIN_NONE). */
typedef enum store_pin {
	STORE_PIN_TOLD,
	STORE_PIN_COMMIT,
	STORE_PIN_NONE,
} store_pin;

/* For each of fps[0..n): present[i] = 1 if held, else 0 (pinned TOLD); or
 * raw_len[i], 0 if absent (pinned as pin says). The Bloom filter answers
 * most new fingerprints, the locality cache most old ones, the index the
 * rest, in one hold of the lock. */
int store_has(store *s, const fp_t *fps, size_t n, uint8_t *present);
int store_lookup(store *s, const fp_t *fps, size_t n, store_pin pin,
		 uint32_t *raw_len);

typedef struct store_seg {
	fp_t fp;		/* SHA-256 of the raw bytes */
	int codec;		/* enum codec_id of the stored form */
	uint32_t raw_len, stored_len;
	const void *data;	/* stored_len bytes */
} store_seg;

/* Store a batch: segments held already are skipped; the new are durable
 * when it returns 0 (*out_new, may be NULL, counts them). Fields that do
 * not fit together are -EINVAL, bytes that do not decode and hash to their
 * name -EBADMSG; then nothing of the batch is stored. New segments are
 * -ENOSPC ("store full") while a disk is within its reserve. After -ENOSPC
 * or -EIO, what could not be made durable is not stored. */
int store_put(store *s, const store_seg *segs, size_t n, size_t *out_new);
/* store_put() that also says how many raw and stored bytes the segments
 * it found new hold (what a target's ingest counters count). */
typedef struct store_put_new {
	size_t segs;
	uint64_t raw_bytes, stored_bytes;
} store_put_new;
int store_put_tally(store *s, const store_seg *segs, size_t n,
		    store_put_new *out);
/* store_put_tally() that checks every segment's bytes against its
 * fingerprint, those it holds already too: for a writer who must prove
 * it holds what it names (a tenant's SEG_PUT, the daemon's dset.h). */
int store_put_proving(store *s, const store_seg *segs, size_t n,
		      store_put_new *out);

/* fn sees a segment's stored form where it lies (read cache, or the open
 * container under the store's lock: be quick, do not call the store);
 * returns fn's return, -ENOENT, or -EIO if its container is unreadable. */
typedef int (*store_seg_fn)(void *arg, int codec, uint32_t raw_len,
			    const void *data, uint32_t stored_len);
int store_peek(store *s, const fp_t *fp, store_seg_fn fn, void *arg);
/* The raw bytes, decoded and checked, into buf (cap bytes): *out_len;
 * -ENOBUFS, -ENOENT, -EIO, -EBADMSG. */
int store_read(store *s, const fp_t *fp, void *buf, size_t cap,
	       size_t *out_len);

/* Seal the open container now (normally it is sealed when full). */
int store_flush(store *s);
/* Wait until every segment store_has() reports is durable (another
 * writer's may be on their way); a commit calls this first. */
int store_barrier(store *s);

typedef struct store_stats {
	uint64_t logical_bytes;	 /* raw bytes offered to put, duplicates too */
	uint64_t raw_bytes;	 /* raw bytes of the distinct segments held */
	uint64_t stored_bytes;	 /* the same, as stored (after compression) */
	uint64_t physical_bytes; /* on the disks: fragments with parity */
	uint64_t segments, containers;	/* distinct; sealed */
	uint64_t open_segments;	 /* segments not sealed yet */
	uint64_t index_lookups;	 /* lookups that reached RocksDB */
	uint64_t bloom_negatives; /* lookups the Bloom filter answered */
	uint64_t cache_hits;	 /* lookups the locality cache answered */
	uint64_t fragments_rebuilt; /* reads that needed erasure decoding */
	/* Since open: sealed containers read for reads (once while cached),
	 * those read ahead of a restore, those sealed without a missing
	 * disk's fragments, and journals written in one copy only. */
	uint64_t containers_read, containers_read_ahead;
	uint64_t degraded_containers, journals_unmirrored;
} store_stats;

int store_get_stats(store *s, store_stats *out);
void store_geometry(const store *s, int *out_k, int *out_m, int *out_ndirs);

/* Why the store has its erasure code: decided once, at creation, and kept
 * in its index (a store made before that is UNRECORDED). */
typedef enum store_ec_origin {
	STORE_EC_UNRECORDED = 0,
	STORE_EC_GIVEN,		/* the configuration named k and m */
	STORE_EC_ONE_FS,	/* default: data directories on one file system */
	STORE_EC_SEPARATE_FS,	/* default: on separate file systems */
} store_ec_origin;

store_ec_origin store_geometry_origin(const store *s);
/* "given", "one-filesystem", "separate-filesystems", "unrecorded". */
const char *store_ec_origin_name(store_ec_origin o);
/* One line for administrators: why the code is what it is. */
void store_geometry_why(const store *s, char *buf, size_t cap);

#endif
