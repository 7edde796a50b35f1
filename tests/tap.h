/* tap.h - a minimal TAP producer for automake's tap-driver.sh.
 *
 * Each ok() is one counted test in `make check`'s totals, so use it for an
 * outcome worth counting, not inside a loop over thousands of items (count
 * the failures in the loop and check the count once). */
#ifndef TAP_H
#define TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_count, tap_failures;

static void tap_vok(int pass, const char *file, int line, const char *fmt,
		    va_list ap)
{
	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
	vprintf(fmt, ap);
	printf("\n");
	if (!pass) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failures++;
	}
	fflush(stdout);
}

static inline int tap_ok(int pass, const char *file, int line,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int pass, const char *file, int line,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* A diagnostic line; shown in the test's .log. */
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

/* Abort the whole test program: a setup step failed. */
#define tap_bail(...) \
	(printf("Bail out! "), printf(__VA_ARGS__), printf("\n"), exit(1))

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

/* A private scratch directory under $TMPDIR (or /tmp), removed by
 * tap_rmtree(). Tests run in parallel, so none may share a path. */
static inline char *tap_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	static _Thread_local char path[512];

	snprintf(path, sizeof(path), "%s/ddt-%s-XXXXXX",
		 base && *base ? base : "/tmp", tag);
	if (!mkdtemp(path))
		tap_bail("mkdtemp %s: %s", path, strerror(errno));
	return strdup(path);
}

static inline void tap_rmtree(const char *path)
{
	char cmd[1024];

	if (!path || strlen(path) < 8 || strstr(path, "ddt-") == NULL)
		return;	/* refuse anything we did not make */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

#endif
