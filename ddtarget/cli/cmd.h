/* cmd.h - what every ddt command stands on: the parsed command line, a
 * command's entry in the table, and the helpers each command calls
 * (cmd.c): the usage error, the login, names, finding BACKUP. ddt.c (the
 * command line, the table) and admin.c (the target's upkeep) use it. */
#ifndef DDT_CMD_H
#define DDT_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* Where the password is kept when neither --password-file nor
 * $DDT_PASSWORD gives it: under $HOME. */
#define CMD_PASSWORD_FILE	".config/ddt/password"

/* Options other than the connection's, and which command takes which. */
enum {
	OP_SU = 1 << 0,
	OP_NAME = 1 << 1,
	OP_PATH = 1 << 2,
	OP_FORCE = 1 << 3,
	OP_RECURSIVE = 1 << 4,
	OP_ONE_FS = 1 << 5,
	OP_NO_CACHE = 1 << 6,
	OP_QUIET = 1 << 7,
	OP_CODEC = 1 << 8,
	OP_RETAIN = 1 << 9,
	OP_DRY_RUN = 1 << 10,
	OP_RETENTION = 1 << 11,
	OP_LOCK = 1 << 12,
	OP_QUOTA = 1 << 13,
	OP_NO_REPAIR = 1 << 14,
	OP_SOFT_QUOTA = 1 << 15,
	OP_BACKUP_STREAMS = 1 << 16,
	OP_RESTORE_STREAMS = 1 << 17,
	OP_JSON = 1 << 18,
	OP_DOMAIN = 1 << 19,
	OP_LEVEL = 1 << 20,
	OP_PASSWORD_STDIN = 1 << 21,
};

typedef struct gopts {
	const char *host, *user, *password_file;
	int port;
	char where[320];	/* host:port or the local socket, for messages */
	/* TLS: --no-tls, --tls-fingerprint, --tls-ca, --known-hosts (NULL,
	 * 0: as the environment says, ddtc_opts_default) */
	int no_tls;
	const char *tls_fingerprint, *tls_ca, *known_hosts;
	const char *su, *name, *path;
	const char *domain;	/* --domain */
	int level;		/* --level: a DDT_ROLE_* */
	unsigned given;		/* OP_* seen on the command line */
	int codec;		/* --codec: enum codec_id of new segments */
	int64_t retain;		/* --retain: seconds, or DDT_RETAIN_NEVER */
	uint64_t retention;	/* --retention: seconds; 0 forever */
	uint64_t quota;		/* --quota: bytes; 0 none */
	uint64_t quota_soft;	/* --soft-quota: bytes; 0 none */
	/* --backup-streams, --restore-streams SOFT:HARD (0: none), in
	 * ddtc_su_settings' order: backup soft, hard, restore soft, hard */
	uint32_t streams[4];
} gopts;

typedef struct cmd {
	const char *name;
	int (*fn)(const struct cmd *cmd, const gopts *g, int argc,
		  char **argv);
	int min_args, max_args;
	unsigned takes;		/* OP_* accepted */
	unsigned needs;		/* OP_* required */
	const char *usage;	/* after "ddt NAME " */
	const char *help;	/* what it does, and its own options */
} cmd;

/* ---- helpers (cmd.c) ---- */

/* "ddt: <fmt...> (run 'ddt [C ]--help' for usage)" on stderr; c may be
 * NULL. Returns EXIT_USAGE. */
int cmd_usage_error(const cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The password for g's user: --password-file, $DDT_PASSWORD, or
 * ~/CMD_PASSWORD_FILE, in that order. 0, or the exit status after the
 * error line. */
int cmd_password(const gopts *g, char *buf, size_t cap);

/* Connect to g's target and log in with the password from where g and
 * the environment say; seg_cache: keep the segment cache (writers only).
 * 0 with *out the session, or the exit status after the error line. */
int cmd_login(const gopts *g, int seg_cache, ddtc **out);

/* 1 if s is a protocol name of 1 to max bytes (letters, digits, '-', '_',
 * '.'; not "." or ".."), else 0. */
int cmd_name_valid(const char *s, size_t max);

/* The backups of a storage unit, oldest first. */
typedef struct cmd_backups {
	ddtc_backup *v;		/* free() it */
	size_t n, cap;
} cmd_backups;

/* Append the backups of storage unit su to l and sort them, oldest first.
 * 0, or the exit status after the error line. */
int cmd_list_backups(ddtc *c, const char *su, cmd_backups *l);

/* Log in and find BACKUP arg in storage unit g->su: a full id, a name for
 * its newest complete backup, or "latest"; exact: only a full id will do.
 * 0 with *out the session (the caller closes it) and *b the backup, or
 * the exit status after the error line. */
int cmd_open_backup(const gopts *g, const char *arg, int exact, ddtc **out,
		    ddtc_backup *b);

#endif
