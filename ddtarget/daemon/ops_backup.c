/* ops_backup.c - backups and their retention (PROTOCOL.md section 5,
 * Backups): begin (within the stream limits), end (and the dedup-ratio
 * anomaly), list, delete, set an expiry, expire. */
#include "ops_sections.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "anomaly.h"
#include "ddterr.h"
#include "log.h"
#include "now.h"
#include "ops.h"
#include "tenant.h"

/* The stream alerts' ids: of unit su, or of the target ("*"). */
static void stream_id(char *buf, size_t cap, const char *family,
		      const char *su)
{
	snprintf(buf, cap, "%s:%.*s", family,
		 (int)(ALERT_ID_MAX - strlen(family) - 1), su ? su : "*");
}

/* A backup refused at a hard limit: the alert stays up a while. */
static void refused(ddtd *d, const char *su, int target)
{
	char id[ALERT_ID_MAX + 1];

	stream_id(id, sizeof(id), "streams-hard", target ? NULL : su);
	alert_raise(d->alerts, id, DDT_SEV_WARNING, "%s", ddterr_last(-EBUSY));
	monitor_stream_refused(d->mon, id);
}

static void over_soft(ddtd *d, const char *su, int target)
{
	char id[ALERT_ID_MAX + 1];
	const char *who = target ? "the target" : su;

	stream_id(id, sizeof(id), "streams", target ? NULL : su);
	alert_raise(d->alerts, id, DDT_SEV_WARNING, "%s%s: more backup "
		    "streams than its soft limit: backups share the target's "
		    "disks and may slow down", target ? "" : "storage unit ",
		    who);
}

#define NS_PER_DAY	(86400LL * 1000000000LL)

/* In a locked unit a backup is locked until its expiry: that must come,
 * and within retention_max_days (PROTOCOL.md, Retention), or one request
 * could lock data for ever. */
static int lock_bound(const req *q, const ns_su *u, int64_t retain)
{
	int64_t max = q->d->cfg.retention_max_days;
	int64_t secs = retain > 0 ? retain : (int64_t)u->retention;

	if (!u->locked || (retain != DDT_RETAIN_NEVER && secs <= max * 86400))
		return 0;
	return ddterr_set(-EPERM, "retention lock: storage unit %s is locked: "
			  "a backup's expiry must come within %lld days "
			  "(retention_max_days), not %s", u->name,
			  (long long)max, retain == DDT_RETAIN_NEVER ?
			  "never" : "later");
}

/* Admit a backup into unit su against the stream limits (PROTOCOL.md,
 * Streams) and its lock's bound; *root: the unit's. */
static int admit(req *q, const char *su, int64_t retain, uint64_t *root)
{
	ddtd *d = q->d;
	ns_su u;
	unit_rec ur;
	int rc, flags;

	if ((rc = tenant_su(q, su, &u)) < 0 ||
	    (rc = lock_bound(q, &u, retain)) < 0 ||
	    (rc = units_get(d->units, u.root, &ur)) < 0)
		return rc;
	*root = u.root;
	rc = streams_backup_admit(d->streams, q->ss, u.root, su, now_ns(),
				  ur.lim, d->cfg.stream_lim, &flags);
	if (rc == -EBUSY)
		refused(d, su, !!(flags & STREAMS_HARD_TARGET));
	if (flags & STREAMS_SOFT_UNIT)
		over_soft(d, su, 0);
	if (flags & STREAMS_SOFT_TARGET)
		over_soft(d, su, 1);
	return rc;
}

static int op_backup_begin(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1], name[DDT_MAX_STR + 1];
	uint64_t root;
	int64_t retain;
	ns_backup b;
	ddt_attr a;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, name, sizeof(name));
	retain = rb_i64(r);
	if ((rc = req_parsed(q)) < 0)
		return rc;
	/* A name the namespace would refuse is refused as it says, before
	 * any stream is counted. */
	if (strlen(su) > DDT_MAX_NAME || !ddt_name_ok(su))
		return ns_backup_begin(d->ns, su, name, now_ns(), retain, &b,
				       &a);
	if ((rc = admit(q, su, retain, &root)) < 0)
		return rc;
	rc = ns_backup_begin(d->ns, su, name, now_ns(), retain, &b, &a);
	streams_backup_bind(d->streams, q->ss, root, rc == 0 ? a.ino : 0,
			    b.id);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&q->ss->mu);
	q->ss->cur_unit = root;
	pthread_mutex_unlock(&q->ss->mu);
	wb_str(w, b.id);
	wb_attr(w, &a);
	wb_i64(w, b.expires);
	return 0;
}

