/* attrc.c - the READ attribute cache (attrc.h): a fixed table indexed by
 * inode, each entry stamped with the cache's generation and the time it
 * was read; clearing is one increment of the generation. */
#include "attrc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ddterr.h"
#include "now.h"

#define SLOTS	1024	/* files read at once that keep their entry */

typedef struct slot {
	uint64_t ino, gen;
	int64_t at;
	ddt_attr a;
} slot;

struct attrc {
	pthread_mutex_t mu;
	atomic_uint_fast64_t gen;	/* starts at 1: 0 marks an empty slot */
	int64_t ttl;
	slot s[SLOTS];
};

int attrc_new(attrc **out, int64_t ttl_ns)
{
	attrc *c = calloc(1, sizeof(*c));

	if (!c)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	atomic_init(&c->gen, 1);
	c->ttl = ttl_ns;
	*out = c;
	return 0;
}

void attrc_free(attrc *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static slot *slot_of(attrc *c, uint64_t ino)
{
	return &c->s[(ino * 0x9e3779b97f4a7c15ull) >> 54];	/* 10 bits */
}

int attrc_get(attrc *c, uint64_t ino, ddt_attr *out, uint64_t *gen)
{
	slot *s = slot_of(c, ino);
	int hit;

	*gen = atomic_load(&c->gen);
	if (c->ttl <= 0)
		return 0;
	pthread_mutex_lock(&c->mu);
	hit = s->ino == ino && s->gen == *gen &&
	      now_mono_ns() - s->at < c->ttl;
	if (hit)
		*out = s->a;
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void attrc_put(attrc *c, const ddt_attr *a, uint64_t gen)
{
	slot *s = slot_of(c, a->ino);

	if (c->ttl <= 0)
		return;
	pthread_mutex_lock(&c->mu);
	/* Read before a change that has begun since: not to be kept. */
	if (gen == atomic_load(&c->gen)) {
		s->ino = a->ino;
		s->gen = gen;
		s->at = now_mono_ns();
		s->a = *a;
	}
	pthread_mutex_unlock(&c->mu);
}

void attrc_clear(attrc *c)
{
	atomic_fetch_add(&c->gen, 1);
}
