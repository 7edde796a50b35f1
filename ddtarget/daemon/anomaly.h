/* anomaly.h - the dedup-ratio anomaly (PROTOCOL.md, Scrub and alerts, the
 * anomaly rule): a backup whose share of new data is far above what the
 * earlier backups of the same name in its unit had, as when the files of
 * a client were encrypted. Each (unit, backup name) keeps the shares of
 * its last ANOMALY_HISTORY judged backups in the index's named value
 * "ddtd.anom.<root>.<name>"; the first backup of a name only seeds it. */
#ifndef DDTD_ANOMALY_H
#define DDTD_ANOMALY_H

#include <stdint.h>

#include "idx.h"

#define ANOMALY_HISTORY		8
#define ANOMALY_MIN_BYTES	(1u << 20)	/* smaller backups: not judged */
#define ANOMALY_MIN_PM		500	/* share, per mille, at least */
#define ANOMALY_RISE_PM		400	/* over the median, at least */

typedef struct anomaly_hist {
	int seeded;		/* a first backup of the name was seen */
	int n;			/* shares held, newest last */
	uint16_t pm[ANOMALY_HISTORY];	/* per mille */
} anomaly_hist;

/* A backup's new share, per mille: new_raw over bytes, at most 1000. */
unsigned anomaly_share(uint64_t new_raw, uint64_t bytes);

/* Judge share (per mille) against h, then record it in h. Returns 1 if
 * anomalous; *median: h's median before (0 if it held none). */
int anomaly_judge(anomaly_hist *h, unsigned share, unsigned *median);

/* The history of (root, name): zeros if none or damaged. */
int anomaly_load(idx *ix, uint64_t root, const char *name, anomaly_hist *h);
int anomaly_save(idx *ix, uint64_t root, const char *name,
		 const anomaly_hist *h);

#endif
