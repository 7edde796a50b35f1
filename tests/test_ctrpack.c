/* test_ctrpack.c - compression regions: a packed container reads back every
 * segment byte for byte, stores fewer bytes than its segments compressed
 * alone, keeps an incompressible run as it was, and its parser (format 2 of
 * ctr.h) trusts no count, offset or length of the region table. */
#include "fp.h"
#include "ctr.h"
#include "ctrpack.h"
#include "codec.h"
#include "ddterr.h"
#include "frag.h"
#include "bytes.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

#define SEG_MAX	 (16 * 1024)
#define REGION	 (64 * 1024)

typedef struct corpus {
	int n;
	uint8_t **raw;
	uint32_t *len;
} corpus;

/* Text-like bytes: words from a small vocabulary, so segments compress
 * alone, and much better together. */
static void text_fill(uint8_t *p, uint32_t n)
{
	static const char *const words[] = {
		"container ", "segment ", "region ", "fingerprint ",
		"erasure ", "parity ", "backup ", "restore ", "index ",
		"journal ", "the ", "of ", "a ", "deduplicated ", "store ",
	};
	uint32_t at = 0;

	while (at < n) {
		const char *w = words[rnd64() % 15];
		size_t l = strlen(w);

		if (rnd64() % 7 == 0)
			p[at++] = (uint8_t)('0' + rnd64() % 10);
		for (size_t i = 0; i < l && at < n; i++)
			p[at++] = (uint8_t)w[i];
	}
}

/* nseg segments: text, except [rand_from, rand_to) random (kept raw by
 * the writer, and by packing). Each goes into b compressed with lz4 as a
 * writer would send it. */
static void make(corpus *c, ctr_builder *b, uint64_t cid, int nseg,
		 int rand_from, int rand_to)
{
	uint8_t *z = malloc(codec_bound(SEG_MAX));

	c->n = nseg;
	c->raw = calloc((size_t)nseg, sizeof(*c->raw));
	c->len = calloc((size_t)nseg, sizeof(*c->len));
	if (!z || !c->raw || !c->len || ctr_builder_init(b, cid, 1u << 30))
		tap_bail("make: out of memory");
	for (int i = 0; i < nseg; i++) {
		uint32_t len = 1024 + (uint32_t)(rnd64() % (SEG_MAX - 1024));
		size_t zlen;
		uint32_t slot;
		int codec;
		fp_t f;

		c->raw[i] = malloc(len);
		if (!c->raw[i])
			tap_bail("malloc");
		c->len[i] = len;
		if (i >= rand_from && i < rand_to)
			rnd_fill(c->raw[i], len);
		else
			text_fill(c->raw[i], len);
		if (fp_compute(&f, c->raw[i], len) ||
		    codec_compress(CODEC_LZ4, c->raw[i], len, z,
				   codec_bound(SEG_MAX), &zlen, &codec) ||
		    ctr_builder_append(b, &f, codec, len, z, (uint32_t)zlen,
				       &slot))
			tap_bail("make: segment %d", i);
	}
	free(z);
}

static void corpus_free(corpus *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->raw[i]);
	free(c->raw);
	free(c->len);
}

/* Pack b with zstd into a fresh exact-size buffer, on pool's threads if
 * given. */
static uint8_t *pack_on(const ctr_builder *b, tpool *pool, ctrpack *pk,
			size_t *out_len)
{
	ctrpack_opts o = { .codec = CODEC_ZSTD, .level = 3,
			   .region_raw = REGION };
	ctr_parts parts;
	uint8_t *buf;
	int rc = ctrpack_build(b, &o, pool, pk);

	if (rc)
		tap_bail("ctrpack_build: %s", ddterr_last(rc));
	ctrpack_parts(pk, b->cid, &parts);
	*out_len = ctr_parts_len(&parts);
	buf = malloc(*out_len);
	if (!buf)
		tap_bail("malloc");
	ctr_parts_serialize(&parts, buf);
	return buf;
}

static uint8_t *pack(const ctr_builder *b, ctrpack *pk, size_t *out_len)
{
	return pack_on(b, NULL, pk, out_len);
}

