/* store_gc.c - the segment store's half of cleaning: pinning what writers
 * were told exists, measuring how live each old container is, copying live
 * segments forward and dropping containers (index first, in one synced
 * batch, then their fragments). The cleaner in engine/clean.c decides what
 * is live; the ordering rules that make it safe are in store_gc.h. */
#include "store_gc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddterr.h"
#include "frag.h"
#include "path.h"
#include "store_int.h"

#define FORWARD_BATCH 64	/* segments appended per hold of the lock */

int store_gc_begin(store *s, uint64_t *out_boundary)
{
	bloom *told = NULL;
	uint64_t b;
	fpset *p;
	int rc;

	rc = fpset_new(&p);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	b = bloom_capacity(s->bl);
	pthread_mutex_unlock(&s->lock);
	if ((rc = bloom_new(&told, b)) < 0) {
		fpset_free(p);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	if (s->gc.pins) {
		pthread_mutex_unlock(&s->lock);
		fpset_free(p);
		bloom_free(told);
		return ddterr_set(-EBUSY, "cleaning is running already");
	}
	s->gc.pins = p;
	s->gc.pin_failed = 0;
	s->gc.gc_told = s->gc.told;
	s->gc.told = told;
	b = s->sq.open->b.cid;
	for (int i = 0; i < s->sq.nqueue; i++)
		if (s->sq.queue[i]->b.cid < b)
			b = s->sq.queue[i]->b.cid;
	pthread_mutex_unlock(&s->lock);
	*out_boundary = b;
	return 0;
}

void store_gc_end(store *s)
{
	bloom *told;
	fpset *p;

	pthread_mutex_lock(&s->lock);
	p = s->gc.pins;
	s->gc.pins = NULL;
	told = s->gc.gc_told;
	s->gc.gc_told = NULL;
	pthread_mutex_unlock(&s->lock);
	fpset_free(p);
	bloom_free(told);
}

/* Under the lock: whether a writer has been told fp exists since the
 * clean before this one began. */
static int pinned_locked(const store *s, const fp_t *fp)
{
	return s->gc.pin_failed || (s->gc.pins && fpset_has(s->gc.pins, fp)) ||
	       (s->gc.gc_told && bloom_maybe(s->gc.gc_told, fp));
}

/* 1 if the index places fp at (cid, slot), 0 if elsewhere or nowhere. */
static int located(store *s, const fp_t *fp, uint64_t cid, uint32_t slot)
{
	uint64_t c;
	uint32_t sl;
	int rc = idx_get_fp(s->ix, fp, &c, &sl);

	if (rc <= 0)
		return rc;
	return c == cid && sl == slot;
}

/* Mark the entries of container cid that the index places elsewhere (or
 * nowhere) as moved in its record, so that no lookup is answered from
 * them again: a copy left behind by copy-forward (its container was kept,
 * or a crash came before the drop). Without this, the locality cache could
 * serve such a copy after its segment's real home was cleaned, and a
 * writer would commit a file to a segment the next clean cannot see.
 * Under the lock, so that the cache reload and the record agree. */
static int tombstone_stale(store *s, uint64_t cid, uint32_t *out_n)
{
	uint32_t n = 0;
	idx_ctr c = { 0 };
	int rc;

	*out_n = 0;
	pthread_mutex_lock(&s->lock);
	rc = idx_get_ctr(s->ix, cid, 1, &c);
	for (uint32_t i = 0; rc == 0 && i < c.nseg; i++) {
		if (c.ents[i].moved)
			continue;
		rc = located(s, &c.ents[i].fp, cid, i);
		if (rc == 0) {
			c.ents[i].moved = 1;
			n++;
		}
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && n) {
		rc = idx_put_ctr(s->ix, &c);
		fpcache_remove(s->fc, cid);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == -ENOENT)
		rc = 0;		/* dropped meanwhile */
	idx_ctr_free(&c);
	*out_n = n;
	return rc;
}

/* alive[i]: entry i is this segment's indexed copy and live (the
 * cleaner's mark, a pin, or told since the last clean began). *out_stale
 * counts entries neither moved nor indexed here. */
static int find_alive(store *s, uint64_t cid, const ctr_entry *e, uint32_t n,
		      store_live_fn live, void *larg, uint8_t *alive,
		      uint32_t *out_stale)
{
	uint32_t stale = 0;
	int rc;

	for (uint32_t i = 0; i < n; i++) {
		alive[i] = 0;
		if (e[i].moved)
			continue;
		rc = located(s, &e[i].fp, cid, i);
		if (rc < 0)
			return rc;
		stale += rc == 0;
		alive[i] = rc == 1 && live(larg, &e[i].fp) ? 1 : rc == 1 ? 2 : 0;
	}
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < n; i++)
		if (alive[i] == 2)
			alive[i] = pinned_locked(s, &e[i].fp);
	pthread_mutex_unlock(&s->lock);
	if (out_stale)
		*out_stale = stale;
	return 0;
}

