/* test_store.c - the segment store end to end: batched has/put/get over
 * many thousands of segments, dedup, verification of what is put, reopen,
 * geometry and its default, and reads that survive lost and damaged
 * fragments. */
#include "store.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"
#include "segdata.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define SEED	7
#define NSEG	10000

static store *open_store(const char *root, int k, int m)
{
	store_config c;

	store_config_default(&c, root);
	c.k = k;
	c.m = m;
	c.container_size = 512 * 1024;	/* many containers from little data */
	c.cache_containers = 8;
	return segdata_open_config(&c);
}

/* Put segments first..first+n-1 in batches; returns new ones, or -1. */
static long put_range(store *s, uint64_t seed, uint64_t first, size_t n)
{
	size_t fresh = 0;
	int rc = segdata_put(s, seed, first, n, &fresh);

	if (rc) {
		diag("store_put: %s", ddterr_last(rc));
		return -1;
	}
	return (long)fresh;
}

/* How many of the range store_has reports absent. */
static size_t count_absent(store *s, uint64_t seed, uint64_t first, size_t n)
{
	uint8_t raw[16 * 1024], *present = calloc(n, 1);
	fp_t *fps = calloc(n, sizeof(*fps));
	size_t absent = 0;

	if (!present || !fps)
		tap_bail("calloc");
	for (size_t i = 0; i < n; i++)
		fp_compute(&fps[i], raw, segdata_raw(seed, first + i, raw));
	if (store_has(s, fps, n, present) != 0)
		absent = n;
	else
		for (size_t i = 0; i < n; i++)
			absent += !present[i];
	free(present);
	free(fps);
	return absent;
}

static void test_bulk(const char *root)
{
	store_stats st;
	store *s = open_store(root, 4, 2);
	long fresh;

	if (!s)
		tap_bail("open");
	ok(count_absent(s, SEED, 0, NSEG) == NSEG, "an empty store has none");
	fresh = put_range(s, SEED, 0, NSEG);
	ok(fresh == NSEG, "%d segments put, %ld new", NSEG, fresh);
	ok(count_absent(s, SEED, 0, NSEG) == 0, "has() finds all of them");
	ok(count_absent(s, SEED + 1, 0, 5000) == 5000,
	   "has() finds none of 5000 others");
	ok(segdata_check(s, SEED, 0, NSEG) == 0, "every segment reads back");
	fresh = put_range(s, SEED, 0, NSEG);
	ok(fresh == 0, "putting them again stores nothing new (%ld)", fresh);
	store_get_stats(s, &st);
	diag("segments %llu containers %llu raw %llu stored %llu physical %llu "
	     "logical %llu; lookups: cache %llu bloom %llu index %llu",
	     (unsigned long long)st.segments, (unsigned long long)st.containers,
	     (unsigned long long)st.raw_bytes, (unsigned long long)st.stored_bytes,
	     (unsigned long long)st.physical_bytes,
	     (unsigned long long)st.logical_bytes,
	     (unsigned long long)st.cache_hits,
	     (unsigned long long)st.bloom_negatives,
	     (unsigned long long)st.index_lookups);
	ok(st.segments == NSEG && st.containers > 50,
	   "stats: %llu segments in %llu sealed containers",
	   (unsigned long long)st.segments, (unsigned long long)st.containers);
	ok(st.logical_bytes == 2 * st.raw_bytes && st.stored_bytes < st.raw_bytes &&
	   st.physical_bytes > st.stored_bytes * 3 / 2,
	   "stats: logical twice raw, compression below raw, 6/4 parity above");
	ok(tstore_close(s) == 0, "close");

	s = open_store(root, 4, 2);
	ok(s != NULL, "reopen");
	if (!s)
		return;
	ok(segdata_check(s, SEED, 0, NSEG) == 0, "every segment reads after reopen");
	store_get_stats(s, &st);
	ok(st.segments == NSEG && st.logical_bytes > 0,
	   "stats survive reopen (%llu segments)", (unsigned long long)st.segments);
	ok(put_range(s, SEED, 0, 2000) == 0, "still deduplicates after reopen");
	tstore_close(s);
}

