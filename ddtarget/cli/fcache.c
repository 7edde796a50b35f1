/* fcache.c - the client file cache: a hash table of absolute paths in
 * memory, a compact binary file on disk. The file is only a hint (a wrong
 * root is caught by the target's COMMIT check, and the file is then read
 * after all), so anything odd about it costs a rebuild, never an error.
 *
 * The file, all integers little-endian:
 *   header (32 bytes): magic "DDTFCACH", u32 version, u32 reserved 0,
 *     u64 count, u32 CRC32C of the entries, u32 CRC32C of bytes 0..27
 *   count entries: u16 path length, the path (no NUL), u64 size,
 *     i64 mtime, i64 ctime, u64 ino, u64 dev, u64 root size, u8 level,
 *     fp root (32 bytes)
 * It is written whole to a temp file, fsynced and renamed over the old one,
 * so a crash leaves the old cache or the new one. */
#include "fcache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "path.h"

#define FC_MAGIC	"DDTFCACH"
#define FC_VERSION	1
#define FC_HDR_LEN	32
#define FC_ENT_FIXED	(2 + 8 * 6 + 1 + FP_LEN)
#define FC_PATH_MAX	UINT16_MAX
#define FC_FILE_MAX	((size_t)1 << 32)	/* refuse to load more */
#define FC_WBUF		(256u * 1024)
#define FC_MIN_BUCKETS	1024

typedef struct fc_ent {
	struct fc_ent *next;
	uint64_t hash;
	fc_val v;
	int kept;		/* put since the load: survives a save */
	uint16_t len;
	char path[];
} fc_ent;

struct fcache {
	pthread_mutex_t lock;
	char *file;
	fc_ent **b;
	size_t nb, n;
};

/* ---- the table ---- */

