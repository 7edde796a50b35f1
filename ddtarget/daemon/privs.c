/* privs.c - from root to the daemon's own user (privs.h). */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddterr.h"

/* A user by name or number: its uid and primary gid. */
static int find_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	char *end;
	long n;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		n = strtol(user, &end, 10);
		if (end != user && !*end && n >= 0)
			pw = getpwuid((uid_t)n);
	}
	if (!pw)
		return ddterr_set(-ENOENT, "user: no system user '%s' (make "
				  "it, e.g. with contrib/systemd/"
				  "ddtarget.sysusers)", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int find_group(const char *group, gid_t *gid)
{
	struct group *gr = getgrnam(group);
	char *end;
	long n;

	if (!gr) {
		n = strtol(group, &end, 10);
		if (end != group && !*end && n >= 0)
			gr = getgrgid((gid_t)n);
	}
	if (!gr)
		return ddterr_set(-ENOENT, "group: no group '%s'", group);
	*gid = gr->gr_gid;
	return 0;
}

/* A store made by root, or by another user, would fail later and deep
 * inside RocksDB: say it now, with the fix. */
static int store_owned_by(const char *store, uid_t uid, const char *user)
{
	struct stat st;

	if (stat(store, &st) != 0)
		return errno == ENOENT ? 0 : ddterr_set(-errno, "store %s: %s",
							store, strerror(errno));
	if (st.st_uid != uid)
		return ddterr_set(-EPERM, "the store %s belongs to uid %u, not "
				  "to user %s, whom the daemon runs as: chown "
				  "-R %s %s", store, (unsigned)st.st_uid, user,
				  user, store);
	return 0;
}

static int become(uid_t uid, gid_t gid, const char *user)
{
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return ddterr_set(-errno, "cannot become user %s: %s", user,
				  strerror(errno));
	/* For good: root must not be reachable again. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return ddterr_set(-EPERM, "user %s: root could be regained "
				  "after setuid", user);
	return 0;
}

int privs_drop(const char *user, const char *group, const char *store,
	       int *out_dropped)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	*out_dropped = 0;
	if (!user || !*user)
		return 0;
	if ((rc = find_user(user, &uid, &gid)) < 0)
		return rc;
	if (group && *group && (rc = find_group(group, &gid)) < 0)
		return rc;
	if (geteuid() != 0) {
		if (geteuid() != uid)
			return ddterr_set(-EPERM, "user %s is set, but the "
					  "daemon was started as uid %u, who "
					  "cannot become it", user,
					  (unsigned)geteuid());
		return 0;
	}
	if ((rc = store_owned_by(store, uid, user)) < 0 ||
	    (rc = become(uid, gid, user)) < 0)
		return rc;
	*out_dropped = 1;
	return 0;
}

int privs_running_as_root(void)
{
	return geteuid() == 0;
}
