/* main.c - ddtargetd: options, the store and the namespace, the first
 * admin user, the pid file, then the server until SIGTERM; and a few
 * offline administration commands that work on a stopped store. */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <inttypes.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "auth.h"
#include "config.h"
#include "ddterr.h"
#include "fio.h"
#include "health.h"
#include "idx.h"
#include "log.h"
#include "memtune.h"
#include "now.h"
#include "ns.h"
#include "ops.h"
#include "path.h"
#include "serve.h"
#include "privs.h"
#include "store.h"
#include "store_ckpt.h"
#include "store_dirs.h"
#include "tlsd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static const char usage_text[] =
"usage: ddtargetd [OPTIONS]\n"
"       ddtargetd [-c FILE] [-s DIR] --set-password USER [--role LEVEL]\n"
"                 [--domain DOMAIN]\n"
"       ddtargetd [-c FILE] [-s DIR] --restore-checkpoint [NAME]\n"
"       ddtargetd [-c FILE] [OPTIONS] --check-config\n"
"\n"
"The ddtarget storage daemon: serves the deduplicating transfer protocol\n"
"(proto/PROTOCOL.md) from a store of erasure-coded containers.\n"
"With no configuration it listens on 127.0.0.1:7410 and on the local socket\n"
"<store>/ddtargetd.sock (for gateways on this host: --set unix_socket=PATH\n"
"or none), and keeps its store in /var/lib/ddtarget. On first start it creates the user 'admin' with a\n"
"random password, written to <store>/admin.password (mode 0600).\n"
"\n"
"  -c, --config FILE       read settings from FILE (see contrib/ddtargetd.conf)\n"
"  -s, --store DIR         the store's root directory\n"
"  -l, --listen ADDR       address to listen on (127.0.0.1; 0.0.0.0 for all)\n"
"  -p, --port PORT         TCP port (7410)\n"
"  -w, --workers N         worker threads (default: 2 per CPU)\n"
"  -o, --set KEY=VALUE     any setting of the config file, e.g.\n"
"                          --set clean_schedule='sun 03:00'\n"
"      --max-sessions N    concurrent sessions, counted once logged in;\n"
"                          more are told 'busy' (64)\n"
"      --ec K+M            erasure code for a new store; the default is 4+2\n"
"                          when its data directories are on separate file\n"
"                          systems, 8+1 when they share one (parity there\n"
"                          guards against bad sectors, not a lost disk);\n"
"                          1+0: no parity. A store keeps the code it was\n"
"                          made with; 'ddt status' says which and why\n"
"  -f, --foreground        stay in the foreground (the default; kept for\n"
"                          service managers that pass it)\n"
"  -d, --daemon            detach from the terminal\n"
"      --pid-file FILE     write the process id to FILE\n"
"      --syslog            log to syslog instead of stderr\n"
"  -v, --verbose           log every session and failed request\n"
"      --set-password USER set USER's password from standard input (one\n"
"                          line), creating the user; with the daemon stopped\n"
"      --role LEVEL        with --set-password: the user's access level:\n"
"                          user (the default: backs up, restores and\n"
"                          removes backups), admin or full (also units,\n"
"                          users, cleaning, scrubs, checkpoints), status\n"
"                          (figures only: monitors such as ddtarget-snmp),\n"
"                          backup (writes, cannot read back or remove) or\n"
"                          restore (reads, cannot write); PROTOCOL.md has\n"
"                          every operation per level\n"
"      --admin             the same as --role admin\n"
"      --domain DOMAIN     with --set-password: the user's domain (tenant):\n"
"                          it sees only its domain's storage units. A new\n"
"                          user without it is of domain 'system', whose\n"
"                          admin and status users see every domain; an\n"
"                          existing user keeps its own\n"
"      --restore-checkpoint [NAME]\n"
"                          with the daemon stopped, bring the store back\n"
"                          from checkpoint NAME (the newest if none) after\n"
"                          its index is lost; prints what was done, exits.\n"
"                          Backups made after the checkpoint are gone from\n"
"                          the namespace. Then start the daemon as usual.\n"
"                          Checkpoints are taken with 'ddt checkpoint\n"
"                          create', in checkpoint_dir (<store>/checkpoints),\n"
"                          checkpoint_keep (7) kept: see the config file\n"
"  -t, --check-config      read the file and the flags, say the first bad\n"
"                          setting or 'configuration OK', and exit\n"
"  -h, --help              this text\n"
"  -V, --version           the version\n"
"\n"
"Before login (--set KEY=VALUE; PROTOCOL.md section 3, Before login): a\n"
"connection logs in within login_timeout seconds (10); at most\n"
"max_handshakes_per_address (8) from one address and max_handshakes (64)\n"
"in all wait to log in, one more is told 'busy' and closed; no frame over\n"
"64 KiB before login. A session is closed at its auth_max_failures-th\n"
"failed login (1); each failure from an address, or for a user name from\n"
"any address, doubles the wait before that address's (that user's) next\n"
"login is checked, from auth_backoff_ms (1000) up to auth_backoff_max_ms\n"
"(30000). Failures are logged with address and user.\n"
"\n"
"TLS (PROTOCOL.md section 1, TLS): every session is TLS (1.2 or 1.3) from\n"
"its first byte. The key and a self-signed certificate are made at first\n"
"start in <store>/tls_key.pem and tls_cert.pem, or --set tls_cert=FILE\n"
"--set tls_key=FILE name others; the certificate's SHA-256 fingerprint is\n"
"logged at start and shown by 'ddt status'. --set tls=loopback-plain also\n"
"takes plaintext sessions, from loopback peers only (tls=required: none).\n"
"Sessions on the local socket are plaintext: it is this host's own.\n";

