/* test_scr.c - the scrub job (engine/scrub.c) over a real store and
 * namespace: a healthy store scrubs clean; a container destroyed beyond
 * its parity is reported with exactly the backups, and the files outside
 * backups, whose trees reach it, in every storage unit; more affected
 * backups than a report lists are all counted; a second scrub is refused
 * while one runs; a cancelled one, or one freed while it runs, stops soon
 * and says so through done(). */
#include "scrub.h"
#include "ns.h"
#include "store.h"
#include "ddterr.h"
#include "now.h"
#include "segdata.h"
#include "tap.h"
#include "testutil.h"
#include "tree.h"
#include "tstore.h"

#include <pthread.h>
#include <time.h>

#define SEED		11
#define CTR_SIZE	(256u * 1024)
#define MAX_RAW		(16u * 1024)

typedef struct env {
	char *root;
	store *s;
	ns *n;
	scrub *j;
	pthread_mutex_t mu;
	int dones, last_rc;
	size_t last_naffected;
} env;

static void on_done(void *arg, const scrub_report *r)
{
	env *e = arg;

	pthread_mutex_lock(&e->mu);
	e->dones++;
	e->last_rc = r->rc;
	e->last_naffected = r->naffected;
	pthread_mutex_unlock(&e->mu);
}

static void env_open(env *e, const char *tag, uint64_t rate)
{
	scrub_config c = { .max_bytes_per_sec = rate, .done = on_done,
			 .done_arg = e };
	store_config sc;
	int rc;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
	e->root = tap_tmpdir(tag);
	store_config_default(&sc, e->root);
	sc.container_size = CTR_SIZE;
	if ((rc = tstore_open(&e->s, &sc)) != 0)
		tap_bail("store_open %s: %s", e->root, ddterr_last(rc));
	if ((rc = ns_open(&e->n, tstore_index(e->s))) != 0)
		tap_bail("ns_open: %s", ddterr_last(rc));
	if ((rc = scrub_new(&e->j, e->s, e->n, &c)) != 0)
		tap_bail("scrub_new: %s", ddterr_last(rc));
}

static void env_close(env *e)
{
	scrub_free(e->j);
	ns_close(e->n);
	if (tstore_close(e->s) != 0)
		diag("store_close: %s", ddterr_last(-EIO));
	pthread_mutex_destroy(&e->mu);
	tap_rmtree(e->root);
	free(e->root);
}

/* ---- files of numbered blocks ---- */

static int put_raw(store *s, const void *raw, size_t len, fp_t *fp)
{
	uint8_t *buf = xmalloc(codec_bound(TREE_MAX_SEG_LEN));
	store_seg g = { .raw_len = (uint32_t)len, .data = buf };
	int rc;

	rc = segmenter_encode(CODEC_LZ4, raw, len, &g.fp, buf,
			      codec_bound(TREE_MAX_SEG_LEN), &g.stored_len,
			      &g.codec);
	if (rc == 0)
		rc = store_put(s, &g, 1, NULL);
	*fp = g.fp;
	free(buf);
	return rc;
}

static int emit_meta(void *arg, int level, const uint8_t *raw, size_t len,
		     const fp_t *fp)
{
	fp_t got;
	int rc;

	(void)level;
	rc = put_raw(arg, raw, len, &got);
	return rc ? rc : !fp_equal(&got, fp) ? -EINVAL : 0;
}

/* Blocks first..first+n-1 as file name in directory dir. */
static void write_file(env *e, uint64_t dir, const char *name,
		       uint64_t first, size_t n)
{
	static uint8_t raw[MAX_RAW];
	tree_builder *tb;
	ns_entry en;
	fp_t fp;
	int rc;

	memset(&en, 0, sizeof(en));
	snprintf(en.name, sizeof(en.name), "%s", name);
	en.mode = 0100644;
	rc = tree_builder_new(&tb, emit_meta, e->s);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t len = segdata_raw(SEED, first + i, raw);

		rc = put_raw(e->s, raw, len, &fp);
		if (rc == 0)
			rc = tree_add(tb, &fp, len);
	}
	if (rc == 0)
		rc = tree_finish(tb, &en.root, &en.level, &en.size);
	tree_builder_free(tb);
	if (rc == 0)
		rc = store_barrier(e->s);
	if (rc == 0)
		rc = ns_commit(e->n, dir, &en, 1, 1, NULL);
	if (rc)
		tap_bail("write %s: %s", name, ddterr_last(rc));
}

static uint64_t unit(env *e, const char *name)
{
	ns_su su;
	int rc = ns_su_create(e->n, name, &su);

	if (rc)
		tap_bail("storage unit %s: %s", name, ddterr_last(rc));
	return su.root;
}

