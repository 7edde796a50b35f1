/* poll.h - the poller thread: it alone talks to ddtargetd. Every
 * poll_seconds it reads the target's status through the client library
 * (a status-role session, reopened by itself when the target restarts),
 * builds a whole view (view.h) from it and hands it to the SNMP thread,
 * and queues the alert events since the last poll as traps (trapq.h).
 * When the target cannot be read, the view keeps the last values read
 * with ddtDaemonState unreachable (or refused) and the reason. So the
 * SNMP thread never waits on the target. */
#ifndef DDTSNMP_POLL_H
#define DDTSNMP_POLL_H

#include "snmpconf.h"
#include "trapq.h"
#include "view.h"

typedef struct poller poller;

/* Start the thread. It reads the target once before this returns, so the
 * first view is there from the start. 0 or -errno. */
int poll_start(poller **out, const snmpconf *c, trapq *q);

/* The newest view, if one came since the last call (the caller owns it
 * then); else NULL. */
view *poll_take(poller *p);

/* Stop the thread and free p (the views taken are the caller's). */
void poll_stop(poller *p);

/* Build the view of what was read (poll_view.c): the MIB's objects. */
typedef struct poll_src poll_src;
int poll_view_build(const poll_src *s, view **out);

#endif
