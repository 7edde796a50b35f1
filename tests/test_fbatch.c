/* test_fbatch.c - many small files stored together (ddtc_fbatch_*) against
 * a real ddtargetd: files of many sizes over two directories (empty, one
 * byte, one segment, many, two alike) read back byte for byte, with the
 * same trees the file writer makes; a batch of contents the target holds
 * sends no segment; a COMMIT that fails (a directory that is not there)
 * fails its own files only, and the others are bound; a name the target
 * would refuse is refused when added and leaves the batch as it was. */
#include "ddtc.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"

#define NFILES	8

static ddtc *cl;
static uint64_t d1, d2;

static const size_t sizes[NFILES] = {
	0, 1, 100, 5000, 70000, 250000, 70000, 200000
};
static uint8_t *data[NFILES];

static void make_data(void)
{
	rnd_seed(16);
	for (int i = 0; i < NFILES; i++) {
		data[i] = malloc(sizes[i] ? sizes[i] : 1);
		if (!data[i])
			tap_bail("no memory");
		rnd_fill(data[i], sizes[i]);
	}
	memcpy(data[6], data[4], sizes[4]);	/* two files alike */
	memset(data[7], 'z', sizes[7]);		/* one segment, repeated */
}

static ddtc_meta meta(uint64_t dir, const char *fmt, int i)
{
	ddtc_meta m = { .dir = dir, .mode = 0640, .uid = 1, .gid = 2,
			.atime = 1000, .mtime = 2000 + i };

	snprintf(m.name, sizeof(m.name), fmt, i);
	return m;
}

/* File ino holds exactly want[0..n). */
static int reads_back(uint64_t ino, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n + 1);
	size_t len = 0;
	int same;

	if (!got)
		return 0;
	same = ddtc_read(cl, ino, 0, got, n + 1, &len) == 0 && len == n &&
	       memcmp(got, want, n) == 0;
	free(got);
	return same;
}

/* The files alternate between the two directories, so the batch ends
 * with several COMMITs. */
static void test_store(void)
{
	ddt_attr out[NFILES], a;
	int rcs[NFILES], rc, bad = 0;
	ddtc_fbatch *b;
	ddtc_file *f;

	rc = ddtc_fbatch_new(cl, &b);
	for (int i = 0; i < NFILES && rc == 0; i++) {
		ddtc_meta m = meta(i % 3 ? d1 : d2, "f%d", i);

		rc = ddtc_fbatch_add(b, &m, data[i], sizes[i]);
	}
	ok(rc == 0 && ddtc_fbatch_count(b) == NFILES &&
	   ddtc_fbatch_bytes(b) == 595101, "eight files added: %s",
	   rc ? ddtc_errmsg(rc) : "ok");
	rc = ddtc_fbatch_store(b, 0, out, rcs);
	ok(rc == 0, "the batch is stored: %s", rc ? ddtc_errmsg(rc) : "ok");
	for (int i = 0; i < NFILES && rc == 0; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		if (rcs[i] != 0 || out[i].size != sizes[i] ||
		    out[i].type != DDT_T_FILE || out[i].mode != 0640 ||
		    out[i].mtime != 2000 + i ||
		    ddtc_lookup(cl, i % 3 ? d1 : d2, name, &a) != 0 ||
		    a.ino != out[i].ino || !reads_back(a.ino, data[i],
						       sizes[i])) {
			diag("file %d (%zu bytes) is not as written", i,
			     sizes[i]);
			bad++;
		}
	}
	ok(rc == 0 && bad == 0, "every file is bound in its directory with "
	   "its attributes and reads back byte for byte");
	ok(ddtc_fbatch_count(b) == 0 && ddtc_fbatch_bytes(b) == 0,
	   "the batch is empty again");
	/* The file writer cuts and builds the same tree. */
	rc = ddtc_file_create(cl, &(ddtc_meta){ .dir = d1, .name = "w",
			      .mode = 0600 }, &f);
	if (rc == 0)
		rc = ddtc_file_write(f, data[5], sizes[5]);
	if (rc == 0)
		rc = ddtc_file_close(f, 0, &a);
	ok(rc == 0 && memcmp(&a.root, &out[5].root, sizeof(a.root)) == 0 &&
	   a.level == out[5].level && out[5].level == 1,
	   "a file of many segments gets the file writer's tree (level %u)",
	   (unsigned)out[5].level);
	ddtc_fbatch_free(b);
}