/* A backup named name in unit su; its id into id. */
static uint64_t backup(env *e, const char *su, const char *name, char *id)
{
	ns_backup b;
	ddt_attr a;
	int rc;

	rc = ns_backup_begin(e->n, su, name, now_ns(), DDT_RETAIN_NEVER, &b,
			     &a);
	if (rc)
		tap_bail("backup %s: %s", name, ddterr_last(rc));
	snprintf(id, DDT_MAX_NAME + 1, "%s", b.id);
	return b.ino;
}

/* BACKUP_END's totals: t[0] names of files, t[1] their bytes. */
static int add_file(void *arg, const fp_t *root, uint8_t level, uint64_t size)
{
	uint64_t *t = arg;

	(void)root;
	(void)level;
	t[0]++;
	t[1] += size;
	return 0;
}

static void end_backup(env *e, uint64_t ino)
{
	uint64_t t[2] = { 0, 0 };
	int rc = ns_foreach_root(e->n, ino, add_file, t);

	if (rc == 0)
		rc = ns_backup_end(e->n, ino, t[0], t[1], NULL);

	if (rc)
		tap_bail("backup end: %s", ddterr_last(rc));
}

static void flush(env *e)
{
	int rc = store_flush(e->s);

	if (rc)
		tap_bail("store_flush: %s", ddterr_last(rc));
}

static uint64_t cid_of_block(env *e, uint64_t b)
{
	static uint8_t raw[MAX_RAW];
	uint64_t cid = 0;
	uint32_t slot;
	fp_t fp;

	fp_compute(&fp, raw, segdata_raw(SEED, b, raw));
	if (idx_get_fp(tstore_index(e->s), &fp, &cid, &slot) != 1)
		tap_bail("block %llu is not indexed", (unsigned long long)b);
	return cid;
}

/* Whether any of blocks first..first+n-1 lies in container cid. */
static int any_in(env *e, uint64_t first, size_t n, uint64_t cid)
{
	for (size_t i = 0; i < n; i++)
		if (cid_of_block(e, first + i) == cid)
			return 1;
	return 0;
}

/* Remove fragments 0..count-1 of container cid (4 + 2: 3 is past m). */
static void destroy(env *e, uint64_t cid, int count)
{
	char path[1024];

	for (int i = 0; i < count; i++) {
		segdata_frag_path(e->root, cid, i, path, sizeof(path));
		if (unlink(path) != 0)
			tap_bail("unlink %s: %s", path, strerror(errno));
	}
}

static const scrub_affected *find(const scrub_report *r, const char *su,
				  const char *backup)
{
	for (size_t i = 0; i < r->naffected; i++)
		if (!strcmp(r->affected[i].su, su) &&
		    !strcmp(r->affected[i].backup, backup))
			return &r->affected[i];
	return NULL;
}

/* ---- the tests ---- */

static void test_lost(void)
{
	char b1[DDT_MAX_NAME + 1], b2[DDT_MAX_NAME + 1], c1[DDT_MAX_NAME + 1];
	scrub_report *r = xmalloc(sizeof(*r));
	const scrub_affected *a;
	uint64_t u, ino, cid0;
	int rc, f2_hit;
	env e;

	env_open(&e, "scr-lost", 0);
	u = unit(&e, "u");
	unit(&e, "v");
	ino = backup(&e, "u", "one", b1);
	write_file(&e, ino, "f1", 0, 200);
	write_file(&e, ino, "f2", 200, 20);
	end_backup(&e, ino);
	flush(&e);
	ino = backup(&e, "u", "two", b2);
	write_file(&e, ino, "g", 10000, 200);
	end_backup(&e, ino);
	write_file(&e, u, "loose", 2, 4);	/* outside any backup */
	ino = backup(&e, "v", "three", c1);
	write_file(&e, ino, "h", 1, 3);
	end_backup(&e, ino);
	flush(&e);

	rc = scrub_run(e.j, 1);
	scrub_status(e.j, r);
	ok(rc == 0 && r->clean && !r->running && r->st.containers_checked > 3 &&
	   r->naffected == 0 && r->scrubs == 1 && !strcmp(r->phase, "done"),
	   "a healthy store scrubs clean (%llu containers)",
	   (unsigned long long)r->st.containers_checked);
	ok(r->files_checked == 5 && r->files_missing_segments == 0 &&
	   r->files_bad_tree == 0, "every file's tree is checked (%llu of 5)",
	   (unsigned long long)r->files_checked);
	ok(e.dones == 1 && e.last_rc == 0, "done() heard of it once");

	cid0 = cid_of_block(&e, 0);
	f2_hit = any_in(&e, 200, 20, cid0);
	if (any_in(&e, 10000, 200, cid0))
		tap_bail("the unrelated backup shares container %llu",
			 (unsigned long long)cid0);
	destroy(&e, cid0, 3);
	rc = scrub_run(e.j, 1);
	scrub_status(e.j, r);
	ok(rc == 0 && !r->clean && r->st.nlost == 1 &&
	   r->st.containers_unrecoverable == 1 && r->lost_segments > 0 &&
	   r->unnamed_containers == 0,
	   "three fragments gone: one container lost (%llu segments): %s",
	   (unsigned long long)r->lost_segments, r->msg);
	a = find(r, "u", b1);
	ok(a && a->files == 1u + (unsigned)f2_hit,
	   "the backup holding it is named, with its affected files (%llu)",
	   a ? (unsigned long long)a->files : 0ull);
	a = find(r, "u", "");
	ok(a && a->files == 1, "so are the unit's files outside backups");
	a = find(r, "v", c1);
	ok(a && a->files == 1, "and a backup of another unit sharing the data");
	ok(!find(r, "u", b2), "the backup of other data is not");
	ok(r->affected_backups == 3 && r->naffected == 3 &&
	   r->affected_files == 3u + (unsigned)f2_hit &&
	   r->files_missing_segments == r->affected_files &&
	   r->files_bad_tree == 0,
	   "the totals add up (%llu files in %llu entries)",
	   (unsigned long long)r->affected_files,
	   (unsigned long long)r->affected_backups);
	ok(e.dones == 2 && e.last_naffected == 3,
	   "done() had the final report");
	ok(strstr(r->msg, "Affected: ") != NULL, "the summary says so");
	free(r);
	env_close(&e);
}

