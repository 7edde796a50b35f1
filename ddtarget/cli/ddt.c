/* ddt.c - the command-line client of a ddtarget: option parsing, the login,
 * and the commands that are one or two requests (list, ls, rm, retain,
 * expire, status, su); backup.c and restore.c hold the two that move data.
 *
 * Every command takes the same connection options, so they are parsed once
 * for all, anywhere on the line (getopt permutes), and each command then
 * says which of the other options it accepts. The password never comes
 * from the command line, where every user of the machine could read it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "codec.h"
#include "ddterr.h"
#include "ddtc.h"
#include "dirlist.h"
#include "fcache.h"
#include "health.h"
#include "human.h"
#include "progress.h"
#include "restore.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define HOST_DEFAULT	"127.0.0.1"
#define USER_DEFAULT	"admin"
#define PASSWORD_FILE	".config/ddt/password"	/* under $HOME */
#define BACKUP_NAME_MAX	(DDT_MAX_NAME - 17)	/* room for "@YYYY...Z" */

/* Options other than the connection's, and which command takes which. */
enum {
	OP_SU = 1 << 0,
	OP_NAME = 1 << 1,
	OP_PATH = 1 << 2,
	OP_FORCE = 1 << 3,
	OP_RECURSIVE = 1 << 4,
	OP_ONE_FS = 1 << 5,
	OP_NO_CACHE = 1 << 6,
	OP_QUIET = 1 << 7,
	OP_CODEC = 1 << 8,
	OP_RETAIN = 1 << 9,
	OP_DRY_RUN = 1 << 10,
	OP_RETENTION = 1 << 11,
	OP_LOCK = 1 << 12,
	OP_QUOTA = 1 << 13,
	OP_NO_REPAIR = 1 << 14,
};

typedef struct gopts {
	const char *host, *user, *password_file;
	int port;
	const char *su, *name, *path;
	unsigned given;		/* OP_* seen on the command line */
	int codec;		/* --codec: enum codec_id of new segments */
	int64_t retain;		/* --retain: seconds, or DDT_RETAIN_NEVER */
	uint64_t retention;	/* --retention: seconds; 0 forever */
	uint64_t quota;		/* --quota: bytes; 0 none */
} gopts;

typedef struct cmd {
	const char *name;
	int (*fn)(const struct cmd *cmd, const gopts *g, int argc,
		  char **argv);
	int min_args, max_args;
	unsigned takes;		/* OP_* accepted */
	unsigned needs;		/* OP_* required */
	const char *usage;	/* after "ddt NAME " */
	const char *help;	/* what it does, and its own options */
} cmd;

static const cmd *find_cmd(const char *name);

/* ---- usage and help ---- */

static int usage_error(const cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (run '%s %s%s--help' for usage)\n", PROG,
		c ? c->name : "", c ? " " : "");
	return EXIT_USAGE;
}

static const char conn_help[] =
"Connection options (every command):\n"
"  -H, --host HOST          the target (default " HOST_DEFAULT ")\n"
"  -p, --port PORT          its port (default 7410)\n"
"  -u, --user USER          log in as USER (default " USER_DEFAULT ")\n"
"      --password-file FILE read the password from the first line of FILE\n"
"  -h, --help               show help and exit\n";

static const char password_help[] =
"\n"
"The password is read from --password-file, else $DDT_PASSWORD, else\n"
"~/" PASSWORD_FILE "; never from the command line. $DDT_TIMEOUT: seconds\n"
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

/* ---- the password and the login ---- */

