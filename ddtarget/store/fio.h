/* fio.h - the one file-I/O layer that all container, fragment and journal
 * I/O passes through (SQLite's VFS idea, kept small).
 *
 * Its reason to exist is testing: a test arms a fault — an I/O error, a full
 * disk, a short (torn) write, or a crash at the Nth write — and proves that
 * nothing acknowledged is lost and nothing stored is damaged. Writes are
 * all-or-error: a caller never has to loop on a short count. */
#ifndef FIO_H
#define FIO_H

#include <stddef.h>
#include <sys/types.h>

/* The modes of everything a store creates: its files (index, fragments,
 * markers, checkpoints, the lock) hold the users' records and their salted
 * password hashes, so they are the owner's alone. The daemon and ddtstore
 * also set umask(077), which covers what RocksDB creates. */
#define FIO_FILE_MODE	0600
#define FIO_DIR_MODE	0700

/* open(2) with O_CLOEXEC added. Returns 0 and *out_fd, or -errno. */
int fio_open(const char *path, int flags, mode_t mode, int *out_fd);
int fio_close(int fd);

/* What O_DIRECT asks of buffers, lengths and offsets here. */
#define FIO_DIO_ALIGN 4096

/* Write all n bytes at off. Returns 0 or -errno (-ENOSPC, -EIO, ...). */
int fio_pwrite(int fd, const void *buf, size_t n, off_t off);

/* Read up to n bytes at off; *out_n is what was read (less at end of file).
 * Returns 0 or -errno. */
int fio_pread(int fd, void *buf, size_t n, off_t off, size_t *out_n);

int fio_fsync(int fd);			/* fdatasync is not enough for new files */

/* Reserve len bytes of blocks for fd without changing its size, so the
 * writes that follow fill allocated extents instead of allocating page by
 * page (on ext4 that makes writing a new file several times cheaper).
 * A file system that cannot preallocate is not an error: returns 0; a full
 * one is: -ENOSPC. */
int fio_prealloc(int fd, off_t len);
int fio_fsync_dir(const char *dir);	/* make a create/rename/unlink durable */
int fio_truncate(int fd, off_t len);
int fio_rename(const char *from, const char *to);
int fio_unlink(const char *path);	/* -ENOENT is reported, not hidden */

/* The directory part of a path: "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
 * malloc'd; NULL if out of memory. */
char *fio_parent_dir(const char *path);

/* Write a whole file durably: path.tmp, fsync, rename over path, fsync the
 * directory. A crash leaves the old file or the new one, never a mix. The
 * file is FIO_FILE_MODE. */
int fio_write_file_atomic(const char *path, const void *buf, size_t n);

/* Read a whole file into a malloc'd buffer. Returns 0, -ENOENT, -ENOMEM... */
int fio_read_file(const char *path, void **out_buf, size_t *out_n);

/* Tell the kernel a file's cached pages will not be read again soon (a
 * scrub reads every fragment once; keeping them would evict what reads and
 * the index need). Advice only: errors are returned but harmless. */
int fio_drop_cache(const char *path);

/* Ask the kernel to start reading a file into the cache now, so that a
 * read of it later finds it there (a scrub reads the next container while
 * it checks this one). Advice only, like fio_drop_cache(). */
int fio_prefetch(const char *path);

/* ---- fault injection (tests only; process-wide, thread-safe) ---- */

enum fio_fault {
	FIO_FAULT_NONE = 0,
	FIO_FAULT_EIO,		/* the write fails with EIO, nothing written */
	FIO_FAULT_ENOSPC,	/* the write fails with ENOSPC, nothing written */
	FIO_FAULT_SHORT,	/* half the bytes land, then ENOSPC (a torn write) */
	FIO_FAULT_CRASH,	/* half the bytes land, then the process _exit(FIO_CRASH_STATUS)s */
	FIO_FAULT_FSYNC_EIO	/* the next fsync after the countdown fails with EIO */
};

#define FIO_CRASH_STATUS 86

/* Arm a fault: the write (or fsync, for FIO_FAULT_FSYNC_EIO) that comes
 * after `after` more successful ones fails as described, once. With
 * sticky set, every later one fails too (a disk that stays full). */
void fio_fault_arm(enum fio_fault kind, long after, int sticky);
void fio_fault_clear(void);

/* Writes (fio_pwrite calls) since the process started. */
long fio_write_count(void);

#endif
