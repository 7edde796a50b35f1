/* ddtstore_maint.c - the upkeep of a local segment store, offline: scrub
 * it (and name the ingested files that lost containers held a part of),
 * take and list checkpoints of its metadata, and bring it back from one.
 * ddtstore.c parses the options; ddtstore_common.c opens the store. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ddterr.h"
#include "ddtstore_files.h"
#include "ddtstore_maint.h"
#include "fmt.h"
#include "fp.h"
#include "fpset.h"
#include "ns.h"
#include "now.h"
#include "path.h"
#include "store.h"
#include "store_ckpt.h"
#include "store_scrub.h"

/* "ddtstore: <what> (<todo>)": a failure that is its own reason. */
static int vfail_s(const char *what, const char *todo)
{
	fprintf(stderr, "%s: %s (%s)\n", PROG, what, todo);
	return EXIT_RUNTIME;
}

/* ---- scrub ---- */

static volatile sig_atomic_t scrub_cancel;

static void scrub_on_signal(int sig)
{
	(void)sig;
	scrub_cancel = 1;
}

/* On a terminal, a line that rewrites itself twice a second. */
typedef struct scrub_progress {
	int tty;
	double last;
} scrub_progress;

static void scrub_show(void *arg, const store_scrub_report *r)
{
	scrub_progress *p = arg;
	double t = now_mono_sec();
	char b[FMT_LEN];

	if (!p->tty || t - p->last < 0.5)
		return;
	p->last = t;
	fprintf(stderr, "\rscrub: %" PRIu64 " of %" PRIu64 " containers, %s "
		"examined ", r->containers_checked, r->containers_total,
		fmt_bytes(r->bytes_read, b));
}

/* store_ctr_fps's callback: into the set of lost fingerprints. */
static int lost_add(void *arg, const fp_t *fp)
{
	return fpset_add(arg, fp) < 0 ? -ENOMEM : 0;
}

/* Whether the recipe at rpath names a segment of set; its path line (as
 * escaped in the recipe) into name. */
static int recipe_hits(const char *rpath, const fpset *set, char *name,
		       size_t cap)
{
	unsigned lineno = 1;
	uint32_t len;
	FILE *f;
	fp_t fp;
	int rc, hit = 0;

	f = fopen(rpath, "re");
	if (!f)
		return 0;
	if (fgets(name, (int)cap, f)) {
		name[strcspn(name, "\n")] = '\0';
		while (!hit && (rc = ddts_recipe_next(f, rpath, &lineno, &fp,
						      &len)) > 0)
			hit = fpset_has(set, &fp);
	}
	fclose(f);
	return hit;
}

/* Print the ingested files that hold a segment of set (what the lost
 * containers cost): the first AFFECTED_SHOWN, then how many in all.
 * Returns how many. */
#define AFFECTED_SHOWN 20

static size_t print_affected(const char *root, const fpset *set)
{
	char dir[PATH_MAX], rpath[PATH_MAX], name[2 * PATH_MAX + 2];
	struct dirent *de;
	size_t hits = 0, nl;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" RECIPE_DIR, root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (nl <= strlen(RECIPE_EXT) ||
		    strcmp(de->d_name + nl - strlen(RECIPE_EXT), RECIPE_EXT))
			continue;
		if (path_fmt(rpath, sizeof(rpath), "%s/%s", dir,
			     de->d_name) < 0)
			continue;
		if (recipe_hits(rpath, set, name, sizeof(name)) &&
		    hits++ < AFFECTED_SHOWN)
			printf("affected file:   %s\n", name);
	}
	closedir(d);
	if (hits > AFFECTED_SHOWN)
		printf("affected files:  %zu in all (the first %d shown)\n",
		       hits, AFFECTED_SHOWN);
	return hits;
}

/* Each lost container, and the ingested files it held a part of. */
static void report_lost(store *s, const char *root,
			const store_scrub_report *r)
{
	fpset *set;

	if (r->nlost == 0)
		return;
	if (fpset_new(&set) < 0) {
		fprintf(stderr, "ddtstore: out of memory naming the lost "
			"containers' files\n");
		return;
	}
	for (size_t i = 0; i < r->nlost; i++) {
		size_t before = fpset_count(set);

		ddterr_clear();
		(void)store_ctr_fps(s, r->lost_cids[i], lost_add, set);
		printf("lost container:  %" PRIu64 " (%zu segments)\n",
		       r->lost_cids[i], fpset_count(set) - before);
	}
	if (fpset_count(set) && print_affected(root, set) == 0)
		printf("affected file:   none ingested\n");
	fpset_free(set);
}

