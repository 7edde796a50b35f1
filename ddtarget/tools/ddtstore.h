/* ddtstore.h - what ddtstore.c (options, main, stats), ddtstore_files.c
 * (ingest, check, cat) and ddtstore_maint.c (scrub, the checkpoints) share:
 * the parsed options, the error lines, opening the store, reading a recipe,
 * and the commands main() names. Not for other files. */
#ifndef DDTSTORE_H
#define DDTSTORE_H

#include <stdint.h>
#include <stdio.h>

#include "fp.h"
#include "store.h"

#define PROG "ddtstore"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* A recipe is STORE/RECIPE_DIR/<sha256 of the path>RECIPE_EXT (see
 * ddtstore.c). */
#define RECIPE_DIR   "recipes"
#define RECIPE_EXT   ".recipe"

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

/* ---- ddtstore.c ---- */

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

/* The next "<hex> <len>" line of the recipe f at rpath; *lineno counts the
 * lines read. Returns 1, 0 at the end, or -EBADMSG (-EIO) with a message. */
int ddts_recipe_next(FILE *f, const char *rpath, unsigned *lineno,
		     fp_t *out_fp, uint32_t *out_len);

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

/* ---- ddtstore_files.c and ddtstore_maint.c: ddtstore NAME runs
 * cmd_NAME ---- */

int cmd_ingest(const opts *o, int argc, char **argv);
int cmd_check(const opts *o, int argc, char **argv);
int cmd_cat(const opts *o, int argc, char **argv);

int cmd_scrub(const opts *o, int argc, char **argv);
int cmd_checkpoint(const opts *o, int argc, char **argv);
int cmd_checkpoints(const opts *o, int argc, char **argv);
int cmd_restore_checkpoint(const opts *o, int argc, char **argv);

#endif
