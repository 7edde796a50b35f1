/* test_immutable.c - a finished backup is immutable (PROTOCOL.md,
 * Backups): after BACKUP_END every operation that would change something
 * under it - COMMIT, SET_CONTENT, SETATTR, RENAME in, out, within and of
 * it, UNLINK, RMDIR, MKDIR, SYMLINK, LINK in and out, BACKUP_END with
 * other totals - fails DDT_EROFS with one line, for an admin as for a
 * user, and a restore reads what was written; only the whole backup is
 * removed. Then the retention lock's bound: a locked backup's expiry is
 * never "never", is extended only by an admin and only within
 * retention_max_days, and never shortened. Over a raw socket, so no
 * client check stands in front of the target's. */
#include "ddterr.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

#define NS_DAY	(86400LL * 1000000000LL)

static test_daemon d;

/* A complete backup of unit u: file f (data), directory sub, symlink s,
 * and a directory out beside it, with a file o. */
typedef struct frozen {
	uint64_t root, bino, file, sub, link, out, ofile;
	char id[DDT_MAX_STR + 1];
	fp_t fp, fp2;
	uint32_t len;
} frozen;

static frozen fz;
static const char data[] = "what the backup holds";
static const char other[] = "an attacker's payroll.txt";

static void make_frozen(int fd)
{
	char msg[DDT_MAX_STR + 1];
	wbuf p;

	fz.len = sizeof(data);
	if (wire_su_create(fd, "u", &fz.root, msg) ||
	    wire_put_raw(fd, data, sizeof(data), &fz.fp, msg) ||
	    wire_put_raw(fd, other, sizeof(other), &fz.fp2, msg) ||
	    wire_backup_begin(fd, "u", "nightly", fz.id, &fz.bino, msg) ||
	    wire_commit(fd, fz.bino, "f", fz.len, 0, &fz.fp, &fz.file, msg) ||
	    wire_mkdir(fd, fz.bino, "sub", &fz.sub, msg) ||
	    wire_mkdir(fd, fz.root, "out", &fz.out, msg) ||
	    wire_commit(fd, fz.out, "o", sizeof(other), 0, &fz.fp2,
			&fz.ofile, msg))
		tap_bail("fixture: %s", msg);
	wb_init(&p);
	wb_u64(&p, fz.bino);
	wb_str(&p, "s");
	wb_str(&p, "f");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 1);
	if (wire_call_ino(fd, DDT_OP_SYMLINK, &p, 0, &fz.link, msg))
		tap_bail("fixture symlink: %s", msg);
	wb_init(&p);
	wb_u64(&p, fz.bino);
	wb_u64(&p, 1);
	wb_u64(&p, fz.len);
	if (wire_call(fd, DDT_OP_BACKUP_END, &p, NULL, NULL, msg))
		tap_bail("fixture BACKUP_END: %s", msg);
	wb_free(&p);
}

/* ---- every mutating opcode ---- */

typedef struct mcase {
	const char *what;
	uint8_t op;
	void (*build)(wbuf *p);
} mcase;

static void m_commit_new(wbuf *p)
{
	wb_u64(p, fz.bino);
	wb_u32(p, DDT_CF_SYNC);
	wb_u32(p, 1);
	wire_entry(p, "payroll.txt", sizeof(other), 0, &fz.fp2);
}

static void m_commit_replace(wbuf *p)
{
	wb_u64(p, fz.bino);
	wb_u32(p, DDT_CF_SYNC);
	wb_u32(p, 1);
	wire_entry(p, "f", sizeof(other), 0, &fz.fp2);
}

static void m_set_content(wbuf *p)
{
	wb_u64(p, fz.file);
	wb_u32(p, DDT_CF_SYNC);
	wb_i64(p, 7);
	wb_u64(p, sizeof(other));
	wb_u8(p, 0);
	wb_fp(p, &fz.fp2);
}

static void setattr_of(wbuf *p, uint64_t ino)
{
	wb_u64(p, ino);
	wb_u32(p, DDT_SA_MODE | DDT_SA_MTIME);
	wb_u32(p, 0777);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 0);
	wb_i64(p, 99);
}

