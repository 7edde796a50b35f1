/* store_dirs.c - the store's directories: the identity marker each one
 * carries, their permissions, their health and capacity for status
 * displays and alerts (the figures df shows), and the bytes the store's
 * own files take (index, journals, checkpoints; what du shows).
 *
 * Every directory of a store (the root, which holds the index and the
 * journal, and each data directory) holds a small file, .ddtarget, naming
 * the store's identity (16 random bytes kept in the index) and the
 * directory's place in it. A directory without it is not the store's: an
 * empty mount point, a disk that was swapped in, or one an administrator
 * removed and the system recreated. Open refuses a directory that carries
 * another store's marker or another place's, because reading fragments
 * from it would turn every one of them into a "damaged" fragment, and
 * writing to it would damage the other store. */
#include "store_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ddterr.h"
#include "fio.h"
#include "path.h"
#include "store_int.h"

#define MARKER_NAME	".ddtarget"
#define MARKER_MAX	128
#define ID_LEN		16
#define ROOT_SLOT	(-1)

/* ---- the marker ---- */

static void id_to_hex(const uint8_t *id, char *hex)
{
	for (int i = 0; i < ID_LEN; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
}

void store_id_hex(const store *s, char hex[33])
{
	id_to_hex(s->id, hex);
}

static int hex_to_id(const char *hex, uint8_t *id)
{
	for (int i = 0; i < ID_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		id[i] = (uint8_t)v;
	}
	return 0;
}

static int marker_path(const char *dir, char *buf, size_t cap)
{
	return path_fmt(buf, cap, "%s/%s", dir, MARKER_NAME);
}

/* "ddtarget store <32 hex>\ndirectory <n|root>\n" */
static int marker_write(const store *s, const char *dir, int slot)
{
	char path[4096], text[MARKER_MAX], hex[2 * ID_LEN + 1];
	int rc, len;

	rc = marker_path(dir, path, sizeof(path));
	if (rc < 0)
		return rc;
	id_to_hex(s->id, hex);
	if (slot == ROOT_SLOT)
		len = snprintf(text, sizeof(text),
			       "ddtarget store %s\ndirectory root\n", hex);
	else
		len = snprintf(text, sizeof(text),
			       "ddtarget store %s\ndirectory %d\n", hex, slot);
	return fio_write_file_atomic(path, text, (size_t)len);
}

/* The identity and place a marker names: 0, -ENOENT (no marker), -EBADMSG
 * (not a marker), or the read's -errno. */
static int marker_read(const char *dir, uint8_t *id, int *slot)
{
	char path[4096], text[MARKER_MAX + 1], hex[2 * ID_LEN + 1], where[16];
	void *buf = NULL;
	size_t n;
	int rc;

	rc = marker_path(dir, path, sizeof(path));
	if (rc == 0)
		rc = fio_read_file(path, &buf, &n);
	if (rc < 0)
		return rc;
	if (n > MARKER_MAX)
		n = MARKER_MAX;
	memcpy(text, buf, n);
	text[n] = '\0';
	free(buf);
	if (sscanf(text, "ddtarget store %32[0-9a-f] directory %15s", hex,
		   where) != 2 || strlen(hex) != 2 * ID_LEN ||
	    hex_to_id(hex, id) < 0)
		return -EBADMSG;
	if (strcmp(where, "root") == 0) {
		*slot = ROOT_SLOT;
	} else {
		char *end;
		long v = strtol(where, &end, 10);

		if (*end || v < 0 || v >= STORE_MAX_DIRS)
			return -EBADMSG;
		*slot = (int)v;
	}
	return 0;
}

static const char *slot_name(int slot, char *buf, size_t cap)
{
	if (slot == ROOT_SLOT)
		snprintf(buf, cap, "the root");
	else
		snprintf(buf, cap, "data directory %d", slot);
	return buf;
}

/* ---- at open ---- */

/* The store's identity: the index's, else one a marker names (an index
 * restored from before markers existed), else a new one. */
static int load_id(store *s)
{
	int rc, slot;

	rc = idx_get_value(s->ix, "store_id", s->id, ID_LEN);
	if (rc != -ENOENT)
		return rc;
	rc = marker_read(s->root, s->id, &slot);
	for (int i = 0; rc < 0 && i < s->ndirs; i++)
		rc = marker_read(s->dirs[i], s->id, &slot);
	if (rc < 0 && getrandom(s->id, ID_LEN, 0) != ID_LEN)
		return ddterr_set(-errno, "store %s: no randomness for its "
				  "identity: %s", s->root, strerror(errno));
	return idx_put_value(s->ix, "store_id", s->id, ID_LEN);
}

/* A directory with a marker must carry ours, in its place; one without
 * gets one. Failing to write a marker is not fatal: a full disk must not
 * stop the store from opening, and the directory shows up in
 * store_dir_status() as unmarked. */
static int check_mark(store *s, const char *dir, int slot)
{
	char want[32], got[32], hex[2 * ID_LEN + 1];
	uint8_t id[ID_LEN];
	int rc, have;

	rc = marker_read(dir, id, &have);
	if (rc == -ENOENT) {
		(void)marker_write(s, dir, slot);
		return 0;
	}
	if (rc == -EBADMSG)
		return ddterr_set(-EINVAL, "storage directory %s: %s/%s is not "
				  "a ddtarget marker; remove it if the "
				  "directory is this store's", dir, dir,
				  MARKER_NAME);
	if (rc < 0)
		return ddterr_set(rc, "storage directory %s: cannot read its "
				  "marker: %s", dir, strerror(-rc));
	if (memcmp(id, s->id, ID_LEN) != 0) {
		id_to_hex(id, hex);
		return ddterr_set(-EINVAL, "storage directory %s belongs to "
				  "another ddtarget store (%s): give this "
				  "store its own directories", dir, hex);
	}
	if (have != slot)
		return ddterr_set(-EINVAL, "storage directory %s is %s of this "
				  "store, not %s: give the directories in "
				  "their original order", dir,
				  slot_name(have, got, sizeof(got)),
				  slot_name(slot, want, sizeof(want)));
	return 0;
}

int store_dirs_mark(store *s)
{
	int rc;

	rc = load_id(s);
	if (rc == 0)
		rc = check_mark(s, s->root, ROOT_SLOT);
	for (int i = 0; rc == 0 && i < s->ndirs; i++)
		rc = check_mark(s, s->dirs[i], i);
	return rc;
}

/* ---- a scrub bringing a directory back ---- */

/* Data directory i again, durably, after it went missing: empty, and
 * without its marker until store_dir_adopt(). */
int store_dir_restore(store *s, int i)
{
	const char *dir = s->dirs[i];
	char *parent;
	int rc;

	rc = path_mkdir_p(dir, FIO_DIR_MODE);
	if (rc == 0) {
		parent = fio_parent_dir(dir);
		rc = parent ? fio_fsync_dir(parent) : -ENOMEM;
		free(parent);
	}
	if (rc < 0)
		return ddterr_set(rc, "storage directory %s: cannot recreate "
				  "it: %s", dir, strerror(-rc));
	return 0;
}

int store_dir_adopt(store *s, int i)
{
	int rc = marker_write(s, s->dirs[i], i);

	if (rc < 0)
		return ddterr_set(rc, "storage directory %s: cannot write its "
				  "identity marker: %s", s->dirs[i],
				  strerror(-rc));
	return 0;
}

/* ---- permissions ---- */

/* dir without its group and other bits; 1 if it had any. A directory that
 * is not there, or not ours to change, is left as it is: neither stops a
 * store from opening. */
static int tighten(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    !(st.st_mode & 077))
		return 0;
	return chmod(dir, st.st_mode & 07700) == 0;
}

