/* nfsd_conf.c - ddt-nfsd's INI file, parsed by libinih (Debian's
 * libinih-dev): each key is checked as it comes, an unknown one is an
 * error (a typo must not silently export too much), and the password
 * comes from a file, never from the configuration itself. */
#include "nfsd_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "confval.h"
#include "ddtc_types.h"
#include "ddterr.h"

typedef struct parse {
	nfsd_conf *c;
	char err[512];
} parse;

/* "10.0.0.0/8", "192.168.1.7", "::1/128". */
static int parse_net(nfsd_net *n, const char *s)
{
	char a[128], *slash;
	int max;

	if (confval_str(a, sizeof(a), s) < 0)
		return -1;
	slash = strchr(a, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, a, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	n->prefix = max;
	return slash ? confval_int(&n->prefix, slash, 0, max) : 0;
}

static int parse_nets(nfsd_export *e, const char *v)
{
	char buf[4096], *tok, *save = NULL;

	if (confval_str(buf, sizeof(buf), v) < 0)
		return -1;
	e->nnets = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (e->nnets == NFSD_MAX_NETS ||
		    parse_net(&e->nets[e->nnets], tok) < 0)
			return -1;
		e->nnets++;
	}
	return 0;
}

static int target_key(nfsd_conf *c, const char *k, const char *v)
{
	return ddtc_target_conf_key(&c->target, k, v);
}

static int server_key(nfsd_conf *c, const char *k, const char *v)
{
	int n;

	if (!strcmp(k, "listen"))
		return confval_str(c->listen, sizeof(c->listen), v);
	if (!strcmp(k, "nfs_port"))
		return confval_int(&c->nfs_port, v, 0, 65535);
	if (!strcmp(k, "mount_port"))
		return confval_int(&c->mount_port, v, 0, 65535);
	if (!strcmp(k, "threads"))
		return confval_int(&c->threads, v, 1, 1024);
	if (!strcmp(k, "rpcbind"))
		return confval_bool(&c->rpcbind, v);
	if (!strcmp(k, "idle_commit_ms"))
		return confval_int(&c->idle_ms, v, 10, 3600 * 1000);
	if (!strcmp(k, "read_attr_ms"))
		return confval_int(&c->read_attr_ms, v, 0, 60 * 1000);
	if (!strcmp(k, "dirty_cap_mb")) {
		if (confval_int(&n, v, 1, 1 << 20) < 0)
			return -1;
		c->dirty_cap = (size_t)n << 20;
		return 0;
	}
	return -2;
}

static int export_key(nfsd_export *e, const char *k, const char *v)
{
	int n;

	if (!strcmp(k, "su"))
		return ddt_name_ok(v) ? confval_str(e->su, sizeof(e->su), v) : -1;
	if (!strcmp(k, "path"))
		return v[0] == '/' ? confval_str(e->path, sizeof(e->path), v) : -1;
	if (!strcmp(k, "clients"))
		return parse_nets(e, v);
	if (!strcmp(k, "read_only"))
		return confval_bool(&e->read_only, v);
	if (!strcmp(k, "root_squash"))
		return confval_bool(&e->root_squash, v);
	if (!strcmp(k, "all_squash"))
		return confval_bool(&e->all_squash, v);
	if (!strcmp(k, "anon_uid") || !strcmp(k, "anon_gid")) {
		if (confval_int(&n, v, 0, 0x7fffffff) < 0)
			return -1;
		*(k[5] == 'u' ? &e->anon_uid : &e->anon_gid) = (uint32_t)n;
		return 0;
	}
	return -2;
}

/* The export of section "export NAME", made on its first key. */
static nfsd_export *export_of(nfsd_conf *c, const char *section)
{
	const char *name = section + strlen("export");
	nfsd_export *e;

	while (*name == ' ')
		name++;
	for (unsigned i = 0; i < c->nexports; i++)
		if (!strcmp(c->exports[i].name, name))
			return &c->exports[i];
	if (c->nexports == NFSD_MAX_EXPORTS || !ddt_name_ok(name))
		return NULL;
	e = &c->exports[c->nexports++];
	memset(e, 0, sizeof(*e));
	strcpy(e->name, name);
	strcpy(e->su, name);
	snprintf(e->path, sizeof(e->path), "/%s", name);
	e->root_squash = 1;
	e->anon_uid = e->anon_gid = 65534;
	return e;
}

