/* clean.c - the cleaner: mark what the namespace reaches, sweep what it
 * does not (see clean.h), and the commit check that has to agree with it. */
#include "clean.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "ddterr.h"
#include "fpset.h"
#include "now.h"
#include "store_gc.h"
#include "tree.h"

#define HAS_BATCH	1024	/* fingerprints per store_has in a check */
#define VERIFIED_MAX	(1u << 20)	/* trees remembered checked, at most */
#define DROP_MAX	256	/* containers per drop batch */

struct clean {
	store *st;
	ns *n;
	clean_config cfg;
	/* Commits hold it shared from their check to their namespace write;
	 * a clean takes it exclusively once, after pinning starts. */
	pthread_rwlock_t gate;
	/* Trees checked complete since the last clean began: only a clean
	 * removes segments, so until the next one begins such a tree needs
	 * no second walk (a backup re-commits every unchanged file). Keyed
	 * by what was checked, root, level and size together
	 * (tree_claim_key); cleared when a clean begins. */
	pthread_mutex_t vmu;
	fpset *verified;
	pthread_mutex_t mu;	/* rep, thread state */
	clean_report rep;
	pthread_t thread;
	int thread_live, cancel;
};

int clean_new(clean **out, store *st, ns *n, const clean_config *cfg)
{
	pthread_rwlockattr_t ra;
	clean *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->st = st;
	c->n = n;
	if (cfg)
		c->cfg = *cfg;
	if (c->cfg.threshold_pct <= 0 || c->cfg.threshold_pct > 100)
		c->cfg.threshold_pct = 50;
	if (!c->cfg.batch_bytes)
		c->cfg.batch_bytes = 64u << 20;
	/* A steady stream of commits must not starve the clean's start. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->gate, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->vmu, NULL);
	if (fpset_new(&c->verified) < 0)
		c->verified = NULL;	/* then every commit walks its tree */
	snprintf(c->rep.phase, sizeof(c->rep.phase), "idle");
	*out = c;
	return 0;
}

void clean_free(clean *c)
{
	if (!c)
		return;
	clean_cancel(c);
	pthread_mutex_lock(&c->mu);
	if (c->thread_live) {
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	} else
		pthread_mutex_unlock(&c->mu);
	pthread_rwlock_destroy(&c->gate);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->vmu);
	fpset_free(c->verified);
	free(c);
}

void clean_cancel(clean *c)
{
	pthread_mutex_lock(&c->mu);
	c->cancel = 1;
	pthread_mutex_unlock(&c->mu);
}

void clean_status(clean *c, clean_report *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->rep;
	pthread_mutex_unlock(&c->mu);
}

static int cancelled(clean *c)
{
	int v;

	pthread_mutex_lock(&c->mu);
	v = c->cancel;
	pthread_mutex_unlock(&c->mu);
	return v ? ddterr_set(-ECANCELED, "cleaning was stopped") : 0;
}

/* Update the report under the lock: fn(rep, arg). */
static void set_phase(clean *c, const char *phase)
{
	pthread_mutex_lock(&c->mu);
	snprintf(c->rep.phase, sizeof(c->rep.phase), "%s", phase);
	pthread_mutex_unlock(&c->mu);
}

/* ---- the commit rule ---- */

/* Metadata segments come from the store whole, decompressed and checked
 * against their fingerprints by store_read. What the client named wrongly
 * is -EINVAL or -ENOENT; what the target can no longer read is -EIO. */
