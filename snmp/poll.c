/* poll.c - the poller thread (poll.h). One cycle: (re)connect as the
 * configured status-role user, read STATUS, STATUS_TEXT, ALERTS, SU_STATS
 * and SCRUB_STATUS into a fresh reading, queue the alert events since the
 * last cycle, build the view and hand it over. A failed connection or a
 * required call that fails leaves the last reading with the state
 * unreachable (or refused: the target said no to the user) and the
 * target's or the library's one-line reason.
 *
 * Threads: this thread alone uses the ddtc session; the SNMP thread only
 * calls poll_take(), which swaps a pointer under mu.
 *
 * Alert events: the first reading only notes the target's sequence (the
 * past is in the alert table, not re-sent as traps). After that, every
 * event after the last sequence seen becomes a trap. When the target
 * restarted (its uptime went back) the events since its start are all
 * new, so they are read from 0. */
#include "poll.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddtc.h"
#include "ddterr.h"
#include "net.h"
#include "now.h"
#include "poll_int.h"

struct poller {
	snmpconf conf;
	trapq *q;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	view *fresh;		/* under mu: not taken yet */
	ddtc *c;
	poll_src *last;		/* the last good reading */
	int primed;		/* the event sequence is known */
	uint64_t seq;		/* the last event sequence seen */
	uint64_t uptime;	/* the target's, at the last reading */
	int logged;		/* the state last logged (POLL_*; 0 none) */
	/* An older ddtargetd knows no SU_STATS or ALERT_EVENTS: then SU_LIST
	 * stands in and no traps are sent, until its version changes. */
	int old_su, old_events;
	char old_version[64];
	int64_t started_ns;	/* now_mono_ns() at poll_start() */
	int role_noted;
};

static void src_free(poll_src *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nkv; i++)
		free(s->kv[i].text);
	free(s->kv);
	free(s->su);
	free(s->alerts);
	free(s);
}

/* Room for one more of size bytes in *arr (n used of *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	na = realloc(*arr, ncap * size);
	if (!na)
		return ddterr_set(-ENOMEM, "out of memory for a reading");
	*arr = na;
	*cap = ncap;
	return 0;
}

static int add_kv(poll_src *s, const char *key, uint64_t num,
		  const char *text)
{
	poll_kv *kv;
	int rc = grow((void **)&s->kv, &s->kv_cap, s->nkv, sizeof(*s->kv));

	if (rc < 0)
		return rc;
	if (strlen(key) >= sizeof(kv->key))
		return 0;	/* no object reads a key this long */
	kv = &s->kv[s->nkv];
	memset(kv, 0, sizeof(*kv));
	strcpy(kv->key, key);
	kv->num = num;
	if (text && !(kv->text = strdup(text)))
		return ddterr_set(-ENOMEM, "out of memory for a reading");
	s->nkv++;
	return 0;
}

static int on_num(void *arg, const char *key, uint64_t v)
{
	return add_kv(arg, key, v, NULL);
}

static int on_text(void *arg, const char *key, const char *v)
{
	return add_kv(arg, key, 0, v);
}

static int on_su(void *arg, const ddt_su_stats *u)
{
	poll_src *s = arg;
	int rc = grow((void **)&s->su, &s->su_cap, s->nsu, sizeof(*s->su));

	if (rc == 0)
		s->su[s->nsu++] = *u;
	return rc;
}

static int on_alert(void *arg, const ddtc_alert *a)
{
	poll_src *s = arg;
	int rc = grow((void **)&s->alerts, &s->alerts_cap, s->nalerts,
		      sizeof(*s->alerts));

	if (rc == 0)
		s->alerts[s->nalerts++] = *a;
	return rc;
}

static int on_event(void *arg, const ddt_alert_event *e)
{
	poller *p = arg;

	if (!p->primed)
		return 0;
	return trapq_push(p->q, e->id, e->text, e->raised, e->severity,
			  e->time);
}

