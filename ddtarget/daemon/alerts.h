/* alerts.h - the daemon's current problems: a small thread-safe table of
 * alerts, each a stable id ("dir:dir3", "space:root", "scrub-lost"), a
 * severity, a one-line text and when it was first raised. Whatever watches
 * a condition raises its alert while the condition holds (raising again
 * only updates it) and clears it when it is gone; `ddt status`, the
 * ALERTS request and the SNMP subagent read the table.
 *
 * Every change bumps the table's sequence number, so a poller can tell
 * that something changed from one number (STATUS's alerts_seq); a hook
 * hears of each alert raised and cleared, as it happens, and a ring keeps
 * the last ALERT_EVENTS_MAX of those events for pollers (ALERT_EVENTS),
 * so that an alert raised and cleared between two polls is still seen. */
#ifndef DDTD_ALERTS_H
#define DDTD_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"

#define ALERT_ID_MAX	DDT_MAX_NAME
#define ALERT_TEXT_MAX	1023
#define ALERT_MAX	256	/* alerts held at once; more are refused */
#define ALERT_EVENTS_MAX 1024	/* raises and clears the ring keeps */

typedef struct alert {
	char id[ALERT_ID_MAX + 1];
	int severity;		/* DDT_SEV_CRITICAL, _WARNING, _INFO */
	int64_t since;		/* ns since the epoch, when first raised */
	uint64_t seq;		/* the table's sequence at its last change */
	char text[ALERT_TEXT_MAX + 1];
} alert;

typedef struct alert_table alert_table;

/* raised 1: a new alert, or one whose severity changed; 0: cleared. Runs
 * under the table's lock, in the order of the changes: it must not call
 * back into the table, and should be quick. */
typedef void (*alert_hook)(void *arg, const alert *a, int raised);

int alert_table_new(alert_table **out);
void alert_table_free(alert_table *t);
void alert_set_hook(alert_table *t, alert_hook fn, void *arg);

/* Raise alert id, or update its severity and text (its since is kept).
 * A new alert, or a new severity, is logged once, at its severity. Returns
 * 1 if it was new, 0 if updated, -EINVAL for a bad id or severity, -ENOSPC
 * past ALERT_MAX. */
int alert_raise(alert_table *t, const char *id, int severity,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Clear alert id (logged); 1 if it was raised, 0 if not. */
int alert_clear(alert_table *t, const char *id);

/* A copy of every alert, worst first, then oldest first: malloc'd into
 * *out (free() it; NULL when there are none), *n of them. */
int alert_list(alert_table *t, alert **out, size_t *n);

/* One raise (or change of severity) or clear, as the ring keeps it:
 * a.seq is the table's sequence just after it; a clear keeps the alert's
 * last severity and text. */
typedef struct alert_event {
	alert a;
	int raised;		/* 1 raised or changed, 0 cleared */
	int64_t time;		/* ns since the epoch */
} alert_event;

/* The events of the ring whose sequence is over after, oldest first,
 * malloc'd into *out (free(); NULL when none), at most max of them.
 * *last: the newest one's sequence (after if none is newer; the table's
 * sequence if after is above it, as after a restart). *gap: 1 when events
 * over after have left the ring, or after is above the table's sequence
 * (the reader then lists the alerts again). */
int alert_events(alert_table *t, uint64_t after, size_t max,
		 alert_event **out, size_t *n, uint64_t *last, int *gap);

typedef struct alert_counts {
	uint64_t critical, warning, info;
	uint64_t seq;		/* bumped by every raise, update and clear */
} alert_counts;

void alert_get_counts(alert_table *t, alert_counts *out);

#endif
