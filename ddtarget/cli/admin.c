/* admin.c - the ddt commands that look after the target rather than move
 * data: backups' expiry (retain, expire), its state (status, alerts), its
 * upkeep (clean, scrub, checkpoint) and its storage units (su). Each is a
 * login and one or a few requests; ddt.c parses and dispatches. */
#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "ddterr.h"
#include "ddtc.h"
#include "health.h"
#include "human.h"
#include "jsonout.h"
#include "now.h"
#include "out.h"

/* ---- retention: retain, expire ---- */

/* WHEN of 'ddt retain': a duration from now, "never", or a date. */
static int parse_when(const cmd *cm, const char *arg, int64_t *expires)
{
	int64_t secs;

	if (human_duration(arg, &secs) == 0) {
		if (secs == DDT_RETAIN_NEVER) {
			*expires = 0;
			return 0;
		}
		if (secs > 0 && secs <= (INT64_MAX - now_ns()) /
		    1000000000LL) {
			*expires = now_ns() + secs * 1000000000LL;
			return 0;
		}
	} else if (human_date(arg, expires) == 0 && *expires > 0) {
		return 0;
	}
	return cmd_usage_error(cm, "'%s': give a duration from now (90d, 12h, "
			       "2w, 1y), a date (2030-12-25, 2030-12-25 10:00, "
			       "Z for UTC) or 'never'", arg);
}

int cmd_retain(const cmd *cm, const gopts *g, int argc, char **argv)
{
	char b1[FMT_LEN];
	int64_t expires;
	ddtc_backup b;
	ddtc *c;
	int rc, ret;

	ret = parse_when(cm, argv[1], &expires);
	if (ret)
		return ret;
	ret = cmd_open_backup(g, argv[0], 0, &c, &b);
	if (ret)
		return ret;
	rc = ddtc_backup_set_expiry(c, g->su, b.id, expires);
	if (rc < 0)
		ret = out_fail(rc, "set the expiry of backup %s", b.id);
	else if (expires)
		printf("backup %s expires %s\n", b.id, human_fmt_date(expires, b1));
	else
		printf("backup %s never expires\n", b.id);
	ddtc_close(c);
	return ret;
}

typedef struct expire_ctx {
	int dry_run;
	size_t n;
} expire_ctx;

static int expire_print(void *arg, const char *su, const char *id,
			int64_t expires)
{
	expire_ctx *x = arg;
	char b1[FMT_LEN];

	x->n++;
	printf("%s backup %s from storage unit %s (expired %s)\n",
	       x->dry_run ? "would remove" : "removed", id, su,
	       human_fmt_date(expires, b1));
	return 0;
}

int cmd_expire(const cmd *cm, const gopts *g, int argc, char **argv)
{
	expire_ctx x = { .dry_run = !!(g->given & OP_DRY_RUN) };
	ddtc *c;
	int rc, ret;

	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	rc = ddtc_expire(c, g->su, x.dry_run, expire_print, &x);
	ddtc_close(c);
	if (rc < 0)
		return out_fail(rc, "expire backups%s%s", g->su ? " in storage "
				"unit " : "", g->su ? g->su : "");
	if (x.n == 0)
		printf("no backups past their expiry%s%s\n", g->su ? " in "
		       "storage unit " : "", g->su ? g->su : "");
	else
		printf("%zu backup%s %s\n", x.n, x.n == 1 ? "" : "s",
		       x.dry_run ? "would be removed" : "removed");
	return 0;
}

/* ---- status ---- */

typedef struct kv {
	char key[64];
	uint64_t v;
	int shown;
} kv;

typedef struct kvlist {
	kv v[512];
	size_t n;
} kvlist;

static int kv_add(void *arg, const char *key, uint64_t value)
{
	kvlist *l = arg;

	if (l->n < sizeof(l->v) / sizeof(l->v[0])) {
		snprintf(l->v[l->n].key, sizeof(l->v[0].key), "%s", key);
		l->v[l->n].v = value;
		l->v[l->n].shown = 0;
		l->n++;
	}
	return 0;
}

