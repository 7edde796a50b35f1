/* ddtc_int.h - the session (struct ddtc) that the client library's files
 * share: its connection, what HELLO and AUTH settled, the segment cache,
 * the file writer's pool and the counters. session.c makes and frees it;
 * the others only use it. Not for front ends. */
#ifndef DDTC_INT_H
#define DDTC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cdc.h"
#include "conn.h"
#include "ddtc.h"
#include "segcache.h"
#include "wire.h"
#include "wpool.h"

struct ddtc {
	conn *cn;
	int role;
	cdc cut;		/* the chunker sizes of the target's HELLO */
	int codec;		/* for new segments; one the target accepts */
	uint32_t max_payload;	/* min(HELLO's, DDT_MAX_PAYLOAD) */
	int threads;		/* writer threads; >= 1 */
	segcache *sc;		/* NULL without opts.seg_cache_path */
	char *sc_path;

	pthread_mutex_t mu;	/* guards pool creation */
	wpool *pool;		/* file.c makes it at the first file */

	atomic_uint_fast64_t logical_bytes, segments, segments_sent,
			     bytes_sent_stored, queries_saved;
	/* Whether the target takes SET_CONTENT (session.c): 0 not
	 * asked yet, 1 yes, -1 no. */
	atomic_int set_content;
	atomic_int read_files;	/* the same for proto_read_files */
};

/* 0 if the target takes SET_CONTENT and COMMIT's DDT_CF_EXCL (its
 * STATUS says proto_set_content, asked once per session), else
 * -EOPNOTSUPP with a message; or STATUS's failure (session.c). */
int session_has_set_content(ddtc *c);
/* 1 if the target takes READ_FILES (STATUS's proto_read_files, asked
 * once per session), 0 if not, or STATUS's failure (session.c). */
int session_has_read_files(ddtc *c);

/* 0 if name may be made on the target (the whole rule of ddtc_types.h),
 * else the target's code and line, without asking it (namespace.c). */
int ddtc_name_check(const char *name);

/* COMMIT of e[0..n) in dir with flags (DDT_CF_*), as ddtc_commit()
 * (commit.c). */
int commit_entries(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		   uint32_t flags, ddt_attr *out);
/* The same in two halves, so that several COMMITs share a round trip:
 * commit_start() sends it (or returns -errno, -E2BIG when it does not fit
 * one request, and then nothing was sent); commit_collect() waits for
 * its reply, exactly once per COMMIT started, and fills out[0..n). */
int commit_start(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		 uint32_t flags, conn_req **out);
int commit_collect(conn_req *k, size_t n, ddt_attr *out);

#endif
