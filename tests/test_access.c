/* test_access.c - who may do what (PROTOCOL.md, Users and roles), over a
 * raw socket so no client check stands in front of the target's: every
 * access level (status, backup, restore, user, admin) sends every opcode,
 * each request one that would succeed, and each is answered as the
 * protocol's table says: done (status 0), or refused with its code and a
 * line naming what the level lacks, nothing changed, the session going on.
 * Then domains: an admin of one domain sends every opcode that names a
 * unit, an inode or a backup at another domain's unit, and each answers
 * DDT_ENOENT as for one that does not exist, nothing read or changed;
 * listings show each user its domain's units only. */
#include "ddterr.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

static test_daemon d;

/* ---- users ---- */

/* ddtargetd --set-password name --role level, the daemon stopped. */
static void add_user(const char *name, const char *level, const char *extra)
{
	const char *top = getenv("top_builddir");
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "echo %s-pw | %s/ddtargetd -s %s "
		 "--set-password %s --role %s %s >/dev/null 2>>%s", name,
		 top ? top : ".", d.store, name, level, extra ? extra : "",
		 d.log);
	if (system(cmd) != 0)
		tap_bail("%s failed (log: %s)", cmd, d.log);
}

static int login_as(const char *name)
{
	char pw[128], msg[DDT_MAX_STR + 1];
	int fd = tcp_connect(d.port);

	snprintf(pw, sizeof(pw), "%s-pw", name);
	if (fd < 0 || wire_login(fd, name, pw, msg) != 0)
		tap_bail("login as %s: %s", name, msg);
	return fd;
}

/* ---- what the admin sets up ---- */

typedef struct fixture {
	uint64_t root;		/* unit u1's root */
	uint64_t file, link;	/* a file and a symlink in u1's root */
	fp_t fp;		/* the file's only segment */
	uint64_t play[6];	/* per level: dir with file x, empty dir e */
} fixture;

static fixture fx;

static const char *const levels[] = {
	NULL, "user", "admin", "status", "backup", "restore",
};

static void make_fixture(int fd)
{
	char msg[DDT_MAX_STR + 1];
	static const char data[] = "fixture bytes";
	uint64_t ino;
	wbuf p;

	if (wire_su_create(fd, "u1", &fx.root, msg) ||
	    wire_put_raw(fd, data, sizeof(data), &fx.fp, msg) ||
	    wire_commit(fd, fx.root, "fix", sizeof(data), 0, &fx.fp,
			&fx.file, msg))
		tap_bail("fixture: %s", msg);
	wb_init(&p);
	wb_u64(&p, fx.root);
	wb_str(&p, "lnk");
	wb_str(&p, "fix");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 1);
	if (wire_call_ino(fd, DDT_OP_SYMLINK, &p, 0, &fx.link, msg))
		tap_bail("fixture symlink: %s", msg);
	for (int l = 1; l <= 5; l++) {
		char name[32];

		snprintf(name, sizeof(name), "play-%s", levels[l]);
		if (wire_mkdir(fd, fx.root, name, &fx.play[l], msg) ||
		    wire_commit(fd, fx.play[l], "x", sizeof(data), 0, &fx.fp,
				NULL, msg) ||
		    wire_mkdir(fd, fx.play[l], "e", &ino, msg))
			tap_bail("fixture %s: %s", name, msg);
	}
}

/* ---- each level against each opcode ---- */

/* What one level's run keeps between its requests. */
typedef struct ctx {
	int level;
	const char *name;	/* the level's name */
	char data[64];		/* its own file content */
	uint32_t len;
	fp_t fp;
	char id[DDT_MAX_STR + 1];	/* its backup */
	uint64_t bino, fino;
} ctx;

/* The protocol's classes of operation (PROTOCOL.md, Users and roles). */
enum { FIG, BROWSE, READ, WRITE, REMOVE, ADMIN, SELF };

typedef struct opcase {
	uint8_t op;
	int cls;
	void (*build)(ctx *c, wbuf *p);
	void (*took)(ctx *c, rbuf *r);	/* a success's reply */
} opcase;

static void b_none(ctx *c, wbuf *p) { (void)c; (void)p; }
static void b_u64_0(ctx *c, wbuf *p) { (void)c; wb_u64(p, 0); }
static void b_su(ctx *c, wbuf *p) { (void)c; wb_str(p, "u1"); }

static void b_lookup(ctx *c, wbuf *p)
{
	(void)c;
	wb_u64(p, fx.root);
	wb_str(p, "fix");
}

static void b_file(ctx *c, wbuf *p) { (void)c; wb_u64(p, fx.file); }
static void b_link(ctx *c, wbuf *p) { (void)c; wb_u64(p, fx.link); }

static void b_readdir(ctx *c, wbuf *p)
{
	(void)c;
	wb_u64(p, fx.root);
	wb_str(p, "");
	wb_u32(p, 10);
}

static void b_read(ctx *c, wbuf *p)
{
	(void)c;
	wb_u64(p, fx.file);
	wb_u64(p, 0);
	wb_u32(p, 100);
}

