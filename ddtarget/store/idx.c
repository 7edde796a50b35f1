/* idx.c - the store's RocksDB index (see idx.h for what it holds).
 *
 * The fingerprint family is tuned for point lookups of random keys: a
 * whole-key Bloom filter per table so a miss costs no data-block read, and no
 * compression, since SHA-256 digests do not compress. */
#include "idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "bytes.h"
#include "ddterr.h"

enum { CF_DEFAULT, CF_FP, CF_CTR, CF_NS, CF_USERS, CF_DSEG, CF_TOKENS,
       CF_COUNT };

static const char *const cf_names[CF_COUNT] = {
	"default", "fp", "ctr", "ns", "users", "dseg", "tokens",
};

/* idx_space values to column families. */
static int space_cf(int space)
{
	switch (space) {
	case IDX_USERS: return CF_USERS;
	case IDX_DSEG: return CF_DSEG;
	case IDX_TOKENS: return CF_TOKENS;
	default: return CF_NS;
	}
}

/* The "ctr" record: a fixed head, then the directory (ctr.h's
 * encoding, so the locality cache loads it without reading fragments). */
#define CTR_REC_VERSION	1
#define CTR_REC_HEAD	40
#define FP_VAL_LEN	12
#define IDX_MEMTABLE_BYTES (16u << 20)

struct idx {
	rocksdb_t *db;
	rocksdb_options_t *opts[CF_COUNT];
	rocksdb_options_t *dbopts;
	rocksdb_block_based_table_options_t *tbl;
	rocksdb_cache_t *cache;
	rocksdb_column_family_handle_t *cf[CF_COUNT];
	rocksdb_readoptions_t *ropts;
	rocksdb_readoptions_t *ropts_ctr;	/* container records: no fill */
	rocksdb_writeoptions_t *wsync, *wnosync;
};

/* Turn a RocksDB error string into our convention; it must be freed. */
static int db_err(char *err, const char *what)
{
	int rc = ddterr_set(-EIO, "index: %s: %s", what, err);

	free(err);
	return rc;
}

/* Index and filter blocks in 4 KiB partitions, through the block cache,
 * with only their top level pinned. A table's whole filter is some 1.2 MiB
 * per million keys, larger than a shard of the block cache (64 MiB in 64
 * shards), so unpartitioned it was never kept: every Get of a fingerprint
 * read and checksummed whole filters again (1 TB of data simulated,
 * contrib/bench/idxbench.c: 600 random lookups/s). Partitions are cached
 * like data blocks, and the memory stays the cache's size however large
 * the index grows. */
static void set_partitioned_metadata(rocksdb_block_based_table_options_t *t)
{
	rocksdb_block_based_options_set_index_type(
		t, rocksdb_block_based_table_index_type_two_level_index_search);
	rocksdb_block_based_options_set_partition_filters(t, 1);
	rocksdb_block_based_options_set_metadata_block_size(t, 4096);
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
	rocksdb_block_based_options_set_pin_top_level_index_and_filter(t, 1);
}

