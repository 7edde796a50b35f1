/* ddt.c - the command-line client of a ddtarget: option parsing, the help,
 * the command table, and the commands on backups (list, ls, rm); backup.c
 * (with its walk and upload) and restore.c hold the two that move data,
 * admin.c the target's upkeep (retain, expire, status, alerts, clean,
 * scrub, su, checkpoint), cmd.c what they all call (the login, usage
 * errors, finding a backup).
 *
 * Every command takes the same connection options, so they are parsed once
 * for all, anywhere on the line (getopt permutes), and each command then
 * says which of the other options it accepts. The password never comes
 * from the command line, where every user of the machine could read it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "users.h"
#include "backup.h"
#include "cmd.h"
#include "ddtc.h"
#include "dirlist.h"
#include "human.h"
#include "memtune.h"
#include "net.h"
#include "mount.h"
#include "out.h"
#include "restore.h"
#include "utf8.h"

#define HOST_DEFAULT	"127.0.0.1"
#define USER_DEFAULT	"admin"

static const cmd *find_cmd(const char *name);

/* ---- help ---- */

static const char conn_help[] =
"Connection options (every command):\n"
"  -H, --host HOST          the target (default " HOST_DEFAULT "), or the\n"
"                           path of its local socket (on its own host)\n"
"  -p, --port PORT          its port (default 7410)\n"
"  -u, --user USER          log in as USER (default " USER_DEFAULT ")\n"
"      --password-file FILE read the password from the first line of FILE\n"
"      --tls-fingerprint SHA256:HEX\n"
"                           trust only the target certificate of this\n"
"                           fingerprint (ddtargetd logs it, ddt status\n"
"                           shows it; $DDT_TLS_FINGERPRINT)\n"
"      --tls-ca FILE        trust a certificate a CA of FILE (PEM) signed\n"
"                           for the host name given ($DDT_TLS_CA)\n"
"      --known-hosts FILE   pin each target's certificate on first use in\n"
"                           FILE ($DDT_KNOWN_HOSTS, else\n"
"                           ~/.config/ddt/known_hosts): the default trust\n"
"      --no-tls             plaintext, for a target set tls=loopback-plain\n"
"                           reached over loopback ($DDT_TLS=off)\n"
"  -h, --help               show help and exit\n";

static const char password_help[] =
"\n"
"The password is read from --password-file, else $DDT_PASSWORD, else\n"
"~/" CMD_PASSWORD_FILE "; never from the command line. $DDT_TIMEOUT: seconds\n"
"the target may stay silent while ddt waits before it gives up (600).\n";

static void print_help(void)
{
	printf(
"Usage: %s [OPTION]... COMMAND [ARG]...\n"
"Back up to and restore from a ddtarget deduplicating storage target.\n"
"\n"
"Commands:\n"
"  backup DIR --su SU [--name NAME]   back up the tree at DIR\n"
"  list --su SU                       list the backups in a storage unit\n"
"  ls BACKUP [PATH] --su SU           list a directory inside a backup\n"
"  restore BACKUP DIR --su SU         restore a backup, or with --path a\n"
"                                     part of it, into DIR\n"
"  rm BACKUP --su SU                  remove a backup\n"
"  retain BACKUP WHEN --su SU         set a backup's expiry\n"
"  expire [--su SU] [--dry-run]       remove the backups past their expiry\n"
"  status                             show the target's capacity, figures,\n"
"                                     directories and alerts\n"
"  alerts                             list the target's current problems\n"
"  clean start|status|watch           reclaim the space of deleted data\n"
"  scrub start|status|watch           verify and repair the stored data\n"
"  su create|list|delete|set [NAME]   manage storage units, their retention,\n"
"                                     retention lock and quota\n"
"  checkpoint create|list             take or list checkpoints of the\n"
"                                     target's metadata\n"
"  user add|list|passwd|set|rm       manage the target's users, online\n"
"  token create|list|rm               API tokens that log a user in\n"
"  help [COMMAND]                     show a command's help\n"
"\n"
"%s"
"  -V, --version            show the version and exit\n"
"%s"
"\n"
"Run '%s COMMAND --help' for a command's own options.\n"
"Exit status: 0 success; 1 a runtime error, or entries that could not be\n"
"backed up or restored; 2 a usage error.\n", PROG, conn_help,
	       password_help, PROG);
}

static void print_cmd_help(const cmd *c)
{
	printf("Usage: %s %s %s\n%s\n%s%s", PROG, c->name, c->usage, c->help,
	       conn_help, password_help);
}

/* ---- backup, restore ---- */

