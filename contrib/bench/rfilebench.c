/* rfilebench.c - random-access files (ddtc_rfile_*) against the sequential
 * writer (ddtc_file) through a real ddtargetd, as a gateway uses them:
 * a file of unique data written in order by each and committed, the same
 * bytes written again through rfile (all duplicates), then a 1-byte
 * rewrite and commit. Prints MB/s (10^6 bytes) and what went on the wire.
 * Run by rfile-bench.sh, which starts the daemon; a front end, so it
 * includes only ddtc.h. usage: rfilebench PORT PASSWORD [MIB];
 * $RFILEBENCH_FLUSH_MIB sets how much rfile buffers (64). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddtc.h"

#define CHUNK		(1u << 20)	/* bytes per write call, as NFS wsize */
#define FLUSH_MIB	64	/* what a gateway buffers per file */

static ddtc *cl;
static uint64_t dir;
static size_t flush_at = (size_t)FLUSH_MIB << 20;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* n bytes of a stream no compressor shrinks, different for each seed. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "rfilebench: %s: %s\n", what, ddtc_errmsg(rc));
	exit(1);
}

typedef struct figures {
	double secs;
	uint64_t wire, sent;
} figures;

static void begin(figures *g)
{
	ddtc_counters k;

	ddtc_get_counters(cl, &k);
	g->wire = k.wire_bytes;
	g->sent = k.segments_sent;
	g->secs = now();
}

static void end(figures *g, const char *label, uint64_t bytes)
{
	ddtc_counters k;

	g->secs = now() - g->secs;
	ddtc_get_counters(cl, &k);
	g->wire = k.wire_bytes - g->wire;
	g->sent = k.segments_sent - g->sent;
	if (bytes > 1)
		printf("%-34s %8.1f MB/s", label, bytes / g->secs / 1e6);
	else
		printf("%-34s %13s", label, "");
	printf(" %8.3f s  %9.1f MB on the wire  %7llu segments sent\n",
	       g->secs, g->wire / 1e6, (unsigned long long)g->sent);
}

static void with_file(const uint8_t *data, size_t n)
{
	ddtc_meta m = { .dir = dir, .mode = 0644 };
	ddtc_file *f;
	figures g;
	int rc;

	strcpy(m.name, "by-file");
	begin(&g);
	rc = ddtc_file_create(cl, &m, &f);
	for (size_t off = 0; rc == 0 && off < n; off += CHUNK)
		rc = ddtc_file_write(f, data + off, CHUNK);
	if (rc == 0)
		rc = ddtc_file_close(f, 1, NULL);
	if (rc < 0)
		die("ddtc_file", rc);
	end(&g, "ddtc_file, unique, write+commit", n);
}

static ddtc_rfile *with_rfile(const char *name, const uint8_t *data,
			      size_t n, const char *label)
{
	ddtc_rfile *f = NULL;
	ddt_attr a;
	figures g;
	int rc;

	begin(&g);
	rc = ddtc_create(cl, dir, name, 0644, 0, 0, 0, 1, &a);
	if (rc == 0)
		rc = ddtc_rfile_open(cl, a.ino, &f);
	for (size_t off = 0; rc == 0 && off < n; off += CHUNK) {
		rc = ddtc_rfile_write(cl, f, off, data + off, CHUNK);
		if (rc == 0 && ddtc_rfile_buffered(f) >= flush_at)
			rc = ddtc_rfile_flush(cl, f);
	}
	if (rc == 0)
		rc = ddtc_rfile_commit(cl, f, 0, 1, NULL);
	if (rc < 0)
		die("rfile", rc);
	end(&g, label, n);
	return f;
}

static void one_byte(ddtc_rfile *f, size_t n)
{
	uint8_t b = 0x5a;
	figures g;
	int rc;

	begin(&g);
	rc = ddtc_rfile_write(cl, f, n / 2, &b, 1);
	if (rc == 0)
		rc = ddtc_rfile_commit(cl, f, 0, 1, NULL);
	if (rc < 0)
		die("1-byte rewrite", rc);
	end(&g, "rfile, 1 byte rewritten+commit", 1);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 1024;
	size_t n = mib << 20;
	uint8_t *a, *b;
	ddtc_opts o;
	ddtc_su su;
	ddtc_rfile *f;
	int rc;

	if (getenv("RFILEBENCH_FLUSH_MIB"))
		flush_at = strtoul(getenv("RFILEBENCH_FLUSH_MIB"), NULL, 0) << 20;
	if (argc < 3 || !mib) {
		fprintf(stderr, "usage: rfilebench PORT PASSWORD [MIB]\n");
		return 2;
	}
	a = malloc(n);
	b = malloc(n);
	if (!a || !b) {
		fprintf(stderr, "rfilebench: no memory for 2 x %zu MiB\n", mib);
		return 1;
	}
	fill(a, n, 1);
	fill(b, n, 2);
	ddtc_opts_default(&o);
	o.port = atoi(argv[1]);
	o.password = argv[2];
	rc = ddtc_connect(&cl, &o);
	if (rc == 0)
		rc = ddtc_su_create(cl, "bench", NULL);
	if (rc == 0)
		rc = ddtc_su_open(cl, "bench", &su);
	if (rc < 0)
		die("connect", rc);
	dir = su.root;
	printf("rfilebench: %zu MiB of unique data per file, %u KiB writes, "
	       "rfile flushed every %zu MiB\n", mib, CHUNK >> 10,
	       flush_at >> 20);
	with_file(a, n);
	f = with_rfile("by-rfile", b, n, "rfile, unique, write+commit");
	one_byte(f, n);
	ddtc_rfile_close(f);
	f = with_rfile("by-rfile-again", b, n,
		       "rfile, same data again, +commit");
	ddtc_rfile_close(f);
	ddtc_close(cl);
	free(a);
	free(b);
	return 0;
}