static uint64_t path_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (n--) {
		h ^= (uint8_t)*p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static fc_ent **slot(fcache *fc, const char *path, size_t len, uint64_t h)
{
	fc_ent **pp = &fc->b[h & (fc->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->path, path, len) == 0)
			break;
	return pp;
}

/* Double the buckets when the chains average one entry. Failing to grow
 * only makes chains longer, so it is not an error. */
static void maybe_grow(fcache *fc)
{
	size_t nb = fc->nb * 2, i;
	fc_ent **b;

	if (fc->n < fc->nb)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < fc->nb; i++) {
		fc_ent *e = fc->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(fc->b);
	fc->b = b;
	fc->nb = nb;
}

/* Insert or overwrite, the lock held. */
static int put_locked(fcache *fc, const char *path, size_t len,
		      const fc_val *v, int kept)
{
	uint64_t h = path_hash(path, len);
	fc_ent **pp = slot(fc, path, len, h), *e;

	if (*pp) {
		(*pp)->v = *v;
		(*pp)->kept |= kept;
		return 0;
	}
	e = malloc(sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->hash = h;
	e->v = *v;
	e->kept = kept;
	e->len = (uint16_t)len;
	memcpy(e->path, path, len);
	*pp = e;
	fc->n++;
	maybe_grow(fc);
	return 0;
}

int fcache_lookup(fcache *fc, const char *path, fc_val *out)
{
	size_t len = strlen(path);
	fc_ent *e;

	if (len > FC_PATH_MAX)
		return 0;
	pthread_mutex_lock(&fc->lock);
	e = *slot(fc, path, len, path_hash(path, len));
	if (e)
		*out = e->v;
	pthread_mutex_unlock(&fc->lock);
	return e != NULL;
}

int fcache_put(fcache *fc, const char *path, const fc_val *v)
{
	size_t len = strlen(path);
	int rc;

	if (len > FC_PATH_MAX)
		return 0;	/* not cacheable; read every time */
	pthread_mutex_lock(&fc->lock);
	rc = put_locked(fc, path, len, v, 1);
	pthread_mutex_unlock(&fc->lock);
	return rc;
}

void fcache_drop(fcache *fc, const char *path)
{
	size_t len = strlen(path);
	fc_ent **pp, *e;

	if (len > FC_PATH_MAX)
		return;
	pthread_mutex_lock(&fc->lock);
	pp = slot(fc, path, len, path_hash(path, len));
	e = *pp;
	if (e) {
		*pp = e->next;
		free(e);
		fc->n--;
	}
	pthread_mutex_unlock(&fc->lock);
}

size_t fcache_count(fcache *fc)
{
	size_t n;

	pthread_mutex_lock(&fc->lock);
	n = fc->n;
	pthread_mutex_unlock(&fc->lock);
	return n;
}

static void clear_entries(fcache *fc)
{
	for (size_t i = 0; i < fc->nb; i++) {
		fc_ent *e = fc->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		fc->b[i] = NULL;
	}
	fc->n = 0;
}

void fcache_free(fcache *fc)
{
	if (!fc)
		return;
	if (fc->b)	/* NULL when fcache_load() ran out of memory */
		clear_entries(fc);
	free(fc->b);
	free(fc->file);
	pthread_mutex_destroy(&fc->lock);
	free(fc);
}

/* ---- the file ---- */

static int read_all(const char *file, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FC_FILE_MAX) {
		rc = -EBADMSG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = buf;
	*out_len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Check and load a whole file's bytes. -EBADMSG (with *why) for anything
 * malformed, -ENOMEM. */
static int parse(fcache *fc, const uint8_t *p, size_t len, const char **why)
{
	uint64_t count, i;
	size_t off = FC_HDR_LEN;

	if (len < FC_HDR_LEN || memcmp(p, FC_MAGIC, 8) != 0) {
		*why = "not a ddt file cache";
		return -EBADMSG;
	}
	/* The version first: another version's header may differ. */
	if (get_le32(p + 8) != FC_VERSION) {
		*why = "it was written by another version of ddt";
		return -EBADMSG;
	}
	if (get_le32(p + 28) != crc32c(0, p, 28)) {
		*why = "its header is damaged";
		return -EBADMSG;
	}
	if (get_le32(p + 24) != crc32c(0, p + FC_HDR_LEN, len - FC_HDR_LEN)) {
		*why = "its checksum does not match (damaged or cut short)";
		return -EBADMSG;
	}
	count = get_le64(p + 16);
	for (i = 0; i < count; i++) {
		fc_val v;
		size_t n;
		int rc;

		if (len - off < FC_ENT_FIXED)
			goto bad;
		n = get_le16(p + off);
		if (n == 0 || len - off < FC_ENT_FIXED + n || p[off + 2] != '/')
			goto bad;
		off += 2 + n;
		v.size = get_le64(p + off);
		v.mtime = (int64_t)get_le64(p + off + 8);
		v.ctime = (int64_t)get_le64(p + off + 16);
		v.ino = get_le64(p + off + 24);
		v.dev = get_le64(p + off + 32);
		v.root_size = get_le64(p + off + 40);
		v.level = p[off + 48];
		memcpy(v.root.b, p + off + 49, FP_LEN);
		rc = put_locked(fc, (const char *)p + off - n, n, &v, 0);
		if (rc < 0)
			return rc;
		off += FC_ENT_FIXED - 2;
	}
	if (off == len)
		return 0;
bad:
	*why = "its entries are malformed";
	return -EBADMSG;
}

int fcache_load(fcache **out, const char *file, const char **why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	fcache *fc;
	int rc;

	*why = NULL;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return -ENOMEM;
	pthread_mutex_init(&fc->lock, NULL);
	fc->nb = FC_MIN_BUCKETS;
	fc->b = calloc(fc->nb, sizeof(*fc->b));
	fc->file = strdup(file);
	if (!fc->b || !fc->file) {
		fcache_free(fc);
		return -ENOMEM;
	}
	rc = read_all(file, &buf, &len);
	if (rc == -ENOMEM) {
		fcache_free(fc);
		return rc;
	}
	if (rc == -EBADMSG)
		*why = "not a regular file, or too large";
	else if (rc < 0 && rc != -ENOENT)
		*why = strerror(-rc);
	if (rc == 0) {
		rc = parse(fc, buf, len, why);
		free(buf);
		if (rc == -ENOMEM) {
			fcache_free(fc);
			return rc;
		}
		/* Half a damaged file is not worth trusting. */
		if (rc < 0)
			clear_entries(fc);
	}
	*out = fc;
	return 0;
}

/* A buffered writer that keeps the CRC of what it wrote. */
typedef struct wr {
	int fd;
	uint8_t buf[FC_WBUF];
	size_t n;
	uint32_t crc;
	int err;
} wr;

static int write_full(int fd, const void *p, size_t n, off_t at)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, (const char *)p + done, n - done,
				   at + (off_t)done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

static void wr_flush(wr *w, off_t *at)
{
	if (w->err || w->n == 0)
		return;
	w->crc = crc32c(w->crc, w->buf, w->n);
	w->err = write_full(w->fd, w->buf, w->n, *at);
	*at += (off_t)w->n;
	w->n = 0;
}

static void wr_entry(wr *w, off_t *at, const fc_ent *e)
{
	uint8_t *p;

	if (FC_WBUF - w->n < FC_ENT_FIXED + (size_t)e->len)
		wr_flush(w, at);
	p = w->buf + w->n;
	put_le16(p, e->len);
	memcpy(p + 2, e->path, e->len);
	p += 2 + e->len;
	put_le64(p, e->v.size);
	put_le64(p + 8, (uint64_t)e->v.mtime);
	put_le64(p + 16, (uint64_t)e->v.ctime);
	put_le64(p + 24, e->v.ino);
	put_le64(p + 32, e->v.dev);
	put_le64(p + 40, e->v.root_size);
	p[48] = e->v.level;
	memcpy(p + 49, e->v.root.b, FP_LEN);
	w->n += FC_ENT_FIXED + e->len;
}

/* Whether path lies in the tree at scope. */
static int under(const fc_ent *e, const char *scope, size_t sl)
{
	if (sl == 1 && scope[0] == '/')
		return 1;
	return e->len >= sl && memcmp(e->path, scope, sl) == 0 &&
	       (e->len == sl || e->path[sl] == '/');
}

/* All entries to be kept into fd after the header; *count, *crc. */
static int write_entries(fcache *fc, int fd, const char *scope,
			 uint64_t *count, uint32_t *crc)
{
	size_t sl = strlen(scope), i;
	off_t at = FC_HDR_LEN;
	wr *w;
	int rc;

	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->n = 0;
	w->crc = 0;
	w->err = 0;
	*count = 0;
	for (i = 0; i < fc->nb && !w->err; i++)
		for (fc_ent *e = fc->b[i]; e && !w->err; e = e->next) {
			if (!e->kept && under(e, scope, sl))
				continue;
			wr_entry(w, &at, e);
			++*count;
		}
	wr_flush(w, &at);
	*crc = w->crc;
	rc = w->err;
	free(w);
	return rc;
}

static int fsync_parent(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	size_t dl = slash ? (size_t)(slash - file) : 0;
	int fd, rc = 0;

	if (dl >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash && dl == 0)
		dl = 1;		/* "/x" lives in "/" */
	memcpy(dir, slash ? file : ".", slash ? dl : 1);
	dir[slash ? dl : 1] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int fcache_save(fcache *fc, const char *scope)
{
	uint8_t hdr[FC_HDR_LEN] = { 0 };
	char tmp[PATH_MAX];
	uint64_t count = 0;
	uint32_t crc = 0;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", fc->file,
		     (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&fc->lock);
	rc = write_entries(fc, fd, scope, &count, &crc);
	pthread_mutex_unlock(&fc->lock);
	if (rc < 0)
		goto fail;
	memcpy(hdr, FC_MAGIC, 8);
	put_le32(hdr + 8, FC_VERSION);
	put_le64(hdr + 16, count);
	put_le32(hdr + 24, crc);
	put_le32(hdr + 28, crc32c(0, hdr, 28));
	rc = write_full(fd, hdr, sizeof(hdr), 0);
	if (rc < 0)
		goto fail;
	if (fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, fc->file) < 0) {
		rc = -errno;
		goto fail;
	}
	return fsync_parent(fc->file);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* ---- where caches live ---- */

int fcache_path(char *out, size_t cap, const char *kind, const char *host,
		int port, const char *su)
{
	char dir[PATH_MAX], h[256];
	const char *env = getenv("DDT_CACHE_DIR");
	const char *home = getenv("HOME");
	size_t i;
	int n, rc;

	if (env && *env)
		n = snprintf(dir, sizeof(dir), "%s", env);
	else if (home && *home)
		n = snprintf(dir, sizeof(dir), "%s/.cache/ddt", home);
	else
		return -ENOENT;
	if (n < 0 || n >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	rc = path_mkdir_p(dir, 0700);
	if (rc < 0)
		return rc;
	/* A host name is a file name component here. */
	snprintf(h, sizeof(h), "%s", host);
	for (i = 0; h[i]; i++)
		if (h[i] == '/')
			h[i] = '_';
	if (su)
		n = snprintf(out, cap, "%s/%s-%s-%d-%s.cache", dir, kind, h,
			     port, su);
	else
		n = snprintf(out, cap, "%s/%s-%s-%d.cache", dir, kind, h,
			     port);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}
