/* restore.c - ddt restore. Listers (a pool of LISTERS threads) walk the
 * backup's tree on the target, a directory per job, so that the READDIR
 * round trips overlap; each creates the subdirectories it meets and
 * queues their listing, and hands the rest to workers. Small files (up to
 * SMALL_MAX) and symbolic links go in batches of up to BATCH_FILES, each
 * lister filling its own across directories: a worker reads a batch with
 * ddtc_read_files() (a few READ_FILES for the lot, not a round trip per
 * file), and creates, fills and closes each as its bytes arrive, so inode
 * creation, decoding and writing run on every core at once and a file
 * never exists half-written. A large file is one job: created by its
 * worker of its own pool and streamed with ddtc_read_to_fd(), several
 * windows in flight; BIG_WORKERS of them at once are enough to fill the
 * pipe, and each more would first-touch another 17 MiB of buffers (page
 * faults cost a restore of large files an eighth of its CPU with 16).
 * A worker holds at most one file open.
 *
 * As in a backup, two things wait for the end: hard links (made only once
 * the first name's content is complete, so no name ever shows a partial
 * file) and directory modes and times (the walk needs to write into the
 * directories, and creating entries changes their times), which are applied
 * deepest first. Files restore dense: the client library writes every byte,
 * holes included. */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirlist.h"
#include "fdio.h"
#include "human.h"
#include "now.h"
#include "path.h"
#include "out.h"
#include "tpool.h"
#include "util.h"

#define LISTERS		4	/* directories listed at once */
#define WORKERS		16	/* batches in flight at once */
#define BIG_WORKERS	4	/* large files streamed at once */
#define QUEUE_MAX	64	/* jobs waiting for a worker */
#define SMALL_MAX	(1u << 20)	/* files up to this go in batches */
#define BATCH_FILES	256	/* files and links in one batch */
#define BATCH_BYTES	(4u << 20)	/* file bytes in one batch */

/* A target inode with several names, by target inode number. */
typedef struct rino {
	struct rino *next;
	uint64_t ino;
	char *path;		/* its first name, here */
	int ok;			/* its content is complete */
} rino;

/* A file whose content a worker is to fetch, or a symbolic link. */
typedef struct rjob {
	char *path;
	int fd;
	ddt_attr a;
	rino *li;		/* set when the inode has other names */
} rjob;

/* Small files and symbolic links for one worker: files' inodes and sizes
 * apart, as ddtc_read_files() takes them. */
typedef struct rbatch {
	rjob f[BATCH_FILES], l[BATCH_FILES];
	uint64_t ino[BATCH_FILES], size[BATCH_FILES];
	size_t nf, nl;
	uint64_t bytes;
} rbatch;

/* A hard link to make at the end, or a directory to finish. */
typedef struct rlink {
	struct rlink *next;
	char *path;
	rino *first;
} rlink;

typedef struct rdir {
	char *path;
	ddt_attr a;
} rdir;

typedef struct rs rs;

/* A lister's own state: the batch it is filling. */
typedef struct rlister {
	rs *r;
	rbatch *b;
} rlister;

/* A worker's own state (tpool's per-thread state), in rs so that the
 * progress line can look at the file each one is filling. */
typedef struct rworker {
	rs *r;
	pthread_mutex_t lock;	/* fd, for the progress line's fstat */
	int fd;
} rworker;

struct rs {
	ddtc *c;
	const restore_opts *o;
	int as_root;

	tpool *lister;		/* rlist jobs; no bound: they queue more */
	tpool *pool;		/* rbatch jobs */
	tpool *big;		/* rjob jobs */
	rworker w[WORKERS + BIG_WORKERS];
	atomic_uint nw;		/* of w, taken by the workers as they start */
	rlister ls[LISTERS];
	atomic_uint nls;	/* of ls, likewise */

	atomic_int failed;
	atomic_uint_fast64_t files, dirs, symlinks, nlinks, bytes, done_bytes,
		warnings;

	/* The listers', under mu. */
	pthread_mutex_t mu;
	rino **ino;
	size_t ino_nb, ino_n;
	rlink *links, **links_tail;
	rdir *dv;
	size_t ndv, dv_cap;
};

