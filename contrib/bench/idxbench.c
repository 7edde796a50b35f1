/* idxbench.c - the fingerprint index at the scale of 1 TB of logical data,
 * simulated: a real store's index filled with synthetic fingerprints, then
 * duplicate and new lookups through store_has(), the call FP_QUERY makes.
 *
 * Nothing is reimplemented: the fill writes sealed container records of
 * --per-ctr fingerprints each, in stream order, through idx_seal() with the
 * counters the sealer writes beside them ("next_cid", "stats"), but without
 * segment data (no fragments exist; lookups never read them). The store is
 * then reopened as the daemon reopens it, so its Bloom filter is sized
 * (twice the indexed count) and filled from the index by store_open()
 * itself. The lookup cases are the issue's: a second backup of the same
 * stream (the locality cache serves it), random order (RocksDB Gets, the
 * worst case for duplicates), and new fingerprints (the Bloom filter says
 * no). The fingerprints are pseudo-random 32-byte strings, uniform as
 * SHA-256 digests are. Memory is the process's own (VmRSS, VmHWM) beside
 * what each part holds. The filter sizes come from the store's internals
 * (store_int.h): a benchmark may look, nothing else does. */
#include "benchstore.h"
#include "codec.h"
#include "ddterr.h"
#include "fp.h"
#include "idx.h"
#include "now.h"
#include "path.h"
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#define MIB		(1024.0 * 1024)
#define SEG_RAW_AVG	8192u		/* 8 KiB average segments */
#define PER_CTR_DEFAULT	1000u
#define BATCH_DEFAULT	512u		/* a client's 4 MiB batch of 8 KiB */
#define SECONDS_DEFAULT	5.0
#define MAX_THREADS	2
#define TARGET_LOOKUPS	1e6		/* issue 16: >= 1 M duplicates/s */
#define TARGET_RAM_MIB	2048.0		/* issue 16: index RAM <= 2 GiB */
#define FILL_REPORT	(1u << 24)	/* fingerprints between progress lines */

typedef struct bench {
	char dir[PATH_MAX];
	const char *base;
	uint64_t nfp;			/* unique fingerprints indexed */
	uint32_t per_ctr, batch;
	double seconds;
	int keep, reuse;
	int only;			/* a case, or -1: all */
	uint64_t cid0;			/* the first container's id */
	store_lock *lock;
	idx *ix;
	store *st;
} bench;

/* ---- synthetic fingerprints ---- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Segment u of stream `seed`: 32 uniform bytes, the same for the same
 * (seed, u). Seed 0 is what the index holds; seed 1 is never stored. */
static void fp_of(uint64_t seed, uint64_t u, fp_t *fp)
{
	for (int i = 0; i < 4; i++)
		put_le64(fp->b + 8 * i,
			 splitmix64((seed << 62) ^ (u * 4 + (uint64_t)i)));
}

/* A raw length around the 8 KiB average (4-12 KiB), stored at half. */
static uint32_t raw_len_of(uint64_t u)
{
	return SEG_RAW_AVG / 2 + (uint32_t)(splitmix64(~u) % SEG_RAW_AVG);
}

/* ---- memory ---- */

/* A "VmRSS:"-style line of /proc/self/status, in MiB (-1: unknown). */
static double proc_status_mib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kl = strlen(key);
	double kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			kib = strtod(line + kl + 1, NULL);
			break;
		}
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

static void print_memory(bench *b, const char *when)
{
	idx_mem m;
	double bl = 0, told = 0;
	size_t fps;

	idx_mem_figures(b->ix, &m);
	pthread_mutex_lock(&b->st->lock);
	bl = (double)bloom_bytes(b->st->bl) / MIB;
	if (b->st->gc.told)
		told = (double)bloom_bytes(b->st->gc.told) / MIB;
	fps = fpcache_fingerprints(b->st->fc);
	pthread_mutex_unlock(&b->st->lock);
	printf("memory %s: VmRSS %.0f MiB, VmHWM %.0f MiB; Bloom %.0f MiB + "
	       "told %.0f MiB; block cache %.0f of %.0f MiB (pinned %.0f); "
	       "memtables %.1f MiB; table readers %.1f MiB; locality cache "
	       "%zu fingerprints\n", when, proc_status_mib("VmRSS"),
	       proc_status_mib("VmHWM"), bl, told, m.cache_usage / MIB,
	       m.cache_capacity / MIB, m.cache_pinned / MIB,
	       m.memtables / MIB, m.table_readers / MIB, fps);
}

