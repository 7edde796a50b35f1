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
	size_t max_bytes, bytes;	/* of the entries in slots */
	uint64_t clock;
};

int ctrcache_new(ctrcache **out, size_t max, size_t max_bytes)
{
	ctrcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max ? max : 1;
	c->max_bytes = max_bytes;
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

static void empty_slot(ctrcache *c, size_t i)
{
	c->bytes -= c->slots[i]->bytes;
	unref(c->slots[i]);
	c->slots[i] = NULL;
}

void ctrcache_free(ctrcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->max; i++)
		if (c->slots[i])
			empty_slot(c, i);
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

/* The least recently used entry's slot, emptied; or an empty slot when
 * there is one and the bytes of the others leave room for more. */
static size_t victim(ctrcache *c, size_t more)
{
	size_t best = c->max, empty = c->max;

	for (size_t i = 0; i < c->max; i++) {
		if (!c->slots[i]) {
			empty = i;
			continue;
		}
		if (best == c->max ||
		    c->slots[i]->last_use < c->slots[best]->last_use)
			best = i;
	}
	if (empty < c->max &&
	    (!c->max_bytes || c->bytes + more <= c->max_bytes || best == c->max))
		return empty;
	empty_slot(c, best);
	return best;
}

ctrcache_ent *ctrcache_put(ctrcache *c, uint64_t cid, uint8_t *buf,
			   ctr_view *view, size_t bytes)
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
	e->bytes = bytes;
	/* Decompressed regions make entries of many sizes: evict by bytes
	 * too, down to one entry. */
	for (;;) {
		i = victim(c, bytes);
		if (!c->max_bytes || c->bytes + bytes <= c->max_bytes ||
		    c->bytes == 0)
			break;
	}
	c->bytes += bytes;
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
		if (c->slots[i] && c->slots[i]->cid == cid)
			empty_slot(c, i);
	}
}
