/* store_write.c - the segment store's write path: lookups (the dedup hot
 * path), put (verify, dedup, journal, pack), flush and barrier, and the
 * store's figures. The unsealed containers are in store_octr.c, the
 * sealer in store_seal.c, the read path in store_read.c, the journals'
 * replay in store_journal.c, open and close in store_open.c; store.h is
 * their public face, store_int.h what they share.
 *
 * The life of a segment: store_put() finds it new (under the lock),
 * hashes it (outside), appends it to the open container in memory and
 * stages its journal record (under the lock), then waits outside the lock
 * until the journal is fsynced (group commit, jnl.c): from then on it is
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

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "now.h"
#include "store_int.h"

#define SPACE_CHECK_NS	(200 * 1000000LL)

/* ---- the Bloom filter ---- */

static int bloom_add_cb(void *arg, const fp_t *fp, uint64_t cid,
			uint32_t slot)
{
	(void)cid;
	(void)slot;
	bloom_add(arg, fp);
	return 0;
}

int store_bloom_fill(store *s, bloom *b)
{
	int rc = idx_foreach_fp(s->ix, bloom_add_cb, b);

	for (int i = -1; rc == 0 && i < s->sq.nqueue; i++) {
		const octr *o = i < 0 ? s->sq.open : s->sq.queue[i];

		if (!o)
			continue;
		for (uint32_t j = 0; j < o->b.n; j++)
			bloom_add(b, &o->b.ents[j].fp);
	}
	return rc;
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
	rc = store_bloom_fill(s, nb);
	if (rc < 0) {
		bloom_free(nb);
		return rc;
	}
	bloom_free(s->bl);
	s->bl = nb;
	return 0;
}

/* ---- lookup ---- */

/* Where a fingerprint is stored: 1 and its location (and, if raw_len is
 * not NULL, its raw length), 0 if absent, or an index error. An index hit
 * loads the fingerprints of the whole container into the locality cache,
 * because its neighbours are asked for next. */
static int lookup_len_locked(store *s, const fp_t *fp, uint64_t *cid,
			     uint32_t *slot, uint32_t *raw_len)
{
	idx_ctr c;
	int rc, cached;

	if (fpcache_lookup(s->fc, fp, cid, slot, raw_len)) {
		s->run.cache_hits++;
		return 1;
	}
	if (!bloom_maybe(s->bl, fp)) {
		s->run.bloom_negatives++;
		return 0;
	}
	s->run.index_lookups++;
	rc = idx_get_fp(s->ix, fp, cid, slot);
	cached = rc == 1 && fpcache_has_container(s->fc, *cid);
	if (rc <= 0 || (cached && !raw_len))
		return rc;
	/* The container's record: its neighbours for the cache, and fp's
	 * length (even when the container is cached already, but without
	 * fp: a rare case, not worth a second path). */
	rc = idx_get_ctr(s->ix, *cid, 1, &c);
	if (rc < 0 && !raw_len)
		return 1;	/* present all the same; only speed suffers */
	if (rc == -ENOENT)
		return 0;	/* dropped by cleaning since idx_get_fp */
	if (rc < 0)
		return rc;
	if (raw_len && *slot >= c.nseg)
		rc = ddterr_set(-EIO, "index: container %llu has no slot %u",
				(unsigned long long)*cid, *slot);
	else if (raw_len)
		*raw_len = c.ents[*slot].raw_len;
	/* A cache that cannot grow only costs speed. */
	if (rc == 0 && !cached)
		(void)fpcache_insert(s->fc, *cid, c.ents, c.nseg, 0);
	idx_ctr_free(&c);
	return rc < 0 ? rc : 1;
}

int store_lookup_locked(store *s, const fp_t *fp, uint64_t *cid,
			uint32_t *slot)
{
	return lookup_len_locked(s, fp, cid, slot, NULL);
}

/* A writer was told fp is present: while a clean runs, it must stay. A pin
 * that cannot be recorded makes the whole clean keep everything. */
static void pin_locked(store *s, const fp_t *fp, int told)
{
	if (told && s->gc.told)
		bloom_add(s->gc.told, fp);
	if (s->gc.pins && fpset_add(s->gc.pins, fp) < 0)
		s->gc.pin_failed = 1;
}

/* Look fps[0..n) up in one hold of the lock: present[i] and raw_len[i]
 * (either may be NULL; raw_len[i] is 0 when absent), pinning as pin says. */