/* Queue the events since the last cycle (see the file's opening). */
static int read_events(poller *p, uint64_t uptime)
{
	uint64_t after = p->seq, last = 0;
	int gap = 0, rc;

	if (p->primed && uptime < p->uptime)
		after = 0;	/* the target restarted: all its events */
	rc = ddtc_alert_events(p->c, after, on_event, p, &last, &gap);
	if (rc == 0 && p->primed && after && gap && last < after) {
		/* The target's sequence went back: it restarted. */
		after = 0;
		rc = ddtc_alert_events(p->c, 0, on_event, p, &last, &gap);
	}
	if (rc < 0)
		return rc;
	if (gap && p->primed)
		fprintf(stderr, "ddtarget-snmp: alert events after %llu were "
			"lost from the target's ring: no traps for them\n",
			(unsigned long long)after);
	p->seq = last;
	p->primed = 1;
	p->uptime = uptime;
	return 0;
}

/* SU_LIST's entry as far as it goes: no soft quota, streams or ingest. */
static int on_su_list(void *arg, const ddtc_su *su)
{
	ddt_su_stats u = { .locked = su->locked, .quota_hard = su->quota,
			   .logical_bytes = su->logical_bytes,
			   .files = su->files };

	snprintf(u.name, sizeof(u.name), "%s", su->name);
	return on_su(arg, &u);
}

/* An operation the target does not know: an older ddtargetd answers it
 * with id 0, DDT_EPROTO and "unknown opcode 0xNN" (PROTOCOL.md, section
 * 1) and closes the session, which the library reports as -ECONNRESET
 * with the target's message. */
static int unknown_op(int rc)
{
	return (rc == -ECONNRESET || rc == -EPROTO) &&
	       strstr(ddtc_errmsg(rc), "unknown opcode") != NULL;
}

/* Note such an operation, so the next session goes without it; the
 * failure still ends this one. */
static int older_target(poller *p, int *flag, const char *what,
			const char *version)
{
	*flag = 1;
	snprintf(p->old_version, sizeof(p->old_version), "%s", version);
	fprintf(stderr, "ddtarget-snmp: ddtargetd %s does not know %s: going "
		"without it\n", version[0] ? version : "(old)", what);
	return -ECONNRESET;
}

/* One reading into s; 0, or the failing call's -errno. */
static int read_target(poller *p, poll_src *s)
{
	const char *version;
	ddtc_scrub scrub;
	int rc;

	rc = ddtc_status(p->c, on_num, s);
	if (rc == 0)
		rc = ddtc_status_text(p->c, on_text, s);
	if (rc < 0)
		return rc;
	version = poll_text(s, "version");
	if ((p->old_su || p->old_events) && strcmp(version, p->old_version))
		p->old_su = p->old_events = 0;	/* upgraded: try again */
	rc = p->old_su ? ddtc_su_list(p->c, on_su_list, s) :
			 ddtc_su_stats(p->c, on_su, s);
	if (unknown_op(rc) && !p->old_su)
		return older_target(p, &p->old_su, "SU_STATS", version);
	if (rc == 0)
		rc = ddtc_alerts(p->c, on_alert, s);
	if (rc == 0)
		rc = ddtc_scrub_status(p->c, &scrub, NULL, NULL, NULL, NULL);
	if (rc < 0)
		return rc;
	s->scrub_running = scrub.running;
	if (p->old_events)
		return 0;
	rc = read_events(p, poll_num(s, "uptime_seconds"));
	if (unknown_op(rc))
		return older_target(p, &p->old_events, "ALERT_EVENTS", version);
	return rc;
}

static int connect_target(poller *p)
{
	ddtc_opts o;
	int rc;

	ddtc_opts_default(&o);
	ddtc_target_conf_opts(&p->conf.target, &o);
	o.client_name = "ddtarget-snmp";
	o.threads = 1;
	o.timeout = p->conf.timeout_seconds;
	rc = ddtc_connect(&p->c, &o);
	if (rc == 0 && ddtc_role(p->c) != DDT_ROLE_STATUS && !p->role_noted) {
		fprintf(stderr, "ddtarget-snmp: note: user %s may do more than "
			"read status; one made with --role status is enough\n",
			p->conf.target.user);
		p->role_noted = 1;
	}
	return rc;
}

