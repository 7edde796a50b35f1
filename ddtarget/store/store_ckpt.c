/* store_ckpt.c - checkpoints of the store's metadata: a RocksDB checkpoint
 * of the whole index plus a MANIFEST, taken while the store serves, kept N
 * deep; and the directory work that restoring one shares (finding one,
 * copying and removing trees). The restore itself is in store_restore.c.
 *
 * A checkpoint directory, ckdir/ckpt-YYYYMMDDTHHMMSSZ[-N]/:
 *   index/    the RocksDB checkpoint (hard links where ckdir shares the
 *             index's file system, copies where it does not)
 *   MANIFEST  text, one "key value" a line, first line "ddtarget-checkpoint
 *             1": created_ns, next_cid, k, m, ndirs, containers, segments,
 *             stored_bytes, store.
 * It is built as ckdir/.ckpt-<pid>-<ns>.tmp and renamed into place once
 * every file and directory in it is fsynced, so a name that starts with
 * "ckpt-" and has a MANIFEST is always a whole checkpoint; a crash leaves
 * at most a .tmp directory, which the next checkpoint removes. */
#include "store_ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ddterr.h"
#include "fmt.h"
#include "fio.h"
#include "now.h"
#include "path.h"
#include "store_int.h"

#define CKPT_PREFIX	"ckpt-"
#define CKPT_TMP_PREFIX	".ckpt-"
#define CKPT_TMP_SUFFIX	".tmp"
#define CKPT_MANIFEST	"MANIFEST"
#define CKPT_INDEX	"index"
#define CKPT_MAGIC	"ddtarget-checkpoint"
#define CKPT_FORMAT	1
#define CKPT_SUFFIX_MAX	100	/* ckpt-<stamp>-2 .. -99 when taken */
#define COPY_CHUNK	(1u << 20)

/* ---- small helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 &&
	    errno != ENOENT)
		return errno;
	return 0;
}

int store_rm_tree(const char *path)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	rc = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc > 0)
		return -rc;
	return rc < 0 ? -errno : 0;
}

/* fsync every file directly in dir, then dir itself: RocksDB's checkpoint
 * links or copies its files but does not promise they are on disk. */
static int fsync_dir_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		rc = path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (rc == 0)
			rc = fio_open(path, O_RDONLY, 0, &fd);
		if (rc == 0) {
			rc = fio_fsync(fd);
			fio_close(fd);
		}
	}
	closedir(d);
	return rc ? rc : fio_fsync_dir(dir);
}

static int copy_file(const char *src, const char *dst, uint8_t *buf)
{
	int in = -1, out = -1, rc;
	struct stat st;
	size_t n;
	off_t off = 0;

	rc = fio_open(src, O_RDONLY, 0, &in);
	if (rc == 0 && fstat(in, &st) != 0)
		rc = -errno;
	if (rc == 0)
		rc = fio_open(dst, O_WRONLY | O_CREAT | O_EXCL, FIO_FILE_MODE, &out);
	if (rc == 0)
		rc = fio_prealloc(out, st.st_size);
	while (rc == 0) {
		rc = fio_pread(in, buf, COPY_CHUNK, off, &n);
		if (rc < 0 || n == 0)
			break;
		rc = fio_pwrite(out, buf, n, off);
		off += (off_t)n;
	}
	if (rc == 0)
		rc = fio_fsync(out);
	if (in >= 0)
		fio_close(in);
	if (out >= 0) {
		int rc2 = fio_close(out);

		if (rc == 0)
			rc = rc2;
	}
	return rc;
}

/* Copy the flat directory src (a RocksDB directory has no subdirectories)
 * to dst, which must not exist, every file and dst itself fsynced. */
int store_copy_dir(const char *src, const char *dst)
{
	char sp[PATH_MAX], dp[PATH_MAX];
	struct dirent *de;
	struct stat st;
	uint8_t *buf;
	DIR *d;
	int rc = 0;

	if (mkdir(dst, FIO_DIR_MODE) != 0)
		return ddterr_set(-errno, "cannot create %s: %s", dst,
				  strerror(errno));
	buf = malloc(COPY_CHUNK);
	d = opendir(src);
	if (!buf || !d) {
		rc = buf ? ddterr_set(-errno, "cannot read %s: %s", src,
				      strerror(errno)) : -ENOMEM;
		goto out;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = path_fmt(sp, sizeof(sp), "%s/%s", src,
				   de->d_name)) < 0 ||
		    (rc = path_fmt(dp, sizeof(dp), "%s/%s", dst,
				   de->d_name)) < 0)
			break;
		if (lstat(sp, &st) != 0 || !S_ISREG(st.st_mode))
			rc = ddterr_set(-EBADMSG, "%s: not a regular file; a "
					"checkpoint's index holds only files", sp);
		else if ((rc = copy_file(sp, dp, buf)) < 0)
			rc = ddterr_set(rc, "cannot copy %s to %s: %s", sp, dp,
					strerror(-rc));
	}
	if (rc == 0 && (rc = fio_fsync_dir(dst)) < 0)
		rc = ddterr_set(rc, "cannot sync %s: %s", dst, strerror(-rc));
