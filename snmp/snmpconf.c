/* snmpconf.c - ddtarget-snmp's INI file (snmpconf.h), parsed by libinih as
 * ddt-nfsd's is: each key checked as it comes, an unknown one an error
 * (a misspelt key must not be silently ignored), the password read from
 * a file named there, never written in the configuration itself. */
#include "snmpconf.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confval.h"
#include "ddtc_types.h"
#include "ddterr.h"

typedef struct parse {
	snmpconf *c;
	char err[512];
} parse;

static int target_key(snmpconf *c, const char *k, const char *v)
{
	int rc = ddtc_target_conf_key(&c->target, k, v);

	if (rc != -2)
		return rc;
	if (!strcmp(k, "poll_seconds"))
		return confval_int(&c->poll_seconds, v, 1, 3600);
	if (!strcmp(k, "timeout_seconds"))
		return confval_int(&c->timeout_seconds, v, 1, 3600);
	return -2;
}

static int agent_key(snmpconf *c, const char *k, const char *v)
{
	if (!strcmp(k, "agentx_socket"))
		return confval_str(c->agentx_socket, sizeof(c->agentx_socket), v);
	if (!strcmp(k, "ping_seconds"))
		return confval_int(&c->ping_seconds, v, 1, 3600);
	return -2;
}

static int on_key(void *arg, const char *section, const char *k,
		  const char *v)
{
	parse *p = arg;
	int rc = -2;

	if (!strcmp(section, "target"))
		rc = target_key(p->c, k, v);
	else if (!strcmp(section, "agent"))
		rc = agent_key(p->c, k, v);
	return confval_key_done(rc, p->err, sizeof(p->err), section, k, v);
}

static void defaults(snmpconf *c)
{
	memset(c, 0, sizeof(*c));
	ddtc_target_conf_default(&c->target, "snmp");
	c->poll_seconds = 5;
	c->ping_seconds = 1;
	c->timeout_seconds = 10;
}

int snmpconf_load(snmpconf *c, const char *path)
{
	parse p = { .c = c };
	int line, rc;

	defaults(c);
	line = ini_parse(path, on_key, &p);
	rc = confval_ini_done(path, line, p.err);
	if (rc < 0)
		return rc;
	return ddtc_target_conf_password(&c->target);
}