static void print_scrub(const opts *o, const store_scrub_report *r)
{
	char b[FMT_LEN];
	double mb = (double)r->bytes_read / 1e6;
	int clean = store_scrub_clean(r);

	printf("scrub: %" PRIu64 " containers, %.1f MB examined in %.1f s "
	       "(%.1f MB/s); %s\n", r->containers_checked, mb, r->seconds,
	       r->seconds > 0 ? mb / r->seconds : 0.0,
	       clean ? "nothing left to repair" :
	       o->no_repair ? "problems found (report only, nothing changed)" :
	       "problems remain");
	printf("containers:      %" PRIu64 " checked, %" PRIu64
	       " cleaned away meanwhile\n", r->containers_checked,
	       r->containers_vanished);
	printf("bytes examined:  %" PRIu64 " (%s)\n", r->bytes_read,
	       fmt_bytes(r->bytes_read, b));
	printf("fragments:       %" PRIu64 " checked, %" PRIu64 " missing, %"
	       PRIu64 " damaged, %" PRIu64 " rebuilt\n", r->fragments_checked,
	       r->fragments_missing, r->fragments_corrupt,
	       r->fragments_rebuilt);
	printf("segments:        %" PRIu64 " re-hashed, %" PRIu64 " bad\n",
	       r->segments_checked, r->segments_bad);
	printf("not indexed:     %" PRIu64 "\n", r->index_missing);
	printf("unrecoverable:   %" PRIu64 " containers, %" PRIu64
	       " more with bad segments\n", r->containers_unrecoverable,
	       r->containers_damaged);
	if (r->errors)
		printf("failed repairs:  %" PRIu64 " (first: %s)\n", r->errors,
		       r->error);
}

/* The one error line of a scrub that left problems behind. */
static int scrub_failed(const opts *o, const store_scrub_report *r)
{
	uint64_t left = r->fragments_missing + r->fragments_corrupt -
			r->fragments_rebuilt;
	char what[256];

	snprintf(what, sizeof(what), "scrub %s: %zu containers lost, %" PRIu64
		 " fragments not rebuilt, %" PRIu64 " segments not indexed",
		 o->root, r->nlost, left, r->index_missing);
	if (r->nlost)
		return vfail_s(what, "restore the lost data directories if "
			       "you can, else back up the affected files "
			       "again");
	if (o->no_repair)
		return vfail_s(what, "run scrub without --no-repair to "
			       "repair");
	return vfail_s(what, r->errors ? "check the storage directories' "
		       "disks and permissions, then scrub again" :
		       "scrub again; if it stays, check the index");
}

int cmd_scrub(const opts *o, int argc, char **argv)
{
	scrub_progress prog = { .tty = isatty(STDERR_FILENO) };
	store_scrub_opts so = {
		.repair = !o->no_repair, .max_bytes_per_sec = o->rate,
		.progress = scrub_show, .progress_arg = &prog,
		.cancel = &scrub_cancel,
	};
	struct sigaction sa = { .sa_handler = scrub_on_signal }, old_int,
			 old_term;
	store_scrub_report r;
	ddts_store h;
	store *s;
	int rc, ret;

	(void)argv;
	if (argc != 0)
		return ddts_usage_error("scrub: takes no arguments");
	ret = ddts_open_store(o, 0, &h);
	if (ret)
		return ret;
	s = h.s;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	ddterr_clear();
	rc = store_scrub(s, &so, &r);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (prog.tty && prog.last > 0)
		fprintf(stderr, "\r\033[K");
	print_scrub(o, &r);
	report_lost(s, o->root, &r);
	fflush(stdout);
	if (rc < 0)
		ret = ddts_fail(rc, rc == -ECANCELED ? "run it again to scrub "
				"the rest" : "check the store's index and "
				"disks", "scrub %s", o->root);
	else if (!store_scrub_clean(&r))
		ret = scrub_failed(o, &r);
	store_scrub_report_free(&r);
	rc = ddts_close_store(&h, o->root);
	return ret ? ret : rc;
}