out:
	if (d)
		closedir(d);
	free(buf);
	return rc;
}

/* ---- the manifest ---- */

typedef struct ckpt_meta {
	int64_t created;
	uint64_t next_cid, containers, segments, stored;
	int k, m, ndirs;
	char store_id[33];	/* hex; "" if the manifest has none */
} ckpt_meta;

static int manifest_write(const char *path, const ckpt_meta *mt,
			  const char *root)
{
	char buf[PATH_MAX + 512];
	int n, rc;

	n = snprintf(buf, sizeof(buf),
		     CKPT_MAGIC " %d\n"
		     "created_ns %" PRId64 "\n"
		     "next_cid %" PRIu64 "\n"
		     "k %d\nm %d\nndirs %d\n"
		     "containers %" PRIu64 "\n"
		     "segments %" PRIu64 "\n"
		     "stored_bytes %" PRIu64 "\n"
		     "store %s\n"
		     "store_id %s\n",
		     CKPT_FORMAT, mt->created, mt->next_cid, mt->k, mt->m,
		     mt->ndirs, mt->containers, mt->segments, mt->stored, root,
		     mt->store_id);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ddterr_set(-ENAMETOOLONG, "checkpoint manifest: store "
				  "path too long");
	rc = fio_write_file_atomic(path, buf, (size_t)n);
	if (rc < 0)
		return ddterr_set(rc, "cannot write %s: %s", path,
				  strerror(-rc));
	return 0;
}

/* One "key value" line into mt; unknown keys are a later format's. */
static void manifest_field(ckpt_meta *mt, const char *key, const char *val)
{
	unsigned long long v = strtoull(val, NULL, 10);

	if (!strcmp(key, "created_ns"))
		mt->created = strtoll(val, NULL, 10);
	else if (!strcmp(key, "next_cid"))
		mt->next_cid = v;
	else if (!strcmp(key, "k"))
		mt->k = (int)v;
	else if (!strcmp(key, "m"))
		mt->m = (int)v;
	else if (!strcmp(key, "ndirs"))
		mt->ndirs = (int)v;
	else if (!strcmp(key, "containers"))
		mt->containers = v;
	else if (!strcmp(key, "segments"))
		mt->segments = v;
	else if (!strcmp(key, "stored_bytes"))
		mt->stored = v;
	else if (!strcmp(key, "store_id") && strlen(val) < sizeof(mt->store_id))
		strcpy(mt->store_id, val);
}

static int manifest_read(const char *path, ckpt_meta *mt)
{
	char *text, *line, *save = NULL;
	void *raw;
	size_t len;
	int rc, version = 0;

	memset(mt, 0, sizeof(*mt));
	rc = fio_read_file(path, &raw, &len);
	if (rc < 0)
		return ddterr_set(rc, "%s: %s", path, strerror(-rc));
	text = raw;
	text[len] = '\0';	/* fio_read_file allocates a byte more */
	line = strtok_r(text, "\n", &save);
	if (!line || sscanf(line, CKPT_MAGIC " %d", &version) != 1 ||
	    version != CKPT_FORMAT) {
		free(raw);
		return ddterr_set(-EBADMSG, "%s: not a checkpoint manifest of "
				  "format %d", path, CKPT_FORMAT);
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *sp = strchr(line, ' ');

		if (sp) {
			*sp = '\0';
			manifest_field(mt, line, sp + 1);
		}
	}
	free(raw);
	if (mt->k < 1 || mt->m < 0 || mt->ndirs < mt->k + mt->m ||
	    mt->ndirs > STORE_MAX_DIRS || mt->created <= 0)
		return ddterr_set(-EBADMSG, "%s: damaged (geometry k=%d m=%d "
				  "over %d directories)", path, mt->k, mt->m,
				  mt->ndirs);
	return 0;
}

/* ---- listing ---- */

