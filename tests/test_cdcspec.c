/* test_cdcspec.c - PROTOCOL.md section 6, "Cutting a file into data
 * segments", is enough to cut as ddt does: the target's chunker (cdc.c)
 * gives the test vectors of tests/vectors/cdc.txt; so does a second chunker
 * written from that text alone (the spec_ functions, which share nothing
 * with cdc.c), which also cuts exactly as cdc.c on megabytes of inputs
 * picked to reach every rule; and the client library, writing the vectors'
 * input through a real ddtargetd, commits the vectors' root.
 *
 * `test_cdcspec --write FILE` writes the vectors afresh from cdc.c (they
 * must never change: stored data depends on them). */
#include "cdc.h"
#include "ddtc.h"
#include "fp.h"
#include "tree.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"

#include <openssl/sha.h>
#include <stdint.h>

#define MIB (1024u * 1024)

/* ================================================================
 * The chunker as PROTOCOL.md writes it, and nothing else. Keep it a
 * transcription of the text: where the two differ, the text is wrong.
 * ================================================================ */

typedef struct spec_sizes {
	uint32_t min, avg, max;
	uint64_t mask_s, mask_l;
} spec_sizes;

static uint64_t spec_gear[256];

/* "One output, all arithmetic modulo 2^64". */
static uint64_t spec_splitmix(uint64_t *s)
{
	uint64_t z;

	*s = *s + 0x9e3779b97f4a7c15ull;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* "the first 256 outputs, in order, of splitmix64 started from the state
 * s = 0x6464746172676574". */
static void spec_gear_init(void)
{
	uint64_t s = 0x6464746172676574ull;

	for (int i = 0; i < 256; i++)
		spec_gear[i] = spec_splitmix(&s);
}

/* "exactly the bits 63 - floor(i * 48 / n) set, for i = 0 .. n - 1". */
static uint64_t spec_mask(unsigned n)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < n; i++)
		m |= 1ull << (63 - (i * 48) / n);
	return m;
}

static spec_sizes spec_setup(uint32_t min, uint32_t avg, uint32_t max)
{
	spec_sizes z = { .min = min, .avg = avg, .max = max };
	unsigned bits = 0;

	while ((1u << bits) < avg)	/* log2(avg), avg a power of two */
		bits++;
	z.mask_s = spec_mask(bits + 2);
	z.mask_l = spec_mask(bits - 2);
	return z;
}

/* "One cut", steps 1 to 6. */
static size_t spec_cut(const spec_sizes *z, const uint8_t *p, size_t n)
{
	size_t end, normal, i;
	uint64_t h;

	if (n <= z->min)					/* 1 */
		return n;
	end = n < z->max ? n : z->max;				/* 2 */
	normal = end < z->avg ? end : z->avg;
	h = 0;							/* 3 */
	for (i = z->min - 63; i <= z->min - 1; i++)
		h = (h << 1) + spec_gear[p[i]];
	for (i = z->min; i <= normal - 1; i++) {		/* 4 */
		h = (h << 1) + spec_gear[p[i]];
		if ((h & z->mask_s) == 0)
			return i + 1;
	}
	for (i = normal; i + 1 <= end; i++) {			/* 5 */
		h = (h << 1) + spec_gear[p[i]];
		if ((h & z->mask_l) == 0)
			return i + 1;
	}
	return end;						/* 6 */
}

/* "A whole file": the segment lengths of p[0..size), into len (room for
 * size / (min + 1) + 1). Returns their count. */
static size_t spec_file(const spec_sizes *z, const uint8_t *p, size_t size,
			uint32_t *len)
{
	size_t off = 0, k = 0;

	while (off < size) {
		size_t c = spec_cut(z, p + off, size - off);

		len[k++] = (uint32_t)c;
		off += c;
	}
	return k;
}