void store_dirs_tighten(store *s)
{
	const char *under[] = { STORE_INDEX_DIR, "data", STORE_CKPT_DIR };
	char path[4096];

	s->tightened = tighten(s->root) + tighten(s->jdir) +
		       tighten(s->ck.ckpt_dir);
	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++)
		if (path_fmt(path, sizeof(path), "%s/%s", s->root,
			     under[i]) == 0)
			s->tightened += tighten(path);
	for (int i = 0; i < s->ndirs; i++)
		s->tightened += tighten(s->dirs[i]);
}

int store_dirs_tightened(const store *s)
{
	return s->tightened;
}

/* ---- status ---- */

/* Two problems a scrub can mend (store_dir_check); compared by address. */
static const char P_MISSING[] = "missing";
static const char P_UNMARKED[] = "no identity marker";

/* Why dir (in place slot) is not the store's, or NULL if it is. */
static const char *dir_problem(const store *s, const char *dir, int slot)
{
	uint8_t id[ID_LEN];
	struct stat st;
	int rc, have;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? P_MISSING : "cannot be examined";
	if (!S_ISDIR(st.st_mode))
		return "not a directory";
	if (access(dir, R_OK | W_OK | X_OK) < 0)
		return "not accessible";
	rc = marker_read(dir, id, &have);
	if (rc == -ENOENT)
		return P_UNMARKED;
	if (rc == -EBADMSG)
		return "damaged identity marker";
	if (rc < 0)
		return "unreadable";
	if (memcmp(id, s->id, ID_LEN) != 0)
		return "belongs to another store";
	if (have != slot)
		return "holds another directory's marker";
	return NULL;
}