/* The value of key (marked shown), or -1 if the target did not send it. */
static int64_t kv_get(kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0) {
			l->v[i].shown = 1;
			return (int64_t)l->v[i].v;
		}
	return -1;
}

static void show_bytes(kvlist *l, const char *label, const char *key,
		       const char *note)
{
	char b[FMT_LEN];
	int64_t v = kv_get(l, key);

	if (v >= 0)
		printf("%-17s%s (%" PRId64 " bytes)%s\n", label,
		       fmt_bytes((uint64_t)v, b), v, note);
}

static void show_count(kvlist *l, const char *label, const char *key)
{
	int64_t v = kv_get(l, key);

	if (v >= 0)
		printf("%-17s%" PRId64 "\n", label, v);
}

static void show_next(kvlist *l, const char *label, const char *key)
{
	char b[FMT_LEN];
	int64_t v = kv_get(l, key);

	if (v > 0)
		printf("%-17s%s\n", label, human_fmt_date(v, b));
}

/* The data directories' file systems, as df shows them (the target
 * computes the percentage, so that it is df's), then the store's own
 * files. */
static void show_space(kvlist *l)
{
	int64_t pct = kv_get(l, "used_pct"), nfs = kv_get(l, "data_filesystems"),
		idx = kv_get(l, "index_bytes"), jnl = kv_get(l, "journal_bytes"),
		ck = kv_get(l, "checkpoint_bytes");
	char n[96] = "", b[3][FMT_LEN];
	int len = 0;

	if (nfs >= 0)
		len = snprintf(n, sizeof(n), " on %" PRId64 " file system%s",
			       nfs, nfs == 1 ? "" : "s");
	if (pct >= 0)
		snprintf(n + len, sizeof(n) - (size_t)len, ", %" PRId64
			 "%% used", pct);
	show_bytes(l, "capacity:", "capacity_bytes", n);
	show_bytes(l, "used:", "used_bytes", "");
	show_bytes(l, "free:", "free_bytes", "");
	if (idx < 0 || jnl < 0 || ck < 0)
		return;
	snprintf(n, sizeof(n), ": index %s, journals %s, checkpoints %s",
		 fmt_bytes((uint64_t)idx, b[0]), fmt_bytes((uint64_t)jnl, b[1]),
		 fmt_bytes((uint64_t)ck, b[2]));
	show_bytes(l, "footprint:", "footprint_bytes", n);
}

/* "SOFT/HARD" of two limits, "-" for none. */
static const char *limits(uint32_t soft, uint32_t hard, char *buf, size_t cap)
{
	char s[16] = "-", h[16] = "-";

	if (soft)
		snprintf(s, sizeof(s), "%u", soft);
	if (hard)
		snprintf(h, sizeof(h), "%u", hard);
	snprintf(buf, cap, "%s/%s", s, h);
	return buf;
}

/* Ingest over a window (which: "24h", "7d") and the dedup it got. */
static void show_ingest(kvlist *l, const char *label, const char *which)
{
	char k[3][32], b[3][FMT_LEN], r[FMT_LEN];
	int64_t v[3];

	snprintf(k[0], sizeof(k[0]), "logical_%s_bytes", which);
	snprintf(k[1], sizeof(k[1]), "raw_%s_bytes", which);
	snprintf(k[2], sizeof(k[2]), "stored_%s_bytes", which);
	for (int i = 0; i < 3; i++)
		v[i] = kv_get(l, k[i]);
	if (v[0] < 0 || v[1] < 0 || v[2] < 0)
		return;
	printf("%-17s%s written, %s new (%s stored), dedup %s\n", label,
	       fmt_bytes((uint64_t)v[0], b[0]), fmt_bytes((uint64_t)v[1], b[1]),
	       fmt_bytes((uint64_t)v[2], b[2]),
	       fmt_ratio((uint64_t)v[0], (uint64_t)v[1], r));
}

