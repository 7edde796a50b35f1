/* idx.h - the store's metadata in RocksDB: fingerprint -> (container,
 * slot), one record per sealed container, and a few store-wide values.
 *
 * Column families: "fp" (key: the 32-byte fingerprint; value: cid u64le,
 * slot u32le), "ctr" (key: cid u64be, so containers sort in the order they
 * were written; value: the record below), and "default" for named values
 * (geometry, next_cid, stats). A container becomes visible in one synced
 * write batch that holds its record, all its fingerprints and the new
 * store-wide counters: the index never knows half a container. */
#ifndef IDX_H
#define IDX_H

#include <stddef.h>
#include <stdint.h>

#include "ctr.h"
#include "fp.h"

typedef struct idx idx;

/* A sealed container as the index records it. */
typedef struct idx_ctr {
	uint64_t cid;
	uint8_t k, m;
	uint32_t frag_len;	/* bytes of payload per fragment */
	uint32_t container_len;	/* serialized container, before padding */
	uint32_t nseg;
	uint32_t data_len;	/* the segments' bytes in the container */
	uint64_t raw_bytes, stored_bytes;
	ctr_entry *ents;	/* nseg entries, malloc'd by idx_get_ctr */
} idx_ctr;

/* Open or create the index at path with a block cache of cache_mb MiB
 * (0: 64). 0, -EBUSY (another process has it), or -EIO with a ddterr
 * message. */
int idx_open(idx **out, const char *path, size_t cache_mb);
void idx_close(idx *x);

/* 1 and the location if fp is indexed, 0 if not, -EIO. */
int idx_get_fp(idx *x, const fp_t *fp, uint64_t *out_cid, uint32_t *out_slot);

/* A container's record with (want_dir) or without its directory.
 * 0, -ENOENT, -EBADMSG for a damaged record, -EIO, -ENOMEM. */
int idx_get_ctr(idx *x, uint64_t cid, int want_dir, idx_ctr *out);
void idx_ctr_free(idx_ctr *c);

/* A named value of exactly len bytes: 0, -ENOENT, -EBADMSG (other length),
 * -EIO. */
int idx_get_value(idx *x, const char *name, void *buf, size_t len);
/* A named value of any length, malloc'd into *out (free()). 0, -ENOENT,
 * -EIO. */
int idx_get_blob(idx *x, const char *name, void **out, size_t *out_len);
/* Write a named value durably. */
int idx_put_value(idx *x, const char *name, const void *buf, size_t len);

/* Make container c and its fingerprints visible, and set the named values
 * names[i] = vals[i] (lens[i] bytes), in one atomic batch. The batch is
 * not yet durable: after a crash the index may come back without the last
 * few seals (never with a part of one) until idx_sync() returns. */
int idx_seal(idx *x, const idx_ctr *c, int nvals, const char *const *names,
	     const void *const *vals, const size_t *lens);

/* Make every earlier write durable. */
int idx_sync(idx *x);

/* Call cb for every sealed container from cid start on, in cid order, with
 * its record: want_dir 1 with its directory, 0 the head alone, -1 only the
 * cid (a damaged record does not stop that scan). The record is freed
 * after the call. A non-zero return stops the scan and is returned. */
typedef int (*idx_ctr_cb)(void *arg, const idx_ctr *c);
int idx_foreach_ctr(idx *x, uint64_t start, int want_dir, idx_ctr_cb cb,
		    void *arg);

/* Rewrite a sealed container's record (its directory's moved marks);
 * not synced. */
int idx_put_ctr(idx *x, const idx_ctr *c);

/* Forget containers cids[0..ncids) and the fingerprints fps[0..nfps) (the
 * caller's to choose: those still located in them), and set the named
 * values, in one synced batch: after a crash the index knows all of the
 * containers or none. */
int idx_drop(idx *x, const uint64_t *cids, size_t ncids, const fp_t *fps,
	     size_t nfps, int nvals, const char *const *names,
	     const void *const *vals, const size_t *lens);

/* ---- generic key/value access, for the layers above the store ----
 * The namespace and the users live in the same RocksDB as the segment
 * index, so that one checkpoint captures all of it consistently; so do
 * the domains' segment sets (IDX_DSEG: which segments each tenant has
 * proved it holds, the daemon's dset.h). */
enum idx_space { IDX_NS = 0, IDX_USERS = 1, IDX_DSEG = 2, IDX_TOKENS = 3 };

