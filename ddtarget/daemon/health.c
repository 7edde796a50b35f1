/* health.c - the conditions behind the daemon's alerts (see health.h):
 * the directory and space check on its timer thread, and the verdicts on
 * finished scrubs and cleans. Each condition owns a fixed alert id, so a
 * check raises what holds and clears what no longer does. */
#include "health.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddterr.h"
#include "fmt.h"
#include "store_dirs.h"

#define INTERVAL_DEFAULT	30
#define NAMED_MAX		3	/* backups named in an alert's text */

struct health {
	store *st;
	alert_table *t;
	health_config cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* One check at a time: a check begun before a change and ending
	 * after a later one's would put back what the later one cleared. */
	pthread_mutex_t check_mu;
	int stop;
	pthread_t thread;
};

/* ---- directories and space ---- */

static void dir_name(const store_dir_info *d, char *buf, size_t cap)
{
	if (d->index < 0)
		snprintf(buf, cap, "root");
	else
		snprintf(buf, cap, "dir%d", d->index);
}

static void check_present(alert_table *t, const store_dir_info *d)
{
	char name[16], id[ALERT_ID_MAX + 1];

	dir_name(d, name, sizeof(name));
	snprintf(id, sizeof(id), "dir:%s", name);
	if (d->present)
		alert_clear(t, id);
	else if (d->index < 0)
		alert_raise(t, id, DDT_SEV_CRITICAL, "the store's root %s (index "
			    "and journal) is unusable (%s): restore it and "
			    "restart ddtargetd", d->path, d->problem);
	else
		alert_raise(t, id, DDT_SEV_CRITICAL, "data directory %d (%s) is "
			    "unusable (%s): its fragments are rebuilt from the "
			    "others on every read; replace the disk (an empty "
			    "directory in its place), then run 'ddt scrub "
			    "start' to rebuild them", d->index, d->path,
			    d->problem);
}

/* One alert per file system, on its first directory in the store's
 * order; directories sharing it, or missing, hold none. */
static void check_space(alert_table *t, const store_dir_info *d, int nd,
			int i, const health_config *c)
{
	char name[16], id[ALERT_ID_MAX + 1], fb[FMT_LEN], tb[FMT_LEN];
	int sharing = 0, first = d[i].present && d[i].total_bytes > 0;
	int pct = d[i].used_pct;

	for (int j = 0; first && j < i; j++)
		if (d[j].present && d[j].total_bytes && d[j].fsid == d[i].fsid)
			first = 0;
	for (int j = 0; first && j < nd; j++)
		sharing += j != i && d[j].present && d[j].fsid == d[i].fsid;
	dir_name(&d[i], name, sizeof(name));
	snprintf(id, sizeof(id), "space:%s", name);
	if (!first || (pct <= c->space_warning_pct &&
		       pct <= c->space_critical_pct)) {
		alert_clear(t, id);
		return;
	}
	alert_raise(t, id, pct > c->space_critical_pct ? DDT_SEV_CRITICAL :
		    DDT_SEV_WARNING, "the file system of %s (%s%s) is %d%% "
		    "full, over the %s threshold of %d%%: %s free of %s; "
		    "expire or delete backups and clean, or add capacity",
		    d[i].index < 0 ? "the store's root" : name, d[i].path,
		    sharing ? ", with other store directories" : "", pct,
		    pct > c->space_critical_pct ? "critical" : "warning",
		    pct > c->space_critical_pct ? c->space_critical_pct :
						  c->space_warning_pct,
		    fmt_bytes(d[i].free_bytes, fb),
		    fmt_bytes(d[i].total_bytes, tb));
}

void health_check_dirs(store *st, alert_table *t, const health_config *c)
{
	store_dir_info d[STORE_DIR_INFO_MAX];
	int n = STORE_DIR_INFO_MAX, k, m, ndirs, missing = 0;

	if (store_dir_status(st, d, &n) < 0)
		return;
	store_geometry(st, &k, &m, &ndirs);
	for (int i = 0; i < n; i++) {
		check_present(t, &d[i]);
		check_space(t, d, n, i, c);
		missing += d[i].index >= 0 && !d[i].present;
	}
	if (missing > m)
		alert_raise(t, "dirs-lost", DDT_SEV_CRITICAL, "%d of %d data "
			    "directories are unusable, more than the %d the "
			    "erasure code (%d+%d) covers: data on them cannot be "
			    "read until they are back", missing, ndirs, m, k, m);
	else
		alert_clear(t, "dirs-lost");
}