static const char *const scrub_results[] = {
	"nothing wrong", "repaired all it found", "left damage",
	"failed",
};

/* Streams and the last scrub, clean and checkpoint. */
static void show_activity(kvlist *l)
{
	int64_t sb = kv_get(l, "streams_backup"),
		sr = kv_get(l, "streams_restore"),
		sp = kv_get(l, "streams_replication"),
		lim[4] = { kv_get(l, "streams_backup_soft"),
			   kv_get(l, "streams_backup_hard"),
			   kv_get(l, "streams_restore_soft"),
			   kv_get(l, "streams_restore_hard") },
		scrub = kv_get(l, "last_scrub_ns"),
		res = kv_get(l, "last_scrub_result"),
		clean = kv_get(l, "last_clean_ns"),
		rec = kv_get(l, "last_clean_reclaimed_bytes"),
		cl = kv_get(l, "cleanable_bytes"),
		ck = kv_get(l, "last_checkpoint_ns"),
		ckf = kv_get(l, "checkpoint_failures");
	char b[FMT_LEN], c[FMT_LEN], l1[40], l2[40];

	(void)kv_get(l, "clean_running");
	(void)kv_get(l, "clean_progress_pct");
	if (sb >= 0 && sr >= 0)
		printf("%-17s%" PRId64 " backup (limits %s), %" PRId64 " restore "
		       "(limits %s), %" PRId64 " replication\n", "streams:", sb,
		       limits(lim[0] > 0 ? (uint32_t)lim[0] : 0,
			      lim[1] > 0 ? (uint32_t)lim[1] : 0, l1, sizeof(l1)),
		       sr, limits(lim[2] > 0 ? (uint32_t)lim[2] : 0,
				  lim[3] > 0 ? (uint32_t)lim[3] : 0, l2,
				  sizeof(l2)), sp > 0 ? sp : 0);
	if (scrub > 0)
		printf("%-17s%s, %s\n", "last scrub:", human_fmt_date(scrub, b),
		       res >= 0 && res < 4 ? scrub_results[res] : "?");
	if (clean > 0)
		printf("%-17s%s, %s reclaimed (%s more cleanable)\n",
		       "last clean:", human_fmt_date(clean, b),
		       fmt_bytes(rec > 0 ? (uint64_t)rec : 0, c),
		       fmt_bytes(cl > 0 ? (uint64_t)cl : 0, l1));
	if (ck > 0)
		printf("%-17s%s%s\n", "last checkpoint:", human_fmt_date(ck, b),
		       ckf > 0 ? " (some failed since: ddt alerts)" : "");
}

