/* monitor.c - the daemon's watch over its own figures (monitor.h): the
 * thread, the unit checks that raise and clear the quota and stream
 * alerts, and the last scrub, clean and checkpoint. The kept figures are
 * a version byte then, little-endian, last_scrub_ns, the result (one
 * byte), last_clean_ns, the bytes it reclaimed and those it left. */
#include "monitor.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "ddtd.h"
#include "ddterr.h"
#include "fmt.h"
#include "log.h"
#include "now.h"

#define MAINT_KEY	"ddtd.maint"
#define MAINT_VERSION	1
#define MAINT_LEN	(1 + 8 + 1 + 8 + 8 + 8)
#define HARD_MAX	64	/* streams-hard alerts timed at once */

typedef struct hard_ref {
	char id[ALERT_ID_MAX + 1];
	int64_t at;
} hard_ref;

struct monitor {
	struct ddtd *d;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	monitor_figures f;
	uint64_t was_missing;	/* bit i + 1: data directory i; bit 0: root */
	hard_ref hard[HARD_MAX];
	int nhard;
};

/* ---- the kept figures ---- */

static void maint_load(monitor *m)
{
	uint8_t b[MAINT_LEN];

	if (idx_get_value(m->d->ix, MAINT_KEY, b, sizeof(b)) < 0 ||
	    b[0] != MAINT_VERSION)
		return;
	m->f.last_scrub_ns = (int64_t)get_le64(b + 1);
	m->f.last_scrub_result = b[9];
	m->f.last_clean_ns = (int64_t)get_le64(b + 10);
	m->f.last_clean_reclaimed_bytes = get_le64(b + 18);
	m->f.cleanable_bytes = get_le64(b + 26);
}

static void maint_save_locked(monitor *m)
{
	uint8_t b[MAINT_LEN] = { MAINT_VERSION };
	int rc;

	put_le64(b + 1, (uint64_t)m->f.last_scrub_ns);
	b[9] = (uint8_t)m->f.last_scrub_result;
	put_le64(b + 10, (uint64_t)m->f.last_clean_ns);
	put_le64(b + 18, m->f.last_clean_reclaimed_bytes);
	put_le64(b + 26, m->f.cleanable_bytes);
	if ((rc = idx_put_value(m->d->ix, MAINT_KEY, b, sizeof(b))) < 0)
		log_err("keeping the last scrub and clean: %s",
			ddterr_last(rc));
}

void monitor_scrub_done(monitor *m, const scrub_report *r)
{
	int res;

	if (!m || r->rc == -ECANCELED)
		return;
	if (r->rc < 0)
		res = SCRUB_RESULT_FAILED;
	else if (!r->clean)
		res = SCRUB_RESULT_UNREPAIRED;
	else
		res = r->st.fragments_rebuilt ? SCRUB_RESULT_REPAIRED :
		      SCRUB_RESULT_CLEAN;
	pthread_mutex_lock(&m->mu);
	m->f.last_scrub_ns = r->finished ? r->finished : now_ns();
	m->f.last_scrub_result = res;
	/* Everything rebuilt: no directory lacks fragments any more. */
	if (r->repair && res <= SCRUB_RESULT_REPAIRED)
		m->was_missing = 0;
	maint_save_locked(m);
	pthread_mutex_unlock(&m->mu);
}

void monitor_clean_done(monitor *m, const clean_report *r)
{
	if (!m || r->rc < 0)
		return;
	pthread_mutex_lock(&m->mu);
	m->f.last_clean_ns = r->finished ? r->finished : now_ns();
	m->f.last_clean_reclaimed_bytes = r->reclaimed_bytes;
	m->f.cleanable_bytes = r->dead_kept_bytes;
	maint_save_locked(m);
	pthread_mutex_unlock(&m->mu);
}

void monitor_checkpoint_done(struct ddtd *d, int rc)
{
	if (rc == 0) {
		alert_clear(d->alerts, "checkpoint-failed");
		return;
	}
	if (d->mon) {
		pthread_mutex_lock(&d->mon->mu);
		d->mon->f.checkpoint_failures++;
		pthread_mutex_unlock(&d->mon->mu);
	}
	alert_raise(d->alerts, "checkpoint-failed", DDT_SEV_WARNING,
		    "the last checkpoint failed: %s; the metadata's newest "
		    "copy is older than planned (ddt checkpoint list)",
		    ddterr_last(rc));
}

