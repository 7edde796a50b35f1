/* test_setcontent.c - SET_CONTENT and COMMIT's DDT_CF_EXCL against a real
 * ddtargetd, by hand over a raw socket (PROTOCOL.md section 5): new content
 * by inode (through a rename and a hard link, the inode kept), and each
 * refusal: a missing segment, a tree that does not add up, an unknown
 * inode, a directory, a symlink, a quota, a retention lock, a short
 * payload; and the STATUS key that tells a client the target has them. */
#include "ddterr.h"
#include "tree.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

/* SET_CONTENT: the reply's status; *out (may be NULL) the attr. */
static int set_content(int fd, uint64_t ino, uint64_t size, uint8_t level,
		       const fp_t *root, int64_t mtime, ddt_attr *out,
		       char *msg)
{
	ddt_content k = { .ino = ino, .flags = DDT_CF_SYNC, .mtime = mtime,
			  .size = size, .level = level, .root = *root };
	uint8_t *rep = NULL;
	size_t len;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_content(&p, &k);
	st = wire_call(fd, DDT_OP_SET_CONTENT, &p, &rep, &len, msg);
	wb_free(&p);
	if (st == 0 && out) {
		rb_init(&r, rep, len);
		rb_attr(&r, out);
		if (rb_done(&r) < 0)
			st = -1;
	}
	free(rep);
	return st;
}

static int getattr(int fd, uint64_t ino, ddt_attr *a)
{
	uint8_t *rep = NULL;
	size_t len;
	wbuf p;
	rbuf r;
	int st;

	wb_init(&p);
	wb_u64(&p, ino);
	st = wire_call(fd, DDT_OP_GETATTR, &p, &rep, &len, NULL);
	wb_free(&p);
	if (st == 0) {
		rb_init(&r, rep, len);
		rb_attr(&r, a);
	}
	free(rep);
	return st;
}

/* LINK ino into dir as name: the status. */
static int link_file(int fd, uint64_t ino, uint64_t dir, const char *name)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, dir);
	wb_str(&p, name);
	st = wire_call(fd, DDT_OP_LINK, &p, NULL, NULL, NULL);
	wb_free(&p);
	return st;
}

static int rename_file(int fd, uint64_t dir, const char *from, const char *to)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, from);
	wb_u64(&p, dir);
	wb_str(&p, to);
	st = wire_call(fd, DDT_OP_RENAME, &p, NULL, NULL, NULL);
	wb_free(&p);
	return st;
}

static int su_set(int fd, const char *su, uint32_t mask, uint64_t ret,
		  int lock, uint64_t quota, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, su);
	wb_u32(&p, mask);
	wb_u64(&p, ret);
	wb_u8(&p, (uint8_t)lock);
	wb_u64(&p, quota);
	st = wire_call(fd, DDT_OP_SU_SET, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static void test_content(int fd, uint64_t dir)
{
	char msg[DDT_MAX_STR + 1] = "";
	fp_t old, neu, missing;
	uint64_t ino, ino2;
	ddt_attr a, b;
	int st;

	if (wire_put_raw(fd, "old content", 11, &old, msg) ||
	    wire_put_raw(fd, "new content, longer", 19, &neu, msg) ||
	    wire_commit(fd, dir, "f", 11, 0, &old, &ino, msg))
		tap_bail("setup: %s", msg);
	ok(rename_file(fd, dir, "f", "g") == 0 &&
	   link_file(fd, ino, dir, "h") == 0, "the file is renamed and linked");
	st = set_content(fd, ino, 19, 0, &neu, 12345, &a, msg);
	ok(st == 0 && a.ino == ino && a.size == 19 && a.mtime == 12345 &&
	   fp_equal(&a.root, &neu) && a.mode == 0644,
	   "SET_CONTENT gives inode %llu new content, mtime as asked, mode "
	   "kept: %s", (unsigned long long)ino, st ? msg : "ok");
	ok(wire_lookup(fd, dir, "h", &ino2) == 0 && ino2 == ino &&
	   getattr(fd, ino, &b) == 0 && b.size == 19 &&
	   fp_equal(&b.root, &neu), "both names see it, the same inode");
	st = set_content(fd, ino, 11, 0, &old, 0, &a, msg);
	ok(st == 0 && a.mtime > 12345, "mtime 0 is the target's clock");

	missing = neu;
	missing.b[0] ^= 0x55;
	st = set_content(fd, ino, 19, 0, &missing, 0, NULL, msg);
	ok(st == DDT_ENOENT && strstr(msg, "segment"),
	   "a missing segment is DDT_ENOENT: %s", msg);
	st = set_content(fd, ino, 20, 0, &neu, 0, NULL, msg);
	ok(st == DDT_EINVAL, "a size that is not the tree's is DDT_EINVAL: %s",
	   msg);
	ok(getattr(fd, ino, &b) == 0 && b.size == 11 && fp_equal(&b.root, &old),
	   "and the refused ones changed nothing");
	st = set_content(fd, 987654321, 19, 0, &neu, 0, NULL, msg);
	ok(st == DDT_ENOENT, "an unknown inode is DDT_ENOENT: %s", msg);
	st = set_content(fd, dir, 19, 0, &neu, 0, NULL, msg);
	ok(st == DDT_EISDIR, "a directory is DDT_EISDIR: %s", msg);

	st = wire_commit_flags(fd, dir, "g", DDT_CF_SYNC | DDT_CF_EXCL, 19, 0,
			       &neu, NULL, msg);
	ok(st == DDT_EEXIST && getattr(fd, ino, &b) == 0 && b.size == 11,
	   "COMMIT with DDT_CF_EXCL over an existing name is DDT_EEXIST, "
	   "nothing replaced: %s", msg);
	st = wire_commit_flags(fd, dir, "new", DDT_CF_EXCL, 19, 0, &neu, &ino2,
			       msg);
	ok(st == 0 && ino2 != ino, "and makes a new name: %s",
	   st ? msg : "ok");
	st = wire_commit_flags(fd, dir, "g", DDT_CF_SYNC, 19, 0, &neu, &ino2,
			       msg);
	ok(st == 0 && ino2 == ino, "without it the file is replaced in place");
}

static void test_symlink(int fd, uint64_t dir)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t *rep = NULL;
	size_t len;
	ddt_attr a;
	wbuf p;
	rbuf r;
	int st;
	fp_t f;

	wb_init(&p);
	wb_u64(&p, dir);
	wb_str(&p, "sl");
	wb_str(&p, "target");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 1);
	st = wire_call(fd, DDT_OP_SYMLINK, &p, &rep, &len, msg);
	wb_free(&p);
	if (st)
		tap_bail("SYMLINK: %s", msg);
	rb_init(&r, rep, len);
	rb_attr(&r, &a);
	free(rep);
	if (wire_put_raw(fd, "x", 1, &f, msg))
		tap_bail("SEG_PUT: %s", msg);
	st = set_content(fd, a.ino, 1, 0, &f, 0, NULL, msg);
	ok(st == DDT_EINVAL, "a symbolic link is DDT_EINVAL: %s", msg);
}

