/* ctrcache.c - a small LRU of decoded containers (see ctrcache.h).
 *
 * A handful of entries, each megabytes: a linear scan over an array beats
 * any list or hash here, and eviction picks the least recently used entry
 * that no reader holds. An entry that is evicted while held is detached
 * and freed by its last ctrcache_release(). */
#include "ctrcache.h"

#include <errno.h>
#include <stdlib.h>

struct ctrcache {
	ctrcache_ent **slots;
	size_t max;
	uint64_t clock;
};

int ctrcache_new(ctrcache **out, size_t max)
{
	ctrcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max ? max : 1;
	c->slots = calloc(c->max, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static void ent_free(ctrcache_ent *e)
{
	ctr_view_free(&e->view);
	free(e->buf);
	free(e);
}

/* The cache's own reference is one of e->refs while it sits in a slot. */
static void unref(ctrcache_ent *e)
{
	if (--e->refs == 0)
		ent_free(e);
}

void ctrcache_free(ctrcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->max; i++)
		if (c->slots[i])
			unref(c->slots[i]);
	free(c->slots);
	free(c);
}

ctrcache_ent *ctrcache_get(ctrcache *c, uint64_t cid)
{
	for (size_t i = 0; i < c->max; i++) {
		ctrcache_ent *e = c->slots[i];

		if (e && e->cid == cid) {
			e->refs++;
			e->last_use = ++c->clock;
			return e;
		}
	}
	return NULL;
}

/* An empty slot, else the least recently used one, emptied. */
static size_t victim(ctrcache *c)
{
	size_t best = 0;

	for (size_t i = 0; i < c->max; i++) {
		if (!c->slots[i])
			return i;
		if (c->slots[i]->last_use < c->slots[best]->last_use)
			best = i;
	}
	unref(c->slots[best]);
	c->slots[best] = NULL;
	return best;
}

ctrcache_ent *ctrcache_put(ctrcache *c, uint64_t cid, uint8_t *buf,
			   ctr_view *view)
{
	ctrcache_ent *e = ctrcache_get(c, cid);
	size_t i;

	if (e) {
		ctr_view_free(view);
		free(buf);
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	i = victim(c);
	e->cid = cid;
	e->buf = buf;
	e->view = *view;
	e->refs = 2;		/* the slot's and the caller's */
	e->last_use = ++c->clock;
	c->slots[i] = e;
	return e;
}

void ctrcache_release(ctrcache *c, ctrcache_ent *e)
{
	(void)c;
	unref(e);
}

void ctrcache_drop(ctrcache *c, uint64_t cid)
{
	for (size_t i = 0; i < c->max; i++) {
		if (c->slots[i] && c->slots[i]->cid == cid) {
			unref(c->slots[i]);
			c->slots[i] = NULL;
		}
	}
}
