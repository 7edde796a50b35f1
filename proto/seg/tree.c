/* tree.c - a file's data segments listed in metadata segments, level over
 * level up to one root (PROTOCOL.md section 6): built as the segments come,
 * then checked and read top down. Two writers given the same segments must
 * build the same tree byte for byte, or their files never deduplicate. */
#include "tree.h"

#include "bytes.h"
#include "ddterr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * tree_finish() takes the root from the group above the top level, where it
 * sits alone: that works only because one child never ends a group.
 */
_Static_assert(TREE_MIN_FANOUT > 1, "a lone child must not end a group");
_Static_assert(TREE_MIN_FANOUT <= TREE_MAX_FANOUT, "fan-out limits");

/*
 * Level L's open group gathers the nodes of level L - 1, so the builder
 * needs levels 1 to TREE_MAX_LEVEL + 1. The last only ever holds one child,
 * a root at TREE_MAX_LEVEL; a second node at that level would need a root
 * above the limit, which no reader accepts.
 */
#define NLEVELS		(TREE_MAX_LEVEL + 2)	/* [0] unused */

struct tree_level {
	uint8_t *raw;	/* TREE_MAX_SEG_LEN, entries in place after the
			 * header; malloc'd on first use, kept for reuse */
	uint32_t n;	/* entries in the open group */
	uint64_t bytes;	/* their sum */
	uint64_t added;	/* children handed to this level in this file */
};

struct tree_builder {
	tree_emit_fn emit;
	void *arg;
	uint64_t size;		/* file bytes so far */
	int err;		/* the failure that spoilt this file, or 0 */
	struct tree_level lv[NLEVELS];
};

static void put_header(uint8_t *p, int level, uint32_t n)
{
	memcpy(p, TREE_MAGIC, 4);
	p[4] = TREE_VERSION;
	p[5] = (uint8_t)level;
	put_le16(p + 6, 0);
	put_le32(p + 8, n);
	put_le32(p + 12, 0);
}

size_t tree_encode(int level, const tree_entry *e, uint32_t n, uint8_t *out)
{
	uint8_t *p = out + TREE_HDR_LEN;
	uint32_t i;

	put_header(out, level, n);
	for (i = 0; i < n; i++, p += TREE_ENTRY_LEN) {
		memcpy(p, e[i].fp.b, FP_LEN);
		put_le64(p + FP_LEN, e[i].bytes);
	}
	return TREE_HDR_LEN + (size_t)n * TREE_ENTRY_LEN;
}

int tree_builder_new(tree_builder **out, tree_emit_fn emit, void *arg)
{
	tree_builder *t;

	if (!emit)
		return ddterr_set(-EINVAL, "tree builder: no emit callback");
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->emit = emit;
	t->arg = arg;
	*out = t;
	return 0;
}

void tree_builder_free(tree_builder *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < NLEVELS; i++)
		free(t->lv[i].raw);
	free(t);
}

static int close_group(tree_builder *t, int level);

/* Append a child to level's open group and end the group if the child
 * says so (section 6). The rule looks only at this child and the count,
 * never at the position in the file: that is what keeps an edit local. */
static int add_child(tree_builder *t, int level, const fp_t *fp,
		     uint64_t bytes)
{
	struct tree_level *l = &t->lv[level];
	uint8_t *p;

	if (level > TREE_MAX_LEVEL && l->added)
		return ddterr_set(-EFBIG, "tree: the file needs more than %d "
				  "levels of metadata segments",
				  TREE_MAX_LEVEL);
	if (!l->raw) {
		l->raw = malloc(TREE_MAX_SEG_LEN);
		if (!l->raw)
			return ddterr_set(-ENOMEM, "tree: no memory for a "
					  "level-%d group", level);
	}
	p = l->raw + TREE_HDR_LEN + (size_t)l->n * TREE_ENTRY_LEN;
	memcpy(p, fp->b, FP_LEN);
	put_le64(p + FP_LEN, bytes);
	l->n++;
	l->bytes += bytes;	/* <= the file size, checked in tree_add */
	l->added++;
	if (l->n == TREE_MAX_FANOUT ||
	    (l->n >= TREE_MIN_FANOUT &&
	     get_le16(fp->b) % TREE_AVG_FANOUT == 0))
		return close_group(t, level);
	return 0;
}

