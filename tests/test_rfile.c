/* test_rfile.c - random-access files (ddtc_rfile_*, ddtc_create) against
 * a real ddtargetd: an fsx-style model checker (a long seeded random run
 * of writes, truncates, reads, flushes, commits and reopens of one file,
 * every read held to an in-memory copy, sizes from 0 to past 100 MB), and
 * what the re-cut must save: a 1-byte change, an insert and an append to
 * a 64 MiB file send a few segments; a file rewritten identically sends
 * none. RFILE_SEED and RFILE_OPS set the run (the seed is printed, so a
 * failure can be replayed); RFILE_OPS=20000 is a soak. */
#include "ddtc.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"

#include <time.h>

#define MAX_SIZE	(104ull << 20)		/* past 100 MB */
#define BIG		(64u << 20)

static ddtc *cl;
static uint64_t dir;

/* ---- the model ---- */

typedef struct model {
	uint8_t *now, *committed;	/* MAX_SIZE each */
	uint64_t size, csize;
	uint64_t ino;
	ddtc_rfile *f;
	int bad;			/* the first mismatch ends the run */
	unsigned long reads, writes, truncs, flushes, commits, reopens;
} model;

static uint64_t pick(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

/* Bytes for a write: random, a short pattern (compresses), zeros, or a
 * copy of the file elsewhere (deduplicates). */
static void make_data(model *m, uint8_t *buf, size_t n)
{
	switch (pick(4)) {
	case 0:
		rnd_fill(buf, n);
		break;
	case 1:
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)("pattern!"[i % 8] + (i >> 12));
		break;
	case 2:
		memset(buf, 0, n);
		break;
	default:
		if (m->size >= n)
			memcpy(buf, m->now + pick(m->size - n + 1), n);
		else
			rnd_fill(buf, n);
	}
}

static size_t pick_len(void)
{
	switch (pick(8)) {
	case 0:
		return 1 + pick(16);
	case 1:
		return 1 + pick(4u << 20);
	default:
		return 1 + pick(128u << 10);
	}
}

static void op_write(model *m, uint8_t *buf)
{
	size_t n = pick_len();
	uint64_t off;
	int rc;

	off = pick(8) == 0 ? m->size + pick(1u << 20) : pick(m->size + 1);
	if (off + n > MAX_SIZE)
		off = MAX_SIZE - n;
	make_data(m, buf, n);
	rc = ddtc_rfile_write(cl, m->f, off, buf, n);
	if (rc < 0) {
		diag("write %zu at %llu: %s", n, (unsigned long long)off,
		     ddtc_errmsg(rc));
		m->bad = 1;
		return;
	}
	if (off > m->size)
		memset(m->now + m->size, 0, off - m->size);
	memcpy(m->now + off, buf, n);
	if (off + n > m->size)
		m->size = off + n;
	m->writes++;
}

static void op_truncate(model *m)
{
	uint64_t size;
	int rc;

	switch (pick(6)) {
	case 0:
		size = 100000000 + pick(MAX_SIZE - 100000000);
		break;
	case 1:
		size = pick(m->size + 1);
		break;
	case 2:
		size = m->size + pick(200000);
		break;
	default:
		size = m->size > 70000 ? m->size - pick(70000) : 0;
	}
	if (size > MAX_SIZE)
		size = MAX_SIZE;
	rc = ddtc_rfile_truncate(cl, m->f, size);
	if (rc < 0) {
		diag("truncate to %llu: %s", (unsigned long long)size,
		     ddtc_errmsg(rc));
		m->bad = 1;
		return;
	}
	if (size > m->size)
		memset(m->now + m->size, 0, size - m->size);
	m->size = size;
	m->truncs++;
}

/* Read [off, off + n) and hold it to the model. */
static void check_range(model *m, uint64_t off, size_t n, uint8_t *buf,
			const char *when)
{
	size_t got = 0, want;
	int rc;

	want = off >= m->size ? 0 : (n < m->size - off ? n :
				     (size_t)(m->size - off));
	rc = ddtc_rfile_read(cl, m->f, off, buf, n, &got);
	if (rc < 0 || got != want || memcmp(buf, m->now + off, got) != 0) {
		size_t i = 0;

		while (rc == 0 && i < got && buf[i] == m->now[off + i])
			i++;
		diag("%s: read %zu at %llu of %llu: rc %d (%s), got %zu of "
		     "%zu, first difference at %llu", when, n,
		     (unsigned long long)off, (unsigned long long)m->size, rc,
		     rc ? ddtc_errmsg(rc) : "ok", got, want,
		     (unsigned long long)(off + i));
		m->bad = 1;
	}
	m->reads++;
}

static void op_read(model *m, uint8_t *buf)
{
	size_t n = pick_len();
	uint64_t off = pick(m->size + 100);

	check_range(m, off, n, buf, "read");
}