static struct timespec ts_of(int64_t ns)
{
	struct timespec t;

	t.tv_sec = (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	if (t.tv_nsec < 0) {
		t.tv_sec--;
		t.tv_nsec += 1000000000;
	}
	return t;
}

/* ---- errors ---- */

/* Local errors after which nothing more can be restored. */
static int local_fatal_err(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EROFS ||
	       err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* Target errors that concern one entry: its data is missing or damaged,
 * or the target could not read it. The restore goes on. */
static int entry_error(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || rc == -EIO ||
	       rc == -ENAMETOOLONG || rc == -EINVAL;
}

static void fail_local(rs *r, int err, const char *verb, const char *path)
{
	if (!local_fatal_err(err)) {
		out_warn("%s %s: %s", verb, path, strerror(err));
		atomic_fetch_add(&r->warnings, 1);
		return;
	}
	if (atomic_exchange(&r->failed, 1) == 0)
		out_fail_errno(err, "free some space, then restore again",
			       "%s %s", verb, path);
}

static void fail_target(rs *r, int rc, const char *verb, const char *path)
{
	/* The message is per thread: take it before anything else runs. */
	const char *why = ddtc_errmsg(rc);

	if (local_fatal_err(-rc) || !entry_error(rc)) {
		if (atomic_exchange(&r->failed, 1) == 0)
			out_warn("%s %s: %s", verb, path, why);
		return;
	}
	out_warn("%s %s: %s", verb, path, why);
	atomic_fetch_add(&r->warnings, 1);
}

/* ---- the workers ---- */

static void rjob_free(rjob *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* Owner, mode, times, on an open file. Owner first: chown clears the
 * set-user-ID bits that the mode then sets. */
static int set_fd_attrs(rs *r, int fd, const ddt_attr *a)
{
	struct timespec ts[2] = { ts_of(a->atime), ts_of(a->mtime) };

	if (r->as_root && fchown(fd, a->uid, a->gid) < 0)
		return -errno;
	if (fchmod(fd, a->mode & 07777) < 0)
		return -errno;
	if (futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

static int open_new(rs *r, const char *path);
static void make_symlink(rs *r, const char *path, const ddt_attr *a,
			 const char *target);

/* A large file: created here, streamed in. */
static void fetch(rworker *w, rjob *j)
{
	rs *r = w->r;
	uint64_t n = 0;
	int rc, fd = open_new(r, j->path);

	if (fd < 0) {
		fail_local(r, -fd, "restore", j->path);
		return;
	}
	j->fd = fd;
	pthread_mutex_lock(&w->lock);
	w->fd = fd;
	pthread_mutex_unlock(&w->lock);
	/* Reserve the file's blocks first: filling allocated extents is
	 * several times cheaper than allocating page by page, and a full
	 * disk shows up here. KEEP_SIZE leaves the size to the writes, which
	 * the progress line reads. Where it is not supported, just write. */
	if (j->a.size > 0 &&
	    fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)j->a.size) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS && errno != EINTR) {
		rc = -errno;
		fail_target(r, rc, "restore", j->path);
		goto bad;
	}
	rc = ddtc_read_to_fd(r->c, j->a.ino, fd, &n);
	pthread_mutex_lock(&w->lock);
	w->fd = -1;
	pthread_mutex_unlock(&w->lock);
	if (rc < 0) {
		fail_target(r, rc, "restore", j->path);
		goto bad;
	}
	atomic_fetch_add(&r->done_bytes, n);
	if (n != j->a.size) {
		out_warn("restore %s: got %" PRIu64 " bytes of %" PRIu64,
			 j->path, n, j->a.size);
		atomic_fetch_add(&r->warnings, 1);
		goto bad;
	}
	rc = set_fd_attrs(r, fd, &j->a);
	j->fd = -1;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		fail_local(r, -rc, "restore", j->path);
		goto bad;
	}
	if (j->li)
		j->li->ok = 1;
	atomic_fetch_add(&r->files, 1);
	atomic_fetch_add(&r->bytes, n);
	return;
bad:
	/* A partial file would pass for a restored one. */
	unlink(j->path);
}

/* A large file is fetched; after a fatal error what is queued is
 * dropped, not run. */
static void rjob_run(void *w, void *arg)
{
	rjob *j = arg;

	if (!atomic_load(&((rworker *)w)->r->failed))
		fetch(w, j);
	rjob_free(j);
}

/* Hand j to the workers; the walk waits while QUEUE_MAX jobs wait.
 * After a fatal error j is dropped. */
static void rjob_queue(rs *r, rjob *j)
{
	if (atomic_load(&r->failed)) {
		rjob_free(j);
		return;
	}
	if (tpool_push(r->big, rjob_run, j) < 0) {
		rjob_free(j);
		fail_local(r, ENOMEM, "restore", "files");
	}
}

/* ---- batches of small files and links ---- */

static void rbatch_free(rbatch *b)
{
	for (size_t i = 0; i < b->nf; i++)
		free(b->f[i].path);
	for (size_t i = 0; i < b->nl; i++)
		free(b->l[i].path);
	free(b);
}

typedef struct rbatch_run_ctx {
	rs *r;
	rbatch *b;
} rbatch_run_ctx;

/* Small file i's bytes are in: create it, fill it, give it its owner,
 * mode and times. A file that fails is removed, never left partial. A
 * fatal error stops the batch (non-zero). */
static int rbatch_file(void *arg, size_t i, int rc, const void *data,
		       size_t len)
{
	rbatch_run_ctx *x = arg;
	rs *r = x->r;
	rjob *j = &x->b->f[i];
	int fd;

	if (atomic_load(&r->failed))
		return 1;
	if (rc < 0) {
		fail_target(r, rc, "restore", j->path);
		return 0;
	}
	fd = open_new(r, j->path);
	if (fd < 0) {
		fail_local(r, -fd, "restore", j->path);
		return 0;
	}
	rc = fd_write_all(fd, data, len);
	if (rc == 0)
		rc = set_fd_attrs(r, fd, &j->a);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(j->path);
		fail_local(r, -rc, "restore", j->path);
		return 0;
	}
	if (j->li)
		j->li->ok = 1;
	atomic_fetch_add(&r->files, 1);
	atomic_fetch_add(&r->bytes, len);
	atomic_fetch_add(&r->done_bytes, len);
	return 0;
}

/* A batch's links: their targets in one round trip. One whose target
 * did not come is asked for again alone, for the line naming why. */
static void rbatch_links(rs *r, rbatch *b)
{
	ddtc_readlink_req *q = calloc(b->nl, sizeof(*q));
	char *bufs = malloc(b->nl * (DDT_MAX_STR + 1));
	size_t i;

	for (i = 0; q && bufs && i < b->nl; i++)
		q[i] = (ddtc_readlink_req){ .ino = b->l[i].a.ino,
					    .buf = bufs + i * (DDT_MAX_STR + 1),
					    .cap = DDT_MAX_STR + 1 };
	if (q && bufs)
		(void)ddtc_readlink_many(r->c, q, b->nl);
	for (i = 0; i < b->nl && !atomic_load(&r->failed); i++)
		make_symlink(r, b->l[i].path, &b->l[i].a,
			     q && bufs && q[i].rc == 0 ? q[i].buf : NULL);
	free(q);
	free(bufs);
}

/* A worker's batch: its links, then its files, read in few round trips.
 * What the read could not give, each file's callback has reported. */
static void rbatch_run(void *w, void *arg)
{
	rbatch_run_ctx x = { ((rworker *)w)->r, arg };
	rs *r = x.r;
	rbatch *b = x.b;

	if (b->nl > 0 && !atomic_load(&r->failed))
		rbatch_links(r, b);
	if (b->nf > 0 && !atomic_load(&r->failed))
		(void)ddtc_read_files(r->c, b->ino, b->size, b->nf,
				      rbatch_file, &x);
	rbatch_free(b);
}

/* Hand the batch a lister was filling to the workers (as rjob_queue). */
static void rbatch_flush(rs *r, rbatch **bp)
{
	rbatch *b = *bp;

	*bp = NULL;
	if (!b)
		return;
	if (atomic_load(&r->failed)) {
		rbatch_free(b);
		return;
	}
	if (tpool_push(r->pool, rbatch_run, b) < 0) {
		rbatch_free(b);
		fail_local(r, ENOMEM, "restore", "files");
	}
}

/* Add a small file or a link to the batch (taking path), and hand the
 * batch over once full. 0 or -ENOMEM. */
static int rbatch_add(rs *r, rbatch **bp, char *path, const ddt_attr *a,
		      rino *li)
{
	rbatch *b = *bp;
	rjob *j;

	if (!b && !(b = *bp = calloc(1, sizeof(*b))))
		return -ENOMEM;
	if (a->type == DDT_T_SYMLINK) {
		j = &b->l[b->nl++];
	} else {
		j = &b->f[b->nf];
		b->ino[b->nf] = a->ino;
		b->size[b->nf++] = a->size;
		b->bytes += a->size;
	}
	*j = (rjob){ .path = path, .fd = -1, .a = *a, .li = li };
	if (b->nf == BATCH_FILES || b->nl == BATCH_FILES ||
	    b->bytes >= BATCH_BYTES)
		rbatch_flush(r, bp);
	return 0;
}

static int worker_init(void *ctx, void **out)
{
	rs *r = ctx;
	rworker *w = &r->w[atomic_fetch_add(&r->nw, 1)];

	w->r = r;
	w->fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	*out = w;
	return 0;
}

static void worker_fini(void *ctx, void *arg)
{
	rworker *w = arg;

	(void)ctx;
	pthread_mutex_destroy(&w->lock);
}

static int lister_init(void *ctx, void **out)
{
	rs *r = ctx;
	rlister *l = &r->ls[atomic_fetch_add(&r->nls, 1)];

	l->r = r;
	*out = l;
	return 0;
}

/* The listers are idle (drained): what their batches hold goes to the
 * workers. */
static void listers_flush(rs *r)
{
	for (unsigned i = 0; i < atomic_load(&r->nls); i++)
		rbatch_flush(r, &r->ls[i].b);
}

static int workers_start(rs *r)
{
	tpool_opts lo = {
		.threads = LISTERS,
		.worker_init = lister_init,
		.ctx = r,
		.name = "ddt-list",
	};
	tpool_opts o = {
		.threads = WORKERS,
		.max_queued = QUEUE_MAX,
		.worker_init = worker_init,
		.worker_fini = worker_fini,
		.ctx = r,
		.name = "ddt-restore",
	};

	tpool_opts bo = o;
	int rc;

	bo.threads = BIG_WORKERS;
	bo.name = "ddt-big";
	rc = tpool_new(&r->pool, &o);
	if (rc == 0)
		rc = tpool_new(&r->big, &bo);
	return rc < 0 ? rc : tpool_new(&r->lister, &lo);
}

static void workers_stop(rs *r)
{
	tpool_free(r->lister);
	r->lister = NULL;
	listers_flush(r);	/* nothing, or what a failure left */
	tpool_free(r->pool);
	r->pool = NULL;
	tpool_free(r->big);
	r->big = NULL;
	atomic_store(&r->nw, 0);
	atomic_store(&r->nls, 0);
}

/* Bytes done: the finished files, and how far the open ones have got. */
static void sample(void *arg, out_progress_sample *s)
{
	rs *r = arg;
	uint64_t extra = 0;
	struct stat st;

	for (unsigned i = 0; i < atomic_load(&r->nw); i++) {
		pthread_mutex_lock(&r->w[i].lock);
		if (r->w[i].fd >= 0 && fstat(r->w[i].fd, &st) == 0)
			extra += (uint64_t)st.st_size;
		pthread_mutex_unlock(&r->w[i].lock);
	}
	s->bytes = atomic_load(&r->done_bytes) + extra;
	s->total = r->o->total;
	s->files = atomic_load(&r->files);
	s->wire = 0;
}

/* ---- hard links: target ino -> first local name ---- */

static rino *ino_find(rs *r, uint64_t ino)
{
	rino *e;

	if (!r->ino)
		return NULL;
	for (e = r->ino[ino & (r->ino_nb - 1)]; e; e = e->next)
		if (e->ino == ino)
			return e;
	return NULL;
}

static rino *ino_add(rs *r, uint64_t ino, const char *path)
{
	rino *e;

	if (r->ino_n >= r->ino_nb) {
		size_t nb = r->ino_nb ? r->ino_nb * 2 : 256;
		rino **t = calloc(nb, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t i = 0; i < r->ino_nb; i++)
			for (rino *x = r->ino[i], *next; x; x = next) {
				next = x->next;
				x->next = t[x->ino & (nb - 1)];
				t[x->ino & (nb - 1)] = x;
			}
		free(r->ino);
		r->ino = t;
		r->ino_nb = nb;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->ino = ino;
	e->next = r->ino[ino & (r->ino_nb - 1)];
	r->ino[ino & (r->ino_nb - 1)] = e;
	r->ino_n++;
	return e;
}

/* ---- creating entries ---- */

/* With --force an entry in the way is replaced; a directory in the way
 * of a non-directory is not (that would take its contents with it). */
static int clear_way(rs *r, const char *path)
{
	struct stat st;

	if (!r->o->force)
		return -EEXIST;
	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

static int make_dir(rs *r, const char *path)
{
	struct stat st;

	/* Owner-only while it is filled: its mode is set at the end. */
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && r->o->force)
		return 0;
	if (clear_way(r, path) < 0 || mkdir(path, 0700) < 0)
		return -EEXIST;
	return 0;
}

/* A directory made, for finish_dirs. A lister pushes a directory before
 * queueing its listing, so each comes before all inside it. */
static int dirs_push(rs *r, const char *path, const ddt_attr *a)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&r->mu);
	if (r->ndv == r->dv_cap) {
		rdir *d = util_grow_array(r->dv, &r->dv_cap, sizeof(*d), 256);

		if (d)
			r->dv = d;
		else
			rc = -ENOMEM;
	}
	if (rc == 0)
		r->dv[r->ndv++] = (rdir){ .path = p, .a = *a };
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		free(p);
	return rc;
}

