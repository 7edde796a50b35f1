/* backup_upload.c - ddt backup's workers (backup_int.h): they take what
 * the walk queues and store it on the target, several entries in flight at
 * once so that the round trips of many small files overlap. A file is read
 * and sent through the library's file writer (ddtc_file_*); the unchanged
 * files of one directory go as one COMMIT of their cached roots; symbolic
 * links are made as they come. Large files have a queue of their own, with
 * fewer workers and bigger reads, so they neither starve the small ones
 * nor turn the disk into many competing sequential streams.
 *
 * Small files (SMALL_FILE or less) go in batches of up to SMALL_BATCH
 * files or SMALL_BATCH_BYTES, in walk order across directories: a worker
 * reads a batch's files whole and stores them with the library's file
 * batch (ddtc_fbatch_*: one FP_QUERY, few SEG_PUTs, one COMMIT per
 * directory), since per file round trips and hand-offs, not bytes, are
 * what a tree of small files costs. A file of a batch that fails is
 * stored again alone, which names it in the error and leaves the others
 * stored.
 *
 * Two things wait for the end (upload_finish). A hard link needs the
 * target inode of its first name, known once that file is committed, so
 * links are made after every upload. A directory's times are set after
 * everything inside it exists, since adding an entry may touch them.
 * Sparse files are read like any other file: their holes read as zeros,
 * which cut into identical zero segments that cost almost nothing on the
 * wire; they restore dense.
 *
 * Every job first checks b->failed: after a fatal error (or a signal)
 * what is queued is dropped, not run. */
#include "backup_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "now.h"
#include "out.h"
#include "tpool.h"
#include "util.h"

#define SMALL_WORKERS	16	/* small files in flight at once */
#define BIG_WORKERS	2	/* large ones: the library pipelines each */
#define BIG_FILE	(4u << 20)
#define SMALL_BUF	(1u << 20)
#define BIG_BUF		(4u << 20)
#define QUEUE_MAX	1024	/* jobs the walk may run ahead, per queue */
#define SETATTR_BATCH	64	/* directories per end-of-run job */
#define SEND_TRIES	4	/* sends of one file before its failure counts */
#define SMALL_FILE	(256u << 10)	/* at most this: stored in batches */
#define SMALL_BATCH	256		/* files in one batch */
#define SMALL_BATCH_BYTES (2u << 20)	/* and their bytes, about */

/* A file modified this close to when it was read may change again within
 * the same timestamp tick without its times showing it (racy git): it is
 * stored, but not cached. 2 s covers FAT's granularity too. */
#define RACY_NS		2000000000LL

typedef struct dirattr {
	uint64_t ino;
	int64_t atime, mtime;
} dirattr;

enum { J_FILE, J_SMALL, J_COMMIT, J_SYMLINK, J_LINK, J_SETATTR };

typedef struct job {
	struct job *next;	/* J_LINK: the list of links to make */
	int type;
	bent *e;		/* J_COMMIT, J_SMALL: n of them, else one */
	size_t n;
	char *target;		/* J_SYMLINK */
	dirattr *d;		/* J_SETATTR: n of them */
} job;

/* A queue of jobs and the workers that serve it: small files and the
 * rest, or large files. */
typedef struct lane {
	bk *b;
	tpool *pool;
	size_t buf;		/* each worker's read buffer */
} lane;

/* A worker's own state (tpool's per-thread state). */
typedef struct worker {
	bk *b;
	uint8_t *buf;
	size_t cap;
	ddtc_fbatch *fb;	/* J_SMALL's, made at the first */
} worker;

typedef struct upload {
	lane small, big;
	/* The small files gathering for the next J_SMALL: the walk's. */
	bent *sm;
	size_t sm_n;
	uint64_t sm_bytes;
	/* What waits for the end; the walk's thread adds to them. */
	job *links, **links_tail;
	dirattr *dirs;
	size_t ndirs, dirs_cap;
} upload;

/* ---- storing one file ---- */

/* O_NOATIME keeps the backup from touching every file's atime; it is
 * allowed only on one's own files (or as root). */