/* The first line of file into buf. */
static int read_password_file(const char *file, char *buf, size_t cap)
{
	struct stat st;
	FILE *f;
	size_t n;

	f = fopen(file, "re");
	if (!f)
		return out_fail_errno(errno, "give --password-file a readable "
				      "file, or set DDT_PASSWORD",
				      "read password file %s", file);
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		out_warn("password file %s can be read by others (chmod 600 "
			 "%s)", file, file);
	if (!fgets(buf, (int)cap, f)) {
		fclose(f);
		return out_fail_errno(EINVAL, "write the password on its first "
				      "line", "read password file %s", file);
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return 0;
}

static int get_password(const gopts *g, char *buf, size_t cap)
{
	const char *env = getenv("DDT_PASSWORD");
	const char *home = getenv("HOME");
	char file[PATH_MAX];

	/* What the command line names wins over what is lying around. */
	if (g->password_file)
		return read_password_file(g->password_file, buf, cap);
	if (env) {
		snprintf(buf, cap, "%s", env);
		return 0;
	}
	if (home && snprintf(file, sizeof(file), "%s/" PASSWORD_FILE, home) <
	    (int)sizeof(file) && access(file, F_OK) == 0)
		return read_password_file(file, buf, cap);
	out_warn("log in as %s on %s:%d: no password (set DDT_PASSWORD, give "
		 "--password-file FILE, or write it to ~/" PASSWORD_FILE ")",
		 g->user, g->host, g->port);
	return EXIT_RUNTIME;
}

/* Connect and log in; seg_cache: keep the segment cache (writers only). */
static int login(const gopts *g, int seg_cache, ddtc **out)
{
	char password[DDT_MAX_STR + 2], cache[PATH_MAX];
	ddtc_opts o;
	int rc, ret;

	ret = get_password(g, password, sizeof(password));
	if (ret)
		return ret;
	ddtc_opts_default(&o);
	o.host = g->host;
	o.port = g->port;
	o.user = g->user;
	o.password = password;
	o.client_name = "ddt " PACKAGE_VERSION;
	if (g->given & OP_CODEC)
		o.codec = g->codec;
	if (seg_cache) {
		rc = fcache_path(cache, sizeof(cache), "segs", g->host,
				 g->port, NULL);
		if (rc == 0)
			o.seg_cache_path = cache;
		else
			out_warn("segment cache: %s (set DDT_CACHE_DIR or "
				 "HOME; the target is asked about every "
				 "segment)", strerror(-rc));
	}
	rc = ddtc_connect(out, &o);
	explicit_bzero(password, sizeof(password));
	if (rc == 0)
		return 0;
	/* The library's message says whether the connection or the login
	 * failed, and what to do. */
	return out_fail(rc, "log in as %s on %s:%d", g->user, g->host,
			g->port);
}

/* ---- names and backups ---- */

/* The protocol's rule for names: letters, digits, '-', '_', '.'. */
static int name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

typedef struct blist {
	ddtc_backup *v;
	size_t n, cap;
} blist;

static int blist_add(void *arg, const ddtc_backup *b)
{
	blist *l = arg;

	if (l->n == l->cap) {
		ddtc_backup *v = grow_array(l->v, &l->cap, sizeof(*v), 32);

		if (!v)
			return -ENOMEM;
		l->v = v;
	}
	l->v[l->n++] = *b;
	return 0;
}

static int by_created(const void *a, const void *b)
{
	const ddtc_backup *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int list_backups(ddtc *c, const char *su, blist *l)
{
	int rc = ddtc_backup_list(c, su, blist_add, l);

	if (rc == -ENOMEM)
		return out_fail_errno(ENOMEM, "free some memory",
				      "list backups in storage unit %s", su);
	if (rc < 0)
		return out_fail(rc, "list backups in storage unit %s", su);
	qsort(l->v, l->n, sizeof(*l->v), by_created);
	return 0;
}

/* BACKUP on the command line: a full id (NAME@YYYYMMDDTHHMMSSZ), or a
 * name for the newest complete backup of that name, or "latest" for the
 * newest complete one of all. exact: only a full id will do. */
static int find_backup(ddtc *c, const char *su, const char *arg, int exact,
		       ddtc_backup *out)
{
	int by_id = strchr(arg, '@') != NULL, latest = !strcmp(arg, "latest");
	size_t nl = strlen(arg), i;
	const ddtc_backup *hit = NULL;
	blist l = { 0 };
	int ret;

	if (exact && !by_id) {
		out_warn("remove backup %s: not a backup id (give the whole "
			 "id, like %s@20240101T000000Z, as 'ddt list --su %s' "
			 "shows it)", arg, arg, su);
		return EXIT_RUNTIME;
	}
	ret = list_backups(c, su, &l);
	if (ret)
		return ret;
	for (i = l.n; i-- > 0 && !hit;) {
		const ddtc_backup *b = &l.v[i];

		if (by_id ? strcmp(b->id, arg) == 0 :
		    !(b->flags & DDT_AF_INCOMPLETE) &&
		    (latest || (strncmp(b->id, arg, nl) == 0 &&
				b->id[nl] == '@')))
			hit = b;
	}
	if (hit)
		*out = *hit;
	else
		out_warn("find backup %s in storage unit %s: no such %sbackup "
			 "(see 'ddt list --su %s')", arg, su,
			 by_id ? "" : "complete ", su);
	free(l.v);
	return hit ? 0 : EXIT_RUNTIME;
}

/* Log in and find BACKUP arg, as find_backup() does; on success *out is
 * the session, for the caller to close. */
static int open_backup(const gopts *g, const char *arg, int exact, ddtc **out,
		       ddtc_backup *b)
{
	int ret;

	ret = login(g, 0, out);
	if (ret)
		return ret;
	ret = find_backup(*out, g->su, arg, exact, b);
	if (ret)
		ddtc_close(*out);
	return ret;
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

	if (g->name && !name_valid(g->name, BACKUP_NAME_MAX))
		return usage_error(cm, "--name '%s': use 1 to %d letters, "
				   "digits, '-', '_' or '.'", g->name,
				   BACKUP_NAME_MAX);
	ret = login(g, 1, &c);
	if (ret)
		return ret;
	ret = backup_run(c, &o);
	ddtc_close(c);
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

	ret = open_backup(g, argv[0], 0, &c, &b);
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
	blist l = { 0 };
	ddtc *c;
	int ret;

	ret = login(g, 0, &c);
	if (ret)
		return ret;
	ret = list_backups(c, g->su, &l);
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
		       l.v[i].id, fmt_date(l.v[i].created, b1), l.v[i].files,
		       fmt_bytes(l.v[i].bytes, b2), l.v[i].expires ?
		       fmt_date(l.v[i].expires, b3) : "never",
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
		printf("%s %*" PRIu32 " %*" PRIu32 " %*" PRIu32 " %*" PRIu64
		       " %s %s%s%s\n", mode, wl, e->a.nlink, wu, e->a.uid, wg,
		       e->a.gid, ws, e->a.size, date, e->name,
		       e->target ? " -> " : "", e->target ? e->target : "");
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

	ret = open_backup(g, argv[0], 0, &c, &b);
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

	ret = open_backup(g, argv[0], 1, &c, &b);
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

/* ---- retention: retain, expire ---- */

/* WHEN of 'ddt retain': a duration from now, "never", or a date. */
static int parse_when(const cmd *cm, const char *arg, int64_t *expires)
{
	int64_t secs;

	if (human_duration(arg, &secs) == 0) {
		if (secs == DDT_RETAIN_NEVER) {
			*expires = 0;
			return 0;
		}
		if (secs > 0 && secs <= (INT64_MAX - now_real_ns()) /
		    1000000000LL) {
			*expires = now_real_ns() + secs * 1000000000LL;
			return 0;
		}
	} else if (human_date(arg, expires) == 0 && *expires > 0) {
		return 0;
	}
	return usage_error(cm, "'%s': give a duration from now (90d, 12h, 2w, "
			   "1y), a date (2030-12-25, 2030-12-25 10:00, Z for "
			   "UTC) or 'never'", arg);
}

static int cmd_retain(const cmd *cm, const gopts *g, int argc, char **argv)
{
	char b1[FMT_LEN];
	int64_t expires;
	ddtc_backup b;
	ddtc *c;
	int rc, ret;

	ret = parse_when(cm, argv[1], &expires);
	if (ret)
		return ret;
	ret = open_backup(g, argv[0], 0, &c, &b);
	if (ret)
		return ret;
	rc = ddtc_backup_set_expiry(c, g->su, b.id, expires);
	if (rc < 0)
		ret = out_fail(rc, "set the expiry of backup %s", b.id);
	else if (expires)
		printf("backup %s expires %s\n", b.id, fmt_date(expires, b1));
	else
		printf("backup %s never expires\n", b.id);
	ddtc_close(c);
	return ret;
}

typedef struct expire_ctx {
	int dry_run;
	size_t n;
} expire_ctx;

static int expire_print(void *arg, const char *su, const char *id,
			int64_t expires)
{
	expire_ctx *x = arg;
	char b1[FMT_LEN];

	x->n++;
	printf("%s backup %s from storage unit %s (expired %s)\n",
	       x->dry_run ? "would remove" : "removed", id, su,
	       fmt_date(expires, b1));
	return 0;
}

static int cmd_expire(const cmd *cm, const gopts *g, int argc, char **argv)
{
	expire_ctx x = { .dry_run = !!(g->given & OP_DRY_RUN) };
	ddtc *c;
	int rc, ret;

	ret = login(g, 0, &c);
	if (ret)
		return ret;
	rc = ddtc_expire(c, g->su, x.dry_run, expire_print, &x);
	ddtc_close(c);
	if (rc < 0)
		return out_fail(rc, "expire backups%s%s", g->su ? " in storage "
				"unit " : "", g->su ? g->su : "");
	if (x.n == 0)
		printf("no backups past their expiry%s%s\n", g->su ? " in "
		       "storage unit " : "", g->su ? g->su : "");
	else
		printf("%zu backup%s %s\n", x.n, x.n == 1 ? "" : "s",
		       x.dry_run ? "would be removed" : "removed");
	return 0;
}

/* ---- status ---- */

typedef struct kv {
	char key[64];
	uint64_t v;
	int shown;
} kv;

typedef struct kvlist {
	kv v[128];
	size_t n;
} kvlist;

static int kv_add(void *arg, const char *key, uint64_t value)
{
	kvlist *l = arg;

	if (l->n < sizeof(l->v) / sizeof(l->v[0])) {
		snprintf(l->v[l->n].key, sizeof(l->v[0].key), "%s", key);
		l->v[l->n].v = value;
		l->v[l->n].shown = 0;
		l->n++;
	}
	return 0;
}

/* The value of key (marked shown), or -1 if the target did not send it. */
static int64_t kv_get(kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0) {
			l->v[i].shown = 1;
			return (int64_t)l->v[i].v;
		}
	return -1;
}

static void show_bytes(kvlist *l, const char *label, const char *key,
		       const char *note)
{
	char b[FMT_LEN];
	int64_t v = kv_get(l, key);

	if (v >= 0)
		printf("%-17s%s (%" PRId64 " bytes)%s\n", label,
		       fmt_bytes((uint64_t)v, b), v, note);
}

static void show_count(kvlist *l, const char *label, const char *key)
{
	int64_t v = kv_get(l, key);

	if (v >= 0)
		printf("%-17s%" PRId64 "\n", label, v);
}

static void show_next(kvlist *l, const char *label, const char *key)
{
	char b[FMT_LEN];
	int64_t v = kv_get(l, key);

	if (v > 0)
		printf("%-17s%s\n", label, fmt_date(v, b));
}

static void show_status(kvlist *l, const gopts *g)
{
	int64_t cap = kv_get(l, "capacity_bytes"), used = kv_get(l,
		      "used_bytes"), logical = kv_get(l, "logical_bytes"),
		stored = kv_get(l, "stored_bytes"), raw = kv_get(l,
		"raw_bytes"), phys = kv_get(l, "physical_bytes"),
		sess = kv_get(l, "sessions"), maxs = kv_get(l, "max_sessions"),
		up = kv_get(l, "uptime_seconds");
	char b[FMT_LEN], n[64] = "";

	printf("%-17s%s:%d\n", "target:", g->host, g->port);
	if (cap > 0 && used >= 0)
		snprintf(n, sizeof(n), ", %.0f%% used",
			 100.0 * (double)used / (double)cap);
	show_bytes(l, "capacity:", "capacity_bytes", n);
	show_bytes(l, "used:", "used_bytes", "");
	show_bytes(l, "free:", "free_bytes", "");
	show_bytes(l, "logical:", "logical_bytes", ", the files' sizes");
	show_bytes(l, "stored:", "stored_bytes", ", unique and compressed");
	show_bytes(l, "physical:", "physical_bytes", ", with erasure coding");
	if (logical >= 0 && stored >= 0 && raw < 0) {
		printf("%-17s%s (logical / stored)\n", "dedup ratio:",
		       fmt_ratio((uint64_t)logical, (uint64_t)stored, b));
		printf("%-17s%s\n", "compression:",
		       "not reported (the target sends no raw_bytes)");
	} else if (logical >= 0 && stored >= 0) {
		printf("%-17s%s (logical / raw)\n", "dedup ratio:",
		       fmt_ratio((uint64_t)logical, (uint64_t)raw, b));
		printf("%-17s%s (raw / stored)\n", "compression:",
		       fmt_ratio((uint64_t)raw, (uint64_t)stored, b));
	}
	if (phys >= 0 && stored >= 0)
		printf("%-17s%s (physical / stored)\n", "ec overhead:",
		       fmt_ratio((uint64_t)phys, (uint64_t)stored, b));
	show_count(l, "files:", "files");
	show_count(l, "segments:", "segments");
	show_count(l, "containers:", "containers");
	show_count(l, "storage units:", "storage_units");
	show_count(l, "backups:", "backups");
	if (sess >= 0 && maxs >= 0)
		printf("%-17s%" PRId64 " of %" PRId64 "\n", "sessions:", sess,
		       maxs);
	if (up >= 0)
		printf("%-17s%s\n", "uptime:", fmt_secs((double)up, b));
	{
		int64_t deg = kv_get(l, "degraded_containers");

		if (deg > 0)
			printf("%-17s%" PRId64 " containers written without a "
			       "missing directory's fragments (run 'ddt scrub "
			       "start' once it is back)\n", "degraded:", deg);
	}
	show_next(l, "next clean:", "next_clean_ns");
	show_next(l, "next checkpoint:", "next_checkpoint_ns");
	show_next(l, "next expiry:", "next_expire_ns");
	show_next(l, "next scrub:", "next_scrub_ns");
	/* Keys this ddt does not know yet, as they come. */
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].shown && !health_status_key(l->v[i].key))
			printf("%s:%*s%" PRIu64 "\n", l->v[i].key,
			       (int)(strlen(l->v[i].key) < 16 ?
				     16 - strlen(l->v[i].key) : 1), "",
			       l->v[i].v);
}

