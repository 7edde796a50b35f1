/* fpcache.c - the locality-preserved cache: an LRU list of containers plus
 * one open-addressing table over all their fingerprints.
 *
 * The table holds 16-byte entries (the fingerprint's 64-bit hash, the owning
 * record and the slot); the full fingerprint lives once, in its record's
 * array beside the segment's raw length, and is compared only when the
 * hash matches. Linear probing keeps a
 * probe within one or two cache lines, and deletion shifts later entries back
 * (no tombstones), so evicting a container leaves the table as if it had
 * never been there. The handful of records is scanned linearly by cid: that
 * happens only after an index lookup, which costs far more. */
#include "fpcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

/* A cached segment: its name, and its raw length for the lookups that
 * check a tree's figures (store_lookup). */
typedef struct fpcache_seg {
	fp_t fp;
	uint32_t raw_len;
} fpcache_seg;

typedef struct fpcache_rec {
	uint64_t cid;
	fpcache_seg *segs;
	uint32_t n, cap;
	int used, pinned;
	uint32_t prev, next;	/* LRU list: head is most recent */
} fpcache_rec;

typedef struct fpcache_slot {
	uint64_t h;
	uint32_t rec;		/* NIL: empty */
	uint32_t slot;
} fpcache_slot;

struct fpcache {
	fpcache_rec *recs;
	uint32_t nrecs, recs_cap;
	size_t max_unpinned, unpinned;
	uint32_t head, tail;
	fpcache_slot *tab;
	size_t tab_size, tab_count;	/* size is a power of two */
};

static int tab_alloc(fpcache_slot **out, size_t size)
{
	fpcache_slot *t = malloc(size * sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++)
		t[i].rec = NIL;
	*out = t;
	return 0;
}

int fpcache_new(fpcache **out, size_t max_containers)
{
	fpcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max_unpinned = max_containers ? max_containers : 1;
	c->head = c->tail = NIL;
	c->tab_size = 1 << 14;
	if (tab_alloc(&c->tab, c->tab_size) < 0) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void fpcache_free(fpcache *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nrecs; i++)
		free(c->recs[i].segs);
	free(c->recs);
	free(c->tab);
	free(c);
}

static void lru_unlink(fpcache *c, uint32_t i)
{
	fpcache_rec *r = &c->recs[i];

	if (r->prev != NIL)
		c->recs[r->prev].next = r->next;
	else
		c->head = r->next;
	if (r->next != NIL)
		c->recs[r->next].prev = r->prev;
	else
		c->tail = r->prev;
	r->prev = r->next = NIL;
}

static void lru_push_front(fpcache *c, uint32_t i)
{
	fpcache_rec *r = &c->recs[i];

	r->prev = NIL;
	r->next = c->head;
	if (c->head != NIL)
		c->recs[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static uint32_t find_rec(const fpcache *c, uint64_t cid)
{
	for (uint32_t i = 0; i < c->nrecs; i++)
		if (c->recs[i].used && c->recs[i].cid == cid)
			return i;
	return NIL;
}

int fpcache_has_container(const fpcache *c, uint64_t cid)
{
	return find_rec(c, cid) != NIL;
}

static size_t probe_start(const fpcache *c, uint64_t h)
{
	/* The low bytes also pick Bloom blocks; mix before masking. */
	return (size_t)((h * 0x9E3779B97F4A7C15ull) >> 17) & (c->tab_size - 1);
}

static void tab_put(fpcache *c, uint64_t h, uint32_t rec, uint32_t slot)
{
	size_t mask = c->tab_size - 1, i = probe_start(c, h);

	while (c->tab[i].rec != NIL)
		i = (i + 1) & mask;
	c->tab[i].h = h;
	c->tab[i].rec = rec;
	c->tab[i].slot = slot;
	c->tab_count++;
}

static int tab_grow(fpcache *c, size_t want)
{
	fpcache_slot *old = c->tab;
	size_t old_size = c->tab_size, size = c->tab_size;

	while (want * 2 > size)
		size *= 2;
	if (size == old_size)
		return 0;
	if (tab_alloc(&c->tab, size) < 0) {
		c->tab = old;
		return -ENOMEM;
	}
	c->tab_size = size;
	c->tab_count = 0;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].rec != NIL)
			tab_put(c, old[i].h, old[i].rec, old[i].slot);
	free(old);
	return 0;
}

/* Backward-shift deletion: move later members of the probe run into the
 * hole when their home slot allows it, so lookups never need tombstones. */
