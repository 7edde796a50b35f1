/* out.c - ddt's output to a person: error and warning lines and the
 * progress line. The line is drawn by a thread of its own,
 * so it keeps moving while one large file holds every worker, and is
 * redrawn in place with "\r...\033[K"; every other stderr line takes the
 * same lock and wipes it first, so no warning is ever glued to it. */
#include "out.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ddtc.h"
#include "human.h"
#include "fdio.h"
#include "now.h"
#include "utf8.h"

#define TICK_NS		200000000LL	/* 5 redraws a second at most */
#define RATE_WINDOW	25		/* ticks the rate is averaged over */
#define LINE_MAX_LEN	160
#define OUT_LINE_MAX	(4096 + 256)	/* a stderr line's parts, before escaping */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int line_shown;		/* a progress line is on the terminal */

static void wipe_line_locked(void)
{
	if (line_shown) {
		fputs("\r\033[K", stderr);
		line_shown = 0;
	}
}

/* Every line ddt writes to stderr comes here, and its parts may hold
 * names and messages from the target, or local names: control characters
 * and invalid UTF-8 go out escaped, so none can drive the terminal. */
static void vline(const char *raw_what, const char *raw_why,
		  const char *raw_todo)
{
	static char what[UTF8_ESC_LEN(OUT_LINE_MAX)], why[UTF8_ESC_LEN(
		OUT_LINE_MAX)], todo[UTF8_ESC_LEN(OUT_LINE_MAX)];

	pthread_mutex_lock(&out_lock);
	utf8_escape(what, sizeof(what), raw_what, 0);
	if (raw_why)
		utf8_escape(why, sizeof(why), raw_why, 0);
	if (raw_todo)
		utf8_escape(todo, sizeof(todo), raw_todo, 0);
	wipe_line_locked();
	if (raw_why && raw_todo)
		fprintf(stderr, "%s: %s: %s (%s)\n", PROG, what, why, todo);
	else if (raw_why)
		fprintf(stderr, "%s: %s: %s\n", PROG, what, why);
	else
		fprintf(stderr, "%s: %s\n", PROG, what);
	fflush(stderr);
	pthread_mutex_unlock(&out_lock);
}

/* vline() with what formatted from fmt and ap. */
static void vout(const char *why, const char *todo, const char *fmt,
		 va_list ap)
{
	char what[OUT_LINE_MAX];

	vsnprintf(what, sizeof(what), fmt, ap);
	vline(what, why, todo);
}

int out_fail(int rc, const char *fmt, ...)
{
	/* Fetch the message first: it lives in this thread's slot. */
	const char *why = ddtc_errmsg(rc);
	va_list ap;

	va_start(ap, fmt);
	vout(why, NULL, fmt, ap);
	va_end(ap);
	return EXIT_RUNTIME;
}

int out_fail_errno(int err, const char *todo, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(strerror(err), todo, fmt, ap);
	va_end(ap);
	return EXIT_RUNTIME;
}

void out_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(NULL, NULL, fmt, ap);
	va_end(ap);
}

/* ---- the progress line ---- */

struct out_progress {
	const char *verb;
	out_progress_fn fn;
	void *arg;
	pthread_t thread;
	int running;
	int stop;			/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* The last RATE_WINDOW samples: the rate shown is a recent one, so
	 * the ETA follows a change from small files to large ones. */
	double wt[RATE_WINDOW];
	uint64_t wb[RATE_WINDOW];
	unsigned wn, wi;
};

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/* Bytes per second over the window, and record this sample in it. */
static double window_rate(out_progress *p, double t, uint64_t bytes)
{
	unsigned oldest = p->wn < RATE_WINDOW ? 0 : p->wi;
	double rate = 0;

	if (p->wn > 0 && t > p->wt[oldest] && bytes >= p->wb[oldest])
		rate = (double)(bytes - p->wb[oldest]) / (t - p->wt[oldest]);
	p->wt[p->wi] = t;
	p->wb[p->wi] = bytes;
	p->wi = (p->wi + 1) % RATE_WINDOW;
	if (p->wn < RATE_WINDOW)
		p->wn++;
	return rate;
}

