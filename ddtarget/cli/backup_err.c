/* backup_err.c - how ddt backup reports (backup_int.h): one line per
 * error, counted; an error that concerns one entry lets the backup go on,
 * any other stops it once (every thread watches b->failed). The quota's
 * refusal waits for the end, when the partial backup is gone. */
#include "backup_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "out.h"

int err_is_entry(int rc)
{
	return rc == -EINVAL || rc == -ENAMETOOLONG || rc == -EEXIST;
}

void err_fatal(bk *b, int rc, const char *what)
{
	/* The message is per thread: take it before anything else runs. */
	const char *why = ddtc_errmsg(rc);

	if (atomic_exchange(&b->failed, 1) != 0)
		return;
	if (rc == -EDQUOT) {
		snprintf(b->quota_msg, sizeof(b->quota_msg), "%s", why);
		b->quota = 1;
		return;
	}
	out_warn("%s: %s", what, why);
}

void err_target(bk *b, int rc, const char *verb, const char *path)
{
	const char *why = ddtc_errmsg(rc);
	char what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "%s %s", verb, path);
	if (!err_is_entry(rc)) {
		err_fatal(b, rc, what);
		return;
	}
	out_warn("%s: %s", what, why);
	atomic_fetch_add(&b->warnings, 1);
}

void err_local(bk *b, int err, const char *verb, const char *path)
{
	out_warn("%s %s: %s", verb, path, strerror(err));
	atomic_fetch_add(&b->warnings, 1);
}

void err_nomem(bk *b, const char *what)
{
	if (atomic_exchange(&b->failed, 1) == 0)
		out_fail_errno(ENOMEM, "free some memory", "%s", what);
}

void err_warn(bk *b, const char *fmt, ...)
{
	char line[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	out_warn("%s", line);
	atomic_fetch_add(&b->warnings, 1);
}