/* The figures, then the directories and the alerts; critical alerts
 * come first, where they cannot be missed. */
static int cmd_status(const cmd *cm, const gopts *g, int argc, char **argv)
{
	health_view *h = NULL;
	char why[512] = "";
	kvlist *l;
	ddtc *c;
	int rc, hrc, ret;

	l = calloc(1, sizeof(*l));
	if (!l)
		return out_fail_errno(ENOMEM, "free some memory", "status");
	ret = login(g, 0, &c);
	if (ret) {
		free(l);
		return ret;
	}
	rc = ddtc_status(c, kv_add, l);
	/* An older target knows no STATUS_TEXT or ALERTS: say so, and show
	 * what it did send. */
	hrc = rc == 0 ? health_fetch(c, &h) : 0;
	if (hrc < 0)
		snprintf(why, sizeof(why), "%s", ddtc_errmsg(hrc));
	ddtc_close(c);
	if (rc < 0) {
		ret = out_fail(rc, "read the status of %s:%d", g->host,
			       g->port);
	} else if (hrc < 0) {
		show_status(l, g);
		printf("%-17snot reported (%s)\n", "directories:", why);
	} else {
		if (health_critical(h))
			health_print_alerts(h);
		show_status(l, g);
		health_print_dirs(h);
		if (!health_critical(h))
			health_print_alerts(h);
	}
	health_free(h);
	free(l);
	return ret;
}

