/* ingest.h - the target's ingest counters (PROTOCOL.md section 8): bytes
 * of files committed, new segments raw and stored, since the store was
 * counted first, and the same over the last 24 hours and 7 days from
 * hourly buckets. Kept in the index's named value "ddtd.ingest", written
 * by ingest_flush() (every few seconds, and at close), so a restart keeps
 * them and a crash loses at most the last few seconds. Thread-safe. */
#ifndef DDTD_INGEST_H
#define DDTD_INGEST_H

#include <stdint.h>

#include "idx.h"
#include "units.h"

#define INGEST_HOURS	168	/* buckets: 7 days of hours */

typedef struct ingest ingest;

typedef struct ingest_figures {
	uint64_t total[ING_COUNT];	/* since counting began */
	uint64_t day[ING_COUNT];	/* this hour and the 23 before */
	uint64_t week[ING_COUNT];	/* this hour and the 167 before */
} ingest_figures;

/* Load the counters (zeros if none, or a damaged record: logged). */
int ingest_open(ingest **out, idx *ix);
/* Flush, then free (NULL: nothing). */
void ingest_close(ingest *g);

/* Count add[] at time now (ns since the epoch). */
void ingest_add(ingest *g, int64_t now, const uint64_t add[ING_COUNT]);
void ingest_get(ingest *g, int64_t now, ingest_figures *out);
/* Write the counters if they changed since the last flush. */
int ingest_flush(ingest *g);

#endif
