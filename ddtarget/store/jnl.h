/* jnl.h - the write-ahead log of the open container, kept in copies.
 *
 * A put is acknowledged only after its segments are in this log and the log
 * is fsynced; the index learns of a segment only when its container is
 * sealed. So after a crash the index never points at bytes that were not
 * written, and replaying the log rebuilds the open container exactly.
 *
 * The log is the only home of acknowledged data until its container is
 * sealed, so it is written twice, to two files on two disks (the store puts
 * the first under its root and the second in a data directory): every group
 * write goes to both at the same offset, and the copies stay identical
 * byte for byte. One bad sector, one flipped bit, or a lost disk then
 * costs nothing: replay reads each record from whichever copy holds it
 * whole. A copy whose disk fails during a write is dropped, and the log
 * goes on with the others; the first copy failing breaks the log.
 *
 * File layout, little-endian: a 16-byte header (magic "DDTJNL02", cid u64),
 * then records:
 *    0 magic u32 0x4745534a ("JSEG")   4 stored_len u32   8 raw_len u32
 *   12 codec u8, reserved (3)          16 fingerprint (32)
 *   48 crc32c u32 over the cid (u64), bytes 0..47 and the data
 *   52 data (stored_len)
 * The CRC is seeded with the container id, so the records a recycled file
 * still holds from an older container never pass for this one's. */
#ifndef JNL_H
#define JNL_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define JNL_COPIES	2	/* at most; a store writes two */
#define JNL_HDR_LEN	16
#define JNL_REC_HDR	52

typedef struct jnl jnl;

/* Where one copy goes: its path, and an old journal to recycle there (or
 * NULL). A spare is renamed to path and written over instead of new blocks
 * being allocated. */
typedef struct jnl_place {
	const char *path;
	const char *spare;
} jnl_place;

/* Create a new, empty log for container cid in pl[0..n) (durably: files
 * and directories fsynced); a new file gets prealloc bytes of blocks
 * reserved (0: none). A spare that cannot be used is left for a fresh
 * file. The first copy must be made; a later one that cannot be is left
 * out (jnl_copies() says how many were made), leaving no file behind.
 * Returns 0 or -errno with a ddterr message; on failure no path remains. */
int jnl_create(jnl **out, const jnl_place *pl, int n, uint64_t cid,
	       uint64_t prealloc);

/* Reopen an existing log after a replay that found every copy whole, to
 * append to its copies paths[0..n) from tail. */
int jnl_reopen(jnl **out, const char *const *paths, int n, uint64_t cid,
	       uint64_t tail);

/* Stage one record in memory; nothing is written until a sync. The
 * record is durable once jnl_sync(j, *out_ticket) returns 0 (out_ticket
 * may be NULL). -EIO (or the failed write's error) once the journal is
 * broken. Thread-safe, like everything here. */
int jnl_add(jnl *j, const fp_t *fp, int codec, uint32_t raw_len,
	    const void *data, uint32_t stored_len, uint64_t *out_ticket);

/* Wait until everything up to ticket is durable in every copy still
 * written, writing (one pwrite and one fsync a copy) whatever is staged if
 * no other thread is already doing so: group commit. A failed write of the
 * first copy breaks the journal for good: its tail is cut back to the last
 * durable record, records staged after it are dropped, and every later add
 * and sync past that point fails with the write's error. A later copy that
 * fails is dropped (its file removed if it can be) and the sync goes on.
 * Returns 0 when the ticket is durable. */
int jnl_sync(jnl *j, uint64_t ticket);

/* Sync everything staged so far. */
int jnl_commit(jnl *j);

/* Bytes staged and not yet written. */
size_t jnl_pending(jnl *j);

/* How many records (of all ever added) are durable; whether it broke;
 * how many copies are still written. */
uint32_t jnl_durable_records(jnl *j);
int jnl_broken(jnl *j);
int jnl_copies(jnl *j);

/* Another reference: a writer that syncs after the store has moved on
 * keeps the journal alive. jnl_close() drops one; the last frees. */
jnl *jnl_ref(jnl *j);
void jnl_close(jnl *j);

typedef int (*jnl_replay_cb)(void *arg, const fp_t *fp, int codec,
			     uint32_t raw_len, const void *data,
			     uint32_t stored_len);

/* What a replay found. Offsets are the same in every copy. */
typedef struct jnl_replay_report {
	int copies;		/* copies found and read */
	uint32_t records;	/* replayed */
	uint64_t tail;		/* end of the last record replayed */
	uint32_t healed;	/* records damaged or missing in a copy,
				   read from another */
	uint32_t bad[JNL_COPIES];	/* records copy i lacked */
	int bad_headers;	/* copies whose header was damaged */
	/* Stretches no copy holds a good record in, followed by good
	 * records (a torn tail is not one): acknowledged data may be lost. */
	uint32_t lost_ranges;
	uint64_t lost_bytes;
	uint64_t lost_off;	/* where the first one starts */
	uint32_t lost_records;	/* record headers still readable in them */
	/* Every copy holds every record up to tail and its header: the log
	 * may be reopened and appended to. Else it should be sealed and
	 * retired as soon as it can be. */
	int whole;
} jnl_replay_report;

/* Read the copies paths[0..n) of container cid's log (a missing one is
 * skipped) and call cb for every record in order, each from a copy that
 * holds it whole. A stretch that no copy can read is skipped: the next
 * record is found by its magic and CRC and, being found so, trusted only
 * if its bytes hash to its fingerprint; so a damaged record never takes
 * the good ones behind it along. A non-zero return from cb stops replay
 * and is returned. If every copy is whole, a torn tail is truncated away
 * in each; otherwise nothing is written. -ENOENT if no copy exists,
 * -EBADMSG if none holds a header or a record. */
int jnl_replay(const char *const *paths, int n, uint64_t cid,
	       jnl_replay_cb cb, void *arg, jnl_replay_report *out);

/* Read back what j holds durably, in every copy, as a scrub does while
 * writers go on: only the records up to the durable tail are read, and
 * the copies are compared record by record. *out_damaged is how many
 * copies are damaged, missing, short or no longer written; *out_records
 * the most records a copy holds whole up to that tail. 0, or -ENOMEM. */
int jnl_check(jnl *j, int *out_damaged, uint32_t *out_records);

/* Whether journals opened from now on write with O_DIRECT where the file
 * system allows (1, the default) or through the page cache (0). With it,
 * a group write is padded to whole blocks, so the file may run up to a
 * block past the last record until replay cuts it; tests of the exact
 * layout turn it off. */
void jnl_set_direct(int on);

#endif