static int cmd_alerts(const cmd *cm, const gopts *g, int argc, char **argv)
{
	health_view *h = NULL;
	ddtc *c;
	int rc, ret;

	ret = login(g, 0, &c);
	if (ret)
		return ret;
	rc = health_fetch(c, &h);
	ddtc_close(c);
	if (rc < 0)
		ret = out_fail(rc, "read the alerts of %s:%d", g->host, g->port);
	else
		health_print_alerts(h);
	health_free(h);
	return ret;
}

/* ---- scrub ---- */

static int cmd_scrub(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0];
	ddtc *c;
	int rc, ret;

	if (argc != 1 || (strcmp(op, "start") && strcmp(op, "status") &&
			  strcmp(op, "watch")))
		return usage_error(cm, "scrub: give start, status or watch");
	if ((g->given & OP_NO_REPAIR) && strcmp(op, "start") != 0)
		return usage_error(cm, "--no-repair goes with scrub start only");
	ret = login(g, 0, &c);
	if (ret)
		return ret;
	rc = health_scrub(c, op, !(g->given & OP_NO_REPAIR),
			  !!(g->given & OP_QUIET));
	if (rc < 0)
		ret = out_fail(rc, "scrub %s on %s:%d", op, g->host, g->port);
	ddtc_close(c);
	return ret;
}