static int on_key(void *arg, const char *section, const char *k,
		  const char *v)
{
	parse *p = arg;
	nfsd_export *e;
	int rc = -2;

	if (!strcmp(section, "target"))
		rc = target_key(p->c, k, v);
	else if (!strcmp(section, "server"))
		rc = server_key(p->c, k, v);
	else if (!strncmp(section, "export", 6) &&
		 (section[6] == ' ' || section[6] == 0)) {
		e = export_of(p->c, section);
		if (!e) {
			snprintf(p->err, sizeof(p->err),
				 "[%s]: not a storage unit's name, or too many "
				 "exports", section);
			return 0;
		}
		rc = export_key(e, k, v);
	}
	return confval_key_done(rc, p->err, sizeof(p->err), section, k, v);
}

/* libinih calls nothing for a section without keys: an export written
 * "[export NAME]" alone would silently not exist. Its headers are looked
 * for again here, so it is an error instead. */
static int empty_exports(const nfsd_conf *c, const char *path)
{
	char line[1024], *p, *end;
	FILE *f = fopen(path, "r");
	int n = 0, rc = 0;
	unsigned i;

	if (!f)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		n++;
		p = line + strspn(line, " \t");
		if (strncmp(p, "[export", 7) != 0 || !(end = strchr(p, ']')))
			continue;
		*end = 0;
		p += 7;
		p += strspn(p, " \t");
		for (i = 0; i < c->nexports && strcmp(c->exports[i].name, p); i++)
			;
		if (i == c->nexports)
			rc = ddterr_set(-EINVAL, "%s line %d: [export %s] has no "
					"keys (\"su = %s\" will do)", path, n, p,
					p);
	}
	fclose(f);
	return rc;
}

static void defaults(nfsd_conf *c)
{
	memset(c, 0, sizeof(*c));
	ddtc_target_conf_default(&c->target, "admin");
	strcpy(c->listen, "0.0.0.0");
	c->nfs_port = 2049;
	c->mount_port = 20048;
	c->threads = 16;
	c->dirty_cap = (size_t)256 << 20;
	c->idle_ms = 3000;
	c->read_attr_ms = 1000;
	c->rpcbind = 1;
}

int nfsd_conf_load(nfsd_conf *c, const char *path)
{
	parse p = { .c = c };
	int line, rc;

	defaults(c);
	line = ini_parse(path, on_key, &p);
	rc = confval_ini_done(path, line, p.err);
	if (rc < 0)
		return rc;
	if (empty_exports(c, path) < 0)
		return -EINVAL;
	if (c->nexports == 0)
		return ddterr_set(-EINVAL, "%s: no [export NAME] section", path);
	/* A handle names its export by the unit's root: one export a unit. */
	for (unsigned i = 0; i < c->nexports; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->exports[i].su, c->exports[j].su))
				return ddterr_set(-EINVAL, "%s: storage unit %s "
						  "is exported twice ([export "
						  "%s], [export %s])", path,
						  c->exports[i].su,
						  c->exports[j].name,
						  c->exports[i].name);
	return ddtc_target_conf_password(&c->target);
}

static int in_net(const nfsd_net *n, const uint8_t *a)
{
	int full = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(n->addr, a, (size_t)full) != 0)
		return 0;
	if (!rest)
		return 1;
	return ((n->addr[full] ^ a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

int nfsd_conf_allows(const nfsd_export *e, const struct sockaddr *sa)
{
	const uint8_t *a4 = NULL, *a6 = NULL;

	if (e->nnets == 0)
		return 1;
	if (sa->sa_family == AF_INET) {
		a4 = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		/* An IPv4 client on a dual-stack socket. */
		if (IN6_IS_ADDR_V4MAPPED(
			    &((const struct sockaddr_in6 *)sa)->sin6_addr))
			a4 = a6 + 12;
	}
	for (unsigned i = 0; i < e->nnets; i++) {
		if (e->nets[i].family == AF_INET && a4 && in_net(&e->nets[i], a4))
			return 1;
		if (e->nets[i].family == AF_INET6 && a6 &&
		    in_net(&e->nets[i], a6))
			return 1;
	}
	return 0;
}
