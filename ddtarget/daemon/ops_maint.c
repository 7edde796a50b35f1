/* ops_maint.c - the requests about the target itself rather than its data:
 * STATUS and STATUS_TEXT (capacity, figures, directories, next runs),
 * ALERTS, checkpoints, cleaning and scrub. The rest of the session layer is
 * in ops.c; what both use is in ops_int.h. */
#include "ops_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "store_ckpt.h"
#include "store_dirs.h"

/* ---- status ---- */

/* The data directories' space as df shows it (PROTOCOL.md section 8),
 * and the store's own files as du does. */
static void status_space(ddtd *d, const store_dir_info *di, int nd, wbuf *w,
			 uint32_t *n)
{
	store_footprint_info f;
	store_space sp;

	store_data_space(di, nd, &sp);
	ops_kv(w, n, "capacity_bytes", sp.total_bytes);
	ops_kv(w, n, "used_bytes", sp.used_bytes);
	ops_kv(w, n, "free_bytes", sp.free_bytes);
	ops_kv(w, n, "used_pct", (uint64_t)sp.used_pct);
	ops_kv(w, n, "data_filesystems", (uint64_t)sp.filesystems);
	if (store_footprint(d->st, &f) < 0)
		return;		/* out of memory: the figures are left out */
	ops_kv(w, n, "index_bytes", f.index_bytes);
	ops_kv(w, n, "journal_bytes", f.journal_bytes);
	ops_kv(w, n, "checkpoint_bytes", f.checkpoint_bytes);
	ops_kv(w, n, "footprint_bytes", f.total_bytes);
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
	ops_kv(x->w, x->n, key, (uint64_t)next);
}

static void status_schedule(ddtd *d, wbuf *w, uint32_t *n)
{
	next_ctx x = { .w = w, .n = n };

	if (d->sc)
		sched_foreach(d->sc, next_kv, &x);
}

/* ---- health: directories, alerts ---- */

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
	ops_kv(w, n, "ec_k", (uint64_t)k);
	ops_kv(w, n, "ec_m", (uint64_t)m);
	ops_kv(w, n, "data_dirs", (uint64_t)ndirs);
	for (int i = 0; i < nd; i++) {
		dir_key(&di[i], "present", key, sizeof(key));
		ops_kv(w, n, key, (uint64_t)di[i].present);
		dir_key(&di[i], "capacity_bytes", key, sizeof(key));
		ops_kv(w, n, key, di[i].total_bytes);
		dir_key(&di[i], "used_bytes", key, sizeof(key));
		ops_kv(w, n, key, di[i].used_bytes);
		dir_key(&di[i], "free_bytes", key, sizeof(key));
		ops_kv(w, n, key, di[i].free_bytes);
		dir_key(&di[i], "used_pct", key, sizeof(key));
		ops_kv(w, n, key, (uint64_t)di[i].used_pct);
	}
	alert_get_counts(d->alerts, &ac);
	ops_kv(w, n, "alerts_critical", ac.critical);
	ops_kv(w, n, "alerts_warning", ac.warning);
	ops_kv(w, n, "alerts_info", ac.info);
	ops_kv(w, n, "alerts_seq", ac.seq);
}

static void kv_str(wbuf *w, uint32_t *n, const char *key, const char *v)
{
	wb_str(w, key);
	wb_str(w, v);
	(*n)++;
}

/* What STATUS cannot carry in a u64: each directory's path and problem. */
int ops_status_text(ddtd *d, rbuf *r, wbuf *w)
{
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;
	uint32_t n = 0;
	char key[32];
	size_t at;

	if ((rc = ops_parsed(r, DDT_OP_STATUS_TEXT)) < 0 ||
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

int ops_alerts(ddtd *d, rbuf *r, wbuf *w)
{
	alert *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_ALERTS)) < 0 ||
	    (rc = alert_list(d->alerts, &v, &n)) < 0)
		return rc;
	wb_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		wb_str(w, v[i].id);
		wb_u8(w, (uint8_t)v[i].severity);
		wb_i64(w, v[i].since);
		wb_str(w, v[i].text);
	}
	free(v);
	return 0;
}

