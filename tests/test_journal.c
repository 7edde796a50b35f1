/* test_journal.c - the open container's log gives back exactly what was
 * committed: a torn tail is cut away, a commit that fails leaves no trace,
 * a crash in the middle of a commit loses only that batch; and with two
 * copies, a byte flipped anywhere in one copy loses nothing, and a record
 * damaged in both costs only itself. */
#include "jnl.h"
#include "ddterr.h"
#include "fio.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define REC_HDR JNL_REC_HDR
#define LOG_HDR JNL_HDR_LEN

static char *dir;

#define path_of(name) tpath(dir, name)

/* ---- records: what was committed, and what replay gave back ---- */

typedef struct rec {
	fp_t fp;
	int codec;
	uint32_t raw_len, stored_len;
	uint8_t *data;
} rec;

typedef struct recs {
	rec *r;
	int n, cap;
	int stop_after;		/* callback returns 99 after this many; 0: never */
} recs;

static void recs_push(recs *s, const fp_t *fp, int codec, uint32_t raw_len,
		      const void *data, uint32_t stored_len)
{
	rec *r;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->r = realloc(s->r, (size_t)s->cap * sizeof(*s->r));
		if (!s->r)
			tap_bail("realloc");
	}
	r = &s->r[s->n++];
	r->fp = *fp;
	r->codec = codec;
	r->raw_len = raw_len;
	r->stored_len = stored_len;
	r->data = malloc(stored_len ? stored_len : 1);
	if (!r->data)
		tap_bail("malloc");
	if (stored_len)
		memcpy(r->data, data, stored_len);
}

static void recs_clear(recs *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->r[i].data);
	free(s->r);
	memset(s, 0, sizeof(*s));
}

static int collect(void *arg, const fp_t *fp, int codec, uint32_t raw_len,
		   const void *data, uint32_t stored_len)
{
	recs *s = arg;

	if (s->stop_after && s->n == s->stop_after)
		return 99;
	recs_push(s, fp, codec, raw_len, data, stored_len);
	return 0;
}

/* Whether got[gi..gi+n) equals want[wi..wi+n). */
static int recs_same(const recs *got, int gi, const recs *want, int wi, int n)
{
	if (gi + n > got->n || wi + n > want->n)
		return 0;
	for (int i = 0; i < n; i++) {
		const rec *a = &got->r[gi + i], *b = &want->r[wi + i];

		if (!fp_equal(&a->fp, &b->fp) || a->codec != b->codec ||
		    a->raw_len != b->raw_len || a->stored_len != b->stored_len ||
		    memcmp(a->data, b->data, a->stored_len))
			return 0;
	}
	return 1;
}

/* Whether got is exactly want[from..from+n). */
static int recs_equal(const recs *got, const recs *want, int from, int n)
{
	return got->n == n && recs_same(got, 0, want, from, n);
}

/* Stage one random record (up to maxlen bytes) into j and remember it in
 * s; returns its size on disk. A record with data is a real raw segment
 * (named by its SHA-256), as replay checks a record it finds by looking
 * past damage; an empty one is a bare record. */
static size_t stage(jnl *j, recs *s, uint32_t maxlen)
{
	static uint8_t data[70000];
	uint32_t len = (uint32_t)(rnd64() % (maxlen + 1));
	int codec = 0;
	uint32_t raw = len;
	fp_t fp;

	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)rnd64();
	if (len) {
		if (fp_compute(&fp, data, len) != 0)
			tap_bail("fp_compute");
	} else {
		for (int i = 0; i < FP_LEN; i++)
			fp.b[i] = (uint8_t)rnd64();
		raw = 7;
		codec = (int)(rnd64() % 4);
	}
	if (jnl_add(j, &fp, codec, raw, data, len, NULL) != 0)
		tap_bail("jnl_add");
	recs_push(s, &fp, codec, raw, data, len);
	return REC_HDR + len;
}

/* One copy: a journal at path. */
static int create1(jnl **j, const char *path, uint64_t cid, const char *spare)
{
	jnl_place pl = { path, spare };

	return jnl_create(j, &pl, 1, cid, 0);
}

static int reopen1(jnl **j, const char *path, uint64_t cid, uint64_t tail)
{
	return jnl_reopen(j, &path, 1, cid, tail);
}

static jnl_replay_report last;	/* the last replay's report */

