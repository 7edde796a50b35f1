/* ddtbench.c - throughput of each stage of the data path, measured on a real
 * corpus held in memory: chunking, SHA-256, the codecs, erasure coding, and
 * the segment store's ingest, duplicate lookup and restore paths.
 *
 * Every stage runs over the same bytes, so the rows can be compared with each
 * other and with the targets the issue set for a 2-core machine. Work that
 * only prepares a measurement (segmenting and compressing before a store
 * ingest, for instance) is done first and never timed. MB means 10^6 bytes.
 */
#include "benchstore.h"
#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "ec.h"
#include "fp.h"
#include "idx.h"
#include "now.h"
#include "path.h"
#include "segmenter.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB		1e6		/* reported rates are 10^6 bytes/s */
#define MIB		(1024u * 1024)
#define MAX_MB_DEFAULT	1024		/* MiB of corpus read into memory */
#define MAX_THREADS	64

#define PUT_BATCH	256		/* segments per store_put */
#define HAS_BATCH	1024		/* fingerprints per store_has */

#define EC_K		4
#define EC_M		2
#define EC_CTR		(4u * MIB)	/* container size cut into fragments */

/* The targets for a 2-core machine. */
#define TARGET_CHUNK_MBS	1000.0	/* per core */
#define TARGET_INGEST_MBS	400.0
#define TARGET_LOOKUPS		1e6

/* ---- timing ---------------------------------------------------------- */

/* Wall and CPU time (all threads, user + system) of one measurement; cores
 * is cpu / wall, so 2.0 means both cores were busy all along. */
struct span {
	double wall, cpu;
	double wall0, cpu0;
};

static double now_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void span_start(struct span *s)
{
	s->cpu0 = now_cpu();
	s->wall0 = now_mono_sec();
}

static void span_stop(struct span *s)
{
	s->wall = now_mono_sec() - s->wall0;
	s->cpu = now_cpu() - s->cpu0;
	if (s->wall <= 0)
		s->wall = 1e-9;
}

/* ---- the table ------------------------------------------------------- */

enum target_kind { TGT_NONE, TGT_MBS, TGT_OPS };

static void print_header(void)
{
	printf("%-36s %3s %9s %12s %5s  %-22s %s\n", "measurement", "thr",
	       "MB/s", "segs/s", "cores", "target", "notes");
}

/* One row: bytes and ops are what the span processed (0: no such rate);
 * the target, if any, applies to the MB/s or the ops/s column. */
static void print_row(const char *name, int threads, const struct span *s,
		      double bytes, double ops, enum target_kind kind,
		      double target, const char *note)
{
	char mbs[32] = "-", opss[32] = "-", tgt[48] = "";
	double mbs_v = bytes / MB / s->wall, ops_v = ops / s->wall;

	if (bytes > 0)
		snprintf(mbs, sizeof(mbs), "%.1f", mbs_v);
	if (ops > 0)
		snprintf(opss, sizeof(opss), "%.0f", ops_v);
	if (kind == TGT_MBS)
		snprintf(tgt, sizeof(tgt), ">= %.0f MB/s %s", target,
			 mbs_v >= target ? "ok" : "MISS");
	else if (kind == TGT_OPS)
		snprintf(tgt, sizeof(tgt), ">= %.1fM/s %s", target / 1e6,
			 ops_v >= target ? "ok" : "MISS");
	printf("%-36s %3d %9s %12s %5.2f  %-22s %s\n", name, threads, mbs,
	       opss, s->cpu / s->wall, tgt, note ? note : "");
	fflush(stdout);
}

/* ---- errors ---------------------------------------------------------- */

/* Put what was being done in front of this thread's last error message.
 * The message is copied first: ddterr_set() writes over the buffer that
 * ddterr_last() returns. */
static int fail(int rc, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
	return ddterr_set(rc, "%s: %s", what, msg);
}

/* ---- running a step on several threads ------------------------------- */

/* A step does its share t of nt (see split()) and returns 0 or -errno. */
typedef int (*par_fn)(void *ctx, int t, int nt);

struct par_arg {
	par_fn fn;
	void *ctx;
	int t, nt, rc;
	pthread_t th;
	char msg[512];		/* the error message, which is per thread */
};

static void *par_main(void *p)
{
	struct par_arg *a = p;

	ddterr_clear();
	a->rc = a->fn(a->ctx, a->t, a->nt);
	if (a->rc)
		snprintf(a->msg, sizeof(a->msg), "%s", ddterr_last(a->rc));
	return NULL;
}

/* Run fn on nt threads (the caller's is share 0) and return the first
 * error any of them met, with its message moved to the calling thread. */
static int par_run(int nt, par_fn fn, void *ctx)
{
	struct par_arg a[MAX_THREADS];
	int i, started, rc = 0;

	for (started = 1; started < nt; started++) {
		struct par_arg *x = &a[started];

		x->fn = fn;
		x->ctx = ctx;
		x->t = started;
		x->nt = nt;
		x->rc = 0;
		rc = -pthread_create(&x->th, NULL, par_main, x);
		if (rc)
			break;
	}
	if (rc) {
		rc = ddterr_set(rc, "cannot start a thread: %s", strerror(-rc));
	} else {
		ddterr_clear();
		rc = fn(ctx, 0, nt);
	}
	for (i = 1; i < started; i++) {
		pthread_join(a[i].th, NULL);
		if (rc == 0 && a[i].rc)
			rc = ddterr_set(a[i].rc, "%s", a[i].msg);
	}
	return rc;
}

