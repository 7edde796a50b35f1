/* ctrio.c - writing a container as erasure-coded fragments and reading it
 * back, rebuilding whatever fragments are missing or damaged. */
#include "ctrio.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ddterr.h"
#include "fio.h"
#include "frag.h"
#include "tpool.h"

/* Fragments are whole pages, so that the k + m of a container sit in its
 * buffer on page boundaries and go to disk with O_DIRECT (see frag.h).
 * Containers sealed before held 64-byte multiples; ctrio_frag_len_ok(). */
#define FRAG_ALIGN	FIO_DIO_ALIGN
#define FRAG_ALIGN_V1	64
#define CTRIO_GROUP_SHIFT	12	/* containers per subdirectory: 4096 */

static uint32_t frag_len_aligned(const ctrio_layout *L, size_t len,
				 size_t align)
{
	size_t k = (size_t)ec_k(L->e);
	size_t f = (len + k - 1) / k;

	f = (f + align - 1) / align * align;
	return (uint32_t)(f ? f : align);
}

uint32_t ctrio_frag_len(const ctrio_layout *L, size_t len)
{
	return frag_len_aligned(L, len, FRAG_ALIGN);
}

int ctrio_frag_len_ok(const ctrio_layout *L, size_t len, uint32_t frag_len)
{
	return frag_len == ctrio_frag_len(L, len) ||
	       frag_len == frag_len_aligned(L, len, FRAG_ALIGN_V1);
}

int ctrio_dir_index(const ctrio_layout *L, uint64_t cid, int index)
{
	return (int)((cid + (uint64_t)index) % (uint64_t)L->ndirs);
}

static const char *dir_of(const ctrio_layout *L, uint64_t cid, int index)
{
	return L->dirs[ctrio_dir_index(L, cid, index)];
}

void ctrio_frag_path(const ctrio_layout *L, uint64_t cid, int index, char *buf,
		     size_t cap)
{
	snprintf(buf, cap, "%s/%05llx/%016llx.frag", dir_of(L, cid, index),
		 (unsigned long long)(cid >> CTRIO_GROUP_SHIFT),
		 (unsigned long long)cid);
}

/* The group subdirectory must exist, and a new one must be durable before
 * a fragment inside it can be. */
static int ensure_group_dir(const ctrio_layout *L, uint64_t cid, int index)
{
	const char *dir = dir_of(L, cid, index);
	char sub[4096];
	int rc;

	snprintf(sub, sizeof(sub), "%s/%05llx", dir,
		 (unsigned long long)(cid >> CTRIO_GROUP_SHIFT));
	if (mkdir(sub, FIO_DIR_MODE) == 0)
		rc = fio_fsync_dir(dir);
	else
		rc = errno == EEXIST ? 0 : -errno;
	if (rc < 0)
		return ddterr_set(rc, "storage directory %s: cannot create %s: %s",
				  dir, sub, strerror(-rc));
	return 0;
}

/* One fragment's write, a job for one of the fragment writers: the k + m
 * files go to k + m disks, and each write ends in fsyncs that the others
 * should not queue behind. */
typedef struct frag_job {
	const ctrio_layout *L;
	uint64_t cid;
	frag_hdr h;
	const uint8_t *payload;
	int rc;
	char msg[512];
} frag_job;

static void frag_job_run(void *worker, void *arg)
{
	frag_job *j = arg;
	char path[4096];

	(void)worker;
	j->rc = ensure_group_dir(j->L, j->cid, j->h.index);
	if (j->rc == 0) {
		ctrio_frag_path(j->L, j->cid, j->h.index, path, sizeof(path));
		j->rc = frag_write_new(path, &j->h, j->payload);
	}
	if (j->rc < 0)	/* ddterr is per thread: carry the message home */
		snprintf(j->msg, sizeof(j->msg), "%s", ddterr_last(j->rc));
}

