/* snmpconf.h - ddtarget-snmp's configuration: the ddtargetd to read (host,
 * port, a status-role user and its password's file), snmpd's AgentX
 * socket, and how often to poll and ping. An INI file read by libinih;
 * the defaults are here, the keys in contrib/snmp/ddtarget-snmp.conf and
 * ddtarget-snmp(8). */
#ifndef DDTSNMP_SNMPCONF_H
#define DDTSNMP_SNMPCONF_H

#include "ddtc.h"

typedef struct snmpconf {
	ddtc_target_conf target;	/* [target] */
	char agentx_socket[1024]; /* "" : net-snmp's default */
	int poll_seconds;	/* how old an answer may be */
	int ping_seconds;	/* agentxPingInterval: how soon snmpd is back */
	int timeout_seconds;	/* a call to ddtargetd that takes longer fails */
} snmpconf;

/* Read path into c, defaults first. 0, or -errno with a one-line
 * message (ddterr_last) naming the file, the line and the key. */
int snmpconf_load(snmpconf *c, const char *path);

#endif
