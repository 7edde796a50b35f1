/* backup.c - ddt backup. This thread walks the tree in name order and runs
 * ahead of the uploads: it creates each directory on the target as it meets
 * it (the entries inside need its inode) and queues everything else to
 * worker threads, so the round trips of many small files overlap. Files
 * the file cache knows unchanged are not read: those of one directory
 * gather into one COMMIT with their cached roots. Large files have a queue
 * of their own, with fewer workers and bigger reads, so they neither starve
 * the small ones nor turn the disk into many competing sequential streams.
 *
 * Two things wait for the end. A hard link needs the target inode of its
 * first name, known once that file is committed, so links are made after
 * every upload. A directory's times are set after everything inside it
 * exists, since adding an entry may touch them. Sparse files are read like
 * any other file: their holes read as zeros, which cut into identical zero
 * segments that cost almost nothing on the wire; they restore dense.
 *
 * SIGINT or SIGTERM stops a run as a fatal error does (the workers and the
 * walk watch one flag), and the half-made backup is then removed, as one
 * the quota refused is: a backup that lacks files is only clutter. */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcache.h"
#include "now.h"
#include "path.h"
#include "progress.h"
#include "tpool.h"
#include "util.h"

#define SMALL_WORKERS	16	/* small files in flight at once */
#define BIG_WORKERS	2	/* large ones: the library pipelines each */
#define BIG_FILE	(4u << 20)
#define SMALL_BUF	(1u << 20)
#define BIG_BUF		(4u << 20)
#define QUEUE_MAX	1024	/* jobs the walk may run ahead, per queue */
#define BATCH_MAX	256	/* unchanged files in one COMMIT */
#define SETATTR_BATCH	64	/* directories per end-of-run job */
#define PREWALK_DEPTH	64	/* the pre-walk holds one fd per level */
/* A file modified this close to when it was read may change again within
 * the same timestamp tick without its times showing it (racy git): it is
 * stored, but not cached. 2 s covers FAT's granularity too. */
#define RACY_NS		2000000000LL

enum { HL_PENDING, HL_DONE };

/* An inode with several names, by (dev, ino); walk thread only, except
 * target and state, which the worker storing the first name sets. */
typedef struct hlink {
	struct hlink *next;
	uint64_t dev, ino;
	uint64_t target;	/* the first name's inode on the target */
	int state;
} hlink;

/* One entry to store. */
typedef struct bent {
	char *path;		/* absolute: messages and the cache key */
	const char *name;	/* its last component, inside path */
	uint64_t dir;		/* its directory's inode on the target */
	struct stat st;
	hlink *hl;		/* first name of a linked inode, or the inode
				   a J_LINK links to */
	fc_val cv;		/* J_COMMIT: what the cache holds */
} bent;

typedef struct dirattr {
	uint64_t ino;
	int64_t atime, mtime;
} dirattr;

enum { J_FILE, J_COMMIT, J_SYMLINK, J_LINK, J_SETATTR };

typedef struct job {
	struct job *next;	/* J_LINK: the list of links to make */
	int type;
	bent *e;		/* J_COMMIT: n of them, else one */
	size_t n;
	char *target;		/* J_SYMLINK */
	dirattr *d;		/* J_SETATTR: n of them */
} job;

typedef struct bk bk;

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
} worker;

struct bk {
	ddtc *c;
	const backup_opts *o;
	fcache *fc;
	char root[PATH_MAX];
	dev_t root_dev;

	lane small, big;

	atomic_int failed;	/* a fatal error was printed: wind down */
	/* The storage unit's quota stopped the run: its message, printed
	 * once the partial backup is removed (set once, before the workers
	 * are joined). */
	int quota;
	char quota_msg[1024];

	/* Walk thread only. */
	hlink **hl;
	size_t hl_nb, hl_n;
	job *links, **links_tail;
	dirattr *dirs;
	size_t ndirs, dirs_cap;

	atomic_uint_fast64_t files, ndirs_done, symlinks, links_done, bytes,
		done_bytes, unchanged, warnings, skipped, total;

	pthread_t prewalk;
	int prewalk_running;
	atomic_int prewalk_stop;
};

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* ---- errors: one line each; a fatal one stops the run ---- */

/* Target errors that concern one entry only: the backup goes on. */
static int entry_error(int rc)
{
	return rc == -EINVAL || rc == -ENAMETOOLONG || rc == -EEXIST;
}

static void fatal_once(bk *b, int rc, const char *what)
{
	/* The message is per thread: take it before anything else runs. */
	const char *why = ddtc_errmsg(rc);

	if (atomic_exchange(&b->failed, 1) != 0)
		return;
	if (rc == -EDQUOT) {
		snprintf(b->quota_msg, sizeof(b->quota_msg), "%s", why);
		b->quota = 1;
		return;
	}
	out_warn("%s: %s", what, why);
}

