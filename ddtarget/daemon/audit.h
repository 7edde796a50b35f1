/* audit.h - the audit log: one line per security-relevant event (logins
 * and failures, users and roles, storage units and retention, deletions,
 * restores, maintenance an admin starts, checkpoint restores) to a file of
 * its own, appended and synced line by line, and to syslog (authpriv). A
 * line is "TIME event=NAME result=ok|refused key=value ...": values that
 * hold a space, '"', '=' or a byte outside printable UTF-8 are quoted and
 * escaped, so one event is one line that a script can split. */
#ifndef DDTD_AUDIT_H
#define DDTD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct audit audit;

/* Open (create, mode 0600) path for appending; path NULL or "": no file.
 * to_syslog: each line to syslog too. 0 or -errno with a message. */
int audit_open(audit **out, const char *path, int to_syslog);
void audit_close(audit *a);

/* Reopen the file (after logrotate moved it: SIGHUP). */
int audit_reopen(audit *a);

/* One event. who: the user ("-" before login), peer: the session's
 * address; rc: 0 (ok) or the refusal's -errno; fields: "key=value"
 * pairs already escaped (audit_kv), or "". Thread-safe; a failure to
 * write is logged once, never fatal. a may be NULL (no audit). */
void audit_event(audit *a, const char *event, int rc, const char *who,
		 const char *peer, const char *fields);

/* Append " key=value" to buf (cap bytes, always terminated), the value
 * quoted and escaped as the line format says. */
void audit_kv(char *buf, size_t cap, const char *key, const char *value);
void audit_kv_u64(char *buf, size_t cap, const char *key, uint64_t v);
void audit_kv_i64(char *buf, size_t cap, const char *key, int64_t v);

#endif
