/* store_open.c - the root's lock, and opening and closing a store on the
 * index its owner opened: its directories and fixed geometry, the counters
 * kept in the index, the Bloom filter, the fragment writers, the replay of
 * the journals a crash or a clean stop left behind (store_journal.c), and
 * the sealer and read-ahead threads. */
#include "store.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "bytes.h"
#include "ddterr.h"
#include "fio.h"
#include "path.h"
#include "ctrpack.h"
#include "store_int.h"

#define STORE_LOCK_FILE "store.lock"

void store_config_default(store_config *c, const char *root)
{
	memset(c, 0, sizeof(*c));
	c->root = root;
	c->k = 0;		/* as created; for a new store, store_geo.c */
	c->m = 0;
	c->container_size = CTR_SIZE_DEFAULT;
	c->bloom_capacity = 1u << 22;
	c->cache_containers = 64;
	c->read_cache_containers = STORE_READ_CACHE_DEFAULT;
	c->region_codec = STORE_REGION_CODEC_DEFAULT;
	c->region_level = STORE_REGION_LEVEL_DEFAULT;
	c->region_size = STORE_REGION_SIZE_DEFAULT;
}

/* ---- the root's lock ---- */

/* One process at a time: RocksDB locks the index, but an offline restore
 * must also find the store busy when the index is gone (that is when it
 * runs), so the root has a lock of its own. flock(), not fcntl(): its
 * lock belongs to the open file, so a second handle in the same process
 * is refused too. The file is never removed.
 *
 * The owner takes it before it opens the index, not store_open: the
 * restore replaces root/index under this lock, so an index opened before
 * the lock is taken could be the one being moved aside, or an empty one
 * RocksDB made in its place. */
struct store_lock {
	int fd;
};

