/* ops_sections.h - the session layer's requests, one file per section of
 * PROTOCOL.md section 5, each listing its opcodes' handlers (ended by a
 * NULL handler); ops.c dispatches from these and answers HELLO and AUTH
 * itself. */
#ifndef DDTD_OPS_SECTIONS_H
#define DDTD_OPS_SECTIONS_H

#include "req.h"

extern const req_handler ops_status_handlers[];	/* ops_status.c */
extern const req_handler ops_su_handlers[];	/* ops_su.c */
extern const req_handler ops_ns_handlers[];	/* ops_ns.c */
extern const req_handler ops_write_handlers[];	/* ops_write.c */
extern const req_handler ops_read_handlers[];	/* ops_read.c */
extern const req_handler ops_backup_handlers[];	/* ops_backup.c */
extern const req_handler ops_maint_handlers[];	/* ops_maint.c */
extern const req_handler ops_users_handlers[];	/* ops_users.c */
extern const req_handler ops_tokens_handlers[];	/* ops_tokens.c */

#endif
