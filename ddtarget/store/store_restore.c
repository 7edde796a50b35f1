/* store_restore.c - bringing a store back from a checkpoint, offline: the
 * checkpoint's index is copied in beside the old one, reconciled with the
 * containers in the data directories and with the journals, and only then
 * put in the old one's place (which is kept, renamed).
 *
 * Why the reconciliation can be this simple: containers are append-only,
 * their ids only grow, and a journal is deleted only once its container's
 * index entry is durable. So the disks can differ from a checkpoint in
 * three ways: containers sealed since (on disk, not listed: read back and
 * indexed), containers the cleaner removed since (listed, not on disk:
 * dropped), and containers still in their journals (left to store_open,
 * which replays them). A container that has a journal is never indexed
 * from its fragments here, even when they are whole: after a crash a
 * journal can be reopened and grow past what an earlier seal of the same
 * id wrote, and indexing the old fragments would make store_open delete
 * the journal with the newer segments in it. */
#include "store_ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bytes.h"
#include "ddterr.h"
#include "fmt.h"
#include "fio.h"
#include "frag.h"
#include "now.h"
#include "path.h"
#include "store_int.h"

#define RESTORING	"index.restoring"
#define REPLACED	"index.replaced-"
#define RENAME_TRIES	100

typedef struct idlist {
	uint64_t *v;
	size_t n, cap;
} idlist;

/* What the reconciliation works with. */
typedef struct recon {
	idx *x;
	ec *e;
	ctrio_layout L;
	char *dirs[STORE_MAX_DIRS];
	int k, m;
	sums sm;		/* the checkpoint's counters, followed */
	uint64_t next_cid;
	idlist journals;	/* ids with a journal file, sorted */
	idlist gone;		/* listed ids dropped, sorted */
	store_restore_report *r;
} recon;

/* ---- id lists ---- */

static int idlist_push(idlist *l, uint64_t id)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		uint64_t *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int idlist_has(const idlist *l, uint64_t id)
{
	return l->n && bsearch(&id, l->v, l->n, sizeof(id), cmp_id) != NULL;
}

static void note_id(uint64_t *list, uint64_t *count, uint64_t id)
{
	if (*count < STORE_RESTORE_LIST)
		list[*count] = id;
	(*count)++;
}

static void sub(uint64_t *a, uint64_t b)
{
	*a = *a > b ? *a - b : 0;
}

/* ---- setting up ---- */

static char *join(const char *a, const char *b)
{
	char *p = path_join(a, b);

	if (!p)
		ddterr_set(-ENOMEM, "out of memory");
	return p;
}

/* The checkpoint's geometry must be the configuration's, as store_open
 * would insist; a config without k takes it as it is. */
static int check_geometry(const store_config *cfg, const store_ckpt_info *ci)
{
	if (cfg->k && (cfg->k != ci->k || cfg->m != ci->m))
		return ddterr_set(-EINVAL, "checkpoint %s is of a store with "
				  "k=%d m=%d, not k=%d m=%d", ci->name, ci->k,
				  ci->m, cfg->k, cfg->m);
	if (cfg->ndirs ? cfg->ndirs != ci->ndirs : ci->ndirs != ci->k + ci->m)
		return ddterr_set(-EINVAL, "checkpoint %s is of a store over "
				  "%d data directories; name exactly those",
				  ci->name, ci->ndirs);
	return 0;
}

static int layout_init(recon *c, const store_config *cfg,
		       const store_ckpt_info *ci)
{
	char name[32];
	int rc;

	c->k = ci->k;
	c->m = ci->m;
	for (int i = 0; i < ci->ndirs; i++) {
		if (cfg->ndirs) {
			c->dirs[i] = strdup(cfg->dirs[i]);
		} else {
			snprintf(name, sizeof(name), "data/dir%d", i);
			c->dirs[i] = path_join(cfg->root, name);
		}
		if (!c->dirs[i])
			return -ENOMEM;
	}
	rc = ec_new(&c->e, c->k, c->m);
	if (rc < 0)
		return rc;
	c->L.e = c->e;
	c->L.ndirs = ci->ndirs;
	c->L.dirs = c->dirs;
	return 0;
}