/* Share t of nt of the range [0, n), contiguous so that each thread works
 * through its part in stream order, as a backup stream would. */
static void split(size_t n, int t, int nt, size_t *lo, size_t *hi)
{
	*lo = n * (size_t)t / (size_t)nt;
	*hi = n * (size_t)(t + 1) / (size_t)nt;
}

/* ---- the corpus ------------------------------------------------------ */

struct extent {
	size_t off, len;
};

struct corpus {
	uint8_t *buf;
	size_t len, cap, max;
	struct extent *files;
	size_t nfiles, files_cap;
	size_t skipped;		/* files or directories that failed */
};

static int corpus_reserve(struct corpus *co, size_t need)
{
	size_t cap = co->cap ? co->cap : 64u * MIB;
	uint8_t *p;

	if (need <= co->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > co->max)
		cap = co->max;
	p = realloc(co->buf, cap);
	if (!p)
		return -ENOMEM;
	co->buf = p;
	co->cap = cap;
	return 0;
}

static int corpus_add_extent(struct corpus *co, size_t off, size_t len)
{
	if (co->nfiles == co->files_cap) {
		size_t cap = co->files_cap ? co->files_cap * 2 : 1024;
		struct extent *f = realloc(co->files, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		co->files = f;
		co->files_cap = cap;
	}
	co->files[co->nfiles].off = off;
	co->files[co->nfiles].len = len;
	co->nfiles++;
	return 0;
}

/* Append the regular file at path, or as much of it as fits. A file that
 * cannot be read is counted and skipped: one unreadable file in a system
 * tree should not stop a benchmark. */
static int corpus_add_file(struct corpus *co, const char *path, off_t size)
{
	size_t want, got = 0;
	int fd, rc = 0;

	if (size <= 0 || co->len >= co->max)
		return 0;
	want = (size_t)size;
	if (want > co->max - co->len)
		want = co->max - co->len;
	rc = corpus_reserve(co, co->len + want);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		co->skipped++;
		return 0;
	}
	while (got < want) {
		ssize_t r = read(fd, co->buf + co->len + got, want - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			co->skipped++;
			got = 0;
			break;
		}
		if (r == 0)
			break;		/* shrank while we read it */
		got += (size_t)r;
	}
	close(fd);
	if (got == 0)
		return 0;
	rc = corpus_add_extent(co, co->len, got);
	if (rc == 0)
		co->len += got;
	return rc;
}

/* Walk path in name order, so that two runs read the same bytes in the same
 * order; symbolic links below the top are not followed. */