/* ---- the store ---- */

static int fail(int rc, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
	return ddterr_set(rc, "%s: %s", what, msg);
}

/* Open the store at b->dir as its owner does: lock, index, store. */
static int open_store(bench *b)
{
	store_config cfg;
	int rc;

	store_config_default(&cfg, b->dir);
	rc = benchstore_open(&cfg, &b->lock, &b->ix, &b->st);
	return rc < 0 ? fail(rc, "open the store") : 0;
}

static int close_store(bench *b)
{
	return benchstore_close(&b->lock, &b->ix, &b->st);
}

/* ---- the fill ---- */

/* Container number c's directory, in stream order. */
static void make_dir(bench *b, uint64_t c, ctr_entry *ents, idx_ctr *rec)
{
	uint32_t off = 0;

	memset(rec, 0, sizeof(*rec));
	rec->cid = b->cid0 + c;
	rec->k = 1;
	rec->m = 0;
	rec->nseg = b->per_ctr;
	rec->ents = ents;
	for (uint32_t i = 0; i < b->per_ctr; i++) {
		uint64_t u = c * b->per_ctr + i;
		ctr_entry *e = &ents[i];

		memset(e, 0, sizeof(*e));
		fp_of(0, u, &e->fp);
		e->raw_len = raw_len_of(u);
		e->stored_len = e->raw_len / 2;
		e->codec = CODEC_LZ4;
		e->off = off;
		off += e->stored_len;
		rec->raw_bytes += e->raw_len;
	}
	rec->data_len = off;
	rec->stored_bytes = off;
	rec->container_len = off + (uint32_t)ctr_dir_len(b->per_ctr);
	rec->frag_len = rec->container_len;
}

/* Seal container c as the sealer does: its record, its fingerprints and
 * the store-wide counters after it, in one idx_seal. */
static int seal_one(bench *b, uint64_t c, ctr_entry *ents, sums *sum)
{
	static const char *const names[2] = { "next_cid", "stats" };
	uint8_t cidbuf[8], statbuf[8 * STATS_WORDS];
	const void *vals[2] = { cidbuf, statbuf };
	const size_t lens[2] = { sizeof(cidbuf), sizeof(statbuf) };
	idx_ctr rec;

	make_dir(b, c, ents, &rec);
	sum->logical += rec.raw_bytes;
	sum->raw += rec.raw_bytes;
	sum->stored += rec.stored_bytes;
	sum->physical += rec.frag_len;
	sum->segments += rec.nseg;
	sum->containers++;
	put_le64(cidbuf, rec.cid + 1);
	store_sums_encode(sum, statbuf);
	return idx_seal(b->ix, &rec, 2, names, vals, lens);
}

/* Bytes of the files under dir (the index on disk). */
static uint64_t du_total;

static int du_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_total += (uint64_t)st->st_blocks * 512;
	return 0;
}

static double dir_mib(const char *dir)
{
	du_total = 0;
	if (nftw(dir, du_entry, 16, FTW_PHYS) != 0)
		return -1;
	return du_total / MIB;
}

/* A fresh store is created and closed (its geometry recorded), then its
 * index is filled container by container while no store is open on it:
 * what a daemon finds when it restarts on a full store. */
static int fill(bench *b)
{
	uint64_t nctr = (b->nfp + b->per_ctr - 1) / b->per_ctr;
	ctr_entry *ents = malloc(b->per_ctr * sizeof(*ents));
	double t0 = now_mono_sec();
	sums sum = { 0 };
	uint8_t buf[8];
	int rc;

	if (!ents)
		return -ENOMEM;
	rc = open_store(b);
	if (rc == 0) {
		store_close(b->st);
		b->st = NULL;
		rc = idx_get_value(b->ix, "next_cid", buf, sizeof(buf));
		b->cid0 = rc == 0 ? get_le64(buf) : 1;
		rc = rc == -ENOENT ? 0 : rc;
	}
	for (uint64_t c = 0; rc == 0 && c < nctr; c++) {
		rc = seal_one(b, c, ents, &sum);
		if (((c + 1) * b->per_ctr) % FILL_REPORT < b->per_ctr)
			fprintf(stderr, "idxbench: %" PRIu64 " M fingerprints "
				"indexed, %.0f s\n", (c + 1) * b->per_ctr >> 20,
				now_mono_sec() - t0);
	}
	if (rc == 0)
		rc = idx_sync(b->ix);
	free(ents);
	b->nfp = nctr * b->per_ctr;
	if (rc < 0)
		return fail(rc, "fill");
	printf("fill: %" PRIu64 " fingerprints in %" PRIu64 " containers, "
	       "%.1f s, %.0f fingerprints/s (idx_seal); VmHWM %.0f MiB\n",
	       b->nfp, nctr, now_mono_sec() - t0,
	       b->nfp / (now_mono_sec() - t0), proc_status_mib("VmHWM"));
	return 0;
}

