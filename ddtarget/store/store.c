/* store.c - the segment store: the write path (verify, dedup, journal,
 * pack), the sealer thread (erasure code, write fragments, index), the read
 * path, and recovery at open.
 *
 * The life of a segment: store_put() finds it new (under the lock),
 * hashes it (outside), appends it to the open container in memory and
 * stages its journal record (under the lock), then waits outside the lock
 * until the journal is fsynced (group commit, journal.c): from then on it is
 * durable and put returns. When the open container is full it joins the
 * seal queue and a new one opens; the sealer thread erasure-codes the full
 * one into fragment files, fsyncs them, and only then indexes its
 * fingerprints in one RocksDB batch. That batch is not synced by itself:
 * the container's journal is kept until a later idx_sync() (every few
 * containers, or when the queue runs dry), so a crash that loses the last
 * index writes finds their journals and seals them again. At any instant a
 * segment is findable in memory (open or queued container, pinned in the
 * locality cache) or through the index, and durable in a journal or in
 * fragments with a durable index entry. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "bloom.h"
#include "bytes.h"
#include "cdc.h"
#include "codec.h"
#include "container.h"
#include "ctrcache.h"
#include "ctrio.h"
#include "ddterr.h"
#include "ec.h"
#include "fio.h"
#include "fpcache.h"
#include "frag.h"
#include "index.h"
#include "journal.h"

#define SEAL_QUEUE	2	/* full containers that writers may queue */
#define SEAL_QUEUE_MAX	8	/* and what recovery may find waiting */
#define SEAL_RETRY_SECONDS 1
#define SPACE_CHECK_NS	(200 * 1000000LL)
#define SPARE_MAX	4	/* old journals kept for reuse */
#define LINGER_MAX	4	/* sealed containers whose index entry may not
				   be durable yet; their journals stay */
#define GEOMETRY_VERSION 1
#define STATS_WORDS	6

/* A container being filled, or full and waiting to be sealed. Its bytes
 * stay here until the index knows it, so reads can be served meanwhile. */
typedef struct octr {
	ctr_builder b;
	jnl *j;			/* closed once the container is queued */
	uint32_t base;		/* segments replayed before j was reopened */
	char *jpath;
} octr;

/* The store-wide counters kept in the index with every seal. */
typedef struct sums {
	uint64_t logical, raw, stored, physical, segments, containers;
} sums;

struct store {
	char *root, *jdir;
	char *dirs[STORE_MAX_DIRS];
	int ndirs;
	uint32_t container_size;
	uint64_t reserve_cfg;
	ec *e;
	cio_layout L;
	idx *ix;
	bloom *bl;
	fpc *fc;
	ccache *cc;

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t work_cv;	/* the sealer waits for a queued container */
	pthread_cond_t done_cv;	/* writers wait for the queue to shrink */
	pthread_t sealer;
	int sealer_started, stopping;
	octr *open;
	octr *queue[SEAL_QUEUE_MAX];
	int nqueue;
	int seal_err;		/* the sealer's last failure, until retried */
	char seal_msg[512];
	uint64_t next_cid;
	int64_t space_ok_until;		/* see check_space() */
	uint64_t space_ok_bytes;
	char *linger[LINGER_MAX];	/* see seal_done_locked() */
	int nlinger;
	unsigned spares;		/* bit i: journal/spare-i exists */
	sums sealed;		/* as last written to the index, + logical */
	store_stats run;	/* the runtime counters of store_stats */
};

void store_config_default(store_config *c, const char *root)
{
	memset(c, 0, sizeof(*c));
	c->root = root;
	c->k = 0;		/* as created; 4 + 2 for a new store */
	c->m = 0;
	c->container_size = CTR_SIZE_DEFAULT;
	c->bloom_capacity = 1u << 22;
	c->cache_containers = 64;
	c->read_cache_containers = 8;
}

/* ---- small helpers ---- */

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static char *journal_path(const store *s, uint64_t cid)
{
	char name[32];

	snprintf(name, sizeof(name), "%016" PRIx64 ".jnl", cid);
	return path_join(s->jdir, name);
}

static void octr_free(octr *o)
{
	if (!o)
		return;
	jnl_close(o->j);
	ctr_builder_free(&o->b);
	free(o->jpath);
	free(o);
}

