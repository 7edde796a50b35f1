/* ops.c - the session layer's entry (ops.h): a session's state, HELLO and
 * AUTH, which every session starts with, and the dispatch of every other
 * request to its handler. The handlers are in one file per section of
 * PROTOCOL.md section 5 (ops_sections.h); they run on the daemon's worker
 * threads, several per session at once, and parse trusting no count and
 * no length. */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "log.h"
#include "ops_audit.h"
#include "ops_sections.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#define SERVER_NAME	"ddtargetd " PACKAGE_VERSION

void ops_session_init(ops_session *ss, const char *peer)
{
	memset(ss, 0, sizeof(*ss));
	pthread_mutex_init(&ss->mu, NULL);
	snprintf(ss->peer, sizeof(ss->peer), "%s", peer);
}

void ops_session_destroy(ops_session *ss)
{
	pthread_mutex_destroy(&ss->mu);
}

void ops_session_end(ddtd *d, ops_session *ss)
{
	if (d->streams)
		streams_session_end(d->streams, ss);
	/* What it sent and never committed is garbage: no more its unit's. */
	pthread_mutex_lock(&ss->mu);
	pending_add(d->pending, ss->sent_unit, -(int64_t)ss->sent);
	ss->sent = 0;
	pthread_mutex_unlock(&ss->mu);
}

/* An errno that is no code of the protocol's (ENOMEM, ...) is DDT_EIO:
 * "failed otherwise" (section 4). */
uint32_t ops_status(int rc)
{
	return rc < 0 && ddt_err_name((uint32_t)-rc) ? (uint32_t)-rc : DDT_EIO;
}

int ops_ends_session(ops_session *ss, uint8_t op, int rc)
{
	int ends;

	if (rc == -EPROTO)
		return 1;
	pthread_mutex_lock(&ss->mu);
	ends = ss->revoked || (op == DDT_OP_AUTH && rc < 0 && ss->auth_ends);
	pthread_mutex_unlock(&ss->mu);
	return ends;
}

/* Who asks q: the session's user, level and domain; whether it is
 * logged in. */
static int session_of(ops_session *ss, req *q)
{
	int authed;

	pthread_mutex_lock(&ss->mu);
	authed = ss->authed;
	q->role = ss->role;
	memcpy(q->user, ss->user, sizeof(ss->user));
	memcpy(q->domain, ss->domain, sizeof(ss->domain));
	q->all_domains = ss->all_domains;
	pthread_mutex_unlock(&ss->mu);
	return authed;
}

/* The session's user as AUTH found it (or as read again): level, domain,
 * what it sees; gen, the users' generation it was read at. */
static void session_user(ops_session *ss, int role, const char *domain,
			 unsigned gen)
{
	ss->role = role;
	memcpy(ss->domain, domain, sizeof(ss->domain));
	/* The system domain's admins and monitors see the whole target. */
	ss->all_domains = strcmp(domain, DDT_DOMAIN_SYSTEM) == 0 &&
			  (role == DDT_ROLE_ADMIN || role == DDT_ROLE_STATUS);
	memset(ss->seen_units, 0, sizeof(ss->seen_units));
	ss->seen_ino = 0;
	ss->users_gen = gen;
}

/* A user changed online (ops_users.c) is read again before its sessions'
 * next request: a new level or domain applies at once, and a removed
 * user's sessions end with this request's refusal. */
static int refresh_user(req *q, ops_session *ss)
{
	unsigned gen = __atomic_load_n(&q->d->users_gen, __ATOMIC_ACQUIRE);
	char domain[DDT_MAX_DOMAIN + 1];
	int role, rc, same;

	pthread_mutex_lock(&ss->mu);
	same = ss->users_gen == gen;
	pthread_mutex_unlock(&ss->mu);
	if (same)
		return 0;
	rc = auth_get_user(q->d->ix, q->user, &role, domain);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	pthread_mutex_lock(&ss->mu);
	if (rc == 0)
		session_user(ss, role, domain, gen);
	else
		ss->revoked = 1;
	pthread_mutex_unlock(&ss->mu);
	if (rc < 0)
		return ddterr_set(-EPERM, "user %s was removed: this session "
				  "ends", q->user);
	session_of(ss, q);
	return 0;
}

/* ---- session ---- */