/* A target call about path failed: warn and go on, or stop. */
static void target_error(bk *b, int rc, const char *verb, const char *path)
{
	const char *why = ddtc_errmsg(rc);
	char what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "%s %s", verb, path);
	if (!entry_error(rc)) {
		fatal_once(b, rc, what);
		return;
	}
	out_warn("%s: %s", what, why);
	atomic_fetch_add(&b->warnings, 1);
}

static void local_warn(bk *b, int err, const char *verb, const char *path)
{
	out_warn("%s %s: %s", verb, path, strerror(err));
	atomic_fetch_add(&b->warnings, 1);
}

static void local_fatal(bk *b, int err, const char *what)
{
	if (atomic_exchange(&b->failed, 1) == 0)
		out_fail_errno(err, "free some memory", "%s", what);
}

/* ---- SIGINT and SIGTERM ---- */

/*
 * A handler may only store to lock-free atomics, so it raises the run's
 * failure flag, which the jobs, the walk and every upload already watch,
 * and notes the signal for run(). The state is file-wide because a
 * handler has no argument; there is one run per process.
 */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a handler stores to atomic_int");

static atomic_int bk_signo;		/* the first signal; 0: none */
static atomic_int *bk_stop;		/* the run's failure flag */
static char bk_again[600];		/* a second signal's line */
static size_t bk_again_len;
static struct sigaction bk_old_int, bk_old_term;

/* A second signal means "now": say what is left behind, and die by it. */
static void on_signal(int sig)
{
	if (atomic_load(&bk_signo)) {
		if (bk_again_len &&
		    write(STDERR_FILENO, bk_again, bk_again_len) < 0) {
			/* nothing more to do about it */
		}
		signal(sig, SIG_DFL);
		raise(sig);		/* delivered once this returns */
		return;
	}
	atomic_store(&bk_signo, sig);
	atomic_store(bk_stop, 1);
}

/* The line a second signal prints; id NULL before the backup exists. */
static void set_again_line(const bk *b, const char *id)
{
	int n;

	if (id)
		/* The removal the first signal started may or may not have
		 * reached the target: say both. */
		n = snprintf(bk_again, sizeof(bk_again), "%s%s: interrupted "
			     "again: stopped at once; backup %s may be left "
			     "incomplete (if 'ddt list --su %s' shows it, remove "
			     "it with 'ddt rm %s --su %s')\n",
			     isatty(STDERR_FILENO) ? "\r\033[K" : "", PROG,
			     id, b->o->su, id, b->o->su);
	else
		n = snprintf(bk_again, sizeof(bk_again), "%s: interrupted "
			     "again: stopped at once\n", PROG);
	bk_again_len = n > 0 && (size_t)n < sizeof(bk_again) ? (size_t)n : 0;
}

/* Catch sig, unless it is ignored: a script's background job starts with
 * SIGINT ignored so that a ^C meant for the script spares it, and so it
 * stays. */
static void catch_one(int sig, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;	/* reads and writes carry on */
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, NULL, old) == 0 && old->sa_handler != SIG_IGN)
		sigaction(sig, &sa, NULL);
}

static void signals_catch(bk *b)
{
	atomic_store(&bk_signo, 0);
	bk_stop = &b->failed;
	set_again_line(b, NULL);
	catch_one(SIGINT, &bk_old_int);
	catch_one(SIGTERM, &bk_old_term);
}

/* Back to what the process had; a signal from now on has its usual
 * effect. */
static void signals_release(void)
{
	sigaction(SIGINT, &bk_old_int, NULL);
	sigaction(SIGTERM, &bk_old_term, NULL);
	bk_stop = NULL;
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
	       "a signal";
}

void backup_die_by_signal(int status)
{
	int sig = status - BACKUP_EXIT_SIGNAL;
	sigset_t set;

	fflush(NULL);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
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

static void run_job(worker *w, job *j);

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
		local_fatal(b, ENOMEM, "queue a job");
	}
}

