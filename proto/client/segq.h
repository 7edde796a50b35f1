/* segq.h - the writers' pipeline (segq.c), private to the client library:
 * batches of segments already cut are fingerprinted, fed in order to their
 * owner, asked about (FP_QUERY) and the missing ones sent compressed
 * (SEG_PUT), on the session's workers. ddtc_file (file.c) writes through
 * one, feeding a tree builder; ddtc_rfile (rfile.c) through one per flush,
 * collecting the fingerprints of the segments it re-cut. segq.c's opening
 * comment says which thread runs which stage. */
#ifndef DDTC_SEGQ_H
#define DDTC_SEGQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ddtc_int.h"
#include "fp.h"
#include "tree.h"

#define SEGQ_BATCH_BYTES	(4u << 20)	/* raw bytes per batch, about */
#define SEGQ_BATCH_SEGS		1024		/* segments per batch, at most */

/* Hand the owner the next segment of its stream, in order (under the
 * queue's lock, from a worker); non-zero fails the queue. */
typedef int (*segq_feed_fn)(void *arg, const fp_t *fp, uint32_t len);

typedef struct segq_batch segq_batch;

typedef struct segq_seg {
	uint32_t off, len;
} segq_seg;

struct segq_batch {
	segq_batch *qnext;	/* the queue's list of emitted batches */
	segq_batch *pnext;	/* the queue's parked list */
	struct segq *q;
	ddtc *c;
	int stage;
	uint64_t seq;		/* data batches: order in the stream */
	uint8_t *buf;		/* raw bytes; freed once compressed */
	size_t cap, len, charged;
	fp_t *fp;		/* per segment */
	segq_seg *seg;
	uint32_t n, segcap;
	uint32_t *ask;		/* segments queried, then those to send */
	uint32_t nask;
	atomic_int puts;	/* SEG_PUTs unanswered, + 1 while sending */
	atomic_int refs;	/* the pipeline, and the feed */
};

typedef struct segq {
	ddtc *c;
	segq_feed_fn feed;
	void *arg;
	uint64_t next_seq;	/* of the next batch submitted */

	pthread_mutex_t mu;	/* everything below */
	pthread_cond_t cv;	/* pending or fed_seq changed */
	uint64_t fed_seq;	/* batches fed */
	segq_batch *parked;	/* hashed, waiting for their turn; by seq */
	segq_batch *emitted, **emitted_tail;	/* one-segment batches */
	int pending;		/* batches submitted and not done */
	int err;		/* the first failure; then msg */
	char msg[CONN_MSG_LEN];
} segq;

/* A queue on session c (its pool made at the first one). 0 or -errno. */
int segq_init(segq *q, ddtc *c, segq_feed_fn feed, void *arg);
/* After segq_wait(q, 1). */
void segq_destroy(segq *q);

/* A batch with room for cap raw bytes (cap == segq_full() takes a pooled
 * buffer); NULL without memory. One not submitted goes with
 * segq_batch_drop(). */
segq_batch *segq_batch_new(segq *q, size_t cap);
void segq_batch_drop(segq_batch *b);
size_t segq_full(const segq *q);
/* Segment buf[off, off + len) of b. 0 or -ENOMEM. */
int segq_seg_add(segq_batch *b, size_t off, size_t len);
/* Hash, feed, query and put b's segments (b->len bytes); b is the
 * queue's. */
void segq_submit(segq *q, segq_batch *b);

/* Append one segment of len raw bytes to the SEG_PUT frame in w,
 * compressed with the session's codec straight into the frame, and count
 * it sent. 0, -ENOMEM, or the codec's error. The batches of segq and of
 * fbatch (small files) both fill their frames with it. */
int segq_put_seg(ddtc *c, wbuf *w, const fp_t *fp, const uint8_t *raw,
		 uint32_t len);
/* Submit *b's segments, the first cut bytes, and put the rest in a fresh
 * full-size batch at *b; then wait for the session's memory cap. */
int segq_rollover(segq *q, segq_batch **b, size_t cut);

/* A tree_emit_fn for a builder whose calls run under q->mu (through
 * segq_tree_add, segq_tree_finish or a feed): the metadata segment is
 * copied into a batch that starts at QUERY. */
int segq_emit(void *q, int level, const uint8_t *raw, size_t len,
	      const fp_t *fp);
/* One segment known by its fingerprint, raw[0..len) copied, queried and
 * sent if missing; not fed. */
int segq_send(segq *q, const uint8_t *raw, size_t len, const fp_t *fp);
/* tree_add() and tree_finish() of a builder that emits with segq_emit;
 * the finish waits for everything and returns the queue's failure. */
int segq_tree_add(segq *q, tree_builder *tb, const fp_t *fp, uint64_t len);
int segq_tree_finish(segq *q, tree_builder *tb, fp_t *root, uint8_t *level,
		     uint64_t *size);

/* Wait until every submitted batch is fed, and (all) answered too. */
void segq_wait(segq *q, int all);
/* Record the queue's first failure (later stages skip their work);
 * whether it failed; the failure raised again on this thread. */
void segq_fail(segq *q, int rc, const char *msg);
int segq_failed(segq *q);
int segq_error(segq *q);

#endif