int ctrio_write(const ctrio_layout *L, tpool *writers, uint64_t cid,
		uint8_t *buf, uint32_t container_len, uint32_t frag_len,
		int *out_missing)
{
	int k = ec_k(L->e), m = ec_m(L->e), n = k + m, rc, missing = 0;
	uint8_t *frags[EC_MAX_FRAGS];
	frag_job jobs[EC_MAX_FRAGS];

	for (int i = 0; i < n; i++)
		frags[i] = buf + (size_t)i * frag_len;
	memset(buf + container_len, 0, (size_t)k * frag_len - container_len);
	rc = ec_encode(L->e, frag_len, frags, frags + k);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		jobs[i] = (frag_job){
			.L = L, .cid = cid, .payload = frags[i],
			.h = { .cid = cid, .payload_len = frag_len,
			       .container_len = container_len,
			       .k = (uint8_t)k, .m = (uint8_t)m,
			       .index = (uint8_t)i },
		};
		/* Without the pool the write still happens, just serially. */
		if (!writers || tpool_push(writers, frag_job_run, &jobs[i]) < 0)
			frag_job_run(NULL, &jobs[i]);
	}
	if (writers)
		tpool_drain(writers);
	/* A fragment whose storage directory is gone (a missing disk) is
	 * left out, up to m of them: the container is written degraded and
	 * a scrub rebuilds it once the disk is back. Any other failure, or
	 * too many, fails the write. */
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (jobs[i].rc >= 0)
			continue;
		if (stat(dir_of(L, cid, i), &st) != 0 && errno == ENOENT &&
		    missing < m) {
			missing++;
			continue;
		}
		return ddterr_set(jobs[i].rc, "%s", jobs[i].msg);
	}
	if (out_missing)
		*out_missing = missing;
	return 0;
}

/* Read fragment i into its place; 0 or the frag_read error. A fragment
 * whose header disagrees on the container length is as bad as a torn one. */
static int read_one(const ctrio_layout *L, uint64_t cid, int i,
		    uint32_t container_len, uint32_t frag_len, uint8_t *dst)
{
	frag_hdr want = {
		.cid = cid, .payload_len = frag_len,
		.k = (uint8_t)ec_k(L->e), .m = (uint8_t)ec_m(L->e),
		.index = (uint8_t)i,
	};
	char path[4096];
	uint32_t clen;
	int rc;

	ctrio_frag_path(L, cid, i, path, sizeof(path));
	rc = frag_read(path, &want, dst, &clen);
	if (rc == 0 && clen != container_len)
		rc = ddterr_set(-EBADMSG, "fragment %s: container length %u, "
				"expected %u", path, clen, container_len);
	return rc;
}

int ctrio_read(const ctrio_layout *L, uint64_t cid, uint32_t container_len,
	       uint32_t frag_len, uint8_t **out_buf, int *out_rebuilt)
{
	int k = ec_k(L->e), m = ec_m(L->e), good = 0, lost = 0, rc = 0;
	uint8_t *frags[EC_MAX_FRAGS], present[EC_MAX_FRAGS] = { 0 };
	char first_err[512] = "";
	uint8_t *buf;

	/* Page-aligned, so that whole-page fragments are read into it
	 * with O_DIRECT. */
	if (posix_memalign((void **)&buf, FIO_DIO_ALIGN,
			   (size_t)(k + m) * frag_len) != 0)
		return -ENOMEM;
	/* Data fragments first: when all k are good no decoding is needed.
	 * Parity is read only to replace what failed. */
	for (int i = 0; i < k + m && good < k; i++) {
		frags[i] = buf + (size_t)i * frag_len;
		rc = read_one(L, cid, i, container_len, frag_len, frags[i]);
		if (rc == 0) {
			present[i] = 1;
			good++;
			continue;
		}
		if (rc == -ENOMEM)
			goto fail;
		if (!first_err[0])
			snprintf(first_err, sizeof(first_err), "%s",
				 ddterr_last(rc));
		if (i < k)
			lost++;
	}
	for (int i = 0; i < k + m; i++)
		frags[i] = buf + (size_t)i * frag_len;
	if (good < k) {
		rc = ddterr_set(-EIO, "container %llu: only %d of %d fragments "
				"readable, %d needed (%s)",
				(unsigned long long)cid, good, k + m, k, first_err);
		goto fail;
	}
	if (lost) {
		rc = ec_reconstruct(L->e, frag_len, frags, present);
		if (rc < 0)
			goto fail;
	}
	if (out_rebuilt)
		*out_rebuilt = lost;
	*out_buf = buf;
	return 0;
fail:
	free(buf);
	return rc;
}