static int cmd_backup(const cmd *cm, const gopts *g, int argc, char **argv)
{
	backup_opts o = {
		.dir = argv[0],
		.su = g->su,
		.name = g->name,
		.host = g->host,
		.port = g->port,
		.one_fs = !!(g->given & OP_ONE_FS),
		.show_progress = !(g->given & OP_QUIET),
		.no_cache = !!(g->given & OP_NO_CACHE),
		.retain = g->given & OP_RETAIN ? g->retain :
			  DDT_RETAIN_DEFAULT,
	};
	ddtc *c;
	int ret;

	if (g->name && !cmd_name_valid(g->name, DDT_MAX_BACKUP_NAME))
		return cmd_usage_error(cm, "--name '%s': use 1 to %d letters, "
				       "digits, '-', '_' or '.'", g->name,
				       DDT_MAX_BACKUP_NAME);
	ret = cmd_login(g, 1, &c);
	if (ret)
		return ret;
	ret = backup_run(c, &o);
	ddtc_close(c);
	if (ret > BACKUP_EXIT_SIGNAL)
		backup_die_by_signal(ret);
	return ret;
}

static int cmd_restore(const cmd *cm, const gopts *g, int argc, char **argv)
{
	restore_opts o = {
		.path = g->path,
		.dir = argv[1],
		.force = !!(g->given & OP_FORCE),
		.show_progress = !(g->given & OP_QUIET),
	};
	ddtc_backup b;
	ddtc *c;
	int ret;

	ret = cmd_open_backup(g, argv[0], 0, &c, &b);
	if (ret)
		return ret;
	if (b.flags & DDT_AF_INCOMPLETE)
		out_warn("backup %s is incomplete: it may lack files", b.id);
	o.backup = b.id;
	o.ino = b.ino;
	if (!g->path || !*g->path || strspn(g->path, "/") == strlen(g->path))
		o.total = b.bytes;
	ret = restore_run(c, &o);
	ddtc_close(c);
	return ret;
}

/* ---- list, ls, rm ---- */

static int cmd_list(const cmd *cm, const gopts *g, int argc, char **argv)
{
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN];
	char id[UTF8_ESC_LEN(DDT_MAX_NAME)];
	cmd_backups l = { 0 };
	ddtc *c;
	int ret;

	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	ret = cmd_list_backups(c, g->su, &l);
	ddtc_close(c);
	if (ret)
		return ret;
	if (l.n == 0) {
		printf("no backups in storage unit %s\n", g->su);
		free(l.v);
		return 0;
	}
	printf("%-40s  %-19s  %10s  %10s  %-19s  %s\n", "ID", "DATE", "FILES",
	       "BYTES", "EXPIRES", "STATE");
	for (size_t i = 0; i < l.n; i++)
		printf("%-40s  %-19s  %10" PRIu64 "  %10s  %-19s  %s\n",
		       utf8_escape(id, sizeof(id), l.v[i].id,
				   UTF8_ESC_BACKSLASH),
		       human_fmt_date(l.v[i].created, b1), l.v[i].files,
		       fmt_bytes(l.v[i].bytes, b2), l.v[i].expires ?
		       human_fmt_date(l.v[i].expires, b3) : "never",
		       l.v[i].flags & DDT_AF_INCOMPLETE ? "incomplete" :
		       l.v[i].flags & DDT_AF_LOCKED ? "complete, locked" :
		       "complete");
	free(l.v);
	return 0;
}

static void mode_string(const ddt_attr *a, char *s)
{
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = a->mode;

	s[0] = a->type == DDT_T_DIR ? 'd' : a->type == DDT_T_SYMLINK ? 'l' :
	       '-';
	for (int i = 0; i < 9; i++)
		s[1 + i] = m & (0400u >> i) ? rwx[i] : '-';
	if (m & 04000)
		s[3] = m & 0100 ? 's' : 'S';
	if (m & 02000)
		s[6] = m & 0010 ? 's' : 'S';
	if (m & 01000)
		s[9] = m & 0001 ? 't' : 'T';
	s[10] = '\0';
}

/* Like ls -ln --time-style=long-iso. */
static void print_ls(const dirlist *l)
{
	int wl = 1, wu = 1, wg = 1, ws = 1;
	char mode[11], date[FMT_LEN], num[32];
	static char name[UTF8_ESC_LEN(DDT_MAX_NAME)],
		    target[UTF8_ESC_LEN(DDT_MAX_STR)];
	size_t i;

	for (i = 0; i < l->n; i++) {
		const ddt_attr *a = &l->v[i].a;
		int n;

		n = snprintf(num, sizeof(num), "%" PRIu32, a->nlink);
		wl = n > wl ? n : wl;
		n = snprintf(num, sizeof(num), "%" PRIu32, a->uid);
		wu = n > wu ? n : wu;
		n = snprintf(num, sizeof(num), "%" PRIu32, a->gid);
		wg = n > wg ? n : wg;
		n = snprintf(num, sizeof(num), "%" PRIu64, a->size);
		ws = n > ws ? n : ws;
	}
	for (i = 0; i < l->n; i++) {
		const dirlist_ent *e = &l->v[i];
		time_t t = (time_t)(e->a.mtime / 1000000000);
		struct tm tm;

		mode_string(&e->a, mode);
		if (!localtime_r(&t, &tm) ||
		    !strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm))
			strcpy(date, "?");
		/* Backslashes too: "a\\x1b" and a name with ESC differ. */
		utf8_escape(name, sizeof(name), e->name, UTF8_ESC_BACKSLASH);
		utf8_escape(target, sizeof(target), e->target ? e->target : "",
			    UTF8_ESC_BACKSLASH);
		printf("%s %*" PRIu32 " %*" PRIu32 " %*" PRIu32 " %*" PRIu64
		       " %s %s%s%s\n", mode, wl, e->a.nlink, wu, e->a.uid, wg,
		       e->a.gid, ws, e->a.size, date, name,
		       e->target ? " -> " : "", target);
	}
}

