/* test_tree.c - a file's tree of segments: every data segment comes back
 * in order through tree_walk() and tree_map(), the builder agrees with a
 * level-at-a-time reference and with itself, an insertion changes only a
 * few metadata segments, and malformed or corrupted segments are refused. */
#include "tree.h"
#include "bytes.h"
#include "ddterr.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

/* ---- an in-memory segment store: emit puts, fetch gets ---- */

struct seg {
	fp_t fp;
	uint8_t *raw;	/* NULL: free slot */
	size_t len;
	int level;
};

/* Ways a fetch can hand back a damaged segment of level mangle_level. */
enum mangle {
	M_NONE, M_SUM, M_LEVEL, M_SHORT, M_LONG, M_GARBAGE, M_COUNT0,
	M_ZERO_ENTRY, M_NMANGLE
};

struct store {
	struct seg *slot;	/* open addressing on fp_hash64() */
	size_t cap, n;
	size_t emits;		/* emit calls, duplicates included */
	size_t bad_emits;	/* fp or level not what the raw bytes say */
	size_t fail_at;		/* fail emit call number fail_at (1..) */
	fp_t *order;		/* fps in emit order, if keep_order */
	size_t norder, keep_order;
	size_t fetches;
	enum mangle mangle;
	int mangle_level;
};

static void store_init(struct store *s)
{
	memset(s, 0, sizeof(*s));
	s->cap = 1024;
	s->slot = calloc(s->cap, sizeof(*s->slot));
	if (!s->slot)
		tap_bail("calloc store");
}

static void store_free(struct store *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i].raw);
	free(s->slot);
	free(s->order);
	memset(s, 0, sizeof(*s));
}

static struct seg *store_find(const struct store *s, const fp_t *fp)
{
	size_t i = fp_hash64(fp) & (s->cap - 1);

	while (s->slot[i].raw) {
		if (fp_equal(&s->slot[i].fp, fp))
			return &s->slot[i];
		i = (i + 1) & (s->cap - 1);
	}
	return &s->slot[i];	/* the free slot it would go in */
}

static void store_grow(struct store *s)
{
	struct seg *old = s->slot;
	size_t oldcap = s->cap;

	s->cap *= 2;
	s->slot = calloc(s->cap, sizeof(*s->slot));
	if (!s->slot)
		tap_bail("calloc store");
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].raw)
			*store_find(s, &old[i].fp) = old[i];
	free(old);
}

static int emit(void *arg, int level, const uint8_t *raw, size_t len,
		const fp_t *fp)
{
	struct store *s = arg;
	struct seg *g;
	fp_t f;

	if (++s->emits == s->fail_at)
		return ddterr_set(-EIO, "test: emit %zu fails", s->emits);
	if (fp_compute(&f, raw, len) || !fp_equal(&f, fp) || len < 6 ||
	    raw[5] != level)
		s->bad_emits++;
	if (s->keep_order) {
		if (s->norder % 1024 == 0) {
			s->order = realloc(s->order, (s->norder + 1024) *
					   sizeof(*s->order));
			if (!s->order)
				tap_bail("realloc order");
		}
		s->order[s->norder++] = *fp;
	}
	if (2 * (s->n + 1) > s->cap)
		store_grow(s);
	g = store_find(s, fp);
	if (g->raw)
		return 0;	/* the same segment again: deduplicated */
	g->raw = xmalloc(len);
	memcpy(g->raw, raw, len);
	g->len = len;
	g->fp = *fp;
	g->level = level;
	s->n++;
	return 0;
}

/* Damage a fetched copy (*raw, *len bytes, xmalloc'd) as s->mangle says. */
static void mangle(const struct store *s, uint8_t **raw, size_t *len)
{
	uint8_t *p = *raw;

	switch (s->mangle) {
	case M_SUM:	/* one more byte in the last entry */
		put_le64(p + *len - 8, get_le64(p + *len - 8) + 1);
		break;
	case M_LEVEL:
		p[5]++;
		break;
	case M_SHORT:
		(*len)--;
		break;
	case M_LONG:	/* a stray byte after the last entry */
		p = realloc(p, *len + 1);
		if (!p)
			tap_bail("realloc");
		p[(*len)++] = 0;
		*raw = p;
		break;
	case M_GARBAGE:
		rnd_fill(p, *len);
		break;
	case M_COUNT0:
		put_le32(p + 8, 0);
		break;
	case M_ZERO_ENTRY: /* bytes moved from the first entry to the last */
		put_le64(p + *len - 8, get_le64(p + *len - 8) +
			 get_le64(p + TREE_HDR_LEN + FP_LEN));
		put_le64(p + TREE_HDR_LEN + FP_LEN, 0);
		break;
	default:
		break;
	}
}

