/* admin.h - the ddt commands of admin.c, which look after the target rather
 * than move data; ddt.c's command table names them: ddt NAME runs
 * cmd_NAME. */
#ifndef DDT_ADMIN_H
#define DDT_ADMIN_H

#include "cmd.h"

int cmd_retain(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_expire(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_status(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_alerts(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_scrub(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_clean(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_su(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_checkpoint(const cmd *cm, const gopts *g, int argc, char **argv);

#endif
