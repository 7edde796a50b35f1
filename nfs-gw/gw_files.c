/* gw_files.c - the table of open random-access files (gw_files.h).
 *
 * Locks: the table's mutex guards the map, each entry's references and
 * the buffered totals; an entry's own mutex guards its ddtc_rfile, which
 * one thread uses at a time. A thread takes an entry's lock only with no
 * other entry's held, and takes the table's inside an entry's but never
 * the other way round, so nothing can wait in a circle. An entry that is
 * closed (idle, removed) leaves the map at once; a thread still holding
 * it sees it dead and looks again. */
#include "gw_files.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddterr.h"
#include "gw_log.h"
#include "gw_ra.h"
#include "now.h"

#define NBUCKETS	1024
#define REAP_EVERY_NS	(250 * 1000000LL)
/* Flushing is tried this many times per write to get under the cap. */
#define CAP_TRIES	8

typedef struct gw_file {
	pthread_mutex_t mu;
	uint64_t ino;
	ddtc_rfile *rf;		/* NULL until opened */
	int dead;		/* out of the map; being freed */
	unsigned refs;		/* table lock */
	size_t buffered;	/* as last counted; table lock */
	int64_t mtime;		/* of the last write, what clients see */
	int64_t last_use;	/* table lock */
	struct gw_file *next;	/* bucket chain; table lock */
} gw_file;

struct gw_files {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	gw_sess *sess;
	gw_ra *ra;		/* for files not open here */
	gw_file *b[NBUCKETS];
	size_t total, cap;
	int64_t idle_ns;
	unsigned epoch;
	int stop;
	pthread_t reaper;
};

/* ---- the map (table lock held) ---- */

static gw_file **slot(gw_files *t, uint64_t ino)
{
	gw_file **pp = &t->b[(ino * 0x9e3779b97f4a7c15ull) >> 54];

	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	return pp;
}

static void unmap(gw_files *t, gw_file *f)
{
	gw_file **pp = slot(t, f->ino);

	if (*pp == f)
		*pp = f->next;
	f->dead = 1;
}

/* ---- taking and giving back an entry ---- */

/* The entry of ino, locked, with a reference; made if absent and make is
 * set (else NULL). */
static gw_file *file_get(gw_files *t, uint64_t ino, int make)
{
	gw_file **pp, *f;

	if (make)	/* a writer: what was read ahead is stale */
		gw_ra_forget(t->ra, ino);
	for (;;) {
		pthread_mutex_lock(&t->mu);
		pp = slot(t, ino);
		f = *pp;
		if (!f && make) {
			f = calloc(1, sizeof(*f));
			if (f) {
				pthread_mutex_init(&f->mu, NULL);
				f->ino = ino;
				*pp = f;
			}
		}
		if (f)
			f->refs++;
		pthread_mutex_unlock(&t->mu);
		if (!f)
			return NULL;
		pthread_mutex_lock(&f->mu);
		if (!f->dead)
			return f;
		/* Closed under us: give it back and look again. */
		pthread_mutex_unlock(&f->mu);
		pthread_mutex_lock(&t->mu);
		f->refs--;
		pthread_mutex_unlock(&t->mu);
	}
}

