/* main.c - ddt-nfsd: an NFSv3 server (with MOUNT v3) whose exports are
 * ddtarget storage units. It reads its configuration, logs in to
 * ddtargetd as the configured user (so it can do nothing that user may
 * not), listens on its own ports (no portmapper needed; it registers with
 * rpcbind when one runs) and serves until SIGTERM or SIGINT, when it
 * commits what clients wrote and exits. ddt-nfsd.8 is its manual. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <rpc/rpc.h>

#include "ddterr.h"
#include "gw_log.h"
#include "memtune.h"
#include "nfs3_prot.h"
#include "nfsd.h"
#include "now.h"

static const char usage_text[] =
"Usage: ddt-nfsd [OPTION]...\n"
"Serve ddtarget storage units as NFS version 3 exports.\n"
"\n"
"  -c, --config FILE   the configuration (default /etc/ddtarget/ddt-nfsd.conf)\n"
"  -v, --verbose       log each connection and failed call\n"
"  -q, --quiet         log warnings and errors only\n"
"  -h, --help          show this help and exit\n"
"  -V, --version       show the version and exit\n"
"\n"
"The configuration names ddtargetd ([target]: host, port, user,\n"
"password_file), where to listen ([server]: listen, nfs_port, mount_port,\n"
"threads, dirty_cap_mb, idle_commit_ms, rpcbind) and the exports\n"
"([export NAME]: su, path, clients, read_only, root_squash, all_squash,\n"
"anon_uid, anon_gid); see ddt-nfsd(8) and contrib/ddt-nfsd.conf.\n"
"Without password_file, the password is $DDT_PASSWORD.\n"
"Once listening, one line on stdout says: ddt-nfsd: listening nfs_port=P\n"
"mount_port=Q. Exit status: 0 after a clean stop, 1 on an error, 2 on a\n"
"usage error.\n";

typedef struct gw {
	nfsd d;
	nfsd_conf conf;
	tpool *pool;
	rpcsrv *srv;
	rpc_prog progs[2];
	int nfs_port, mount_port, registered;
} gw;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	gw_info("signal %d: committing and stopping", (int)sig);
	rpcsrv_stop(arg);
}

/* rpcbind, if it runs here (its socket is there): tell it our ports, so
 * clients that ask the portmapper find us. Without it, nothing to do. */
static int rpcb_one(unsigned long prog, unsigned long vers, int port, int set)
{
	struct sockaddr_in sin;
	struct netconfig *nc = getnetconfigent("tcp");
	struct netbuf nb;
	int ok;

	if (!nc)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	nb.len = nb.maxlen = sizeof(sin);
	nb.buf = &sin;
	ok = set ? rpcb_set(prog, vers, nc, &nb) : rpcb_unset(prog, vers, nc);
	freenetconfigent(nc);
	return ok;
}

static void rpcb_all(gw *g, int set)
{
	if (!g->conf.rpcbind || (set == 0 && !g->registered))
		return;
	if (access("/run/rpcbind.sock", F_OK) != 0 &&
	    access("/var/run/rpcbind.sock", F_OK) != 0)
		return;
	g->registered = rpcb_one(NFS_PROGRAM, NFS_V3, g->nfs_port, set) &&
			rpcb_one(mount_prog, mount_vers, g->mount_port, set) &&
			set;
	if (set)
		gw_info("rpcbind: %s", g->registered ? "registered"
						      : "registration failed");
}

static int start_core(gw *g)
{
	ddtc_opts o;
	tpool_opts po = { .threads = g->conf.threads, .name = "nfsd-work" };
	int rc;

	ddtc_opts_default(&o);
	ddtc_target_conf_opts(&g->conf.target, &o);
	o.client_name = "ddt-nfsd";
	nfsd_fh_key(g->conf.target.password);
	/* A call must end while the client waits: a target silent this
	 * long is treated as gone, and the client hears JUKEBOX. */
	o.timeout = 60;
	rc = gw_sess_new(&g->d.sess, &o);
	/* A wrong password, or a certificate not the one trusted: no
	 * reconnecting mends either. */
	if (rc == -EACCES)
		return ddterr_set(rc, "cannot log in to ddtargetd as %s: %s",
				  g->conf.target.user, ddtc_errmsg(rc));
	if (!g->d.sess)
		return rc;
	rc = gw_files_new(&g->d.files, g->d.sess, g->conf.dirty_cap,
			  g->conf.idle_ms);
	if (rc == 0)
		rc = dircache_new(&g->d.dc);
	if (rc == 0)
		rc = attrc_new(&g->d.ac, g->conf.read_attr_ms * 1000000LL);
	if (rc == 0)
		rc = tpool_new(&g->pool, &po);
	return rc;
}

/* What the gateway's user may do decides what the exports can: a user of
 * the restore level serves every export read-only (writes answer ROFS
 * here, never reaching the target); one that may not read answers ACCES
 * to reads (the target refuses them), said once at start. */