static void show_status(kvlist *l, const gopts *g)
{
	int64_t logical = kv_get(l, "logical_bytes"),
		stored = kv_get(l, "stored_bytes"), raw = kv_get(l,
		"raw_bytes"), phys = kv_get(l, "physical_bytes"),
		sess = kv_get(l, "sessions"), maxs = kv_get(l, "max_sessions"),
		up = kv_get(l, "uptime_seconds");
	char b[FMT_LEN];

	printf("%-17s%s\n", "target:", g->where);
	show_space(l);
	show_bytes(l, "logical:", "logical_bytes", ", the files' sizes");
	show_bytes(l, "stored:", "stored_bytes", ", unique and compressed");
	show_bytes(l, "physical:", "physical_bytes", ", with erasure coding");
	if (logical >= 0 && stored >= 0 && raw < 0) {
		printf("%-17s%s (logical / stored)\n", "dedup ratio:",
		       fmt_ratio((uint64_t)logical, (uint64_t)stored, b));
		printf("%-17s%s\n", "compression:",
		       "not reported (the target sends no raw_bytes)");
	} else if (logical >= 0 && stored >= 0) {
		printf("%-17s%s (logical / raw)\n", "dedup ratio:",
		       fmt_ratio((uint64_t)logical, (uint64_t)raw, b));
		printf("%-17s%s (raw / stored)\n", "compression:",
		       fmt_ratio((uint64_t)raw, (uint64_t)stored, b));
	}
	if (phys >= 0 && stored >= 0)
		printf("%-17s%s (physical / stored)\n", "ec overhead:",
		       fmt_ratio((uint64_t)phys, (uint64_t)stored, b));
	show_count(l, "files:", "files");
	show_count(l, "segments:", "segments");
	show_count(l, "containers:", "containers");
	{
		int64_t rd = kv_get(l, "containers_read"),
			ra = kv_get(l, "containers_read_ahead");

		if (rd >= 0 && ra >= 0)
			printf("%-17s%" PRId64 " containers from disk since "
			       "start (%" PRId64 " read ahead)\n", "reads:",
			       rd, ra);
	}
	show_count(l, "storage units:", "storage_units");
	show_count(l, "backups:", "backups");
	if (sess >= 0 && maxs >= 0)
		printf("%-17s%" PRId64 " of %" PRId64 "\n", "sessions:", sess,
		       maxs);
	if (up >= 0)
		printf("%-17s%s\n", "uptime:", human_fmt_secs((double)up, b));
	{
		int64_t deg = kv_get(l, "degraded_containers");

		if (deg > 0)
			printf("%-17s%" PRId64 " containers written without a "
			       "missing directory's fragments (run 'ddt scrub "
			       "start' once it is back)\n", "degraded:", deg);
		deg = kv_get(l, "journals_unmirrored");
		if (deg > 0)
			printf("%-17s%" PRId64 " containers' journals written "
			       "in one copy only (no data directory could take "
			       "the second)\n", "unmirrored:", deg);
	}
	(void)kv_get(l, "ingest_logical_bytes");
	(void)kv_get(l, "ingest_raw_bytes");
	(void)kv_get(l, "ingest_stored_bytes");
	show_ingest(l, "last 24 hours:", "24h");
	show_ingest(l, "last 7 days:", "7d");
	show_activity(l);
	show_next(l, "next clean:", "next_clean_ns");
	show_next(l, "next checkpoint:", "next_checkpoint_ns");
	show_next(l, "next expiry:", "next_expire_ns");
	show_next(l, "next scrub:", "next_scrub_ns");
	/* Keys this ddt does not know yet, as they come; proto_* say what
	 * the target's protocol offers, for clients, not people. */
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].shown && !health_status_key(l->v[i].key) &&
		    strncmp(l->v[i].key, "proto_", 6) != 0)
			printf("%s:%*s%" PRIu64 "\n", l->v[i].key,
			       (int)(strlen(l->v[i].key) < 16 ?
				     16 - strlen(l->v[i].key) : 1), "",
			       l->v[i].v);
}

/* ddt status --json. */
static int status_json(const gopts *g)
{
	ddtc *c;
	int rc, ret = cmd_login(g, 0, &c);

	if (ret)
		return ret;
	rc = jsonout_status(c);
	ddtc_close(c);
	if (rc < 0)
		return out_fail(rc, "read the status of %s",
				g->where);
	return 0;
}

/* The figures, then the directories and the alerts; critical alerts
 * come first, where they cannot be missed. */
int cmd_status(const cmd *cm, const gopts *g, int argc, char **argv)
{
	health_view *h = NULL;
	char why[512] = "";
	kvlist *l;
	ddtc *c;
	int rc, hrc, ret;

	if (g->given & OP_JSON)
		return status_json(g);
	l = calloc(1, sizeof(*l));
	if (!l)
		return out_fail_errno(ENOMEM, "free some memory", "status");
	ret = cmd_login(g, 0, &c);
	if (ret) {
		free(l);
		return ret;
	}
	rc = ddtc_status(c, kv_add, l);
	/* An older target knows no STATUS_TEXT or ALERTS: say so, and show
	 * what it did send. */
	hrc = rc == 0 ? health_fetch(c, &h) : 0;
	if (hrc < 0)
		snprintf(why, sizeof(why), "%s", ddtc_errmsg(hrc));
	ddtc_close(c);
	if (rc < 0) {
		ret = out_fail(rc, "read the status of %s",
			       g->where);
	} else if (hrc < 0) {
		show_status(l, g);
		printf("%-17snot reported (%s)\n", "directories:", why);
	} else {
		if (health_critical(h))
			health_print_alerts(h);
		show_status(l, g);
		health_print_tls(h);
		health_print_dirs(h);
		if (!health_critical(h))
			health_print_alerts(h);
	}
	health_free(h);
	free(l);
	return ret;
}

