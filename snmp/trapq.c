/* trapq.c - alert events to notifications, and their queue (trapq.h).
 * An alert's kind is its id up to the first ':' ("space:dir0",
 * "quota-soft:backups") or the whole id ("dirs-lost"); the daemon's ids
 * are listed in SNMP-CONTRACT and grepped from alert_raise() calls. */
#include "trapq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddtc_types.h"
#include "ddterr.h"

/* A raised alert's notification, by kind. */
static const struct {
	const char *kind;
	int trap;
} raised_kinds[] = {
	{ "dir", TRAP_DIR_LOST },
	{ "dirs-lost", TRAP_DIR_LOST },
	{ "scrub-lost", TRAP_SCRUB_FOUND_LOSS },
	{ "scrub-repaired", TRAP_SCRUB_REPAIRED },
	{ "journal-repaired", TRAP_SCRUB_REPAIRED },
	{ "scrub-unrepaired", TRAP_SCRUB_UNREPAIRED },
	{ "journal-lost", TRAP_SCRUB_UNREPAIRED },
	{ "scrub-failed", TRAP_SCRUB_FAILED },
	{ "clean-failed", TRAP_CLEANING_FAILED },
	{ "quota-soft", TRAP_QUOTA_SOFT },
	{ "quota-hard", TRAP_QUOTA_HARD },
	{ "streams", TRAP_STREAM_SOFT },
	{ "streams-hard", TRAP_STREAM_HARD },
	{ "checkpoint-failed", TRAP_CHECKPOINT_FAILED },
	{ "anomaly", TRAP_DEDUP_ANOMALY },
};

static int kind_is(const char *id, const char *kind)
{
	size_t n = strlen(kind);

	return !strncmp(id, kind, n) && (id[n] == 0 || id[n] == ':');
}

int trapq_kind(const char *id, int raised, int severity)
{
	if (kind_is(id, "dir") || kind_is(id, "dirs-lost"))
		return raised ? TRAP_DIR_LOST : TRAP_DIR_BACK;
	if (!raised)
		return TRAP_ALERT_CLEARED;
	if (kind_is(id, "space"))
		return severity == DDT_SEV_CRITICAL ? TRAP_SPACE_CRITICAL :
						      TRAP_SPACE_WARNING;
	for (size_t i = 0; i < sizeof(raised_kinds) / sizeof(raised_kinds[0]);
	     i++)
		if (kind_is(id, raised_kinds[i].kind))
			return raised_kinds[i].trap;
	return TRAP_ALERT_OTHER;
}

struct trapq {
	pthread_mutex_t mu;
	trap_ev *head, *tail;
	size_t n;
	uint64_t dropped;
};

int trapq_new(trapq **out)
{
	trapq *q = calloc(1, sizeof(*q));

	if (!q)
		return ddterr_set(-ENOMEM, "out of memory for the trap queue");
	pthread_mutex_init(&q->mu, NULL);
	*out = q;
	return 0;
}

void trapq_ev_free(trap_ev *list)
{
	while (list) {
		trap_ev *next = list->next;

		free(list->id);
		free(list->text);
		free(list);
		list = next;
	}
}

void trapq_free(trapq *q)
{
	if (!q)
		return;
	trapq_ev_free(q->head);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int trapq_push(trapq *q, const char *id, const char *text, int raised,
	       int severity, int64_t time_ns)
{
	trap_ev *e = calloc(1, sizeof(*e)), *old = NULL;

	if (!e || !(e->id = strdup(id)) || !(e->text = strdup(text))) {
		trapq_ev_free(e);
		return ddterr_set(-ENOMEM, "out of memory for a trap");
	}
	e->kind = trapq_kind(id, raised, severity);
	e->severity = severity;
	e->raised = raised;
	e->time_ns = time_ns;
	pthread_mutex_lock(&q->mu);
	if (q->n == TRAPQ_MAX) {
		old = q->head;
		q->head = old->next;
		old->next = NULL;
		q->n--;
		q->dropped++;
	}
	if (q->tail && q->head)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->n++;
	pthread_mutex_unlock(&q->mu);
	trapq_ev_free(old);
	return 0;
}

trap_ev *trapq_take(trapq *q, uint64_t *out_dropped)
{
	trap_ev *list;

	pthread_mutex_lock(&q->mu);
	list = q->head;
	q->head = q->tail = NULL;
	q->n = 0;
	*out_dropped = q->dropped;
	q->dropped = 0;
	pthread_mutex_unlock(&q->mu);
	return list;
}

void trapq_unget(trapq *q, trap_ev *list)
{
	trap_ev *last = list;
	size_t n = 0;

	if (!list)
		return;
	for (n = 1; last->next; last = last->next)
		n++;
	pthread_mutex_lock(&q->mu);
	last->next = q->head;
	if (!q->head)
		q->tail = last;
	q->head = list;
	q->n += n;
	pthread_mutex_unlock(&q->mu);
}