/* Emit level's open group as a metadata segment and hand it, as a child,
 * to the level above (which may end that level's group in turn). */
static int close_group(tree_builder *t, int level)
{
	struct tree_level *l = &t->lv[level];
	size_t len = TREE_HDR_LEN + (size_t)l->n * TREE_ENTRY_LEN;
	uint64_t bytes = l->bytes;
	fp_t f;
	int rc;

	put_header(l->raw, level, l->n);
	rc = fp_compute(&f, l->raw, len);
	if (rc)
		return rc;
	rc = t->emit(t->arg, level, l->raw, len, &f);
	if (rc)
		return rc;
	l->n = 0;
	l->bytes = 0;
	return add_child(t, level + 1, &f, bytes);
}

int tree_add(tree_builder *t, const fp_t *fp, uint64_t bytes)
{
	int rc;

	if (t->err)
		return t->err;
	/* Refused before anything changes: the file can still go on. A
	 * zero-length entry is one tree_parse() would reject. */
	if (bytes == 0)
		return ddterr_set(-EINVAL, "tree: a data segment of 0 bytes");
	if (bytes > UINT64_MAX - t->size)
		return ddterr_set(-EOVERFLOW, "tree: the file would exceed "
				  "2^64 bytes");
	t->size += bytes;
	rc = add_child(t, 1, fp, bytes);
	if (rc)
		t->err = rc;	/* groups half handed up: file lost */
	return rc;
}

static void reset(tree_builder *t)
{
	int i;

	for (i = 0; i < NLEVELS; i++) {
		t->lv[i].n = 0;
		t->lv[i].bytes = 0;
		t->lv[i].added = 0;
	}
	t->size = 0;
	t->err = 0;
}

/*
 * Work up from the data segments. At each level count its nodes: those
 * already handed to the level above plus the group still open here. One
 * node is the root (emitted now if it was the open group; a group of one
 * above it is never emitted). More than one: end the open group, which
 * adds a node above, and go up. Ending it hands a child up by the usual
 * rule, so a content-defined boundary may end a group above it on the
 * way; the count then still comes out right.
 */
int tree_finish(tree_builder *t, fp_t *out_root, uint8_t *out_level,
		uint64_t *out_size)
{
	fp_t root;
	int level, rc = t->err;
	uint64_t nodes;
	int pending;

	memset(&root, 0, sizeof(root));
	if (rc)
		goto out;
	for (level = 0; level <= TREE_MAX_LEVEL; level++) {
		pending = level > 0 && t->lv[level].n > 0;
		nodes = t->lv[level + 1].added + (uint64_t)pending;
		if (nodes == 0)	/* only at level 0: an empty file */
			break;
		if (pending) {
			rc = close_group(t, level);
			if (rc)
				goto out;
		}
		if (nodes == 1) {
			memcpy(root.b, t->lv[level + 1].raw + TREE_HDR_LEN,
			       FP_LEN);
			break;
		}
	}
	/* Unreachable: add_child() refuses a second node at the top. */
	if (level > TREE_MAX_LEVEL) {
		rc = ddterr_set(-EFBIG, "tree: more than %d levels",
				TREE_MAX_LEVEL);
		goto out;
	}
	*out_root = root;
	*out_level = (uint8_t)level;
	*out_size = t->size;
out:
	reset(t);
	return rc;
}