void monitor_get(monitor *m, monitor_figures *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	*out = m->f;
	pthread_mutex_unlock(&m->mu);
}

const char *monitor_dir_state(monitor *m, const store_dir_info *di,
			      int repairing)
{
	uint64_t bit = 1ull << (di->index + 1);
	int was;

	if (!m)
		return di->present ? "present" : "missing";
	pthread_mutex_lock(&m->mu);
	if (!di->present)
		m->was_missing |= bit;
	was = (m->was_missing & bit) != 0;
	pthread_mutex_unlock(&m->mu);
	if (!di->present)
		return "missing";
	if (was)
		return repairing ? "rebuilding" : "degraded";
	return "present";
}

/* ---- the unit checks ---- */

void monitor_stream_refused(monitor *m, const char *id)
{
	int i;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nhard && strcmp(m->hard[i].id, id); i++)
		;
	if (i == m->nhard && m->nhard < HARD_MAX)
		snprintf(m->hard[m->nhard++].id, sizeof(m->hard[0].id), "%s",
			 id);
	if (i < m->nhard)
		m->hard[i].at = now_ns();
	pthread_mutex_unlock(&m->mu);
}

/* streams-hard alerts whose last refusal is MONITOR_HARD_NS old. */
static void expire_hard(struct ddtd *d, int64_t now)
{
	monitor *m = d->mon;
	char id[ALERT_ID_MAX + 1];

	if (!m)
		return;
	for (;;) {
		int i;

		pthread_mutex_lock(&m->mu);
		for (i = 0; i < m->nhard && now - m->hard[i].at <
		     MONITOR_HARD_NS; i++)
			;
		if (i == m->nhard) {
			pthread_mutex_unlock(&m->mu);
			return;
		}
		snprintf(id, sizeof(id), "%s", m->hard[i].id);
		m->hard[i] = m->hard[--m->nhard];
		pthread_mutex_unlock(&m->mu);
		alert_clear(d->alerts, id);
	}
}

/* Raise alert id at severity sev with text when over, else clear it. */
static void alert_if(struct ddtd *d, const char *id, int over, int sev,
		     const char *text)
{
	if (over)
		alert_raise(d->alerts, id, sev, "%s", text);
	else
		alert_clear(d->alerts, id);
}

/* streams:U (or streams:* with root 0) against limits lim. */
static void check_streams(struct ddtd *d, uint64_t root, const char *id,
			  const char *who, const uint32_t lim[LIM_COUNT],
			  int64_t now)
{
	char text[ALERT_TEXT_MAX + 1];
	streams_count c;
	int ob, orr;

	streams_get(d->streams, root, now, &c);
	ob = lim[LIM_BACKUP_SOFT] && c.backup > lim[LIM_BACKUP_SOFT];
	/* A read is never refused: over either restore limit, an alert. */
	orr = (lim[LIM_RESTORE_SOFT] && c.restore > lim[LIM_RESTORE_SOFT]) ||
	      (lim[LIM_RESTORE_HARD] && c.restore > lim[LIM_RESTORE_HARD]);
	snprintf(text, sizeof(text), "%s: %u backup streams (soft limit %u), "
		 "%u restore streams (soft limit %u): backups and restores "
		 "share the target's disks and may slow down", who, c.backup,
		 lim[LIM_BACKUP_SOFT], c.restore, lim[LIM_RESTORE_SOFT]);
	alert_if(d, id, ob || orr, DDT_SEV_WARNING, text);
}

