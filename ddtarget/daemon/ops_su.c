/* ops_su.c - storage units (PROTOCOL.md section 5, Storage units): create,
 * list, delete, open, SU_SET's retention, retention lock, quotas and
 * stream limits, and what SU_STATS and STREAMS say of them. */
#include "ops_sections.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ddterr.h"
#include "now.h"
#include "tenant.h"

/* The domain a new unit goes to: the one asked for (only the system
 * domain's admins may name another than their own), else the creator's. */
static int new_unit_domain(const req *q, const char *asked, const char **out)
{
	*out = asked[0] ? asked : q->domain;
	if (q->all_domains || strcmp(*out, q->domain) == 0)
		return 0;
	return ddterr_set(-EPERM, "creating a storage unit in domain %.64s "
			  "needs an admin of the %s domain; %s is of domain "
			  "%s", *out, DDT_DOMAIN_SYSTEM, q->user, q->domain);
}

static int op_su_create(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1], asked[DDT_MAX_STR + 1] = "";
	const char *domain;
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if (rb_left(r) > 0)	/* the optional domain */
		rb_str(r, asked, sizeof(asked));
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "creating a storage unit")) < 0 ||
	    (rc = new_unit_domain(q, asked, &domain)) < 0 ||
	    (rc = ns_su_create_in(d->ns, name, domain, &su)) < 0)
		return rc;
	wb_u64(w, su.root);
	return 0;
}

static int su_list_cb(void *arg, const ns_su *su)
{
	req_list *l = arg;
	wbuf *w = l->w;

	wb_su(w, su);
	l->n++;
	return w->err;
}

static int op_su_list(req *q)
{
	wbuf *w = q->w;
	req_list l;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = tenant_su_list(q, su_list_cb, &l);
	req_list_end(&l);
	return rc;
}

static int op_su_delete(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	char name[DDT_MAX_STR + 1];
	uint8_t recursive;
	int rc;

	rb_str(r, name, sizeof(name));
	recursive = rb_u8(r);
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "deleting a storage unit")) < 0 ||
	    (rc = tenant_su(q, name, NULL)) < 0)
		return rc;
	return ns_su_delete(d->ns, name, recursive);
}

static int op_su_open(req *q)
{
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = tenant_su(q, name, &su)) < 0)
		return rc;
	wb_su_info(w, &su);
	return 0;
}

/* A soft limit over its hard one would never warn before refusing. */
static int limits_ok(const uint32_t lim[LIM_COUNT])
{
	static const char *const what[2] = { "backup", "restore" };

	for (int i = 0; i < 2; i++)
		if (lim[2 * i] && lim[2 * i + 1] && lim[2 * i] > lim[2 * i + 1])
			return ddterr_set(-EINVAL, "SU_SET: the %s soft limit "
					  "%u is over its hard limit %u",
					  what[i], lim[2 * i], lim[2 * i + 1]);
	return 0;
}

static int op_su_set(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	char name[DDT_MAX_STR + 1];
	uint64_t retention, quota, quota_soft = 0;
	uint32_t mask, lim[LIM_COUNT] = { 0 };
	uint8_t lock;
	ns_su su;
	int rc;

	rb_str(r, name, sizeof(name));
	mask = rb_u32(r);
	retention = rb_u64(r);
	lock = rb_u8(r);
	quota = rb_u64(r);
	/* The second part comes with its bits, and only with them. */
	if (mask & DDT_SU_SET_EXTENDED)
		rb_su_set_ext(r, &quota_soft, lim);
	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "changing a storage unit's settings")) < 0 ||
	    (rc = tenant_su(q, name, NULL)) < 0)
		return rc;
	if (mask & ~(DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK | DDT_SU_SET_QUOTA |
		     DDT_SU_SET_EXTENDED))
		return ddterr_set(-EINVAL, "SU_SET: unknown mask bits 0x%x",
				  mask);
	if ((mask & DDT_SU_SET_STREAMS) && (rc = limits_ok(lim)) < 0)
		return rc;
	/* The namespace's settings first: it checks the unit and the lock,
	 * so a refusal leaves both parts as they were. (Only a failure to
	 * write the second part after, -EIO, leaves the first applied.) */
	rc = ns_su_set(d->ns, name, mask & ~DDT_SU_SET_EXTENDED, retention,
		       lock, quota, &su);
	if (rc == 0 && (mask & DDT_SU_SET_EXTENDED))
		rc = units_set(d->units, su.root, !!(mask & DDT_SU_SET_QUOTA_SOFT),
			       quota_soft, !!(mask & DDT_SU_SET_STREAMS), lim);
	if (rc < 0)
		return rc;
	monitor_check_units(d);
	wb_su_info(w, &su);
	return 0;
}

