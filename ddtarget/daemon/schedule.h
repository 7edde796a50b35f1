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

#define SCHEDULE_TEXT_MAX 64

typedef struct schedule_spec {
	enum { SCHEDULE_NEVER, SCHEDULE_EVERY, SCHEDULE_AT } kind;
	int64_t every_ns;	/* SCHEDULE_EVERY */
	uint8_t days;		/* SCHEDULE_AT: bit 0 Sunday .. 6 Saturday */
	int minute;		/* SCHEDULE_AT: minutes after midnight */
} schedule_spec;

/* 0, or -EINVAL with a ddterr message saying what a schedule looks like. */
int schedule_parse(const char *text, schedule_spec *out);

/* When spec is next due after `after` (ns since the epoch; for EVERY,
 * counting from `from`). INT64_MAX for never. */
int64_t schedule_next(const schedule_spec *spec, int64_t from, int64_t after);

/* ---- the runner ---- */

typedef struct schedule schedule;

/* A task: fn(arg) runs on the scheduler's thread when due; it should
 * start long work elsewhere (cleaning has its own thread) or be short. */
typedef void (*schedule_fn)(void *arg);

int schedule_new(schedule **out);
/* Add a task before schedule_start. -ENOMEM, -E2BIG past a few dozen. */
int schedule_add(schedule *s, const char *name, const schedule_spec *spec,
		 schedule_fn fn, void *arg);
int schedule_start(schedule *s);
/* Stop the thread (a task under way finishes first) and free. */
void schedule_free(schedule *s);

/* cb for every task, in the order added, with when it is next due (ns
 * since the epoch; INT64_MAX: never). Under the runner's lock: cb must be
 * quick and not call back into s. */
typedef void (*schedule_task_cb)(void *arg, const char *name, int64_t next);
void schedule_foreach(schedule *s, schedule_task_cb cb, void *arg);

#endif
