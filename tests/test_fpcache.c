/* test_fpcache.c - the locality cache finds what it holds (with each
 * segment's raw length), forgets whole containers in LRU order, never
 * forgets a pinned one, and its table stays exact through growth and
 * backward-shift deletion.
 *
 * Besides the directed cases, a randomized run drives the cache and a
 * simple reference model (arrays and timestamps) with the same operations
 * and compares every answer. */
#include "fpcache.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

static ctr_entry *make_ents(uint32_t n)
{
	ctr_entry *e = calloc(n ? n : 1, sizeof(*e));

	if (!e)
		tap_bail("calloc");
	for (uint32_t i = 0; i < n; i++) {
		rnd_fp(&e[i].fp);
		e[i].off = i;
		e[i].raw_len = 1 + (uint32_t)(rnd64() % (1u << 20));
	}
	return e;
}

/* How many of ents[0..n) are not found at (cid, their slot), with their
 * raw length. */
static int misses(fpcache *c, const ctr_entry *e, uint32_t n, uint64_t cid)
{
	int bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t got_cid = 0;
		uint32_t got_slot = 0, got_len = 0;

		if (fpcache_lookup(c, &e[i].fp, &got_cid, &got_slot,
				   &got_len) != 1 ||
		    got_cid != cid || got_slot != i ||
		    got_len != e[i].raw_len)
			bad++;
	}
	return bad;
}

/* How many of ents[0..n) are (wrongly) found. */
static int hits(fpcache *c, const ctr_entry *e, uint32_t n)
{
	int found = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t cid;
		uint32_t slot;

		found += fpcache_lookup(c, &e[i].fp, &cid, &slot, NULL);
	}
	return found;
}

static void test_lru(void)
{
	ctr_entry *a = make_ents(100), *b = make_ents(100), *cc = make_ents(100);
	ctr_entry *d = make_ents(100), *e = make_ents(100);
	fpcache *c = NULL;
	uint64_t cid = 0;
	uint32_t slot = 0;
	fp_t other;

	if (fpcache_new(&c, 3) != 0)
		tap_bail("fpcache_new");
	ok(fpcache_containers(c) == 0 && fpcache_fingerprints(c) == 0,
	   "a new cache is empty");
	rnd_fp(&other);
	ok(fpcache_lookup(c, &other, &cid, &slot, NULL) == 0,
	   "lookup in an empty cache misses");
	fpcache_insert(c, 1, a, 100, 0);
	fpcache_insert(c, 2, b, 100, 0);
	fpcache_insert(c, 3, cc, 100, 0);
	ok(fpcache_containers(c) == 3 && fpcache_fingerprints(c) == 300,
	   "three containers, 300 fingerprints");
	ok(misses(c, a, 100, 1) + misses(c, b, 100, 2) +
	   misses(c, cc, 100, 3) == 0,
	   "every inserted fingerprint hits with its cid and slot");
	ok(fpcache_lookup(c, &other, &cid, &slot, NULL) == 0,
	   "an unknown fingerprint misses");

	/* Order now (most recent first): 3 2 1 -- the lookups above went
	 * 1, 2, 3. Touch 1 so 2 is the least recent. */
	fpcache_lookup(c, &a[42].fp, &cid, &slot, NULL);
	fpcache_insert(c, 4, d, 100, 0);
	ok(fpcache_containers(c) == 3 && !fpcache_has_container(c, 2) &&
	   fpcache_has_container(c, 1) && fpcache_has_container(c, 3) &&
	   fpcache_has_container(c, 4),
	   "the least recently used container (2) is evicted, the recently "
	   "looked-up one (1) survives");
	ok(hits(c, b, 100) == 0 && fpcache_fingerprints(c) == 300,
	   "the evicted container's fingerprints all miss");
	ok(misses(c, a, 100, 1) + misses(c, cc, 100, 3) +
	   misses(c, d, 100, 4) == 0, "the others still hit");

	/* Order: 4 3 1 (the misses() calls touched 1, 3, 4 in that order).
	 * A hit on one fingerprint of 1 makes 3 the oldest. */
	fpcache_lookup(c, &a[0].fp, &cid, &slot, NULL);
	fpcache_lookup(c, &d[99].fp, &cid, &slot, NULL);
	fpcache_insert(c, 5, e, 100, 0);
	ok(!fpcache_has_container(c, 3) && fpcache_has_container(c, 1) &&
	   fpcache_has_container(c, 4) && fpcache_has_container(c, 5),
	   "a second eviction follows the new order (3 goes)");

	/* Re-inserting a cached cid replaces its fingerprints. */
	fpcache_insert(c, 5, b, 50, 0);
	ok(fpcache_containers(c) == 3 && hits(c, e, 100) == 0 &&
	   misses(c, b, 50, 5) == 0 && fpcache_fingerprints(c) == 250,
	   "re-inserting a cid replaces its fingerprints without evicting");

	fpcache_remove(c, 1);
	ok(!fpcache_has_container(c, 1) && hits(c, a, 100) == 0 &&
	   fpcache_containers(c) == 2 && fpcache_fingerprints(c) == 150,
	   "fpcache_remove drops a container and its fingerprints");
	fpcache_remove(c, 12345);
	ok(fpcache_containers(c) == 2 && misses(c, d, 100, 4) == 0,
	   "removing an unknown cid changes nothing");
	fpcache_free(c);
	fpcache_free(NULL);
	free(a), free(b), free(cc), free(d), free(e);
}