static void b_read_files(ctx *c, wbuf *p)
{
	(void)c;
	wb_u32(p, 1);
	wb_u64(p, fx.file);
}

static void b_seg_get(ctx *c, wbuf *p)
{
	(void)c;
	wb_u32(p, 1);
	wb_fp(p, &fx.fp);
}

static void b_fp_query(ctx *c, wbuf *p)
{
	wb_u32(p, 1);
	wb_fp(p, &c->fp);
}

static void b_seg_put(ctx *c, wbuf *p)
{
	wb_u32(p, 1);
	wb_fp(p, &c->fp);
	wb_u8(p, 0);
	wb_u32(p, c->len);
	wb_u32(p, c->len);
	wb_bytes(p, c->data, c->len);
}

static void b_begin(ctx *c, wbuf *p)
{
	char name[32];

	snprintf(name, sizeof(name), "b-%s", c->name);
	wb_str(p, "u1");
	wb_str(p, name);
	wb_i64(p, DDT_RETAIN_NEVER);
}

static void t_begin(ctx *c, rbuf *r)
{
	ddt_attr a;

	rb_str(r, c->id, sizeof(c->id));
	rb_attr(r, &a);
	c->bino = a.ino;
}

static void b_mkdir(ctx *c, wbuf *p)
{
	wb_u64(p, c->bino);
	wb_str(p, "d");
	wb_u32(p, 0755);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 5);
}

static void b_commit(ctx *c, wbuf *p)
{
	wb_u64(p, c->bino);
	wb_u32(p, DDT_CF_SYNC);
	wb_u32(p, 1);
	wire_entry(p, "f", c->len, 0, &c->fp);
}

static void t_commit(ctx *c, rbuf *r)
{
	ddt_attr a;

	(void)rb_u32(r);
	rb_attr(r, &a);
	c->fino = a.ino;
}

static void b_set_content(ctx *c, wbuf *p)
{
	wb_u64(p, c->fino);
	wb_u32(p, DDT_CF_SYNC);
	wb_i64(p, 7);
	wb_u64(p, c->len);
	wb_u8(p, 0);
	wb_fp(p, &c->fp);
}

static void b_symlink(ctx *c, wbuf *p)
{
	wb_u64(p, c->bino);
	wb_str(p, "s");
	wb_str(p, "f");
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 1);
}

static void b_link_op(ctx *c, wbuf *p)
{
	wb_u64(p, c->fino);
	wb_u64(p, c->bino);
	wb_str(p, "f2");
}

static void b_setattr(ctx *c, wbuf *p)
{
	wb_u64(p, c->fino);
	wb_u32(p, DDT_SA_MTIME);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 0);
	wb_i64(p, 9);
}

static void b_end(ctx *c, wbuf *p)
{
	wb_u64(p, c->bino);
	wb_u64(p, 2);
	wb_u64(p, 2 * (uint64_t)c->len);
}

static void b_rename(ctx *c, wbuf *p)
{
	wb_u64(p, fx.play[c->level]);
	wb_str(p, "x");
	wb_u64(p, fx.play[c->level]);
	wb_str(p, "y");
}

static void b_unlink(ctx *c, wbuf *p)
{
	wb_u64(p, fx.play[c->level]);
	wb_str(p, "y");
}

static void b_rmdir(ctx *c, wbuf *p)
{
	wb_u64(p, fx.play[c->level]);
	wb_str(p, "e");
}

static void b_backup_set(ctx *c, wbuf *p)
{
	wb_str(p, "u1");
	wb_str(p, c->id);
	wb_i64(p, 0);
}

static void b_backup_delete(ctx *c, wbuf *p)
{
	wb_str(p, "u1");
	wb_str(p, c->id);
}

static void b_expire(ctx *c, wbuf *p)
{
	(void)c;
	wb_str(p, "u1");
	wb_u8(p, 1);
}

static void su_name(ctx *c, wbuf *p)
{
	char name[32];

	snprintf(name, sizeof(name), "su-%s", c->name);
	wb_str(p, name);
}

static void b_su_set(ctx *c, wbuf *p)
{
	su_name(c, p);
	wb_u32(p, DDT_SU_SET_RETENTION);
	wb_u64(p, 3600);
	wb_u8(p, 0);
	wb_u64(p, 0);
}

static void b_su_delete(ctx *c, wbuf *p)
{
	su_name(c, p);
	wb_u8(p, 0);
}

static void b_scrub(ctx *c, wbuf *p) { (void)c; wb_u8(p, 0); }

static void user_name(ctx *c, wbuf *p)
{
	char name[32];

	snprintf(name, sizeof(name), "u-%s", c->name);
	wb_str(p, name);
}

static void b_user_add(ctx *c, wbuf *p)
{
	user_name(c, p);
	wb_str(p, "pw");
	wb_u8(p, DDT_ROLE_RESTORE);
	wb_str(p, "");
}

