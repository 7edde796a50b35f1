/* ops_status.c - what the target says about itself: STATUS (capacity,
 * figures, directories, next runs, alert counts), STATUS_TEXT (each
 * directory's path and problem) and ALERTS (PROTOCOL.md sections 5, 8). */
#include "ops_sections.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "now.h"
#include "store_dirs.h"

/* The data directories' space as df shows it (PROTOCOL.md section 8),
 * and the store's own files as du does. */
static void status_space(ddtd *d, const store_dir_info *di, int nd, wbuf *w,
			 uint32_t *n)
{
	store_footprint_info f;
	store_space sp;

	store_data_space(di, nd, &sp);
	req_kv(w, n, "capacity_bytes", sp.total_bytes);
	req_kv(w, n, "used_bytes", sp.used_bytes);
	req_kv(w, n, "free_bytes", sp.free_bytes);
	req_kv(w, n, "used_pct", (uint64_t)sp.used_pct);
	req_kv(w, n, "data_filesystems", (uint64_t)sp.filesystems);
	if (store_footprint(d->st, &f) < 0)
		return;		/* out of memory: the figures are left out */
	req_kv(w, n, "index_bytes", f.index_bytes);
	req_kv(w, n, "journal_bytes", f.journal_bytes);
	req_kv(w, n, "checkpoint_bytes", f.checkpoint_bytes);
	req_kv(w, n, "footprint_bytes", f.total_bytes);
}

/* When each maintenance task next runs by itself; none when never. */
typedef struct next_ctx {
	wbuf *w;
	uint32_t *n;
} next_ctx;

static void next_kv(void *arg, const char *name, int64_t next)
{
	next_ctx *x = arg;
	char key[64];

	if (next == INT64_MAX)
		return;
	snprintf(key, sizeof(key), "next_%s_ns", name);
	req_kv(x->w, x->n, key, (uint64_t)next);
}

static void status_schedule(ddtd *d, wbuf *w, uint32_t *n)
{
	next_ctx x = { .w = w, .n = n };

	if (d->sc)
		schedule_foreach(d->sc, next_kv, &x);
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
			  wbuf *w, uint32_t *n)
{
	int k, m, ndirs;
	alert_counts ac;
	char key[32];

	store_geometry(d->st, &k, &m, &ndirs);
	req_kv(w, n, "ec_k", (uint64_t)k);
	req_kv(w, n, "ec_m", (uint64_t)m);
	req_kv(w, n, "data_dirs", (uint64_t)ndirs);
	for (int i = 0; i < nd; i++) {
		dir_key(&di[i], "present", key, sizeof(key));
		req_kv(w, n, key, (uint64_t)di[i].present);
		dir_key(&di[i], "capacity_bytes", key, sizeof(key));
		req_kv(w, n, key, di[i].total_bytes);
		dir_key(&di[i], "used_bytes", key, sizeof(key));
		req_kv(w, n, key, di[i].used_bytes);
		dir_key(&di[i], "free_bytes", key, sizeof(key));
		req_kv(w, n, key, di[i].free_bytes);
		dir_key(&di[i], "used_pct", key, sizeof(key));
		req_kv(w, n, key, (uint64_t)di[i].used_pct);
	}
	alert_get_counts(d->alerts, &ac);
	req_kv(w, n, "alerts_critical", ac.critical);
	req_kv(w, n, "alerts_warning", ac.warning);
	req_kv(w, n, "alerts_info", ac.info);
	req_kv(w, n, "alerts_seq", ac.seq);
}

static void kv_str(wbuf *w, uint32_t *n, const char *key, const char *v)
{
	wb_str(w, key);
	wb_str(w, v);
	(*n)++;
}

/* What STATUS cannot carry in a u64: each directory's path and problem. */
static int op_status_text(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;
	uint32_t n = 0;
	char key[32];
	size_t at;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = store_dir_status(d->st, di, &nd)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	for (int i = 0; i < nd; i++) {
		dir_key(&di[i], "path", key, sizeof(key));
		kv_str(w, &n, key, di[i].path);
		dir_key(&di[i], "problem", key, sizeof(key));
		kv_str(w, &n, key, di[i].problem);
	}
	wb_put_u32_at(w, at, n);
	return 0;
}

/* An alert of the table, as ALERTS lists it. */
static void reply_alert(wbuf *w, const alert *x)
{
	ddt_alert a = { .severity = (uint8_t)x->severity, .since = x->since };

	snprintf(a.id, sizeof(a.id), "%s", x->id);
	snprintf(a.text, sizeof(a.text), "%s", x->text);
	wb_alert(w, &a);
}

static int op_alerts(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	alert *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = alert_list(d->alerts, &v, &n)) < 0)
		return rc;
	wb_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		reply_alert(w, &v[i]);
	free(v);
	return 0;
}

static int op_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;
	store_stats st;
	ns_stats nst;
	uint32_t n = 0;
	size_t at;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	store_get_stats(d->st, &st);
	if ((rc = ns_get_stats(d->ns, &nst)) < 0 ||
	    (rc = store_dir_status(d->st, di, &nd)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	status_space(d, di, nd, w, &n);
	req_kv(w, &n, "logical_bytes", nst.logical_bytes);
	req_kv(w, &n, "stored_bytes", st.stored_bytes);
	req_kv(w, &n, "raw_bytes", st.raw_bytes);
	req_kv(w, &n, "physical_bytes", st.physical_bytes);
	req_kv(w, &n, "segments", st.segments);
	req_kv(w, &n, "containers", st.containers);
	req_kv(w, &n, "degraded_containers", st.degraded_containers);
	req_kv(w, &n, "journals_unmirrored", st.journals_unmirrored);
	req_kv(w, &n, "containers_read", st.containers_read);
	req_kv(w, &n, "containers_read_ahead", st.containers_read_ahead);
	req_kv(w, &n, "files", nst.files);
	req_kv(w, &n, "sessions", (uint64_t)__atomic_load_n(&d->sessions,
							    __ATOMIC_RELAXED));
	req_kv(w, &n, "max_sessions", (uint64_t)d->cfg.max_sessions);
	req_kv(w, &n, "storage_units", nst.storage_units);
	req_kv(w, &n, "backups", nst.backups);
	req_kv(w, &n, "uptime_seconds",
	       (uint64_t)((now_ns() - d->started) / 1000000000));
	status_schedule(d, w, &n);
	status_health(d, di, nd, w, &n);
	wb_put_u32_at(w, at, n);
	return 0;
}

const req_handler ops_status_handlers[] = {
	{ DDT_OP_STATUS, op_status },
	{ DDT_OP_STATUS_TEXT, op_status_text },
	{ DDT_OP_ALERTS, op_alerts },
	{ 0, NULL }
};