static int make_options(idx *x, size_t cache_mb)
{
	x->dbopts = rocksdb_options_create();
	x->tbl = rocksdb_block_based_options_create();
	x->cache = rocksdb_cache_create_lru(cache_mb << 20);
	x->ropts = rocksdb_readoptions_create();
	x->ropts_ctr = rocksdb_readoptions_create();
	x->wsync = rocksdb_writeoptions_create();
	x->wnosync = rocksdb_writeoptions_create();
	if (!x->dbopts || !x->tbl || !x->cache || !x->ropts || !x->ropts_ctr ||
	    !x->wsync ||
	    !x->wnosync)
		return -ENOMEM;
	rocksdb_options_set_create_if_missing(x->dbopts, 1);
	rocksdb_options_set_create_missing_column_families(x->dbopts, 1);
	rocksdb_options_increase_parallelism(x->dbopts, 2);
	/* RocksDB preallocates each WAL at 1.1 x the memtable size; at the
	 * 64 MiB default that is space the store's reserve would have to
	 * cover on every disk the index shares. 16 MiB memtables hold some
	 * 300,000 fingerprints, plenty between flushes. */
	rocksdb_options_set_write_buffer_size(x->dbopts, IDX_MEMTABLE_BYTES);
	rocksdb_block_based_options_set_block_cache(x->tbl, x->cache);
	rocksdb_block_based_options_set_filter_policy(
		x->tbl, rocksdb_filterpolicy_create_bloom_full(10));
	set_partitioned_metadata(x->tbl);
	rocksdb_writeoptions_set_sync(x->wsync, 1);
	/* A container's record (some 48 KiB: its whole directory) is read to
	 * be kept elsewhere, in the locality or the read cache; kept in the
	 * block cache too, each would push out a dozen of the 4 KiB index
	 * and filter partitions that every fingerprint lookup needs. */
	rocksdb_readoptions_set_fill_cache(x->ropts_ctr, 0);
	for (int i = 0; i < CF_COUNT; i++) {
		x->opts[i] = rocksdb_options_create_copy(x->dbopts);
		if (!x->opts[i])
			return -ENOMEM;
		rocksdb_options_set_block_based_table_factory(x->opts[i], x->tbl);
	}
	rocksdb_options_set_compression(x->opts[CF_FP], rocksdb_no_compression);
	/* The store's own Bloom filter answers for new fingerprints before
	 * the index is asked, so a fingerprint lookup almost always finds its
	 * key: the last level, where most keys live, needs no filter (a
	 * tenth of the filter memory), only the levels above it do. */
	rocksdb_options_set_optimize_filters_for_hits(x->opts[CF_FP], 1);
	return 0;
}

int idx_open(idx **out, const char *path, size_t cache_mb)
{
	const rocksdb_options_t *cfo[CF_COUNT];
	char *err = NULL;
	idx *x;
	int rc;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	rc = make_options(x, cache_mb ? cache_mb : 64);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < CF_COUNT; i++)
		cfo[i] = x->opts[i];
	x->db = rocksdb_open_column_families(x->dbopts, path, CF_COUNT,
					     cf_names, cfo, x->cf, &err);
	if (err) {
		/* RocksDB's LOCK file: another process has this store open. */
		if (strstr(err, "lock file") || strstr(err, "LOCK"))
			rc = ddterr_set(-EBUSY, "index %s is in use by another "
					"process (%s)", path, err);
		else
			rc = ddterr_set(-EIO, "index %s: cannot open: %s", path,
					err);
		free(err);
		goto fail;
	}
	*out = x;
	return 0;
fail:
	idx_close(x);
	return rc;
}

void idx_close(idx *x)
{
	if (!x)
		return;
	for (int i = 0; i < CF_COUNT; i++)
		if (x->cf[i])
			rocksdb_column_family_handle_destroy(x->cf[i]);
	if (x->db)
		rocksdb_close(x->db);
	for (int i = 0; i < CF_COUNT; i++)
		if (x->opts[i])
			rocksdb_options_destroy(x->opts[i]);
	if (x->dbopts)
		rocksdb_options_destroy(x->dbopts);
	if (x->tbl)
		rocksdb_block_based_options_destroy(x->tbl);
	if (x->cache)
		rocksdb_cache_destroy(x->cache);
	if (x->ropts)
		rocksdb_readoptions_destroy(x->ropts);
	if (x->ropts_ctr)
		rocksdb_readoptions_destroy(x->ropts_ctr);
	if (x->wsync)
		rocksdb_writeoptions_destroy(x->wsync);
	if (x->wnosync)
		rocksdb_writeoptions_destroy(x->wnosync);
	free(x);
}

/* Fetch a value: 0 with *out (free()), -ENOENT, or -EIO. A container
 * record is not kept in the block cache (make_options). */
static int get(idx *x, int cf, const void *key, size_t klen, char **out,
	       size_t *out_len)
{
	char *err = NULL, *v;

	v = rocksdb_get_cf(x->db, cf == CF_CTR ? x->ropts_ctr : x->ropts,
			   x->cf[cf], key, klen, out_len, &err);
	if (err)
		return db_err(err, "read");
	if (!v)
		return -ENOENT;
	*out = v;
	return 0;
}