static int corpus_add_path(struct corpus *co, const char *path, int top)
{
	struct dirent **ents = NULL;
	struct stat st;
	int i, n, rc = 0;

	if ((top ? stat(path, &st) : lstat(path, &st)) != 0) {
		if (top)
			return ddterr_set(-errno, "%s: %s", path,
					  strerror(errno));
		co->skipped++;
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return corpus_add_file(co, path, st.st_size);
	if (!S_ISDIR(st.st_mode))
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		co->skipped++;
		return 0;
	}
	for (i = 0; i < n; i++) {
		char sub[PATH_MAX];
		const char *name = ents[i]->d_name;

		if (rc == 0 && co->len < co->max &&
		    strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			if (path_fmt(sub, sizeof(sub), "%s/%s", path, name) < 0)
				co->skipped++;
			else
				rc = corpus_add_path(co, sub, 0);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* ---- the benchmark's state ------------------------------------------- */

struct seg {
	size_t off;		/* in the corpus */
	uint32_t len;
};

struct bench {
	struct corpus co;
	cdc chunker;
	int codec;		/* for the store rows */
	/* The store's compression regions (--regions); codec -1: default. */
	int reg_codec, reg_level, reg_kb;
	int threads;		/* for the parallel rows; 1: none */
	const char *store_base;	/* a fresh store is made below it */
	int keep;

	struct seg *segs;	/* the corpus cut, in stream order */
	size_t nsegs;
	fp_t *fps;		/* their fingerprints */
	size_t *uniq;		/* indices of the first of each fingerprint */
	size_t nuniq;
	uint64_t uniq_bytes;

	store_seg *ssegs;	/* uniq, compressed with codec, for put */
	uint8_t *sarena;
	uint64_t stored_bytes;

	const fp_t *has_fps;	/* what the has rows look up */

	/* per-step results, one slot per thread */
	size_t count[MAX_THREADS];
	store_lock *lock;	/* the store as its owner holds it (store.h) */
	idx *ix;
	store *st;
};

/* ---- 1. chunking ----------------------------------------------------- */

/* Each share takes the files that start in its part of the corpus; share
 * 0 of 1 also records the segments for the later steps. */
static int chunk_fn(void *ctx, int t, int nt)
{
	struct bench *b = ctx;
	const struct corpus *co = &b->co;
	size_t lo, hi, f, n = 0;

	split(co->len, t, nt, &lo, &hi);
	for (f = 0; f < co->nfiles; f++) {
		const struct extent *e = &co->files[f];
		size_t off = 0;

		if (e->off < lo || e->off >= hi)
			continue;
		while (off < e->len) {
			size_t len = cdc_cut(&b->chunker, co->buf + e->off + off,
					     e->len - off);

			if (nt == 1) {
				b->segs[n].off = e->off + off;
				b->segs[n].len = (uint32_t)len;
			}
			off += len;
			n++;
		}
	}
	b->count[t] = n;
	return 0;
}

static int bench_chunk(struct bench *b)
{
	struct span s;
	size_t most = b->co.len / b->chunker.min + b->co.nfiles + 1;
	char note[96];
	int rc, nt;

	b->segs = malloc(most * sizeof(*b->segs));
	if (!b->segs)
		return -ENOMEM;
	span_start(&s);
	rc = par_run(1, chunk_fn, b);
	span_stop(&s);
	if (rc)
		return rc;
	b->nsegs = b->count[0];
	snprintf(note, sizeof(note), "avg segment %.0f B",
		 b->nsegs ? (double)b->co.len / b->nsegs : 0.0);
	print_row("chunking (cdc_cut)", 1, &s, b->co.len, b->nsegs, TGT_MBS,
		  TARGET_CHUNK_MBS, note);

	if (b->threads > 1) {
		nt = b->threads;
		span_start(&s);
		rc = par_run(nt, chunk_fn, b);
		span_stop(&s);
		if (rc)
			return rc;
		print_row("chunking (cdc_cut)", nt, &s, b->co.len, b->nsegs,
			  TGT_MBS, TARGET_CHUNK_MBS * nt, "target per core x thr");
	}
	return 0;
}

/* ---- 2. SHA-256 ------------------------------------------------------ */

static int sha_fn(void *ctx, int t, int nt)
{
	struct bench *b = ctx;
	size_t i, lo, hi;
	int rc;

	split(b->nsegs, t, nt, &lo, &hi);
	for (i = lo; i < hi; i++) {
		rc = fp_compute(&b->fps[i], b->co.buf + b->segs[i].off,
				b->segs[i].len);
		if (rc)
			return rc;
	}
	return 0;
}

static int bench_sha(struct bench *b)
{
	struct span s;
	int rc;

	b->fps = malloc((b->nsegs ? b->nsegs : 1) * sizeof(*b->fps));
	if (!b->fps)
		return -ENOMEM;
	span_start(&s);
	rc = par_run(1, sha_fn, b);
	span_stop(&s);
	if (rc)
		return rc;
	print_row("SHA-256 (fp_compute)", 1, &s, b->co.len, b->nsegs,
		  TGT_NONE, 0, NULL);
	if (b->threads > 1) {
		span_start(&s);
		rc = par_run(b->threads, sha_fn, b);
		span_stop(&s);
		if (rc)
			return rc;
		print_row("SHA-256 (fp_compute)", b->threads, &s, b->co.len,
			  b->nsegs, TGT_NONE, 0, NULL);
	}
	return 0;
}

/* ---- 3. compression -------------------------------------------------- */

/* Where one codec's pass keeps the compressed segments. */
struct codec_scratch {
	uint8_t *arena;		/* every segment, compressed, back to back */
	size_t *off;		/* of each in the arena */
	uint32_t *len;
	uint8_t *codec;		/* what codec_compress() chose */
	uint8_t *out;		/* one raw segment */
};

/* One codec over every segment: compress into one arena (so decompression
 * reads what compression wrote), then decompress each into one buffer. */
static int bench_codec(struct bench *b, int codec, struct codec_scratch *x)
{
	struct span s;
	size_t i, pos = 0, nraw = 0, len;
	char name[64], note[96];
	int rc, got;

	span_start(&s);
	for (i = 0; i < b->nsegs; i++) {
		const struct seg *g = &b->segs[i];

		rc = codec_compress(codec, b->co.buf + g->off, g->len,
				    x->arena + pos, codec_bound(g->len), &len,
				    &got);
		if (rc)
			return fail(rc, codec_name(codec));
		x->off[i] = pos;
		x->len[i] = (uint32_t)len;
		x->codec[i] = (uint8_t)got;
		pos += len;
	}
	span_stop(&s);
	for (i = 0; i < b->nsegs; i++)
		nraw += x->codec[i] == CODEC_NONE;
	snprintf(note, sizeof(note), "ratio %.2f, %.1f%% of segments kept raw",
		 pos ? (double)b->co.len / pos : 0.0,
		 b->nsegs ? 100.0 * nraw / b->nsegs : 0.0);
	snprintf(name, sizeof(name), "%s compress", codec_name(codec));
	print_row(name, 1, &s, b->co.len, b->nsegs, TGT_NONE, 0, note);

	span_start(&s);
	for (i = 0; i < b->nsegs; i++) {
		rc = codec_decompress(x->codec[i], x->arena + x->off[i],
				      x->len[i], x->out, b->segs[i].len);
		if (rc) {
			snprintf(name, sizeof(name), "%s decompress of "
				 "segment %zu", codec_name(codec), i);
			return fail(rc, name);
		}
	}
	span_stop(&s);
	snprintf(name, sizeof(name), "%s decompress", codec_name(codec));
	print_row(name, 1, &s, b->co.len, b->nsegs, TGT_NONE, 0,
		  "MB/s of raw output");
	return 0;
}

static int bench_codecs(struct bench *b)
{
	static const int codecs[] = { CODEC_LZ4, CODEC_ZSTD, CODEC_GZFAST };
	size_t i, n = b->nsegs ? b->nsegs : 1, asize = 0;
	struct codec_scratch x;
	int rc = 0;

	for (i = 0; i < b->nsegs; i++)
		asize += codec_bound(b->segs[i].len);
	x.arena = malloc(asize ? asize : 1);
	x.off = malloc(n * sizeof(*x.off));
	x.len = malloc(n * sizeof(*x.len));
	x.codec = malloc(n);
	x.out = malloc(CDC_MAX_LIMIT);
	if (!x.arena || !x.off || !x.len || !x.codec || !x.out) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		rc = bench_codec(b, codecs[i], &x);
		if (rc)
			goto out;
	}
out:
	free(x.arena);
	free(x.off);
	free(x.len);
	free(x.codec);
	free(x.out);
	return rc;
}

/* ---- 4. erasure coding ----------------------------------------------- */

/* The corpus, zero-padded to whole containers, is cut into k fragments per
 * container; encode computes the m parity fragments of each, and decode
 * rebuilds data fragments 0 and 1 of each from the other k. Both rates are
 * of container data (k fragments). */
static int bench_ec(struct bench *b)
{
	size_t frag = EC_CTR / EC_K, nctr, c;
	uint8_t *parity = NULL, *lost = NULL;
	uint8_t *fr[EC_K + EC_M];
	uint8_t present[EC_K + EC_M];
	struct span s;
	ec *e = NULL;
	int i, rc;

	nctr = (b->co.len + EC_CTR - 1) / EC_CTR;
	if (nctr == 0)
		return 0;
	rc = ec_new(&e, EC_K, EC_M);
	if (rc)
		return rc;
	parity = malloc(nctr * EC_M * frag);
	lost = malloc(2 * frag);
	if (!parity || !lost) {
		rc = -ENOMEM;
		goto out;
	}

	span_start(&s);
	for (c = 0; c < nctr; c++) {
		for (i = 0; i < EC_K; i++)
			fr[i] = b->co.buf + c * EC_CTR + i * frag;
		for (i = 0; i < EC_M; i++)
			fr[EC_K + i] = parity + (c * EC_M + i) * frag;
		rc = ec_encode(e, frag, fr, fr + EC_K);
		if (rc)
			goto out;
	}
	span_stop(&s);
	print_row("EC 4+2 encode (4 MiB containers)", 1, &s,
		  (double)nctr * EC_CTR, 0, TGT_NONE, 0,
		  "MB/s of container data");

	for (i = 0; i < EC_K + EC_M; i++)
		present[i] = i >= 2;
	span_start(&s);
	for (c = 0; c < nctr; c++) {
		fr[0] = lost;
		fr[1] = lost + frag;
		for (i = 2; i < EC_K; i++)
			fr[i] = b->co.buf + c * EC_CTR + i * frag;
		for (i = 0; i < EC_M; i++)
			fr[EC_K + i] = parity + (c * EC_M + i) * frag;
		rc = ec_reconstruct(e, frag, fr, present);
		if (rc)
			goto out;
	}
	span_stop(&s);
	/* lost holds the last container's rebuilt fragments 0 and 1. */
	if (memcmp(lost, b->co.buf + (nctr - 1) * EC_CTR, 2 * frag) != 0) {
		rc = ddterr_set(-EIO, "EC decode rebuilt wrong bytes");
		goto out;
	}
	print_row("EC 4+2 decode (2 data frags lost)", 1, &s,
		  (double)nctr * EC_CTR, 0, TGT_NONE, 0,
		  "MB/s of container data, verified");
out:
	free(parity);
	free(lost);
	ec_free(e);
	return rc;
}

/* ---- preparing the store rows (untimed) ------------------------------ */

/* The first segment of each distinct fingerprint, in stream order: the
 * corpus holds duplicates of its own (copies of one library, say), and the
 * ingest rows are to measure unique data. Open addressing over fp_hash64. */
static int find_unique(struct bench *b)
{
	size_t cap = 16, mask, i, j;
	size_t *slot;			/* index + 1; 0 is empty */

	while (cap < 2 * b->nsegs)
		cap *= 2;
	mask = cap - 1;
	slot = calloc(cap, sizeof(*slot));
	b->uniq = malloc((b->nsegs ? b->nsegs : 1) * sizeof(*b->uniq));
	if (!slot || !b->uniq) {
		free(slot);
		return -ENOMEM;
	}
	b->nuniq = 0;
	b->uniq_bytes = 0;
	for (i = 0; i < b->nsegs; i++) {
		for (j = fp_hash64(&b->fps[i]) & mask; slot[j];
		     j = (j + 1) & mask)
			if (fp_equal(&b->fps[slot[j] - 1], &b->fps[i]))
				break;
		if (slot[j])
			continue;
		slot[j] = i + 1;
		b->uniq[b->nuniq++] = i;
		b->uniq_bytes += b->segs[i].len;
	}
	free(slot);
	return 0;
}

/* Encode every unique segment as a writer would (segmenter_encode: fingerprint
 * and compress with the chosen codec) into the store_seg array the put rows
 * hand over in batches. */
static int prepare_segments(struct bench *b)
{
	size_t i, asize = 0, pos = 0, n = b->nuniq ? b->nuniq : 1;
	int rc;

	for (i = 0; i < b->nuniq; i++)
		asize += codec_bound(b->segs[b->uniq[i]].len);
	b->sarena = malloc(asize ? asize : 1);
	b->ssegs = calloc(n, sizeof(*b->ssegs));
	if (!b->sarena || !b->ssegs)
		return -ENOMEM;
	b->stored_bytes = 0;
	for (i = 0; i < b->nuniq; i++) {
		const struct seg *g = &b->segs[b->uniq[i]];
		store_seg *ss = &b->ssegs[i];
		size_t cap = codec_bound(g->len);

		rc = segmenter_encode(b->codec, b->co.buf + g->off, g->len,
				      &ss->fp, b->sarena + pos, cap,
				      &ss->stored_len, &ss->codec);
		if (rc)
			return fail(rc, "segmenter_encode");
		if (!fp_equal(&ss->fp, &b->fps[b->uniq[i]]))
			return ddterr_set(-EIO, "segmenter_encode and "
					  "fp_compute disagree on segment %zu",
					  i);
		ss->raw_len = g->len;
		ss->data = b->sarena + pos;
		pos += ss->stored_len;
		b->stored_bytes += ss->stored_len;
	}
	return 0;
}

/* ---- the store ------------------------------------------------------- */

static void remove_tree(const char *dir)
{
	int rc = benchstore_remove(dir);

	if (rc < 0)
		fprintf(stderr, "ddtbench: could not remove %s entirely: %s; "
			"remove it by hand\n", dir, strerror(-rc));
}

/* Close b's store, its index and its lock; store_close's error. */
static int close_store(struct bench *b)
{
	return benchstore_close(&b->lock, &b->ix, &b->st);
}

/* A fresh store in a new directory under the base, opened as its owner
 * does: the lock, the index, the store. *dir receives its path (PATH_MAX
 * bytes) so that the caller can remove it. */
static int open_fresh_store(struct bench *b, char *dir)
{
	store_config cfg;
	int rc;

	if (snprintf(dir, PATH_MAX, "%s/ddtbench.XXXXXX", b->store_base) >=
	    PATH_MAX)
		return ddterr_set(-ENAMETOOLONG, "store directory %s: name too "
				  "long", b->store_base);
	if (!mkdtemp(dir)) {
		rc = -errno;
		dir[0] = '\0';
		return ddterr_set(rc, "cannot make a store directory under "
				  "%s: %s; pick another with --store",
				  b->store_base, strerror(-rc));
	}
	store_config_default(&cfg, dir);
	if (b->reg_codec >= 0) {
		cfg.region_codec = b->reg_codec;
		cfg.region_level = b->reg_level;
		cfg.region_size = (uint32_t)b->reg_kb * 1024;
	}
	rc = benchstore_open(&cfg, &b->lock, &b->ix, &b->st);
	return rc < 0 ? fail(rc, "store_open") : 0;
}

static int put_fn(void *ctx, int t, int nt)
{
	struct bench *b = ctx;
	size_t nbatch = (b->nuniq + PUT_BATCH - 1) / PUT_BATCH;
	size_t lo, hi, i, nnew, total = 0;
	int rc;

	split(nbatch, t, nt, &lo, &hi);
	for (i = lo; i < hi; i++) {
		size_t first = i * PUT_BATCH;
		size_t n = b->nuniq - first < PUT_BATCH ? b->nuniq - first :
							  PUT_BATCH;

		rc = store_put(b->st, &b->ssegs[first], n, &nnew);
		if (rc)
			return fail(rc, "store_put");
		total += nnew;
	}
	b->count[t] = total;
	return 0;
}

/* Put every unique segment on nt threads, flush included; expect_new says
 * whether they should all be new (first pass) or all present. */
static int run_put(struct bench *b, int nt, int expect_new, struct span *s,
		   char *note, size_t note_len)
{
	size_t nnew = 0;
	int i, rc;

	span_start(s);
	rc = par_run(nt, put_fn, b);
	if (rc == 0 && expect_new) {
		rc = store_flush(b->st);
		if (rc)
			rc = fail(rc, "store_flush");
	}
	span_stop(s);
	if (rc)
		return rc;
	for (i = 0; i < nt; i++)
		nnew += b->count[i];
	if (expect_new)
		snprintf(note, note_len, "stored %.1f MB/s%s",
			 b->stored_bytes / MB / s->wall,
			 nnew == b->nuniq ? "" : "; NOT ALL NEW");
	else
		snprintf(note, note_len, "%s", nnew == 0 ?
			 "lookups only: dups are not re-hashed" : "SOME STORED AGAIN");
	return 0;
}

static int has_fn(void *ctx, int t, int nt)
{
	struct bench *b = ctx;
	const fp_t *fps = b->has_fps;
	uint8_t present[HAS_BATCH];
	size_t nbatch = (b->nuniq + HAS_BATCH - 1) / HAS_BATCH;
	size_t lo, hi, i, j, hits = 0;
	int rc;

	split(nbatch, t, nt, &lo, &hi);
	for (i = lo; i < hi; i++) {
		size_t first = i * HAS_BATCH;
		size_t n = b->nuniq - first < HAS_BATCH ? b->nuniq - first :
							  HAS_BATCH;

		rc = store_has(b->st, &fps[first], n, present);
		if (rc)
			return fail(rc, "store_has");
		for (j = 0; j < n; j++)
			hits += present[j];
	}
	b->count[t] = hits;
	return 0;
}

static int read_fn(void *ctx, int t, int nt)
{
	struct bench *b = ctx;
	size_t lo, hi, i, len;
	uint8_t *buf;
	int rc = 0;

	buf = malloc(CDC_MAX_LIMIT);
	if (!buf)
		return -ENOMEM;
	split(b->nsegs, t, nt, &lo, &hi);
	for (i = lo; i < hi; i++) {
		rc = store_read(b->st, &b->fps[i], buf, CDC_MAX_LIMIT, &len);
		if (rc) {
			rc = fail(rc, "store_read");
			break;
		}
		if (len != b->segs[i].len) {
			rc = ddterr_set(-EIO, "store_read of segment %zu: %zu "
					"bytes, not %u", i, len,
					b->segs[i].len);
			break;
		}
	}
	free(buf);
	return rc;
}

/* The store's own figures. Its logical bytes count every put, so after
 * the ingest and npasses - 1 duplicate passes the dedup ratio is npasses;
 * the corpus's own duplication is on the "-- store rows" line. */
static void print_stats(store *st, int npasses)
{
	store_stats ss;
	int rc;

	rc = store_get_stats(st, &ss);
	if (rc) {
		printf("store_get_stats: %s\n", ddterr_last(rc));
		return;
	}
	printf("\nstore_get_stats (logical counts all %d puts of the unique "
	       "data):\n", npasses);
	printf("  logical  %14llu B  (%.1f MB)\n",
	       (unsigned long long)ss.logical_bytes, ss.logical_bytes / MB);
	printf("  raw      %14llu B  (%.1f MB)  dedup ratio %.2f\n",
	       (unsigned long long)ss.raw_bytes, ss.raw_bytes / MB,
	       ss.raw_bytes ? (double)ss.logical_bytes / ss.raw_bytes : 0.0);
	printf("  stored   %14llu B  (%.1f MB)  compression %.2f\n",
	       (unsigned long long)ss.stored_bytes, ss.stored_bytes / MB,
	       ss.stored_bytes ? (double)ss.raw_bytes / ss.stored_bytes : 0.0);
	printf("  physical %14llu B  (%.1f MB)  x%.2f of stored (parity)\n",
	       (unsigned long long)ss.physical_bytes, ss.physical_bytes / MB,
	       ss.stored_bytes ? (double)ss.physical_bytes / ss.stored_bytes :
				 0.0);
	printf("  segments %llu, containers %llu (+%llu segments open)\n",
	       (unsigned long long)ss.segments,
	       (unsigned long long)ss.containers,
	       (unsigned long long)ss.open_segments);
	printf("  lookups: index %llu, bloom negatives %llu, cache hits %llu; "
	       "fragments rebuilt %llu\n\n",
	       (unsigned long long)ss.index_lookups,
	       (unsigned long long)ss.bloom_negatives,
	       (unsigned long long)ss.cache_hits,
	       (unsigned long long)ss.fragments_rebuilt);
	fflush(stdout);
}

/* Fingerprints of data the store has never seen: the SHA-256 of a counter
 * and a salt, as uniform as real new fingerprints (a tweak of a stored one
 * would not be: the Bloom filter reads only some of the digest's bytes). */
static int make_new_fps(fp_t *fps, size_t n)
{
	uint64_t v[2] = { 0x64647462656e6368ull, 0 };	/* "ddtbench" */
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		v[1] = i;
		rc = fp_compute(&fps[i], v, sizeof(v));
		if (rc)
			return fail(rc, "fp_compute");
	}
	return 0;
}

/* The has rows: the fingerprints of the unique segments, all present, then
 * as many new ones (the Bloom filter's case), each laid out as one array in
 * fps as a writer would send them. The note of the second row says how many
 * the Bloom filter let through to the index. */
static int bench_has(struct bench *b, int nt, fp_t *fps)
{
	store_stats st0, st1;
	size_t i, hits = 0;
	struct span s;
	char note[96];
	int rc = 0, t, pass;

	b->has_fps = fps;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			for (i = 0; i < b->nuniq; i++)
				fps[i] = b->ssegs[i].fp;
		} else {
			rc = make_new_fps(fps, b->nuniq);
			if (rc)
				break;
		}
		rc = store_get_stats(b->st, &st0);
		if (rc)
			break;
		span_start(&s);
		rc = par_run(nt, has_fn, b);
		span_stop(&s);
		if (rc == 0)
			rc = store_get_stats(b->st, &st1);
		if (rc)
			break;
		for (hits = 0, t = 0; t < nt; t++)
			hits += b->count[t];
		if (pass == 0)
			snprintf(note, sizeof(note), "%s",
				 hits == b->nuniq ? "all present" :
				 "SOME MISSING");
		else
			snprintf(note, sizeof(note), "%llu reached the index%s",
				 (unsigned long long)(st1.index_lookups -
						      st0.index_lookups),
				 hits ? "; SOME FOUND" : "");
		print_row(pass ? "store_has, new fps (x1024)" :
				 "store_has, duplicates (x1024)", nt, &s, 0,
			  b->nuniq, pass ? TGT_NONE : TGT_OPS, TARGET_LOOKUPS,
			  note);
	}
	return rc;
}

