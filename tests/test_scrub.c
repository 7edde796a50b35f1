/* test_scrub.c - scrub and repair on real fragment files: flipped bytes,
 * whole storage directories removed, more fragments lost than parity
 * covers, damage behind a valid CRC (data, container header, parity), a
 * report-only scrub that must change nothing, a scrub beside a writer,
 * cancel, throttle, and the directories' identity markers and status.
 * Geometries 4+2, 2+1 and 1+0 (where nothing can be rebuilt). */
#include "store.h"
#include "store_dirs.h"
#include "store_scrub.h"
#include "ctrio.h"
#include "ddterr.h"
#include "frag.h"
#include "segdata.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTAINER_SIZE	(256 * 1024)
#define NSEG		300

static int geo_k = 4, geo_m = 2;	/* of the store a test works on */

static store *open_geo(const char *root)
{
	store_config c;

	store_config_default(&c, root);
	c.container_size = CONTAINER_SIZE;
	c.k = geo_k;
	c.m = geo_m;
	return segdata_open_config(&c);
}

/* A store of geometry k + m holding segments 0..NSEG-1 of seed, sealed. */
static store *fill(const char *root, int k, int m, uint64_t seed)
{
	store *s;

	geo_k = k;
	geo_m = m;
	s = open_geo(root);
	if (!s || segdata_put(s, seed, 0, NSEG, NULL) != 0 ||
	    store_flush(s) != 0)
		tap_bail("fill %s", root);
	return s;
}

static void frag_path(const char *root, uint64_t cid, int index, char *out,
		      size_t cap)
{
	char *dirs[STORE_MAX_DIRS], p[1024];
	int n = geo_k + geo_m;
	ctrio_layout L;
	ec *e;

	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/data/dir%d", root, i);
		if (!(dirs[i] = strdup(p)))
			tap_bail("strdup");
	}
	if (ec_new(&e, geo_k, geo_m) != 0)
		tap_bail("ec_new");
	L = (ctrio_layout){ .e = e, .ndirs = n, .dirs = dirs };
	ctrio_frag_path(&L, cid, index, out, cap);
	for (int i = 0; i < n; i++)
		free(dirs[i]);
	ec_free(e);
}

static int scrub(store *s, int repair, store_scrub_report *r)
{
	store_scrub_opts o = { .repair = repair };
	char sum[1024];
	int rc;

	ddterr_clear();
	rc = store_scrub(s, &o, r);
	if (rc < 0)
		diag("store_scrub: %s", ddterr_last(rc));
	diag("%s", store_scrub_summary(r, sum, sizeof(sum)));
	return rc;
}

static uint64_t containers(store *s)
{
	store_stats st;

	store_get_stats(s, &st);
	return st.containers;
}

/* Whether fragment index of cid reads back whole. */
static int frag_sound(const char *root, uint64_t cid, int index)
{
	frag_hdr want = { .cid = cid, .k = (uint8_t)geo_k,
			  .m = (uint8_t)geo_m, .index = (uint8_t)index };
	char path[1024];
	uint8_t *p;
	uint32_t clen;
	long size;
	int rc;

	frag_path(root, cid, index, path, sizeof(path));
	size = file_size(path);
	if (size < FRAG_DATA_OFF)
		return 0;
	want.payload_len = (uint32_t)(size - FRAG_DATA_OFF);
	p = xmalloc(want.payload_len);
	rc = frag_read(path, &want, p, &clen);
	free(p);
	return rc == 0;
}

/* Damage fragment index of cid behind a valid CRC: flip the payload byte
 * at off and write the fragment again, CRCs computed afresh. */
static void damage_behind_crc(const char *root, uint64_t cid, int index,
			      uint32_t off)
{
	frag_hdr want = { .cid = cid, .k = (uint8_t)geo_k,
			  .m = (uint8_t)geo_m, .index = (uint8_t)index };
	char path[1024];
	uint8_t *p;
	uint32_t clen;

	frag_path(root, cid, index, path, sizeof(path));
	want.payload_len = (uint32_t)(file_size(path) - FRAG_DATA_OFF);
	p = xmalloc(want.payload_len);
	if (off >= want.payload_len || frag_read(path, &want, p, &clen) != 0)
		tap_bail("damage_behind_crc: read %s", path);
	p[off] ^= 0x5a;
	want.container_len = clen;
	if (frag_write(path, &want, p) != 0)
		tap_bail("damage_behind_crc: write %s", path);
	free(p);
}