/* ---- cleaning ---- */

static void show_clean(const ddtc_clean *cs, kvlist *l)
{
	int64_t ex = kv_get(l, "containers_examined"),
		tot = kv_get(l, "containers_total"),
		rec = kv_get(l, "reclaimed_bytes"),
		cop = kv_get(l, "bytes_copied"),
		drp = kv_get(l, "containers_dropped"),
		xb = kv_get(l, "examined_bytes"),
		t0 = kv_get(l, "started_ns"), t1 = kv_get(l, "finished_ns");
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN], b4[FMT_LEN];

	if (t0 <= 0) {
		printf("cleaning: has not run since the target started\n");
		return;
	}
	printf("cleaning: %s, %s\n", cs->running ? "running" : "not running",
	       cs->phase);
	if (cs->msg[0])
		printf("%s: %s\n", strcmp(cs->phase, "failed") == 0 ? "error" :
		       "note", cs->msg);
	printf("examined: %" PRId64 " of %" PRId64 " containers (%s)\n", ex,
	       tot, fmt_bytes((uint64_t)(xb > 0 ? xb : 0), b1));
	printf("cleaned: %" PRId64 " containers, %s reclaimed, %s copied "
	       "forward\n", drp, fmt_bytes((uint64_t)(rec > 0 ? rec : 0), b2),
	       fmt_bytes((uint64_t)(cop > 0 ? cop : 0), b3));
	if (t1 > 0)
		printf("took: %s\n", fmt_secs((double)(t1 - t0) / 1e9, b4));
}

/* Poll until the clean ends, printing its phase as it changes. */
static int clean_watch(ddtc *c, int show)
{
	char last[DDT_MAX_NAME + 1] = "";
	ddtc_clean cs;
	kvlist *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	for (;;) {
		l->n = 0;
		rc = ddtc_clean_status(c, &cs, kv_add, l);
		if (rc < 0 || !cs.running)
			break;
		if (show && strcmp(last, cs.phase) != 0) {
			printf("cleaning: %s\n", cs.phase);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", cs.phase);
		}
		usleep(200 * 1000);
	}
	if (rc == 0) {
		show_clean(&cs, l);
		if (strcmp(cs.phase, "failed") == 0)
			rc = ddterr_set(-EIO, "%s", cs.msg);
	}
	free(l);
	return rc;
}