static int fetch(void *arg, const fp_t *fp, uint8_t **out_raw,
		 size_t *out_len)
{
	struct store *s = arg;
	struct seg *g = store_find(s, fp);
	uint8_t *raw;
	size_t len;

	s->fetches++;
	if (!g->raw)
		return ddterr_set(-ENOENT, "test: no such segment");
	len = g->len;
	raw = xmalloc(len);
	memcpy(raw, g->raw, len);
	if (s->mangle != M_NONE && g->level == s->mangle_level)
		mangle(s, &raw, &len);
	*out_raw = raw;
	*out_len = len;
	return 0;
}

/* ---- files: data entries, their offsets, their tree ---- */

struct file {
	tree_entry *e;
	uint64_t *start;	/* start[i]: offset of e[i]; start[n]: size */
	size_t n;
	fp_t root;
	int level;
	uint64_t size;
};

/* n entries with random fingerprints and 1 to 64 KiB each. */
static void file_make(struct file *f, size_t n, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->e = xmalloc(n * sizeof(*f->e));
	f->n = n;
	rnd_seed(seed);
	for (size_t i = 0; i < n; i++) {
		rnd_fp(&f->e[i].fp);
		f->e[i].bytes = 1 + rnd64() % 65536;
	}
}

static void file_offsets(struct file *f)
{
	free(f->start);
	f->start = xmalloc((f->n + 1) * sizeof(*f->start));
	f->start[0] = 0;
	for (size_t i = 0; i < f->n; i++)
		f->start[i + 1] = f->start[i] + f->e[i].bytes;
}

static void file_free(struct file *f)
{
	free(f->e);
	free(f->start);
}

/* Build f's tree with t (new if NULL) into s. 0 or the first failure. */
static int build(tree_builder *t, struct store *s, struct file *f)
{
	tree_builder *mine = NULL;
	uint8_t level;
	int rc;

	if (!t) {
		if (tree_builder_new(&mine, emit, s))
			tap_bail("tree_builder_new");
		t = mine;
	}
	for (size_t i = 0; i < f->n; i++) {
		rc = tree_add(t, &f->e[i].fp, f->e[i].bytes);
		if (rc)
			break;
	}
	rc = tree_finish(t, &f->root, &level, &f->size);
	f->level = level;
	tree_builder_free(mine);
	file_offsets(f);
	return rc;
}

/*
 * The reference: the tree built the slow and obvious way, a whole level at
 * a time, straight from the wording of PROTOCOL.md section 6. The streaming
 * builder must produce the very same root.
 */
static void ref_root(const struct file *f, fp_t *root, int *out_level)
{
	uint8_t *buf = xmalloc(TREE_MAX_SEG_LEN);
	tree_entry *cur, *next;
	size_t ncur = f->n, nnext, first, i, len;
	uint64_t sum;
	int level = 0;

	memset(root, 0, sizeof(*root));
	cur = xmalloc((ncur ? ncur : 1) * sizeof(*cur));
	memcpy(cur, f->e, ncur * sizeof(*cur));
	while (ncur > 1) {
		level++;
		next = xmalloc(ncur * sizeof(*next));
		nnext = 0;
		first = 0;
		sum = 0;
		for (i = 0; i < ncur; i++) {
			size_t cnt = i + 1 - first;

			sum += cur[i].bytes;
			if (cnt < TREE_MAX_FANOUT && i + 1 < ncur &&
			    (cnt < TREE_MIN_FANOUT ||
			     get_le16(cur[i].fp.b) % TREE_AVG_FANOUT != 0))
				continue;
			len = tree_encode(level, cur + first, (uint32_t)cnt,
					  buf);
			if (fp_compute(&next[nnext].fp, buf, len))
				tap_bail("fp_compute");
			next[nnext++].bytes = sum;
			first = i + 1;
			sum = 0;
		}
		free(cur);
		cur = next;
		ncur = nnext;
	}
	if (ncur == 1)
		*root = cur[0].fp;
	*out_level = level;
	free(cur);
	free(buf);
}

/* ---- checking a tree through tree_walk() and tree_map() ---- */

struct walk_check {
	const struct file *f;
	size_t next;		/* data entries seen */
	size_t meta;		/* metadata segments seen */
	size_t bad;
	int prev_level;		/* -1 before the first visit */
	size_t stop_after;	/* return 7 from this visit on (0: never) */
	size_t visits;
};