/* Its own password, set to what it is: the login stays good. */
static void b_user_passwd(ctx *c, wbuf *p)
{
	char pw[sizeof(d.password)];

	if (c->level == 2)
		snprintf(pw, sizeof(pw), "%s", d.password);
	else
		snprintf(pw, sizeof(pw), "%s-pw", c->name);
	wb_str(p, c->name);
	wb_u32(p, DDT_USER_SET_PASSWORD);
	wb_str(p, pw);
	wb_u8(p, 0);
	wb_str(p, "");
}

/* In this order: each level's backup is begun, filled, ended, then
 * removed. */
static const opcase cases[] = {
	{ DDT_OP_STATUS, FIG, b_none, NULL },
	{ DDT_OP_STATUS_TEXT, FIG, b_none, NULL },
	{ DDT_OP_SU_LIST, FIG, b_none, NULL },
	{ DDT_OP_SU_STATS, FIG, b_none, NULL },
	{ DDT_OP_STREAMS, FIG, b_none, NULL },
	{ DDT_OP_ALERTS, FIG, b_none, NULL },
	{ DDT_OP_ALERT_EVENTS, FIG, b_u64_0, NULL },
	{ DDT_OP_CLEAN_STATUS, FIG, b_none, NULL },
	{ DDT_OP_SCRUB_STATUS, FIG, b_none, NULL },
	{ DDT_OP_CHECKPOINT_LIST, FIG, b_none, NULL },
	{ DDT_OP_BACKUP_LIST, FIG, b_su, NULL },
	{ DDT_OP_SU_OPEN, BROWSE, b_su, NULL },
	{ DDT_OP_LOOKUP, BROWSE, b_lookup, NULL },
	{ DDT_OP_GETATTR, BROWSE, b_file, NULL },
	{ DDT_OP_READDIR, BROWSE, b_readdir, NULL },
	{ DDT_OP_READLINK, READ, b_link, NULL },
	{ DDT_OP_READ, READ, b_read, NULL },
	{ DDT_OP_SEG_GET, READ, b_seg_get, NULL },
	{ DDT_OP_READ_FILES, READ, b_read_files, NULL },
	{ DDT_OP_FP_QUERY, WRITE, b_fp_query, NULL },
	{ DDT_OP_SEG_PUT, WRITE, b_seg_put, NULL },
	{ DDT_OP_BACKUP_BEGIN, WRITE, b_begin, t_begin },
	{ DDT_OP_MKDIR, WRITE, b_mkdir, NULL },
	{ DDT_OP_COMMIT, WRITE, b_commit, t_commit },
	{ DDT_OP_SET_CONTENT, WRITE, b_set_content, NULL },
	{ DDT_OP_SYMLINK, WRITE, b_symlink, NULL },
	{ DDT_OP_LINK, WRITE, b_link_op, NULL },
	{ DDT_OP_SETATTR, WRITE, b_setattr, NULL },
	{ DDT_OP_BACKUP_END, WRITE, b_end, NULL },
	{ DDT_OP_RENAME, REMOVE, b_rename, NULL },
	{ DDT_OP_UNLINK, REMOVE, b_unlink, NULL },
	{ DDT_OP_RMDIR, REMOVE, b_rmdir, NULL },
	{ DDT_OP_BACKUP_SET, REMOVE, b_backup_set, NULL },
	{ DDT_OP_BACKUP_DELETE, REMOVE, b_backup_delete, NULL },
	{ DDT_OP_EXPIRE, REMOVE, b_expire, NULL },
	{ DDT_OP_SU_CREATE, ADMIN, su_name, NULL },
	{ DDT_OP_SU_SET, ADMIN, b_su_set, NULL },
	{ DDT_OP_SU_DELETE, ADMIN, b_su_delete, NULL },
	{ DDT_OP_CHECKPOINT, ADMIN, b_none, NULL },
	{ DDT_OP_CLEAN_START, ADMIN, b_none, NULL },
	{ DDT_OP_SCRUB_START, ADMIN, b_scrub, NULL },
	{ DDT_OP_USER_ADD, ADMIN, b_user_add, NULL },
	{ DDT_OP_USER_LIST, ADMIN, b_none, NULL },
	{ DDT_OP_USER_DELETE, ADMIN, user_name, NULL },
	{ DDT_OP_USER_SET, SELF, b_user_passwd, NULL },
};

/* The protocol's table, written out here on its own: 0, or the code of
 * the refusal and a piece of its line. */
static int expected(int level, int cls, const char **why)
{
	static const int may[6][7] = {
		/* FIG BROWSE READ WRITE REMOVE ADMIN SELF */
		[1] = { 1, 1, 1, 1, 1, 0, 1 },	/* user */
		[2] = { 1, 1, 1, 1, 1, 1, 1 },	/* admin */
		[3] = { 1, 0, 0, 0, 0, 0, 1 },	/* status */
		[4] = { 1, 1, 0, 1, 0, 0, 1 },	/* backup */
		[5] = { 1, 1, 1, 0, 0, 0, 1 },	/* restore */
	};

	if (may[level][cls])
		return 0;
	if (level == 3) {
		*why = "may only read the target's status";
		return DDT_EACCES;
	}
	if (cls == ADMIN) {
		*why = "needs an admin user";
		return DDT_EPERM;
	}
	*why = level == 4 ? "has the backup level" : "has the restore level";
	return DDT_EACCES;
}