static int open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* A file is stored: count it, cache it, and let its other names link. */
static void file_done(bk *b, bent *e, const ddt_attr *a, const struct stat *st,
		      int cacheable)
{
	if (cacheable && b->fc) {
		fc_val v = {
			.size = (uint64_t)st->st_size,
			.mtime = ts_ns(&st->st_mtim),
			.ctime = ts_ns(&st->st_ctim),
			.ino = st->st_ino,
			.dev = st->st_dev,
			.root_size = a->size,
			.level = a->level,
			.root = a->root,
		};

		/* Without memory the file is only read again next time. */
		fcache_put(b->fc, e->path, &v);
	}
	if (e->hl) {
		e->hl->target = a->ino;
		e->hl->state = HL_DONE;
	}
	atomic_fetch_add(&b->files, 1);
	atomic_fetch_add(&b->bytes, a->size);
}

/* Read fd to its end into f; *sent counts the bytes. 0, or -1 once f is
 * aborted and the failure reported. */
static int send_content(worker *w, int fd, ddtc_file *f, const char *path,
			uint64_t *sent)
{
	bk *b = w->b;
	int rc;

	for (;;) {
		ssize_t r = read(fd, w->buf, w->cap);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_local(b, errno, "read", path);
			ddtc_file_abort(f);
			return -1;
		}
		if (r == 0)
			return 0;
		rc = ddtc_file_write(f, w->buf, (size_t)r);
		if (rc < 0) {
			err_target(b, rc, "store", path);
			ddtc_file_abort(f);
			return -1;
		}
		*sent += (uint64_t)r;
		atomic_fetch_add(&b->done_bytes, (uint64_t)r);
		if (atomic_load(&b->failed)) {
			ddtc_file_abort(f);
			return -1;
		}
	}
}

static void fill_meta(ddtc_meta *m, const bent *e, const struct stat *st)
{
	memset(m, 0, sizeof(*m));
	m->dir = e->dir;
	snprintf(m->name, sizeof(m->name), "%s", e->name);
	m->mode = st->st_mode & 07777;
	m->uid = st->st_uid;
	m->gid = st->st_gid;
	m->atime = ts_ns(&st->st_atim);
	m->mtime = ts_ns(&st->st_mtim);
}

/* Store fd's content (from its current offset) as e. 0, -1 once the
 * failure is reported, or -EAGAIN (unless last): the target lacked a
 * segment the library's segment cache promised; the library has cleared
 * that cache, and a second try sends whatever is missing. */
static int send_file(worker *w, bent *e, int fd, const struct stat *st,
		     int last, ddt_attr *a)
{
	bk *b = w->b;
	uint64_t sent = 0;
	ddtc_file *f;
	ddtc_meta m;
	int rc;

	fill_meta(&m, e, st);
	rc = ddtc_file_create(b->c, &m, &f);
	if (rc < 0) {
		err_target(b, rc, "store", e->path);
		return -1;
	}
	if (send_content(w, fd, f, e->path, &sent) < 0)
		return -1;
	rc = ddtc_file_close(f, 0, a);
	if (rc == -ENOENT && !last) {
		atomic_fetch_sub(&b->done_bytes, sent);
		return -EAGAIN;
	}
	if (rc < 0) {
		err_target(b, rc, "store", e->path);
		return -1;
	}
	return 0;
}

/* e, read from t_open on (st before, st2 after), is stored as a. What
 * was stored is what was read; if the file moved meanwhile the copy may
 * mix two versions: say so, and never cache it. */
static void stored(bk *b, bent *e, const ddt_attr *a, const struct stat *st,
		   const struct stat *st2, int64_t t_open)
{
	int changed = st2->st_size != st->st_size ||
		      ts_ns(&st2->st_mtim) != ts_ns(&st->st_mtim) ||
		      ts_ns(&st2->st_ctim) != ts_ns(&st->st_ctim);

	if (changed)
		err_warn(b, "back up %s: the file changed while it was read "
			 "(back it up again when it is quiet)", e->path);
	file_done(b, e, a, st, !changed &&
		  ts_ns(&st->st_mtim) < t_open - RACY_NS &&
		  ts_ns(&st->st_ctim) < t_open - RACY_NS);
}

