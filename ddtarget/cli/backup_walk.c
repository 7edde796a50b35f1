/* backup_walk.c - ddt backup's walk (backup_int.h). The run's thread walks
 * the tree in name order and runs ahead of the uploads: it makes each
 * directory on the target as it meets it (the entries inside need its
 * inode; the subdirectories of a directory go in one burst) and hands
 * everything else to backup_upload.c, whose queues bound how far ahead it
 * runs. A file the file cache knows unchanged is not read: those of one
 * directory gather into one COMMIT with their cached roots. The second
 * and later names of an inode become links, made at the end.
 *
 * The pre-walk, a thread of its own, adds up the tree's bytes for the
 * progress line's percentage and ETA while the walk goes on. */
#include "backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"
#include "out.h"

#define BATCH_MAX	256	/* unchanged files in one COMMIT */
#define PREWALK_DEPTH	64	/* the pre-walk holds one fd per level */

typedef struct walk {
	/* The inodes with several names met so far: the walk's thread. */
	hlink **hl;
	size_t hl_nb, hl_n;
	/* The pre-walk. */
	pthread_t total;
	int total_running;
	atomic_int total_stop;
} walk;

/* ---- hard links: (dev, ino) -> hlink, the walk's thread only ---- */

static size_t hl_bucket(size_t nb, uint64_t dev, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & (nb - 1);
}

static hlink *hl_find(walk *w, const struct stat *st)
{
	hlink *h;

	if (!w->hl)
		return NULL;
	h = w->hl[hl_bucket(w->hl_nb, st->st_dev, st->st_ino)];
	for (; h; h = h->next)
		if (h->dev == st->st_dev && h->ino == st->st_ino)
			return h;
	return NULL;
}

static int hl_grow(walk *w)
{
	size_t nb = w->hl_nb ? w->hl_nb * 2 : 256;
	hlink **t = calloc(nb, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < w->hl_nb; i++) {
		hlink *h = w->hl[i], *next;

		for (; h; h = next) {
			size_t k = hl_bucket(nb, h->dev, h->ino);

			next = h->next;
			h->next = t[k];
			t[k] = h;
		}
	}
	free(w->hl);
	w->hl = t;
	w->hl_nb = nb;
	return 0;
}

static hlink *hl_add(walk *w, const struct stat *st)
{
	hlink *h;
	size_t k;

	if (w->hl_n >= w->hl_nb && hl_grow(w) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->state = HL_PENDING;
	k = hl_bucket(w->hl_nb, h->dev, h->ino);
	h->next = w->hl[k];
	w->hl[k] = h;
	w->hl_n++;
	return h;
}

static void hl_free(walk *w)
{
	for (size_t i = 0; i < w->hl_nb; i++) {
		hlink *h = w->hl[i], *next;

		for (; h; h = next) {
			next = h->next;
			free(h);
		}
	}
	free(w->hl);
}

/* ---- the walk ---- */

/* Unchanged files of the directory being walked, for one COMMIT. */
typedef struct batch {
	bent *e;
	size_t n;
} batch;

static void batch_flush(bk *b, batch *bt)
{
	if (bt->n == 0)
		return;
	upload_unchanged(b, bt->e, bt->n);
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
			err_nomem(b, "queue unchanged files");
			return;
		}
	}
	bt->e[bt->n++] = *e;
	if (bt->n == BATCH_MAX)
		batch_flush(b, bt);
}

/* The file cache's test: a file that looks as it did when its content was
 * stored is not read again. */
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
		hlink *h = hl_find(b->walk, &e->st);

		if (h) {
			e->hl = h;
			upload_link(b, e);
			return;
		}
		h = hl_add(b->walk, &e->st);
		if (!h) {
			free(e->path);
			err_nomem(b, "track hard links");
			return;
		}
		e->hl = h;
	}
	if (b->fc && fcache_lookup(b->fc, e->path, &e->cv) &&
	    unchanged(&e->cv, &e->st)) {
		batch_add(b, bt, e);
		return;
	}
	upload_file(b, e);
}

/* Takes e's path. */
static void visit_symlink(bk *b, bent *e)
{
	size_t cap = DDT_MAX_STR + 1;
	char *target = malloc(cap);
	ssize_t r;

	if (!target) {
		free(e->path);
		err_nomem(b, "read a symbolic link");
		return;
	}
	r = readlink(e->path, target, cap);
	if (r < 0 || (size_t)r >= cap) {
		err_local(b, r < 0 ? errno : ENAMETOOLONG, "back up",
			   e->path);
		free(target);
		free(e->path);
		return;
	}
	target[r] = '\0';
	upload_symlink(b, e, target);
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
		err_target(b, rc, "store directory", e->path);
		return;
	}
	if (upload_dir_times(b, a.ino, &e->st) < 0) {
		err_nomem(b, "remember directory times");
		return;
	}
	atomic_fetch_add(&b->ndirs_done, 1);
	walk_dir(b, e->path, a.ino);
}

/* A name the target refuses (not UTF-8, or with a control character)
 * is one entry's error, told here before anything is sent: the entry is
 * skipped, never stored under another name. */
static int name_storable(bk *b, const char *base, const char *name)
{
	char msg[DDT_NAME_MSG_LEN];

	if (ddt_name_msg(msg, sizeof(msg), name, 1) == 0)
		return 1;
	err_warn(b, "back up %s: %s: skipped", base, msg);
	return 0;
}

/* base: the directory's path for joining (see walk_dir). */
static void visit(bk *b, const char *base, const char *name, uint64_t dir,
		  batch *bt, const ddtc_mkdir_req *made)
{
	bent e = { .dir = dir };

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	if (!name_storable(b, base, name))
		return;
	e.path = path_join(base, name);
	if (!e.path) {
		err_nomem(b, "walk the tree");
		return;
	}
	e.name = e.path + strlen(e.path) - strlen(name);
	if (lstat(e.path, &e.st) < 0) {
		err_local(b, errno, "back up", e.path);
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
		    strcmp(names[i]->d_name, "..") == 0 ||
		    !ddt_name_ok(names[i]->d_name))
			continue;	/* visit() says why */
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
	const char *base = path;
	struct dirent **names = NULL;
	batch bt = { 0 };
	subdirs sd;
	size_t next = 0;
	int n, i;

	n = scandir(path, &names, NULL, byte_order);
	if (n < 0) {
		err_local(b, errno, "read directory", path);
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

		if (atomic_load(&b->walk->total_stop))
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

/* ---- what the run calls ---- */

int walk_new(bk *b)
{
	b->walk = calloc(1, sizeof(*b->walk));
	return b->walk ? 0 : -ENOMEM;
}

void walk_tree(bk *b, uint64_t ino)
{
	walk_dir(b, b->root, ino);
}

void walk_total_start(bk *b)
{
	if (b->o->show_progress && isatty(STDERR_FILENO) &&
	    pthread_create(&b->walk->total, NULL, prewalk_main, b) == 0)
		b->walk->total_running = 1;
}

void walk_total_stop(bk *b)
{
	atomic_store(&b->walk->total_stop, 1);
	if (b->walk->total_running)
		pthread_join(b->walk->total, NULL);
	b->walk->total_running = 0;
}

void walk_free(bk *b)
{
	if (!b->walk)
		return;
	hl_free(b->walk);
	free(b->walk);
	b->walk = NULL;
}
