/* store_dirs.c - the store's directories: the identity marker each one
 * carries, and their health and capacity for status displays and alerts.
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
#include "store.h"

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
	if ((size_t)snprintf(buf, cap, "%s/%s", dir, MARKER_NAME) >= cap)
		return -ENAMETOOLONG;
	return 0;
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

int sto_dirs_mark(store *s)
{
	int rc;

	rc = load_id(s);
	if (rc == 0)
		rc = check_mark(s, s->root, ROOT_SLOT);
	for (int i = 0; rc == 0 && i < s->ndirs; i++)
		rc = check_mark(s, s->dirs[i], i);
	return rc;
}

/* Data directory i again, with its marker, after it went missing. */
int sto_dir_restore(store *s, int i)
{
	const char *dir = s->dirs[i];
	char *parent;
	int rc;

	rc = fio_mkdir_p(dir, 0755);
	if (rc == 0) {
		parent = fio_parent_dir(dir);
		rc = parent ? fio_fsync_dir(parent) : -ENOMEM;
		free(parent);
	}
	if (rc == 0)
		rc = marker_write(s, dir, i);
	if (rc < 0)
		return ddterr_set(rc, "storage directory %s: cannot recreate "
				  "it: %s", dir, strerror(-rc));
	return 0;
}

/* ---- status ---- */

/* Why dir (in place slot) is not the store's, or NULL if it is. */
static const char *dir_problem(const store *s, const char *dir, int slot)
{
	uint8_t id[ID_LEN];
	struct stat st;
	int rc, have;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? "missing" : "cannot be examined";
	if (!S_ISDIR(st.st_mode))
		return "not a directory";
	if (access(dir, R_OK | W_OK | X_OK) < 0)
		return "not accessible";
	rc = marker_read(dir, id, &have);
	if (rc == -ENOENT)
		return "no identity marker";
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
	snprintf(path, sizeof(path), "%s/index", s->root);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return "index directory missing";
	if (stat(s->jdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return "journal directory missing";
	return NULL;
}

static void fill_capacity(store_dir_info *d)
{
	struct statvfs v;
	uint64_t used, avail;

	if (statvfs(d->path, &v) < 0)
		return;
	d->total_bytes = (uint64_t)v.f_blocks * v.f_frsize;
	used = (uint64_t)(v.f_blocks - v.f_bfree) * v.f_frsize;
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	d->used_bytes = used;
	d->free_bytes = avail;
	/* df's figure: the root-reserved blocks count as neither. */
	d->used_pct = used + avail ? 100.0 * (double)used /
				     (double)(used + avail) : 0;
	d->fsid = (uint64_t)v.f_fsid;
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

int sto_marker_id_hex(const char *dir, char hex[33])
{
	uint8_t id[ID_LEN];
	int slot, rc = marker_read(dir, id, &slot);

	if (rc == 0)
		id_to_hex(id, hex);
	return rc;
}
