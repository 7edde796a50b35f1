/* store_octr.c - the containers not yet sealed: the open one that writers
 * fill, and the full ones queued for the sealer, each in memory and in
 * its journal; a new one opens when the open one is full, and a sealed
 * one's journal is retired. Sealing (store_seal.c) and the replay of the
 * journals at open (store_journal.c) both build on this.
 *
 * A journal has two copies, the first in root/journal, the second in the
 * journal/ folder of a data directory (another disk), so that acknowledged
 * data survives a bad sector or a lost disk before it is sealed, as it
 * does after. The second copy goes to data directory cid mod ndirs, or the
 * next one that is there and carries this store's marker: the journals'
 * writes spread over the disks, and a missing disk's mount point is never
 * written into. New copies are made over spare files (old journals kept
 * for reuse), and a sealed container's copies become spares again. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "fio.h"
#include "path.h"
#include "store_int.h"

#define SPARE_MAX	4	/* old journals kept for reuse, per directory */
#define JDIR_NAME	"journal"

/* ---- containers in memory ---- */

void store_octr_free(octr *o)
{
	if (!o)
		return;
	jnl_close(o->j);
	ctr_builder_free(&o->b);
	store_jnl_paths_free(&o->jp);
	free(o);
}

/* A container in memory, without a journal yet (create_journal makes a
 * new one; recovery finds the old one's copies). */
int store_octr_alloc(store *s, uint64_t cid, octr **out)
{
	octr *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return -ENOMEM;
	o->jp.mdir = -1;
	rc = ctr_builder_init(&o->b, cid, s->container_size);
	if (rc < 0) {
		store_octr_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void store_octr_sums(const octr *o, uint64_t *raw, uint64_t *stored)
{
	*raw = *stored = 0;
	for (uint32_t i = 0; i < o->b.n; i++) {
		*raw += o->b.ents[i].raw_len;
		*stored += o->b.ents[i].stored_len;
	}
}

octr *store_unsealed_locked(const store *s, uint64_t cid)
{
	if (s->sq.open && s->sq.open->b.cid == cid)
		return s->sq.open;
	for (int i = 0; i < s->sq.nqueue; i++)
		if (s->sq.queue[i]->b.cid == cid)
			return s->sq.queue[i];
	return NULL;
}

int store_octr_queued_locked(const store *s, uint64_t cid)
{
	for (int i = 0; i < s->sq.nqueue; i++)
		if (s->sq.queue[i]->b.cid == cid)
			return 1;
	return 0;
}

/* Re-raise an error on this thread with the message another thread kept. */
int store_seal_error(const store *s)
{
	return ddterr_set(s->sq.seal_err, "%s", s->sq.seal_msg);
}

/* ---- paths ---- */

/* Location 0 is root/journal, location d + 1 data directory d's. */
int store_jnl_dir(const store *s, int loc, char *buf, size_t cap)
{
	if (loc == 0)
		return path_fmt(buf, cap, "%s", s->jdir);
	return path_fmt(buf, cap, "%s/%s", s->dirs[loc - 1], JDIR_NAME);
}

char *store_jnl_path(const store *s, int loc, uint64_t cid)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (store_jnl_dir(s, loc, dir, sizeof(dir)) < 0 ||
	    path_fmt(path, sizeof(path), "%s/%016" PRIx64 ".jnl", dir,
		     cid) < 0)
		return NULL;
	return strdup(path);
}

static int spare_path(const store *s, int loc, int i, char *buf, size_t cap)
{
	char dir[PATH_MAX];
	int rc = store_jnl_dir(s, loc, dir, sizeof(dir));

	return rc < 0 ? rc : path_fmt(buf, cap, "%s/spare-%d", dir, i);
}

void store_jnl_paths_free(jpaths *jp)
{
	for (int i = 0; i < JNL_COPIES; i++) {
		free(jp->path[i]);
		jp->path[i] = NULL;
	}
	jp->mdir = -1;
}

/* Data directory d can take a journal copy: it is there with this
 * store's marker, and its journal folder exists or can be made. */
static int mirror_dir_ok(const store *s, int d)
{
	char have[33], want[33], dir[PATH_MAX];

	if (store_marker_id_hex(s->dirs[d], have) < 0)
		return 0;
	for (int i = 0; i < 16; i++)
		sprintf(want + 2 * i, "%02x", s->id[i]);
	if (strcmp(have, want) != 0 ||
	    store_jnl_dir(s, d + 1, dir, sizeof(dir)) < 0)
		return 0;
	return mkdir(dir, FIO_DIR_MODE) == 0 || errno == EEXIST;
}

static int pick_mirror_dir(const store *s, uint64_t cid)
{
	for (int k = 0; k < s->ndirs; k++) {
		int d = (int)((cid + (uint64_t)k) % (uint64_t)s->ndirs);

		if (mirror_dir_ok(s, d))
			return d;
	}
	return -1;
}

/* ---- spares ---- */

/* A spare at location loc for a new copy, if there is one; its path goes
 * to buf. Called under the lock. */
static const char *take_spare_locked(store *s, int loc, char *buf,
				     size_t cap)
{
	for (int i = 0; i < SPARE_MAX; i++) {
		if (!(s->spares[loc] & (1u << i)))
			continue;
		s->spares[loc] &= ~(1u << i);
		if (spare_path(s, loc, i, buf, cap) == 0)
			return buf;
	}
	return NULL;
}

void store_jnl_find_spares(store *s)
{
	char path[PATH_MAX];
	struct stat st;

	for (int loc = 0; loc <= s->ndirs; loc++)
		for (int i = 0; i < SPARE_MAX; i++)
			if (spare_path(s, loc, i, path, sizeof(path)) == 0 &&
			    stat(path, &st) == 0 && S_ISREG(st.st_mode))
				s->spares[loc] |= 1u << i;
}

/* A copy whose container the index holds durably: keep it as a spare of
 * its location, or delete it. If the rename is lost to a crash, open
 * finds the journal under its old name, sees its container indexed, and
 * deletes it. */
static void retire_copy(store *s, int loc, const char *path)
{
	char spare[PATH_MAX];
	int slot = -1;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < SPARE_MAX && slot < 0; i++)
		if (!(s->spares[loc] & (1u << i)))
			slot = i;
	if (slot >= 0) {
		if (spare_path(s, loc, slot, spare, sizeof(spare)) == 0 &&
		    fio_rename(path, spare) == 0)
			s->spares[loc] |= 1u << slot;
		else
			slot = -1;
	}
	pthread_mutex_unlock(&s->lock);
	if (slot < 0)
		(void)fio_unlink(path);
}