enum { OPT_MAX_SESSIONS = 256, OPT_EC, OPT_PIDFILE, OPT_SYSLOG,
       OPT_SETPW, OPT_ADMIN, OPT_ROLE, OPT_DOMAIN, OPT_RESTORE };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "store", required_argument, NULL, 's' },
	{ "listen", required_argument, NULL, 'l' },
	{ "port", required_argument, NULL, 'p' },
	{ "workers", required_argument, NULL, 'w' },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "ec", required_argument, NULL, OPT_EC },
	{ "foreground", no_argument, NULL, 'f' },
	{ "daemon", no_argument, NULL, 'd' },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "set-password", required_argument, NULL, OPT_SETPW },
	{ "admin", no_argument, NULL, OPT_ADMIN },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "restore-checkpoint", optional_argument, NULL, OPT_RESTORE },
	{ "set", required_argument, NULL, 'o' },
	{ "check-config", no_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

typedef struct cmdline {
	const char *set_password_user;
	const char *domain;		/* --domain, or NULL */
	int role, daemonize;	/* role: --set-password's, DDT_ROLE_* */
	int restore;			/* --restore-checkpoint */
	int check;			/* --check-config */
	const char *restore_name;	/* its NAME; NULL: the newest */
} cmdline;

static void die_usage(const char *msg)
{
	fprintf(stderr, "ddtargetd: %s (see ddtargetd --help)\n", msg);
	exit(2);
}

static int role_from_name(const char *name)
{
	int r = ddt_role_from_name(name);

	if (r == 0)
		die_usage("--role is status, backup, restore, user or admin "
			  "(full)");
	return r;
}

static int set(ddtd_config *c, const char *key, const char *val)
{
	int rc = config_set(c, key, val);

	if (rc < 0)
		die_usage(ddterr_last(rc));
	return rc;
}

/* --set KEY=VALUE: any key of the configuration file. */
static void set_pair(ddtd_config *c, const char *arg)
{
	char key[64];
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		die_usage("--set wants KEY=VALUE, as in the config file");
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	set(c, key, eq + 1);
}

static void parse_ec(ddtd_config *c, const char *arg)
{
	int k, m;
	char tail;

	if (sscanf(arg, "%d+%d%c", &k, &m, &tail) != 2 || k < 1 || m < 0 ||
	    k + m > STORE_MAX_DIRS)
		die_usage("--ec wants K+M, such as 4+2 or 1+0");
	c->k = k;
	c->m = m;
}

/* Command-line flags are applied after the file, so the file is found
 * first in a pass of its own. */
static void parse_args(int argc, char **argv, ddtd_config *c, cmdline *cl)
{
	const char *config_file = NULL;
	int o, rc;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "c:s:l:p:w:o:fdvthV", long_opts,
				NULL)) != -1)
		if (o == 'c')
			config_file = optarg;
	if (config_file && (rc = config_load(c, config_file)) < 0) {
		fprintf(stderr, "ddtargetd: %s\n", ddterr_last(rc));
		exit(1);
	}
	optind = 1;
	opterr = 1;
	while ((o = getopt_long(argc, argv, "c:s:l:p:w:o:fdvthV", long_opts,
				NULL)) != -1) {
		switch (o) {
		case 'c': break;
		case 's': set(c, "store", optarg); break;
		case 'l': set(c, "listen", optarg); break;
		case 'p': set(c, "port", optarg); break;
		case 'w': set(c, "workers", optarg); break;
		case 'o': set_pair(c, optarg); break;
		case OPT_MAX_SESSIONS: set(c, "max_sessions", optarg); break;
		case OPT_EC: parse_ec(c, optarg); break;
		case 'f': cl->daemonize = 0; break;
		case 'd': cl->daemonize = 1; break;
		case OPT_PIDFILE: set(c, "pid_file", optarg); break;
		case OPT_SYSLOG: c->use_syslog = 1; break;
		case 'v': c->verbose = 1; break;
		case OPT_SETPW: cl->set_password_user = optarg; break;
		case OPT_ADMIN: cl->role = DDT_ROLE_ADMIN; break;
		case OPT_ROLE: cl->role = role_from_name(optarg); break;
		case OPT_DOMAIN: cl->domain = optarg; break;
		case OPT_RESTORE:
			cl->restore = 1;
			cl->restore_name = optarg;
			break;
		case 't': cl->check = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': printf("ddtargetd %s\n", PACKAGE_VERSION); exit(0);
		default: die_usage("unknown option");
		}
	}
	/* "--restore-checkpoint NAME" as well as "=NAME": getopt leaves
	 * an optional argument's separate word behind. */
	if (cl->restore && !cl->restore_name && optind == argc - 1)
		cl->restore_name = argv[optind++];
	if (optind < argc)
		die_usage("unexpected arguments");
	if (cl->domain && !cl->set_password_user)
		die_usage("--domain goes with --set-password");
	if (cl->restore && cl->set_password_user)
		die_usage("--restore-checkpoint and --set-password are run "
			  "one at a time");
}

