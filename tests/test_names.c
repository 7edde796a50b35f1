/* test_names.c - the name rule (ddtc_types.h, PROTOCOL.md Namespace):
 * which names it takes and why it refuses the others, byte by byte; the
 * escaping front ends print with (utf8.h), whole and as a stream; and a
 * real ddtargetd, over a raw socket so no client check stands in front,
 * refusing a bad name on every operation that makes one (MKDIR, SYMLINK,
 * LINK, RENAME, COMMIT, SU_CREATE, BACKUP_BEGIN) with DDT_EINVAL and one
 * line, while operations that only find a name (LOOKUP, UNLINK, RMDIR,
 * RENAME's source) answer for it as for any missing one. */
#include "ddterr.h"
#include "utf8.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

/* ---- the rule ---- */

typedef struct name_case {
	const char *name;
	const char *why;	/* NULL: a good name */
	long at;
} name_case;

static const name_case cases[] = {
	{ "file.txt", NULL, -1 },
	{ ".hidden", NULL, -1 },
	{ "a b", NULL, -1 },
	{ "caf\xc3\xa9", NULL, -1 },			/* é */
	{ "\xe6\x97\xa5\xe6\x9c\xac", NULL, -1 },	/* 日本 */
	{ "\xf0\x9f\x98\x80", NULL, -1 },		/* U+1F600 */
	{ "\xef\xbf\xbd", NULL, -1 },			/* U+FFFD */
	{ "\xf4\x8f\xbf\xbf", NULL, -1 },		/* U+10FFFF */
	{ "back\\slash", NULL, -1 },
	{ "", "is empty", -1 },
	{ ".", "is \".\" or \"..\"", -1 },
	{ "..", "is \".\" or \"..\"", -1 },
	{ "a/b", "contains '/'", 1 },
	{ "ab\x01", "contains a control character", 2 },
	{ "esc\x1b[31mred", "contains a control character", 3 },
	{ "tab\tx", "contains a control character", 3 },
	{ "nl\n", "contains a control character", 2 },
	{ "del\x7f", "contains a control character", 3 },
	{ "c1\xc2\x80", "contains a control character", 2 },	/* U+0080 */
	{ "csi\xc2\x9b" "2J", "contains a control character", 3 },
	{ "ff\xff", "is not valid UTF-8", 2 },
	{ "\x80x", "is not valid UTF-8", 0 },		/* stray continuation */
	{ "cut\xe6\x97", "is not valid UTF-8", 3 },	/* truncated */
	{ "x\xc0\xaf", "is not valid UTF-8", 1 },	/* overlong '/' */
	{ "x\xe0\x80\xaf", "is not valid UTF-8", 1 },	/* overlong '/' */
	{ "x\xc1\xbf", "is not valid UTF-8", 1 },	/* overlong DEL */
	{ "s\xed\xa0\x80", "is not valid UTF-8", 1 },	/* surrogate */
	{ "big\xf4\x90\x80\x80", "is not valid UTF-8", 3 }, /* U+110000 */
	{ "f5\xf5\x80\x80\x80", "is not valid UTF-8", 2 },
};