/* Whether segment i of v fails to give back its raw bytes. */
static int seg_differs(const ctr_view *v, const corpus *c, uint32_t i)
{
	static uint8_t out[SEG_MAX];
	ctr_seg g;

	return ctr_view_seg(v, i, &g) || g.raw_len != c->len[i] ||
	       codec_decompress(g.codec, g.data, g.len, out, g.raw_len) ||
	       memcmp(out, c->raw[i], c->len[i]);
}

/* How many segments of v do not give back their raw bytes; segments of
 * region skip (-1: none) are not counted. */
static int differing(const ctr_view *v, const corpus *c, int skip)
{
	int bad = 0;

	for (uint32_t i = 0; i < v->nseg; i++)
		if (skip < 0 || v->ents[i].region != skip + 1)
			bad += seg_differs(v, c, i);
	return bad;
}

static uint64_t builder_stored(const ctr_builder *b)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < b->n; i++)
		sum += b->ents[i].stored_len;
	return sum;
}

/* Region shares add up to their region's stored bytes. */
static int shares_off(const ctrpack *pk)
{
	int bad = 0;

	for (uint32_t r = 0; r < pk->nreg; r++) {
		uint64_t sum = 0;

		for (uint32_t i = 0; i < pk->nseg; i++)
			if (pk->ents[i].region == r + 1)
				sum += pk->ents[i].stored_len;
		bad += sum != pk->regs[r].stored_len;
	}
	return bad;
}

/* Runs compressed on a pool's threads make the same container, byte for
 * byte, as those compressed one after another. */
static void same_on_a_pool(const ctr_builder *b, const uint8_t *want,
			   size_t want_len)
{
	tpool_opts po = { .threads = 3, .name = "pack" };
	tpool *pool;
	ctrpack pk;
	size_t len;
	uint8_t *buf;

	if (tpool_new(&pool, &po))
		tap_bail("tpool_new");
	buf = pack_on(b, pool, &pk, &len);
	ok(len == want_len && !memcmp(buf, want, len), "packed on a pool of "
	   "3 threads, the container is the same, byte for byte");
	free(buf);
	ctrpack_free(&pk);
	tpool_free(pool);
}

static void test_round_trip(void)
{
	ctr_builder b;
	ctrpack pk;
	corpus c;
	ctr_view v;
	size_t len;
	uint8_t *buf;
	uint32_t inreg = 0, random_only = 0;
	int rc;

	make(&c, &b, 7, 300, 100, 140);
	buf = pack(&b, &pk, &len);
	ok(pk.nreg > 10, "300 segments make %u regions of at most %u raw "
	   "bytes", pk.nreg, REGION);
	ok(ctrpack_stored(&pk) * 100 < builder_stored(&b) * 80,
	   "regions store %llu bytes, under 80%% of the %llu of the "
	   "segments compressed alone",
	   (unsigned long long)ctrpack_stored(&pk),
	   (unsigned long long)builder_stored(&b));
	ok(len < ctr_serialized_len(&b), "the packed container is smaller "
	   "(%zu against %zu bytes)", len, ctr_serialized_len(&b));
	ok(shares_off(&pk) == 0, "each region's shares add up to its stored "
	   "bytes");
	for (uint32_t i = 0; i < pk.nseg; i++)
		inreg += pk.ents[i].region && (i < 100 || i >= 140);
	for (uint32_t r = 1; r <= pk.nreg; r++) {
		int text = 0;

		for (uint32_t i = 0; i < pk.nseg; i++)
			text |= pk.ents[i].region == r && (i < 100 || i >= 140);
		random_only += !text;
	}
	ok(inreg == 260 && random_only == 0, "the text is in regions (%u of "
	   "260); no region holds random bytes alone (%u do): those stay as "
	   "the writer stored them", inreg, random_only);
	ok(!memcmp(buf, "DDTCTR02", 8), "the packed container is format 2");
	rc = ctr_parse(buf, len, 7, &v);
	ok(rc == 0 && v.nseg == 300 && v.nreg == pk.nreg,
	   "it parses: %u segments, %u regions (rc %d)", v.nseg, v.nreg, rc);
	ok(rc == 0 && differing(&v, &c, -1) == 0, "every segment reads back "
	   "byte for byte");
	ok(rc == 0 && ctr_view_uses_data(&v), "a container with a run kept "
	   "as stored still reads from its buffer");
	if (rc == 0)
		ctr_view_free(&v);
	same_on_a_pool(&b, buf, len);
	free(buf);
	ctrpack_free(&pk);
	ctr_builder_free(&b);
	corpus_free(&c);
}