/* Replay container cid's copies paths[0..n) into a fresh recs. */
static int replay_n(const char *const *paths, int n, uint64_t cid, recs *got,
		    uint64_t *tail)
{
	int rc;

	memset(got, 0, sizeof(*got));
	rc = jnl_replay(paths, n, cid, collect, got, &last);
	*tail = last.tail;
	return rc;
}

/* Replay one copy at path of container cid. */
static int replay(const char *path, uint64_t cid, recs *got, uint64_t *tail)
{
	return replay_n(&path, 1, cid, got, tail);
}

static void test_round_trip(void)
{
	recs want = { 0 }, got;
	jnl *j = NULL;
	uint64_t tail;
	size_t pend = 0, total = LOG_HDR;
	int rc;

	rc = create1(&j, path_of("j1"), 77, NULL);
	ok(rc == 0 && file_size(path_of("j1")) == LOG_HDR,
	   "jnl_create writes a %d-byte header (rc %d)", LOG_HDR, rc);
	if (rc)
		tap_bail("%s", ddterr_last(rc));
	for (int i = 0; i < 50; i++)
		pend += stage(j, &want, 20000);
	ok(jnl_pending(j) == pend && file_size(path_of("j1")) == LOG_HDR,
	   "jnl_add only stages (%zu bytes pending, nothing written)", pend);
	rc = jnl_commit(j);
	total += pend;
	ok(rc == 0 && jnl_pending(j) == 0 &&
	   file_size(path_of("j1")) == (long)total,
	   "jnl_commit writes the batch (rc %d, %ld bytes)", rc,
	   file_size(path_of("j1")));
	ok(jnl_commit(j) == 0 && file_size(path_of("j1")) == (long)total,
	   "an empty commit is a no-op");
	pend = 0;
	for (int i = 0; i < 30; i++)
		pend += stage(j, &want, i == 0 ? 0 : 3000);
	rc = jnl_commit(j);
	total += pend;
	jnl_close(j);
	ok(rc == 0, "a second batch (one record empty) commits");

	rc = replay(path_of("j1"), 77, &got, &tail);
	ok(rc == 0 && last.whole && tail == total &&
	   recs_equal(&got, &want, 0, 80),
	   "replay gives back all 80 records in order, whole, tail %llu "
	   "(rc %d, %d records)", (unsigned long long)tail, rc, got.n);
	ok(file_size(path_of("j1")) == (long)total,
	   "replaying an intact log leaves it alone");
	recs_clear(&got);

	/* Reopen at the tail and keep appending. */
	rc = reopen1(&j, path_of("j1"), 77, tail);
	if (rc)
		tap_bail("jnl_reopen: %d", rc);
	for (int i = 0; i < 5; i++)
		stage(j, &want, 1000);
	rc = jnl_commit(j);
	jnl_close(j);
	ok(rc == 0 && replay(path_of("j1"), 77, &got, &tail) == 0 &&
	   recs_equal(&got, &want, 0, 85),
	   "after jnl_reopen a new batch is appended after the old ones");
	recs_clear(&got);

	/* A non-zero callback return stops replay and is returned; the log
	 * is not cut. */
	memset(&got, 0, sizeof(got));
	got.stop_after = 10;
	{
		const char *p1 = path_of("j1");

		rc = jnl_replay(&p1, 1, 77, collect, &got, &last);
	}
	ok(rc == 99 && got.n == 10 &&
	   file_size(path_of("j1")) > (long)last.tail,
	   "a callback's non-zero return stops replay, is returned, and "
	   "truncates nothing (rc %d)", rc);
	recs_clear(&got);

	/* jnl_create over an old log starts a fresh one. */
	rc = create1(&j, path_of("j1"), 78, NULL);
	jnl_close(j);
	ok(rc == 0 && replay(path_of("j1"), 78, &got, &tail) == 0 &&
	   got.n == 0 && tail == LOG_HDR,
	   "jnl_create over an existing log starts an empty one");
	recs_clear(&got);
	recs_clear(&want);
}

/* A log of n records committed in batches of four; ends[i] is the offset
 * just after record i. */
static void make_log(const char *path, recs *want, long *ends, int n)
{
	jnl *j = NULL;
	long off = LOG_HDR;

	memset(want, 0, sizeof(*want));
	if (create1(&j, path, 5, NULL) != 0)
		tap_bail("jnl_create");
	for (int i = 0; i < n; i++) {
		off += (long)stage(j, want, 5000);
		ends[i] = off;
		if (i % 4 == 3 && jnl_commit(j) != 0)
			tap_bail("commit");
	}
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	jnl_close(j);
}