static int op_hello(req *q)
{
	char client[DDT_MAX_STR + 1];
	uint32_t version = rb_u32(&q->r);
	uint64_t codecs = 0;
	wbuf *w = q->w;
	int rc;

	rb_str(&q->r, client, sizeof(client));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	if (version != DDT_PROTO_VERSION)
		return ddterr_set(-EPROTO, "client speaks protocol %u, this "
				  "target %u", version, DDT_PROTO_VERSION);
	for (int c = 0; c < CODEC_COUNT; c++)
		codecs |= 1ull << c;
	wb_u32(w, DDT_PROTO_VERSION);
	wb_str(w, SERVER_NAME);
	wb_u32(w, DDT_MAX_PAYLOAD);
	wb_u32(w, DDT_MAX_INFLIGHT);
	wb_u32(w, CDC_MIN_DEFAULT);
	wb_u32(w, CDC_AVG_DEFAULT);
	wb_u32(w, CDC_MAX_DEFAULT);
	wb_u64(w, codecs);
	return 0;
}

/* The user name for the log: as sent if it is made of the characters a
 * user name may have (so no control character reaches the log), else only
 * its length. (auth.c's own rule is private to it, and stricter.) */
static int name_loggable(const char *user)
{
	size_t n = strlen(user);
	int ok = n > 0 && n <= DDT_MAX_NAME;

	for (size_t i = 0; ok && i < n; i++)
		ok = (user[i] >= 'a' && user[i] <= 'z') ||
		     (user[i] >= 'A' && user[i] <= 'Z') ||
		     (user[i] >= '0' && user[i] <= '9') ||
		     user[i] == '.' || user[i] == '_' || user[i] == '-';
	return ok;
}

static void log_name(char *buf, size_t cap, const char *user)
{
	if (name_loggable(user))
		snprintf(buf, cap, "'%s'", user);
	else
		snprintf(buf, cap, "(a name no user can have, %zu bytes)",
			 strlen(user));
}

/* A wrong user or password: counted, logged (never the password), and
 * the session ends at the auth_max_failures-th. */
static int auth_refused(req *q, ops_session *ss, const char *user, int rc)
{
	char who[DDT_MAX_NAME + 48];
	int n, max = q->d->cfg.auth_max_failures;

	pthread_mutex_lock(&ss->mu);
	n = rc == -EACCES ? ++ss->auth_failures : ss->auth_failures;
	ss->auth_ends = rc != -EACCES || n >= max;
	pthread_mutex_unlock(&ss->mu);
	if (rc != -EACCES)
		return rc;
	log_name(who, sizeof(who), user);
	log_warn("session %s: login failed for user %s (failure %d of %d on "
		 "this session%s)", ss->peer, who, n, max,
		 n >= max ? ", closing" : "");
	return rc;
}

/* A session counts against max_sessions from its first successful AUTH
 * (PROTOCOL.md section 3): past it the AUTH is answered EBUSY. */
static int auth_admit(req *q, ops_session *ss)
{
	int n;

	pthread_mutex_lock(&ss->mu);
	n = ss->authed;
	pthread_mutex_unlock(&ss->mu);
	if (n)
		return 0;
	n = __atomic_add_fetch(&q->d->sessions, 1, __ATOMIC_RELAXED);
	if (n <= q->d->cfg.max_sessions)
		return 0;
	__atomic_fetch_sub(&q->d->sessions, 1, __ATOMIC_RELAXED);
	return ddterr_set(-EBUSY, "server busy: %d of %d sessions in use, "
			  "try again later", n - 1, q->d->cfg.max_sessions);
}

/* A failed AUTH is counted, and ends the session at auth_max_failures
 * (ops_ends_session); server.c spaces an address's AUTHs after failures.
 * A user name no user can have is refused like a wrong password, not as
 * a protocol error. */
static int op_auth(req *q, ops_session *ss)
{
	char user[DDT_MAX_STR + 1], pass[DDT_MAX_STR + 1];
	char domain[DDT_MAX_DOMAIN + 1];
	unsigned gen = __atomic_load_n(&q->d->users_gen, __ATOMIC_ACQUIRE);
	int role, rc;

	rb_str(&q->r, user, sizeof(user));
	rb_str(&q->r, pass, sizeof(pass));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	rc = auth_check(q->d->ix, user, pass, &role, domain);
	memset(pass, 0, sizeof(pass));
	if (rc == 0)
		rc = auth_admit(q, ss);
	if (rc < 0) {
		ops_audit_login(q, name_loggable(user) ? user : "(invalid)", 0,
				rc);
		return auth_refused(q, ss, user, rc);
	}
	ops_audit_login(q, user, role, 0);
	pthread_mutex_lock(&ss->mu);
	ss->authed = 1;
	snprintf(ss->user, sizeof(ss->user), "%.*s", DDT_MAX_NAME, user);
	session_user(ss, role, domain, gen);
	pthread_mutex_unlock(&ss->mu);
	wb_u8(q->w, (uint8_t)role);
	return 0;
}

