/* agent.c - the AgentX subagent (agent.h) on net-snmp's agent library.
 * One handler holds the whole DDTARGET-MIB subtree: a GET is the view's
 * entry for the OID, a GETNEXT the view's next entry (GETBULK comes as
 * GETNEXTs through net-snmp's bulk_to_next helper). A timer every
 * TICK_MS takes the poller's newest view and sends the queued traps when
 * snmpd is connected; while it is not (AgentX's INDEX_STOP until its
 * INDEX_START) they wait in the queue. net-snmp reconnects to a restarted
 * snmpd by itself, every agentxPingInterval. */
#include "agent.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddtc_types.h"
#include "ddterr.h"
#include "now.h"

#define TICK_MS 200

/* ddtargetMIB: net-snmp's playpen, netSnmpPlaypen 338 (DDTARGET-MIB). */
static const oid root[] = { 1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 338 };
#define ROOT_LEN (sizeof(root) / sizeof(root[0]))
static const oid trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

static struct {
	poller *p;
	trapq *q;
	view *cur;
	int connected;
	unsigned tick;
} ag;

static void refresh_view(void)
{
	view *v = poll_take(ag.p);

	if (v) {
		view_free(ag.cur);
		ag.cur = v;
	}
}

static void set_value(netsnmp_variable_list *vb, const view_ent *e)
{
	struct counter64 c64;
	u_long u;
	long l;

	switch (e->type) {
	case VIEW_INT:
		l = (long)(int32_t)e->num;
		snmp_set_var_typed_value(vb, ASN_INTEGER, &l, sizeof(l));
		break;
	case VIEW_COUNTER32:
		u = (u_long)e->num;
		snmp_set_var_typed_value(vb, ASN_COUNTER, &u, sizeof(u));
		break;
	case VIEW_COUNTER64:
		c64.high = (u_long)(e->num >> 32);
		c64.low = (u_long)(e->num & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &c64, sizeof(c64));
		break;
	case VIEW_STR:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, e->str,
					 strlen(e->str));
		break;
	case VIEW_AGE:
		u = (u_long)((now_mono_ns() - ag.cur->read_at) / 1000000000);
		snmp_set_var_typed_value(vb, ASN_GAUGE, &u, sizeof(u));
		break;
	default:
		u = (u_long)e->num;
		snmp_set_var_typed_value(vb, ASN_GAUGE, &u, sizeof(u));
	}
}

/* The request's OID below root into rel; 0 if it is not below root (a
 * GETNEXT from before the subtree: its first entry is the answer). */
static int below_root(const netsnmp_variable_list *vb, uint32_t *rel,
		      size_t *len)
{
	size_t n;

	*len = 0;
	if (vb->name_length < ROOT_LEN ||
	    netsnmp_oid_equals(vb->name, ROOT_LEN, root, ROOT_LEN) != 0)
		return 0;
	n = vb->name_length - ROOT_LEN;
	if (n > VIEW_OID_MAX)
		n = VIEW_OID_MAX;	/* every entry is shorter */
	for (size_t i = 0; i < n; i++)
		rel[i] = vb->name[ROOT_LEN + i] > UINT32_MAX ? UINT32_MAX :
			 (uint32_t)vb->name[ROOT_LEN + i];
	*len = n;
	return 1;
}

static void answer(netsnmp_agent_request_info *ri, netsnmp_request_info *r)
{
	netsnmp_variable_list *vb = r->requestvb;
	uint32_t rel[VIEW_OID_MAX];
	oid full[ROOT_LEN + VIEW_OID_MAX];
	const view_ent *e;
	size_t len;
	int below = below_root(vb, rel, &len);

	if (ri->mode == MODE_GET) {
		e = below && ag.cur ? view_find(ag.cur, rel, len, 0, 0) : NULL;
		if (!e)
			netsnmp_set_request_error(ri, r, SNMP_NOSUCHINSTANCE);
		else
			set_value(vb, e);
		return;
	}
	e = ag.cur ? view_find(ag.cur, rel, len, 1,
			       !below || r->inclusive) : NULL;
	if (!e)
		return;		/* past our subtree: net-snmp asks the next */
	memcpy(full, root, sizeof(root));
	for (size_t i = 0; i < e->len; i++)
		full[ROOT_LEN + i] = e->oid[i];
	snmp_set_var_objid(vb, full, ROOT_LEN + e->len);
	set_value(vb, e);
}

static int handle(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
		  netsnmp_agent_request_info *ri, netsnmp_request_info *reqs)
{
	if (ri->mode != MODE_GET && ri->mode != MODE_GETNEXT)
		return SNMP_ERR_GENERR;	/* read-only: no SET reaches us */
	refresh_view();
	for (netsnmp_request_info *r = reqs; r; r = r->next)
		if (!r->processed)
			answer(ri, r);
	return SNMP_ERR_NOERROR;
}

