/* ddtfs.c - mount a storage unit of ddtargetd as a file system (FUSE):
 * the command line, the session, the mount and the loop. What is copied
 * in deduplicates against everything else on the target; Samba exports
 * such a mount as an SMB share (contrib/smb.conf). `ddt mount` runs this. */
#include "ddtfs.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confval.h"
#include "ddterr.h"
#include "net.h"
#include "memtune.h"


#define PROG "ddtfs"
#define IDLE_COMMIT_MS	3000	/* a file left open unwritten is published */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [OPTIONS] SU MOUNTPOINT\n"
"\n"
"Mount storage unit SU of a ddtargetd at MOUNTPOINT. Files written there are\n"
"cut, deduplicated and sent as ddt backup sends them, and published whole at\n"
"close and fsync: a reader never sees half a write. Unmount with\n"
"'fusermount3 -u MOUNTPOINT'.\n"
"\n"
"  -H, --host HOST          the target (default 127.0.0.1), or the path\n"
"                           of its local socket (on its own host)\n"
"  -p, --port PORT          its port (default %d)\n"
"  -u, --user USER          log in as USER (default admin); the password is\n"
"                           $DDT_PASSWORD or the first line of --password-file\n"
"      --password-file F\n"
"      --tls-fingerprint SHA256:HEX  trust only this target certificate\n"
"      --tls-ca FILE        trust a certificate a CA of FILE signed\n"
"      --known-hosts FILE   else pin on first use in FILE (default\n"
"                           $DDT_KNOWN_HOSTS or ~/.config/ddt/known_hosts)\n"
"      --no-tls             plaintext (a tls=loopback-plain target, loopback)\n"
"  -o OPTIONS               mount options, comma-separated: allow_other (for\n"
"                           Samba), ro, and FUSE's own; default_permissions\n"
"                           is always on\n"
"      --cache-mb N         bytes written and held in memory before they are\n"
"                           sent, all files together (default 256)\n"
"      --reconnect SECS     how long an operation waits for a restarted\n"
"                           target (default 60)\n"
"      --readahead-kb N     the kernel's read-ahead on the mount, set when\n"
"                           run as root (default 4096; 0: the kernel's 128)\n"
"  -f, --foreground         stay in the foreground (default: detach)\n"
"  -d, --debug              FUSE's debug output (implies -f)\n"
"  -h, --help\n"
"\n"
"See ddtfs(8).\n", DDT_DEFAULT_PORT);
}

typedef struct args {
	const char *su, *mountpoint, *password_file, *mount_opts;
	int foreground, debug;
	ddtc_opts o;			/* the session's */
	char password[DDT_MAX_STR + 1];
	size_t cap;			/* --cache-mb */
	unsigned readahead_kb;		/* --readahead-kb */
	char where[PATH_MAX];		/* the mount point, resolved */
} args;

static int read_password(const char *file, char *buf, size_t cap)
{
	int rc;

	if (!file && !getenv("DDT_PASSWORD")) {
		fprintf(stderr, PROG ": no password: set DDT_PASSWORD or give "
			"--password-file\n");
		return -1;
	}
	rc = confval_password(buf, cap, file);
	if (rc < 0)
		fprintf(stderr, PROG ": %s\n", ddterr_last(rc));
	return rc < 0 ? -1 : 0;
}

static int parse(int argc, char **argv, ddtfs *fs, args *a)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "cache-mb", required_argument, NULL, 'C' },
		{ "reconnect", required_argument, NULL, 'R' },
		{ "readahead-kb", required_argument, NULL, 'A' },
		{ "tls-fingerprint", required_argument, NULL, 'F' },
		{ "tls-ca", required_argument, NULL, 'T' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "no-tls", no_argument, NULL, 'N' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "H:p:u:o:fdh", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': a->o.host = optarg; break;
		case 'p': a->o.port = atoi(optarg); break;
		case 'u': a->o.user = optarg; break;
		case 'P': a->password_file = optarg; break;
		case 'o': a->mount_opts = optarg; break;
		case 'C': a->cap = (size_t)strtoull(optarg, NULL, 10) << 20;
			  break;
		case 'R': fs->reconnect_secs = atoi(optarg); break;
		case 'A': a->readahead_kb = (unsigned)atoi(optarg); break;
		case 'F': a->o.tls_fingerprint = optarg; break;
		case 'T': a->o.tls_ca = optarg; break;
		case 'K': a->o.known_hosts = optarg; break;
		case 'N': a->o.no_tls = 1; break;
		case 'f': a->foreground = 1; break;
		case 'd': a->debug = a->foreground = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, PROG ": give SU and MOUNTPOINT (" PROG
			" --help)\n");
		return -1;
	}
	a->su = argv[optind];
	a->mountpoint = argv[optind + 1];
	if (!realpath(a->mountpoint, a->where)) {
		fprintf(stderr, PROG ": %s: %s\n", a->mountpoint,
			strerror(errno));
		return -1;
	}
	if (a->o.port <= 0 || a->o.port > 65535 || a->cap == 0) {
		fprintf(stderr, PROG ": bad --port or --cache-mb\n");
		return -1;
	}
	a->o.password = a->password;
	a->o.client_name = PROG;
	return read_password(a->password_file, a->password,
			     sizeof(a->password));
}

/* Check the target, the login and the unit before detaching, so that
 * their errors reach the terminal; the session's threads would not
 * survive the fork, so this one is closed and the gateway's made after. */