/* The symlinks' targets, for the "-> target" column. */
static int ls_targets(ddtc *c, dirlist *l)
{
	char buf[DDT_MAX_STR + 1];
	int rc;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].a.type != DDT_T_SYMLINK)
			continue;
		rc = ddtc_readlink(c, l->v[i].a.ino, buf, sizeof(buf));
		if (rc < 0)
			return out_fail(rc, "read symbolic link %s",
					l->v[i].name);
		l->v[i].target = strdup(buf);
		if (!l->v[i].target)
			return out_fail_errno(ENOMEM, "free some memory", "ls");
	}
	return 0;
}

static int ls_path(ddtc *c, const ddtc_backup *b, const char *path)
{
	dirlist l = { 0 };
	ddt_attr a;
	int rc, ret = 0;

	while (*path == '/')
		path++;
	rc = *path ? ddtc_lookup_path(c, b->ino, path, &a) :
	     ddtc_getattr(c, b->ino, &a);
	if (rc < 0)
		return out_fail(rc, "find '%s' in backup %s", path, b->id);
	if (a.type == DDT_T_DIR) {
		rc = ddtc_readdir(c, a.ino, dirlist_add, &l);
		if (rc == -ENOMEM)
			ret = out_fail_errno(ENOMEM, "free some memory", "ls");
		else if (rc < 0)
			ret = out_fail(rc, "list '%s' in backup %s", path,
				       b->id);
	} else {
		const char *base = strrchr(path, '/');

		rc = dirlist_add(&l, base ? base + 1 : path, &a);
		if (rc < 0)
			ret = out_fail_errno(ENOMEM, "free some memory", "ls");
	}
	if (!ret)
		ret = ls_targets(c, &l);
	if (!ret)
		print_ls(&l);
	dirlist_free(&l);
	return ret;
}

static int cmd_ls(const cmd *cm, const gopts *g, int argc, char **argv)
{
	ddtc_backup b;
	ddtc *c;
	int ret;

	ret = cmd_open_backup(g, argv[0], 0, &c, &b);
	if (ret)
		return ret;
	ret = ls_path(c, &b, argc > 1 ? argv[1] : "");
	ddtc_close(c);
	return ret;
}

static int cmd_rm(const cmd *cm, const gopts *g, int argc, char **argv)
{
	ddtc_backup b;
	ddtc *c;
	int rc, ret;

	ret = cmd_open_backup(g, argv[0], 1, &c, &b);
	if (ret)
		return ret;
	rc = ddtc_backup_delete(c, g->su, b.id);
	if (rc < 0)
		ret = out_fail(rc, "remove backup %s", b.id);
	else
		printf("removed backup %s from storage unit %s\n", b.id,
		       g->su);
	ddtc_close(c);
	return ret;
}

static int cmd_help(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const cmd *c;

	if (argc == 0) {
		print_help();
		return 0;
	}
	c = find_cmd(argv[0]);
	if (!c)
		return cmd_usage_error(NULL, "help: unknown command '%s'",
				       argv[0]);
	print_cmd_help(c);
	return 0;
}

/* ---- the command table ---- */