/* ---- dispatch ---- */

static const req_handler *const sections[] = {
	ops_status_handlers, ops_su_handlers, ops_ns_handlers,
	ops_write_handlers, ops_read_handlers, ops_backup_handlers,
	ops_maint_handlers, ops_users_handlers, ops_tokens_handlers,
};

/* The handler of op; NULL for HELLO and AUTH (answered above) and for an
 * opcode server.c has refused already. ~40 entries: a scan costs nothing
 * next to a request. */
static req_fn handler_of(uint8_t op)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		for (const req_handler *h = sections[i]; h->fn; h++)
			if (h->op == op)
				return h->fn;
	return NULL;
}

/* What each access level may ask (PROTOCOL.md, Users and roles): every
 * opcode is of one class, and each class is open to a set of levels. A
 * refusal here is DDT_EACCES with one line saying what the level lacks;
 * the admin operations are left to their handlers (req_need_admin:
 * DDT_EPERM, as before levels) for every level but status. */
enum op_class {
	OC_FIGURES,	/* the target's and units' figures: every level */
	OC_BROWSE,	/* names and attributes */
	OC_READ,	/* content: file data, segments, link targets */
	OC_WRITE,	/* new content and names, backups begun and ended */
	OC_REMOVE,	/* removals, renames, expiries */
	OC_ADMIN,	/* units, users, cleaning, scrubs, checkpoints */
	OC_SELF,	/* USER_SET: its own password, any level */
};

#define LV(r)	(1u << (r))
static const unsigned class_levels[] = {
	[OC_FIGURES] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_STATUS) | LV(DDT_ROLE_BACKUP) |
		LV(DDT_ROLE_RESTORE),
	[OC_BROWSE] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_BACKUP) | LV(DDT_ROLE_RESTORE),
	[OC_READ] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_RESTORE),
	[OC_WRITE] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_BACKUP),
	[OC_REMOVE] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN),
	[OC_ADMIN] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_BACKUP) | LV(DDT_ROLE_RESTORE),
	[OC_SELF] = LV(DDT_ROLE_USER) | LV(DDT_ROLE_ADMIN) |
		LV(DDT_ROLE_STATUS) | LV(DDT_ROLE_BACKUP) |
		LV(DDT_ROLE_RESTORE),
};

static const struct {
	uint8_t op, cls;
} op_classes[] = {
	{ DDT_OP_STATUS, OC_FIGURES }, { DDT_OP_STATUS_TEXT, OC_FIGURES },
	{ DDT_OP_SU_LIST, OC_FIGURES }, { DDT_OP_SU_STATS, OC_FIGURES },
	{ DDT_OP_STREAMS, OC_FIGURES }, { DDT_OP_ALERTS, OC_FIGURES },
	{ DDT_OP_ALERT_EVENTS, OC_FIGURES },
	{ DDT_OP_CLEAN_STATUS, OC_FIGURES },
	{ DDT_OP_SCRUB_STATUS, OC_FIGURES },
	{ DDT_OP_CHECKPOINT_LIST, OC_FIGURES },
	{ DDT_OP_BACKUP_LIST, OC_FIGURES },
	{ DDT_OP_SU_OPEN, OC_BROWSE }, { DDT_OP_LOOKUP, OC_BROWSE },
	{ DDT_OP_GETATTR, OC_BROWSE }, { DDT_OP_READDIR, OC_BROWSE },
	{ DDT_OP_READLINK, OC_READ }, { DDT_OP_READ, OC_READ },
	{ DDT_OP_SEG_GET, OC_READ }, { DDT_OP_READ_FILES, OC_READ },
	{ DDT_OP_FP_QUERY, OC_WRITE }, { DDT_OP_SEG_PUT, OC_WRITE },
	{ DDT_OP_COMMIT, OC_WRITE }, { DDT_OP_SET_CONTENT, OC_WRITE },
	{ DDT_OP_MKDIR, OC_WRITE }, { DDT_OP_SYMLINK, OC_WRITE },
	{ DDT_OP_LINK, OC_WRITE }, { DDT_OP_SETATTR, OC_WRITE },
	{ DDT_OP_BACKUP_BEGIN, OC_WRITE }, { DDT_OP_BACKUP_END, OC_WRITE },
	{ DDT_OP_RENAME, OC_REMOVE }, { DDT_OP_UNLINK, OC_REMOVE },
	{ DDT_OP_RMDIR, OC_REMOVE }, { DDT_OP_BACKUP_SET, OC_REMOVE },
	{ DDT_OP_EXPIRE, OC_REMOVE },
	/* BACKUP_DELETE is open to backup users for their half-made
	 * backups only: ops_backup.c checks. */
	{ DDT_OP_BACKUP_DELETE, OC_WRITE },
	{ DDT_OP_SU_CREATE, OC_ADMIN }, { DDT_OP_SU_DELETE, OC_ADMIN },
	{ DDT_OP_SU_SET, OC_ADMIN }, { DDT_OP_CHECKPOINT, OC_ADMIN },
	{ DDT_OP_CLEAN_START, OC_ADMIN }, { DDT_OP_SCRUB_START, OC_ADMIN },
	{ DDT_OP_USER_ADD, OC_ADMIN }, { DDT_OP_USER_LIST, OC_ADMIN },
	{ DDT_OP_USER_DELETE, OC_ADMIN },
	/* the handler refuses all but its own password to non-admins */
	{ DDT_OP_USER_SET, OC_SELF },
	/* a user's own tokens; an admin's of the users it manages */
	{ DDT_OP_TOKEN_CREATE, OC_SELF }, { DDT_OP_TOKEN_LIST, OC_SELF },
	{ DDT_OP_TOKEN_DELETE, OC_SELF },
};