int cmd_alerts(const cmd *cm, const gopts *g, int argc, char **argv)
{
	health_view *h = NULL;
	ddtc *c;
	int rc, ret;

	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	rc = health_fetch(c, &h);
	ddtc_close(c);
	if (rc < 0)
		ret = out_fail(rc, "read the alerts of %s", g->where);
	else
		health_print_alerts(h);
	health_free(h);
	return ret;
}

/* ---- scrub ---- */

int cmd_scrub(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0];
	ddtc *c;
	int rc, ret;

	if (argc != 1 || (strcmp(op, "start") && strcmp(op, "status") &&
			  strcmp(op, "watch")))
		return cmd_usage_error(cm, "scrub: give start, status or "
				       "watch");
	if ((g->given & OP_NO_REPAIR) && strcmp(op, "start") != 0)
		return cmd_usage_error(cm, "--no-repair goes with scrub start "
				       "only");
	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	rc = health_scrub(c, op, !(g->given & OP_NO_REPAIR),
			  !!(g->given & OP_QUIET));
	if (rc < 0)
		ret = out_fail(rc, "scrub %s on %s", op, g->where);
	ddtc_close(c);
	return ret;
}

/* ---- cleaning ---- */

static void show_clean(const ddtc_clean *cs, kvlist *l)
{
	int64_t ex = kv_get(l, "containers_examined"),
		tot = kv_get(l, "containers_total"),
		rec = kv_get(l, "reclaimed_bytes"),
		cop = kv_get(l, "bytes_copied"),
		drp = kv_get(l, "containers_dropped"),
		xb = kv_get(l, "examined_bytes"),
		t0 = kv_get(l, "started_ns"), t1 = kv_get(l, "finished_ns");
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN], b4[FMT_LEN];

	if (t0 <= 0) {
		printf("cleaning: has not run since the target started\n");
		return;
	}
	printf("cleaning: %s, %s\n", cs->running ? "running" : "not running",
	       cs->phase);
	if (cs->msg[0])
		printf("%s: %s\n", strcmp(cs->phase, "failed") == 0 ? "error" :
		       "note", cs->msg);
	printf("examined: %" PRId64 " of %" PRId64 " containers (%s)\n", ex,
	       tot, fmt_bytes((uint64_t)(xb > 0 ? xb : 0), b1));
	printf("cleaned: %" PRId64 " containers, %s reclaimed, %s copied "
	       "forward\n", drp, fmt_bytes((uint64_t)(rec > 0 ? rec : 0), b2),
	       fmt_bytes((uint64_t)(cop > 0 ? cop : 0), b3));
	if (t1 > 0)
		printf("took: %s\n", human_fmt_secs((double)(t1 - t0) / 1e9, b4));
}

/* Poll until the clean ends, printing its phase as it changes. */
static int clean_watch(ddtc *c, int show)
{
	char last[DDT_MAX_NAME + 1] = "";
	ddtc_clean cs;
	kvlist *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	for (;;) {
		l->n = 0;
		rc = ddtc_clean_status(c, &cs, kv_add, l);
		if (rc < 0 || !cs.running)
			break;
		if (show && strcmp(last, cs.phase) != 0) {
			printf("cleaning: %s\n", cs.phase);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", cs.phase);
		}
		usleep(200 * 1000);
	}
	if (rc == 0) {
		show_clean(&cs, l);
		if (strcmp(cs.phase, "failed") == 0)
			rc = ddterr_set(-EIO, "%s", cs.msg);
	}
	free(l);
	return rc;
}