static void test_batch_rules(const char *root)
{
	store *s = open_store(root, 4, 2);
	segbatch b;
	size_t nw = 99;
	uint8_t *mut;
	int rc;

	if (!s)
		tap_bail("open");
	if (segbatch_make(&b, SEED + 2, 0, 4) != 0)
		tap_bail("segbatch_make");
	b.segs[3] = b.segs[1];	/* the same segment twice in one batch */
	rc = store_put(s, b.segs, b.n, &nw);
	ok(rc == 0 && nw == 3, "a batch repeating a segment stores it once (%zu)", nw);
	segbatch_free(&b);

	/* A repeat in the middle must not end the batch: every segment
	 * after it is stored too. */
	if (segbatch_make(&b, SEED + 4, 0, 40) != 0)
		tap_bail("segbatch_make");
	b.segs[5] = b.segs[2];
	b.segs[20] = b.segs[2];
	rc = store_put(s, b.segs, b.n, &nw);
	segbatch_free(&b);
	ok(rc == 0 && nw == 38 && count_absent(s, SEED + 4, 0, 5) == 0 &&
	   count_absent(s, SEED + 4, 6, 14) == 0 &&
	   count_absent(s, SEED + 4, 21, 19) == 0,
	   "segments after a repeat in the middle of a batch are stored (%zu new)",
	   nw);

	if (segbatch_make(&b, SEED + 3, 0, 3) != 0)
		tap_bail("segbatch_make");
	mut = (uint8_t *)b.segs[2].data;
	if (b.segs[2].codec == CODEC_NONE)
		mut[b.segs[2].stored_len / 2] ^= 1;
	else
		b.segs[2].fp.b[0] ^= 1;
	ddterr_clear();
	rc = store_put(s, b.segs, b.n, &nw);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "segment 2"),
	   "a segment that does not hash to its name is refused: %s",
	   ddterr_last(rc));
	ok(count_absent(s, SEED + 3, 0, 2) == 2,
	   "nothing of a refused batch is stored");
	b.segs[1].raw_len = CDC_MAX_LIMIT + 1;
	rc = store_put(s, b.segs, 2, &nw);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), "segment 1"),
	   "an impossible raw length is refused (EINVAL): %s",
	   ddterr_last(rc));
	b.segs[1].raw_len = 1;
	b.segs[1].codec = 77;
	rc = store_put(s, b.segs + 1, 1, &nw);
	ok(rc == -EINVAL, "an unknown codec is refused (EINVAL): %s",
	   ddterr_last(rc));
	segbatch_free(&b);

	{
		fp_t fp;
		uint8_t buf[64];
		size_t len;

		memset(&fp, 0x5a, sizeof(fp));
		ok(store_read(s, &fp, buf, sizeof(buf), &len) == -ENOENT,
		   "reading an absent segment gives -ENOENT");
	}
	tstore_close(s);

	{
		store_config c;
		store *s2 = NULL;

		store_config_default(&c, root);
		c.k = 2;
		c.m = 1;
		ddterr_clear();
		rc = tstore_open(&s2, &c);
		ok(rc == -EINVAL && strstr(ddterr_last(rc), "created with k=4 m=2"),
		   "reopening with another geometry is refused: %s",
		   ddterr_last(rc));
		if (s2)
			tstore_close(s2);
	}
}

static void test_single_disk(const char *root)
{
	store *s = open_store(root, 1, 0);

	if (!s)
		tap_bail("open k=1 m=0");
	ok(put_range(s, SEED, 0, 3000) == 3000 && store_flush(s) == 0,
	   "k=1 m=0: put and seal");
	ok(segdata_check(s, SEED, 0, 3000) == 0, "k=1 m=0: all read back");
	tstore_close(s);
	s = open_store(root, 1, 0);
	ok(s && segdata_check(s, SEED, 0, 3000) == 0,
	   "k=1 m=0: all read back after reopen");
	tstore_close(s);
}

/* A new store's code: k, m and the directory count as opened, the origin
 * as its name, into buf; the store is closed again. */
static void geometry_of(store_config *c, char *buf, size_t cap)
{
	store *s = NULL;
	int k, m, nd, rc = tstore_open(&s, c);

	if (rc < 0) {
		snprintf(buf, cap, "error: %s", ddterr_last(rc));
		return;
	}
	store_geometry(s, &k, &m, &nd);
	snprintf(buf, cap, "%d+%d over %d, %s", k, m, nd,
		 store_ec_origin_name(store_geometry_origin(s)));
	tstore_close(s);
}

