/* segcache.c - the segment-hash cache (see segcache.h): an open-addressing
 * table over an array of fingerprints kept in insertion order, and its
 * file, read whole at open and rewritten whole at save.
 *
 * The array is the file's body and the eviction order at once: oldest
 * first. When it is full it is cut to half: first kept are the entries
 * this session found (hits: data backed up again and again), then those
 * it added, then the rest, newest first within each kind. So a burst of
 * new data pushes out older one-offs, never what every backup uses. Halving keeps
 * insertion amortised O(1): the index is rebuilt once per max/2 adds.
 *
 * The file: a 40-byte header, then count fingerprints of 32 bytes.
 *   0 magic "DDTSEGC\n"   8 u32 version   12 u32 reserved (0)
 *  16 u64 tag (which target)   24 u64 count
 *  32 u32 CRC-32C of the entries   36 u32 CRC-32C of bytes 0..36
 * Anything that does not add up makes an empty cache: the cache is only a
 * hint, and the target answers FP_QUERY for whatever it forgot. */
#include "segcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "ddterr.h"
#include "fdio.h"

#define SC_MAGIC	"DDTSEGC\n"
#define SC_VERSION	1
#define SC_HDR_LEN	40
#define SC_MIN_CAP	1024	/* entries allocated at first */

/* What this session did with an entry: eviction keeps the higher. */
enum { SC_UNUSED, SC_ADDED, SC_HIT, SC_KINDS };

struct segcache {
	pthread_mutex_t mu;	/* everything below */
	char *path;		/* NULL: not kept in a file */
	uint64_t tag;
	uint32_t max;
	fp_t *ent;		/* oldest first */
	uint8_t *used;		/* per entry: SC_UNUSED, SC_ADDED or SC_HIT */
	uint32_t n, cap;
	uint32_t *slot;		/* 0 empty, else an index into ent + 1 */
	uint32_t mask;		/* slots - 1; slots >= 2 * cap */
	int dirty;
};

