/* trapq.h - the target's alert events as DDTARGET-MIB notifications:
 * which notification an event is (by its alert id's kind), and the queue
 * between the poller thread, which reads events from ddtargetd
 * (ALERT_EVENTS), and the SNMP thread, which sends them when snmpd is
 * there. The queue is bounded: past TRAPQ_MAX the oldest are dropped
 * (and counted), so a long snmpd outage cannot take the memory. */
#ifndef DDTSNMP_TRAPQ_H
#define DDTSNMP_TRAPQ_H

#include <stddef.h>
#include <stdint.h>

#define TRAPQ_MAX 1024

/* DDTARGET-MIB's notifications: the last part of each one's OID. */
enum {
	TRAP_SPACE_WARNING = 1,
	TRAP_SPACE_CRITICAL = 2,
	TRAP_DIR_LOST = 3,
	TRAP_DIR_BACK = 4,
	TRAP_SCRUB_FOUND_LOSS = 5,
	TRAP_SCRUB_REPAIRED = 6,
	TRAP_SCRUB_UNREPAIRED = 7,
	TRAP_SCRUB_FAILED = 8,
	TRAP_CLEANING_FAILED = 9,
	TRAP_QUOTA_SOFT = 10,
	TRAP_QUOTA_HARD = 11,
	TRAP_STREAM_SOFT = 12,
	TRAP_STREAM_HARD = 13,
	TRAP_CHECKPOINT_FAILED = 14,
	TRAP_DEDUP_ANOMALY = 15,
	TRAP_ALERT_CLEARED = 16,
	TRAP_ALERT_OTHER = 17,
};

/* The notification of the alert id's event: raised (1: raised or its
 * severity changed; 0: cleared) at severity (DDT_SEV_*). */
int trapq_kind(const char *id, int raised, int severity);

typedef struct trap_ev {
	struct trap_ev *next;
	int kind;		/* TRAP_* */
	int severity;		/* DDT_SEV_* */
	int raised;
	int64_t time_ns;	/* when the target raised or cleared it */
	char *id, *text;
} trap_ev;

typedef struct trapq trapq;

int trapq_new(trapq **out);
void trapq_free(trapq *q);
/* Queue one event (copied). 0 or -ENOMEM. */
int trapq_push(trapq *q, const char *id, const char *text, int raised,
	       int severity, int64_t time_ns);
/* Take every queued event, oldest first (NULL: none); and how many were
 * dropped since the last take. Free them with trapq_ev_free(). */
trap_ev *trapq_take(trapq *q, uint64_t *out_dropped);
/* Put events taken but not sent back at the head, in their order. */
void trapq_unget(trapq *q, trap_ev *list);
void trapq_ev_free(trap_ev *list);

#endif
