/* units.c - each storage unit's soft quota, stream limits and ingest
 * counters (units.h): a small cache of records under one mutex, each
 * loaded from the index the first time it is asked for. A record on disk
 * is a version byte, then the fields little-endian in unit_rec's order. */
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"

#define UNIT_REC_VERSION 1
#define UNIT_REC_LEN	(1 + 8 + 4 * LIM_COUNT + 8 * ING_COUNT)

typedef struct unit_ent {
	uint64_t root;
	unit_rec r;
	int dirty;		/* counters not yet written */
} unit_ent;

struct units {
	pthread_mutex_t mu;
	idx *ix;
	unit_ent *v;
	size_t n, cap;
};

int units_open(units **out, idx *ix)
{
	units *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->mu, NULL);
	u->ix = ix;
	*out = u;
	return 0;
}

void units_close(units *u)
{
	if (!u)
		return;
	(void)units_flush(u);
	pthread_mutex_destroy(&u->mu);
	free(u->v);
	free(u);
}

static void rec_key(uint64_t root, char *buf, size_t cap)
{
	snprintf(buf, cap, "ddtd.unit.%" PRIu64, root);
}

static void rec_encode(const unit_rec *r, uint8_t *p)
{
	*p++ = UNIT_REC_VERSION;
	put_le64(p, r->quota_soft);
	p += 8;
	for (int i = 0; i < LIM_COUNT; i++, p += 4)
		put_le32(p, r->lim[i]);
	for (int i = 0; i < ING_COUNT; i++, p += 8)
		put_le64(p, r->ingest[i]);
}

static int rec_decode(const uint8_t *p, unit_rec *r)
{
	if (*p++ != UNIT_REC_VERSION)
		return -EBADMSG;
	r->quota_soft = get_le64(p);
	p += 8;
	for (int i = 0; i < LIM_COUNT; i++, p += 4)
		r->lim[i] = get_le32(p);
	for (int i = 0; i < ING_COUNT; i++, p += 8)
		r->ingest[i] = get_le64(p);
	return 0;
}

static int rec_write_locked(units *u, const unit_ent *e)
{
	uint8_t buf[UNIT_REC_LEN];
	char key[48];

	rec_key(e->root, key, sizeof(key));
	rec_encode(&e->r, buf);
	return idx_put_value(u->ix, key, buf, sizeof(buf));
}

/* Unit root's entry, loaded if need be; NULL with *rc on failure. A
 * damaged record is logged by its caller's error and starts afresh:
 * figures are not worth refusing a backup for. */
static unit_ent *ent_locked(units *u, uint64_t root, int *rc)
{
	uint8_t buf[UNIT_REC_LEN];
	char key[48];
	unit_ent *e;

	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].root == root)
			return &u->v[i];
	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 16;
		unit_ent *v = realloc(u->v, cap * sizeof(*v));

		if (!v) {
			*rc = ddterr_set(-ENOMEM, "unit figures: out of memory");
			return NULL;
		}
		u->v = v;
		u->cap = cap;
	}
	e = &u->v[u->n];
	memset(e, 0, sizeof(*e));
	e->root = root;
	rec_key(root, key, sizeof(key));
	*rc = idx_get_value(u->ix, key, buf, sizeof(buf));
	if (*rc == 0 && rec_decode(buf, &e->r) < 0)
		memset(&e->r, 0, sizeof(e->r));
	if (*rc < 0 && *rc != -ENOENT && *rc != -EBADMSG)
		return NULL;
	*rc = 0;
	u->n++;
	return e;
}

int units_get(units *u, uint64_t root, unit_rec *out)
{
	unit_ent *e;
	int rc = 0;

	pthread_mutex_lock(&u->mu);
	e = ent_locked(u, root, &rc);
	if (e)
		*out = e->r;
	pthread_mutex_unlock(&u->mu);
	return rc;
}

int units_set(units *u, uint64_t root, int set_quota, uint64_t quota_soft,
	      int set_lim, const uint32_t lim[LIM_COUNT])
{
	unit_ent *e;
	unit_rec old;
	int rc = 0;

	pthread_mutex_lock(&u->mu);
	e = ent_locked(u, root, &rc);
	if (e) {
		old = e->r;
		if (set_quota)
			e->r.quota_soft = quota_soft;
		if (set_lim)
			memcpy(e->r.lim, lim, sizeof(e->r.lim));
		rc = rec_write_locked(u, e);
		if (rc < 0)
			e->r = old;
		else
			e->dirty = 0;
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

void units_add_ingest(units *u, uint64_t root, const uint64_t add[ING_COUNT])
{
	unit_ent *e;
	int rc = 0;

	pthread_mutex_lock(&u->mu);
	e = ent_locked(u, root, &rc);
	if (e) {
		for (int i = 0; i < ING_COUNT; i++)
			e->r.ingest[i] += add[i];
		e->dirty = 1;
	}
	pthread_mutex_unlock(&u->mu);
}

int units_flush(units *u)
{
	int rc = 0, r;

	pthread_mutex_lock(&u->mu);
	for (size_t i = 0; i < u->n; i++) {
		if (!u->v[i].dirty)
			continue;
		r = rec_write_locked(u, &u->v[i]);
		if (r < 0)
			rc = r;
		else
			u->v[i].dirty = 0;
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}