static int worker_init(void *ctx, void **out)
{
	lane *l = ctx;
	worker *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->b = l->b;
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

static int workers_start(bk *b)
{
	int rc;

	rc = lane_start(b, &b->small, SMALL_WORKERS, SMALL_BUF, "ddt-small");
	if (rc < 0)
		return rc;
	return lane_start(b, &b->big, BIG_WORKERS, BIG_BUF, "ddt-big");
}

/* Wait until no job is queued or running. Neither lane's jobs queue to
 * the other, so one pass over both is enough. */
static void workers_drain(bk *b)
{
	tpool_drain(b->small.pool);
	tpool_drain(b->big.pool);
}

static void workers_stop(bk *b)
{
	tpool_free(b->small.pool);
	tpool_free(b->big.pool);
	b->small.pool = b->big.pool = NULL;
}

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
			local_warn(b, errno, "read", path);
			ddtc_file_abort(f);
			return -1;
		}
		if (r == 0)
			return 0;
		rc = ddtc_file_write(f, w->buf, (size_t)r);
		if (rc < 0) {
			target_error(b, rc, "store", path);
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

#define SEND_TRIES 4	/* sends of one file before its failure counts */

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
		target_error(b, rc, "store", e->path);
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
		target_error(b, rc, "store", e->path);
		return -1;
	}
	return 0;
}

static void upload(worker *w, bent *e)
{
	bk *b = w->b;
	int64_t t_open = now_ns();
	struct stat st, st2;
	ddt_attr a;
	int fd, rc, changed;

	fd = open_file(e->path);
	if (fd < 0) {
		local_warn(b, errno, "back up", e->path);
		return;
	}
	if (fstat(fd, &st) < 0) {
		local_warn(b, errno, "back up", e->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		out_warn("back up %s: no longer a regular file", e->path);
		atomic_fetch_add(&b->warnings, 1);
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
			local_warn(b, errno, "read", e->path);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	if (fstat(fd, &st2) < 0)
		st2 = st;
	/* What was stored is what was read; if the file moved meanwhile the
	 * copy may mix two versions: say so, and never cache it. */
	changed = st2.st_size != st.st_size ||
		  ts_ns(&st2.st_mtim) != ts_ns(&st.st_mtim) ||
		  ts_ns(&st2.st_ctim) != ts_ns(&st.st_ctim);
	if (changed) {
		out_warn("back up %s: the file changed while it was read "
			 "(back it up again when it is quiet)", e->path);
		atomic_fetch_add(&b->warnings, 1);
	}
	file_done(b, e, &a, &st, !changed &&
		  ts_ns(&st.st_mtim) < t_open - RACY_NS &&
		  ts_ns(&st.st_ctim) < t_open - RACY_NS);
out:
	close(fd);
}

/* ---- committing unchanged files ---- */

static int commit_retryable(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || entry_error(rc);
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
		local_fatal(b, ENOMEM, "commit unchanged files");
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
		target_error(b, rc, "commit unchanged files in",
			     e[0].path);
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
		upload(w, e);
		goto out;
	}
	target_error(b, rc, "store", e->path);
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
		target_error(b, rc, "store symbolic link", e->path);
		return;
	}
	atomic_fetch_add(&b->symlinks, 1);
}

