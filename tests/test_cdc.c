/* test_cdc.c - the chunker's promises: the same bytes always cut the same
 * way, segments stay within [min, max], an insertion disturbs only the
 * segments around it, sizes centre on avg, and bad sizes are refused.
 * Deduplication across backups rests on the first and third. */
#include "cdc.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

#define MIB (1024u * 1024)

/*
 * Not testutil.h's rnd_fill(): test_pinned() pins the cut points of the
 * bytes this xorshift64* stream makes from this seed, so both must stay
 * exactly as they are. Deterministic, so a failure reproduces.
 */
static uint64_t pin_state = 0x9E3779B97F4A7C15ull;

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pin_state ^= pin_state >> 12;
		pin_state ^= pin_state << 25;
		pin_state ^= pin_state >> 27;
		p[i] = (uint8_t)((pin_state * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/* Segment lengths of p[0..n), cut as a writer would with the whole stream
 * in memory. The caller frees *out. Returns the count. */
static size_t cut_all(const cdc *c, const uint8_t *p, size_t n,
		      uint32_t **out)
{
	uint32_t *len = xmalloc((n / c->min + 2) * sizeof(*len));
	size_t off = 0, k = 0;

	while (off < n) {
		size_t s = cdc_cut(c, p + off, n - off);

		if (s == 0)
			tap_bail("cdc_cut returned 0 with %zu bytes left",
				 n - off);
		len[k++] = (uint32_t)s;
		off += s;
	}
	*out = len;
	return k;
}

/* Count the segments outside [min, max], the last one excepted (it may be
 * short), and check that the lengths add up to n. */
static size_t out_of_bounds(const cdc *c, const uint32_t *len, size_t k,
			    size_t n)
{
	size_t i, bad = 0, sum = 0;

	for (i = 0; i < k; i++) {
		sum += len[i];
		if (len[i] > c->max || (i + 1 < k && len[i] < c->min))
			bad++;
	}
	return sum == n ? bad : bad + 1;
}

static void test_init(void)
{
	static const uint32_t bad[][3] = {
		{ 2048, 6000, 65536 },		/* avg not a power of two */
		{ 2048, 0, 65536 },		/* avg zero */
		{ 32, 8192, 65536 },		/* min under the window */
		{ 8192, 8192, 65536 },		/* min == avg */
		{ 16384, 8192, 65536 },		/* min > avg */
		{ 2048, 8192, 8192 },		/* max == avg */
		{ 2048, 8192, 4096 },		/* max < avg */
		{ 2048, 8192, CDC_MAX_LIMIT + 1 },	/* over the limit */
	};
	cdc c, keep;
	size_t i;
	int nbad = 0, rc;

	memset(&c, 0x5a, sizeof(c));
	keep = c;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = cdc_init(&c, bad[i][0], bad[i][1], bad[i][2]);
		if (rc != -EINVAL) {
			diag("cdc_init(%u, %u, %u) = %d", bad[i][0],
			     bad[i][1], bad[i][2], rc);
			nbad++;
		}
	}
	ok(nbad == 0 && memcmp(&c, &keep, sizeof(c)) == 0,
	   "%zu bad size triples rejected, chunker untouched",
	   sizeof(bad) / sizeof(bad[0]));
	ddterr_clear();
	rc = cdc_init(&c, 2048, 6000, 65536);
	ok(strstr(ddterr_last(rc), "6000") != NULL,
	   "the message names the bad size: %s", ddterr_last(rc));
	rc = cdc_init(&c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT);
	ok(rc == 0 && c.min == CDC_MIN_DEFAULT && c.avg == CDC_AVG_DEFAULT &&
	   c.max == CDC_MAX_DEFAULT &&
	   cdc_init(&c, 64, 128, CDC_MAX_LIMIT) == 0,
	   "the defaults and the extreme legal sizes are accepted");
}

static void test_small_inputs(const cdc *c)
{
	uint8_t buf[CDC_MIN_DEFAULT + 1];
	int bad = 0;
	size_t n;

	fill_random(buf, sizeof(buf));
	for (n = 0; n <= c->min; n++)
		bad += cdc_cut(c, buf, n) != n;
	bad += cdc_cut(c, buf, c->min + 1) > c->min + 1;
	ok(bad == 0, "inputs of up to min bytes come back whole");
}

static void test_determinism_and_bounds(const cdc *c, const uint8_t *buf,
					size_t n)
{
	uint32_t *a, *b;
	size_t ka, kb, i;
	cdc copy = *c;
	double mean;

	ka = cut_all(c, buf, n, &a);
	kb = cut_all(&copy, buf, n, &b);
	ok(ka == kb && memcmp(a, b, ka * sizeof(*a)) == 0,
	   "two passes over 4 MiB cut identically (%zu segments)", ka);
	ok(out_of_bounds(c, a, ka, n) == 0,
	   "every segment but the last is within [%u, %u] and they cover "
	   "the input", c->min, c->max);
	mean = (double)n / (double)ka;
	ok(mean >= c->avg / 2.0 && mean <= c->avg * 2.0,
	   "mean segment %.0f bytes on random data, avg is %u", mean,
	   c->avg);
	/* Normalized chunking should rarely run into the max. */
	for (i = 0, kb = 0; i + 1 < ka; i++)
		kb += a[i] == c->max;
	ok(kb * 100 < ka, "%zu of %zu segments forced at max", kb, ka);
	free(a);
	free(b);
}

/* Segments of a and b that match from the start and from the end (by
 * length, which with identical bytes before and after an edit means
 * identical segments). */
static void common_ends(const uint32_t *a, size_t ka, const uint32_t *b,
			size_t kb, size_t *head, size_t *tail)
{
	size_t h = 0, t = 0;

	while (h < ka && h < kb && a[h] == b[h])
		h++;
	while (t < ka - h && t < kb - h && a[ka - 1 - t] == b[kb - 1 - t])
		t++;
	*head = h;
	*tail = t;
}

/*
 * Insert a few bytes into a copy of buf and cut both. Every segment except
 * the few around the insertion must be the same as before: the head
 * because nothing before it changed, the tail because a cut depends only on
 * the 64 bytes before it and its distance from the previous cut, which
 * realigns within a segment or two.
 */
static void test_shift(const cdc *c, const uint8_t *buf, size_t n,
		       size_t at, size_t ins, const char *where)
{
	uint8_t *ed = xmalloc(n + ins);
	uint32_t *a, *b;
	size_t ka, kb, head, tail, changed;

	memcpy(ed, buf, at);
	fill_random(ed + at, ins);
	memcpy(ed + at + ins, buf + at, n - at);
	ka = cut_all(c, buf, n, &a);
	kb = cut_all(c, ed, n + ins, &b);
	common_ends(a, ka, b, kb, &head, &tail);
	changed = kb - head - tail;
	ok(changed <= 3 && head + tail + 3 >= ka,
	   "%zu bytes inserted %s: %zu of %zu segments changed (%zu same "
	   "before, %zu after)", ins, where, changed, kb, head, tail);
	free(ed);
	free(a);
	free(b);
}

/*
 * The cut points are part of the on-disk format in all but name (see
 * cdc.c): if they move, new backups stop deduplicating against old ones.
 * Pin them for one fixed input: the first few lengths and an FNV-1a hash
 * of all of them, as cut by the default chunker.
 */
static void test_pinned(const cdc *c, const uint8_t *buf, size_t n)
{
	static const uint32_t first[] = { 4856, 8297, 10810, 4876 };
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t *len;
	size_t k, i;

	k = cut_all(c, buf, n, &len);
	for (i = 0; i < k; i++) {
		h ^= len[i];
		h *= 0x100000001b3ull;
	}
	ok(k == 454 && h == 0xd7bd047cc2dec4d1ull &&
	   memcmp(len, first, sizeof(first)) == 0,
	   "the default cut points of a fixed input have not moved");
	if (k != 454 || h != 0xd7bd047cc2dec4d1ull)
		diag("now %zu segments, hash %016llx", k,
		     (unsigned long long)h);
	free(len);
}

/* Constant bytes: the hash reaches a fixed value and either always or
 * never matches, so this checks the bounds at both extremes. */
static void test_degenerate(const cdc *c)
{
	size_t n = 2 * MIB, k, bad = 0;
	uint8_t *buf = xmalloc(n);
	uint32_t *len;
	int v;

	for (v = 0; v < 256; v += 85) {
		memset(buf, v, n);
		k = cut_all(c, buf, n, &len);
		bad += out_of_bounds(c, len, k, n);
		free(len);
	}
	ok(bad == 0, "constant input still cuts within [min, max]");
	free(buf);
}

int main(void)
{
	size_t n = 4 * MIB;
	uint8_t *buf = xmalloc(n);
	cdc c, small;

	test_init();
	if (cdc_init(&c, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT, CDC_MAX_DEFAULT) ||
	    cdc_init(&small, 256, 1024, 4096))
		tap_bail("cdc_init");
	fill_random(buf, n);
	test_small_inputs(&c);
	test_pinned(&c, buf, n);
	test_determinism_and_bounds(&c, buf, n);
	test_determinism_and_bounds(&small, buf, n);
	test_shift(&c, buf, n, 1000, 3, "near the start");
	test_shift(&c, buf, n, n / 2 + 12345, 17, "in the middle");
	test_shift(&small, buf, n, 5000, 1, "near the start (small sizes)");
	test_degenerate(&c);
	free(buf);
	return tap_done();
}