static void add_var(netsnmp_variable_list **vars, uint32_t item, int type,
		    const void *val, size_t len)
{
	oid o[ROOT_LEN + 4];

	memcpy(o, root, sizeof(root));
	o[ROOT_LEN] = 1;		/* ddtObjects */
	o[ROOT_LEN + 1] = 12;		/* ddtNotifyObjects */
	o[ROOT_LEN + 2] = item;
	o[ROOT_LEN + 3] = 0;
	snmp_varlist_add_variable(vars, o, ROOT_LEN + 4, (u_char)type, val,
				  len);
}

static void send_trap(const trap_ev *e)
{
	netsnmp_variable_list *vars = NULL;
	oid notif[ROOT_LEN + 2];
	long sev = e->severity, state = e->raised ? 1 : 2;
	u_long t = e->time_ns > 0 ? (u_long)(e->time_ns / 1000000000) : 0;

	memcpy(notif, root, sizeof(root));
	notif[ROOT_LEN] = 0;		/* ddtNotifications */
	notif[ROOT_LEN + 1] = (oid)e->kind;
	snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid),
				  ASN_OBJECT_ID, notif, sizeof(notif));
	add_var(&vars, 1, ASN_OCTET_STR, e->id, strlen(e->id));
	add_var(&vars, 2, ASN_INTEGER, &sev, sizeof(sev));
	add_var(&vars, 3, ASN_INTEGER, &state, sizeof(state));
	add_var(&vars, 4, ASN_OCTET_STR, e->text,
		strnlen(e->text, DDT_MAX_STR));
	add_var(&vars, 5, ASN_GAUGE, &t, sizeof(t));
	send_v2trap(vars);
	snmp_free_varbind(vars);
}

static void send_traps(void)
{
	uint64_t dropped;
	trap_ev *list;

	if (!ag.connected)
		return;
	list = trapq_take(ag.q, &dropped);
	if (dropped)
		snmp_log(LOG_WARNING, "ddtarget-snmp: %llu traps dropped while "
			 "snmpd was away (the queue holds %d)\n",
			 (unsigned long long)dropped, TRAPQ_MAX);
	for (trap_ev *e = list; e; e = e->next)
		send_trap(e);
	trapq_ev_free(list);
}

static void tick(unsigned int reg, void *arg)
{
	refresh_view();
	send_traps();
}

/* AgentX's session to snmpd opened (INDEX_START) or closed (INDEX_STOP). */
static int on_session(int major, int minor, void *server, void *client)
{
	ag.connected = minor == SNMPD_CALLBACK_INDEX_START;
	snmp_log(LOG_INFO, "ddtarget-snmp: %s snmpd\n",
		 ag.connected ? "connected to" : "lost");
	return 0;
}

static void quiet_library(void)
{
	/* Everything comes from our own file: net-snmp reads and writes no
	 * configuration or state of its own, and loads no MIB files. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
			       NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
			       NETSNMP_DS_AGENT_NO_CONNECTION_WARNINGS, 1);
	setenv("MIBS", "", 1);
}

int agent_start(const snmpconf *c, poller *p, trapq *q)
{
	netsnmp_handler_registration *reg;

	ag.p = p;
	ag.q = q;
	snmp_enable_stderrlog();
	quiet_library();
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
			       NETSNMP_DS_AGENT_ROLE, 1);
	if (c->agentx_socket[0])
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
				      NETSNMP_DS_AGENT_X_SOCKET,
				      c->agentx_socket);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION,
			       SNMPD_CALLBACK_INDEX_START, on_session, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION,
			       SNMPD_CALLBACK_INDEX_STOP, on_session, NULL);
	if (init_agent("ddtarget-snmp") != 0)
		return ddterr_set(-EIO, "net-snmp's agent library did not start");
	/* After init_agent(), which sets AgentX's defaults (a 15 s ping). */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
			   NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   c->ping_seconds);
	reg = netsnmp_create_handler_registration("ddtargetMIB", handle, root,
						  ROOT_LEN, HANDLER_CAN_RONLY);
	if (!reg || netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
		return ddterr_set(-EIO, "cannot register DDTARGET-MIB's subtree");
	init_snmp("ddtarget-snmp");
	snmp_alarm_register_hr((struct timeval){ 0, TICK_MS * 1000 },
			       SA_REPEAT, tick, NULL);
	refresh_view();
	return 0;
}

void agent_run(volatile sig_atomic_t *stop)
{
	while (!*stop)
		agent_check_and_process(1);
}

void agent_stop(void)
{
	snmp_shutdown("ddtarget-snmp");
	view_free(ag.cur);
	ag.cur = NULL;
}
