/* test_alerts.c - the daemon's alert table (alerts.c) and what raises
 * and clears its alerts (health.c): raising is idempotent and only a real
 * change bumps the sequence; the hook hears raises and clears in order;
 * the list comes worst first; a storage directory moved away is a critical
 * alert until it is back; thresholds under the disk's use raise one space
 * alert per file system; finished scrubs and cleans replace their alerts,
 * a cancelled one changes nothing. */
#include "alerts.h"
#include "health.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <errno.h>
#include <stdio.h>

typedef struct heard {
	int raised, cleared;
	char last[ALERT_ID_MAX + 1];
} heard;

static void hook(void *arg, const alert *a, int raised)
{
	heard *h = arg;

	if (raised)
		h->raised++;
	else
		h->cleared++;
	snprintf(h->last, sizeof(h->last), "%s", a->id);
}

static alert_table *table(heard *h)
{
	alert_table *t;

	if (alert_table_new(&t) != 0)
		tap_bail("alert_table_new");
	if (h)
		alert_set_hook(t, hook, h);
	return t;
}

static int has(alert_table *t, const char *id, int severity)
{
	alert *v;
	size_t n;
	int found = 0;

	if (alert_list(t, &v, &n) != 0)
		tap_bail("alert_list");
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(v[i].id, id) &&
			 (!severity || v[i].severity == severity);
	free(v);
	return found;
}

static uint64_t seq(alert_table *t)
{
	alert_counts c;

	alert_get_counts(t, &c);
	return c.seq;
}

static void test_table(void)
{
	heard h = { 0 };
	alert_table *t = table(&h);
	alert_counts c;
	alert *v;
	uint64_t s0;
	size_t n;
	int rc;

	ok(alert_raise(t, "a", DDT_SEV_WARNING, "first %d", 1) == 1 &&
	   h.raised == 1, "a new alert is new, and the hook hears it");
	s0 = seq(t);
	ok(alert_raise(t, "a", DDT_SEV_WARNING, "first %d", 1) == 0 &&
	   seq(t) == s0 && h.raised == 1,
	   "raising it again changes nothing");
	ok(alert_raise(t, "a", DDT_SEV_WARNING, "other text") == 0 &&
	   seq(t) > s0 && h.raised == 1,
	   "new text bumps the sequence, quietly");
	alert_raise(t, "b", DDT_SEV_INFO, "an info");
	alert_raise(t, "c", DDT_SEV_CRITICAL, "a critical one");
	ok(alert_raise(t, "b", DDT_SEV_CRITICAL, "worse") == 0 &&
	   h.raised == 4 && !strcmp(h.last, "b"),
	   "a new severity is heard like a new alert");
	rc = alert_list(t, &v, &n);
	ok(rc == 0 && n == 3 && v[0].severity == DDT_SEV_CRITICAL &&
	   v[1].severity == DDT_SEV_CRITICAL && !strcmp(v[2].id, "a") &&
	   v[0].since <= v[1].since && !strcmp(v[2].text, "other text"),
	   "the list comes worst first, then oldest first");
	free(v);
	alert_get_counts(t, &c);
	ok(c.critical == 2 && c.warning == 1 && c.info == 0, "the counts");
	s0 = seq(t);
	ok(alert_clear(t, "c") == 1 && h.cleared == 1 && seq(t) > s0 &&
	   !has(t, "c", 0), "clearing removes it, and is heard");
	ok(alert_clear(t, "c") == 0 && h.cleared == 1,
	   "clearing what is not raised does nothing");
	ok(alert_raise(t, "", DDT_SEV_INFO, "x") == -EINVAL &&
	   alert_raise(t, "d", 7, "x") == -EINVAL,
	   "an empty id or a bad severity is refused");
	for (int i = 0; i < ALERT_MAX; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n%d", i);
		rc = alert_raise(t, id, DDT_SEV_INFO, "many");
		if (rc < 0)
			break;
	}
	ok(rc == -ENOSPC, "past %d alerts, raising is refused: %s", ALERT_MAX,
	   ddterr_last(rc));
	alert_table_free(t);
}

/* Move data directory i of the store at root away (away 1) or back. */
static void move_dir(const char *root, int i, int away)
{
	char dir[1100], aside[1100];

	snprintf(dir, sizeof(dir), "%s/data/dir%d", root, i);
	snprintf(aside, sizeof(aside), "%s/data/aside%d", root, i);
	if (away ? rename(dir, aside) : rename(aside, dir))
		tap_bail("rename %s: %s", dir, strerror(errno));
}