int ops_status_req(ddtd *d, rbuf *r, wbuf *w)
{
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;
	store_stats st;
	ns_stats nst;
	uint32_t n = 0;
	size_t at;

	if ((rc = ops_parsed(r, DDT_OP_STATUS)) < 0)
		return rc;
	store_get_stats(d->st, &st);
	if ((rc = ns_get_stats(d->ns, &nst)) < 0 ||
	    (rc = store_dir_status(d->st, di, &nd)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	status_space(d, di, nd, w, &n);
	ops_kv(w, &n, "logical_bytes", nst.logical_bytes);
	ops_kv(w, &n, "stored_bytes", st.stored_bytes);
	ops_kv(w, &n, "raw_bytes", st.raw_bytes);
	ops_kv(w, &n, "physical_bytes", st.physical_bytes);
	ops_kv(w, &n, "segments", st.segments);
	ops_kv(w, &n, "containers", st.containers);
	ops_kv(w, &n, "degraded_containers", st.degraded_containers);
	ops_kv(w, &n, "journals_unmirrored", st.journals_unmirrored);
	ops_kv(w, &n, "containers_read", st.containers_read);
	ops_kv(w, &n, "containers_read_ahead", st.containers_read_ahead);
	ops_kv(w, &n, "files", nst.files);
	ops_kv(w, &n, "sessions", (uint64_t)__atomic_load_n(&d->sessions,
							  __ATOMIC_RELAXED));
	ops_kv(w, &n, "max_sessions", (uint64_t)d->cfg.max_sessions);
	ops_kv(w, &n, "storage_units", nst.storage_units);
	ops_kv(w, &n, "backups", nst.backups);
	ops_kv(w, &n, "uptime_seconds",
	   (uint64_t)((ops_now_ns() - d->started) / 1000000000));
	status_schedule(d, w, &n);
	status_health(d, di, nd, w, &n);
	wb_put_u32_at(w, at, n);
	return 0;
}

/* ---- checkpoints ----
 * Taking one flushes RocksDB and links or copies its files: seconds of
 * I/O at worst, which is why it runs here, on a worker, like every
 * request, and never on the event loop. */

int ops_checkpoint(ddtd *d, ops_session *ss, rbuf *r, wbuf *w)
{
	char name[STORE_CKPT_NAME_MAX];
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_CHECKPOINT)) < 0 ||
	    (rc = ops_need_admin(ss, "taking a checkpoint")) < 0 ||
	    (rc = store_checkpoint(d->st, NULL, 0, name, sizeof(name))) < 0)
		return rc;
	wb_str(w, name);
	return 0;
}

static int ckpt_list_cb(void *arg, const store_ckpt_info *ci)
{
	void **a = arg;
	wbuf *w = a[0];

	wb_str(w, ci->name);
	wb_i64(w, ci->created);
	wb_u64(w, ci->bytes);
	(*(uint32_t *)a[1])++;
	return w->err;
}

int ops_checkpoint_list(ddtd *d, rbuf *r, wbuf *w)
{
	uint32_t n = 0;
	void *a[2] = { w, &n };
	size_t at;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_CHECKPOINT_LIST)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	rc = store_checkpoint_list(store_checkpoint_dir(d->st), ckpt_list_cb,
				   a);
	wb_put_u32_at(w, at, n);
	return rc;
}

/* ---- cleaning ---- */

int ops_clean_start(ddtd *d, ops_session *ss, rbuf *r)
{
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_CLEAN_START)) < 0 ||
	    (rc = ops_need_admin(ss, "start cleaning")) < 0)
		return rc;
	return clean_start(d->cl);
}

int ops_clean_status(ddtd *d, rbuf *r, wbuf *w)
{
	clean_report c;
	uint32_t n = 0;
	size_t at;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_CLEAN_STATUS)) < 0)
		return rc;
	clean_status(d->cl, &c);
	wb_u8(w, (uint8_t)c.running);
	wb_str(w, c.phase);
	wb_str(w, c.msg);
	at = w->len;
	wb_u32(w, 0);
	ops_kv(w, &n, "started_ns", (uint64_t)c.started);
	ops_kv(w, &n, "finished_ns", (uint64_t)c.finished);
	ops_kv(w, &n, "files", c.files);
	ops_kv(w, &n, "metadata_segments", c.metadata_segments);
	ops_kv(w, &n, "damaged_files", c.damaged_files);
	ops_kv(w, &n, "containers_total", c.containers_total);
	ops_kv(w, &n, "containers_examined", c.containers_examined);
	ops_kv(w, &n, "examined_bytes", c.examined_bytes);
	ops_kv(w, &n, "candidates", c.candidates);
	ops_kv(w, &n, "containers_dropped", c.containers_dropped);
	ops_kv(w, &n, "containers_kept", c.containers_kept);
	ops_kv(w, &n, "segments_removed", c.segments_removed);
	ops_kv(w, &n, "bytes_copied", c.bytes_copied);
	ops_kv(w, &n, "reclaimed_bytes", c.reclaimed_bytes);
	ops_kv(w, &n, "orphan_files", c.orphan_files);
	ops_kv(w, &n, "physical_before", c.physical_before);
	ops_kv(w, &n, "physical_after", c.physical_after);
	ops_kv(w, &n, "cleans", c.cleans);
	wb_put_u32_at(w, at, n);
	return 0;
}