int store_lock_take(store_lock **out, const char *root)
{
	char *path = path_join(root, STORE_LOCK_FILE);
	int fd = -1, rc;

	if (!path)
		return -ENOMEM;
	rc = path_mkdir_p(root, FIO_DIR_MODE);
	if (rc < 0) {
		rc = ddterr_set(rc, "store %s: cannot create it: %s", root,
				strerror(-rc));
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, FIO_FILE_MODE);
	if (fd < 0)
		rc = ddterr_set(-errno, "store %s: cannot open %s: %s", root,
				path, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		rc = errno == EWOULDBLOCK ?
			ddterr_set(-EBUSY, "store %s is in use by another "
				   "process (%s is locked); stop it first",
				   root, path) :
			ddterr_set(-errno, "store %s: cannot lock %s: %s", root,
				   path, strerror(errno));
	if (rc == 0 && !(*out = malloc(sizeof(**out))))
		rc = -ENOMEM;
	if (rc == 0)
		(*out)->fd = fd;
out:
	free(path);
	if (rc < 0 && fd >= 0)
		close(fd);
	return rc;
}

void store_lock_release(store_lock *lk)
{
	if (!lk)
		return;
	close(lk->fd);
	free(lk);
}

/* ---- open and recovery ---- */

/* A new store creates its directories. An existing one does not: a data
 * directory that is gone is a disk that is gone (or not mounted), and
 * recreating it on whatever file system lies below would hide that. With
 * up to m missing the store runs degraded (reads rebuild, new containers
 * are written without those fragments) until they are back and a scrub
 * has rebuilt them. */
static int make_dirs(store *s, const store_config *cfg, int k, int m,
		     int fresh)
{
	struct stat st;
	int rc;

	s->ndirs = cfg->ndirs ? cfg->ndirs : k + m;
	if (s->ndirs < k + m || s->ndirs > STORE_MAX_DIRS)
		return ddterr_set(-EINVAL, "store: %d storage directories for "
				  "k=%d m=%d: need between %d and %d", s->ndirs,
				  k, m, k + m, STORE_MAX_DIRS);
	for (int i = 0; i < s->ndirs; i++) {
		char name[32];

		if (cfg->ndirs) {
			s->dirs[i] = strdup(cfg->dirs[i]);
		} else {
			snprintf(name, sizeof(name), "data/dir%d", i);
			s->dirs[i] = path_join(s->root, name);
		}
		if (!s->dirs[i])
			return -ENOMEM;
		if (!fresh && stat(s->dirs[i], &st) != 0 && errno == ENOENT)
			continue;
		rc = path_mkdir_p(s->dirs[i], FIO_DIR_MODE);
		if (rc < 0)
			return ddterr_set(rc, "storage directory %s: %s",
					  s->dirs[i], strerror(-rc));
	}
	/* More than m missing still opens: what is left can be read, and a
	 * scrub can say what was lost; writes are refused (check_space). */
	return 0;
}

static int load_counters(store *s)
{
	uint8_t buf[8 * STATS_WORDS];
	int rc;

	s->next_cid = 1;
	rc = idx_get_value(s->ix, "next_cid", buf, 8);
	if (rc == 0)
		s->next_cid = get_le64(buf);
	else if (rc != -ENOENT)
		return rc;
	rc = idx_get_value(s->ix, "stats", buf, sizeof(buf));
	if (rc == 0)
		store_sums_decode(&s->sealed, buf);
	return rc == -ENOENT ? 0 : rc;
}

static int load_bloom(store *s, uint64_t capacity)
{
	int rc;

	if (capacity < 2 * s->sealed.segments)
		capacity = 2 * s->sealed.segments;
	rc = bloom_new(&s->bl, capacity);
	if (rc == 0)
		rc = bloom_new(&s->gc.told, capacity);
	if (rc == 0)
		rc = store_bloom_fill(s, s->bl);
	return rc;
}

static int open_engines(store *s, const store_config *cfg)
{
	int k, m, ndirs, fresh, rc;

	rc = store_geo_resolve(s, cfg, &k, &m, &ndirs, &fresh);
	if (rc == 0) {
		store_config c = *cfg;

		c.ndirs = ndirs;	/* resolved only when cfg had none */
		if (ndirs && !cfg->ndirs)
			return ddterr_set(-EINVAL, "store %s spans %d directories: "
					  "name them", s->root, ndirs);
		rc = make_dirs(s, &c, k, m, fresh);
	}
	if (rc == 0)
		rc = ec_new(&s->e, k, m);
	if (rc < 0)
		return rc;
	s->L.e = s->e;
	s->L.ndirs = s->ndirs;
	s->L.dirs = s->dirs;
	rc = store_geo_save(s);
	if (rc == 0)
		rc = load_counters(s);
	if (rc == 0)
		rc = load_bloom(s, cfg->bloom_capacity);
	if (rc == 0)
		rc = fpcache_new(&s->fc, cfg->cache_containers);
	if (rc == 0)
		rc = ctrcache_new(&s->cc, cfg->read_cache_containers,
				  cfg->read_cache_containers *
				  (size_t)cfg->container_size);
	return rc;
}

/* The fragment writers: one thread per fragment of a container, started
 * once, so that a seal writes its k + m fragments to their k + m disks at
 * once, each fsync apart from the others, without a thread made per
 * fragment. Only the sealer gives them work. A single fragment is written
 * on the sealer's own thread, and so is every fragment if the threads
 * cannot be had: slower, not wrong. */
static void start_writers(store *s)
{
	tpool_opts o = { .threads = ec_k(s->e) + ec_m(s->e),
			 .name = "frag-writer" };

	if (o.threads > 1 && tpool_new(&s->writers, &o) < 0)
		s->writers = NULL;
}

static void store_free(store *s)
{
	for (int i = 0; i < s->sq.nlinger; i++)
		store_jnl_paths_free(&s->sq.linger[i]);
	store_journal_events_free(s);
	for (int i = 0; i < s->sq.nqueue; i++)
		store_octr_free(s->sq.queue[i]);
	store_octr_free(s->sq.open);
	ctrcache_free(s->cc);
	fpcache_free(s->fc);
	bloom_free(s->bl);
	bloom_free(s->gc.told);
	bloom_free(s->gc.gc_told);
	tpool_free(s->writers);	/* the sealer is gone: no seal waits */
	ec_free(s->e);
	for (int i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->root);
	free(s->jdir);
	free(s->ck.ckpt_dir);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->seal_mu);
	pthread_mutex_destroy(&s->ck.ckpt_mu);
	fpset_free(s->gc.pins);
	pthread_cond_destroy(&s->sq.work_cv);
	pthread_cond_destroy(&s->sq.done_cv);
	pthread_cond_destroy(&s->rd.loaded_cv);
	pthread_cond_destroy(&s->rd.ra_cv);
	free(s);
}

