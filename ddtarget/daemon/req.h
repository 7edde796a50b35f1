/* req.h - one request as every handler of the session layer sees it, and
 * the helpers they share (req.c): the end of parsing, the admin check,
 * the limit refusals, the pieces of replies that several requests make.
 * Each ops_*.c file lists its opcodes' handlers in a table (ops_sections.h)
 * that ops.c dispatches from. */
#ifndef DDTD_REQ_H
#define DDTD_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "ddtd.h"
#include "wire.h"

struct ops_session;

typedef struct req {
	ddtd *d;
	struct ops_session *ss;	/* the session it came on (ops.h) */
	uint8_t op;		/* its opcode */
	int role;		/* the session's, from AUTH (DDT_ROLE_*) */
	char user[DDT_MAX_NAME + 1];	/* its user's name */
	char domain[DDT_MAX_DOMAIN + 1];	/* its user's domain */
	int all_domains;	/* sees every domain's units (tenant.h) */
	rbuf r;			/* the payload */
	wbuf *w;		/* the reply's payload goes here */
} req;

/* A handler: parse q->r, call the engine, append the reply to q->w.
 * 0, or a negative errno whose message is in ddterr. */
typedef int (*req_fn)(req *q);

typedef struct req_handler {
	uint8_t op;
	req_fn fn;		/* NULL ends a table */
} req_handler;

/* Parsing ends here: every field read and nothing left over, else
 * -EPROTO naming the request. */
int req_parsed(req *q);

/* -EPERM unless the session's user is an admin; what names the act. */
int req_need_admin(const req *q, const char *what);

/* A request that parses but asks for n items of what, more than max:
 * -EINVAL, and the session goes on (PROTOCOL.md, Limits). */
int req_over_limit(const req *q, uint32_t n, const char *what, uint32_t max);
/* The same for a list of n fixed-size elements of elem bytes, not yet
 * read: check first that the request parses (else -EPROTO). */
int req_skip_over_limit(req *q, uint32_t n, size_t elem, const char *what,
			uint32_t max);

/* rc, and on success a's attr record as the reply. */
int req_reply_attr(wbuf *w, int rc, const ddt_attr *a);

/* A reply's list: a u32 count, then the items. begin writes a stand-in
 * count, each item added bumps n, end writes n in its place. A list
 * callback's arg is its req_list. */
typedef struct req_list {
	wbuf *w;
	size_t at;		/* where the count goes */
	uint32_t n;
} req_list;

void req_list_begin(req_list *l, wbuf *w);
void req_list_end(req_list *l);
/* One (str key, u64 value) item of a key/value list. */
void req_kv(req_list *l, const char *key, uint64_t v);

#endif
