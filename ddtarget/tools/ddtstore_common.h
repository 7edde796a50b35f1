/* ddtstore_common.h - what every ddtstore command shares: the parsed
 * options, the error lines, and the store opened as the options say
 * (ddtstore_common.c). ddtstore.c parses the options and runs a command of
 * ddtstore_files.c or ddtstore_maint.c, each of which calls down to here. */
#ifndef DDTSTORE_COMMON_H
#define DDTSTORE_COMMON_H

#include <stdint.h>

#include "store.h"

#define PROG "ddtstore"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

typedef struct opts {
	const char *root;
	int root_given;		/* -s on the command line */
	int k, m;		/* 0: the default */
	int codec;
	int no_repair;		/* scrub */
	uint64_t rate;		/* scrub: bytes a second, 0: no limit */
	const char *ckpt_dir;	/* --dir; NULL: root/checkpoints */
	int keep;		/* --keep; 0: the default */
} opts;

/* "ddtstore: <what>: <why> (<todo>)", <what> from fmt, <why> the ddterr
 * message behind rc. Returns EXIT_RUNTIME, so that callers can
 * `return ddts_fail(...)`. */
int ddts_fail(int rc, const char *todo, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, for errno failures of plain system calls. */
int ddts_fail_errno(int err, const char *todo, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "ddtstore: <fmt...> (run 'ddtstore --help' for usage)". Returns
 * EXIT_USAGE. */
int ddts_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The store as the tool owns it (store.h): its root's lock, its index,
 * and the store on them. */
typedef struct ddts_store {
	store_lock *lock;
	struct idx *ix;
	store *s;
} ddts_store;

/* Open the store o names (create: make its directory if missing), with
 * o's k and m. 0, or EXIT_RUNTIME after the error line. */
int ddts_open_store(const opts *o, int create, ddts_store *out);
/* Close it; 0, or EXIT_RUNTIME after the error line. */
int ddts_close_store(ddts_store *h, const char *root);

#endif