/* ---- lookups ---- */

enum lcase { CASE_STREAM, CASE_RANDOM, CASE_NEW, CASE_GET, CASE_COUNT };

/* The last is not a path the daemon takes: the RocksDB Get alone
 * (idx_get_fp, no lock, no locality cache), what random duplicates would
 * cost without the container prefetch. */
static const char *const case_names[CASE_COUNT] = {
	"duplicates, stream order", "duplicates, random order",
	"new fingerprints", "random, idx_get_fp alone",
};

typedef struct worker {
	bench *b;
	enum lcase kind;
	int t, nt;
	double deadline;
	uint64_t done, wrong;
	double cpu;			/* the thread's CPU seconds */
	int rc;
	pthread_t th;
} worker;

/* The u of the i-th fingerprint a worker asks for: its own stretch of the
 * stream (two threads: two backups of different halves), a random
 * indexed one, or a random one never stored. */
static uint64_t next_u(worker *w, uint64_t i, uint64_t *rng)
{
	uint64_t n = w->b->nfp;

	if (w->kind == CASE_STREAM)
		return (n / (uint64_t)w->nt * (uint64_t)w->t + i) % n;
	*rng = splitmix64(*rng);
	return w->kind == CASE_NEW ? *rng : *rng % n;
}

/* A batch through store_has, or (CASE_GET) each through idx_get_fp. */
static int ask(worker *w, const fp_t *fps, uint32_t n, uint8_t *present)
{
	uint64_t cid;
	uint32_t slot;
	int rc = 0;

	if (w->kind != CASE_GET)
		return store_has(w->b->st, fps, n, present);
	for (uint32_t j = 0; rc >= 0 && j < n; j++) {
		rc = idx_get_fp(w->b->ix, &fps[j], &cid, &slot);
		present[j] = rc == 1;
	}
	return rc < 0 ? rc : 0;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker_run(void *arg)
{
	worker *w = arg;
	uint32_t nb = w->b->batch;
	fp_t *fps = malloc(nb * sizeof(*fps));
	uint8_t *present = malloc(nb), expect = w->kind != CASE_NEW;
	uint64_t rng = (uint64_t)w->t * 7919 + (uint64_t)w->kind, i = 0;
	double cpu0 = thread_cpu();

	if (!fps || !present) {
		w->rc = -ENOMEM;
		goto out;
	}
	while (now_mono_sec() < w->deadline) {
		for (uint32_t j = 0; j < nb; j++, i++)
			fp_of(w->kind == CASE_NEW, next_u(w, i, &rng), &fps[j]);
		w->rc = ask(w, fps, nb, present);
		if (w->rc < 0)
			break;
		for (uint32_t j = 0; j < nb; j++)
			w->wrong += present[j] != expect;
		w->done += nb;
	}
out:
	w->cpu = thread_cpu() - cpu0;
	free(fps);
	free(present);
	return NULL;
}

/* One case on nt threads for b->seconds: its rate, and where the
 * answers came from (the store's counters before and after). */
static int run_case(bench *b, enum lcase kind, int nt)
{
	worker w[MAX_THREADS];
	store_stats s0, s1;
	uint64_t done = 0, wrong = 0, asked;
	double t0, dt, cpu = 0;
	int rc = 0;

	store_get_stats(b->st, &s0);
	t0 = now_mono_sec();
	for (int t = 0; t < nt; t++) {
		w[t] = (worker){ .b = b, .kind = kind, .t = t, .nt = nt,
				 .deadline = t0 + b->seconds };
		if (pthread_create(&w[t].th, NULL, worker_run, &w[t]) != 0)
			return ddterr_set(-EAGAIN, "cannot start a thread");
	}
	for (int t = 0; t < nt; t++) {
		pthread_join(w[t].th, NULL);
		done += w[t].done;
		wrong += w[t].wrong;
		cpu += w[t].cpu;
		if (w[t].rc < 0 && rc == 0)
			rc = w[t].rc;
	}
	dt = now_mono_sec() - t0;
	store_get_stats(b->st, &s1);
	if (rc < 0)
		return fail(rc, "store_has");
	asked = done ? done : 1;
	cpu = cpu > 0 ? cpu : 1e-9;
	printf("%-26s %3d %10.0f %10.0f %6.1f%% %6.1f%% %6.1f%%  %s\n",
	       case_names[kind], nt, done / dt, done / cpu,
	       100.0 * (s1.cache_hits - s0.cache_hits) / asked,
	       100.0 * (s1.bloom_negatives - s0.bloom_negatives) / asked,
	       100.0 * (s1.index_lookups - s0.index_lookups) / asked,
	       kind == CASE_NEW || kind == CASE_GET ? "-" :
	       done / cpu >= TARGET_LOOKUPS ? ">= 1 M per CPU-s ok" :
	       ">= 1 M per CPU-s MISS");
	if (wrong)
		return ddterr_set(-EIO, "%s: %" PRIu64 " of %" PRIu64 " answers "
				  "wrong", case_names[kind], wrong, done);
	return 0;
}

static int run_lookups(bench *b)
{
	double load[1];
	int rc = 0;

	/* Other work on the machine lowers the wall rates; the rates per
	 * CPU second of the lookup threads much less. */
	if (getloadavg(load, 1) == 1)
		printf("load average (1 min) before the lookups: %.2f%s\n",
		       load[0], load[0] >= 0.5 ? "  (the machine is not idle: "
		       "wall rates will be low)" : "");

	printf("%-26s %3s %10s %10s %7s %7s %7s  %s\n", "case", "thr",
	       "lookups/s", "per CPU-s", "cache", "bloom", "index", "target");
	for (int k = 0; rc == 0 && k < CASE_COUNT; k++)
		for (int nt = 1; rc == 0 && nt <= MAX_THREADS; nt++)
			if (b->only < 0 || b->only == k)
				rc = run_case(b, (enum lcase)k, nt);
	return rc;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: idxbench [-s DIR] [-n N] [-c N] [-b N] [-t SECONDS] [--keep]\n"
"       idxbench --reuse STORE [-b N] [-t SECONDS]\n"
"Fill a real store's index with N synthetic fingerprints (sealed container\n"
"records through idx_seal, no segment data), reopen it as the daemon does\n"
"(the Bloom filter is sized and built by store_open), and measure store_has\n"
"lookups of duplicates in stream and random order and of new fingerprints,\n"
"on 1 and 2 threads, with the process's memory and what it consists of.\n"
"1 TB of logical data at 8 KiB segments is about 134 M segments.\n"
"  -s, --store DIR     make the store in a new directory under DIR (.)\n"
"  -n, --segments N    fingerprints to index, K/M/G suffixes (16M)\n"
"  -c, --per-ctr N     fingerprints per container (%u)\n"
"  -b, --batch N       fingerprints per store_has, as one FP_QUERY (%u)\n"
"  -t, --seconds S     seconds per lookup case (%.0f)\n"
"      --keep          keep the store, and say where\n"
"      --reuse STORE   skip the fill: measure a store kept earlier\n"
"      --case CASE     only stream, random, new or get (idx_get_fp alone)\n",
		PER_CTR_DEFAULT, BATCH_DEFAULT, SECONDS_DEFAULT);
}

