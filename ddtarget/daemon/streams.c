/* streams.c - the streams active on the target (streams.h). Two small
 * arrays under one mutex: each session's activity per unit (open backups,
 * last write, last read), and the open backups themselves (to count their
 * new bytes and find them at BACKUP_END). A target serves at most
 * max_sessions sessions, so linear scans cost nothing. */
#include "streams.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

typedef struct activity {
	const void *owner;
	uint64_t root;
	uint32_t nopen;		/* backups of the unit it has open */
	int64_t wrote, read;	/* last commit, last read (0: never) */
} activity;

typedef struct open_backup {
	const void *owner;
	uint64_t ino;		/* 0: admitted, not yet begun */
	streams_backup b;
} open_backup;

struct streams {
	pthread_mutex_t mu;
	activity *act;
	size_t nact, capact;
	open_backup *ob;
	size_t nob, capob;
};

int streams_new(streams **out)
{
	streams *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

void streams_free(streams *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->act);
	free(s->ob);
	free(s);
}

/* Room for one more element of an array (NULL: out of memory). */
static void *grow(void *v, size_t n, size_t *cap, size_t elem)
{
	size_t c;

	if (n < *cap)
		return v;
	c = *cap ? 2 * *cap : 16;
	v = realloc(v, c * elem);
	if (v)
		*cap = c;
	return v;
}

static int is_backup(const activity *a, int64_t now)
{
	return a->nopen > 0 || (a->wrote && now - a->wrote < STREAMS_RECENT_NS);
}

static int is_restore(const activity *a, int64_t now)
{
	return !is_backup(a, now) && a->read &&
	       now - a->read < STREAMS_RECENT_NS;
}

static activity *find_act(streams *s, const void *owner, uint64_t root)
{
	for (size_t i = 0; i < s->nact; i++)
		if (s->act[i].owner == owner && s->act[i].root == root)
			return &s->act[i];
	return NULL;
}

/* Drop what no longer counts, so the arrays stay as small as the
 * sessions. */
static void prune_locked(streams *s, int64_t now)
{
	for (size_t i = 0; i < s->nact;) {
		activity *a = &s->act[i];

		if (is_backup(a, now) || is_restore(a, now))
			i++;
		else
			*a = s->act[--s->nact];
	}
}

/* owner's activity in unit root, made if need be (NULL: no memory). */
static activity *act_locked(streams *s, const void *owner, uint64_t root)
{
	activity *a = find_act(s, owner, root), *v;

	if (a)
		return a;
	v = grow(s->act, s->nact, &s->capact, sizeof(*v));
	if (!v)
		return NULL;
	s->act = v;
	a = &s->act[s->nact++];
	*a = (activity){ .owner = owner, .root = root };
	return a;
}

static void count_locked(streams *s, uint64_t root, int64_t now,
			 streams_count *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nact; i++) {
		const activity *a = &s->act[i];

		if (root && a->root != root)
			continue;
		out->backup += (uint32_t)is_backup(a, now);
		out->restore += (uint32_t)is_restore(a, now);
	}
}

/* Whether one more backup stream would pass hard limit lim (0: none);
 * then the refusal's message. */
static int over_hard(uint32_t have, uint32_t lim, const char *who)
{
	if (!lim || have + 1 <= lim)
		return 0;
	return ddterr_set(-EBUSY, "%s: %u backup streams active, its hard "
			  "limit is %u: try again later", who, have, lim);
}

