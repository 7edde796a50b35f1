/* units.h - what the daemon keeps for each storage unit beside the
 * namespace's record of it: the soft quota, the stream limits and the
 * ingest counters (PROTOCOL.md, SU_STATS). Each unit's record is a named
 * value of the index, "ddtd.unit.<root ino>" (a unit made again under an
 * old name has a new root, so it starts afresh), cached in memory. The
 * limits are written durably when set; the counters are written by
 * units_flush() (every few seconds, and at close), so a crash loses at
 * most the last few seconds of them. Thread-safe. */
#ifndef DDTD_UNITS_H
#define DDTD_UNITS_H

#include <stdint.h>

#include "idx.h"

/* The stream limits, in SU_SET's (and STREAMS's) order. */
enum { LIM_BACKUP_SOFT, LIM_BACKUP_HARD, LIM_RESTORE_SOFT, LIM_RESTORE_HARD,
       LIM_COUNT };
/* The ingest counters: files' bytes committed; new segments, raw and
 * stored. */
enum { ING_LOGICAL, ING_RAW, ING_STORED, ING_COUNT };

typedef struct unit_rec {
	uint64_t quota_soft;		/* logical bytes; 0 none */
	uint32_t lim[LIM_COUNT];	/* 0: none */
	uint64_t ingest[ING_COUNT];	/* since the unit was made */
} unit_rec;

typedef struct units units;

int units_open(units **out, idx *ix);
/* Flush, then free (NULL: nothing). */
void units_close(units *u);

/* Unit root's record (zeros for one never set). 0, -EIO, -ENOMEM. */
int units_get(units *u, uint64_t root, unit_rec *out);
/* Set the soft quota (set_quota) and the limits (set_lim), durably. */
int units_set(units *u, uint64_t root, int set_quota, uint64_t quota_soft,
	      int set_lim, const uint32_t lim[LIM_COUNT]);
/* Count add[] into unit root's ingest counters (in memory until the next
 * flush). */
void units_add_ingest(units *u, uint64_t root, const uint64_t add[ING_COUNT]);
/* Write the counters that changed since the last flush. */
int units_flush(units *u);

#endif