static void test_quota(int fd)
{
	char msg[DDT_MAX_STR + 1] = "";
	uint8_t big[4000];
	uint64_t dir, ino;
	fp_t small, large;
	int st;

	memset(big, 'q', sizeof(big));
	if (wire_su_create(fd, "quota", &dir, msg) ||
	    wire_put_raw(fd, big, 100, &small, msg) ||
	    wire_put_raw(fd, big, sizeof(big), &large, msg) ||
	    wire_commit(fd, dir, "f", 100, 0, &small, &ino, msg) ||
	    su_set(fd, "quota", DDT_SU_SET_QUOTA, 0, 0, 1000, msg))
		tap_bail("setup: %s", msg);
	st = set_content(fd, ino, sizeof(big), 0, &large, 0, NULL, msg);
	ok(st == DDT_EDQUOT, "growing past the quota is DDT_EDQUOT: %s", msg);
	st = set_content(fd, ino, 100, 0, &small, 0, NULL, msg);
	ok(st == 0, "staying under it is fine");
}

static void test_locked(int fd)
{
	char msg[DDT_MAX_STR + 1] = "", id[DDT_MAX_STR + 1];
	uint8_t *rep = NULL;
	uint64_t root, bdir, ino;
	size_t len;
	ddt_attr a;
	fp_t f, g;
	wbuf p;
	rbuf r;
	int st;

	if (wire_su_create(fd, "locked", &root, msg) ||
	    su_set(fd, "locked", DDT_SU_SET_RETENTION, 3600, 0, 0, msg))
		tap_bail("setup: %s", msg);
	wb_init(&p);
	wb_str(&p, "locked");
	wb_str(&p, "b");
	wb_i64(&p, DDT_RETAIN_DEFAULT);
	st = wire_call(fd, DDT_OP_BACKUP_BEGIN, &p, &rep, &len, msg);
	if (st)
		tap_bail("BACKUP_BEGIN: %s", msg);
	rb_init(&r, rep, len);
	rb_str(&r, id, sizeof(id));
	rb_attr(&r, &a);
	bdir = a.ino;
	free(rep);
	if (wire_put_raw(fd, "kept", 4, &f, msg) ||
	    wire_put_raw(fd, "changed", 7, &g, msg) ||
	    wire_commit(fd, bdir, "f", 4, 0, &f, &ino, msg))
		tap_bail("setup: %s", msg);
	wb_reset(&p);
	wb_u64(&p, bdir);
	wb_u64(&p, 1);
	wb_u64(&p, 4);
	st = wire_call(fd, DDT_OP_BACKUP_END, &p, NULL, NULL, msg);
	wb_free(&p);
	if (st || su_set(fd, "locked", DDT_SU_SET_LOCK, 0, 1, 0, msg))
		tap_bail("locking: %s", msg);
	st = set_content(fd, ino, 7, 0, &g, 0, NULL, msg);
	ok(st == DDT_EPERM && strstr(msg, "retention lock"),
	   "a file in a locked backup is DDT_EPERM: %s", msg);
	ok(getattr(fd, ino, &a) == 0 && a.size == 4, "and keeps its content");
}

static void test_malformed(const test_daemon *d)
{
	int fd = wire_admin_login(d);
	wbuf p;

	wb_init(&p);
	wb_u64(&p, 2);
	wb_u32(&p, 0);		/* the rest is missing */
	ok(wire_send(fd, DDT_OP_SET_CONTENT, 0, 5, 0, &p) == 0 &&
	   wire_expect_eproto(fd), "a short SET_CONTENT is DDT_EPROTO, the "
	   "session closed");
	wb_free(&p);
}

int main(void)
{
	char *root = tap_tmpdir("setcontent");
	char msg[DDT_MAX_STR + 1] = "";
	test_daemon d;
	uint64_t dir;
	int fd;

	daemon_start_in(&d, root);
	fd = wire_admin_login(&d);
	ok(wire_status_key(fd, "proto_set_content") == 1,
	   "STATUS says the target takes SET_CONTENT");
	if (wire_su_create(fd, "su", &dir, msg))
		tap_bail("SU_CREATE: %s", msg);
	test_content(fd, dir);
	test_symlink(fd, dir);
	test_quota(fd);
	test_locked(fd);
	close(fd);
	test_malformed(&d);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
