/* testutil.h - helpers the unit tests share: a seedable PRNG (splitmix64,
 * so a failure reproduces from its seed), allocation that bails, scratch
 * paths and small file helpers. rnd_fp() exists if fp.h came first. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tap.h"

/* ---- the PRNG: one stream per test program ---- */

static uint64_t rnd_state;	/* 0 until rnd_seed(); any seed is good */

/* Start the stream over: the same seed gives the same numbers. */
static inline void rnd_seed(uint64_t seed)
{
	rnd_state = seed;
}

/* splitmix64: every output bit is well mixed, like a digest's. */
static inline uint64_t rnd64(void)
{
	uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* One byte: the top byte of one rnd64(). */
static inline uint8_t rnd8(void)
{
	return (uint8_t)(rnd64() >> 56);
}

/* n bytes, eight from each rnd64() (low byte first, on any host). */
static inline void rnd_fill(void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rnd64();
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

#ifdef FP_H
/* A fingerprint of FP_LEN uniform bytes: cheaper than hashing anything,
 * and as good for whatever indexes by fingerprint. */
static inline void rnd_fp(fp_t *f)
{
	for (int i = 0; i < FP_LEN; i += 8) {
		uint64_t v = rnd64();

		memcpy(f->b + i, &v, 8);
	}
}
#endif

/* ---- memory ---- */

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		tap_bail("malloc %zu", n);
	return p;
}

/* ---- paths and files ---- */

/* dir/name in one of four static buffers used in turn, so a call may take
 * up to four joined paths: copy(tpath(d, "a"), tpath(d, "b")). Not
 * path.h's path_join, which mallocs: a test frees nothing. */
static inline char *tpath(const char *dir, const char *name)
{
	static char p[4][1024];
	static int i;

	i = (i + 1) % 4;
	if (snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name) >=
	    (int)sizeof(p[i]))
		tap_bail("path too long: %s/%s", dir, name);
	return p[i];
}

/* The size of a file, or -1 if it cannot be stat()ed (absent). */
static inline long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static inline int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Flip one bit (0x40) of the byte at off, in place. */
static inline void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		tap_bail("flip_byte: read %s at %lld", path, (long long)off);
	b ^= 0x40;
	if (pwrite(fd, &b, 1, off) != 1)
		tap_bail("flip_byte: write %s at %lld", path, (long long)off);
	close(fd);
}

/* Run test fn on the directory root/name (which it may create). */
static inline void run_in(const char *root, const char *name,
			  void (*fn)(const char *))
{
	char sub[1024];

	if (snprintf(sub, sizeof(sub), "%s/%s", root, name) >= (int)sizeof(sub))
		tap_bail("path too long: %s/%s", root, name);
	fn(sub);
}

#endif
