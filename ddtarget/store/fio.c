/* fio.c - the file-I/O layer under containers, fragments and the journal.
 *
 * Thin POSIX wrappers that hide EINTR and short writes, plus the fault
 * injector the crash and error tests drive (SQLite's test VFS, kept small). */
#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>		/* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fault state. The mode word packs the kind and the sticky bit so a writer
 * sees both from one load, and so the fast path when nothing is armed is a
 * single relaxed load that reads zero. The countdown is only touched once a
 * fault is armed; fetch_sub lets concurrent writers agree on which one call
 * sees zero and fires. */
#define FAULT_STICKY 0x100

static atomic_int fault_mode;
static atomic_long fault_countdown;
static atomic_long write_count;

void fio_fault_arm(enum fio_fault kind, long after, int sticky)
{
	atomic_store(&fault_mode, 0);
	atomic_store(&fault_countdown, after < 0 ? 0 : after);
	if (kind != FIO_FAULT_NONE)
		atomic_store(&fault_mode, (int)kind | (sticky ? FAULT_STICKY : 0));
}

void fio_fault_clear(void)
{
	atomic_store(&fault_mode, 0);
	atomic_store(&fault_countdown, 0);
}

long fio_write_count(void)
{
	return atomic_load_explicit(&write_count, memory_order_relaxed);
}

/* Is there a fault of a kind that `is_fsync` operations count? Returns the
 * kind to inject now, or FIO_FAULT_NONE. A one-shot fault disarms itself so
 * later calls return to the fast path. */
static enum fio_fault fault_check(int is_fsync)
{
	int mode = atomic_load_explicit(&fault_mode, memory_order_relaxed);
	enum fio_fault kind;
	long c;

	if (mode == 0)
		return FIO_FAULT_NONE;
	kind = (enum fio_fault)(mode & ~FAULT_STICKY);
	if ((kind == FIO_FAULT_FSYNC_EIO) != !!is_fsync)
		return FIO_FAULT_NONE;	/* armed for the other kind of call */
	c = atomic_fetch_sub(&fault_countdown, 1);
	if (c > 0)
		return FIO_FAULT_NONE;
	if (c == 0) {
		if (!(mode & FAULT_STICKY))
			atomic_compare_exchange_strong(&fault_mode, &mode, 0);
		return kind;
	}
	/* c < 0: a one-shot that another thread has already fired. */
	return (mode & FAULT_STICKY) ? kind : FIO_FAULT_NONE;
}

int fio_open(const char *path, int flags, mode_t mode, int *out_fd)
{
	int fd;

	do {
		fd = open(path, flags | O_CLOEXEC, mode);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	*out_fd = fd;
	return 0;
}

int fio_close(int fd)
{
	/* On Linux the descriptor is gone even when close() says EINTR, so a
	 * retry could close someone else's fd; EINTR is not a data error. */
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* The plain write loop: all n bytes or an error. A pwrite that returns 0 for
 * a non-zero request cannot make progress; call that a full disk. */
static int pwrite_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -ENOSPC;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* How much of an n-byte write a torn one leaves: half, and on an O_DIRECT
 * descriptor whole blocks of it, as the device would. */
static size_t torn_len(int fd, size_t n)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_DIRECT))
		return n / 2 / FIO_DIO_ALIGN * FIO_DIO_ALIGN;
	return n / 2;
}

int fio_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	enum fio_fault f;
	int rc;

	atomic_fetch_add_explicit(&write_count, 1, memory_order_relaxed);
	f = fault_check(0);
	switch (f) {
	case FIO_FAULT_NONE:
	case FIO_FAULT_FSYNC_EIO:
		return pwrite_all(fd, buf, n, off);
	case FIO_FAULT_EIO:
		return -EIO;
	case FIO_FAULT_ENOSPC:
		return -ENOSPC;
	case FIO_FAULT_SHORT:
		rc = pwrite_all(fd, buf, torn_len(fd, n), off);
		return rc ? rc : -ENOSPC;
	case FIO_FAULT_CRASH:
		/* A torn write then sudden death: no atexit, no stdio flush,
		 * nothing that a power cut would have allowed. */
		(void)pwrite_all(fd, buf, torn_len(fd, n), off);
		_exit(FIO_CRASH_STATUS);
	}
	return -EINVAL;
}

