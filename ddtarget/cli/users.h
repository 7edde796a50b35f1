/* users.h - `ddt user`: users managed online, and `ddt token`: API
 * tokens (users.c). */
#ifndef DDT_USERS_H
#define DDT_USERS_H

#include "cmd.h"

int cmd_user(const cmd *cm, const gopts *g, int argc, char **argv);
int cmd_token(const cmd *cm, const gopts *g, int argc, char **argv);

#endif
