/* ctrio.h - a sealed container on disk: k + m erasure-coded fragment files,
 * one per storage directory.
 *
 * Fragment i of container c lives in directory (c + i) mod ndirs, so parity
 * is spread over every disk and the loss of any m directories costs each
 * container at most m fragments. Files are grouped 4096 containers to a
 * subdirectory: dirN/<cid / 4096, 5 hex>/<cid, 16 hex>.frag. */
#ifndef CTRIO_H
#define CTRIO_H

#include <stddef.h>
#include <stdint.h>

#include "ec.h"
#include "tpool.h"

typedef struct ctrio_layout {
	const ec *e;
	int ndirs;
	char *const *dirs;
} ctrio_layout;

/* Payload bytes per fragment for a container of len bytes: whole pages. */
uint32_t ctrio_frag_len(const ctrio_layout *L, size_t len);

/* Is frag_len what a container of len bytes has: now, or as sealed by
 * the versions that rounded to 64 bytes? */
int ctrio_frag_len_ok(const ctrio_layout *L, size_t len, uint32_t frag_len);

/* The path of fragment index of container cid, into buf (cap bytes). */
void ctrio_frag_path(const ctrio_layout *L, uint64_t cid, int index, char *buf,
		     size_t cap);

/* buf holds (k + m) * frag_len bytes: the container (container_len bytes)
 * zero-padded to k * frag_len, then room for parity. Computes the parity and
 * writes every fragment durably, but for those whose storage directory is
 * missing (a disk gone), up to m: *out_missing (may be NULL) says how many
 * were left out. The fragments are written at once by writers, a pool of
 * k + m fragment writers that no one else waits on (it is drained before
 * this returns); NULL writes them one after the other on this thread.
 * 0 or -errno with a ddterr message. */
int ctrio_write(const ctrio_layout *L, tpool *writers, uint64_t cid,
		uint8_t *buf, uint32_t container_len, uint32_t frag_len,
		int *out_missing);

/* Read container cid back into a malloc'd buffer of (k + m) * frag_len
 * bytes whose first container_len bytes are the container. Lost or damaged
 * fragments are rebuilt in memory; *out_rebuilt (may be NULL) counts them.
 * -EIO when fewer than k fragments are good, with a message naming the
 * first failure. */
int ctrio_read(const ctrio_layout *L, uint64_t cid, uint32_t container_len,
	       uint32_t frag_len, uint8_t **out_buf, int *out_rebuilt);

/* ---- one fragment at a time, for scrub ---- */

/* Which of L->dirs holds fragment index of container cid. */
int ctrio_dir_index(const ctrio_layout *L, uint64_t cid, int index);

/* Read and check fragment index of container cid into dst (frag_len
 * bytes): 0, -ENOENT (absent), -EBADMSG (damaged or misplaced), or another
 * -errno, each with a ddterr message naming the file. */
int ctrio_read_frag(const ctrio_layout *L, uint64_t cid, int index,
		    uint32_t container_len, uint32_t frag_len, uint8_t *dst);

/* Replace fragment index of container cid with payload (frag_len bytes),
 * atomically (temp file, fsync, rename, directory fsync), creating its
 * group subdirectory if it is gone: concurrent readers see the old file or
 * the new one. The storage directory itself must exist. */
int ctrio_rewrite_frag(const ctrio_layout *L, uint64_t cid, int index,
		       uint32_t container_len, uint32_t frag_len,
		       const uint8_t *payload);
/* Call cb once for the id of every container that has at least one
 * fragment file in any of L's directories, in ascending id order; a
 * non-zero return stops and is returned. Only names are read: whether the
 * fragments are whole is for ctrio_read to say. A missing directory has
 * none (it may be a lost disk). */
typedef int (*ctrio_cid_cb)(void *arg, uint64_t cid);
int ctrio_foreach_cid(const ctrio_layout *L, ctrio_cid_cb cb, void *arg);

#endif