static int cmd_clean(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0];
	ddtc_clean cs;
	kvlist *l;
	ddtc *c;
	int rc, ret;

	if (argc != 1 || (strcmp(op, "start") && strcmp(op, "status") &&
			  strcmp(op, "watch")))
		return usage_error(cm, "clean: give start, status or watch");
	l = calloc(1, sizeof(*l));
	if (!l)
		return out_fail_errno(ENOMEM, "free some memory", "clean");
	ret = login(g, 0, &c);
	if (ret) {
		free(l);
		return ret;
	}
	if (strcmp(op, "status") == 0) {
		rc = ddtc_clean_status(c, &cs, kv_add, l);
		if (rc == 0)
			show_clean(&cs, l);
	} else {
		rc = op[0] == 's' ? ddtc_clean_start(c) : 0;
		if (rc == 0 && op[0] == 's' && !(g->given & OP_QUIET))
			printf("cleaning started\n");
		if (rc == 0 && op[0] == 'w')
			rc = clean_watch(c, !(g->given & OP_QUIET));
	}
	if (rc < 0)
		ret = out_fail(rc, "clean %s on %s:%d", op, g->host, g->port);
	ddtc_close(c);
	free(l);
	return ret;
}

/* ---- storage units ---- */

static int su_print(void *arg, const ddtc_su *su)
{
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN], r[HUMAN_LEN];

	++*(size_t *)arg;
	if (*(size_t *)arg == 1)
		printf("%-32s  %10s  %10s  %-10s  %-4s  %10s  %s\n", "NAME",
		       "FILES", "LOGICAL", "RETENTION", "LOCK", "QUOTA",
		       "CREATED");
	printf("%-32s  %10" PRIu64 "  %10s  %-10s  %-4s  %10s  %s\n",
	       su->name, su->files, fmt_bytes(su->logical_bytes, b1),
	       human_fmt_duration(su->retention, "forever", r),
	       su->locked ? "on" : "off",
	       su->quota ? fmt_bytes(su->quota, b3) : "none",
	       fmt_date(su->created, b2));
	return 0;
}

/* ddt su set: the settings given, in one SU_SET. */
static int su_set(ddtc *c, const gopts *g, const char *name)
{
	char r[HUMAN_LEN], q[FMT_LEN];
	uint32_t mask = 0;
	ddtc_su su;
	int rc;

	if (g->given & OP_RETENTION)
		mask |= DDT_SU_SET_RETENTION;
	if (g->given & OP_LOCK)
		mask |= DDT_SU_SET_LOCK;
	if (g->given & OP_QUOTA)
		mask |= DDT_SU_SET_QUOTA;
	rc = ddtc_su_set(c, name, mask, g->retention, 1, g->quota, &su);
	if (rc < 0)
		return rc;
	printf("storage unit %s: retention %s, retention lock %s, quota %s\n",
	       name, human_fmt_duration(su.retention, "forever", r),
	       su.locked ? "on" : "off",
	       su.quota ? fmt_bytes(su.quota, q) : "none");
	return 0;
}

static int cmd_su(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0], *name = argc > 1 ? argv[1] : NULL;
	int is_list = strcmp(op, "list") == 0, is_set = strcmp(op, "set") == 0;
	const unsigned settings = OP_RETENTION | OP_LOCK | OP_QUOTA;
	size_t n = 0;
	uint64_t root;
	ddtc *c;
	int rc = 0, ret;

	if (!is_list && !is_set && strcmp(op, "create") != 0 &&
	    strcmp(op, "delete") != 0)
		return usage_error(cm, "su: unknown operation '%s' (create, "
				   "list, delete or set)", op);
	if ((g->given & settings) && !is_set)
		return usage_error(cm, "--retention, --retention-lock and "
				   "--quota go with su set only");
	if (is_set && !(g->given & settings))
		return usage_error(cm, "su set: give --retention, "
				   "--retention-lock or --quota");
	if (is_list ? argc != 1 : argc != 2)
		return usage_error(cm, is_list ? "su list: takes no NAME" :
				   "su %s: give one NAME", op);
	if (name && !name_valid(name, DDT_MAX_NAME))
		return usage_error(cm, "storage unit '%s': use 1 to %d letters, "
				   "digits, '-', '_' or '.'", name,
				   DDT_MAX_NAME);
	if ((g->given & OP_RECURSIVE) && strcmp(op, "delete") != 0)
		return usage_error(cm, "--recursive goes with su delete only");
	ret = login(g, 0, &c);
	if (ret)
		return ret;
	if (is_list) {
		rc = ddtc_su_list(c, su_print, &n);
		if (rc == 0 && n == 0)
			printf("no storage units\n");
	} else if (is_set) {
		rc = su_set(c, g, name);
	} else if (op[0] == 'c') {
		rc = ddtc_su_create(c, name, &root);
		if (rc == 0)
			printf("created storage unit %s\n", name);
	} else {
		rc = ddtc_su_delete(c, name, !!(g->given & OP_RECURSIVE));
		if (rc == 0)
			printf("deleted storage unit %s\n", name);
	}
	if (rc < 0)
		ret = out_fail(rc, "%s storage unit%s%s", is_list ? "list" :
			       is_set ? "change" : op, name ? " " : "s",
			       name ? name : "");
	ddtc_close(c);
	return ret;
}