int idx_get_fp(idx *x, const fp_t *fp, uint64_t *out_cid, uint32_t *out_slot)
{
	size_t len;
	char *v;
	int rc;

	rc = get(x, CF_FP, fp->b, FP_LEN, &v, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (len != FP_VAL_LEN) {
		free(v);
		return ddterr_set(-EBADMSG, "index: fingerprint entry of %zu "
				  "bytes, expected %d", len, FP_VAL_LEN);
	}
	*out_cid = get_le64((uint8_t *)v);
	*out_slot = get_le32((uint8_t *)v + 8);
	free(v);
	return 1;
}

static void encode_ctr_head(const idx_ctr *c, uint8_t *p)
{
	memset(p, 0, CTR_REC_HEAD);
	p[0] = CTR_REC_VERSION;
	p[1] = c->k;
	p[2] = c->m;
	put_le32(p + 4, c->frag_len);
	put_le32(p + 8, c->container_len);
	put_le32(p + 12, c->nseg);
	put_le64(p + 16, c->raw_bytes);
	put_le64(p + 24, c->stored_bytes);
	put_le32(p + 32, c->data_len);
}

/* The head and directory of a "ctr" record, as idx_get_ctr decodes it. */
static int decode_ctr(uint64_t cid, const uint8_t *p, size_t len, int want_dir,
		      idx_ctr *out)
{
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (len < CTR_REC_HEAD || p[0] != CTR_REC_VERSION)
		return ddterr_set(-EBADMSG, "index: container %llu: damaged "
				  "record", (unsigned long long)cid);
	out->cid = cid;
	out->k = p[1];
	out->m = p[2];
	out->frag_len = get_le32(p + 4);
	out->container_len = get_le32(p + 8);
	out->nseg = get_le32(p + 12);
	out->raw_bytes = get_le64(p + 16);
	out->stored_bytes = get_le64(p + 24);
	out->data_len = get_le32(p + 32);
	if (len - CTR_REC_HEAD != ctr_dir_len(out->nseg))
		return ddterr_set(-EBADMSG, "index: container %llu: record "
				  "length %zu does not match %u segments",
				  (unsigned long long)cid, len, out->nseg);
	if (!want_dir)
		return 0;
	return ctr_dir_decode(p + CTR_REC_HEAD, len - CTR_REC_HEAD,
			      out->data_len, NULL, 0, &out->ents, &n);
}

int idx_get_ctr(idx *x, uint64_t cid, int want_dir, idx_ctr *out)
{
	uint8_t key[8];
	size_t len;
	char *v;
	int rc;

	memset(out, 0, sizeof(*out));
	put_be64(key, cid);
	rc = get(x, CF_CTR, key, sizeof(key), &v, &len);
	if (rc < 0)
		return rc;
	rc = decode_ctr(cid, (const uint8_t *)v, len, want_dir, out);
	free(v);
	return rc;
}

void idx_ctr_free(idx_ctr *c)
{
	free(c->ents);
	c->ents = NULL;
}

int idx_get_value(idx *x, const char *name, void *buf, size_t len)
{
	size_t got;
	char *v;
	int rc;

	rc = get(x, CF_DEFAULT, name, strlen(name), &v, &got);
	if (rc < 0)
		return rc;
	if (got != len)
		rc = ddterr_set(-EBADMSG, "index: value %s has %zu bytes, "
				"expected %zu", name, got, len);
	else
		memcpy(buf, v, len);
	free(v);
	return rc;
}

static int write_batch(idx *x, rocksdb_writebatch_t *b, int sync,
		       const char *what)
{
	char *err = NULL;

	rocksdb_write(x->db, sync ? x->wsync : x->wnosync, b, &err);
	rocksdb_writebatch_destroy(b);
	return err ? db_err(err, what) : 0;
}

int idx_get_blob(idx *x, const char *name, void **out, size_t *out_len)
{
	char *v = NULL;
	int rc = get(x, CF_DEFAULT, name, strlen(name), &v, out_len);

	if (rc == 0)
		*out = v;
	return rc;
}

int idx_put_value(idx *x, const char *name, const void *buf, size_t len)
{
	rocksdb_writebatch_t *b = rocksdb_writebatch_create();

	if (!b)
		return -ENOMEM;
	rocksdb_writebatch_put_cf(b, x->cf[CF_DEFAULT], name, strlen(name),
				  buf, len);
	return write_batch(x, b, 1, name);
}

/* Add container c's record (head and the directory ents, which may be
 * c->ents or a marked copy) to batch b. -ENOMEM. */
static int batch_put_ctr(idx *x, rocksdb_writebatch_t *b, const idx_ctr *c,
			 const ctr_entry *ents)
{
	size_t rlen = CTR_REC_HEAD + ctr_dir_len(c->nseg);
	uint8_t key[8], *rec = malloc(rlen);

	if (!rec)
		return -ENOMEM;
	encode_ctr_head(c, rec);
	ctr_dir_encode(ents, c->nseg, rec + CTR_REC_HEAD);
	put_be64(key, c->cid);
	rocksdb_writebatch_put_cf(b, x->cf[CF_CTR], (char *)key, sizeof(key),
				  (char *)rec, rlen);
	free(rec);
	return 0;
}

int idx_seal(idx *x, const idx_ctr *c, int nvals, const char *const *names,
	     const void *const *vals, const size_t *lens)
{
	rocksdb_writebatch_t *b = rocksdb_writebatch_create();
	uint8_t fpv[FP_VAL_LEN];

	if (!b || batch_put_ctr(x, b, c, c->ents) < 0) {
		if (b)
			rocksdb_writebatch_destroy(b);
		return -ENOMEM;
	}
	put_le64(fpv, c->cid);
	for (uint32_t i = 0; i < c->nseg; i++) {
		put_le32(fpv + 8, i);
		rocksdb_writebatch_put_cf(b, x->cf[CF_FP],
					  (char *)c->ents[i].fp.b, FP_LEN,
					  (char *)fpv, sizeof(fpv));
	}
	for (int i = 0; i < nvals; i++)
		rocksdb_writebatch_put_cf(b, x->cf[CF_DEFAULT], names[i],
					  strlen(names[i]), vals[i], lens[i]);
	return write_batch(x, b, 0, "seal container");
}

int idx_sync(idx *x)
{
	char *err = NULL;

	rocksdb_flush_wal(x->db, 1, &err);
	return err ? db_err(err, "sync") : 0;
}

int idx_kv_has_many(idx *x, int space, const void *const *keys,
		    const size_t *klens, size_t n, uint8_t *present)
{
	const rocksdb_column_family_handle_t **cfs;
	char **vals, **errs;
	size_t *vlens;
	int rc = 0;

	if (n == 0)
		return 0;
	cfs = malloc(n * sizeof(*cfs));
	vals = calloc(n, sizeof(*vals));
	errs = calloc(n, sizeof(*errs));
	vlens = malloc(n * sizeof(*vlens));
	if (!cfs || !vals || !errs || !vlens) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		cfs[i] = x->cf[space_cf(space)];
	rocksdb_multi_get_cf(x->db, x->ropts, cfs, n,
			     (const char *const *)keys, klens, vals, vlens,
			     errs);
	for (size_t i = 0; i < n; i++) {
		if (errs[i] && rc == 0)
			rc = db_err(errs[i], "read");
		else
			free(errs[i]);
		present[i] = vals[i] != NULL;
		free(vals[i]);
	}
out:
	free(cfs);
	free(vals);
	free(errs);
	free(vlens);
	return rc;
}

int idx_kv_write_one(idx *x, int space, const void *key, size_t klen,
		     const void *val, size_t vlen)
{
	idx_batch *b;
	int rc = idx_batch_new(&b);

	if (rc < 0)
		return rc;
	if (val)
		idx_batch_put(b, space, key, klen, val, vlen);
	else
		idx_batch_del(b, space, key, klen);
	rc = idx_batch_write(x, b, 1);
	idx_batch_free(b);
	return rc;
}

int idx_kv_get(idx *x, int space, const void *key, size_t klen, void **out,
	       size_t *out_len)
{
	char *v = NULL;
	int rc;

	rc = get(x, space_cf(space), key, klen, &v, out_len);
	if (rc == 0)
		*out = v;
	return rc;
}

/* RocksDB's C write batch wants a column family handle per operation, and
 * handles belong to an open database; a batch is made before it meets
 * one, so it records its operations in a small log of its own and replays
 * them into a RocksDB batch at write time. */
typedef struct batch_op {
	uint8_t del, space;
	uint32_t klen, vlen;	/* key then value follow in the log */
} batch_op;

struct idx_batch {
	uint8_t *log;
	size_t len, cap;
	int err;
};

int idx_batch_new(idx_batch **out)
{
	idx_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	*out = b;
	return 0;
}

static void batch_add(idx_batch *b, int del, int space, const void *key,
		      size_t klen, const void *val, size_t vlen)
{
	size_t need = sizeof(batch_op) + klen + vlen;
	batch_op op = { .del = (uint8_t)del, .space = (uint8_t)space,
			.klen = (uint32_t)klen, .vlen = (uint32_t)vlen };

	if (b->err)
		return;
	if (b->len + need > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		uint8_t *nl;

		while (ncap < b->len + need)
			ncap *= 2;
		nl = realloc(b->log, ncap);
		if (!nl) {
			b->err = -ENOMEM;
			return;
		}
		b->log = nl;
		b->cap = ncap;
	}
	memcpy(b->log + b->len, &op, sizeof(op));
	memcpy(b->log + b->len + sizeof(op), key, klen);
	if (vlen)
		memcpy(b->log + b->len + sizeof(op) + klen, val, vlen);
	b->len += need;
}

void idx_batch_put(idx_batch *b, int space, const void *key, size_t klen,
		   const void *val, size_t vlen)
{
	batch_add(b, 0, space, key, klen, val, vlen);
}

void idx_batch_del(idx_batch *b, int space, const void *key, size_t klen)
{
	batch_add(b, 1, space, key, klen, NULL, 0);
}

int idx_batch_write(idx *x, idx_batch *b, int sync)
{
	rocksdb_writebatch_t *wb;
	size_t off = 0;

	if (b->err)
		return b->err;
	wb = rocksdb_writebatch_create();
	if (!wb)
		return -ENOMEM;
	while (off < b->len) {
		batch_op op;
		const char *key;

		memcpy(&op, b->log + off, sizeof(op));
		key = (const char *)b->log + off + sizeof(op);
		if (op.del)
			rocksdb_writebatch_delete_cf(wb, x->cf[space_cf(op.space)],
						     key, op.klen);
		else
			rocksdb_writebatch_put_cf(wb, x->cf[space_cf(op.space)],
						  key, op.klen, key + op.klen,
						  op.vlen);
		off += sizeof(op) + op.klen + op.vlen;
	}
	return write_batch(x, wb, sync, "namespace update");
}

void idx_batch_free(idx_batch *b)
{
	if (!b)
		return;
	free(b->log);
	free(b);
}

/* Call cb for the rows of column family cf from start (or prefix, or the
 * first) while their keys begin with prefix; a non-zero return stops the
 * scan and is returned. Whole-family scans pass fill_cache 0: they would
 * flush the block cache of everything lookups need. */
static int scan_cf(idx *x, int cf, const void *prefix, size_t plen,
		   const void *start, size_t slen, int fill_cache,
		   idx_kv_cb cb, void *arg, const char *what)
{
	rocksdb_readoptions_t *ro = x->ropts;
	rocksdb_iterator_t *it;
	char *err = NULL;
	int rc = 0;

	if (!fill_cache) {
		if (!(ro = rocksdb_readoptions_create()))
			return -ENOMEM;
		rocksdb_readoptions_set_fill_cache(ro, 0);
	}
	it = rocksdb_create_iterator_cf(x->db, ro, x->cf[cf]);
	if (start)
		rocksdb_iter_seek(it, start, slen);
	else if (plen)
		rocksdb_iter_seek(it, prefix, plen);
	else
		rocksdb_iter_seek_to_first(it);
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);

		if (plen && (kl < plen || memcmp(k, prefix, plen) != 0))
			break;
		rc = cb(arg, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
		if (rc)
			break;
	}
	if (rc == 0) {
		rocksdb_iter_get_error(it, &err);
		if (err)
			rc = db_err(err, what);
	}
	rocksdb_iter_destroy(it);
	if (ro != x->ropts)
		rocksdb_readoptions_destroy(ro);
	return rc;
}