void health_check_now(health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->check_mu);
	health_check_dirs(h->st, h->t, &h->cfg);
	pthread_mutex_unlock(&h->check_mu);
}

/* ---- the timer thread ---- */

static void *health_main(void *arg)
{
	health *h = arg;
	struct timespec until;

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += h->cfg.interval;
		while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu,
							  &until) != ETIMEDOUT)
			;
		if (h->stop)
			break;
		pthread_mutex_unlock(&h->mu);
		health_check_now(h);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int health_start(health **out, store *st, alert_table *t,
		 const health_config *cfg)
{
	pthread_condattr_t ca;
	health *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->st = st;
	h->t = t;
	h->cfg = *cfg;
	if (h->cfg.interval <= 0)
		h->cfg.interval = INTERVAL_DEFAULT;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->check_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	health_check_now(h);
	rc = pthread_create(&h->thread, NULL, health_main, h);
	if (rc) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->check_mu);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return ddterr_set(-rc, "cannot start the health check: %s",
				  strerror(rc));
	}
	*out = h;
	return 0;
}

void health_stop(health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->check_mu);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* ---- scrubs and cleans ---- */

/* "su/backup, su/backup and N more" for the first affected entries. */
static void name_affected(const scrub_report *r, char *buf, size_t cap)
{
	size_t len = 0, shown = r->naffected < NAMED_MAX ? r->naffected :
							  NAMED_MAX;

	buf[0] = '\0';
	for (size_t i = 0; i < shown && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s/%s",
					i ? ", " : "", r->affected[i].su,
					r->affected[i].backup[0] ?
					r->affected[i].backup :
					"(outside backups)");
	if (len < cap && r->affected_backups > shown)
		snprintf(buf + len, cap - len, " and %" PRIu64 " more",
			 r->affected_backups - shown);
}

/* Lost containers, and files whose trees name segments the target does
 * not hold or do not describe the file: one alert, naming the backups. */
static void lost_alert(alert_table *t, const scrub_report *r)
{
	char names[ALERT_TEXT_MAX + 1], ctrs[64] = "";

	if (!r->st.nlost && !r->affected_files) {
		alert_clear(t, "scrub-lost");
		return;
	}
	name_affected(r, names, sizeof(names));
	if (r->st.nlost)
		snprintf(ctrs, sizeof(ctrs), "%zu containers lost; ",
			 r->st.nlost);
	alert_raise(t, "scrub-lost", DDT_SEV_CRITICAL, "scrub found data lost: "
		    "%s%" PRIu64 " files in %" PRIu64 " backups%s%s%s cannot "
		    "be restored whole (%" PRIu64 " naming missing segments, %"
		    PRIu64 " whose trees do not describe their data): restore "
		    "the missing disks if you can, else back those files up "
		    "again", ctrs, r->affected_files, r->affected_backups,
		    names[0] ? " (" : "", names, names[0] ? ")" : "",
		    r->files_missing_segments, r->files_bad_tree);
}