static uint64_t tree_bytes(const char *path, int depth)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	uint64_t n = 0;
	DIR *d;

	if (depth > 2 || !(d = opendir(path)))
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_fmt(sub, sizeof(sub), "%s/%s", path, de->d_name) < 0 ||
		    lstat(sub, &st) != 0)
			continue;
		n += S_ISDIR(st.st_mode) ? tree_bytes(sub, depth + 1)
					 : (uint64_t)st.st_size;
	}
	closedir(d);
	return n;
}

/* The checkpoint ckdir/name: -ENOENT if there is none by that name,
 * -EBADMSG if its manifest is damaged. */
static int read_info(const char *ckdir, const char *name,
		     store_ckpt_info *out)
{
	char path[PATH_MAX];
	struct stat st;
	ckpt_meta mt;
	int rc;

	if (strlen(name) >= sizeof(out->name) || strchr(name, '/') ||
	    name[0] == '.')
		return ddterr_set(-EINVAL, "'%s' is not a checkpoint name "
				  "(they look like " CKPT_PREFIX
				  "20240131T235959Z)", name);
	rc = path_fmt(path, sizeof(path), "%s/%s", ckdir, name);
	if (rc < 0)
		return rc;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return ddterr_set(-ENOENT, "no checkpoint %s in %s", name,
				  ckdir);
	rc = path_fmt(path, sizeof(path), "%s/%s/" CKPT_MANIFEST, ckdir, name);
	if (rc == 0)
		rc = manifest_read(path, &mt);
	if (rc < 0)
		return rc == -ENOENT ? ddterr_set(-EBADMSG, "checkpoint %s in "
						  "%s has no manifest: it is "
						  "damaged", name, ckdir) : rc;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, name, strlen(name) + 1);	/* length checked */
	(void)path_fmt(path, sizeof(path), "%s/%s", ckdir, name);
	out->created = mt.created;
	out->bytes = tree_bytes(path, 0);
	out->next_cid = mt.next_cid;
	out->containers = mt.containers;
	out->segments = mt.segments;
	out->k = mt.k;
	out->m = mt.m;
	out->ndirs = mt.ndirs;
	memcpy(out->store_id, mt.store_id, sizeof(out->store_id));
	return 0;
}

typedef struct ckpt_list {
	store_ckpt_info *v;
	size_t n, cap;
} ckpt_list;

static int by_age(const void *a, const void *b)
{
	const store_ckpt_info *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int list_add(ckpt_list *l, const store_ckpt_info *ci)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		store_ckpt_info *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *ci;
	return 0;
}

/* Every whole checkpoint in ckdir, oldest first. Damaged ones (no or a
 * bad manifest) are not listed, and so never pruned or chosen. */
static int list_load(const char *ckdir, ckpt_list *l)
{
	store_ckpt_info ci;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	d = opendir(ckdir);
	if (!d)
		return errno == ENOENT ? 0 :
		       ddterr_set(-errno, "checkpoint directory %s: %s", ckdir,
				  strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, CKPT_PREFIX, strlen(CKPT_PREFIX)) != 0 ||
		    read_info(ckdir, de->d_name, &ci) < 0)
			continue;
		rc = list_add(l, &ci);
	}
	closedir(d);
	if (rc < 0) {
		free(l->v);
		return rc;
	}
	qsort(l->v, l->n, sizeof(*l->v), by_age);
	return 0;
}

int store_checkpoint_list(const char *ckdir, store_ckpt_cb cb, void *arg)
{
	ckpt_list l;
	int rc;

	if (!ckdir || !*ckdir)
		return ddterr_set(-EINVAL, "no checkpoint directory given");
	rc = list_load(ckdir, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = cb(arg, &l.v[i]);
	free(l.v);
	return rc;
}

/* Whether a checkpoint may be of the store with id want ("": any). */
static int same_store(const store_ckpt_info *ci, const char *want)
{
	return !want || !*want || !ci->store_id[0] ||
	       strcmp(ci->store_id, want) == 0;
}

int store_ckpt_find(const char *ckdir, const char *name, const char *store_id,
		    store_ckpt_info *out)
{
	ckpt_list l;
	size_t i;
	int rc;

	if (name) {
		rc = read_info(ckdir, name, out);
		if (rc == 0 && !same_store(out, store_id))
			rc = ddterr_set(-EINVAL, "checkpoint %s in %s is of "
					"another store (%s)", name, ckdir,
					out->store_id);
		return rc;
	}
	rc = list_load(ckdir, &l);
	for (i = l.n; rc == 0 && i > 0 && !same_store(&l.v[i - 1], store_id);
	     i--)
		;
	if (rc == 0 && i == 0)
		rc = ddterr_set(-ENOENT, "no checkpoints of this store in %s",
				ckdir);
	if (rc == 0)
		*out = l.v[i - 1];
	free(l.v);
	return rc;
}

/* ---- taking one ---- */

/* Remove what crashed checkpoints left: .ckpt-<pid>-*.tmp of processes
 * that are gone, or of this one (ckpt_mu says none is under way here). */
static void sweep_tmp(const char *ckdir)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t len;
	long pid;
	DIR *d;

	d = opendir(ckdir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, CKPT_TMP_PREFIX,
			    strlen(CKPT_TMP_PREFIX)) != 0 ||
		    len < strlen(CKPT_TMP_SUFFIX) ||
		    strcmp(de->d_name + len - strlen(CKPT_TMP_SUFFIX),
			   CKPT_TMP_SUFFIX) != 0 ||
		    sscanf(de->d_name, CKPT_TMP_PREFIX "%ld-", &pid) != 1)
			continue;
		if (pid != (long)getpid() &&
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;	/* its process is alive */
		if (path_fmt(path, sizeof(path), "%s/%s", ckdir,
			     de->d_name) == 0)
			(void)store_rm_tree(path);
	}
	closedir(d);
}