/* The root must also hold the index and the journal. */
static const char *root_problem(const store *s)
{
	const char *why = dir_problem(s, s->root, ROOT_SLOT);
	char path[4096];
	struct stat st;

	if (why)
		return why;
	snprintf(path, sizeof(path), "%s/" STORE_INDEX_DIR, s->root);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return "index directory missing";
	if (stat(s->jdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return "journal directory missing";
	return NULL;
}

/* df's Use%: used / (used + available), rounded up. The blocks reserved
 * for root count as neither, so a file system is 100% used when no one
 * else can write to it, and the figure is never (used / size). */
static int df_pct(uint64_t used, uint64_t avail)
{
	uint64_t all = used + avail;

	return all ? (int)((used * 100 + all - 1) / all) : 0;
}

/* What df -B1 shows for the file system under d->path. */
static void fill_capacity(store_dir_info *d)
{
	struct statvfs v;
	struct stat st;

	if (statvfs(d->path, &v) < 0 || stat(d->path, &st) < 0)
		return;
	d->total_bytes = (uint64_t)v.f_blocks * v.f_frsize;
	d->used_bytes = (uint64_t)(v.f_blocks - v.f_bfree) * v.f_frsize;
	d->free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	d->used_pct = df_pct(d->used_bytes, d->free_bytes);
	d->fsid = (uint64_t)st.st_dev;
}

int store_dir_check(store *s, int i)
{
	const char *why = dir_problem(s, s->dirs[i], i);

	if (!why)
		return 0;
	if (why == P_MISSING)
		return -ENOENT;
	if (why == P_UNMARKED)
		return -ENODATA;
	return ddterr_set(-EINVAL, "storage directory %s (data directory %d): "
			  "%s; nothing is written to it", s->dirs[i], i, why);
}

int store_dir_status(store *s, store_dir_info *out, int *n)
{
	int want = s->ndirs + 1;

	if (*n < want)
		return ddterr_set(-ENOBUFS, "store_dir_status: room for %d "
				  "directories, the store has %d", *n, want);
	for (int i = 0; i < want; i++) {
		store_dir_info *d = &out[i];
		const char *why;

		memset(d, 0, sizeof(*d));
		d->index = i - 1;
		d->path = i == 0 ? s->root : s->dirs[i - 1];
		why = i == 0 ? root_problem(s) :
			       dir_problem(s, d->path, i - 1);
		d->present = why == NULL;
		d->problem = why ? why : "";
		fill_capacity(d);
	}
	*n = want;
	return 0;
}

/* d[i] is the first present data directory on its file system. */
static int first_on_fs(const store_dir_info *d, int i)
{
	if (d[i].index < 0 || !d[i].present || !d[i].total_bytes)
		return 0;
	for (int j = 0; j < i; j++)
		if (d[j].index >= 0 && d[j].present && d[j].total_bytes &&
		    d[j].fsid == d[i].fsid)
			return 0;
	return 1;
}

void store_data_space(const store_dir_info *d, int n, store_space *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		if (!first_on_fs(d, i))
			continue;
		out->filesystems++;
		out->total_bytes += d[i].total_bytes;
		out->used_bytes += d[i].used_bytes;
		out->free_bytes += d[i].free_bytes;
	}
	out->used_pct = df_pct(out->used_bytes, out->free_bytes);
}

/* ---- the store's own files ---- */

/* Inodes counted already: du counts a file linked from several places
 * once, and a checkpoint links the index's files where it can. Open
 * addressing over (dev, ino); only files with more than one link go in,
 * and no file has inode 0, which marks a free slot. */
typedef struct ino_key {
	uint64_t dev, ino;
} ino_key;

typedef struct ino_set {
	ino_key *v;
	size_t cap, n;		/* cap: a power of two */
} ino_set;

static ino_key *ino_slot(ino_key *v, size_t cap, const ino_key *k)
{
	size_t i = (size_t)((k->ino * 0x9e3779b97f4a7c15ull) ^ k->dev) &
		   (cap - 1);

	while (v[i].ino && (v[i].ino != k->ino || v[i].dev != k->dev))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int ino_grow(ino_set *s)
{
	size_t cap = s->cap ? 2 * s->cap : 64;
	ino_key *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].ino)
			*ino_slot(v, cap, &s->v[i]) = s->v[i];
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* 1 if st's inode is new (it is in s now), 0 if counted, or -ENOMEM. */
static int ino_add(ino_set *s, const struct stat *st)
{
	ino_key k = { (uint64_t)st->st_dev, (uint64_t)st->st_ino };
	ino_key *at;

	if (2 * (s->n + 1) > s->cap && ino_grow(s) < 0)
		return -ENOMEM;
	at = ino_slot(s->v, s->cap, &k);
	if (at->ino)
		return 0;
	*at = k;
	s->n++;
	return 1;
}

/* Add the bytes allocated to path and what is under it, depth levels
 * down, to *bytes, as du counts them (st_blocks; a link is not
 * followed). What vanishes or cannot be read meanwhile counts nothing;
 * journals and RocksDB's files come and go as the store works. */
static int du_tree(const char *path, int depth, ino_set *seen,
		   uint64_t *bytes)
{
	char sub[4096];
	struct dirent *de;
	struct stat st;
	int rc = 0;
	DIR *d;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
	    (rc = ino_add(seen, &st)) <= 0)
		return rc;
	*bytes += (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || depth == 0 || !(d = opendir(path)))
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    path_fmt(sub, sizeof(sub), "%s/%s", path, de->d_name) == 0)
			rc = du_tree(sub, depth - 1, seen, bytes);
	closedir(d);
	return rc;
}

