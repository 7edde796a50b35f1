/* scrub.c - the scrub job (see scrub.h): store_scrub on a thread, its
 * report kept for polling, and the walk over every file's tree that names
 * the backups whose files are missing data or have damaged trees. */
#include "scrub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"
#include "fpset.h"
#include "now.h"
#include "tree.h"

#define DIR_BATCH	256	/* root entries of a unit read at once */
/* Raw bytes of metadata segments kept from the containers' pass for the
 * trees' pass, at most: ~3 million data segments' entries, the trees of
 * ~25 GB of distinct data. Past it, the rest is read from its container. */
#define META_KEEP_MAX	(128u << 20)

/* Metadata segments met in the containers' pass, by fingerprint (sorted
 * before the trees' pass looks them up). */
typedef struct meta_seg {
	fp_t fp;
	uint8_t *raw;
	uint32_t len;
} meta_seg;

typedef struct meta_keep {
	fpset *seen;
	meta_seg *v;
	size_t n, cap;
	uint64_t bytes;
	int full;		/* out of budget or memory: keep no more */
} meta_keep;

struct scrub {
	store *st;
	ns *n;
	scrub_config cfg;
	pthread_mutex_t mu;	/* rep, thread state */
	scrub_report rep;
	scrub_report fin;		/* the scrub thread's copy for done() */
	meta_keep meta;		/* the scrub thread's */
	pthread_t thread;
	int thread_live;
	int keep_dirs;		/* SCRUB_KEEP_DIRS of the current scrub */
	volatile sig_atomic_t cancel;	/* store_scrub polls it */
};

int scrub_new(scrub **out, store *st, ns *n, const scrub_config *cfg)
{
	scrub *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->st = st;
	s->n = n;
	if (cfg)
		s->cfg = *cfg;
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->rep.phase, sizeof(s->rep.phase), "idle");
	*out = s;
	return 0;
}

void scrub_free(scrub *s)
{
	if (!s)
		return;
	scrub_cancel(s);
	pthread_mutex_lock(&s->mu);
	if (s->thread_live) {
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	} else
		pthread_mutex_unlock(&s->mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void scrub_cancel(scrub *s)
{
	s->cancel = 1;
}

void scrub_status(scrub *s, scrub_report *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->rep;
	pthread_mutex_unlock(&s->mu);
}

static void set_phase(scrub *s, const char *phase)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->rep.phase, sizeof(s->rep.phase), "%s", phase);
	pthread_mutex_unlock(&s->mu);
}

/* The store's running figures into the report, without its cid list
 * (which store_scrub may still grow). */
static void copy_figures(scrub *s, const store_scrub_report *r)
{
	pthread_mutex_lock(&s->mu);
	s->rep.st = *r;
	s->rep.st.lost_cids = NULL;
	pthread_mutex_unlock(&s->mu);
}

static void on_progress(void *arg, const store_scrub_report *r)
{
	copy_figures(arg, r);
}

/* ---- metadata segments kept from the containers' pass ---- */

/* Whether raw looks like a metadata segment (tree_parse has the last
 * word: a data segment that happens to look like one is kept too, and is
 * judged exactly as if it were read from the store). */
static int looks_meta(const uint8_t *raw, uint32_t len)
{
	uint32_t count;

	if (len < TREE_HDR_LEN + TREE_ENTRY_LEN || len > TREE_MAX_SEG_LEN ||
	    memcmp(raw, TREE_MAGIC, 4) != 0 || raw[4] != TREE_VERSION)
		return 0;
	count = get_le32(raw + 8);
	return (len - TREE_HDR_LEN) % TREE_ENTRY_LEN == 0 &&
	       count == (len - TREE_HDR_LEN) / TREE_ENTRY_LEN;
}