static void cut_to(const char *path, long len)
{
	if (truncate(path, len) != 0)
		tap_bail("truncate");
}

static void append_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "ab");

	if (!f || fwrite(p, 1, n, f) != n)
		tap_bail("append");
	fclose(f);
}

/* Replay and expect exactly want[0..n) with the log cut at `end`. */
static int replay_expect(const char *path, const recs *want, int n, long end)
{
	recs got;
	uint64_t tail;
	int rc = replay(path, 5, &got, &tail), good;

	good = rc == 0 && recs_equal(&got, want, 0, n) &&
	       tail == (uint64_t)end && file_size(path) == end;
	if (!good)
		diag("replay rc %d, %d records (want %d), tail %llu, size %ld "
		     "(want %ld)", rc, got.n, n, (unsigned long long)tail,
		     file_size(path), end);
	recs_clear(&got);
	return good;
}

static void test_torn_tail(void)
{
	enum { N = 12 };
	const char *p = path_of("j2");
	recs want;
	long ends[N];
	jnl *j = NULL;
	int bad = 0;

	/* Cut inside the last record: in its header, in its data, one byte
	 * short of its end. */
	for (int c = 0; c < 3; c++) {
		long start, end, cut;

		make_log(p, &want, ends, N);
		start = ends[N - 2];
		end = ends[N - 1];
		cut = c == 0 ? start + 10 :
		      c == 1 ? start + REC_HDR + (end - start - REC_HDR) / 2 :
		      end - 1;
		cut_to(p, cut);
		if (!replay_expect(p, &want, N - 1, start))
			bad++;
		recs_clear(&want);
	}
	ok(bad == 0, "a log cut inside its last record (header, data, last "
	   "byte) replays the %d intact records and is cut back to them",
	   N - 1);

	/* A cut in the middle of the log: everything before it. */
	make_log(p, &want, ends, N);
	cut_to(p, ends[4] + 3);
	ok(replay_expect(p, &want, 5, ends[4]),
	   "a cut after record 5 keeps records 1..5");
	ok(replay_expect(p, &want, 5, ends[4]),
	   "replaying again (now clean) gives the same records");

	/* The log keeps working after recovery. */
	{
		recs more = { 0 };
		uint64_t tail;
		recs got;
		int rc;

		rc = reopen1(&j, p, 5, (uint64_t)ends[4]);
		if (rc)
			tap_bail("reopen");
		for (int i = 0; i < 3; i++)
			stage(j, &more, 500);
		rc = jnl_commit(j);
		jnl_close(j);
		rc = rc ? rc : replay(p, 5, &got, &tail);
		ok(rc == 0 && got.n == 8 && recs_same(&got, 0, &want, 0, 5) &&
		   recs_same(&got, 5, &more, 0, 3),
		   "after recovery, new records follow the intact prefix");
		recs_clear(&got);
		recs_clear(&more);
	}
	recs_clear(&want);

	/* Garbage appended: short, long, and a plausible record header. */
	{
		uint8_t junk[300];
		int b2 = 0;

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rnd64();
		make_log(p, &want, ends, N);
		append_bytes(p, junk, 7);
		b2 += !replay_expect(p, &want, N, ends[N - 1]);
		append_bytes(p, junk, sizeof(junk));
		b2 += !replay_expect(p, &want, N, ends[N - 1]);
		/* The magic and a small length, then noise: only the CRC
		 * can tell. */
		junk[0] = 0x4a, junk[1] = 0x53, junk[2] = 0x45, junk[3] = 0x47;
		junk[4] = 100, junk[5] = junk[6] = junk[7] = 0;
		append_bytes(p, junk, REC_HDR + 100);
		b2 += !replay_expect(p, &want, N, ends[N - 1]);
		/* A huge claimed length must not be believed. */
		junk[4] = junk[5] = junk[6] = junk[7] = 0xFF;
		append_bytes(p, junk, REC_HDR + 10);
		b2 += !replay_expect(p, &want, N, ends[N - 1]);
		ok(b2 == 0, "appended garbage (short, long, magic with a bad "
		   "CRC, a huge length) is cut away, all %d records kept", N);
		recs_clear(&want);
	}

	/* A flipped byte inside record 7 (header or data) of the only
	 * copy: record 7 is lost, and replay finds record 8 and goes on. */
	for (int c = 0; c < 3; c++) {
		static const char *what[] = { "fingerprint", "length",
					      "data" };
		long at, size;
		recs got;
		uint64_t tail;
		int rc, good;

		make_log(p, &want, ends, N);
		at = c == 0 ? ends[5] + 20 : c == 1 ? ends[5] + 5 :
		     ends[5] + REC_HDR + 1;
		if (c == 2 && ends[6] - ends[5] <= REC_HDR + 1)
			at = ends[5] + 30;	/* record 7 has no data */
		flip_byte(p, at);
		size = file_size(p);
		rc = replay(p, 5, &got, &tail);
		good = rc == 0 && got.n == N - 1 &&
		       recs_same(&got, 0, &want, 0, 6) &&
		       recs_same(&got, 6, &want, 7, N - 7) &&
		       last.lost_ranges == 1 && last.lost_records >= 1 &&
		       last.lost_off == (uint64_t)ends[5] &&
		       last.lost_bytes == (uint64_t)(ends[6] - ends[5]) &&
		       !last.whole && tail == (uint64_t)ends[N - 1] &&
		       file_size(p) == size;
		ok(good, "a flipped %s byte in record 7 loses record 7 only: "
		   "replay finds record 8, keeps the %d after, reports the "
		   "%ld lost bytes, and cuts nothing (rc %d, %d records)",
		   what[c], N - 7, ends[6] - ends[5], rc, got.n);
		recs_clear(&got);
		recs_clear(&want);
	}
	make_log(p, &want, ends, N);
	flip_byte(p, ends[N - 1] - 1);
	ok(ends[N - 1] - ends[N - 2] == REC_HDR ||
	   replay_expect(p, &want, N - 1, ends[N - 2]),
	   "a flipped last data byte drops the last record");
	recs_clear(&want);
}

