/* test_monitor.c - what a monitor reads of a real ddtargetd, through the
 * client library: the status-only role (reads answered, everything else
 * refused), backup streams against a unit's soft and hard limits and the
 * target's, the soft quota's alert, ALERT_EVENTS (raise and clear in order,
 * the gap flag), the dedup-ratio anomaly (an encrypted-looking second
 * backup flagged, a nearly identical one not), the ingest counters moving
 * with a backup and surviving a restart, the last checkpoint and scrub (a
 * failed checkpoint's alert and count), and the new STATUS and
 * STATUS_TEXT keys. */
#include "ddtc.h"
#include "daemon.h"

#include <inttypes.h>

static test_daemon d;

/* ---- small helpers ---- */

typedef struct kvfind {
	const char *key;
	uint64_t v;
	int found;
} kvfind;

static int kv_cb(void *arg, const char *key, uint64_t v)
{
	kvfind *f = arg;

	if (strcmp(key, f->key) == 0) {
		f->v = v;
		f->found = 1;
	}
	return 0;
}

/* STATUS key's value; -1 if absent. */
static int64_t status_key(ddtc *c, const char *key)
{
	kvfind f = { .key = key };

	if (ddtc_status(c, kv_cb, &f) < 0 || !f.found)
		return -1;
	return (int64_t)f.v;
}

typedef struct textfind {
	const char *key;
	char v[256];
	int found;
} textfind;

static int text_cb(void *arg, const char *key, const char *v)
{
	textfind *f = arg;

	if (strcmp(key, f->key) == 0) {
		snprintf(f->v, sizeof(f->v), "%s", v);
		f->found = 1;
	}
	return 0;
}

typedef struct alertfind {
	const char *id;
	ddt_alert a;
	int found;
} alertfind;

static int alert_cb(void *arg, const ddtc_alert *a)
{
	alertfind *f = arg;

	if (strcmp(a->id, f->id) == 0) {
		f->a = *a;
		f->found = 1;
	}
	return 0;
}

/* Whether alert id is raised now (its text into text, if not NULL). */
static int has_alert(ddtc *c, const char *id, char *text, size_t cap)
{
	alertfind f = { .id = id };

	if (ddtc_alerts(c, alert_cb, &f) < 0)
		return 0;
	if (f.found && text)
		snprintf(text, cap, "%s", f.a.text);
	return f.found;
}

typedef struct unitfind {
	const char *name;
	ddt_su_stats st;
	ddt_streams sm;
	int found;
} unitfind;

static int su_stats_cb(void *arg, const ddt_su_stats *s)
{
	unitfind *f = arg;

	if (strcmp(s->name, f->name) == 0) {
		f->st = *s;
		f->found = 1;
	}
	return 0;
}

static int streams_cb(void *arg, const ddt_streams *s)
{
	unitfind *f = arg;

	if (strcmp(s->su, f->name) == 0) {
		f->sm = *s;
		f->found++;
	}
	return 0;
}

static ddt_su_stats unit_stats(ddtc *c, const char *name)
{
	unitfind f = { .name = name };

	if (ddtc_su_stats(c, su_stats_cb, &f) < 0 || !f.found)
		tap_bail("SU_STATS of %s", name);
	return f.st;
}

static ddt_streams unit_streams(ddtc *c, const char *name)
{
	unitfind f = { .name = name };

	if (ddtc_streams(c, streams_cb, &f) < 0 || f.found != 1)
		tap_bail("STREAMS of '%s'", name);
	return f.sm;
}

static ddtc *connect_as(const char *user, const char *password)
{
	ddtc_opts o;
	ddtc *c;
	int rc;

	ddtc_opts_default(&o);
	o.port = d.port;
	o.user = user;
	o.password = password;
	rc = ddtc_connect(&c, &o);
	if (rc < 0)
		tap_bail("connect as %s: %s", user, ddtc_errmsg(rc));
	return c;
}