static int meta_add(meta_keep *m, const fp_t *fp, const uint8_t *raw,
		    uint32_t len)
{
	meta_seg *v;
	int rc;

	if (m->bytes + len + sizeof(*v) > META_KEEP_MAX)
		return -ENOSPC;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;

		if (!(v = realloc(m->v, cap * sizeof(*v))))
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	rc = fpset_add(m->seen, fp);
	if (rc <= 0)
		return rc;	/* kept already (a culprit hunt decodes again) */
	v = &m->v[m->n];
	if (!(v->raw = malloc(len)))
		return -ENOMEM;
	memcpy(v->raw, raw, len);
	v->fp = *fp;
	v->len = len;
	m->n++;
	m->bytes += len + sizeof(*v);
	return 0;
}

/* store_scrub's segment hook, on the scrub's thread. */
static void on_segment(void *arg, const fp_t *fp, const uint8_t *raw,
		       uint32_t len)
{
	meta_keep *m = arg;

	if (!m->full && looks_meta(raw, len) && meta_add(m, fp, raw, len) < 0)
		m->full = 1;	/* the rest is read from the store */
}

static int meta_cmp(const void *a, const void *b)
{
	return memcmp(((const meta_seg *)a)->fp.b, ((const meta_seg *)b)->fp.b,
		      FP_LEN);
}

static const meta_seg *meta_find(const meta_keep *m, const fp_t *fp)
{
	meta_seg key = { .fp = *fp };

	return m->n ? bsearch(&key, m->v, m->n, sizeof(*m->v), meta_cmp) :
		      NULL;
}

static void meta_free(meta_keep *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].raw);
	free(m->v);
	fpset_free(m->seen);
	memset(m, 0, sizeof(*m));
}

/* ---- every file's tree, and the backups of those that are wrong ---- */

/* What a (sub)tree is found to be. */
enum { NODE_OK, NODE_MISSING, NODE_BAD };

/*
 * Two passes. The first judges every file once, in one scan of the
 * namespace's inodes (as cleaning marks: far cheaper than walking
 * directories), and keeps the claims (root, level, size) of the files
 * found wrong. Only if there are any does the second walk each unit's
 * backups by name, matching every file against those claims, to count
 * them per backup; it reads nothing from the store.
 */
typedef struct aff {
	scrub *s;
	fpset *lost;		/* segments of the lost containers */
	/* Metadata claims (tree_claim_key) judged already, by verdict:
	 * files and backups share most of their trees. */
	fpset *good, *missing, *bad;
	fpset *wrong[3];	/* file claims found NODE_MISSING, NODE_BAD */
	uint64_t nwrong;	/* files found wrong in the first pass */
	uint64_t files[3];	/* by verdict, in the group being walked */
	uint64_t checked;	/* files judged */
	fp_t *fps;		/* TREE_MAX_FANOUT each: a metadata */
	uint32_t *raw;		/* segment's children, looked up */
	uint8_t *buf;		/* TREE_MAX_SEG_LEN: one read from the store */
} aff;

static int add_fp(void *arg, const fp_t *fp)
{
	int rc = fpset_add(arg, fp);

	return rc < 0 ? rc : 0;
}

/* Every lost container's fingerprints into a->lost. A container whose
 * index record is gone or damaged cannot be named: it is only counted. */
static int collect_lost(aff *a, const store_scrub_report *r)
{
	uint64_t unnamed = 0;
	int rc;

	for (size_t i = 0; i < r->nlost; i++) {
		rc = store_ctr_fps(a->s->st, r->lost_cids[i], add_fp, a->lost);
		if (rc == -ENOMEM)
			return rc;
		unnamed += rc < 0;
	}
	pthread_mutex_lock(&a->s->mu);
	a->s->rep.lost_segments = fpset_count(a->lost);
	a->s->rep.unnamed_containers = unnamed;
	pthread_mutex_unlock(&a->s->mu);
	return 0;
}

/* Data segments e[0..n), each wanted with e[i].bytes (its parent's
 * figure): NODE_MISSING if one is lost or not held, NODE_BAD if one has
 * other bytes, else NODE_OK; or -errno. One batched lookup, pinning
 * nothing: a scrub tells no writer it may skip a segment. */