/* ---- checkpoints ---- */

/* The checkpoint commands name the store first unless -s did. */
static const char *ckpt_store(const opts *o, int *argc, char ***argv)
{
	if (o->root_given || *argc == 0)
		return o->root;
	(*argc)--;
	return *(*argv)++;
}

static void ckpt_dir_of(const opts *o, const char *root, char *buf,
			size_t cap)
{
	if (o->ckpt_dir)
		snprintf(buf, cap, "%s", o->ckpt_dir);
	else
		snprintf(buf, cap, "%s/" STORE_CKPT_DIR, root);
}

int cmd_checkpoint(const opts *o, int argc, char **argv)
{
	char name[STORE_CKPT_NAME_MAX], dir[PATH_MAX];
	opts so = *o;
	ddts_store h;
	int rc, ret;

	so.root = ckpt_store(o, &argc, &argv);
	if (argc != 0)
		return ddts_usage_error("checkpoint: takes only the store");
	ckpt_dir_of(o, so.root, dir, sizeof(dir));
	ret = ddts_open_store(&so, 0, &h);
	if (ret)
		return ret;
	ddterr_clear();
	rc = store_checkpoint(h.s, dir, o->keep, name, sizeof(name));
	if (rc < 0)
		ret = ddts_fail(rc, "check the checkpoint directory's disk and "
				"permissions", "checkpoint %s", so.root);
	else
		printf("checkpoint %s taken in %s\n", name, dir);
	rc = ddts_close_store(&h, so.root);
	return ret ? ret : rc;
}

static int ckpt_print(void *arg, const store_ckpt_info *ci)
{
	char when[FMT_LEN], size[FMT_LEN];

	if (++*(int *)arg == 1)
		printf("%-32s  %-23s  %10s  %10s\n", "NAME", "CREATED", "SIZE",
		       "CONTAINERS");
	fmt_utc(ci->created, when);
	printf("%-32s  %-23s  %10s  %10" PRIu64 "\n", ci->name, when,
	       fmt_bytes(ci->bytes, size), ci->containers);
	return 0;
}

int cmd_checkpoints(const opts *o, int argc, char **argv)
{
	char dir[PATH_MAX];
	const char *root = ckpt_store(o, &argc, &argv);
	int n = 0, rc;

	if (argc != 0)
		return ddts_usage_error("checkpoints: takes only the store");
	ckpt_dir_of(o, root, dir, sizeof(dir));
	ddterr_clear();
	rc = store_checkpoint_list(dir, ckpt_print, &n);
	if (rc < 0)
		return ddts_fail(rc, "check --dir", "list checkpoints in %s",
				 dir);
	if (n == 0)
		printf("no checkpoints in %s\n", dir);
	return 0;
}

int cmd_restore_checkpoint(const opts *o, int argc, char **argv)
{
	char dir[PATH_MAX], text[4096];
	const char *root = ckpt_store(o, &argc, &argv);
	store_restore_report r;
	store_config cfg;
	const char *todo;
	int rc;

	if (argc > 1)
		return ddts_usage_error("restore-checkpoint: takes the store "
					"and at most one checkpoint NAME");
	ckpt_dir_of(o, root, dir, sizeof(dir));
	store_config_default(&cfg, root);
	if (o->k)
		cfg.k = o->k;
	if (o->m >= 0)
		cfg.m = o->m;
	ddterr_clear();
	rc = store_restore_checkpoint(&cfg, dir, argc ? argv[0] : NULL,
				      ns_restore_keeps_locks, NULL, &r);
	if (rc < 0) {
		switch (rc) {
		case -ENOENT:
			todo = "list them with 'ddtstore checkpoints', or give "
			       "--dir";
			break;
		case -EBUSY:
			todo = "stop the daemon or tool using it first";
			break;
		default:
			todo = "the store is as it was; fix the cause and run "
			       "it again";
			break;
		}
		return ddts_fail(rc, todo, "restore-checkpoint %s", root);
	}
	store_restore_report_format(&r, text, sizeof(text));
	fputs(text, stdout);
	return 0;
}