int cmd_clean(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0];
	ddtc_clean cs;
	kvlist *l;
	ddtc *c;
	int rc, ret;

	if (argc != 1 || (strcmp(op, "start") && strcmp(op, "status") &&
			  strcmp(op, "watch")))
		return cmd_usage_error(cm, "clean: give start, status or "
				       "watch");
	l = calloc(1, sizeof(*l));
	if (!l)
		return out_fail_errno(ENOMEM, "free some memory", "clean");
	ret = cmd_login(g, 0, &c);
	if (ret) {
		free(l);
		return ret;
	}
	if (strcmp(op, "status") == 0) {
		rc = ddtc_clean_status(c, &cs, kv_add, l);
		if (rc == 0)
			show_clean(&cs, l);
	} else {
		rc = op[0] == 's' ? ddtc_clean_start(c) : 0;
		if (rc == 0 && op[0] == 's' && !(g->given & OP_QUIET))
			printf("cleaning started\n");
		if (rc == 0 && op[0] == 'w')
			rc = clean_watch(c, !(g->given & OP_QUIET));
	}
	if (rc < 0)
		ret = out_fail(rc, "clean %s on %s", op, g->where);
	ddtc_close(c);
	free(l);
	return ret;
}

/* ---- storage units ---- */

static int su_print(void *arg, const ddtc_su *su)
{
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN], r[HUMAN_LEN];

	++*(size_t *)arg;
	if (*(size_t *)arg == 1)
		printf("%-32s  %10s  %10s  %-10s  %-4s  %10s  %s\n", "NAME",
		       "FILES", "LOGICAL", "RETENTION", "LOCK", "QUOTA",
		       "CREATED");
	printf("%-32s  %10" PRIu64 "  %10s  %-10s  %-4s  %10s  %s\n",
	       su->name, su->files, fmt_bytes(su->logical_bytes, b1),
	       human_fmt_duration(su->retention, "forever", r),
	       su->locked ? "on" : "off",
	       su->quota ? fmt_bytes(su->quota, b3) : "none",
	       human_fmt_date(su->created, b2));
	return 0;
}

/* A unit's SU_STATS entry, looked for by name. */
typedef struct stats_find {
	const char *name;
	ddt_su_stats st;
	int found;
} stats_find;

static int stats_find_cb(void *arg, const ddt_su_stats *s)
{
	stats_find *f = arg;

	if (strcmp(s->name, f->name) == 0) {
		f->st = *s;
		f->found = 1;
	}
	return 0;
}

/* The stream limits of su set: those given; the others as they are (the
 * four go together on the wire). */
static int stream_settings(ddtc *c, const gopts *g, const char *name,
			   ddtc_su_settings *s)
{
	stats_find f = { .name = name };
	int rc;

	if ((g->given & (OP_BACKUP_STREAMS | OP_RESTORE_STREAMS)) !=
	    (OP_BACKUP_STREAMS | OP_RESTORE_STREAMS)) {
		if ((rc = ddtc_su_stats(c, stats_find_cb, &f)) < 0)
			return rc;
		if (!f.found)
			return ddterr_set(-ENOENT, "no storage unit \"%s\"",
					  name);
	}
	s->backup_soft = f.st.backup_soft;
	s->backup_hard = f.st.backup_hard;
	s->restore_soft = f.st.restore_soft;
	s->restore_hard = f.st.restore_hard;
	if (g->given & OP_BACKUP_STREAMS) {
		s->backup_soft = g->streams[0];
		s->backup_hard = g->streams[1];
	}
	if (g->given & OP_RESTORE_STREAMS) {
		s->restore_soft = g->streams[2];
		s->restore_hard = g->streams[3];
	}
	s->mask |= DDT_SU_SET_STREAMS;
	return 0;
}

