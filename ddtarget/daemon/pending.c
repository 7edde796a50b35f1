/* pending.c - each unit's bytes sent and not committed (pending.h): a
 * small open-addressed table under one mutex; units with nothing pending
 * leave it. */
#include "pending.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

#define PENDING_SLOTS	1024	/* units with uploads in flight at once */

typedef struct slot {
	uint64_t unit;		/* 0: free */
	uint64_t bytes;
} slot;

struct pending {
	pthread_mutex_t mu;
	uint64_t total;
	uint64_t none;		/* sent by sessions naming no unit yet */
	slot s[PENDING_SLOTS];
};

int pending_new(pending **out)
{
	pending *p = calloc(1, sizeof(*p));

	if (!p)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&p->mu, NULL);
	*out = p;
	return 0;
}

void pending_free(pending *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Under mu: unit's slot; with create, a free one for it. NULL if none. */
static slot *find(pending *p, uint64_t unit, int create)
{
	size_t h = (size_t)(unit * 0x9e3779b97f4a7c15ULL) % PENDING_SLOTS;
	slot *free_one = NULL;

	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		slot *s = &p->s[(h + i) % PENDING_SLOTS];

		if (s->unit == unit)
			return s;
		if (!s->unit && !free_one)
			free_one = s;
	}
	if (create && free_one)
		free_one->unit = unit;
	return create ? free_one : NULL;
}

void pending_add(pending *p, uint64_t unit, int64_t delta)
{
	slot *s;

	if (!p || !delta)
		return;
	pthread_mutex_lock(&p->mu);
	if (!unit) {
		uint64_t d = delta > 0 ? (uint64_t)delta
			   : (uint64_t)-delta < p->none ? (uint64_t)-delta
							 : p->none;

		p->none = delta > 0 ? p->none + d : p->none - d;
		p->total = delta > 0 ? p->total + d : p->total - d;
		pthread_mutex_unlock(&p->mu);
		return;
	}
	s = find(p, unit, delta > 0);
	if (s && delta > 0) {
		s->bytes += (uint64_t)delta;
		p->total += (uint64_t)delta;
	} else if (s) {
		uint64_t d = (uint64_t)-delta < s->bytes ? (uint64_t)-delta
							 : s->bytes;

		s->bytes -= d;
		p->total -= d;
		if (!s->bytes)
			s->unit = 0;
	}
	pthread_mutex_unlock(&p->mu);
}

uint64_t pending_of(pending *p, uint64_t unit)
{
	uint64_t n = 0;
	slot *s;

	pthread_mutex_lock(&p->mu);
	if ((s = find(p, unit, 0)))
		n = s->bytes;
	pthread_mutex_unlock(&p->mu);
	return n;
}

uint64_t pending_total(pending *p)
{
	uint64_t n;

	pthread_mutex_lock(&p->mu);
	n = p->total;
	pthread_mutex_unlock(&p->mu);
	return n;
}