static int octr_alloc(store *s, uint64_t cid, octr **out)
{
	octr *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return -ENOMEM;
	rc = ctr_builder_init(&o->b, cid, s->container_size);
	if (rc == 0 && !(o->jpath = journal_path(s, cid)))
		rc = -ENOMEM;
	if (rc < 0) {
		octr_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

static void octr_sums(const octr *o, uint64_t *raw, uint64_t *stored)
{
	*raw = *stored = 0;
	for (uint32_t i = 0; i < o->b.n; i++) {
		*raw += o->b.ents[i].raw_len;
		*stored += o->b.ents[i].stored_len;
	}
}

static void sums_encode(const sums *m, uint8_t *p)
{
	const uint64_t v[STATS_WORDS] = { m->logical, m->raw, m->stored,
					  m->physical, m->segments,
					  m->containers };

	for (int i = 0; i < STATS_WORDS; i++)
		put_le64(p + 8 * i, v[i]);
}

static void sums_decode(sums *m, const uint8_t *p)
{
	uint64_t *v[STATS_WORDS] = { &m->logical, &m->raw, &m->stored,
				     &m->physical, &m->segments,
				     &m->containers };

	for (int i = 0; i < STATS_WORDS; i++)
		*v[i] = get_le64(p + 8 * i);
}

/* Re-raise an error on this thread with the message another thread kept. */
static int seal_error(const store *s)
{
	return ddterr_set(s->seal_err, "%s", s->seal_msg);
}

/* ---- sealing ---- */

/* Erasure-code a full container into fragments, then index it. Runs on the
 * sealer thread without the lock (a queued container no longer changes),
 * or at open before any other thread exists. */
static int seal_one(store *s, const octr *o)
{
	const ctr_builder *b = &o->b;
	uint32_t clen = (uint32_t)ctr_serialized_len(b);
	uint32_t flen = cio_frag_len(&s->L, clen);
	int k = ec_k(s->e), m = ec_m(s->e);
	uint8_t statbuf[8 * STATS_WORDS], cidbuf[8];
	const char *names[2] = { "stats", "next_cid" };
	const void *vals[2] = { statbuf, cidbuf };
	const size_t lens[2] = { sizeof(statbuf), sizeof(cidbuf) };
	idx_ctr c = { 0 };
	uint8_t *buf;
	sums next;
	int rc;

	buf = malloc((size_t)(k + m) * flen);
	if (!buf)
		return -ENOMEM;
	ctr_serialize(b, buf);
	rc = cio_write(&s->L, b->cid, buf, clen, flen);
	free(buf);
	if (rc < 0)
		return rc;

	c.cid = b->cid;
	c.k = (uint8_t)k;
	c.m = (uint8_t)m;
	c.frag_len = flen;
	c.container_len = clen;
	c.nseg = b->n;
	c.data_len = b->data_len;
	c.ents = b->ents;
	octr_sums(o, &c.raw_bytes, &c.stored_bytes);

	pthread_mutex_lock(&s->lock);
	next = s->sealed;
	put_le64(cidbuf, s->next_cid);
	pthread_mutex_unlock(&s->lock);
	next.raw += c.raw_bytes;
	next.stored += c.stored_bytes;
	next.physical += (uint64_t)(k + m) * (flen + FRAG_HDR_LEN);
	next.segments += c.nseg;
	next.containers++;
	sums_encode(&next, statbuf);
	rc = idx_seal(s->ix, &c, 2, names, vals, lens);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&s->lock);
	next.logical = s->sealed.logical;
	s->sealed = next;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* After a seal: the container is found through the index now. Its journal
 * must outlive the index write, which is not synced per seal (a flush per
 * container would halve the sealer's speed); it waits in s->linger until
 * the next idx_sync(). */
static void seal_done_locked(store *s)
{
	octr *o = s->queue[0];

	memmove(s->queue, s->queue + 1, (size_t)(s->nqueue - 1) * sizeof(octr *));
	s->nqueue--;
	fpc_pin(s->fc, o->b.cid, 0);
	s->linger[s->nlinger++] = o->jpath;
	o->jpath = NULL;
	octr_free(o);
}

/* ---- spare journals ----
 * A sealed container's journal is kept as a spare (journal/spare-N) for a
 * later container to write over: on ext4 writing over allocated blocks is
 * an order of magnitude cheaper than allocating new ones, and the journal
 * sees every stored byte. */

static void spare_path(const store *s, int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/spare-%d", s->jdir, i);
}

/* A journal whose container the index holds durably: keep it as a spare,
 * or delete it. If the rename is lost to a crash, open finds the journal
 * under its old name, sees its container indexed, and deletes it. */
static void recycle_journal(store *s, const char *path)
{
	char spare[PATH_MAX];
	int slot = -1;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < SPARE_MAX && slot < 0; i++)
		if (!(s->spares & (1u << i)))
			slot = i;
	if (slot >= 0) {
		spare_path(s, slot, spare, sizeof(spare));
		if (fio_rename(path, spare) == 0)
			s->spares |= 1u << slot;
		else
			slot = -1;
	}
	pthread_mutex_unlock(&s->lock);
	if (slot < 0)
		(void)fio_unlink(path);
}

/* Take a spare for a new journal, if there is one; the caller passes the
 * path to jnl_create(). Called under the lock. */
static const char *take_spare_locked(store *s, char *buf, size_t cap)
{
	for (int i = 0; i < SPARE_MAX; i++) {
		if (s->spares & (1u << i)) {
			s->spares &= ~(1u << i);
			spare_path(s, i, buf, cap);
			return buf;
		}
	}
	return NULL;
}

static void find_spares(store *s)
{
	char path[PATH_MAX];
	struct stat st;

	for (int i = 0; i < SPARE_MAX; i++) {
		spare_path(s, i, path, sizeof(path));
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			s->spares |= 1u << i;
	}
}

/* Sync the index, then drop the journals of the containers it now holds
 * durably. If an unlink is lost to a crash, open deletes the journal again
 * (its container is indexed). Called without the lock by the sealer, or
 * with no sealer running. */
static int drop_lingering(store *s)
{
	char *paths[LINGER_MAX];
	int n, rc;

	pthread_mutex_lock(&s->lock);
	n = s->nlinger;
	memcpy(paths, s->linger, (size_t)n * sizeof(paths[0]));
	s->nlinger = 0;
	pthread_mutex_unlock(&s->lock);
	if (n == 0)
		return 0;
	rc = idx_sync(s->ix);
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			recycle_journal(s, paths[i]);
		free(paths[i]);
	}
	return rc;
}

/* After a failed seal, wait SEAL_RETRY_SECONDS (or until a writer or a
 * flush asks for a retry by clearing seal_err) before trying again: an
 * error that passes heals by itself, and one that stays (a full disk) is
 * not retried in a busy loop. */
static void wait_to_retry_locked(store *s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SEAL_RETRY_SECONDS;
	while (s->seal_err && !s->stopping &&
	       pthread_cond_timedwait(&s->work_cv, &s->lock, &until) == 0)
		;
	if (!s->stopping)
		s->seal_err = 0;
}

static void *sealer_main(void *arg)
{
	store *s = arg;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->nqueue == 0)
			pthread_cond_wait(&s->work_cv, &s->lock);
		if (s->seal_err && !s->stopping)
			wait_to_retry_locked(s);
		if (s->nqueue == 0 || (s->stopping && s->seal_err))
			break;		/* stopping, nothing (more) to do */
		pthread_mutex_unlock(&s->lock);
		rc = seal_one(s, s->queue[0]);
		pthread_mutex_lock(&s->lock);
		if (rc < 0) {
			s->seal_err = rc;
			snprintf(s->seal_msg, sizeof(s->seal_msg),
				 "cannot seal container %" PRIu64 ": %s",
				 s->queue[0]->b.cid, ddterr_last(rc));
		} else {
			seal_done_locked(s);
			/* Sync when the linger list is full, or when the
			 * queue has run dry (a pause, or a flush waiting). */
			if (s->nlinger == LINGER_MAX || s->nqueue == 0) {
				pthread_mutex_unlock(&s->lock);
				rc = drop_lingering(s);
				pthread_mutex_lock(&s->lock);
				if (rc < 0) {
					s->seal_err = rc;
					snprintf(s->seal_msg, sizeof(s->seal_msg),
						 "cannot sync the index: %s",
						 ddterr_last(rc));
				}
			}
		}
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A new open container with an empty journal. */
static int open_new_locked(store *s)
{
	char sbuf[PATH_MAX];
	const char *spare;
	octr *o;
	int rc;

	rc = octr_alloc(s, s->next_cid, &o);
	if (rc < 0)
		return rc;
	spare = take_spare_locked(s, sbuf, sizeof(sbuf));
	rc = jnl_create(&o->j, o->jpath, o->b.cid, spare);
	if (rc < 0 && spare)	/* the spare was bad: start a fresh file */
		rc = jnl_create(&o->j, o->jpath, o->b.cid, NULL);
	if (rc == 0)
		rc = fpc_insert(s->fc, o->b.cid, NULL, 0, 1);
	if (rc < 0) {
		octr_free(o);
		return rc;
	}
	s->next_cid++;
	s->open = o;
	return 0;
}

/* A container whose journal broke keeps only what the journal made
 * durable: later segments were never acknowledged, so they go. */
static void trim_to_durable_locked(store *s, octr *o)
{
	uint32_t keep = o->base + jnl_durable_records(o->j);

	if (keep >= o->b.n)
		return;
	o->b.n = keep;
	o->b.data_len = keep ? o->b.ents[keep - 1].off +
			       o->b.ents[keep - 1].stored_len : 0;
	(void)fpc_insert(s->fc, o->b.cid, o->b.ents, keep, 1);
}

/* Queue the open container for sealing and open a new one. Waits while
 * the queue is full; a sealer that failed is told to try again and its
 * error is returned, so a full disk stops writers with its own message.
 * A container whose journal broke is trimmed first, and dropped if nothing
 * of it was durable. */
static int rotate_locked(store *s)
{
	octr *old = s->open;
	int rc;

	while (s->nqueue >= SEAL_QUEUE) {
		if (s->seal_err) {
			rc = seal_error(s);
			s->seal_err = 0;
			pthread_cond_signal(&s->work_cv);
			return rc;
		}
		pthread_cond_wait(&s->done_cv, &s->lock);
	}
	if (s->open != old)
		return 0;	/* another writer rotated while we waited */
	rc = open_new_locked(s);
	if (rc < 0)
		return rc;
	if (jnl_broken(old->j))
		trim_to_durable_locked(s, old);
	if (old->b.n == 0) {
		fpc_remove(s->fc, old->b.cid);
		(void)fio_unlink(old->jpath);
		octr_free(old);
		return 0;
	}
	s->queue[s->nqueue++] = old;
	pthread_cond_signal(&s->work_cv);
	return 0;
}

/* ---- lookup ---- */

/* Where a fingerprint is stored: 1 and its location, 0 if absent, or an
 * index error. An index hit loads the fingerprints of the whole container
 * into the locality cache, because its neighbours are asked for next. */
static int lookup_locked(store *s, const fp_t *fp, uint64_t *cid,
			 uint32_t *slot)
{
	idx_ctr c;
	int rc;

	if (fpc_lookup(s->fc, fp, cid, slot)) {
		s->run.cache_hits++;
		return 1;
	}
	if (!bloom_maybe(s->bl, fp)) {
		s->run.bloom_negatives++;
		return 0;
	}
	s->run.index_lookups++;
	rc = idx_get_fp(s->ix, fp, cid, slot);
	if (rc <= 0 || fpc_has_container(s->fc, *cid))
		return rc;
	if (idx_get_ctr(s->ix, *cid, 1, &c) == 0) {
		/* A cache that cannot grow only costs speed. */
		(void)fpc_insert(s->fc, *cid, c.ents, c.nseg, 0);
		idx_ctr_free(&c);
	}
	return 1;
}

int store_has(store *s, const fp_t *fps, size_t n, uint8_t *present)
{
	uint64_t cid;
	uint32_t slot;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		rc = lookup_locked(s, &fps[i], &cid, &slot);
		if (rc < 0)
			break;
		present[i] = (uint8_t)rc;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- the write path ---- */

/* The segment must decode to raw_len bytes that hash to its name. */
static int verify_seg(const store_seg *g, size_t i, uint8_t *scratch)
{
	fp_t got;
	int rc;

	if (g->raw_len == 0 || g->raw_len > CDC_MAX_LIMIT ||
	    g->codec < 0 || g->codec >= CODEC_COUNT || !g->data ||
	    g->stored_len > codec_bound(g->raw_len))
		return ddterr_set(-EBADMSG, "segment %zu: malformed (codec %d, "
				  "%u bytes stored, %u raw)", i, g->codec,
				  g->stored_len, g->raw_len);
	rc = codec_decompress(g->codec, g->data, g->stored_len, scratch,
			      g->raw_len);
	if (rc < 0)
		return ddterr_set(-EBADMSG, "segment %zu: does not decompress "
				  "with %s", i, codec_name(g->codec));
	rc = fp_compute(&got, scratch, g->raw_len);
	if (rc < 0)
		return rc;
	if (!fp_equal(&got, &g->fp)) {
		char hex[FP_HEX_LEN + 1];

		fp_to_hex(&g->fp, hex);
		return ddterr_set(-EBADMSG, "segment %zu: bytes do not match "
				  "fingerprint %s", i, hex);
	}
	return 0;
}

/* The free space a disk must keep (see store_config.reserve_bytes). */
static uint64_t reserve_for(const store *s, const struct statvfs *v)
{
	uint64_t size = (uint64_t)v->f_blocks * v->f_frsize, pct;
	int k = ec_k(s->e), m = ec_m(s->e);

	if (s->reserve_cfg)
		return s->reserve_cfg;
	pct = size / 100 < (1ull << 30) ? size / 100 : 1ull << 30;
	return (uint64_t)(SEAL_QUEUE + 1) * s->container_size * (k + m) / k +
	       (24u << 20) + pct;	/* the index: its WAL preallocation, SSTs */
}

static int check_one_disk(const store *s, const char *path)
{
	struct statvfs v;
	uint64_t avail, reserve;

	if (statvfs(path, &v) != 0)
		return ddterr_set(-errno, "store: cannot stat %s: %s", path,
				  strerror(errno));
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	reserve = reserve_for(s, &v);
	if (avail < reserve)
		return ddterr_set(-ENOSPC, "store full: %s has %llu MiB free, "
				  "less than the %llu MiB kept in reserve (free "
				  "space or add disks)", path,
				  (unsigned long long)(avail >> 20),
				  (unsigned long long)(reserve >> 20));
	return 0;
}

/* Refuse new data before a disk is really full: a full disk would stop the
 * sealer, the index and even the next open's recovery. statvfs on every
 * disk for every batch would cost more than the batch, so a good answer is
 * trusted for SPACE_CHECK_NS or one container's worth of new data, whichever
 * comes first; the reserve's slack covers what is written meanwhile.
 * Called under the lock. */
static int check_space(store *s)
{
	struct timespec ts;
	int64_t now;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (s->space_ok_until > now &&
	    s->sealed.raw + s->open->b.data_len < s->space_ok_bytes)
		return 0;
	rc = check_one_disk(s, s->jdir);
	for (int i = 0; rc == 0 && i < s->ndirs; i++)
		rc = check_one_disk(s, s->dirs[i]);
	if (rc == 0) {
		s->space_ok_until = now + SPACE_CHECK_NS;
		s->space_ok_bytes = s->sealed.raw + s->open->b.data_len +
				    s->container_size;
	}
	return rc;
}

static int grow_bloom_locked(store *s);

/* The journals one put staged records in, and how far each must be
 * durable before the put may return. Usually one; a batch that fills the
 * open container spans two or more. */
#define PUT_JOURNALS 8

typedef struct put_sync {
	jnl *j[PUT_JOURNALS];
	uint64_t ticket[PUT_JOURNALS];
	int n;
} put_sync;

/* Remember that j must be durable up to ticket. With no room left the
 * oldest is synced now, under the lock; only tiny containers get here. */
static int note_ticket(put_sync *ps, jnl *j, uint64_t ticket)
{
	int rc;

	if (ps->n > 0 && ps->j[ps->n - 1] == j) {
		ps->ticket[ps->n - 1] = ticket;
		return 0;
	}
	if (ps->n == PUT_JOURNALS) {
		rc = jnl_sync(ps->j[0], ps->ticket[0]);
		jnl_close(ps->j[0]);
		memmove(ps->j, ps->j + 1, (PUT_JOURNALS - 1) * sizeof(ps->j[0]));
		memmove(ps->ticket, ps->ticket + 1,
			(PUT_JOURNALS - 1) * sizeof(ps->ticket[0]));
		ps->n--;
		if (rc < 0)
			return rc;
	}
	ps->j[ps->n] = jnl_ref(j);
	ps->ticket[ps->n++] = ticket;
	return 0;
}

/* Wait for every noted journal; the first error wins. Without the lock. */
static int sync_all(put_sync *ps)
{
	int rc = 0, r;

	for (int i = 0; i < ps->n; i++) {
		r = jnl_sync(ps->j[i], ps->ticket[i]);
		if (r < 0 && rc == 0)
			rc = r;
		jnl_close(ps->j[i]);
	}
	ps->n = 0;
	return rc;
}

/* Append one new segment to the open container (rotating it first if the
 * segment does not fit) and stage its journal record. Each step that fails
 * undoes the ones before it, so builder, journal and cache stay in step. */
static int append_locked(store *s, const store_seg *g, put_sync *ps)
{
	ctr_builder *b;
	uint64_t ticket;
	uint32_t slot;
	int rc;

	/* A loop: while we waited for the sealer, other writers may have
	 * rotated and filled the new container too. */
	while (!ctr_builder_fits(&s->open->b, g->stored_len)) {
		rc = rotate_locked(s);
		if (rc < 0)
			return rc;
	}
	b = &s->open->b;
	rc = ctr_builder_append(b, &g->fp, g->codec, g->raw_len, g->data,
			       g->stored_len, &slot);
	if (rc < 0)
		return rc;
	rc = jnl_add(s->open->j, &g->fp, g->codec, g->raw_len, g->data,
		     g->stored_len, &ticket);
	if (rc < 0) {
		b->n--;
		b->data_len -= g->stored_len;
		return rc;
	}
	if (fpc_append(s->fc, b->cid, &g->fp) < 0)
		/* Rebuild the cache record, slots in step; if even that
		 * fails, reads check fingerprints and only speed suffers. */
		(void)fpc_insert(s->fc, b->cid, b->ents, b->n, 1);
	bloom_add(s->bl, &g->fp);
	return note_ticket(ps, s->open->j, ticket);
}

/* Which segments of the batch the store lacks (isnew[i]), under the lock.
 * Only those are verified: a duplicate's bytes are never stored. */
static int find_new(store *s, const store_seg *segs, size_t n,
		    uint8_t *isnew, size_t *out_nnew)
{
	uint64_t cid;
	uint32_t slot;
	size_t nnew = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		rc = lookup_locked(s, &segs[i].fp, &cid, &slot);
		if (rc < 0)
			break;
		isnew[i] = rc == 0;
		nnew += isnew[i];
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	*out_nnew = nnew;
	return rc;
}

static int verify_new(const store_seg *segs, size_t n, const uint8_t *isnew)
{
	uint8_t *scratch = malloc(CDC_MAX_LIMIT);
	int rc = 0;

	if (!scratch)
		return -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (isnew[i])
			rc = verify_seg(&segs[i], i, scratch);
	free(scratch);
	return rc;
}

/* A journal that broke under the open container is replaced, keeping
 * what it made durable; trimmed first, so that if no new container can be
 * opened (the disk is still full) the undurable segments at least stop
 * being findable. Returns 0 when the open container is usable again. */
static int repair_locked(store *s)
{
	if (!jnl_broken(s->open->j))
		return 0;
	trim_to_durable_locked(s, s->open);
	return rotate_locked(s);
}

/* Stage the segments still new (another writer may have stored some since
 * find_new) into the open container and its journal. */
static int stage_new(store *s, const store_seg *segs, size_t n,
		     const uint8_t *isnew, put_sync *ps, size_t *out_fresh)
{
	uint64_t cid;
	uint32_t slot;
	size_t fresh = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	rc = repair_locked(s);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!isnew[i])
			continue;
		rc = lookup_locked(s, &segs[i].fp, &cid, &slot);
		if (rc < 0)
			break;
		if (rc == 1) {		/* stored meanwhile, or twice in this batch */
			rc = 0;
			continue;
		}
		if (fresh == 0 && (rc = check_space(s)) < 0)
			break;
		rc = append_locked(s, &segs[i], ps);
		fresh += rc == 0;
	}
	pthread_mutex_unlock(&s->lock);
	*out_fresh = fresh;
	return rc;
}

