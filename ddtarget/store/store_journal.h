/* store_journal.h - what the store's journals went through, for the
 * daemon's log and alerts: the replay at open, and a scrub's check.
 *
 * Until a container is sealed its acknowledged segments live only in its
 * journal, which the store keeps in two copies: one under the root, one in
 * a data directory (another disk). Replay reads each record from a copy
 * that holds it whole, so a damaged copy costs nothing; a record no copy
 * holds is skipped, and the records behind it are kept. A journal that was
 * not whole in every copy is sealed at once rather than written on. */
#ifndef STORE_JOURNAL_H
#define STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_jnl_kind {
	STORE_JNL_LOST = 1,	/* records no copy held: data may be lost */
	STORE_JNL_HEALED,	/* a copy was damaged; the other held it all */
	STORE_JNL_UNMIRRORED,	/* only one copy existed; nothing was lost */
};

#define STORE_JNL_TEXT_MAX 1024

typedef struct store_jnl_event {
	uint64_t cid;
	int kind;		/* enum store_jnl_kind */
	uint32_t records;	/* replayed */
	uint32_t lost_records;	/* about how many no copy held */
	uint64_t lost_bytes;
	char text[STORE_JNL_TEXT_MAX];	/* one line for a person */
} store_jnl_event;

/* What replaying the journals found when the store opened, in container
 * order: *out points into the store and stays
 * valid until store_close; *n is 0 when every journal was whole. */
void store_journal_events(store *s, const store_jnl_event **out, size_t *n);

/* A scrub's look at the journals of the containers not yet sealed. */
typedef struct store_jnl_scrub {
	uint64_t journals;	/* checked */
	uint64_t records;	/* durable records read back */
	uint64_t damaged;	/* with a damaged, missing or dropped copy */
	uint64_t sealed;	/* of those, sealed early (with repair) */
} store_jnl_scrub;

/* Read back every copy of every unsealed container's journal up to what
 * is durable, compare them, and with repair seal early a container whose
 * journal lost a copy or holds a damaged one (its segments are whole in
 * memory; the seal makes them erasure-coded, and retires the journal). */
int store_journal_scrub(store *s, int repair, store_jnl_scrub *out);

#endif
