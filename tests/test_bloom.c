/* test_bloom.c - the summary vector never forgets a fingerprint, and says
 * "perhaps" for new ones about as rarely as bloom.h promises.
 *
 * Fingerprints come from a deterministic PRNG rather than SHA-256: the
 * filter only needs 32 uniform bytes, and a failure then reproduces. */
#include "bloom.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

enum { N = 100000 };

static void test_no_false_negatives_and_fp_rate(void)
{
	fp_t *in = malloc(N * sizeof(*in));
	bloom *b = NULL;
	long missed = 0, fps = 0;
	double rate;
	int rc;

	if (!in)
		tap_bail("malloc");
	rc = bloom_new(&b, N);
	ok(rc == 0 && b != NULL, "bloom_new(%d) succeeds", N);
	if (rc)
		tap_bail("bloom_new: %d", rc);
	ok(bloom_count(b) == 0 && bloom_capacity(b) == N,
	   "a new filter is empty with the asked capacity (count %llu, "
	   "capacity %llu)", (unsigned long long)bloom_count(b),
	   (unsigned long long)bloom_capacity(b));
	ok(bloom_bytes(b) >= (size_t)N * 2 && bloom_bytes(b) % 64 == 0,
	   "about 16 bits per entry, whole cache lines (%zu bytes)",
	   bloom_bytes(b));

	for (int i = 0; i < N; i++) {
		rnd_fp(&in[i]);
		bloom_add(b, &in[i]);
	}
	ok(bloom_count(b) == N, "count is %d after %d adds (got %llu)", N, N,
	   (unsigned long long)bloom_count(b));

	for (int i = 0; i < N; i++)
		missed += !bloom_maybe(b, &in[i]);
	ok(missed == 0, "no false negatives over %d added fingerprints "
	   "(%ld missed)", N, missed);

	/* Fresh fingerprints from the same generator are new by construction
	 * (a 256-bit collision is not going to happen). */
	for (int i = 0; i < N; i++) {
		fp_t f;

		rnd_fp(&f);
		fps += bloom_maybe(b, &f);
	}
	rate = (double)fps / N;
	diag("false-positive rate at capacity: %.3f%% (%ld of %d)",
	     rate * 100, fps, N);
	ok(rate < 0.02, "false-positive rate at capacity %.3f%% < 2%%",
	   rate * 100);
	ok(fps > 0, "the filter is not degenerate (some false positives at "
	   "capacity: %ld)", fps);

	bloom_free(b);
	free(in);
}

static void test_small_and_edge(void)
{
	bloom *b = NULL;
	fp_t zero, ones, f;
	int rc, hits = 0;

	rc = bloom_new(&b, 0);
	ok(rc == 0 && bloom_capacity(b) >= 1024,
	   "capacity 0 is raised to a usable minimum (%llu)",
	   rc ? 0ull : (unsigned long long)bloom_capacity(b));
	if (rc)
		tap_bail("bloom_new(0): %d", rc);

	memset(zero.b, 0, FP_LEN);
	memset(ones.b, 0xFF, FP_LEN);
	ok(!bloom_maybe(b, &zero) && !bloom_maybe(b, &ones),
	   "an empty filter says certainly absent");
	bloom_add(b, &zero);
	bloom_add(b, &ones);
	bloom_add(b, &ones);
	ok(bloom_maybe(b, &zero) && bloom_maybe(b, &ones),
	   "all-zero and all-one fingerprints (first and last block) are "
	   "found");
	ok(bloom_count(b) == 3, "count counts adds, duplicates included "
	   "(got %llu)", (unsigned long long)bloom_count(b));

	for (int i = 0; i < 1000; i++) {
		rnd_fp(&f);
		hits += bloom_maybe(b, &f);
	}
	ok(hits <= 2, "a nearly empty filter gives almost no false positives "
	   "(%d of 1000)", hits);
	bloom_free(b);
	bloom_free(NULL);
	ok(1, "bloom_free(NULL) is a no-op");
}

int main(void)
{
	rnd_seed(0x0DDBA11CAFEF00Dull);
	test_no_false_negatives_and_fp_rate();
	test_small_and_edge();
	return tap_done();
}