/* "The input, by byte offset" of the test vectors. */
static void spec_vector_input(uint8_t *p)
{
	uint64_t s = 0, v;
	size_t i, k;

	for (i = 0; i < 1000000; i += 8) {
		v = spec_splitmix(&s);
		for (k = 0; k < 8; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
	for (; i < 1200000; i++)
		p[i] = 0;
	for (k = 0; i < 1500000; i++, k++)
		p[i] = (uint8_t)(k % 251);
	for (k = 0; i < 2000000; i++, k++)
		p[i] = p[k];
}

/* ================================================================
 * The vectors file, and cdc.c's side.
 * ================================================================ */

#define VEC_BYTES	2000000u
#define VEC_MAX_SEGS	(VEC_BYTES / (CDC_MIN_DEFAULT + 1) + 1)

typedef struct vseg {
	uint64_t off;
	uint32_t len;
	fp_t fp;
} vseg;

typedef struct vectors {
	uint32_t min, avg, max;
	uint64_t mask_s, mask_l;
	fp_t input_fp, root;
	int level;
	vseg seg[VEC_MAX_SEGS];
	size_t nseg;
	int lines;		/* lines not understood */
} vectors;

/* The vector input as cdc.c's side makes it: testutil's splitmix64 stream
 * (the same generator, written apart from spec_vector_input()). */
static void vector_input(uint8_t *p)
{
	rnd_seed(0);
	rnd_fill(p, 1000000);
	memset(p + 1000000, 0, 200000);
	for (size_t k = 0; k < 300000; k++)
		p[1200000 + k] = (uint8_t)(k % 251);
	memcpy(p + 1500000, p, 500000);
}

static int emit_none(void *arg, int level, const uint8_t *raw, size_t len,
		     const fp_t *fp)
{
	(void)arg, (void)level, (void)raw, (void)len, (void)fp;
	return 0;
}

/* Cut p with cdc.c, fingerprint with fp.c, build the tree with tree.c. */
static void vectors_compute(const uint8_t *p, size_t n, vectors *v)
{
	tree_builder *t;
	uint64_t off = 0, size;
	uint8_t level;
	cdc c;

	memset(v, 0, sizeof(*v));
	if (cdc_init(&c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT) ||
	    tree_builder_new(&t, emit_none, NULL) ||
	    fp_compute(&v->input_fp, p, n))
		tap_bail("cdc_init, tree_builder_new or fp_compute");
	v->min = c.min, v->avg = c.avg, v->max = c.max;
	v->mask_s = c.mask_s, v->mask_l = c.mask_l;
	while (off < n) {
		vseg *s = &v->seg[v->nseg++];

		s->off = off;
		s->len = (uint32_t)cdc_cut(&c, p + off, n - off);
		if (fp_compute(&s->fp, p + off, s->len) ||
		    tree_add(t, &s->fp, s->len))
			tap_bail("fp_compute or tree_add");
		off += s->len;
	}
	if (tree_finish(t, &v->root, &level, &size) || size != n)
		tap_bail("tree_finish");
	v->level = level;
	tree_builder_free(t);
}

static void vectors_write(const vectors *v, const char *path)
{
	char hex[FP_HEX_LEN + 1];
	FILE *f = fopen(path, "w");

	if (!f)
		tap_bail("open %s: %s", path, strerror(errno));
	fprintf(f, "# tests/vectors/cdc.txt - the chunker's test vectors "
		"(proto/PROTOCOL.md section 6,\n# \"Cutting a file into data "
		"segments\"): the default sizes, their masks, the\n# SHA-256 "
		"of the 2000000-byte input the text defines, then every data "
		"segment\n# (index, offset, length, SHA-256 of its bytes) and "
		"the file's root (level,\n# fingerprint). Written by "
		"`tests/test_cdcspec --write`; never edit it.\n");
	fprintf(f, "sizes %u %u %u\n", v->min, v->avg, v->max);
	fprintf(f, "mask_s %016llx\nmask_l %016llx\n",
		(unsigned long long)v->mask_s, (unsigned long long)v->mask_l);
	fp_to_hex(&v->input_fp, hex);
	fprintf(f, "input %u %s\n", VEC_BYTES, hex);
	for (size_t i = 0; i < v->nseg; i++) {
		fp_to_hex(&v->seg[i].fp, hex);
		fprintf(f, "seg %zu %llu %u %s\n", i,
			(unsigned long long)v->seg[i].off, v->seg[i].len, hex);
	}
	fp_to_hex(&v->root, hex);
	fprintf(f, "root %d %s\n", v->level, hex);
	if (fclose(f))
		tap_bail("write %s", path);
}

static int parse_fp(const char *hex, fp_t *out)
{
	return fp_from_hex(out, hex) == 0 ? 0 : -1;
}

/* One line of the file into v; 0, or -1 for a line not understood. */
static int vectors_line(vectors *v, const char *line)
{
	char hex[80];
	unsigned long long a, b;
	unsigned u, w, x;
	size_t i;

	if (line[0] == '#' || line[0] == '\n')
		return 0;
	if (sscanf(line, "sizes %u %u %u", &u, &w, &x) == 3) {
		v->min = u, v->avg = w, v->max = x;
		return 0;
	}
	if (sscanf(line, "mask_s %llx", &a) == 1)
		return v->mask_s = a, 0;
	if (sscanf(line, "mask_l %llx", &a) == 1)
		return v->mask_l = a, 0;
	if (sscanf(line, "input %u %79s", &u, hex) == 2)
		return u == VEC_BYTES ? parse_fp(hex, &v->input_fp) : -1;
	if (sscanf(line, "root %u %79s", &u, hex) == 2) {
		v->level = (int)u;
		return parse_fp(hex, &v->root);
	}
	if (sscanf(line, "seg %zu %llu %llu %79s", &i, &a, &b, hex) == 4 &&
	    i == v->nseg && i < VEC_MAX_SEGS && b <= CDC_MAX_LIMIT) {
		v->seg[i].off = a;
		v->seg[i].len = (uint32_t)b;
		v->nseg++;
		return parse_fp(hex, &v->seg[i].fp);
	}
	return -1;
}

static void vectors_read(vectors *v, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		tap_bail("open %s: %s", path, strerror(errno));
	memset(v, 0, sizeof(*v));
	v->level = -1;
	while (fgets(line, sizeof(line), f))
		v->lines += vectors_line(v, line) < 0;
	fclose(f);
}

/* How many of got's segments differ from want's (offset, length or
 * fingerprint), counting a difference in number as one each. */
static size_t segs_differ(const vectors *want, const vectors *got)
{
	size_t bad = want->nseg > got->nseg ? want->nseg - got->nseg :
		     got->nseg - want->nseg;

	for (size_t i = 0; i < want->nseg && i < got->nseg; i++)
		bad += want->seg[i].off != got->seg[i].off ||
		       want->seg[i].len != got->seg[i].len ||
		       !fp_equal(&want->seg[i].fp, &got->seg[i].fp);
	return bad;
}

/* ================================================================
 * The checks.
 * ================================================================ */

static const char *src_path(const char *rel)
{
	const char *top = getenv("top_srcdir");
	static char p[1024];

	snprintf(p, sizeof(p), "%s/%s", top && *top ? top : ".", rel);
	return p;
}

/* The gear table printed in PROTOCOL.md is the one its rule makes. */
static void test_gear_text(void)
{
	char line[256];
	unsigned idx, found = 0, bad = 0;
	unsigned long long g[4];
	FILE *f = fopen(src_path("proto/PROTOCOL.md"), "r");

	if (!f)
		tap_bail("open PROTOCOL.md: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u 0x%llx 0x%llx 0x%llx 0x%llx", &idx,
			   &g[0], &g[1], &g[2], &g[3]) != 5 || idx > 252 ||
		    idx % 4)
			continue;
		for (int k = 0; k < 4; k++)
			bad += spec_gear[idx + k] != g[k];
		found += 4;
	}
	fclose(f);
	ok(found == 256 && bad == 0 && spec_gear[0] == 0x6e620f4fc409fd33ull &&
	   spec_gear[255] == 0xbd625eb8aeefc6d5ull,
	   "the gear table in PROTOCOL.md (%u values) is what its rule makes",
	   found);
}

