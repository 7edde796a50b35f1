/* dircache.c - snapshots of directories for READDIR's cookies (the scheme
 * is dircache.h's). A short list under one lock, most recently used
 * first; a snapshot is built outside the lock (it may take seconds for a
 * huge directory) and then published, a concurrent builder of the same
 * one losing the race and taking the published copy. */
#include "dircache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "now.h"

#define DIRCACHE_MAX_BYTES	(256u << 20)
#define DIRCACHE_TTL_NS		(120 * 1000000000LL)
#define UNREBUILDABLE		(1ull << 63)

struct dircache {
	pthread_mutex_t mu;
	dc_snap *list;
	size_t bytes;
	uint64_t counter;
};

uint64_t dircache_verf(const ddt_attr *dir)
{
	uint64_t v = (uint64_t)dir->mtime * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)dir->ctime ^ dir->size * 0xff51afd7ed558ccdull;

	v &= ~UNREBUILDABLE;
	return v ? v : 1;
}

int dircache_new(dircache **out)
{
	dircache *d = calloc(1, sizeof(*d));

	if (!d)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

static void snap_free(dc_snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	free(s);
}

void dircache_free(dircache *d)
{
	dc_snap *s;

	if (!d)
		return;
	while ((s = d->list)) {
		d->list = s->next;
		snap_free(s);
	}
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static int add_ent(void *arg, const char *name, const ddt_attr *a)
{
	dc_snap *s = arg;
	dc_ent *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return ddterr_set(-ENOMEM, "out of memory");
		s->e = e;
		s->cap = cap;
	}
	e = &s->e[s->n];
	e->name = strdup(name);
	if (!e->name)
		return ddterr_set(-ENOMEM, "out of memory");
	e->a = *a;
	s->n++;
	s->bytes += sizeof(*e) + strlen(name) + 1;
	return 0;
}

/* Read directory ino whole; its verifier from its attributes before and
 * after, if they agree. */
static int build(dircache *d, ddtc *c, const ddt_attr *dir, dc_snap **out)
{
	dc_snap *s = calloc(1, sizeof(*s));
	ddt_attr after;
	int rc;

	if (!s)
		return ddterr_set(-ENOMEM, "out of memory");
	s->ino = dir->ino;
	s->bytes = sizeof(*s);
	rc = ddtc_readdir(c, dir->ino, add_ent, s);
	if (rc == 0)
		rc = ddtc_getattr(c, dir->ino, &after);
	if (rc < 0) {
		snap_free(s);
		return rc;
	}
	if (dircache_verf(&after) == dircache_verf(dir)) {
		s->verf = dircache_verf(dir);
	} else {
		pthread_mutex_lock(&d->mu);
		s->verf = UNREBUILDABLE | ++d->counter;
		pthread_mutex_unlock(&d->mu);
	}
	*out = s;
	return 0;
}

/* Under the lock: the cached snapshot (ino, verf), referenced. */
static dc_snap *find(dircache *d, uint64_t ino, uint64_t verf)
{
	for (dc_snap *s = d->list; s; s = s->next)
		if (s->ino == ino && s->verf == verf) {
			s->refs++;
			s->used = now_mono_ns();
			return s;
		}
	return NULL;
}

/* Under the lock: drop unused snapshots past their time, or the least
 * recently used while over the memory bound. */
static void evict(dircache *d)
{
	dc_snap **pp, **lru;
	int64_t now = now_mono_ns();

	for (pp = &d->list; *pp;) {
		dc_snap *s = *pp;

		if (!s->refs && now - s->used > DIRCACHE_TTL_NS) {
			*pp = s->next;
			d->bytes -= s->bytes;
			snap_free(s);
		} else {
			pp = &s->next;
		}
	}
	while (d->bytes > DIRCACHE_MAX_BYTES) {
		lru = NULL;
		for (pp = &d->list; *pp; pp = &(*pp)->next)
			if (!(*pp)->refs && (!lru || (*pp)->used < (*lru)->used))
				lru = pp;
		if (!lru)
			break;
		dc_snap *s = *lru;

		*lru = s->next;
		d->bytes -= s->bytes;
		snap_free(s);
	}
}

static dc_snap *publish(dircache *d, dc_snap *s)
{
	dc_snap *had;

	pthread_mutex_lock(&d->mu);
	had = find(d, s->ino, s->verf);
	if (had) {
		pthread_mutex_unlock(&d->mu);
		snap_free(s);
		return had;
	}
	s->refs = 1;
	s->used = now_mono_ns();
	s->next = d->list;
	d->list = s;
	d->bytes += s->bytes;
	evict(d);
	pthread_mutex_unlock(&d->mu);
	return s;
}

int dircache_get(dircache *d, ddtc *c, const ddt_attr *dir, uint64_t cookie,
		 uint64_t verf, dc_snap **out)
{
	uint64_t now_verf = dircache_verf(dir);
	dc_snap *s;
	int rc;

	if (cookie == 0 || verf == 0)
		verf = now_verf;
	pthread_mutex_lock(&d->mu);
	s = find(d, dir->ino, verf);
	pthread_mutex_unlock(&d->mu);
	if (s) {
		*out = s;
		return 0;
	}
	if (verf != now_verf)
		return ddterr_set(-EAGAIN, "directory listing changed; "
				  "start again");
	rc = build(d, c, dir, &s);
	if (rc < 0)
		return rc;
	/* A snapshot the directory changed under is good for a listing
	 * that starts, never for one that continues. */
	if (cookie != 0 && s->verf != verf) {
		snap_free(s);
		return ddterr_set(-EAGAIN, "directory listing changed; "
				  "start again");
	}
	*out = publish(d, s);
	return 0;
}

void dircache_put(dircache *d, dc_snap *s)
{
	pthread_mutex_lock(&d->mu);
	s->refs--;
	s->used = now_mono_ns();
	pthread_mutex_unlock(&d->mu);
}