static void is_str(const char *got, const char *want, const char *desc)
{
	if (!ok(strcmp(got, want) == 0, "%s", desc))
		diag("got '%s', want '%s'", got, want);
}

/* The default follows the data directories' file systems (here, all one)
 * and the configuration; reopening keeps what creation chose. */
static void test_default_geometry(const char *root)
{
	char got[256], sub[600], d[6][640];
	store_config c;

	snprintf(sub, sizeof(sub), "%s/one", root);
	store_config_default(&c, sub);
	geometry_of(&c, got, sizeof(got));
	is_str(got, "8+1 over 9, one-filesystem",
	   "a new store on one file system gets 8+1");
	c.ndirs = 0;
	geometry_of(&c, got, sizeof(got));
	is_str(got, "8+1 over 9, one-filesystem", "reopened, it keeps it");

	snprintf(sub, sizeof(sub), "%s/six", root);
	store_config_default(&c, sub);
	for (int i = 0; i < 6; i++) {
		snprintf(d[i], sizeof(d[i]), "%s/not/yet/d%d", sub, i);
		c.dirs[i] = d[i];
	}
	c.ndirs = 6;
	geometry_of(&c, got, sizeof(got));
	is_str(got, "5+1 over 6, one-filesystem",
	   "six named directories not made yet, on one file system: 5+1");
	snprintf(sub, sizeof(sub), "%s/single", root);
	snprintf(d[0], sizeof(d[0]), "%s/d0", sub);
	c.root = sub;
	c.ndirs = 1;
	geometry_of(&c, got, sizeof(got));
	is_str(got, "1+0 over 1, one-filesystem", "one named directory: 1+0");

	snprintf(sub, sizeof(sub), "%s/given", root);
	store_config_default(&c, sub);
	c.k = 4;
	c.m = 2;
	geometry_of(&c, got, sizeof(got));
	is_str(got, "4+2 over 6, given", "a given 4+2 overrides the default");
	c.k = 0;
	c.m = 0;
	geometry_of(&c, got, sizeof(got));
	is_str(got, "4+2 over 6, given", "and is kept, with its origin, when "
	   "reopened without one");
}

/* Read the range; count failures and keep the first failure's message. */
static size_t check_errors(store *s, size_t n, int *first_rc, char *msg,
			   size_t cap)
{
	uint8_t want[16 * 1024], got[16 * 1024];
	size_t bad = 0, len, glen;
	fp_t fp;
	int rc;

	*first_rc = 0;
	for (size_t i = 0; i < n; i++) {
		len = segdata_raw(SEED, i, want);
		fp_compute(&fp, want, len);
		rc = store_read(s, &fp, got, sizeof(got), &glen);
		if (rc == 0 && glen == len && memcmp(got, want, len) == 0)
			continue;
		if (!bad++) {
			*first_rc = rc;
			snprintf(msg, cap, "%s", ddterr_last(rc));
		}
	}
	return bad;
}

/* Flip, truncate and delete fragments of one container: reads stay right
 * up to m losses and fail cleanly, for that container only, past them. */
static void test_damage(const char *root)
{
	char path[1024], msg[512];
	store_stats st;
	store *s = open_store(root, 4, 2);
	size_t bad;
	int rc;

	if (!s)
		tap_bail("open");
	if (put_range(s, SEED, 0, 6000) != 6000 || store_flush(s) != 0)
		tap_bail("put");
	tstore_close(s);

	segdata_frag_path(root, 2, 0, path, sizeof(path));
	flip_byte(path, FRAG_DATA_OFF + 100);
	s = open_store(root, 4, 2);
	ok(s && segdata_check(s, SEED, 0, 6000) == 0,
	   "all reads right with a flipped byte in a fragment");
	store_get_stats(s, &st);
	ok(st.fragments_rebuilt == 1, "one fragment was rebuilt (%llu)",
	   (unsigned long long)st.fragments_rebuilt);
	tstore_close(s);

	segdata_frag_path(root, 2, 3, path, sizeof(path));
	if (truncate(path, 1000) != 0)
		tap_bail("truncate");
	s = open_store(root, 4, 2);
	ok(s && segdata_check(s, SEED, 0, 6000) == 0,
	   "all reads right with a second fragment truncated");
	tstore_close(s);

	segdata_frag_path(root, 2, 5, path, sizeof(path));
	if (unlink(path) != 0)
		tap_bail("unlink");
	s = open_store(root, 4, 2);
	bad = check_errors(s, 6000, &rc, msg, sizeof(msg));
	ok(bad > 0 && bad < 100 && rc == -EIO && strstr(msg, "only 3 of 6"),
	   "with 3 fragments lost only that container fails (%zu segments), "
	   "cleanly: %s", bad, msg);
	tstore_close(s);
}

