/* health.c - ddt's view of the target's health (see health.h): the
 * directory table and alerts that ddt status and ddt alerts print, and
 * ddt scrub. Figures come as STATUS keys (dirN.*, root.*), paths and
 * problems and states as STATUS_TEXT strings; all are joined here by
 * directory. */
#include "health.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddterr.h"
#include "human.h"
#include "out.h"
#include "util.h"

#define DIRS_MAX	17	/* the root and 16 data directories */
#define PATH_COL_MAX	48	/* wider paths push the columns right */
#define WATCH_USEC	(200 * 1000)

typedef struct hdir {
	int index;		/* -1: the root */
	int64_t present, cap, used, free, pct;	/* -1: not sent */
	char *path, *problem;
	char *state;		/* STATUS_TEXT's: degraded, rebuilding, ... */
} hdir;

struct health_view {
	hdir d[DIRS_MAX];
	int nd;
	int64_t k, m, ndata;
	ddtc_alert *a;
	size_t na, cap;
	int critical, warning;
	char *tls_fp;		/* STATUS_TEXT's tls_fingerprint */
	char *ec_reason;	/* ... and ec_reason: why this code */
};

/* ---- reading ---- */

/* The directory a key names ("root.path", "dir3.free_bytes"), and the
 * rest of the key after the dot; NULL if it names none. */
static const char *dir_of_key(const char *key, int *index)
{
	char *end;
	long v;

	if (strncmp(key, "root.", 5) == 0) {
		*index = -1;
		return key + 5;
	}
	if (strncmp(key, "dir", 3) != 0 || key[3] < '0' || key[3] > '9')
		return NULL;
	v = strtol(key + 3, &end, 10);
	if (*end != '.' || v < 0 || v >= DIRS_MAX - 1)
		return NULL;
	*index = (int)v;
	return end + 1;
}

static hdir *dir_slot(health_view *h, int index)
{
	for (int i = 0; i < h->nd; i++)
		if (h->d[i].index == index)
			return &h->d[i];
	if (h->nd == DIRS_MAX)
		return NULL;
	h->d[h->nd] = (hdir){ .index = index, .present = -1, .cap = -1,
			      .used = -1, .free = -1, .pct = -1 };
	return &h->d[h->nd++];
}

int health_status_key(const char *key)
{
	int index;

	return dir_of_key(key, &index) != NULL ||
	       strncmp(key, "alerts_", 7) == 0 || strcmp(key, "ec_k") == 0 ||
	       strcmp(key, "ec_m") == 0 || strcmp(key, "data_dirs") == 0;
}

static int status_cb(void *arg, const char *key, uint64_t v)
{
	health_view *h = arg;
	const char *what;
	int index;
	hdir *d;

	if (strcmp(key, "ec_k") == 0)
		h->k = (int64_t)v;
	else if (strcmp(key, "ec_m") == 0)
		h->m = (int64_t)v;
	else if (strcmp(key, "data_dirs") == 0)
		h->ndata = (int64_t)v;
	if (!(what = dir_of_key(key, &index)) || !(d = dir_slot(h, index)))
		return 0;
	if (strcmp(what, "present") == 0)
		d->present = (int64_t)v;
	else if (strcmp(what, "capacity_bytes") == 0)
		d->cap = (int64_t)v;
	else if (strcmp(what, "used_bytes") == 0)
		d->used = (int64_t)v;
	else if (strcmp(what, "free_bytes") == 0)
		d->free = (int64_t)v;
	else if (strcmp(what, "used_pct") == 0)
		d->pct = (int64_t)v;
	return 0;
}

static int text_cb(void *arg, const char *key, const char *v)
{
	health_view *h = arg;
	const char *what;
	char **slot = NULL;
	int index;
	hdir *d;

	if (strcmp(key, "tls_fingerprint") == 0)
		slot = &h->tls_fp;
	else if (strcmp(key, "ec_reason") == 0)
		slot = &h->ec_reason;
	if (slot) {
		free(*slot);
		*slot = strdup(v);
		return *slot ? 0 : -ENOMEM;
	}
	if (!(what = dir_of_key(key, &index)) || !(d = dir_slot(h, index)))
		return 0;
	if (strcmp(what, "path") == 0)
		slot = &d->path;
	else if (strcmp(what, "problem") == 0)
		slot = &d->problem;
	else if (strcmp(what, "state") == 0)
		slot = &d->state;
	if (!slot)
		return 0;
	free(*slot);
	*slot = strdup(v);
	return *slot ? 0 : -ENOMEM;
}

