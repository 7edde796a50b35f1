/* test_dirtimes.c - directory times as PROTOCOL.md (Namespace, "Times")
 * says, request by request against a real ddtargetd: MKDIR's mtime holds
 * until the first entry is made; every request that adds, removes or
 * renames an entry sets the directory's mtime and ctime to the target's
 * clock; new content under an old name does not; SETATTR sets what its
 * mask names and holds until the next change of entries. Each ddtc call
 * used here is one request of the protocol. */
#include "ddtc.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"

#define T_OLD	978307200000000000LL	/* 2001-01-01, what MKDIR asks */
#define T_SET	1000000000123456789LL	/* 2001-09-09, what SETATTR sets */
#define T_2020	1577836800000000000LL	/* anything the clock gives is later */

static ddtc *c;

static ddt_attr get(uint64_t ino)
{
	ddt_attr a;
	int rc = ddtc_getattr(c, ino, &a);

	if (rc < 0)
		tap_bail("GETATTR %llu: %s", (unsigned long long)ino,
			 ddtc_errmsg(rc));
	return a;
}

/* SETATTR of ino's atime and mtime to T_SET; the reply. */
static ddt_attr set_times(uint64_t ino)
{
	ddt_attr v = { .atime = T_SET, .mtime = T_SET }, a;
	int rc = ddtc_setattr(c, ino, DDT_SA_ATIME | DDT_SA_MTIME, &v, &a);

	if (rc < 0)
		tap_bail("SETATTR: %s", ddtc_errmsg(rc));
	return a;
}

/* An empty file as name in dir (one COMMIT entry), with mtime. */
static void commit_empty(uint64_t dir, const char *name, int64_t mtime)
{
	ddtc_entry e = { .mode = 0644, .atime = mtime, .mtime = mtime };
	int rc;

	snprintf(e.name, sizeof(e.name), "%s", name);
	rc = ddtc_commit(c, dir, &e, 1, 0, NULL);
	if (rc < 0)
		tap_bail("COMMIT %s: %s", name, ddtc_errmsg(rc));
}

/* Whether dir's times are the target's clock, set by a change of its
 * entries: mtime and ctime equal (one transaction's clock), and recent. */
static int touched(uint64_t dir)
{
	ddt_attr a = get(dir);

	return a.mtime == a.ctime && a.mtime > T_2020;
}

/* dir's mtime is back at T_SET; then `what` changes an entry of it. */
static void check_change(uint64_t dir, const char *what, int rc)
{
	if (rc < 0)
		tap_bail("%s: %s", what, ddtc_errmsg(rc));
	ok(touched(dir), "%s sets the directory's mtime and ctime to the "
	   "target's clock", what);
	set_times(dir);
}

static void test_times(uint64_t root)
{
	ddt_attr a, d;
	uint64_t sub;

	if (ddtc_mkdir(c, root, "d", 0755, 0, 0, T_OLD, &d) < 0)
		tap_bail("MKDIR d");
	a = get(d.ino);
	ok(d.mtime == T_OLD && a.mtime == T_OLD && a.atime == T_OLD &&
	   a.ctime > T_2020, "MKDIR gives the new directory the request's "
	   "mtime (and atime), the target's clock as ctime");
	ok(touched(root), "and sets its parent's times to the clock");

	commit_empty(d.ino, "f", T_OLD);
	ok(touched(d.ino), "a COMMIT of a new name replaces MKDIR's mtime");
	a = set_times(d.ino);
	ok(a.mtime == T_SET && a.atime == T_SET && a.ctime > T_2020 &&
	   get(d.ino).mtime == T_SET, "SETATTR after the last entry sets "
	   "the mtime to keep, and the ctime to the clock");
	commit_empty(d.ino, "f", T_OLD + 1);
	a = get(d.ino);
	ok(a.mtime == T_SET, "new content under an old name leaves the "
	   "directory's mtime alone");

	check_change(d.ino, "MKDIR",
		     ddtc_mkdir(c, d.ino, "sub", 0755, 0, 0, T_OLD, &a));
	sub = a.ino;
	ok(get(sub).mtime == T_OLD, "(the new subdirectory keeps MKDIR's "
	   "mtime while it is empty)");
	check_change(d.ino, "SYMLINK",
		     ddtc_symlink(c, d.ino, "l", "f", 0, 0, T_OLD, &a));
	if (ddtc_lookup(c, d.ino, "f", &a) < 0)
		tap_bail("LOOKUP f");
	check_change(d.ino, "LINK", ddtc_link(c, a.ino, d.ino, "g", &a));
	check_change(d.ino, "RENAME", ddtc_rename(c, d.ino, "g", d.ino, "h"));
	check_change(d.ino, "UNLINK", ddtc_unlink(c, d.ino, "h"));
	check_change(d.ino, "RMDIR", ddtc_rmdir(c, d.ino, "sub"));
	a = set_times(root);
	check_change(root, "RENAME into another directory",
		     ddtc_rename(c, d.ino, "f", root, "f2"));
	ok(touched(d.ino), "and the directory it left");
	a = get(d.ino);
	ok(a.mtime == a.ctime && get(d.ino).mtime == a.mtime,
	   "reads change nothing");
}

int main(void)
{
	char *dir = tap_tmpdir("dirtimes");
	test_daemon d;
	uint64_t root;
	int rc;

	daemon_start_in(&d, dir);
	c = daemon_connect(&d);
	rc = ddtc_su_create(c, "t", &root);
	if (rc < 0)
		tap_bail("SU_CREATE: %s", ddtc_errmsg(rc));
	test_times(root);
	ddtc_close(c);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(dir);
	free(dir);
	return tap_done();
}
