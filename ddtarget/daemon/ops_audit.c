/* ops_audit.c - the session layer's audit events (ops_audit.h). Each
 * audited opcode has a describer that reads its arguments again from a
 * copy of the request, so no handler carries audit code. */
#include "ops_audit.h"

#include <string.h>

#include "audit.h"
#include "ops.h"

#define AUDIT_FIELDS	1024

typedef void (*describe_fn)(rbuf *r, char *f, size_t cap);

static void str_field(rbuf *r, char *f, size_t cap, const char *key)
{
	char s[DDT_MAX_STR + 1];

	rb_str(r, s, sizeof(s));
	if (!r->err)
		audit_kv(f, cap, key, s);
}

static void d_su_create(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "su");
	if (!r->err && r->off < r->len)	/* the optional domain */
		str_field(r, f, cap, "domain");
}

static void d_su_delete(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "su");
	audit_kv_u64(f, cap, "recursive", rb_u8(r));
}

/* Only what the mask changes. */
static void d_su_set(rbuf *r, char *f, size_t cap)
{
	uint32_t mask;
	uint64_t retention, quota;
	uint8_t lock;

	str_field(r, f, cap, "su");
	mask = rb_u32(r);
	retention = rb_u64(r);
	lock = rb_u8(r);
	quota = rb_u64(r);
	if (mask & DDT_SU_SET_RETENTION)
		audit_kv_u64(f, cap, "retention_s", retention);
	if (mask & DDT_SU_SET_LOCK)
		audit_kv_u64(f, cap, "lock", lock);
	if (mask & DDT_SU_SET_QUOTA)
		audit_kv_u64(f, cap, "quota", quota);
	if (mask & DDT_SU_SET_QUOTA_SOFT)
		audit_kv_u64(f, cap, "quota_soft", rb_u64(r));
	if (mask & DDT_SU_SET_STREAMS)
		audit_kv(f, cap, "streams", "changed");
}

static void d_backup_begin(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "su");
	str_field(r, f, cap, "name");
	audit_kv_i64(f, cap, "retain_s", rb_i64(r));
}

static void d_backup_end(rbuf *r, char *f, size_t cap)
{
	audit_kv_u64(f, cap, "ino", rb_u64(r));
	audit_kv_u64(f, cap, "files", rb_u64(r));
	audit_kv_u64(f, cap, "bytes", rb_u64(r));
}

static void d_backup(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "su");
	str_field(r, f, cap, "id");
}

static void d_backup_set(rbuf *r, char *f, size_t cap)
{
	d_backup(r, f, cap);
	audit_kv_i64(f, cap, "expires", rb_i64(r));
}

static void d_expire(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "su");
	audit_kv_u64(f, cap, "dry_run", rb_u8(r));
}

/* Never the password: only that it was given. */
static void skip_str(rbuf *r)
{
	char s[DDT_MAX_STR + 1];

	rb_str(r, s, sizeof(s));
}

static void level_field(char *f, size_t cap, uint8_t level)
{
	const char *name = ddt_role_name(level);

	if (name)
		audit_kv(f, cap, "level", name);
	else
		audit_kv_u64(f, cap, "level", level);
}

static void d_user_add(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "target_user");
	skip_str(r);
	level_field(f, cap, rb_u8(r));
	str_field(r, f, cap, "domain");
}

static void d_user_set(rbuf *r, char *f, size_t cap)
{
	uint32_t mask;
	uint8_t level;
	char dom[DDT_MAX_STR + 1];

	str_field(r, f, cap, "target_user");
	mask = rb_u32(r);
	skip_str(r);
	level = rb_u8(r);
	rb_str(r, dom, sizeof(dom));
	if (mask & DDT_USER_SET_PASSWORD)
		audit_kv(f, cap, "password", "changed");
	if (mask & DDT_USER_SET_LEVEL)
		level_field(f, cap, level);
	if ((mask & DDT_USER_SET_DOMAIN) && !r->err)
		audit_kv(f, cap, "domain", dom);
}

