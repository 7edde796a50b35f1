/* ddtstore_maint.h - ddtstore's upkeep commands (`ddtstore NAME` runs
 * cmd_NAME): scrub, take and list checkpoints, restore from one. */
#ifndef DDTSTORE_MAINT_H
#define DDTSTORE_MAINT_H

#include "ddtstore_common.h"

int cmd_scrub(const opts *o, int argc, char **argv);
int cmd_checkpoint(const opts *o, int argc, char **argv);
int cmd_checkpoints(const opts *o, int argc, char **argv);
int cmd_restore_checkpoint(const opts *o, int argc, char **argv);

#endif