static void run_case(int fd, ctx *c, const opcase *oc)
{
	char msg[DDT_MAX_STR + 1];
	const char *why = "";
	int want = expected(c->level, oc->cls, &why), st;
	uint8_t *out = NULL;
	size_t len = 0;
	wbuf p;

	/* A backup user removes only what it has not ended. */
	if (oc->op == DDT_OP_BACKUP_DELETE && c->level == 4) {
		want = DDT_EACCES;
		why = "may remove only a backup it has not ended";
	}
	wb_init(&p);
	oc->build(c, &p);
	st = wire_call(fd, oc->op, &p, &out, &len, msg);
	wb_free(&p);
	if (want == 0)
		ok(st == 0, "%s: %s is done (%d %s)", c->name,
		   ddt_op_name(oc->op), st, msg);
	else
		ok(st == want && strstr(msg, why) && strstr(msg, c->name),
		   "%s: %s is refused %s: %s", c->name, ddt_op_name(oc->op),
		   ddt_err_name((uint32_t)want), msg);
	if (st == 0 && oc->took) {
		rbuf r;

		rb_init(&r, out, len);
		oc->took(c, &r);
	}
	free(out);
}

static void run_level(int level)
{
	ctx c = { .level = level, .name = levels[level] };
	int fd;

	c.len = (uint32_t)snprintf(c.data, sizeof(c.data), "content of %s",
				   c.name);
	fp_compute(&c.fp, c.data, c.len);
	fd = level == 2 ? wire_admin_login(&d) : login_as(c.name);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(fd, &c, &cases[i]);
	ok(wire_status_key(fd, "sessions") >= 0,
	   "%s: the session goes on after its refusals", c.name);
	close(fd);
}

/* What a refusal left: the names the refused levels would have changed
 * are as they were. */
static void check_untouched(int fd)
{
	uint64_t ino;

	for (int l = 3; l <= 5; l++) {
		char name[32];

		ok(wire_lookup(fd, fx.play[l], "x", &ino) == 0 &&
		   wire_lookup(fd, fx.play[l], "e", &ino) == 0 &&
		   wire_lookup(fd, fx.play[l], "y", &ino) == DDT_ENOENT,
		   "%s: its refused RENAME, UNLINK and RMDIR changed nothing",
		   levels[l]);
		snprintf(name, sizeof(name), "su-%s", levels[l]);
		ok(wire_su_open(fd, name, &ino, NULL) == DDT_ENOENT,
		   "%s: its refused SU_CREATE made no unit", levels[l]);
	}
	ok(wire_lookup(fd, fx.root, "b-status", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fx.root, "b-restore", &ino) == DDT_ENOENT,
	   "status and restore began no backup");
}

/* A backup user's half-made backup is its to remove. */
static void test_backup_drops_partial(void)
{
	char id[DDT_MAX_STR + 1], msg[DDT_MAX_STR + 1];
	int fd = login_as("backup");
	uint64_t ino;
	wbuf p;
	int st;

	if (wire_backup_begin(fd, "u1", "half", id, &ino, msg))
		tap_bail("backup: BACKUP_BEGIN: %s", msg);
	wb_init(&p);
	wb_str(&p, "u1");
	wb_str(&p, id);
	st = wire_call(fd, DDT_OP_BACKUP_DELETE, &p, NULL, NULL, msg);
	wb_free(&p);
	ok(st == 0, "backup: BACKUP_DELETE of its unfinished backup is done "
	   "(%d %s)", st, msg);
	close(fd);
}


/* ---- domains ---- */

typedef struct foreign {
	uint64_t root, file, link, dir, bino, own;
	char id[DDT_MAX_STR + 1];
	fp_t fp;
} foreign;

static foreign fg;

/* SU_CREATE of name in domain (NULL: as the old request, no domain). */
static int su_create_in(int fd, const char *name, const char *domain,
			uint64_t *root, char *msg)
{
	return wire_su_call_in(fd, DDT_OP_SU_CREATE, name, domain, root, msg);
}

/* Unit acme1 of domain acme, made by the system admin: a file, a symlink,
 * a directory and a complete backup. */
static void make_foreign(int fd)
{
	static const char data[] = "acme's payroll";
	char msg[DDT_MAX_STR + 1];
	wbuf p;

	if (su_create_in(fd, "acme1", "acme", &fg.root, msg) ||
	    wire_put_raw(fd, data, sizeof(data), &fg.fp, msg) ||
	    wire_commit(fd, fg.root, "pay", sizeof(data), 0, &fg.fp,
			&fg.file, msg) ||
	    wire_mkdir(fd, fg.root, "dir", &fg.dir, msg) ||
	    wire_backup_begin(fd, "acme1", "full", fg.id, &fg.bino, msg))
		tap_bail("acme1: %s", msg);
	wb_init(&p);
	wb_u64(&p, fg.root);
	wb_str(&p, "lnk");
	wb_str(&p, "pay");
	wb_u32(&p, 0);
	wb_u32(&p, 0);
	wb_i64(&p, 1);
	if (wire_call_ino(fd, DDT_OP_SYMLINK, &p, 0, &fg.link, msg))
		tap_bail("acme1 symlink: %s", msg);
	wb_init(&p);
	wb_u64(&p, fg.bino);
	wb_u64(&p, 0);
	wb_u64(&p, 0);
	if (wire_call(fd, DDT_OP_BACKUP_END, &p, NULL, NULL, msg))
		tap_bail("acme1 BACKUP_END: %s", msg);
	wb_free(&p);
}