static uint64_t physical_of(const idx_ctr *c)
{
	return (uint64_t)(c->k + c->m) * frag_file_len(c->frag_len);
}

typedef struct scan_ctx {
	store *s;
	uint64_t boundary;
	store_live_fn live;
	void *larg;
	store_gc_ctr_cb cb;
	void *arg;
	uint8_t *alive;
	uint32_t cap;
} scan_ctx;

static int scan_one(void *arg, const idx_ctr *c)
{
	scan_ctx *x = arg;
	store_gc_ctr g = { .cid = c->cid, .nseg = c->nseg };
	uint32_t stale;
	int rc;

	if (c->cid >= x->boundary)
		return 1;
	if (c->nseg > x->cap) {
		uint8_t *p = realloc(x->alive, c->nseg);

		if (!p)
			return -ENOMEM;
		x->alive = p;
		x->cap = c->nseg;
	}
	rc = find_alive(x->s, c->cid, c->ents, c->nseg, x->live, x->larg,
			x->alive, &stale);
	if (rc == 0 && stale)
		rc = tombstone_stale(x->s, c->cid, &stale);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < c->nseg; i++) {
		g.stored_bytes += c->ents[i].stored_len;
		if (x->alive[i]) {
			g.live_segs++;
			g.live_bytes += c->ents[i].stored_len;
		}
	}
	g.physical_bytes = physical_of(c);
	return x->cb(x->arg, &g);
}

int store_gc_scan(store *s, uint64_t boundary, store_live_fn live,
		  void *larg, store_gc_ctr_cb cb, void *arg)
{
	scan_ctx x = { .s = s, .boundary = boundary, .live = live,
		       .larg = larg, .cb = cb, .arg = arg };
	int rc = idx_foreach_ctr(s->ix, 0, 1, scan_one, &x);

	free(x.alive);
	return rc > 0 ? 0 : rc;
}

/* Append entries [from, to) of v that are alive and still indexed in cid to
 * the open container, under the lock. */
