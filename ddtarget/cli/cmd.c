/* cmd.c - what every ddt command calls (cmd.h): the usage error line, the
 * login with the password from where the user keeps it, the protocol's
 * rule for names, and finding BACKUP as the commands take it. ddt.c (the
 * command line, the table, the commands on backups) and admin.c (the
 * target's upkeep) both stand on it; it knows neither. */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcache.h"
#include "out.h"
#include "util.h"

/* ---- usage errors ---- */

int cmd_usage_error(const cmd *c, const char *fmt, ...)
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

int cmd_password(const gopts *g, char *buf, size_t cap)
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
	if (home && snprintf(file, sizeof(file), "%s/" CMD_PASSWORD_FILE, home) <
	    (int)sizeof(file) && access(file, F_OK) == 0)
		return read_password_file(file, buf, cap);
	out_warn("log in as %s on %s: no password (set DDT_PASSWORD, give "
		 "--password-file FILE, or write it to ~/" CMD_PASSWORD_FILE ")",
		 g->user, g->where);
	return EXIT_RUNTIME;
}

/* What the command line says of TLS over what the environment said. */
static void cmd_tls_opts(const gopts *g, ddtc_opts *o)
{
	if (g->no_tls)
		o->no_tls = 1;
	if (g->tls_fingerprint)
		o->tls_fingerprint = g->tls_fingerprint;
	if (g->tls_ca)
		o->tls_ca = g->tls_ca;
	if (g->known_hosts)
		o->known_hosts = g->known_hosts;
}

int cmd_login(const gopts *g, int seg_cache, ddtc **out)
{
	char password[DDT_MAX_STR + 2], cache[PATH_MAX];
	ddtc_opts o;
	int rc, ret;

	ret = cmd_password(g, password, sizeof(password));
	if (ret)
		return ret;
	ddtc_opts_default(&o);
	o.host = g->host;
	o.port = g->port;
	o.user = g->user;
	o.password = password;
	o.client_name = "ddt " PACKAGE_VERSION;
	cmd_tls_opts(g, &o);
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
	if (rc == 0 && ddtc_tls_note(*out))
		out_warn("%s", ddtc_tls_note(*out));
	if (rc == 0)
		return 0;
	/* The library's message says whether the connection or the login
	 * failed, and what to do. */
	return out_fail(rc, "log in as %s on %s", g->user, g->where);
}

/* ---- names and backups ---- */

int cmd_name_valid(const char *s, size_t max)
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

static int backups_add(void *arg, const ddtc_backup *b)
{
	cmd_backups *l = arg;

	if (l->n == l->cap) {
		ddtc_backup *v = util_grow_array(l->v, &l->cap, sizeof(*v), 32);

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

int cmd_list_backups(ddtc *c, const char *su, cmd_backups *l)
{
	int rc = ddtc_backup_list(c, su, backups_add, l);

	if (rc == -ENOMEM)
		return out_fail_errno(ENOMEM, "free some memory",
				      "list backups in storage unit %s", su);
	if (rc < 0)
		return out_fail(rc, "list backups in storage unit %s", su);
	if (l->n)		/* an empty unit leaves v NULL, qsort's UB */
		qsort(l->v, l->n, sizeof(*l->v), by_created);
	return 0;
}

/* "/PATH" as BACKUP: the unit's own tree at PATH, live, as the shares
 * (ddtfs, the NFS gateway) write it; a directory, read like a backup. */
static int find_live_dir(ddtc *c, const char *su, const char *arg,
			 ddtc_backup *out)
{
	ddtc_su u;
	ddt_attr a;
	int rc;

	rc = ddtc_su_open(c, su, &u);
	if (rc < 0)
		return out_fail(rc, "open storage unit %s", su);
	a.ino = u.root;
	a.type = DDT_T_DIR;
	if (arg[strspn(arg, "/")] != '\0') {
		rc = ddtc_lookup_path(c, u.root, arg + strspn(arg, "/"), &a);
		if (rc < 0)
			return out_fail(rc, "find %s in storage unit %s", arg,
					su);
	}
	if (a.type != DDT_T_DIR) {
		out_warn("%s in storage unit %s is not a directory (give its "
			 "directory, and --path for the file)", arg, su);
		return EXIT_RUNTIME;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", arg);
	out->ino = a.ino;
	return 0;
}

/* BACKUP on the command line: a full id (NAME@YYYYMMDDTHHMMSSZ), or a
 * name for the newest complete backup of that name, or "latest" for the
 * newest complete one of all, or /PATH for the unit's own files there
 * (not a backup). exact: only a full id will do. */
static int find_backup(ddtc *c, const char *su, const char *arg, int exact,
		       ddtc_backup *out)
{
	int by_id = strchr(arg, '@') != NULL, latest = !strcmp(arg, "latest");
	size_t nl = strlen(arg), i;
	const ddtc_backup *hit = NULL;
	cmd_backups l = { 0 };
	int ret;

	if (exact && !by_id) {
		out_warn("remove backup %s: not a backup id (give the whole "
			 "id, like %s@20240101T000000Z, as 'ddt list --su %s' "
			 "shows it)", arg, arg, su);
		return EXIT_RUNTIME;
	}
	if (arg[0] == '/')
		return find_live_dir(c, su, arg, out);
	ret = cmd_list_backups(c, su, &l);
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

int cmd_open_backup(const gopts *g, const char *arg, int exact, ddtc **out,
		    ddtc_backup *b)
{
	int ret;

	ret = cmd_login(g, 0, out);
	if (ret)
		return ret;
	ret = find_backup(*out, g->su, arg, exact, b);
	if (ret)
		ddtc_close(*out);
	return ret;
}

