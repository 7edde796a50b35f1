/* monitor.h - the daemon's watch over its own figures: a thread that
 * every MONITOR_INTERVAL seconds writes the ingest counters to the index
 * and checks each storage unit's quotas and streams against its limits
 * (alerts quota-soft:U, quota-hard:U, streams:U, streams:*, and the end of
 * streams-hard:*); and the last scrub, clean and checkpoint, as STATUS
 * gives them (the scrub's and clean's kept in the index as "ddtd.maint",
 * so a restart keeps them), with each data directory's state. */
#ifndef DDTD_MONITOR_H
#define DDTD_MONITOR_H

#include <stdint.h>

#include "clean.h"
#include "scrub.h"
#include "store_dirs.h"

#define MONITOR_INTERVAL	10
#define MONITOR_HARD_NS		(300LL * 1000000000LL)	/* streams-hard: 5 min */

/* STATUS's last_scrub_result. */
enum { SCRUB_RESULT_CLEAN = 0, SCRUB_RESULT_REPAIRED = 1,
       SCRUB_RESULT_UNREPAIRED = 2, SCRUB_RESULT_FAILED = 3 };

struct ddtd;
typedef struct monitor monitor;

typedef struct monitor_figures {
	int64_t last_scrub_ns;		/* 0 never */
	int last_scrub_result;		/* SCRUB_RESULT_* */
	int64_t last_clean_ns;		/* 0 never */
	uint64_t last_clean_reclaimed_bytes;
	uint64_t cleanable_bytes;	/* the last clean's dead_kept_bytes */
	uint64_t checkpoint_failures;	/* since the daemon started */
} monitor_figures;

/* Load the kept figures; start the thread (d's units, ingest, streams,
 * alerts and namespace must be open, and stay so until monitor_stop). */
int monitor_start(monitor **out, struct ddtd *d);
/* Stop the thread and write the counters one last time (NULL: nothing). */
void monitor_stop(monitor *m);

/* Check every unit's quotas and streams now (also what the thread does). */
void monitor_check_units(struct ddtd *d);
/* A backup was refused at a hard stream limit: alert id (streams-hard:U
 * or streams-hard:*) stays raised for MONITOR_HARD_NS from now. */
void monitor_stream_refused(monitor *m, const char *id);

void monitor_scrub_done(monitor *m, const scrub_report *r);
void monitor_clean_done(monitor *m, const clean_report *r);
/* A checkpoint ended (rc 0 or -errno): checkpoint-failed is raised or
 * cleared on d's alerts. */
void monitor_checkpoint_done(struct ddtd *d, int rc);
void monitor_get(monitor *m, monitor_figures *out);

/* A directory's state, for STATUS_TEXT's dirN.state: "missing" if it is
 * not present; else "rebuilding" while a scrub with repair runs after it
 * was missing, "degraded" if it was missing since the last scrub that
 * repaired everything (containers sealed meanwhile lack its fragments),
 * else "present". Also notes which directories are missing now. */
const char *monitor_dir_state(monitor *m, const store_dir_info *di,
			      int repairing);

#endif