static void store_cfg(const ddtd *d, store_config *sc)
{
	store_config_default(sc, d->cfg.store);
	sc->k = d->cfg.k;
	sc->m = d->cfg.k ? d->cfg.m : 0;
	sc->ndirs = d->cfg.ndata_dirs;
	for (int i = 0; i < sc->ndirs; i++)
		sc->dirs[i] = d->cfg.data_dirs[i];
	if (d->cfg.checkpoint_dir[0])
		sc->checkpoint_dir = d->cfg.checkpoint_dir;
	sc->checkpoint_keep = d->cfg.checkpoint_keep;
	sc->read_cache_containers = (size_t)d->cfg.read_cache_containers;
	sc->region_codec = d->cfg.region_codec;
	sc->region_level = d->cfg.region_level;
	sc->region_size = (uint32_t)d->cfg.region_kb * 1024;
}

static void clean_done(void *arg, int rc, const char *msg)
{
	clean_report r;
	ddtd *d = arg;

	clean_status(d->cl, &r);
	monitor_clean_done(d->mon, &r);
	if (rc < 0)
		log_err("cleaning failed: %s", msg);
	else
		log_info("cleaning done: %" PRIu64 " of %" PRIu64 " containers "
			 "dropped, %" PRIu64 " MiB reclaimed, %" PRIu64 " MiB "
			 "copied forward, in %.1f s",
			 r.containers_dropped, r.containers_examined,
			 r.reclaimed_bytes >> 20, r.bytes_copied >> 20,
			 (double)(r.finished - r.started) / 1e9);
	health_clean_done(d->alerts, rc, msg);
	if ((rc = health_save_verdicts(d->alerts, d->ix)) < 0)
		log_err("keeping the cleaning verdict: %s", ddterr_last(rc));
}

