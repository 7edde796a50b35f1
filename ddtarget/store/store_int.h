/* store_int.h - what the pieces of the segment store share: the store
 * itself, the containers on their way to the sealer, the counters, and the
 * few functions one piece calls in another. Not for use outside store*.c. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "bloom.h"
#include "bytes.h"
#include "ctr.h"
#include "ctrcache.h"
#include "ctrio.h"
#include "ctrpack.h"
#include "ec.h"
#include "fpcache.h"
#include "fpset.h"
#include "idx.h"
#include "jnl.h"
#include "store.h"
#include "tpool.h"

#define SEAL_QUEUE	2	/* full containers that writers may queue */
#define SEAL_QUEUE_MAX	8	/* and what recovery may find waiting */
#define LINGER_MAX	4	/* sealed containers whose index entry may not
				   be durable yet; their journals stay */
#define LOADING_MAX	16	/* containers read for the cache at once */
#define RA_QUEUE	8	/* containers waiting to be read ahead */
#define STATS_WORDS	6

/* Where a container's journal copies are: [0] under the root, [1] in
 * data directory mdir (NULL, -1: no second copy). */
typedef struct jpaths {
	char *path[JNL_COPIES];
	int mdir;
} jpaths;

/* A container being filled, or full and waiting to be sealed. Its bytes
 * stay here until the index knows it, so reads can be served meanwhile. */
typedef struct octr {
	ctr_builder b;
	/* Until the container is freed (writers may still sync). NULL for a
	 * container replayed from a journal that was not whole: its records
	 * are durable as they are, and it is sealed at once. */
	jnl *j;
	uint32_t base;		/* segments replayed before j was reopened */
	jpaths jp;
} octr;

/* The store-wide counters kept in the index with every seal. */
typedef struct sums {
	uint64_t logical, raw, stored, physical, segments, containers;
} sums;

/* Reads (store_read.c): containers being read into the read cache, and
 * the read-ahead thread's queue. Under the store's lock. */
typedef struct store_reads {
	/* A reader that misses a container another thread is reading waits
	 * for it rather than reading it a second time. */
	uint64_t loading[LOADING_MAX];
	int nloading;
	pthread_cond_t loaded_cv;
	/* Containers the reader thread is to bring into the read cache. */
	pthread_t reader;
	int reader_started;
	uint64_t ra_queue[RA_QUEUE];
	int ra_n;
	pthread_cond_t ra_cv;
} store_reads;

/* Sealing (store_octr.c, store_seal.c): the open container, the full ones
 * queued for the sealer thread, and the journals that linger until the
 * index holds their containers durably. Under the store's lock. */
typedef struct store_sealq {
	pthread_t sealer;
	int sealer_started;
	pthread_cond_t work_cv;	/* the sealer waits for a queued container */
	pthread_cond_t done_cv;	/* writers wait for the queue to shrink */
	octr *open;
	octr *queue[SEAL_QUEUE_MAX];
	int nqueue;
	int seal_err;		/* the sealer's last failure, until retried */
	char seal_msg[512];
	jpaths linger[LINGER_MAX];	/* seal_done_locked(), store_seal.c */
	int nlinger;
} store_sealq;

/* Cleaning (store_gc.c): while a clean runs, every fingerprint a lookup
 * reports present is pinned, so that a writer told "you need not send it"
 * never finds it swept. drops counts dropped containers, so a reader that
 * raced a drop knows to look again. Under the store's lock. */
typedef struct store_pins {
	fpset *pins;
	int pin_failed;
	/* What lookups reported present since the last clean began: a writer
	 * told so just before this clean began may still be writing the file
	 * that needs it. gc_told is that filter, frozen for the running
	 * clean; told fills anew meanwhile. Bloom filters: a false positive
	 * only keeps some garbage until the next clean. */
	bloom *told, *gc_told;
	uint64_t drops;
} store_pins;

/* Checkpoints (store_ckpt.c): one at a time (ckpt_mu), kept keep deep. */
typedef struct store_ckpts {
	pthread_mutex_t ckpt_mu;
	char *ckpt_dir;
	int ckpt_keep;
} store_ckpts;