int fio_pread(int fd, void *buf, size_t n, off_t off, size_t *out_n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;		/* end of file */
		got += (size_t)r;
	}
	*out_n = got;
	return 0;
}

/* Both file and directory fsyncs count towards FIO_FAULT_FSYNC_EIO: either
 * failing means the caller may not acknowledge. */
static int fsync_fd(int fd)
{
	if (fault_check(1) != FIO_FAULT_NONE)
		return -EIO;
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int fio_fsync(int fd)
{
	return fsync_fd(fd);
}

int fio_fsync_dir(const char *dir)
{
	int fd = -1, rc, rc2;

	rc = fio_open(dir, O_RDONLY | O_DIRECTORY, 0, &fd);
	if (rc)
		return rc;
	rc = fsync_fd(fd);
	rc2 = fio_close(fd);
	return rc ? rc : rc2;
}

int fio_prealloc(int fd, off_t len)
{
	if (len <= 0)
		return 0;
	while (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, len) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return 0;
		return -errno;
	}
	return 0;
}

int fio_truncate(int fd, off_t len)
{
	while (ftruncate(fd, len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int fio_rename(const char *from, const char *to)
{
	if (rename(from, to) < 0)
		return -errno;
	return 0;
}

int fio_unlink(const char *path)
{
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

char *fio_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len;
	char *d;

	if (!slash)
		return strdup(".");
	len = slash == path ? 1 : (size_t)(slash - path);
	d = malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, path, len);
	d[len] = '\0';
	return d;
}

int fio_write_file_atomic(const char *path, const void *buf, size_t n)
{
	size_t plen = strlen(path);
	char *tmp = NULL, *dir = NULL;
	int fd = -1, rc, have_tmp = 0;

	tmp = malloc(plen + sizeof(".tmp"));
	dir = fio_parent_dir(path);
	if (!tmp || !dir) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof(".tmp"));

	rc = fio_open(tmp, O_CREAT | O_TRUNC | O_WRONLY, FIO_FILE_MODE, &fd);
	if (rc)
		goto out;
	have_tmp = 1;
	rc = fio_pwrite(fd, buf, n, 0);
	if (rc)
		goto out;
	rc = fio_fsync(fd);
	if (rc)
		goto out;
	rc = fio_close(fd);
	fd = -1;
	if (rc)
		goto out;
	rc = fio_rename(tmp, path);
	if (rc)
		goto out;
	have_tmp = 0;
	/* The rename is not durable until the directory is: without this a
	 * crash can bring the old file back after we said it was replaced. */
	rc = fio_fsync_dir(dir);
out:
	if (fd >= 0)
		fio_close(fd);
	if (have_tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

static int advise(const char *path, int advice)
{
	int fd = -1, rc;

	rc = fio_open(path, O_RDONLY, 0, &fd);
	if (rc)
		return rc;
	rc = -posix_fadvise(fd, 0, 0, advice);
	fio_close(fd);
	return rc;
}

int fio_drop_cache(const char *path)
{
	return advise(path, POSIX_FADV_DONTNEED);
}

int fio_prefetch(const char *path)
{
	return advise(path, POSIX_FADV_WILLNEED);
}

int fio_read_file(const char *path, void **out_buf, size_t *out_n)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd = -1, rc;

	rc = fio_open(path, O_RDONLY, 0, &fd);
	if (rc)
		return rc;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size >= SIZE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	/* +1 so an empty file still gets a buffer the caller can free. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	/* A file that shrank under us yields what is there now; callers that
	 * care about content check their own CRCs. */
	rc = fio_pread(fd, buf, (size_t)st.st_size, 0, &got);
	if (rc)
		goto out;
	*out_buf = buf;
	*out_n = got;
	buf = NULL;
out:
	free(buf);
	fio_close(fd);
	return rc;
}
