/* ddtstore_common.c - what every ddtstore command does alike: its error
 * lines (one per failure, saying what to do), and opening and closing the
 * store as the options say, as its owner (store.h). */
#include "ddtstore_common.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "fio.h"
#include "idx.h"
#include "path.h"

/* ---- output: one line per error ---- */

/* "ddtstore: <what>: <why> (<todo>)", <what> from fmt and ap. Returns
 * EXIT_RUNTIME. */
static int vfail(const char *why, const char *todo, const char *fmt,
		 va_list ap)
{
	char what[PATH_MAX + 128];

	vsnprintf(what, sizeof(what), fmt, ap);
	fprintf(stderr, "%s: %s: %s (%s)\n", PROG, what, why, todo);
	return EXIT_RUNTIME;
}

/* <why> from the ddterr message behind rc. Returns EXIT_RUNTIME so that
 * callers can `return ddts_fail(...)`. */
int ddts_fail(int rc, const char *todo, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(ddterr_last(rc), todo, fmt, ap);
	va_end(ap);
	return ret;
}

int ddts_fail_errno(int err, const char *todo, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(strerror(err), todo, fmt, ap);
	va_end(ap);
	return ret;
}

int ddts_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (run '%s --help' for usage)\n", PROG);
	return EXIT_USAGE;
}

/* ---- the store, opened as the options say ---- */

static void release(ddts_store *h)
{
	if (h->ix)
		idx_close(h->ix);
	store_lock_release(h->lock);
	memset(h, 0, sizeof(*h));
}

/* As its owner (store.h): the root's lock, the index, the store on it. */
static int open_owned(const store_config *cfg, ddts_store *h)
{
	char *ipath = NULL;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = store_lock_take(&h->lock, cfg->root);
	if (rc == 0 && !(ipath = path_join(cfg->root, STORE_INDEX_DIR)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = idx_open(&h->ix, ipath, 0);
	if (rc == 0)
		rc = store_open(&h->s, cfg, h->ix);
	free(ipath);
	if (rc < 0)
		release(h);
	return rc;
}

int ddts_open_store(const opts *o, int create, ddts_store *out)
{
	store_config cfg;
	struct stat st;
	const char *todo;
	int rc;

	if (stat(o->root, &st) < 0) {
		if (errno != ENOENT || !create)
			return ddts_fail_errno(errno, errno == ENOENT ?
					  "give the right -s, or ingest "
					  "something first" :
					  "check the path and its permissions",
					  "open store %s", o->root);
		if (mkdir(o->root, FIO_DIR_MODE) < 0 && errno != EEXIST)
			return ddts_fail_errno(errno, "check the parent directory",
					  "create store %s", o->root);
	} else if (!S_ISDIR(st.st_mode)) {
		return ddts_fail_errno(ENOTDIR, "give -s a directory",
				  "open store %s", o->root);
	}
	store_config_default(&cfg, o->root);
	if (o->k)
		cfg.k = o->k;
	if (o->m >= 0)
		cfg.m = o->m;
	ddterr_clear();
	rc = open_owned(&cfg, out);
	if (rc == 0)
		return 0;
	switch (rc) {
	case -EINVAL:
		todo = "give the --k and --m the store was created with";
		break;
	case -EACCES:
	case -EPERM:
		todo = "check the store's permissions";
		break;
	case -EBUSY:
	case -EAGAIN:
		todo = "stop the other process using this store";
		break;
	default:
		todo = "check that no other process uses the store, and "
		       "its disks";
		break;
	}
	return ddts_fail(rc, todo, "open store %s", o->root);
}

int ddts_close_store(ddts_store *h, const char *root)
{
	int rc;

	ddterr_clear();
	rc = store_close(h->s);
	release(h);
	if (rc < 0)
		return ddts_fail(rc, "check the store's disks; the last "
				 "batch may not be durable", "close store %s",
				 root);
	return 0;
}