static const cmd cmds[] = {
	{ "backup", cmd_backup, 1, 1,
	  OP_SU | OP_NAME | OP_ONE_FS | OP_NO_CACHE | OP_QUIET | OP_CODEC |
	  OP_RETAIN,
	  OP_SU,
	  "DIR --su SU [--name NAME] [OPTION]...",
	  "Back up the tree at DIR into a new backup in storage unit SU.\n"
	  "Files, directories, symbolic links and hard links are stored with\n"
	  "their modes, owners and times; sockets, fifos and devices are\n"
	  "skipped. Files the file cache knows unchanged (same size, times,\n"
	  "inode and device) are not read again.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n"
	  "      --name NAME          the backup's name (default: DIR's base "
	  "name);\n"
	  "                           its id is NAME@YYYYMMDDTHHMMSSZ\n"
	  "  -x, --one-file-system    do not descend into other file systems\n"
	  "      --no-cache           read every file; neither use nor update "
	  "the\n"
	  "                           file cache\n"
	  "      --codec CODEC        compress new segments on the wire with lz4\n"
	  "                           (the default, fastest), zstd (a quarter\n"
	  "                           smaller, a sixth slower), gzfast or none;\n"
	  "                           the target compresses what it stores anyway\n"
	  "      --retain DURATION    keep the backup this long (90d, 12h, 2w,\n"
	  "                           1y, 30m, 45s) or 'never' expire it;\n"
	  "                           default: the storage unit's retention\n"
	  "  -q, --quiet              no progress line\n"
	  "\n"
	  "Exit status: 0, every entry backed up; 3, the backup completed but\n"
	  "some entries could not be read or stored (each named in a warning);\n"
	  "1, the backup failed; 130 or 143, SIGINT or SIGTERM stopped it and\n"
	  "the incomplete backup was removed (a second signal stops at once\n"
	  "and may leave it).\n" },
	{ "list", cmd_list, 0, 0, OP_SU, OP_SU,
	  "--su SU",
	  "List the backups in storage unit SU, oldest first, with when each\n"
	  "expires and whether a retention lock holds it.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n" },
	{ "ls", cmd_ls, 1, 2, OP_SU, OP_SU,
	  "BACKUP [PATH] --su SU",
	  "List the directory PATH (default: the root) inside BACKUP, like\n"
	  "ls -ln. BACKUP is a backup id, a backup name (its newest complete\n"
	  "backup) or 'latest'; or /DIR for the unit's own files in DIR, as\n"
	  "the shares (ddt mount, ddt-nfsd) write them.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n" },
	{ "restore", cmd_restore, 2, 2, OP_SU | OP_PATH | OP_FORCE | OP_QUIET,
	  OP_SU,
	  "BACKUP DIR --su SU [--path PATH] [--force]",
	  "Restore BACKUP, or the part of it at PATH, into DIR. A directory's\n"
	  "contents go into DIR; a file or symbolic link goes into DIR under\n"
	  "its own name. DIR is created if missing. Owners are restored when\n"
	  "run as root. BACKUP is a backup id, a backup name (its newest\n"
	  "complete backup) or 'latest'; or /DIR for the unit's own files in\n"
	  "DIR, as the shares (ddt mount, ddt-nfsd) write them.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n"
	  "      --path PATH          restore only PATH inside the backup\n"
	  "  -f, --force              restore into a non-empty DIR, replacing\n"
	  "                           entries of the same names\n"
	  "  -q, --quiet              no progress line\n" },
	{ "rm", cmd_rm, 1, 1, OP_SU, OP_SU,
	  "BACKUP --su SU",
	  "Remove the backup whose id is BACKUP from storage unit SU. The\n"
	  "space its unique segments take is freed by the target's cleaning.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n" },
	{ "retain", cmd_retain, 2, 2, OP_SU, OP_SU,
	  "BACKUP WHEN --su SU",
	  "Set when BACKUP expires. WHEN is a duration from now (90d, 12h,\n"
	  "2w, 1y, 30m, 45s; 1y is 365 days), a date (2030-12-25 or\n"
	  "2030-12-25 10:00, local time; end it with Z for UTC) or 'never'.\n"
	  "A backup under retention lock can be kept longer, never shorter.\n"
	  "BACKUP is a backup id, a backup name (its newest complete backup)\n"
	  "or 'latest'.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n" },
	{ "expire", cmd_expire, 0, 0, OP_SU | OP_DRY_RUN, 0,
	  "[--su SU] [--dry-run]",
	  "Remove the backups whose expiry has passed, in every storage unit\n"
	  "or in SU, and name each. The target also does this daily. An\n"
	  "incomplete backup is left a day past its expiry to finish.\n"
	  "\n"
	  "      --su SU              only this storage unit\n"
	  "      --dry-run            name them, remove nothing\n" },
	{ "mount", cmd_mount, 2, 3, 0, 0,
	  "SU DIR [OPTIONS]",
	  "Mount storage unit SU at directory DIR as a file system (FUSE,\n"
	  "through ddtfs, which stays running until 'fusermount3 -u DIR').\n"
	  "Any tool may then read and write there; what is written is\n"
	  "deduplicated against everything on the target and published whole\n"
	  "when a file is closed or synced. OPTIONS are mount options,\n"
	  "comma-separated: allow_other (so Samba can export DIR), ro, and\n"
	  "those of ddtfs(8).\n" },
	{ "status", cmd_status, 0, 0, OP_JSON, 0,
	  "[--json]",
	  "Show the target's capacity and usage (as df shows them), the\n"
	  "store's footprint (index, journals, checkpoints, as du counts\n"
	  "them), data reduction and sessions, ingest over the last day and\n"
	  "week, streams, the last scrub, clean and checkpoint, each storage\n"
	  "directory (path, size, used, free, use%, state) and the current\n"
	  "alerts; critical alerts are shown first.\n"
	  "\n"
	  "      --json               every figure the target reports (its\n"
	  "                           STATUS and STATUS_TEXT keys) and the\n"
	  "                           alerts, as one JSON object, for scripts\n" },
	{ "alerts", cmd_alerts, 0, 0, 0, 0,
	  "",
	  "List the target's current problems, worst first: severity, since\n"
	  "when, id and what to do; or 'no alerts'. A missing or foreign\n"
	  "storage directory, a file system fuller than the target's\n"
	  "thresholds, data a scrub found lost or damaged, a failed clean.\n" },
	{ "su", cmd_su, 1, 2, OP_RECURSIVE | OP_RETENTION | OP_LOCK | OP_QUOTA |
	  OP_SOFT_QUOTA | OP_BACKUP_STREAMS | OP_RESTORE_STREAMS | OP_DOMAIN, 0,
	  "create NAME [--domain D] | list | delete NAME [--recursive] |\n"
	  "       streams [NAME] |\n"
	  "       set NAME [--retention D] [--retention-lock] [--quota SIZE]\n"
	  "       [--soft-quota SIZE] [--backup-streams SOFT:HARD]\n"
	  "       [--restore-streams SOFT:HARD]",
	  "Create, list, delete or configure storage units. A storage unit\n"
	  "holds backups under its own name space and figures. Names are 1 to\n"
	  "255 letters, digits, '-', '_' or '.'. 'su set' needs an admin.\n"
	  "'su streams' shows the backup, restore and replication streams\n"
	  "active now, for the whole target and each unit (or NAME), with\n"
	  "their soft/hard limits ('-': none). A backup stream is a session\n"
	  "with a backup open in the unit or that wrote into it in the last\n"
	  "minute; a restore stream one that read from it in the last minute.\n"
	  "A backup over a hard limit is refused; over a soft one it goes on\n"
	  "and raises an alert.\n"
	  "\n"
	  "  -r, --recursive          delete a storage unit with everything in "
	  "it\n"
	  "      --domain D           su create: the domain (tenant) owning the\n"
	  "                           unit; only its users see it. Default: the\n"
	  "                           admin's own; only admins of domain\n"
	  "                           'system' may name another\n"
	  "      --retention D        how long new backups are kept unless they\n"
	  "                           say (90d, 12h, 2w, 1y; 'never': for ever)\n"
	  "      --retention-lock     turn the retention lock on: until its\n"
	  "                           expiry no one, admin included, can remove\n"
	  "                           a complete backup or shorten its expiry.\n"
	  "                           It cannot be turned off, it needs a\n"
	  "                           retention, and every backup must have an\n"
	  "                           expiry first\n"
	  "      --quota SIZE         most logical bytes the unit may hold (10G,\n"
	  "                           500M, 1.5T; 'none': no quota)\n"
	  "      --soft-quota SIZE    above this an alert warns (quota-soft);\n"
	  "                           nothing is refused ('none': no soft quota)\n"
	  "      --backup-streams SOFT:HARD\n"
	  "                           the unit's backup stream limits (2:4;\n"
	  "                           'none' or 0: no limit; one number: the\n"
	  "                           hard limit alone)\n"
	  "      --restore-streams SOFT:HARD\n"
	  "                           the same for restores (a restore is never\n"
	  "                           refused: over either limit, an alert)\n" },
	{ "clean", cmd_clean, 1, 1, OP_QUIET, 0,
	  "start | status | watch",
	  "Cleaning gives back the space of segments that no backup or file\n"
	  "refers to any more (after rm, expiry, deleted storage units). It\n"
	  "runs on the target while backups go on. 'start' starts it (admin),\n"
	  "'status' shows the current or last run, 'watch' waits for a run to\n"
	  "end and shows what it reclaimed (exit 1 if it failed).\n"
	  "\n"
	  "  -q, --quiet              no phase lines while watching\n" },
	{ "token", cmd_token, 1, 2, OP_NAME | OP_RETAIN, 0,
	  "create [--name LABEL] [--retain D] | list | rm ID",
	  "API tokens: a token logs its user in instead of the password (give\n"
	  "it as DDT_PASSWORD or in --password-file), for scripts and\n"
	  "monitors; revoking one leaves the password and the other tokens\n"
	  "alone. 'create' makes one for the logged-in user and prints it\n"
	  "once (the target keeps only its hash); 'list' shows yours (an\n"
	  "admin: those of the users it manages), 'rm' revokes one by ID.\n"
	  "A token has its user's level and domain, and goes with its user.\n"
	  "\n"
	  "      --name LABEL         what the token is for (up to 64 bytes)\n"
	  "      --retain D           it expires after D (30d, 12h, ...);\n"
	  "                           default: never\n" },
	{ "user", cmd_user, 1, 2, OP_LEVEL | OP_DOMAIN | OP_PASSWORD_STDIN, 0,
	  "add NAME [--level L] [--domain D] [--password-stdin] | list |\n"
	  "       passwd [NAME] [--password-stdin] |\n"
	  "       set NAME [--level L] [--domain D] | rm NAME",
	  "Manage the target's users, online: add, list, change the level or\n"
	  "domain of, or remove one (an admin; an admin of a domain other than\n"
	  "'system' manages its own domain's users only), or change a\n"
	  "password ('passwd' alone: your own, whatever your level). A new\n"
	  "password is asked twice on the terminal, without echo. A new\n"
	  "level or domain reaches the user's open sessions at once; a\n"
	  "removed user's sessions end. The last admin of domain\n"
	  "'system' can be neither removed nor demoted.\n"
	  "\n"
	  "      --level L            status (figures only), backup (writes,\n"
	  "                           cannot read back or remove), restore\n"
	  "                           (reads, cannot write), user (backs up,\n"
	  "                           restores, removes; the default) or admin\n"
	  "                           (full)\n"
	  "      --domain D           the user's domain (tenant); add: the\n"
	  "                           admin's own by default\n"
	  "      --password-stdin     read the new password from standard\n"
	  "                           input's first line (for scripts)\n" },
	{ "checkpoint", cmd_checkpoint, 1, 1, 0, 0,
	  "create | list",
	  "Take a checkpoint of the target's metadata (the index of its\n"
	  "segments, its storage units, backups and users), or list those it\n"
	  "keeps. Taking one needs an admin. With the target stopped,\n"
	  "'ddtargetd --restore-checkpoint' brings a target whose index is lost\n"
	  "back from one: every backup made before the checkpoint is there\n"
	  "again; those made after it are not.\n" },
	{ "scrub", cmd_scrub, 1, 1, OP_QUIET | OP_NO_REPAIR, 0,
	  "start [--no-repair] | status | watch",
	  "A scrub reads every fragment the target stores, checks it, re-hashes\n"
	  "every segment, and rebuilds what is missing or damaged from the\n"
	  "erasure code; then it checks every file's tree (every segment held,\n"
	  "with the length its tree gives it). It runs on the target while\n"
	  "backups go on. 'start' starts it (admin); 'status' shows the current\n"
	  "or last run, with the backups whose files it found lost or damaged;\n"
	  "'watch' waits for a run to end and shows it (exit 1 if it failed or\n"
	  "left problems).\n"
	  "\n"
	  "      --no-repair          start: report what is wrong, change "
	  "nothing\n"
	  "  -q, --quiet              no phase lines while watching\n" },
	{ "help", cmd_help, 0, 1, 0, 0,
	  "[COMMAND]",
	  "Show the help of COMMAND, or the general help.\n" },
};

