/* ops.h - the session layer's requests: ops_handle() turns one request's
 * payload into engine calls (store, namespace, users) and the reply
 * payload, through the handler of its opcode (ops_sections.h). It knows
 * nothing of sockets; server.c feeds it frames. */
#ifndef DDTD_OPS_H
#define DDTD_OPS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ddtd.h"
#include "wire.h"

/* What a session has established; requests of one session run
 * concurrently, so the fields are guarded by mu. */
#define OPS_AUDITED_READS	4

typedef struct ops_session {
	pthread_mutex_t mu;
	int hello;		/* HELLO was answered */
	int authed;		/* counted in ddtd's sessions */
	int auth_failures;	/* failed AUTHs (wrong user or password) */
	int auth_ends;		/* the last failed AUTH ends the session */
	int role;
	char user[DDT_MAX_NAME + 1];
	char domain[DDT_MAX_DOMAIN + 1];	/* the user's (tenant.h) */
	int all_domains;	/* it sees every domain's units */
	/* Units of other domains' roots never become visible (a unit keeps
	 * its domain, and its root number is never reused), so the units
	 * found visible are remembered: a restore's READs look once. */
	uint64_t seen_units[8];
	unsigned seen_next;
	uint64_t seen_ino;	/* the last inode found visible: a restore's
				   READs of one file look once */
	unsigned users_gen;	/* ddtd's when the user was last read */
	int revoked;		/* its user was removed: the session ends */
	char peer[64];		/* "address:port", for the log */
	/* The unit its new segments are counted to (ingest): of its last
	 * BACKUP_BEGIN or commit; 0 none. */
	uint64_t cur_unit;
	/* New bytes its SEG_PUTs stored and no commit bound yet, counted
	 * against unit sent_unit (0: none named then; pending.h). */
	uint64_t sent, sent_unit;
	/* The units whose reads the audit log has been told of. */
	uint64_t audited_reads[OPS_AUDITED_READS];
	unsigned audited_next;
} ops_session;

void ops_session_init(ops_session *ss, const char *peer);
void ops_session_destroy(ops_session *ss);
/* The session is over: its streams end (d's stream accounting). */
void ops_session_end(ddtd *d, ops_session *ss);
/* logical bytes were committed: as many of the bytes the session sent
 * stop counting as pending (pending.h); UINT64_MAX: all of them. */
struct req;
void ops_sent_settle(struct req *q, uint64_t logical);

/* Handle one request. The reply's payload is appended to w (the caller
 * has already begun the frame). Returns 0, or a negative errno whose
 * message is in ddterr; then w's payload is discarded and an error reply
 * is sent instead, and if ops_ends_session() says so the session is
 * closed after it. */
int ops_handle(ddtd *d, ops_session *ss, uint8_t opcode, const uint8_t *payload,
	       size_t len, wbuf *w);

/* Whether request op's failure rc ends its session (PROTOCOL.md, sections
 * 1 and 3): a request that does not parse (-EPROTO), and a failed AUTH
 * that is the session's auth_max_failures-th, or failed otherwise than by
 * a wrong user or password (server busy, the users unreadable). */
int ops_ends_session(ops_session *ss, uint8_t op, int rc);

/* The protocol status for an engine error. */
uint32_t ops_status(int rc);

#endif