/* ddt su set: the settings given, in one SU_SET. */
static int su_set(ddtc *c, const gopts *g, const char *name)
{
	char r[HUMAN_LEN], q[FMT_LEN], l1[40], l2[40];
	ddtc_su_settings s = { .retention = g->retention, .lock = 1,
			       .quota = g->quota, .quota_soft = g->quota_soft };
	stats_find f = { .name = name };
	ddtc_su su;
	int rc;

	if (g->given & OP_RETENTION)
		s.mask |= DDT_SU_SET_RETENTION;
	if (g->given & OP_LOCK)
		s.mask |= DDT_SU_SET_LOCK;
	if (g->given & OP_QUOTA)
		s.mask |= DDT_SU_SET_QUOTA;
	if (g->given & OP_SOFT_QUOTA)
		s.mask |= DDT_SU_SET_QUOTA_SOFT;
	if ((g->given & (OP_BACKUP_STREAMS | OP_RESTORE_STREAMS)) &&
	    (rc = stream_settings(c, g, name, &s)) < 0)
		return rc;
	rc = ddtc_su_configure(c, name, &s, &su);
	if (rc < 0)
		return rc;
	printf("storage unit %s: retention %s, retention lock %s, quota %s\n",
	       name, human_fmt_duration(su.retention, "forever", r),
	       su.locked ? "on" : "off",
	       su.quota ? fmt_bytes(su.quota, q) : "none");
	/* The settings only SU_STATS shows, when some were changed. */
	if ((s.mask & DDT_SU_SET_EXTENDED) &&
	    ddtc_su_stats(c, stats_find_cb, &f) == 0 && f.found)
		printf("storage unit %s: soft quota %s, backup streams %s, "
		       "restore streams %s (soft/hard)\n", name,
		       f.st.quota_soft ? fmt_bytes(f.st.quota_soft, q) : "none",
		       limits(f.st.backup_soft, f.st.backup_hard, l1,
			      sizeof(l1)),
		       limits(f.st.restore_soft, f.st.restore_hard, l2,
			      sizeof(l2)));
	return 0;
}

/* ddt su streams [NAME]: the target's row, then each unit's (or NAME's). */
typedef struct streams_show {
	const char *only;
	size_t shown;
} streams_show;

static int streams_print(void *arg, const ddt_streams *s)
{
	streams_show *w = arg;
	char l1[40], l2[40];

	if (w->only && s->su[0] && strcmp(s->su, w->only) != 0)
		return 0;
	if (w->shown++ == 0)
		printf("%-24s %7s %8s %12s %14s %14s\n", "UNIT", "BACKUP",
		       "RESTORE", "REPLICATION", "BACKUP LIMIT",
		       "RESTORE LIMIT");
	printf("%-24s %7u %8u %12u %14s %14s\n", s->su[0] ? s->su :
	       "(target)", s->backup, s->restore, s->replication,
	       limits(s->backup_soft, s->backup_hard, l1, sizeof(l1)),
	       limits(s->restore_soft, s->restore_hard, l2, sizeof(l2)));
	return 0;
}

static int su_streams(ddtc *c, const char *name)
{
	streams_show w = { .only = name };
	int rc = ddtc_streams(c, streams_print, &w);

	if (rc == 0 && name && w.shown < 2)
		rc = ddterr_set(-ENOENT, "no storage unit \"%s\"", name);
	return rc;
}