/* FP_QUERY of one fingerprint: 1 held, 0 not, -1 on an error. */
static int held(int fd, const fp_t *fp)
{
	char msg[DDT_MAX_STR + 1];
	uint8_t *out = NULL;
	size_t len = 0;
	int st, h = -1;

	st = wire_fp_call(fd, DDT_OP_FP_QUERY, fp, 1, &out, &len, msg);
	if (st == 0 && len >= 5)
		h = out[4] & 1;
	free(out);
	return h;
}

/* Dedup without a side channel (issue 15 item 5): beta's admin knows the
 * bytes of acme's file, and its fingerprint. */
static void test_side_channel(int sysfd)
{
	static const char data[] = "acme's payroll";
	char forged[sizeof(data)], msg[DDT_MAX_STR + 1];
	uint64_t stored, ino;
	uint8_t *out = NULL;
	size_t len;
	fp_t own;
	wbuf p;
	int fd = login_as("badm"), afd, st;

	ok(held(sysfd, &fg.fp) == 1, "the system admin's FP_QUERY finds "
	   "acme's segment (the system domain sees all)");
	ok(held(fd, &fg.fp) == 0, "beta's FP_QUERY of acme's segment: not "
	   "held");
	st = wire_fp_call(fd, DDT_OP_SEG_GET, &fg.fp, 1, NULL, NULL, msg);
	ok(st == DDT_ENOENT && strstr(msg, "is not on the target"),
	   "beta's SEG_GET of it: DDT_ENOENT as for none: %s", msg);
	st = wire_commit(fd, fg.own, "borrowed", sizeof(data), 0, &fg.fp,
			 &ino, msg);
	ok(st == DDT_ENOENT && strstr(msg, "is not on the target"),
	   "beta's COMMIT naming it, unsent: DDT_ENOENT, send it first: %s",
	   msg);
	memset(forged, 'x', sizeof(forged));
	st = wire_seg_put(fd, &fg.fp, 0, sizeof(forged), forged,
			  sizeof(forged), msg);
	ok(st != 0 && held(fd, &fg.fp) == 0, "a SEG_PUT of other bytes "
	   "under its fingerprint is refused (%d: %s), and proves nothing",
	   st, msg);
	stored = (uint64_t)wire_status_key(sysfd, "stored_bytes");
	wb_init(&p);
	wb_u32(&p, 1);
	wb_fp(&p, &fg.fp);
	wb_u8(&p, 0);
	wb_u32(&p, sizeof(data));
	wb_u32(&p, sizeof(data));
	wb_bytes(&p, data, sizeof(data));
	st = wire_call(fd, DDT_OP_SEG_PUT, &p, &out, &len, msg);
	wb_free(&p);
	ok(st == 0 && len == 4 && out[0] == 0,
	   "beta sends the bytes: taken, and none stored anew (new = %d)",
	   st == 0 && len == 4 ? out[0] : -1);
	free(out);
	ok((uint64_t)wire_status_key(sysfd, "stored_bytes") == stored,
	   "the target stores them once (dedup on the target)");
	ok(held(fd, &fg.fp) == 1, "now beta's FP_QUERY says held");
	st = wire_commit(fd, fg.own, "proved", sizeof(data), 0, &fg.fp,
			 &ino, msg);
	ok(st == 0, "and its COMMIT naming it binds: %s", msg);
	if (wire_put_raw(fd, "beta's own", 11, &own, msg))
		tap_bail("beta's own: %s", msg);
	afd = login_as("ann");
	ok(held(afd, &fg.fp) == 1, "acme's user holds what the system admin "
	   "committed into acme's unit");
	ok(held(afd, &own) == 0 && held(sysfd, &own) == 1,
	   "beta's own segment: not to acme's user, found by the system "
	   "admin");
	close(afd);
	close(fd);
}

typedef struct xcase {
	uint8_t op;
	void (*build)(wbuf *p);
	int by_unit;		/* refused as no unit, else as no inode */
} xcase;

static void x_su(wbuf *p) { wb_str(p, "acme1"); }
static void x_su_delete(wbuf *p) { x_su(p); wb_u8(p, 1); }

static void x_su_set(wbuf *p)
{
	x_su(p);
	wb_u32(p, DDT_SU_SET_QUOTA);
	wb_u64(p, 0);
	wb_u8(p, 0);
	wb_u64(p, 1);
}

static void x_begin(wbuf *p) { x_su(p); wb_str(p, "evil"); wb_i64(p, 0); }
static void x_backup(wbuf *p) { x_su(p); wb_str(p, fg.id); }
static void x_backup_set(wbuf *p) { x_backup(p); wb_i64(p, 1); }
static void x_expire(wbuf *p) { x_su(p); wb_u8(p, 0); }