static int open_unit(ddtfs *fs, const args *a)
{
	ddtc_su u;
	ddtc *c;
	int rc;

	rc = ddtc_connect(&c, &a->o);
	if (rc < 0) {
		char where[320];

		net_target_name(a->o.host, a->o.port, where, sizeof(where));
		fprintf(stderr, PROG ": %s: %s\n", where, ddtc_errmsg(rc));
		return -1;
	}
	snprintf(fs->su, sizeof(fs->su), "%s", a->su);
	/* A restore-level user mounts read-only: writes fail EROFS in the
	 * kernel, not one by one at the target. */
	fs->read_only = ddtc_role(c) == DDT_ROLE_RESTORE;
	if (fs->read_only)
		fprintf(stderr, PROG ": user %s has the restore level: "
			"mounting read-only\n", a->o.user);
	rc = ddtc_su_open(c, a->su, &u);
	if (rc < 0)
		fprintf(stderr, PROG ": storage unit %s: %s\n", a->su,
			ddtc_errmsg(rc));
	ddtc_close(c);
	fs->root = u.root;
	return rc < 0 ? -1 : 0;
}

/* The gateway core: a session that comes back by itself, the files being
 * written (committed when idle for a few seconds, and at unmount). */
static int start_core(ddtfs *fs, const args *a)
{
	int rc = gw_sess_new(&fs->sess, &a->o);

	if (rc < 0 && !gw_sess_lost(rc) && rc != -ENOTCONN)
		return rc;
	return gw_files_new(&fs->files, fs->sess, a->cap, IDLE_COMMIT_MS);
}

int ddtfs_retry(ddtfs *fs, int rc, int tries)
{
	if (rc != -ENOTCONN && !gw_sess_lost(rc))
		return 0;
	if (tries >= fs->reconnect_secs * 5)
		return 0;
	usleep(200000);
	return 1;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The device ("MAJ:MIN") of the ddtarget mount at where, from the last
 * such line of mountinfo; 0, or -1 if none. */
static int mount_dev(const char *where, char *dev, size_t cap)
{
	char line[8192], d[64], mp[4096], *fs;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		fs = strstr(line, " - fuse.ddtarget ");
		if (!fs || sscanf(line, "%*s %*s %63s %*s %4095s", d, mp) != 2)
			continue;
		unescape(mp);
		if (!strcmp(mp, where)) {
			snprintf(dev, cap, "%s", d);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/*
 * The kernel reads ahead at most 128 KiB on a FUSE mount, whatever the
 * init reply asks (the mount's backing device caps it), so a sequential
 * reader (smbd reads 8 MiB at a time) waits on one small request after
 * another; a window of a few MiB lets gw_ra's fetches overlap. Root may
 * widen it through sysfs. The device is looked up in mountinfo: a
 * stat(2) of the mount point would wait on this very process.
 */
static void set_readahead(const args *a)
{
	char dev[64], path[128];
	FILE *f;

	if (!a->readahead_kb || mount_dev(a->where, dev, sizeof(dev)) < 0)
		return;
	/* (op_init then asks the kernel for as much) */
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "w");
	if (!f)
		return;		/* not root: the kernel's window stays */
	fprintf(f, "%u\n", a->readahead_kb);
	if (fclose(f) != 0)
		fprintf(stderr, PROG ": cannot set %s: %s\n", path,
			strerror(errno));
}

/* FUSE's own arguments: the program, the options we always want, the
 * user's -o, and -d. */
static int fuse_argv(struct fuse_args *fa, const ddtfs *fs, const args *a)
{
	char opts[512];

	snprintf(opts, sizeof(opts), "fsname=ddtarget:%s,subtype=ddtarget,"
		 "default_permissions%s", fs->su, fs->read_only ? ",ro" : "");
	if (fuse_opt_add_arg(fa, PROG) || fuse_opt_add_arg(fa, "-o") ||
	    fuse_opt_add_arg(fa, opts))
		return -1;
	if (a->mount_opts && (fuse_opt_add_arg(fa, "-o") ||
			      fuse_opt_add_arg(fa, a->mount_opts)))
		return -1;
	if (a->debug && fuse_opt_add_arg(fa, "-d"))
		return -1;
	return 0;
}

static int serve(ddtfs *fs, const args *a)
{
	struct fuse_args fa = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se = NULL;
	int rc = -1;

	if (fuse_argv(&fa, fs, a) < 0)
		goto out;
	se = fuse_session_new(&fa, &ddtfs_ops, sizeof(ddtfs_ops), fs);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (fuse_session_mount(se, a->mountpoint) != 0)
		goto out_signals;
	set_readahead(a);
	if (fuse_daemonize(a->foreground) != 0)
		goto out_unmount;
	if (start_core(fs, a) < 0)
		goto out_unmount;
	lc = fuse_loop_cfg_create();
	if (!lc)
		goto out_unmount;
	fuse_loop_cfg_set_max_threads(lc, 16);
	rc = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	gw_files_free(fs->files);	/* commits what is still open */
	fs->files = NULL;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&fa);
	return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	ddtfs fs;
	args a;
	int rc;

	memtune_keep_buffers();
	memset(&fs, 0, sizeof(fs));
	memset(&a, 0, sizeof(a));
	ddtc_opts_default(&a.o);
	a.o.threads = 2;
	a.cap = (size_t)256 << 20;
	a.readahead_kb = 4096;
	fs.reconnect_secs = 60;
	fs.attr_secs = 1.0;
	if (parse(argc, argv, &fs, &a) < 0 || open_unit(&fs, &a) < 0)
		return 1;
	fs.readahead = a.readahead_kb > (UINT_MAX >> 10) ? UINT_MAX :
		       a.readahead_kb << 10;
	rc = serve(&fs, &a);
	if (fs.files)
		gw_files_free(fs.files);
	if (fs.sess)
		gw_sess_free(fs.sess);
	explicit_bzero(a.password, sizeof(a.password));
	return rc == 0 ? 0 : 1;
}