static int lookup_batch(store *s, const fp_t *fps, size_t n, store_pin pin,
			uint8_t *present, uint32_t *raw_len)
{
	uint64_t cid;
	uint32_t slot, len = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		rc = lookup_len_locked(s, &fps[i], &cid, &slot,
				       raw_len ? &len : NULL);
		if (rc < 0)
			break;
		if (present)
			present[i] = (uint8_t)rc;
		if (raw_len)
			raw_len[i] = rc ? len : 0;
		if (rc && pin != STORE_PIN_NONE)
			pin_locked(s, &fps[i], pin == STORE_PIN_TOLD);
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_has(store *s, const fp_t *fps, size_t n, uint8_t *present)
{
	return lookup_batch(s, fps, n, STORE_PIN_TOLD, present, NULL);
}

int store_lookup(store *s, const fp_t *fps, size_t n, store_pin pin,
		 uint32_t *raw_len)
{
	return lookup_batch(s, fps, n, pin, NULL, raw_len);
}

/* ---- the write path ---- */

/* The fields a writer gave segment i, before anything is decoded: a
 * writer's mistake, -EINVAL naming the segment and the figures. */
static int check_fields(const store_seg *g, size_t i)
{
	char hex[FP_HEX_LEN + 1];

	fp_to_hex(&g->fp, hex);
	if (g->codec < 0 || g->codec >= CODEC_COUNT)
		return ddterr_set(-EINVAL, "segment %zu (%.16s): unknown codec "
				  "%d", i, hex, g->codec);
	if (g->raw_len == 0 || g->raw_len > CDC_MAX_LIMIT)
		return ddterr_set(-EINVAL, "segment %zu (%.16s): raw_len %u is "
				  "not 1 to %u", i, hex, g->raw_len,
				  CDC_MAX_LIMIT);
	if (g->codec == CODEC_NONE ? g->stored_len != g->raw_len :
	    g->stored_len == 0 || g->stored_len > codec_bound(g->raw_len))
		return ddterr_set(-EINVAL, "segment %zu (%.16s): stored_len %u "
				  "does not fit raw_len %u with codec %s", i,
				  hex, g->stored_len, g->raw_len,
				  codec_name(g->codec));
	if (!g->data)
		return ddterr_set(-EINVAL, "segment %zu (%.16s): no data", i,
				  hex);
	return 0;
}

/* The segment (its fields checked) must decode to raw_len bytes that
 * hash to its name; bytes that do not are -EBADMSG. */
static int verify_seg(const store_seg *g, size_t i, uint8_t *scratch)
{
	char hex[FP_HEX_LEN + 1];
	fp_t got;
	int rc;

	fp_to_hex(&g->fp, hex);
	rc = codec_decompress(g->codec, g->data, g->stored_len, scratch,
			      g->raw_len);
	if (rc < 0)
		return ddterr_set(-EBADMSG, "segment %zu (%.16s): does not "
				  "decompress with %s to %u bytes", i, hex,
				  codec_name(g->codec), g->raw_len);
	rc = fp_compute(&got, scratch, g->raw_len);
	if (rc < 0)
		return rc;
	if (!fp_equal(&got, &g->fp))
		return ddterr_set(-EBADMSG, "segment %zu: bytes do not match "
				  "fingerprint %s", i, hex);
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

/* share: 1 for new data; 2 lets cleaning's copies use half the reserve,
 * because each batch it copies is followed at once by the containers it
 * frees, and a full store is when cleaning is needed most. */
static int check_one_disk(const store *s, const char *path, int share)
{
	struct statvfs v;
	uint64_t avail, reserve;

	if (statvfs(path, &v) != 0) {
		if (errno == ENOENT && path != s->jdir)
			return 1;	/* a missing disk: store_check_space */
		return ddterr_set(-errno, "store: cannot stat %s: %s", path,
				  strerror(errno));
	}
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	reserve = reserve_for(s, &v) / (uint64_t)share;
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
int store_check_space(store *s, int cleaning)
{
	int64_t now = now_mono_ns();
	int rc, share = cleaning ? 2 : 1, missing = 0;

	if (s->space_ok_until > now &&
	    s->sealed.raw + s->sq.open->b.data_len < s->space_ok_bytes)
		return 0;
	rc = check_one_disk(s, s->jdir, share);
	for (int i = 0; rc >= 0 && i < s->ndirs; i++) {
		int r = check_one_disk(s, s->dirs[i], share);

		missing += r == 1;
		rc = r < 0 ? r : rc;
	}
	/* Up to m missing disks: their fragments are left out (degraded);
	 * more, and no container could be written whole enough to read. */
	if (rc == 0 && missing > ec_m(s->e))
		rc = ddterr_set(-EIO, "store: %d storage directories are "
				"missing, more than the %d the erasure code "
				"covers: mount or restore them", missing,
				ec_m(s->e));
	if (rc == 0 && !cleaning) {
		s->space_ok_until = now + SPACE_CHECK_NS;
		s->space_ok_bytes = s->sealed.raw + s->sq.open->b.data_len +
				    s->container_size;
	}
	return rc;
}


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
int store_sync_all(put_sync *ps)
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
int store_append_locked(store *s, const store_seg *g, put_sync *ps)
{
	ctr_builder *b;
	uint64_t ticket;
	uint32_t slot;
	int rc;

	/* A loop: while we waited for the sealer, other writers may have
	 * rotated and filled the new container too. */
	while (!ctr_builder_fits(&s->sq.open->b, g->stored_len)) {
		rc = store_rotate_locked(s);
		if (rc < 0)
			return rc;
	}
	b = &s->sq.open->b;
	rc = ctr_builder_append(b, &g->fp, g->codec, g->raw_len, g->data,
			       g->stored_len, &slot);
	if (rc < 0)
		return rc;
	rc = jnl_add(s->sq.open->j, &g->fp, g->codec, g->raw_len, g->data,
		     g->stored_len, &ticket);
	if (rc < 0) {
		b->n--;
		b->data_len -= g->stored_len;
		return rc;
	}
	if (fpcache_append(s->fc, b->cid, &g->fp, g->raw_len) < 0)
		/* Rebuild the cache record, slots in step; if even that
		 * fails, reads check fingerprints and only speed suffers. */
		(void)fpcache_insert(s->fc, b->cid, b->ents, b->n, 1);
	bloom_add(s->bl, &g->fp);
	return note_ticket(ps, s->sq.open->j, ticket);
}

/* A duplicate's bytes are never decoded, but its length is known: one
 * that differs from the stored segment's cannot be its bytes. */
static int check_dup_len(const store_seg *g, size_t i, uint32_t held)
{
	char hex[FP_HEX_LEN + 1];

	if (g->raw_len == held)
		return 0;
	fp_to_hex(&g->fp, hex);
	return ddterr_set(-EBADMSG, "segment %zu: raw_len %u, but the target "
			  "holds fingerprint %s with %u bytes", i, g->raw_len,
			  hex, held);
}

/* Which segments of the batch the store lacks (isnew[i]), under the lock.
 * Only those are verified: a duplicate's bytes are never stored. */
static int find_new(store *s, const store_seg *segs, size_t n,
		    uint8_t *isnew, size_t *out_nnew)
{
	uint64_t cid;
	uint32_t slot, held = 0;
	size_t nnew = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = lookup_len_locked(s, &segs[i].fp, &cid, &slot, &held);
		if (rc < 0)
			break;
		isnew[i] = rc == 0;
		if (rc)
			pin_locked(s, &segs[i].fp, 1);
		nnew += isnew[i];
		rc = rc ? check_dup_len(&segs[i], i, held) : 0;
	}
	pthread_mutex_unlock(&s->lock);
	*out_nnew = nnew;
	return rc;
}

static int check_all_fields(const store_seg *segs, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = check_fields(&segs[i], i);
	return rc;
}

/* isnew NULL: every segment. */
static int verify_new(const store_seg *segs, size_t n, const uint8_t *isnew)
{
	uint8_t *scratch = malloc(CDC_MAX_LIMIT);
	int rc = 0;

	if (!scratch)
		return -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!isnew || isnew[i])
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
	if (!jnl_broken(s->sq.open->j))
		return 0;
	store_trim_to_durable_locked(s, s->sq.open);
	return store_rotate_locked(s);
}

/* Stage the segments still new (another writer may have stored some since
 * find_new) into the open container and its journal. */
static int stage_new(store *s, const store_seg *segs, size_t n,
		     const uint8_t *isnew, put_sync *ps, store_put_new *out)
{
	store_put_new fresh = { 0 };
	uint64_t cid;
	uint32_t slot;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	rc = repair_locked(s);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!isnew[i])
			continue;
		rc = store_lookup_locked(s, &segs[i].fp, &cid, &slot);
		if (rc < 0)
			break;
		if (rc == 1) {		/* stored meanwhile, or twice in this batch */
			pin_locked(s, &segs[i].fp, 1);
			rc = 0;
			continue;
		}
		if (fresh.segs == 0 && (rc = store_check_space(s, 0)) < 0)
			break;
		rc = store_append_locked(s, &segs[i], ps);
		if (rc == 0) {
			fresh.segs++;
			fresh.raw_bytes += segs[i].raw_len;
			fresh.stored_bytes += segs[i].stored_len;
		}
	}
	pthread_mutex_unlock(&s->lock);
	*out = fresh;
	return rc;
}