static void d_user(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "target_user");
}

static void d_token_create(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "label");
	audit_kv_i64(f, cap, "expires", rb_i64(r));
}

static void d_token(rbuf *r, char *f, size_t cap)
{
	str_field(r, f, cap, "token");
}

static void d_scrub(rbuf *r, char *f, size_t cap)
{
	audit_kv_u64(f, cap, "repair", rb_u8(r));
}

static const struct {
	uint8_t op;
	const char *event;
	describe_fn describe;	/* NULL: no arguments */
} audited[] = {
	{ DDT_OP_SU_CREATE, "su.create", d_su_create },
	{ DDT_OP_SU_DELETE, "su.delete", d_su_delete },
	{ DDT_OP_SU_SET, "su.set", d_su_set },
	{ DDT_OP_BACKUP_BEGIN, "backup.begin", d_backup_begin },
	{ DDT_OP_BACKUP_END, "backup.end", d_backup_end },
	{ DDT_OP_BACKUP_DELETE, "backup.delete", d_backup },
	{ DDT_OP_BACKUP_SET, "backup.set", d_backup_set },
	{ DDT_OP_EXPIRE, "backup.expire", d_expire },
	{ DDT_OP_CHECKPOINT, "checkpoint", NULL },
	{ DDT_OP_CLEAN_START, "clean.start", NULL },
	{ DDT_OP_SCRUB_START, "scrub.start", d_scrub },
	{ DDT_OP_USER_ADD, "user.add", d_user_add },
	{ DDT_OP_USER_SET, "user.set", d_user_set },
	{ DDT_OP_USER_DELETE, "user.delete", d_user },
	{ DDT_OP_TOKEN_CREATE, "token.create", d_token_create },
	{ DDT_OP_TOKEN_DELETE, "token.delete", d_token },
};

void ops_audit_request(const req *q, const rbuf *args, int rc)
{
	char f[AUDIT_FIELDS] = "";
	rbuf r = *args;

	for (size_t i = 0; i < sizeof(audited) / sizeof(audited[0]); i++) {
		if (audited[i].op != q->op)
			continue;
		if (audited[i].describe)
			audited[i].describe(&r, f, sizeof(f));
		audit_event(q->d->audit, audited[i].event, rc, q->user,
			    q->ss->peer, f);
		return;
	}
}

void ops_audit_login(const req *q, const char *user, int role, int rc)
{
	char f[AUDIT_FIELDS] = "";

	if (rc == 0)
		level_field(f, sizeof(f), (uint8_t)role);
	audit_event(q->d->audit, "login", rc, user, q->ss->peer, f);
}

/* The unit's name, for the line; "" if it went meanwhile. */
typedef struct name_of {
	uint64_t root;
	char name[DDT_MAX_STR + 1];
} name_of;

static int name_cb(void *arg, const ns_su *su)
{
	name_of *n = arg;

	if (su->root == n->root)
		snprintf(n->name, sizeof(n->name), "%s", su->name);
	return 0;
}

void ops_audit_read(const req *q, uint64_t unit)
{
	ops_session *ss = q->ss;
	char f[AUDIT_FIELDS] = "";
	name_of n = { .root = unit };
	int seen = 0;

	pthread_mutex_lock(&ss->mu);
	for (int i = 0; i < OPS_AUDITED_READS; i++)
		seen |= ss->audited_reads[i] == unit;
	if (!seen)
		ss->audited_reads[ss->audited_next++ % OPS_AUDITED_READS] =
			unit;
	pthread_mutex_unlock(&ss->mu);
	if (seen || !q->d->audit)
		return;
	(void)ns_su_list(q->d->ns, name_cb, &n);
	audit_kv(f, sizeof(f), "su", n.name);
	audit_kv_u64(f, sizeof(f), "unit", unit);
	audit_event(q->d->audit, "restore", 0, q->user, ss->peer, f);
}