static int class_of(uint8_t op)
{
	for (size_t i = 0; i < sizeof(op_classes) / sizeof(op_classes[0]);
	     i++)
		if (op_classes[i].op == op)
			return op_classes[i].cls;
	return OC_ADMIN;	/* an opcode of tomorrow: the narrowest */
}

/* What a level lacks, for the refusal's line. */
static const char *lacks(int role)
{
	switch (role) {
	case DDT_ROLE_STATUS: return "may only read the target's status";
	case DDT_ROLE_BACKUP: return "has the backup level: it may write "
				     "backups but not read them back or "
				     "remove anything";
	case DDT_ROLE_RESTORE: return "has the restore level: it may read "
				      "but not write or remove anything";
	default: return "may not do this";
	}
}

static int role_allows(const req *q)
{
	int cls = class_of(q->op);

	if (q->role >= 1 && q->role <= DDT_ROLE_MAX &&
	    (class_levels[cls] & LV(q->role)))
		return 0;
	return ddterr_set(-EACCES, "%s: user %s %s", ddt_op_name(q->op),
			  q->user, lacks(q->role));
}

/* An authenticated request: its handler, then the reply's size. */
static int dispatch(req *q)
{
	req_fn fn = handler_of(q->op);
	rbuf args = q->r;
	wbuf *w = q->w;
	int rc;

	if (!fn)
		return ddterr_set(-EPROTO, "unknown opcode 0x%02x", q->op);
	if ((rc = role_allows(q)) < 0) {
		ops_audit_request(q, &args, rc);
		return rc;
	}
	rc = fn(q);
	ops_audit_request(q, &args, rc);
	if (rc == 0 && !w->err && w->len - DDT_HDR_LEN > DDT_MAX_PAYLOAD)
		w->err = -E2BIG;
	if (rc == 0 && w->err)
		rc = w->err == -E2BIG ?
			ddterr_set(-EINVAL, "%s: the reply would exceed the "
				   "largest frame; ask for less",
				   ddt_op_name(q->op)) : w->err;
	return rc;
}

int ops_handle(ddtd *d, ops_session *ss, uint8_t op, const uint8_t *payload,
	       size_t len, wbuf *w)
{
	req q = { .d = d, .ss = ss, .op = op, .w = w };
	int authed, rc;

	ddterr_clear();
	rb_init(&q.r, payload, len);
	if (op == DDT_OP_HELLO) {
		rc = op_hello(&q);
		if (rc == 0) {
			pthread_mutex_lock(&ss->mu);
			ss->hello = 1;
			pthread_mutex_unlock(&ss->mu);
		}
		return rc;
	}
	pthread_mutex_lock(&ss->mu);
	rc = ss->hello;
	pthread_mutex_unlock(&ss->mu);
	if (!rc)	/* not our protocol, or a client out of step */
		return ddterr_set(-EPROTO, "a session starts with HELLO, not %s",
				  ddt_op_name(op));
	if (op == DDT_OP_AUTH)
		return op_auth(&q, ss);
	authed = session_of(ss, &q);
	if (!authed)
		return ddterr_set(-EPERM, "authenticate first (AUTH)");
	if ((rc = refresh_user(&q, ss)) < 0)
		return rc;
	return dispatch(&q);
}