static int judge_data(aff *a, const tree_entry *e, uint32_t n)
{
	int rc;

	for (uint32_t i = 0; i < n; i++)
		a->fps[i] = e[i].fp;
	rc = store_lookup(a->s->st, a->fps, n, STORE_PIN_NONE, a->raw);
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (!a->raw[i] || fpset_has(a->lost, &e[i].fp))
			rc = NODE_MISSING;
		else if (a->raw[i] != e[i].bytes)
			rc = NODE_BAD;
	}
	return rc;
}

static int judge_node(aff *a, const fp_t *fp, int level, uint64_t bytes);

/* A metadata segment not judged before: read, parsed against its
 * parent's figures, and its children judged. */
static int judge_meta(aff *a, const fp_t *fp, int level, uint64_t bytes)
{
	const meta_seg *kept;
	tree_entry *e = NULL;
	uint32_t n = 0;
	size_t len;
	int rc;

	if (fpset_has(a->lost, fp))
		return NODE_MISSING;
	if ((kept = meta_find(&a->s->meta, fp)) != NULL) {
		rc = tree_parse(kept->raw, kept->len, level, bytes, &e, &n);
	} else {
		rc = store_read(a->s->st, fp, a->buf, TREE_MAX_SEG_LEN, &len);
		if (rc == -ENOBUFS)
			rc = NODE_BAD;	/* larger than any metadata segment */
		else if (rc < 0 && rc != -ENOMEM)
			rc = NODE_MISSING; /* not held, or no longer readable */
		else if (rc == 0)
			rc = tree_parse(a->buf, len, level, bytes, &e, &n);
	}
	if (rc == -EBADMSG)
		rc = NODE_BAD;
	if (rc != 0)
		return rc;
	if (level == 1)
		rc = judge_data(a, e, n);
	for (uint32_t i = 0; level > 1 && rc == 0 && i < n; i++)
		rc = judge_node(a, &e[i].fp, level - 1, e[i].bytes);
	free(e);
	return rc;
}

/* The verdict on the subtree under fp, a node at level said to cover
 * bytes of the file, or -errno. Metadata segments are judged once per
 * claim; the first problem found decides. */
static int judge_node(aff *a, const fp_t *fp, int level, uint64_t bytes)
{
	fp_t key;
	int rc;

	if (level == 0)
		return judge_data(a, &(tree_entry){ .fp = *fp, .bytes = bytes },
				  1);
	if ((rc = tree_claim_key(fp, level, bytes, &key)) < 0)
		return rc;
	if (fpset_has(a->good, &key))
		return NODE_OK;
	if (fpset_has(a->missing, &key))
		return NODE_MISSING;
	if (fpset_has(a->bad, &key))
		return NODE_BAD;
	rc = judge_meta(a, fp, level, bytes);
	if (rc < 0)
		return rc;
	return fpset_add(rc == NODE_OK ? a->good : rc == NODE_MISSING ?
			 a->missing : a->bad, &key) < 0 ? -ENOMEM : rc;
}

/* A file's root as committed: it must describe the file's size. */
static int judge_file(aff *a, const fp_t *root, uint8_t level, uint64_t size)
{
	static const fp_t zero;

	if (size == 0)
		return level == 0 && fp_equal(root, &zero) ? NODE_OK : NODE_BAD;
	if (level > TREE_MAX_LEVEL)
		return NODE_BAD;
	return judge_node(a, root, level, size);
}

static int cancelled(const aff *a)
{
	return a->s->cancel ? ddterr_set(-ECANCELED, "scrub cancelled while "
					 "checking the files' trees") : 0;
}