static int visit(void *arg, int level, const fp_t *fp, uint64_t bytes)
{
	struct walk_check *w = arg;

	if (w->stop_after && ++w->visits >= w->stop_after)
		return 7;
	/* Top down: a metadata node's first child comes right after it. */
	if (w->prev_level >= 1 && level != w->prev_level - 1)
		w->bad++;
	if (w->prev_level < 0 && level != w->f->level)
		w->bad++;
	w->prev_level = level;
	if (level > 0) {
		w->meta++;
		return 0;
	}
	if (w->next >= w->f->n || !fp_equal(fp, &w->f->e[w->next].fp) ||
	    bytes != w->f->e[w->next].bytes)
		w->bad++;
	w->next++;
	return 0;
}

/* 0 if tree_walk() gives back f's data entries in order and visits nmeta
 * metadata segments, top down. */
static int walk_ok(struct store *s, const struct file *f, size_t nmeta)
{
	struct walk_check w = { .f = f, .prev_level = -1 };
	int rc;

	rc = tree_walk(&f->root, f->level, f->size, fetch, s, visit, &w);
	if (rc || w.bad || w.next != f->n || w.meta != nmeta) {
		diag("walk: rc %d (%s), %zu bad, %zu of %zu entries, %zu of "
		     "%zu metadata", rc, ddterr_last(rc), w.bad, w.next, f->n,
		     w.meta, nmeta);
		return 1;
	}
	return 0;
}

