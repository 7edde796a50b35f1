/* streams.h - the streams active on the target (PROTOCOL.md, Streams): a
 * session's use of a storage unit, as a backup (a backup of the unit open,
 * or a commit into it in the last STREAMS_RECENT_NS), or a restore (a read
 * of its files in that time and no backup stream). Sessions are told apart
 * by an opaque owner pointer; units by their root inode. Held in memory
 * only: after a restart no session is open. The backup admission applies
 * the hard limits under the same lock that counts, so two sessions racing
 * for the last stream cannot both have it. Thread-safe. */
#ifndef DDTD_STREAMS_H
#define DDTD_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"
#include "units.h"

#define STREAMS_RECENT_NS	(60LL * 1000000000LL)

typedef struct streams streams;

typedef struct streams_count {
	uint32_t backup, restore, replication;
} streams_count;

int streams_new(streams **out);
void streams_free(streams *s);

/* Admit a backup of unit root by owner against the unit's limits and the
 * target's (lim[], 0: none): 0 admitted (its record open, bound to no
 * backup yet), -EBUSY over a hard limit (message: the unit, or "the
 * target", the count and the limit; su names the unit). *over_soft: 1 if
 * the unit's, 2 if the target's soft limit is passed now. A session that
 * is a backup stream of the unit already is always admitted. */
int streams_backup_admit(streams *s, const void *owner, uint64_t root,
			 const char *su, int64_t now,
			 const uint32_t unit_lim[LIM_COUNT],
			 const uint32_t target_lim[LIM_COUNT], int *over_soft);
/* The admitted record's backup is ino, with id (ino 0: it failed to
 * begin, and the record goes). */
void streams_backup_bind(streams *s, const void *owner, uint64_t root,
			 uint64_t ino, const char *id);

/* An open backup as BACKUP_END finds it. */
typedef struct streams_backup {
	uint64_t root;
	uint64_t new_raw;	/* raw bytes of the new segments its session
				   stored while it was open */
	char su[DDT_MAX_NAME + 1];
	char id[DDT_MAX_NAME + 1];
} streams_backup;

/* Backup ino ended (by any session): its record goes. 1 and *out; 0 if
 * there is none (begun before a restart, or ended already). */
int streams_backup_close(streams *s, uint64_t ino, streams_backup *out);

/* owner committed into unit root, or read from it, at now. */
void streams_wrote(streams *s, const void *owner, uint64_t root, int64_t now);
void streams_read(streams *s, const void *owner, uint64_t root, int64_t now);
/* owner stored raw bytes of new segments: counted to its open backups. */
void streams_new_bytes(streams *s, const void *owner, uint64_t raw);
/* owner's session ended: its streams and open backups go. */
void streams_session_end(streams *s, const void *owner);

/* The streams of unit root now; root 0: of every unit, added up. */
void streams_get(streams *s, uint64_t root, int64_t now, streams_count *out);

#endif