static void test_many(void)
{
	char id[DDT_MAX_NAME + 1], name[32];
	scrub_report *r = xmalloc(sizeof(*r));
	const int nb = SCRUB_AFFECTED_MAX + 5;
	int rc;
	env e;

	env_open(&e, "scr-many", 0);
	unit(&e, "w");
	for (int i = 0; i < nb; i++) {
		uint64_t ino;

		snprintf(name, sizeof(name), "k%03d", i);
		ino = backup(&e, "w", name, id);
		write_file(&e, ino, "same", 50000, 3);
		end_backup(&e, ino);
	}
	flush(&e);
	destroy(&e, cid_of_block(&e, 50000), 3);
	rc = scrub_run(e.j, 1);
	scrub_status(e.j, r);
	ok(rc == 0 && r->naffected == SCRUB_AFFECTED_MAX &&
	   r->affected_backups == (uint64_t)nb &&
	   r->affected_files == (uint64_t)nb,
	   "%d affected backups: %d listed, all counted", nb,
	   SCRUB_AFFECTED_MAX);

	free(r);
	env_close(&e);
}

/* Wait (at most 10 s) for the scrub to stop running. */
static int wait_idle(env *e, scrub_report *r)
{
	for (int i = 0; i < 1000; i++) {
		scrub_status(e->j, r);
		if (!r->running)
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

static void test_busy_cancel(void)
{
	scrub_report *r = xmalloc(sizeof(*r));
	double t0;
	env e;
	int rc;

	/* 1 byte a second: it stalls after its first container. */
	env_open(&e, "scr-busy", 1);
	unit(&e, "u");
	write_file(&e, unit(&e, "y"), "big", 0, 150);
	flush(&e);
	rc = scrub_start(e.j, 0);
	ok(rc == 0, "a scrub starts on its thread");
	scrub_status(e.j, r);
	ok(r->running && !r->repair, "it runs, report only");
	rc = scrub_start(e.j, 1);
	ok(rc == -EBUSY, "a second one is refused: %s", ddterr_last(rc));
	rc = scrub_run(e.j, 1);
	ok(rc == -EBUSY, "on this thread too");
	scrub_cancel(e.j);
	ok(wait_idle(&e, r) && r->rc == -ECANCELED &&
	   !strcmp(r->phase, "failed") && r->scrubs == 0,
	   "cancelled, it stops and says so: %s", r->msg);
	ok(e.dones == 1 && e.last_rc == -ECANCELED, "done() heard it");
	rc = scrub_start(e.j, 1);
	ok(rc == 0, "a new scrub starts after it");
	t0 = now_mono_sec();
	scrub_free(e.j);
	e.j = NULL;
	ok(now_mono_sec() - t0 < 5 && e.dones == 2,
	   "freeing the job stops a running scrub (%.2f s)",
	   now_mono_sec() - t0);
	free(r);
	env_close(&e);
}

int main(void)
{
	test_lost();
	test_many();
	test_busy_cancel();
	return tap_done();
}