static void scrub_done(void *arg, const scrub_report *r)
{
	ddtd *d = arg;
	int rc;

	if (r->rc == -ECANCELED)
		log_info("%s", r->msg);
	else if (r->rc < 0)
		log_err("%s", r->msg);
	else
		log_msg(r->clean ? LOG_INFO_ : LOG_ERR_, "scrub done: %s",
			r->msg);
	health_scrub_done(d->alerts, r);
	monitor_scrub_done(d->mon, r);
	if ((rc = health_save_verdicts(d->alerts, d->ix)) < 0)
		log_err("keeping the scrub's verdict: %s", ddterr_last(rc));
	/* A directory it rebuilt is whole now: say so at once. */
	health_check_now(d->health);
}

/* The erasure code and why it is the one it is (chosen at creation),
 * at every start: an administrator who reads the log of a new store's
 * first start learns that a store on one disk has one parity fragment. */
static void report_geometry(ddtd *d)
{
	char why[256];
	int k, m, ndirs;

	store_geometry(d->st, &k, &m, &ndirs);
	store_geometry_why(d->st, why, sizeof(why));
	log_info("erasure code %d+%d over %d data directories (%s)", k, m,
		 ndirs, why);
}

/* What the store's journal replay found goes to the log and the alerts
 * (kept across restarts: the journal is sealed by then); if records may
 * be lost, a scrub starts at once to name the backups that need them. */
static void report_journals(ddtd *d)
{
	const store_jnl_event *ev;
	size_t n;
	int rc;

	store_journal_events(d->st, &ev, &n);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		log_msg(ev[i].kind == STORE_JNL_LOST ? LOG_ERR_ :
			ev[i].kind == STORE_JNL_HEALED ? LOG_WARN_ : LOG_INFO_,
			"%s", ev[i].text);
	if (health_journal_replayed(d->alerts, ev, n)) {
		rc = scrub_start(d->scr, SCRUB_REPAIR | SCRUB_KEEP_DIRS);
		if (rc == 0)
			log_info("scrub started: journal records were lost");
		else
			log_err("cannot start a scrub after the journal "
				"damage: %s", ddterr_last(rc));
	}
	if ((rc = health_save_verdicts(d->alerts, d->ix)) < 0)
		log_err("keeping the journal verdict: %s", ddterr_last(rc));
}

/* ---- maintenance on its schedule ---- */

static void run_clean(void *arg)
{
	ddtd *d = arg;
	int rc = clean_start(d->cl);

	if (rc == 0)
		log_info("cleaning started (clean_schedule)");
	else if (rc != -EBUSY)
		log_err("scheduled cleaning: %s", ddterr_last(rc));
}

static void run_checkpoint(void *arg)
{
	char name[STORE_CKPT_NAME_MAX];
	ddtd *d = arg;
	int rc = store_checkpoint(d->st, NULL, 0, name, sizeof(name));

	monitor_checkpoint_done(d, rc);
	if (rc == 0)
		log_info("checkpoint %s taken (checkpoint_schedule)", name);
	else
		log_err("scheduled checkpoint: %s", ddterr_last(rc));
}

static int log_expired(void *arg, const char *su, const ns_backup *b)
{
	(void)arg;
	log_info("expired backup %s of storage unit %s", b->id, su);
	return 0;
}

static void run_expire(void *arg)
{
	ddtd *d = arg;
	int rc = ns_expire(d->ns, NULL, now_ns(), 0, log_expired, d);

	if (rc < 0)
		log_err("scheduled expiry: %s", ddterr_last(rc));
}

static void run_scrub(void *arg)
{
	ddtd *d = arg;
	int rc = scrub_start(d->scr, SCRUB_REPAIR | SCRUB_KEEP_DIRS);

	if (rc == 0)
		log_info("scrub started (scrub_schedule)");
	else if (rc != -EBUSY)
		log_err("scheduled scrub: %s", ddterr_last(rc));
}