static void test_pinned(void)
{
	enum { NAPP = 1000 };
	ctr_entry *p = make_ents(50), *app = make_ents(NAPP), *x;
	fpcache *c = NULL;
	int bad = 0;

	if (fpcache_new(&c, 2) != 0)
		tap_bail("fpcache_new");
	fpcache_insert(c, 100, p, 50, 1);
	x = make_ents(10);
	for (uint64_t cid = 1; cid <= 20; cid++) {
		for (int i = 0; i < 10; i++)
			rnd_fp(&x[i].fp);
		fpcache_insert(c, cid, x, 10, 0);
	}
	ok(fpcache_has_container(c, 100) && misses(c, p, 50, 100) == 0,
	   "a pinned container survives 20 insertions into a 2-container "
	   "cache");
	ok(fpcache_containers(c) == 3 && fpcache_fingerprints(c) == 70,
	   "pinned containers do not count against the limit (3 held, "
	   "%zu)", fpcache_containers(c));

	/* The open container grows one segment at a time. */
	for (int i = 0; i < NAPP; i++)
		bad += fpcache_append(c, 100, &app[i].fp, app[i].raw_len) != 0;
	ok(bad == 0, "fpcache_append adds %d fingerprints to the pinned "
	   "container", NAPP);
	bad = 0;
	for (int i = 0; i < NAPP; i++) {
		uint64_t cid;
		uint32_t slot, len;

		if (fpcache_lookup(c, &app[i].fp, &cid, &slot, &len) != 1 ||
		    cid != 100 || slot != 50u + (uint32_t)i ||
		    len != app[i].raw_len)
			bad++;
	}
	ok(bad == 0 && misses(c, p, 50, 100) == 0 &&
	   fpcache_fingerprints(c) == 70 + NAPP,
	   "appended fingerprints hit at the next slots with their raw "
	   "lengths, the first 50 still hit (%d wrong)", bad);
	ok(fpcache_append(c, 999, &app[0].fp, 1) == -ENOENT,
	   "appending to an uncached container gives -ENOENT");

	/* Unpinning makes it an ordinary, most recent member: the cache is
	 * now over its limit and the oldest unpinned one goes. */
	fpcache_pin(c, 100, 0);
	ok(fpcache_containers(c) == 2 && fpcache_has_container(c, 100) &&
	   fpcache_has_container(c, 20) && !fpcache_has_container(c, 19),
	   "unpinning over the limit evicts the oldest other container");
	fpcache_insert(c, 21, x, 5, 0);
	ok(fpcache_has_container(c, 100) && !fpcache_has_container(c, 20),
	   "the unpinned container is most recent after unpinning");
	fpcache_pin(c, 100, 1);
	fpcache_insert(c, 22, x, 5, 0);
	fpcache_insert(c, 23, x, 5, 0);
	fpcache_insert(c, 24, x, 5, 0);
	ok(fpcache_has_container(c, 100) && fpcache_containers(c) == 3,
	   "re-pinned, it survives again");

	/* A truthy pinned flag other than 1: fpcache_pin(.., 1) must see that
	 * it is already pinned and leave the LRU list alone. */
	fpcache_remove(c, 100);
	fpcache_insert(c, 200, p, 50, 2);
	fpcache_pin(c, 200, 1);
	for (uint64_t cid = 30; cid < 40; cid++) {
		for (int i = 0; i < 10; i++)
			rnd_fp(&x[i].fp);
		fpcache_insert(c, cid, x, 10, 0);
	}
	ok(fpcache_containers(c) == 3 && fpcache_has_container(c, 200) &&
	   fpcache_has_container(c, 39) && fpcache_has_container(c, 38),
	   "insert(pinned=2) then pin(1): the limit still holds (%zu "
	   "containers)", fpcache_containers(c));

	/* The open container starts empty. */
	fpcache_insert(c, 300, NULL, 0, 1);
	bad = 0;
	for (int i = 0; i < 100; i++)
		bad += fpcache_append(c, 300, &app[i].fp, app[i].raw_len) != 0;
	ok(bad == 0 && misses(c, app, 100, 300) == 0,
	   "an empty pinned container grows by fpcache_append");
	fpcache_free(c);
	free(p), free(app), free(x);
}