static void store_link(bk *b, bent *e)
{
	ddt_attr a;
	int rc;

	if (e->hl->state != HL_DONE) {
		out_warn("back up %s: not linked, its inode's first name could "
			 "not be backed up (see above)", e->path);
		atomic_fetch_add(&b->warnings, 1);
		return;
	}
	rc = ddtc_link(b->c, e->hl->target, e->dir, e->name, &a);
	if (rc < 0) {
		target_error(b, rc, "store hard link", e->path);
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
		local_fatal(b, ENOMEM, "set directory times");
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
		if (r[i].rc < 0 && !entry_error(r[i].rc))
			rc = r[i].rc;
	if (rc < 0)
		fatal_once(b, rc, "set directory times");
	free(r);
}

static void run_job(worker *w, job *j)
{
	switch (j->type) {
	case J_FILE:
		upload(w, j->e);
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

/* ---- hard links: (dev, ino) -> hlink, walk thread only ---- */

static size_t hl_bucket(size_t nb, uint64_t dev, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & (nb - 1);
}

static hlink *hl_find(bk *b, const struct stat *st)
{
	hlink *h;

	if (!b->hl)
		return NULL;
	h = b->hl[hl_bucket(b->hl_nb, st->st_dev, st->st_ino)];
	for (; h; h = h->next)
		if (h->dev == st->st_dev && h->ino == st->st_ino)
			return h;
	return NULL;
}

static int hl_grow(bk *b)
{
	size_t nb = b->hl_nb ? b->hl_nb * 2 : 256;
	hlink **t = calloc(nb, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < b->hl_nb; i++) {
		hlink *h = b->hl[i], *next;

		for (; h; h = next) {
			size_t k = hl_bucket(nb, h->dev, h->ino);

			next = h->next;
			h->next = t[k];
			t[k] = h;
		}
	}
	free(b->hl);
	b->hl = t;
	b->hl_nb = nb;
	return 0;
}

static hlink *hl_add(bk *b, const struct stat *st)
{
	hlink *h;
	size_t k;

	if (b->hl_n >= b->hl_nb && hl_grow(b) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->state = HL_PENDING;
	k = hl_bucket(b->hl_nb, h->dev, h->ino);
	h->next = b->hl[k];
	b->hl[k] = h;
	b->hl_n++;
	return h;
}

static void hl_free(bk *b)
{
	for (size_t i = 0; i < b->hl_nb; i++) {
		hlink *h = b->hl[i], *next;

		for (; h; h = next) {
			next = h->next;
			free(h);
		}
	}
	free(b->hl);
}

/* ---- the walk ---- */

/* Unchanged files of the directory being walked, for one COMMIT. */
typedef struct batch {
	bent *e;
	size_t n;
} batch;

static void batch_flush(bk *b, batch *bt)
{
	job *j;

	if (bt->n == 0)
		return;
	j = job_new(J_COMMIT, bt->e, bt->n);
	if (j) {
		enqueue(b, &b->small, j);
	} else {
		for (size_t i = 0; i < bt->n; i++)
			free(bt->e[i].path);
		free(bt->e);
		local_fatal(b, ENOMEM, "queue unchanged files");
	}
	bt->e = NULL;
	bt->n = 0;
}

/* Takes e's path. */
static void batch_add(bk *b, batch *bt, const bent *e)
{
	if (!bt->e) {
		bt->e = malloc(BATCH_MAX * sizeof(*bt->e));
		if (!bt->e) {
			free(e->path);
			local_fatal(b, ENOMEM, "queue unchanged files");
			return;
		}
	}
	bt->e[bt->n++] = *e;
	if (bt->n == BATCH_MAX)
		batch_flush(b, bt);
}

/* Queue one entry as a job of type; takes e's path (and target). */
static void queue_one(bk *b, lane *q, int type, const bent *e,
		      char *target)
{
	bent *copy = malloc(sizeof(*copy));
	job *j = copy ? job_new(type, copy, 1) : NULL;

	if (!j) {
		free(copy);
		free(e->path);
		free(target);
		local_fatal(b, ENOMEM, "queue a file");
		return;
	}
	*copy = *e;
	j->target = target;
	if (type == J_LINK) {
		/* After every upload, see above. */
		*b->links_tail = j;
		b->links_tail = &j->next;
		return;
	}
	enqueue(b, q, j);
}

static int unchanged(const fc_val *v, const struct stat *st)
{
	return v->size == (uint64_t)st->st_size &&
	       v->mtime == ts_ns(&st->st_mtim) &&
	       v->ctime == ts_ns(&st->st_ctim) &&
	       v->ino == (uint64_t)st->st_ino &&
	       v->dev == (uint64_t)st->st_dev &&
	       v->root_size == v->size;
}

/* Takes e's path. */
static void visit_file(bk *b, bent *e, batch *bt)
{
	if (e->st.st_nlink > 1) {
		hlink *h = hl_find(b, &e->st);

		if (h) {
			e->hl = h;
			queue_one(b, NULL, J_LINK, e, NULL);
			return;
		}
		h = hl_add(b, &e->st);
		if (!h) {
			free(e->path);
			local_fatal(b, ENOMEM, "track hard links");
			return;
		}
		e->hl = h;
	}
	if (b->fc && fcache_lookup(b->fc, e->path, &e->cv) &&
	    unchanged(&e->cv, &e->st)) {
		batch_add(b, bt, e);
		return;
	}
	queue_one(b, (uint64_t)e->st.st_size >= BIG_FILE ? &b->big : &b->small,
		  J_FILE, e, NULL);
}

/* Takes e's path. */
static void visit_symlink(bk *b, bent *e)
{
	size_t cap = DDT_MAX_STR + 1;
	char *target = malloc(cap);
	ssize_t r;

	if (!target) {
		free(e->path);
		local_fatal(b, ENOMEM, "read a symbolic link");
		return;
	}
	r = readlink(e->path, target, cap);
	if (r < 0 || (size_t)r >= cap) {
		local_warn(b, r < 0 ? errno : ENAMETOOLONG, "back up",
			   e->path);
		free(target);
		free(e->path);
		return;
	}
	target[r] = '\0';
	queue_one(b, &b->small, J_SYMLINK, e, target);
}

static const char *kind_of(mode_t m)
{
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "device";
	return "special file";
}

static void walk_dir(bk *b, const char *path, uint64_t dir);

static int dirs_push(bk *b, uint64_t ino, const struct stat *st)
{
	if (b->ndirs == b->dirs_cap) {
		dirattr *d = grow_array(b->dirs, &b->dirs_cap, sizeof(*d), 256);

		if (!d)
			return -ENOMEM;
		b->dirs = d;
	}
	b->dirs[b->ndirs].ino = ino;
	b->dirs[b->ndirs].atime = ts_ns(&st->st_atim);
	b->dirs[b->ndirs].mtime = ts_ns(&st->st_mtim);
	b->ndirs++;
	return 0;
}

static int other_fs(const bk *b, const struct stat *st)
{
	return b->o->one_fs && st->st_dev != b->root_dev;
}

/* made: the directory as make_subdirs() made it, or NULL. */
static void visit_dir(bk *b, const bent *e, const ddtc_mkdir_req *made)
{
	ddt_attr a;
	int rc;

	if (other_fs(b, &e->st)) {
		out_warn("skipped %s: on another file system "
			 "(--one-file-system)", e->path);
		atomic_fetch_add(&b->skipped, 1);
		return;
	}
	/* A directory the burst could not make is tried alone, for the
	 * error message of its own. */
	if (made && made->rc == 0) {
		a = made->attr;
		rc = 0;
	} else {
		rc = ddtc_mkdir(b->c, e->dir, e->name, e->st.st_mode & 07777,
				e->st.st_uid, e->st.st_gid,
				ts_ns(&e->st.st_mtim), &a);
	}
	if (rc < 0) {
		target_error(b, rc, "store directory", e->path);
		return;
	}
	if (dirs_push(b, a.ino, &e->st) < 0) {
		local_fatal(b, ENOMEM, "remember directory times");
		return;
	}
	atomic_fetch_add(&b->ndirs_done, 1);
	walk_dir(b, e->path, a.ino);
}

/* base: the directory's path for joining (see walk_dir). */
static void visit(bk *b, const char *base, const char *name, uint64_t dir,
		  batch *bt, const ddtc_mkdir_req *made)
{
	bent e = { .dir = dir };

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	e.path = path_join(base, name);
	if (!e.path) {
		local_fatal(b, ENOMEM, "walk the tree");
		return;
	}
	e.name = e.path + strlen(e.path) - strlen(name);
	if (lstat(e.path, &e.st) < 0) {
		local_warn(b, errno, "back up", e.path);
		free(e.path);
		return;
	}
	if (S_ISREG(e.st.st_mode)) {
		visit_file(b, &e, bt);
		return;
	}
	if (S_ISLNK(e.st.st_mode)) {
		visit_symlink(b, &e);
		return;
	}
	if (S_ISDIR(e.st.st_mode)) {
		visit_dir(b, &e, made);
	} else {
		out_warn("skipped %s: a %s cannot be stored", e.path,
			 kind_of(e.st.st_mode));
		atomic_fetch_add(&b->skipped, 1);
	}
	free(e.path);
}

/* Byte order, the order the target lists names in. */
static int byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The subdirectories among names, of directory dir at path. */
typedef struct subdirs {
	int *idx;		/* their places in names, ascending */
	ddtc_mkdir_req *req;
	size_t n;
} subdirs;

static void subdirs_free(subdirs *sd)
{
	free(sd->idx);
	free(sd->req);
}

/* Room for n; on failure none (subdirs_free() is still right). */
static int subdirs_alloc(subdirs *sd, size_t n)
{
	sd->idx = calloc(n, sizeof(*sd->idx));
	sd->req = calloc(n, sizeof(*sd->req));
	if (sd->idx && sd->req)
		return 0;
	subdirs_free(sd);
	memset(sd, 0, sizeof(*sd));
	return -ENOMEM;
}

/* Make the subdirectories of dir on the target in one burst before the
 * walk meets them: each of their entries needs its inode, and one round
 * trip for all of them instead of one each is most of what backing up an
 * unchanged tree costs. Best effort: what is not made here (an error, no
 * memory, a race) visit_dir() makes or reports alone. */
static void make_subdirs(bk *b, const char *base, struct dirent **names,
			 int n, uint64_t dir, subdirs *sd)
{
	struct stat st;

	memset(sd, 0, sizeof(*sd));
	for (int i = 0; i < n && !atomic_load(&b->failed); i++) {
		unsigned char t = names[i]->d_type;
		char *p;
		int ok;

		if ((t != DT_DIR && t != DT_UNKNOWN) ||
		    strcmp(names[i]->d_name, ".") == 0 ||
		    strcmp(names[i]->d_name, "..") == 0)
			continue;
		p = path_join(base, names[i]->d_name);
		ok = p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
		     !other_fs(b, &st);
		free(p);
		if (!ok)
			continue;
		if (!sd->idx && subdirs_alloc(sd, (size_t)n) < 0)
			break;
		sd->idx[sd->n] = i;
		sd->req[sd->n] = (ddtc_mkdir_req){
			.name = names[i]->d_name, .mode = st.st_mode & 07777,
			.uid = st.st_uid, .gid = st.st_gid,
			.mtime = ts_ns(&st.st_mtim), .rc = -1,
		};
		sd->n++;
	}
	if (sd->n)
		(void)ddtc_mkdir_many(b->c, dir, sd->req, sd->n);
}

static void walk_dir(bk *b, const char *path, uint64_t dir)
{
	/* path_join() puts a slash between: the names under "/" are "/x"
	 * (also as the file cache's keys), not "//x". */
	const char *base = strcmp(path, "/") == 0 ? "" : path;
	struct dirent **names = NULL;
	batch bt = { 0 };
	subdirs sd;
	size_t next = 0;
	int n, i;

	n = scandir(path, &names, NULL, byte_order);
	if (n < 0) {
		local_warn(b, errno, "read directory", path);
		return;
	}
	make_subdirs(b, base, names, n, dir, &sd);
	for (i = 0; i < n; i++) {
		const ddtc_mkdir_req *made = NULL;

		if (next < sd.n && sd.idx[next] == i)
			made = &sd.req[next++];
		if (!atomic_load(&b->failed))
			visit(b, base, names[i]->d_name, dir, &bt, made);
		free(names[i]);
	}
	free(names);
	subdirs_free(&sd);
	batch_flush(b, &bt);
}

/* ---- the pre-walk: a total for the progress line ---- */

/* Bytes of regular files under dfd (which it closes); -1 if it gave up.
 * A file with n names counts 1/n at each, so links add up to one copy. */
static int prewalk_dir(bk *b, int dfd, int depth, uint64_t *total)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		int fd;

		if (atomic_load(&b->prewalk_stop))
			rc = -1;
		if (rc || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			*total += (uint64_t)st.st_size /
				  (st.st_nlink ? st.st_nlink : 1);
			continue;
		}
		if (!S_ISDIR(st.st_mode) ||
		    (b->o->one_fs && st.st_dev != b->root_dev))
			continue;
		if (depth >= PREWALK_DEPTH) {
			rc = -1;
			continue;
		}
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			rc = prewalk_dir(b, fd, depth + 1, total);
	}
	closedir(d);
	return rc;
}

static void *prewalk_main(void *arg)
{
	bk *b = arg;
	uint64_t total = 0;
	int fd;

	fd = open(b->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && prewalk_dir(b, fd, 0, &total) == 0)
		atomic_store(&b->total, total);
	return NULL;
}

static void sample(void *arg, progress_sample *s)
{
	bk *b = arg;
	ddtc_counters k;

	ddtc_get_counters(b->c, &k);
	s->bytes = atomic_load(&b->done_bytes);
	s->total = atomic_load(&b->total);
	s->files = atomic_load(&b->files);
	s->wire = k.wire_bytes;
}

/* ---- the run ---- */

void backup_default_name(const char *dir, char *out)
{
	const char *base = strrchr(dir, '/');
	size_t i;

	base = base ? base + 1 : dir;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		strcpy(out, "root");
		return;
	}
	snprintf(out, 200, "%s", base);
	for (i = 0; out[i]; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == '_'))
			out[i] = '_';
	}
}