/* The first pass: one file (inode), judged. */
static int judge_cb(void *arg, const fp_t *root, uint8_t level, uint64_t size)
{
	aff *a = arg;
	fp_t key;
	int rc, v;

	if ((rc = cancelled(a)) < 0)
		return rc;
	v = judge_file(a, root, level, size);
	if (v < 0)
		return v;
	if (v != NODE_OK) {
		if ((rc = tree_claim_key(root, level, size, &key)) < 0 ||
		    (rc = fpset_add(a->wrong[v], &key)) < 0)
			return rc;
		a->nwrong++;
	}
	if ((++a->checked & 1023) == 0) {
		pthread_mutex_lock(&a->s->mu);
		a->s->rep.files_checked = a->checked;
		pthread_mutex_unlock(&a->s->mu);
	}
	return 0;
}

/* The second pass: one name, counted by the first pass's verdict (a file
 * committed since was checked by its commit). */
static int name_cb(void *arg, const fp_t *root, uint8_t level, uint64_t size)
{
	aff *a = arg;
	fp_t key;
	int rc;

	if ((rc = cancelled(a)) < 0 ||
	    (rc = tree_claim_key(root, level, size, &key)) < 0)
		return rc;
	if (fpset_has(a->wrong[NODE_MISSING], &key))
		a->files[NODE_MISSING]++;
	else if (fpset_has(a->wrong[NODE_BAD], &key))
		a->files[NODE_BAD]++;
	return 0;
}

/* One group's files: counted, and listed if any is wrong. */
static void add_group(aff *a, const char *su, const char *backup,
		      const uint64_t *files)
{
	uint64_t wrong = files[NODE_MISSING] + files[NODE_BAD];
	scrub_report *r = &a->s->rep;
	scrub_affected *g;

	pthread_mutex_lock(&a->s->mu);
	r->files_missing_segments += files[NODE_MISSING];
	r->files_bad_tree += files[NODE_BAD];
	if (wrong) {
		r->affected_backups++;
		r->affected_files += wrong;
	}
	if (wrong && r->naffected < SCRUB_AFFECTED_MAX) {
		g = &r->affected[r->naffected++];
		snprintf(g->su, sizeof(g->su), "%s", su);
		snprintf(g->backup, sizeof(g->backup), "%s", backup);
		g->files = wrong;
	}
	pthread_mutex_unlock(&a->s->mu);
}

/* The files under ino, added to a->files. An entry removed meanwhile
 * holds nothing any more. */
static int walk_under(aff *a, uint64_t ino)
{
	int rc = ns_foreach_root(a->s->n, ino, name_cb, a);

	return rc == -ENOENT ? 0 : rc;
}

typedef struct dent {
	char name[DDT_MAX_NAME + 1];
	uint64_t ino;
	int backup;
} dent;

typedef struct dbatch {
	dent v[DIR_BATCH];
	size_t n;
} dbatch;

static int dent_cb(void *arg, const char *name, const ddt_attr *at)
{
	dbatch *b = arg;
	dent *d = &b->v[b->n++];

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ino = at->ino;
	d->backup = at->type == DDT_T_DIR && (at->flags & DDT_AF_BACKUP);
	return 0;
}

/* One storage unit: each backup at its root is a group of its own; the
 * other entries at its root (files and directories written outside any
 * backup, by a gateway say) make up the group "". Entries are read a
 * batch at a time, so no namespace iterator stays open over the walk. */
static int walk_unit(aff *a, const ns_su *su, dbatch *b)
{
	char after[DDT_MAX_NAME + 1] = "";
	uint64_t outside[3] = { 0 };
	int eof = 0, rc = 0;

	while (rc == 0 && !eof) {
		b->n = 0;
		rc = ns_readdir(a->s->n, su->root, after, DIR_BATCH, dent_cb, b,
				&eof);
		for (size_t i = 0; rc == 0 && i < b->n; i++) {
			dent *d = &b->v[i];

			memset(a->files, 0, sizeof(a->files));
			rc = walk_under(a, d->ino);
			if (rc == 0 && d->backup)
				add_group(a, su->name, d->name, a->files);
			for (int v = 0; rc == 0 && !d->backup && v < 3; v++)
				outside[v] += a->files[v];
		}
		if (b->n)
			snprintf(after, sizeof(after), "%s",
				 b->v[b->n - 1].name);
		else
			eof = 1;
	}
	if (rc == 0)
		add_group(a, su->name, "", outside);
	return rc;
}

