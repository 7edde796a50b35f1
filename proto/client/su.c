/* su.c - storage units (ddtc.h): create, open, list, delete, change
 * their retention, retention lock, quotas and stream limits, and read
 * their figures and streams (SU_STATS, STREAMS). */
#include "rpc.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"

int ddtc_su_create(ddtc *c, const char *name, uint64_t *out_root)
{
	return ddtc_su_create_in(c, name, NULL, out_root);
}

int ddtc_su_create_in(ddtc *c, const char *name, const char *domain,
		      uint64_t *out_root)
{
	conn_reply rep;
	uint64_t root;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SU_CREATE);
	wb_str(&w, name);
	if (domain)	/* without it the request is as before domains */
		wb_str(&w, domain);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	root = rb_u64(&r);
	rc = rpc_end(&rep, &r, DDT_OP_SU_CREATE);
	if (rc == 0 && out_root)
		*out_root = root;
	return rc;
}

/* Refused here, as the target would: its reply could not carry the name. */
static int su_name_fits(const char *name)
{
	if (strlen(name) <= DDT_MAX_NAME)
		return 0;
	return ddterr_set(-ENAMETOOLONG, "storage unit name \"%.40s...\" is "
			  "over %d bytes", name, DDT_MAX_NAME);
}

/* Send w (an SU_OPEN or SU_SET of unit name) and read the unit's record
 * back into *out (may be NULL). */
static int su_info_call(ddtc *c, wbuf *w, uint8_t op, const char *name,
			ddtc_su *out)
{
	conn_reply rep;
	ddtc_su su;
	rbuf r;
	int rc;

	rc = rpc_call(c, w, &rep, &r);
	if (rc < 0)
		return rc;
	memset(&su, 0, sizeof(su));
	strcpy(su.name, name);
	rb_su_info(&r, &su);
	rc = rpc_end(&rep, &r, op);
	if (rc == 0 && out)
		*out = su;
	return rc;
}

int ddtc_su_open(ddtc *c, const char *name, ddtc_su *out)
{
	wbuf w;
	int rc;

	if ((rc = su_name_fits(name)) < 0)
		return rc;
	conn_begin(&w, DDT_OP_SU_OPEN);
	wb_str(&w, name);
	return su_info_call(c, &w, DDT_OP_SU_OPEN, name, out);
}

int ddtc_su_list(ddtc *c, ddtc_su_cb cb, void *arg)
{
	conn_reply rep;
	uint32_t n, i;
	ddtc_su su;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SU_LIST);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_SU_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_su(&r, &su);
		if (!r.err)
			rc = cb(arg, &su);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_SU_LIST, rc);
}

int ddtc_su_delete(ddtc *c, const char *name, int recursive)
{
	wbuf w;

	conn_begin(&w, DDT_OP_SU_DELETE);
	wb_str(&w, name);
	wb_u8(&w, recursive ? 1 : 0);
	return rpc_simple(c, &w, DDT_OP_SU_DELETE);
}

int ddtc_su_set(ddtc *c, const char *name, uint32_t mask, uint64_t retention,
		int lock, uint64_t quota, ddtc_su *out)
{
	ddtc_su_settings s = { .mask = mask & ~DDT_SU_SET_EXTENDED,
			       .retention = retention, .lock = lock,
			       .quota = quota };

	return ddtc_su_configure(c, name, &s, out);
}

int ddtc_su_configure(ddtc *c, const char *name, const ddtc_su_settings *s,
		      ddtc_su *out)
{
	uint32_t lim[4] = { s->backup_soft, s->backup_hard, s->restore_soft,
			    s->restore_hard };
	wbuf w;
	int rc;

	if ((rc = su_name_fits(name)) < 0)
		return rc;
	conn_begin(&w, DDT_OP_SU_SET);
	wb_str(&w, name);
	wb_u32(&w, s->mask);
	wb_u64(&w, s->retention);
	wb_u8(&w, s->lock ? 1 : 0);
	wb_u64(&w, s->quota);
	/* The second part only when asked for: an older target, which does
	 * not know it, then still takes every request it can do. */
	if (s->mask & DDT_SU_SET_EXTENDED)
		wb_su_set_ext(&w, s->quota_soft, lim);
	return su_info_call(c, &w, DDT_OP_SU_SET, name, out);
}

int ddtc_su_stats(ddtc *c, ddtc_su_stats_cb cb, void *arg)
{
	ddt_su_stats st;
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_SU_STATS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_SU_STATS_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_su_stats(&r, &st);
		if (!r.err)
			rc = cb(arg, &st);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_SU_STATS, rc);
}

int ddtc_streams(ddtc *c, ddtc_streams_cb cb, void *arg)
{
	ddt_streams st;
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_STREAMS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, DDT_STREAMS_MIN, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_streams(&r, &st);
		if (!r.err)
			rc = cb(arg, &st);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_STREAMS, rc);
}