int idx_kv_scan(idx *x, int space, const void *prefix, size_t plen,
		const void *start, size_t slen, idx_kv_cb cb, void *arg)
{
	return scan_cf(x, space_cf(space), prefix, plen, start, slen, 1, cb,
		       arg, "scan");
}

typedef struct fp_scan {
	idx_fp_cb cb;
	void *arg;
} fp_scan;

static int fp_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
		  size_t vl)
{
	fp_scan *f = arg;
	fp_t fp;

	if (kl != FP_LEN || vl != FP_VAL_LEN)
		return ddterr_set(-EBADMSG, "index: malformed fingerprint "
				  "entry (%zu/%zu bytes)", kl, vl);
	memcpy(fp.b, k, FP_LEN);
	return f->cb(f->arg, &fp, get_le64(v), get_le32(v + 8));
}

int idx_foreach_fp(idx *x, idx_fp_cb cb, void *arg)
{
	fp_scan f = { .cb = cb, .arg = arg };

	return scan_cf(x, CF_FP, NULL, 0, NULL, 0, 0, fp_row, &f, "scan");
}

typedef struct ctr_scan {
	idx_ctr_cb cb;
	void *arg;
	int want_dir;
} ctr_scan;

static int ctr_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
		   size_t vl)
{
	ctr_scan *x = arg;
	idx_ctr c;
	int rc = 0;

	if (kl != 8)
		return ddterr_set(-EBADMSG, "index: malformed container key "
				  "(%zu bytes)", kl);
	if (x->want_dir < 0) {	/* the id alone, damaged or not */
		memset(&c, 0, sizeof(c));
		c.cid = get_be64(k);
	} else {
		rc = decode_ctr(get_be64(k), v, vl, x->want_dir, &c);
	}
	if (rc == 0)
		rc = x->cb(x->arg, &c);
	idx_ctr_free(&c);
	return rc;
}