/* Rows 5-7 on one store: unique ingest, duplicate put, has, restore read;
 * then, if asked for, unique ingest on several threads into a second store. */
static int bench_store(struct bench *b)
{
	char dir[PATH_MAX] = "", note[96];
	struct span s;
	fp_t *fps = NULL;
	int rc, nt, i;
	int nts[2] = { 1, b->threads };
	int nrun = b->threads > 1 ? 2 : 1;

	rc = open_fresh_store(b, dir);
	if (rc)
		goto out;
	rc = run_put(b, 1, 1, &s, note, sizeof(note));
	if (rc)
		goto out;
	print_row("store ingest, unique (x256 + flush)", 1, &s,
		  b->uniq_bytes, b->nuniq, TGT_MBS, TARGET_INGEST_MBS, note);
	for (i = 0; i < nrun; i++) {
		nt = nts[i];
		rc = run_put(b, nt, 0, &s, note, sizeof(note));
		if (rc)
			goto out;
		print_row("store_put, all duplicates (x256)", nt, &s,
			  b->uniq_bytes, b->nuniq, TGT_OPS, TARGET_LOOKUPS,
			  note);
	}
	fps = malloc((b->nuniq ? b->nuniq : 1) * sizeof(*fps));
	if (!fps) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nrun; i++) {
		rc = bench_has(b, nts[i], fps);
		if (rc)
			goto out;
	}
	for (i = 0; i < nrun; i++) {
		span_start(&s);
		rc = par_run(nts[i], read_fn, b);
		span_stop(&s);
		if (rc)
			goto out;
		print_row("restore (store_read, stream order)", nts[i], &s,
			  b->co.len, b->nsegs, TGT_NONE, 0,
			  "all segments incl. dups");
	}
	print_stats(b->st, 1 + nrun);
	rc = close_store(b);
	if (rc) {
		rc = fail(rc, "store_close");
		goto out;
	}
	if (!b->keep)
		remove_tree(dir);
	dir[0] = '\0';

	if (b->threads > 1) {
		rc = open_fresh_store(b, dir);
		if (rc)
			goto out;
		rc = run_put(b, b->threads, 1, &s, note, sizeof(note));
		if (rc)
			goto out;
		print_row("store ingest, unique (x256 + flush)", b->threads,
			  &s, b->uniq_bytes, b->nuniq, TGT_MBS,
			  TARGET_INGEST_MBS, note);
	}