/* The committed tree is the one a whole new write of the same bytes
 * makes: every re-cut and reuse was exact. */
static int same_tree_as(uint64_t ino, const uint8_t *data, size_t n)
{
	ddtc_meta meta = { .dir = dir, .mode = 0644 };
	ddt_attr a, b;
	ddtc_file *w;
	int rc;

	strcpy(meta.name, "copy");
	rc = ddtc_file_create(cl, &meta, &w);
	if (rc == 0)
		rc = ddtc_file_write(w, data, n);
	if (rc == 0)
		rc = ddtc_file_close(w, 0, &a);
	if (rc == 0)
		rc = ddtc_getattr(cl, ino, &b);
	if (rc < 0 || memcmp(&a.root, &b.root, sizeof(a.root)) != 0 ||
	    a.level != b.level || a.size != b.size) {
		diag("the tree is not ddtc_file's: %s",
		     rc ? ddtc_errmsg(rc) : "another root");
		return 0;
	}
	return 1;
}

static int same_tree(const model *m)
{
	return same_tree_as(m->ino, m->committed, m->csize);
}

static void op_commit(model *m)
{
	ddt_attr a;
	int rc;

	rc = ddtc_rfile_commit(cl, m->f, 0, (int)pick(2), &a);
	if (rc < 0 || a.size != m->size || a.ino != m->ino ||
	    ddtc_rfile_dirty(m->f)) {
		diag("commit: %s (size %llu, model %llu)",
		     rc ? ddtc_errmsg(rc) : "ok", (unsigned long long)a.size,
		     (unsigned long long)m->size);
		m->bad = 1;
		return;
	}
	memcpy(m->committed, m->now, m->size);
	m->csize = m->size;
	m->commits++;
	if (pick(16) == 0 && !same_tree(m))
		m->bad = 1;
}

static void op_flush(model *m)
{
	int rc = ddtc_rfile_flush(cl, m->f);

	if (rc < 0 || ddtc_rfile_buffered(m->f) > (64u << 10)) {
		diag("flush: %s, %zu bytes still buffered",
		     rc ? ddtc_errmsg(rc) : "ok", ddtc_rfile_buffered(m->f));
		m->bad = 1;
	}
	m->flushes++;
}

/* Close (what was not committed is gone) and open again; a few ranges
 * and both ends checked. */
static void op_reopen(model *m, uint8_t *buf)
{
	int rc;

	ddtc_rfile_close(m->f);
	m->f = NULL;
	memcpy(m->now, m->committed, m->csize);
	m->size = m->csize;
	rc = ddtc_rfile_open(cl, m->ino, &m->f);
	if (rc < 0 || ddtc_rfile_size(m->f) != m->size) {
		diag("reopen: %s", rc ? ddtc_errmsg(rc) : "wrong size");
		m->bad = 1;
		return;
	}
	check_range(m, 0, 65536, buf, "reopen, start");
	check_range(m, m->size > 65536 ? m->size - 65536 : 0, 65536, buf,
		    "reopen, end");
	for (int i = 0; i < 4 && !m->bad; i++)
		check_range(m, pick(m->size + 1), 1 + pick(1u << 20), buf,
			    "reopen");
	m->reopens++;
}

/* Every byte, in 4 MiB reads. */
static void check_all(model *m, uint8_t *buf, const char *when)
{
	for (uint64_t off = 0; off < m->size && !m->bad; off += 4u << 20)
		check_range(m, off, 4u << 20, buf, when);
}