/* ---- checkpoints ---- */

static int ckpt_print(void *arg, const ddtc_checkpoint *ck)
{
	char b1[FMT_LEN], b2[FMT_LEN];

	if (++*(size_t *)arg == 1)
		printf("%-32s  %-19s  %10s\n", "NAME", "CREATED", "SIZE");
	printf("%-32s  %-19s  %10s\n", ck->name, fmt_date(ck->created, b1),
	       fmt_bytes(ck->bytes, b2));
	return 0;
}

static int cmd_checkpoint(const cmd *cm, const gopts *g, int argc,
			  char **argv)
{
	char name[DDT_MAX_NAME + 1];
	int is_list = strcmp(argv[0], "list") == 0;
	size_t n = 0;
	ddtc *c;
	int rc, ret;

	(void)argc;
	if (!is_list && strcmp(argv[0], "create") != 0)
		return usage_error(cm, "checkpoint: unknown operation '%s' "
				   "(create or list)", argv[0]);
	ret = login(g, 0, &c);
	if (ret)
		return ret;
	if (is_list) {
		rc = ddtc_checkpoint_list(c, ckpt_print, &n);
		if (rc == 0 && n == 0)
			printf("no checkpoints\n");
	} else {
		rc = ddtc_checkpoint_create(c, name, sizeof(name));
		if (rc == 0)
			printf("checkpoint %s taken\n", name);
	}
	if (rc < 0)
		ret = out_fail(rc, "%s checkpoint%s on %s:%d",
			       is_list ? "list" : "take a", is_list ? "s" : "",
			       g->host, g->port);
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
		return usage_error(NULL, "help: unknown command '%s'", argv[0]);
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
	  "      --codec CODEC        compress new segments with lz4 (the\n"
	  "                           default, fastest), zstd (about a quarter\n"
	  "                           smaller, a sixth slower), gzfast or none\n"
	  "      --retain DURATION    keep the backup this long (90d, 12h, 2w,\n"
	  "                           1y, 30m, 45s) or 'never' expire it;\n"
	  "                           default: the storage unit's retention\n"
	  "  -q, --quiet              no progress line\n" },
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
	  "backup) or 'latest'.\n"
	  "\n"
	  "      --su SU              the storage unit (required)\n" },
	{ "restore", cmd_restore, 2, 2, OP_SU | OP_PATH | OP_FORCE | OP_QUIET,
	  OP_SU,
	  "BACKUP DIR --su SU [--path PATH] [--force]",
	  "Restore BACKUP, or the part of it at PATH, into DIR. A directory's\n"
	  "contents go into DIR; a file or symbolic link goes into DIR under\n"
	  "its own name. DIR is created if missing. Owners are restored when\n"
	  "run as root. BACKUP is a backup id, a backup name (its newest\n"
	  "complete backup) or 'latest'.\n"
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
	{ "status", cmd_status, 0, 0, 0, 0,
	  "",
	  "Show the target's capacity, usage, data reduction and sessions,\n"
	  "each storage directory (path, size, used, free, use%, state) and\n"
	  "the current alerts; critical alerts are shown first.\n" },
	{ "alerts", cmd_alerts, 0, 0, 0, 0,
	  "",
	  "List the target's current problems, worst first: severity, since\n"
	  "when, id and what to do; or 'no alerts'. A missing or foreign\n"
	  "storage directory, a file system fuller than the target's\n"
	  "thresholds, data a scrub found lost or damaged, a failed clean.\n" },
	{ "su", cmd_su, 1, 2, OP_RECURSIVE | OP_RETENTION | OP_LOCK | OP_QUOTA,
	  0,
	  "create NAME | list | delete NAME [--recursive] |\n"
	  "       set NAME [--retention D] [--retention-lock] [--quota SIZE]",
	  "Create, list, delete or configure storage units. A storage unit\n"
	  "holds backups under its own name space and figures. Names are 1 to\n"
	  "255 letters, digits, '-', '_' or '.'. 'su set' needs an admin.\n"
	  "\n"
	  "  -r, --recursive          delete a storage unit with everything in "
	  "it\n"
	  "      --retention D        how long new backups are kept unless they\n"
	  "                           say (90d, 12h, 2w, 1y; 'never': for ever)\n"
	  "      --retention-lock     turn the retention lock on: until its\n"
	  "                           expiry no one, admin included, can remove\n"
	  "                           a complete backup or shorten its expiry.\n"
	  "                           It cannot be turned off, it needs a\n"
	  "                           retention, and every backup must have an\n"
	  "                           expiry first\n"
	  "      --quota SIZE         most logical bytes the unit may hold (10G,\n"
	  "                           500M, 1.5T; 'none': no quota)\n" },
	{ "clean", cmd_clean, 1, 1, OP_QUIET, 0,
	  "start | status | watch",
	  "Cleaning gives back the space of segments that no backup or file\n"
	  "refers to any more (after rm, expiry, deleted storage units). It\n"
	  "runs on the target while backups go on. 'start' starts it (admin),\n"
	  "'status' shows the current or last run, 'watch' waits for a run to\n"
	  "end and shows what it reclaimed (exit 1 if it failed).\n"
	  "\n"
	  "  -q, --quiet              no phase lines while watching\n" },
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
	  "erasure code. It runs on the target while backups go on. 'start'\n"
	  "starts it (admin); 'status' shows the current or last run, with the\n"
	  "backups whose data it found lost; 'watch' waits for a run to end and\n"
	  "shows it (exit 1 if it failed or left problems).\n"
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
	default: return "--quiet";
	}
}