/* Commit under a fault: it fails, leaves the log at its last good end,
 * breaks the journal for good, and replay sees exactly the good records. */
static int fault_case(enum fio_fault kind, long after, int want_rc)
{
	const char *p = path_of("j3");
	recs want = { 0 }, lost = { 0 }, got;
	jnl *j = NULL;
	uint64_t tail;
	long good_end;
	int rc, ok_ = 1;

	if (create1(&j, p, 5, NULL) != 0)
		tap_bail("create");
	for (int i = 0; i < 6; i++)
		stage(j, &want, 4000);
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	good_end = file_size(p);
	for (int i = 0; i < 6; i++)
		stage(j, &lost, 4000);
	fio_fault_arm(kind, after, 0);
	rc = jnl_commit(j);
	fio_fault_clear();
	if (rc != want_rc || jnl_pending(j) != 0 || file_size(p) != good_end) {
		diag("fault %d: commit rc %d (want %d), pending %zu, size %ld "
		     "(want %ld)", kind, rc, want_rc, jnl_pending(j),
		     file_size(p), good_end);
		ok_ = 0;
	}
	/* The journal is broken now: it takes no more records, and a sync
	 * of anything past its good end fails with the same error. */
	{
		uint8_t d[8] = { 0 };
		fp_t fp = { { 0 } };

		if (!jnl_broken(j) ||
		    jnl_add(j, &fp, 0, 8, d, 8, NULL) != want_rc ||
		    jnl_commit(j) != 0 || jnl_durable_records(j) != 6) {
			diag("fault %d: broken journal still takes records", kind);
			ok_ = 0;
		}
	}
	jnl_close(j);
	rc = replay(p, 5, &got, &tail);
	if (rc != 0 || !recs_equal(&got, &want, 0, 6) ||
	    tail != (uint64_t)file_size(p)) {
		diag("fault %d: replay rc %d, %d records", kind, rc, got.n);
		ok_ = 0;
	}
	recs_clear(&got);
	recs_clear(&want);
	recs_clear(&lost);
	return ok_;
}

static void test_commit_faults(void)
{
	ok(fault_case(FIO_FAULT_SHORT, 0, -ENOSPC),
	   "a torn commit (SHORT) fails, leaves the log at its good end, "
	   "refuses more records, and replay sees exactly the good records");
	ok(fault_case(FIO_FAULT_ENOSPC, 0, -ENOSPC),
	   "same for ENOSPC");
	ok(fault_case(FIO_FAULT_EIO, 0, -EIO), "same for EIO");
	ok(fault_case(FIO_FAULT_FSYNC_EIO, 0, -EIO),
	   "FSYNC_EIO makes commit fail, and the batch is cut away");

	/* A create that cannot write its header leaves no file. */
	{
		jnl *j = NULL;
		int rc;

		fio_fault_arm(FIO_FAULT_ENOSPC, 0, 0);
		rc = create1(&j, path_of("j4"), 1, NULL);
		fio_fault_clear();
		ok(rc == -ENOSPC && j == NULL && file_size(path_of("j4")) < 0,
		   "jnl_create under ENOSPC fails and leaves no file");
		fio_fault_arm(FIO_FAULT_FSYNC_EIO, 1, 0);
		rc = create1(&j, path_of("j4"), 1, NULL);
		fio_fault_clear();
		ok(rc == -EIO && file_size(path_of("j4")) < 0,
		   "jnl_create whose directory fsync fails leaves no file");
	}
}