static int alert_cb(void *arg, const ddtc_alert *a)
{
	health_view *h = arg;

	if (h->na == h->cap) {
		ddtc_alert *v = util_grow_array(h->a, &h->cap, sizeof(*v), 8);

		if (!v)
			return -ENOMEM;
		h->a = v;
	}
	h->a[h->na++] = *a;
	h->critical += a->severity == DDT_SEV_CRITICAL;
	h->warning += a->severity == DDT_SEV_WARNING;
	return 0;
}

static int by_index(const void *x, const void *y)
{
	const hdir *a = x, *b = y;

	return (a->index > b->index) - (a->index < b->index);
}

int health_fetch(ddtc *c, health_view **out)
{
	health_view *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->k = h->m = h->ndata = -1;
	rc = ddtc_status(c, status_cb, h);
	if (rc == 0)
		rc = ddtc_status_text(c, text_cb, h);
	if (rc == 0)
		rc = ddtc_alerts(c, alert_cb, h);
	if (rc < 0) {
		health_free(h);
		return rc;
	}
	qsort(h->d, (size_t)h->nd, sizeof(h->d[0]), by_index);
	*out = h;
	return 0;
}

void health_free(health_view *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nd; i++) {
		free(h->d[i].path);
		free(h->d[i].problem);
		free(h->d[i].state);
	}
	free(h->a);
	free(h->tls_fp);
	free(h->ec_reason);
	free(h);
}

void health_print_tls(const health_view *h)
{
	if (h->tls_fp)
		printf("%-17s%s (certificate fingerprint)\n", "tls:",
		       h->tls_fp);
}

int health_critical(const health_view *h)
{
	return h->critical;
}

/* ---- printing ---- */

static const char *bytes_or_dash(int64_t v, int64_t cap, char *buf)
{
	if (v < 0 || cap <= 0)
		return "-";
	return fmt_bytes((uint64_t)v, buf);
}

void health_print_dirs(const health_view *h)
{
	char name[16], b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN], pct[24];
	int w = 4;

	if (h->nd == 0)
		return;
	if (h->k >= 0 && h->m >= 0 && h->ndata >= 0)
		printf("%-17serasure code %" PRId64 "+%" PRId64 " over %" PRId64
		       " data directories\n", "storage:", h->k, h->m,
		       h->ndata);
	if (h->ec_reason && h->ec_reason[0])
		printf("%-17s(%s)\n", "", h->ec_reason);
	for (int i = 0; i < h->nd; i++) {
		int len = h->d[i].path ? (int)strlen(h->d[i].path) : 1;

		if (len > w)
			w = len < PATH_COL_MAX ? len : PATH_COL_MAX;
	}
	printf("\n%-5s  %-*s  %10s  %10s  %10s  %4s  %s\n", "DIR", w, "PATH",
	       "SIZE", "USED", "FREE", "USE%", "STATE");
	for (int i = 0; i < h->nd; i++) {
		const hdir *d = &h->d[i];
		/* Present, but lacking fragments until a scrub rebuilds
		 * them: the target's word for it. */
		const char *state = d->present > 0 && d->state &&
				    (!strcmp(d->state, "degraded") ||
				     !strcmp(d->state, "rebuilding")) ?
				    d->state : d->present > 0 ? "ok" :
				    d->problem && d->problem[0] ? d->problem :
				    d->present == 0 ? "unusable" : "?";

		if (d->index < 0)
			snprintf(name, sizeof(name), "root");
		else
			snprintf(name, sizeof(name), "dir%d", d->index);
		if (d->pct >= 0 && d->cap > 0)
			snprintf(pct, sizeof(pct), "%" PRId64 "%%", d->pct);
		else
			snprintf(pct, sizeof(pct), "-");
		printf("%-5s  %-*s  %10s  %10s  %10s  %4s  %s\n", name, w,
		       d->path ? d->path : "?", bytes_or_dash(d->cap, d->cap, b1),
		       bytes_or_dash(d->used, d->cap, b2),
		       bytes_or_dash(d->free, d->cap, b3), pct, state);
	}
	printf("\n");
}