static void m_setattr_file(wbuf *p) { setattr_of(p, fz.file); }
static void m_setattr_dir(wbuf *p) { setattr_of(p, fz.sub); }
static void m_setattr_backup(wbuf *p) { setattr_of(p, fz.bino); }

static void rename_of(wbuf *p, uint64_t sd, const char *sn, uint64_t dd,
		      const char *dn)
{
	wb_u64(p, sd);
	wb_str(p, sn);
	wb_u64(p, dd);
	wb_str(p, dn);
}

static void m_rename_within(wbuf *p) { rename_of(p, fz.bino, "f", fz.bino, "g"); }
static void m_rename_out(wbuf *p) { rename_of(p, fz.bino, "f", fz.out, "f"); }
static void m_rename_in(wbuf *p) { rename_of(p, fz.out, "o", fz.bino, "o"); }
static void m_rename_over(wbuf *p) { rename_of(p, fz.out, "o", fz.bino, "f"); }

static void m_rename_backup(wbuf *p)
{
	rename_of(p, fz.root, fz.id, fz.root, "renamed");
}

static void m_unlink(wbuf *p) { wb_u64(p, fz.bino); wb_str(p, "f"); }
static void m_unlink_link(wbuf *p) { wb_u64(p, fz.bino); wb_str(p, "s"); }
static void m_rmdir(wbuf *p) { wb_u64(p, fz.bino); wb_str(p, "sub"); }

static void m_mkdir(wbuf *p)
{
	wb_u64(p, fz.sub);
	wb_str(p, "new");
	wb_u32(p, 0755);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 5);
}

static void m_symlink(wbuf *p)
{
	wb_u64(p, fz.bino);
	wb_str(p, "evil");
	wb_str(p, "/etc/shadow");
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 1);
}

static void m_link_in(wbuf *p)
{
	wb_u64(p, fz.ofile);
	wb_u64(p, fz.bino);
	wb_str(p, "o2");
}

static void m_link_out(wbuf *p)
{
	wb_u64(p, fz.file);
	wb_u64(p, fz.out);
	wb_str(p, "f2");
}

static void m_end_other(wbuf *p)
{
	wb_u64(p, fz.bino);
	wb_u64(p, 2);
	wb_u64(p, 2 * (uint64_t)fz.len);
}

static const mcase mcases[] = {
	{ "a new file", DDT_OP_COMMIT, m_commit_new },
	{ "a file replaced", DDT_OP_COMMIT, m_commit_replace },
	{ "new content", DDT_OP_SET_CONTENT, m_set_content },
	{ "a file's attributes", DDT_OP_SETATTR, m_setattr_file },
	{ "a directory's attributes", DDT_OP_SETATTR, m_setattr_dir },
	{ "the backup's attributes", DDT_OP_SETATTR, m_setattr_backup },
	{ "a rename within", DDT_OP_RENAME, m_rename_within },
	{ "a rename out", DDT_OP_RENAME, m_rename_out },
	{ "a rename in", DDT_OP_RENAME, m_rename_in },
	{ "a rename over a file", DDT_OP_RENAME, m_rename_over },
	{ "a rename of the backup", DDT_OP_RENAME, m_rename_backup },
	{ "a file removed", DDT_OP_UNLINK, m_unlink },
	{ "a symlink removed", DDT_OP_UNLINK, m_unlink_link },
	{ "a directory removed", DDT_OP_RMDIR, m_rmdir },
	{ "a directory made", DDT_OP_MKDIR, m_mkdir },
	{ "a symlink made", DDT_OP_SYMLINK, m_symlink },
	{ "a link in", DDT_OP_LINK, m_link_in },
	{ "a link out", DDT_OP_LINK, m_link_out },
	{ "other totals", DDT_OP_BACKUP_END, m_end_other },
};