/* One line when the target becomes readable or stops being so. */
static void log_state(poller *p, int state, const char *msg)
{
	char where[320];

	if (state == p->logged)
		return;
	net_target_name(p->conf.target.host, p->conf.target.port, where, sizeof(where));
	if (state == POLL_REACHABLE)
		fprintf(stderr, "ddtarget-snmp: reading ddtargetd at %s as "
			"%s\n", where, p->conf.target.user);
	else
		fprintf(stderr, "ddtarget-snmp: ddtargetd %s: %s\n",
			state == POLL_REFUSED ? "refused" : "unreachable", msg);
	p->logged = state;
}

static void publish(poller *p, const poll_src *s)
{
	view *v = NULL, *old;

	if (poll_view_build(s, &v) < 0) {
		fprintf(stderr, "ddtarget-snmp: %s\n", ddterr_last(-ENOMEM));
		return;
	}
	pthread_mutex_lock(&p->mu);
	old = p->fresh;
	p->fresh = v;
	pthread_mutex_unlock(&p->mu);
	view_free(old);
}

/* The target could not be read: the last figures (none before the first
 * reading, as old as the subagent) with the state and the reason. */
static void publish_stale(poller *p, int rc)
{
	poll_src s = { .read_mono_ns = p->started_ns };

	if (p->last)
		s = *p->last;	/* its arrays are only read */
	s.state = rc == -EACCES ? POLL_REFUSED : POLL_UNREACHABLE;
	snprintf(s.msg, sizeof(s.msg), "%s", ddtc_errmsg(rc));
	publish(p, &s);
}

static void cycle(poller *p)
{
	poll_src *s;
	int rc = 0;

	if (!p->c)
		rc = connect_target(p);
	s = rc == 0 ? calloc(1, sizeof(*s)) : NULL;
	if (rc == 0 && !s)
		rc = -ENOMEM;
	if (rc == 0)
		rc = read_target(p, s);
	if (rc < 0) {
		if (p->c && rc != -ENOMEM) {
			ddtc_close(p->c);	/* reopened next cycle */
			p->c = NULL;
		}
		log_state(p, rc == -EACCES ? POLL_REFUSED : POLL_UNREACHABLE,
			  ddtc_errmsg(rc));
		publish_stale(p, rc);
		src_free(s);
		return;
	}
	s->state = POLL_REACHABLE;
	log_state(p, POLL_REACHABLE, "");
	s->read_mono_ns = now_mono_ns();
	s->read_wall_ns = now_ns();
	publish(p, s);
	src_free(p->last);
	p->last = s;
}

static void *run(void *arg)
{
	poller *p = arg;
	struct timespec until;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		pthread_mutex_unlock(&p->mu);
		cycle(p);
		pthread_mutex_lock(&p->mu);
		until = now_deadline((int64_t)p->conf.poll_seconds * 1000000000);
		while (!p->stop &&
		       pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int poll_start(poller **out, const snmpconf *c, trapq *q)
{
	poller *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return ddterr_set(-ENOMEM, "out of memory for the poller");
	p->conf = *c;
	p->q = q;
	p->started_ns = now_mono_ns();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	cycle(p);
	rc = pthread_create(&p->thread, NULL, run, p);
	if (rc) {
		view_free(p->fresh);
		src_free(p->last);
		if (p->c)
			ddtc_close(p->c);
		free(p);
		return ddterr_set(-rc, "cannot start the poller thread: %s",
				  strerror(rc));
	}
	*out = p;
	return 0;
}

view *poll_take(poller *p)
{
	view *v;

	pthread_mutex_lock(&p->mu);
	v = p->fresh;
	p->fresh = NULL;
	pthread_mutex_unlock(&p->mu);
	return v;
}

void poll_stop(poller *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	view_free(p->fresh);
	src_free(p->last);
	if (p->c)
		ddtc_close(p->c);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
