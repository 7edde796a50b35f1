/* backup.c - ddt backup: the run. It begins the backup on the target,
 * loads the file cache, starts the workers (backup_upload.c) and walks the
 * tree on this thread (backup_walk.c), which queues to them; then it waits
 * for the end (links, directory times), gives the backup's root its
 * attributes and ends the backup with its totals, saves the cache and
 * prints the summary. backup_int.h says who calls whom.
 *
 * SIGINT or SIGTERM stops a run as a fatal error does (the workers and the
 * walk watch one flag), and the half-made backup is then removed, as one
 * the quota refused is: a backup that lacks files is only clutter. */
#include "backup_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "human.h"
#include "now.h"
#include "out.h"

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

/* ---- the run ---- */

static void sample(void *arg, out_progress_sample *s)
{
	bk *b = arg;
	ddtc_counters k;

	ddtc_get_counters(b->c, &k);
	s->bytes = atomic_load(&b->done_bytes);
	s->total = atomic_load(&b->total);
	s->files = atomic_load(&b->files);
	s->wire = k.wire_bytes;
}

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
	if (rc < 0 && err_is_entry(rc))
		out_warn("set the attributes of the backup's root: %s",
			 ddtc_errmsg(rc));
	else if (rc < 0)
		err_fatal(b, rc, "set the attributes of the backup's root");
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
	       human_fmt_date(bkp->expires, b1) : "never");
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
	printf("elapsed:         %s\n", human_fmt_secs(dt, b1));
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
	out_progress *pg = NULL;
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
	rc = upload_start(b);
	if (rc < 0) {
		upload_stop(b);
		return out_fail_errno(-rc, "free some memory", "start workers");
	}
	walk_total_start(b);
	if (out_progress_start(&pg, "backup", b->o->show_progress, sample, b) < 0)
		pg = NULL;	/* no line: not worth failing for */

	walk_tree(b, bkp.ino);
	upload_finish(b);
	upload_stop(b);
	if (!atomic_load(&b->failed))
		set_root_attrs(b, bkp.ino, rst);

	walk_total_stop(b);
	out_progress_stop(pg);

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
	if (!b || walk_new(b) < 0) {
		free(b);
		return out_fail_errno(ENOMEM, "free some memory", "back up %s",
				      o->dir);
	}
	b->c = c;
	b->o = o;
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
	upload_stop(b);		/* its links point into the walk's table */
	walk_free(b);
	fcache_free(b->fc);
	free(b);
	return ret;
}
