/* test_ec.c - every loss pattern of up to m fragments is rebuilt exactly.
 *
 * For each geometry and a few awkward lengths, enumerate all subsets of lost
 * fragments rather than sampling, since a single bad decode row would hide
 * in a random sample. */
#include "ec.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

/* Advance comb[0..r) to the next r-subset of 0..n-1 in lexicographic
 * order; returns 0 after the last one. */
static int next_comb(int *comb, int r, int n)
{
	int i = r - 1;

	while (i >= 0 && comb[i] == n - r + i)
		i--;
	if (i < 0)
		return 0;
	comb[i]++;
	for (i = i + 1; i < r; i++)
		comb[i] = comb[i - 1] + 1;
	return 1;
}

/* Returns the number of (subset) trials that failed, or -1 on setup error;
 * *out_trials counts the subsets tried. */
static int run_geometry(int k, int m, size_t len, int *out_trials)
{
	uint8_t *orig[EC_MAX_FRAGS] = { 0 }, *work[EC_MAX_FRAGS] = { 0 };
	uint8_t present[EC_MAX_FRAGS];
	int comb[EC_MAX_FRAGS];
	int n = k + m, i, r, fails = 0, trials = 0;
	ec *e = NULL;

	if (ec_new(&e, k, m) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		orig[i] = malloc(len);
		work[i] = malloc(len);
		if (!orig[i] || !work[i]) {
			fails = -1;
			goto out;
		}
	}
	for (i = 0; i < k; i++)
		rnd_fill(orig[i], len);
	if (ec_encode(e, len, orig, orig + k) != 0) {
		fails = -1;
		goto out;
	}
	for (r = 1; r <= m; r++) {
		for (i = 0; i < r; i++)
			comb[i] = i;
		do {
			int bad = 0;

			for (i = 0; i < n; i++) {
				memcpy(work[i], orig[i], len);
				present[i] = 1;
			}
			for (i = 0; i < r; i++) {
				memset(work[comb[i]], 0xA5, len);
				present[comb[i]] = 0;
			}
			if (ec_reconstruct(e, len, work, present) != 0)
				bad = 1;
			for (i = 0; i < n && !bad; i++)
				if (memcmp(work[i], orig[i], len) != 0)
					bad = 1;
			if (bad && fails < 3) {
				diag("k=%d m=%d len=%zu: lost %d starting at %d "
				     "not rebuilt", k, m, len, r, comb[0]);
			}
			fails += bad;
			trials++;
		} while (next_comb(comb, r, n));
	}
out:
	for (i = 0; i < n; i++) {
		free(orig[i]);
		free(work[i]);
	}
	ec_free(e);
	*out_trials = trials;
	return fails;
}

static void test_too_many_lost(void)
{
	enum { K = 4, M = 2, LEN = 1000 };
	uint8_t *frags[K + M] = { 0 };
	uint8_t present[K + M];
	int i, rc = 0;
	ec *e = NULL;

	if (ec_new(&e, K, M) != 0)
		tap_bail("ec_new");
	for (i = 0; i < K + M; i++) {
		frags[i] = calloc(1, LEN);
		if (!frags[i])
			tap_bail("calloc");
		present[i] = 1;
	}
	present[0] = present[2] = present[5] = 0;
	ddterr_clear();
	rc = ec_reconstruct(e, LEN, frags, present);
	ok(rc == -EIO, "losing m+1 fragments gives -EIO (got %d)", rc);
	ok(strstr(ddterr_last(rc), "3 of 6") != NULL,
	   "the message counts survivors: %s", ddterr_last(rc));
	present[0] = 1;
	rc = ec_reconstruct(e, 0, frags, present);
	ok(rc == -EINVAL, "frag_len 0 is rejected");
	for (i = 0; i < K + M; i++)
		free(frags[i]);
	ec_free(e);
}

static void test_invalid_geometry(void)
{
	ec *e = NULL;
	int bad = 0;

	bad += ec_new(&e, 0, 2) != -EINVAL;
	bad += ec_new(&e, -1, 0) != -EINVAL;
	bad += ec_new(&e, 2, -1) != -EINVAL;
	bad += ec_new(&e, 12, 5) != -EINVAL;
	bad += ec_new(&e, EC_MAX_FRAGS + 1, 0) != -EINVAL;
	ok(bad == 0 && e == NULL, "invalid k/m rejected, *out untouched");

	if (ec_new(&e, 12, 4) != 0 || ec_k(e) != 12 || ec_m(e) != 4)
		bad++;
	ec_free(e);
	ok(bad == 0, "k + m == EC_MAX_FRAGS accepted");
}

int main(void)
{
	static const int geom[][2] = {
		{ 1, 0 }, { 1, 1 }, { 2, 1 }, { 4, 2 }, { 6, 3 }, { 10, 4 },
	};
	static const size_t lens[] = { 1, 4096, 65537 };
	size_t g, l;

	rnd_seed(0x9E3779B97F4A7C15ull);
	for (g = 0; g < sizeof(geom) / sizeof(geom[0]); g++) {
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			int k = geom[g][0], m = geom[g][1], trials = 0;
			int fails = run_geometry(k, m, lens[l], &trials);

			ok(fails == 0, "k=%d m=%d len=%zu: all %d loss patterns "
			   "rebuilt", k, m, lens[l], trials);
		}
	}
	test_too_many_lost();
	test_invalid_geometry();
	return tap_done();
}
