/* store_seal.c - sealing: the sealer thread erasure-codes each full
 * container of the queue (store_octr.c) into fragments, indexes it with
 * the store's counters, and retires its journal once the index holds it
 * durably. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"
#include "now.h"
#include "store_int.h"

#define SEAL_RETRY_SECONDS 1

/* ---- sealing ---- */

/* The container as it goes to disk: its segments packed into compression
 * regions when the store makes them, else as the builder holds them. */
static int seal_parts(store *s, const ctr_builder *b, ctrpack *pk,
		      ctr_parts *out)
{
	int rc;

	if (!s->pack.codec) {
		ctr_builder_parts(b, out);
		return 0;
	}
	rc = ctrpack_build(b, &s->pack, s->writers, pk);
	if (rc == 0)
		ctrpack_parts(pk, b->cid, out);
	return rc;
}

/* Erasure-code a full container into fragments, then index it. Runs on the
 * sealer thread without the lock (a queued container no longer changes),
 * or at open before any other thread exists. */
static int seal_one(store *s, const octr *o)
{
	const ctr_builder *b = &o->b;
	int k = ec_k(s->e), m = ec_m(s->e);
	uint8_t statbuf[8 * STATS_WORDS], cidbuf[8];
	const char *names[2] = { "stats", "next_cid" };
	const void *vals[2] = { statbuf, cidbuf };
	const size_t lens[2] = { sizeof(statbuf), sizeof(cidbuf) };
	ctrpack pk = { 0 };
	ctr_parts parts;
	idx_ctr c = { 0 };
	uint32_t clen, flen;
	uint8_t *buf = NULL;
	sums next;
	int rc, missing = 0;

	rc = seal_parts(s, b, &pk, &parts);
	if (rc < 0)
		return rc;
	clen = (uint32_t)ctr_parts_len(&parts);
	flen = ctrio_frag_len(&s->L, clen);
	/* Page-aligned: the fragments go to disk from it with O_DIRECT. */
	if (posix_memalign((void **)&buf, FIO_DIO_ALIGN,
			   (size_t)(k + m) * flen) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	ctr_parts_serialize(&parts, buf);
	rc = ctrio_write(&s->L, s->writers, b->cid, buf, clen, flen,
			 &missing);
	free(buf);
	if (rc < 0)
		goto out;
	if (missing) {
		pthread_mutex_lock(&s->lock);
		s->run.degraded_containers++;
		pthread_mutex_unlock(&s->lock);
	}

	c.cid = b->cid;
	c.k = (uint8_t)k;
	c.m = (uint8_t)m;
	c.frag_len = flen;
	c.container_len = clen;
	c.nseg = parts.nseg;
	c.data_len = parts.data_len;
	c.ents = s->pack.codec ? pk.ents : b->ents;
	store_octr_sums(o, &c.raw_bytes, &c.stored_bytes);
	if (s->pack.codec)
		c.stored_bytes = ctrpack_stored(&pk);

	pthread_mutex_lock(&s->seal_mu);	/* see store_checkpoint() */
	pthread_mutex_lock(&s->lock);
	next = s->sealed;
	put_le64(cidbuf, s->next_cid);
	pthread_mutex_unlock(&s->lock);
	next.raw += c.raw_bytes;
	next.stored += c.stored_bytes;
	next.physical += (uint64_t)(k + m) * frag_file_len(flen);
	next.segments += c.nseg;
	next.containers++;
	store_sums_encode(&next, statbuf);
	rc = idx_seal(s->ix, &c, 2, names, vals, lens);
	if (rc == 0) {
		pthread_mutex_lock(&s->lock);
		next.logical = s->sealed.logical;
		s->sealed = next;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&s->seal_mu);
out:
	ctrpack_free(&pk);
	return rc;
}

/* After a seal: the container is found through the index now. Its journal
 * must outlive the index write, which is not synced per seal (a flush per
 * container would halve the sealer's speed); it waits in s->sq.linger until
 * the next idx_sync(). */
static void seal_done_locked(store *s)
{
	octr *o = s->sq.queue[0];

	memmove(s->sq.queue, s->sq.queue + 1, (size_t)(s->sq.nqueue - 1) * sizeof(octr *));
	s->sq.nqueue--;
	fpcache_pin(s->fc, o->b.cid, 0);
	if (o->j && o->jp.path[1] && jnl_copies(o->j) < 2)
		s->run.journals_unmirrored++;	/* its second copy failed */
	s->sq.linger[s->sq.nlinger++] = o->jp;
	o->jp.path[0] = o->jp.path[1] = NULL;
	store_octr_free(o);
}

/* Sync the index, then drop the journals of the containers it now holds
 * durably. If an unlink is lost to a crash, open deletes the journal again
 * (its container is indexed). Called without the lock by the sealer, or
 * with no sealer running. */
int store_drop_lingering(store *s)
{
	jpaths paths[LINGER_MAX];
	int n, rc;

	pthread_mutex_lock(&s->lock);
	n = s->sq.nlinger;
	memcpy(paths, s->sq.linger, (size_t)n * sizeof(paths[0]));
	s->sq.nlinger = 0;
	pthread_mutex_unlock(&s->lock);
	if (n == 0)
		return 0;
	rc = idx_sync(s->ix);
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			store_jnl_retire(s, &paths[i]);
		else
			store_jnl_paths_free(&paths[i]);
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

	until = now_deadline(SEAL_RETRY_SECONDS * 1000000000LL);
	while (s->sq.seal_err && !s->stopping &&
	       pthread_cond_timedwait(&s->sq.work_cv, &s->lock, &until) == 0)
		;
	if (!s->stopping)
		s->sq.seal_err = 0;
}

void *store_sealer_main(void *arg)
{
	store *s = arg;
	int rc;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->sq.nqueue == 0)
			pthread_cond_wait(&s->sq.work_cv, &s->lock);
		if (s->sq.seal_err && !s->stopping)
			wait_to_retry_locked(s);
		if (s->sq.nqueue == 0 || (s->stopping && s->sq.seal_err))
			break;		/* stopping, nothing (more) to do */
		pthread_mutex_unlock(&s->lock);
		rc = seal_one(s, s->sq.queue[0]);
		pthread_mutex_lock(&s->lock);
		if (rc < 0) {
			s->sq.seal_err = rc;
			snprintf(s->sq.seal_msg, sizeof(s->sq.seal_msg),
				 "cannot seal container %" PRIu64 ": %s",
				 s->sq.queue[0]->b.cid, ddterr_last(rc));
		} else {
			seal_done_locked(s);
			/* Sync when the linger list is full, or when the
			 * queue has run dry (a pause, or a flush waiting). */
			if (s->sq.nlinger == LINGER_MAX || s->sq.nqueue == 0) {
				pthread_mutex_unlock(&s->lock);
				rc = store_drop_lingering(s);
				pthread_mutex_lock(&s->lock);
				if (rc < 0) {
					s->sq.seal_err = rc;
					snprintf(s->sq.seal_msg, sizeof(s->sq.seal_msg),
						 "cannot sync the index: %s",
						 ddterr_last(rc));
				}
			}
		}
		pthread_cond_broadcast(&s->sq.done_cv);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