static void load_cache(bk *b)
{
	char file[PATH_MAX];
	const char *why = NULL;
	int rc;

	if (b->o->no_cache)
		return;
	rc = fcache_path(file, sizeof(file), "files", b->o->host, b->o->port,
			 b->o->su);
	if (rc < 0) {
		out_warn("file cache: %s (set DDT_CACHE_DIR or HOME; every "
			 "file is read this time)", strerror(-rc));
		return;
	}
	rc = fcache_load(&b->fc, file, &why);
	if (rc < 0) {
		out_warn("file cache %s: %s (every file is read this time)",
			 file, strerror(-rc));
		return;
	}
	if (why)
		out_warn("file cache %s ignored: %s (rebuilding it; every file "
			 "is read this time)", file, why);
}

/* Make the links, then set every directory's times; the workers running. */
static void finish_tree(bk *b)
{
	job *l, *next, *j;
	size_t i;

	workers_drain(b);
	for (l = b->links; l; l = next) {
		next = l->next;
		enqueue(b, &b->small, l);
	}
	b->links = NULL;
	b->links_tail = &b->links;
	workers_drain(b);
	for (i = 0; i < b->ndirs && !atomic_load(&b->failed);
	     i += SETATTR_BATCH) {
		size_t n = b->ndirs - i < SETATTR_BATCH ? b->ndirs - i :
			   SETATTR_BATCH;
		dirattr *d = malloc(n * sizeof(*d));

		j = d ? job_new(J_SETATTR, NULL, n) : NULL;
		if (!j) {
			free(d);
			local_fatal(b, ENOMEM, "set directory times");
			break;
		}
		memcpy(d, b->dirs + i, n * sizeof(*d));
		j->d = d;
		enqueue(b, &b->small, j);
	}
	workers_drain(b);
}