static int fetch_seg(void *arg, const fp_t *fp, uint8_t **out, size_t *out_len)
{
	store *st = arg;
	uint8_t *buf = malloc(TREE_MAX_SEG_LEN);
	char hex[FP_HEX_LEN + 1];
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_read(st, fp, buf, TREE_MAX_SEG_LEN, out_len);
	if (rc < 0)
		fp_to_hex(fp, hex);
	if (rc == -ENOENT)
		rc = ddterr_set(-ENOENT, "metadata segment %s is not on the "
				"target: send it before the commit", hex);
	else if (rc == -ENOBUFS)
		rc = ddterr_set(-EINVAL, "metadata segment %s is larger than "
				"any metadata segment can be (%d bytes)", hex,
				TREE_MAX_SEG_LEN);
	else if (rc == -EBADMSG || rc == -EIO)
		rc = ddterr_set(-EIO, "metadata segment %s cannot be read on "
				"the target (%s): run a scrub", hex,
				ddterr_last(rc));
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static int was_verified(clean *c, const fp_t *key)
{
	int hit;

	if (!c->verified)
		return 0;
	pthread_mutex_lock(&c->vmu);
	hit = fpset_has(c->verified, key);
	pthread_mutex_unlock(&c->vmu);
	return hit;
}

/* Remember keys[0..n) (tree_claim_key's) as complete trees. */
static void note_verified(clean *c, const fp_t *keys, size_t n)
{
	if (!c->verified)
		return;
	pthread_mutex_lock(&c->vmu);
	for (size_t i = 0; i < n; i++) {
		if (fpset_count(c->verified) >= VERIFIED_MAX)
			fpset_clear(c->verified);
		/* A failed add costs only a walk. */
		(void)fpset_add(c->verified, &keys[i]);
	}
	pthread_mutex_unlock(&c->vmu);
}

#define WANT_META	UINT64_MAX	/* a metadata segment: parsed, not sized */

typedef struct check_ctx {
	clean *c;
	const clean_fence *fence;	/* NULL: none */
	fp_t batch[HAS_BATCH];
	uint64_t want[HAS_BATCH];	/* a data segment's bytes, as its
					   parent says; or WANT_META */
	uint32_t n;
	int root_data;		/* batch[0] is a level-0 root */
	fp_t *keys;		/* subtrees walked: remembered once all is well */
	size_t nkeys, cap;
	size_t walked;		/* nodes looked up */
} check_ctx;

/* What the fence does not let the writer name counts as not on the
 * target: the same line, so it tells nothing of what others stored. */
static int fence_batch(check_ctx *x, uint32_t *raw)
{
	uint8_t ok[HAS_BATCH];
	int rc;

	for (uint32_t i = 0; i < x->n; i++)
		ok[i] = raw[i] != 0;
	rc = x->fence->filter(x->fence->arg, x->batch, x->n, ok);
	for (uint32_t i = 0; rc == 0 && i < x->n; i++)
		if (!ok[i])
			raw[i] = 0;
	return rc;
}

/* Every node of the batch is on the target, and every data segment has
 * exactly the bytes its parent (or, for a level-0 root, the entry's size)
 * gives it: one off would leave a hole or an overlap in every read. */
static int check_flush(check_ctx *x)
{
	uint32_t raw[HAS_BATCH];
	char hex[FP_HEX_LEN + 1];
	int rc;

	rc = store_lookup(x->c->st, x->batch, x->n, STORE_PIN_COMMIT, raw);
	if (rc == 0 && x->fence && x->fence->filter)
		rc = fence_batch(x, raw);
	if (rc == 0 && x->fence && x->fence->credit)
		rc = x->fence->credit(x->fence->arg, x->batch, x->n);
	for (uint32_t i = 0; rc == 0 && i < x->n; i++) {
		if (raw[i] && (x->want[i] == WANT_META || raw[i] == x->want[i]))
			continue;
		fp_to_hex(&x->batch[i], hex);
		if (!raw[i])
			rc = ddterr_set(-ENOENT, "segment %s is not on the "
					"target: send it before the commit",
					hex);
		else
			rc = ddterr_set(-EINVAL, "data segment %s has %u bytes "
					"where %s says %llu", hex, raw[i],
					x->root_data ? "the entry's size" :
					"its parent",
					(unsigned long long)x->want[i]);
	}
	x->n = 0;
	return rc;
}

static int keep_key(check_ctx *x, const fp_t *key)
{
	if (x->nkeys == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		fp_t *k = realloc(x->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		x->keys = k;
		x->cap = cap;
	}
	x->keys[x->nkeys++] = *key;
	return 0;
}

/* Every node is looked up, metadata too (the walk read those, but a
 * lookup is what pins a segment during a clean), except the subtrees
 * checked complete, with these very figures, since the last clean began. */
static int check_visit(void *arg, int level, const fp_t *fp, uint64_t bytes)
{
	check_ctx *x = arg;
	fp_t key;
	int rc;

	if (level > 0) {
		if ((rc = tree_claim_key(fp, level, bytes, &key)) < 0)
			return rc;
		if (x->fence)
			for (int i = 0; i < 8; i++)
				key.b[i] ^= (uint8_t)(x->fence->salt >> (8 * i));
		if (was_verified(x->c, &key))
			return TREE_WALK_SKIP;
		if ((rc = keep_key(x, &key)) < 0)
			return rc;
	}
	x->walked++;
	x->want[x->n] = level > 0 ? WANT_META : bytes;
	x->batch[x->n++] = *fp;
	return x->n == HAS_BATCH ? check_flush(x) : 0;
}

/* The tree under root is complete, adds up to size, and is on the target.
 * A tree that does not parse or add up is the client's mistake: -EINVAL. */
static int check_tree(check_ctx *x, const fp_t *root, uint8_t level,
		      uint64_t size)
{
	static const fp_t zero;
	int rc;

	if (size == 0) {
		if (level != 0 || !fp_equal(root, &zero))
			return ddterr_set(-EINVAL, "an empty file has level 0 "
					  "and a zero root");
		return 0;
	}
	if (level > TREE_MAX_LEVEL)
		return ddterr_set(-EINVAL, "tree level %u is over %d", level,
				  TREE_MAX_LEVEL);
	x->root_data = level == 0;
	if (level == 0)
		rc = check_visit(x, 0, root, size);
	else
		rc = tree_walk(root, level, size, fetch_seg, x->c->st,
			       check_visit, x);
	if (rc == 0 && x->n)
		rc = check_flush(x);
	x->n = 0;
	if (rc == -EBADMSG)	/* tree_walk's: the tree, not the target */
		rc = ddterr_set(-EINVAL, "%s", ddterr_last(rc));
	return rc;
}

/* The binding a checked commit makes: a COMMIT's entries, or one file's
 * SET_CONTENT. */
typedef struct bind_args {
	uint64_t dir;
	const ns_entry *e;
	size_t n;
	uint32_t flags;
	const ddt_content *k;
	const clean_fence *fence;
	ddt_attr *out;
} bind_args;

static int bind(clean *c, const bind_args *b)
{
	if (b->k)
		return ns_set_content(c->n, b->k, b->out);
	return ns_commit(c->n, b->dir, b->e, b->n, b->flags, b->out);
}

/* Check every tree of b, then bind it, all under the gate (see clean.h),
 * so a clean that starts meanwhile finds the file in its snapshot. */
static int checked_bind(clean *c, const bind_args *b)
{
	check_ctx *x = calloc(1, sizeof(*x));
	size_t i;
	int rc = 0;

	if (!x)
		return -ENOMEM;
	x->c = c;
	x->fence = b->fence;
	pthread_rwlock_rdlock(&c->gate);
	if (b->k)
		rc = check_tree(x, &b->k->root, b->k->level, b->k->size);
	for (i = 0; !b->k && rc == 0 && i < b->n; i++)
		rc = check_tree(x, &b->e[i].root, b->e[i].level, b->e[i].size);
	if (rc < 0 && rc != -ENOMEM && !b->k)
		rc = ddterr_set(rc, "\"%s\": %s", b->e[i - 1].name,
				ddterr_last(rc));
	/* Present is not yet durable: another session may have staged a
	 * segment this file shares. (A remembered tree was durable when it
	 * was first checked.) */
	if (rc == 0 && x->walked)
		rc = store_barrier(c->st);
	if (rc == 0)
		note_verified(c, x->keys, x->nkeys);
	if (rc == 0)
		rc = bind(c, b);
	pthread_rwlock_unlock(&c->gate);
	free(x->keys);
	free(x);
	return rc;
}

int clean_commit(clean *c, uint64_t dir, const ns_entry *e, size_t n,
		 uint32_t flags, const clean_fence *fence, ddt_attr *out)
{
	bind_args b = { .dir = dir, .e = e, .n = n, .flags = flags,
			.fence = fence, .out = out };

	return checked_bind(c, &b);
}

int clean_set_content(clean *c, const ddt_content *k,
		      const clean_fence *fence, ddt_attr *out)
{
	bind_args b = { .k = k, .fence = fence, .out = out };

	return checked_bind(c, &b);
}

/* ---- mark ---- */

typedef struct mark_ctx {
	clean *c;
	bloom *live;
	fpset *seen;		/* metadata segments expanded already */
	uint64_t files, meta, damaged;
} mark_ctx;

static int mark_tree(mark_ctx *m, const fp_t *fp, int level)
{
	char hex[FP_HEX_LEN + 1];
	tree_entry *e = NULL;
	uint8_t *buf;
	uint32_t n = 0;
	size_t len;
	int rc;

	rc = fpset_add(m->seen, fp);
	if (rc <= 0)
		return rc;	/* expanded before (0), or -ENOMEM */
	bloom_add(m->live, fp);
	m->meta++;
	buf = malloc(TREE_MAX_SEG_LEN);
	if (!buf)
		return -ENOMEM;
	rc = store_read(m->c->st, fp, buf, TREE_MAX_SEG_LEN, &len);
	if (rc == -ENOENT) {
		/* Lost already; nothing below it can be reached either. */
		m->damaged++;
		free(buf);
		return 0;
	}
	if (rc == 0)
		rc = tree_parse(buf, len, level, UINT64_MAX, &e, &n);
	free(buf);
	if (rc < 0) {
		/* Its children are unknown, so nothing may be called dead. */
		fp_to_hex(fp, hex);
		return ddterr_set(rc, "cleaning stopped: metadata segment %s "
				  "cannot be read (%s); run a scrub", hex,
				  ddterr_last(rc));
	}
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (level == 1)
			bloom_add(m->live, &e[i].fp);
		else
			rc = mark_tree(m, &e[i].fp, level - 1);
	}
	free(e);
	return rc;
}

static int mark_file(void *arg, const fp_t *root, uint8_t level,
		     uint64_t size)
{
	mark_ctx *m = arg;
	int rc;

	(void)size;
	if ((m->files++ & 1023) == 0) {
		pthread_mutex_lock(&m->c->mu);
		m->c->rep.files = m->files;
		m->c->rep.metadata_segments = m->meta;
		pthread_mutex_unlock(&m->c->mu);
		if ((rc = cancelled(m->c)) < 0)
			return rc;
	}
	if (level == 0) {
		bloom_add(m->live, root);
		return 0;
	}
	if (level > TREE_MAX_LEVEL)
		return ddterr_set(-EBADMSG, "cleaning stopped: a file's tree "
				  "has level %u", level);
	return mark_tree(m, root, level);
}

static int is_live(void *arg, const fp_t *fp)
{
	return bloom_maybe(arg, fp);
}

/* ---- sweep ---- */

typedef struct cand {
	uint64_t cid, live_bytes;
	uint32_t live_segs;
} cand;

typedef struct sweep_ctx {
	clean *c;
	cand *v;
	size_t n, cap;
} sweep_ctx;

static int sweep_cb(void *arg, const store_gc_ctr *g)
{
	sweep_ctx *x = arg;
	clean *c = x->c;
	int pick = g->live_segs == 0 ||
		   g->live_bytes * 100 < (uint64_t)c->cfg.threshold_pct *
					 g->stored_bytes;

	pthread_mutex_lock(&c->mu);
	c->rep.containers_examined++;
	c->rep.examined_bytes += g->physical_bytes;
	c->rep.candidates += pick;
	if (!pick && g->stored_bytes > g->live_bytes)
		c->rep.dead_kept_bytes += (uint64_t)((double)g->physical_bytes *
			(double)(g->stored_bytes - g->live_bytes) /
			(double)g->stored_bytes);
	pthread_mutex_unlock(&c->mu);
	if (!pick)
		return cancelled(c);
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		cand *v = realloc(x->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = (cand){ g->cid, g->live_bytes, g->live_segs };
	return 0;
}

/* Copying forward stopped for want of space; the clean goes on. */
static void note_full(clean *c, int rc)
{
	pthread_mutex_lock(&c->mu);
	snprintf(c->rep.msg, sizeof(c->rep.msg), "copying forward stopped: "
		 "%s; free space or run cleaning again after this one",
		 ddterr_last(rc));
	pthread_mutex_unlock(&c->mu);
}

static int drop_some(clean *c, bloom *live, const uint64_t *cids, size_t n)
{
	store_gc_drop_report d;
	int rc = store_gc_drop(c->st, cids, n, is_live, live, &d);

	pthread_mutex_lock(&c->mu);
	c->rep.containers_dropped += d.dropped;
	c->rep.containers_kept += d.kept;
	c->rep.segments_removed += d.segments;
	c->rep.reclaimed_bytes += d.physical_bytes;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Drop the candidates with nothing live first (that needs no space),
 * then copy forward and drop the rest, a batch at a time, so that the
 * space copied into is never far ahead of the space given back. A store
 * too full to copy into ends the copying, not the clean: what was freed
 * stays freed, and the message says why the rest was left. */
static int copy_and_drop(clean *c, bloom *live, const sweep_ctx *x)
{
	uint64_t cids[DROP_MAX], batch = 0, copied;
	size_t n = 0;
	int rc = 0;

	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; rc == 0 && i < x->n; i++) {
			if ((x->v[i].live_segs == 0) != (pass == 0))
				continue;
			if ((rc = cancelled(c)) < 0)
				break;
			if (pass == 1) {
				rc = store_gc_forward(c->st, x->v[i].cid,
						      is_live, live, &copied);
				if (rc == -ENOSPC) {
					note_full(c, rc);
					break;
				}
				if (rc < 0)
					break;
				batch += copied;
				pthread_mutex_lock(&c->mu);
				c->rep.bytes_copied += copied;
				pthread_mutex_unlock(&c->mu);
			}
			cids[n++] = x->v[i].cid;
			if (n == DROP_MAX || batch >= c->cfg.batch_bytes) {
				rc = drop_some(c, live, cids, n);
				n = 0;
				batch = 0;
			}
		}
		if (rc == -ENOSPC)
			rc = 0;
		if (rc == 0 && n)
			rc = drop_some(c, live, cids, n);
		n = 0;
		batch = 0;
	}
	return rc;
}

/* ---- a whole clean ---- */

static int mark_phase(clean *c, bloom **out_live)
{
	store_stats ss;
	mark_ctx m = { .c = c };
	int rc;

	rc = store_get_stats(c->st, &ss);
	if (rc == 0)
		rc = bloom_new(&m.live, ss.segments + 1024);
	if (rc == 0)
		rc = fpset_new(&m.seen);
	if (rc == 0)
		rc = ns_foreach_file(c->n, mark_file, &m);
	fpset_free(m.seen);
	pthread_mutex_lock(&c->mu);
	c->rep.files = m.files;
	c->rep.metadata_segments = m.meta;
	c->rep.damaged_files = m.damaged;
	pthread_mutex_unlock(&c->mu);
	if (rc < 0) {
		bloom_free(m.live);
		return rc;
	}
	*out_live = m.live;
	return 0;
}

static int clean_body(clean *c, uint64_t boundary)
{
	sweep_ctx x = { .c = c };
	uint64_t files = 0, bytes = 0;
	bloom *live = NULL;
	int rc;

	/* Every commit from now on pins what it checks; wait out those
	 * that checked before pinning began, so the snapshot holds them. */
	pthread_rwlock_wrlock(&c->gate);
	if (c->verified) {
		/* What was checked before pinning began is not pinned. */
		pthread_mutex_lock(&c->vmu);
		fpset_clear(c->verified);
		pthread_mutex_unlock(&c->vmu);
	}
	pthread_rwlock_unlock(&c->gate);
	set_phase(c, "mark");
	rc = mark_phase(c, &live);
	if (rc < 0)
		return rc;
	set_phase(c, "sweep");
	rc = store_gc_scan(c->st, boundary, is_live, live, sweep_cb, &x);
	if (rc == 0) {
		set_phase(c, "copy");
		rc = copy_and_drop(c, live, &x);
	}
	if (rc == 0) {
		set_phase(c, "orphans");
		rc = store_gc_orphans(c->st, boundary, &files, &bytes);
		pthread_mutex_lock(&c->mu);
		c->rep.orphan_files = files;
		c->rep.orphan_bytes = bytes;
		c->rep.reclaimed_bytes += bytes;
		pthread_mutex_unlock(&c->mu);
	}
	free(x.v);
	bloom_free(live);
	return rc;
}

/* Claim the cleaner for one run; -EBUSY if it is taken. */
static int claim(clean *c)
{
	clean_report fresh = { .running = 1 };

	pthread_mutex_lock(&c->mu);
	if (c->rep.running) {
		pthread_mutex_unlock(&c->mu);
		return ddterr_set(-EBUSY, "cleaning is running already");
	}
	fresh.cleans = c->rep.cleans;
	fresh.started = now_ns();
	snprintf(fresh.phase, sizeof(fresh.phase), "start");
	c->rep = fresh;
	c->cancel = 0;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static int run_claimed(clean *c)
{
	store_stats ss;
	uint64_t boundary = 0;
	char msg[sizeof(c->rep.msg)] = "";
	int rc;

	rc = store_get_stats(c->st, &ss);
	pthread_mutex_lock(&c->mu);
	c->rep.physical_before = ss.physical_bytes;
	c->rep.containers_total = ss.containers;
	pthread_mutex_unlock(&c->mu);
	if (rc == 0)
		rc = store_gc_begin(c->st, &boundary);
	if (rc == 0) {
		rc = clean_body(c, boundary);
		store_gc_end(c->st);
	}
	pthread_mutex_lock(&c->mu);
	if (rc < 0)
		snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
	else
		snprintf(msg, sizeof(msg), "%s", c->rep.msg);
	pthread_mutex_unlock(&c->mu);
	store_get_stats(c->st, &ss);
	pthread_mutex_lock(&c->mu);
	c->rep.physical_after = ss.physical_bytes;
	c->rep.finished = now_ns();
	c->rep.running = 0;
	c->rep.rc = rc;
	c->rep.cleans += rc == 0;
	snprintf(c->rep.msg, sizeof(c->rep.msg), "%s", msg);
	snprintf(c->rep.phase, sizeof(c->rep.phase), "%s",
		 rc == 0 ? "done" : "failed");
	pthread_mutex_unlock(&c->mu);
	if (c->cfg.done)
		c->cfg.done(c->cfg.done_arg, rc, msg);
	return rc;
}

int clean_run(clean *c)
{
	int rc = claim(c);

	return rc < 0 ? rc : run_claimed(c);
}

static void *clean_thread(void *arg)
{
	(void)run_claimed(arg);
	return NULL;
}

int clean_start(clean *c)
{
	int rc = claim(c);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&c->mu);
	if (c->thread_live) {
		/* The last run's thread has finished (running was 0). */
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&c->mu);
		c->thread_live = 0;
	}
	rc = pthread_create(&c->thread, NULL, clean_thread, c);
	if (rc == 0)
		c->thread_live = 1;
	else {
		c->rep.running = 0;
		snprintf(c->rep.phase, sizeof(c->rep.phase), "failed");
	}
	pthread_mutex_unlock(&c->mu);
	return rc ? ddterr_set(-rc, "cannot start the cleaner: %s",
			       strerror(rc)) : 0;
}
