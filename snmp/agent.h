/* agent.h - ddtarget-snmp's side of net-snmp: an AgentX subagent that
 * registers DDTARGET-MIB's subtree with snmpd and answers from the
 * poller's newest view, and sends the queued alert events as
 * notifications while snmpd is there. net-snmp is single-threaded: only
 * the thread that called agent_start() calls anything here. */
#ifndef DDTSNMP_AGENT_H
#define DDTSNMP_AGENT_H

#include <signal.h>

#include "snmpconf.h"
#include "poll.h"
#include "trapq.h"

/* Set net-snmp up as a subagent of the snmpd at c->agentx_socket (it
 * connects now if snmpd is there, and every ping_seconds until it is). */
int agent_start(const snmpconf *c, poller *p, trapq *q);

/* Serve until *stop is set (by a signal handler). */
void agent_run(volatile sig_atomic_t *stop);

void agent_stop(void);

#endif
