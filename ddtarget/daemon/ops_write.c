/* ops_write.c - the deduplicated write (PROTOCOL.md section 5): FP_QUERY
 * asks the store which segments it holds, SEG_PUT stores the rest (the
 * store checks each), COMMIT binds names to complete trees and
 * SET_CONTENT gives a file by inode a new one, both through the cleaner,
 * which holds off a clean's start while it checks them. What they store
 * and bind is counted (ingest, PROTOCOL.md section 8), and makes the
 * session a backup stream of the unit (Streams). */
#include "ops_sections.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "dset.h"
#include "fmt.h"
#include "now.h"
#include "ops.h"
#include "tenant.h"

/* ---- a tenant's segments (dset.h) ---- */

/* A commit's fence (clean.h): whose segments its trees may name, and
 * which domain is credited with them. */
typedef struct fence_arg {
	req *q;
	char owner[DDT_MAX_DOMAIN + 1];	/* the unit's domain */
	clean_fence f;
} fence_arg;

static int fence_filter(void *arg, const fp_t *fps, uint32_t n, uint8_t *ok)
{
	const fence_arg *a = arg;

	return dset_filter(a->q->d->ix, a->q->domain, fps, n, ok);
}

static int fence_credit(void *arg, const fp_t *fps, uint32_t n)
{
	const fence_arg *a = arg;

	return dset_add(a->q->d->ix, a->owner, fps, n);
}

/* The fence of q's commit under inode ino: a tenant names only what it
 * holds; anyone else committing into a tenant's unit (the system domain's
 * admin) credits the tenant with the trees, which it may then read,
 * query and reuse as its own. NULL: no fence (the system domain's units,
 * by the system domain's users), or an error in *rc. */