static const char *sev_name(int sev)
{
	return sev == DDT_SEV_CRITICAL ? "critical" :
	       sev == DDT_SEV_WARNING ? "warning" : "info";
}

void health_print_alerts(const health_view *h)
{
	char when[FMT_LEN];

	if (h->na == 0) {
		printf("no alerts\n");
		return;
	}
	printf("%-17s%d critical, %d warning, %d info\n", "alerts:",
	       h->critical, h->warning,
	       (int)h->na - h->critical - h->warning);
	for (size_t i = 0; i < h->na; i++)
		printf("%-8s  %s  %s  %s\n", sev_name(h->a[i].severity),
		       human_fmt_date(h->a[i].since, when), h->a[i].id,
		       h->a[i].text);
}

/* ---- scrub ---- */

typedef struct skv {
	char key[32];
	uint64_t v;
} skv;

typedef struct aff {
	char su[DDT_MAX_NAME + 1], backup[DDT_MAX_NAME + 1];
	uint64_t files;
} aff;

/* What one SCRUB_STATUS said. */
typedef struct scrub_view {
	ddtc_scrub s;
	skv kv[64];
	size_t nkv;
	aff *a;
	size_t na, cap;
} scrub_view;

static int skv_cb(void *arg, const char *key, uint64_t v)
{
	scrub_view *x = arg;

	if (x->nkv < sizeof(x->kv) / sizeof(x->kv[0])) {
		snprintf(x->kv[x->nkv].key, sizeof(x->kv[0].key), "%s", key);
		x->kv[x->nkv++].v = v;
	}
	return 0;
}

static int aff_cb(void *arg, const char *su, const char *backup,
		  uint64_t files)
{
	scrub_view *x = arg;

	if (x->na == x->cap) {
		aff *v = util_grow_array(x->a, &x->cap, sizeof(*v), 16);

		if (!v)
			return -ENOMEM;
		x->a = v;
	}
	snprintf(x->a[x->na].su, sizeof(x->a[0].su), "%s", su);
	snprintf(x->a[x->na].backup, sizeof(x->a[0].backup), "%s", backup);
	x->a[x->na++].files = files;
	return 0;
}

static int scrub_read(ddtc *c, scrub_view *x)
{
	x->nkv = 0;
	x->na = 0;
	return ddtc_scrub_status(c, &x->s, skv_cb, x, aff_cb, x);
}

/* The value of key, 0 if the target did not send it. */
static uint64_t sv(const scrub_view *x, const char *key)
{
	for (size_t i = 0; i < x->nkv; i++)
		if (strcmp(x->kv[i].key, key) == 0)
			return x->kv[i].v;
	return 0;
}

static void show_affected(const scrub_view *x)
{
	uint64_t backups = sv(x, "affected_backups");

	printf("%-17s%" PRIu64 " files in %" PRIu64 " backups\n", "affected:",
	       sv(x, "affected_files"), backups);
	for (size_t i = 0; i < x->na; i++)
		printf("%-17s%s %s: %" PRIu64 " files\n", "affected backup:",
		       x->a[i].su, x->a[i].backup[0] ? x->a[i].backup :
		       "(outside backups)", x->a[i].files);
	if (backups > x->na)
		printf("%-17s%" PRIu64 " more not listed\n", "affected backup:",
		       backups - x->na);
}

