/* store_int.h - what the pieces of the segment store share: the store
 * itself, the containers on their way to the sealer, the counters, and the
 * few functions one piece calls in another. Not for use outside store*.c. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "bloom.h"
#include "container.h"
#include "ctrcache.h"
#include "ctrio.h"
#include "ec.h"
#include "fpcache.h"
#include "index.h"
#include "journal.h"
#include "store.h"

#define SEAL_QUEUE	2	/* full containers that writers may queue */
#define SEAL_QUEUE_MAX	8	/* and what recovery may find waiting */
#define LINGER_MAX	4	/* sealed containers whose index entry may not
				   be durable yet; their journals stay */
#define STATS_WORDS	6

/* A container being filled, or full and waiting to be sealed. Its bytes
 * stay here until the index knows it, so reads can be served meanwhile. */
typedef struct octr {
	ctr_builder b;
	jnl *j;			/* until the container is freed (writers may still sync) */
	uint32_t base;		/* segments replayed before j was reopened */
	char *jpath;
} octr;

/* The store-wide counters kept in the index with every seal. */
typedef struct sums {
	uint64_t logical, raw, stored, physical, segments, containers;
} sums;

struct store {
	char *root, *jdir;
	char *dirs[STORE_MAX_DIRS];
	int ndirs;
	uint32_t container_size;
	uint64_t reserve_cfg;
	ec *e;
	cio_layout L;
	idx *ix;
	bloom *bl;
	fpc *fc;
	ccache *cc;

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t work_cv;	/* the sealer waits for a queued container */
	pthread_cond_t done_cv;	/* writers wait for the queue to shrink */
	pthread_t sealer;
	int sealer_started, stopping;
	octr *open;
	octr *queue[SEAL_QUEUE_MAX];
	int nqueue;
	int seal_err;		/* the sealer's last failure, until retried */
	char seal_msg[512];
	uint64_t next_cid;
	int64_t space_ok_until;		/* see check_space(), store.c */
	uint64_t space_ok_bytes;
	char *linger[LINGER_MAX];	/* see seal_done_locked() */
	int nlinger;
	unsigned spares;		/* bit i: journal/spare-i exists */
	sums sealed;		/* as last written to the index, + logical */
	store_stats run;	/* the runtime counters of store_stats */

	/* Checkpoints (store_ckpt.c). seal_mu is held by a seal from the
	 * counters it reads to the index batch it writes, and by a
	 * checkpoint while it copies the index, so a checkpoint's manifest
	 * and its index agree. ckpt_mu: one checkpoint at a time. */
	pthread_mutex_t seal_mu;
	pthread_mutex_t ckpt_mu;
	char *ckpt_dir;
	int ckpt_keep;
	int lock_fd;		/* root/store.lock, flock()ed while open */
};

/* store_seal.c */
int sto_seal_error(const store *s);
int sto_octr_alloc(store *s, uint64_t cid, octr **out);
void sto_octr_free(octr *o);
void sto_octr_sums(const octr *o, uint64_t *raw, uint64_t *stored);
void *sto_sealer_main(void *arg);
int sto_drop_lingering(store *s);
void sto_find_spares(store *s);
int sto_open_new_locked(store *s);
void sto_trim_to_durable_locked(store *s, octr *o);
int sto_rotate_locked(store *s);

/* store.c */
int sto_lookup_locked(store *s, const fp_t *fp, uint64_t *cid,
		      uint32_t *slot);

/* store_open.c */
char *sto_path_join(const char *a, const char *b);
int sto_lock_root(const char *root, int *out_fd);
void sto_sums_encode(const sums *m, uint8_t *p);
void sto_sums_decode(sums *m, const uint8_t *p);
int sto_grow_bloom_locked(store *s);

/* store_ckpt.c, for store_restore.c */
/* snprintf for paths: -ENAMETOOLONG (with a message) if it did not fit. */
int sto_pathf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int64_t sto_now_ns(void);
void sto_utc_stamp(int64_t ns, char *buf, size_t cap);	/* YYYYMMDDTHHMMSSZ */
int sto_rm_tree(const char *path);
int sto_copy_dir(const char *src, const char *dst);
/* The checkpoint name in ckdir (NULL: the newest). */
int sto_ckpt_find(const char *ckdir, const char *name, store_ckpt_info *out);

#endif
