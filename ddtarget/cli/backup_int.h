/* backup_int.h - ddt backup's private half: the run's shared state (struct
 * bk), an entry as the walk hands it to the upload, and what each part of
 * the backup gives the others. Calls go one way, top down:
 *   backup.c         the run: begin, end, summary, signals, the cache file
 *   backup_walk.c    the walk: reads the tree, makes directories, checks
 *                    the file cache, tracks hard links; produces the jobs
 *   backup_upload.c  the workers: store files, commit unchanged ones,
 *                    symlinks, then links and directory times; consume them
 *   backup_err.c     one line per error; a fatal one stops the run
 * Not for other files: backup.h is the face of ddt backup. */
#ifndef DDT_BACKUP_INT_H
#define DDT_BACKUP_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "backup.h"
#include "fcache.h"

enum { HL_PENDING, HL_DONE };

/* An inode with several names, by (dev, ino); the walk's, except target
 * and state, which the worker storing the first name sets. */
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
				   a link links to */
	fc_val cv;		/* unchanged: what the cache holds */
} bent;

typedef struct bk {
	ddtc *c;
	const backup_opts *o;
	fcache *fc;		/* NULL: none this run */
	char root[PATH_MAX];
	dev_t root_dev;

	atomic_int failed;	/* a fatal error was printed: wind down */
	/* The storage unit's quota stopped the run: its message, printed
	 * once the partial backup is removed (set once, before the workers
	 * are joined). */
	int quota;
	char quota_msg[1024];

	atomic_uint_fast64_t files, ndirs_done, symlinks, links_done, bytes,
		done_bytes, unchanged, warnings, skipped, total;

	struct walk *walk;	/* backup_walk.c's */
	struct upload *up;	/* backup_upload.c's */
} bk;

/* A file's time (stat's) in ns since the epoch, as the protocol and the
 * file cache keep it. */
static inline int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* ---- backup_walk.c: called by the run ---- */

/* The walk's state. 0 or -ENOMEM. */
int walk_new(bk *b);
/* Walk b->root into the target directory ino, handing each entry to the
 * upload; directories are made on the target as the walk meets them. */
void walk_tree(bk *b, uint64_t ino);
/* The pre-walk: a thread that adds up the tree's bytes into b->total for
 * the progress line (only when the line shows); stop: end and join it. */
void walk_total_start(bk *b);
void walk_total_stop(bk *b);
/* After the upload has stopped (its links point into the walk's table). */
void walk_free(bk *b);

/* ---- backup_upload.c: called by the run and the walk ---- */

/* Start the workers. 0 or -errno (upload_stop() still frees). */
int upload_start(bk *b);
/* Queue e (a regular file) to be read and stored; takes e's path. */
void upload_file(bk *b, const bent *e);
/* Queue the n unchanged files of one directory, e[i].cv their cached
 * content, for one COMMIT; takes e and their paths. */
void upload_unchanged(bk *b, bent *e, size_t n);
/* Queue the symbolic link e to target; takes e's path and target. */
void upload_symlink(bk *b, const bent *e, char *target);
/* Keep e, another name of e->hl, to link once every file is stored;
 * takes e's path. */
void upload_link(bk *b, const bent *e);
/* Keep the times of directory ino (st's), to set once everything inside
 * it exists. 0 or -ENOMEM. The walk's thread only. */
int upload_dir_times(bk *b, uint64_t ino, const struct stat *st);
/* After the walk: wait for the uploads, make the links, set the
 * directories' times. */
void upload_finish(bk *b);
/* Stop the workers and free what is left; NULL-safe, and again. */
void upload_stop(bk *b);

/* ---- backup_err.c: one line each; a fatal one stops the run ---- */

/* 1 if the target's error rc concerns one entry only: the backup goes on. */
int err_is_entry(int rc);
/* Stop the run, with "<what>: <why>" unless another stopped it first (or
 * rc is the quota's, whose message waits for the end). */
void err_fatal(bk *b, int rc, const char *what);
/* A target call about path failed: warn and count it, or stop. */
void err_target(bk *b, int rc, const char *verb, const char *path);
/* A local call about path failed: warn and count it. */
void err_local(bk *b, int err, const char *verb, const char *path);
/* No memory for what: stop the run. */
void err_nomem(bk *b, const char *what);
/* A warning about an entry that is not backed up (counted). */
void err_warn(bk *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