struct store {
	char *root, *jdir;
	char *dirs[STORE_MAX_DIRS];
	int ndirs;
	uint32_t container_size;
	ctrpack_opts pack;	/* codec 0: no compression regions */
	uint64_t reserve_cfg;
	ec *e;
	ctrio_layout L;
	tpool *writers;		/* the fragment writers (ctrio_write), k + m
				   threads; NULL for a single fragment */
	idx *ix;		/* the owner's, for the store's metadata */
	bloom *bl;
	fpcache *fc;
	ctrcache *cc;

	pthread_mutex_t lock;	/* everything below */
	store_reads rd;
	store_sealq sq;
	store_pins gc;
	uint64_t next_cid;
	int64_t space_ok_until;		/* store_check_space() */
	uint64_t space_ok_bytes;
	int stopping;
	/* Spare journals (store_octr.c): bit i of spares[0] says
	 * root/journal/spare-i exists, of spares[d + 1] that data
	 * directory d's journal/spare-i does. */
	unsigned spares[1 + STORE_MAX_DIRS];
	struct store_jnl_event *jev;	/* what replay found at open */
	size_t njev;
	sums sealed;		/* as last written to the index, + logical */
	store_stats run;	/* the runtime counters of store_stats */

	/* Scrub and directory health (store_scrub.c, store_dirs.c). */
	uint8_t id[16];		/* the store's identity, in every marker */
	int scrubbing;		/* under lock: one scrub at a time */
	int tightened;		/* directories closed to others at open */
	store_ec_origin ec_origin;	/* why its code: store_geo.c */

	/* seal_mu is held by a seal and by cleaning's drop from the
	 * counters they read to the index batch they write (so neither
	 * writes over the other's figures; taken before lock, never inside
	 * it), and by a checkpoint while it copies the index, so that its
	 * manifest and its index agree. */
	pthread_mutex_t seal_mu;
	store_ckpts ck;
};

/* The journals one put staged records in, and how far each must be
 * durable before the put may return. Usually one; a batch that fills the
 * open container spans two or more. */
#define PUT_JOURNALS 8

typedef struct put_sync {
	jnl *j[PUT_JOURNALS];
	uint64_t ticket[PUT_JOURNALS];
	int n;
} put_sync;

/* The counters as the index keeps them ("stats"): STATS_WORDS
 * little-endian words. Read at open, written by every seal, by cleaning's
 * drops, at close, and by a restore. */
static inline void store_sums_encode(const sums *m, uint8_t *p)
{
	const uint64_t v[STATS_WORDS] = { m->logical, m->raw, m->stored,
					  m->physical, m->segments,
					  m->containers };

	for (int i = 0; i < STATS_WORDS; i++)
		put_le64(p + 8 * i, v[i]);
}

static inline void store_sums_decode(sums *m, const uint8_t *p)
{
	uint64_t *v[STATS_WORDS] = { &m->logical, &m->raw, &m->stored,
				     &m->physical, &m->segments,
				     &m->containers };

	for (int i = 0; i < STATS_WORDS; i++)
		*v[i] = get_le64(p + 8 * i);
}

/* Who calls whom, bottom up: store_geo.c, store_dirs.c and store_octr.c
 * are called by the others; store_write.c, store_read.c and store_seal.c
 * build on them; store_journal.c, store_gc.c, store_scrub.c and store_ckpt.c on
 * those; store_open.c and store_restore.c on everything. */

/* store_dirs.c */
/* The store id in dir's identity marker, as hex; -ENOENT, -EBADMSG. */
int store_marker_id_hex(const char *dir, char hex[33]);
int store_dirs_mark(store *s);
/* Close the store's directories that others can enter (a store made
 * before they were FIO_DIR_MODE); counted in s->tightened. */
void store_dirs_tighten(store *s);
/* Whether a scrub may rebuild fragments into data directory i: 0 it
 * carries this store's marker for place i; -ENOENT it is missing;
 * -ENODATA it is there without a marker (a replaced disk); else -errno
 * with a message (not a directory, not accessible, another store's or
 * another place's). */
int store_dir_check(store *s, int i);
/* Make missing data directory i again, durably and without a marker. */
int store_dir_restore(store *s, int i);
/* Give data directory i its identity marker, durably: it is whole. */
int store_dir_adopt(store *s, int i);

