/* backup.h - ddt backup: mirror a local directory tree into a new backup
 * on the target (BACKUP_BEGIN ... BACKUP_END), skipping the reading of
 * files the file cache knows unchanged. */
#ifndef DDT_BACKUP_H
#define DDT_BACKUP_H

#include "ddtc.h"

typedef struct backup_opts {
	const char *dir;	/* the tree to back up */
	const char *su;		/* storage unit */
	const char *name;	/* backup name; NULL: from dir's base name */
	const char *host;	/* the target, to name the file cache */
	int port;
	int one_fs;		/* do not descend into other file systems */
	int show_progress;	/* a progress line if stderr is a terminal */
	int no_cache;		/* neither use nor update the file cache */
	int64_t retain;		/* seconds kept; DDT_RETAIN_DEFAULT: the
				   unit's retention; DDT_RETAIN_NEVER */
} backup_opts;

/* What backup_run() returns after SIGINT or SIGTERM stopped it: this plus
 * the signal's number, as a shell reports a command the signal ended. */
#define BACKUP_EXIT_SIGNAL 128

/* Run the backup on session c. Prints warnings, errors and the summary;
 * returns the exit status: 0; EXIT_PARTIAL when the backup completed but
 * some entries could not be read or stored (each named in a warning);
 * EXIT_RUNTIME after a failure; BACKUP_EXIT_SIGNAL + the signal when
 * SIGINT or SIGTERM stopped it, having removed the incomplete backup (a
 * second signal ends the process at once, leaving it). */
int backup_run(ddtc *c, const backup_opts *o);

/* After backup_run() returned BACKUP_EXIT_SIGNAL + sig, end the process by
 * sig, so that a shell running ddt stops as it does for a command that
 * ^C ended; returns only if it could not. */
void backup_die_by_signal(int status);

/* The default backup name for dir: its base name with every byte outside
 * [A-Za-z0-9._-] replaced by '_' ("root" for "/"). out holds 256. */
void backup_default_name(const char *dir, char *out);

#endif