/* ---- scrub ---- */

int ops_scrub_start(ddtd *d, ops_session *ss, rbuf *r)
{
	uint8_t repair = rb_u8(r);
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_SCRUB_START)) < 0 ||
	    (rc = ops_need_admin(ss, "starting a scrub")) < 0)
		return rc;
	if (repair > 1)
		return ddterr_set(-EINVAL, "SCRUB_START: repair is 0 or 1, "
				  "not %u", repair);
	return scrub_start(d->scr, repair ? SCRUB_REPAIR : 0);
}

static void scrub_figures(wbuf *w, const scrub_report *c, uint32_t *n)
{
	const store_scrub_report *s = &c->st;

	ops_kv(w, n, "started_ns", (uint64_t)c->started);
	ops_kv(w, n, "finished_ns", (uint64_t)c->finished);
	ops_kv(w, n, "repair", (uint64_t)c->repair);
	ops_kv(w, n, "containers_total", s->containers_total);
	ops_kv(w, n, "containers_checked", s->containers_checked);
	ops_kv(w, n, "containers_vanished", s->containers_vanished);
	ops_kv(w, n, "fragments_checked", s->fragments_checked);
	ops_kv(w, n, "bytes_read", s->bytes_read);
	ops_kv(w, n, "fragments_missing", s->fragments_missing);
	ops_kv(w, n, "fragments_corrupt", s->fragments_corrupt);
	ops_kv(w, n, "fragments_rebuilt", s->fragments_rebuilt);
	ops_kv(w, n, "segments_checked", s->segments_checked);
	ops_kv(w, n, "segments_bad", s->segments_bad);
	ops_kv(w, n, "containers_damaged", s->containers_damaged);
	ops_kv(w, n, "containers_unrecoverable", s->containers_unrecoverable);
	ops_kv(w, n, "index_missing", s->index_missing);
	ops_kv(w, n, "errors", s->errors);
	ops_kv(w, n, "journals_checked", s->journals_checked);
	ops_kv(w, n, "journal_records", s->journal_records);
	ops_kv(w, n, "journals_damaged", s->journals_damaged);
	ops_kv(w, n, "journals_sealed", s->journals_sealed);
	ops_kv(w, n, "lost_containers", (uint64_t)s->nlost);
	ops_kv(w, n, "lost_segments", c->lost_segments);
	ops_kv(w, n, "unnamed_containers", c->unnamed_containers);
	ops_kv(w, n, "files_checked", c->files_checked);
	ops_kv(w, n, "files_missing_segments", c->files_missing_segments);
	ops_kv(w, n, "files_bad_tree", c->files_bad_tree);
	ops_kv(w, n, "affected_backups", c->affected_backups);
	ops_kv(w, n, "affected_files", c->affected_files);
	ops_kv(w, n, "elapsed_ms", (uint64_t)(s->seconds * 1000));
	ops_kv(w, n, "scrubs", c->scrubs);
	ops_kv(w, n, "clean", (uint64_t)c->clean);
	ops_kv(w, n, "result", (uint64_t)(c->rc < 0 ? -c->rc : 0));
}

int ops_scrub_status(ddtd *d, rbuf *r, wbuf *w)
{
	scrub_report *c;
	uint32_t n = 0;
	size_t at;
	int rc;

	if ((rc = ops_parsed(r, DDT_OP_SCRUB_STATUS)) < 0)
		return rc;
	c = malloc(sizeof(*c));		/* too large for a worker's stack */
	if (!c)
		return -ENOMEM;
	scrub_status(d->scr, c);
	wb_u8(w, (uint8_t)c->running);
	wb_str(w, c->phase);
	wb_str(w, c->msg);
	at = w->len;
	wb_u32(w, 0);
	scrub_figures(w, c, &n);
	wb_put_u32_at(w, at, n);
	wb_u32(w, (uint32_t)c->naffected);
	for (size_t i = 0; i < c->naffected; i++) {
		wb_str(w, c->affected[i].su);
		wb_str(w, c->affected[i].backup);
		wb_u64(w, c->affected[i].files);
	}
	free(c);
	return 0;
}
