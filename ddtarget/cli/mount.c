/* mount.c - ddt mount: a storage unit as a file system, served by ddtfs
 * (nfs-gw/ddtfs.c), which this command runs with the session's settings.
 * The password goes to it in its environment, never on a command line
 * that ps would show. */
#include "mount.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

/* ddtfs beside this ddt (a build tree, or one bindir), else on PATH. */
static void find_ddtfs(char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(buf, cap, "ddtfs");
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (snprintf(buf, cap, "%s/ddtfs", self) >= (int)cap ||
	    access(buf, X_OK) != 0)
		snprintf(buf, cap, "ddtfs");
}

/* ddtfs trusts the target as ddt would: the TLS options go to it in
 * the environment its client library reads (ddtc_opts_default). */
static int mount_tls_env(const gopts *g)
{
	if (g->no_tls && setenv("DDT_TLS", "off", 1) != 0)
		return -1;
	if (g->tls_fingerprint &&
	    setenv("DDT_TLS_FINGERPRINT", g->tls_fingerprint, 1) != 0)
		return -1;
	if (g->tls_ca && setenv("DDT_TLS_CA", g->tls_ca, 1) != 0)
		return -1;
	if (g->known_hosts && setenv("DDT_KNOWN_HOSTS", g->known_hosts, 1) != 0)
		return -1;
	return 0;
}

int cmd_mount(const cmd *cm, const gopts *g, int argc, char **argv)
{
	char password[DDT_MAX_STR + 2], prog[PATH_MAX], port[16];
	const char *av[16];
	int n = 0, ret;

	if (!ddt_name_ok(argv[0]))
		return cmd_usage_error(cm, "'%s' is not a storage unit name",
				       argv[0]);
	ret = cmd_password(g, password, sizeof(password));
	if (ret)
		return ret;
	if (setenv("DDT_PASSWORD", password, 1) != 0)
		return out_fail_errno(errno, NULL, "mount");
	explicit_bzero(password, sizeof(password));
	if (mount_tls_env(g) < 0)
		return out_fail_errno(errno, NULL, "mount");
	find_ddtfs(prog, sizeof(prog));
	snprintf(port, sizeof(port), "%d", g->port);
	av[n++] = prog;
	av[n++] = "-H";
	av[n++] = g->host;
	av[n++] = "-p";
	av[n++] = port;
	av[n++] = "-u";
	av[n++] = g->user;
	if (argc > 2) {
		av[n++] = "-o";
		av[n++] = argv[2];
	}
	av[n++] = argv[0];
	av[n++] = argv[1];
	av[n] = NULL;
	execvp(prog, (char *const *)av);
	return out_fail_errno(errno, "is ddtfs installed beside ddt?",
			      "run %s", prog);
}