/* The value of key in space, malloc'd into *out (free()). 0, -ENOENT, -EIO. */
int idx_kv_get(idx *x, int space, const void *key, size_t klen, void **out,
	       size_t *out_len);

/* Whether each of n keys of space is there: present[i] 1 or 0, in one
 * RocksDB MultiGet. 0, -ENOMEM or -EIO. */
int idx_kv_has_many(idx *x, int space, const void *const *keys,
		    const size_t *klens, size_t n, uint8_t *present);

/* A set of puts and deletes applied atomically by idx_batch_write(). */
typedef struct idx_batch idx_batch;
int idx_batch_new(idx_batch **out);
void idx_batch_put(idx_batch *b, int space, const void *key, size_t klen,
		   const void *val, size_t vlen);
void idx_batch_del(idx_batch *b, int space, const void *key, size_t klen);
/* Apply it; sync: durable before returning. The batch stays the caller's. */
int idx_batch_write(idx *x, idx_batch *b, int sync);
/* One put (val not NULL) or delete (val NULL) of key in space, durable
 * before it returns. 0 or -errno. */
int idx_kv_write_one(idx *x, int space, const void *key, size_t klen,
		     const void *val, size_t vlen);
void idx_batch_free(idx_batch *b);

/* Call cb for every key in space that starts with prefix, in byte order,
 * from the first key >= start (start, if not NULL, begins with prefix). A non-zero return from
 * cb stops the scan and is returned (a positive one as "stopped early"). */
typedef int (*idx_kv_cb)(void *arg, const uint8_t *key, size_t klen,
			 const uint8_t *val, size_t vlen);
int idx_kv_scan(idx *x, int space, const void *prefix, size_t plen,
		const void *start, size_t slen, idx_kv_cb cb, void *arg);

/* Call cb for every indexed fingerprint; a non-zero return stops. */
typedef int (*idx_fp_cb)(void *arg, const fp_t *fp, uint64_t cid,
			 uint32_t slot);
int idx_foreach_fp(idx *x, idx_fp_cb cb, void *arg);

/* ---- sealed containers in cid order, for scrub ----
 * Up to max cids of sealed containers, each >= from, ascending, into out;
 * *out_n is how many (fewer than max: there are no more). Read in chunks
 * so a long walk never holds one RocksDB iterator (and the files it pins)
 * for its whole length, and sees containers sealed or deleted meanwhile. */
int idx_ctr_list(idx *x, uint64_t from, uint64_t *out, size_t max,
		 size_t *out_n);
/* What the index holds in memory and on disk, in bytes, as RocksDB counts
 * it (every column family): its block cache (capacity, usage, and the part
 * pinned by readers), the memtables, the table readers' own memory (index
 * and filter blocks that live outside the block cache), and the SST files. */
typedef struct idx_mem {
	uint64_t cache_capacity, cache_usage, cache_pinned;
	uint64_t memtables, table_readers, sst_bytes;
} idx_mem;
int idx_mem_figures(idx *x, idx_mem *out);

/* ---- checkpoints and their reconciliation (store_ckpt.c) ---- */

/* A consistent copy of the whole index (every column family) in dir, which
 * must not exist yet: the memtables are flushed first, so the copy stands
 * alone. SST files are hard-linked where dir shares the file system, else
 * copied. The index keeps serving meanwhile. 0 or -EIO with a message. */
int idx_checkpoint(idx *x, const char *dir);

/* Call cb with the id of every container record, in id order; a non-zero
 * return stops the scan and is returned. */
typedef int (*idx_cid_cb)(void *arg, uint64_t cid);
int idx_foreach_cid(idx *x, idx_cid_cb cb, void *arg);

/* Remove container cid's record, and those of its fingerprints that the
 * index still maps to it, in one batch (durable at the next idx_sync).
 * *out_segs, *out_raw, *out_stored (may be NULL) are what the removed
 * fingerprints held, so that counters can follow. 0, -ENOENT, -EIO. */
int idx_drop_ctr(idx *x, uint64_t cid, uint64_t *out_segs, uint64_t *out_raw,
		 uint64_t *out_stored);

/* Index a container found on disk, like idx_seal() without the named
 * values, except that a fingerprint the index maps to another container
 * that it still records keeps its mapping: the container is indexed, not
 * made the owner of segments someone else holds. *out_segs, *out_raw,
 * *out_stored (may be NULL) are what the fingerprints it now owns hold. */
int idx_adopt_ctr(idx *x, const idx_ctr *c, uint64_t *out_segs,
		  uint64_t *out_raw, uint64_t *out_stored);

#endif
