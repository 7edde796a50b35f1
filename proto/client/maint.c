/* maint.c - the target's maintenance (ddtc.h, last section): start and
 * watch cleaning and scrubs, read the alerts, take and list checkpoints. */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddterr.h"

/* The head of CLEAN_STATUS and SCRUB_STATUS. */
static void read_job(rbuf *r, ddtc_job *out)
{
	out->running = rb_u8(r);
	rb_str(r, out->phase, sizeof(out->phase));
	rb_str(r, out->msg, sizeof(out->msg));
}

int ddtc_clean_start(ddtc *c)
{
	wbuf w;

	conn_begin(&w, DDT_OP_CLEAN_START);
	return rpc_simple(c, &w, DDT_OP_CLEAN_START);
}

int ddtc_clean_status(ddtc *c, ddtc_clean *out, ddtc_kv_cb cb, void *arg)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CLEAN_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	read_job(&r, out);
	rc = rpc_kvs(&r, cb, arg);
	return rpc_end_cb(&rep, &r, DDT_OP_CLEAN_STATUS, rc);
}

int ddtc_scrub_start(ddtc *c, int repair)
{
	wbuf w;

	conn_begin(&w, DDT_OP_SCRUB_START);
	wb_u8(&w, repair ? 1 : 0);
	return rpc_simple(c, &w, DDT_OP_SCRUB_START);
}

int ddtc_scrub_status(ddtc *c, ddtc_scrub *out, ddtc_kv_cb cb, void *arg,
		      ddtc_affected_cb acb, void *aarg)
{
	char su[DDT_MAX_STR + 1], bk[DDT_MAX_STR + 1];
	conn_reply rep;
	uint32_t n = 0, i;
	uint64_t v;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SCRUB_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	read_job(&r, out);
	rc = rpc_kvs(&r, cb, arg);
	if (rc == 0)
		n = rb_count(&r, 2 + 2 + 8, UINT32_MAX);
	for (i = 0; rc == 0 && i < n && !r.err; i++) {
		rb_str(&r, su, sizeof(su));
		rb_str(&r, bk, sizeof(bk));
		v = rb_u64(&r);
		if (!r.err && acb)
			rc = acb(aarg, su, bk, v);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_SCRUB_STATUS, rc);
}

int ddtc_alerts(ddtc *c, ddtc_alert_cb cb, void *arg)
{
	conn_reply rep;
	ddtc_alert a;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_ALERTS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_ALERT_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_alert(&r, &a);
		if (!r.err)
			rc = cb(arg, &a);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_ALERTS, rc);
}

int ddtc_alert_events(ddtc *c, uint64_t after_seq, ddtc_alert_event_cb cb,
		      void *arg, uint64_t *out_last_seq, int *out_gap)
{
	ddt_alert_event *e;
	conn_reply rep;
	uint64_t last;
	uint32_t n, i;
	uint8_t gap;
	wbuf w;
	rbuf r;
	int rc;

	/* ~5 KiB: not on the stack of a caller's thread many times over. */
	if (!(e = malloc(sizeof(*e))))
		return ddterr_set(-ENOMEM, "ALERT_EVENTS: out of memory");
	conn_begin(&w, DDT_OP_ALERT_EVENTS);
	wb_u64(&w, after_seq);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		goto out;
	last = rb_u64(&r);
	gap = rb_u8(&r);
	n = rb_count(&r, DDT_ALERT_EVENT_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_alert_event(&r, e);
		if (!r.err && cb)
			rc = cb(arg, e);
	}
	rc = rpc_end_cb(&rep, &r, DDT_OP_ALERT_EVENTS, rc);
	if (rc == 0 && out_last_seq)
		*out_last_seq = last;
	if (rc == 0 && out_gap)
		*out_gap = gap;
out:
	free(e);
	return rc;
}

int ddtc_checkpoint_create(ddtc *c, char *name, size_t cap)
{
	char got[DDT_MAX_STR + 1];
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CHECKPOINT);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rb_str(&r, got, sizeof(got));
	rc = rpc_end(&rep, &r, DDT_OP_CHECKPOINT);
	if (rc == 0 && name && cap)
		snprintf(name, cap, "%s", got);
	return rc;
}

int ddtc_checkpoint_list(ddtc *c, ddtc_checkpoint_cb cb, void *arg)
{
	ddtc_checkpoint ck;
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_CHECKPOINT_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_CHECKPOINT_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_checkpoint(&r, &ck);
		if (!r.err)
			rc = cb(arg, &ck);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_CHECKPOINT_LIST, rc);
}