/* The anomaly alert for backup sb of name, share new (per mille) against
 * the earlier backups' median, or against none but a first backup. */
static void raise_anomaly(ddtd *d, const streams_backup *sb, const char *name,
			  unsigned share, unsigned med, int prior)
{
	char id[ALERT_ID_MAX + 1], base[160];

	snprintf(id, sizeof(id), "anomaly:%.*s", ALERT_ID_MAX - 8, sb->su);
	if (prior)
		snprintf(base, sizeof(base), "against a median of %u.%u%% for "
			 "the backups of %.*s before it", med / 10, med % 10,
			 60, name);
	else
		snprintf(base, sizeof(base), "where a repeat of the first "
			 "backup of %.*s stores little new", 60, name);
	alert_raise(d->alerts, id, DDT_SEV_WARNING, "backup %s of storage unit "
		    "%s: %u.%u%% of its data was new, %s: its files may have "
		    "been encrypted (ransomware) or replaced; check the client",
		    sb->id, sb->su, share / 10, share % 10, base);
}

/* The dedup-ratio anomaly (PROTOCOL.md, the anomaly rule) for backup sb,
 * which holds bytes, just ended. */
static void judge(ddtd *d, const streams_backup *sb, uint64_t bytes)
{
	char name[DDT_MAX_NAME + 1], id[ALERT_ID_MAX + 1];
	unsigned share, med;
	anomaly_hist h;
	int rc, bad, prior;

	if (bytes < ANOMALY_MIN_BYTES)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(sb->id, "@"),
		 sb->id);
	if ((rc = anomaly_load(d->ix, sb->root, name, &h)) < 0)
		goto fail;
	share = anomaly_share(sb->new_raw, bytes);
	prior = h.n;
	bad = anomaly_judge(&h, share, &med);
	if ((rc = anomaly_save(d->ix, sb->root, name, &h)) < 0)
		goto fail;
	if (bad) {
		raise_anomaly(d, sb, name, share, med, prior);
	} else if (h.n > 0) {
		snprintf(id, sizeof(id), "anomaly:%.*s", ALERT_ID_MAX - 8,
			 sb->su);
		alert_clear(d->alerts, id);
	}
	return;
fail:
	log_err("the anomaly check of backup %s: %s", sb->id, ddterr_last(rc));
}

static int op_backup_end(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint64_t ino = rb_u64(r), files = rb_u64(r), bytes = rb_u64(r);
	streams_backup sb;
	ddt_attr a;
	int rc;

	if ((rc = req_parsed(q)) < 0 || (rc = tenant_ino(q, ino)) < 0)
		return rc;
	/* Everything the backup's commits name must be durable before the
	 * backup is called complete. */
	rc = store_barrier(d->st);
	if (rc == 0)
		rc = ns_backup_end(d->ns, ino, files, bytes, &a);
	if (rc == 0 && streams_backup_close(d->streams, ino, &sb))
		judge(d, &sb, bytes);
	if (rc == 0)
		ops_sent_settle(q, UINT64_MAX);	/* the rest is garbage */
	if (rc == 0)
		monitor_check_units(d);
	return req_reply_attr(w, rc, &a);
}

static int backup_list_cb(void *arg, const ns_backup *b)
{
	req_list *l = arg;
	wbuf *w = l->w;

	wb_backup(w, b);
	l->n++;
	return w->err;
}

static int op_backup_list(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1];
	req_list l;
	int rc;

	rb_str(r, su, sizeof(su));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_su(q, su, NULL)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = ns_backup_list(d->ns, su, backup_list_cb, &l);
	req_list_end(&l);
	return rc;
}

/* A backup user may remove a backup it could not finish (ddt backup
 * drops its half-made one), never a complete one. */
static int only_partial(req *q, const char *su, const char *id)
{
	ddt_attr a;
	ns_su u;
	int rc;

	if ((rc = tenant_su(q, su, &u)) < 0 ||
	    (rc = ns_lookup(q->d->ns, u.root, id, &a)) < 0)
		return rc;
	if ((a.flags & DDT_AF_BACKUP) && !(a.flags & DDT_AF_INCOMPLETE))
		return ddterr_set(-EACCES, "%s: user %s has the backup level: "
				  "it may remove only a backup it has not "
				  "ended, not %s", ddt_op_name(q->op), q->user,
				  id);
	return 0;
}

static int op_backup_delete(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_su(q, su, NULL)) < 0)
		return rc;
	if (q->role == DDT_ROLE_BACKUP && (rc = only_partial(q, su, id)) < 0)
		return rc;
	return ns_backup_delete(d->ns, su, id);
}