static void tab_delete_at(fpcache *c, size_t hole)
{
	size_t mask = c->tab_size - 1, i = hole;

	for (;;) {
		i = (i + 1) & mask;
		if (c->tab[i].rec == NIL)
			break;
		size_t home = probe_start(c, c->tab[i].h);
		/* Can entry i move to hole? Only if its home is not in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			c->tab[hole] = c->tab[i];
			hole = i;
		}
	}
	c->tab[hole].rec = NIL;
	c->tab_count--;
}

static void tab_remove(fpcache *c, uint64_t h, uint32_t rec, uint32_t slot)
{
	size_t mask = c->tab_size - 1, i = probe_start(c, h);

	for (; c->tab[i].rec != NIL; i = (i + 1) & mask) {
		if (c->tab[i].rec == rec && c->tab[i].slot == slot) {
			tab_delete_at(c, i);
			return;
		}
	}
}

int fpcache_lookup(fpcache *c, const fp_t *fp, uint64_t *out_cid,
		   uint32_t *out_slot, uint32_t *out_raw_len)
{
	uint64_t h = fp_hash64(fp);
	size_t mask = c->tab_size - 1, i = probe_start(c, h);

	for (; c->tab[i].rec != NIL; i = (i + 1) & mask) {
		fpcache_slot *s = &c->tab[i];
		fpcache_rec *r;

		if (s->h != h)
			continue;
		r = &c->recs[s->rec];
		if (!fp_equal(&r->segs[s->slot].fp, fp))
			continue;
		if (c->head != s->rec && !r->pinned) {
			lru_unlink(c, s->rec);
			lru_push_front(c, s->rec);
		}
		*out_cid = r->cid;
		*out_slot = s->slot;
		if (out_raw_len)
			*out_raw_len = r->segs[s->slot].raw_len;
		return 1;
	}
	return 0;
}

static void drop_rec(fpcache *c, uint32_t i)
{
	fpcache_rec *r = &c->recs[i];

	for (uint32_t s = 0; s < r->n; s++)
		tab_remove(c, fp_hash64(&r->segs[s].fp), i, s);
	if (!r->pinned) {
		lru_unlink(c, i);
		c->unpinned--;
	}
	free(r->segs);
	memset(r, 0, sizeof(*r));
	r->prev = r->next = NIL;
}

static int new_rec(fpcache *c, uint32_t *out)
{
	for (uint32_t i = 0; i < c->nrecs; i++)
		if (!c->recs[i].used) {
			*out = i;
			return 0;
		}
	if (c->nrecs == c->recs_cap) {
		uint32_t ncap = c->recs_cap ? c->recs_cap * 2 : 16;
		fpcache_rec *nr = realloc(c->recs, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->recs = nr;
		c->recs_cap = ncap;
	}
	*out = c->nrecs++;
	return 0;
}

int fpcache_insert(fpcache *c, uint64_t cid, const ctr_entry *ents, uint32_t n,
		   int pinned)
{
	uint32_t i = find_rec(c, cid);
	fpcache_rec *r;
	int rc;

	if (i != NIL)
		drop_rec(c, i);
	if (!pinned && c->unpinned >= c->max_unpinned && c->tail != NIL)
		drop_rec(c, c->tail);
	rc = tab_grow(c, c->tab_count + n);
	if (rc == 0)
		rc = new_rec(c, &i);
	if (rc < 0)
		return rc;
	r = &c->recs[i];
	memset(r, 0, sizeof(*r));
	r->cap = n ? n : 16;
	r->segs = malloc(r->cap * sizeof(*r->segs));
	if (!r->segs)
		return -ENOMEM;
	r->cid = cid;
	r->used = 1;
	r->pinned = !!pinned;	/* fpcache_pin compares with !!pinned */
	r->prev = r->next = NIL;
	for (uint32_t s = 0; s < n; s++) {
		r->segs[s].fp = ents[s].fp;
		r->segs[s].raw_len = ents[s].raw_len;
		if (!ents[s].moved)	/* superseded: not to be found here */
			tab_put(c, fp_hash64(&ents[s].fp), i, s);
	}
	r->n = n;
	if (!pinned) {
		lru_push_front(c, i);
		c->unpinned++;
	}
	return 0;
}

int fpcache_append(fpcache *c, uint64_t cid, const fp_t *fp, uint32_t raw_len)
{
	uint32_t i = find_rec(c, cid);
	fpcache_rec *r;

	if (i == NIL)
		return -ENOENT;
	if (tab_grow(c, c->tab_count + 1) < 0)
		return -ENOMEM;
	r = &c->recs[i];
	if (r->n == r->cap) {
		fpcache_seg *ns = realloc(r->segs, (size_t)r->cap * 2 *
					  sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		r->segs = ns;
		r->cap *= 2;
	}
	r->segs[r->n].fp = *fp;
	r->segs[r->n].raw_len = raw_len;
	tab_put(c, fp_hash64(fp), i, r->n);
	r->n++;
	return 0;
}

void fpcache_pin(fpcache *c, uint64_t cid, int pinned)
{
	uint32_t i = find_rec(c, cid);
	fpcache_rec *r;

	if (i == NIL || c->recs[i].pinned == !!pinned)
		return;
	r = &c->recs[i];
	r->pinned = !!pinned;
	if (pinned) {
		lru_unlink(c, i);
		c->unpinned--;
	} else {
		lru_push_front(c, i);
		c->unpinned++;
		if (c->unpinned > c->max_unpinned && c->tail != i)
			drop_rec(c, c->tail);
	}
}

void fpcache_remove(fpcache *c, uint64_t cid)
{
	uint32_t i = find_rec(c, cid);

	if (i != NIL)
		drop_rec(c, i);
}

size_t fpcache_containers(const fpcache *c)
{
	size_t n = 0;

	for (uint32_t i = 0; i < c->nrecs; i++)
		n += c->recs[i].used;
	return n;
}

size_t fpcache_fingerprints(const fpcache *c)
{
	return c->tab_count;
}