static int tmp_name(const char *ckdir, char *buf, size_t cap)
{
	return path_fmt(buf, cap, "%s/" CKPT_TMP_PREFIX "%ld-%" PRId64
			CKPT_TMP_SUFFIX, ckdir, (long)getpid(), now_ns());
}

/* The RocksDB checkpoint into tmp/index and what the manifest says of it,
 * read under seal_mu so that no seal falls between the two. */
static int snapshot(store *s, const char *tmp, ckpt_meta *mt)
{
	char path[PATH_MAX];
	int rc;

	rc = path_fmt(path, sizeof(path), "%s/" CKPT_INDEX, tmp);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->seal_mu);
	pthread_mutex_lock(&s->lock);
	mt->created = now_ns();
	mt->next_cid = s->next_cid;
	mt->containers = s->sealed.containers;
	mt->segments = s->sealed.segments;
	mt->stored = s->sealed.stored;
	pthread_mutex_unlock(&s->lock);
	rc = idx_checkpoint(s->ix, path);
	pthread_mutex_unlock(&s->seal_mu);
	mt->k = ec_k(s->e);
	mt->m = ec_m(s->e);
	mt->ndirs = s->ndirs;
	if (rc == 0 && (rc = fsync_dir_files(path)) < 0)
		rc = ddterr_set(rc, "cannot sync checkpoint %s: %s", path,
				strerror(-rc));
	return rc;
}

/* The highest N of ckdir's ckpt-<stamp>[-N] (1 for the bare name), 0 if
 * there is none: a new name goes past it, so that names taken within one
 * second sort as they were taken even after the first is pruned. */
static int last_suffix(const char *ckdir, const char *stamp)
{
	char bare[STORE_CKPT_NAME_MAX];
	struct dirent *de;
	size_t blen;
	int last = 0, n;
	DIR *d;

	blen = (size_t)snprintf(bare, sizeof(bare), CKPT_PREFIX "%s", stamp);
	d = opendir(ckdir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, bare, blen) != 0)
			continue;
		if (de->d_name[blen] == '\0')
			n = 1;
		else if (sscanf(de->d_name + blen, "-%d", &n) != 1)
			continue;
		if (n > last)
			last = n;
	}
	closedir(d);
	return last;
}

/* Rename tmp to ckdir/ckpt-<stamp>, or -2, -3 ... if taken. */
static int publish(const char *ckdir, const char *tmp, int64_t created,
		   char *name, size_t cap)
{
	char stamp[FMT_LEN], path[PATH_MAX];
	struct stat st;
	int rc;

	fmt_utc_stamp(created, stamp);
	for (int i = last_suffix(ckdir, stamp) + 1; i < CKPT_SUFFIX_MAX; i++) {
		if (i == 1)
			snprintf(name, cap, CKPT_PREFIX "%s", stamp);
		else
			snprintf(name, cap, CKPT_PREFIX "%s-%d", stamp, i);
		rc = path_fmt(path, sizeof(path), "%s/%s", ckdir, name);
		if (rc < 0)
			return rc;
		if (lstat(path, &st) == 0)
			continue;
		rc = fio_rename(tmp, path);
		if (rc == 0)
			rc = fio_fsync_dir(ckdir);
		if (rc < 0)
			return ddterr_set(rc, "cannot rename %s to %s: %s", tmp,
					  path, strerror(-rc));
		return 0;
	}
	return ddterr_set(-EEXIST, "%s: too many checkpoints named "
			  CKPT_PREFIX "%s", ckdir, stamp);
}