typedef struct su_vec {
	ns_su *v;
	size_t n, cap;
} su_vec;

static int su_cb(void *arg, const ns_su *su)
{
	su_vec *x = arg;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		ns_su *v = realloc(x->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = *su;
	return 0;
}

static void aff_free(aff *a)
{
	free(a->fps);
	free(a->raw);
	free(a->buf);
	fpset_free(a->lost);
	fpset_free(a->good);
	fpset_free(a->missing);
	fpset_free(a->bad);
	fpset_free(a->wrong[NODE_MISSING]);
	fpset_free(a->wrong[NODE_BAD]);
}

static int aff_init(aff *a, scrub *s)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->s = s;
	a->fps = malloc(TREE_MAX_FANOUT * sizeof(*a->fps));
	a->raw = malloc(TREE_MAX_FANOUT * sizeof(*a->raw));
	a->buf = malloc(TREE_MAX_SEG_LEN);
	rc = a->fps && a->raw && a->buf ? 0 : -ENOMEM;
	if (rc == 0)
		rc = fpset_new(&a->lost);
	if (rc == 0)
		rc = fpset_new(&a->good);
	if (rc == 0)
		rc = fpset_new(&a->missing);
	if (rc == 0)
		rc = fpset_new(&a->bad);
	if (rc == 0)
		rc = fpset_new(&a->wrong[NODE_MISSING]);
	if (rc == 0)
		rc = fpset_new(&a->wrong[NODE_BAD]);
	return rc;
}

/* The second pass: every unit's backups, by name. */
static int name_affected(aff *a)
{
	su_vec units = { 0 };
	dbatch *b = malloc(sizeof(*b));
	int rc = b ? 0 : -ENOMEM;

	set_phase(a->s, "affected");
	if (rc == 0)
		rc = ns_su_list(a->s->n, su_cb, &units);
	for (size_t i = 0; rc == 0 && i < units.n; i++)
		rc = walk_unit(a, &units.v[i], b);
	free(units.v);
	free(b);
	return rc;
}

/* Check every file's tree; the lost containers' segments count as
 * missing. Then name the backups of the files found wrong. */
static int check_trees(scrub *s, const store_scrub_report *r)
{
	aff a;
	int rc;

	set_phase(s, "trees");
	if (s->meta.n)
		qsort(s->meta.v, s->meta.n, sizeof(*s->meta.v), meta_cmp);
	rc = aff_init(&a, s);
	if (rc == 0)
		rc = collect_lost(&a, r);
	if (rc == 0)
		rc = ns_foreach_file(s->n, judge_cb, &a);
	pthread_mutex_lock(&s->mu);
	s->rep.files_checked = a.checked;
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && a.nwrong)
		rc = name_affected(&a);
	aff_free(&a);
	return rc;
}

/* ---- a whole scrub ---- */