void health_scrub_done(alert_table *t, const scrub_report *r)
{
	const store_scrub_report *s = &r->st;
	uint64_t found = s->fragments_missing + s->fragments_corrupt;
	uint64_t left = found > s->fragments_rebuilt ?
			found - s->fragments_rebuilt : 0;

	if (r->rc == -ECANCELED)
		return;		/* says nothing about the data */
	if (r->rc < 0) {
		alert_raise(t, "scrub-failed", DDT_SEV_WARNING, "%s", r->msg);
		return;
	}
	alert_clear(t, "scrub-failed");
	/* The scrub read the journals and the files again: what it found
	 * now is the verdict. */
	alert_clear(t, "journal-lost");
	alert_clear(t, "journal-repaired");
	lost_alert(t, r);
	if (!s->nlost && !r->affected_files && !r->clean)
		alert_raise(t, "scrub-unrepaired", DDT_SEV_WARNING, "scrub left "
			    "%" PRIu64 " missing or damaged fragments%s and %"
			    PRIu64 " badly indexed segments: %s", left,
			    s->errors ? " (repairs failed)" : "",
			    s->index_missing, r->repair ?
			    (s->errors ? s->error : "scrub again") :
			    "run 'ddt scrub start' to repair them");
	else
		alert_clear(t, "scrub-unrepaired");
	if (s->fragments_rebuilt)
		alert_raise(t, "scrub-repaired", DDT_SEV_WARNING, "scrub "
			    "repaired %" PRIu64 " fragments (%" PRIu64 " missing, "
			    "%" PRIu64 " damaged): check the disks they were on",
			    s->fragments_rebuilt, s->fragments_missing,
			    s->fragments_corrupt);
	else
		alert_clear(t, "scrub-repaired");
}

/* ---- journal replays ---- */

/* The first event of kind, and how many there are; NULL if none. */
static const store_jnl_event *first_of(const store_jnl_event *ev, size_t n,
				       int kind, size_t *count)
{
	const store_jnl_event *first = NULL;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind != kind)
			continue;
		if (!first)
			first = &ev[i];
		(*count)++;
	}
	return first;
}

int health_journal_replayed(alert_table *t, const store_jnl_event *ev,
			    size_t n)
{
	const store_jnl_event *e;
	size_t count;

	e = first_of(ev, n, STORE_JNL_LOST, &count);
	if (e)
		alert_raise(t, "journal-lost", DDT_SEV_CRITICAL, "%s%s", e->text,
			    count > 1 ? " (and other journals: see the log)" :
			    "");
	if ((e = first_of(ev, n, STORE_JNL_HEALED, &count)) != NULL)
		alert_raise(t, "journal-repaired", DDT_SEV_WARNING, "%s%s",
			    e->text, count > 1 ? " (and other journals: see "
			    "the log)" : "");
	return first_of(ev, n, STORE_JNL_LOST, &count) != NULL;
}

void health_clean_done(alert_table *t, int rc, const char *msg)
{
	if (rc == -ECANCELED)
		return;
	if (rc < 0)
		alert_raise(t, "clean-failed", DDT_SEV_WARNING, "cleaning "
			    "failed: %s", msg);
	else
		alert_clear(t, "clean-failed");
}

/* ---- verdicts kept across restarts ----
 * One named index value, "alerts": a line per alert, "severity id text". */

#define VERDICTS_KEY "alerts"

static int is_verdict(const char *id)
{
	return strncmp(id, "scrub-", 6) == 0 || strncmp(id, "clean-", 6) == 0 ||
	       strncmp(id, "journal-", 8) == 0;
}

int health_save_verdicts(alert_table *t, idx *ix)
{
	alert *v = NULL;
	size_t n = 0, len = 0, cap = 1;
	char *buf;
	int rc;

	rc = alert_list(t, &v, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		cap += ALERT_ID_MAX + ALERT_TEXT_MAX + 16;
	buf = malloc(cap);
	if (!buf) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (is_verdict(v[i].id))
			len += (size_t)snprintf(buf + len, cap - len, "%d %s %s\n",
						v[i].severity, v[i].id,
						v[i].text);
	rc = idx_put_value(ix, VERDICTS_KEY, buf, len);
	free(buf);
	free(v);
	return rc;
}

void health_load_verdicts(alert_table *t, idx *ix)
{
	char *buf, *line, *save = NULL;
	size_t len;
	void *v;

	if (idx_get_blob(ix, VERDICTS_KEY, &v, &len) < 0)
		return;		/* none yet, or unreadable: nothing to show */
	buf = realloc(v, len + 1);
	if (!buf) {
		free(v);
		return;
	}
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char id[ALERT_ID_MAX + 1];
		int sev, used = 0;

		if (sscanf(line, "%d %63s %n", &sev, id, &used) == 2 &&
		    used > 0 && is_verdict(id))
			(void)alert_raise(t, id, sev, "%s", line + used);
	}
	free(buf);
}
