/* store_journal.c - the open containers' journals read back: replayed
 * after a stop or a crash, and checked by scrub, in both their copies
 * (where they live and how they are made: store_octr.c).
 *
 * A journal that replay finds whole in every copy is reopened and written
 * on; any other (a copy damaged, missing or short, a stretch no copy
 * holds) is sealed at once, since its segments are whole in memory, and
 * what replay found is kept for the daemon to report. */
#include "store_journal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "fio.h"
#include "fmt.h"
#include "path.h"
#include "store_int.h"

/* ---- after a stop or a crash ---- */

typedef struct idlist {
	uint64_t *v;
	size_t n, cap;
} idlist;

static int idlist_add(idlist *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The container ids of the journals at location loc; a location that is
 * not there has none. */
static int scan_loc(const store *s, int loc, idlist *l)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dd;
	int rc = store_jnl_dir(s, loc, dir, sizeof(dir));

	if (rc < 0)
		return rc;
	dd = opendir(dir);
	if (!dd)
		return errno == ENOENT || loc > 0 ? 0 :
		       ddterr_set(-errno, "journal directory %s: %s", dir,
				  strerror(errno));
	while (rc == 0 && (de = readdir(dd)) != NULL) {
		unsigned long long cid;
		char tail[8];

		if (sscanf(de->d_name, "%16llx.%7s", &cid, tail) == 2 &&
		    strcmp(tail, "jnl") == 0 && strlen(de->d_name) == 20)
			rc = idlist_add(l, cid);
	}
	closedir(dd);
	return rc;
}

/* Every journal's container id, in any location, sorted: the order their
 * containers were opened. */
static int list_journals(const store *s, idlist *l)
{
	int rc = 0;

	for (int loc = 0; rc == 0 && loc <= s->ndirs; loc++)
		rc = scan_loc(s, loc, l);
	if (rc == 0 && l->n)
		qsort(l->v, l->n, sizeof(uint64_t), cmp_u64);
	return rc;
}

/* Where container cid's copies are: the root's, and the first data
 * directory holding one. */
static int find_copies(const store *s, uint64_t cid, jpaths *jp)
{
	struct stat st;

	jp->mdir = -1;
	jp->path[0] = store_jnl_path(s, 0, cid);
	if (!jp->path[0])
		return -ENOMEM;
	for (int d = 0; d < s->ndirs && !jp->path[1]; d++) {
		char *p = store_jnl_path(s, d + 1, cid);

		if (!p)
			return -ENOMEM;
		if (stat(p, &st) == 0) {
			jp->path[1] = p;
			jp->mdir = d;
		} else {
			free(p);
		}
	}
	return 0;
}

static void unlink_copies(const jpaths *jp)
{
	for (int i = 0; i < JNL_COPIES; i++)
		if (jp->path[i])
			(void)fio_unlink(jp->path[i]);
}

/* A journal no copy of which could be read at all: set aside as
 * <cid>.jnl.damaged (for whoever investigates), never replayed again. */
static void set_aside(const jpaths *jp)
{
	char to[PATH_MAX];

	for (int i = 0; i < JNL_COPIES; i++)
		if (jp->path[i] &&
		    path_fmt(to, sizeof(to), "%s.damaged", jp->path[i]) == 0)
			(void)fio_rename(jp->path[i], to);
}

static int replay_cb(void *arg, const fp_t *fp, int codec, uint32_t raw_len,
		     const void *data, uint32_t stored_len)
{
	octr *o = arg;
	uint32_t slot;

	return ctr_builder_append(&o->b, fp, codec, raw_len, data, stored_len,
				  &slot);
}

/* ---- what replay found, in words ---- */