int streams_backup_admit(streams *s, const void *owner, uint64_t root,
			 const char *su, int64_t now,
			 const uint32_t unit_lim[LIM_COUNT],
			 const uint32_t target_lim[LIM_COUNT], int *over_soft)
{
	streams_count u, t;
	char who[DDT_MAX_NAME + 32];
	open_backup *v = NULL;
	activity *a;
	int fresh, rc = 0;

	*over_soft = 0;
	pthread_mutex_lock(&s->mu);
	prune_locked(s, now);
	a = find_act(s, owner, root);
	fresh = !a || !is_backup(a, now);
	count_locked(s, root, now, &u);
	count_locked(s, 0, now, &t);
	snprintf(who, sizeof(who), "storage unit %s", su);
	if (fresh && (rc = over_hard(u.backup, unit_lim[LIM_BACKUP_HARD],
				     who)) == 0)
		rc = over_hard(t.backup, target_lim[LIM_BACKUP_HARD],
			       "the target");
	if (rc == 0 &&
	    (!(a = act_locked(s, owner, root)) ||
	     !(v = grow(s->ob, s->nob, &s->capob, sizeof(*v)))))
		rc = ddterr_set(-ENOMEM, "streams: out of memory");
	if (rc == 0) {
		s->ob = v;
		v = &s->ob[s->nob++];
		memset(v, 0, sizeof(*v));
		v->owner = owner;
		v->b.root = root;
		snprintf(v->b.su, sizeof(v->b.su), "%s", su);
		a->nopen++;
		u.backup += (uint32_t)fresh;
		t.backup += (uint32_t)fresh;
		if (unit_lim[LIM_BACKUP_SOFT] &&
		    u.backup > unit_lim[LIM_BACKUP_SOFT])
			*over_soft |= 1;
		if (target_lim[LIM_BACKUP_SOFT] &&
		    t.backup > target_lim[LIM_BACKUP_SOFT])
			*over_soft |= 2;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Remove open backup i and its count in its owner's activity. */
static void ob_remove_locked(streams *s, size_t i)
{
	activity *a = find_act(s, s->ob[i].owner, s->ob[i].b.root);

	if (a && a->nopen)
		a->nopen--;
	s->ob[i] = s->ob[--s->nob];
}

void streams_backup_bind(streams *s, const void *owner, uint64_t root,
			 uint64_t ino, const char *id)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nob; i++) {
		open_backup *b = &s->ob[i];

		if (b->owner != owner || b->b.root != root || b->ino)
			continue;
		if (ino) {
			b->ino = ino;
			snprintf(b->b.id, sizeof(b->b.id), "%s", id);
		} else
			ob_remove_locked(s, i);
		break;
	}
	pthread_mutex_unlock(&s->mu);
}

int streams_backup_close(streams *s, uint64_t ino, streams_backup *out)
{
	int found = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nob && !found; i++) {
		if (s->ob[i].ino != ino)
			continue;
		*out = s->ob[i].b;
		ob_remove_locked(s, i);
		found = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

static void touch(streams *s, const void *owner, uint64_t root, int64_t now,
		  int write)
{
	activity *a;

	pthread_mutex_lock(&s->mu);
	a = act_locked(s, owner, root);
	if (a && write)
		a->wrote = now;
	else if (a)
		a->read = now;
	pthread_mutex_unlock(&s->mu);
}

void streams_wrote(streams *s, const void *owner, uint64_t root, int64_t now)
{
	touch(s, owner, root, now, 1);
}

void streams_read(streams *s, const void *owner, uint64_t root, int64_t now)
{
	touch(s, owner, root, now, 0);
}

void streams_new_bytes(streams *s, const void *owner, uint64_t raw)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nob; i++)
		if (s->ob[i].owner == owner)
			s->ob[i].b.new_raw += raw;
	pthread_mutex_unlock(&s->mu);
}

void streams_session_end(streams *s, const void *owner)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nob;)
		if (s->ob[i].owner == owner)
			s->ob[i] = s->ob[--s->nob];
		else
			i++;
	for (size_t i = 0; i < s->nact;)
		if (s->act[i].owner == owner)
			s->act[i] = s->act[--s->nact];
		else
			i++;
	pthread_mutex_unlock(&s->mu);
}

void streams_get(streams *s, uint64_t root, int64_t now, streams_count *out)
{
	pthread_mutex_lock(&s->mu);
	prune_locked(s, now);
	count_locked(s, root, now, out);
	pthread_mutex_unlock(&s->mu);
}