int tree_parse(const uint8_t *raw, size_t len, int want_level,
	       uint64_t want_bytes, tree_entry **out, uint32_t *out_n)
{
	tree_entry *e = NULL;
	const uint8_t *p;
	uint64_t sum = 0;
	uint32_t count, i;
	int rc;

	if (want_level < 1 || want_level > TREE_MAX_LEVEL)
		return ddterr_set(-EINVAL, "metadata segment: level %d is not "
				  "1 to %d", want_level, TREE_MAX_LEVEL);
	if (len < TREE_HDR_LEN)
		return ddterr_set(-EBADMSG, "metadata segment: %zu bytes, "
				  "shorter than its header", len);
	if (memcmp(raw, TREE_MAGIC, 4) != 0)
		return ddterr_set(-EBADMSG, "metadata segment: bad magic");
	if (raw[4] != TREE_VERSION)
		return ddterr_set(-EBADMSG, "metadata segment: version %u, "
				  "not %d", raw[4], TREE_VERSION);
	if (raw[5] != want_level)
		return ddterr_set(-EBADMSG, "metadata segment: level %u where "
				  "its parent needs %d", raw[5], want_level);
	if (get_le16(raw + 6) != 0 || get_le32(raw + 12) != 0)
		return ddterr_set(-EBADMSG, "metadata segment: reserved "
				  "header bytes are not zero");
	count = get_le32(raw + 8);
	if (count < 1 || count > TREE_MAX_FANOUT)
		return ddterr_set(-EBADMSG, "metadata segment: %u entries, "
				  "not 1 to %d", count, TREE_MAX_FANOUT);
	/* count is bounded above, so this cannot wrap. */
	if (len != TREE_HDR_LEN + (size_t)count * TREE_ENTRY_LEN)
		return ddterr_set(-EBADMSG, "metadata segment: %zu bytes for "
				  "%u entries", len, count);

	e = malloc((size_t)count * sizeof(*e));
	if (!e)
		return ddterr_set(-ENOMEM, "metadata segment: no memory for "
				  "%u entries", count);
	p = raw + TREE_HDR_LEN;
	for (i = 0; i < count; i++, p += TREE_ENTRY_LEN) {
		memcpy(e[i].fp.b, p, FP_LEN);
		e[i].bytes = get_le64(p + FP_LEN);
		if (e[i].bytes == 0) {
			rc = ddterr_set(-EBADMSG, "metadata segment: entry %u "
					"covers 0 bytes", i);
			goto fail;
		}
		if (e[i].bytes > UINT64_MAX - sum) {
			rc = ddterr_set(-EBADMSG, "metadata segment: entries "
					"add up to more than 2^64 bytes");
			goto fail;
		}
		sum += e[i].bytes;
	}
	if (want_bytes != UINT64_MAX && sum != want_bytes) {
		rc = ddterr_set(-EBADMSG, "metadata segment: entries add up "
				"to %llu bytes, its parent says %llu",
				(unsigned long long)sum,
				(unsigned long long)want_bytes);
		goto fail;
	}
	*out = e;
	*out_n = count;
	return 0;
fail:
	free(e);
	return rc;
}

int tree_claim_key(const fp_t *fp, int level, uint64_t bytes, fp_t *out)
{
	uint8_t claim[FP_LEN + 1 + 8];

	memcpy(claim, fp->b, FP_LEN);
	claim[FP_LEN] = (uint8_t)level;
	put_le64(claim + FP_LEN + 1, bytes);
	return fp_compute(out, claim, sizeof(claim));
}

/* A file's root as the caller gave it: nothing to fetch yet, but a level
 * out of range or an empty file with a tree under it can only be wrong. */
static int check_root(const fp_t *root, int level, uint64_t size)
{
	static const fp_t zero;

	if (level < 0 || level > TREE_MAX_LEVEL)
		return ddterr_set(-EBADMSG, "tree: root level %d is not 0 to "
				  "%d", level, TREE_MAX_LEVEL);
	if (size == 0 && (level != 0 || !fp_equal(root, &zero)))
		return ddterr_set(-EBADMSG, "tree: an empty file must have "
				  "level 0 and a zero root");
	return 0;
}

/* Fetch the metadata segment fp and check it against what its parent (or
 * the caller, for the root) says of it: level and bytes. */