void store_jnl_retire(store *s, jpaths *jp)
{
	if (jp->path[0])
		retire_copy(s, 0, jp->path[0]);
	if (jp->path[1])
		retire_copy(s, jp->mdir + 1, jp->path[1]);
	store_jnl_paths_free(jp);
}

/* ---- a new journal ---- */

/* Container o's journal, new: its first copy under the root, the second
 * in a data directory, each over a spare if there is one. Under the lock. */
static int create_journal(store *s, octr *o)
{
	char sp0[PATH_MAX], sp1[PATH_MAX];
	jnl_place pl[JNL_COPIES] = { { 0 } };
	/* A full container's records: its data plus a 52-byte header per
	 * segment of 2 KiB or more, under 3% on top. */
	uint64_t prealloc = s->container_size + s->container_size / 16;
	int n = 1, d, rc;

	o->jp.mdir = -1;
	o->jp.path[0] = store_jnl_path(s, 0, o->b.cid);
	if (!o->jp.path[0])
		return -ENOMEM;
	pl[0].path = o->jp.path[0];
	pl[0].spare = take_spare_locked(s, 0, sp0, sizeof(sp0));
	d = pick_mirror_dir(s, o->b.cid);
	if (d >= 0 && (o->jp.path[1] = store_jnl_path(s, d + 1, o->b.cid))) {
		o->jp.mdir = d;
		pl[1].path = o->jp.path[1];
		pl[1].spare = take_spare_locked(s, d + 1, sp1, sizeof(sp1));
		n = 2;
	}
	rc = jnl_create(&o->j, pl, n, o->b.cid, prealloc);
	if (rc < 0)
		return rc;
	if (jnl_copies(o->j) < 2) {
		s->run.journals_unmirrored++;
		free(o->jp.path[1]);
		o->jp.path[1] = NULL;
		o->jp.mdir = -1;
	}
	return 0;
}

/* ---- the open container ---- */


/* A new open container with an empty journal. */
int store_open_new_locked(store *s)
{
	octr *o = NULL;
	int rc;

	rc = store_octr_alloc(s, s->next_cid, &o);
	if (rc == 0)
		rc = create_journal(s, o);
	if (rc == 0)
		rc = fpcache_insert(s->fc, o->b.cid, NULL, 0, 1);
	if (rc < 0) {
		store_octr_free(o);
		return rc;
	}
	s->next_cid++;
	s->sq.open = o;
	return 0;
}

/* A container whose journal broke keeps only what the journal made
 * durable: later segments were never acknowledged, so they go. */
void store_trim_to_durable_locked(store *s, octr *o)
{
	uint32_t keep = o->base + jnl_durable_records(o->j);

	if (keep >= o->b.n)
		return;
	o->b.n = keep;
	o->b.data_len = keep ? o->b.ents[keep - 1].off +
			       o->b.ents[keep - 1].stored_len : 0;
	(void)fpcache_insert(s->fc, o->b.cid, o->b.ents, keep, 1);
}

/* Queue the open container for sealing and open a new one. Waits while
 * the queue is full; a sealer that failed is told to try again and its
 * error is returned, so a full disk stops writers with its own message.
 * A container whose journal broke is trimmed first, and dropped if nothing
 * of it was durable. */
int store_rotate_locked(store *s)
{
	octr *old = s->sq.open;
	int rc;

	while (s->sq.nqueue >= SEAL_QUEUE) {
		if (s->sq.seal_err) {
			rc = store_seal_error(s);
			s->sq.seal_err = 0;
			pthread_cond_signal(&s->sq.work_cv);
			return rc;
		}
		pthread_cond_wait(&s->sq.done_cv, &s->lock);
	}
	if (s->sq.open != old)
		return 0;	/* another writer rotated while we waited */
	rc = store_open_new_locked(s);
	if (rc < 0)
		return rc;
	if (jnl_broken(old->j))
		store_trim_to_durable_locked(s, old);
	if (old->b.n == 0) {
		fpcache_remove(s->fc, old->b.cid);
		for (int i = 0; i < JNL_COPIES; i++)
			if (old->jp.path[i])
				(void)fio_unlink(old->jp.path[i]);
		store_octr_free(old);
		return 0;
	}
	s->sq.queue[s->sq.nqueue++] = old;
	pthread_cond_signal(&s->sq.work_cv);
	return 0;
}