/* The link at path, to target (NULL: asked of the target here). */
static void make_symlink(rs *r, const char *path, const ddt_attr *a,
			 const char *target)
{
	char buf[DDT_MAX_STR + 1];
	struct timespec ts[2] = { ts_of(a->atime), ts_of(a->mtime) };
	int rc;

	if (!target) {
		rc = ddtc_readlink(r->c, a->ino, buf, sizeof(buf));
		if (rc < 0) {
			fail_target(r, rc, "restore", path);
			return;
		}
		target = buf;
	}
	if (symlink(target, path) < 0) {
		rc = errno == EEXIST ? clear_way(r, path) : -errno;
		if (rc == 0 && symlink(target, path) < 0)
			rc = -errno;
		if (rc < 0) {
			fail_local(r, -rc, "restore", path);
			return;
		}
	}
	if (r->as_root && lchown(path, a->uid, a->gid) < 0)
		fail_local(r, errno, "set the owner of", path);
	else if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		fail_local(r, errno, "set the times of", path);
	atomic_fetch_add(&r->symlinks, 1);
}

static int open_new(rs *r, const char *path)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd, rc;

	fd = open(path, flags, 0600);
	if (fd >= 0 || errno != EEXIST)
		return fd < 0 ? -errno : fd;
	rc = clear_way(r, path);
	if (rc < 0)
		return rc;
	fd = open(path, flags, 0600);
	return fd < 0 ? -errno : fd;
}

