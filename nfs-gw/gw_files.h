/* gw_files.h - the files a gateway has open for writing, shared by the
 * NFS server and the FUSE mount: one ddtc_rfile per inode, opened on its
 * first write and kept across writes (NFS has no open or close), each
 * with its own lock.
 *
 * Memory is bounded: the bytes the open files hold unsegmented are
 * counted against a cap; past it the largest file is flushed (cut and
 * sent, still unpublished), and the writer that went over waits for that.
 * A file idle for idle_ms is committed and closed by a thread of its own.
 * When written data that was never committed is lost (the target refused
 * a commit, a flush failed), the epoch goes up: the NFS write verifier
 * includes it, so clients send their uncommitted writes again. */
#ifndef GW_FILES_H
#define GW_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc.h"
#include "gw_sess.h"

typedef struct gw_files gw_files;

int gw_files_new(gw_files **out, gw_sess *s, size_t dirty_cap, int idle_ms);
/* Commit every dirty file (a clean shutdown), close all, free. */
void gw_files_free(gw_files *t);

/* Write n bytes at off into regular file ino; commit (durably) before
 * returning if commit is set. out (may be NULL): the file's attributes
 * as they now are for this gateway (its size includes what is buffered). */
int gw_files_write(gw_files *t, uint64_t ino, uint64_t off, const void *buf,
		   size_t n, int commit, ddt_attr *out);
/* Read file a->ino (whose attributes the caller has just read) as this
 * gateway sees it: through its open handle, buffered writes included,
 * else from the target, with read-ahead for a reader reading in order
 * (gw_ra.h). *bufp: a malloc'd buffer of at least n bytes, which may come
 * back as another one as large (gw_ra_read); the caller frees *bufp. */
int gw_files_read(gw_files *t, const ddt_attr *a, uint64_t off, void **bufp,
		  size_t n, size_t *out_n);
/* Publish ino's writes durably if it is open and changed. out (may be
 * NULL): its attributes after (unset, 0 returned, if not open). */
int gw_files_commit(gw_files *t, uint64_t ino, ddt_attr *out);
/* Set ino's size (the file is opened for it) and commit. */
int gw_files_truncate(gw_files *t, uint64_t ino, uint64_t size,
		      ddt_attr *out);
/* Put what this gateway knows better than the target into a: the size
 * and modification time of a file with uncommitted writes (the time of
 * its last write, which its commit will give it). */
void gw_files_overlay(gw_files *t, ddt_attr *a);
/* ino is gone (removed): drop its handle and what it held. */
void gw_files_forget(gw_files *t, uint64_t ino);

/* Goes up each time written but uncommitted data was lost. */
unsigned gw_files_epoch(gw_files *t);
/* Bytes held unsegmented now, over all files. */
size_t gw_files_buffered(gw_files *t);

#endif
