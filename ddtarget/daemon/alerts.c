/* alerts.c - the table of current problems (see alerts.h). It holds a
 * handful of entries, so a plain array under one mutex is all it needs;
 * conditions are re-raised at every check, and only a real change (a new
 * alert, another severity or text) bumps the sequence and is logged. The
 * events (raises, changes of severity, clears) go into a fixed ring
 * beside it, allocated with the table. */
#include "alerts.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "log.h"
#include "now.h"

struct alert_table {
	pthread_mutex_t mu;
	alert *v;
	size_t n, cap;
	uint64_t seq;
	alert_hook hook;
	void *hook_arg;
	alert_event *ring;	/* ALERT_EVENTS_MAX; the oldest at head */
	size_t head, nring;
	uint64_t dropped_seq;	/* the newest event that left the ring */
};

int alert_table_new(alert_table **out)
{
	alert_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->ring = calloc(ALERT_EVENTS_MAX, sizeof(*t->ring));
	if (!t->ring) {
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return 0;
}

void alert_table_free(alert_table *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t->ring);
	free(t->v);
	free(t);
}

void alert_set_hook(alert_table *t, alert_hook fn, void *arg)
{
	pthread_mutex_lock(&t->mu);
	t->hook = fn;
	t->hook_arg = arg;
	pthread_mutex_unlock(&t->mu);
}

static const char *sev_name(int sev)
{
	return sev == DDT_SEV_CRITICAL ? "critical" :
	       sev == DDT_SEV_WARNING ? "warning" : "info";
}

static void log_raised(const alert *a)
{
	int level = a->severity == DDT_SEV_CRITICAL ? LOG_ERR_ :
		    a->severity == DDT_SEV_WARNING ? LOG_WARN_ : LOG_INFO_;

	log_msg(level, "alert %s (%s): %s", a->id, sev_name(a->severity),
		a->text);
}

/* Keep an event in the ring, dropping the oldest when it is full; then
 * tell the hook. seq is the table's sequence just after the change. */
static void event_locked(alert_table *t, const alert *a, int raised)
{
	alert_event *e;

	if (t->nring == ALERT_EVENTS_MAX) {
		t->dropped_seq = t->ring[t->head].a.seq;
		t->head = (t->head + 1) % ALERT_EVENTS_MAX;
		t->nring--;
	}
	e = &t->ring[(t->head + t->nring++) % ALERT_EVENTS_MAX];
	e->a = *a;
	e->a.seq = t->seq;
	e->raised = raised;
	e->time = now_ns();
	if (t->hook)
		t->hook(t->hook_arg, a, raised);
}

static alert *find_locked(alert_table *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

/* A slot for a new alert, or NULL (-ENOSPC, -ENOMEM in *rc). */
static alert *append_locked(alert_table *t, int *rc)
{
	if (t->n == ALERT_MAX) {
		*rc = -ENOSPC;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		alert *v = realloc(t->v, cap * sizeof(*v));

		if (!v) {
			*rc = -ENOMEM;
			return NULL;
		}
		t->v = v;
		t->cap = cap;
	}
	return &t->v[t->n++];
}

int alert_raise(alert_table *t, const char *id, int severity,
		const char *fmt, ...)
{
	char text[ALERT_TEXT_MAX + 1];
	int rc = 0, fresh, changed;
	va_list ap;
	alert *a;

	if (!*id || strlen(id) > ALERT_ID_MAX ||
	    severity < DDT_SEV_CRITICAL || severity > DDT_SEV_INFO)
		return ddterr_set(-EINVAL, "alert '%s': bad id or severity %d",
				  id, severity);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&t->mu);
	a = find_locked(t, id);
	fresh = a == NULL;
	if (fresh) {
		a = append_locked(t, &rc);
		if (!a) {
			pthread_mutex_unlock(&t->mu);
			return ddterr_set(rc, "alert %s: %s", id, rc == -ENOSPC ?
					  "the alert table is full" :
					  "out of memory");
		}
		memset(a, 0, sizeof(*a));
		snprintf(a->id, sizeof(a->id), "%s", id);
		a->since = now_ns();
	}
	changed = fresh || a->severity != severity;
	if (changed || strcmp(a->text, text) != 0) {
		a->severity = severity;
		snprintf(a->text, sizeof(a->text), "%s", text);
		a->seq = ++t->seq;
	}
	if (changed) {
		log_raised(a);
		event_locked(t, a, 1);
	}
	pthread_mutex_unlock(&t->mu);
	return fresh;
}

int alert_clear(alert_table *t, const char *id)
{
	alert *a;

	pthread_mutex_lock(&t->mu);
	a = find_locked(t, id);
	if (!a) {
		pthread_mutex_unlock(&t->mu);
		return 0;
	}
	t->seq++;
	log_info("alert %s cleared (it was %s: %s)", a->id,
		 sev_name(a->severity), a->text);
	event_locked(t, a, 0);
	*a = t->v[--t->n];
	pthread_mutex_unlock(&t->mu);
	return 1;
}

static int worst_first(const void *x, const void *y)
{
	const alert *a = x, *b = y;

	if (a->severity != b->severity)
		return a->severity - b->severity;
	if (a->since != b->since)
		return a->since < b->since ? -1 : 1;
	return strcmp(a->id, b->id);
}

int alert_list(alert_table *t, alert **out, size_t *n)
{
	alert *v = NULL;

	pthread_mutex_lock(&t->mu);
	if (t->n) {
		v = malloc(t->n * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&t->mu);
			return -ENOMEM;
		}
		memcpy(v, t->v, t->n * sizeof(*v));
	}
	*n = t->n;
	pthread_mutex_unlock(&t->mu);
	if (v)
		qsort(v, *n, sizeof(*v), worst_first);
	*out = v;
	return 0;
}

int alert_events(alert_table *t, uint64_t after, size_t max,
		 alert_event **out, size_t *n, uint64_t *last, int *gap)
{
	alert_event *v = NULL;
	size_t first, k = 0;

	pthread_mutex_lock(&t->mu);
	/* Events are in sequence order: skip those at or below after. */
	for (first = 0; first < t->nring; first++)
		if (t->ring[(t->head + first) % ALERT_EVENTS_MAX].a.seq > after)
			break;
	if (t->nring - first && max &&
	    !(v = malloc((t->nring - first < max ? t->nring - first : max) *
			 sizeof(*v)))) {
		pthread_mutex_unlock(&t->mu);
		return -ENOMEM;
	}
	for (size_t i = first; i < t->nring && k < max; i++)
		v[k++] = t->ring[(t->head + i) % ALERT_EVENTS_MAX];
	*gap = after < t->dropped_seq || after > t->seq;
	*last = k ? v[k - 1].a.seq : after > t->seq ? t->seq : after;
	pthread_mutex_unlock(&t->mu);
	*out = v;
	*n = k;
	return 0;
}

void alert_get_counts(alert_table *t, alert_counts *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].severity == DDT_SEV_CRITICAL)
			out->critical++;
		else if (t->v[i].severity == DDT_SEV_WARNING)
			out->warning++;
		else
			out->info++;
	}
	out->seq = t->seq;
	pthread_mutex_unlock(&t->mu);
}