int idx_foreach_ctr(idx *x, uint64_t start, int want_dir, idx_ctr_cb cb,
		    void *arg)
{
	ctr_scan c = { .cb = cb, .arg = arg, .want_dir = want_dir };
	uint8_t key[8];

	put_be64(key, start);
	return scan_cf(x, CF_CTR, NULL, 0, key, sizeof(key), 0, ctr_row, &c,
		       "scan containers");
}

int idx_put_ctr(idx *x, const idx_ctr *c)
{
	rocksdb_writebatch_t *b = rocksdb_writebatch_create();

	if (!b || batch_put_ctr(x, b, c, c->ents) < 0) {
		if (b)
			rocksdb_writebatch_destroy(b);
		return -ENOMEM;
	}
	return write_batch(x, b, 0, "rewrite container record");
}

int idx_drop(idx *x, const uint64_t *cids, size_t ncids, const fp_t *fps,
	     size_t nfps, int nvals, const char *const *names,
	     const void *const *vals, const size_t *lens)
{
	rocksdb_writebatch_t *b = rocksdb_writebatch_create();
	uint8_t key[8];

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < ncids; i++) {
		put_be64(key, cids[i]);
		rocksdb_writebatch_delete_cf(b, x->cf[CF_CTR], (char *)key,
					     sizeof(key));
	}
	for (size_t i = 0; i < nfps; i++)
		rocksdb_writebatch_delete_cf(b, x->cf[CF_FP],
					     (const char *)fps[i].b, FP_LEN);
	for (int i = 0; i < nvals; i++)
		rocksdb_writebatch_put_cf(b, x->cf[CF_DEFAULT], names[i],
					  strlen(names[i]), vals[i], lens[i]);
	return write_batch(x, b, 1, "drop containers");
}