static void store_file(worker *w, bent *e)
{
	bk *b = w->b;
	int64_t t_open = now_ns();
	struct stat st, st2;
	ddt_attr a;
	int fd, rc;

	fd = open_file(e->path);
	if (fd < 0) {
		err_local(b, errno, "back up", e->path);
		return;
	}
	if (fstat(fd, &st) < 0) {
		err_local(b, errno, "back up", e->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_warn(b, "back up %s: no longer a regular file", e->path);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* Each retry follows a clean on the target that took segments this
	 * file was told it could dedup against; two in a row is rare. */
	for (int tries = 1;; tries++) {
		rc = send_file(w, e, fd, &st, tries == SEND_TRIES, &a);
		if (rc != -EAGAIN)
			break;
		if (lseek(fd, 0, SEEK_SET) < 0) {
			err_local(b, errno, "read", e->path);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	if (fstat(fd, &st2) < 0)
		st2 = st;
	stored(b, e, &a, &st, &st2, t_open);
out:
	close(fd);
}

/* ---- storing small files in batches ---- */

/* A small file as read for its batch. */
typedef struct small {
	struct stat st, st2;	/* before and after the read */
	int64_t t_open;
	uint8_t *data;		/* read into the batch's room */
	size_t len;
} small;

/* Read e whole into the batch's room (no copy on the way). 0: read
 * (sm->len bytes at sm->data); 1: not small after all (grown, or no
 * longer the regular file the walk met): store it alone; -1: failed,
 * reported. The walk's lstat stands for the fstat before the read (one
 * system call a file fewer): the one after it tells whether the file
 * changed since the walk met it. */
static int small_read(worker *w, bent *e, small *sm)
{
	size_t cap = (size_t)e->st.st_size + 1;
	bk *b = w->b;
	ssize_t r;
	int fd, rc = -1;

	sm->t_open = now_ns();
	sm->len = 0;
	sm->st = e->st;
	sm->data = ddtc_fbatch_room(w->fb, cap);
	if (!sm->data) {
		err_nomem(b, "store small files");
		return -1;
	}
	fd = open_file(e->path);
	if (fd < 0) {
		err_local(b, errno, "back up", e->path);
		return -1;
	}
	/* Read until the size the walk saw is in (one read, mostly: no
	 * second one to see the end) or the end comes. */
	while (sm->len < cap) {
		if (sm->len == cap - 1 && sm->len)
			break;
		r = read(fd, sm->data + sm->len, cap - sm->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EISDIR)
			break;		/* no longer a file: fstat says so */
		if (r < 0) {
			err_local(b, errno, "read", e->path);
			goto out;
		}
		if (r == 0)
			break;
		sm->len += (size_t)r;
	}
	if (fstat(fd, &sm->st2) < 0) {
		err_local(b, errno, "back up", e->path);
		goto out;
	}
	rc = 1;
	if (sm->len == cap || !S_ISREG(sm->st2.st_mode) ||
	    sm->st2.st_ino != sm->st.st_ino || sm->st2.st_dev != sm->st.st_dev)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Read e[i] and add it to w's batch: 1 added, else 0 (stored alone, or
 * its failure reported). */
static int small_add(worker *w, bent *e, small *sm)
{
	ddtc_meta m;
	int rc = small_read(w, e, sm);

	if (rc == 1)
		store_file(w, e);
	if (rc != 0)
		return 0;
	fill_meta(&m, e, &sm->st);
	rc = ddtc_fbatch_add(w->fb, &m, sm->data, sm->len);
	if (rc < 0) {
		err_target(w->b, rc, "store", e->path);
		return 0;
	}
	return 1;
}

/* Store e[0..n) as one batch. A file the batch could not store is sent
 * again alone (store_file): a segment the cache promised and the target
 * lacks is then sent, and any other failure names the file. */
static void store_small(worker *w, bent *e, size_t n)
{
	bk *b = w->b;
	size_t *idx = calloc(n, sizeof(*idx)), na = 0, k;
	small *sm = calloc(n, sizeof(*sm));
	ddt_attr *out = calloc(n, sizeof(*out));
	int *rcs = calloc(n, sizeof(*rcs));

	if (!idx || !sm || !out || !rcs || (!w->fb &&
	    ddtc_fbatch_new(b->c, &w->fb) < 0)) {
		err_nomem(b, "store small files");
		goto out;
	}
	for (size_t i = 0; i < n && !atomic_load(&b->failed); i++)
		if (small_add(w, &e[i], &sm[i]))
			idx[na++] = i;
	if (na && !atomic_load(&b->failed))
		(void)ddtc_fbatch_store(w->fb, 0, out, rcs);
	for (k = 0; k < na && !atomic_load(&b->failed); k++) {
		size_t i = idx[k];

		if (rcs[k] < 0) {
			store_file(w, &e[i]);
			continue;
		}
		atomic_fetch_add(&b->done_bytes, sm[i].len);
		stored(b, &e[i], &out[k], &sm[i].st, &sm[i].st2,
		       sm[i].t_open);
	}
out:
	free(idx);
	free(sm);
	free(out);
	free(rcs);
}

/* ---- committing unchanged files ---- */

static int commit_retryable(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || err_is_entry(rc);
}

static void commit_batch(worker *w, bent *e, size_t n)
{
	bk *b = w->b;
	ddtc_entry *ent;
	ddt_attr *out;
	size_t i;
	int rc;

	ent = calloc(n, sizeof(*ent));
	out = calloc(n, sizeof(*out));
	if (!ent || !out) {
		err_nomem(b, "commit unchanged files");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(ent[i].name, sizeof(ent[i].name), "%s", e[i].name);
		ent[i].mode = e[i].st.st_mode & 07777;
		ent[i].uid = e[i].st.st_uid;
		ent[i].gid = e[i].st.st_gid;
		ent[i].atime = ts_ns(&e[i].st.st_atim);
		ent[i].mtime = ts_ns(&e[i].st.st_mtim);
		ent[i].size = e[i].cv.root_size;
		ent[i].level = e[i].cv.level;
		ent[i].root = e[i].cv.root;
	}
	rc = ddtc_commit(b->c, e[0].dir, ent, n, 0, out);
	if (rc == 0) {
		for (i = 0; i < n; i++) {
			file_done(b, &e[i], &out[i], &e[i].st, 1);
			atomic_fetch_add(&b->done_bytes, out[i].size);
		}
		atomic_fetch_add(&b->unchanged, n);
		goto out;
	}
	if (!commit_retryable(rc)) {
		err_target(b, rc, "commit unchanged files in", e[0].path);
		goto out;
	}
	/* All or none: find out which entry it was, one by one. */
	if (n > 1) {
		for (i = 0; i < n && !atomic_load(&b->failed); i++)
			commit_batch(w, &e[i], 1);
		goto out;
	}
	if (rc == -ENOENT || rc == -EBADMSG) {
		/* The target no longer holds the cached content (cleaned
		 * away, or damaged): forget it and send the file. */
		fcache_drop(b->fc, e->path);
		store_file(w, e);
		goto out;
	}
	err_target(b, rc, "store", e->path);
out:
	free(ent);
	free(out);
}

/* ---- symlinks, links, directory times ---- */

static void store_symlink(bk *b, bent *e, const char *target)
{
	ddt_attr a;
	int rc;

	rc = ddtc_symlink(b->c, e->dir, e->name, target, e->st.st_uid,
			  e->st.st_gid, ts_ns(&e->st.st_mtim), &a);
	if (rc < 0) {
		err_target(b, rc, "store symbolic link", e->path);
		return;
	}
	atomic_fetch_add(&b->symlinks, 1);
}

static void store_link(bk *b, bent *e)
{
	ddt_attr a;
	int rc;

	if (e->hl->state != HL_DONE) {
		err_warn(b, "back up %s: not linked, its inode's first name "
			 "could not be backed up (see above)", e->path);
		return;
	}
	rc = ddtc_link(b->c, e->hl->target, e->dir, e->name, &a);
	if (rc < 0) {
		err_target(b, rc, "store hard link", e->path);
		return;
	}
	/* BACKUP_END counts every name of a file, and its size with it. */
	atomic_fetch_add(&b->files, 1);
	atomic_fetch_add(&b->bytes, a.size);
	atomic_fetch_add(&b->links_done, 1);
}

/* The times of n directories, in one round trip: an unchanged tree of
 * many small directories costs little else. */
static void set_dir_times(bk *b, const dirattr *d, size_t n)
{
	ddtc_setattr_req *r = calloc(n, sizeof(*r));
	int rc;

	if (!r) {
		err_nomem(b, "set directory times");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		r[i].ino = d[i].ino;
		r[i].mask = DDT_SA_ATIME | DDT_SA_MTIME;
		r[i].v.atime = d[i].atime;
		r[i].v.mtime = d[i].mtime;
	}
	rc = ddtc_setattr_many(b->c, r, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (r[i].rc < 0 && !err_is_entry(r[i].rc))
			rc = r[i].rc;
	if (rc < 0)
		err_fatal(b, rc, "set directory times");
	free(r);
}

static void run_job(worker *w, job *j)
{
	switch (j->type) {
	case J_FILE:
		store_file(w, j->e);
		break;
	case J_SMALL:
		store_small(w, j->e, j->n);
		break;
	case J_COMMIT:
		commit_batch(w, j->e, j->n);
		break;
	case J_SYMLINK:
		store_symlink(w->b, j->e, j->target);
		break;
	case J_LINK:
		store_link(w->b, j->e);
		break;
	case J_SETATTR:
		set_dir_times(w->b, j->d, j->n);
		break;
	}
}

/* ---- jobs and the workers ---- */

static void job_free(job *j)
{
	if (!j)
		return;
	for (size_t i = 0; j->e && i < j->n; i++)
		free(j->e[i].path);
	free(j->e);
	free(j->target);
	free(j->d);
	free(j);
}

static job *job_new(int type, bent *e, size_t n)
{
	job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->type = type;
	j->e = e;
	j->n = n;
	return j;
}

/* A job runs on a worker, then is freed; after a fatal error it is only
 * freed: what is queued then is dropped, not run. */
static void job_run(void *w, void *arg)
{
	job *j = arg;

	if (!atomic_load(&((worker *)w)->b->failed))
		run_job(w, j);
	job_free(j);
}

/* Hand j to l's workers (the walk runs ahead, but not without bound);
 * after a fatal error j is dropped. */
static void enqueue(bk *b, lane *l, job *j)
{
	if (atomic_load(&b->failed)) {
		job_free(j);
		return;
	}
	if (tpool_push(l->pool, job_run, j) < 0) {
		job_free(j);
		err_nomem(b, "queue a job");
	}
}

static int worker_init(void *ctx, void **out)
{
	lane *l = ctx;
	worker *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->b = l->b;
	w->fb = NULL;
	w->cap = l->buf;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

static void worker_fini(void *ctx, void *arg)
{
	worker *w = arg;

	(void)ctx;
	ddtc_fbatch_free(w->fb);
	free(w->buf);
	free(w);
}

static int lane_start(bk *b, lane *l, int threads, size_t buf,
		      const char *name)
{
	tpool_opts o = {
		.threads = threads,
		.max_queued = QUEUE_MAX,
		.worker_init = worker_init,
		.worker_fini = worker_fini,
		.ctx = l,
		.name = name,
	};

	l->b = b;
	l->buf = buf;
	return tpool_new(&l->pool, &o);
}

/* Wait until no job is queued or running. Neither lane's jobs queue to
 * the other, so one pass over both is enough. */
static void drain(upload *up)
{
	tpool_drain(up->small.pool);
	tpool_drain(up->big.pool);
}

/* ---- what the walk and the run call ---- */

int upload_start(bk *b)
{
	upload *up = calloc(1, sizeof(*up));
	int rc;

	if (!up)
		return -ENOMEM;
	up->links_tail = &up->links;
	b->up = up;
	rc = lane_start(b, &up->small, SMALL_WORKERS, SMALL_BUF, "ddt-small");
	if (rc < 0)
		return rc;
	return lane_start(b, &up->big, BIG_WORKERS, BIG_BUF, "ddt-big");
}

/* Queue one entry as a job of type; takes e's path (and target). */
static void queue_one(bk *b, lane *l, int type, const bent *e, char *target)
{
	upload *up = b->up;
	bent *copy = malloc(sizeof(*copy));
	job *j = copy ? job_new(type, copy, 1) : NULL;

	if (!j) {
		free(copy);
		free(e->path);
		free(target);
		err_nomem(b, "queue a file");
		return;
	}
	*copy = *e;
	j->target = target;
	if (type == J_LINK) {
		/* After every upload (see the top of this file). */
		*up->links_tail = j;
		up->links_tail = &j->next;
		return;
	}
	enqueue(b, l, j);
}

/* The small files gathered so far go to a worker as one batch. */
static void small_flush(bk *b)
{
	upload *up = b->up;
	job *j;

	if (up->sm_n == 0)
		return;
	j = job_new(J_SMALL, up->sm, up->sm_n);
	if (!j) {
		for (size_t i = 0; i < up->sm_n; i++)
			free(up->sm[i].path);
		free(up->sm);
		err_nomem(b, "queue small files");
	} else {
		enqueue(b, &up->small, j);
	}
	up->sm = NULL;
	up->sm_n = 0;
	up->sm_bytes = 0;
}

/* Takes e's path. */
static void small_gather(bk *b, const bent *e)
{
	upload *up = b->up;

	if (!up->sm && !(up->sm = malloc(SMALL_BATCH * sizeof(*up->sm)))) {
		free(e->path);
		err_nomem(b, "queue small files");
		return;
	}
	up->sm[up->sm_n++] = *e;
	up->sm_bytes += (uint64_t)e->st.st_size;
	if (up->sm_n == SMALL_BATCH || up->sm_bytes >= SMALL_BATCH_BYTES)
		small_flush(b);
}

void upload_file(bk *b, const bent *e)
{
	upload *up = b->up;

	if ((uint64_t)e->st.st_size <= SMALL_FILE) {
		small_gather(b, e);
		return;
	}
	queue_one(b, (uint64_t)e->st.st_size >= BIG_FILE ? &up->big :
		  &up->small, J_FILE, e, NULL);
}

void upload_symlink(bk *b, const bent *e, char *target)
{
	queue_one(b, &b->up->small, J_SYMLINK, e, target);
}

void upload_link(bk *b, const bent *e)
{
	queue_one(b, NULL, J_LINK, e, NULL);
}

void upload_unchanged(bk *b, bent *e, size_t n)
{
	job *j = job_new(J_COMMIT, e, n);

	if (!j) {
		for (size_t i = 0; i < n; i++)
			free(e[i].path);
		free(e);
		err_nomem(b, "queue unchanged files");
		return;
	}
	enqueue(b, &b->up->small, j);
}

int upload_dir_times(bk *b, uint64_t ino, const struct stat *st)
{
	upload *up = b->up;

	if (up->ndirs == up->dirs_cap) {
		dirattr *d = util_grow_array(up->dirs, &up->dirs_cap, sizeof(*d),
					256);

		if (!d)
			return -ENOMEM;
		up->dirs = d;
	}
	up->dirs[up->ndirs].ino = ino;
	up->dirs[up->ndirs].atime = ts_ns(&st->st_atim);
	up->dirs[up->ndirs].mtime = ts_ns(&st->st_mtim);
	up->ndirs++;
	return 0;
}

/* Make the links, then set every directory's times; the workers running. */
void upload_finish(bk *b)
{
	upload *up = b->up;
	job *l, *next, *j;
	size_t i;

	small_flush(b);
	drain(up);
	for (l = up->links; l; l = next) {
		next = l->next;
		enqueue(b, &up->small, l);
	}
	up->links = NULL;
	up->links_tail = &up->links;
	drain(up);
	for (i = 0; i < up->ndirs && !atomic_load(&b->failed);
	     i += SETATTR_BATCH) {
		size_t n = up->ndirs - i < SETATTR_BATCH ? up->ndirs - i :
			   SETATTR_BATCH;
		dirattr *d = malloc(n * sizeof(*d));

		j = d ? job_new(J_SETATTR, NULL, n) : NULL;
		if (!j) {
			free(d);
			err_nomem(b, "set directory times");
			break;
		}
		memcpy(d, up->dirs + i, n * sizeof(*d));
		j->d = d;
		enqueue(b, &up->small, j);
	}
	drain(up);
}

void upload_stop(bk *b)
{
	upload *up = b->up;

	if (!up)
		return;
	tpool_free(up->small.pool);
	tpool_free(up->big.pool);
	for (size_t i = 0; i < up->sm_n; i++)
		free(up->sm[i].path);
	free(up->sm);
	for (job *l = up->links, *next; l; l = next) {
		next = l->next;
		job_free(l);
	}
	free(up->dirs);
	free(up);
	b->up = NULL;
}