int store_open(store **out, const store_config *cfg, idx *ix)
{
	store *s;
	int rc;

	if (!cfg->root || !*cfg->root)
		return ddterr_set(-EINVAL, "store: no root directory given");
	if (!ix)
		return ddterr_set(-EINVAL, "store %s: no index given",
				  cfg->root);
	if (cfg->container_size < 64 * 1024 || cfg->container_size > (1u << 30))
		return ddterr_set(-EINVAL, "store: container size %u out of "
				  "range 64 KiB..1 GiB", cfg->container_size);
	if (cfg->region_codec) {
		ctrpack_opts po = { .codec = cfg->region_codec,
				    .level = cfg->region_level,
				    .region_raw = cfg->region_size };

		rc = ctrpack_check(&po);
		if (rc < 0)
			return rc;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pack = (ctrpack_opts){ .codec = cfg->region_codec,
				  .level = cfg->region_level,
				  .region_raw = cfg->region_size };
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->seal_mu, NULL);
	pthread_mutex_init(&s->ck.ckpt_mu, NULL);
	pthread_cond_init(&s->sq.work_cv, NULL);
	pthread_cond_init(&s->sq.done_cv, NULL);
	pthread_cond_init(&s->rd.loaded_cv, NULL);
	pthread_cond_init(&s->rd.ra_cv, NULL);
	s->ix = ix;
	s->container_size = cfg->container_size;
	s->reserve_cfg = cfg->reserve_bytes;
	s->root = strdup(cfg->root);
	s->jdir = path_join(cfg->root, "journal");
	s->ck.ckpt_dir = cfg->checkpoint_dir && *cfg->checkpoint_dir ?
		      strdup(cfg->checkpoint_dir) :
		      path_join(cfg->root, STORE_CKPT_DIR);
	s->ck.ckpt_keep = cfg->checkpoint_keep > 0 ? cfg->checkpoint_keep :
		       STORE_CKPT_KEEP_DEFAULT;
	if (!s->root || !s->jdir || !s->ck.ckpt_dir) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = path_mkdir_p(s->jdir, FIO_DIR_MODE);
	if (rc < 0) {
		rc = ddterr_set(rc, "store %s: cannot create %s: %s", s->root,
				s->jdir, strerror(-rc));
		goto fail;
	}
	rc = open_engines(s, cfg);
	if (rc == 0) {
		start_writers(s);
		store_dirs_tighten(s);
	}
	if (rc == 0)
		rc = store_dirs_mark(s);
	if (rc == 0)
		rc = store_journal_recover(s);
	if (rc < 0)
		goto fail;
	rc = pthread_create(&s->sq.sealer, NULL, store_sealer_main, s);
	if (rc != 0) {
		rc = ddterr_set(-rc, "store: cannot start the sealer thread");
		goto fail;
	}
	s->sq.sealer_started = 1;
	/* Without read-ahead reads still work, only slower. */
	s->rd.reader_started = pthread_create(&s->rd.reader, NULL, store_reader_main,
					   s) == 0;
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

int store_close(store *s)
{
	uint8_t buf[8 * STATS_WORDS];
	int rc = 0, rc2;

	if (!s)
		return 0;
	if (s->sq.sealer_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->sq.work_cv);
		pthread_cond_signal(&s->rd.ra_cv);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->sq.sealer, NULL);
	}
	if (s->rd.reader_started)
		pthread_join(s->rd.reader, NULL);
	/* What the sealer could not seal is safe in its journal. */
	if (s->sq.seal_err)
		rc = store_seal_error(s);
	rc2 = store_drop_lingering(s);
	if (rc == 0)
		rc = rc2;
	store_sums_encode(&s->sealed, buf);
	rc2 = idx_put_value(s->ix, "stats", buf, sizeof(buf));
	store_free(s);
	return rc ? rc : rc2;
}