typedef struct list_ctx {
	uint64_t *out;
	size_t max, n;
} list_ctx;

static int list_cb(void *arg, const idx_ctr *c)
{
	list_ctx *l = arg;

	l->out[l->n++] = c->cid;
	return l->n == l->max;	/* 1: stopped early */
}

int idx_ctr_list(idx *x, uint64_t from, uint64_t *out, size_t max,
		 size_t *out_n)
{
	list_ctx l = { .out = out, .max = max };
	int rc = max ? idx_foreach_ctr(x, from, -1, list_cb, &l) : 0;

	*out_n = l.n;
	return rc < 0 ? rc : 0;
}

/* ---- memory figures ---- */

/* Sum of an integer property over the column families; a family that
 * does not answer adds nothing. */
static uint64_t property_sum(idx *x, const char *name)
{
	uint64_t sum = 0, v;

	for (int i = 0; i < CF_COUNT; i++)
		if (rocksdb_property_int_cf(x->db, x->cf[i], name, &v) == 0)
			sum += v;
	return sum;
}

int idx_mem_figures(idx *x, idx_mem *out)
{
	out->cache_capacity = rocksdb_cache_get_capacity(x->cache);
	out->cache_usage = rocksdb_cache_get_usage(x->cache);
	out->cache_pinned = rocksdb_cache_get_pinned_usage(x->cache);
	out->memtables = property_sum(x, "rocksdb.cur-size-all-mem-tables");
	out->table_readers = property_sum(x,
					  "rocksdb.estimate-table-readers-mem");
	out->sst_bytes = property_sum(x, "rocksdb.total-sst-files-size");
	return 0;
}