/* Many containers of ~500 fingerprints: the table grows from 16k slots,
 * evictions and removals shift entries back, and every answer stays exact. */
static void test_many(void)
{
	enum { NC = 200, KEEP = 64 };
	ctr_entry *e[NC];
	uint32_t n[NC];
	fpcache *c = NULL;
	size_t total = 0;
	int bad = 0, found = 0;

	if (fpcache_new(&c, KEEP) != 0)
		tap_bail("fpcache_new");
	for (int i = 0; i < NC; i++) {
		n[i] = 450 + (uint32_t)(rnd64() % 101);
		e[i] = make_ents(n[i]);
		if (fpcache_insert(c, 1000 + (uint64_t)i, e[i], n[i], 0) != 0)
			bad++;
	}
	ok(bad == 0, "%d containers of 450..550 fingerprints inserted", NC);
	for (int i = NC - KEEP; i < NC; i++)
		total += n[i];
	ok(fpcache_containers(c) == KEEP && fpcache_fingerprints(c) == total,
	   "the cache holds the last %d containers, %zu fingerprints (got "
	   "%zu, %zu)", KEEP, total, fpcache_containers(c),
	   fpcache_fingerprints(c));
	bad = 0;
	for (int i = NC - KEEP; i < NC; i++)
		bad += misses(c, e[i], n[i], 1000 + (uint64_t)i);
	for (int i = 0; i < NC - KEEP; i++)
		found += hits(c, e[i], n[i]);
	ok(bad == 0 && found == 0, "all %zu cached fingerprints hit with the "
	   "right slot, none of the evicted ones do (%d wrong, %d stale)",
	   total, bad, found);

	/* Remove every other cached container. */
	for (int i = NC - KEEP; i < NC; i += 2) {
		fpcache_remove(c, 1000 + (uint64_t)i);
		total -= n[i];
	}
	bad = found = 0;
	for (int i = NC - KEEP; i < NC; i++) {
		if (i % 2 == 0)
			found += hits(c, e[i], n[i]);
		else
			bad += misses(c, e[i], n[i], 1000 + (uint64_t)i);
	}
	ok(bad == 0 && found == 0 && fpcache_fingerprints(c) == total &&
	   fpcache_containers(c) == KEEP / 2,
	   "after removing half, the rest still hit and the removed miss "
	   "(%d wrong, %d stale)", bad, found);
	fpcache_free(c);
	for (int i = 0; i < NC; i++)
		free(e[i]);
}

/* ---- the reference model ---- */

#define MC 12		/* cids 0..MC-1 */
#define MAXK 4

struct mrec {
	int present, pinned;
	uint64_t stamp;
	uint32_t n;
	fp_t fps[1200];
};

static struct mrec model[MC];
static uint64_t clock_now;

static int model_unpinned(void)
{
	int u = 0;

	for (int i = 0; i < MC; i++)
		u += model[i].present && !model[i].pinned;
	return u;
}