/* Commit j's staged records in a child armed to crash at its first write,
 * and close j here: 1 if the child died of that crash. */
static int crash_commit(jnl *j)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (pid == 0) {
		fio_fault_arm(FIO_FAULT_CRASH, 0, 0);
		jnl_commit(j);
		_exit(0);
	}
	jnl_close(j);
	if (waitpid(pid, &st, 0) != pid)
		tap_bail("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == FIO_CRASH_STATUS;
}
/* Crash in the middle of the second batch's write: everything committed
 * survives, and the log is cut at a record boundary. */
static void test_crash(void)
{
	const char *p = path_of("j5");
	recs crash_want = { 0 }, lost = { 0 }, got;
	uint64_t tail;
	jnl *j = NULL;
	size_t batch = 0, torn_end = 0;
	long committed, good_end = 0;
	int rc, whole = 0;

	if (create1(&j, p, 5, NULL) != 0)
		tap_bail("create");
	for (int i = 0; i < 8; i++)
		stage(j, &crash_want, 8000);
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	committed = file_size(p);
	for (int i = 0; i < 8; i++)
		batch += stage(j, &lost, 8000);
	/* The torn write lands batch / 2 bytes: the lost batch's records
	 * that end inside them are whole and pass their CRCs, so replay may
	 * (and does) keep them; it must stop at the first torn one. */
	for (int i = 0; i < lost.n; i++) {
		torn_end += REC_HDR + lost.r[i].stored_len;
		if (torn_end > batch / 2)
			break;
		whole++;
		good_end = (long)torn_end;
	}
	ok(crash_commit(j), "the child dies in the middle of its commit");
	ok(file_size(p) == committed + (long)(batch / 2),
	   "it left the committed batch and half of the torn one on disk");
	rc = replay(p, 5, &got, &tail);
	ok(rc == 0 && got.n == 8 + whole &&
	   recs_same(&got, 0, &crash_want, 0, 8) &&
	   recs_same(&got, 8, &lost, 0, whole) &&
	   tail == (uint64_t)(committed + good_end) &&
	   file_size(p) == (long)tail,
	   "replay gives every committed record, then the %d whole records of "
	   "the torn batch, and cuts the log at the first torn one (%d "
	   "records, tail %llu)", whole, got.n, (unsigned long long)tail);
	recs_clear(&got);
	recs_clear(&lost);
	recs_clear(&crash_want);
}

static void test_bad_header(void)
{
	const char *p = path_of("j6");
	recs got = { 0 };
	uint64_t tail;
	jnl *j = NULL;
	int rc;

	if (create1(&j, p, 5, NULL) != 0)
		tap_bail("create");
	jnl_close(j);
	flip_byte(p, 2);
	ddterr_clear();
	rc = replay(p, 5, &got, &tail);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "bad header") &&
	   got.n == 0 && file_size(p) == LOG_HDR,
	   "a bad magic and no record: -EBADMSG, and the file is left alone "
	   "(\"%s\")", ddterr_last(rc));
	cut_to(p, LOG_HDR - 1);
	ok(replay(p, 5, &got, &tail) == -EBADMSG,
	   "a header cut short: -EBADMSG");
	cut_to(p, 0);
	ok(replay(p, 5, &got, &tail) == -EBADMSG, "an empty file: -EBADMSG");
	ok(replay(path_of("none"), 5, &got, &tail) == -ENOENT,
	   "a missing log: -ENOENT");
	ok(reopen1(&j, path_of("none"), 5, LOG_HDR) == -ENOENT,
	   "reopening a missing log: -ENOENT");

	/* A damaged header does not take the records behind it along. */
	{
		recs want = { 0 };
		long ends[6];

		make_log(p, &want, ends, 6);
		flip_byte(p, 1);
		rc = replay(p, 5, &got, &tail);
		ok(rc == 0 && recs_equal(&got, &want, 0, 6) &&
		   last.bad_headers == 1 && !last.whole,
		   "a damaged header: all 6 records are still replayed, and "
		   "the log is reported not whole (rc %d, %d records)", rc,
		   got.n);
		recs_clear(&got);
		recs_clear(&want);
	}
}

