/* health.h - what raises and clears the daemon's alerts (alerts.h): a
 * thread that looks at the store's directories at start and every
 * interval seconds (one missing or not the store's: critical; a file
 * system fuller than the thresholds: warning, then critical), and the
 * verdicts on finished scrubs and cleans, which their done callbacks hand
 * over. */
#ifndef DDTD_HEALTH_H
#define DDTD_HEALTH_H

#include "alerts.h"
#include "scrub.h"
#include "store.h"
#include "store_journal.h"

typedef struct health health;

typedef struct health_config {
	int interval;		/* seconds between checks; 0: 30 */
	int space_warning_pct;	/* used % above which: a warning */
	int space_critical_pct;	/* used % above which: critical */
} health_config;

/* Check the directories now, then every interval seconds on a thread of
 * its own until health_stop(). */
int health_start(health **out, store *st, alert_table *t,
		 const health_config *cfg);
void health_stop(health *h);

/* One check of the store's directories, on this thread. */
void health_check_dirs(store *st, alert_table *t, const health_config *cfg);

/* The same check with h's thresholds, on this thread, now, in turn with
 * the timer's: for what just changed the directories (a scrub that
 * rebuilt one), so its alert clears without waiting for the interval.
 * h NULL: nothing. */
void health_check_now(health *h);

/* A scrub that ended: its lost data (critical), damage it repaired or
 * left (warning), or its failure (warning) replace what the last scrub
 * said; a cancelled scrub changes nothing. */
void health_scrub_done(alert_table *t, const scrub_report *r);

/* What replaying the journals at open found: records no copy held
 * (critical, "journal-lost": a scrub names the backups they touch) or a
 * damaged copy whose records the other held (warning, "journal-repaired":
 * a disk may be failing). Returns 1 if data may be lost. The next scrub
 * that finishes replaces both with its own verdict, since it reads the
 * journals and every file's tree again. */
int health_journal_replayed(alert_table *t, const store_jnl_event *ev,
			    size_t n);

/* A clean that failed raises a warning; one that succeeds clears it. */
void health_clean_done(alert_table *t, int rc, const char *msg);

/* The verdicts of scrubs, cleans and journal replays (alerts "scrub-*",
 * "clean-*", "journal-*") are not
 * conditions a check sees again: they are kept in the index so that a
 * restarted daemon still shows them. Save after each verdict; load at
 * start. */
int health_save_verdicts(alert_table *t, idx *ix);
void health_load_verdicts(alert_table *t, idx *ix);

#endif