/* A count with an optional K, M or G (powers of 10^3). */
static int parse_count(const char *s, uint64_t lo, uint64_t hi,
		       uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mul = 1000, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1000000, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1000000000, end++;
	if (errno || end == s || *end || v > hi / mul || v * mul < lo)
		return ddterr_set(-EINVAL, "%s: not a count between %" PRIu64
				  " and %" PRIu64, s, lo, hi);
	*out = v * mul;
	return 0;
}

static int parse_case(const char *s, int *out)
{
	static const char *const names[CASE_COUNT] = { "stream", "random",
							"new", "get" };

	for (int k = 0; k < CASE_COUNT; k++)
		if (!strcmp(s, names[k])) {
			*out = k;
			return 0;
		}
	return ddterr_set(-EINVAL, "--case %s: stream, random, new or get",
			  s);
}

static int parse_args(bench *b, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "store", 1, NULL, 's' }, { "segments", 1, NULL, 'n' },
		{ "per-ctr", 1, NULL, 'c' }, { "batch", 1, NULL, 'b' },
		{ "seconds", 1, NULL, 't' }, { "keep", 0, NULL, 'k' },
		{ "reuse", 1, NULL, 'r' }, { "case", 1, NULL, 'C' },
		{ "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	uint64_t v;
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "s:n:c:b:t:h", lo,
					   NULL)) != -1) {
		switch (c) {
		case 's': b->base = optarg; break;
		case 'n': rc = parse_count(optarg, 1000, 1ull << 34, &b->nfp);
			  break;
		case 'c': rc = parse_count(optarg, 1, 100000, &v);
			  b->per_ctr = (uint32_t)v; break;
		case 'b': rc = parse_count(optarg, 1, 16384, &v);
			  b->batch = (uint32_t)v; break;
		case 't': b->seconds = strtod(optarg, NULL);
			  if (!(b->seconds > 0 && b->seconds <= 3600))
				  rc = ddterr_set(-EINVAL, "--seconds %s: "
						  "between 0 and 3600", optarg);
			  break;
		case 'k': b->keep = 1; break;
		case 'r': b->reuse = 1; b->keep = 1;
			  snprintf(b->dir, sizeof(b->dir), "%s", optarg); break;
		case 'C': rc = parse_case(optarg, &b->only); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (rc == 0 && optind < argc)
		rc = ddterr_set(-EINVAL, "unexpected argument %s", argv[optind]);
	return rc;
}

static int make_store_dir(bench *b)
{
	if (snprintf(b->dir, sizeof(b->dir), "%s/idxbench.XXXXXX", b->base) >=
	    (int)sizeof(b->dir))
		return ddterr_set(-ENAMETOOLONG, "%s: name too long", b->base);
	if (!mkdtemp(b->dir)) {
		int rc = -errno;

		b->dir[0] = '\0';
		return ddterr_set(rc, "cannot make a store directory under %s:"
				  " %s", b->base, strerror(-rc));
	}
	return 0;
}

/* The fill in a child process, so that what it leaves in the heap
 * (RocksDB's write path, freed but kept by malloc) is not counted: the
 * measurement starts as a daemon restarted on a full store starts. */
static int fill_apart(bench *b)
{
	pid_t pid;
	int st, rc;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return ddterr_set(-errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		rc = fill(b);
		close_store(b);
		if (rc < 0)
			fprintf(stderr, "idxbench: %s\n", ddterr_last(rc));
		fflush(stdout);
		_exit(rc < 0 ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return ddterr_set(-EIO, "the fill failed");
	return 0;
}

/* Open the filled store (timed: the Bloom filter is built here), take
 * the figures, run the cases. */
static int measure(bench *b)
{
	store_stats st;
	double t0 = now_mono_sec();
	int rc = open_store(b);

	if (rc < 0)
		return rc;
	store_get_stats(b->st, &st);
	b->nfp = st.segments;
	printf("open: %.1f s (Bloom filter built from %" PRIu64 " indexed "
	       "fingerprints, %" PRIu64 " containers)\n", now_mono_sec() - t0,
	       st.segments, st.containers);
	print_memory(b, "after open");
	rc = run_lookups(b);
	print_memory(b, "after lookups");
	return rc;
}

int main(int argc, char **argv)
{
	bench b = { .base = ".", .nfp = 16000000, .per_ctr = PER_CTR_DEFAULT,
		    .batch = BATCH_DEFAULT, .seconds = SECONDS_DEFAULT,
		    .only = -1 };
	char *ipath = NULL;
	int rc = parse_args(&b, argc, argv), r2;

	if (rc == 0 && !b.reuse)
		rc = make_store_dir(&b);
	if (rc == 0 && !b.reuse)
		rc = fill_apart(&b);
	if (rc == 0)
		rc = measure(&b);
	if (close_store(&b) < 0 && rc == 0)
		rc = fail(-EIO, "close the store");
	if (b.dir[0] && (ipath = path_join(b.dir, STORE_INDEX_DIR)))
		printf("index on disk: %.0f MiB (%.1f bytes per fingerprint)\n",
		       dir_mib(ipath), dir_mib(ipath) * MIB / (double)b.nfp);
	free(ipath);
	if (b.dir[0] && b.keep)
		printf("store kept: %s\n", b.dir);
	else if (b.dir[0] && (r2 = benchstore_remove(b.dir)) < 0)
		fprintf(stderr, "idxbench: could not remove %s: %s\n", b.dir,
			strerror(-r2));
	if (rc < 0)
		fprintf(stderr, "idxbench: %s\n", ddterr_last(rc));
	return rc < 0 ? 1 : 0;
}
