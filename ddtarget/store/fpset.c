/* fpset.c - an open-addressing hash set of whole fingerprints. The
 * fingerprint is a uniform hash already, so its first bytes index the
 * table; linear probing, grown at half full, never shrunk. */
#include "fpset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FPS_MIN 1024

struct fpset {
	fp_t *tab;
	uint8_t *used;
	size_t size, count;	/* size is a power of two */
};

static int alloc_table(fpset *s, size_t size)
{
	s->tab = malloc(size * sizeof(*s->tab));
	s->used = calloc(size, 1);
	if (!s->tab || !s->used) {
		free(s->tab);
		free(s->used);
		return -ENOMEM;
	}
	s->size = size;
	return 0;
}

int fpset_new(fpset **out)
{
	fpset *s = calloc(1, sizeof(*s));

	if (!s || alloc_table(s, FPS_MIN) < 0) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void fpset_free(fpset *s)
{
	if (!s)
		return;
	free(s->tab);
	free(s->used);
	free(s);
}

/* Where fp is, or the empty slot where it would go. */
static size_t probe(const fpset *s, const fp_t *fp)
{
	size_t i = (size_t)fp_hash64(fp) & (s->size - 1);

	while (s->used[i] && !fp_equal(&s->tab[i], fp))
		i = (i + 1) & (s->size - 1);
	return i;
}

static int grow(fpset *s)
{
	fpset old = *s;

	if (alloc_table(s, old.size * 2) < 0) {
		*s = old;
		return -ENOMEM;
	}
	s->count = old.count;
	for (size_t i = 0; i < old.size; i++) {
		if (old.used[i]) {
			size_t j = probe(s, &old.tab[i]);

			s->tab[j] = old.tab[i];
			s->used[j] = 1;
		}
	}
	free(old.tab);
	free(old.used);
	return 0;
}

int fpset_add(fpset *s, const fp_t *fp)
{
	size_t i;

	if ((s->count + 1) * 2 > s->size && grow(s) < 0)
		return -ENOMEM;
	i = probe(s, fp);
	if (s->used[i])
		return 0;
	s->tab[i] = *fp;
	s->used[i] = 1;
	s->count++;
	return 1;
}

int fpset_has(const fpset *s, const fp_t *fp)
{
	return s->used[probe(s, fp)];
}

size_t fpset_count(const fpset *s)
{
	return s->count;
}

void fpset_clear(fpset *s)
{
	memset(s->used, 0, s->size);
	s->count = 0;
}
