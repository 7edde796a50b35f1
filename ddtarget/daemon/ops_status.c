/* ops_status.c - what the target says about itself: STATUS (capacity,
 * figures, ingest, streams, directories, maintenance, next runs, alert
 * counts), STATUS_TEXT (version, identity, each directory's path, state
 * and problem), ALERTS and ALERT_EVENTS (PROTOCOL.md sections 5, 8). */
#include "ops_sections.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "now.h"
#include "store_ckpt.h"
#include "store_dirs.h"
#include "tenant.h"
#include "tlsd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* The data directories' space as df shows it (PROTOCOL.md section 8),
 * and the store's own files as du does. */
static void status_space(ddtd *d, const store_dir_info *di, int nd,
			 req_list *l)
{
	store_footprint_info f;
	store_space sp;

	store_data_space(di, nd, &sp);
	req_kv(l, "capacity_bytes", sp.total_bytes);
	req_kv(l, "used_bytes", sp.used_bytes);
	req_kv(l, "free_bytes", sp.free_bytes);
	req_kv(l, "used_pct", (uint64_t)sp.used_pct);
	req_kv(l, "data_filesystems", (uint64_t)sp.filesystems);
	if (store_footprint(d->st, &f) < 0)
		return;		/* out of memory: the figures are left out */
	req_kv(l, "index_bytes", f.index_bytes);
	req_kv(l, "journal_bytes", f.journal_bytes);
	req_kv(l, "checkpoint_bytes", f.checkpoint_bytes);
	req_kv(l, "footprint_bytes", f.total_bytes);
}

/* When each maintenance task next runs by itself; none when never. */
static void next_kv(void *arg, const char *name, int64_t next)
{
	char key[64];

	if (next == INT64_MAX)
		return;
	snprintf(key, sizeof(key), "next_%s_ns", name);
	req_kv(arg, key, (uint64_t)next);
}

static void status_schedule(ddtd *d, req_list *l)
{
	if (d->sc)
		schedule_foreach(d->sc, next_kv, l);
}

/* "root" or "dirN": the prefix of a directory's STATUS keys. */
static void dir_key(const store_dir_info *di, const char *what, char *buf,
		    size_t cap)
{
	if (di->index < 0)
		snprintf(buf, cap, "root.%s", what);
	else
		snprintf(buf, cap, "dir%d.%s", di->index, what);
}

/* STATUS's keys for each directory, the geometry and the alert counts. */
static void status_health(ddtd *d, const store_dir_info *di, int nd,
			  req_list *l)
{
	int k, m, ndirs;
	alert_counts ac;
	monitor_figures f;
	uint64_t dead = 0;
	char key[32];

	store_geometry(d->st, &k, &m, &ndirs);
	/* A directory's share of what a clean would reclaim (fragments'
	 * bytes, parity included): spread over the data directories as the
	 * fragments are, evenly. */
	monitor_get(d->mon, &f);
	if (ndirs > 0)
		dead = f.cleanable_bytes / (uint64_t)ndirs;
	req_kv(l, "ec_k", (uint64_t)k);
	req_kv(l, "ec_m", (uint64_t)m);
	req_kv(l, "data_dirs", (uint64_t)ndirs);
	for (int i = 0; i < nd; i++) {
		dir_key(&di[i], "present", key, sizeof(key));
		req_kv(l, key, (uint64_t)di[i].present);
		dir_key(&di[i], "capacity_bytes", key, sizeof(key));
		req_kv(l, key, di[i].total_bytes);
		dir_key(&di[i], "used_bytes", key, sizeof(key));
		req_kv(l, key, di[i].used_bytes);
		dir_key(&di[i], "free_bytes", key, sizeof(key));
		req_kv(l, key, di[i].free_bytes);
		dir_key(&di[i], "used_pct", key, sizeof(key));
		req_kv(l, key, (uint64_t)di[i].used_pct);
		dir_key(&di[i], "cleanable_bytes", key, sizeof(key));
		req_kv(l, key, di[i].index < 0 || !di[i].present ? 0 : dead);
	}
	alert_get_counts(d->alerts, &ac);
	req_kv(l, "alerts_critical", ac.critical);
	req_kv(l, "alerts_warning", ac.warning);
	req_kv(l, "alerts_info", ac.info);
	req_kv(l, "alerts_seq", ac.seq);
}

static void kv_str(req_list *l, const char *key, const char *v)
{
	wb_str(l->w, key);
	wb_str(l->w, v);
	l->n++;
}