static void su_make(ddtc *c, const char *name)
{
	int rc = ddtc_su_create(c, name, NULL);

	if (rc < 0)
		tap_bail("su create %s: %s", name, ddtc_errmsg(rc));
}

/* A backup of one file of len bytes from buf, complete. */
static int backup_one(ddtc *c, const char *su, const char *name,
		      const void *buf, size_t len)
{
	ddtc_backup b;
	ddtc_meta m = { .mode = 0100644 };
	ddtc_file *f;
	int rc;

	/* One backup of a name per second: the next second is asked for. */
	for (int i = 0; i < 40; i++) {
		rc = ddtc_backup_begin(c, su, name, DDT_RETAIN_NEVER, &b);
		if (rc != -EEXIST)
			break;
		sleep_ms(50);
	}
	if (rc < 0)
		return rc;
	m.dir = b.ino;
	snprintf(m.name, sizeof(m.name), "data");
	if ((rc = ddtc_file_create(c, &m, &f)) < 0)
		return rc;
	if ((rc = ddtc_file_write(f, buf, len)) < 0) {
		ddtc_file_abort(f);
		return rc;
	}
	if ((rc = ddtc_file_close(f, 1, NULL)) < 0)
		return rc;
	return ddtc_backup_end(c, b.ino, 1, len);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* ---- the status role ---- */

static void make_status_user(void)
{
	char cmd[2048];
	const char *top = getenv("top_builddir");

	daemon_stop(&d, SIGTERM);
	snprintf(cmd, sizeof(cmd), "echo monpass | %s/ddtargetd -s %s "
		 "--set-password mon --role status >/dev/null 2>>%s",
		 top ? top : ".", d.store, d.log);
	ok(system(cmd) == 0, "ddtargetd --set-password mon --role status");
	daemon_start_again(&d);
}

static void test_status_role(void)
{
	ddtc *c = connect_as("mon", "monpass");
	uint64_t root, last = 0;
	ddtc_backup b;
	ddt_attr a;
	int rc, gap = -1;

	ok(ddtc_role(c) == DDT_ROLE_STATUS, "AUTH gives the status role (%d)",
	   ddtc_role(c));
	ok(status_key(c, "logical_bytes") >= 0, "it reads STATUS");
	ok(ddtc_streams(c, streams_cb, &(unitfind){ .name = "" }) == 0 &&
	   ddtc_su_stats(c, su_stats_cb, &(unitfind){ .name = "" }) == 0 &&
	   ddtc_alert_events(c, 0, NULL, NULL, &last, &gap) == 0,
	   "and STREAMS, SU_STATS, ALERT_EVENTS");
	rc = ddtc_su_create(c, "nope", &root);
	ok(rc == -EACCES && strstr(ddtc_errmsg(rc), "may only read"),
	   "SU_CREATE is refused: %s", ddtc_errmsg(rc));
	rc = ddtc_backup_begin(c, "s1", "x", 0, &b);
	ok(rc == -EACCES, "so is BACKUP_BEGIN: %s", ddtc_errmsg(rc));
	rc = ddtc_getattr(c, 1, &a);
	ok(rc == -EACCES, "and a namespace read (GETATTR): %s",
	   ddtc_errmsg(rc));
	ok(status_key(c, "uptime_seconds") >= 0,
	   "and the session goes on after the refusals");
	ddtc_close(c);
}

/* ---- streams ---- */

static void test_streams(ddtc *admin)
{
	ddtc_su_settings s = { .mask = DDT_SU_SET_STREAMS, .backup_soft = 1,
			       .backup_hard = 2 };
	ddtc *a = daemon_connect(&d), *b = daemon_connect(&d),
	     *c = daemon_connect(&d);
	ddtc_backup ba, bb, bc;
	ddt_streams st;
	char text[DDT_MAX_STR + 1];
	int rc;

	su_make(admin, "s1");
	rc = ddtc_su_configure(admin, "s1", &s, NULL);
	ok(rc == 0, "SU_SET: backup streams soft 1, hard 2 (%s)",
	   rc ? ddtc_errmsg(rc) : "");
	s.backup_soft = 3;
	rc = ddtc_su_configure(admin, "s1", &s, NULL);
	ok(rc == -EINVAL && unit_stats(admin, "s1").backup_soft == 1,
	   "a soft limit over the hard one is refused, nothing changed: %s",
	   ddtc_errmsg(rc));
	s.backup_soft = 1;
	st = unit_streams(admin, "s1");
	ok(st.backup == 0 && st.backup_soft == 1 && st.backup_hard == 2 &&
	   st.restore_hard == 0, "STREAMS: none active, the limits 1/2");
	ok(ddtc_backup_begin(a, "s1", "a", 0, &ba) == 0,
	   "a first backup begins");
	ok(!has_alert(admin, "streams:s1", NULL, 0),
	   "at the soft limit: no alert");
	ok(ddtc_backup_begin(b, "s1", "b", 0, &bb) == 0,
	   "a second, over the soft limit, goes on");
	ok(has_alert(admin, "streams:s1", text, sizeof(text)),
	   "and raises streams:s1: %s", text);
	rc = ddtc_backup_begin(c, "s1", "c", 0, &bc);
	ok(rc == -EBUSY && strstr(ddtc_errmsg(rc), "storage unit s1") &&
	   strstr(ddtc_errmsg(rc), "hard limit is 2"),
	   "a third, over the hard limit, is refused: %s", ddtc_errmsg(rc));
	ok(has_alert(admin, "streams-hard:s1", NULL, 0),
	   "and raises streams-hard:s1");
	ok(ddtc_backup_begin(a, "s1", "a2", 0, &bc) == 0,
	   "a session that is a stream already may begin another backup");
	st = unit_streams(admin, "s1");
	ok(st.backup == 2, "STREAMS counts 2 backup streams in s1 (%u)",
	   st.backup);
	st = unit_streams(admin, "");
	ok(st.backup == 2, "and 2 for the target (%u)", st.backup);
	ok(status_key(admin, "streams_backup") == 2,
	   "STATUS's streams_backup is 2");
	ok(unit_stats(admin, "s1").streams_backup == 2 &&
	   unit_stats(admin, "s1").backup_hard == 2,
	   "SU_STATS carries the streams and limits");
	ok(ddtc_backup_end(a, ba.ino, 0, 0) == 0 &&
	   ddtc_backup_end(a, bc.ino, 0, 0) == 0 &&
	   ddtc_backup_end(b, bb.ino, 0, 0) == 0, "the backups end");
	ddtc_close(a);
	ddtc_close(b);
	/* The sessions' ends reach the target's loop a moment later; b
	 * ended its backup, but committed nothing: not a stream. */
	for (int i = 0; i < 200 && unit_streams(admin, "s1").backup; i++)
		sleep_ms(10);
	ok(unit_streams(admin, "s1").backup == 0,
	   "once the sessions end, no stream is left");
	ok(ddtc_backup_begin(c, "s1", "c", 0, &bc) == 0,
	   "and a backup refused before now begins");
	ok(!has_alert(admin, "streams:s1", NULL, 0),
	   "the soft-limit alert cleared");
	ddtc_close(c);
}

/* The target's own hard limit (stream_backup_hard = 1), on a restart;
 * and a checkpoint that fails (its directory is a file). */
static void test_target_limit(void)
{
	char path[sizeof(d.store)], ckset[sizeof(d.store) + 32];
	const char *extra[] = { "--set", "stream_backup_hard=1", "--set",
				ckset, NULL };
	ddtc *a, *b;
	ddtc_backup ba, bb;
	FILE *f;
	int rc;

	daemon_stop(&d, SIGTERM);
	snprintf(path, sizeof(path), "%s", d.store);
	snprintf(ckset, sizeof(ckset), "checkpoint_dir=%s/ckfile", d.store);
	if (!(f = fopen(ckset + strlen("checkpoint_dir="), "w")))
		tap_bail("create %s", ckset);
	fclose(f);
	if (daemon_start(&d, path, extra) != 0)
		tap_bail("restart with a target limit (log %s)", d.log);
	a = daemon_connect(&d);
	b = daemon_connect(&d);
	ok(unit_streams(a, "").backup_hard == 1,
	   "STREAMS: the target's hard limit is the setting's, 1");
	ok(ddtc_backup_begin(a, "s1", "t1", 0, &ba) == 0,
	   "one backup begins");
	rc = ddtc_backup_begin(b, "q", "t2", 0, &bb);
	ok(rc == -EBUSY && strstr(ddtc_errmsg(rc), "the target:"),
	   "a second, in another unit, is refused by the target's limit: %s",
	   ddtc_errmsg(rc));
	ok(has_alert(a, "streams-hard:*", NULL, 0),
	   "and raises streams-hard:*");
	rc = ddtc_checkpoint_create(a, NULL, 0);
	ok(rc < 0 && has_alert(a, "checkpoint-failed", NULL, 0) &&
	   status_key(a, "checkpoint_failures") == 1,
	   "a checkpoint that fails raises checkpoint-failed and counts: %s",
	   ddtc_errmsg(rc));
	ddtc_close(a);
	ddtc_close(b);
	daemon_stop(&d, SIGTERM);
	daemon_start_again(&d);
}

/* ---- quota, alert events ---- */

typedef struct evlist {
	ddt_alert_event v[16];
	int n;
	const char *id;
} evlist;

static int event_cb(void *arg, const ddt_alert_event *e)
{
	evlist *l = arg;

	if (strcmp(e->id, l->id) == 0 && l->n < 16)
		l->v[l->n++] = *e;
	return 0;
}

static int soft_quota(ddtc *c, const char *su, uint64_t bytes)
{
	ddtc_su_settings s = { .mask = DDT_SU_SET_QUOTA_SOFT,
			       .quota_soft = bytes };

	return ddtc_su_configure(c, su, &s, NULL);
}

static void test_quota_events(ddtc *admin)
{
	static uint8_t buf[4096];
	uint64_t last0 = 0, last = 0;
	evlist l = { .id = "quota-soft:q" };
	ddt_su_stats st;
	int rc, gap = -1, ok_all = 1;

	ok(ddtc_alert_events(admin, 0, NULL, NULL, &last0, &gap) == 0 &&
	   gap == 0, "ALERT_EVENTS from 0: no gap");
	su_make(admin, "q");
	ok(soft_quota(admin, "q", 1000) == 0, "SU_SET: a soft quota of 1000");
	memset(buf, 'q', sizeof(buf));
	rc = backup_one(admin, "q", "over", buf, sizeof(buf));
	ok(rc == 0, "a 4096-byte backup goes in over it (%s)",
	   rc ? ddtc_errmsg(rc) : "");
	st = unit_stats(admin, "q");
	ok(st.state == DDT_SU_QUOTA_SOFT && st.quota_soft == 1000 &&
	   st.logical_bytes == 4096, "SU_STATS: state quota-soft, 4096 of 1000");
	ok(has_alert(admin, "quota-soft:q", NULL, 0),
	   "the alert quota-soft:q is raised");
	ok(soft_quota(admin, "q", 0) == 0 && !has_alert(admin, "quota-soft:q",
							  NULL, 0),
	   "no soft quota: it clears");
	ok(ddtc_alert_events(admin, last0, event_cb, &l, &last, &gap) == 0 &&
	   gap == 0 && l.n == 2 && l.v[0].raised == 1 &&
	   l.v[0].severity == DDT_SEV_WARNING && l.v[1].raised == 0 &&
	   l.v[0].seq < l.v[1].seq && l.v[1].seq <= last && l.v[0].time > 0,
	   "ALERT_EVENTS: the raise, then the clear, in order");
	l.n = 0;
	ok(ddtc_alert_events(admin, last, event_cb, &l, &last0, &gap) == 0 &&
	   l.n == 0 && last0 == last && gap == 0,
	   "asked after the last: nothing new, no gap");
	ok(ddtc_alert_events(admin, last + 1000000, NULL, NULL, &last0,
			     &gap) == 0 && gap == 1 && last0 == last,
	   "after a sequence the target never reached (a restart): gap, "
	   "and its own last");
	/* 600 raises and clears: 1200 events, more than the ring holds. */
	for (int i = 0; i < 600 && ok_all; i++)
		ok_all = soft_quota(admin, "q", 1000) == 0 &&
			 soft_quota(admin, "q", 0) == 0;
	ok(ok_all, "600 more raises and clears");
	l.n = 0;
	ok(ddtc_alert_events(admin, last, NULL, NULL, &last0, &gap) == 0 &&
	   gap == 1 && last0 > last,
	   "events after the old last have left the ring: gap");
}

/* ---- the anomaly ---- */

static void test_anomaly(ddtc *admin)
{
	const size_t len = 4u << 20;
	uint8_t *buf = malloc(len);
	char text[DDT_MAX_STR + 1] = "";
	int rc;

	if (!buf)
		tap_bail("no memory");
	su_make(admin, "an1");
	su_make(admin, "an2");
	fill_random(buf, len, 1);
	rc = backup_one(admin, "an1", "client", buf, len);
	ok(rc == 0, "an1: a first backup of 4 MiB");
	buf[len / 2] ^= 1;
	rc = backup_one(admin, "an1", "client", buf, len);
	ok(rc == 0 && !has_alert(admin, "anomaly:an1", NULL, 0),
	   "a second of nearly the same data: no anomaly");
	fill_random(buf, len, 2);
	rc = backup_one(admin, "an2", "client", buf, len);
	ok(rc == 0 && !has_alert(admin, "anomaly:an2", NULL, 0),
	   "an2: a first backup, all new: no anomaly (it starts the history)");
	fill_random(buf, len, 3);	/* "encrypted": as much, all new */
	rc = backup_one(admin, "an2", "client", buf, len);
	ok(rc == 0 && has_alert(admin, "anomaly:an2", text, sizeof(text)) &&
	   strstr(text, "client@"), "a second of as much random data: the "
	   "anomaly: %s", text);
	fill_random(buf, len, 3);
	buf[7] ^= 1;
	rc = backup_one(admin, "an2", "client", buf, len);
	ok(rc == 0 && !has_alert(admin, "anomaly:an2", NULL, 0),
	   "the next ordinary backup clears it");
	free(buf);
}

/* ---- counters and keys ---- */

static const char *const new_keys[] = {
	"cleanable_bytes", "ingest_logical_bytes", "ingest_raw_bytes",
	"ingest_stored_bytes", "logical_24h_bytes", "raw_24h_bytes",
	"stored_24h_bytes", "logical_7d_bytes", "raw_7d_bytes",
	"stored_7d_bytes", "last_scrub_ns", "last_scrub_result",
	"clean_running", "clean_progress_pct", "last_clean_ns",
	"last_clean_reclaimed_bytes", "last_checkpoint_ns",
	"checkpoint_failures", "streams_backup", "streams_restore",
	"streams_replication", "streams_backup_soft", "streams_backup_hard",
	"streams_restore_soft", "streams_restore_hard",
};

static void test_counters(ddtc **admin)
{
	static uint8_t buf[1 << 20];
	int64_t l0 = status_key(*admin, "ingest_logical_bytes"),
		r0 = status_key(*admin, "ingest_raw_bytes"), l1, r1, s1, d1, w1;
	uint64_t su_l;
	textfind tf[3] = { { .key = "version" }, { .key = "store_id" },
			   { .key = "dir0.state" } };
	int missing = 0;

	for (size_t i = 0; i < sizeof(new_keys) / sizeof(new_keys[0]); i++)
		if (status_key(*admin, new_keys[i]) < 0) {
			diag("STATUS lacks %s", new_keys[i]);
			missing++;
		}
	ok(missing == 0, "STATUS has every new key");
	su_make(*admin, "cnt");
	fill_random(buf, sizeof(buf), 9);
	ok(backup_one(*admin, "cnt", "c", buf, sizeof(buf)) == 0,
	   "a 1 MiB backup");
	l1 = status_key(*admin, "ingest_logical_bytes");
	r1 = status_key(*admin, "ingest_raw_bytes");
	s1 = status_key(*admin, "ingest_stored_bytes");
	d1 = status_key(*admin, "logical_24h_bytes");
	w1 = status_key(*admin, "raw_7d_bytes");
	ok(l1 >= l0 + (int64_t)sizeof(buf) && r1 >= r0 + (int64_t)sizeof(buf) &&
	   s1 > 0 && d1 >= (int64_t)sizeof(buf) && w1 >= (int64_t)sizeof(buf),
	   "the counters moved: logical %" PRId64 " -> %" PRId64 ", raw %"
	   PRId64 " -> %" PRId64, l0, l1, r0, r1);
	su_l = unit_stats(*admin, "cnt").ingest_logical_bytes;
	ok(su_l == sizeof(buf) &&
	   unit_stats(*admin, "cnt").ingest_raw_bytes >= sizeof(buf) &&
	   unit_stats(*admin, "cnt").backups == 1,
	   "SU_STATS: the unit's own counters (%" PRIu64 ") and backups", su_l);
	ok(ddtc_checkpoint_create(*admin, NULL, 0) == 0 &&
	   status_key(*admin, "last_checkpoint_ns") > 0 &&
	   status_key(*admin, "checkpoint_failures") == 0,
	   "a checkpoint: last_checkpoint_ns is set");
	ok(ddtc_scrub_start(*admin, 1) == 0, "a scrub starts");
	for (int i = 0; i < 3000; i++) {
		ddtc_scrub sc;

		if (ddtc_scrub_status(*admin, &sc, NULL, NULL, NULL, NULL) < 0 ||
		    !sc.running)
			break;
		sleep_ms(20);
	}
	ok(status_key(*admin, "last_scrub_ns") > 0 &&
	   status_key(*admin, "last_scrub_result") == 0,
	   "once it ends, last_scrub_ns is set, its result 0 (clean)");
	ddtc_close(*admin);
	daemon_stop(&d, SIGTERM);
	daemon_start_again(&d);
	*admin = daemon_connect(&d);
	ok(status_key(*admin, "last_scrub_ns") > 0,
	   "the last scrub is remembered across a restart");
	ok(status_key(*admin, "ingest_logical_bytes") == l1 &&
	   status_key(*admin, "ingest_raw_bytes") == r1 &&
	   status_key(*admin, "logical_24h_bytes") == d1 &&
	   unit_stats(*admin, "cnt").ingest_logical_bytes == su_l,
	   "after a restart the counters are as they were");
	for (int i = 0; i < 3; i++)
		if (ddtc_status_text(*admin, text_cb, &tf[i]) < 0)
			tf[i].found = 0;
	ok(tf[0].found && tf[0].v[0] && tf[1].found &&
	   strlen(tf[1].v) == 32 && tf[2].found &&
	   strcmp(tf[2].v, "present") == 0,
	   "STATUS_TEXT: version %s, store_id %s, dir0.state %s", tf[0].v,
	   tf[1].v, tf[2].v);
}

int main(void)
{
	char *root = tap_tmpdir("monitor");
	ddtc *admin;

	daemon_start_in(&d, root);
	admin = daemon_connect(&d);
	su_make(admin, "first");
	ddtc_close(admin);
	make_status_user();
	admin = daemon_connect(&d);
	test_status_role();
	test_streams(admin);
	test_quota_events(admin);
	ddtc_close(admin);
	test_target_limit();
	admin = daemon_connect(&d);
	test_anomaly(admin);
	test_counters(&admin);
	ddtc_close(admin);
	ok(WIFEXITED(daemon_stop(&d, SIGTERM)), "the daemon stops cleanly");
	tap_rmtree(root);
	free(root);
	return tap_done();
}