static int add_event(store *s, const store_jnl_event *ev)
{
	store_jnl_event *v = realloc(s->jev, (s->njev + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->jev = v;
	s->jev[s->njev++] = *ev;
	return 0;
}

/* "/a/x.jnl (12 records bad)" for each damaged copy, or its path. */
static void copies_text(const jpaths *jp, const jnl_replay_report *r,
			char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < JNL_COPIES && len < cap; i++) {
		if (!jp->path[i] || !r->bad[i])
			continue;
		len += (size_t)snprintf(buf + len, cap - len, "%s%s (%" PRIu32
					" of its records damaged or missing)",
					len ? ", " : "", jp->path[i],
					r->bad[i]);
	}
}

static void describe(const jpaths *jp, const jnl_replay_report *r, int n,
		     store_jnl_event *ev)
{
	char bad[STORE_JNL_TEXT_MAX / 2], sz[FMT_LEN];

	copies_text(jp, r, bad, sizeof(bad));
	if (r->lost_ranges) {
		fmt_bytes(r->lost_bytes, sz);
		ev->kind = STORE_JNL_LOST;
		snprintf(ev->text, sizeof(ev->text), "journal of container %"
			 PRIu64 ": about %" PRIu32 " records (%s from offset %"
			 PRIu64 ") were damaged in every copy and are lost; the "
			 "%" PRIu32 " other records were kept%s%s; a scrub names "
			 "the backups whose files need the lost segments",
			 ev->cid, r->lost_records, sz, r->lost_off, r->records,
			 bad[0] ? "; damaged: " : "", bad);
	} else if (r->healed || r->bad_headers) {
		ev->kind = STORE_JNL_HEALED;
		snprintf(ev->text, sizeof(ev->text), "journal of container %"
			 PRIu64 ": %" PRIu32 " records were read from the other "
			 "copy%s%s%s; nothing was lost, and the container is "
			 "sealed now; check that disk", ev->cid, r->healed,
			 r->bad_headers ? " (a header was damaged too)" : "",
			 bad[0] ? "; damaged: " : "", bad);
	} else {
		ev->kind = STORE_JNL_UNMIRRORED;
		snprintf(ev->text, sizeof(ev->text), "journal of container %"
			 PRIu64 ": only %d of %d copies found (%s); its %" PRIu32
			 " records were replayed and the container is sealed "
			 "now", ev->cid, r->copies, n, jp->path[0], r->records);
	}
}

static int note_replay(store *s, const jpaths *jp, uint64_t cid,
		       const jnl_replay_report *r, int want)
{
	store_jnl_event ev = { .cid = cid, .records = r->records,
			       .lost_records = r->lost_ranges ?
					       r->lost_records : 0,
			       .lost_bytes = r->lost_bytes };

	describe(jp, r, want, &ev);
	return add_event(s, &ev);
}

static int note_unreadable(store *s, const jpaths *jp, uint64_t cid)
{
	store_jnl_event ev = { .cid = cid, .kind = STORE_JNL_LOST };
	struct stat st;

	if (stat(jp->path[0], &st) == 0)
		ev.lost_bytes = (uint64_t)st.st_size;
	ev.lost_records = 1;
	snprintf(ev.text, sizeof(ev.text), "journal of container %" PRIu64
		 ": no copy holds a readable header or record (%s: %s); it "
		 "was set aside as .damaged; a scrub names the backups whose "
		 "files needed its segments", cid, jp->path[0],
		 ddterr_last(-EBADMSG));
	return add_event(s, &ev);
}

void store_journal_events_free(store *s)
{
	free(s->jev);
	s->jev = NULL;
	s->njev = 0;
}

void store_journal_events(store *s, const store_jnl_event **out, size_t *n)
{
	*out = s->jev;
	*n = s->njev;
}

/* ---- replay ---- */

/* How many copies a journal of this store should have. */
static int copies_wanted(const store *s)
{
	return s->ndirs > 0 ? 2 : 1;
}

/* Replay one journal into o: *out_whole says whether it can be written
 * on. A journal that cannot be read at all is set aside and reported. */
static int replay_one(store *s, octr *o, int *out_whole, uint64_t *out_tail)
{
	const char *paths[JNL_COPIES] = { o->jp.path[0], o->jp.path[1] };
	int want = copies_wanted(s), n = o->jp.path[1] ? 2 : 1, rc;
	jnl_replay_report r;

	rc = jnl_replay(paths, n, o->b.cid, replay_cb, o, &r);
	if (rc == -EBADMSG) {
		set_aside(&o->jp);
		return note_unreadable(s, &o->jp, o->b.cid);
	}
	if (rc < 0)
		return rc;
	*out_whole = r.whole && n == want;
	*out_tail = r.tail;
	if (!*out_whole && o->b.n)
		rc = note_replay(s, &o->jp, o->b.cid, &r, want);
	return rc;
}

/* Bring one journal back: deleted if its container is already indexed or
 * it holds nothing, else replayed into *out (NULL otherwise), reopened if
 * it was whole (*out_seal 0) or left to be sealed at once (*out_seal 1). */
static int recover_one(store *s, uint64_t cid, octr **out, int *out_seal)
{
	uint64_t tail = 0;
	int whole = 0, rc;
	idx_ctr c;
	octr *o;

	*out = NULL;
	rc = store_octr_alloc(s, cid, &o);
	if (rc < 0)
		return rc;
	rc = find_copies(s, cid, &o->jp);
	if (rc < 0)
		goto fail;
	if (s->next_cid <= cid)
		s->next_cid = cid + 1;
	rc = idx_get_ctr(s->ix, cid, 0, &c);
	if (rc == 0)
		goto drop;	/* sealed; the crash came before the unlink */
	if (rc != -ENOENT)
		goto fail;
	rc = replay_one(s, o, &whole, &tail);
	if (rc < 0)
		goto fail;
	if (o->b.n == 0)
		goto drop;
	for (uint32_t i = 0; i < o->b.n; i++)
		bloom_add(s->bl, &o->b.ents[i].fp);
	if (whole) {
		rc = jnl_reopen(&o->j, (const char *const *)o->jp.path,
				o->jp.path[1] ? 2 : 1, cid, tail);
		if (rc < 0)
			goto fail;
	}
	o->base = o->b.n;
	*out_seal = !whole;
	*out = o;
	return 0;
drop:
	unlink_copies(&o->jp);
	rc = 0;
fail:
	store_octr_free(o);
	return rc;
}

/* Queue o for sealing (seal), or make it the open container, queueing
 * the one before: the newest whole journal is written on. */
static int enqueue_recovered(store *s, octr *o, int seal)
{
	if (s->sq.nqueue == SEAL_QUEUE_MAX) {
		store_octr_free(o);
		return ddterr_set(-EINVAL, "store %s: more than %d unsealed "
				  "journals in %s", s->root, SEAL_QUEUE_MAX,
				  s->jdir);
	}
	if (seal) {
		s->sq.queue[s->sq.nqueue++] = o;
	} else {
		if (s->sq.open)
			s->sq.queue[s->sq.nqueue++] = s->sq.open;
		s->sq.open = o;
	}
	return fpcache_insert(s->fc, o->b.cid, o->b.ents, o->b.n, 1);
}

/* Replay every journal left by the last run. The newest whole one becomes
 * the open container again, so a clean restart does not leave a small
 * container behind; the others were waiting for the sealer and wait
 * again, with those that were not whole. Nothing is written here beyond
 * the journals' torn tails (and a journal no copy of which can be read,
 * set aside), so a store whose disks are full still opens and reads. */
int store_journal_recover(store *s)
{
	idlist l = { 0 };
	octr *o;
	int seal = 0, rc;

	store_jnl_find_spares(s);
	rc = list_journals(s, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		rc = recover_one(s, l.v[i], &o, &seal);
		if (rc == 0 && o)
			rc = enqueue_recovered(s, o, seal);
	}
	free(l.v);
	if (rc < 0)
		return rc;
	return s->sq.open ? 0 : store_open_new_locked(s);
}

/* ---- scrub ---- */

typedef struct jref {
	uint64_t cid;
	jnl *j;			/* a reference, or NULL: not written on */
	int want;		/* copies it should have */
} jref;

/* The unsealed containers' journals, each with a reference. */
static int collect_jrefs(store *s, jref *v)
{
	int n = 0, want = copies_wanted(s);

	pthread_mutex_lock(&s->lock);
	for (int i = -1; i < s->sq.nqueue; i++) {
		octr *o = i < 0 ? s->sq.open : s->sq.queue[i];

		if (!o)
			continue;
		v[n].cid = o->b.cid;
		v[n].j = o->j ? jnl_ref(o->j) : NULL;
		v[n].want = want;
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Seal the open container now if it is still cid: its journal is
 * damaged, and its segments are whole in memory. */
static int seal_early(store *s, uint64_t cid, int *out_sealed)
{
	int rc = 0;

	*out_sealed = 0;
	pthread_mutex_lock(&s->lock);
	if (s->sq.open && s->sq.open->b.cid == cid && s->sq.open->b.n) {
		rc = store_rotate_locked(s);
		*out_sealed = rc == 0;
	} else if (store_unsealed_locked(s, cid)) {
		*out_sealed = 1;	/* queued: the sealer has it */
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Wait until container cid, queued, is sealed (or sealing failed): the
 * scrub's walk that follows must find it indexed, to check and complete
 * it (it was sealed degraded if a data directory is missing). */
static int wait_sealed(store *s, uint64_t cid)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	while (store_octr_queued_locked(s, cid) && !s->sq.seal_err)
		pthread_cond_wait(&s->sq.done_cv, &s->lock);
	if (store_octr_queued_locked(s, cid))
		rc = store_seal_error(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int check_one(store *s, const jref *r, int repair,
		     store_jnl_scrub *out)
{
	uint32_t recs = 0;
	int damaged = 1, sealed, rc = 0, still;

	if (r->j) {
		rc = jnl_check(r->j, &damaged, &recs);
		if (rc < 0)
			return rc;
		damaged += jnl_copies(r->j) < r->want &&
			   damaged == 0;	/* made, or left, one short */
	}
	pthread_mutex_lock(&s->lock);
	still = store_unsealed_locked(s, r->cid) != NULL;
	pthread_mutex_unlock(&s->lock);
	if (!still)
		return 0;	/* sealed meanwhile: its journal is gone */
	out->journals++;
	out->records += recs;
	if (!damaged)
		return 0;
	out->damaged++;
	if (repair && (rc = seal_early(s, r->cid, &sealed)) == 0)
		out->sealed += sealed;
	if (rc == 0 && repair && sealed)
		rc = wait_sealed(s, r->cid);
	return rc;
}

int store_journal_scrub(store *s, int repair, store_jnl_scrub *out)
{
	jref v[SEAL_QUEUE_MAX + 1];
	int n, rc = 0;

	memset(out, 0, sizeof(*out));
	n = collect_jrefs(s, v);
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = check_one(s, &v[i], repair, out);
		jnl_close(v[i].j);
	}
	return rc;
}