int store_put(store *s, const store_seg *segs, size_t n, size_t *out_new)
{
	store_put_new t;
	int rc = store_put_tally(s, segs, n, &t);

	if (rc == 0 && out_new)
		*out_new = t.segs;
	return rc;
}

static int put_tally(store *s, const store_seg *segs, size_t n,
		     int verified, store_put_new *out);

int store_put_proving(store *s, const store_seg *segs, size_t n,
		      store_put_new *out)
{
	int rc = check_all_fields(segs, n);

	if (rc == 0)
		rc = verify_new(segs, n, NULL);
	return rc < 0 ? rc : put_tally(s, segs, n, 1, out);
}

int store_put_tally(store *s, const store_seg *segs, size_t n,
		    store_put_new *out)
{
	return put_tally(s, segs, n, 0, out);
}

/* verified: every segment's bytes were checked already. */
static int put_tally(store *s, const store_seg *segs, size_t n,
		     int verified, store_put_new *out)
{
	put_sync ps = { .n = 0 };
	store_put_new fresh = { 0 };
	size_t nnew = 0;
	char msg[512];
	uint64_t logical = 0;
	uint8_t *isnew;
	int rc, rc2;

	rc = check_all_fields(segs, n);
	if (rc < 0)
		return rc;
	isnew = malloc(n ? n : 1);
	if (!isnew)
		return -ENOMEM;
	rc = find_new(s, segs, n, isnew, &nnew);
	if (rc == 0 && nnew > 0 && !verified)
		rc = verify_new(segs, n, isnew);
	if (rc == 0 && nnew > 0)
		rc = stage_new(s, segs, n, isnew, &ps, &fresh);
	/* Whatever was staged is synced even if the put failed later: it is
	 * findable already, so it must not stay undurable. */
	rc2 = store_sync_all(&ps);
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
		if (out)
			*out = fresh;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_flush(store *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->sq.seal_err) {
		s->sq.seal_err = 0;	/* a flush is a request to try again */
		pthread_cond_signal(&s->sq.work_cv);
	}
	if (s->sq.open->b.n > 0)
		rc = store_rotate_locked(s);
	while (rc == 0 && s->sq.nqueue > 0 && !s->sq.seal_err)
		pthread_cond_wait(&s->sq.done_cv, &s->lock);
	if (rc == 0 && s->sq.seal_err)
		rc = store_seal_error(s);
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
	for (int i = -1; i < s->sq.nqueue; i++) {
		const octr *o = i < 0 ? s->sq.open : s->sq.queue[i];

		store_octr_sums(o, &raw, &stored);
		out->raw_bytes += raw;
		out->stored_bytes += stored;
		out->segments += o->b.n;
		out->open_segments += o->b.n;
	}
	pthread_mutex_unlock(&s->lock);
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
	js[nj++] = jnl_ref(s->sq.open->j);
	for (int i = 0; i < s->sq.nqueue; i++) {
		jnl *j = s->sq.queue[i]->j;

		if (!j)
			continue;	/* replayed: durable as it is */
		if (jnl_broken(j))
			wait_cid[nw++] = s->sq.queue[i]->b.cid;
		else
			js[nj++] = jnl_ref(j);
	}
	for (int i = 0; i < nw && rc == 0; i++) {
		while (store_octr_queued_locked(s, wait_cid[i]) && !s->sq.seal_err)
			pthread_cond_wait(&s->sq.done_cv, &s->lock);
		if (store_octr_queued_locked(s, wait_cid[i]))
			rc = store_seal_error(s);
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