static void show_scrub(const scrub_view *x)
{
	char b[FMT_LEN];
	uint64_t t0 = sv(x, "started_ns"), t1 = sv(x, "finished_ns");
	int repair = (int)sv(x, "repair");

	if (t0 == 0) {
		printf("scrub: has not run since the target started\n");
		return;
	}
	printf("%-17s%s, %s (%s)\n", "scrub:", x->s.running ? "running" :
	       "not running", x->s.phase, repair ? "with repair" :
	       "report only");
	printf("%-17s%s\n", "started:", human_fmt_date((int64_t)t0, b));
	if (t1)
		printf("%-17s%s\n", "took:",
		       human_fmt_secs((double)(t1 - t0) / 1e9, b));
	printf("%-17s%" PRIu64 " of %" PRIu64 " checked, %" PRIu64 " cleaned "
	       "away meanwhile\n", "containers:", sv(x, "containers_checked"),
	       sv(x, "containers_total"), sv(x, "containers_vanished"));
	printf("%-17s%s\n", "bytes examined:", fmt_bytes(sv(x, "bytes_read"),
							  b));
	printf("%-17s%" PRIu64 " checked, %" PRIu64 " missing, %" PRIu64
	       " damaged, %" PRIu64 " rebuilt\n", "fragments:",
	       sv(x, "fragments_checked"), sv(x, "fragments_missing"),
	       sv(x, "fragments_corrupt"), sv(x, "fragments_rebuilt"));
	printf("%-17s%" PRIu64 " re-hashed, %" PRIu64 " bad\n", "segments:",
	       sv(x, "segments_checked"), sv(x, "segments_bad"));
	printf("%-17s%" PRIu64 "\n", "not indexed:", sv(x, "index_missing"));
	printf("%-17s%" PRIu64 " checked (%" PRIu64 " records), %" PRIu64
	       " damaged, %" PRIu64 " sealed early\n", "journals:",
	       sv(x, "journals_checked"), sv(x, "journal_records"),
	       sv(x, "journals_damaged"), sv(x, "journals_sealed"));
	printf("%-17s%" PRIu64 " containers, %" PRIu64 " more with bad "
	       "segments\n", "unrecoverable:",
	       sv(x, "containers_unrecoverable"), sv(x, "containers_damaged"));
	printf("%-17s%" PRIu64 " checked, %" PRIu64 " naming missing "
	       "segments, %" PRIu64 " with trees that do not describe their "
	       "data\n", "files:", sv(x, "files_checked"),
	       sv(x, "files_missing_segments"), sv(x, "files_bad_tree"));
	if (sv(x, "lost_containers") || sv(x, "affected_files"))
		show_affected(x);
	if (!x->s.running)
		printf("%-17s%s\n", "result:", sv(x, "result") ? "failed" :
		       sv(x, "clean") ? "nothing left to repair" :
		       "problems remain");
	if (x->s.msg[0])
		printf("%-17s%s\n", "summary:", x->s.msg);
}

/* The finished scrub as a return code: its failure, or what it left. */
static int scrub_verdict(const scrub_view *x)
{
	uint64_t res = sv(x, "result"), lost = sv(x, "lost_containers");

	if (sv(x, "started_ns") == 0)
		return 0;
	if (res)
		return ddterr_set(-(int)res, "%s", x->s.msg);
	if (sv(x, "clean"))
		return 0;
	if (lost || sv(x, "affected_files"))
		return ddterr_set(-EIO, "data lost in %" PRIu64 " containers, "
				  "%" PRIu64 " files in %" PRIu64 " backups "
				  "affected (restore the missing disks if you "
				  "can, else back those files up again)", lost,
				  sv(x, "affected_files"),
				  sv(x, "affected_backups"));
	return ddterr_set(-EIO, "the scrub left problems behind (%s)",
			  sv(x, "repair") ? "see the figures above; scrub "
			  "again" : "run 'ddt scrub start' to repair them");
}

static int scrub_watch(ddtc *c, scrub_view *x, int quiet)
{
	char last[DDT_MAX_NAME + 1] = "";
	int rc;

	for (;;) {
		rc = scrub_read(c, x);
		if (rc < 0 || !x->s.running)
			break;
		if (!quiet && strcmp(last, x->s.phase) != 0) {
			printf("scrub: %s\n", x->s.phase);
			fflush(stdout);
			snprintf(last, sizeof(last), "%s", x->s.phase);
		}
		usleep(WATCH_USEC);
	}
	if (rc < 0)
		return rc;
	show_scrub(x);
	fflush(stdout);
	return scrub_verdict(x);
}

int health_scrub(ddtc *c, const char *op, int repair, int quiet)
{
	scrub_view *x = calloc(1, sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	if (strcmp(op, "start") == 0) {
		rc = ddtc_scrub_start(c, repair);
		if (rc == 0 && !quiet)
			printf("scrub started (%s)\n", repair ? "with repair" :
			       "report only");
	} else if (strcmp(op, "watch") == 0) {
		rc = scrub_watch(c, x, quiet);
	} else {
		rc = scrub_read(c, x);
		if (rc == 0)
			show_scrub(x);
	}
	free(x->a);
	free(x);
	return rc;
}