/* A recycled journal: the old file is renamed into place with a new
 * header, its old records are still on disk behind the new ones, and
 * replay must return only the new container's records. */
static void test_recycle(void)
{
	const char *old = path_of("r-old"), *nw = path_of("r-new");
	recs first = { 0 }, second = { 0 }, got;
	uint64_t tail;
	jnl *j = NULL;
	int rc;

	if (create1(&j, old, 41, NULL) != 0)
		tap_bail("create");
	for (int i = 0; i < 20; i++)
		stage(j, &first, 6000);
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	jnl_close(j);
	rc = create1(&j, nw, 42, old);
	ok(rc == 0 && !file_exists(old) && file_exists(nw),
	   "a spare is renamed into place as the new journal");
	if (rc != 0)
		return;
	/* The same three records the old file starts with: the new ones end
	 * exactly where the old fourth begins, whose CRC would pass but for
	 * the container id in it. */
	for (int i = 0; i < 3; i++) {
		const rec *r = &first.r[i];

		if (jnl_add(j, &r->fp, r->codec, r->raw_len, r->data,
			    r->stored_len, NULL) != 0)
			tap_bail("jnl_add");
		recs_push(&second, &r->fp, r->codec, r->raw_len, r->data,
			  r->stored_len);
	}
	rc = jnl_commit(j);
	jnl_close(j);
	rc = rc ? rc : replay(nw, 42, &got, &tail);
	ok(rc == 0 && last.whole && recs_equal(&got, &second, 0, 3),
	   "replay of a recycled journal gives only its own %d records, not "
	   "the old container's 20 behind them", got.n);
	recs_clear(&got);
	recs_clear(&first);
	recs_clear(&second);
}

/* ---- two copies ---- */

#define PAIR_CID 7

/* A log of n records in two copies a and b, committed in threes. */
static void make_pair(const char *a, const char *b, recs *want, long *ends,
		      int n)
{
	jnl_place pl[2] = { { a, NULL }, { b, NULL } };
	jnl *j = NULL;
	long off = LOG_HDR;

	memset(want, 0, sizeof(*want));
	if (jnl_create(&j, pl, 2, PAIR_CID, 0) != 0 || jnl_copies(j) != 2)
		tap_bail("jnl_create of a pair");
	for (int i = 0; i < n; i++) {
		off += (long)stage(j, want, 700);
		ends[i] = off;
		if (i % 3 == 2 && jnl_commit(j) != 0)
			tap_bail("commit");
	}
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	jnl_close(j);
}

static int same_bytes(const char *a, const char *b)
{
	void *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int same;

	if (fio_read_file(a, &x, &nx) != 0 || fio_read_file(b, &y, &ny) != 0)
		tap_bail("read %s or %s", a, b);
	same = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return same;
}

/* Replay the pair and expect every record of want back, from whichever
 * copy holds it, with nothing lost. */
static int pair_whole(const char *const *paths, const recs *want)
{
	recs got;
	uint64_t tail;
	int rc = replay_n(paths, 2, PAIR_CID, &got, &tail), good;

	good = rc == 0 && recs_equal(&got, want, 0, want->n) &&
	       last.lost_ranges == 0;
	recs_clear(&got);
	return good;
}

