/* fpset.h - an exact set of fingerprints in memory.
 *
 * Where a Bloom filter's "maybe" is not good enough: the fingerprints the
 * cleaner must keep because a writer was just told they exist, and the
 * metadata segments a walk has already expanded. Not thread-safe. */
#ifndef FPSET_H
#define FPSET_H

#include <stddef.h>

#include "fp.h"

typedef struct fpset fpset;

int fpset_new(fpset **out);
void fpset_free(fpset *s);

/* 1 if added, 0 if it was there already, -ENOMEM. */
int fpset_add(fpset *s, const fp_t *fp);
int fpset_has(const fpset *s, const fp_t *fp);
size_t fpset_count(const fpset *s);
/* Empty it, keeping its memory. */
void fpset_clear(fpset *s);

#endif