static void x_end(wbuf *p)
{
	wb_u64(p, fg.bino);
	wb_u64(p, 0);
	wb_u64(p, 0);
}

static void x_lookup(wbuf *p) { wb_u64(p, fg.root); wb_str(p, "pay"); }
static void x_file(wbuf *p) { wb_u64(p, fg.file); }
static void x_link(wbuf *p) { wb_u64(p, fg.link); }

static void x_mkdir(wbuf *p)
{
	wb_u64(p, fg.root);
	wb_str(p, "evil");
	wb_u32(p, 0755);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 5);
}

static void x_readdir(wbuf *p)
{
	wb_u64(p, fg.root);
	wb_str(p, "");
	wb_u32(p, 10);
}

static void x_rename(wbuf *p)
{
	wb_u64(p, fg.root);
	wb_str(p, "pay");
	wb_u64(p, fg.root);
	wb_str(p, "evil");
}

static void x_unlink(wbuf *p) { wb_u64(p, fg.root); wb_str(p, "pay"); }
static void x_rmdir(wbuf *p) { wb_u64(p, fg.root); wb_str(p, "dir"); }

static void x_setattr(wbuf *p)
{
	wb_u64(p, fg.file);
	wb_u32(p, DDT_SA_MODE);
	wb_u32(p, 0777);
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 0);
	wb_i64(p, 0);
}

static void x_symlink(wbuf *p)
{
	wb_u64(p, fg.root);
	wb_str(p, "evil");
	wb_str(p, "pay");
	wb_u32(p, 0);
	wb_u32(p, 0);
	wb_i64(p, 1);
}

/* A link of acme's file into the asker's own unit. */
static void x_link_op(wbuf *p)
{
	wb_u64(p, fg.file);
	wb_u64(p, fg.own);
	wb_str(p, "stolen");
}

static void x_commit(wbuf *p)
{
	wb_u64(p, fg.root);
	wb_u32(p, DDT_CF_SYNC);
	wb_u32(p, 1);
	wire_entry(p, "evil", sizeof("acme's payroll"), 0, &fg.fp);
}

static void x_set_content(wbuf *p)
{
	wb_u64(p, fg.file);
	wb_u32(p, DDT_CF_SYNC);
	wb_i64(p, 7);
	wb_u64(p, 0);
	wb_u8(p, 0);
	wb_fp(p, &(fp_t){ 0 });
}

static void x_read(wbuf *p)
{
	wb_u64(p, fg.file);
	wb_u64(p, 0);
	wb_u32(p, 100);
}

static const xcase xcases[] = {
	{ DDT_OP_SU_OPEN, x_su, 1 },
	{ DDT_OP_SU_SET, x_su_set, 1 },
	{ DDT_OP_BACKUP_BEGIN, x_begin, 1 },
	{ DDT_OP_BACKUP_LIST, x_su, 1 },
	{ DDT_OP_BACKUP_SET, x_backup_set, 1 },
	{ DDT_OP_EXPIRE, x_expire, 1 },
	{ DDT_OP_BACKUP_END, x_end, 0 },
	{ DDT_OP_LOOKUP, x_lookup, 0 },
	{ DDT_OP_GETATTR, x_file, 0 },
	{ DDT_OP_MKDIR, x_mkdir, 0 },
	{ DDT_OP_READDIR, x_readdir, 0 },
	{ DDT_OP_RENAME, x_rename, 0 },
	{ DDT_OP_UNLINK, x_unlink, 0 },
	{ DDT_OP_RMDIR, x_rmdir, 0 },
	{ DDT_OP_SETATTR, x_setattr, 0 },
	{ DDT_OP_SYMLINK, x_symlink, 0 },
	{ DDT_OP_READLINK, x_link, 0 },
	{ DDT_OP_LINK, x_link_op, 0 },
	{ DDT_OP_COMMIT, x_commit, 0 },
	{ DDT_OP_SET_CONTENT, x_set_content, 0 },
	{ DDT_OP_READ, x_read, 0 },
	{ DDT_OP_BACKUP_DELETE, x_backup, 1 },
	{ DDT_OP_SU_DELETE, x_su_delete, 1 },
};

/* Every opcode naming acme's unit, inode or backup, as an admin of
 * domain beta: each answers as for what does not exist. */