/* Whether a scrub that rewrites what it rebuilds runs now. */
static int repairing(ddtd *d)
{
	scrub_report *r = malloc(sizeof(*r));
	int yes;

	if (!r)
		return 0;
	scrub_status(d->scr, r);
	yes = r->running && r->repair;
	free(r);
	return yes;
}

/* What STATUS cannot carry in a u64: the version, the store's identity,
 * the TLS certificate's fingerprint, why the erasure code is what it is,
 * each directory's path, state and problem. */
static int op_status_text(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc, rep;
	char key[32], id[33], why[256];
	req_list l;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = store_dir_status(d->st, di, &nd)) < 0)
		return rc;
	rep = repairing(d);
	store_id_hex(d->st, id);
	req_list_begin(&l, w);
	kv_str(&l, "version", PACKAGE_VERSION);
	kv_str(&l, "store_id", id);
	if (d->tls)
		kv_str(&l, "tls_fingerprint", tlsd_fingerprint(d->tls));
	kv_str(&l, "ec_origin",
	       store_ec_origin_name(store_geometry_origin(d->st)));
	store_geometry_why(d->st, why, sizeof(why));
	kv_str(&l, "ec_reason", why);
	for (int i = 0; i < nd; i++) {
		dir_key(&di[i], "path", key, sizeof(key));
		kv_str(&l, key, di[i].path);
		dir_key(&di[i], "state", key, sizeof(key));
		kv_str(&l, key, monitor_dir_state(d->mon, &di[i], rep));
		dir_key(&di[i], "problem", key, sizeof(key));
		kv_str(&l, key, di[i].problem);
	}
	req_list_end(&l);
	return 0;
}

/* An alert of the table, as ALERTS lists it to q. */
static void reply_alert(const req *q, const alert *x)
{
	ddt_alert a = { .severity = (uint8_t)x->severity, .since = x->since };
	wbuf *w = q->w;

	snprintf(a.id, sizeof(a.id), "%s", x->id);
	snprintf(a.text, sizeof(a.text), "%s",
		 tenant_alert_text(q, x->id, x->text));
	wb_alert(w, &a);
}

static int op_alerts(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	alert *v = NULL;
	size_t n = 0;
	int rc;

	req_list l;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = alert_list(d->alerts, &v, &n)) < 0)
		return rc;
	req_list_begin(&l, w);
	for (size_t i = 0; i < n; i++)
		if (tenant_alert(q, v[i].id)) {
			reply_alert(q, &v[i]);
			l.n++;
		}
	req_list_end(&l);
	free(v);
	return 0;
}

/* The whole ring fits one reply: 1024 events of the longest id and text
 * take under 1.5 MiB. */
static int op_alert_events(req *q)
{
	uint64_t after = rb_u64(&q->r), last;
	alert_event *v = NULL;
	ddt_alert_event *e;
	req_list l;
	size_t n = 0;
	int rc, gap;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	if (!(e = malloc(sizeof(*e))))
		return -ENOMEM;
	rc = alert_events(q->d->alerts, after, ALERT_EVENTS_MAX, &v, &n, &last,
			  &gap);
	if (rc == 0) {
		wb_u64(q->w, last);
		wb_u8(q->w, (uint8_t)gap);
		req_list_begin(&l, q->w);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!tenant_alert(q, v[i].a.id))
			continue;
		l.n++;
		memset(e, 0, sizeof(*e));
		e->seq = v[i].a.seq;
		e->raised = (uint8_t)v[i].raised;
		e->severity = (uint8_t)v[i].a.severity;
		e->time = v[i].time;
		snprintf(e->id, sizeof(e->id), "%s", v[i].a.id);
		snprintf(e->text, sizeof(e->text), "%s",
			 tenant_alert_text(q, v[i].a.id, v[i].a.text));
		wb_alert_event(q->w, e);
	}
	if (rc == 0)
		req_list_end(&l);
	free(v);
	free(e);
	return rc;
}

/* The ingest counters, in total and over the last day and week. */
static void status_ingest(ddtd *d, req_list *l)
{
	static const char *const what[ING_COUNT] = { "logical", "raw",
						     "stored" };
	ingest_figures g;
	char key[48];

	ingest_get(d->ingest, now_ns(), &g);
	for (int i = 0; i < ING_COUNT; i++) {
		snprintf(key, sizeof(key), "ingest_%s_bytes", what[i]);
		req_kv(l, key, g.total[i]);
		snprintf(key, sizeof(key), "%s_24h_bytes", what[i]);
		req_kv(l, key, g.day[i]);
		snprintf(key, sizeof(key), "%s_7d_bytes", what[i]);
		req_kv(l, key, g.week[i]);
	}
}

