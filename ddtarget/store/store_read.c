/* store_read.c - the segment store's read path: a segment from the open or
 * a queued container in memory, or from its sealed container through the
 * read cache, rebuilt from parity when a fragment is lost. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ddterr.h"
#include "store_int.h"


/* Read and decode a sealed container; called without the lock. */
int store_load_container(store *s, uint64_t cid, uint8_t **out_buf,
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
	    !ctrio_frag_len_ok(&s->L, c.container_len, c.frag_len))
		return ddterr_set(-EIO, "container %" PRIu64 ": index record "
				  "(k=%u m=%u, %u-byte fragments) does not fit "
				  "this store (k=%d m=%d)", cid, c.k, c.m,
				  c.frag_len, ec_k(s->e), ec_m(s->e));
	rc = ctrio_read(&s->L, cid, c.container_len, c.frag_len, &buf,
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

static int apply(const ctr_entry *e, const uint8_t *data, store_seg_fn fn,
		 void *arg)
{
	return fn(arg, e->codec, e->raw_len, data + e->off, e->stored_len);
}

/* Segment slot of a sealed container: from its region, already
 * decompressed when the container was read, or as it was stored. */
static int apply_view(const ctr_view *v, uint32_t slot, store_seg_fn fn,
		      void *arg)
{
	ctr_seg g;
	int rc = ctr_view_seg(v, slot, &g);

	if (rc < 0)
		return rc;
	return fn(arg, g.codec, g.raw_len, g.data, g.len);
}

#define RA_DEPTH	2	/* containers read ahead of a sequential reader */

static int loading_slot_locked(const store *s, uint64_t cid)
{
	for (int i = 0; i < s->rd.nloading; i++)
		if (s->rd.loading[i] == cid)
			return i;
	return -1;
}

static int cached_locked(store *s, uint64_t cid)
{
	ctrcache_ent *e = ctrcache_get(s->cc, cid);

	if (e)
		ctrcache_release(s->cc, e);
	return e != NULL;
}

/* Cached already, or on its way there. */
static int present_locked(store *s, uint64_t cid)
{
	return loading_slot_locked(s, cid) >= 0 || cached_locked(s, cid);
}

/* Take the reading of cid on; 0 if the table is full (it is read all the
 * same, only without others waiting for it). */
static int claim_locked(store *s, uint64_t cid)
{
	if (s->rd.nloading == LOADING_MAX)
		return 0;
	s->rd.loading[s->rd.nloading++] = cid;
	return 1;
}

/* What a container costs the read cache: its regions decompressed, and
 * its buffer only while a segment is read from there. */
static size_t cache_bytes(ctr_view *v, uint8_t **buf)
{
	size_t len = v->data ? (size_t)(v->data - *buf) + v->data_len : 0;

	if (v->nreg && !ctr_view_uses_data(v)) {
		free(*buf);
		*buf = NULL;
		v->data = NULL;
		len = 0;
	}
	return len + v->raw_size;
}

/* Read container cid, which this thread claimed in s->rd.loading (unless
 * the table was full), into the read cache; the entry comes back with a
 * reference taken. Called without the lock. */
static int load_claimed(store *s, uint64_t cid, int claimed, int ahead,
			ctrcache_ent **out)
{
	ctr_view view;
	uint8_t *buf = NULL;
	size_t bytes = 0;
	int rc, rebuilt = 0, i;

	*out = NULL;
	rc = store_load_container(s, cid, &buf, &view, &rebuilt);
	if (rc == 0)
		bytes = cache_bytes(&view, &buf);
	pthread_mutex_lock(&s->lock);
	if (rc == 0) {
		s->run.fragments_rebuilt += (uint64_t)rebuilt;
		s->run.containers_read++;
		*out = ctrcache_put(s->cc, cid, buf, &view, bytes);
		if (*out && ahead) {
			(*out)->read_ahead = 1;
			s->run.containers_read_ahead++;
		}
	}
	if (claimed && (i = loading_slot_locked(s, cid)) >= 0) {
		s->rd.loading[i] = s->rd.loading[--s->rd.nloading];
		pthread_cond_broadcast(&s->rd.loaded_cv);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return rc;
	if (!*out) {
		ctr_view_free(&view);
		free(buf);
		return -ENOMEM;
	}
	return 0;
}

/* A restore reads containers in about the order they were written. A
 * reader that misses container cid just after using cid - 1, or that
 * first uses one read ahead, is streaming: queue the next RA_DEPTH for the
 * reader thread, so the stream finds them cached instead of waiting on
 * the disks. */
static void read_ahead_locked(store *s, uint64_t cid)
{
	int queued = 0;

	if (!s->rd.reader_started)
		return;
	for (uint64_t next = cid + 1; next <= cid + RA_DEPTH; next++) {
		int dup = 0;

		if (next >= s->next_cid || s->rd.ra_n == RA_QUEUE)
			break;
		for (int i = 0; i < s->rd.ra_n; i++)
			dup |= s->rd.ra_queue[i] == next;
		if (dup || present_locked(s, next))
			continue;
		s->rd.ra_queue[s->rd.ra_n++] = next;
		queued = 1;
	}
	if (queued)
		pthread_cond_signal(&s->rd.ra_cv);
}

void *store_reader_main(void *arg)
{
	store *s = arg;
	ctrcache_ent *e;
	uint64_t cid;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->rd.ra_n == 0)
			pthread_cond_wait(&s->rd.ra_cv, &s->lock);
		if (s->stopping)
			break;
		cid = s->rd.ra_queue[0];
		memmove(s->rd.ra_queue, s->rd.ra_queue + 1,
			(size_t)--s->rd.ra_n * sizeof(s->rd.ra_queue[0]));
		if (present_locked(s, cid) || !claim_locked(s, cid))
			continue;
		pthread_mutex_unlock(&s->lock);
		/* A container that is gone or not sealed yet is simply not
		 * read ahead; a reader that wants it reports the error. */
		rc = load_claimed(s, cid, 1, 1, &e);
		pthread_mutex_lock(&s->lock);
		if (rc == 0)
			ctrcache_release(s->cc, e);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* The container cid from the read cache, loading it if need be. The
 * streams of a restore ask for the same container at nearly the same
 * time; only the first reads it, the others wait for it. */
static int hold_container(store *s, uint64_t cid, ctrcache_ent **out)
{
	int claimed = 0;

	pthread_mutex_lock(&s->lock);
	while (!(*out = ctrcache_get(s->cc, cid)) &&
	       loading_slot_locked(s, cid) >= 0)
		pthread_cond_wait(&s->rd.loaded_cv, &s->lock);
	if (*out && (*out)->read_ahead) {
		(*out)->read_ahead = 0;
		read_ahead_locked(s, cid);
	} else if (!*out) {
		if (cid > 0 && cached_locked(s, cid - 1))
			read_ahead_locked(s, cid);
		claimed = claim_locked(s, cid);
	}
	pthread_mutex_unlock(&s->lock);
	if (*out)
		return 0;
	return load_claimed(s, cid, claimed, 0, out);
}

/* One attempt at store_peek; *out_drops is the count of cleaning's drops
 * when the segment was looked up. */
static int get_once(store *s, const fp_t *fp, store_seg_fn fn, void *arg,
		    uint64_t *out_drops)
{
	const octr *o;
	ctrcache_ent *ce;
	uint64_t cid;
	uint32_t slot;
	int rc;

	pthread_mutex_lock(&s->lock);
	*out_drops = s->gc.drops;
	rc = store_lookup_locked(s, fp, &cid, &slot);
	if (rc == 1 && (o = store_unsealed_locked(s, cid)) != NULL) {
		if (slot < o->b.n && fp_equal(&o->b.ents[slot].fp, fp))
			rc = apply(&o->b.ents[slot], o->b.data, fn, arg);
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
		rc = apply_view(&ce->view, slot, fn, arg);
	pthread_mutex_lock(&s->lock);
	ctrcache_release(s->cc, ce);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* A read that fails because cleaning dropped the container it was looking
 * in (the segment has been copied forward) looks the segment up again. */
int store_peek(store *s, const fp_t *fp, store_seg_fn fn, void *arg)
{
	uint64_t drops, now;
	int rc;

	for (int tries = 0;; tries++) {
		rc = get_once(s, fp, fn, arg, &drops);
		if (rc != -EIO || tries == 3)
			return rc;
		pthread_mutex_lock(&s->lock);
		now = s->gc.drops;
		pthread_mutex_unlock(&s->lock);
		if (now == drops)
			return rc;
	}
}

typedef struct seg_unpack {
	void *buf;
	size_t cap;
	uint32_t raw_len;
} seg_unpack;

static int unpack(void *arg, int codec, uint32_t raw_len, const void *data,
		  uint32_t stored_len)
{
	seg_unpack *u = arg;

	if (raw_len > u->cap)
		return -ENOBUFS;
	u->raw_len = raw_len;
	return codec_decompress(codec, data, stored_len, u->buf, raw_len);
}

int store_read(store *s, const fp_t *fp, void *buf, size_t cap,
	       size_t *out_len)
{
	seg_unpack u = { .buf = buf, .cap = cap };
	fp_t got;
	int rc;

	/* Decompressed straight from where the store holds it. */
	rc = store_peek(s, fp, unpack, &u);
	if (rc == 0)
		rc = fp_compute(&got, buf, u.raw_len);
	if (rc == 0 && !fp_equal(&got, fp)) {
		char hex[FP_HEX_LEN + 1];

		fp_to_hex(fp, hex);
		rc = ddterr_set(-EBADMSG, "segment %s: stored bytes do not "
				"match the fingerprint", hex);
	}
	if (rc == 0)
		*out_len = u.raw_len;
	return rc;
}