static void rm_rf(const char *path)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		tap_bail("%s", cmd);
}

/* ---- (a) a flipped byte ---- */

static void test_flip(const char *root)
{
	store *s = fill(root, geo_k, geo_m, 1);
	store_scrub_report r;
	char path[1024];
	uint64_t nctr = containers(s);

	frag_path(root, 2, geo_k > 1 ? 1 : 0, path, sizeof(path));
	flip_byte(path, FRAG_DATA_OFF + 100);
	ok(segdata_check(s, 1, 0, NSEG) == 0,
	   "%d+%d: every segment reads with a flipped fragment", geo_k, geo_m);
	ok(scrub(s, 1, &r) == 0 && r.containers_checked == nctr &&
	   r.fragments_checked == nctr * (uint64_t)(geo_k + geo_m),
	   "%d+%d: scrub walks all %llu containers and their fragments",
	   geo_k, geo_m, (unsigned long long)nctr);
	ok(r.fragments_corrupt == 1 && r.fragments_rebuilt == 1 &&
	   r.fragments_missing == 0 && r.segments_bad == 0 &&
	   store_scrub_clean(&r),
	   "%d+%d: it reports 1 corrupt fragment, rebuilt", geo_k, geo_m);
	ok(frag_sound(root, 2, geo_k > 1 ? 1 : 0),
	   "%d+%d: the fragment file is sound again", geo_k, geo_m);
	store_scrub_report_free(&r);
	ok(scrub(s, 1, &r) == 0 && r.fragments_corrupt == 0 &&
	   r.fragments_rebuilt == 0 && store_scrub_clean(&r) &&
	   r.segments_checked == NSEG,
	   "%d+%d: a second scrub finds nothing and re-hashes all %d segments",
	   geo_k, geo_m, NSEG);
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* With no parity a flipped fragment loses its container: reported with
 * its cid, and nothing else suffers. */
static void test_flip_no_parity(const char *root)
{
	store *s = fill(root, 1, 0, 2);
	store_scrub_report r;
	char path[1024];
	size_t bad;

	frag_path(root, 2, 0, path, sizeof(path));
	flip_byte(path, FRAG_DATA_OFF + 100);
	bad = segdata_check(s, 2, 0, NSEG);
	ok(scrub(s, 1, &r) == 0 && r.containers_unrecoverable == 1 &&
	   r.nlost == 1 && r.lost_cids[0] == 2 && r.fragments_corrupt == 1 &&
	   r.fragments_rebuilt == 0 && !store_scrub_clean(&r),
	   "1+0: a flipped fragment makes its container unrecoverable, cid 2");
	ok(bad > 0 && bad < NSEG && r.segments_checked == NSEG - bad,
	   "1+0: only its segments are lost (%zu); the rest re-hash fine", bad);
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- (b) whole storage directories removed ---- */

static void test_lose_dirs(const char *root)
{
	int k = geo_k, m = geo_m, n = k + m, fine = 1, rc;
	store *s = fill(root, k, m, 3);
	store_dir_info di[STORE_DIR_INFO_MAX];
	store_scrub_report r;
	uint64_t nctr = containers(s);
	char dir[1024];
	int nd = STORE_DIR_INFO_MAX;

	for (int i = 0; i < m; i++) {
		snprintf(dir, sizeof(dir), "%s/data/dir%d", root, i);
		rm_rf(dir);
	}
	ok(segdata_check(s, 3, 0, NSEG) == 0,
	   "%d+%d: every segment reads with %d directories removed", k, m, m);
	rc = store_dir_status(s, di, &nd);
	ok(rc == 0 && nd == n + 1 &&
	   !di[1].present && strcmp(di[1].problem, "missing") == 0 &&
	   di[m + 1].present,
	   "%d+%d: status shows the removed directories missing (%s)", k, m,
	   di[1].problem);
	ok(scrub(s, 1, &r) == 0 && r.fragments_missing == nctr * (uint64_t)m &&
	   r.fragments_rebuilt == nctr * (uint64_t)m && store_scrub_clean(&r),
	   "%d+%d: scrub rebuilds all %llu of their fragments", k, m,
	   (unsigned long long)(nctr * (uint64_t)m));
	store_scrub_report_free(&r);
	nd = STORE_DIR_INFO_MAX;
	store_dir_status(s, di, &nd);
	for (int i = 0; i <= n; i++)
		fine &= di[i].present;
	ok(fine, "%d+%d: the directories are back, with their markers", k, m);
	tstore_close(s);

	/* Now lose m other directories: only a real rebuild saves the data. */
	for (int i = m; i < 2 * m && i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/data/dir%d", root, i);
		rm_rf(dir);
	}
	s = open_geo(root);
	ok(s && segdata_check(s, 3, 0, NSEG) == 0,
	   "%d+%d: with %d other directories removed every segment still "
	   "reads", k, m, m);
	ok(s && scrub(s, 1, &r) == 0 &&
	   r.fragments_rebuilt == nctr * (uint64_t)m && store_scrub_clean(&r),
	   "%d+%d: and a scrub rebuilds those too", k, m);
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- (c) more lost than parity covers ---- */

static int count_fp(void *arg, const fp_t *fp)
{
	(void)fp;
	++*(size_t *)arg;
	return 0;
}

static void test_unrecoverable(const char *root)
{
	store *s = fill(root, 4, 2, 4);
	store_scrub_report r;
	char path[1024];
	size_t bad, nfp = 0;
	int rc;

	for (int i = 0; i < 3; i++) {
		frag_path(root, 3, i * 2, path, sizeof(path));
		if (unlink(path) != 0)
			tap_bail("unlink %s", path);
	}
	bad = segdata_check(s, 4, 0, NSEG);
	ok(scrub(s, 1, &r) == 0 && r.containers_unrecoverable == 1 &&
	   r.nlost == 1 && r.lost_cids[0] == 3 && r.containers_damaged == 0 &&
	   r.fragments_missing == 3 && r.fragments_rebuilt == 0 &&
	   !store_scrub_clean(&r),
	   "4+2: 3 fragments lost: container 3 alone is reported unrecoverable");
	ok(r.segments_checked == NSEG - bad && bad > 0,
	   "4+2: every other container's segments re-hash fine (%zu lost)",
	   bad);
	rc = store_ctr_fps(s, 3, count_fp, &nfp);
	ok(rc == 0 && nfp == bad,
	   "store_ctr_fps names exactly the %zu unreadable segments", nfp);
	ddterr_clear();
	rc = store_ctr_fps(s, 999, count_fp, &nfp);
	ok(rc == -ENOENT && strstr(ddterr_last(rc), "999"),
	   "store_ctr_fps of an unknown container: %s", ddterr_last(rc));
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- (d) damage behind a valid CRC ---- */

static void test_silent(const char *root)
{
	int k = geo_k, m = geo_m;
	store *s = fill(root, k, m, 5);
	store_scrub_report r;
	size_t bad;

	/* A segment's bytes in a data fragment (past the container's header
	 * and directory, some 2 KiB). */
	damage_behind_crc(root, 2, k - 1, 2000 + (k == 1 ? 4096 : 0));
	bad = segdata_check(s, 5, 0, NSEG);
	ok(bad >= 1, "%d+%d: a segment damaged behind a good CRC fails its "
	   "read (%zu)", k, m, bad);
	ok(scrub(s, 1, &r) == 0 && r.segments_bad >= 1 &&
	   r.fragments_corrupt == 1 && r.fragments_rebuilt == 1 &&
	   r.containers_damaged == 0 && store_scrub_clean(&r),
	   "%d+%d: scrub finds the bad segment and the lying fragment, and "
	   "rebuilds it", k, m);
	store_scrub_report_free(&r);
	ok(segdata_check(s, 5, 0, NSEG) == 0,
	   "%d+%d: afterwards every segment reads (no stale cached copy)", k, m);

	/* The container's header, in fragment 0. */
	damage_behind_crc(root, 3, 0, 0);
	ok(scrub(s, 1, &r) == 0 && r.fragments_corrupt == 1 &&
	   r.fragments_rebuilt == 1 && store_scrub_clean(&r),
	   "%d+%d: a damaged container header is found and rebuilt", k, m);
	store_scrub_report_free(&r);

	/* Parity: no read ever looks at it, only a scrub's re-encode. */
	damage_behind_crc(root, 4, k, 3000);
	ok(segdata_check(s, 5, 0, NSEG) == 0,
	   "%d+%d: damaged parity does not disturb reads", k, m);
	ok(scrub(s, 1, &r) == 0 && r.fragments_corrupt == 1 &&
	   r.fragments_rebuilt == 1 && r.segments_bad == 0 &&
	   store_scrub_clean(&r) && frag_sound(root, 4, k),
	   "%d+%d: scrub re-encodes parity, finds the damaged one, rewrites it",
	   k, m);
	store_scrub_report_free(&r);
	ok(scrub(s, 1, &r) == 0 && r.fragments_corrupt == 0 &&
	   store_scrub_clean(&r) && segdata_check(s, 5, 0, NSEG) == 0,
	   "%d+%d: then all is clean", k, m);
	store_scrub_report_free(&r);
	if (m >= 2) {
		/* Two liars in one container: no single one explains it. */
		damage_behind_crc(root, 5, 1, 2500);
		damage_behind_crc(root, 5, 2, 7000);
		ok(scrub(s, 1, &r) == 0 && r.segments_bad >= 2 &&
		   r.fragments_corrupt == 2 && r.fragments_rebuilt == 2 &&
		   store_scrub_clean(&r) && segdata_check(s, 5, 0, NSEG) == 0,
		   "%d+%d: two fragments damaged behind good CRCs are found "
		   "as a pair and rebuilt", k, m);
		store_scrub_report_free(&r);
	}
	tstore_close(s);
}

/* With no parity to compare, damage behind a CRC is found but cannot be
 * undone: the container is reported as holding bad segments. */
static void test_silent_no_parity(const char *root)
{
	store *s = fill(root, 1, 0, 6);
	store_scrub_report r;

	damage_behind_crc(root, 2, 0, 6000);
	ok(scrub(s, 1, &r) == 0 && r.segments_bad == 1 &&
	   r.containers_damaged == 1 && r.nlost == 1 && r.lost_cids[0] == 2 &&
	   r.fragments_rebuilt == 0 && !store_scrub_clean(&r),
	   "1+0: a bad segment behind a good CRC is reported, container 2");
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- (e) report only ---- */

/* A digest of every file under dir: names, sizes and bytes. */
static uint64_t tree_digest(const char *dir)
{
	char cmd[1200];
	FILE *p;
	uint64_t h = 1469598103934665603ull;
	int c;

	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -type f | LC_ALL=C sort "
		 "| xargs -r sha256sum", dir);
	p = popen(cmd, "r");
	if (!p)
		tap_bail("popen");
	while ((c = fgetc(p)) != EOF)
		h = (h ^ (uint8_t)c) * 1099511628211ull;
	pclose(p);
	return h;
}

static void test_no_repair(const char *root)
{
	store *s = fill(root, 4, 2, 7);
	store_scrub_report r;
	char path[1024], data[1024];
	uint64_t before;

	frag_path(root, 2, 1, path, sizeof(path));	/* in dir3 */
	flip_byte(path, FRAG_DATA_OFF + 500);
	snprintf(data, sizeof(data), "%s/data/dir5", root);
	rm_rf(data);
	damage_behind_crc(root, 3, 5, 100);
	snprintf(data, sizeof(data), "%s/data", root);
	before = tree_digest(data);
	ok(scrub(s, 0, &r) == 0 && r.fragments_corrupt == 2 &&
	   r.fragments_missing == containers(s) && r.fragments_rebuilt == 0 &&
	   !store_scrub_clean(&r),
	   "report only: finds 2 damaged and %llu missing, rebuilds none",
	   (unsigned long long)containers(s));
	store_scrub_report_free(&r);
	ok(tree_digest(data) == before && file_exists(path) &&
	   !file_exists(tpath(data, "dir5")),
	   "report only: not one file changed, the removed directory stays "
	   "removed");
	ok(scrub(s, 1, &r) == 0 && store_scrub_clean(&r) &&
	   r.fragments_rebuilt == containers(s) + 2,
	   "then a repairing scrub fixes all of it");
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- (f) beside a writer; cancel; one at a time; throttle ---- */

typedef struct writer {
	store *s;
	volatile int stop;
	int rc;
	size_t rounds;
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;

	while (!w->stop && w->rc == 0) {
		w->rc = segdata_put(w->s, 100 + w->rounds, 0, 64, NULL);
		w->rounds++;
	}
	return NULL;
}

typedef struct probe {
	store *s;
	int calls, busy_rc;
	int cancel_after;
	volatile sig_atomic_t cancel;
} probe;

static void on_progress(void *arg, const store_scrub_report *r)
{
	probe *p = arg;
	store_scrub_report r2;
	store_scrub_opts o = { .repair = 0 };

	if (p->calls++ == 0)
		p->busy_rc = store_scrub(p->s, &o, &r2);
	if (p->cancel_after && r->containers_checked >= (uint64_t)p->cancel_after)
		p->cancel = 1;
}

static void test_concurrent(const char *root)
{
	store *s = fill(root, 4, 2, 8);
	writer w = { .s = s };
	probe p = { .s = s };
	store_scrub_opts o = { .repair = 1, .progress = on_progress,
			       .progress_arg = &p };
	store_scrub_report r;
	pthread_t t;
	size_t bad = 0;
	int rc;

	if (pthread_create(&t, NULL, writer_main, &w) != 0)
		tap_bail("pthread_create");
	/* Let the writer get going, so containers seal during the scrub. */
	while (w.rounds < 4 && w.rc == 0)
		usleep(1000);
	rc = store_scrub(s, &o, &r);
	w.stop = 1;
	pthread_join(t, NULL);
	ok(w.rc == 0 && w.rounds > 4, "the writer kept writing (%zu batches)",
	   w.rounds);
	ok(rc == 0 && store_scrub_clean(&r) && r.fragments_corrupt == 0 &&
	   r.fragments_missing == 0 && r.containers_vanished == 0 &&
	   r.containers_checked >= r.containers_total,
	   "a scrub beside the writer finishes and finds nothing wrong "
	   "(%llu containers)", (unsigned long long)r.containers_checked);
	ok(p.calls == (int)r.containers_checked && p.busy_rc == -EBUSY,
	   "progress came after each container; a second scrub meanwhile "
	   "was refused with -EBUSY");
	store_scrub_report_free(&r);
	for (size_t i = 0; i < w.rounds; i++)
		bad += segdata_check(s, 100 + i, 0, 64);
	ok(bad == 0 && segdata_check(s, 8, 0, NSEG) == 0,
	   "everything written before and during the scrub reads back");

	p = (probe){ .s = s, .cancel_after = 2 };
	o.cancel = &p.cancel;
	ddterr_clear();
	rc = store_scrub(s, &o, &r);
	ok(rc == -ECANCELED && r.containers_checked == 2 &&
	   strstr(ddterr_last(rc), "cancelled"),
	   "a cancel stops the scrub between containers: %s", ddterr_last(rc));
	store_scrub_report_free(&r);
	tstore_close(s);
}

static void test_throttle(const char *root)
{
	store *s = fill(root, 2, 1, 9);
	store_scrub_opts o = { .repair = 1 };
	store_scrub_report r;
	uint64_t bytes;
	int rc;

	if (scrub(s, 1, &r) != 0)
		tap_bail("scrub");
	bytes = r.bytes_read;
	store_scrub_report_free(&r);
	o.max_bytes_per_sec = bytes * 2;	/* half a second's worth */
	rc = store_scrub(s, &o, &r);
	ok(rc == 0 && r.seconds >= 0.45 &&
	   r.bytes_read == bytes,
	   "a limit of %llu B/s makes the scrub take %.2f s (>= 0.5)",
	   (unsigned long long)o.max_bytes_per_sec, r.seconds);
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* ---- directories: markers and status ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		tap_bail("write %s", path);
}

static void test_dirs(const char *root)
{
	store *s = fill(root, 2, 1, 10);
	store_dir_info di[STORE_DIR_INFO_MAX];
	char a[1024], b[1024], tmp[1024];
	int nd = STORE_DIR_INFO_MAX, fine = 1, rc;

	ok(store_dir_status(s, di, &nd) == 0 && nd == 4 && di[0].index == -1 &&
	   strcmp(di[0].path, root) == 0 && di[3].index == 2,
	   "status lists the root and the 3 data directories");
	for (int i = 0; i < nd; i++)
		fine &= di[i].present && di[i].total_bytes > 0 &&
			di[i].free_bytes <= di[i].total_bytes &&
			di[i].used_pct >= 0 && di[i].used_pct <= 100 &&
			di[i].problem[0] == '\0';
	ok(fine, "each is present with its capacity (%d%% used of %llu MiB)",
	   di[1].used_pct, (unsigned long long)(di[1].total_bytes >> 20));
	nd = 2;
	ok(store_dir_status(s, di, &nd) == -ENOBUFS,
	   "too little room for the status is refused");

	snprintf(a, sizeof(a), "%s/data/dir1/.ddtarget", root);
	write_file(a, "ddtarget store 00112233445566778899aabbccddeeff\n"
		      "directory 1\n");
	nd = STORE_DIR_INFO_MAX;
	store_dir_status(s, di, &nd);
	ok(!di[2].present && strcmp(di[2].problem, "belongs to another store")
	   == 0, "a directory with another store's marker is not present (%s)",
	   di[2].problem);
	unlink(a);
	nd = STORE_DIR_INFO_MAX;
	store_dir_status(s, di, &nd);
	ok(!di[2].present && strcmp(di[2].problem, "no identity marker") == 0,
	   "nor one without a marker (%s)", di[2].problem);
	tstore_close(s);

	/* Open writes the missing marker; another store's is refused. */
	s = open_geo(root);
	nd = STORE_DIR_INFO_MAX;
	ok(s && store_dir_status(s, di, &nd) == 0 && di[2].present,
	   "reopening marks an unmarked directory as the store's");
	tstore_close(s);
	write_file(a, "ddtarget store 00112233445566778899aabbccddeeff\n"
		      "directory 1\n");
	s = NULL;
	{
		store_config c;

		store_config_default(&c, root);
		c.container_size = CONTAINER_SIZE;
		ddterr_clear();
		rc = tstore_open(&s, &c);
	}
	ok(rc == -EINVAL && !s && strstr(ddterr_last(rc), "another ddtarget "
	   "store"), "open refuses another store's directory: %s",
	   ddterr_last(rc));
	unlink(a);

	/* Directories given in the wrong order are refused too. */
	snprintf(a, sizeof(a), "%s/data/dir0", root);
	snprintf(b, sizeof(b), "%s/data/dir2", root);
	snprintf(tmp, sizeof(tmp), "%s/data/swap", root);
	if (rename(a, tmp) || rename(b, a) || rename(tmp, b))
		tap_bail("swap");
	{
		store_config c;

		store_config_default(&c, root);
		c.container_size = CONTAINER_SIZE;
		ddterr_clear();
		rc = tstore_open(&s, &c);
	}
	ok(rc == -EINVAL && strstr(ddterr_last(rc), "original order"),
	   "open refuses swapped directories: %s", ddterr_last(rc));
	if (rename(a, tmp) || rename(b, a) || rename(tmp, b))
		tap_bail("swap back");
	s = open_geo(root);
	ok(s && segdata_check(s, 10, 0, NSEG) == 0,
	   "put back in order, the store opens and reads");
	tstore_close(s);
}

/* A scrub told to keep missing directories (the scheduled one) rebuilds
 * nothing into a directory that is gone and does not make it again: an
 * unmounted disk's mount point is not the disk. It says what it left. */
static void test_keep_missing(const char *root)
{
	store *s = fill(root, geo_k, geo_m, 3);
	store_scrub_opts o = { .repair = 1, .keep_missing_dirs = 1 };
	store_scrub_report r;
	uint64_t nctr = containers(s);
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/data/dir1", root);
	rm_rf(dir);
	ddterr_clear();
	ok(store_scrub(s, &o, &r) == 0 && r.fragments_missing == nctr &&
	   r.fragments_rebuilt == 0 && !store_scrub_clean(&r),
	   "a scrub keeping missing directories rebuilds none of their %llu "
	   "fragments, and says so", (unsigned long long)nctr);
	store_scrub_report_free(&r);
	ok(!file_exists(dir), "and does not make the directory again");
	ok(scrub(s, 1, &r) == 0 && r.fragments_rebuilt == nctr &&
	   store_scrub_clean(&r) && file_exists(dir),
	   "an ordinary scrub then does both");
	store_scrub_report_free(&r);
	tstore_close(s);
}

/* Entries in dir other than . and ..; -1 if it cannot be read. */
static int dir_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int dir_present(store *s, int index)
{
	store_dir_info di[STORE_DIR_INFO_MAX];
	int nd = STORE_DIR_INFO_MAX;

	return store_dir_status(s, di, &nd) == 0 && index + 1 < nd &&
	       di[index + 1].present;
}

/* A disk replaced as the alert says: an empty directory where data
 * directory 2 was. A scheduled scrub (keeping missing directories) and a
 * report-only one leave it empty and unmarked; an ordinary scrub fills it
 * and marks it, and only then is it the store's again. One that is whole
 * but lost its marker is marked too; one carrying another store's marker
 * gets nothing written into it. */
static void test_replaced_dir(const char *root)
{
	store *s = fill(root, geo_k, geo_m, 4);
	store_scrub_opts keep = { .repair = 1, .keep_missing_dirs = 1 };
	store_scrub_report r;
	uint64_t nctr = containers(s);
	char dir[1024], marker[1100], frag[1024];

	snprintf(dir, sizeof(dir), "%s/data/dir2", root);
	snprintf(marker, sizeof(marker), "%s/.ddtarget", dir);
	rm_rf(dir);
	if (mkdir(dir, 0700) != 0)
		tap_bail("mkdir %s", dir);
	ok(!dir_present(s, 2), "an empty directory in its place is not the "
	   "store's yet");
	ok(store_scrub(s, &keep, &r) == 0 && r.fragments_missing == nctr &&
	   r.fragments_rebuilt == 0 && dir_entries(dir) == 0,
	   "a scrub keeping missing directories writes nothing into it");
	store_scrub_report_free(&r);
	ok(scrub(s, 0, &r) == 0 && dir_entries(dir) == 0,
	   "nor does a report-only scrub");
	store_scrub_report_free(&r);
	ok(scrub(s, 1, &r) == 0 && r.fragments_rebuilt == nctr &&
	   store_scrub_clean(&r) && file_exists(marker) && dir_present(s, 2),
	   "an ordinary scrub rebuilds its %llu fragments and writes its "
	   "marker: it is the store's again", (unsigned long long)nctr);
	store_scrub_report_free(&r);
	ok(segdata_check(s, 4, 0, NSEG) == 0, "every segment reads");

	unlink(marker);
	ok(scrub(s, 1, &r) == 0 && r.fragments_rebuilt == 0 &&
	   dir_present(s, 2), "a whole directory that lost only its marker "
	   "gets it back from a scrub");
	store_scrub_report_free(&r);

	snprintf(marker, sizeof(marker), "%s/data/dir3/.ddtarget", root);
	write_file(marker, "ddtarget store 00112233445566778899aabbccddeeff\n"
			   "directory 3\n");
	snprintf(dir, sizeof(dir), "%s/data/dir3/", root);
	for (int i = 0; i < geo_k + geo_m; i++) {	/* container 1's there */
		frag_path(root, 1, i, frag, sizeof(frag));
		if (strncmp(frag, dir, strlen(dir)) == 0)
			break;
	}
	if (unlink(frag) != 0)
		tap_bail("unlink %s", frag);
	ddterr_clear();
	ok(scrub(s, 1, &r) == 0 && r.fragments_missing == 1 &&
	   r.fragments_rebuilt == 0 && r.errors == 1 &&
	   strstr(r.error, "another store") && !file_exists(frag),
	   "nothing is written into another store's directory: %s", r.error);
	store_scrub_report_free(&r);
	tstore_close(s);
}

int main(void)
{
	char *root = tap_tmpdir("scrub");

	geo_k = 4, geo_m = 2;
	run_in(root, "flip42", test_flip);
	geo_k = 2, geo_m = 1;
	run_in(root, "flip21", test_flip);
	run_in(root, "flip10", test_flip_no_parity);
	geo_k = 4, geo_m = 2;
	run_in(root, "dirs42", test_lose_dirs);
	geo_k = 2, geo_m = 1;
	run_in(root, "dirs21", test_lose_dirs);
	run_in(root, "lost", test_unrecoverable);
	geo_k = 4, geo_m = 2;
	run_in(root, "silent42", test_silent);
	geo_k = 2, geo_m = 1;
	run_in(root, "silent21", test_silent);
	run_in(root, "silent10", test_silent_no_parity);
	run_in(root, "norepair", test_no_repair);
	run_in(root, "busy", test_concurrent);
	run_in(root, "throttle", test_throttle);
	run_in(root, "dirstat", test_dirs);
	geo_k = 4, geo_m = 2;
	run_in(root, "keepdirs", test_keep_missing);
	run_in(root, "replaced", test_replaced_dir);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