static void test_cross_domain(void)
{
	char msg[DDT_MAX_STR + 1], want[DDT_MAX_STR + 1];
	int fd = login_as("badm");

	if (su_create_in(fd, "beta1", NULL, &fg.own, msg))
		tap_bail("beta1: %s", msg);
	for (size_t i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		const xcase *x = &xcases[i];
		wbuf p;
		int st;

		wb_init(&p);
		x->build(&p);
		st = wire_call(fd, x->op, &p, NULL, NULL, msg);
		wb_free(&p);
		if (x->by_unit)
			snprintf(want, sizeof(want), "no storage unit \"acme1\"");
		else
			snprintf(want, sizeof(want), "does not exist");
		ok(st == DDT_ENOENT && strstr(msg, want),
		   "beta's admin: %s of acme's %s is DDT_ENOENT as for none: "
		   "%s", ddt_op_name(x->op), x->by_unit ? "unit" : "inode",
		   msg);
	}
	ok(su_create_in(fd, "beta2", "acme", NULL, msg) == DDT_EPERM &&
	   strstr(msg, "needs an admin of the system domain"),
	   "beta's admin may not make a unit for acme: %s", msg);
	ok(wire_call(fd, DDT_OP_CHECKPOINT, NULL, NULL, NULL, msg) ==
	   DDT_EPERM && strstr(msg, "needs an admin of the system domain"),
	   "nor take a checkpoint of the whole target: %s", msg);
	ok(wire_call(fd, DDT_OP_CLEAN_START, NULL, NULL, NULL, msg) ==
	   DDT_EPERM, "nor start cleaning: %s", msg);
	close(fd);
}

/* Nothing of acme1 was read or changed by the refusals. */
static void check_foreign_whole(int fd)
{
	char msg[DDT_MAX_STR + 1];
	uint8_t *out = NULL;
	size_t len;
	ddt_attr a;
	uint64_t ino;
	wbuf p;
	rbuf r;

	ok(wire_lookup(fd, fg.root, "pay", &ino) == 0 && ino == fg.file &&
	   wire_lookup(fd, fg.root, "dir", &ino) == 0 &&
	   wire_lookup(fd, fg.root, "evil", &ino) == DDT_ENOENT &&
	   wire_lookup(fd, fg.root, fg.id, &ino) == 0 &&
	   wire_lookup(fd, fg.own, "stolen", &ino) == DDT_ENOENT,
	   "acme1 holds what it held, and nothing new, nor beta a link");
	wb_init(&p);
	wb_u64(&p, fg.file);
	ok(wire_call(fd, DDT_OP_GETATTR, &p, &out, &len, msg) == 0,
	   "GETATTR of acme's file");
	wb_free(&p);
	rb_init(&r, out, len);
	rb_attr(&r, &a);
	free(out);
	ok(a.mode != 0777 && a.size == sizeof("acme's payroll"),
	   "its mode and content are as they were");
}

/* The names of the units SU_LIST (op) shows the session: joined. */
static void units_seen(int fd, char *buf, size_t cap)
{
	uint8_t *out = NULL;
	size_t len;
	uint32_t n;
	rbuf r;

	buf[0] = '\0';
	if (wire_call(fd, DDT_OP_SU_LIST, NULL, &out, &len, NULL) != 0)
		tap_bail("SU_LIST");
	rb_init(&r, out, len);
	n = rb_count(&r, DDT_SU_MIN, UINT32_MAX);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		ddt_su su;

		rb_su(&r, &su);
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s ", su.name);
	}
	free(out);
}

/* SU_STATS and STREAMS as name lists too: 1 if acme1 is in either. */
static int stats_name_acme(int fd)
{
	uint8_t *out = NULL;
	size_t len;
	uint32_t n;
	int found = 0;
	rbuf r;

	if (wire_call(fd, DDT_OP_SU_STATS, NULL, &out, &len, NULL) != 0)
		tap_bail("SU_STATS");
	rb_init(&r, out, len);
	n = rb_count(&r, DDT_SU_STATS_MIN, UINT32_MAX);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		ddt_su_stats s;

		rb_su_stats(&r, &s);
		found |= strcmp(s.name, "acme1") == 0;
	}
	free(out);
	if (wire_call(fd, DDT_OP_STREAMS, NULL, &out, &len, NULL) != 0)
		tap_bail("STREAMS");
	rb_init(&r, out, len);
	n = rb_count(&r, DDT_STREAMS_MIN, UINT32_MAX);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		ddt_streams s;

		rb_streams(&r, &s);
		found |= strcmp(s.su, "acme1") == 0;
	}
	free(out);
	return found;
}

static void test_listings(void)
{
	static const struct {
		const char *user, *sees;
		int acme;
	} who[] = {
		{ "badm", "beta1 ", 0 },
		{ "ann", "acme1 acme2 ", 1 },
		{ "user", "u1 ", 0 },
		{ "status", "acme1 acme2 beta1 u1 ", 1 },
	};
	char seen[1024], msg[DDT_MAX_STR + 1];
	uint64_t root;
	int fd;

	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		fd = login_as(who[i].user);
		units_seen(fd, seen, sizeof(seen));
		ok(strcmp(seen, who[i].sees) == 0 &&
		   stats_name_acme(fd) == who[i].acme,
		   "%s sees the units %s(SU_LIST, SU_STATS, STREAMS)",
		   who[i].user, seen);
		close(fd);
	}
	fd = login_as("ann");
	ok(wire_su_open(fd, "acme1", &root, msg) == 0 && root == fg.root &&
	   wire_lookup(fd, fg.root, "pay", &root) == 0,
	   "ann of acme opens acme1 and finds its file");
	ok(wire_su_open(fd, "u1", &root, msg) == DDT_ENOENT,
	   "but not the system domain's u1: %s", msg);
	close(fd);
}