static void test_model(void)
{
	const char *s = getenv("RFILE_SEED"), *o = getenv("RFILE_OPS");
	uint64_t seed = s && *s ? strtoull(s, NULL, 0) :
			(uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	long ops = o && *o ? atol(o) : 2000, i;
	model m = { 0 };
	uint8_t *buf = xmalloc(8u << 20);
	ddt_attr a;
	int rc;

	diag("model checker: RFILE_SEED=%llu RFILE_OPS=%ld",
	     (unsigned long long)seed, ops);
	rnd_seed(seed);
	m.now = xmalloc(MAX_SIZE);
	m.committed = xmalloc(MAX_SIZE);
	rc = ddtc_create(cl, dir, "model", 0644, 0, 0, 0, 1, &a);
	if (rc == 0)
		rc = ddtc_rfile_open(cl, a.ino, &m.f);
	if (rc < 0)
		tap_bail("model file: %s", ddtc_errmsg(rc));
	m.ino = a.ino;
	for (i = 0; i < ops && !m.bad; i++) {
		unsigned r = (unsigned)pick(100);

		if (r < 36)
			op_write(&m, buf);
		else if (r < 60)
			op_read(&m, buf);
		else if (r < 70)
			op_truncate(&m);
		else if (r < 78)
			op_flush(&m);
		else if (r < 90)
			op_commit(&m);
		else
			op_reopen(&m, buf);
	}
	if (!m.bad)
		check_all(&m, buf, "the end, before commit");
	if (!m.bad)
		op_commit(&m);
	if (!m.bad)
		op_reopen(&m, buf);
	if (!m.bad)
		check_all(&m, buf, "the end, reopened");
	ok(!m.bad && same_tree(&m), "model checker, seed %llu: %ld ops (%lu "
	   "writes, %lu reads, %lu truncates, %lu flushes, %lu commits, %lu "
	   "reopens) agree with the model; final size %llu; its tree is the one ddtc_file makes "
	   "of the same bytes", (unsigned long long)seed, i,
	   m.writes, m.reads, m.truncs, m.flushes, m.commits, m.reopens,
	   (unsigned long long)m.size);
	ddtc_rfile_close(m.f);
	free(m.now);
	free(m.committed);
	free(buf);
}

/* ---- what the re-cut saves ---- */

static uint64_t sent(void)
{
	ddtc_counters k;

	ddtc_get_counters(cl, &k);
	return k.segments_sent;
}

/* Commit f and say how many segments went to the target for it. */
static uint64_t commit_sent(ddtc_rfile *f, ddt_attr *a)
{
	uint64_t before = sent();
	int rc = ddtc_rfile_commit(cl, f, 0, 1, a);

	if (rc < 0)
		tap_bail("commit: %s", ddtc_errmsg(rc));
	return sent() - before;
}

/* The file's content read back whole equals want. */
static int same(uint64_t ino, const uint8_t *want, size_t n, uint8_t *buf)
{
	size_t got = 0;

	return ddtc_read(cl, ino, 0, buf, n + 1, &got) == 0 && got == n &&
	       memcmp(buf, want, n) == 0;
}

static void test_dedup(void)
{
	uint8_t *data = xmalloc(BIG + (1u << 20)), *buf = xmalloc(BIG + (2u << 20));
	ddtc_rfile *f;
	ddt_attr a;
	uint64_t n, base;
	int rc;

	rnd_seed(99);
	rnd_fill(data, BIG + (1u << 20));
	rc = ddtc_create(cl, dir, "big", 0644, 0, 0, 0, 1, &a);
	if (rc == 0)
		rc = ddtc_rfile_open(cl, a.ino, &f);
	for (uint64_t off = 0; rc == 0 && off < BIG; off += 1u << 20) {
		rc = ddtc_rfile_write(cl, f, off, data + off, 1u << 20);
		if (rc == 0 && ddtc_rfile_buffered(f) >= (16u << 20))
			rc = ddtc_rfile_flush(cl, f);
	}
	if (rc < 0)
		tap_bail("big file: %s", ddtc_errmsg(rc));
	base = commit_sent(f, &a);
	ok(a.size == BIG && a.level >= 1 && same(a.ino, data, BIG, buf) &&
	   same_tree_as(a.ino, data, BIG),
	   "a 64 MiB file written in order through rfile, flushed every 16 "
	   "MiB, reads back (the commit sent %llu segments; level %u)",
	   (unsigned long long)base, a.level);

	data[BIG / 2] ^= 0x5a;
	rc = ddtc_rfile_write(cl, f, BIG / 2, data + BIG / 2, 1);
	n = rc ? 999 : commit_sent(f, &a);
	ok(n >= 1 && n <= 4u + a.level && same(a.ino, data, BIG, buf) &&
	   same_tree_as(a.ino, data, BIG),
	   "a 1-byte change commits with %llu segments sent (at most 4 data "
	   "segments + the %u metadata segments above them)",
	   (unsigned long long)n, a.level);

	/* An insert: an application rewrites the tail shifted. */
	memmove(data + BIG / 4 + 1000, data + BIG / 4, BIG - BIG / 4);
	rnd_fill(data + BIG / 4, 1000);
	rc = ddtc_rfile_write(cl, f, BIG / 4, data + BIG / 4,
			      BIG - BIG / 4 + 1000);
	n = rc ? 999 : commit_sent(f, &a);
	ok(a.size == BIG + 1000 && n <= 8u + 2u * a.level &&
	   same(a.ino, data, BIG + 1000, buf) &&
	   same_tree_as(a.ino, data, BIG + 1000),
	   "1000 bytes inserted in the middle: %llu segments sent (at most 8 "
	   "data + the metadata paths)", (unsigned long long)n);

	rnd_fill(data + BIG + 1000, 100000);
	rc = ddtc_rfile_write(cl, f, BIG + 1000, data + BIG + 1000, 100000);
	n = rc ? 999 : commit_sent(f, &a);
	ok(a.size == BIG + 101000 && n <= 100000u / 2048 + 2 + a.level &&
	   same(a.ino, data, BIG + 101000, buf) &&
	   same_tree_as(a.ino, data, BIG + 101000),
	   "100000 bytes appended: %llu segments sent (the new bytes, the old "
	   "last segment, the metadata path)", (unsigned long long)n);
	ddtc_rfile_close(f);
	free(data);
	free(buf);
}

/* A file written by ddtc_file, rewritten identically through rfile. */
static void test_same_rewrite(void)
{
	uint8_t *data = xmalloc(8u << 20);
	ddtc_meta meta = { .dir = dir, .mode = 0644 };
	ddtc_file *w;
	ddtc_rfile *f;
	ddt_attr a, b;
	uint64_t n;
	int rc;

	rnd_seed(5);
	rnd_fill(data, 8u << 20);
	strcpy(meta.name, "written");
	rc = ddtc_file_create(cl, &meta, &w);
	if (rc == 0)
		rc = ddtc_file_write(w, data, 8u << 20);
	if (rc == 0)
		rc = ddtc_file_close(w, 1, &a);
	if (rc == 0)
		rc = ddtc_rfile_open(cl, a.ino, &f);
	for (size_t off = 0; rc == 0 && off < (8u << 20); off += 65536)
		rc = ddtc_rfile_write(cl, f, (8u << 20) - 65536 - off,
				      data + (8u << 20) - 65536 - off, 65536);
	if (rc < 0)
		tap_bail("rewrite: %s", ddtc_errmsg(rc));
	n = commit_sent(f, &b);
	ok(n == 0 && memcmp(&a.root, &b.root, sizeof(a.root)) == 0 &&
	   a.level == b.level,
	   "an 8 MiB file from ddtc_file rewritten identically (backwards, in "
	   "64 KiB writes) through rfile: %llu segments sent, the same root",
	   (unsigned long long)n);
	ddtc_rfile_close(f);
	free(data);
}

/* ---- the calls themselves ---- */

static void test_calls(void)
{
	ddtc_rfile *f;
	ddt_attr a, b;
	uint8_t buf[64];
	size_t got;
	int rc;

	rc = ddtc_create(cl, dir, "c", 0600, 7, 8, 0, 1, &a);
	ok(rc == 0 && a.size == 0 && a.mode == 0600 && a.uid == 7,
	   "ddtc_create makes an empty file");
	rc = ddtc_create(cl, dir, "c", 0600, 7, 8, 0, 1, &b);
	ok(rc == -EEXIST, "exclusive over an existing name is -EEXIST: %s",
	   ddtc_errmsg(rc));
	rc = ddtc_rfile_open(cl, a.ino, &f);
	if (rc == 0)
		rc = ddtc_rfile_write(cl, f, 10, "hello", 5);
	got = 0;
	if (rc == 0)
		rc = ddtc_rfile_read(cl, f, 0, buf, sizeof(buf), &got);
	ok(rc == 0 && got == 15 && memcmp(buf, "\0\0\0\0\0\0\0\0\0\0hello",
					   15) == 0 && ddtc_rfile_dirty(f) &&
	   ddtc_rfile_buffered(f) == 5,
	   "a write past the end reads back at once, with a hole before it");
	rc = ddtc_getattr(cl, a.ino, &b);
	ok(rc == 0 && b.size == 0, "and nobody else sees it before the commit");
	rc = ddtc_rfile_commit(cl, f, 0, 1, &b);
	ok(rc == 0 && b.size == 15 && b.ino == a.ino && !ddtc_rfile_dirty(f),
	   "after the commit they do");
	rc = ddtc_rfile_write(cl, f, 0, "gone", 4);
	ddtc_rfile_close(f);
	ok(rc == 0 && ddtc_read(cl, a.ino, 0, buf, 4, &got) == 0 &&
	   memcmp(buf, "\0\0\0\0", 4) == 0,
	   "a change closed without a commit is dropped");
	rc = ddtc_create(cl, dir, "c", 0644, 0, 0, 0, 0, &b);
	ok(rc == 0 && b.ino == a.ino && b.size == 0,
	   "a create that is not exclusive empties the file, same inode");
	rc = ddtc_rfile_open(cl, dir, &f);
	ok(rc == -EISDIR, "a directory does not open: %s", ddtc_errmsg(rc));
}

int main(void)
{
	char *root = tap_tmpdir("rfile");
	test_daemon d;
	ddtc_su su;

	daemon_start_in(&d, root);
	cl = daemon_connect(&d);
	if (ddtc_su_create(cl, "rf", NULL) < 0 ||
	    ddtc_su_open(cl, "rf", &su) < 0)
		tap_bail("storage unit: %s", ddtc_errmsg(-1));
	dir = su.root;
	test_calls();
	test_same_rewrite();
	test_dedup();
	test_model();
	ddtc_close(cl);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