static void test_pair(void)
{
	enum { N = 12 };
	const char *paths[2] = { path_of("pa"), path_of("pb") };
	const char *missing[2] = { path_of("gone"), path_of("pb") };
	recs want, got;
	long ends[N], size;
	uint64_t tail;
	int rc, bad = 0, tried = 0;

	make_pair(paths[0], paths[1], &want, ends, N);
	ok(same_bytes(paths[0], paths[1]) &&
	   file_size(paths[0]) == ends[N - 1],
	   "both copies hold the same %ld bytes", ends[N - 1]);
	rc = replay_n(paths, 2, PAIR_CID, &got, &tail);
	ok(rc == 0 && recs_equal(&got, &want, 0, N) && last.whole &&
	   last.copies == 2 && !last.healed,
	   "an intact pair replays all %d records and is whole", N);
	recs_clear(&got);
	rc = replay_n(missing, 2, PAIR_CID, &got, &tail);
	ok(rc == 0 && recs_equal(&got, &want, 0, N) && !last.whole &&
	   last.copies == 1 && last.bad[0] == N,
	   "with the first copy gone, the second gives all %d records, and "
	   "the log is not whole", N);
	recs_clear(&got);

	/* Every byte of either copy, flipped in turn (the header's, every
	 * record header's, every data byte): nothing is lost. Replay writes
	 * nothing to a pair that is not whole, so each flip is undone in
	 * place. */
	size = file_size(paths[0]);
	for (int c = 0; c < 2; c++)
		for (long at = 0; at < size; at++) {
			flip_byte(paths[c], at);
			bad += !pair_whole(paths, &want) || last.whole;
			flip_byte(paths[c], at);
			tried++;
		}
	ok(bad == 0, "a byte flipped at any of the %d positions of either "
	   "copy loses nothing, and is reported (%d failed)", tried, bad);

	/* Different records damaged in each copy. */
	flip_byte(paths[0], ends[2] + 9);
	flip_byte(paths[1], ends[7] + REC_HDR);
	flip_byte(paths[0], 3);
	ok(pair_whole(paths, &want) && last.healed == 2 && last.bad[0] == 1 &&
	   last.bad[1] == 1 && last.bad_headers == 1,
	   "records damaged in one copy and others in the other: all are read "
	   "back (healed %u)", last.healed);
	flip_byte(paths[0], ends[2] + 9);
	flip_byte(paths[1], ends[7] + REC_HDR);
	flip_byte(paths[0], 3);

	/* The same record damaged in both copies: it alone is lost. */
	flip_byte(paths[0], ends[4] + 17);
	flip_byte(paths[1], ends[4] + REC_HDR - 2);
	rc = replay_n(paths, 2, PAIR_CID, &got, &tail);
	ok(rc == 0 && got.n == N - 1 && recs_same(&got, 0, &want, 0, 5) &&
	   recs_same(&got, 5, &want, 6, N - 6) && last.lost_ranges == 1 &&
	   last.lost_off == (uint64_t)ends[4] && !last.whole,
	   "record 6 damaged in both copies: it is reported lost, the %d "
	   "after it are kept", N - 6);
	recs_clear(&got);
	recs_clear(&want);
}

/* A copy that cannot be written is dropped; the log goes on. The first
 * copy failing breaks the log, and both copies end at the good tail. */
static void test_pair_faults(void)
{
	const char *paths[2] = { path_of("fa"), path_of("fb") };
	jnl_place pl[2] = { { paths[0], NULL }, { paths[1], NULL } };
	recs want = { 0 }, lost = { 0 }, got;
	uint64_t tail;
	jnl *j = NULL;
	long good_end;
	int rc;

	if (jnl_create(&j, pl, 2, PAIR_CID, 0) != 0)
		tap_bail("create");
	for (int i = 0; i < 4; i++)
		stage(j, &want, 900);
	fio_fault_arm(FIO_FAULT_EIO, 1, 0);	/* the second copy's write */
	rc = jnl_commit(j);
	fio_fault_clear();
	ok(rc == 0 && jnl_copies(j) == 1 && !file_exists(paths[1]) &&
	   !jnl_broken(j),
	   "a failed write of the second copy drops it (file removed), and "
	   "the commit succeeds on the first");
	for (int i = 0; i < 4; i++)
		stage(j, &want, 900);
	ok(jnl_commit(j) == 0, "the log goes on with one copy");
	jnl_close(j);
	rc = replay_n(paths, 2, PAIR_CID, &got, &tail);
	ok(rc == 0 && recs_equal(&got, &want, 0, 8) && !last.whole,
	   "replay gives all 8 records from the first copy");
	recs_clear(&got);
	recs_clear(&want);

	(void)unlink(paths[0]);
	if (jnl_create(&j, pl, 2, PAIR_CID, 0) != 0)
		tap_bail("create");
	for (int i = 0; i < 4; i++)
		stage(j, &want, 900);
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	good_end = file_size(paths[0]);
	for (int i = 0; i < 4; i++)
		stage(j, &lost, 900);
	fio_fault_arm(FIO_FAULT_EIO, 0, 0);	/* the first copy's write */
	rc = jnl_commit(j);
	fio_fault_clear();
	ok(rc == -EIO && jnl_broken(j) && file_size(paths[0]) == good_end &&
	   file_size(paths[1]) == good_end,
	   "a failed write of the first copy breaks the log, and both copies "
	   "are cut back to the last durable record");
	jnl_close(j);
	rc = replay_n(paths, 2, PAIR_CID, &got, &tail);
	ok(rc == 0 && recs_equal(&got, &want, 0, 4) && last.whole,
	   "replay gives the 4 durable records, and the pair is whole");
	recs_clear(&got);
	recs_clear(&want);
	recs_clear(&lost);
}