static void model_evict_lru(int except)
{
	int v = -1;

	for (int i = 0; i < MC; i++)
		if (i != except && model[i].present && !model[i].pinned &&
		    (v < 0 || model[i].stamp < model[v].stamp))
			v = i;
	if (v >= 0)
		model[v].present = 0;
}

static void test_model(void)
{
	enum { OPS = 20000 };
	ctr_entry *ents = make_ents(300);
	fpcache *c = NULL;
	int wrong = 0, checks = 0;

	if (fpcache_new(&c, MAXK) != 0)
		tap_bail("fpcache_new");
	for (int op = 0; op < OPS; op++) {
		int k = (int)(rnd64() % MC);
		struct mrec *m = &model[k];
		unsigned what = (unsigned)(rnd64() % 100);

		clock_now++;
		if (what < 15) {			/* insert */
			uint32_t n = (uint32_t)(rnd64() % 300);
			int pin = rnd64() % 4 == 0;

			for (uint32_t i = 0; i < n; i++)
				rnd_fp(&ents[i].fp);
			m->present = 0;
			if (!pin && model_unpinned() >= MAXK)
				model_evict_lru(-1);
			m->present = 1;
			m->pinned = pin;
			m->stamp = clock_now;
			m->n = n;
			for (uint32_t i = 0; i < n; i++)
				m->fps[i] = ents[i].fp;
			wrong += fpcache_insert(c, (uint64_t)k, ents, n,
						pin) != 0;
		} else if (what < 25) {		/* append */
			fp_t f;
			int rc;

			rnd_fp(&f);
			rc = fpcache_append(c, (uint64_t)k, &f, 1);
			if (!m->present) {
				wrong += rc != -ENOENT;
			} else if (m->n < 1200) {
				wrong += rc != 0;
				m->fps[m->n++] = f;
			} else {
				fpcache_remove(c, (uint64_t)k);
				m->present = 0;
			}
		} else if (what < 30) {		/* pin / unpin */
			int pin = (int)(rnd64() % 2);

			fpcache_pin(c, (uint64_t)k, pin);
			if (m->present && m->pinned != pin) {
				m->pinned = pin;
				if (!pin) {
					m->stamp = clock_now;
					if (model_unpinned() > MAXK)
						model_evict_lru(k);
				}
			}
		} else if (what < 33) {		/* remove */
			fpcache_remove(c, (uint64_t)k);
			m->present = 0;
		} else if (m->present && m->n > 0) {	/* lookup a member */
			uint32_t s = (uint32_t)(rnd64() % m->n);
			uint64_t cid = 0;
			uint32_t slot = 0;

			if (fpcache_lookup(c, &m->fps[s], &cid, &slot,
					   NULL) != 1 ||
			    cid != (uint64_t)k || slot != s)
				wrong++;
			if (!m->pinned)
				m->stamp = clock_now;
			checks++;
		} else {				/* lookup a stranger */
			fp_t f;
			uint64_t cid;
			uint32_t slot;

			rnd_fp(&f);
			wrong += fpcache_lookup(c, &f, &cid, &slot, NULL) != 0;
			checks++;
		}
		/* The set of cached containers must match after every op. */
		for (int i = 0; i < MC; i++)
			wrong += fpcache_has_container(c, (uint64_t)i) !=
				 model[i].present;
	}
	{
		size_t nfp = 0, ncont = 0;

		for (int i = 0; i < MC; i++)
			if (model[i].present) {
				ncont++;
				nfp += model[i].n;
				for (uint32_t s = 0; s < model[i].n; s++) {
					uint64_t cid = 0;
					uint32_t slot = 0;

					if (fpcache_lookup(c, &model[i].fps[s],
							   &cid, &slot,
							   NULL) != 1 ||
					    cid != (uint64_t)i || slot != s)
						wrong++;
				}
			}
		wrong += fpcache_containers(c) != ncont;
		wrong += fpcache_fingerprints(c) != nfp;
	}
	ok(wrong == 0, "%d random operations (%d lookups) agree with a "
	   "reference LRU model (%d disagreements)", OPS, checks, wrong);
	fpcache_free(c);
	free(ents);
}

int main(void)
{
	rnd_seed(0xFEEDFACE5EEDull);
	test_lru();
	test_pinned();
	test_many();
	test_model();
	return tap_done();
}