/* The rows of the vectors table in PROTOCOL.md are the file's. */
static void test_table_text(const vectors *v)
{
	char line[256], hex[80], root[FP_HEX_LEN + 1];
	unsigned long long off;
	unsigned rows = 0, bad = 0, len, roots = 0;
	size_t i;
	fp_t f;
	FILE *fh = fopen(src_path("proto/PROTOCOL.md"), "r");

	if (!fh)
		tap_bail("open PROTOCOL.md: %s", strerror(errno));
	fp_to_hex(&v->root, root);
	while (fgets(line, sizeof(line), fh)) {
		roots += strstr(line, root) != NULL;
		if (sscanf(line, "| %zu | %llu | %u | `%64[0-9a-f]` |", &i,
			   &off, &len, hex) != 4)
			continue;
		rows++;
		bad += i >= v->nseg || parse_fp(hex, &f) < 0 ||
		       v->seg[i].off != off || v->seg[i].len != len ||
		       !fp_equal(&v->seg[i].fp, &f);
	}
	fclose(fh);
	ok(rows >= 10 && bad == 0 && roots == 1, "the %u rows of "
	   "PROTOCOL.md's vectors table, and the root it names, are the "
	   "file's", rows);
}

/* The masks the text defines are cdc_init()'s, for every legal avg. */
static void test_masks(const vectors *v)
{
	spec_sizes z = spec_setup(CDC_MIN_DEFAULT, CDC_AVG_DEFAULT,
				  CDC_MAX_DEFAULT);
	int bad = 0;
	cdc c;

	for (uint32_t avg = 128; avg < CDC_MAX_LIMIT; avg *= 2) {
		spec_sizes s = spec_setup(64, avg, CDC_MAX_LIMIT);

		if (cdc_init(&c, 64, avg, CDC_MAX_LIMIT))
			tap_bail("cdc_init(64, %u, max)", avg);
		bad += c.mask_s != s.mask_s || c.mask_l != s.mask_l;
	}
	ok(bad == 0, "the text's masks are cdc.c's for avg 128 to 512 KiB");
	ok(v->mask_s == z.mask_s && v->mask_l == z.mask_l &&
	   z.mask_s == 0x9248924892480000ull &&
	   z.mask_l == 0x8884442221100000ull,
	   "the default masks: the text's figures, the vectors' and the "
	   "rule's agree");
}