static void try_all(int fd, const char *who)
{
	char msg[DDT_MAX_STR + 1];

	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		wbuf p;
		int st;

		wb_init(&p);
		mcases[i].build(&p);
		st = wire_call(fd, mcases[i].op, &p, NULL, NULL, msg);
		wb_free(&p);
		ok(st == DDT_EROFS && strstr(msg, fz.id) &&
		   strstr(msg, "is complete: nothing in it can change"),
		   "%s: %s (%s) is DDT_EROFS: %s", who,
		   ddt_op_name(mcases[i].op), mcases[i].what, msg);
	}
}

/* What a restore reads: the names and the bytes written, nothing else. */
static void check_whole(int fd)
{
	uint8_t *out = NULL;
	size_t len;
	uint64_t ino, size = 0;
	int st, same = 0;
	wbuf p;

	ok(wire_lookup(fd, fz.bino, "f", &ino) == 0 && ino == fz.file &&
	   wire_lookup(fd, fz.bino, "sub", &ino) == 0 &&
	   wire_lookup(fd, fz.bino, "s", &ino) == 0 &&
	   wire_lookup(fd, fz.bino, "payroll.txt", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fz.bino, "evil", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fz.bino, "o", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fz.out, "f2", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fz.root, fz.id, &ino) == 0,
	   "the backup holds its names, and no other");
	wb_init(&p);
	wb_u64(&p, fz.file);
	wb_u64(&p, 0);
	wb_u32(&p, 4096);
	st = wire_call(fd, DDT_OP_READ, &p, &out, &len, NULL);
	wb_free(&p);
	if (st == 0) {
		rbuf r;

		rb_init(&r, out, len);
		size = rb_u64(&r);
		same = memmem(out, len, data, sizeof(data)) != NULL &&
		       memmem(out, len, other, sizeof(other)) == NULL;
	}
	free(out);
	ok(st == 0 && size == fz.len && same,
	   "a READ of its file gives the bytes written");
}

/* An empty complete backup is not an empty directory to RMDIR. */
static void test_rmdir_backup(int fd)
{
	char msg[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	uint64_t ino;
	wbuf p;
	int st;

	if (wire_backup_begin(fd, "u", "empty", id, &ino, msg))
		tap_bail("BACKUP_BEGIN: %s", msg);
	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, 0);
	wb_u64(&p, 0);
	if (wire_call(fd, DDT_OP_BACKUP_END, &p, NULL, NULL, msg))
		tap_bail("BACKUP_END: %s", msg);
	wb_free(&p);
	wb_init(&p);
	wb_u64(&p, fz.root);
	wb_str(&p, id);
	st = wire_call(fd, DDT_OP_RMDIR, &p, NULL, NULL, msg);
	wb_free(&p);
	ok(st == DDT_EROFS && wire_lookup(fd, fz.root, id, &ino) == 0,
	   "RMDIR of an empty complete backup is DDT_EROFS, and it stays: "
	   "%s", msg);
}

static void test_ends(int fd)
{
	char msg[DDT_MAX_STR + 1];
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, fz.bino);
	wb_u64(&p, 1);
	wb_u64(&p, fz.len);
	st = wire_call(fd, DDT_OP_BACKUP_END, &p, NULL, NULL, msg);
	wb_free(&p);
	ok(st == 0, "BACKUP_END again with its own totals (a retry) is done "
	   "(%s)", msg);
	wb_init(&p);
	wb_str(&p, "u");
	wb_str(&p, fz.id);
	st = wire_call(fd, DDT_OP_BACKUP_DELETE, &p, NULL, NULL, msg);
	wb_free(&p);
	ok(st == 0, "the whole backup is removed (BACKUP_DELETE) (%s)", msg);
}

/* ---- the lock's bound ---- */