/* Contents the target holds: asked about, never sent. */
static void test_dedup(void)
{
	ddtc_counters c0, c1;
	ddt_attr out[NFILES];
	int rcs[NFILES], rc = 0;
	ddtc_fbatch *b;

	ddtc_get_counters(cl, &c0);
	if (ddtc_fbatch_new(cl, &b) < 0)
		tap_bail("batch: %s", ddtc_errmsg(-1));
	for (int i = 0; i < NFILES && rc == 0; i++) {
		ddtc_meta m = meta(d2, "again%d", i);

		rc = ddtc_fbatch_add(b, &m, data[i], sizes[i]);
	}
	if (rc == 0)
		rc = ddtc_fbatch_store(b, 0, out, rcs);
	ddtc_get_counters(cl, &c1);
	ok(rc == 0 && c1.segments_sent == c0.segments_sent &&
	   c1.segments > c0.segments, "a batch of contents the target holds "
	   "sends no segment (%llu fingerprints cut): %s",
	   (unsigned long long)(c1.segments - c0.segments),
	   rc ? ddtc_errmsg(rc) : "ok");
	ddtc_fbatch_free(b);
}

/* One directory's COMMIT fails: its files only. */
static void test_failure(void)
{
	ddt_attr out[4], a;
	int rcs[4] = { 1, 1, 1, 1 }, rc = 0;
	ddtc_meta bad = meta(d1, "a/b", 0);
	uint64_t dirs[4] = { d1, d1, 987654321, d2 };
	ddtc_fbatch *b;

	if (ddtc_fbatch_new(cl, &b) < 0)
		tap_bail("batch: %s", ddtc_errmsg(-1));
	rc = ddtc_fbatch_add(b, &bad, data[3], sizes[3]);
	ok(rc < 0 && ddtc_fbatch_count(b) == 0 &&
	   ddtc_fbatch_bytes(b) == 0, "a name with '/' is refused when added "
	   "and the batch stays empty: %s", ddtc_errmsg(rc));
	rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++) {
		ddtc_meta m = meta(dirs[i], "fail%d", i);

		rc = ddtc_fbatch_add(b, &m, data[i + 2], sizes[i + 2]);
	}
	if (rc == 0)
		rc = ddtc_fbatch_store(b, 0, out, rcs);
	ok(rc < 0 && rcs[2] == rc && rcs[0] == 0 && rcs[1] == 0 &&
	   rcs[3] == 0, "a directory that is not there fails its own file "
	   "(%d: %s), the three others are committed", rcs[2],
	   ddtc_errmsg(rc));
	ok(ddtc_lookup(cl, d1, "fail0", &a) == 0 &&
	   reads_back(a.ino, data[2], sizes[2]) &&
	   ddtc_lookup(cl, d2, "fail3", &a) == 0 &&
	   reads_back(a.ino, data[5], sizes[5]),
	   "the files committed read back");
	ddtc_fbatch_free(b);
}

int main(void)
{
	char *root = tap_tmpdir("fbatch");
	test_daemon d;
	ddt_attr a;
	ddtc_su su;

	daemon_start_in(&d, root);
	cl = daemon_connect(&d);
	if (ddtc_su_create(cl, "fb", NULL) < 0 ||
	    ddtc_su_open(cl, "fb", &su) < 0 ||
	    ddtc_mkdir(cl, su.root, "one", 0755, 0, 0, 0, &a) < 0)
		tap_bail("storage unit: %s", ddtc_errmsg(-1));
	d1 = a.ino;
	if (ddtc_mkdir(cl, su.root, "two", 0755, 0, 0, 0, &a) < 0)
		tap_bail("mkdir: %s", ddtc_errmsg(-1));
	d2 = a.ino;
	make_data();
	test_store();
	test_dedup();
	test_failure();
	for (int i = 0; i < NFILES; i++)
		free(data[i]);
	ddtc_close(cl);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