/* Check what the command line gave against what the command takes. */
static int check_cmd(const cmd *c, const gopts *g, int argc)
{
	unsigned extra = g->given & ~c->takes, missing = c->needs & ~g->given;

	if (extra)
		return usage_error(c, "%s is not an option of '%s %s'",
				   op_name(extra & -extra), PROG, c->name);
	if (argc < c->min_args)
		return usage_error(c, "%s: missing arguments (%s %s %s)",
				   c->name, PROG, c->name, c->usage);
	if (argc > c->max_args)
		return usage_error(c, "%s: too many arguments (%s %s %s)",
				   c->name, PROG, c->name, c->usage);
	if (missing)
		return usage_error(c, "%s: %s is required", c->name,
				   op_name(missing & -missing));
	if (g->su && !name_valid(g->su, DDT_MAX_NAME))
		return usage_error(c, "--su '%s': not a storage unit name "
				   "(letters, digits, '-', '_', '.')", g->su);
	return 0;
}

static int parse_port(const char *arg, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 65535)
		return usage_error(NULL, "-p '%s': need a port number from 1 "
				   "to 65535", arg);
	*out = (int)v;
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
			return usage_error(NULL, "--retain '%s': give a duration "
					   "(90d, 12h, 2w, 1y, 30m, 45s) or "
					   "'never'", arg);
		g->retain = secs;
		g->given |= OP_RETAIN;
		return 0;
	case 1:
		g->given |= OP_DRY_RUN;
		return 0;
	case 2:
		if (human_duration(arg, &secs) < 0)
			return usage_error(NULL, "--retention '%s': give a "
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
			return usage_error(NULL, "--quota '%s': give a size (10G, "
					   "500M, 1.5T) or 'none'", arg);
		g->given |= OP_QUOTA;
		return 0;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_PWFILE = 256, OPT_SU, OPT_NAME, OPT_PATH, OPT_NO_CACHE,
	       OPT_CODEC, OPT_RETAIN, OPT_DRY_RUN, OPT_RETENTION, OPT_LOCK,
	       OPT_QUOTA, OPT_NO_REPAIR };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, OPT_PWFILE },
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
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	gopts g = { .host = HOST_DEFAULT, .user = USER_DEFAULT,
		    .port = DDT_DEFAULT_PORT };
	const cmd *c = NULL;
	int opt, help = 0, rc;

	/* A closed pipe is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":H:p:u:frxqhV", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'H':
			if (!*optarg)
				return usage_error(NULL, "-H: empty host");
			g.host = optarg;
			break;
		case 'p':
			rc = parse_port(optarg, &g.port);
			if (rc)
				return rc;
			break;
		case 'u':
			if (!*optarg)
				return usage_error(NULL, "-u: empty user");
			g.user = optarg;
			break;
		case OPT_PWFILE:
			g.password_file = optarg;
			break;
		case OPT_SU:
			g.su = optarg;
			g.given |= OP_SU;
			break;
		case OPT_NAME:
			g.name = optarg;
			g.given |= OP_NAME;
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
			g.codec = codec_from_name(optarg);
			if (g.codec < 0)
				return usage_error(NULL, "--codec '%s': use lz4, "
						   "zstd, gzfast or none", optarg);
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
		case 'h':
			help = 1;
			break;
		case 'V':
			printf("%s (ddtarget) %s\n", PROG, PACKAGE_VERSION);
			return 0;
		case ':':
			return usage_error(NULL, "option '%s' needs an argument",
					   argv[optind - 1]);
		default:
			if (optopt)
				return usage_error(NULL, "unknown option '-%c'",
						   optopt);
			return usage_error(NULL, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc) {
		c = find_cmd(argv[optind]);
		if (!c)
			return usage_error(NULL, "unknown command '%s'",
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
		return usage_error(NULL, "no command given");
	rc = check_cmd(c, &g, argc - optind);
	if (rc)
		return rc;
	return c->fn(c, &g, argc - optind, argv + optind);
}