static int claim(scrub *s, int repair)
{
	uint64_t scrubs;

	pthread_mutex_lock(&s->mu);
	if (s->rep.running) {
		pthread_mutex_unlock(&s->mu);
		return ddterr_set(-EBUSY, "a scrub is running already");
	}
	scrubs = s->rep.scrubs;
	memset(&s->rep, 0, sizeof(s->rep));
	s->rep.scrubs = scrubs;
	s->rep.running = 1;
	s->rep.repair = !!(repair & SCRUB_REPAIR);
	s->keep_dirs = !!(repair & SCRUB_KEEP_DIRS);
	s->rep.started = now_ns();
	snprintf(s->rep.phase, sizeof(s->rep.phase), "start");
	s->cancel = 0;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* The closing message: the store's summary and who is affected, or why
 * it failed. */
static void finish_msg(scrub_report *rep, const store_scrub_report *r, int rc,
		       const char *err)
{
	size_t len;

	if (rc < 0 && rc != -ECANCELED) {
		snprintf(rep->msg, sizeof(rep->msg), "scrub failed: %s", err);
		return;
	}
	if (rc == -ECANCELED) {
		snprintf(rep->msg, sizeof(rep->msg), "%s", err);
		return;
	}
	store_scrub_summary(r, rep->msg, sizeof(rep->msg));
	len = strlen(rep->msg);
	if (len < sizeof(rep->msg))
		len += (size_t)snprintf(rep->msg + len, sizeof(rep->msg) - len,
					" Files: %" PRIu64 " trees checked.",
					rep->files_checked);
	if ((r->nlost || rep->affected_files) && len < sizeof(rep->msg))
		snprintf(rep->msg + len, sizeof(rep->msg) - len, " Affected: "
			 "%" PRIu64 " files in %" PRIu64 " backups cannot be "
			 "restored whole (%" PRIu64 " naming missing segments, %"
			 PRIu64 " whose trees do not describe their data)%s.",
			 rep->affected_files, rep->affected_backups,
			 rep->files_missing_segments, rep->files_bad_tree,
			 rep->unnamed_containers ? " (and what containers "
			 "without an index record held)" : "");
}

static int run_claimed(scrub *s)
{
	store_scrub_opts o = {
		.max_bytes_per_sec = s->cfg.max_bytes_per_sec,
		.progress = on_progress, .progress_arg = s,
		.segment = on_segment, .segment_arg = &s->meta,
		.cancel = &s->cancel,
	};
	store_scrub_report r;
	char err[512] = "";
	int rc;

	pthread_mutex_lock(&s->mu);
	o.repair = s->rep.repair;
	o.keep_missing_dirs = s->keep_dirs;
	pthread_mutex_unlock(&s->mu);
	set_phase(s, "scrub");
	if (fpset_new(&s->meta.seen) < 0)
		s->meta.full = 1;	/* then every metadata read is a read */
	rc = store_scrub(s->st, &o, &r);
	copy_figures(s, &r);
	if (rc == 0)
		rc = check_trees(s, &r);
	meta_free(&s->meta);
	if (rc < 0)
		snprintf(err, sizeof(err), "%s", ddterr_last(rc));

	pthread_mutex_lock(&s->mu);
	s->rep.finished = now_ns();
	s->rep.rc = rc;
	s->rep.clean = rc == 0 && store_scrub_clean(&r) &&
		       s->rep.affected_files == 0;
	s->rep.scrubs += rc == 0;
	snprintf(s->rep.phase, sizeof(s->rep.phase), "%s",
		 rc == 0 ? "done" : "failed");
	finish_msg(&s->rep, &r, rc, err);
	s->fin = s->rep;
	pthread_mutex_unlock(&s->mu);
	store_scrub_report_free(&r);

	s->fin.running = 0;
	if (s->cfg.done)
		s->cfg.done(s->cfg.done_arg, &s->fin);
	pthread_mutex_lock(&s->mu);
	s->rep.running = 0;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int scrub_run(scrub *s, int repair)
{
	int rc = claim(s, repair);

	return rc < 0 ? rc : run_claimed(s);
}

static void *scrub_thread(void *arg)
{
	(void)run_claimed(arg);
	return NULL;
}

int scrub_start(scrub *s, int repair)
{
	int rc = claim(s, repair);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	if (s->thread_live) {
		/* The last run's thread is done with the report (running
		 * was 0); reap it before the next one. */
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		pthread_mutex_lock(&s->mu);
		s->thread_live = 0;
	}
	rc = pthread_create(&s->thread, NULL, scrub_thread, s);
	if (rc == 0) {
		s->thread_live = 1;
	} else {
		s->rep.running = 0;
		snprintf(s->rep.phase, sizeof(s->rep.phase), "failed");
	}
	pthread_mutex_unlock(&s->mu);
	return rc ? ddterr_set(-rc, "cannot start the scrub: %s",
			       strerror(rc)) : 0;
}