static void recon_free(recon *c)
{
	idx_close(c->x);
	ec_free(c->e);
	for (int i = 0; i < STORE_MAX_DIRS; i++)
		free(c->dirs[i]);
	free(c->journals.v);
	free(c->gone.v);
}

/* The index copied from the checkpoint must say what its manifest says. */
static int load_index(recon *c, const char *path)
{
	uint8_t geo[4], buf[8 * STATS_WORDS];
	int rc;

	rc = idx_open(&c->x, path, 0);
	if (rc == 0)
		rc = idx_get_value(c->x, "geometry", geo, sizeof(geo));
	if (rc == 0 && (geo[1] != c->k || geo[2] != c->m ||
			geo[3] != c->L.ndirs))
		rc = ddterr_set(-EBADMSG, "checkpoint %s: its index is of "
				"k=%u m=%u over %u directories, its manifest "
				"says otherwise", c->r->ckpt.name, geo[1],
				geo[2], geo[3]);
	if (rc == -ENOENT)
		rc = ddterr_set(-EBADMSG, "checkpoint %s: its index has no "
				"geometry", c->r->ckpt.name);
	if (rc < 0)
		return rc;
	c->next_cid = 1;
	rc = idx_get_value(c->x, "next_cid", buf, 8);
	if (rc == 0)
		c->next_cid = get_le64(buf);
	else if (rc != -ENOENT)
		return rc;
	rc = idx_get_value(c->x, "stats", buf, sizeof(buf));
	if (rc == 0)
		store_sums_decode(&c->sm, buf);
	return rc == -ENOENT ? 0 : rc;
}

/* The ids of the journals in jdir, added to c->journals; a missing jdir
 * has none. */