static const cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* ---- main ---- */

static const char *op_name(unsigned op)
{
	switch (op) {
	case OP_SU: return "--su";
	case OP_NAME: return "--name";
	case OP_PATH: return "--path";
	case OP_FORCE: return "--force";
	case OP_RECURSIVE: return "--recursive";
	case OP_ONE_FS: return "--one-file-system";
	case OP_NO_CACHE: return "--no-cache";
	case OP_CODEC: return "--codec";
	case OP_RETAIN: return "--retain";
	case OP_DRY_RUN: return "--dry-run";
	case OP_RETENTION: return "--retention";
	case OP_LOCK: return "--retention-lock";
	case OP_QUOTA: return "--quota";
	case OP_NO_REPAIR: return "--no-repair";
	case OP_SOFT_QUOTA: return "--soft-quota";
	case OP_BACKUP_STREAMS: return "--backup-streams";
	case OP_RESTORE_STREAMS: return "--restore-streams";
	case OP_JSON: return "--json";
	case OP_DOMAIN: return "--domain";
	case OP_LEVEL: return "--level";
	case OP_PASSWORD_STDIN: return "--password-stdin";
	default: return "--quiet";
	}
}

/* Check what the command line gave against what the command takes. */
static int check_cmd(const cmd *c, const gopts *g, int argc)
{
	unsigned extra = g->given & ~c->takes, missing = c->needs & ~g->given;

	if (extra)
		return cmd_usage_error(c, "%s is not an option of '%s %s'",
				       op_name(extra & -extra), PROG, c->name);
	if (argc < c->min_args)
		return cmd_usage_error(c, "%s: missing arguments (%s %s %s)",
				       c->name, PROG, c->name, c->usage);
	if (argc > c->max_args)
		return cmd_usage_error(c, "%s: too many arguments (%s %s %s)",
				       c->name, PROG, c->name, c->usage);
	if (missing)
		return cmd_usage_error(c, "%s: %s is required", c->name,
				       op_name(missing & -missing));
	if (g->su && !cmd_name_valid(g->su, DDT_MAX_NAME))
		return cmd_usage_error(c, "--su '%s': not a storage unit "
				       "name (letters, digits, '-', '_', "
				       "'.')", g->su);
	return 0;
}

