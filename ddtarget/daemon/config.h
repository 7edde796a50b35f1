/* config.h - ddtargetd's settings: built-in defaults (it starts with no
 * configuration at all), then a "key = value" file, then command-line
 * flags, each overriding the one before. contrib/ddtargetd.conf documents
 * every key. */
#ifndef DDTD_CONFIG_H
#define DDTD_CONFIG_H

#include <limits.h>

#include "schedule.h"
#include "store.h"

typedef struct ddtd_config {
	char listen[256];		/* address to bind; "127.0.0.1" */
	int port;			/* DDT_DEFAULT_PORT */
	/* The local socket for the appliance's own gateways: "" for
	 * <store>/ddtargetd.sock, "none" for none (config_local_socket). */
	char unix_socket[PATH_MAX];
	long unix_socket_gid;		/* its group (mode 0660); -1: 0600 */
	char user[64], group[64];	/* who to run as, if started as root */
	/* The audit log (audit.h): "" for <store>/audit.log, "none" for no
	 * file (config_audit_log); and whether its lines go to syslog. */
	char audit_log[PATH_MAX];
	int audit_syslog;
	int upload_slack_mb;		/* sent, not committed, before a unit */
	char store[PATH_MAX];		/* the store's root directory */
	char data_dirs[STORE_MAX_DIRS][PATH_MAX];	/* one per disk */
	int ndata_dirs;			/* 0: <store>/data/dirN */
	int k, m;			/* erasure code, at creation; 0: default */
	int workers;			/* worker threads; 0: one per CPU, >= 2 */
	int max_sessions;		/* concurrent sessions (streams) */
	/* Before login (PROTOCOL.md section 3, Before login). */
	int login_timeout;		/* s to log in; 10 */
	int max_handshakes;		/* sessions not logged in; 64 */
	int max_handshakes_per_address;	/* ... from one address; 8 */
	int auth_max_failures;		/* failed AUTHs a session may make; 1 */
	int auth_backoff_ms;		/* an address's delay after a failure */
	int auth_backoff_max_ms;	/* ... doubling up to this */
	/* TLS (PROTOCOL.md section 1, TLS): "tls = required" (0, the
	 * default) or "loopback-plain" (1: plaintext too, from loopback). */
	int tls_plain_loopback;
	char tls_cert[PATH_MAX];	/* "": <store>/tls_cert.pem, made */
	char tls_key[PATH_MAX];		/* "": <store>/tls_key.pem, made */
	int clean_threshold;		/* % live below which a container is cleaned */
	/* When maintenance runs by itself (schedule.h's forms). */
	char clean_schedule[SCHEDULE_TEXT_MAX];		/* "tue 06:00" */
	char checkpoint_schedule[SCHEDULE_TEXT_MAX];	/* "every 6h" */
	char expire_schedule[SCHEDULE_TEXT_MAX];	/* "daily 00:30" */
	char scrub_schedule[SCHEDULE_TEXT_MAX];		/* "sat 02:00" */
	int health_interval;		/* s between directory checks */
	int space_warning_pct;		/* a file system fuller: warning */
	int space_critical_pct;		/* ... critical */
	int scrub_rate;			/* scrub reads, MB/s; 0: no limit */
	/* The furthest a locked backup's expiry may be set from now (its
	 * begin, or an admin's extension), days; 3650. */
	int retention_max_days;
	char pid_file[PATH_MAX];	/* "" for none */
	char admin_password_file[PATH_MAX]; /* "": <store>/admin.password */
	int use_syslog;
	int verbose;
	int foreground;
	char checkpoint_dir[PATH_MAX];	/* "": <store>/checkpoints */
	int checkpoint_keep;		/* checkpoints kept; 7 */
	int read_cache_containers;	/* decoded containers kept for reads */
	/* Compression regions at sealing (store.h): codec id, 0 for none;
	 * its level; raw KiB a region holds. */
	int region_codec;
	int region_level;
	int region_kb;
	/* The target's stream limits (PROTOCOL.md, Streams), in units.h's
	 * LIM_* order: backup soft, hard, restore soft, hard; 0 none. */
	uint32_t stream_lim[4];
} ddtd_config;

void config_default(ddtd_config *c);

/* Read a configuration file over c. Returns 0, or -errno / -EINVAL with a
 * ddterr message naming the file, the line and what is wrong with it. */
int config_load(ddtd_config *c, const char *path);

/* Set one key from a string, as the file would ("port", "7410"). */
int config_set(ddtd_config *c, const char *key, const char *value);

/* The audit log's path into buf; "" for none. 0 or -ENAMETOOLONG. */
int config_audit_log(const ddtd_config *c, char *buf, size_t cap);

/* The path of the local socket c asks for into buf; "" for none. 0, or
 * -ENAMETOOLONG if the path does not fit buf. */
int config_local_socket(const ddtd_config *c, char *buf, size_t cap);

#endif