static int forward_some(store *s, const ctr_view *v, const uint8_t *alive,
			uint32_t from, uint32_t to, put_sync *ps,
			uint64_t *bytes)
{
	uint64_t c;
	uint32_t sl;
	int rc = 0, checked = 0;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = from; i < to && rc == 0; i++) {
		const ctr_entry *e = &v->ents[i];
		store_seg g = { .fp = e->fp };
		ctr_seg cs;

		if (!alive[i])
			continue;
		/* A segment of a region goes forward raw; the new container's
		 * sealing packs it again. */
		rc = ctr_view_seg(v, i, &cs);
		if (rc < 0)
			break;
		g.codec = cs.codec;
		g.raw_len = cs.raw_len;
		g.stored_len = cs.len;
		g.data = cs.data;
		rc = store_lookup_locked(s, &e->fp, &c, &sl);
		if (rc < 0)
			break;
		rc = 0;
		if (c != v->cid)
			continue;	/* copied forward already */
		if (!checked++ && (rc = store_check_space(s, 1)) < 0)
			break;
		rc = store_append_locked(s, &g, ps);
		if (rc == 0)
			*bytes += cs.len;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_gc_forward(store *s, uint64_t cid, store_live_fn live, void *larg,
		     uint64_t *out_bytes)
{
	put_sync ps = { .n = 0 };
	uint8_t *buf = NULL, *alive = NULL;
	ctr_view v = { 0 };
	int rc, rc2, rebuilt = 0;

	*out_bytes = 0;
	rc = store_load_container(s, cid, &buf, &v, &rebuilt);
	if (rc < 0)
		return rc;
	alive = malloc(v.nseg ? v.nseg : 1);
	if (!alive) {
		rc = -ENOMEM;
		goto out;
	}
	rc = find_alive(s, cid, v.ents, v.nseg, live, larg, alive, NULL);
	for (uint32_t i = 0; rc == 0 && i < v.nseg; i += FORWARD_BATCH)
		rc = forward_some(s, &v, alive, i,
				  i + FORWARD_BATCH < v.nseg ?
				  i + FORWARD_BATCH : v.nseg, &ps, out_bytes);
	/* Whatever was appended is findable: make it durable in any case. */
	rc2 = store_sync_all(&ps);
	if (rc == 0)
		rc = rc2;
out:
	free(alive);
	ctr_view_free(&v);
	free(buf);
	return rc;
}

/* ---- dropping ---- */

typedef struct doomed {
	uint64_t cid;
	uint64_t raw, stored, physical;
	uint32_t nseg, k, m;
	fp_t *dying;		/* entries still indexed here */
	uint32_t ndying;
	int kept;		/* not to be dropped (see drop_batch) */
} doomed;

/* The entries of container cid that the index still places there; kept
 * if one of them is live (it was not copied forward). */
static int collect_dying(store *s, uint64_t cid, store_live_fn live,
			 void *larg, doomed *d)
{
	idx_ctr c;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = idx_get_ctr(s->ix, cid, 1, &c);
	if (rc < 0)
		return rc;
	d->cid = cid;
	d->raw = c.raw_bytes;
	d->stored = c.stored_bytes;
	d->physical = physical_of(&c);
	d->nseg = c.nseg;
	d->k = c.k;
	d->m = c.m;
	d->dying = malloc((c.nseg ? c.nseg : 1) * sizeof(fp_t));
	if (!d->dying) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < c.nseg && rc == 0; i++) {
		if (c.ents[i].moved)
			continue;
		rc = located(s, &c.ents[i].fp, cid, i);
		if (rc == 1 && live(larg, &c.ents[i].fp)) {
			d->kept = 1;
			rc = 0;
			break;
		}
		if (rc == 1)
			d->dying[d->ndying++] = c.ents[i].fp;
		if (rc > 0)
			rc = 0;
	}
out:
	idx_ctr_free(&c);
	return rc;
}

/* Under the lock: whether a writer has been told since that one of d's
 * dying segments exists. */
static int pinned_since(const store *s, const doomed *d)
{
	for (uint32_t i = 0; i < d->ndying; i++)
		if (pinned_locked(s, &d->dying[i]))
			return 1;
	return 0;
}

/* Remove the doomed from the index in one synced batch, holding the lock
 * so that no lookup sees a dying segment between the pin check and the
 * write. */
static int drop_batch(store *s, doomed *d, size_t n, store_gc_drop_report *r)
{
	const char *names[1] = { "stats" };
	uint8_t statbuf[8 * STATS_WORDS];
	const void *vals[1] = { statbuf };
	const size_t lens[1] = { sizeof(statbuf) };
	uint64_t *cids = malloc((n ? n : 1) * sizeof(*cids));
	size_t nfps = 0, ncids = 0, at = 0;
	fp_t *fps;
	sums next;
	int rc;

	for (size_t i = 0; i < n; i++)
		nfps += d[i].ndying;
	fps = malloc((nfps ? nfps : 1) * sizeof(*fps));
	if (!cids || !fps) {
		free(cids);
		free(fps);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->seal_mu);
	pthread_mutex_lock(&s->lock);
	next = s->sealed;
	for (size_t i = 0; i < n; i++) {
		if (!d[i].kept && pinned_since(s, &d[i]))
			d[i].kept = 1;
		if (d[i].kept) {
			r->kept++;
			continue;
		}
		cids[ncids++] = d[i].cid;
		memcpy(fps + at, d[i].dying, d[i].ndying * sizeof(fp_t));
		at += d[i].ndying;
		next.raw -= d[i].raw;
		next.stored -= d[i].stored;
		next.physical -= d[i].physical;
		next.segments -= d[i].nseg;
		next.containers--;
	}
	store_sums_encode(&next, statbuf);
	rc = ncids ? idx_drop(s->ix, cids, ncids, fps, at, 1, names, vals,
			      lens) : 0;
	if (rc == 0 && ncids) {
		next.logical = s->sealed.logical;
		s->sealed = next;
		for (size_t i = 0; i < ncids; i++) {
			fpcache_remove(s->fc, cids[i]);
			ctrcache_drop(s->cc, cids[i]);
		}
		s->gc.drops += ncids;
		r->dropped += (uint32_t)ncids;
		r->segments += at;
		for (size_t i = 0; i < n; i++)
			if (!d[i].kept)
				r->physical_bytes += d[i].physical;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->seal_mu);
	free(cids);
	free(fps);
	return rc;
}