static void draw(out_progress *p)
{
	char line[LINE_MAX_LEN + 1], b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN];
	out_progress_sample s = { 0 };
	double rate, t = now_mono_sec();
	int n, w;

	p->fn(p->arg, &s);
	rate = window_rate(p, t, s.bytes);
	if (s.total > 0 && s.bytes <= s.total)
		n = snprintf(line, sizeof(line), "%s %d%%: %s of %s", p->verb,
			     (int)(100.0 * (double)s.bytes / (double)s.total),
			     fmt_bytes(s.bytes, b1), fmt_bytes(s.total, b2));
	else
		n = snprintf(line, sizeof(line), "%s: %s", p->verb,
			     fmt_bytes(s.bytes, b1));
	if (n < 0 || n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      ", %" PRIu64 " files, %.1f MB/s", s.files, rate / 1e6);
	if (n < (int)sizeof(line) && s.wire > 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      ", dedup %.1fx", (double)s.bytes /
			      (double)s.wire);
	if (n < (int)sizeof(line) && s.total > s.bytes && rate > 0)
		snprintf(line + n, sizeof(line) - (size_t)n, ", ETA %s",
			 human_fmt_secs((double)(s.total - s.bytes) / rate, b3));
	/* A line that wraps cannot be redrawn with \r. */
	w = term_width() - 1;
	if (w < (int)sizeof(line))
		line[w] = '\0';

	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	line_shown = 1;
	pthread_mutex_unlock(&out_lock);
}

static void *progress_main(void *arg)
{
	out_progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		/* On the monotonic clock, as wake is: a clock set back does
		 * not stall the line. */
		int64_t t = now_mono_ns() + TICK_NS;
		struct timespec ts = { .tv_sec = t / 1000000000,
				       .tv_nsec = t % 1000000000 };

		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		draw(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int out_progress_start(out_progress **out, const char *verb, int show,
		   out_progress_fn fn, void *arg)
{
	pthread_condattr_t ca;
	out_progress *p;
	int rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->verb = verb;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	*out = p;
	if (!show || !isatty(STDERR_FILENO))
		return 0;
	rc = pthread_create(&p->thread, NULL, progress_main, p);
	if (rc != 0) {
		out_progress_stop(p);
		*out = NULL;
		return -rc;
	}
	p->running = 1;
	return 0;
}

void out_progress_stop(out_progress *p)
{
	if (!p)
		return;
	if (p->running) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		pthread_mutex_lock(&out_lock);
		wipe_line_locked();
		fflush(stderr);
		pthread_mutex_unlock(&out_lock);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- stdout, escaped ---- */

/*
 * What ddt prints on stdout (listings, status, alert texts) is full of
 * strings the target sent: names, ids, messages. Rather than trust every
 * printf to escape its fields, stdout itself is a stream that escapes
 * control characters (but newlines and tabs) and invalid UTF-8 on the way
 * to file descriptor 1. A multi-byte character cut by a buffer's edge
 * waits in the cookie for the rest.
 */
#define OUT_CHUNK	1024

typedef struct out_guard {
	char tail[4];		/* a character's first bytes, cut off */
	size_t ntail;
} out_guard;

/* Escape and write in[0..n); final: a cut character is not waited for. */
static int out_guard_put(out_guard *g, const char *in, size_t n, int final)
{
	char buf[OUT_CHUNK + 4], esc[UTF8_ESC_LEN(OUT_CHUNK + 4)];
	size_t take, have, used, o;

	do {
		take = n < OUT_CHUNK ? n : OUT_CHUNK;
		memcpy(buf, g->tail, g->ntail);
		memcpy(buf + g->ntail, in, take);
		have = g->ntail + take;
		o = utf8_escape_stream(esc, buf, have, take < n ? 0 : final,
				       &used);
		g->ntail = have - used;
		memcpy(g->tail, buf + used, g->ntail);
		if (fd_write_all(1, esc, o) < 0)
			return -1;
		in += take;
		n -= take;
	} while (n > 0);
	return 0;
}

static ssize_t out_guard_write(void *cookie, const char *in, size_t n)
{
	return out_guard_put(cookie, in, n, 0) < 0 ? -1 : (ssize_t)n;
}

static int out_guard_close(void *cookie)
{
	out_guard *g = cookie;

	return g->ntail ? out_guard_put(g, "", 0, 1) : 0;
}

int out_guard_stdout(void)
{
	static out_guard g;
	cookie_io_functions_t io = { .write = out_guard_write,
				     .close = out_guard_close };
	FILE *f;

	fflush(stdout);
	f = fopencookie(&g, "w", io);
	if (!f)
		return -errno;
	setvbuf(f, NULL, isatty(1) ? _IOLBF : _IOFBF, BUFSIZ);
	stdout = f;
	return 0;
}