static const clean_fence *commit_fence(req *q, uint64_t ino, fence_arg *a,
				       int *rc)
{
	uint64_t unit, h = 14695981039346656037ULL;

	*rc = 0;
	a->q = q;
	if (dset_fenced(q->domain)) {
		snprintf(a->owner, sizeof(a->owner), "%s", q->domain);
		a->f = (clean_fence){ .filter = fence_filter };
	} else {
		if ((*rc = ns_unit_of(q->d->ns, ino, &unit)) < 0 ||
		    (*rc = ns_su_domain(q->d->ns, unit, a->owner)) < 0)
			return NULL;
		if (!dset_fenced(a->owner))
			return NULL;
		a->f = (clean_fence){ .credit = fence_credit };
	}
	for (const unsigned char *p = (const void *)a->owner; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	a->f.arg = a;
	a->f.salt = h;
	return &a->f;
}

/* New segments stored: the target's counters, the session's unit's and
 * its open backups'. */
static void count_new(req *q, const store_put_new *t)
{
	uint64_t add[ING_COUNT] = { 0, t->raw_bytes, t->stored_bytes };
	uint64_t unit;

	if (!t->segs)
		return;
	ingest_add(q->d->ingest, now_ns(), add);
	pthread_mutex_lock(&q->ss->mu);
	unit = q->ss->cur_unit;
	pthread_mutex_unlock(&q->ss->mu);
	if (unit)
		units_add_ingest(q->d->units, unit, add);
	streams_new_bytes(q->d->streams, q->ss, t->raw_bytes);
}

/* ---- segments sent and not committed (pending.h) ---- */

/* -EDQUOT if n more new bytes sent would take the session's unit past its
 * quota, counting what is committed and what its sessions sent and have
 * not committed yet; or, before the session names a unit, past
 * upload_slack_mb. */
static int sent_allowed(req *q, uint64_t n)
{
	ops_session *ss = q->ss;
	uint64_t unit, sent, bytes, quota, others;
	char a[FMT_LEN], b[FMT_LEN], c[FMT_LEN];
	int rc;

	pthread_mutex_lock(&ss->mu);
	unit = ss->cur_unit;
	sent = ss->sent;
	pthread_mutex_unlock(&ss->mu);
	if (!unit) {
		uint64_t slack = (uint64_t)q->d->cfg.upload_slack_mb << 20;

		if (sent + n <= slack)
			return 0;
		return ddterr_set(-EDQUOT, "SEG_PUT: %s sent and not committed "
				  "by this session, before it named a storage "
				  "unit (BACKUP_BEGIN, COMMIT), at most %s",
				  fmt_bytes(sent, a), fmt_bytes(slack, b));
	}
	if ((rc = ns_su_usage(q->d->ns, unit, &bytes, &quota)) < 0)
		return rc == -ENOENT ? 0 : rc;	/* removed: COMMIT says */
	others = pending_of(q->d->pending, unit);
	if (!quota || bytes + others + n <= quota)
		return 0;
	return ddterr_set(-EDQUOT, "SEG_PUT: the storage unit's quota of %s "
			  "would be exceeded (%s committed, %s sent and not "
			  "committed yet): commit what was sent, or raise the "
			  "quota", fmt_bytes(quota, a), fmt_bytes(bytes, b),
			  fmt_bytes(others, c));
}

/* n new bytes were stored for the session. */
static void sent_add(req *q, uint64_t n)
{
	ops_session *ss = q->ss;

	pthread_mutex_lock(&ss->mu);
	if (ss->sent && ss->sent_unit != ss->cur_unit) {
		/* It writes to another unit now: what it sent before counts
		 * there. */
		pending_add(q->d->pending, ss->sent_unit, -(int64_t)ss->sent);
		pending_add(q->d->pending, ss->cur_unit, (int64_t)ss->sent);
	}
	ss->sent_unit = ss->cur_unit;
	ss->sent += n;
	pending_add(q->d->pending, ss->sent_unit, (int64_t)n);
	pthread_mutex_unlock(&ss->mu);
}

void ops_sent_settle(req *q, uint64_t logical)
{
	ops_session *ss = q->ss;
	uint64_t d;

	pthread_mutex_lock(&ss->mu);
	d = logical < ss->sent ? logical : ss->sent;
	ss->sent -= d;
	pending_add(q->d->pending, ss->sent_unit, -(int64_t)d);
	pthread_mutex_unlock(&ss->mu);
}

/* logical bytes of files bound under ino (a directory or the file): the
 * counters, and the session writes into that unit now. */
static void count_commit(req *q, uint64_t ino, uint64_t logical)
{
	uint64_t add[ING_COUNT] = { logical, 0, 0 }, unit;
	int64_t now = now_ns();

	ingest_add(q->d->ingest, now, add);
	ops_sent_settle(q, logical);
	if (ns_unit_of(q->d->ns, ino, &unit) < 0)
		return;		/* removed meanwhile: counted for the target */
	units_add_ingest(q->d->units, unit, add);
	streams_wrote(q->d->streams, q->ss, unit, now);
	pthread_mutex_lock(&q->ss->mu);
	q->ss->cur_unit = unit;
	pthread_mutex_unlock(&q->ss->mu);
}

/* A tenant's FP_QUERY: it hears only of what its domain holds, and only
 * those are asked of the store, whose answer keeps them from the clean
 * under way: another domain's segments are neither told of nor kept. */
static int fenced_has(req *q, fp_t *fps, uint32_t n, uint8_t *present)
{
	uint32_t *at = malloc((n ? n : 1) * sizeof(*at)), m = 0;
	fp_t *mine = malloc((n ? n : 1) * sizeof(*mine));
	uint8_t *got = malloc(n ? n : 1);
	int rc = -ENOMEM;

	if (!at || !mine || !got)
		goto out;
	memset(present, 1, n);
	rc = dset_filter(q->d->ix, q->domain, fps, n, present);
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		if (present[i]) {
			at[m] = i;
			mine[m++] = fps[i];
		}
	if (rc == 0 && m)
		rc = store_has(q->d->st, mine, m, got);
	for (uint32_t j = 0; rc == 0 && j < m; j++)
		present[at[j]] = got[j];
out:
	free(at);
	free(mine);
	free(got);
	return rc;
}

/* Bit i of the reply is (byte i / 8) & (1 << (i % 8)): least significant
 * first. */
static int op_fp_query(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint32_t n = rb_count(r, FP_LEN, UINT32_MAX), nbytes = (n + 7) / 8;
	uint8_t *present = NULL, *bits;
	fp_t *fps;
	int rc;

	if (n > DDT_MAX_QUERY)
		return req_skip_over_limit(q, n, FP_LEN,
					   "fingerprints", DDT_MAX_QUERY);
	fps = malloc((n ? n : 1) * sizeof(*fps));
	if (!fps)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		rb_fp(r, &fps[i]);
	if ((rc = req_parsed(q)) < 0)
		goto out;
	present = malloc(n ? n : 1);
	if (!present) {
		rc = -ENOMEM;
		goto out;
	}
	if (dset_fenced(q->domain))
		rc = fenced_has(q, fps, n, present);
	else
		rc = store_has(d->st, fps, n, present);
	if (rc < 0)
		goto out;
	wb_u32(w, nbytes);
	bits = wb_reserve(w, nbytes);
	if (!bits) {
		rc = w->err;
		goto out;
	}
	memset(bits, 0, nbytes);
	for (uint32_t i = 0; i < n; i++)
		if (present[i])
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
out:
	free(present);
	free(fps);
	return rc;
}

/* Every segment of the SEG_PUT was checked against its fingerprint
 * (store_put_proving): the tenant holds them. */
static int seg_put_proved(req *q, const store_seg *segs, uint32_t n)
{
	fp_t *fps = malloc((n ? n : 1) * sizeof(*fps));
	int rc;

	if (!fps)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		fps[i] = segs[i].fp;
	rc = dset_add(q->d->ix, q->domain, fps, n);
	free(fps);
	return rc;
}

static uint64_t raw_of(const store_seg *segs, uint32_t n)
{
	uint64_t t = 0;

	for (uint32_t i = 0; i < n; i++)
		t += segs[i].raw_len;
	return t;
}

static int op_seg_put(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint32_t n = rb_count(r, DDT_SEG_HEAD_LEN, UINT32_MAX);
	store_put_new fresh = { 0 };
	store_seg *segs;
	ddt_seg g;
	int rc;

	segs = calloc(n ? n : 1, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		rb_seg(r, &g);
		segs[i] = (store_seg){ .fp = g.fp, .codec = g.codec,
				       .raw_len = g.raw_len,
				       .stored_len = g.stored_len,
				       .data = g.data };
	}
	rc = req_parsed(q);
	if (rc == 0)
		rc = sent_allowed(q, raw_of(segs, n));
	/* A tenant proves it holds each segment, held already or not. */
	if (rc == 0 && dset_fenced(q->domain))
		rc = store_put_proving(d->st, segs, n, &fresh);
	else if (rc == 0)
		rc = store_put_tally(d->st, segs, n, &fresh);
	if (rc == 0 && dset_fenced(q->domain))
		rc = seg_put_proved(q, segs, n);
	if (rc == 0) {
		count_new(q, &fresh);
		sent_add(q, fresh.raw_bytes);
		wb_u32(w, (uint32_t)fresh.segs);
	}
	free(segs);
	return rc;
}

static int op_commit(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	wbuf *w = q->w;
	uint64_t dir = rb_u64(r);
	uint32_t flags = rb_u32(r);
	uint32_t n = rb_count(r, DDT_ENTRY_MIN, UINT32_MAX), long_name = 0;
	uint32_t keep = n < DDT_MAX_COMMIT ? n : DDT_MAX_COMMIT;
	const clean_fence *f = NULL;
	ns_entry *e, extra;
	ddt_attr *out = NULL;
	fence_arg fa;
	int rc;

	e = calloc(keep ? keep : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* Entries past the limit are parsed, to tell EPROTO from EINVAL; a
	 * name too long for any directory parses too, and the first
	 * (1-based) is refused by name. */
	for (uint32_t i = 0; i < n; i++)
		if (rb_entry(r, i < keep ? &e[i] : &extra) && !long_name)
			long_name = i + 1;
	rc = req_parsed(q);
	if (rc == 0)
		rc = tenant_ino(q, dir);
	if (rc == 0 && n > DDT_MAX_COMMIT)
		rc = req_over_limit(q, n, "entries", DDT_MAX_COMMIT);
	if (rc == 0 && long_name)
		rc = ddterr_set(-ENAMETOOLONG, "COMMIT: entry %u has a name of "
				"over %d bytes", long_name, DDT_MAX_NAME);
	if (rc == 0 && !(out = calloc(n ? n : 1, sizeof(*out))))
		rc = -ENOMEM;
	if (rc == 0)
		f = commit_fence(q, dir, &fa, &rc);
	if (rc == 0)
		rc = clean_commit(d->cl, dir, e, n,
				  flags & (DDT_CF_SYNC | DDT_CF_EXCL), f, out);
	if (rc == 0) {
		uint64_t logical = 0;

		wb_u32(w, n);
		for (uint32_t i = 0; i < n; i++) {
			wb_attr(w, &out[i]);
			logical += e[i].size;
		}
		count_commit(q, dir, logical);
	}
	free(out);
	free(e);
	return rc;
}

/* New content for a file found by inode (a gateway's open file), checked
 * as COMMIT checks its trees. */
static int op_set_content(req *q)
{
	const clean_fence *f = NULL;
	ddt_content k;
	fence_arg fa;
	ddt_attr a;
	int rc;

	rb_content(&q->r, &k);
	rc = req_parsed(q);
	if (rc == 0)
		rc = tenant_ino(q, k.ino);
	if (rc == 0)
		f = commit_fence(q, k.ino, &fa, &rc);
	if (rc == 0)
		rc = clean_set_content(q->d->cl, &k, f, &a);
	if (rc == 0) {
		wb_attr(q->w, &a);
		count_commit(q, k.ino, k.size);
	}
	return rc;
}

const req_handler ops_write_handlers[] = {
	{ DDT_OP_FP_QUERY, op_fp_query },
	{ DDT_OP_SEG_PUT, op_seg_put },
	{ DDT_OP_COMMIT, op_commit },
	{ DDT_OP_SET_CONTENT, op_set_content },
	{ 0, NULL }
};