static void check_quota(struct ddtd *d, const ns_su *su, const unit_rec *u)
{
	char id[ALERT_ID_MAX + 1], text[ALERT_TEXT_MAX + 1];
	char held[FMT_LEN], q[FMT_LEN], soft_q[FMT_LEN];
	int hard = su->quota && su->logical_bytes >= su->quota;
	int soft = !hard && u->quota_soft &&
		   su->logical_bytes >= u->quota_soft;

	snprintf(id, sizeof(id), "quota-hard:%.*s", ALERT_ID_MAX - 11,
		 su->name);
	snprintf(text, sizeof(text), "storage unit %s holds %s, its quota is "
		 "%s: backups into it fail; expire or delete backups, or "
		 "raise the quota (ddt su set)", su->name,
		 fmt_bytes(su->logical_bytes, held), fmt_bytes(su->quota, q));
	alert_if(d, id, hard, DDT_SEV_CRITICAL, text);
	snprintf(id, sizeof(id), "quota-soft:%.*s", ALERT_ID_MAX - 11,
		 su->name);
	snprintf(text, sizeof(text), "storage unit %s holds %s, over its soft "
		 "quota of %s (%s%s)", su->name,
		 fmt_bytes(su->logical_bytes, held),
		 fmt_bytes(u->quota_soft, soft_q), su->quota ? "quota " :
		 "no quota", su->quota ? fmt_bytes(su->quota, q) : "");
	alert_if(d, id, soft, DDT_SEV_WARNING, text);
}

static int check_unit(void *arg, const ns_su *su)
{
	struct ddtd *d = arg;
	char id[ALERT_ID_MAX + 1], who[DDT_MAX_NAME + 16];
	unit_rec u;

	if (units_get(d->units, su->root, &u) < 0)
		return 0;	/* the next check tries again */
	check_quota(d, su, &u);
	snprintf(id, sizeof(id), "streams:%.*s", ALERT_ID_MAX - 8, su->name);
	snprintf(who, sizeof(who), "storage unit %s", su->name);
	check_streams(d, su->root, id, who, u.lim, now_ns());
	return 0;
}

/* Whether an alert of unit family prefix names a unit that is gone. */
static int unit_gone(struct ddtd *d, const char *id)
{
	static const char *const fam[] = {
		"quota-soft:", "quota-hard:", "streams:", "anomaly:",
	};
	ns_su su;

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if (!strncmp(id, fam[i], strlen(fam[i])) &&
		    strcmp(id + strlen(fam[i]), "*") != 0)
			return ns_su_get(d->ns, id + strlen(fam[i]), &su) ==
			       -ENOENT;
	return 0;
}

/* The alerts of units deleted since they were raised go too. */
static void clear_gone(struct ddtd *d)
{
	alert *v = NULL;
	size_t n = 0;

	if (alert_list(d->alerts, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (unit_gone(d, v[i].id))
			alert_clear(d->alerts, v[i].id);
	free(v);
}

void monitor_check_units(struct ddtd *d)
{
	int64_t now = now_ns();

	(void)ns_su_list(d->ns, check_unit, d);
	check_streams(d, 0, "streams:*", "the target", d->cfg.stream_lim, now);
	expire_hard(d, now);
	clear_gone(d);
}

/* ---- the thread ---- */

static void tick(monitor *m)
{
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX, rc;

	if ((rc = ingest_flush(m->d->ingest)) < 0 ||
	    (rc = units_flush(m->d->units)) < 0)
		log_err("keeping the ingest counters: %s", ddterr_last(rc));
	monitor_check_units(m->d);
	if (store_dir_status(m->d->st, di, &nd) == 0)
		for (int i = 0; i < nd; i++)
			(void)monitor_dir_state(m, &di[i], 0);
}

static void *run(void *arg)
{
	monitor *m = arg;
	struct timespec ts;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += MONITOR_INTERVAL;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->mu);
		tick(m);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int monitor_start(monitor **out, struct ddtd *d)
{
	monitor *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	m->d = d;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	maint_load(m);
	rc = pthread_create(&m->th, NULL, run, m);
	if (rc != 0) {
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		free(m);
		return ddterr_set(-rc, "cannot start the monitor thread");
	}
	m->started = 1;
	*out = m;
	return 0;
}

void monitor_stop(monitor *m)
{
	int rc;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->started)
		pthread_join(m->th, NULL);
	if ((rc = ingest_flush(m->d->ingest)) < 0 ||
	    (rc = units_flush(m->d->units)) < 0)
		log_err("keeping the ingest counters: %s", ddterr_last(rc));
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