/* store_geo.c */
/* The geometry to open with: the kept one (the config's must match, or
 * have k = 0), or for a new store (*fresh) the config's or the default;
 * sets s->ec_origin. *ndirs is 0 for the default layout. */
int store_geo_resolve(store *s, const store_config *cfg, int *k, int *m,
		      int *ndirs, int *fresh);
/* Keep a new store's geometry and its origin in the index. */
int store_geo_save(store *s);

/* store_octr.c */
int store_octr_alloc(store *s, uint64_t cid, octr **out);
void store_octr_free(octr *o);
/* Whether container cid waits in the sealer's queue. */
int store_octr_queued_locked(const store *s, uint64_t cid);
/* The open or a queued container cid (in memory); NULL if it is sealed
 * or gone. */
octr *store_unsealed_locked(const store *s, uint64_t cid);
void store_octr_sums(const octr *o, uint64_t *raw, uint64_t *stored);
/* Re-raise the sealer's last error on this thread, with its message. */
int store_seal_error(const store *s);
/* Journal location loc's folder (0: root/journal, d + 1: data directory
 * d's) into buf; container cid's journal there, malloc'd (NULL: no
 * memory or too long). */
int store_jnl_dir(const store *s, int loc, char *buf, size_t cap);
char *store_jnl_path(const store *s, int loc, uint64_t cid);
void store_jnl_paths_free(jpaths *jp);
/* Note which spares exist, at open. */
void store_jnl_find_spares(store *s);
/* Keep a sealed container's journal copies as spares, or delete them. */
void store_jnl_retire(store *s, jpaths *jp);
/* Under the lock: a new open container; the open one trimmed to what its
 * broken journal made durable; the open one queued for the sealer and a
 * new one opened. */
int store_open_new_locked(store *s);
void store_trim_to_durable_locked(store *s, octr *o);
int store_rotate_locked(store *s);

/* store_write.c */
/* Every indexed and unsealed fingerprint into b. */
int store_bloom_fill(store *s, bloom *b);
int store_lookup_locked(store *s, const fp_t *fp, uint64_t *cid,
			uint32_t *slot);
int store_check_space(store *s, int cleaning);
int store_append_locked(store *s, const store_seg *g, put_sync *ps);
int store_sync_all(put_sync *ps);

/* store_read.c */
int store_load_container(store *s, uint64_t cid, uint8_t **out_buf,
			 ctr_view *out_view, int *out_rebuilt);
void *store_reader_main(void *arg);	/* read-ahead */

/* store_seal.c */
void *store_sealer_main(void *arg);
/* Sync the index and retire the journals it now holds durably. */
int store_drop_lingering(store *s);

/* store_journal.c */
/* Replay every journal left by the last run into s->open and s->queue. */
int store_journal_recover(store *s);
void store_journal_events_free(store *s);

/* store_adopt.c, for store_restore.c */
struct frag_hdr;
/* Container cid read whole from its fragments: 0 with *out_hdr (a header
 * of its), *out_buf (free()) and *out_view (ctr_view_free()); 1 if no
 * whole container can be read; -ENOMEM. */
int store_found_read(const ctrio_layout *L, int k, int m, uint64_t cid,
		     struct frag_hdr *out_hdr, uint8_t **out_buf,
		     ctr_view *out_view);
/* Index a container so found (idx_adopt_ctr), adding what it now owns to
 * *sm; not synced. */
int store_found_index(idx *x, int k, int m, const struct frag_hdr *f,
		      const ctr_view *v, sums *sm);

/* store_ckpt.c, for store_restore.c */
struct store_ckpt_info;
/* ns as YYYYMMDDTHHMMSSZ. */

int store_rm_tree(const char *path);
int store_copy_dir(const char *src, const char *dst);
/* The checkpoint name in ckdir (NULL: the newest), of the store whose id
 * is store_id (hex; NULL or "": any store). A named checkpoint of another
 * store is -EINVAL. */
int store_ckpt_find(const char *ckdir, const char *name, const char *store_id,
		    struct store_ckpt_info *out);

#endif