/* The streams of the whole target, and its limits. */
static void status_streams(ddtd *d, req_list *l)
{
	const uint32_t *lim = d->cfg.stream_lim;
	streams_count c;

	streams_get(d->streams, 0, now_ns(), &c);
	req_kv(l, "streams_backup", c.backup);
	req_kv(l, "streams_restore", c.restore);
	req_kv(l, "streams_replication", c.replication);
	req_kv(l, "streams_backup_soft", lim[LIM_BACKUP_SOFT]);
	req_kv(l, "streams_backup_hard", lim[LIM_BACKUP_HARD]);
	req_kv(l, "streams_restore_soft", lim[LIM_RESTORE_SOFT]);
	req_kv(l, "streams_restore_hard", lim[LIM_RESTORE_HARD]);
}

static int newest_ckpt(void *arg, const store_ckpt_info *ci)
{
	int64_t *t = arg;

	if (ci->created > *t)
		*t = ci->created;
	return 0;
}

/* How far a clean has gone: containers examined of those it measures
 * (0 while it marks, 100 when done). */
static uint64_t clean_pct(const clean_report *c)
{
	if (!c->running)
		return c->started ? 100 : 0;
	if (!c->containers_total)
		return 0;
	return c->containers_examined * 100 / c->containers_total;
}

/* The last scrub, clean and checkpoint. */
static void status_maint(ddtd *d, req_list *l)
{
	monitor_figures f;
	int64_t ck = 0;
	clean_report c;

	monitor_get(d->mon, &f);
	clean_status(d->cl, &c);
	(void)store_checkpoint_list(store_checkpoint_dir(d->st), newest_ckpt,
				    &ck);
	req_kv(l, "last_scrub_ns", (uint64_t)f.last_scrub_ns);
	req_kv(l, "last_scrub_result", (uint64_t)f.last_scrub_result);
	req_kv(l, "clean_running", (uint64_t)(c.running != 0));
	req_kv(l, "clean_progress_pct", clean_pct(&c));
	req_kv(l, "last_clean_ns", (uint64_t)f.last_clean_ns);
	req_kv(l, "last_clean_reclaimed_bytes", f.last_clean_reclaimed_bytes);
	req_kv(l, "last_checkpoint_ns", (uint64_t)ck);
	req_kv(l, "checkpoint_failures", f.checkpoint_failures);
	req_kv(l, "cleanable_bytes", f.cleanable_bytes);
}

static int op_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;
	store_stats st;
	ns_stats nst;
	req_list l;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	store_get_stats(d->st, &st);
	if ((rc = ns_get_stats(d->ns, &nst)) < 0 ||
	    (rc = store_dir_status(d->st, di, &nd)) < 0)
		return rc;
	req_list_begin(&l, w);
	status_space(d, di, nd, &l);
	req_kv(&l, "logical_bytes", nst.logical_bytes);
	req_kv(&l, "stored_bytes", st.stored_bytes);
	req_kv(&l, "uncommitted_bytes", pending_total(d->pending));
	req_kv(&l, "raw_bytes", st.raw_bytes);
	req_kv(&l, "physical_bytes", st.physical_bytes);
	req_kv(&l, "segments", st.segments);
	req_kv(&l, "containers", st.containers);
	req_kv(&l, "degraded_containers", st.degraded_containers);
	req_kv(&l, "journals_unmirrored", st.journals_unmirrored);
	req_kv(&l, "containers_read", st.containers_read);
	req_kv(&l, "containers_read_ahead", st.containers_read_ahead);
	req_kv(&l, "files", nst.files);
	req_kv(&l, "sessions", (uint64_t)__atomic_load_n(&d->sessions,
							    __ATOMIC_RELAXED));
	req_kv(&l, "max_sessions", (uint64_t)d->cfg.max_sessions);
	req_kv(&l, "storage_units", nst.storage_units);
	req_kv(&l, "backups", nst.backups);
	req_kv(&l, "uptime_seconds",
	       (uint64_t)((now_ns() - d->started) / 1000000000));
	/* What this target adds to version 1 (PROTOCOL.md, section 5). */
	req_kv(&l, "proto_set_content", 1);
	req_kv(&l, "proto_read_files", 1);
	status_ingest(d, &l);
	status_streams(d, &l);
	status_maint(d, &l);
	status_schedule(d, &l);
	status_health(d, di, nd, &l);
	req_list_end(&l);
	return 0;
}

const req_handler ops_status_handlers[] = {
	{ DDT_OP_STATUS, op_status },
	{ DDT_OP_STATUS_TEXT, op_status_text },
	{ DDT_OP_ALERTS, op_alerts },
	{ DDT_OP_ALERT_EVENTS, op_alert_events },
	{ 0, NULL }
};
