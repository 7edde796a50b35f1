/* pending.h - segments sent and not yet committed (PROTOCOL.md, Segments
 * sent and not committed): the new bytes each session's SEG_PUTs stored
 * count against the quota of the unit the session writes to until a
 * COMMIT or SET_CONTENT binds as many logical bytes, its backup ends or
 * the session does; a session that names no unit yet may hold only
 * upload_slack_mb so. So no account fills the target with data it never
 * commits. What is never committed is garbage for the next cleans. Kept
 * in memory: a restart forgets it (and the sessions that held it). */
#ifndef DDTD_PENDING_H
#define DDTD_PENDING_H

#include <stdint.h>

typedef struct pending pending;

int pending_new(pending **out);
void pending_free(pending *p);

/* Add delta (may be negative) to unit's pending bytes (unit 0: those of
 * sessions that named no unit yet, counted in the total only). */
void pending_add(pending *p, uint64_t unit, int64_t delta);
/* Unit's pending bytes, and every unit's. */
uint64_t pending_of(pending *p, uint64_t unit);
uint64_t pending_total(pending *p);

#endif