int store_put(store *s, const store_seg *segs, size_t n, size_t *out_new)
{
	put_sync ps = { .n = 0 };
	size_t nnew = 0, fresh = 0;
	char msg[512];
	uint64_t logical = 0;
	uint8_t *isnew;
	int rc, rc2;

	isnew = malloc(n ? n : 1);
	if (!isnew)
		return -ENOMEM;
	rc = find_new(s, segs, n, isnew, &nnew);
	if (rc == 0 && nnew > 0)
		rc = verify_new(segs, n, isnew);
	if (rc == 0 && nnew > 0)
		rc = stage_new(s, segs, n, isnew, &ps, &fresh);
	/* Whatever was staged is synced even if the put failed later: it is
	 * findable already, so it must not stay undurable. */
	rc2 = sync_all(&ps);
	if (rc == 0)
		rc = rc2;
	free(isnew);
	for (size_t i = 0; i < n; i++)
		logical += segs[i].raw_len;
	pthread_mutex_lock(&s->lock);
	if (rc < 0) {
		/* Keep the put's own message over a failed repair's. */
		snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
		if (repair_locked(s) < 0)
			ddterr_set(rc, "%s", msg);
	} else {
		s->sealed.logical += logical;
		if (bloom_count(s->bl) > bloom_capacity(s->bl))
			(void)grow_bloom_locked(s);
		if (out_new)
			*out_new = fresh;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- the read path ---- */

/* The in-memory container cid, if it is open or waiting for the sealer. */
static const octr *find_unsealed_locked(const store *s, uint64_t cid)
{
	if (s->open->b.cid == cid)
		return s->open;
	for (int i = 0; i < s->nqueue; i++)
		if (s->queue[i]->b.cid == cid)
			return s->queue[i];
	return NULL;
}

/* Read and decode a sealed container; called without the lock. */
static int load_container(store *s, uint64_t cid, uint8_t **out_buf,
			  ctr_view *out_view, int *out_rebuilt)
{
	idx_ctr c;
	uint8_t *buf;
	int rc;

	rc = idx_get_ctr(s->ix, cid, 0, &c);
	if (rc == -ENOENT)
		return ddterr_set(-EIO, "container %" PRIu64 " is indexed "
				  "nowhere", cid);
	if (rc < 0)
		return rc;
	if (c.k != ec_k(s->e) || c.m != ec_m(s->e) ||
	    c.frag_len != cio_frag_len(&s->L, c.container_len))
		return ddterr_set(-EIO, "container %" PRIu64 ": index record "
				  "(k=%u m=%u, %u-byte fragments) does not fit "
				  "this store (k=%d m=%d)", cid, c.k, c.m,
				  c.frag_len, ec_k(s->e), ec_m(s->e));
	rc = cio_read(&s->L, cid, c.container_len, c.frag_len, &buf,
		      out_rebuilt);
	if (rc < 0)
		return rc;
	rc = ctr_parse(buf, c.container_len, cid, out_view);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out_buf = buf;
	return 0;
}

static int copy_entry(const ctr_entry *e, const uint8_t *data,
		      void **out_data, int *out_codec,
		      uint32_t *out_stored_len, uint32_t *out_raw_len)
{
	void *p = malloc(e->stored_len ? e->stored_len : 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, data + e->off, e->stored_len);
	*out_data = p;
	*out_codec = e->codec;
	*out_stored_len = e->stored_len;
	*out_raw_len = e->raw_len;
	return 0;
}

/* The container cid from the read cache, loading it if need be. */
static int hold_container(store *s, uint64_t cid, ccache_ent **out)
{
	ctr_view view;
	uint8_t *buf = NULL;
	int rc, rebuilt = 0;

	pthread_mutex_lock(&s->lock);
	*out = ccache_get(s->cc, cid);
	pthread_mutex_unlock(&s->lock);
	if (*out)
		return 0;
	rc = load_container(s, cid, &buf, &view, &rebuilt);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	s->run.fragments_rebuilt += (uint64_t)rebuilt;
	*out = ccache_put(s->cc, cid, buf, &view);
	pthread_mutex_unlock(&s->lock);
	if (!*out) {
		ctr_view_free(&view);
		free(buf);
		return -ENOMEM;
	}
	return 0;
}

int store_get(store *s, const fp_t *fp, void **out_data, int *out_codec,
	      uint32_t *out_stored_len, uint32_t *out_raw_len)
{
	const octr *o;
	ccache_ent *ce;
	uint64_t cid;
	uint32_t slot;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = lookup_locked(s, fp, &cid, &slot);
	if (rc == 1 && (o = find_unsealed_locked(s, cid)) != NULL) {
		if (slot < o->b.n && fp_equal(&o->b.ents[slot].fp, fp))
			rc = copy_entry(&o->b.ents[slot], o->b.data, out_data,
					out_codec, out_stored_len, out_raw_len);
		else
			rc = ddterr_set(-EIO, "open container %" PRIu64 ": "
					"slot %u does not hold the segment",
					cid, slot);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;

	rc = hold_container(s, cid, &ce);
	if (rc < 0)
		return rc;
	if (slot >= ce->view.nseg || !fp_equal(&ce->view.ents[slot].fp, fp))
		rc = ddterr_set(-EIO, "container %" PRIu64 ": slot %u does not "
				"hold the indexed segment", cid, slot);
	else
		rc = copy_entry(&ce->view.ents[slot], ce->view.data, out_data,
				out_codec, out_stored_len, out_raw_len);
	pthread_mutex_lock(&s->lock);
	ccache_release(s->cc, ce);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_read(store *s, const fp_t *fp, void *buf, size_t cap,
	       size_t *out_len)
{
	uint32_t stored, raw;
	void *data;
	fp_t got;
	int codec, rc;

	rc = store_get(s, fp, &data, &codec, &stored, &raw);
	if (rc < 0)
		return rc;
	if (raw > cap) {
		rc = -ENOBUFS;
		goto out;
	}
	rc = codec_decompress(codec, data, stored, buf, raw);
	if (rc == 0)
		rc = fp_compute(&got, buf, raw);
	if (rc == 0 && !fp_equal(&got, fp)) {
		char hex[FP_HEX_LEN + 1];

		fp_to_hex(fp, hex);
		rc = ddterr_set(-EBADMSG, "segment %s: stored bytes do not "
				"match the fingerprint", hex);
	}
	if (rc == 0)
		*out_len = raw;
out:
	free(data);
	return rc;
}

int store_flush(store *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->seal_err) {
		s->seal_err = 0;	/* a flush is a request to try again */
		pthread_cond_signal(&s->work_cv);
	}
	if (s->open->b.n > 0)
		rc = rotate_locked(s);
	while (rc == 0 && s->nqueue > 0 && !s->seal_err)
		pthread_cond_wait(&s->done_cv, &s->lock);
	if (rc == 0 && s->seal_err)
		rc = seal_error(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_get_stats(store *s, store_stats *out)
{
	uint64_t raw, stored;

	pthread_mutex_lock(&s->lock);
	*out = s->run;
	out->logical_bytes = s->sealed.logical;
	out->raw_bytes = s->sealed.raw;
	out->stored_bytes = s->sealed.stored;
	out->physical_bytes = s->sealed.physical;
	out->segments = s->sealed.segments;
	out->containers = s->sealed.containers;
	for (int i = -1; i < s->nqueue; i++) {
		const octr *o = i < 0 ? s->open : s->queue[i];

		octr_sums(o, &raw, &stored);
		out->raw_bytes += raw;
		out->stored_bytes += stored;
		out->segments += o->b.n;
		out->open_segments += o->b.n;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

struct idx *store_index(store *s)
{
	return s->ix;
}

static int queued_locked(const store *s, uint64_t cid)
{
	for (int i = 0; i < s->nqueue; i++)
		if (s->queue[i]->b.cid == cid)
			return 1;
	return 0;
}

/* Every journal with staged records gets synced. A queued container whose
 * journal broke holds segments that only its seal will make durable, so
 * the barrier waits for that seal. */
int store_barrier(store *s)
{
	jnl *js[SEAL_QUEUE_MAX + 1];
	uint64_t wait_cid[SEAL_QUEUE_MAX];
	int nj = 0, nw = 0, rc = 0, r;

	pthread_mutex_lock(&s->lock);
	rc = repair_locked(s);
	js[nj++] = jnl_ref(s->open->j);
	for (int i = 0; i < s->nqueue; i++) {
		if (jnl_broken(s->queue[i]->j))
			wait_cid[nw++] = s->queue[i]->b.cid;
		else
			js[nj++] = jnl_ref(s->queue[i]->j);
	}
	for (int i = 0; i < nw && rc == 0; i++) {
		while (queued_locked(s, wait_cid[i]) && !s->seal_err)
			pthread_cond_wait(&s->done_cv, &s->lock);
		if (queued_locked(s, wait_cid[i]))
			rc = seal_error(s);
	}
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < nj; i++) {
		r = jnl_commit(js[i]);
		if (r < 0 && rc == 0)
			rc = r;
		jnl_close(js[i]);
	}
	return rc;
}

void store_geometry(const store *s, int *out_k, int *out_m, int *out_ndirs)
{
	*out_k = ec_k(s->e);
	*out_m = ec_m(s->e);
	*out_ndirs = s->ndirs;
}

/* ---- the Bloom filter ---- */

static int bloom_add_cb(void *arg, const fp_t *fp, uint64_t cid,
			uint32_t slot)
{
	(void)cid;
	(void)slot;
	bloom_add(arg, fp);
	return 0;
}

static void bloom_add_unsealed(store *s, bloom *b)
{
	for (int i = -1; i < s->nqueue; i++) {
		const octr *o = i < 0 ? s->open : s->queue[i];

		if (!o)
			continue;
		for (uint32_t j = 0; j < o->b.n; j++)
			bloom_add(b, &o->b.ents[j].fp);
	}
}

/* Past its capacity the filter's false positives climb quickly; rebuild it
 * twice as large. Rare (each time the store doubles), and a failure only
 * costs lookups. */
static int grow_bloom_locked(store *s)
{
	bloom *nb;
	int rc;

	rc = bloom_new(&nb, bloom_capacity(s->bl) * 2);
	if (rc < 0)
		return rc;
	rc = idx_foreach_fp(s->ix, bloom_add_cb, nb);
	if (rc < 0) {
		bloom_free(nb);
		return rc;
	}
	bloom_add_unsealed(s, nb);
	bloom_free(s->bl);
	s->bl = nb;
	return 0;
}

/* ---- open and recovery ---- */

static int make_dirs(store *s, const store_config *cfg, int k, int m)
{
	int rc;

	s->ndirs = cfg->ndirs ? cfg->ndirs : k + m;
	if (s->ndirs < k + m || s->ndirs > STORE_MAX_DIRS)
		return ddterr_set(-EINVAL, "store: %d storage directories for "
				  "k=%d m=%d: need between %d and %d", s->ndirs,
				  k, m, k + m, STORE_MAX_DIRS);
	for (int i = 0; i < s->ndirs; i++) {
		char name[32];

		if (cfg->ndirs) {
			s->dirs[i] = strdup(cfg->dirs[i]);
		} else {
			snprintf(name, sizeof(name), "data/dir%d", i);
			s->dirs[i] = path_join(s->root, name);
		}
		if (!s->dirs[i])
			return -ENOMEM;
		rc = fio_mkdir_p(s->dirs[i], 0755);
		if (rc < 0)
			return ddterr_set(rc, "storage directory %s: %s",
					  s->dirs[i], strerror(-rc));
	}
	return 0;
}

/* The geometry is fixed at creation: fragments written with one k + m
 * cannot be found or decoded with another. k = 0 in the config asks for
 * whatever the store was made with (4 + 2 for a new one); anything else
 * must match. On success *k, *m (and the directory count, if the config
 * names none) are what the store uses. */
static int resolve_geometry(store *s, const store_config *cfg, int *k, int *m,
			    int *ndirs)
{
	uint8_t have[4];
	int rc;

	*k = cfg->k;
	*m = cfg->m;
	*ndirs = cfg->ndirs;
	rc = idx_get_value(s->ix, "geometry", have, sizeof(have));
	if (rc == -ENOENT) {
		if (*k == 0) {
			*k = 4;
			*m = 2;
		}
		return 0;
	}
	if (rc < 0)
		return rc;
	if (have[0] != GEOMETRY_VERSION)
		return ddterr_set(-EINVAL, "store %s: unknown geometry record "
				  "version %u", s->root, have[0]);
	if (*k == 0) {
		*k = have[1];
		*m = have[2];
		if (!*ndirs)
			*ndirs = have[3];
		if (!cfg->ndirs && *ndirs == have[1] + have[2])
			*ndirs = 0;	/* the default layout */
	}
	if (*k != have[1] || *m != have[2] ||
	    (*ndirs ? *ndirs : *k + *m) != have[3])
		return ddterr_set(-EINVAL, "store %s was created with k=%u m=%u "
				  "over %u directories; open it with that "
				  "geometry, not k=%d m=%d over %d", s->root,
				  have[1], have[2], have[3], *k, *m,
				  *ndirs ? *ndirs : *k + *m);
	return 0;
}

static int save_geometry(store *s)
{
	uint8_t want[4] = { GEOMETRY_VERSION, (uint8_t)ec_k(s->e),
			    (uint8_t)ec_m(s->e), (uint8_t)s->ndirs };
	uint8_t have[4];
	int rc;

	rc = idx_get_value(s->ix, "geometry", have, sizeof(have));
	if (rc == -ENOENT)
		return idx_put_value(s->ix, "geometry", want, sizeof(want));
	return rc;
}

static int load_counters(store *s)
{
	uint8_t buf[8 * STATS_WORDS];
	int rc;

	s->next_cid = 1;
	rc = idx_get_value(s->ix, "next_cid", buf, 8);
	if (rc == 0)
		s->next_cid = get_le64(buf);
	else if (rc != -ENOENT)
		return rc;
	rc = idx_get_value(s->ix, "stats", buf, sizeof(buf));
	if (rc == 0)
		sums_decode(&s->sealed, buf);
	return rc == -ENOENT ? 0 : rc;
}

static int replay_cb(void *arg, const fp_t *fp, int codec, uint32_t raw_len,
		     const void *data, uint32_t stored_len)
{
	octr *o = arg;
	uint32_t slot;

	return ctr_builder_append(&o->b, fp, codec, raw_len, data, stored_len,
				  &slot);
}

/* Journal cids, sorted: the order their containers were opened. */
static int list_journals(store *s, uint64_t **out, size_t *out_n)
{
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(s->jdir);
	if (!d)
		return ddterr_set(-errno, "journal directory %s: %s", s->jdir,
				  strerror(errno));
	while ((de = readdir(d)) != NULL) {
		unsigned long long cid;
		char tail[8];

		if (sscanf(de->d_name, "%16llx.%7s", &cid, tail) != 2 ||
		    strcmp(tail, "jnl") != 0)
			continue;
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 8) *
					       sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = cid;
	}
	closedir(d);
	for (size_t i = 1; i < n; i++)	/* a handful: insertion sort */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*out_n = n;
	return 0;
}

/* Bring one journal back: deleted if its container is already indexed or
 * it holds nothing, else replayed into *out (NULL otherwise). */
static int recover_journal(store *s, uint64_t cid, octr **out)
{
	uint64_t jcid, tail;
	idx_ctr c;
	octr *o;
	int rc;

	*out = NULL;
	rc = octr_alloc(s, cid, &o);
	if (rc < 0)
		return rc;
	rc = idx_get_ctr(s->ix, cid, 0, &c);
	if (rc == 0)
		goto drop;	/* sealed; the crash came before the unlink */
	if (rc != -ENOENT)
		goto fail;
	rc = jnl_replay(o->jpath, &jcid, replay_cb, o, &tail);
	if (rc == 0 && jcid != cid)
		rc = ddterr_set(-EBADMSG, "journal %s: names container %" PRIu64,
				o->jpath, jcid);
	if (rc < 0)
		goto fail;
	if (o->b.n == 0)
		goto drop;
	for (uint32_t i = 0; i < o->b.n; i++)
		bloom_add(s->bl, &o->b.ents[i].fp);
	if (s->next_cid <= cid)
		s->next_cid = cid + 1;
	rc = jnl_reopen(&o->j, o->jpath, cid, tail);
	if (rc < 0)
		goto fail;
	o->base = o->b.n;
	*out = o;
	return 0;
drop:
	rc = fio_unlink(o->jpath);
	if (rc == -ENOENT)
		rc = 0;
fail:
	octr_free(o);
	return rc;
}

/* Replay every journal left by the last run. The newest becomes the open
 * container again, so a clean restart does not leave a small container
 * behind; older ones were waiting for the sealer and wait again. Nothing is
 * written here beyond the journals' torn tails, so a store whose disks are
 * full still opens and reads. */
static int recover(store *s)
{
	uint64_t *cids = NULL;
	size_t n = 0;
	octr *o;
	int rc;

	find_spares(s);
	rc = list_journals(s, &cids, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = recover_journal(s, cids[i], &o);
		if (rc < 0 || !o)
			continue;
		if (s->open && s->nqueue == SEAL_QUEUE_MAX) {
			rc = ddterr_set(-EINVAL, "store %s: more than %d unsealed "
					"journals in %s", s->root, SEAL_QUEUE_MAX,
					s->jdir);
			octr_free(o);
			break;
		}
		if (s->open)
			s->queue[s->nqueue++] = s->open;
		s->open = o;
		rc = fpc_insert(s->fc, o->b.cid, o->b.ents, o->b.n, 1);
	}
	free(cids);
	if (rc < 0)
		return rc;
	return s->open ? 0 : open_new_locked(s);
}

static int load_bloom(store *s, uint64_t capacity)
{
	int rc;

	if (capacity < 2 * s->sealed.segments)
		capacity = 2 * s->sealed.segments;
	rc = bloom_new(&s->bl, capacity);
	if (rc == 0)
		rc = idx_foreach_fp(s->ix, bloom_add_cb, s->bl);
	return rc;
}

static int open_index(store *s)
{
	char *ipath = path_join(s->root, "index");
	int rc;

	if (!ipath)
		return -ENOMEM;
	rc = idx_open(&s->ix, ipath, 64);
	free(ipath);
	return rc;
}

static int open_engines(store *s, const store_config *cfg)
{
	int k, m, ndirs, rc;

	rc = resolve_geometry(s, cfg, &k, &m, &ndirs);
	if (rc == 0) {
		store_config c = *cfg;

		c.ndirs = ndirs;	/* resolved only when cfg had none */
		if (ndirs && !cfg->ndirs)
			return ddterr_set(-EINVAL, "store %s spans %d directories: "
					  "name them", s->root, ndirs);
		rc = make_dirs(s, &c, k, m);
	}
	if (rc == 0)
		rc = ec_new(&s->e, k, m);
	if (rc < 0)
		return rc;
	s->L.e = s->e;
	s->L.ndirs = s->ndirs;
	s->L.dirs = s->dirs;
	rc = save_geometry(s);
	if (rc == 0)
		rc = load_counters(s);
	if (rc == 0)
		rc = load_bloom(s, cfg->bloom_capacity);
	if (rc == 0)
		rc = fpc_new(&s->fc, cfg->cache_containers);
	if (rc == 0)
		rc = ccache_new(&s->cc, cfg->read_cache_containers);
	return rc;
}

static void store_free(store *s)
{
	for (int i = 0; i < s->nlinger; i++)
		free(s->linger[i]);
	for (int i = 0; i < s->nqueue; i++)
		octr_free(s->queue[i]);
	octr_free(s->open);
	ccache_free(s->cc);
	fpc_free(s->fc);
	bloom_free(s->bl);
	idx_close(s->ix);
	ec_free(s->e);
	for (int i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->root);
	free(s->jdir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->done_cv);
	free(s);
}

int store_open(store **out, const store_config *cfg)
{
	store *s;
	int rc;

	if (!cfg->root || !*cfg->root)
		return ddterr_set(-EINVAL, "store: no root directory given");
	if (cfg->container_size < 64 * 1024 || cfg->container_size > (1u << 30))
		return ddterr_set(-EINVAL, "store: container size %u out of "
				  "range 64 KiB..1 GiB", cfg->container_size);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	s->container_size = cfg->container_size;
	s->reserve_cfg = cfg->reserve_bytes;
	s->root = strdup(cfg->root);
	s->jdir = path_join(cfg->root, "journal");
	if (!s->root || !s->jdir) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = fio_mkdir_p(s->jdir, 0755);
	if (rc < 0) {
		rc = ddterr_set(rc, "store %s: cannot create %s: %s", s->root,
				s->jdir, strerror(-rc));
		goto fail;
	}
	rc = open_index(s);
	if (rc == 0)
		rc = open_engines(s, cfg);
	if (rc == 0)
		rc = recover(s);
	if (rc < 0)
		goto fail;
	rc = pthread_create(&s->sealer, NULL, sealer_main, s);
	if (rc != 0) {
		rc = ddterr_set(-rc, "store: cannot start the sealer thread");
		goto fail;
	}
	s->sealer_started = 1;
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

int store_close(store *s)
{
	uint8_t buf[8 * STATS_WORDS];
	int rc = 0, rc2;

	if (!s)
		return 0;
	if (s->sealer_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->work_cv);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->sealer, NULL);
	}
	/* What the sealer could not seal is safe in its journal. */
	if (s->seal_err)
		rc = seal_error(s);
	rc2 = drop_lingering(s);
	if (rc == 0)
		rc = rc2;
	sums_encode(&s->sealed, buf);
	rc2 = idx_put_value(s->ix, "stats", buf, sizeof(buf));
	store_free(s);
	return rc ? rc : rc2;
}
