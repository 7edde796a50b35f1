/* attrc.h - a short-lived cache of file attributes for NFS READs. A
 * client reading a file sends one READ after another, each naming the
 * file by handle, and each would cost a GETATTR round trip to the target
 * before the data (already fetched ahead) could go out. Attributes read
 * less than the cache's lifetime ago serve instead, as a client's own
 * attribute cache does; anything this gateway does to the namespace or a
 * file's content empties the cache, at its start and at its end, so a
 * READ never sees attributes older than this gateway's last change. */
#ifndef ATTRC_H
#define ATTRC_H

#include <stdint.h>

#include "ddtc_types.h"

typedef struct attrc attrc;

/* ttl_ns 0: a cache that never holds anything. */
int attrc_new(attrc **out, int64_t ttl_ns);
void attrc_free(attrc *c);

/* 1 and *out if ino's attributes are held and fresh, else 0 and *gen:
 * the stamp to store them with once read (attrc_put). */
int attrc_get(attrc *c, uint64_t ino, ddt_attr *out, uint64_t *gen);
/* Keep a, read under stamp gen (dropped if the cache was emptied since). */
void attrc_put(attrc *c, const ddt_attr *a, uint64_t gen);
/* Forget everything: a change is starting or has ended. */
void attrc_clear(attrc *c);

#endif