out:
	if (b->lock) {
		int rc2 = close_store(b);

		if (rc == 0 && rc2)
			rc = fail(rc2, "store_close");
	}
	if (dir[0] && b->keep)
		fprintf(stderr, "ddtbench: kept the store in %s\n", dir);
	else if (dir[0])
		remove_tree(dir);
	free(fps);
	return rc;
}

/* ---- main ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: ddtbench [OPTIONS] PATH...\n"
"\n"
"Reads the regular files under each PATH (recursively, in name order,\n"
"symbolic links below PATH not followed) into memory, then measures each\n"
"stage of the ddtarget data path on those bytes and prints one row each:\n"
"chunking, SHA-256, the codecs (lz4, zstd, gzfast), erasure coding 4+2 on\n"
"4 MiB containers, and a fresh segment store: ingest of the unique\n"
"segments (pre-segmented and compressed, untimed), the same again as\n"
"duplicates, store_has lookups, and a restore of every segment in stream\n"
"order. Rates are in MB/s with MB = 10^6 bytes; 'cores' is CPU time over\n"
"wall time. Targets (2-core machine) are printed beside the results.\n"
"\n"
"  --store DIR    make the temporary store under DIR (default /var/tmp);\n"
"                 it is removed at the end\n"
"  --keep         keep the temporary store instead of removing it\n"
"  --codec NAME   codec for the store rows: lz4 (default), zstd, gzfast\n"
"  --max-mb N     read at most N MiB of files (default %d)\n"
"  --regions CODEC[:LEVEL[:KB]]  the store's compression regions: none,\n"
"                 or a codec, its level and the region's raw KiB\n"
"                 (default zstd:1:256)\n"
"  --threads N    threads for the parallel rows (default: online CPUs;\n"
"                 1 skips them)\n"
"  -h, --help     show this text\n",
		MAX_MB_DEFAULT);
}

/* --regions CODEC[:LEVEL[:KB]] */
static int parse_regions(struct bench *b, const char *arg)
{
	char name[16];
	int n, level = STORE_REGION_LEVEL_DEFAULT;
	int kb = (int)(STORE_REGION_SIZE_DEFAULT / 1024);

	n = sscanf(arg, "%15[a-z0-9]:%d:%d", name, &level, &kb);
	b->reg_codec = n >= 1 ? codec_from_name(name) : -1;
	if (b->reg_codec < 0 || kb < 4 || kb > 1024) {
		fprintf(stderr, "ddtbench: --regions '%s': want CODEC[:LEVEL"
			"[:KB]], such as zstd:1:256 or none\n", arg);
		return -1;
	}
	b->reg_level = level;
	b->reg_kb = kb;
	return 0;
}