static int parse_port(const char *arg, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 65535)
		return cmd_usage_error(NULL, "-p '%s': need a port number "
				       "from 1 to 65535", arg);
	*out = (int)v;
	return 0;
}

/* One stream limit: a count, or 'none' (0). */
static int parse_limit(const char *s, size_t n, uint32_t *out)
{
	char buf[16], *end;
	unsigned long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcmp(buf, "none") == 0) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || *end || buf[0] == '-' || v > 1000000)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* --backup-streams (which 0) or --restore-streams (1) SOFT:HARD into g;
 * one number alone is the hard limit, with no soft one. */
static int streams_opt(int which, const char *arg, gopts *g)
{
	const char *colon = strchr(arg, ':');
	uint32_t *lim = &g->streams[2 * which];
	int bad;

	if (colon)
		bad = parse_limit(arg, (size_t)(colon - arg), &lim[0]) < 0 ||
		      parse_limit(colon + 1, strlen(colon + 1), &lim[1]) < 0;
	else
		bad = (lim[0] = 0, parse_limit(arg, strlen(arg), &lim[1]) < 0);
	if (!bad && lim[0] && lim[1] && lim[0] > lim[1])
		bad = 1;
	if (bad)
		return cmd_usage_error(NULL, "--%s-streams '%s': give SOFT:HARD "
				       "(2:4; 'none' or 0: no limit; the soft "
				       "one at most the hard one) or HARD",
				       which ? "restore" : "backup", arg);
	g->given |= which ? OP_RESTORE_STREAMS : OP_BACKUP_STREAMS;
	return 0;
}

