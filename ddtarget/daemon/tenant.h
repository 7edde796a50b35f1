/* tenant.h - domains (tenants) in the session layer (PROTOCOL.md, Users
 * and roles): a session sees, opens, writes and reads only the storage
 * units of its user's domain. Another domain's unit answers as one that
 * does not exist (DDT_ENOENT, with the engine's own line), so not even its
 * name leaks. The system domain's admin and status users see every unit.
 * Each handler calls these on the units and inodes its request names,
 * after parsing and before it acts. */
#ifndef DDTD_TENANT_H
#define DDTD_TENANT_H

#include <stdint.h>

#include "ns.h"
#include "req.h"

/* 0 if q may see the unit named name (and *out, may be NULL, gets it);
 * -ENOENT "no storage unit" for another domain's, as for none. */
int tenant_su(req *q, const char *name, ns_su *out);

/* 0 if q may see inode ino; -ENOENT "inode N does not exist" for one in
 * another domain's unit, as for none. */
int tenant_ino(req *q, uint64_t ino);

/* Whether q may see alert id: one that names a unit (quota-soft:U,
 * streams:U, anomaly:U, ...) only if it may see U; the others (the
 * target's own) always. */
int tenant_alert(req *q, const char *id);

/* The text q is shown of alert id: its own, but where it names other
 * domains' units (scrub-lost names affected backups), a line that names
 * none. */
const char *tenant_alert_text(const req *q, const char *id,
			      const char *text);

/* -EPERM unless q's user is an admin of the system domain: the target's
 * own maintenance (checkpoints, cleaning, scrubs) is not a tenant's. */
int tenant_need_system_admin(const req *q, const char *what);

/* ns_su_list() of the units q may see only. */
int tenant_su_list(req *q, ns_su_cb cb, void *arg);

#endif