/* The vectors against cdc.c and against the text's chunker. */
static void test_vectors(const vectors *file, const uint8_t *in,
			 const uint8_t *spec_in)
{
	static vectors ours, spec;
	spec_sizes z = spec_setup(file->min, file->avg, file->max);
	static uint32_t len[VEC_MAX_SEGS];
	uint64_t off = 0;

	ok(file->lines == 0 && file->nseg > 100 && file->level >= 1 &&
	   file->min == CDC_MIN_DEFAULT && file->avg == CDC_AVG_DEFAULT &&
	   file->max == CDC_MAX_DEFAULT,
	   "the vectors file parses: %zu segments, the default sizes",
	   file->nseg);
	ok(memcmp(in, spec_in, VEC_BYTES) == 0, "the text's input is made "
	   "alike by two separate generators");
	vectors_compute(in, VEC_BYTES, &ours);
	ok(fp_equal(&ours.input_fp, &file->input_fp),
	   "the input's SHA-256 is the vectors'");
	ok(segs_differ(file, &ours) == 0,
	   "cdc.c cuts the vectors' %zu segments, offsets, lengths and "
	   "fingerprints", ours.nseg);
	ok(ours.level == file->level && fp_equal(&ours.root, &file->root),
	   "and the file's tree has the vectors' root (level %d)", ours.level);

	memset(&spec, 0, sizeof(spec));
	spec.nseg = spec_file(&z, spec_in, VEC_BYTES, len);
	for (size_t i = 0; i < spec.nseg; i++) {
		spec.seg[i].off = off;
		spec.seg[i].len = len[i];
		SHA256(spec_in + off, len[i], spec.seg[i].fp.b);
		off += len[i];
	}
	ok(segs_differ(file, &spec) == 0,
	   "the chunker written from the text cuts the vectors too");
}

/* Segment lengths of p[0..n) by cdc.c; the caller frees *out. */
static size_t cdc_file(const cdc *c, const uint8_t *p, size_t n,
		       uint32_t **out)
{
	uint32_t *len = xmalloc((n / (c->min + 1) + 2) * sizeof(*len));
	size_t off = 0, k = 0;

	while (off < n) {
		len[k] = (uint32_t)cdc_cut(c, p + off, n - off);
		off += len[k++];
	}
	*out = len;
	return k;
}

/* Whether cdc.c and the text cut p[0..n) alike (0) or not (1). */
static int differs(const cdc *c, const spec_sizes *z, const uint8_t *p,
		   size_t n)
{
	uint32_t *a, *b = xmalloc((n / (z->min + 1) + 2) * sizeof(*b));
	size_t ka = cdc_file(c, p, n, &a), kb = spec_file(z, p, n, b);
	int d = ka != kb || memcmp(a, b, ka * sizeof(*a)) != 0;

	free(a);
	free(b);
	return d;
}

/* Inputs that reach every rule: random bytes, zeros (a forced cut at max
 * every time), 0xff, periodic patterns, text, and files of every length
 * around min, avg and max. Each made afresh into buf (4 MiB). */
enum { IN_RANDOM, IN_ZERO, IN_FF, IN_PERIODIC, IN_TEXT, IN_KINDS };

static size_t make_input(int kind, unsigned variant, uint8_t *buf)
{
	static const size_t period[] = { 2, 7, 64, 251, 4096, 65537 };
	size_t n = MIB, i;

	switch (kind) {
	case IN_RANDOM:
		rnd_seed(1000 + variant);
		n = 4 * MIB;
		rnd_fill(buf, n);
		break;
	case IN_ZERO:
		memset(buf, 0, n);
		break;
	case IN_FF:
		memset(buf, 0xff, n);
		break;
	case IN_PERIODIC:
		rnd_seed(2000 + variant);
		rnd_fill(buf, period[variant % 6]);
		for (i = period[variant % 6]; i < n; i++)
			buf[i] = buf[i - period[variant % 6]];
		break;
	default:
		for (i = 0; i < n; )
			i += (size_t)snprintf((char *)buf + i, n - i, "%zu\n",
					      i * 7919 % 1000003);
		break;
	}
	return n;
}