/* The index of the entry holding byte off (< size). */
static size_t entry_at(const struct file *f, uint64_t off)
{
	size_t lo = 0, hi = f->n;	/* start[lo] <= off < start[hi] */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* 0 if tree_map() over [off, off + len) gives exactly the overlapping
 * entries (at most max) with their offsets. out holds f->n + 1. */
static int map_ok(struct store *s, const struct file *f, uint64_t off,
		  uint64_t len, uint32_t max, tree_entry *out,
		  uint64_t *offs)
{
	size_t first = 0, want = 0, i;
	uint32_t n = UINT32_MAX;
	uint64_t end;
	int rc;

	if (len > 0 && off < f->size) {
		end = len > f->size - off ? f->size : off + len;
		first = entry_at(f, off);
		want = entry_at(f, end - 1) - first + 1;
		if (want > max)
			want = max;
	}
	rc = tree_map(&f->root, f->level, f->size, off, len, fetch, s, out,
		      offs, max, &n);
	if (rc || n != want)
		goto bad;
	for (i = 0; i < want; i++)
		if (!fp_equal(&out[i].fp, &f->e[first + i].fp) ||
		    out[i].bytes != f->e[first + i].bytes ||
		    offs[i] != f->start[first + i])
			goto bad;
	return 0;
bad:
	diag("map [%llu, +%llu) max %u: rc %d (%s), %u entries, want %zu "
	     "from %zu", (unsigned long long)off, (unsigned long long)len,
	     max, rc, ddterr_last(rc), n, want, first);
	return 1;
}

/* Random ranges, mostly reads of a few segments, some long, some running
 * past the end, plus the edges. Returns the failures. */
static size_t map_many(struct store *s, const struct file *f, int nranges)
{
	tree_entry *out = xmalloc((f->n + 1) * sizeof(*out));
	uint64_t *offs = xmalloc((f->n + 1) * sizeof(*offs));
	uint32_t max = (uint32_t)f->n + 1;
	size_t bad = 0;
	uint64_t off, len;

	bad += map_ok(s, f, 0, f->size, max, out, offs);
	bad += map_ok(s, f, 0, UINT64_MAX, max, out, offs);
	bad += map_ok(s, f, f->size, 1, max, out, offs);
	bad += map_ok(s, f, UINT64_MAX, UINT64_MAX, max, out, offs);
	bad += map_ok(s, f, 0, 0, max, out, offs);
	if (f->size == 0)
		goto out;
	bad += map_ok(s, f, f->size - 1, 1, max, out, offs);
	bad += map_ok(s, f, f->size - 1, UINT64_MAX, max, out, offs);
	bad += map_ok(s, f, 0, 1, max, out, offs);
	bad += map_ok(s, f, 0, f->size, 3, out, offs);
	for (int i = 0; i < nranges; i++) {
		off = rnd64() % f->size;
		switch (rnd64() % 10) {
		case 0:
			len = UINT64_MAX - rnd64() % 3;
			break;
		case 1:
			len = 1 + rnd64() % (64ull << 20);
			break;
		default:
			len = 1 + rnd64() % (256u << 10);
		}
		bad += map_ok(s, f, off, len, max, out, offs);
	}
	/* Ranges starting or ending exactly where a segment does: the
	 * neighbour that only touches the range must be left out. */
	for (int i = 0; i < nranges / 10 + 1; i++) {
		size_t k = rnd64() % f->n;

		bad += map_ok(s, f, f->start[k], f->e[k].bytes, max, out,
			      offs);
		bad += map_ok(s, f, f->start[k], 1, max, out, offs);
		if (k > 0)
			bad += map_ok(s, f, f->start[k] - 1, 2, max, out,
				      offs);
	}
	bad += map_ok(s, f, rnd64() % f->size, UINT64_MAX, 1 + rnd64() % 5,
		      out, offs);
out:
	free(out);
	free(offs);
	return bad;
}

/* ---- the tests ---- */

static void test_round_trip(size_t n)
{
	struct store s;
	struct file f;
	fp_t want;
	int level, rc;

	store_init(&s);
	file_make(&f, n, 0x7EE0000 + n);
	rc = build(NULL, &s, &f);
	ref_root(&f, &want, &level);
	ok(rc == 0 && fp_equal(&f.root, &want) && f.level == level &&
	   f.size == f.start[n] && s.bad_emits == 0 && s.emits == s.n,
	   "%zu entries: the root is the reference's, level %d, %zu "
	   "metadata segments emitted once each", n, f.level, s.n);
	ok(walk_ok(&s, &f, s.n) == 0,
	   "%zu entries: tree_walk visits the %zu metadata segments and "
	   "every entry, in order", n, s.n);
	ok(map_many(&s, &f, n > 10000 ? 150 : 200) == 0,
	   "%zu entries: tree_map over random ranges gives exactly the "
	   "overlapping entries and their offsets", n);
	file_free(&f);
	store_free(&s);
}

/* A fingerprint that is (or is not) a group boundary by the u16 rule. */
static void boundary_fp(fp_t *fp, int boundary)
{
	rnd_fp(fp);
	if (boundary) {
		fp->b[0] = 0;
		fp->b[1] &= 0xfe;	/* low 9 bits of the u16 clear */
	} else {
		fp->b[0] |= 1;
	}
}

/* The root segment's entry count, -1 if it is not in the store. */
static int root_count(struct store *s, const struct file *f)
{
	struct seg *g = store_find(s, &f->root);

	return g->raw ? (int)get_le32(g->raw + 8) : -1;
}

/* Hand-placed boundaries, the shapes section 6 spells out: n entries,
 * boundaries after every step-th (0: none). */
static void test_shape(size_t n, size_t step, int want_level,
		       int want_count, size_t want_emits, const char *what)
{
	struct store s;
	struct file f;
	fp_t want;
	int level, rc;

	store_init(&s);
	file_make(&f, n, 0x5A9E + n + step);
	for (size_t i = 0; i < n; i++)
		boundary_fp(&f.e[i].fp, step && (i + 1) % step == 0);
	rc = build(NULL, &s, &f);
	ref_root(&f, &want, &level);
	ok(rc == 0 && fp_equal(&f.root, &want) && f.level == want_level &&
	   level == want_level && root_count(&s, &f) == want_count &&
	   s.emits == want_emits && walk_ok(&s, &f, s.n) == 0,
	   "%s: level %d, root of %d entries, %zu segments emitted", what,
	   f.level, root_count(&s, &f), s.emits);
	file_free(&f);
	store_free(&s);
}

static void test_shapes(void)
{
	struct store s;
	tree_builder *t;
	struct file f;
	size_t before;
	uint8_t level;

	test_shape(2, 0, 1, 2, 1, "2 entries");
	test_shape(63, 10, 1, 63, 1, "63 entries, boundaries before 64");
	test_shape(2048, 0, 1, 2048, 1, "2048 entries, no boundary");
	test_shape(2049, 0, 2, 2, 3, "2049 entries, no boundary");
	test_shape(300, 100, 2, 3, 4, "300 entries in 3 groups");
	test_shape(301, 100, 2, 4, 5, "301 entries: a last group of 1");
	test_shape(64 * 64 + 5, 64, 2, 65, 66, "64 groups of 64 and 5 more");

	/* A group that ends on its last child during tree_add() is the root
	 * already: tree_finish() must not wrap it again nor emit more. */
	store_init(&s);
	file_make(&f, 64, 0xB0B);
	for (size_t i = 0; i < 64; i++)
		boundary_fp(&f.e[i].fp, i == 63);
	if (tree_builder_new(&t, emit, &s))
		tap_bail("tree_builder_new");
	for (size_t i = 0; i < 64; i++)
		if (tree_add(t, &f.e[i].fp, f.e[i].bytes))
			tap_bail("tree_add");
	before = s.emits;
	ok(before == 1 && tree_finish(t, &f.root, &level, &f.size) == 0 &&
	   s.emits == 1 && level == 1 && root_count(&s, &f) == 64,
	   "64 entries ending on a boundary: the group emitted by tree_add "
	   "is the root, nothing more emitted");
	tree_builder_free(t);
	file_free(&f);
	store_free(&s);
}

/* The same entries give the same root and the same segments in the same
 * order, from a fresh builder or one reused after another file, or after
 * a file that failed. */
static void test_determinism(void)
{
	struct store a, b;
	struct file f, g;
	tree_builder *t;
	fp_t r1;
	int rc;

	store_init(&a);
	store_init(&b);
	a.keep_order = b.keep_order = 1;
	file_make(&f, 5000, 42);
	file_make(&g, 7000, 43);
	if (tree_builder_new(&t, emit, &b))
		tap_bail("tree_builder_new");
	rc = build(NULL, &a, &f);
	r1 = f.root;
	rc |= build(t, &b, &g);		/* another file first */
	b.norder = 0;
	rc |= build(t, &b, &f);
	ok(rc == 0 && fp_equal(&r1, &f.root) && a.norder == b.norder &&
	   memcmp(a.order, b.order, a.norder * sizeof(*a.order)) == 0,
	   "same entries, same root and segments, fresh or reused builder "
	   "(%zu segments)", a.norder);

	/* An emit failure spoils that file only. */
	b.fail_at = b.emits + 2;
	rc = build(t, &b, &g);
	b.norder = 0;
	ok(rc == -EIO && build(t, &b, &f) == 0 && fp_equal(&r1, &f.root) &&
	   b.norder == a.norder,
	   "a failed emit fails the file (%d), the next file builds as "
	   "ever", rc);
	tree_builder_free(t);
	file_free(&f);
	file_free(&g);
	store_free(&a);
	store_free(&b);
}

/* Refused entries leave the file as it was. */
static void test_bad_adds(void)
{
	struct store s;
	struct file f;
	tree_builder *t;
	uint8_t level;
	fp_t want, root;
	uint64_t size;
	int ref_level, bad = 0;

	store_init(&s);
	file_make(&f, 100, 44);
	ref_root(&f, &want, &ref_level);
	if (tree_builder_new(&t, emit, &s))
		tap_bail("tree_builder_new");
	for (size_t i = 0; i < f.n; i++) {
		if (i == 50) {
			bad += tree_add(t, &f.e[0].fp, 0) != -EINVAL;
			bad += tree_add(t, &f.e[0].fp, UINT64_MAX) !=
			       -EOVERFLOW;
		}
		bad += tree_add(t, &f.e[i].fp, f.e[i].bytes) != 0;
	}
	bad += tree_finish(t, &root, &level, &size) != 0;
	ok(bad == 0 && fp_equal(&root, &want) && level == ref_level,
	   "a 0-byte entry (-EINVAL) and one past 2^64 bytes (-EOVERFLOW) "
	   "are refused and change nothing");
	tree_builder_free(t);
	file_free(&f);
	store_free(&s);
}

/* The segments of b's tree that a's store lacks. */
static size_t new_segments(struct store *a, struct store *b)
{
	size_t k = 0;

	for (size_t i = 0; i < b->cap; i++)
		if (b->slot[i].raw && !store_find(a, &b->slot[i].fp)->raw)
			k++;
	return k;
}

/*
 * The point of content-defined groups: an entry inserted into (or removed
 * from) a large file changes the group around it and the path above it,
 * maybe a neighbouring group where a boundary moved, and nothing else.
 * Fixed-size groups would change every group after the edit.
 */
static void test_locality(void)
{
	struct store a, b, c;
	struct file f, g, h;
	size_t n = 200000, at = n / 2, ins, del;
	int rc;

	store_init(&a);
	store_init(&b);
	store_init(&c);
	file_make(&f, n, 45);
	file_make(&g, n + 1, 46);
	memcpy(g.e, f.e, at * sizeof(*g.e));	/* keep g.e[at]: new */
	memcpy(g.e + at + 1, f.e + at, (n - at) * sizeof(*g.e));
	file_make(&h, n - 1, 47);
	memcpy(h.e, f.e, (at + 77) * sizeof(*h.e));
	memcpy(h.e + at + 77, f.e + at + 78, (n - at - 78) * sizeof(*h.e));
	rc = build(NULL, &a, &f);
	rc |= build(NULL, &b, &g);
	rc |= build(NULL, &c, &h);
	ins = new_segments(&a, &b);
	del = new_segments(&a, &c);
	ok(rc == 0 && ins >= 1 && ins <= 6 && del >= 1 && del <= 6,
	   "200000 entries, level %d, %zu metadata segments: one inserted "
	   "changes %zu, one removed changes %zu", f.level, a.n, ins, del);
	file_free(&f);
	file_free(&g);
	file_free(&h);
	store_free(&a);
	store_free(&b);
	store_free(&c);
}

/* A read costs one fetch per level: only the path to the range. */
static void test_map_cost(void)
{
	struct store s;
	struct file f;
	tree_entry out[4];
	uint64_t offs[4];
	size_t bad = 0;
	uint32_t n;

	store_init(&s);
	file_make(&f, 200000, 48);
	if (build(NULL, &s, &f))
		tap_bail("build");
	for (int i = 0; i < 100; i++) {
		s.fetches = 0;
		if (tree_map(&f.root, f.level, f.size, rnd64() % f.size, 1,
			     fetch, &s, out, offs, 4, &n) || n != 1 ||
		    s.fetches != (size_t)f.level)
			bad++;
	}
	ok(bad == 0 && f.level >= 2,
	   "a 1-byte read of a level-%d tree fetches %d segments", f.level,
	   f.level);
	file_free(&f);
	store_free(&s);
}

/* Parse raw[0..len) from an exact-size copy, so that a read past the end
 * shows under the address sanitizer. */
static int parse_copy(const uint8_t *raw, size_t len, int level,
		      uint64_t bytes, tree_entry **e, uint32_t *n)
{
	uint8_t *p = xmalloc(len);
	int rc;

	memcpy(p, raw, len);
	rc = tree_parse(p, len, level, bytes, e, n);
	free(p);
	return rc;
}

static void test_parse(void)
{
	enum { N = 5 };
	static const struct {
		size_t off;	/* byte to set */
		int w;		/* 1, 2, 4, 8 bytes, little-endian */
		uint64_t v;
		int len_delta;	/* added to len */
		uint64_t want_delta;
		const char *what;
	} bad[] = {
		{ 0, 1, 'X', 0, 0, "bad magic" },
		{ 3, 1, 'm', 0, 0, "magic case" },
		{ 4, 1, 2, 0, 0, "version 2" },
		{ 4, 1, 0, 0, 0, "version 0" },
		{ 5, 1, 3, 0, 0, "wrong level" },
		{ 5, 1, 0, 0, 0, "level 0" },
		{ 6, 2, 1, 0, 0, "reserved u16" },
		{ 12, 4, 0x100, 0, 0, "reserved u32" },
		{ 8, 4, 0, 0, 0, "count 0" },
		{ 8, 4, N - 1, 0, 0, "count one short" },
		{ 8, 4, N + 1, 0, 0, "count one over" },
		{ 8, 4, TREE_MAX_FANOUT + 1, 0, 0, "count over the max" },
		{ 8, 4, UINT32_MAX, 0, 0, "count 2^32 - 1" },
		{ 0, 0, 0, 1, 0, "a trailing byte" },
		{ 0, 0, 0, 40, 0, "a trailing entry" },
		{ 0, 0, 0, 0, 1, "sum one over the parent's" },
		{ 0, 0, 0, 0, UINT64_MAX - 1, "sum two under the parent's" },
		{ TREE_HDR_LEN + 2 * 40 + 32, 8, 0, 0, 0, "an entry of 0 "
		  "bytes" },
	};
	uint8_t raw[TREE_HDR_LEN + (N + 1) * TREE_ENTRY_LEN + 1], *p;
	uint8_t big[TREE_HDR_LEN + (TREE_MAX_FANOUT + 1) * TREE_ENTRY_LEN];
	tree_entry e[N + 1], *got = NULL, *many;
	uint64_t sum = 0;
	uint32_t n = 0;
	size_t len, i, nbad = 0, nmsg = 0;
	int rc;

	for (i = 0; i < N; i++) {
		rnd_fp(&e[i].fp);
		e[i].bytes = 1 + rnd64() % 100000;
		sum += e[i].bytes;
	}
	len = tree_encode(2, e, N, raw);
	rc = parse_copy(raw, len, 2, sum, &got, &n);
	ok(rc == 0 && n == N && len == TREE_HDR_LEN + N * TREE_ENTRY_LEN &&
	   memcmp(raw, "DDTM\1\2\0\0\5\0\0\0\0\0\0\0", 16) == 0 &&
	   memcmp(got, e, sizeof(*got) * N) == 0 &&
	   get_le64(raw + TREE_HDR_LEN + 32) == e[0].bytes,
	   "a %zu-byte level-2 segment encodes as specified and parses "
	   "back", len);
	free(got);
	got = NULL;
	ok(parse_copy(raw, len, 2, UINT64_MAX, &got, &n) == 0 && n == N,
	   "UINT64_MAX skips the sum check");
	free(got);
	got = NULL;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = tree_encode(2, e, N, raw);
		p = raw + bad[i].off;
		memset(raw + len, 0, sizeof(raw) - len);
		switch (bad[i].w) {
		case 1:
			p[0] = (uint8_t)bad[i].v;
			break;
		case 2:
			put_le16(p, (uint16_t)bad[i].v);
			break;
		case 4:
			put_le32(p, (uint32_t)bad[i].v);
			break;
		case 8:	/* keep the sum: move the bytes to entry 0 */
			put_le64(raw + TREE_HDR_LEN + 32,
				 e[0].bytes + get_le64(p));
			put_le64(p, bad[i].v);
			break;
		}
		ddterr_clear();
		rc = parse_copy(raw, len + bad[i].len_delta, 2,
				sum + bad[i].want_delta, &got, &n);
		if (rc != -EBADMSG || got) {
			diag("%s: %d", bad[i].what, rc);
			nbad++;
			free(got);
			got = NULL;
		}
		nmsg += strstr(ddterr_last(rc), "metadata segment") != NULL;
	}
	ok(nbad == 0, "%zu malformed segments refused with -EBADMSG",
	   sizeof(bad) / sizeof(bad[0]));
	ok(nmsg == sizeof(bad) / sizeof(bad[0]),
	   "each with a message: %s", ddterr_last(-EBADMSG));

	/* Every truncation, including inside the header. */
	len = tree_encode(2, e, N, raw);
	for (i = 0, nbad = 0; i < len; i++)
		nbad += parse_copy(raw, i, 2, UINT64_MAX, &got, &n) !=
			-EBADMSG;
	ok(nbad == 0 && got == NULL, "all %zu truncations refused", len);

	/* Entries that overflow 64 bits, sum unchecked. */
	e[N].bytes = UINT64_MAX / 2 + 1;
	e[N - 1].bytes = UINT64_MAX / 2 + 1;
	len = tree_encode(1, e + N - 1, 2, raw);
	rc = parse_copy(raw, len, 1, UINT64_MAX, &got, &n);
	ok(rc == -EBADMSG && got == NULL,
	   "entries adding up past 2^64 are refused");

	/* The largest legal segment, and one entry more. */
	many = xmalloc((TREE_MAX_FANOUT + 1) * sizeof(*many));
	for (i = 0; i <= TREE_MAX_FANOUT; i++) {
		rnd_fp(&many[i].fp);
		many[i].bytes = 1;
	}
	len = tree_encode(3, many, TREE_MAX_FANOUT, big);
	rc = parse_copy(big, len, 3, TREE_MAX_FANOUT, &got, &n);
	free(got);
	got = NULL;
	len = tree_encode(3, many, TREE_MAX_FANOUT + 1, big);
	ok(rc == 0 && n == TREE_MAX_FANOUT &&
	   len - TREE_ENTRY_LEN == TREE_MAX_SEG_LEN &&
	   parse_copy(big, len, 3, TREE_MAX_FANOUT + 1, &got, &n) ==
	   -EBADMSG && got == NULL,
	   "%d entries parse, %d are refused", TREE_MAX_FANOUT,
	   TREE_MAX_FANOUT + 1);
	free(many);
	ok(tree_parse(big, len, 0, UINT64_MAX, &got, &n) == -EINVAL &&
	   tree_parse(big, len, TREE_MAX_LEVEL + 1, UINT64_MAX, &got, &n) ==
	   -EINVAL, "a wanted level outside 1..%d is the caller's error",
	   TREE_MAX_LEVEL);
}