/* Recompute the three checksums of a format 2 container of len bytes in
 * place (those of tables that fit in it). */
static void refix(uint8_t *p, size_t len)
{
	uint32_t nseg = get_le32(p + 16), nreg = get_le32(p + 28);
	size_t rlen = (size_t)nreg * CTR_REGION_ENTRY;

	if (rlen + ctr_dir_len(nseg) > len - CTR_HDR_LEN) {
		put_le32(p + 60, frag_crc32c(p, 60));
		return;
	}
	put_le32(p + 32, frag_crc32c(p + CTR_HDR_LEN, rlen));
	put_le32(p + 24, frag_crc32c(p + CTR_HDR_LEN + rlen,
				     ctr_dir_len(nseg)));
	put_le32(p + 60, frag_crc32c(p, 60));
}

static int parse_exact(const uint8_t *buf, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);
	ctr_view v;
	int rc;

	if (!d)
		tap_bail("malloc");
	memcpy(d, buf, len);
	rc = ctr_parse(d, len, 9, &v);
	if (rc == 0)
		ctr_view_free(&v);
	free(d);
	return rc;
}

/* A copy of buf with one field changed and the checksums made right, so
 * that the bounds checks have to catch it. */
static int crafted(const uint8_t *buf, size_t len, size_t at, uint32_t val,
		   int width)
{
	uint8_t *d = malloc(len);
	int rc;

	if (!d)
		tap_bail("malloc");
	memcpy(d, buf, len);
	if (width == 2)
		put_le16(d + at, (uint16_t)val);
	else if (width == 1)
		d[at] = (uint8_t)val;
	else
		put_le32(d + at, val);
	refix(d, len);
	rc = parse_exact(d, len);
	free(d);
	return rc;
}