static void test_rule(void)
{
	char long_ok[DDT_MAX_NAME + 2], msg[DDT_NAME_MSG_LEN];
	int bad = 0;
	long at;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const name_case *c = &cases[i];
		const char *why = ddt_name_fault(c->name, &at);
		int right = c->why ? why && strcmp(why, c->why) == 0 &&
					     at == c->at : why == NULL;

		if (!right) {
			diag("case %zu: got \"%s\" at %ld", i,
			     why ? why : "(ok)", at);
			bad++;
		}
		if (!c->why != !!ddt_name_ok(c->name))
			bad++;
	}
	ok(bad == 0, "%zu names judged, each fault named at its byte",
	   sizeof(cases) / sizeof(cases[0]));

	memset(long_ok, 'x', sizeof(long_ok));
	long_ok[DDT_MAX_NAME] = '\0';
	ok(ddt_name_ok(long_ok), "a name of %d bytes is fine", DDT_MAX_NAME);
	long_ok[DDT_MAX_NAME] = 'x';
	long_ok[DDT_MAX_NAME + 1] = '\0';
	ok(!ddt_name_ok(long_ok) &&
	   ddt_name_msg(msg, sizeof(msg), long_ok, 1) == -ENAMETOOLONG,
	   "one of %d bytes is too long (ENAMETOOLONG)", DDT_MAX_NAME + 1);

	ok(ddt_name_shape_ok("esc\x1b[31m") && ddt_name_shape_ok("ff\xff") &&
	   !ddt_name_shape_ok("..") && !ddt_name_shape_ok("a/b") &&
	   !ddt_name_shape_ok(""),
	   "a name's shape alone: control characters pass, '/' and '..' not");

	ok(ddt_name_msg(msg, sizeof(msg), "a\x1b" "b", 1) == -EINVAL &&
	   strcmp(msg, "name \"a\\x1bb\" contains a control character "
		  "(byte 1)") == 0, "the line: %s", msg);
	ok(ddt_name_msg(msg, sizeof(msg), "a/b", 1) == -ENAMETOOLONG,
	   "'/' keeps its code, ENAMETOOLONG");
	ok(ddt_name_msg(msg, sizeof(msg), "a\x1b" "b", 0) == 0,
	   "to find a name, a control character is no fault");
}

/* ---- escaping ---- */

static void test_escape(void)
{
	char out[UTF8_ESC_LEN(64)], s1[64], s2[64];
	size_t used, n1, n2;

	ok(strcmp(utf8_escape(out, sizeof(out), "a\x1b[2Jb\xff\xc2\x9b"
			      "caf\xc3\xa9\\", 0),
		  "a\\x1b[2Jb\\xff\\xc2\\x9bcaf\xc3\xa9\\") == 0,
	   "escaped: control characters (C0, C1) and bad bytes as \\xNN, "
	   "UTF-8 kept: %s", out);
	ok(strcmp(utf8_escape(out, sizeof(out), "a\\x1b", UTF8_ESC_BACKSLASH),
		  "a\\\\x1b") == 0,
	   "with UTF8_ESC_BACKSLASH a backslash is doubled: %s", out);
	utf8_escape(out, 8, "\x01\x02\x03\x04", 0);
	ok(strcmp(out, "\\x01") == 0, "cut short, never overflowing: %s",
	   out);

	/* A stream cut inside "é": the first call keeps the cut byte. */
	n1 = utf8_escape_stream(s1, "ok\n\tcaf\xc3", 8, 0, &used);
	ok(used == 7 && n1 == 7 && memcmp(s1, "ok\n\tcaf", 7) == 0,
	   "stream: newline and tab kept, a cut character waits");
	n2 = utf8_escape_stream(s2, "\xc3\xa9\x1b", 3, 0, &used);
	ok(used == 3 && n2 == 6 && memcmp(s2, "\xc3\xa9\\x1b", 6) == 0,
	   "and goes out whole with the next bytes");
	n2 = utf8_escape_stream(s2, "\xc3", 1, 1, &used);
	ok(used == 1 && n2 == 4 && memcmp(s2, "\\xc3", 4) == 0,
	   "at the end a cut character is escaped");
}

/* ---- against the target ---- */