/* The backup directory stands for the tree's root: give it its owner,
 * mode and times. The target may keep its own on a backup directory;
 * that costs nothing at restore, so it is only a warning. */
static void set_root_attrs(bk *b, uint64_t ino, const struct stat *st)
{
	ddt_attr v = { 0 }, out;
	int rc;

	v.mode = st->st_mode & 07777;
	v.uid = st->st_uid;
	v.gid = st->st_gid;
	v.atime = ts_ns(&st->st_atim);
	v.mtime = ts_ns(&st->st_mtim);
	rc = ddtc_setattr(b->c, ino, DDT_SA_MODE | DDT_SA_UID | DDT_SA_GID |
			  DDT_SA_ATIME | DDT_SA_MTIME, &v, &out);
	if (rc < 0 && entry_error(rc))
		out_warn("set the attributes of the backup's root: %s",
			 ddtc_errmsg(rc));
	else if (rc < 0)
		fatal_once(b, rc, "set the attributes of the backup's root");
}

static void print_summary(bk *b, const ddtc_backup *bkp, double dt)
{
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN];
	uint64_t bytes = atomic_load(&b->bytes);
	ddtc_counters k;

	ddtc_get_counters(b->c, &k);
	printf("backup:          %s\n", bkp->id);
	printf("storage unit:    %s\n", b->o->su);
	printf("expires:         %s\n", bkp->expires ?
	       fmt_date(bkp->expires, b1) : "never");
	printf("files:           %" PRIuFAST64 " (%" PRIuFAST64
	       " unchanged, %" PRIuFAST64 " hard links)\n",
	       atomic_load(&b->files), atomic_load(&b->unchanged),
	       atomic_load(&b->links_done));
	printf("directories:     %" PRIuFAST64 "\n",
	       atomic_load(&b->ndirs_done) + 1);
	printf("symbolic links:  %" PRIuFAST64 "\n", atomic_load(&b->symlinks));
	printf("logical bytes:   %" PRIu64 " (%s)\n", bytes,
	       fmt_bytes(bytes, b1));
	printf("bytes on wire:   %" PRIu64 " (%s)\n", k.wire_bytes,
	       fmt_bytes(k.wire_bytes, b2));
	printf("reduction:       %s (logical / wire)\n",
	       fmt_ratio(bytes, k.wire_bytes, b3));
	printf("new segments:    %" PRIu64 " of %" PRIu64 "\n",
	       k.segments_sent, k.segments);
	printf("elapsed:         %s\n", fmt_secs(dt, b1));
	printf("throughput:      %.1f MB/s\n",
	       dt > 0 ? (double)bytes / 1e6 / dt : 0.0);
	if (atomic_load(&b->skipped))
		printf("skipped:         %" PRIuFAST64 " (sockets, fifos, "
		       "devices, other file systems)\n",
		       atomic_load(&b->skipped));
	if (atomic_load(&b->warnings))
		printf("not backed up:   %" PRIuFAST64 " (see the warnings)\n",
		       atomic_load(&b->warnings));
	fflush(stdout);
}

