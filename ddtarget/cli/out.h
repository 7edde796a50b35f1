/* out.h - everything ddt shows a person: error and warning lines and the
 * one updating progress line on a terminal.
 * Warnings and the progress line share stderr, so both go through here: a
 * warning wipes the line first and the next tick redraws it. */
#ifndef DDT_OUT_H
#define DDT_OUT_H

#include <stdint.h>

#include "fmt.h"		/* FMT_LEN, fmt_bytes(), fmt_ratio() */

#define PROG "ddt"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define EXIT_PARTIAL	3	/* done, but some entries could not be */

/* "ddt: <what>: <ddtc_errmsg(rc)>". Call it on the thread that got rc:
 * the library keeps its message per thread. Returns EXIT_RUNTIME. */
int out_fail(int rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "ddt: <what>: <strerror(err)> (<todo>)", for failed system calls; todo
 * may be NULL. Returns EXIT_RUNTIME. */
int out_fail_errno(int err, const char *todo, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "ddt: <text>": one line that does not end the run. Thread-safe. */
void out_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* From here on stdout escapes control characters (but newlines and tabs)
 * and invalid UTF-8 as \xNN: what ddt prints from the target cannot
 * drive the terminal. 0 or -errno. */
int out_guard_stdout(void);

/* ---- the progress line ---- */

/* What the line shows, filled in by its owner on every tick. */
typedef struct out_progress_sample {
	uint64_t bytes;		/* done so far */
	uint64_t total;		/* 0: not known (yet) */
	uint64_t files;
	uint64_t wire;		/* bytes sent; 0: show no reduction ratio */
} out_progress_sample;

typedef void (*out_progress_fn)(void *arg, out_progress_sample *s);

typedef struct out_progress out_progress;

/* Draw "<verb> ..." on stderr up to 5 times a second, sampling fn from
 * its own thread, when show is set and stderr is a terminal; otherwise
 * *out is a handle that draws nothing. -ENOMEM, or -errno from
 * pthread_create. */
int out_progress_start(out_progress **out, const char *verb, int show,
		   out_progress_fn fn, void *arg);
/* Stop, wipe the line, free. NULL is fine. */
void out_progress_stop(out_progress *p);

#endif
