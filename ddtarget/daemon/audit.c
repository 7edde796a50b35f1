/* audit.c - the audit log's file and syslog lines (audit.h). */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ddterr.h"
#include "fdio.h"
#include "log.h"
#include "utf8.h"

#define AUDIT_LINE	2048
#define AUDIT_STAMP_LEN	24	/* "2026-12-07T21:20:00.123Z" */

struct audit {
	pthread_mutex_t mu;
	char *path;		/* NULL: no file */
	int fd;
	int to_syslog;
	int warned;		/* a write failed, and it was logged */
};

static int open_file(const char *path, int *out_fd)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return ddterr_set(-errno, "audit log %s: %s", path,
				  strerror(errno));
	*out_fd = fd;
	return 0;
}

int audit_open(audit **out, const char *path, int to_syslog)
{
	audit *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return ddterr_set(-ENOMEM, "out of memory");
	a->fd = -1;
	a->to_syslog = to_syslog;
	pthread_mutex_init(&a->mu, NULL);
	if (path && *path) {
		a->path = strdup(path);
		if (!a->path) {
			audit_close(a);
			return ddterr_set(-ENOMEM, "out of memory");
		}
		if ((rc = open_file(path, &a->fd)) < 0) {
			audit_close(a);
			return rc;
		}
	}
	*out = a;
	return 0;
}

void audit_close(audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a);
}

int audit_reopen(audit *a)
{
	int fd = -1, rc;

	if (!a || !a->path)
		return 0;
	if ((rc = open_file(a->path, &fd)) < 0)
		return rc;
	pthread_mutex_lock(&a->mu);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	a->warned = 0;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static int needs_quotes(const char *v)
{
	size_t at;

	if (!*v || utf8_scan(v, strlen(v), &at) != UTF8_OK)
		return 1;
	return strpbrk(v, " \"=\\") != NULL;
}

void audit_kv(char *buf, size_t cap, const char *key, const char *value)
{
	size_t len = strlen(buf);
	char esc[3 * AUDIT_LINE / 4];
	size_t o = 0;

	if (!needs_quotes(value)) {
		snprintf(buf + len, cap - len, " %s=%s", key, value);
		return;
	}
	/* Controls and broken UTF-8 as \xNN, then '"' as \" (utf8_escape
	 * doubles backslashes). */
	utf8_escape(esc, sizeof(esc) / 2, value, UTF8_ESC_BACKSLASH);
	snprintf(buf + len, cap - len, " %s=\"", key);
	len = strlen(buf);
	for (const char *p = esc; *p && len + o + 3 < cap; p++) {
		if (*p == '"')
			buf[len + o++] = '\\';
		buf[len + o++] = *p;
	}
	buf[len + o] = '\0';
	if (len + o + 1 < cap)
		snprintf(buf + len + o, cap - len - o, "\"");
}

void audit_kv_u64(char *buf, size_t cap, const char *key, uint64_t v)
{
	size_t len = strlen(buf);

	snprintf(buf + len, cap - len, " %s=%" PRIu64, key, v);
}

void audit_kv_i64(char *buf, size_t cap, const char *key, int64_t v)
{
	size_t len = strlen(buf);

	snprintf(buf + len, cap - len, " %s=%" PRId64, key, v);
}

static void stamp(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* Under a->mu: the line to the file, synced (an event is on disk before
 * its reply leaves). */
static void write_line(audit *a, const char *line, size_t n)
{
	int rc;

	if (a->fd < 0)
		return;
	rc = fd_write_all(a->fd, line, n);
	if (rc == 0 && fdatasync(a->fd) != 0)
		rc = -errno;
	if (rc < 0 && !a->warned) {
		log_err("audit log %s: cannot write: %s", a->path,
			strerror(-rc));
		a->warned = 1;
	}
}

void audit_event(audit *a, const char *event, int rc, const char *who,
		 const char *peer, const char *fields)
{
	char line[AUDIT_LINE];
	size_t n;

	if (!a)
		return;
	stamp(line, sizeof(line));
	audit_kv(line, sizeof(line), "event", event);
	audit_kv(line, sizeof(line), "result", rc == 0 ? "ok" : "refused");
	if (rc < 0)
		audit_kv(line, sizeof(line), "error", strerror(-rc));
	audit_kv(line, sizeof(line), "user", who && *who ? who : "-");
	audit_kv(line, sizeof(line), "peer", peer && *peer ? peer : "-");
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n, "%s", fields);
	n = strlen(line);
	if (n > sizeof(line) - 2)	/* cut short: still one line */
		n = sizeof(line) - 2;
	if (a->to_syslog)	/* without the time: syslog stamps it */
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit:%.*s",
		       (int)(n - AUDIT_STAMP_LEN), line + AUDIT_STAMP_LEN);
	line[n++] = '\n';
	pthread_mutex_lock(&a->mu);
	write_line(a, line, n);
	pthread_mutex_unlock(&a->mu);
}