int store_footprint(store *s, store_footprint_info *out)
{
	char index[4096];
	ino_set seen = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = path_fmt(index, sizeof(index), "%s/" STORE_INDEX_DIR, s->root);
	if (rc == 0)
		rc = du_tree(index, 2, &seen, &out->index_bytes);
	if (rc == 0)
		rc = du_tree(s->jdir, 1, &seen, &out->journal_bytes);
	for (int i = 0; rc == 0 && i < s->ndirs; i++) {	/* second copies */
		char jd[4096];

		rc = path_fmt(jd, sizeof(jd), "%s/journal", s->dirs[i]);
		if (rc == 0)
			rc = du_tree(jd, 1, &seen, &out->journal_bytes);
	}
	if (rc == 0)	/* ckpt-NAME/index/FILE */
		rc = du_tree(s->ck.ckpt_dir, 3, &seen, &out->checkpoint_bytes);
	free(seen.v);
	out->total_bytes = out->index_bytes + out->journal_bytes +
			   out->checkpoint_bytes;
	return rc;
}

int store_marker_id_hex(const char *dir, char hex[33])
{
	uint8_t id[ID_LEN];
	int slot, rc = marker_read(dir, id, &slot);

	if (rc == 0)
		id_to_hex(id, hex);
	return rc;
}