/*
 * A store handing back damaged metadata: every level-1 segment, or the
 * root, broken in each way. Walks and reads must fail with -EBADMSG, not
 * crash or return a wrong answer; a missing segment is the fetch's error.
 */
static void test_corrupt(void)
{
	struct store s;
	struct file f;
	struct walk_check w;
	tree_entry *out;
	uint64_t *offs;
	uint32_t n;
	size_t bad = 0, m, was;
	int lv, rc;
	fp_t zero;

	store_init(&s);
	file_make(&f, 5000, 49);
	if (build(NULL, &s, &f) || f.level != 2)
		tap_bail("build a level-2 tree");
	out = xmalloc((f.n + 1) * sizeof(*out));
	offs = xmalloc((f.n + 1) * sizeof(*offs));
	for (lv = 1; lv <= 2; lv++) {
		for (m = M_NONE + 1; m < M_NMANGLE; m++) {
			s.mangle = (enum mangle)m;
			s.mangle_level = lv;
			memset(&w, 0, sizeof(w));
			w.f = &f;
			w.prev_level = -1;
			was = bad;
			rc = tree_walk(&f.root, f.level, f.size, fetch, &s,
				       visit, &w);
			bad += rc != -EBADMSG;
			rc = tree_map(&f.root, f.level, f.size, 0, UINT64_MAX,
				      fetch, &s, out, offs, (uint32_t)f.n,
				      &n);
			bad += rc != -EBADMSG;
			rc = tree_map(&f.root, f.level, f.size, f.size / 2,
				      1, fetch, &s, out, offs, 1, &n);
			bad += rc != -EBADMSG;
			if (bad != was)
				diag("mangle %zu at level %d: %d", m, lv, rc);
		}
	}
	ok(bad == 0, "%d kinds of damage, to the root and to its children, "
	   "fail walks and reads with -EBADMSG", M_NMANGLE - 1);
	ok(strstr(ddterr_last(-EBADMSG), "level-2") != NULL,
	   "the message names the segment: %s", ddterr_last(-EBADMSG));
	s.mangle = M_NONE;

	/* Claims about the root that cannot be right. */
	memset(&zero, 0, sizeof(zero));
	memset(&w, 0, sizeof(w));
	w.f = &f;
	w.prev_level = -1;
	s.fetches = 0;
	bad = 0;
	bad += tree_walk(&f.root, 1, f.size, fetch, &s, visit, &w) !=
	       -EBADMSG;
	bad += tree_walk(&f.root, 3, f.size, fetch, &s, visit, &w) !=
	       -EBADMSG;
	bad += tree_walk(&f.root, f.level, f.size + 1, fetch, &s, visit,
			 &w) != -EBADMSG;
	bad += tree_map(&f.root, f.level, f.size - 1, 0, 1, fetch, &s, out,
			offs, 1, &n) != -EBADMSG;
	bad += tree_map(&f.root, TREE_MAX_LEVEL + 1, f.size, 0, 1, fetch, &s,
			out, offs, 1, &n) != -EBADMSG;
	bad += tree_map(&f.root, -1, f.size, 0, 1, fetch, &s, out, offs, 1,
			&n) != -EBADMSG;
	bad += tree_walk(&f.root, 1, 0, fetch, &s, visit, &w) != -EBADMSG;
	bad += tree_walk(&f.root, 0, 0, fetch, &s, visit, &w) != -EBADMSG;
	bad += tree_walk(&zero, 0, 0, fetch, &s, visit, &w) != 0;
	ok(bad == 0, "a wrong root level or size, a level past %d, or a "
	   "tree under an empty file are refused", TREE_MAX_LEVEL);

	/* A missing segment: the fetch's own error comes back. */
	memset(&w, 0, sizeof(w));
	w.f = &f;
	w.prev_level = -1;
	rc = tree_walk(&zero, 1, f.size, fetch, &s, visit, &w);
	ok(rc == -ENOENT && tree_map(&zero, 2, f.size, 0, 1, fetch, &s, out,
				     offs, 1, &n) == -ENOENT,
	   "a segment the store lacks fails with the fetch's -ENOENT");

	/* The visitor stops the walk. */
	memset(&w, 0, sizeof(w));
	w.f = &f;
	w.prev_level = -1;
	w.stop_after = 10;
	rc = tree_walk(&f.root, f.level, f.size, fetch, &s, visit, &w);
	ok(rc == 7 && w.visits == 10,
	   "a visitor's non-zero return stops the walk and comes back");
	free(out);
	free(offs);
	file_free(&f);
	store_free(&s);
}

int main(void)
{
	static const size_t sizes[] = { 0, 1, 2, 63, 64, 5000, 200000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		test_round_trip(sizes[i]);
	test_shapes();
	test_determinism();
	test_bad_adds();
	test_locality();
	test_map_cost();
	rnd_seed(0xDD7EE);
	test_parse();
	test_corrupt();
	return tap_done();
}