/* jnl_check reads a live log back: a damaged copy is found. */
static void test_check(void)
{
	const char *paths[2] = { path_of("ca"), path_of("cb") };
	jnl_place pl[2] = { { paths[0], NULL }, { paths[1], NULL } };
	recs want = { 0 };
	uint32_t recsn = 0;
	jnl *j = NULL;
	int damaged = -1;

	if (jnl_create(&j, pl, 2, PAIR_CID, 0) != 0)
		tap_bail("create");
	for (int i = 0; i < 9; i++)
		stage(j, &want, 2000);
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	for (int i = 0; i < 3; i++)
		stage(j, &want, 2000);	/* staged, not yet durable */
	ok(jnl_check(j, &damaged, &recsn) == 0 && damaged == 0 && recsn == 9,
	   "a sound pair checks clean: 9 durable records in each copy");
	flip_byte(paths[1], LOG_HDR + 60);
	ok(jnl_check(j, &damaged, &recsn) == 0 && damaged == 1,
	   "a byte flipped in the second copy is found");
	flip_byte(paths[1], LOG_HDR + 60);
	(void)unlink(paths[0]);
	ok(jnl_check(j, &damaged, &recsn) == 0 && damaged == 1,
	   "a copy gone is found");
	if (jnl_commit(j) != 0)
		tap_bail("commit");
	jnl_close(j);
	recs_clear(&want);
}

/* ---- O_DIRECT (the default outside this file's layout tests) ---- */

/* Many small commits, each rewriting the block that holds the tail, a
 * reopen in the middle of a block, and a crash in a padded write: replay
 * gives every committed record, whole records of the torn batch at most,
 * and the reopened journal appends after the right tail. */
static void test_direct(void)
{
	const char *p = path_of("jd");
	recs want = { 0 }, lost = { 0 }, got;
	uint64_t tail;
	jnl *j = NULL;
	int rc, good = 1;

	jnl_set_direct(1);
	if (create1(&j, p, 9, NULL) != 0)
		tap_bail("create");
	for (int c = 0; c < 40; c++) {
		for (int i = 0; i < 1 + c % 3; i++)
			stage(j, &want, c % 2 ? 300 : 9000);
		good &= jnl_commit(j) == 0;
	}
	jnl_close(j);
	ok(good, "40 small commits, each rewriting the tail's block");
	rc = replay(p, 9, &got, &tail);
	ok(rc == 0 && recs_equal(&got, &want, 0, want.n) &&
	   file_size(p) == (long)tail, "replay gives all %d records and cuts "
	   "the padding (tail %llu)", want.n, (unsigned long long)tail);
	recs_clear(&got);
	rc = reopen1(&j, p, 9, tail);
	if (rc)
		tap_bail("reopen: %s", ddterr_last(rc));
	for (int i = 0; i < 5; i++)
		stage(j, &want, 700);
	ok(jnl_commit(j) == 0, "reopened mid-block, it commits more");
	for (int i = 0; i < 8; i++)
		stage(j, &lost, 8000);
	ok(crash_commit(j), "a child dies in the middle of a padded write");
	rc = replay(p, 9, &got, &tail);
	ok(rc == 0 && got.n >= want.n && got.n <= want.n + lost.n &&
	   recs_same(&got, 0, &want, 0, want.n) &&
	   recs_same(&got, want.n, &lost, 0, got.n - want.n),
	   "replay gives every committed record, then %d whole ones of the "
	   "torn batch", got.n - want.n);
	recs_clear(&got);
	recs_clear(&want);
	recs_clear(&lost);
	jnl_set_direct(0);
}

int main(void)
{
	rnd_seed(0x10610610ABCull);
	dir = tap_tmpdir("journal");
	/* The layout tests below count bytes: through the page cache. */
	jnl_set_direct(0);
	test_round_trip();
	test_torn_tail();
	test_commit_faults();
	test_crash();
	test_bad_header();
	test_recycle();
	test_pair();
	test_pair_faults();
	test_check();
	test_direct();
	tap_rmtree(dir);
	free(dir);
	return tap_done();
}
