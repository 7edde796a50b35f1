/* bloom.h - the summary vector: an in-memory Bloom filter over every stored
 * fingerprint, so that new data ("certainly not stored") never costs an index
 * lookup (DDFS, FAST '08). */
#ifndef BLOOM_H
#define BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

typedef struct bloom bloom;

/* A filter sized for `capacity` fingerprints at about 0.5% false positives.
 * Returns 0 or -ENOMEM. */
int bloom_new(bloom **out, uint64_t capacity);
void bloom_free(bloom *b);

void bloom_add(bloom *b, const fp_t *fp);
/* 0: certainly absent; 1: perhaps present. */
int bloom_maybe(const bloom *b, const fp_t *fp);

uint64_t bloom_count(const bloom *b);		/* fingerprints added */
uint64_t bloom_capacity(const bloom *b);
size_t bloom_bytes(const bloom *b);

#endif
