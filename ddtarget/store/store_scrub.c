/* store_scrub.c - scrub and repair: read every fragment of every sealed
 * container, rebuild and rewrite what is lost or damaged, re-hash every
 * segment, and report what could not be saved.
 *
 * A fragment's CRCs catch damage done after it was written. They cannot
 * catch bytes that were wrong before the CRC was computed (a bit flipped
 * in memory, a bad DMA), nor a CRC collision. So a scrub does not stop at
 * the CRCs: it decodes the container and re-hashes every segment, and when
 * a segment fails behind fragments whose CRCs all pass, it decodes again
 * with each fragment (then each pair) left out until the segments hash
 * right; the fragment left out is the culprit. With the data proven, the
 * parity is encoded afresh and compared with what was read, which catches
 * parity damaged the same way (reads never look at parity that is not
 * needed, so nothing else would). Only then is anything rewritten.
 *
 * It runs beside writers, readers and the cleaner. The store's lock is
 * taken only for a moment (to claim the scrub, drop a stale decoded copy
 * from the read cache), never over I/O. Container ids come from the index
 * in chunks; a container whose fragments fail is looked up again, and if
 * the cleaner has deleted it meanwhile it is skipped without a word. A
 * fragment is replaced by an atomic rename, so a reader sees the old file
 * or the new one; and if the container turns out deleted after the rename,
 * the new file is removed again, so a repair never resurrects what the
 * cleaner freed (the cleaner deletes a container's record before its
 * fragments). */
#include "store_scrub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "fio.h"
#include "fmt.h"
#include "now.h"
#include "frag.h"
#include "store_int.h"
#include "store_journal.h"

#define SCRUB_CHUNK	256	/* container ids read from the index at once */
#define CULPRITS_MAX	2	/* fragments left out together, at most */

enum { FS_GOOD, FS_MISSING, FS_BAD };

/* What a repair does with a data directory, decided the first time a
 * fragment is to be rebuilt into it (store_dir_check). A directory that is
 * missing or carries no marker is the disk an administrator replaced, to
 * be filled and marked as the store's (DIR_ADOPT); unless the scrub keeps
 * missing directories missing (a scheduled one: an unmounted disk's
 * empty mount point is not the disk), then it is left alone (DIR_SKIP),
 * as is one that is not the store's at all (DIR_BAD). */
enum { DIR_UNSEEN, DIR_OURS, DIR_ADOPT, DIR_SKIP, DIR_BAD };

/* The walk's working memory, grown to the largest container met. */
typedef struct scrubbing {
	store *s;
	const store_scrub_opts *o;
	store_scrub_report *r;
	int k, m, n;
	size_t flen_cap;
	uint8_t *buf;		/* n fragments: as read, then as rebuilt */
	uint8_t *orig;		/* n fragments as read, for culprit hunts */
	uint8_t *parity;	/* m fragments encoded afresh */
	uint8_t *scratch;	/* one decompressed segment */
	double t0;
	uint8_t dir[STORE_MAX_DIRS];		/* DIR_*, by data directory */
	uint8_t dir_failed[STORE_MAX_DIRS];	/* a rewrite into it failed */
} scrubbing;

/* One container: its record, what each fragment turned out to be, and
 * what it adds to the report once we know it was not deleted meanwhile. */
typedef struct ctr_scrub {
	idx_ctr c;
	uint8_t state[EC_MAX_FRAGS];
	uint8_t *frag[EC_MAX_FRAGS];
	int good;
	uint64_t missing, corrupt, segs_bad, idx_missing;
	int unrecoverable, damaged;
} ctr_scrub;

static void note_error(scrubbing *sc, int rc)
{
	if (sc->r->errors++ == 0)
		snprintf(sc->r->error, sizeof(sc->r->error), "%s",
			 ddterr_last(rc));
}