/* Remove the oldest of this store's checkpoints until keep remain (a
 * directory shared with another store keeps the other's; checkpoints
 * from before store ids count as this store's). Each is renamed to a
 * .tmp name first, so a crash halfway through never leaves a damaged
 * checkpoint that looks whole. */
static int prune(const char *ckdir, int keep, const char *store_id)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t mine = 0;
	ckpt_list l;
	int rc;

	rc = list_load(ckdir, &l);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		if (l.v[i].store_id[0] && strcmp(l.v[i].store_id, store_id))
			l.v[i].name[0] = '\0';	/* another store's */
		else
			mine++;
	}
	for (size_t i = 0; rc == 0 && i < l.n && mine > (size_t)keep; i++) {
		if (!l.v[i].name[0])
			continue;
		mine--;
		rc = path_fmt(path, sizeof(path), "%s/%s", ckdir, l.v[i].name);
		if (rc == 0)
			rc = tmp_name(ckdir, tmp, sizeof(tmp));
		if (rc == 0)
			rc = fio_rename(path, tmp);
		if (rc == 0)
			rc = fio_fsync_dir(ckdir);
		if (rc == 0)
			rc = store_rm_tree(tmp);
		if (rc < 0)
			rc = ddterr_set(rc, "cannot remove old checkpoint %s: "
					"%s", path, strerror(-rc));
	}
	free(l.v);
	return rc;
}

/* ckdir, durably there (it may be new), swept, and a new temp dir in it. */
static int make_tmp(const char *ckdir, char *tmp, size_t cap)
{
	char *parent = fio_parent_dir(ckdir);
	int rc;

	if (!parent)
		return -ENOMEM;
	rc = path_mkdir_p(ckdir, FIO_DIR_MODE);
	if (rc == 0)
		rc = fio_fsync_dir(parent);
	free(parent);
	if (rc < 0)
		return ddterr_set(rc, "checkpoint directory %s: %s", ckdir,
				  strerror(-rc));
	sweep_tmp(ckdir);
	rc = tmp_name(ckdir, tmp, cap);
	if (rc < 0)
		return rc;
	if (mkdir(tmp, FIO_DIR_MODE) != 0)
		return ddterr_set(-errno, "cannot create %s: %s", tmp,
				  strerror(errno));
	return 0;
}

static int take(store *s, const char *ckdir, int keep, char *name,
		size_t cap)
{
	char tmp[PATH_MAX], path[PATH_MAX], msg[512];
	ckpt_meta mt;
	int rc;

	rc = make_tmp(ckdir, tmp, sizeof(tmp));
	if (rc < 0)
		return rc;
	rc = snapshot(s, tmp, &mt);
	for (int i = 0; i < 16; i++)
		snprintf(mt.store_id + 2 * i, 3, "%02x", s->id[i]);
	if (rc == 0)
		rc = path_fmt(path, sizeof(path), "%s/" CKPT_MANIFEST, tmp);
	if (rc == 0)
		rc = manifest_write(path, &mt, s->root);
	if (rc == 0 && (rc = fio_fsync_dir(tmp)) < 0)
		rc = ddterr_set(rc, "cannot sync %s: %s", tmp, strerror(-rc));
	if (rc == 0)
		rc = publish(ckdir, tmp, mt.created, name, cap);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
		(void)store_rm_tree(tmp);
		return ddterr_set(rc, "checkpoint of store %s: %s", s->root,
				  msg);
	}
	rc = prune(ckdir, keep, mt.store_id);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
		return ddterr_set(rc, "checkpoint %s taken, but %s", name, msg);
	}
	return 0;
}

int store_checkpoint(store *s, const char *ckdir, int keep, char *name_out,
		     size_t cap)
{
	char name[STORE_CKPT_NAME_MAX] = "";
	int rc;

	if (!ckdir || !*ckdir)
		ckdir = s->ck.ckpt_dir;
	if (keep <= 0)
		keep = s->ck.ckpt_keep;
	pthread_mutex_lock(&s->ck.ckpt_mu);
	rc = take(s, ckdir, keep, name, sizeof(name));
	pthread_mutex_unlock(&s->ck.ckpt_mu);
	if (name_out && cap)
		snprintf(name_out, cap, "%s", name);
	return rc;
}

const char *store_checkpoint_dir(const store *s)
{
	return s->ck.ckpt_dir;
}
