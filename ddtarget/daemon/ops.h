/* ops.h - the session layer's requests: one function per opcode turns a
 * parsed payload into engine calls (store, namespace, users) and the reply
 * payload. It knows nothing of sockets; server.c feeds it frames. */
#ifndef DDTD_OPS_H
#define DDTD_OPS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "auth.h"
#include "clean.h"
#include "config.h"
#include "health.h"
#include "ns.h"
#include "schedule.h"
#include "scrub.h"
#include "store.h"
#include "wire.h"

/* The daemon's one context. */
typedef struct ddtd {
	ddtd_config cfg;
	store *st;
	ns *ns;
	idx *ix;		/* the store's, the namespace's, the users' */
	store_lock *lock;	/* the store's root, held while it is open */
	clean *cl;		/* the cleaner; commits go through it */
	sched *sc;		/* maintenance on its schedule */
	scrub *scr;		/* the scrub job */
	alert_table *alerts;	/* current problems */
	health *health;		/* the directory and space check */
	int64_t started;	/* ns since the epoch */
	int sessions;		/* open sessions; atomic access */
} ddtd;

/* What a session has established; requests of one session run
 * concurrently, so the fields are guarded by mu. */
typedef struct ops_session {
	pthread_mutex_t mu;
	int hello;		/* HELLO was answered */
	int authed;
	int role;
	char user[DDT_MAX_NAME + 1];
	char peer[64];		/* "address:port", for the log */
} ops_session;

void ops_session_init(ops_session *ss, const char *peer);
void ops_session_destroy(ops_session *ss);

/* Handle one request. The reply's payload is appended to w (the caller
 * has already begun the frame). Returns 0, or a negative errno whose
 * message is in ddterr; then w's payload is discarded and an error reply
 * is sent instead, and if ops_ends_session() says so the session is
 * closed after it. */
int ops_handle(ddtd *d, ops_session *ss, uint8_t opcode, const uint8_t *payload,
	       size_t len, wbuf *w);

/* Whether request op's failure rc ends its session (PROTOCOL.md, sections
 * 1 and 3): a request that does not parse (-EPROTO), and a failed AUTH. */
int ops_ends_session(uint8_t op, int rc);

/* The protocol status for an engine error. */
uint32_t ops_status(int rc);

#endif