static int scan_journals(recon *c, const char *jdir)
{
	struct dirent *de;
	unsigned long long id;
	char tail[8];
	DIR *d;
	int rc = 0;

	d = opendir(jdir);
	if (!d)
		return errno == ENOENT ? 0 :
		       ddterr_set(-errno, "cannot read %s: %s", jdir,
				  strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (sscanf(de->d_name, "%16llx.%7s", &id, tail) == 2 &&
		    strcmp(tail, "jnl") == 0)
			rc = idlist_push(&c->journals, id);
	closedir(d);
	return rc;
}

/* The ids of the journals, sorted: those in root/journal and the second
 * copies in the data directories' journal/ (a journal whose first copy
 * is gone still replays from its second). */
static int load_journals(recon *c, const char *root)
{
	char *jdir = join(root, "journal");
	int rc;

	if (!jdir)
		return -ENOMEM;
	rc = scan_journals(c, jdir);
	free(jdir);
	for (int i = 0; rc == 0 && i < c->L.ndirs; i++) {
		jdir = join(c->dirs[i], "journal");
		rc = jdir ? scan_journals(c, jdir) : -ENOMEM;
		free(jdir);
	}
	if (c->journals.n)
		qsort(c->journals.v, c->journals.n, sizeof(uint64_t), cmp_id);
	return rc;
}

/* ---- (a) what the checkpoint lists and the disks lost ---- */

/* Fragments of h's container whose header is whole and its own. Only
 * headers are read: enough to see a container cleaned away, without
 * reading the whole store; damaged payloads are the scrubber's. */
static int good_frags(const recon *c, const idx_ctr *h)
{
	char path[4096];
	frag_hdr f;
	int good = 0;

	for (int i = 0; i < h->k + h->m && good < h->k; i++) {
		ctrio_frag_path(&c->L, h->cid, i, path, sizeof(path));
		if (frag_read_hdr(path, &f) == 0 && f.cid == h->cid &&
		    f.k == h->k && f.m == h->m && f.index == i &&
		    f.payload_len == h->frag_len &&
		    f.container_len == h->container_len)
			good++;
	}
	return good;
}

static int check_listed(void *arg, uint64_t cid)
{
	recon *c = arg;
	idx_ctr h;
	int rc;

	rc = idx_get_ctr(c->x, cid, 0, &h);
	if (rc < 0)
		return rc;
	c->r->containers++;
	if (c->next_cid <= cid)
		c->next_cid = cid + 1;
	if (h.k == c->k && h.m == c->m && good_frags(c, &h) >= h.k)
		return 0;
	return idlist_push(&c->gone, cid);
}

static int drop_one(recon *c, uint64_t cid)
{
	uint64_t segs, raw, stored;
	idx_ctr h;
	int rc;

	rc = idx_get_ctr(c->x, cid, 0, &h);
	if (rc == 0)
		rc = idx_drop_ctr(c->x, cid, &segs, &raw, &stored);
	if (rc < 0)
		return rc;
	sub(&c->sm.containers, 1);
	sub(&c->sm.physical, (uint64_t)(h.k + h.m) *
			     frag_file_len(h.frag_len));
	sub(&c->sm.segments, segs);
	sub(&c->sm.raw, raw);
	sub(&c->sm.stored, stored);
	note_id(c->r->dropped_cids, &c->r->dropped, cid);
	return 0;
}

/* If the disks hold none of what the checkpoint lists, the data
 * directories are wrong (or gone), and dropping everything would help
 * nobody: refuse, with the store left as it was. */
static int drop_lost(recon *c)
{
	int rc = 0;

	if (c->r->containers > 0 && c->gone.n == c->r->containers)
		return ddterr_set(-EIO, "none of the %" PRIu64 " containers "
				  "checkpoint %s lists is in the data "
				  "directories (%s, ...): check the store's "
				  "data directories", c->r->containers,
				  c->r->ckpt.name, c->dirs[0]);
	for (size_t i = 0; rc == 0 && i < c->gone.n; i++)
		rc = drop_one(c, c->gone.v[i]);
	return rc;
}

/* ---- (b) what the disks hold and the checkpoint does not ---- */

/* Read container cid back and index it: 0, 1 if it cannot be read (left
 * in place), or a hard error. */
static int adopt(recon *c, uint64_t cid)
{
	uint8_t *buf = NULL;
	ctr_view v;
	frag_hdr f;
	int rc;

	rc = store_found_read(&c->L, c->k, c->m, cid, &f, &buf, &v);
	if (rc != 0)
		return rc;
	rc = store_found_index(c->x, c->k, c->m, &f, &v, &c->sm);
	ctr_view_free(&v);
	free(buf);
	return rc;
}

static int consider(void *arg, uint64_t cid)
{
	recon *c = arg;
	idx_ctr h;
	int rc;

	if (c->next_cid <= cid)
		c->next_cid = cid + 1;
	if (idlist_has(&c->gone, cid))
		return 0;	/* its remains stay where they are */
	rc = idx_get_ctr(c->x, cid, 0, &h);
	if (rc != -ENOENT)
		return rc;	/* listed (0), or an error */
	if (idlist_has(&c->journals, cid)) {
		c->r->journaled++;
		return 0;
	}
	rc = adopt(c, cid);
	if (rc == 0)
		c->r->reindexed++;
	else if (rc == 1)
		note_id(c->r->unreadable_cids, &c->r->unreadable, cid);
	return rc < 0 ? rc : 0;
}

/* ---- (c) the counters, and the whole reconciliation ---- */

static int save_counters(recon *c)
{
	uint8_t buf[8 * STATS_WORDS], cid[8];
	int rc;

	if (c->journals.n && c->next_cid <= c->journals.v[c->journals.n - 1])
		c->next_cid = c->journals.v[c->journals.n - 1] + 1;
	if (c->next_cid < c->r->ckpt.next_cid)
		c->next_cid = c->r->ckpt.next_cid;
	c->r->next_cid = c->next_cid;
	store_sums_encode(&c->sm, buf);
	put_le64(cid, c->next_cid);
	rc = idx_put_value(c->x, "stats", buf, sizeof(buf));
	if (rc == 0)
		rc = idx_put_value(c->x, "next_cid", cid, sizeof(cid));
	if (rc == 0)
		rc = idx_sync(c->x);
	return rc;
}

static int reconcile(const store_config *cfg, const char *path,
		     store_restore_report *r)
{
	recon c = { .r = r };
	int rc;

	rc = layout_init(&c, cfg, &r->ckpt);
	if (rc == 0)
		rc = load_index(&c, path);
	if (rc == 0)
		rc = load_journals(&c, cfg->root);
	if (rc == 0)
		rc = idx_foreach_cid(c.x, check_listed, &c);
	if (rc == 0)
		rc = drop_lost(&c);
	if (rc == 0)
		rc = ctrio_foreach_cid(&c.L, consider, &c);
	if (rc == 0)
		rc = save_counters(&c);
	recon_free(&c);
	return rc;
}

/* ---- putting it in place ---- */

/* root/index, if there is one, to root/index.replaced-<time>[-N]. */
static int move_aside(const char *root, char *replaced, size_t cap)
{
	char ipath[4096], path[4096], stamp[32];
	struct stat st;
	int rc;

	rc = path_fmt(ipath, sizeof(ipath), "%s/" STORE_INDEX_DIR, root);
	if (rc < 0)
		return rc;
	if (lstat(ipath, &st) != 0)
		return errno == ENOENT ? 0 :
		       ddterr_set(-errno, "%s: %s", ipath, strerror(errno));
	fmt_utc_stamp(now_ns(), stamp);
	for (int i = 1; i < RENAME_TRIES; i++) {
		if (i == 1)
			rc = path_fmt(path, sizeof(path), "%s/" REPLACED "%s",
				      root, stamp);
		else
			rc = path_fmt(path, sizeof(path), "%s/" REPLACED
				      "%s-%d", root, stamp, i);
		if (rc < 0)
			return rc;
		if (lstat(path, &st) == 0)
			continue;
		rc = fio_rename(ipath, path);
		if (rc < 0)
			return ddterr_set(rc, "cannot move %s aside: %s", ipath,
					  strerror(-rc));
		snprintf(replaced, cap, "%s", path);
		return 0;
	}
	return ddterr_set(-EEXIST, "cannot move %s aside: too many %s"
			  REPLACED "%s*", ipath, root, stamp);
}

static int swap_in(const char *root, const char *restoring,
		   store_restore_report *r)
{
	char ipath[4096];
	int rc;

	rc = move_aside(root, r->replaced, sizeof(r->replaced));
	if (rc < 0)
		return rc;
	rc = path_fmt(ipath, sizeof(ipath), "%s/" STORE_INDEX_DIR, root);
	if (rc < 0)
		return rc;
	rc = fio_rename(restoring, ipath);
	if (rc == 0)
		rc = fio_fsync_dir(root);
	if (rc < 0)
		return ddterr_set(rc, "cannot rename %s to %s: %s", restoring,
				  ipath, strerror(-rc));
	return 0;
}

static int restore_locked(const store_config *cfg, const char *ckdir,
			  const char *name, store_restore_check_fn check,
			  void *check_arg, store_restore_report *r)
{
	char src[4096], cur[4096], msg[512], id[33] = "";
	char *restoring;
	int rc;

	/* The root's marker says which store this is (a lost index leaves
	 * it); without one, any checkpoint may be chosen, as before ids. */
	(void)store_marker_id_hex(cfg->root, id);
	rc = store_ckpt_find(ckdir, name, id, &r->ckpt);
	if (rc == 0)
		rc = check_geometry(cfg, &r->ckpt);
	if (rc < 0)
		return rc;
	rc = path_fmt(src, sizeof(src), "%s/%s/index", ckdir, r->ckpt.name);
	if (rc == 0)
		rc = path_fmt(cur, sizeof(cur), "%s/" STORE_INDEX_DIR,
			      cfg->root);
	if (rc < 0)
		return rc;
	restoring = join(cfg->root, RESTORING);
	if (!restoring)
		return -ENOMEM;
	rc = store_rm_tree(restoring);	/* a failed attempt's */
	if (rc < 0)
		rc = ddterr_set(rc, "cannot remove %s: %s", restoring,
				strerror(-rc));
	if (rc == 0)
		rc = store_copy_dir(src, restoring);
	if (rc == 0 && check)
		rc = check(check_arg, cur, restoring);
	if (rc == 0)
		rc = reconcile(cfg, restoring, r);
	if (rc == 0)
		rc = swap_in(cfg->root, restoring, r);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", ddterr_last(rc));
		(void)store_rm_tree(restoring);
		rc = ddterr_set(rc, "restore of %s from checkpoint %s: %s",
				cfg->root, r->ckpt.name[0] ? r->ckpt.name :
				(name ? name : "(newest)"), msg);
	}
	free(restoring);
	return rc;
}