/* 1 if fd's ALERTS name acme1's soft quota. */
static int sees_acme_alert(int fd)
{
	static const char id[] = "quota-soft:acme1";
	uint8_t *out = NULL;
	size_t len;
	int found;
	wbuf p;

	if (wire_call(fd, DDT_OP_ALERTS, NULL, &out, &len, NULL) != 0)
		tap_bail("ALERTS");
	found = memmem(out, len, id, strlen(id)) != NULL;
	free(out);
	wb_init(&p);
	wb_u64(&p, 0);
	if (wire_call(fd, DDT_OP_ALERT_EVENTS, &p, &out, &len, NULL) != 0)
		tap_bail("ALERT_EVENTS");
	wb_free(&p);
	found += memmem(out, len, id, strlen(id)) != NULL;
	free(out);
	return found;
}

/* An alert naming acme's unit reaches acme and the system domain only. */
static void test_alerts(int admin)
{
	char msg[DDT_MAX_STR + 1];
	uint32_t lim[4] = { 0 };
	int fd;
	wbuf p;

	wb_init(&p);
	wb_str(&p, "acme1");
	wb_u32(&p, DDT_SU_SET_QUOTA_SOFT);
	wb_u64(&p, 0);
	wb_u8(&p, 0);
	wb_u64(&p, 0);
	wb_su_set_ext(&p, 1, lim);
	if (wire_call(admin, DDT_OP_SU_SET, &p, NULL, NULL, msg))
		tap_bail("SU_SET acme1 soft quota: %s", msg);
	wb_free(&p);
	ok(sees_acme_alert(admin) == 2,
	   "the system admin sees quota-soft:acme1 (ALERTS, ALERT_EVENTS)");
	fd = login_as("ann");
	ok(sees_acme_alert(fd) == 2, "so does ann of acme");
	close(fd);
	fd = login_as("badm");
	ok(sees_acme_alert(fd) == 0, "beta's admin does not");
	close(fd);
}

/* A USER_SET or USER_DELETE over the wire: the reply's status. */
static int user_call(int fd, uint8_t op, const char *user, uint32_t mask,
		     int level, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, user);
	if (op == DDT_OP_USER_SET) {
		wb_u32(&p, mask);
		wb_str(&p, "");
		wb_u8(&p, (uint8_t)level);
		wb_str(&p, "");
	}
	st = wire_call(fd, op, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

/* An admin's change reaches sessions already logged in: a new level at
 * their next request, a removal ends them. */
static void test_live_changes(int admin)
{
	char msg[DDT_MAX_STR + 1];
	int fd = login_as("ann");
	uint64_t ino;
	wbuf p;
	int st;

	wb_init(&p);
	wb_u64(&p, fg.file);
	wb_u64(&p, 0);
	wb_u32(&p, 10);
	ok(wire_call(fd, DDT_OP_READ, &p, NULL, NULL, msg) == 0,
	   "ann (user level) reads acme's file");
	ok(user_call(admin, DDT_OP_USER_SET, "ann", DDT_USER_SET_LEVEL,
		     DDT_ROLE_BACKUP, msg) == 0, "the admin makes ann backup-only");
	st = wire_call(fd, DDT_OP_READ, &p, NULL, NULL, msg);
	wb_free(&p);
	ok(st == DDT_EACCES && strstr(msg, "has the backup level"),
	   "her open session is refused the next READ: %s", msg);
	ok(user_call(admin, DDT_OP_USER_DELETE, "ann", 0, 0, msg) == 0,
	   "the admin removes ann");
	st = wire_lookup(fd, fg.root, "pay", &ino);
	ok(st == DDT_EPERM && wire_closed_by_peer(fd),
	   "her session's next request is refused, and the session ends");
	close(fd);
}

/* An admin of acme makes units in acme, without naming it. */
static void make_acme2(void)
{
	char msg[DDT_MAX_STR + 1];
	int fd = login_as("aadm");

	ok(su_create_in(fd, "acme2", NULL, NULL, msg) == 0,
	   "acme's admin makes acme2 (%s)", msg);
	close(fd);
}

int main(void)
{
	char *root = tap_tmpdir("access");
	int fd;

	daemon_start_in(&d, root);
	daemon_stop(&d, SIGTERM);
	for (int l = 1; l <= 5; l++)
		if (l != 2)
			add_user(levels[l], levels[l], NULL);
	add_user("badm", "admin", "--domain beta");
	add_user("aadm", "full", "--domain acme");
	add_user("ann", "user", "--domain acme");
	daemon_start_again(&d);
	fd = wire_admin_login(&d);
	make_fixture(fd);
	for (int l = 3; l <= 5; l++)
		run_level(l);
	run_level(1);
	run_level(2);
	check_untouched(fd);
	test_backup_drops_partial();
	make_foreign(fd);
	test_cross_domain();
	check_foreign_whole(fd);
	test_side_channel(fd);
	make_acme2();
	test_listings();
	test_alerts(fd);
	test_live_changes(fd);
	close(fd);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
