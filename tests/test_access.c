/* test_access.c - who may do what (PROTOCOL.md, Users and roles), over a
 * raw socket so no client check stands in front of the target's: every
 * access level (status, backup, restore, user, admin) sends every opcode,
 * each request one that would succeed, and each is answered as the
 * protocol's table says: done (status 0), or refused with its code and a
 * line naming what the level lacks, nothing changed, the session going on. */
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
enum { FIG, BROWSE, READ, WRITE, REMOVE, ADMIN };

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
};

/* The protocol's table, written out here on its own: 0, or the code of
 * the refusal and a piece of its line. */
static int expected(int level, int cls, const char **why)
{
	static const int may[6][6] = {
		/* FIG BROWSE READ WRITE REMOVE ADMIN */
		[1] = { 1, 1, 1, 1, 1, 0 },	/* user */
		[2] = { 1, 1, 1, 1, 1, 1 },	/* admin */
		[3] = { 1, 0, 0, 0, 0, 0 },	/* status */
		[4] = { 1, 1, 0, 1, 0, 0 },	/* backup */
		[5] = { 1, 1, 1, 0, 0, 0 },	/* restore */
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

int main(void)
{
	char *root = tap_tmpdir("access");
	int fd;

	daemon_start_in(&d, root);
	daemon_stop(&d, SIGTERM);
	for (int l = 1; l <= 5; l++)
		if (l != 2)
			add_user(levels[l], levels[l], NULL);
	daemon_start_again(&d);
	fd = wire_admin_login(&d);
	make_fixture(fd);
	for (int l = 3; l <= 5; l++)
		run_level(l);
	run_level(1);
	run_level(2);
	check_untouched(fd);
	test_backup_drops_partial();
	close(fd);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
