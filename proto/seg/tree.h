/* tree.h - a file as a tree of segments (PROTOCOL.md section 6): data
 * segments listed by fingerprint and length in metadata segments, level
 * over level, up to one root. Group boundaries are content-defined, so an
 * edit changes only the metadata segments above it. Both ends use this:
 * writers to build trees, the target to check and read them. */
#ifndef TREE_H
#define TREE_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define TREE_MAGIC		"DDTM"
#define TREE_VERSION		1
#define TREE_HDR_LEN		16
#define TREE_ENTRY_LEN		40	/* fp + u64 bytes */
#define TREE_MIN_FANOUT		64
#define TREE_AVG_FANOUT		512
#define TREE_MAX_FANOUT		2048
#define TREE_MAX_LEVEL		8
/* The largest metadata segment: a full group. */
#define TREE_MAX_SEG_LEN	(TREE_HDR_LEN + TREE_MAX_FANOUT * TREE_ENTRY_LEN)

typedef struct tree_entry {
	fp_t fp;
	uint64_t bytes;		/* file bytes under this child */
} tree_entry;

/* Hand over one finished metadata segment: raw (len bytes, valid only
 * during the call) at level, whose fingerprint is fp. The callback stores
 * or queues it (compress, query, put); non-zero stops the build. */
typedef int (*tree_emit_fn)(void *arg, int level, const uint8_t *raw,
			    size_t len, const fp_t *fp);

typedef struct tree_builder tree_builder;

int tree_builder_new(tree_builder **out, tree_emit_fn emit, void *arg);
void tree_builder_free(tree_builder *t);

/* The next data segment of the file, in order. May emit metadata.
 * -EINVAL for 0 bytes and -EOVERFLOW past 2^64 leave the file as it was;
 * any other failure (emit's non-zero return, passed back as is) spoils
 * the file: later calls return it until tree_finish(). */
int tree_add(tree_builder *t, const fp_t *fp, uint64_t bytes);

/* Emit what is left and give the root: a zero fp, level 0 and size 0 for
 * a file without segments; the one data segment itself (level 0) for a
 * file of one; otherwise the top metadata segment, the first level with a
 * single node (a lone node is never wrapped again). The builder is then
 * empty and may build the next file, even when this one failed. */
int tree_finish(tree_builder *t, fp_t *out_root, uint8_t *out_level,
		uint64_t *out_size);

/* Parse a metadata segment. want_level (1..TREE_MAX_LEVEL, else -EINVAL)
 * must match; want_bytes, the parent's figure for it, must equal the sum
 * of the entries (UINT64_MAX: not checked). Entries are malloc'd. -EBADMSG
 * with a ddterr message for anything malformed, never a read outside raw. */
int tree_parse(const uint8_t *raw, size_t len, int want_level,
	       uint64_t want_bytes, tree_entry **out, uint32_t *out_n);

/* The raw bytes of a metadata segment holding e[0..n) at level, into out
 * (TREE_HDR_LEN + n * TREE_ENTRY_LEN bytes). For tests and tools. */
size_t tree_encode(int level, const tree_entry *e, uint32_t n, uint8_t *out);

/* A fingerprint standing for the claim "fp is a node at level covering
 * bytes of the file", into *out: the SHA-256 of the three. A set of claims
 * checked already (a commit's, a scrub's) is keyed by it, so a subtree
 * checked with one level or length is never taken as checked with another.
 * 0, or fp_compute's error. */
int tree_claim_key(const fp_t *fp, int level, uint64_t bytes, fp_t *out);

/* Fetch the raw (decompressed, verified) bytes of the segment fp into a
 * malloc'd buffer. The reader supplies it: a store lookup on the target, a
 * SEG_GET on a client. */
typedef int (*tree_fetch_fn)(void *arg, const fp_t *fp, uint8_t **out_raw,
			     size_t *out_len);

/* The data segments of a file that overlap [off, off + len), at most max
 * of them, in file order, each with the file offset where it starts
 * (out_offsets may be NULL). *out_n may be less than needed if max ran
 * out. Checks every metadata segment it reads against its parent; fetches
 * only those on the path to the range. A level-0 root is its own only
 * data segment; an empty file (size 0: level 0, zero root) has none. */
int tree_map(const fp_t *root, int level, uint64_t size, uint64_t off,
	     uint64_t len, tree_fetch_fn fetch, void *arg, tree_entry *out,
	     uint64_t *out_offsets, uint32_t max, uint32_t *out_n);

/* Visit every node of a file's tree, top down: metadata segments (level
 * >= 1) and then their children, data segments with level 0; a node is
 * visited before it is fetched. An empty file has no nodes. visit
 * returning TREE_WALK_SKIP leaves that node's subtree out (it is not
 * fetched); any other non-zero return stops the walk and is returned. Every metadata segment
 * is checked as tree_map does: a tree that does not add up fails with
 * -EBADMSG. */
#define TREE_WALK_SKIP 1

typedef int (*tree_visit_fn)(void *arg, int level, const fp_t *fp,
			     uint64_t bytes);
int tree_walk(const fp_t *root, int level, uint64_t size, tree_fetch_fn fetch,
	      void *fetch_arg, tree_visit_fn visit, void *visit_arg);

#endif