static void fit_level(gw *g, ddtc *c)
{
	int role = ddtc_role(c);

	if (role == DDT_ROLE_RESTORE) {
		for (unsigned i = 0; i < g->conf.nexports; i++)
			g->conf.exports[i].read_only = 1;
		gw_info("user %s has the restore level: every export is "
			"served read-only", g->conf.target.user);
	} else if (role == DDT_ROLE_BACKUP || role == DDT_ROLE_STATUS) {
		gw_warn("user %s has the %s level: NFS clients will be "
			"refused %s (NFS3ERR_ACCES); give it the user level, "
			"or restore for read-only exports", g->conf.target.user,
			ddt_role_name(role), role == DDT_ROLE_BACKUP ?
			"every read and removal" : "everything");
	}
}

static void resolve_exports(gw *g)
{
	ddtc *c;

	if (gw_sess_get(g->d.sess, &c) < 0)
		return;
	fit_level(g, c);
	for (unsigned i = 0; i < g->d.nexps; i++) {
		int rc = nfsd_export_resolve(&g->d, c, &g->d.exps[i]);

		if (rc < 0)
			gw_warn("export %s: storage unit %s: %s",
				g->d.exps[i].cfg->name, g->d.exps[i].cfg->su,
				ddtc_errmsg(rc));
		gw_sess_put(g->d.sess, c, rc);
		if (gw_sess_get(g->d.sess, &c) < 0)
			return;
	}
	gw_sess_put(g->d.sess, c, 0);
}

static int start_server(gw *g)
{
	const nfsd_conf *cf = &g->conf;
	int rc;

	g->progs[0] = (rpc_prog){ NFS_PROGRAM, NFS_V3, nfs3_procs,
				  nfs3_nprocs, &g->d };
	g->progs[1] = (rpc_prog){ mount_prog, mount_vers, mount_procs,
				  mount_nprocs, &g->d };
	rc = rpcsrv_new(&g->srv, g->progs, 2, g->pool);
	if (rc == 0)
		rc = rpcsrv_listen(g->srv, cf->listen, cf->nfs_port,
				   &g->nfs_port);
	g->mount_port = g->nfs_port;
	if (rc == 0 && cf->mount_port != cf->nfs_port)
		rc = rpcsrv_listen(g->srv, cf->listen, cf->mount_port,
				   &g->mount_port);
	return rc;
}

static int serve(gw *g)
{
	struct event *st, *si;
	int rc;

	st = evsignal_new(rpcsrv_base(g->srv), SIGTERM, on_signal, g->srv);
	si = evsignal_new(rpcsrv_base(g->srv), SIGINT, on_signal, g->srv);
	if (!st || !si || evsignal_add(st, NULL) || evsignal_add(si, NULL)) {
		rc = ddterr_set(-ENOMEM, "cannot install signal handlers");
		goto out;
	}
	rpcb_all(g, 1);
	gw_info("serving %u export(s) on %s, nfs port %d, mount port %d",
		g->d.nexps, g->conf.listen, g->nfs_port, g->mount_port);
	printf("ddt-nfsd: listening nfs_port=%d mount_port=%d\n", g->nfs_port,
	       g->mount_port);
	fflush(stdout);
	rc = rpcsrv_run(g->srv);
	rpcb_all(g, 0);
out:
	if (st)
		event_free(st);
	if (si)
		event_free(si);
	return rc;
}

static void teardown(gw *g)
{
	tpool_free(g->pool);	/* the calls in progress finish */
	rpcsrv_free(g->srv);
	gw_files_free(g->d.files);	/* commits what is dirty */
	dircache_free(g->d.dc);
	attrc_free(g->d.ac);
	gw_sess_free(g->d.sess);
	free(g->d.mounts);
	pthread_mutex_destroy(&g->d.mu);
}

static int parse_args(int argc, char **argv, const char **conf)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:vqhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': *conf = optarg; break;
		case 'v': gw_log_level = GW_LOG_DEBUG; break;
		case 'q': gw_log_level = GW_LOG_WARN; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': puts("ddt-nfsd " PACKAGE_VERSION); exit(0);
		default:
			fputs("Try 'ddt-nfsd --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ddt-nfsd: unexpected argument '%s'\n"
			"Try 'ddt-nfsd --help'.\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static gw g;
	const char *conf = "/etc/ddtarget/ddt-nfsd.conf";
	int rc;

	memtune_keep_buffers();
	if (parse_args(argc, argv, &conf) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	rc = nfsd_conf_load(&g.conf, conf);
	if (rc < 0) {
		fprintf(stderr, "ddt-nfsd: %s\n", ddterr_last(rc));
		return 2;
	}
	pthread_mutex_init(&g.d.mu, NULL);
	g.d.conf = &g.conf;
	g.d.boot_ns = now_ns();
	for (unsigned i = 0; i < g.conf.nexports; i++)
		g.d.exps[g.d.nexps++].cfg = &g.conf.exports[i];
	rc = start_core(&g);
	if (rc == 0)
		resolve_exports(&g);
	if (rc == 0)
		rc = start_server(&g);
	if (rc == 0)
		rc = serve(&g);
	if (rc < 0)
		fprintf(stderr, "ddt-nfsd: %s\n", ddterr_last(rc));
	teardown(&g);
	memset(g.conf.target.password, 0, sizeof(g.conf.target.password));
	return rc < 0 ? 1 : 0;
}
