/* ddtstore_files.h - ddtstore's file commands (ingest, check, cat: `ddtstore
 * NAME` runs cmd_NAME), and the recipes they keep, which scrub reads too
 * to name the files a lost container held a part of. */
#ifndef DDTSTORE_FILES_H
#define DDTSTORE_FILES_H

#include <stdint.h>
#include <stdio.h>

#include "ddtstore_common.h"
#include "fp.h"

/* A recipe is STORE/RECIPE_DIR/<sha256 of the path>RECIPE_EXT (see
 * ddtstore_files.c). */
#define RECIPE_DIR   "recipes"
#define RECIPE_EXT   ".recipe"

/* The next "<hex> <len>" line of the recipe f at rpath; *lineno counts the
 * lines read. Returns 1, 0 at the end, or -EBADMSG (-EIO) with a message. */
int ddts_recipe_next(FILE *f, const char *rpath, unsigned *lineno,
		     fp_t *out_fp, uint32_t *out_len);

int cmd_ingest(const opts *o, int argc, char **argv);
int cmd_check(const opts *o, int argc, char **argv);
int cmd_cat(const opts *o, int argc, char **argv);

#endif