/* A name of an inode with several: the first met is restored (*li
 * set), the others become links at the end (1: path taken). 0, 1 or
 * -ENOMEM. */
static int note_link(rs *r, char *path, uint64_t ino, rino **li)
{
	rino *first;
	rlink *l;
	int rc = 1;

	pthread_mutex_lock(&r->mu);
	first = ino_find(r, ino);
	if (!first) {
		*li = ino_add(r, ino, path);
		rc = *li ? 0 : -ENOMEM;
	} else if ((l = malloc(sizeof(*l)))) {
		*l = (rlink){ .path = path, .first = first };
		*r->links_tail = l;
		r->links_tail = &l->next;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Takes path. */
static void make_file(rs *r, rbatch **bp, char *path, const ddt_attr *a)
{
	rino *li = NULL;
	rjob *j;
	int rc;

	if (a->nlink > 1) {
		rc = note_link(r, path, a->ino, &li);
		if (rc == 1)
			return;
		if (rc < 0) {
			free(path);
			fail_local(r, ENOMEM, "restore", "links");
			return;
		}
	}
	if (a->size <= SMALL_MAX) {
		if (rbatch_add(r, bp, path, a, li) < 0) {
			free(path);
			fail_local(r, ENOMEM, "restore", "files");
		}
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		free(path);
		fail_local(r, ENOMEM, "restore", "files");
		return;
	}
	j->path = path;
	j->fd = -1;
	j->a = *a;
	j->li = li;
	rjob_queue(r, j);
}

/* ---- the walk ---- */

static void list_queue(rs *r, uint64_t ino, const char *path);

/* Takes path. */
static void restore_entry(rs *r, rbatch **bp, char *path, const ddt_attr *a)
{
	int rc;

	switch (a->type) {
	case DDT_T_FILE:
		make_file(r, bp, path, a);
		return;
	case DDT_T_SYMLINK:
		if (rbatch_add(r, bp, path, a, NULL) < 0) {
			fail_local(r, ENOMEM, "restore", path);
			break;
		}
		return;
	case DDT_T_DIR:
		rc = make_dir(r, path);
		if (rc < 0) {
			fail_local(r, -rc, "restore", path);
			break;
		}
		if (dirs_push(r, path, a) < 0) {
			fail_local(r, ENOMEM, "restore", path);
			break;
		}
		atomic_fetch_add(&r->dirs, 1);
		list_queue(r, a->ino, path);
		break;
	default:
		out_warn("restore %s: the target gave an unknown type %u",
			 path, a->type);
		atomic_fetch_add(&r->warnings, 1);
		break;
	}
	free(path);
}

/* List directory ino, made at path; its files and links go into the
 * lister's batch (*bp), its subdirectories to the listers. */
static void restore_tree(rs *r, uint64_t ino, const char *path, rbatch **bp)
{
	dirlist l = { 0 };
	size_t i;
	int rc;

	rc = ddtc_readdir(r->c, ino, dirlist_add, &l);
	if (rc == -ENOMEM)
		fail_local(r, ENOMEM, "read the listing of", path);
	else if (rc < 0)
		fail_target(r, rc, "read the listing of", path);
	for (i = 0; i < l.n; i++) {
		char *child;

		if (rc < 0 || atomic_load(&r->failed))
			goto next;
		/* The target's names become local paths: never let one
		 * climb out of the destination. */
		if (!ddt_name_shape_ok(l.v[i].name)) {
			out_warn("restore %s: skipped an entry with an invalid "
				 "name", path);
			atomic_fetch_add(&r->warnings, 1);
			goto next;
		}
		child = path_join(path, l.v[i].name);
		if (!child)
			fail_local(r, ENOMEM, "restore", path);
		else
			restore_entry(r, bp, child, &l.v[i].a);
next:
		free(l.v[i].name);
		l.v[i].name = NULL;
	}
	dirlist_free(&l);
}

/* A directory to list. */
typedef struct rlist {
	rs *r;
	uint64_t ino;
	char *path;
} rlist;

static void list_run(void *w, void *arg)
{
	rlist *d = arg;

	if (!atomic_load(&d->r->failed))
		restore_tree(d->r, d->ino, d->path, &((rlister *)w)->b);
	free(d->path);
	free(d);
}

static void list_queue(rs *r, uint64_t ino, const char *path)
{
	rlist *d = malloc(sizeof(*d));

	if (!d || !(d->path = strdup(path))) {
		free(d);
		fail_local(r, ENOMEM, "read the listing of", path);
		return;
	}
	d->r = r;
	d->ino = ino;
	if (tpool_push(r->lister, list_run, d) < 0) {
		free(d->path);
		free(d);
		fail_local(r, ENOMEM, "read the listing of", path);
	}
}

/* ---- the end: links, then directories deepest first ---- */

static void make_links(rs *r)
{
	rlink *l, *next;

	for (l = r->links; l; l = next) {
		next = l->next;
		if (atomic_load(&r->failed)) {
			/* nothing more to do */
		} else if (!l->first->ok) {
			out_warn("restore %s: not linked, %s could not be "
				 "restored", l->path, l->first->path);
			atomic_fetch_add(&r->warnings, 1);
		} else if (link(l->first->path, l->path) == 0 ||
			   (errno == EEXIST && clear_way(r, l->path) == 0 &&
			    link(l->first->path, l->path) == 0)) {
			atomic_fetch_add(&r->files, 1);
			atomic_fetch_add(&r->nlinks, 1);
		} else {
			fail_local(r, errno, "link", l->path);
		}
		free(l->path);
		free(l);
	}
	r->links = NULL;
	r->links_tail = &r->links;
}

static int set_path_attrs(rs *r, const char *path, const ddt_attr *a)
{
	struct timespec ts[2] = { ts_of(a->atime), ts_of(a->mtime) };

	if (r->as_root && lchown(path, a->uid, a->gid) < 0)
		return -errno;
	if (chmod(path, a->mode & 07777) < 0)
		return -errno;
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* In reverse creation order, a directory comes after all inside it: its
 * times are not touched again, and a read-only mode does not lock the
 * walk out of it. */
static void finish_dirs(rs *r)
{
	while (r->ndv > 0) {
		rdir *d = &r->dv[--r->ndv];
		int rc = atomic_load(&r->failed) ? 0 :
			 set_path_attrs(r, d->path, &d->a);

		if (rc < 0)
			fail_local(r, -rc, "set the attributes of", d->path);
		free(d->path);
	}
}

/* ---- the run ---- */

/* 1 if dir has entries, 0 if not, -errno. */
static int has_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	closedir(d);
	return found;
}

/* Make sure o->dir is a directory we may restore into; *fresh if it was
 * created or empty, so the backup's root attributes may go on it. */
static int prepare_dest(const restore_opts *o, int *fresh)
{
	struct stat st;
	char *dir;
	int rc;

	if (stat(o->dir, &st) < 0) {
		if (errno != ENOENT)
			return out_fail_errno(errno, "check the path",
					      "restore into %s", o->dir);
		dir = strdup(o->dir);
		rc = dir ? path_mkdir_p(dir, 0777) : -ENOMEM;
		free(dir);
		if (rc < 0)
			return out_fail_errno(-rc, "check the parent "
					      "directory", "create %s", o->dir);
		*fresh = 1;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return out_fail_errno(ENOTDIR, "give a directory",
				      "restore into %s", o->dir);
	rc = has_entries(o->dir);
	if (rc < 0)
		return out_fail_errno(-rc, "check its permissions",
				      "restore into %s", o->dir);
	if (rc > 0 && !o->force) {
		out_warn("restore into %s: the directory is not empty (give "
			 "an empty or new one, or --force to restore over "
			 "what is there)", o->dir);
		return EXIT_RUNTIME;
	}
	*fresh = rc == 0;
	return 0;
}

/* The entry to restore: the backup itself, or a path inside it. */
static int find_start(rs *r, ddt_attr *a, char *name, size_t cap)
{
	const char *p = r->o->path ? r->o->path : "";
	char *sub, *end;
	int rc;

	while (*p == '/')
		p++;
	sub = strdup(p);
	if (!sub)
		return out_fail_errno(ENOMEM, "free some memory", "restore");
	for (end = sub + strlen(sub); end > sub && end[-1] == '/'; end--)
		end[-1] = '\0';
	if (!*sub) {
		rc = ddtc_getattr(r->c, r->o->ino, a);
		name[0] = '\0';
	} else {
		const char *base = strrchr(sub, '/');

		snprintf(name, cap, "%s", base ? base + 1 : sub);
		rc = ddtc_lookup_path(r->c, r->o->ino, sub, a);
	}
	if (rc < 0)
		out_fail(rc, "find %s%s%s in backup %s", *sub ? "'" : "",
			 sub, *sub ? "'" : "the root", r->o->backup);
	free(sub);
	return rc < 0 ? EXIT_RUNTIME : 0;
}

static void print_summary(rs *r, double dt)
{
	char b1[FMT_LEN];
	uint64_t bytes = atomic_load(&r->bytes);

	printf("restored:        %s%s%s into %s\n", r->o->backup,
	       r->o->path && *r->o->path ? ":" : "",
	       r->o->path ? r->o->path : "", r->o->dir);
	printf("files:           %" PRIuFAST64 " (%" PRIuFAST64
	       " hard links)\n", atomic_load(&r->files),
	       atomic_load(&r->nlinks));
	printf("directories:     %" PRIuFAST64 "\n", atomic_load(&r->dirs));
	printf("symbolic links:  %" PRIuFAST64 "\n",
	       atomic_load(&r->symlinks));
	printf("bytes:           %" PRIu64 " (%s)\n", bytes,
	       fmt_bytes(bytes, b1));
	printf("elapsed:         %s\n", human_fmt_secs(dt, b1));
	printf("throughput:      %.1f MB/s\n",
	       dt > 0 ? (double)bytes / 1e6 / dt : 0.0);
	if (!r->as_root)
		printf("owners:          not restored (only root can)\n");
	if (atomic_load(&r->warnings))
		printf("not restored:    %" PRIuFAST64 " (see the warnings)\n",
		       atomic_load(&r->warnings));
	fflush(stdout);
}

static int run(rs *r)
{
	char name[DDT_MAX_NAME + 1];
	out_progress *pg = NULL;
	double t0 = now_mono_sec();
	int fresh = 0, ret, rc;
	ddt_attr a;

	ret = find_start(r, &a, name, sizeof(name));
	if (ret)
		return ret;
	if (a.type != DDT_T_DIR && !ddt_name_shape_ok(name)) {
		out_warn("restore %s: not a name to restore under",
			 r->o->path);
		return EXIT_RUNTIME;
	}
	ret = prepare_dest(r->o, &fresh);
	if (ret)
		return ret;
	rc = workers_start(r);
	if (rc < 0) {
		workers_stop(r);
		return out_fail_errno(-rc, "free some memory", "start workers");
	}
	if (out_progress_start(&pg, "restore", r->o->show_progress, sample,
			   r) < 0)
		pg = NULL;
	if (a.type == DDT_T_DIR) {
		if (fresh && dirs_push(r, r->o->dir, &a) < 0)
			fail_local(r, ENOMEM, "restore", r->o->dir);
		atomic_fetch_add(&r->dirs, 1);
		list_queue(r, a.ino, r->o->dir);
		tpool_drain(r->lister);
		listers_flush(r);
	} else {
		char *path = path_join(r->o->dir, name);
		rbatch *b = NULL;

		if (!path)
			fail_local(r, ENOMEM, "restore", r->o->dir);
		else
			restore_entry(r, &b, path, &a);
		rbatch_flush(r, &b);
	}
	tpool_drain(r->pool);
	tpool_drain(r->big);
	/* The line samples the workers' files: stop it before them. */
	out_progress_stop(pg);
	workers_stop(r);
	make_links(r);
	finish_dirs(r);
	if (atomic_load(&r->failed))
		return EXIT_RUNTIME;
	print_summary(r, now_mono_sec() - t0);
	if (atomic_load(&r->warnings)) {
		out_warn("restore into %s: %" PRIuFAST64 " entries were not "
			 "restored (see the warnings above)", r->o->dir,
			 atomic_load(&r->warnings));
		return EXIT_RUNTIME;
	}
	return 0;
}

int restore_run(ddtc *c, const restore_opts *o)
{
	rs *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return out_fail_errno(ENOMEM, "free some memory", "restore");
	r->c = c;
	r->o = o;
	r->as_root = geteuid() == 0;
	r->links_tail = &r->links;
	pthread_mutex_init(&r->mu, NULL);
	ret = run(r);
	make_links(r);		/* frees what a failed run left */
	finish_dirs(r);
	for (size_t i = 0; i < r->ino_nb; i++)
		for (rino *e = r->ino[i], *next; e; e = next) {
			next = e->next;
			free(e->path);
			free(e);
		}
	free(r->ino);
	free(r->dv);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return ret;
}