static int begin(bk *b, const char *name, ddtc_backup *out)
{
	int rc;

	rc = ddtc_backup_begin(b->c, b->o->su, name, b->o->retain, out);
	if (rc == -EEXIST) {
		/* Ids have one-second resolution: one of this second
		 * exists already. */
		sleep(1);
		rc = ddtc_backup_begin(b->c, b->o->su, name, b->o->retain,
				       out);
	}
	if (rc < 0)
		return out_fail(rc, "begin backup %s in storage unit %s", name,
				b->o->su);
	return 0;
}

/* A backup stopped half made is of no use, and would count against the
 * quota: it goes. 0, or the -errno of the removal (its message taken). */
static int drop_partial(bk *b, const ddtc_backup *bkp, char *why, size_t cap)
{
	int rc = ddtc_backup_delete(b->c, b->o->su, bkp->id);

	if (rc < 0)
		snprintf(why, cap, "%s", ddtc_errmsg(rc));
	return rc;
}

/* The quota stopped the run: one line says why. */
static int quota_refused(bk *b, const ddtc_backup *bkp)
{
	char why[1024];

	if (drop_partial(b, bkp, why, sizeof(why)) == 0)
		out_warn("backup %s refused: %s (nothing of it was kept)",
			 bkp->id, b->quota_msg);
	else
		out_warn("backup %s refused: %s (remove the partial backup with "
			 "'ddt rm %s --su %s')", bkp->id, b->quota_msg, bkp->id,
			 b->o->su);
	return EXIT_RUNTIME;
}