static int add_task(ddtd *d, const char *name, const char *text,
		    schedule_fn fn)
{
	schedule_spec sp;
	int rc = schedule_parse(text, &sp);

	return rc < 0 ? rc : schedule_add(d->sc, name, &sp, fn, d);
}

static int start_maintenance(ddtd *d)
{
	int rc = schedule_new(&d->sc);

	if (rc == 0)
		rc = add_task(d, "clean", d->cfg.clean_schedule, run_clean);
	if (rc == 0)
		rc = add_task(d, "checkpoint", d->cfg.checkpoint_schedule,
			      run_checkpoint);
	if (rc == 0)
		rc = add_task(d, "expire", d->cfg.expire_schedule, run_expire);
	if (rc == 0)
		rc = add_task(d, "scrub", d->cfg.scrub_schedule, run_scrub);
	if (rc == 0)
		rc = schedule_start(d->sc);
	return rc;
}

/* The daemon owns the store: the root's lock first, then the index, which
 * the store, the namespace and the users share (store.h says why). */
static int open_store(ddtd *d)
{
	store_config sc;
	char *ipath;
	int rc;

	store_cfg(d, &sc);
	rc = store_lock_take(&d->lock, d->cfg.store);
	if (rc < 0)
		return rc;
	ipath = path_join(d->cfg.store, STORE_INDEX_DIR);
	if (!ipath)
		return -ENOMEM;
	rc = idx_open(&d->ix, ipath, 0);
	free(ipath);
	if (rc == 0)
		rc = store_open(&d->st, &sc, d->ix);
	return rc;
}

static int open_engine(ddtd *d)
{
	clean_config cc = { 0 };
	scrub_config scrub_cfg = { 0 };
	int rc;

	rc = open_store(d);
	if (rc < 0)
		return rc;
	rc = ns_open(&d->ns, d->ix);
	if (rc < 0)
		return rc;
	rc = alert_table_new(&d->alerts);
	if (rc < 0)
		return rc;
	health_load_verdicts(d->alerts, d->ix);
	if ((rc = units_open(&d->units, d->ix)) < 0 ||
	    (rc = ingest_open(&d->ingest, d->ix)) < 0 ||
	    (rc = streams_new(&d->streams)) < 0 ||
	    (rc = bufpool_new(&d->replies)) < 0 ||
	    (rc = pending_new(&d->pending)) < 0)
		return rc;
	cc.threshold_pct = d->cfg.clean_threshold;
	cc.done = clean_done;
	cc.done_arg = d;
	rc = clean_new(&d->cl, d->st, d->ns, &cc);
	if (rc < 0)
		return rc;
	scrub_cfg.max_bytes_per_sec = (uint64_t)d->cfg.scrub_rate * 1000000;
	scrub_cfg.done = scrub_done;
	scrub_cfg.done_arg = d;
	return scrub_new(&d->scr, d->st, d->ns, &scrub_cfg);
}

/* The audit log; offline commands write to it too (who: the system
 * user that ran them). */
static int open_audit(ddtd *d)
{
	char path[PATH_MAX];

	if (config_audit_log(&d->cfg, path, sizeof(path)) < 0)
		return ddterr_set(-ENAMETOOLONG, "audit_log: the path is too "
				  "long");
	return audit_open(&d->audit, path, d->cfg.audit_syslog);
}

static const char *console_user(char *buf, size_t cap)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw)
		snprintf(buf, cap, "%s", pw->pw_name);
	else
		snprintf(buf, cap, "uid %u", (unsigned)getuid());
	return buf;
}