/* cdc.c and the text's chunker over every input, for sizes min/avg/max. */
static void test_same_cuts(uint32_t min, uint32_t avg, uint32_t max,
			   uint8_t *buf)
{
	spec_sizes z = spec_setup(min, avg, max);
	size_t total = 0, cases = 0, bad = 0, n;
	const size_t lens[] = { 1, 63, 64, min - 1, min, min + 1, min + 64,
				avg - 1, avg, avg + 1, max - 1, max, max + 1,
				2 * (size_t)max, 2 * (size_t)max + 1,
				3 * (size_t)max - 1 };
	cdc c;

	if (cdc_init(&c, min, avg, max))
		tap_bail("cdc_init(%u, %u, %u)", min, avg, max);
	for (int kind = 0; kind < IN_KINDS; kind++) {
		unsigned variants = kind == IN_PERIODIC ? 6 :
				    kind == IN_RANDOM ? 2 : 1;

		for (unsigned v = 0; v < variants; v++) {
			n = make_input(kind, v, buf);
			bad += differs(&c, &z, buf, n);
			/* Short files: the first bytes of the input alone. */
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]);
			     k++)
				bad += lens[k] <= n &&
				       differs(&c, &z, buf, lens[k]);
			cases += 1 + sizeof(lens) / sizeof(lens[0]);
			total += n;
		}
	}
	ok(bad == 0, "sizes %u/%u/%u: the text's chunker cuts as cdc.c in "
	   "all %zu cases (%zu MiB)", min, avg, max, cases, total / MIB);
}

/* ================================================================
 * ddt's own write path: the client library through a real target.
 * ================================================================ */

/* Write in to a new file through session c; its attributes into *a. */
static int client_write(ddtc *c, uint64_t dir, const uint8_t *in,
			ddt_attr *a)
{
	ddtc_meta m = { .dir = dir, .mode = 0644 };
	ddtc_file *f;
	int rc;

	strcpy(m.name, "vectors");
	rc = ddtc_file_create(c, &m, &f);
	if (rc < 0)
		return rc;
	/* Odd-sized writes: the cuts must not depend on how bytes come. */
	for (size_t off = 0; off < VEC_BYTES; off += 7777) {
		rc = ddtc_file_write(f, in + off, VEC_BYTES - off < 7777 ?
				     VEC_BYTES - off : 7777);
		if (rc < 0) {
			ddtc_file_abort(f);
			return rc;
		}
	}
	return ddtc_file_close(f, 1, a);
}

static void test_client(const vectors *file, const uint8_t *in)
{
	char *dir = tap_tmpdir("cdcspec");
	test_daemon d;
	ddt_attr a;
	uint64_t su;
	ddtc *c;
	int rc;

	daemon_start_in(&d, dir);
	c = daemon_connect(&d);
	rc = ddtc_su_create(c, "v", &su);
	if (rc == 0)
		rc = client_write(c, su, in, &a);
	ok(rc == 0 && a.size == VEC_BYTES && a.level == file->level &&
	   fp_equal(&a.root, &file->root),
	   "the client library commits the vector input with the vectors' "
	   "root%s%s", rc ? ": " : "", rc ? ddtc_errmsg(rc) : "");
	ddtc_close(c);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	static vectors file;
	uint8_t *in = xmalloc(VEC_BYTES), *spec_in = xmalloc(VEC_BYTES);
	uint8_t *buf = xmalloc(4 * MIB);

	vector_input(in);
	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		vectors_compute(in, VEC_BYTES, &file);
		vectors_write(&file, argv[2]);
		return 0;
	}
	spec_gear_init();
	spec_vector_input(spec_in);
	vectors_read(&file, src_path("tests/vectors/cdc.txt"));
	test_gear_text();
	test_masks(&file);
	test_table_text(&file);
	test_vectors(&file, in, spec_in);
	test_same_cuts(CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT, buf);
	test_same_cuts(64, 128, 4096, buf);
	test_same_cuts(100, 4096, 5000, buf);
	test_same_cuts(4096, 16384, 262144, buf);
	test_same_cuts(65536, 262144, CDC_MAX_LIMIT, buf);
	test_client(&file, in);
	free(in);
	free(spec_in);
	free(buf);
	return tap_done();
}