uint64_t segcache_tag(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

/* ---- the table ---- */

/* The slot that holds fp, or the empty slot where it would go. */
static uint32_t *sc_slot(segcache *s, const fp_t *fp)
{
	uint32_t h = (uint32_t)fp_hash64(fp) & s->mask;

	while (s->slot[h] && !fp_equal(&s->ent[s->slot[h] - 1], fp))
		h = (h + 1) & s->mask;
	return &s->slot[h];
}

/* Index ent[0..n) from scratch, dropping duplicates (a file can hold
 * them only if damaged in a way its CRC missed, but one lookup path is
 * simpler than two). */
static void sc_reindex(segcache *s)
{
	uint32_t i, j = 0, *sl;

	memset(s->slot, 0, ((size_t)s->mask + 1) * sizeof(*s->slot));
	for (i = 0; i < s->n; i++) {
		sl = sc_slot(s, &s->ent[i]);
		if (*sl)
			continue;
		s->ent[j] = s->ent[i];
		s->used[j] = s->used[i];
		*sl = ++j;
	}
	s->n = j;
}

/* Room for cap entries (and a slot table twice as large). -ENOMEM leaves
 * the cache as it was. */
static int sc_resize(segcache *s, uint32_t cap)
{
	size_t slots = 1;
	uint32_t *sl;
	uint8_t *used;
	fp_t *ent;

	while (slots < 2 * (size_t)cap)
		slots *= 2;
	sl = malloc(slots * sizeof(*sl));
	ent = realloc(s->ent, (size_t)cap * sizeof(*ent));
	if (ent)
		s->ent = ent;
	used = realloc(s->used, cap);
	if (used)
		s->used = used;
	if (!sl || !ent || !used) {
		free(sl);
		return -ENOMEM;
	}
	free(s->slot);
	s->slot = sl;
	s->mask = (uint32_t)(slots - 1);
	s->cap = cap;
	sc_reindex(s);
	return 0;
}

/* Keep half: entries hit in this session, then those added in it, then
 * the rest; newer before older within each kind; original order kept. */
static void sc_evict(segcache *s)
{
	uint32_t total[SC_KINDS] = { 0 }, take[SC_KINDS], seen[SC_KINDS] = { 0 };
	uint32_t budget = s->cap / 2, i, j = 0;
	int k;

	for (i = 0; i < s->n; i++)
		total[s->used[i]]++;
	for (k = SC_KINDS - 1; k >= 0; k--) {
		take[k] = total[k] < budget ? total[k] : budget;
		budget -= take[k];
	}
	/* Walking oldest first, skip the oldest of each kind. */
	for (i = 0; i < s->n; i++) {
		k = s->used[i];
		if (seen[k]++ < total[k] - take[k])
			continue;
		s->ent[j] = s->ent[i];
		s->used[j] = s->used[i];
		j++;
	}
	s->n = j;
	sc_reindex(s);
}

/* Make room for one more entry: grow, or evict when at max (or out of
 * memory to grow). */
static void sc_room(segcache *s)
{
	uint32_t want;

	if (s->n < s->cap)
		return;
	want = s->cap ? s->cap * 2 : SC_MIN_CAP;
	if (want > s->max)
		want = s->max;
	if (want > s->cap && sc_resize(s, want) == 0)
		return;
	sc_evict(s);
}

static void sc_insert(segcache *s, const fp_t *fp)
{
	uint32_t *sl;

	if (s->cap == 0 && sc_resize(s, SC_MIN_CAP < s->max ? SC_MIN_CAP :
				     s->max) < 0)
		return;
	sl = sc_slot(s, fp);
	if (*sl) {
		if (s->used[*sl - 1] == SC_UNUSED)
			s->used[*sl - 1] = SC_ADDED;
		return;
	}
	if (s->n == s->cap) {
		sc_room(s);
		if (s->n == s->cap)
			return;		/* a cache may forget */
		sl = sc_slot(s, fp);
	}
	s->ent[s->n] = *fp;
	s->used[s->n] = SC_ADDED;
	*sl = ++s->n;
	s->dirty = 1;
}

void segcache_lookup(segcache *s, const fp_t *fps, const uint32_t *idx,
		     uint32_t n, uint8_t *hit)
{
	uint32_t k, *sl;

	pthread_mutex_lock(&s->mu);
	for (k = 0; k < n; k++) {
		hit[k] = 0;
		if (!s->n)
			continue;
		sl = sc_slot(s, &fps[idx ? idx[k] : k]);
		if (*sl) {
			hit[k] = 1;
			s->used[*sl - 1] = SC_HIT;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

void segcache_add(segcache *s, const fp_t *fps, const uint32_t *idx,
		  uint32_t n)
{
	uint32_t k;

	pthread_mutex_lock(&s->mu);
	for (k = 0; k < n; k++)
		sc_insert(s, &fps[idx ? idx[k] : k]);
	pthread_mutex_unlock(&s->mu);
}

void segcache_clear(segcache *s)
{
	pthread_mutex_lock(&s->mu);
	s->n = 0;
	if (s->slot)
		memset(s->slot, 0, ((size_t)s->mask + 1) * sizeof(*s->slot));
	s->dirty = 1;
	pthread_mutex_unlock(&s->mu);
}

uint32_t segcache_count(segcache *s)
{
	uint32_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- the file ---- */

static int read_all(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	ssize_t got;

	while (n) {
		got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static void hdr_pack(uint8_t *h, uint64_t tag, uint64_t count, uint32_t crc)
{
	memcpy(h, SC_MAGIC, 8);
	put_le32(h + 8, SC_VERSION);
	put_le32(h + 12, 0);
	put_le64(h + 16, tag);
	put_le64(h + 24, count);
	put_le32(h + 32, crc);
	put_le32(h + 36, crc32c(0, h, 36));
}

/* Whether the header is ours, for this target, and says how many entries
 * follow in a file of size bytes. */
static int hdr_ok(const uint8_t *h, uint64_t tag, off_t size, uint64_t *count)
{
	if (memcmp(h, SC_MAGIC, 8) != 0 || get_le32(h + 8) != SC_VERSION ||
	    get_le32(h + 36) != crc32c(0, h, 36) || get_le64(h + 16) != tag)
		return 0;
	*count = get_le64(h + 24);
	return *count <= (uint64_t)(size - SC_HDR_LEN) / FP_LEN &&
	       SC_HDR_LEN + *count * FP_LEN == (uint64_t)size;
}

/* Read and checksum the entries a larger cache kept beyond our max. */
static int skip_entries(int fd, uint64_t skip, uint32_t *crc)
{
	uint8_t buf[64 * FP_LEN];
	size_t n;

	while (skip) {
		n = skip < 64 ? (size_t)skip : 64;
		if (read_all(fd, buf, n * FP_LEN) < 0)
			return -1;
		*crc = crc32c(*crc, buf, n * FP_LEN);
		skip -= n;
	}
	return 0;
}

/* Fill s from its file. 1: loaded (or no file), 0: the file was not
 * usable and s is left empty. */
static int sc_load(segcache *s)
{
	uint32_t crc = 0;
	uint8_t h[SC_HDR_LEN];
	uint64_t count, skip;
	struct stat st;
	int fd, ok = 0;

	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	if (fstat(fd, &st) < 0 || st.st_size < SC_HDR_LEN ||
	    read_all(fd, h, sizeof(h)) < 0 ||
	    !hdr_ok(h, s->tag, st.st_size, &count))
		goto out;
	/* A file from a build with a larger max: keep its newest. */
	skip = count > s->max ? count - s->max : 0;
	if (skip_entries(fd, skip, &crc) < 0)
		goto out;
	count -= skip;
	if (count && sc_resize(s, (uint32_t)count) < 0)
		goto out;
	if (count && read_all(fd, s->ent, count * FP_LEN) < 0)
		goto out;
	crc = crc32c(crc, s->ent, count * FP_LEN);
	if (crc != get_le32(h + 32))
		goto out;
	memset(s->used, 0, count);
	s->n = (uint32_t)count;
	sc_reindex(s);
	ok = 1;
out:
	if (!ok)
		s->n = 0;
	close(fd);
	return ok;
}

int segcache_open(segcache **out, const char *path, uint64_t tag,
		  uint32_t max_entries, int *out_reset)
{
	segcache *s = calloc(1, sizeof(*s));
	int loaded = 1;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->tag = tag;
	s->max = max_entries >= 2 ? max_entries : 2;
	if (path && !(s->path = strdup(path))) {
		segcache_free(s);
		return -ENOMEM;
	}
	if (s->path)
		loaded = sc_load(s);
	/* An unusable file is replaced at the next save. */
	s->dirty = !loaded;
	if (out_reset)
		*out_reset = !loaded;
	*out = s;
	return 0;
}

void segcache_free(segcache *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->slot);
	free(s->ent);
	free(s->used);
	free(s->path);
	free(s);
}

static int sc_write(segcache *s, const char *tmp)
{
	uint8_t h[SC_HDR_LEN];
	int fd, rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	hdr_pack(h, s->tag, s->n, crc32c(0, s->ent, (size_t)s->n * FP_LEN));
	rc = fd_write_all(fd, h, sizeof(h));
	if (rc == 0)
		rc = fd_write_all(fd, s->ent, (size_t)s->n * FP_LEN);
	/* Without the fsync a crash could leave the new name on an empty
	 * file; the CRC would catch it, but the old cache would be lost. */
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int segcache_save(segcache *s)
{
	static atomic_uint seq;
	char *tmp = NULL;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->path || !s->dirty)
		goto out;
	/* Unique per process and call: two sessions may save at once. */
	if (asprintf(&tmp, "%s.tmp.%ld.%u", s->path, (long)getpid(),
		     atomic_fetch_add(&seq, 1)) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = sc_write(s, tmp);
	if (rc == 0 && rename(tmp, s->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		rc = ddterr_set(rc, "saving the segment cache %s: %s", s->path,
				strerror(-rc));
		goto out;
	}
	s->dirty = 0;
out:
	pthread_mutex_unlock(&s->mu);
	free(tmp);
	return rc;
}
