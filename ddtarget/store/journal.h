/* journal.h - the write-ahead log of the open container.
 *
 * A put is acknowledged only after its segments are in this log and the log
 * is fsynced; the index learns of a segment only when its container is
 * sealed. So after a crash the index never points at bytes that were not
 * written, and replaying the log rebuilds the open container exactly.
 *
 * File layout, little-endian: a 16-byte header (magic "DDTJNL02", cid u64),
 * then records:
 *    0 magic u32 0x4745534a ("JSEG")   4 stored_len u32   8 raw_len u32
 *   12 codec u8, reserved (3)          16 fingerprint (32)
 *   48 crc32c u32 over the cid (u64), bytes 0..47 and the data
 *   52 data (stored_len)
 * Replay stops at the first record that is short or fails its CRC (a batch
 * torn by a crash was never acknowledged, and a recycled file's old records
 * belong to another cid) and truncates the log there. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

typedef struct jnl jnl;

/* Create a new, empty log for container cid at path (durably: file and
 * directory fsynced). spare, if not NULL, is an old journal to recycle: it
 * is renamed to path, and its blocks are written over instead of
 * allocated anew; a new file gets prealloc bytes of blocks reserved (0:
 * none). Returns 0 or -errno with a ddterr message; on failure neither
 * path nor (if it was renamed) the spare remains. */
int jnl_create(jnl **out, const char *path, uint64_t cid, const char *spare,
	       uint64_t prealloc);

/* Reopen an existing log after replay, to append to it. */
int jnl_reopen(jnl **out, const char *path, uint64_t cid, uint64_t tail);

/* Stage one record in memory; nothing is written until a sync. The
 * record is durable once jnl_sync(j, *out_ticket) returns 0 (out_ticket
 * may be NULL). -EIO (or the failed write's error) once the journal is
 * broken. Thread-safe, like everything here. */
int jnl_add(jnl *j, const fp_t *fp, int codec, uint32_t raw_len,
	    const void *data, uint32_t stored_len, uint64_t *out_ticket);

/* Wait until everything up to ticket is durable, writing (one pwrite, one
 * fsync) whatever is staged if no other thread is already doing so: group
 * commit. A failed write breaks the journal for good: its tail is cut back
 * to the last durable record, records staged after it are dropped, and
 * every later add and sync past that point fails with the write's error.
 * Returns 0 when the ticket is durable. */
int jnl_sync(jnl *j, uint64_t ticket);

/* Sync everything staged so far. */
int jnl_commit(jnl *j);

/* Bytes staged and not yet written. */
size_t jnl_pending(jnl *j);

/* How many records (of all ever added) are durable; whether it broke. */
uint32_t jnl_durable_records(jnl *j);
int jnl_broken(jnl *j);

/* Another reference: a writer that syncs after the store has moved on
 * keeps the journal alive. jnl_close() drops one; the last frees. */
jnl *jnl_ref(jnl *j);
void jnl_close(jnl *j);

typedef int (*jnl_replay_cb)(void *arg, const fp_t *fp, int codec,
			     uint32_t raw_len, const void *data,
			     uint32_t stored_len);

/* Read a log: *out_cid is its container, cb is called for every intact
 * record in order (a non-zero return stops replay and is returned), a torn
 * tail is truncated away, and *out_tail is the offset after the last good
 * record. -EBADMSG if the header itself is bad. */
int jnl_replay(const char *path, uint64_t *out_cid, jnl_replay_cb cb,
	       void *arg, uint64_t *out_tail);

/* Whether journals opened from now on write with O_DIRECT where the file
 * system allows (1, the default) or through the page cache (0). With it,
 * a group write is padded to whole blocks, so the file may run up to a
 * block past the last record until replay cuts it; tests of the exact
 * layout turn it off. */
void jnl_set_direct(int on);

#endif
