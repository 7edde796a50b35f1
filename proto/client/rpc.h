/* rpc.h - the request/reply plumbing of the client library's calls
 * (rpc.c): each call of ddtc.h encodes its request, hands it here, and
 * parses the reply it gets back. Any number of threads may call at once;
 * the connection (conn.h) is pipelined underneath. */
#ifndef DDTC_RPC_H
#define DDTC_RPC_H

#include "ddtc_int.h"

/* Send w (freed here) and wait; on success r reads the reply payload,
 * which rpc_end() frees. */
int rpc_call(ddtc *c, wbuf *w, conn_reply *rep, rbuf *r);

/* The reply of a request started with conn_start(): on success r reads
 * its payload, which rpc_end() frees. */
int rpc_wait(conn_req *k, conn_reply *rep, rbuf *r);

/* The reply was read: check that it parsed exactly (else -EPROTO), free
 * it. */
int rpc_end(conn_reply *rep, rbuf *r, uint8_t op);

/* rpc_end() for a reply whose entries went to a callback: a callback that
 * returned cb_rc non-zero stopped the walk, and that is returned as it is,
 * the rest of the reply unread. */
int rpc_end_cb(conn_reply *rep, rbuf *r, uint8_t op, int cb_rc);

/* A request whose reply is empty. */
int rpc_simple(ddtc *c, wbuf *w, uint8_t op);

/* A request whose reply is one attr; *out (if not NULL) is set only on
 * success. rpc_wait_attr() collects such a reply of a started request. */
int rpc_attr(ddtc *c, wbuf *w, uint8_t op, ddt_attr *out);
int rpc_wait_attr(conn_req *k, uint8_t op, ddt_attr *out);

/* n requests whose replies are one attr each, all sent before the first
 * reply is awaited: one round trip for the lot. encode builds request i
 * of arg into w; result says where its status and (if not NULL) its attr
 * go. A request that could not be sent gets the error that stopped the
 * sending, which is also what this returns (0 once all were sent). */
int rpc_attr_many(ddtc *c, uint8_t op, size_t n, void *arg,
		  void (*encode)(wbuf *w, const void *arg, size_t i),
		  int *(*result)(void *arg, size_t i, ddt_attr **attr));

/* A (str key, u64 value)[] list (STATUS, CLEAN_STATUS, SCRUB_STATUS),
 * each pair to cb (if not NULL); cb's non-zero return stops it. */
int rpc_kvs(rbuf *r, ddtc_kv_cb cb, void *arg);

#endif