/* A signal stopped the run: one line says which, and what was left. */
static int interrupted(bk *b, const ddtc_backup *bkp)
{
	int sig = atomic_load(&bk_signo);
	char why[1024];

	if (drop_partial(b, bkp, why, sizeof(why)) == 0)
		out_warn("backup %s interrupted by %s; the incomplete backup "
			 "was removed", bkp->id, signal_name(sig));
	else
		out_warn("backup %s interrupted by %s; removing the incomplete "
			 "backup failed: %s (remove it with 'ddt rm %s --su "
			 "%s')", bkp->id, signal_name(sig), why, bkp->id,
			 b->o->su);
	return BACKUP_EXIT_SIGNAL + sig;
}

static int run(bk *b, const struct stat *rst)
{
	char name[256];
	ddtc_backup bkp;
	progress *pg = NULL;
	double t0 = now_mono_sec();
	int rc, failed;

	if (b->o->name)
		snprintf(name, sizeof(name), "%s", b->o->name);
	else
		backup_default_name(b->root, name);
	if (begin(b, name, &bkp)) {
		int sig = atomic_load(&bk_signo);

		return sig ? BACKUP_EXIT_SIGNAL + sig : EXIT_RUNTIME;
	}
	set_again_line(b, bkp.id);
	rc = workers_start(b);
	if (rc < 0) {
		workers_stop(b);
		return out_fail_errno(-rc, "free some memory", "start workers");
	}
	if (b->o->show_progress && isatty(STDERR_FILENO) &&
	    pthread_create(&b->prewalk, NULL, prewalk_main, b) == 0)
		b->prewalk_running = 1;
	if (progress_start(&pg, "backup", b->o->show_progress, sample, b) < 0)
		pg = NULL;	/* no line: not worth failing for */

	walk_dir(b, b->root, bkp.ino);
	finish_tree(b);
	workers_stop(b);
	if (!atomic_load(&b->failed))
		set_root_attrs(b, bkp.ino, rst);

	atomic_store(&b->prewalk_stop, 1);
	if (b->prewalk_running)
		pthread_join(b->prewalk, NULL);
	progress_stop(pg);

	/* The flag before the signal: a handler sets them in the other
	 * order, so a failure seen here is never a signal's unnoticed. A
	 * signal after this comes too late: the backup completes. */
	failed = atomic_load(&b->failed);
	if (atomic_load(&bk_signo))
		return interrupted(b, &bkp);
	if (b->quota)
		return quota_refused(b, &bkp);
	if (failed) {
		out_warn("backup %s is left incomplete (run the backup again; "
			 "remove it with 'ddt rm %s --su %s')", bkp.id, bkp.id,
			 b->o->su);
		return EXIT_RUNTIME;
	}
	rc = ddtc_backup_end(b->c, bkp.ino, atomic_load(&b->files),
			     atomic_load(&b->bytes));
	if (rc < 0)
		return out_fail(rc, "end backup %s", bkp.id);
	if (b->fc) {
		rc = fcache_save(b->fc, b->root);
		if (rc < 0)
			out_warn("save the file cache: %s (the next backup "
				 "reads every file)", strerror(-rc));
	}
	print_summary(b, &bkp, now_mono_sec() - t0);
	if (atomic_load(&b->warnings)) {
		out_warn("backup %s: %" PRIuFAST64 " entries could not be "
			 "backed up (see the warnings above)", bkp.id,
			 atomic_load(&b->warnings));
		return EXIT_PARTIAL;
	}
	return 0;
}

int backup_run(ddtc *c, const backup_opts *o)
{
	struct stat st;
	bk *b;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return out_fail_errno(ENOMEM, "free some memory", "back up %s",
				      o->dir);
	b->c = c;
	b->o = o;
	b->links_tail = &b->links;
	if (!realpath(o->dir, b->root)) {
		ret = out_fail_errno(errno, "check the path", "back up %s",
				     o->dir);
		goto out;
	}
	if (stat(b->root, &st) < 0) {
		ret = out_fail_errno(errno, "check the path", "back up %s",
				     o->dir);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		ret = out_fail_errno(ENOTDIR, "give a directory", "back up %s",
				     o->dir);
		goto out;
	}
	b->root_dev = st.st_dev;
	load_cache(b);
	signals_catch(b);
	ret = run(b, &st);
	signals_release();
out:
	for (job *l = b->links, *next; l; l = next) {
		next = l->next;
		job_free(l);
	}
	hl_free(b);
	free(b->dirs);
	fcache_free(b->fc);
	free(b);
	return ret;
}