static int backup_set(int fd, const char *su, const char *id, int64_t exp,
		      char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, su);
	wb_str(&p, id);
	wb_i64(&p, exp);
	st = wire_call(fd, DDT_OP_BACKUP_SET, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static int begin_retain(int fd, const char *name, int64_t retain,
			char *id, uint64_t *ino, char *msg)
{
	uint8_t *out = NULL;
	size_t len;
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, "lk");
	wb_str(&p, name);
	wb_i64(&p, retain);
	st = wire_call(fd, DDT_OP_BACKUP_BEGIN, &p, &out, &len, msg);
	wb_free(&p);
	if (st == 0) {
		ddt_attr a;
		rbuf r;

		rb_init(&r, out, len);
		rb_str(&r, id, DDT_MAX_STR + 1);
		rb_attr(&r, &a);
		*ino = a.ino;
	}
	free(out);
	return st;
}

static void test_lock_bound(int admin, int user)
{
	char msg[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	uint64_t root, ino;
	int64_t now = (int64_t)time(NULL) * 1000000000LL;
	wbuf p;

	if (wire_su_create(admin, "lk", &root, msg))
		tap_bail("lk: %s", msg);
	wb_init(&p);
	wb_str(&p, "lk");
	wb_u32(&p, DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK);
	wb_u64(&p, 86400);
	wb_u8(&p, 1);
	wb_u64(&p, 0);
	if (wire_call(admin, DDT_OP_SU_SET, &p, NULL, NULL, msg))
		tap_bail("lock lk: %s", msg);
	wb_free(&p);
	ok(begin_retain(user, "forever", DDT_RETAIN_NEVER, id, &ino, msg) ==
	   DDT_EPERM && strstr(msg, "retention_max_days"),
	   "a locked unit takes no backup that never expires: %s", msg);
	ok(begin_retain(user, "far", 11 * 365 * 86400LL, id, &ino, msg) ==
	   DDT_EPERM, "nor one past retention_max_days (10 years here): %s",
	   msg);
	if (begin_retain(user, "day", 0, id, &ino, msg))
		tap_bail("BACKUP_BEGIN in lk: %s", msg);
	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, 0);
	wb_u64(&p, 0);
	if (wire_call(user, DDT_OP_BACKUP_END, &p, NULL, NULL, msg))
		tap_bail("BACKUP_END in lk: %s", msg);
	wb_free(&p);
	ok(backup_set(user, "lk", id, now + 30 * NS_DAY, msg) == DDT_EPERM &&
	   strstr(msg, "needs an admin user"),
	   "a user may not extend a locked backup's expiry: %s", msg);
	ok(backup_set(admin, "lk", id, 0, msg) == DDT_EPERM &&
	   strstr(msg, "not never"),
	   "an admin may not make it never expire: %s", msg);
	ok(backup_set(admin, "lk", id, now + 3660 * NS_DAY, msg) ==
	   DDT_EPERM, "nor extend it past retention_max_days: %s", msg);
	ok(backup_set(admin, "lk", id, now + 30 * NS_DAY, msg) == 0,
	   "an admin extends it by a month (%s)", msg);
	ok(backup_set(admin, "lk", id, now + 2 * NS_DAY, msg) == DDT_EPERM &&
	   strstr(msg, "retention lock"),
	   "and no one shortens it: %s", msg);
}

int main(void)
{
	char *root = tap_tmpdir("immutable");
	const char *top = getenv("top_builddir");
	char cmd[2048], msg[DDT_MAX_STR + 1];
	int admin, user;

	daemon_start_in(&d, root);
	daemon_stop(&d, SIGTERM);
	snprintf(cmd, sizeof(cmd), "echo bob-pw | %s/ddtargetd -s %s "
		 "--set-password bob --role user >/dev/null 2>>%s",
		 top ? top : ".", d.store, d.log);
	if (system(cmd) != 0)
		tap_bail("--set-password bob");
	daemon_start_again(&d);
	admin = wire_admin_login(&d);
	user = tcp_connect(d.port);
	if (user < 0 || wire_login(user, "bob", "bob-pw", msg))
		tap_bail("login as bob: %s", msg);
	make_frozen(admin);
	try_all(admin, "admin");
	try_all(user, "user");
	check_whole(admin);
	test_rmdir_backup(user);
	test_ends(user);
	test_lock_bound(admin, user);
	close(user);
	close(admin);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
