/* test_figures.c - the daemon's own figures, on a real index: the ingest
 * counters' hourly windows (24 hours, 7 days) as time moves on, and kept
 * across a reopen; a unit's soft quota, stream limits and counters kept
 * alike; the dedup-ratio anomaly's rule (a first backup seeds, a jump of
 * the new share over the median is flagged, a small one is not) and its
 * history kept per unit and name. */
#include "anomaly.h"
#include "ddterr.h"
#include "ingest.h"
#include "units.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

#define HOUR	(3600LL * 1000000000LL)

static idx *open_ix(const char *root)
{
	char path[1024];
	idx *ix;

	snprintf(path, sizeof(path), "%s/index", root);
	if (idx_open(&ix, path, 0) < 0)
		tap_bail("idx_open %s: %s", path, ddterr_last(-1));
	return ix;
}

static void test_ingest(const char *root)
{
	const int64_t t0 = 1800000000LL * 1000000000LL;	/* 2027 */
	uint64_t a[ING_COUNT] = { 100, 40, 20 }, b[ING_COUNT] = { 50, 5, 1 };
	idx *ix = open_ix(root);
	ingest_figures f;
	ingest *g;

	ok(ingest_open(&g, ix) == 0, "ingest: a new index starts at 0");
	ingest_add(g, t0, a);
	ingest_get(g, t0, &f);
	ok(f.total[ING_LOGICAL] == 100 && f.day[ING_RAW] == 40 &&
	   f.week[ING_STORED] == 20, "what was added is in all three");
	ingest_add(g, t0 + 2 * HOUR, b);
	ingest_get(g, t0 + 2 * HOUR, &f);
	ok(f.day[ING_LOGICAL] == 150 && f.week[ING_LOGICAL] == 150,
	   "two hours on: both in the day and the week");
	ingest_get(g, t0 + 25 * HOUR, &f);
	ok(f.day[ING_LOGICAL] == 50 && f.week[ING_LOGICAL] == 150 &&
	   f.total[ING_LOGICAL] == 150,
	   "25 hours on: the first left the day, not the week");
	ingest_add(g, t0, a);	/* a clock gone back: the newest hour */
	ingest_get(g, t0 + 25 * HOUR, &f);
	ok(f.day[ING_LOGICAL] == 150 && f.total[ING_LOGICAL] == 250,
	   "a clock that went back counts into the newest hour");
	ok(ingest_flush(g) == 0, "flushed");
	ingest_close(g);
	ok(ingest_open(&g, ix) == 0, "reopened");
	ingest_get(g, t0 + 25 * HOUR, &f);
	ok(f.total[ING_LOGICAL] == 250 && f.day[ING_LOGICAL] == 150 &&
	   f.week[ING_RAW] == 85, "the counters and buckets were kept");
	ingest_get(g, t0 + 9 * 24 * HOUR, &f);
	ok(f.day[ING_LOGICAL] == 0 && f.week[ING_LOGICAL] == 0 &&
	   f.total[ING_LOGICAL] == 250, "9 days on: the windows are empty, "
	   "the total stays (%llu %llu %llu)",
	   (unsigned long long)f.day[ING_LOGICAL],
	   (unsigned long long)f.week[ING_LOGICAL],
	   (unsigned long long)f.total[ING_LOGICAL]);
	ingest_close(g);
	idx_close(ix);
}

static void test_units(const char *root)
{
	uint32_t lim[LIM_COUNT] = { 2, 4, 0, 3 };
	uint64_t add[ING_COUNT] = { 1000, 600, 300 };
	idx *ix = open_ix(root);
	unit_rec r;
	units *u;

	ok(units_open(&u, ix) == 0 && units_get(u, 42, &r) == 0 &&
	   r.quota_soft == 0 && r.lim[LIM_BACKUP_HARD] == 0 &&
	   r.ingest[ING_LOGICAL] == 0, "units: a unit never set is all 0");
	ok(units_set(u, 42, 1, 5000, 1, lim) == 0, "set its soft quota and "
	   "limits");
	units_add_ingest(u, 42, add);
	units_add_ingest(u, 42, add);
	ok(units_set(u, 42, 1, 7000, 0, NULL) == 0 &&
	   units_get(u, 42, &r) == 0 && r.quota_soft == 7000 &&
	   r.lim[LIM_RESTORE_HARD] == 3 && r.ingest[ING_RAW] == 1200,
	   "the soft quota alone changes; the limits stay");
	units_close(u);
	ok(units_open(&u, ix) == 0 && units_get(u, 42, &r) == 0 &&
	   r.quota_soft == 7000 && r.lim[LIM_BACKUP_SOFT] == 2 &&
	   r.ingest[ING_LOGICAL] == 2000 && r.ingest[ING_STORED] == 600,
	   "all of it kept across a reopen");
	ok(units_get(u, 43, &r) == 0 && r.quota_soft == 0,
	   "another unit is its own");
	units_close(u);
	idx_close(ix);
}

static void test_anomaly(const char *root)
{
	idx *ix = open_ix(root);
	anomaly_hist h = { 0 };
	unsigned med;
	int flagged = 0;

	ok(anomaly_share(0, 1000) == 0 && anomaly_share(500, 1000) == 500 &&
	   anomaly_share(5000, 1000) == 1000 && anomaly_share(1, 0) == 1000,
	   "the share: new over the backup, in per mille, at most 1000");
	ok(anomaly_judge(&h, 1000, &med) == 0 && h.seeded && h.n == 0,
	   "a first backup (all new) only seeds the history");
	ok(anomaly_judge(&h, 1000, &med) == 1 && med == 0,
	   "a second all new against no history: flagged");
	memset(&h, 0, sizeof(h));
	(void)anomaly_judge(&h, 1000, &med);
	ok(anomaly_judge(&h, 20, &med) == 0, "a second with 2%% new: not");
	ok(anomaly_judge(&h, 40, &med) == 0 && med == 20, "4%% over a median "
	   "of 2%%: not");
	ok(anomaly_judge(&h, 300, &med) == 0, "30%%: not (under 50%%)");
	ok(anomaly_judge(&h, 950, &med) == 1, "95%% over a median of %u.%u%%: "
	   "flagged", med / 10, med % 10);
	ok(anomaly_save(ix, 7, "db", &h) == 0, "the history is saved");
	memset(&h, 0, sizeof(h));
	ok(anomaly_load(ix, 7, "db", &h) == 0 && h.seeded && h.n == 4 &&
	   h.pm[3] == 950, "and loads back (4 shares, the newest last)");
	ok(anomaly_load(ix, 7, "other", &h) == 0 && !h.seeded && h.n == 0,
	   "another name has its own, empty");
	/* A data set that changes a lot every time: its median rises and it
	 * stops being flagged. */
	memset(&h, 0, sizeof(h));
	(void)anomaly_judge(&h, 1000, &med);
	for (int i = 0; i < 10; i++)
		flagged += anomaly_judge(&h, 700, &med);
	ok(flagged == 1 && h.n == ANOMALY_HISTORY,
	   "70%% new every time: flagged once, then its own normal (%d)",
	   flagged);
	idx_close(ix);
}

int main(void)
{
	char *root = tap_tmpdir("figures");

	test_ingest(root);
	test_units(root);
	test_anomaly(root);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