/* ---- checkpoints and their reconciliation ---- */

int idx_checkpoint(idx *x, const char *dir)
{
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	rocksdb_checkpoint_t *cp = NULL;
	char *err = NULL;

	if (!fo)
		return -ENOMEM;
	/* Flushed memtables leave the checkpoint its data in tables rather
	 * than in a copied log, and make the live index durable up to the
	 * same point: nothing the checkpoint holds can be lost by a crash
	 * of the store it was taken from. */
	rocksdb_flushoptions_set_wait(fo, 1);
	for (int i = 0; i < CF_COUNT && !err; i++)
		rocksdb_flush_cf(x->db, fo, x->cf[i], &err);
	rocksdb_flushoptions_destroy(fo);
	if (err)
		return db_err(err, "flush for a checkpoint");
	cp = rocksdb_checkpoint_object_create(x->db, &err);
	if (!err)
		rocksdb_checkpoint_create(cp, dir, 0, &err);
	if (cp)
		rocksdb_checkpoint_object_destroy(cp);
	return err ? db_err(err, "checkpoint") : 0;
}

typedef struct cid_ctx {
	idx_cid_cb cb;
	void *arg;
} cid_ctx;

static int cid_cb(void *arg, const idx_ctr *c)
{
	cid_ctx *x = arg;

	return x->cb(x->arg, c->cid);
}

int idx_foreach_cid(idx *x, idx_cid_cb cb, void *arg)
{
	cid_ctx c = { .cb = cb, .arg = arg };

	return idx_foreach_ctr(x, 0, -1, cid_cb, &c);
}

