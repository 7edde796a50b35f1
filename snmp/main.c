/* main.c - ddtarget-snmp: the target's status and alerts over SNMP, as an
 * AgentX subagent of net-snmp's snmpd (ddtarget-snmp(8)). The main thread
 * is net-snmp's (agent.c); a poller thread reads ddtargetd (poll.c); the
 * trap queue (trapq.c) lies between them. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "snmpconf.h"
#include "ddterr.h"
#include "net.h"
#include "poll.h"
#include "trapq.h"

#define DEFAULT_CONF "/etc/ddtarget/ddtarget-snmp.conf"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(FILE *f)
{
	fputs("usage: ddtarget-snmp [-c FILE] [-x SOCKET]\n"
	      "Answer for a ddtarget target over SNMP (DDTARGET-MIB) as an\n"
	      "AgentX subagent of snmpd, and send its alerts as traps.\n"
	      "\n"
	      "  -c, --config FILE   the configuration (default " DEFAULT_CONF ")\n"
	      "  -x, --agentx SOCKET snmpd's AgentX socket (overrides the\n"
	      "                      configuration's agentx_socket)\n"
	      "  -h, --help          this help\n"
	      "\n"
	      "The configuration names ddtargetd ([target]: host, port, user,\n"
	      "password_file, poll_seconds, timeout_seconds; TLS: tls,\n"
	      "tls_fingerprint, tls_ca, known_hosts) and snmpd ([agent]:\n"
	      "agentx_socket, ping_seconds); see ddtarget-snmp(8) and\n"
	      "contrib/snmp/. The user should have the status role\n"
	      "(ddtargetd --set-password USER --role status).\n", f);
}

static int parse_args(int argc, char **argv, const char **conf,
		      const char **sock)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "agentx", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:x:h", opts, NULL)) != -1) {
		if (ch == 'c')
			*conf = optarg;
		else if (ch == 'x')
			*sock = optarg;
		else if (ch == 'h') {
			usage(stdout);
			exit(0);
		} else {
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_CONF, *sock = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	poller *p = NULL;
	trapq *q = NULL;
	char where[320];
	snmpconf c;
	int rc;

	if (parse_args(argc, argv, &path, &sock) < 0)
		return 2;
	rc = snmpconf_load(&c, path);
	if (rc == 0 && sock && snprintf(c.agentx_socket, sizeof(c.agentx_socket),
					"%s", sock) >= (int)sizeof(c.agentx_socket))
		rc = ddterr_set(-EINVAL, "AgentX socket path too long");
	if (rc < 0) {
		fprintf(stderr, "ddtarget-snmp: %s\n", ddterr_last(rc));
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = trapq_new(&q);
	if (rc == 0)
		rc = poll_start(&p, &c, q);
	if (rc == 0)
		rc = agent_start(&c, p, q);
	if (rc < 0) {
		fprintf(stderr, "ddtarget-snmp: %s\n", ddterr_last(rc));
		poll_stop(p);
		trapq_free(q);
		return 1;
	}
	net_target_name(c.target.host, c.target.port, where, sizeof(where));
	fprintf(stderr, "ddtarget-snmp: serving DDTARGET-MIB for %s\n", where);
	agent_run(&stop);
	agent_stop();
	poll_stop(p);
	trapq_free(q);
	return 0;
}