static void close_engine(ddtd *d)
{
	int rc;

	schedule_free(d->sc);	/* first: its tasks use the rest */
	scrub_free(d->scr);
	clean_free(d->cl);
	health_stop(d->health);	/* after the scrub, whose end checks */
	d->health = NULL;
	monitor_stop(d->mon);	/* before what it reads */
	d->mon = NULL;
	units_close(d->units);
	ingest_close(d->ingest);
	streams_free(d->streams);
	if (d->ns) {
		if ((rc = ns_sync(d->ns)) < 0)
			log_err("namespace sync: %s", ddterr_last(rc));
		ns_close(d->ns);
	}
	if (d->st && (rc = store_close(d->st)) < 0)
		log_err("store close: %s", ddterr_last(rc));
	if (d->ix)
		idx_close(d->ix);
	store_lock_release(d->lock);	/* last: the index is closed */
	alert_table_free(d->alerts);
	bufpool_free(d->replies);	/* after the server: no reply holds one */
	audit_close(d->audit);
	d->audit = NULL;
	pending_free(d->pending);
	d->pending = NULL;
}

/* The directory and space check, while the daemon serves. */
static int start_health(ddtd *d)
{
	health_config hc = {
		.interval = d->cfg.health_interval,
		.space_warning_pct = d->cfg.space_warning_pct,
		.space_critical_pct = d->cfg.space_critical_pct,
	};

	return health_start(&d->health, d->st, d->alerts, &hc);
}

static void password_path(const ddtd *d, char *buf, size_t cap)
{
	if (d->cfg.admin_password_file[0])
		snprintf(buf, cap, "%s", d->cfg.admin_password_file);
	else
		snprintf(buf, cap, "%s/admin.password", d->cfg.store);
}

/* The password file, created FIO_FILE_MODE from the start, with O_EXCL and
 * O_NOFOLLOW: never someone else's file, nor through a link planted where
 * it goes. One already there is stale (the store has no user: a start
 * that stopped before making it), so it is replaced once. */
static int write_password(const char *path, const char *pw)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
	char *dir = fio_parent_dir(path);
	int fd = -1, rc, rc2;

	if (!dir)
		return -ENOMEM;
	rc = fio_open(path, flags, FIO_FILE_MODE, &fd);
	if (rc == -EEXIST && unlink(path) == 0) {
		log_warn("replacing %s, left by a start that did not finish",
			 path);
		rc = fio_open(path, flags, FIO_FILE_MODE, &fd);
	}
	if (rc < 0)
		goto out;
	rc = fio_pwrite(fd, pw, strlen(pw), 0);
	if (rc == 0)
		rc = fio_fsync(fd);
	rc2 = fio_close(fd);
	if (rc == 0)
		rc = rc2;
	if (rc == 0)
		rc = fio_fsync_dir(dir);
	if (rc < 0)
		unlink(path);
out:
	free(dir);
	return rc;
}

/* A new store gets one admin with a random password, kept in a file only
 * its owner can read, so that the first ddt command has something to log
 * in with and no default password ever exists. */
static int ensure_admin(ddtd *d)
{
	static const char alphabet[] =
		"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char rnd[20];
	char pw[sizeof(rnd) + 2], path[PATH_MAX + 32];
	uint64_t n;
	int rc;

	rc = auth_count(d->ix, &n);
	if (rc < 0 || n > 0)
		return rc;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return ddterr_set(-EIO, "no randomness for the admin password");
	for (size_t i = 0; i < sizeof(rnd); i++)
		pw[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	pw[sizeof(rnd)] = '\n';
	pw[sizeof(rnd) + 1] = '\0';
	password_path(d, path, sizeof(path));
	rc = write_password(path, pw);
	if (rc < 0)
		return ddterr_set(rc, "cannot write the admin password to %s: %s",
				  path, strerror(-rc));
	pw[sizeof(rnd)] = '\0';
	rc = auth_set_user(d->ix, "admin", pw, DDT_ROLE_ADMIN,
			   DDT_DOMAIN_SYSTEM);
	memset(pw, 0, sizeof(pw));
	if (rc == 0)
		log_info("created user admin; its password is in %s", path);
	return rc;
}

static void audit_user_set(ddtd *d, const cmdline *cl, int rc)
{
	char f[256] = "", who[64];

	audit_kv(f, sizeof(f), "target_user", cl->set_password_user);
	audit_kv(f, sizeof(f), "role", ddt_role_name(cl->role));
	audit_kv(f, sizeof(f), "domain", cl->domain ? cl->domain : "system");
	audit_event(d->audit, "user.set", rc, console_user(who, sizeof(who)),
		    "offline", f);
}

static int set_password(ddtd *d, const cmdline *cl)
{
	char line[AUTH_MAX_PASSWORD + 2];
	size_t n;
	int rc;

	if (!fgets(line, sizeof(line), stdin))
		return ddterr_set(-EINVAL, "no password on standard input");
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0)
		return ddterr_set(-EINVAL, "an empty password is not allowed");
	rc = auth_set_user(d->ix, cl->set_password_user, line,
			   cl->role, cl->domain);
	memset(line, 0, sizeof(line));
	audit_user_set(d, cl, rc);
	if (rc == 0)
		printf("password set for %s (%s)%s%s\n", cl->set_password_user,
		       ddt_role_name(cl->role), cl->domain ? " in domain " : "",
		       cl->domain ? cl->domain : "");
	return rc;
}

