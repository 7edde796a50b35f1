/* gw_sess.c - the gateway's self-healing session (gw_sess.h).
 *
 * One live ddtc at a time, shared by every thread (ddtc calls are
 * thread-safe and pipelined). Each live or retired session carries a count
 * of callers holding it; the one that breaks is unhooked at once, so new
 * callers reconnect, and closed by whoever puts it back last. */
#include "gw_sess.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "net.h"
#include "gw_log.h"
#include "now.h"

#define RECONNECT_NS	1000000000LL	/* one try a second at most */

typedef struct held {
	ddtc *c;
	unsigned users;
	int retired;
	struct held *next;
} held;

struct gw_sess {
	pthread_mutex_t mu;
	ddtc_opts o;
	char *host, *user, *password, *client_name;
	held *live;		/* NULL while the target is away */
	held *retired;		/* broken, waiting for their last user */
	int64_t last_try;
	unsigned generation;
	int logged_down;
};

int gw_sess_lost(int rc)
{
	switch (rc) {
	case -ECONNRESET: case -ECONNREFUSED: case -ECONNABORTED:
	case -EPIPE: case -ETIMEDOUT: case -ENOTCONN: case -ESHUTDOWN:
	case -EHOSTUNREACH: case -ENETUNREACH:
		return 1;
	default:
		return 0;
	}
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Connect under the lock; the caller checked the pace. */
static int connect_now(gw_sess *s)
{
	char where[320];
	held *h;
	ddtc *c;
	int rc;

	s->last_try = now_mono_ns();
	net_target_name(s->o.host ? s->o.host : "127.0.0.1", s->o.port,
			where, sizeof(where));
	rc = ddtc_connect(&c, &s->o);
	if (rc < 0) {
		if (!s->logged_down)
			gw_warn("ddtargetd at %s: %s; retrying every second",
				where, ddtc_errmsg(rc));
		s->logged_down = 1;
		return rc == -EACCES ? rc : -ENOTCONN;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		ddtc_close(c);
		return ddterr_set(-ENOMEM, "out of memory");
	}
	h->c = c;
	s->live = h;
	s->generation++;
	if (s->logged_down || s->generation > 1)
		gw_info("connected to ddtargetd at %s", where);
	s->logged_down = 0;
	return 0;
}

int gw_sess_new(gw_sess **out, const ddtc_opts *o)
{
	gw_sess *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	s->o = *o;
	s->o.host = s->host = dup_opt(o->host);
	s->o.user = s->user = dup_opt(o->user);
	s->o.password = s->password = dup_opt(o->password);
	s->o.client_name = s->client_name = dup_opt(o->client_name);
	s->o.seg_cache_path = NULL;
	if ((o->host && !s->host) || (o->user && !s->user) ||
	    (o->password && !s->password) ||
	    (o->client_name && !s->client_name)) {
		gw_sess_free(s);
		return ddterr_set(-ENOMEM, "out of memory");
	}
	*out = s;
	pthread_mutex_lock(&s->mu);
	rc = connect_now(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void gw_sess_free(gw_sess *s)
{
	held *h;

	if (!s)
		return;
	if (s->live) {
		ddtc_close(s->live->c);
		free(s->live);
	}
	while ((h = s->retired)) {
		s->retired = h->next;
		ddtc_close(h->c);
		free(h);
	}
	if (s->password)
		memset(s->password, 0, strlen(s->password));
	free(s->host);
	free(s->user);
	free(s->password);
	free(s->client_name);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int gw_sess_get(gw_sess *s, ddtc **out)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->live) {
		if (now_mono_ns() - s->last_try < RECONNECT_NS)
			rc = -ENOTCONN;
		else
			rc = connect_now(s);
	}
	if (rc == 0) {
		s->live->users++;
		*out = s->live->c;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc == -ENOTCONN)
		ddterr_set(rc, "ddtargetd is not reachable; try again later");
	return rc;
}

static held *find_held(gw_sess *s, ddtc *c, held ***link)
{
	held **pp;

	if (s->live && s->live->c == c) {
		*link = NULL;
		return s->live;
	}
	for (pp = &s->retired; *pp; pp = &(*pp)->next)
		if ((*pp)->c == c) {
			*link = pp;
			return *pp;
		}
	return NULL;
}

void gw_sess_put(gw_sess *s, ddtc *c, int rc)
{
	held *h, **link;
	ddtc *closing = NULL;

	pthread_mutex_lock(&s->mu);
	h = find_held(s, c, &link);
	if (!h) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (gw_sess_lost(rc) && !h->retired) {
		gw_warn("connection to ddtargetd lost: %s", ddtc_errmsg(rc));
		h->retired = 1;
		s->live = NULL;
		h->next = s->retired;
		s->retired = h;
		link = &s->retired;
		s->logged_down = 1;
		s->last_try = 0;	/* the next caller tries at once */
	}
	if (--h->users == 0 && h->retired) {
		for (link = &s->retired; *link != h; link = &(*link)->next)
			;
		*link = h->next;
		closing = h->c;
		free(h);
	}
	pthread_mutex_unlock(&s->mu);
	if (closing)
		ddtc_close(closing);
}

unsigned gw_sess_generation(gw_sess *s)
{
	unsigned g;

	pthread_mutex_lock(&s->mu);
	g = s->generation;
	pthread_mutex_unlock(&s->mu);
	return g;
}
