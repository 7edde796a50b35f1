/* now.h - the clocks, once: wall time for what people and the disk see
 * (timestamps, expiries, alerts) and monotonic time for what measures
 * durations or waits (rates, timeouts, schedules), both in nanoseconds. */
#ifndef NOW_H
#define NOW_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t now_ns(void);

/* Nanoseconds on a clock that never jumps (CLOCK_MONOTONIC). */
int64_t now_mono_ns(void);

/* The same, in seconds, for rates and elapsed times. */
double now_mono_sec(void);

/* The CLOCK_REALTIME instant ns nanoseconds from now, for
 * pthread_cond_timedwait (whose default clock that is). */
struct timespec now_deadline(int64_t ns);

#endif