/* --restore-checkpoint: offline, the report on stdout, exit 0 or 1. */
/* The key and certificate, made at first start; the fingerprint goes to
 * the log, where whoever set the target up reads it for the clients. */
static int start_tls(ddtd *d)
{
	int rc = tlsd_open(&d->tls, &d->cfg);

	if (rc < 0)
		return rc;
	log_info("TLS certificate %s, fingerprint %s; plaintext %s",
		 tlsd_cert_path(d->tls), tlsd_fingerprint(d->tls),
		 d->cfg.tls_plain_loopback ? "also taken from loopback "
		 "(tls = loopback-plain)" : "refused (tls = required)");
	return 0;
}

/* --check-config: tls_cert and tls_key go together, and if both files
 * are there, they load and match (like the other paths, one not there
 * yet is left for the start to report). */
static int check_tls_files(const ddtd_config *c)
{
	tlsd *t = NULL;
	int rc;

	if (!c->tls_cert[0] && !c->tls_key[0])
		return 0;
	if (c->tls_cert[0] && c->tls_key[0] &&
	    (access(c->tls_cert, F_OK) != 0 || access(c->tls_key, F_OK) != 0))
		return 0;
	rc = tlsd_open(&t, c);
	tlsd_free(t);
	return rc;
}

static int restore_checkpoint(ddtd *d, const cmdline *cl)
{
	store_restore_report r;
	store_config sc;
	char text[4096], f[256] = "", who[64];
	int rc;

	store_cfg(d, &sc);
	rc = store_restore_checkpoint(&sc, NULL, cl->restore_name,
				      ns_restore_keeps_locks, NULL, &r);
	if (open_audit(d) == 0) {
		audit_kv(f, sizeof(f), "checkpoint", cl->restore_name ?
			 cl->restore_name : "(newest)");
		audit_event(d->audit, "checkpoint.restore", rc,
			    console_user(who, sizeof(who)), "offline", f);
		audit_close(d->audit);
		d->audit = NULL;
	}
	if (rc < 0) {
		fprintf(stderr, "ddtargetd: cannot restore the store %s: %s\n",
			d->cfg.store, ddterr_last(rc));
		return 1;
	}
	store_restore_report_format(&r, text, sizeof(text));
	printf("restored the store %s\n%s", d->cfg.store, text);
	return 0;
}

static void write_pid_file(ddtd *d)
{
	char buf[32];
	int rc;

	if (!d->cfg.pid_file[0])
		return;
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	rc = fio_write_file_atomic(d->cfg.pid_file, buf, strlen(buf));
	/* Not the store's: anyone may read which process serves it. */
	if (rc == 0 && chmod(d->cfg.pid_file, 0644) != 0)
		rc = -errno;
	if (rc < 0)
		log_warn("cannot write pid file %s: %s", d->cfg.pid_file,
			 strerror(-rc));
}

/* warn: say so if root stays (serving, not the offline commands). */
static int drop_root(const ddtd_config *c, int warn)
{
	int dropped, rc = privs_drop(c->user, c->group, c->store, &dropped);

	if (rc < 0) {
		fprintf(stderr, "ddtargetd: %s\n", ddterr_last(rc));
		return rc;
	}
	if (dropped)
		log_info("running as user %s", c->user);
	else if (warn && privs_running_as_root())
		log_warn("running as root: set user (e.g. user = ddtarget) so "
			 "that a flaw reaches only the store");
	return 0;
}