static int add_lost(store_scrub_report *r, uint64_t cid)
{
	uint64_t *v = realloc(r->lost_cids, (r->nlost + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[r->nlost++] = cid;
	r->lost_cids = v;
	return 0;
}

/* 1 if cid is still indexed, 0 if the cleaner deleted it, or an error. */
static int still_indexed(scrubbing *sc, uint64_t cid)
{
	idx_ctr c;
	int rc = idx_get_ctr(sc->s->ix, cid, 0, &c);

	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

static int grow(scrubbing *sc, uint32_t flen)
{
	size_t n = (size_t)sc->n;

	if (flen <= sc->flen_cap)
		return 0;
	free(sc->buf);
	free(sc->orig);
	free(sc->parity);
	sc->buf = malloc(n * flen);
	sc->orig = malloc(n * flen);
	sc->parity = malloc((size_t)(sc->m ? sc->m : 1) * flen);
	if (!sc->buf || !sc->orig || !sc->parity) {
		sc->flen_cap = 0;
		return -ENOMEM;
	}
	sc->flen_cap = flen;
	return 0;
}

/* ---- reading ---- */

static int read_frags(scrubbing *sc, ctr_scrub *cs)
{
	const idx_ctr *c = &cs->c;
	char path[4096];
	int rc;

	for (int i = 0; i < sc->n; i++) {
		cs->frag[i] = sc->buf + (size_t)i * c->frag_len;
		rc = ctrio_read_frag(&sc->s->L, c->cid, i, c->container_len,
				     c->frag_len, cs->frag[i]);
		if (rc == -ENOMEM)
			return rc;
		sc->r->fragments_checked++;
		if (rc == -ENOENT || rc == -ENOTDIR) {
			cs->state[i] = FS_MISSING;
			cs->missing++;
			continue;
		}
		sc->r->bytes_read += frag_file_len(c->frag_len);
		ctrio_frag_path(&sc->s->L, c->cid, i, path, sizeof(path));
		(void)fio_drop_cache(path);
		if (rc < 0) {
			cs->state[i] = FS_BAD;
			cs->corrupt++;
		} else {
			cs->state[i] = FS_GOOD;
			cs->good++;
		}
	}
	return 0;
}

/* ---- checking ---- */

/* How many of the container's segments do not hash to their names (all of
 * them if the container does not even parse); 0 when it is sound. *view
 * is filled when it parses (free it). */
static uint64_t bad_segments(scrubbing *sc, const idx_ctr *c, ctr_view *view)
{
	uint64_t bad = 0;
	fp_t got;

	if (ctr_parse(sc->buf, c->container_len, c->cid, view) < 0)
		return c->nseg ? c->nseg : 1;
	for (uint32_t i = 0; i < view->nseg; i++) {
		const ctr_entry *e = &view->ents[i];
		ctr_seg g;

		if (ctr_view_seg(view, i, &g) < 0 ||
		    codec_decompress(g.codec, g.data, g.len, sc->scratch,
				     g.raw_len) < 0 ||
		    fp_compute(&got, sc->scratch, e->raw_len) < 0 ||
		    !fp_equal(&got, &e->fp))
			bad++;
		else if (sc->o->segment)
			sc->o->segment(sc->o->segment_arg, &e->fp, sc->scratch,
				       e->raw_len);
	}
	return bad;
}

/* Rebuild the fragments not marked present; 0 or -EIO. */
static int rebuild(scrubbing *sc, ctr_scrub *cs, const uint8_t *present)
{
	int lost = 0;

	for (int i = 0; i < sc->n; i++)
		lost += !present[i];
	if (lost == 0)
		return 0;
	return ec_reconstruct(sc->s->e, cs->c.frag_len, cs->frag, present);
}

/* The next set of t good fragments after *mask (0: the first), as a bit
 * mask; 0 when there are no more. */
static unsigned next_subset(const ctr_scrub *cs, int n, int t, unsigned mask)
{
	for (mask++; mask < (1u << n); mask++) {
		int cnt = 0, ok = 1;

		for (int i = 0; i < n && ok; i++)
			if (mask & (1u << i)) {
				ok = cs->state[i] == FS_GOOD;
				cnt++;
			}
		if (ok && cnt == t)
			return mask;
	}
	return 0;
}

/* Segments fail behind good CRCs: find the fragments that lie by decoding
 * without them, one at a time, then two. On success buf holds the sound
 * container, the culprits are marked corrupt and 1 is returned; 0 if no
 * such set exists (or m = 0); or -errno. */
static int hunt_culprits(scrubbing *sc, ctr_scrub *cs, ctr_view *view)
{
	const idx_ctr *c = &cs->c;
	size_t all = (size_t)sc->n * c->frag_len;
	uint8_t present[EC_MAX_FRAGS];
	int spare = cs->good - sc->k;

	memcpy(sc->orig, sc->buf, all);
	for (int t = 1; t <= spare && t <= CULPRITS_MAX; t++) {
		unsigned mask = 0;

		while ((mask = next_subset(cs, sc->n, t, mask)) != 0) {
			memcpy(sc->buf, sc->orig, all);
			for (int i = 0; i < sc->n; i++)
				present[i] = cs->state[i] == FS_GOOD &&
					     !(mask & (1u << i));
			if (rebuild(sc, cs, present) < 0)
				continue;
			ctr_view_free(view);
			if (bad_segments(sc, c, view) != 0)
				continue;
			for (int i = 0; i < sc->n; i++)
				if (mask & (1u << i)) {
					cs->state[i] = FS_BAD;
					cs->corrupt++;
					cs->good--;
				}
			return 1;
		}
	}
	/* Leave buf as it was read, for nothing is rewritten from it. */
	memcpy(sc->buf, sc->orig, all);
	return 0;
}

/* With the data proven, make buf exactly what a seal would have written:
 * zero padding after the container, parity encoded from the data. A good
 * fragment that differs from that was damaged behind its CRC. */
static int canonicalize(scrubbing *sc, ctr_scrub *cs)
{
	const idx_ctr *c = &cs->c;
	uint32_t flen = c->frag_len;
	uint8_t *par[EC_MAX_FRAGS];
	int rc;

	for (int i = 0; i < sc->k; i++) {
		uint64_t lo = (uint64_t)i * flen, hi = lo + flen;
		int dirty = 0;

		if (hi <= c->container_len)
			continue;
		lo = lo > c->container_len ? lo : c->container_len;
		for (uint64_t b = lo; b < hi && !dirty; b++)
			dirty = sc->buf[b] != 0;
		if (!dirty)
			continue;
		memset(sc->buf + lo, 0, hi - lo);
		if (cs->state[i] == FS_GOOD) {
			cs->state[i] = FS_BAD;
			cs->corrupt++;
			cs->good--;
		}
	}
	if (sc->m == 0)
		return 0;
	for (int j = 0; j < sc->m; j++)
		par[j] = sc->parity + (size_t)j * flen;
	rc = ec_encode(sc->s->e, flen, cs->frag, par);
	if (rc < 0)
		return rc;
	for (int j = 0; j < sc->m; j++) {
		int i = sc->k + j;

		if (cs->state[i] == FS_GOOD &&
		    memcmp(cs->frag[i], par[j], flen) != 0) {
			cs->state[i] = FS_BAD;
			cs->corrupt++;
			cs->good--;
		}
		memcpy(cs->frag[i], par[j], flen);
	}
	return 0;
}

/* Every segment must be findable: its fingerprint indexed here (or in a
 * newer container, where the cleaner copied it), and the container's own
 * directory must agree with its index record. */
static int check_index(scrubbing *sc, ctr_scrub *cs, const ctr_view *view)
{
	const idx_ctr *c = &cs->c;
	uint64_t cid;
	uint32_t slot;
	int rc;

	for (uint32_t i = 0; i < c->nseg; i++) {
		const ctr_entry *e = &c->ents[i];

		rc = idx_get_fp(sc->s->ix, &e->fp, &cid, &slot);
		if (rc < 0)
			return rc;
		if (rc == 0 || (cid == c->cid && (slot >= c->nseg ||
		    !fp_equal(&c->ents[slot].fp, &e->fp))))
			cs->idx_missing++;
		if (i < view->nseg &&
		    (!fp_equal(&view->ents[i].fp, &e->fp) ||
		     view->ents[i].off != e->off ||
		     view->ents[i].stored_len != e->stored_len ||
		     view->ents[i].raw_len != e->raw_len ||
		     view->ents[i].codec != e->codec ||
		     view->ents[i].region != e->region))
			cs->idx_missing++;
	}
	if (view->nseg != c->nseg)
		cs->idx_missing += view->nseg > c->nseg ?
				   view->nseg - c->nseg : c->nseg - view->nseg;
	return 0;
}

/* Decode, verify, canonicalize and check one container whose fragments
 * have been read. */
static int check_container(scrubbing *sc, ctr_scrub *cs)
{
	uint8_t present[EC_MAX_FRAGS];
	ctr_view view = { 0 };
	uint64_t bad;
	int rc;

	if (cs->good < sc->k) {
		cs->unrecoverable = 1;
		return 0;
	}
	for (int i = 0; i < sc->n; i++)
		present[i] = cs->state[i] == FS_GOOD;
	rc = rebuild(sc, cs, present);
	if (rc < 0)
		return rc;
	bad = bad_segments(sc, &cs->c, &view);
	if (bad) {
		cs->segs_bad = bad;
		rc = hunt_culprits(sc, cs, &view);
		if (rc <= 0) {
			cs->damaged = 1;
			goto out;
		}
	}
	sc->r->segments_checked += cs->c.nseg;
	rc = canonicalize(sc, cs);
	if (rc == 0)
		rc = check_index(sc, cs, &view);
out:
	ctr_view_free(&view);
	return rc;
}

/* ---- repairing ---- */

/* The DIR_* of data directory d, decided now if it is not yet; a
 * missing one to adopt is made again first. */
static int dir_plan(scrubbing *sc, int d)
{
	int rc;

	if (sc->dir[d] != DIR_UNSEEN)
		return sc->dir[d];
	rc = store_dir_check(sc->s, d);
	if (rc == 0) {
		sc->dir[d] = DIR_OURS;
	} else if (rc == -ENOENT || rc == -ENODATA) {
		if (sc->o->keep_missing_dirs)
			sc->dir[d] = DIR_SKIP;	/* for the administrator */
		else if (rc == -ENOENT &&
			 (rc = store_dir_restore(sc->s, d)) < 0)
			sc->dir[d] = DIR_BAD;
		else
			sc->dir[d] = DIR_ADOPT;
	} else {
		sc->dir[d] = DIR_BAD;
	}
	if (sc->dir[d] == DIR_BAD)
		note_error(sc, rc);
	return sc->dir[d];
}

/* Rewrite every fragment not good; which ones were written goes into
 * wrote. */
static void repair(scrubbing *sc, ctr_scrub *cs, uint8_t *wrote)
{
	const idx_ctr *c = &cs->c;
	store *s = sc->s;
	int rc, plan;

	for (int i = 0; i < sc->n; i++) {
		int d = ctrio_dir_index(&s->L, c->cid, i);

		wrote[i] = 0;
		if (cs->state[i] == FS_GOOD)
			continue;
		plan = dir_plan(sc, d);
		if (plan == DIR_SKIP)
			continue;
		rc = plan == DIR_BAD ? -EIO :
		     ctrio_rewrite_frag(&s->L, c->cid, i, c->container_len,
					c->frag_len, cs->frag[i]);
		if (rc < 0) {
			sc->dir_failed[d] = 1;
			if (plan != DIR_BAD)	/* noted once, in dir_plan */
				note_error(sc, rc);
			continue;
		}
		wrote[i] = 1;
	}
}

/* After a whole walk that repaired: a directory that was missing or had
 * no marker and now holds every fragment it should (each one was read
 * there or rebuilt into it) is the store's again, marked as such, and the
 * alert about it clears at the next health check. One a rewrite failed
 * in waits for the next scrub. */
static void adopt_dirs(scrubbing *sc)
{
	store *s = sc->s;
	int rc;

	for (int d = 0; d < s->ndirs; d++) {
		if (sc->dir_failed[d] || (sc->dir[d] != DIR_ADOPT &&
		    (sc->dir[d] != DIR_UNSEEN || store_dir_check(s, d) !=
						 -ENODATA)))
			continue;
		rc = store_dir_adopt(s, d);
		if (rc < 0)
			note_error(sc, rc);
	}
}

/* The cleaner deleted the container while we rewrote some of it: take
 * back what we wrote, so nothing of it outlives the deletion. */
static void unwrite(scrubbing *sc, const ctr_scrub *cs, const uint8_t *wrote)
{
	char path[4096];

	for (int i = 0; i < sc->n; i++)
		if (wrote[i]) {
			ctrio_frag_path(&sc->s->L, cs->c.cid, i, path,
					sizeof(path));
			(void)fio_unlink(path);
		}
}

/* ---- one container ---- */

static int problems(const ctr_scrub *cs)
{
	return cs->missing || cs->corrupt || cs->segs_bad ||
	       cs->idx_missing || cs->unrecoverable || cs->damaged;
}

/* Add what one container found to the report. */
static int account(scrubbing *sc, const ctr_scrub *cs, const uint8_t *wrote)
{
	store_scrub_report *r = sc->r;

	r->containers_checked++;
	r->fragments_missing += cs->missing;
	r->fragments_corrupt += cs->corrupt;
	r->segments_bad += cs->segs_bad;
	r->index_missing += cs->idx_missing;
	for (int i = 0; i < sc->n; i++)
		r->fragments_rebuilt += wrote[i];
	if (cs->unrecoverable)
		r->containers_unrecoverable++;
	if (cs->damaged)
		r->containers_damaged++;
	if (cs->unrecoverable || cs->damaged)
		return add_lost(r, cs->c.cid);
	return 0;
}

/* The index record must describe a container this store can decode. */
static int record_fits(const scrubbing *sc, const idx_ctr *c)
{
	return c->k == sc->k && c->m == sc->m &&
	       ctrio_frag_len_ok(&sc->s->L, c->container_len, c->frag_len);
}

static int scrub_one(scrubbing *sc, uint64_t cid)
{
	uint8_t wrote[EC_MAX_FRAGS] = { 0 };
	ctr_scrub cs = { .good = 0 };
	int rc, live, fixable;

	rc = idx_get_ctr(sc->s->ix, cid, 1, &cs.c);
	if (rc == -ENOENT) {
		sc->r->containers_vanished++;
		return 0;
	}
	if (rc == -EBADMSG || (rc == 0 && !record_fits(sc, &cs.c))) {
		/* A damaged record: its fragments cannot be found or
		 * decoded, so the container is as good as lost. */
		if (rc == 0)
			rc = ddterr_set(-EBADMSG, "container %" PRIu64 ": index "
					"record (k=%u m=%u, %u-byte fragments) "
					"does not fit this store", cid, cs.c.k,
					cs.c.m, cs.c.frag_len);
		note_error(sc, rc);
		idx_ctr_free(&cs.c);
		sc->r->containers_checked++;
		sc->r->containers_unrecoverable++;
		return add_lost(sc->r, cid);
	}
	if (rc < 0)
		return rc;
	rc = grow(sc, cs.c.frag_len);
	if (rc == 0)
		rc = read_frags(sc, &cs);
	if (rc == 0)
		rc = check_container(sc, &cs);
	if (rc < 0)
		goto out;
	live = 1;
	if (problems(&cs)) {
		fixable = !cs.unrecoverable && !cs.damaged;
		live = still_indexed(sc, cid);
		if (live > 0 && fixable && sc->o->repair &&
		    (cs.missing || cs.corrupt)) {
			repair(sc, &cs, wrote);
			live = still_indexed(sc, cid);
			if (live == 0)
				unwrite(sc, &cs, wrote);
			pthread_mutex_lock(&sc->s->lock);
			ctrcache_drop(sc->s->cc, cid);
			pthread_mutex_unlock(&sc->s->lock);
		}
	}
	if (live < 0) {
		rc = live;
	} else if (live == 0) {
		sc->r->containers_vanished++;
	} else {
		rc = account(sc, &cs, wrote);
	}
out:
	idx_ctr_free(&cs.c);
	return rc;
}

/* ---- the walk ---- */

/* Sleep as long as it takes to keep the average read rate under the
 * limit; in short naps, so a cancel is seen soon. */
static void throttle(scrubbing *sc)
{
	uint64_t max = sc->o->max_bytes_per_sec;
	double ahead;
	struct timespec ts;

	if (!max)
		return;
	for (;;) {
		if (sc->o->cancel && *sc->o->cancel)
			return;
		ahead = (double)sc->r->bytes_read / (double)max -
			(now_mono_sec() - sc->t0);
		if (ahead <= 0)
			return;
		if (ahead > 0.2)
			ahead = 0.2;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(ahead * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Have the kernel read container cid's fragments while we check the one
 * before it: reading and checking then overlap, on one thread. */
static void prefetch(scrubbing *sc, uint64_t cid)
{
	char path[4096];

	for (int i = 0; i < sc->n; i++) {
		ctrio_frag_path(&sc->s->L, cid, i, path, sizeof(path));
		(void)fio_prefetch(path);
	}
}

static int walk(scrubbing *sc, uint64_t end)
{
	uint64_t ids[SCRUB_CHUNK], from = 0;
	size_t n;
	int rc;

	do {
		rc = idx_ctr_list(sc->s->ix, from, ids, SCRUB_CHUNK, &n);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (ids[i] >= end)
				return 0;
			if (sc->o->cancel && *sc->o->cancel)
				return ddterr_set(-ECANCELED, "scrub cancelled "
						  "after %" PRIu64 " containers",
						  sc->r->containers_checked);
			if (i + 1 < n && ids[i + 1] < end)
				prefetch(sc, ids[i + 1]);
			rc = scrub_one(sc, ids[i]);
			if (rc < 0)
				return rc;
			from = ids[i] + 1;
			sc->r->seconds = now_mono_sec() - sc->t0;
			if (sc->o->progress)
				sc->o->progress(sc->o->progress_arg, sc->r);
			throttle(sc);
		}
	} while (n == SCRUB_CHUNK);
	return 0;
}

/* The unsealed containers' journals first: a damaged copy is repaired by
 * sealing its container early, and the walk below then checks that. */
static int scrub_journals(scrubbing *sc)
{
	store_jnl_scrub js;
	int rc = store_journal_scrub(sc->s, sc->o->repair, &js);

	sc->r->journals_checked = js.journals;
	sc->r->journal_records = js.records;
	sc->r->journals_damaged = js.damaged;
	sc->r->journals_sealed = js.sealed;
	return rc;
}

int store_scrub(store *s, const store_scrub_opts *o, store_scrub_report *r)
{
	scrubbing sc = { .s = s, .o = o, .r = r };
	uint64_t end;
	int rc;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&s->lock);
	if (s->scrubbing) {
		pthread_mutex_unlock(&s->lock);
		return ddterr_set(-EBUSY, "store %s: a scrub is already running",
				  s->root);
	}
	s->scrubbing = 1;
	/* Containers sealed from now on are new: not the scrub's business,
	 * and under steady ingest the walk would otherwise never end. */
	end = s->next_cid;
	r->containers_total = s->sealed.containers;
	pthread_mutex_unlock(&s->lock);

	sc.k = ec_k(s->e);
	sc.m = ec_m(s->e);
	sc.n = sc.k + sc.m;
	sc.t0 = now_mono_sec();
	rc = scrub_journals(&sc);
	sc.scratch = malloc(CDC_MAX_LIMIT);
	if (rc == 0)
		rc = sc.scratch ? walk(&sc, end) : -ENOMEM;
	if (rc == 0 && o->repair && !o->keep_missing_dirs)
		adopt_dirs(&sc);
	r->seconds = now_mono_sec() - sc.t0;
	free(sc.scratch);
	free(sc.buf);
	free(sc.orig);
	free(sc.parity);

	pthread_mutex_lock(&s->lock);
	s->scrubbing = 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_scrub_clean(const store_scrub_report *r)
{
	return r->fragments_missing + r->fragments_corrupt ==
		       r->fragments_rebuilt &&
	       r->containers_unrecoverable == 0 &&
	       r->containers_damaged == 0 && r->index_missing == 0 &&
	       r->errors == 0 && r->journals_damaged == r->journals_sealed;
}

char *store_scrub_summary(const store_scrub_report *r, char *buf, size_t cap)
{
	char b[FMT_LEN];
	double mbs = r->seconds > 0 ? (double)r->bytes_read / 1e6 / r->seconds
				    : 0;
	size_t len;

	len = (size_t)snprintf(buf, cap, "Scrubbed %" PRIu64 " containers "
			       "(%" PRIu64 " fragments, %s) in %.1f s, %.1f "
			       "MB/s; %" PRIu64 " segments re-hashed.",
			       r->containers_checked, r->fragments_checked,
			       fmt_bytes(r->bytes_read, b), r->seconds, mbs,
			       r->segments_checked);
	if (len < cap && r->containers_vanished)
		len += (size_t)snprintf(buf + len, cap - len, " %" PRIu64
					" containers were cleaned away "
					"meanwhile.", r->containers_vanished);
	if (len < cap)
		len += (size_t)snprintf(buf + len, cap - len, " Found %" PRIu64
					" missing and %" PRIu64 " damaged "
					"fragments and %" PRIu64 " bad segments;"
					" rebuilt %" PRIu64 " fragments.",
					r->fragments_missing,
					r->fragments_corrupt, r->segments_bad,
					r->fragments_rebuilt);
	if (len < cap && (r->containers_unrecoverable || r->containers_damaged))
		len += (size_t)snprintf(buf + len, cap - len, " Data lost in %zu "
					"containers (%" PRIu64 " with too few "
					"fragments, %" PRIu64 " with bad "
					"segments).", r->nlost,
					r->containers_unrecoverable,
					r->containers_damaged);
	if (len < cap && r->journals_damaged)
		len += (size_t)snprintf(buf + len, cap - len, " %" PRIu64
					" of %" PRIu64 " unsealed containers' "
					"journals had a damaged or missing "
					"copy; %" PRIu64 " were sealed early.",
					r->journals_damaged,
					r->journals_checked,
					r->journals_sealed);
	if (len < cap && r->index_missing)
		len += (size_t)snprintf(buf + len, cap - len, " %" PRIu64
					" segments are not rightly indexed.",
					r->index_missing);
	if (len < cap && r->errors)
		len += (size_t)snprintf(buf + len, cap - len, " %" PRIu64
					" repairs failed (first: %s).",
					r->errors, r->error);
	if (len < cap)
		snprintf(buf + len, cap - len, "%s", store_scrub_clean(r) ?
			 " Nothing is left to repair." :
			 " Problems remain.");
	return buf;
}

void store_scrub_report_free(store_scrub_report *r)
{
	free(r->lost_cids);
	r->lost_cids = NULL;
	r->nlost = 0;
}

int store_ctr_fps(store *s, uint64_t cid,
		  int (*cb)(void *arg, const fp_t *fp), void *arg)
{
	idx_ctr c;
	int rc;

	rc = idx_get_ctr(s->ix, cid, 1, &c);
	if (rc == -ENOENT)
		return ddterr_set(-ENOENT, "container %" PRIu64 " is not "
				  "indexed", cid);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < c.nseg && rc == 0; i++)
		rc = cb(arg, &c.ents[i].fp);
	idx_ctr_free(&c);
	return rc;
}
