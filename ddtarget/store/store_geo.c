/* store_geo.c - the store's geometry (erasure code k + m over its data
 * directories): resolved at open against what the index keeps, chosen for
 * a new store that names none, and why, for administrators.
 *
 * The default follows the disks. Parity across separate file systems
 * survives a lost disk, so there a new store gets 4 + 2 (any two of six
 * lost). When every data directory sits on one file system (the default
 * store under one root, a demo, a test), losing that disk loses them all
 * whatever m is, and parity guards only against bad sectors and torn
 * files: one parity fragment does that, and 8 + 1 costs 12.5% where
 * 4 + 2 costs 50%. k = 8 keeps fragments of a ~4 MiB container near
 * 512 KiB (nine files and fsyncs per seal); a wider k would save a few
 * more percent for more, smaller files (see the commit that set it).
 * The choice is made once, kept in the index with the reason, and never
 * changes on reopen: fragments cannot be read with another geometry. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "path.h"
#include "store_int.h"

#define GEOMETRY_VERSION 1
#define GEOMETRY_KEY	"geometry"
#define ORIGIN_KEY	"geometry_origin"

/* ---- the file systems under the data directories ---- */

/* The device of path's file system; a path that does not exist yet counts
 * as its nearest existing parent's (a new store makes its directories
 * later). 0 or -errno. */
static int fs_of(const char *path, dev_t *out)
{
	char *p = strdup(path);
	struct stat st;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	while (stat(*p ? p : ".", &st) != 0) {
		char *slash = strrchr(p, '/');

		if ((errno != ENOENT && errno != ENOTDIR) || !*p ||
		    !strcmp(p, "/")) {
			rc = ddterr_set(-errno, "storage directory %s: %s",
					path, strerror(errno));
			goto out;
		}
		if (!slash)
			*p = '\0';	/* relative: the working directory */
		else
			slash[slash == p] = '\0';	/* "/x" -> "/" */
	}
	*out = st.st_dev;
out:
	free(p);
	return rc;
}

/* How many distinct file systems hold paths[0..n). */
static int count_filesystems(char *const *paths, int n, int *out)
{
	dev_t dev[STORE_MAX_DIRS];
	int nfs = 0, rc;

	for (int i = 0; i < n; i++) {
		int seen = 0;

		if ((rc = fs_of(paths[i], &dev[i])) < 0)
			return rc;
		for (int j = 0; j < i; j++)
			seen |= dev[j] == dev[i];
		nfs += !seen;
	}
	*out = nfs;
	return 0;
}

/* ---- the default for a new store ---- */

/* The data directories a new store will use: those configured, else the
 * default layout of the spread code (root/data/dir0..5), whose places an
 * administrator may have made mount points of separate disks already. */
static int candidate_dirs(const store_config *cfg, char **paths, int *n)
{
	*n = cfg->ndirs ? cfg->ndirs : STORE_EC_SPREAD_K + STORE_EC_SPREAD_M;
	for (int i = 0; i < *n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "data/dir%d", i);
		paths[i] = cfg->ndirs ? strdup(cfg->dirs[i]) :
					path_join(cfg->root, name);
		if (!paths[i])
			return -ENOMEM;
	}
	return 0;
}

/* One file system: one parity fragment, over all the directories given
 * when they are fewer than the shared code wants (1 + 0 for one). */
static void shared_code(const store_config *cfg, int *k, int *m)
{
	int n = cfg->ndirs;

	*k = STORE_EC_SHARED_K;
	*m = STORE_EC_SHARED_M;
	if (n && n < *k + *m) {
		*k = n > 1 ? n - 1 : 1;
		*m = n > 1 ? 1 : 0;
	}
}

static int default_code(const store_config *cfg, int *k, int *m,
			store_ec_origin *why)
{
	char *paths[STORE_MAX_DIRS] = { NULL };
	int n = 0, nfs = 0, rc;

	rc = candidate_dirs(cfg, paths, &n);
	if (rc == 0)
		rc = count_filesystems(paths, n, &nfs);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	if (rc < 0)
		return rc;
	if (nfs > 1) {
		*k = STORE_EC_SPREAD_K;
		*m = STORE_EC_SPREAD_M;
		*why = STORE_EC_SEPARATE_FS;
	} else {
		shared_code(cfg, k, m);
		*why = STORE_EC_ONE_FS;
	}
	return 0;
}

/* ---- resolving and keeping it ---- */

