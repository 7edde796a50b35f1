/* schedule.c - parsing schedules, finding when they are next due (local time,
 * so "06:00" follows daylight saving), and the thread that runs what is
 * due. */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ddterr.h"
#include "now.h"

#define SCHEDULE_MAX	16
#define NS		1000000000LL

static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

static int bad(const char *text)
{
	return ddterr_set(-EINVAL, "schedule '%s': use never, every N{s,m,h,d}, "
			  "[daily] HH:MM, or DAY[,DAY]... HH:MM (mon..sun)",
			  text);
}

static int parse_every(const char *text, const char *p, schedule_spec *out)
{
	char *end;
	long long n = strtoll(p, &end, 10);
	int64_t unit;

	switch (*end) {
	case 's': unit = NS; break;
	case 'm': unit = 60 * NS; break;
	case 'h': unit = 3600 * NS; break;
	case 'd': unit = 86400 * NS; break;
	default: return bad(text);
	}
	if (end == p || n <= 0 || n > 366 * 86400 || end[1] != '\0')
		return bad(text);
	out->kind = SCHEDULE_EVERY;
	out->every_ns = n * unit;
	return 0;
}

static int parse_time(const char *text, const char *p, int *minute)
{
	int h, m, used = 0;

	if (sscanf(p, "%d:%d%n", &h, &m, &used) != 2 || p[used] != '\0' ||
	    h < 0 || h > 23 || m < 0 || m > 59)
		return bad(text);
	*minute = h * 60 + m;
	return 0;
}

/* "mon,wed" into a bit mask. */
static int parse_days(const char *text, const char *p, size_t len,
		      uint8_t *days)
{
	*days = 0;
	while (len > 0) {
		size_t n = strcspn(p, ",");
		int d;

		if (n > len)
			n = len;
		for (d = 0; d < 7; d++)
			if (n == 3 && strncasecmp(p, day_names[d], 3) == 0)
				break;
		if (d == 7)
			return bad(text);
		*days |= (uint8_t)(1u << d);
		p += n;
		len -= n;
		if (len > 0) {		/* the comma, then another day */
			p++;
			if (--len == 0)
				return bad(text);
		}
	}
	return *days ? 0 : bad(text);
}

int schedule_parse(const char *text, schedule_spec *out)
{
	const char *sp;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*text))
		text++;
	if (strcmp(text, "never") == 0) {
		out->kind = SCHEDULE_NEVER;
		return 0;
	}
	if (strncmp(text, "every ", 6) == 0)
		return parse_every(text, text + 6, out);
	out->kind = SCHEDULE_AT;
	out->days = 0x7f;
	if (strncmp(text, "daily ", 6) == 0)
		return parse_time(text, text + 6, &out->minute);
	sp = strchr(text, ' ');
	if (!sp)
		return parse_time(text, text, &out->minute);
	if (parse_days(text, text, (size_t)(sp - text), &out->days) < 0)
		return -EINVAL;
	return parse_time(text, sp + 1, &out->minute);
}

int64_t schedule_next(const schedule_spec *spec, int64_t from, int64_t after)
{
	struct tm tm;
	time_t t;

	if (spec->kind == SCHEDULE_NEVER)
		return INT64_MAX;
	if (spec->kind == SCHEDULE_EVERY) {
		if (after < from)
			return from + spec->every_ns;
		return from + ((after - from) / spec->every_ns + 1) *
		       spec->every_ns;
	}
	/* Try today and the next seven days at HH:MM, local time. */
	t = (time_t)(after / NS);
	localtime_r(&t, &tm);
	for (int i = 0; i <= 7; i++) {
		struct tm c = tm;
		time_t at;

		c.tm_mday += i;
		c.tm_hour = spec->minute / 60;
		c.tm_min = spec->minute % 60;
		c.tm_sec = 0;
		c.tm_isdst = -1;
		at = mktime(&c);
		if (at == (time_t)-1)
			continue;
		localtime_r(&at, &c);
		if ((int64_t)at * NS > after && (spec->days & (1u << c.tm_wday)))
			return (int64_t)at * NS;
	}
	return INT64_MAX;
}

/* ---- the runner ---- */

typedef struct task {
	char name[32];
	schedule_spec spec;
	schedule_fn fn;
	void *arg;
	int64_t next;
} task;

struct schedule {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* CLOCK_MONOTONIC: see schedule_new */
	pthread_t thread;
	int started, stopping;
	int64_t from;
	task t[SCHEDULE_MAX];
	int n;
};

int schedule_new(schedule **out)
{
	pthread_condattr_t ca;
	schedule *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->from = now_ns();
	*out = s;
	return 0;
}

int schedule_add(schedule *s, const char *name, const schedule_spec *spec,
		 schedule_fn fn, void *arg)
{
	task *t;

	if (s->n == SCHEDULE_MAX)
		return -E2BIG;
	t = &s->t[s->n++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->spec = *spec;
	t->fn = fn;
	t->arg = arg;
	t->next = schedule_next(spec, s->from, s->from);
	return 0;
}

/* Wait a second at most, so that a changed wall clock (or a suspended
 * machine) is noticed soon; the cv's clock is monotonic. */
static void nap(schedule *s)
{
	int64_t t = now_mono_ns() + NS;
	struct timespec ts = { .tv_sec = t / NS, .tv_nsec = t % NS };

	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *schedule_main(void *arg)
{
	schedule *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t now = now_ns();

		for (int i = 0; i < s->n && !s->stopping; i++) {
			task *t = &s->t[i];

			if (t->next > now)
				continue;
			t->next = schedule_next(&t->spec, s->from, now);
			pthread_mutex_unlock(&s->mu);
			t->fn(t->arg);
			pthread_mutex_lock(&s->mu);
		}
		if (!s->stopping)
			nap(s);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int schedule_start(schedule *s)
{
	int rc = pthread_create(&s->thread, NULL, schedule_main, s);

	if (rc)
		return ddterr_set(-rc, "cannot start the scheduler: %s",
				  strerror(rc));
	s->started = 1;
	return 0;
}

void schedule_free(schedule *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void schedule_foreach(schedule *s, schedule_task_cb cb, void *arg)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n; i++)
		cb(arg, s->t[i].name, s->t[i].next);
	pthread_mutex_unlock(&s->mu);
}