static int load(tree_fetch_fn fetch, void *arg, const fp_t *fp, int level,
		uint64_t bytes, tree_entry **out, uint32_t *out_n)
{
	char hex[FP_HEX_LEN + 1];
	uint8_t *raw;
	size_t len;
	int rc;

	rc = fetch(arg, fp, &raw, &len);
	if (rc)
		return rc;	/* nothing handed over to free */
	rc = tree_parse(raw, len, level, bytes, out, out_n);
	free(raw);
	if (rc == -EBADMSG) {
		/* Name the segment: the parse alone cannot. */
		fp_to_hex(fp, hex);
		ddterr_set(rc, "level-%d %.16s: %s", level, hex,
			   ddterr_last(rc));
	}
	return rc;
}

struct map_ctx {
	uint64_t off, end;	/* the range, end clipped to the size */
	tree_fetch_fn fetch;
	void *arg;
	tree_entry *out;
	uint64_t *offsets;
	uint32_t max, n;
};

/* The node fp (level, bytes), which starts at file offset start and
 * overlaps the range: itself if data, else its overlapping children.
 * Children wholly before or after the range are skipped by their byte
 * counts, unfetched, so a read costs one fetch per level. */
static int map_node(struct map_ctx *m, const fp_t *fp, int level,
		    uint64_t bytes, uint64_t start)
{
	tree_entry *e;
	uint64_t pos = start;
	uint32_t n, i;
	int rc;

	if (level == 0) {
		m->out[m->n].fp = *fp;
		m->out[m->n].bytes = bytes;
		if (m->offsets)
			m->offsets[m->n] = start;
		m->n++;
		return 0;
	}
	rc = load(m->fetch, m->arg, fp, level, bytes, &e, &n);
	if (rc)
		return rc;
	/* pos + bytes stays <= the file size: every sum was checked. */
	for (i = 0; i < n && m->n < m->max && pos < m->end; i++) {
		if (pos + e[i].bytes > m->off) {
			rc = map_node(m, &e[i].fp, level - 1, e[i].bytes,
				      pos);
			if (rc)
				break;
		}
		pos += e[i].bytes;
	}
	free(e);
	return rc;
}

int tree_map(const fp_t *root, int level, uint64_t size, uint64_t off,
	     uint64_t len, tree_fetch_fn fetch, void *arg, tree_entry *out,
	     uint64_t *out_offsets, uint32_t max, uint32_t *out_n)
{
	struct map_ctx m = {
		.off = off, .fetch = fetch, .arg = arg, .out = out,
		.offsets = out_offsets, .max = max,
	};
	int rc;

	rc = check_root(root, level, size);
	if (rc)
		return rc;
	if (len > 0 && max > 0 && off < size) {
		m.end = len > size - off ? size : off + len;
		rc = map_node(&m, root, level, size, 0);
		if (rc)
			return rc;
	}
	*out_n = m.n;
	return 0;
}

struct walk_ctx {
	tree_fetch_fn fetch;
	void *fetch_arg;
	tree_visit_fn visit;
	void *visit_arg;
};

/* Visit a node before fetching it, so a visitor checking that segments
 * exist can say which one is missing before the fetch fails on it. */
static int walk_node(struct walk_ctx *w, const fp_t *fp, int level,
		     uint64_t bytes)
{
	tree_entry *e;
	uint32_t n, i;
	int rc;

	rc = w->visit(w->visit_arg, level, fp, bytes);
	if (rc == TREE_WALK_SKIP)
		return 0;
	if (rc || level == 0)
		return rc;
	rc = load(w->fetch, w->fetch_arg, fp, level, bytes, &e, &n);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		rc = walk_node(w, &e[i].fp, level - 1, e[i].bytes);
		if (rc)
			break;
	}
	free(e);
	return rc;
}

int tree_walk(const fp_t *root, int level, uint64_t size, tree_fetch_fn fetch,
	      void *fetch_arg, tree_visit_fn visit, void *visit_arg)
{
	struct walk_ctx w = {
		.fetch = fetch, .fetch_arg = fetch_arg,
		.visit = visit, .visit_arg = visit_arg,
	};
	int rc;

	rc = check_root(root, level, size);
	if (rc || size == 0)
		return rc;	/* an empty file has no nodes */
	return walk_node(&w, root, level, size);
}