/* The index no longer knows d: its fragments are garbage. A failed unlink
 * leaves an orphan for store_gc_orphans() to find. */
static void unlink_fragments(store *s, const doomed *d)
{
	char path[PATH_MAX];

	for (uint32_t i = 0; i < d->k + d->m; i++) {
		ctrio_frag_path(&s->L, d->cid, (int)i, path, sizeof(path));
		(void)unlink(path);
	}
}

int store_gc_drop(store *s, const uint64_t *cids, size_t n,
		  store_live_fn live, void *larg, store_gc_drop_report *out)
{
	doomed *d = calloc(n ? n : 1, sizeof(*d));
	size_t nd = 0;
	uint32_t moved;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOMEM;
	/* What was copied forward must be indexed in its new home first. */
	rc = store_flush(s);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = collect_dying(s, cids[i], live, larg, &d[nd]);
		if (rc < 0) {
			free(d[nd].dying);
			if (rc == -ENOENT)	/* gone already */
				rc = 0;
			continue;
		}
		nd++;
	}
	if (rc == 0)
		rc = drop_batch(s, d, nd, out);
	for (size_t i = 0; i < nd; i++) {
		/* A kept container still holds the copies made forward
		 * from it; a dropped one's fragments are garbage. */
		if (rc == 0 && d[i].kept)
			rc = tombstone_stale(s, d[i].cid, &moved);
		else if (rc == 0)
			unlink_fragments(s, &d[i]);
		free(d[i].dying);
	}
	free(d);
	return rc;
}

/* ---- orphans ---- */

static int is_frag_name(const char *name, uint64_t *cid)
{
	char *end;

	if (strlen(name) != 16 + 5 || strcmp(name + 16, ".frag") != 0)
		return 0;
	errno = 0;
	*cid = strtoull(name, &end, 16);
	return errno == 0 && end == name + 16;
}

static int sweep_subdir(store *s, const char *sub, uint64_t boundary,
			uint64_t *files, uint64_t *bytes)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	uint64_t cid;
	idx_ctr c;
	DIR *d = opendir(sub);
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : ddterr_set(-errno, "cleaning: "
				"cannot list %s: %s", sub, strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!is_frag_name(de->d_name, &cid) || cid >= boundary)
			continue;
		rc = idx_get_ctr(s->ix, cid, 0, &c);
		if (rc != -ENOENT)
			continue;	/* known (rc 0), or a read error: skip */
		rc = 0;
		if (path_fmt(path, sizeof(path), "%s/%s", sub, de->d_name) < 0)
			continue;
		if (stat(path, &st) == 0 && unlink(path) == 0) {
			(*files)++;
			*bytes += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return rc;
}

int store_gc_orphans(store *s, uint64_t boundary, uint64_t *out_files,
		     uint64_t *out_bytes)
{
	char sub[PATH_MAX];
	struct dirent *de;
	int rc = 0;

	*out_files = *out_bytes = 0;
	for (int i = 0; rc == 0 && i < s->ndirs; i++) {
		DIR *d = opendir(s->dirs[i]);

		if (!d)
			continue;	/* a missing disk: scrub's business */
		while (rc == 0 && (de = readdir(d)) != NULL) {
			if (strlen(de->d_name) != 5 ||
			    strspn(de->d_name, "0123456789abcdef") != 5)
				continue;
			if (path_fmt(sub, sizeof(sub), "%s/%s", s->dirs[i],
				     de->d_name) < 0)
				continue;
			rc = sweep_subdir(s, sub, boundary, out_files,
					  out_bytes);
		}
		closedir(d);
	}
	return rc;
}
