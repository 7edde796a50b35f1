/* ops_audit.h - what the session layer tells the audit log (audit.h): a
 * login and its refusal, every request that changes units, backups or
 * retention or starts maintenance (with its arguments, read again from
 * the request), refused or not, and a session's first READ of a unit's
 * files (a restore). */
#ifndef DDTD_OPS_AUDIT_H
#define DDTD_OPS_AUDIT_H

#include "req.h"

/* After AUTH: rc 0 (logged in with role) or the refusal. */
void ops_audit_login(const req *q, const char *user, int role, int rc);

/* After any request's handler: the audited opcodes log; args is the
 * request's payload as it came (before the handler read it). */
void ops_audit_request(const req *q, const rbuf *args, int rc);

/* A session reads files of the unit whose root is unit: logged the first
 * time of the session (of its last few units). */
void ops_audit_read(const req *q, uint64_t unit);

#endif