/* ---- SU_STATS, STREAMS ---- */

typedef struct stats_walk {
	ddtd *d;
	req_list l;
	int64_t now;
} stats_walk;

static int su_stats_cb(void *arg, const ns_su *su)
{
	stats_walk *s = arg;
	ddt_su_stats st = { .locked = su->locked, .quota_hard = su->quota,
			    .logical_bytes = su->logical_bytes,
			    .files = su->files };
	streams_count c;
	uint64_t nb;
	unit_rec u;
	int rc;

	if ((rc = units_get(s->d->units, su->root, &u)) < 0 ||
	    (rc = ns_su_backups(s->d->ns, su->root, &nb)) < 0)
		return rc;
	streams_get(s->d->streams, su->root, s->now, &c);
	memcpy(st.name, su->name, sizeof(st.name));
	st.quota_soft = u.quota_soft;
	st.state = su->quota && su->logical_bytes >= su->quota ?
		   DDT_SU_QUOTA_FULL : u.quota_soft && su->logical_bytes >=
		   u.quota_soft ? DDT_SU_QUOTA_SOFT : DDT_SU_OK;
	st.ingest_logical_bytes = u.ingest[ING_LOGICAL];
	st.ingest_raw_bytes = u.ingest[ING_RAW];
	st.ingest_stored_bytes = u.ingest[ING_STORED];
	st.streams_backup = c.backup;
	st.streams_restore = c.restore;
	st.streams_replication = c.replication;
	st.backup_soft = u.lim[LIM_BACKUP_SOFT];
	st.backup_hard = u.lim[LIM_BACKUP_HARD];
	st.restore_soft = u.lim[LIM_RESTORE_SOFT];
	st.restore_hard = u.lim[LIM_RESTORE_HARD];
	st.backups = nb;
	wb_su_stats(s->l.w, &st);
	s->l.n++;
	return s->l.w->err;
}

static void streams_row(stats_walk *s, const char *name, uint64_t root,
			const uint32_t lim[LIM_COUNT])
{
	ddt_streams r = { .backup_soft = lim[LIM_BACKUP_SOFT],
			  .backup_hard = lim[LIM_BACKUP_HARD],
			  .restore_soft = lim[LIM_RESTORE_SOFT],
			  .restore_hard = lim[LIM_RESTORE_HARD] };
	streams_count c;

	streams_get(s->d->streams, root, s->now, &c);
	snprintf(r.su, sizeof(r.su), "%s", name);
	r.backup = c.backup;
	r.restore = c.restore;
	r.replication = c.replication;
	wb_streams(s->l.w, &r);
	s->l.n++;
}

static int streams_cb(void *arg, const ns_su *su)
{
	stats_walk *s = arg;
	unit_rec u;
	int rc;

	if ((rc = units_get(s->d->units, su->root, &u)) < 0)
		return rc;
	streams_row(s, su->name, su->root, u.lim);
	return s->l.w->err;
}

static int op_su_stats(req *q)
{
	stats_walk s = { .d = q->d, .now = now_ns() };
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&s.l, q->w);
	rc = tenant_su_list(q, su_stats_cb, &s);
	req_list_end(&s.l);
	return rc;
}

static int op_streams(req *q)
{
	stats_walk s = { .d = q->d, .now = now_ns() };
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&s.l, q->w);
	streams_row(&s, "", 0, q->d->cfg.stream_lim);
	rc = tenant_su_list(q, streams_cb, &s);
	req_list_end(&s.l);
	return rc;
}

const req_handler ops_su_handlers[] = {
	{ DDT_OP_SU_CREATE, op_su_create },
	{ DDT_OP_SU_LIST, op_su_list },
	{ DDT_OP_SU_DELETE, op_su_delete },
	{ DDT_OP_SU_OPEN, op_su_open },
	{ DDT_OP_SU_SET, op_su_set },
	{ DDT_OP_SU_STATS, op_su_stats },
	{ DDT_OP_STREAMS, op_streams },
	{ 0, NULL }
};