static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "keep", no_argument, NULL, 'k' },
		{ "codec", required_argument, NULL, 'c' },
		{ "max-mb", required_argument, NULL, 'm' },
		{ "regions", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long long mb = MAX_MB_DEFAULT;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char *end;
	int c;

	b->codec = CODEC_LZ4;
	b->reg_codec = -1;
	b->store_base = "/var/tmp";
	b->threads = cpus > 1 ? (cpus < MAX_THREADS ? (int)cpus : MAX_THREADS)
			      : 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			b->store_base = optarg;
			break;
		case 'k':
			b->keep = 1;
			break;
		case 'c':
			b->codec = codec_from_name(optarg);
			if (b->codec <= CODEC_NONE) {
				fprintf(stderr, "ddtbench: unknown codec '%s'; "
					"use lz4, zstd or gzfast\n", optarg);
				return 2;
			}
			break;
		case 'm':
			errno = 0;
			mb = strtoull(optarg, &end, 10);
			if (errno || *end || mb == 0 ||
			    mb > SIZE_MAX / MIB - EC_CTR / MIB) {
				fprintf(stderr, "ddtbench: --max-mb '%s' is not "
					"a size in MiB\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_regions(b, optarg) < 0)
				return 2;
			break;
		case 't':
			c = atoi(optarg);
			if (c < 1 || c > MAX_THREADS) {
				fprintf(stderr, "ddtbench: --threads must be 1 to "
					"%d\n", MAX_THREADS);
				return 2;
			}
			b->threads = c;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	b->co.max = (size_t)mb * MIB;
	return 0;
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown CPU";
	double load[1];
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	printf("machine: %s, %ld online CPUs\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN));
	/* Other work on the machine skews every row, the threaded ones most. */
	if (getloadavg(load, 1) == 1)
		printf("load average (1 min) at start: %.2f%s\n", load[0],
		       load[0] >= 0.5 ? "  (the machine is not idle: "
		       "rates will be low)" : "");
}

/* Load the corpus and pad it with zeros to whole EC containers. */
static int load(struct bench *b, int argc, char **argv)
{
	size_t padded;
	uint8_t *p;
	int i, rc;

	for (i = optind; i < argc && b->co.len < b->co.max; i++) {
		rc = corpus_add_path(&b->co, argv[i], 1);
		if (rc)
			return rc;
	}
	if (b->co.len == 0)
		return ddterr_set(-ENOENT, "no readable regular files under the "
				  "given paths");
	padded = (b->co.len + EC_CTR - 1) / EC_CTR * EC_CTR;
	p = realloc(b->co.buf, padded);
	if (!p)
		return -ENOMEM;
	memset(p + b->co.len, 0, padded - b->co.len);
	b->co.buf = p;
	b->co.cap = padded;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	struct span s;
	int rc;

	memset(&b, 0, sizeof(b));
	rc = parse_args(&b, argc, argv);
	if (rc)
		return rc == 1 ? 0 : rc;
	rc = cdc_init(&b.chunker, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT,
		      CDC_MAX_DEFAULT);
	if (rc)
		goto out;

	span_start(&s);
	rc = load(&b, argc, argv);
	if (rc)
		goto out;
	span_stop(&s);
	print_machine();
	printf("corpus: %.1f MB in %zu files (read in %.1f s%s), "
	       "MB = 10^6 bytes\n", b.co.len / MB, b.co.nfiles, s.wall,
	       b.co.len >= b.co.max ? ", --max-mb reached" : "");
	if (b.co.skipped)
		printf("corpus: %zu unreadable files or directories skipped\n",
		       b.co.skipped);
	printf("\n");
	print_header();

	rc = bench_chunk(&b);
	if (rc == 0)
		rc = bench_sha(&b);
	if (rc == 0)
		rc = bench_codecs(&b);
	if (rc == 0)
		rc = bench_ec(&b);
	if (rc == 0)
		rc = find_unique(&b);
	if (rc == 0)
		rc = prepare_segments(&b);
	if (rc)
		goto out;
	printf("-- store rows: %zu of %zu segments unique (%.1f of %.1f MB), "
	       "codec %s, ratio %.2f\n", b.nuniq, b.nsegs,
	       b.uniq_bytes / MB, b.co.len / MB, codec_name(b.codec),
	       b.stored_bytes ? (double)b.uniq_bytes / b.stored_bytes : 0.0);
	fflush(stdout);
	rc = bench_store(&b);
out:
	if (rc)
		fprintf(stderr, "ddtbench: %s\n", ddterr_last(rc));
	free(b.co.buf);
	free(b.co.files);
	free(b.segs);
	free(b.fps);
	free(b.uniq);
	free(b.ssegs);
	free(b.sarena);
	return rc ? 1 : 0;
}