typedef struct find_backup {
	const char *id;
	ns_backup b;
	int found;
} find_backup;

static int find_backup_cb(void *arg, const ns_backup *b)
{
	find_backup *f = arg;

	if (strcmp(b->id, f->id) != 0)
		return 0;
	f->b = *b;
	f->found = 1;
	return 1;
}

/* A later expiry for a locked backup locks it longer: only an admin may,
 * and only up to retention_max_days from now. (An earlier one the
 * namespace refuses to everyone.) */
static int locked_extension(req *q, const char *su, const char *id,
			    int64_t expires)
{
	find_backup f = { .id = id };
	int64_t max = q->d->cfg.retention_max_days;
	int rc = ns_backup_list(q->d->ns, su, find_backup_cb, &f);

	if (rc < 0 || !f.found || !(f.b.flags & DDT_AF_LOCKED) ||
	    f.b.expires == 0 || (expires != 0 && expires <= f.b.expires))
		return rc < 0 ? rc : 0;
	if (q->role != DDT_ROLE_ADMIN)
		return ddterr_set(-EPERM, "BACKUP_SET: extending the expiry of "
				  "locked backup %s needs an admin user; %s "
				  "has the %s level", id, q->user,
				  ddt_role_name(q->role));
	if (expires == 0 || expires > now_ns() + max * NS_PER_DAY)
		return ddterr_set(-EPERM, "BACKUP_SET: backup %s is locked: "
				  "its expiry may be set at most %lld days "
				  "(retention_max_days) from now, not %s", id,
				  (long long)max, expires ? "later" : "never");
	return 0;
}

static int op_backup_set(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char su[DDT_MAX_STR + 1], id[DDT_MAX_STR + 1];
	int64_t expires;
	int rc;

	rb_str(r, su, sizeof(su));
	rb_str(r, id, sizeof(id));
	expires = rb_i64(r);
	if ((rc = req_parsed(q)) < 0 || (rc = tenant_su(q, su, NULL)) < 0 ||
	    (rc = locked_extension(q, su, id, expires)) < 0)
		return rc;
	return ns_backup_set_expiry(d->ns, su, id, expires);
}

static int expire_cb(void *arg, const char *su, const ns_backup *b)
{
	req_list *c = arg;

	wb_str(c->w, su);
	wb_str(c->w, b->id);
	wb_i64(c->w, b->expires);
	c->n++;
	/* Full: stop before the reply outgrows a payload; what was removed
	 * is all in it, and the client asks again for the rest. */
	if (c->w->len + 2 * (2 + DDT_MAX_NAME) + 8 > DDT_MAX_PAYLOAD)
		return 1;
	return c->w->err;
}

typedef struct expire_walk {
	req *q;
	req_list *l;
	int64_t now;
	uint8_t dry_run;
} expire_walk;

static int expire_unit_cb(void *arg, const ns_su *su)
{
	expire_walk *e = arg;

	return ns_expire(e->q->d->ns, su->name, e->now, e->dry_run, expire_cb,
			 e->l);
}

/* EXPIRE of every unit q may see: each of them in turn, until the reply
 * is full (> 0). */
static int expire_visible(req *q, req_list *l, uint8_t dry_run)
{
	expire_walk e = { .q = q, .l = l, .now = now_ns(),
			  .dry_run = dry_run };

	if (q->all_domains)
		return ns_expire(q->d->ns, NULL, e.now, dry_run, expire_cb, l);
	return tenant_su_list(q, expire_unit_cb, &e);
}

static int op_expire(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char su[DDT_MAX_STR + 1];
	req_list l;
	uint8_t dry_run;
	int rc;

	rb_str(r, su, sizeof(su));
	dry_run = rb_u8(r);
	if ((rc = req_parsed(q)) < 0 ||
	    (su[0] && (rc = tenant_su(q, su, NULL)) < 0))
		return rc;
	req_list_begin(&l, w);
	rc = su[0] ? ns_expire(d->ns, su, now_ns(), dry_run, expire_cb, &l) :
		     expire_visible(q, &l, dry_run);
	if (rc > 0)
		rc = 0;
	req_list_end(&l);
	return rc;
}

const req_handler ops_backup_handlers[] = {
	{ DDT_OP_BACKUP_BEGIN, op_backup_begin },
	{ DDT_OP_BACKUP_END, op_backup_end },
	{ DDT_OP_BACKUP_LIST, op_backup_list },
	{ DDT_OP_BACKUP_DELETE, op_backup_delete },
	{ DDT_OP_BACKUP_SET, op_backup_set },
	{ DDT_OP_EXPIRE, op_expire },
	{ 0, NULL }
};