/* The geometry of an existing store against the config's: k = 0 takes it
 * as it is, anything else must match. */
static int check_kept(store *s, const store_config *cfg, const uint8_t *have,
		      int *k, int *m, int *ndirs)
{
	if (have[0] != GEOMETRY_VERSION)
		return ddterr_set(-EINVAL, "store %s: unknown geometry record "
				  "version %u", s->root, have[0]);
	if (*k == 0) {
		*k = have[1];
		*m = have[2];
		if (!*ndirs)
			*ndirs = have[3];
		if (!cfg->ndirs && *ndirs == have[1] + have[2])
			*ndirs = 0;	/* the default layout */
	}
	if (*k != have[1] || *m != have[2] ||
	    (*ndirs ? *ndirs : *k + *m) != have[3])
		return ddterr_set(-EINVAL, "store %s was created with k=%u m=%u "
				  "over %u directories; open it with that "
				  "geometry, not k=%d m=%d over %d", s->root,
				  have[1], have[2], have[3], *k, *m,
				  *ndirs ? *ndirs : *k + *m);
	return 0;
}

static store_ec_origin load_origin(store *s)
{
	uint8_t v;

	if (idx_get_value(s->ix, ORIGIN_KEY, &v, 1) < 0 ||
	    v > STORE_EC_SEPARATE_FS)
		return STORE_EC_UNRECORDED;
	return (store_ec_origin)v;
}

int store_geo_resolve(store *s, const store_config *cfg, int *k, int *m,
		      int *ndirs, int *fresh)
{
	uint8_t have[4];
	int rc;

	*k = cfg->k;
	*m = cfg->m;
	*ndirs = cfg->ndirs;
	rc = idx_get_value(s->ix, GEOMETRY_KEY, have, sizeof(have));
	*fresh = rc == -ENOENT;
	if (rc == -ENOENT) {
		s->ec_origin = STORE_EC_GIVEN;
		return *k ? 0 : default_code(cfg, k, m, &s->ec_origin);
	}
	if (rc < 0)
		return rc;
	s->ec_origin = load_origin(s);
	return check_kept(s, cfg, have, k, m, ndirs);
}

/* The origin first: a crash between the two leaves a store without a
 * geometry, which the next open decides again, the same way. */
int store_geo_save(store *s)
{
	uint8_t want[4] = { GEOMETRY_VERSION, (uint8_t)ec_k(s->e),
			    (uint8_t)ec_m(s->e), (uint8_t)s->ndirs };
	uint8_t have[4], origin = (uint8_t)s->ec_origin;
	int rc;

	rc = idx_get_value(s->ix, GEOMETRY_KEY, have, sizeof(have));
	if (rc != -ENOENT)
		return rc;
	rc = idx_put_value(s->ix, ORIGIN_KEY, &origin, 1);
	return rc < 0 ? rc :
	       idx_put_value(s->ix, GEOMETRY_KEY, want, sizeof(want));
}

/* ---- what administrators read ---- */

void store_geometry(const store *s, int *out_k, int *out_m, int *out_ndirs)
{
	*out_k = ec_k(s->e);
	*out_m = ec_m(s->e);
	*out_ndirs = s->ndirs;
}

store_ec_origin store_geometry_origin(const store *s)
{
	return s->ec_origin;
}

const char *store_ec_origin_name(store_ec_origin o)
{
	switch (o) {
	case STORE_EC_GIVEN: return "given";
	case STORE_EC_ONE_FS: return "one-filesystem";
	case STORE_EC_SEPARATE_FS: return "separate-filesystems";
	default: return "unrecorded";
	}
}

void store_geometry_why(const store *s, char *buf, size_t cap)
{
	int m = ec_m(s->e);

	switch (s->ec_origin) {
	case STORE_EC_GIVEN:
		snprintf(buf, cap, "set by the configuration when the store "
			 "was created");
		break;
	case STORE_EC_ONE_FS:
		snprintf(buf, cap, "data directories share one file system: "
			 "parity guards against bad sectors, not a lost disk; "
			 "give data directories on separate disks for %d+%d",
			 STORE_EC_SPREAD_K, STORE_EC_SPREAD_M);
		break;
	case STORE_EC_SEPARATE_FS:
		snprintf(buf, cap, "data directories on separate file "
			 "systems: any %d of them may be lost", m);
		break;
	default:
		snprintf(buf, cap, "the store's own since it was created "
			 "(before the target kept why)");
	}
}