int ctrio_read_frag(const ctrio_layout *L, uint64_t cid, int index,
		    uint32_t container_len, uint32_t frag_len, uint8_t *dst)
{
	return read_one(L, cid, index, container_len, frag_len, dst);
}

int ctrio_rewrite_frag(const ctrio_layout *L, uint64_t cid, int index,
		       uint32_t container_len, uint32_t frag_len,
		       const uint8_t *payload)
{
	frag_hdr h = {
		.cid = cid, .payload_len = frag_len,
		.container_len = container_len,
		.k = (uint8_t)ec_k(L->e), .m = (uint8_t)ec_m(L->e),
		.index = (uint8_t)index,
	};
	char path[4096];
	int rc;

	rc = ensure_group_dir(L, cid, index);
	if (rc < 0)
		return rc;
	ctrio_frag_path(L, cid, index, path, sizeof(path));
	return frag_write(path, &h, payload);
}

/* ---- finding the containers on disk ---- */

typedef struct idvec {
	uint64_t *v;
	size_t n, cap;
} idvec;

static int idvec_push(idvec *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 256;
		uint64_t *nv = realloc(a->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void idvec_sort_unique(idvec *a)
{
	size_t j = 0;

	qsort(a->v, a->n, sizeof(*a->v), cmp_u64);
	for (size_t i = 0; i < a->n; i++)
		if (j == 0 || a->v[j - 1] != a->v[i])
			a->v[j++] = a->v[i];
	a->n = j;
}

/* name is exactly `digits` lowercase hex digits followed by tail. */
static int parse_hex_name(const char *name, int digits, const char *tail,
			  uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < digits; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	if (strcmp(name + digits, tail) != 0)
		return 0;
	*out = v;
	return 1;
}

/* Add the parsed names of directory dir to a; a missing one adds none. */
static int scan_names(const char *dir, int digits, const char *tail,
		      idvec *a)
{
	struct dirent *de;
	uint64_t v;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 :
		       ddterr_set(-errno, "cannot read %s: %s", dir,
				  strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (parse_hex_name(de->d_name, digits, tail, &v))
			rc = idvec_push(a, v);
	closedir(d);
	return rc;
}

static int scan_group(const ctrio_layout *L, uint64_t g, ctrio_cid_cb cb,
		      void *arg)
{
	idvec ids = { 0 };
	char sub[4096];
	int rc = 0;

	for (int i = 0; rc == 0 && i < L->ndirs; i++) {
		snprintf(sub, sizeof(sub), "%s/%05llx", L->dirs[i],
			 (unsigned long long)g);
		rc = scan_names(sub, 16, ".frag", &ids);
	}
	if (rc == 0)
		idvec_sort_unique(&ids);
	for (size_t i = 0; rc == 0 && i < ids.n; i++)
		if (ids.v[i] >> CTRIO_GROUP_SHIFT == g)
			rc = cb(arg, ids.v[i]);
	free(ids.v);
	return rc;
}

/* A group at a time, so memory stays at one group's ids however large
 * the store. */
int ctrio_foreach_cid(const ctrio_layout *L, ctrio_cid_cb cb, void *arg)
{
	idvec groups = { 0 };
	int rc = 0;

	for (int i = 0; rc == 0 && i < L->ndirs; i++)
		rc = scan_names(L->dirs[i], 5, "", &groups);
	if (rc == 0)
		idvec_sort_unique(&groups);
	for (size_t i = 0; rc == 0 && i < groups.n; i++)
		rc = scan_group(L, groups.v[i], cb, arg);
	free(groups.v);
	return rc;
}
