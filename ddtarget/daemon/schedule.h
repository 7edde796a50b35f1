/* schedule.h - the maintenance schedule: cleaning, checkpoints, expiry (and
 * whatever else is periodic) run at the times the configuration gives,
 * on a thread of their own, besides being started on demand.
 *
 * A schedule is one of:
 *   never
 *   every N{s,m,h,d}           from when the daemon started, then every N
 *   [daily] HH:MM              every day at HH:MM, local time
 *   DAY[,DAY]... HH:MM         on those days (mon, tue, ... sun)
 */
#ifndef DDTD_SCHEDULE_H
#define DDTD_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_TEXT_MAX 64

typedef struct sched_spec {
	enum { SCHED_NEVER, SCHED_EVERY, SCHED_AT } kind;
	int64_t every_ns;	/* SCHED_EVERY */
	uint8_t days;		/* SCHED_AT: bit 0 Sunday .. bit 6 Saturday */
	int minute;		/* SCHED_AT: minutes after midnight */
} sched_spec;

/* 0, or -EINVAL with a ddterr message saying what a schedule looks like. */
int sched_parse(const char *text, sched_spec *out);

/* When spec is next due after `after` (ns since the epoch; for EVERY,
 * counting from `from`). INT64_MAX for never. */
int64_t sched_next(const sched_spec *spec, int64_t from, int64_t after);

/* ---- the runner ---- */

typedef struct sched sched;

/* A task: fn(arg) runs on the scheduler's thread when due; it should
 * start long work elsewhere (cleaning has its own thread) or be short. */
typedef void (*sched_fn)(void *arg);

int sched_new(sched **out);
/* Add a task before sched_start. -ENOMEM, -E2BIG past a few dozen. */
int sched_add(sched *s, const char *name, const sched_spec *spec,
	      sched_fn fn, void *arg);
int sched_start(sched *s);
/* Stop the thread (a task under way finishes first) and free. */
void sched_free(sched *s);

/* cb for every task, in the order added, with when it is next due (ns
 * since the epoch; INT64_MAX: never). Under the runner's lock: cb must be
 * quick and not call back into s. */
typedef void (*sched_task_cb)(void *arg, const char *name, int64_t next);
void sched_foreach(sched *s, sched_task_cb cb, void *arg);

#endif