static void test_dirs(void)
{
	health_config hc = { .interval = 1, .space_warning_pct = 100,
			     .space_critical_pct = 100 };
	char *root = tap_tmpdir("alerts-dirs");
	alert_table *t = table(NULL);
	alert_counts c;
	store_config sc;
	store *s;
	int rc;

	store_config_default(&sc, root);
	if ((rc = tstore_open(&s, &sc)) != 0)
		tap_bail("store_open: %s", ddterr_last(rc));
	health_check_dirs(s, t, &hc);
	alert_get_counts(t, &c);
	ok(c.critical + c.warning + c.info == 0, "a healthy store: no alerts");
	move_dir(root, 2, 1);
	health_check_dirs(s, t, &hc);
	ok(has(t, "dir:dir2", DDT_SEV_CRITICAL) && !has(t, "dirs-lost", 0),
	   "a data directory gone: critical");
	move_dir(root, 4, 1);
	move_dir(root, 5, 1);
	health_check_dirs(s, t, &hc);
	ok(has(t, "dirs-lost", DDT_SEV_CRITICAL) &&
	   has(t, "dir:dir5", DDT_SEV_CRITICAL),
	   "more gone than the parity covers: that too");
	move_dir(root, 2, 0);
	move_dir(root, 4, 0);
	move_dir(root, 5, 0);
	hc.space_warning_pct = 0;
	health_check_dirs(s, t, &hc);
	alert_get_counts(t, &c);
	ok(!has(t, "dir:dir2", 0) && !has(t, "dirs-lost", 0) &&
	   has(t, "space:root", DDT_SEV_WARNING),
	   "back in place, the alerts clear; a 0%% threshold warns");
	ok(c.warning == 1 && c.critical == 0,
	   "once for the one file system they share");
	hc.space_critical_pct = 0;
	health_check_dirs(s, t, &hc);
	ok(has(t, "space:root", DDT_SEV_CRITICAL), "over both: critical");
	tstore_close(s);
	alert_table_free(t);
	tap_rmtree(root);
	free(root);
}

static void test_verdicts(void)
{
	scrub_report *r = calloc(1, sizeof(*r));
	alert_table *t = table(NULL);
	alert *v;
	size_t n;

	if (!r)
		tap_bail("calloc");
	r->st.nlost = 2;
	r->st.containers_unrecoverable = 2;
	r->affected_backups = 1;
	r->affected_files = 7;
	r->naffected = 1;
	snprintf(r->affected[0].su, sizeof(r->affected[0].su), "u");
	snprintf(r->affected[0].backup, sizeof(r->affected[0].backup),
		 "b@20240101T000000Z");
	health_scrub_done(t, r);
	alert_list(t, &v, &n);
	ok(n == 1 && !strcmp(v[0].id, "scrub-lost") &&
	   v[0].severity == DDT_SEV_CRITICAL &&
	   strstr(v[0].text, "u/b@20240101T000000Z") &&
	   strstr(v[0].text, "7 files"),
	   "lost data: critical, naming the backup: %s", n ? v[0].text : "");
	free(v);
	memset(r, 0, sizeof(*r));
	r->files_bad_tree = 2;
	r->files_missing_segments = 1;
	r->affected_backups = 1;
	r->affected_files = 3;
	r->naffected = 1;
	snprintf(r->affected[0].su, sizeof(r->affected[0].su), "u");
	snprintf(r->affected[0].backup, sizeof(r->affected[0].backup),
		 "c@20240101T000000Z");
	health_scrub_done(t, r);
	alert_list(t, &v, &n);
	ok(n == 1 && !strcmp(v[0].id, "scrub-lost") &&
	   v[0].severity == DDT_SEV_CRITICAL &&
	   strstr(v[0].text, "u/c@20240101T000000Z") &&
	   strstr(v[0].text, "1 naming missing segments, 2 whose trees"),
	   "files with missing segments or bad trees, no container lost: the "
	   "same alert, naming the backup: %s", n ? v[0].text : "");
	free(v);
	r->rc = -ECANCELED;
	r->affected_files = 0;
	health_scrub_done(t, r);
	ok(has(t, "scrub-lost", 0), "a cancelled scrub changes nothing");
	r->rc = -EIO;
	snprintf(r->msg, sizeof(r->msg), "scrub failed: index broke");
	health_scrub_done(t, r);
	ok(has(t, "scrub-failed", DDT_SEV_WARNING) && has(t, "scrub-lost", 0),
	   "a failed one warns, and leaves the last verdict");
	memset(r, 0, sizeof(*r));
	r->clean = 1;
	r->st.fragments_missing = 3;
	r->st.fragments_rebuilt = 3;
	health_scrub_done(t, r);
	ok(!has(t, "scrub-lost", 0) && !has(t, "scrub-failed", 0) &&
	   has(t, "scrub-repaired", DDT_SEV_WARNING),
	   "a scrub that repaired all: only a warning that it did");
	r->st.fragments_missing = 2;
	r->st.fragments_rebuilt = 0;
	r->clean = 0;
	health_scrub_done(t, r);
	ok(has(t, "scrub-unrepaired", DDT_SEV_WARNING) &&
	   !has(t, "scrub-repaired", 0), "one that left damage: a warning");
	memset(r, 0, sizeof(*r));
	r->clean = 1;
	health_scrub_done(t, r);
	alert_list(t, &v, &n);
	free(v);
	ok(n == 0, "a clean scrub clears them all");
	health_clean_done(t, -EIO, "disk full");
	ok(has(t, "clean-failed", DDT_SEV_WARNING), "a failed clean warns");
	health_clean_done(t, -ECANCELED, "stopped");
	ok(has(t, "clean-failed", 0), "a stopped one changes nothing");
	health_clean_done(t, 0, "");
	ok(!has(t, "clean-failed", 0), "a good one clears it");
	alert_table_free(t);
	free(r);
}

int main(void)
{
	test_table();
	test_dirs();
	test_verdicts();
	return tap_done();
}