static void file_free(gw_file *f)
{
	if (f->rf)
		ddtc_rfile_close(f->rf);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Unlock f and drop the reference, counting what it now buffers. */
static void file_put(gw_files *t, gw_file *f)
{
	size_t nb = f->rf ? ddtc_rfile_buffered(f->rf) : 0;
	int gone;

	pthread_mutex_lock(&t->mu);
	t->total = t->total - f->buffered + nb;
	f->buffered = nb;
	f->last_use = now_mono_ns();
	gone = --f->refs == 0 && f->dead;
	if (gone)
		t->total -= f->buffered;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_unlock(&f->mu);
	if (gone)
		file_free(f);
}

/* Close f (locked, referenced): out of the map; freed by the last put. */
static void file_drop(gw_files *t, gw_file *f)
{
	pthread_mutex_lock(&t->mu);
	unmap(t, f);
	pthread_mutex_unlock(&t->mu);
}

/* ---- calls on the target ---- */

static int open_rf(gw_files *t, gw_file *f)
{
	ddtc *c;
	int rc;

	if (f->rf)
		return 0;
	rc = gw_sess_get(t->sess, &c);
	if (rc < 0)
		return rc;
	rc = ddtc_rfile_open(c, f->ino, &f->rf);
	gw_sess_put(t->sess, c, rc);
	return rc;
}

/* Data written and acknowledged as unstable is gone: clients must send
 * it again, which a new write verifier tells them. */
static void lost_writes(gw_files *t, gw_file *f, int rc)
{
	gw_err("inode %llu: uncommitted writes lost: %s",
	       (unsigned long long)f->ino, ddtc_errmsg(rc));
	pthread_mutex_lock(&t->mu);
	t->epoch++;
	pthread_mutex_unlock(&t->mu);
}

static int commit_rf(gw_files *t, gw_file *f, ddt_attr *out)
{
	ddtc *c;
	int rc;

	rc = gw_sess_get(t->sess, &c);
	if (rc < 0)
		return rc;
	/* The time of the last write, which clients have seen already. */
	rc = ddtc_rfile_commit(c, f->rf, f->mtime, 1, out);
	gw_sess_put(t->sess, c, rc);
	return rc;
}

static int flush_rf(gw_files *t, gw_file *f)
{
	ddtc *c;
	int rc;

	rc = gw_sess_get(t->sess, &c);
	if (rc < 0)
		return rc;
	rc = ddtc_rfile_flush(c, f->rf);
	gw_sess_put(t->sess, c, rc);
	return rc;
}

/* A commit or flush failed for a reason that will not pass: the file's
 * handle is dropped with what it held (unless the file itself is gone,
 * which loses nothing anyone can read). */
static void failed_for_good(gw_files *t, gw_file *f, int rc)
{
	if (rc != -ENOENT && ddtc_rfile_dirty(f->rf))
		lost_writes(t, f, rc);
	file_drop(t, f);
}

/* ---- the cap on buffered bytes ---- */

static gw_file *largest(gw_files *t)
{
	gw_file *best = NULL, *f;

	pthread_mutex_lock(&t->mu);
	if (t->total > t->cap)
		for (unsigned i = 0; i < NBUCKETS; i++)
			for (f = t->b[i]; f; f = f->next)
				if (f->buffered && (!best ||
						    f->buffered > best->buffered))
					best = f;
	if (best)
		best->refs++;
	pthread_mutex_unlock(&t->mu);
	return best;
}

/* Over the cap: flush the largest files until under it. The writer that
 * went over does this itself, holding no entry's lock: the wait is its
 * push-back. */
static void enforce_cap(gw_files *t)
{
	gw_file *f;
	int rc;

	for (int i = 0; i < CAP_TRIES && (f = largest(t)); i++) {
		pthread_mutex_lock(&f->mu);
		if (!f->dead && f->rf) {
			gw_debug("over the cap of %zu buffered bytes: flushing "
				 "inode %llu (%zu)", t->cap,
				 (unsigned long long)f->ino, f->buffered);
			rc = flush_rf(t, f);
			if (rc < 0 && !gw_sess_lost(rc))
				failed_for_good(t, f, rc);
		}
		file_put(t, f);
	}
}

/* ---- the idle reaper ---- */

static void reap_one(gw_files *t, gw_file *f)
{
	int rc = 0;

	if (pthread_mutex_trylock(&f->mu) != 0) {
		pthread_mutex_lock(&t->mu);
		f->refs--;
		pthread_mutex_unlock(&t->mu);
		return;		/* in use: not idle after all */
	}
	if (!f->dead && f->rf && ddtc_rfile_dirty(f->rf))
		rc = commit_rf(t, f, NULL);
	if (rc == 0 || !gw_sess_lost(rc)) {
		if (rc < 0)
			failed_for_good(t, f, rc);
		else
			file_drop(t, f);
	}
	file_put(t, f);
}

static void *reaper_main(void *arg)
{
	gw_files *t = arg;
	gw_file *idle[64], *f;
	unsigned n;
	struct timespec until;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		until = now_deadline(REAP_EVERY_NS);
		pthread_cond_timedwait(&t->cv, &t->mu, &until);
		n = 0;
		for (unsigned i = 0; i < NBUCKETS && n < 64; i++)
			for (f = t->b[i]; f && n < 64; f = f->next)
				if (f->refs == 0 &&
				    now_mono_ns() - f->last_use > t->idle_ns) {
					f->refs++;
					idle[n++] = f;
				}
		pthread_mutex_unlock(&t->mu);
		for (unsigned i = 0; i < n; i++)
			reap_one(t, idle[i]);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* ---- the table ---- */

int gw_files_new(gw_files **out, gw_sess *s, size_t dirty_cap, int idle_ms)
{
	gw_files *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->sess = s;
	t->cap = dirty_cap;
	t->idle_ns = (int64_t)idle_ms * 1000000;
	rc = gw_ra_new(&t->ra, s);
	if (rc < 0) {
		free(t);
		return rc;
	}
	rc = pthread_create(&t->reaper, NULL, reaper_main, t);
	if (rc != 0) {
		gw_ra_free(t->ra);
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		free(t);
		return ddterr_set(-rc, "cannot start the idle-file thread");
	}
	*out = t;
	return 0;
}

void gw_files_free(gw_files *t)
{
	gw_file *f;
	int rc;

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->reaper, NULL);
	gw_ra_free(t->ra);
	for (unsigned i = 0; i < NBUCKETS; i++)
		while ((f = t->b[i])) {
			t->b[i] = f->next;
			if (f->rf && ddtc_rfile_dirty(f->rf)) {
				rc = commit_rf(t, f, NULL);
				if (rc < 0)
					gw_err("inode %llu: not committed at "
					       "exit: %s",
					       (unsigned long long)f->ino,
					       ddtc_errmsg(rc));
			}
			file_free(f);
		}
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void attr_now(gw_file *f, ddt_attr *out)
{
	if (out && f->rf) {
		out->size = ddtc_rfile_size(f->rf);
		out->mtime = out->ctime = f->mtime;
	}
}

int gw_files_write(gw_files *t, uint64_t ino, uint64_t off, const void *buf,
		   size_t n, int commit, ddt_attr *out)
{
	gw_file *f = file_get(t, ino, 1);
	ddtc *c;
	int rc;

	if (!f)
		return ddterr_set(-ENOMEM, "out of memory");
	rc = open_rf(t, f);
	if (rc == 0)
		rc = gw_sess_get(t->sess, &c);
	if (rc == 0) {
		rc = ddtc_rfile_write(c, f->rf, off, buf, n);
		gw_sess_put(t->sess, c, rc);
		f->mtime = now_ns();
	}
	if (rc == 0 && commit)
		rc = commit_rf(t, f, out);
	else
		attr_now(f, out);
	if (rc < 0 && f->rf && !gw_sess_lost(rc) && rc != -EDQUOT &&
	    rc != -ENOSPC && rc != -ENOMEM)
		failed_for_good(t, f, rc);
	file_put(t, f);
	if (rc == 0)
		enforce_cap(t);
	return rc;
}

/* A file's version for read-ahead: what changes when its content does. */
static uint64_t version(const ddt_attr *a)
{
	return (uint64_t)a->mtime * 0x9e3779b97f4a7c15ull ^
	       (uint64_t)a->ctime ^ a->size;
}

int gw_files_read(gw_files *t, const ddt_attr *a, uint64_t off, void **bufp,
		  size_t n, size_t *out_n)
{
	gw_file *f = file_get(t, a->ino, 0);
	ddtc *c;
	int rc;

	/* A handle with nothing unpublished reads what the target holds:
	 * READ, with read-ahead, costs far less than the handle's segment by
	 * segment reads (each fetched and re-hashed here). */
	if (!f || !f->rf || !ddtc_rfile_dirty(f->rf)) {
		if (f)
			file_put(t, f);
		return gw_ra_read(t->ra, a->ino, version(a), a->size, off,
				  bufp, n, out_n);
	}
	rc = gw_sess_get(t->sess, &c);
	if (rc == 0) {
		rc = ddtc_rfile_read(c, f->rf, off, *bufp, n, out_n);
		gw_sess_put(t->sess, c, rc);
	}
	file_put(t, f);
	return rc;
}

int gw_files_commit(gw_files *t, uint64_t ino, ddt_attr *out)
{
	gw_file *f = file_get(t, ino, 0);
	int rc = 0;

	if (!f)
		return 0;
	if (f->rf && ddtc_rfile_dirty(f->rf)) {
		rc = commit_rf(t, f, out);
		if (rc < 0 && !gw_sess_lost(rc) && rc != -EDQUOT &&
		    rc != -ENOSPC)
			failed_for_good(t, f, rc);
	}
	file_put(t, f);
	return rc;
}

int gw_files_truncate(gw_files *t, uint64_t ino, uint64_t size,
		      ddt_attr *out)
{
	gw_file *f = file_get(t, ino, 1);
	ddtc *c;
	int rc;

	if (!f)
		return ddterr_set(-ENOMEM, "out of memory");
	rc = open_rf(t, f);
	if (rc == 0)
		rc = gw_sess_get(t->sess, &c);
	if (rc == 0) {
		rc = ddtc_rfile_truncate(c, f->rf, size);
		gw_sess_put(t->sess, c, rc);
		f->mtime = now_ns();
	}
	if (rc == 0)
		rc = commit_rf(t, f, out);
	file_put(t, f);
	return rc;
}

void gw_files_overlay(gw_files *t, ddt_attr *a)
{
	gw_file *f;

	if (a->type != DDT_T_FILE)
		return;
	f = file_get(t, a->ino, 0);
	if (!f)
		return;
	if (f->rf && ddtc_rfile_dirty(f->rf)) {
		a->size = ddtc_rfile_size(f->rf);
		a->mtime = a->ctime = f->mtime;
	}
	file_put(t, f);
}

void gw_files_forget(gw_files *t, uint64_t ino)
{
	gw_file *f;

	gw_ra_forget(t->ra, ino);
	f = file_get(t, ino, 0);
	if (!f)
		return;
	file_drop(t, f);
	file_put(t, f);
}

unsigned gw_files_epoch(gw_files *t)
{
	unsigned e;

	pthread_mutex_lock(&t->mu);
	e = t->epoch;
	pthread_mutex_unlock(&t->mu);
	return e;
}

size_t gw_files_buffered(gw_files *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->total;
	pthread_mutex_unlock(&t->mu);
	return n;
}
