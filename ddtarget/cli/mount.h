/* mount.h - ddt mount (mount.c): a storage unit as a file system. */
#ifndef DDT_MOUNT_H
#define DDT_MOUNT_H

#include "cmd.h"

int cmd_mount(const cmd *cm, const gopts *g, int argc, char **argv);

#endif
