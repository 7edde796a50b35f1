/* config.c - defaults, the configuration file and single settings for
 * ddtargetd (see config.h). The file format is deliberately plain: one
 * "key = value" per line, '#' starts a comment, no sections, no quoting. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"
#include "ddtc_types.h"

void config_default(ddtd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1");
	c->port = DDT_DEFAULT_PORT;
	c->unix_socket_gid = -1;
	c->audit_syslog = 1;
	c->upload_slack_mb = 1024;
	snprintf(c->store, sizeof(c->store), "/var/lib/ddtarget");
	c->max_sessions = 64;
	c->login_timeout = 10;
	c->max_handshakes = 64;
	c->max_handshakes_per_address = 8;
	c->auth_max_failures = 1;
	c->auth_backoff_ms = 1000;
	c->auth_backoff_max_ms = 30000;
	c->clean_threshold = 50;
	snprintf(c->clean_schedule, sizeof(c->clean_schedule), "tue 06:00");
	snprintf(c->checkpoint_schedule, sizeof(c->checkpoint_schedule),
		 "every 6h");
	snprintf(c->expire_schedule, sizeof(c->expire_schedule),
		 "daily 00:30");
	snprintf(c->scrub_schedule, sizeof(c->scrub_schedule), "sat 02:00");
	c->checkpoint_keep = STORE_CKPT_KEEP_DEFAULT;
	c->read_cache_containers = STORE_READ_CACHE_DEFAULT;
	c->region_codec = STORE_REGION_CODEC_DEFAULT;
	c->region_level = STORE_REGION_LEVEL_DEFAULT;
	c->region_kb = STORE_REGION_SIZE_DEFAULT / 1024;
	c->health_interval = 30;
	c->space_warning_pct = 80;
	c->space_critical_pct = 95;
	c->retention_max_days = 3650;
}

static int parse_int(const char *key, const char *v, long lo, long hi,
		     int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return ddterr_set(-EINVAL, "%s: '%s' is not a number from %ld "
				  "to %ld", key, v, lo, hi);
	*out = (int)n;
	return 0;
}

/* A codec's name; "none" keeps segments as their writers compressed them. */
static int parse_region_codec(const char *key, const char *v, int *out)
{
	int c = codec_from_name(v);

	if (c < 0)
		return ddterr_set(-EINVAL, "%s: '%s' is not one of none, lz4, "
				  "zstd, gzfast", key, v);
	*out = c;
	return 0;
}

static int parse_bool(const char *key, const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return ddterr_set(-EINVAL, "%s: '%s' is not yes or no", key, v);
	return 0;
}

/* A schedule is checked when it is read, not when it is first due. */
static int copy_schedule(const char *key, const char *v,
			 char dst[SCHEDULE_TEXT_MAX])
{
	schedule_spec sp;
	int rc;

	if (strlen(v) >= SCHEDULE_TEXT_MAX)
		return ddterr_set(-EINVAL, "%s: too long", key);
	rc = schedule_parse(v, &sp);
	if (rc < 0)
		return ddterr_set(rc, "%s: %s", key, ddterr_last(rc));
	snprintf(dst, SCHEDULE_TEXT_MAX, "%s", v);
	return 0;
}

static int copy_path(const char *key, const char *v, char *dst, size_t cap)
{
	if (strlen(v) >= cap)
		return ddterr_set(-EINVAL, "%s: path too long", key);
	snprintf(dst, cap, "%s", v);
	return 0;
}

