/* ops_int.h - what ops.c (the session, the namespace, writes, reads,
 * backups, retention) and ops_maint.c (status, alerts, checkpoints,
 * cleaning, scrub) share: parsing and reply helpers, and the handlers
 * ops.c's dispatch calls in ops_maint.c. Not for use outside ops*.c. */
#ifndef DDTD_OPS_INT_H
#define DDTD_OPS_INT_H

#include "ops.h"

int64_t ops_now_ns(void);		/* CLOCK_REALTIME */
/* Parsing ends here: every field read and nothing left over, else
 * -EPROTO naming the request. */
int ops_parsed(const rbuf *r, uint8_t op);
/* -EPERM unless the session's user is an admin; what names the act. */
int ops_need_admin(ops_session *ss, const char *what);
/* One (str key, u64 value) of a key/value reply; *n counts them. */
void ops_kv(wbuf *w, uint32_t *n, const char *key, uint64_t v);

/* ops_maint.c: one per opcode. */
int ops_status_req(ddtd *d, rbuf *r, wbuf *w);
int ops_status_text(ddtd *d, rbuf *r, wbuf *w);
int ops_alerts(ddtd *d, rbuf *r, wbuf *w);
int ops_checkpoint(ddtd *d, ops_session *ss, rbuf *r, wbuf *w);
int ops_checkpoint_list(ddtd *d, rbuf *r, wbuf *w);
int ops_clean_start(ddtd *d, ops_session *ss, rbuf *r);
int ops_clean_status(ddtd *d, rbuf *r, wbuf *w);
int ops_scrub_start(ddtd *d, ops_session *ss, rbuf *r);
int ops_scrub_status(ddtd *d, rbuf *r, wbuf *w);

#endif