int store_restore_checkpoint(const store_config *cfg, const char *ckdir,
			     const char *name, store_restore_check_fn check,
			     void *check_arg, store_restore_report *r)
{
	char *dflt = NULL;
	store_lock *lk;
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!cfg->root || !*cfg->root)
		return ddterr_set(-EINVAL, "store: no root directory given");
	if (stat(cfg->root, &st) != 0 || !S_ISDIR(st.st_mode))
		return ddterr_set(-ENOENT, "no store at %s", cfg->root);
	if (!ckdir || !*ckdir)
		ckdir = cfg->checkpoint_dir;
	if (!ckdir || !*ckdir) {
		dflt = join(cfg->root, STORE_CKPT_DIR);
		if (!dflt)
			return -ENOMEM;
		ckdir = dflt;
	}
	rc = store_lock_take(&lk, cfg->root);
	if (rc == 0) {
		rc = restore_locked(cfg, ckdir, name, check, check_arg, r);
		store_lock_release(lk);
	}
	free(dflt);
	return rc;
}

/* ---- the report ---- */

static size_t put_ids(char *buf, size_t cap, const uint64_t *ids,
		      uint64_t n)
{
	size_t len = 0;

	for (uint64_t i = 0; i < n && i < STORE_RESTORE_LIST && len < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%" PRIu64,
					i ? " " : " (containers ", ids[i]);
	if (n && len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "%s)",
					n > STORE_RESTORE_LIST ? " ..." : "");
	return len < cap ? len : cap;
}

void store_restore_report_format(const store_restore_report *r, char *buf,
				 size_t cap)
{
	char stamp[FMT_LEN], dropped[512] = "", unreadable[512] = "";
	size_t n;

	if (!cap)
		return;
	fmt_utc(r->ckpt.created, stamp);
	put_ids(dropped, sizeof(dropped), r->dropped_cids, r->dropped);
	put_ids(unreadable, sizeof(unreadable), r->unreadable_cids,
		r->unreadable);
	n = (size_t)snprintf(buf, cap,
		"checkpoint:          %s (taken %s)\n"
		"containers in it:    %" PRIu64 "\n"
		"indexed again:       %" PRIu64 " (sealed after it)\n"
		"dropped:             %" PRIu64 " (no longer on the disks)%s\n"
		"unreadable:          %" PRIu64 " (left in place)%s\n"
		"left to journals:    %" PRIu64 " (sealed at the next start)\n"
		"next container id:   %" PRIu64 "\n",
		r->ckpt.name, stamp, r->containers, r->reindexed, r->dropped,
		dropped, r->unreadable, unreadable, r->journaled, r->next_cid);
	if (n < cap && r->replaced[0])
		snprintf(buf + n, cap - n, "old index moved to:  %s\n",
			 r->replaced);
}