int main(int argc, char **argv)
{
	cmdline cl = { .role = DDT_ROLE_USER };
	ddtd d = { 0 };
	int rc, lfd = -1;

	/* Whatever the daemon creates is its owner's alone (fio.h): RocksDB's
	 * files, which no mode of ours reaches, included. */
	umask(077);
	memtune_keep_buffers();
	config_default(&d.cfg);
	parse_args(argc, argv, &d.cfg, &cl);
	log_setup("ddtargetd", d.cfg.use_syslog, d.cfg.verbose);
	signal(SIGPIPE, SIG_IGN);
	d.started = now_ns();

	if (cl.check) {
		/* Every setting was checked as it was read; a bad one has
		 * already ended the run with its line. Configured TLS files
		 * that are there are loaded too (the store's own pair is not
		 * made here). */
		if ((rc = check_tls_files(&d.cfg)) < 0) {
			fprintf(stderr, "ddtargetd: %s\n", ddterr_last(rc));
			return 1;
		}
		printf("ddtargetd: configuration OK (store %s, listening on "
		       "%s port %d)\n", d.cfg.store, d.cfg.listen,
		       d.cfg.port);
		return 0;
	}
	/* The port before anything else: one in use must not leave a new
	 * store and a password behind. */
	if (!cl.set_password_user && !cl.restore &&
	    (rc = serve_bind(&d.cfg, &lfd)) < 0) {
		fprintf(stderr, "ddtargetd: %s\n", ddterr_last(rc));
		return 1;
	}
	/* Then root goes (a port under 1024 is bound), before the store is
	 * touched: --set-password and --restore-checkpoint too, or root
	 * would own what they write. */
	if (drop_root(&d.cfg, !cl.set_password_user && !cl.restore) < 0) {
		if (lfd >= 0)
			close(lfd);
		return 1;
	}
	if (cl.restore)
		return restore_checkpoint(&d, &cl);
	/* Detach first: a fork would leave the store's threads behind. */
	if (cl.daemonize && !cl.set_password_user && daemon(0, 1) != 0) {
		fprintf(stderr, "ddtargetd: cannot detach: %s\n",
			strerror(errno));
		return 1;
	}
	rc = open_engine(&d);
	if (rc == 0)
		rc = open_audit(&d);
	if (rc < 0) {
		fprintf(stderr, "ddtargetd: cannot open the store %s: %s\n",
			d.cfg.store, ddterr_last(rc));
		close_engine(&d);
		if (lfd >= 0)
			close(lfd);
		return 1;
	}
	if (store_dirs_tightened(d.st))
		log_info("closed %d directories of the store %s to other users "
			 "(mode 0700; group or others could enter them)",
			 store_dirs_tightened(d.st), d.cfg.store);
	if (cl.set_password_user) {
		rc = set_password(&d, &cl);
		if (rc < 0)
			fprintf(stderr, "ddtargetd: %s\n", ddterr_last(rc));
		close_engine(&d);
		return rc < 0;
	}
	report_geometry(&d);
	rc = ensure_admin(&d);
	if (rc == 0)
		report_journals(&d);
	if (rc == 0)
		rc = start_health(&d);
	if (rc == 0)
		rc = start_maintenance(&d);
	if (rc == 0)
		rc = monitor_start(&d.mon, &d);
	if (rc == 0)
		rc = start_tls(&d);
	if (rc == 0) {
		rc = serve_run(&d, lfd, write_pid_file);
		lfd = -1;
	}
	if (lfd >= 0)
		close(lfd);
	if (rc < 0)
		log_err("%s", ddterr_last(rc));
	close_engine(&d);
	tlsd_free(d.tls);
	if (d.cfg.pid_file[0])
		unlink(d.cfg.pid_file);
	if (rc == 0)
		log_info("stopped");
	return rc < 0;
}