/* A group's name or number; "" for none. */
static int parse_group(const char *key, const char *v, long *out)
{
	struct group *g;
	char *end;
	long n;

	if (!*v) {
		*out = -1;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (!errno && end != v && !*end && n >= 0 && n < INT32_MAX) {
		*out = n;
		return 0;
	}
	g = getgrnam(v);
	if (!g)
		return ddterr_set(-EINVAL, "%s: no group '%s'", key, v);
	*out = (long)g->gr_gid;
	return 0;
}

/* A path, "none", or "" (the default place). */
static int copy_local_socket(const char *v, char *dst, size_t cap)
{
	if (*v && strcmp(v, "none") && v[0] != '/')
		return ddterr_set(-EINVAL, "unix_socket: '%s' is neither an "
				  "absolute path nor none", v);
	return copy_path("unix_socket", v, dst, cap);
}

int config_audit_log(const ddtd_config *c, char *buf, size_t cap)
{
	int n;

	if (!strcmp(c->audit_log, "none")) {
		buf[0] = '\0';
		return 0;
	}
	n = c->audit_log[0] ? snprintf(buf, cap, "%s", c->audit_log)
			    : snprintf(buf, cap, "%s/audit.log", c->store);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int config_local_socket(const ddtd_config *c, char *buf, size_t cap)
{
	int n;

	if (!strcmp(c->unix_socket, "none")) {
		buf[0] = '\0';
		return 0;
	}
	n = c->unix_socket[0] ? snprintf(buf, cap, "%s", c->unix_socket)
			      : snprintf(buf, cap, "%s/ddtargetd.sock",
					 c->store);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* "a, b,c" -> up to STORE_MAX_DIRS entries. */
static int parse_dirs(ddtd_config *c, const char *v)
{
	char buf[STORE_MAX_DIRS * 256], *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf))
		return ddterr_set(-EINVAL, "data_dirs: list too long");
	snprintf(buf, sizeof(buf), "%s", v);
	c->ndata_dirs = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		for (char *e = tok + strlen(tok);
		     e > tok && isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
		if (!*tok)
			continue;
		if (c->ndata_dirs == STORE_MAX_DIRS)
			return ddterr_set(-EINVAL, "data_dirs: more than %d "
					  "directories", STORE_MAX_DIRS);
		if (copy_path("data_dirs", tok, c->data_dirs[c->ndata_dirs],
			      sizeof(c->data_dirs[0])) < 0)
			return -EINVAL;
		c->ndata_dirs++;
	}
	return 0;
}

/* "tls": whether plaintext is taken at all (from loopback only). */
static int parse_tls(const char *v, int *out)
{
	if (!strcmp(v, "required"))
		*out = 0;
	else if (!strcmp(v, "loopback-plain"))
		*out = 1;
	else
		return ddterr_set(-EINVAL, "tls: '%s' is not required or "
				  "loopback-plain", v);
	return 0;
}

/* The target's stream limits, in ddtd_config.stream_lim's order. */
static const char *const stream_keys[4] = {
	"stream_backup_soft", "stream_backup_hard", "stream_restore_soft",
	"stream_restore_hard",
};

static int parse_limit(const char *key, const char *v, uint32_t *out)
{
	int n, rc = parse_int(key, v, 0, 1000000, &n);

	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

int config_set(ddtd_config *c, const char *key, const char *v)
{
	if (!strcmp(key, "listen"))
		return copy_path(key, v, c->listen, sizeof(c->listen));
	if (!strcmp(key, "port"))
		return parse_int(key, v, 1, 65535, &c->port);
	if (!strcmp(key, "store"))
		return copy_path(key, v, c->store, sizeof(c->store));
	if (!strcmp(key, "unix_socket"))
		return copy_local_socket(v, c->unix_socket,
					 sizeof(c->unix_socket));
	if (!strcmp(key, "audit_log"))
		return copy_path(key, v, c->audit_log, sizeof(c->audit_log));
	if (!strcmp(key, "audit_syslog"))
		return parse_bool(key, v, &c->audit_syslog);
	if (!strcmp(key, "upload_slack_mb"))
		return parse_int(key, v, 1, 1 << 20, &c->upload_slack_mb);
	if (!strcmp(key, "user"))
		return copy_path(key, v, c->user, sizeof(c->user));
	if (!strcmp(key, "group"))
		return copy_path(key, v, c->group, sizeof(c->group));
	if (!strcmp(key, "unix_socket_group"))
		return parse_group(key, v, &c->unix_socket_gid);
	if (!strcmp(key, "data_dirs"))
		return parse_dirs(c, v);
	if (!strcmp(key, "ec_k"))
		return parse_int(key, v, 1, STORE_MAX_DIRS, &c->k);
	if (!strcmp(key, "ec_m"))
		return parse_int(key, v, 0, STORE_MAX_DIRS - 1, &c->m);
	if (!strcmp(key, "workers"))
		return parse_int(key, v, 0, 256, &c->workers);
	if (!strcmp(key, "max_sessions"))
		return parse_int(key, v, 1, 100000, &c->max_sessions);
	if (!strcmp(key, "login_timeout"))
		return parse_int(key, v, 1, 3600, &c->login_timeout);
	if (!strcmp(key, "max_handshakes"))
		return parse_int(key, v, 1, 1024, &c->max_handshakes);
	if (!strcmp(key, "max_handshakes_per_address"))
		return parse_int(key, v, 1, 1024,
				 &c->max_handshakes_per_address);
	if (!strcmp(key, "auth_max_failures"))
		return parse_int(key, v, 1, 100, &c->auth_max_failures);
	if (!strcmp(key, "auth_backoff_ms"))
		return parse_int(key, v, 0, 600000, &c->auth_backoff_ms);
	if (!strcmp(key, "auth_backoff_max_ms"))
		return parse_int(key, v, 0, 600000, &c->auth_backoff_max_ms);
	if (!strcmp(key, "tls"))
		return parse_tls(v, &c->tls_plain_loopback);
	if (!strcmp(key, "tls_cert"))
		return copy_path(key, v, c->tls_cert, sizeof(c->tls_cert));
	if (!strcmp(key, "tls_key"))
		return copy_path(key, v, c->tls_key, sizeof(c->tls_key));
	if (!strcmp(key, "clean_schedule"))
		return copy_schedule(key, v, c->clean_schedule);
	if (!strcmp(key, "checkpoint_schedule"))
		return copy_schedule(key, v, c->checkpoint_schedule);
	if (!strcmp(key, "expire_schedule"))
		return copy_schedule(key, v, c->expire_schedule);
	if (!strcmp(key, "scrub_schedule"))
		return copy_schedule(key, v, c->scrub_schedule);
	if (!strcmp(key, "clean_threshold"))
		return parse_int(key, v, 1, 100, &c->clean_threshold);
	if (!strcmp(key, "health_interval"))
		return parse_int(key, v, 1, 86400, &c->health_interval);
	if (!strcmp(key, "space_warning_pct"))
		return parse_int(key, v, 0, 100, &c->space_warning_pct);
	if (!strcmp(key, "space_critical_pct"))
		return parse_int(key, v, 0, 100, &c->space_critical_pct);
	if (!strcmp(key, "retention_max_days"))
		return parse_int(key, v, 1, 73000, &c->retention_max_days);
	if (!strcmp(key, "scrub_rate"))
		return parse_int(key, v, 0, 1000000, &c->scrub_rate);
	if (!strcmp(key, "pid_file"))
		return copy_path(key, v, c->pid_file, sizeof(c->pid_file));
	if (!strcmp(key, "admin_password_file"))
		return copy_path(key, v, c->admin_password_file,
				 sizeof(c->admin_password_file));
	if (!strcmp(key, "syslog"))
		return parse_bool(key, v, &c->use_syslog);
	if (!strcmp(key, "verbose"))
		return parse_bool(key, v, &c->verbose);
	if (!strcmp(key, "checkpoint_dir"))
		return copy_path(key, v, c->checkpoint_dir,
				 sizeof(c->checkpoint_dir));
	if (!strcmp(key, "checkpoint_keep"))
		return parse_int(key, v, 1, 10000, &c->checkpoint_keep);
	if (!strcmp(key, "read_cache_containers"))
		return parse_int(key, v, 1, 4096, &c->read_cache_containers);
	if (!strcmp(key, "region_compression"))
		return parse_region_codec(key, v, &c->region_codec);
	if (!strcmp(key, "region_level"))
		return parse_int(key, v, -100, 22, &c->region_level);
	if (!strcmp(key, "region_kb"))
		return parse_int(key, v, 4, 1024, &c->region_kb);
	for (int i = 0; i < 4; i++)
		if (!strcmp(key, stream_keys[i]))
			return parse_limit(key, v, &c->stream_lim[i]);
	return ddterr_set(-EINVAL, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load(ddtd_config *c, const char *path)
{
	char line[8192], msg[512];
	int lineno = 0, rc = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return ddterr_set(-errno, "config %s: %s", path, strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *eq, *key, *val;

		lineno++;
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			rc = ddterr_set(-EINVAL, "config %s:%d: expected "
					"'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		rc = config_set(c, key, val);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
			rc = ddterr_set(rc, "config %s:%d: %s", path, lineno,
					msg);
		}
	}
	if (rc == 0 && ferror(f))
		rc = ddterr_set(-EIO, "config %s: read error", path);
	fclose(f);
	return rc;
}