int cmd_su(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0], *name = argc > 1 ? argv[1] : NULL;
	int is_list = strcmp(op, "list") == 0, is_set = strcmp(op, "set") == 0;
	int is_streams = strcmp(op, "streams") == 0;
	const unsigned settings = OP_RETENTION | OP_LOCK | OP_QUOTA |
				  OP_SOFT_QUOTA | OP_BACKUP_STREAMS |
				  OP_RESTORE_STREAMS;
	size_t n = 0;
	uint64_t root;
	ddtc *c;
	int rc = 0, ret;

	if (!is_list && !is_set && !is_streams && strcmp(op, "create") != 0 &&
	    strcmp(op, "delete") != 0)
		return cmd_usage_error(cm, "su: unknown operation '%s' "
				       "(create, list, delete, set or "
				       "streams)", op);
	if ((g->given & settings) && !is_set)
		return cmd_usage_error(cm, "--retention, --retention-lock, "
				       "--quota, --soft-quota and --*-streams "
				       "go with su set only");
	if (is_set && !(g->given & settings))
		return cmd_usage_error(cm, "su set: give --retention, "
				       "--retention-lock, --quota, "
				       "--soft-quota, --backup-streams or "
				       "--restore-streams");
	if (!is_streams && (is_list ? argc != 1 : argc != 2))
		return cmd_usage_error(cm, is_list ? "su list: takes no NAME" :
				       "su %s: give one NAME", op);
	if (name && !cmd_name_valid(name, DDT_MAX_NAME))
		return cmd_usage_error(cm, "storage unit '%s': use 1 to %d "
				       "letters, digits, '-', '_' or '.'",
				       name, DDT_MAX_NAME);
	if ((g->given & OP_RECURSIVE) && strcmp(op, "delete") != 0)
		return cmd_usage_error(cm, "--recursive goes with su delete "
				       "only");
	if ((g->given & OP_DOMAIN) && strcmp(op, "create") != 0)
		return cmd_usage_error(cm, "--domain goes with su create "
				       "only");
	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	if (is_list) {
		rc = ddtc_su_list(c, su_print, &n);
		if (rc == 0 && n == 0)
			printf("no storage units\n");
	} else if (is_set) {
		rc = su_set(c, g, name);
	} else if (is_streams) {
		rc = su_streams(c, name);
	} else if (op[0] == 'c') {
		rc = ddtc_su_create_in(c, name, g->domain, &root);
		if (rc == 0)
			printf("created storage unit %s%s%s\n", name,
			       g->domain ? " in domain " : "",
			       g->domain ? g->domain : "");
	} else {
		rc = ddtc_su_delete(c, name, !!(g->given & OP_RECURSIVE));
		if (rc == 0)
			printf("deleted storage unit %s\n", name);
	}
	if (rc < 0)
		ret = out_fail(rc, "%s storage unit%s%s", is_list ? "list" :
			       is_set ? "change" : is_streams ? "read the streams of" :
			       op, name ? " " : "s",
			       name ? name : "");
	ddtc_close(c);
	return ret;
}

/* ---- checkpoints ---- */

static int ckpt_print(void *arg, const ddtc_checkpoint *ck)
{
	char b1[FMT_LEN], b2[FMT_LEN];

	if (++*(size_t *)arg == 1)
		printf("%-32s  %-19s  %10s\n", "NAME", "CREATED", "SIZE");
	printf("%-32s  %-19s  %10s\n", ck->name, human_fmt_date(ck->created, b1),
	       fmt_bytes(ck->bytes, b2));
	return 0;
}

int cmd_checkpoint(const cmd *cm, const gopts *g, int argc, char **argv)
{
	char name[DDT_MAX_NAME + 1];
	int is_list = strcmp(argv[0], "list") == 0;
	size_t n = 0;
	ddtc *c;
	int rc, ret;

	(void)argc;
	if (!is_list && strcmp(argv[0], "create") != 0)
		return cmd_usage_error(cm, "checkpoint: unknown operation '%s' "
				       "(create or list)", argv[0]);
	ret = cmd_login(g, 0, &c);
	if (ret)
		return ret;
	if (is_list) {
		rc = ddtc_checkpoint_list(c, ckpt_print, &n);
		if (rc == 0 && n == 0)
			printf("no checkpoints\n");
	} else {
		rc = ddtc_checkpoint_create(c, name, sizeof(name));
		if (rc == 0)
			printf("checkpoint %s taken\n", name);
	}
	if (rc < 0)
		ret = out_fail(rc, "%s checkpoint%s on %s",
			       is_list ? "list" : "take a", is_list ? "s" : "",
			       g->where);
	ddtc_close(c);
	return ret;
}