static int call_symlink(int fd, uint64_t dir, const char *name, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, name);
	wb_str(&p, "target");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 5);
	st = wire_call(fd, DDT_OP_SYMLINK, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static int call_link(int fd, uint64_t ino, uint64_t dir, const char *name,
		     char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, dir);
	wb_str(&p, name);
	st = wire_call(fd, DDT_OP_LINK, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static int call_rename(int fd, uint64_t dir, const char *from, const char *to,
		       char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, from);
	wb_u64(&p, dir);
	wb_str(&p, to);
	st = wire_call(fd, DDT_OP_RENAME, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

/* UNLINK or RMDIR (op) of name in dir. */
static int call_remove(int fd, uint8_t op, uint64_t dir, const char *name,
		       char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, name);
	st = wire_call(fd, op, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

#define BAD	"bad\x1b[2Jname"
#define BAD_LINE "name \"bad\\x1b[2Jname\" contains a control character " \
		 "(byte 3)"

static int refused(int st, const char *msg, const char *want)
{
	if (st != DDT_EINVAL || !strstr(msg, want)) {
		diag("status %d, \"%s\"", st, msg);
		return 0;
	}
	return 1;
}

static void test_making(int fd, uint64_t dir)
{
	char msg[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	uint64_t file, sub, root;
	fp_t fp;
	int st;

	ok(refused(wire_mkdir(fd, dir, BAD, NULL, msg), msg, BAD_LINE),
	   "MKDIR of a name with ESC: DDT_EINVAL, \"%s\"", msg);
	ok(refused(wire_mkdir(fd, dir, "ff\xff", NULL, msg), msg,
		   "is not valid UTF-8 (byte 2)"),
	   "MKDIR of invalid UTF-8: \"%s\"", msg);
	ok(refused(wire_mkdir(fd, dir, "c1\xc2\x9b", NULL, msg), msg,
		   "contains a control character (byte 2)"),
	   "MKDIR of a C1 control (CSI): refused");
	ok(refused(wire_mkdir(fd, dir, "x\xc0\xaf", NULL, msg), msg,
		   "is not valid UTF-8 (byte 1)"),
	   "MKDIR of an overlong '/': refused");
	ok(refused(call_symlink(fd, dir, BAD, msg), msg, BAD_LINE),
	   "SYMLINK's name: refused");

	if (wire_put_raw(fd, "hello", 5, &fp, msg) != 0)
		tap_bail("SEG_PUT: %s", msg);
	st = wire_commit(fd, dir, BAD, 5, 0, &fp, NULL, msg);
	ok(refused(st, msg, BAD_LINE), "COMMIT entry: refused, \"%s\"", msg);
	st = wire_commit(fd, dir, "caf\xc3\xa9", 5, 0, &fp, &file, msg);
	ok(st == 0, "COMMIT of a UTF-8 name (café) is fine");
	st = wire_mkdir(fd, dir, "\xe6\x97\xa5\xe6\x9c\xac", &sub, msg);
	ok(st == 0, "and MKDIR of one (日本)");

	ok(refused(call_link(fd, file, dir, BAD, msg), msg, BAD_LINE),
	   "LINK to a bad name: refused");
	ok(refused(call_rename(fd, dir, "caf\xc3\xa9", BAD, msg), msg,
		   BAD_LINE), "RENAME to a bad name: refused");
	ok(wire_lookup(fd, dir, "caf\xc3\xa9", NULL) == 0,
	   "and the file keeps its name");

	ok(refused(wire_su_create(fd, "su\x1b", &root, msg), msg, "only "
		   "letters"), "SU_CREATE of a bad name: refused");
	ok(refused(wire_backup_begin(fd, "su", "b\x1b", id, &root, msg), msg,
		   "only letters"), "BACKUP_BEGIN's name: refused");
}

static void test_finding(int fd, uint64_t dir)
{
	char msg[DDT_MAX_STR + 1];

	ok(wire_lookup(fd, dir, BAD, NULL) == DDT_ENOENT,
	   "LOOKUP of a bad name: DDT_ENOENT, as any missing name");
	ok(call_remove(fd, DDT_OP_UNLINK, dir, BAD, msg) == DDT_ENOENT,
	   "UNLINK of one: DDT_ENOENT");
	ok(call_remove(fd, DDT_OP_RMDIR, dir, BAD, msg) == DDT_ENOENT,
	   "RMDIR of one: DDT_ENOENT");
	ok(call_rename(fd, dir, BAD, "good", msg) == DDT_ENOENT,
	   "RENAME from one: DDT_ENOENT");
	ok(call_remove(fd, DDT_OP_UNLINK, dir, "a/b", msg) ==
	   DDT_ENAMETOOLONG, "but a '/' is refused there too");
}

int main(void)
{
	char *root;
	char msg[DDT_MAX_STR + 1] = "";
	test_daemon d;
	uint64_t dir;
	int fd;

	test_rule();
	test_escape();

	root = tap_tmpdir("names");
	daemon_start_in(&d, root);
	fd = wire_admin_login(&d);
	if (wire_su_create(fd, "su", &dir, msg))
		tap_bail("SU_CREATE: %s", msg);
	test_making(fd, dir);
	test_finding(fd, dir);
	ok(wire_status_key(fd, "sessions") >= 0,
	   "the session is still in use after every refusal");
	close(fd);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