/* 1 if the index records container cid, 0 if not, -EIO. */
static int ctr_recorded(idx *x, uint64_t cid)
{
	uint8_t key[8];
	size_t len;
	char *v;
	int rc;

	put_be64(key, cid);
	rc = get(x, CF_CTR, key, sizeof(key), &v, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	free(v);
	return 1;
}

static void add_sums(const ctr_entry *e, uint64_t *segs, uint64_t *raw,
		     uint64_t *stored)
{
	(*segs)++;
	*raw += e->raw_len;
	*stored += e->stored_len;
}

static void give_sums(uint64_t segs, uint64_t raw, uint64_t stored,
		      uint64_t *out_segs, uint64_t *out_raw,
		      uint64_t *out_stored)
{
	if (out_segs)
		*out_segs = segs;
	if (out_raw)
		*out_raw = raw;
	if (out_stored)
		*out_stored = stored;
}

int idx_drop_ctr(idx *x, uint64_t cid, uint64_t *out_segs, uint64_t *out_raw,
		 uint64_t *out_stored)
{
	uint64_t segs = 0, raw = 0, stored = 0, at;
	rocksdb_writebatch_t *b;
	uint8_t key[8];
	uint32_t slot;
	idx_ctr c;
	int rc;

	rc = idx_get_ctr(x, cid, 1, &c);
	if (rc < 0)
		return rc;
	b = rocksdb_writebatch_create();
	if (!b) {
		idx_ctr_free(&c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c.nseg; i++) {
		rc = idx_get_fp(x, &c.ents[i].fp, &at, &slot);
		if (rc < 0)
			break;
		if (rc == 0 || at != cid)
			continue;	/* another container holds it now */
		rocksdb_writebatch_delete_cf(b, x->cf[CF_FP],
					     (char *)c.ents[i].fp.b, FP_LEN);
		add_sums(&c.ents[i], &segs, &raw, &stored);
	}
	idx_ctr_free(&c);
	if (rc < 0) {
		rocksdb_writebatch_destroy(b);
		return rc;
	}
	put_be64(key, cid);
	rocksdb_writebatch_delete_cf(b, x->cf[CF_CTR], (char *)key, sizeof(key));
	rc = write_batch(x, b, 0, "drop container");
	if (rc == 0)
		give_sums(segs, raw, stored, out_segs, out_raw, out_stored);
	return rc;
}

/* Whether container cid should own fp: it is unindexed, already cid's, or
 * indexed to a container the index no longer records. 1, 0 or -EIO. */
static int should_own(idx *x, uint64_t cid, const fp_t *fp)
{
	uint64_t at;
	uint32_t slot;
	int rc;

	rc = idx_get_fp(x, fp, &at, &slot);
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	if (at == cid)
		return 1;
	rc = ctr_recorded(x, at);
	return rc < 0 ? rc : !rc;
}

int idx_adopt_ctr(idx *x, const idx_ctr *c, uint64_t *out_segs,
		  uint64_t *out_raw, uint64_t *out_stored)
{
	uint64_t segs = 0, raw = 0, stored = 0;
	uint8_t fpv[FP_VAL_LEN];
	rocksdb_writebatch_t *b;
	ctr_entry *ents;
	int rc = 0;

	ents = malloc((c->nseg ? c->nseg : 1) * sizeof(*ents));
	b = rocksdb_writebatch_create();
	if (!ents || !b) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(ents, c->ents, c->nseg * sizeof(*ents));
	put_le64(fpv, c->cid);
	for (uint32_t i = 0; i < c->nseg; i++) {
		rc = should_own(x, c->cid, &ents[i].fp);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			/* Another container holds it: this copy is marked
			 * moved, as cleaning marks the copies it leaves. */
			ents[i].moved = 1;
			continue;
		}
		put_le32(fpv + 8, i);
		rocksdb_writebatch_put_cf(b, x->cf[CF_FP],
					  (char *)ents[i].fp.b, FP_LEN,
					  (char *)fpv, sizeof(fpv));
		add_sums(&ents[i], &segs, &raw, &stored);
	}
	rc = batch_put_ctr(x, b, c, ents);
	if (rc == 0) {
		rc = write_batch(x, b, 0, "index a container found on disk");
		b = NULL;
	}
	if (rc == 0)
		give_sums(segs, raw, stored, out_segs, out_raw, out_stored);
out:
	if (b)
		rocksdb_writebatch_destroy(b);
	free(ents);
	return rc;
}