/* Whole disks gone: any m directories may go. */
static void test_lost_dirs(const char *root)
{
	char cmd[2048];
	store_stats st;
	store *s = open_store(root, 4, 2);

	if (!s)
		tap_bail("open");
	if (put_range(s, SEED, 0, 6000) != 6000 || store_flush(s) != 0)
		tap_bail("put");
	tstore_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/data/dir1' '%s/data/dir4'",
		 root, root);
	if (system(cmd) != 0)
		tap_bail("rm");
	s = open_store(root, 4, 2);
	ok(s != NULL, "the store opens with two of six directories gone");
	if (!s)
		return;
	ok(segdata_check(s, SEED, 0, 6000) == 0,
	   "every segment reads with two directories gone");
	store_get_stats(s, &st);
	ok(st.fragments_rebuilt >= 2 * st.containers / 2,
	   "reads rebuilt %llu fragments of %llu containers",
	   (unsigned long long)st.fragments_rebuilt,
	   (unsigned long long)st.containers);
	ok(put_range(s, SEED, 6000, 2000) == 2000 && store_flush(s) == 0 &&
	   segdata_check(s, SEED, 0, 8000) == 0,
	   "new writes recreate the directories and read back");
	tstore_close(s);
}

static void *check_all(void *arg)
{
	return (void *)segdata_check(arg, SEED, 0, 3000);
}

/* Readers that want the same container at once get it read once. */
static void test_concurrent_reads(const char *root)
{
	enum { NT = 8 };
	pthread_t t[NT];
	store_stats st;
	size_t bad = 0;
	store *s = open_store(root, 4, 2);

	if (!s || put_range(s, SEED, 0, 3000) != 3000)
		tap_bail("put");
	tstore_close(s);
	s = open_store(root, 4, 2);	/* nothing cached */
	if (!s)
		tap_bail("reopen");
	for (int i = 0; i < NT; i++)
		if (pthread_create(&t[i], NULL, check_all, s) != 0)
			tap_bail("pthread_create");
	for (int i = 0; i < NT; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (size_t)r;
	}
	store_get_stats(s, &st);
	ok(bad == 0, "%d threads read 3000 segments each, all correct", NT);
	ok(st.containers_read > 0 && st.containers_read <= st.containers,
	   "each of %llu containers was read from disk at most once (%llu "
	   "reads)", (unsigned long long)st.containers,
	   (unsigned long long)st.containers_read);
	tstore_close(s);

	/* One reader in order: the containers after the first are mostly
	 * read ahead of it, and none twice. */
	s = open_store(root, 4, 2);
	if (!s)
		tap_bail("reopen");
	bad = segdata_check(s, SEED, 0, 3000);
	store_get_stats(s, &st);
	ok(bad == 0 && st.containers_read <= st.containers &&
	   st.containers_read_ahead >= st.containers / 4,
	   "a sequential reader: %llu of %llu containers read ahead, %llu "
	   "reads in all", (unsigned long long)st.containers_read_ahead,
	   (unsigned long long)st.containers,
	   (unsigned long long)st.containers_read);
	tstore_close(s);
}

int main(void)
{
	char *root = tap_tmpdir("store");

	run_in(root, "bulk", test_bulk);
	run_in(root, "rules", test_batch_rules);
	run_in(root, "single", test_single_disk);
	run_in(root, "default", test_default_geometry);
	run_in(root, "damage", test_damage);
	run_in(root, "lostdirs", test_lost_dirs);
	run_in(root, "concurrent", test_concurrent_reads);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