static void test_rejects(void)
{
	ctr_builder b;
	ctrpack pk;
	corpus c;
	size_t len, reg, dir, hdr_bad = 0, trunc_ok = 0;
	uint32_t nreg, r0_raw;
	uint8_t *buf;

	make(&c, &b, 9, 24, 0, 0);
	buf = pack(&b, &pk, &len);
	nreg = pk.nreg;
	reg = CTR_HDR_LEN;
	dir = reg + (size_t)nreg * CTR_REGION_ENTRY;
	r0_raw = pk.regs[0].raw_len;
	ok(nreg >= 2 && parse_exact(buf, len) == 0, "a small packed container "
	   "(%u regions) parses", nreg);
	for (size_t bit = 0; bit < dir * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		hdr_bad += parse_exact(buf, len) == -EBADMSG;
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ok(hdr_bad == dir * 8, "every bit flip in the header and region "
	   "table is -EBADMSG (%zu of %zu)", hdr_bad, dir * 8);
	for (size_t n = 0; n < len; n++)
		trunc_ok += parse_exact(buf, n) == 0;
	ok(trunc_ok == 0, "every truncation is refused (%zu accepted)",
	   trunc_ok);
	ok(crafted(buf, len, dir + 46, nreg + 1, 2) == -EBADMSG,
	   "an entry naming a region past the table: -EBADMSG");
	ok(crafted(buf, len, dir + 32, r0_raw, 4) == -EBADMSG,
	   "an entry past its region's raw bytes: -EBADMSG");
	ok(crafted(buf, len, dir + 44, CODEC_LZ4, 1) == -EBADMSG,
	   "a region's entry with a codec of its own: -EBADMSG");
	ok(crafted(buf, len, reg + 8, CTR_REGION_MAX + 1, 4) == -EBADMSG,
	   "a region over CTR_REGION_MAX raw bytes: -EBADMSG");
	ok(crafted(buf, len, reg + 4, (uint32_t)len, 4) == -EBADMSG,
	   "a region reaching past the data area: -EBADMSG");
	ok(crafted(buf, len, reg + 12, CODEC_COUNT, 1) == -EBADMSG,
	   "a region of an unknown codec: -EBADMSG");
	ok(crafted(buf, len, 28, 0x10000000u, 4) == -EBADMSG,
	   "a region count past the buffer: -EBADMSG");
	/* The same container called format 1: its entries name regions. */
	memcpy(buf, "DDTCTR01", 8);
	ok(crafted(buf, len, 28, 0, 4) == -EBADMSG,
	   "format 1 with a region table, or entries naming regions: -EBADMSG");
	free(buf);
	ctrpack_free(&pk);
	ctr_builder_free(&b);
	corpus_free(&c);
}

/* Bytes of a region's data are under no checksum of the container's own
 * (the fragments' CRCs and the segments' fingerprints guard them): damage
 * there spoils that region alone. */
static void test_damaged_region(void)
{
	ctr_builder b;
	ctrpack pk;
	corpus c;
	ctr_view v;
	size_t len, at;
	uint8_t *buf;
	int rc, bad0 = 0;

	make(&c, &b, 9, 60, 0, 0);
	buf = pack(&b, &pk, &len);
	at = CTR_HDR_LEN + (size_t)pk.nreg * CTR_REGION_ENTRY +
	     ctr_dir_len(pk.nseg) + pk.regs[0].off + pk.regs[0].stored_len / 2;
	memset(buf + at, 0xA5, 16);
	rc = ctr_parse(buf, len, 9, &v);
	ok(rc == 0, "a container with a damaged region still parses");
	if (rc == 0) {
		ok(differing(&v, &c, 0) == 0, "the other regions' segments "
		   "read back byte for byte");
		for (uint32_t i = 0; i < v.nseg; i++)
			bad0 += v.ents[i].region == 1 && seg_differs(&v, &c, i);
		ok(bad0 > 0, "the damaged region's segments do not (an error "
		   "or other bytes, which the fingerprint catches)");
		ctr_view_free(&v);
	}
	free(buf);
	ctrpack_free(&pk);
	ctr_builder_free(&b);
	corpus_free(&c);
}

static void test_options(void)
{
	ctrpack_opts o = { .codec = CODEC_ZSTD, .level = 3,
			   .region_raw = REGION };
	ctr_builder b;
	ctrpack pk;
	ctr_parts parts;
	ctr_view v;
	uint8_t buf[CTR_HDR_LEN];
	int rc;

	ok(ctrpack_check(&o) == 0, "zstd level 3, 64 KiB regions: accepted");
	o.codec = CODEC_NONE;
	ok(ctrpack_check(&o) == -EINVAL, "codec none makes no regions: "
	   "-EINVAL \"%s\"", ddterr_last(-EINVAL));
	o.codec = CODEC_ZSTD;
	o.region_raw = CTR_REGION_MAX + 1;
	ok(ctrpack_check(&o) == -EINVAL, "a region over CTR_REGION_MAX: "
	   "-EINVAL");
	o.region_raw = REGION;
	o.level = 99;
	ok(ctrpack_check(&o) == -EINVAL, "zstd level 99: -EINVAL");
	o.level = 1;
	if (ctr_builder_init(&b, 3, 1 << 20))
		tap_bail("builder");
	rc = ctrpack_build(&b, &o, NULL, &pk);
	ok(rc == 0 && pk.nseg == 0 && pk.nreg == 0, "an empty container "
	   "packs to nothing");
	ctrpack_parts(&pk, 3, &parts);
	ctr_parts_serialize(&parts, buf);
	ok(ctr_parts_len(&parts) == CTR_HDR_LEN &&
	   ctr_parse(buf, sizeof(buf), 3, &v) == 0 && v.nseg == 0,
	   "and that parses");
	ctr_view_free(&v);
	ctrpack_free(&pk);
	ctr_builder_free(&b);
}

int main(void)
{
	rnd_seed(0x5EA1ED2026ull);
	test_round_trip();
	test_rejects();
	test_damaged_region();
	test_options();
	return tap_done();
}
