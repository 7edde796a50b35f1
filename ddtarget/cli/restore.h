/* restore.h - ddt restore: recreate a backup, or a part of one, in a local
 * directory: files, directories, symbolic links, hard links, modes, times,
 * and owners when run as root. */
#ifndef DDT_RESTORE_H
#define DDT_RESTORE_H

#include <stdint.h>

#include "ddtc.h"

typedef struct restore_opts {
	const char *backup;	/* the backup's id, for messages */
	uint64_t ino;		/* its directory on the target */
	const char *path;	/* a path inside it; NULL or "": all of it */
	const char *dir;	/* where to restore to */
	int force;		/* into a non-empty dir, replacing entries */
	int show_progress;
	uint64_t total;		/* bytes expected, for the ETA; 0: unknown */
} restore_opts;

/* A directory's contents go into dir; a file or a symbolic link becomes
 * dir/<its name>. dir is created if missing and must be empty unless
 * force. Prints warnings, errors and the summary; returns the exit status:
 * 0, or EXIT_RUNTIME after a failure or when any entry was not restored. */
int restore_run(ddtc *c, const restore_opts *o);

#endif