/* --retain, --dry-run, --retention, --retention-lock, --quota (which: 0
 * to 4 in that order) into g. */
static int retention_opt(int which, const char *arg, gopts *g)
{
	int64_t secs;

	switch (which) {
	case 0:
		if (human_duration(arg, &secs) < 0 || secs == 0)
			return cmd_usage_error(NULL, "--retain '%s': give a "
					       "duration (90d, 12h, 2w, 1y, "
					       "30m, 45s) or 'never'", arg);
		g->retain = secs;
		g->given |= OP_RETAIN;
		return 0;
	case 1:
		g->given |= OP_DRY_RUN;
		return 0;
	case 2:
		if (human_duration(arg, &secs) < 0)
			return cmd_usage_error(NULL, "--retention '%s': give a "
					       "duration (90d, 12h, 2w, 1y) or "
					       "'never' to keep backups for ever",
					       arg);
		g->retention = secs < 0 ? 0 : (uint64_t)secs;
		g->given |= OP_RETENTION;
		return 0;
	case 3:
		g->given |= OP_LOCK;
		return 0;
	default:
		if (human_size(arg, &g->quota) < 0)
			return cmd_usage_error(NULL, "--quota '%s': give a "
					       "size (10G, 500M, 1.5T) or "
					       "'none'", arg);
		g->given |= OP_QUOTA;
		return 0;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_PWFILE = 256, OPT_SU, OPT_NAME, OPT_PATH, OPT_NO_CACHE,
	       OPT_CODEC, OPT_RETAIN, OPT_DRY_RUN, OPT_RETENTION, OPT_LOCK,
	       OPT_QUOTA, OPT_NO_REPAIR, OPT_SOFT_QUOTA, OPT_BACKUP_STREAMS,
	       OPT_RESTORE_STREAMS, OPT_JSON, OPT_DOMAIN, OPT_LEVEL,
	       OPT_PASSWORD_STDIN, OPT_TLS_FP, OPT_TLS_CA, OPT_KNOWN_HOSTS,
	       OPT_NO_TLS };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, OPT_PWFILE },
		{ "tls-fingerprint", required_argument, NULL, OPT_TLS_FP },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
		{ "no-tls", no_argument, NULL, OPT_NO_TLS },
		{ "su", required_argument, NULL, OPT_SU },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "force", no_argument, NULL, 'f' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "codec", required_argument, NULL, OPT_CODEC },
		{ "retain", required_argument, NULL, OPT_RETAIN },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "retention", required_argument, NULL, OPT_RETENTION },
		{ "retention-lock", no_argument, NULL, OPT_LOCK },
		{ "quota", required_argument, NULL, OPT_QUOTA },
		{ "no-repair", no_argument, NULL, OPT_NO_REPAIR },
		{ "soft-quota", required_argument, NULL, OPT_SOFT_QUOTA },
		{ "backup-streams", required_argument, NULL,
		  OPT_BACKUP_STREAMS },
		{ "restore-streams", required_argument, NULL,
		  OPT_RESTORE_STREAMS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	gopts g = { .host = HOST_DEFAULT, .user = USER_DEFAULT,
		    .port = DDT_DEFAULT_PORT };
	const cmd *c = NULL;
	int opt, help = 0, rc;

	memtune_keep_buffers();
	/* A closed pipe is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if (out_guard_stdout() < 0)
		return out_fail_errno(errno, NULL, "set up standard output");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":H:p:u:frxqhV", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'H':
			if (!*optarg)
				return cmd_usage_error(NULL, "-H: empty host");
			g.host = optarg;
			break;
		case 'p':
			rc = parse_port(optarg, &g.port);
			if (rc)
				return rc;
			break;
		case 'u':
			if (!*optarg)
				return cmd_usage_error(NULL, "-u: empty user");
			g.user = optarg;
			break;
		case OPT_PWFILE:
			g.password_file = optarg;
			break;
		case OPT_TLS_FP:
			g.tls_fingerprint = optarg;
			break;
		case OPT_TLS_CA:
			g.tls_ca = optarg;
			break;
		case OPT_KNOWN_HOSTS:
			g.known_hosts = optarg;
			break;
		case OPT_NO_TLS:
			g.no_tls = 1;
			break;
		case OPT_SU:
			g.su = optarg;
			g.given |= OP_SU;
			break;
		case OPT_NAME:
			g.name = optarg;
			g.given |= OP_NAME;
			break;
		case OPT_LEVEL:
			g.level = ddt_role_from_name(optarg);
			if (!g.level)
				return cmd_usage_error(NULL, "--level '%s': "
						       "status, backup, "
						       "restore, user or admin "
						       "(full)", optarg);
			g.given |= OP_LEVEL;
			break;
		case OPT_PASSWORD_STDIN:
			g.given |= OP_PASSWORD_STDIN;
			break;
		case OPT_DOMAIN:
			if (!ddt_domain_ok(optarg))
				return cmd_usage_error(NULL, "--domain '%s': 1 "
						       "to %d letters, digits, "
						       "'-', '_' or '.'",
						       optarg, DDT_MAX_DOMAIN);
			g.domain = optarg;
			g.given |= OP_DOMAIN;
			break;
		case OPT_PATH:
			g.path = optarg;
			g.given |= OP_PATH;
			break;
		case 'f':
			g.given |= OP_FORCE;
			break;
		case 'r':
			g.given |= OP_RECURSIVE;
			break;
		case 'x':
			g.given |= OP_ONE_FS;
			break;
		case OPT_NO_CACHE:
			g.given |= OP_NO_CACHE;
			break;
		case OPT_CODEC:
			g.codec = ddtc_codec_from_name(optarg);
			if (g.codec < 0)
				return cmd_usage_error(NULL, "--codec '%s': "
						       "use lz4, zstd, gzfast "
						       "or none", optarg);
			g.given |= OP_CODEC;
			break;
		case OPT_RETAIN:
		case OPT_DRY_RUN:
		case OPT_RETENTION:
		case OPT_LOCK:
		case OPT_QUOTA:
			rc = retention_opt(opt - OPT_RETAIN, optarg, &g);
			if (rc)
				return rc;
			break;
		case 'q':
			g.given |= OP_QUIET;
			break;
		case OPT_NO_REPAIR:
			g.given |= OP_NO_REPAIR;
			break;
		case OPT_SOFT_QUOTA:
			if (human_size(optarg, &g.quota_soft) < 0)
				return cmd_usage_error(NULL, "--soft-quota "
						       "'%s': give a size (10G, "
						       "500M, 1.5T) or 'none'",
						       optarg);
			g.given |= OP_SOFT_QUOTA;
			break;
		case OPT_BACKUP_STREAMS:
		case OPT_RESTORE_STREAMS:
			rc = streams_opt(opt - OPT_BACKUP_STREAMS, optarg, &g);
			if (rc)
				return rc;
			break;
		case OPT_JSON:
			g.given |= OP_JSON;
			break;
		case 'h':
			help = 1;
			break;
		case 'V':
			printf("%s (ddtarget) %s\n", PROG, PACKAGE_VERSION);
			return 0;
		case ':':
			return cmd_usage_error(NULL, "option '%s' needs an "
					       "argument", argv[optind - 1]);
		default:
			if (optopt)
				return cmd_usage_error(NULL, "unknown option "
						       "'-%c'", optopt);
			return cmd_usage_error(NULL, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc) {
		c = find_cmd(argv[optind]);
		if (!c)
			return cmd_usage_error(NULL, "unknown command '%s'",
					       argv[optind]);
		optind++;
	}
	if (help) {
		if (c && c->fn != cmd_help)
			print_cmd_help(c);
		else
			print_help();
		return 0;
	}
	if (!c)
		return cmd_usage_error(NULL, "no command given");
	net_target_name(g.host, g.port, g.where, sizeof(g.where));
	rc = check_cmd(c, &g, argc - optind);
	if (rc)
		return rc;
	return c->fn(c, &g, argc - optind, argv + optind);
}
