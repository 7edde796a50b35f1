/* test_container.c - containers round-trip, and the parser trusts nothing.
 *
 * Every damaged buffer handed to ctr_parse is an exact-size heap copy, so a
 * read one byte past the end shows under ASan or valgrind, not just a wrong
 * return code. Entries that point outside the data area are crafted with
 * both CRCs fixed up, so it is the bounds check that has to catch them. */
#include "ctr.h"
#include "codec.h"
#include "cdc.h"
#include "ddterr.h"
#include "frag.h"
#include "bytes.h"
#include "tap.h"
#include "testutil.h"

#include <stdint.h>

/* An exact-size copy of a buffer, so any overread is a heap overflow. */
static uint8_t *dup_buf(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (!d)
		tap_bail("malloc");
	memcpy(d, p, n);
	return d;
}

/* Parse an exact-size copy of buf[0..n); returns ctr_parse's code. */
static int parse_copy(const uint8_t *buf, size_t n, uint64_t cid)
{
	uint8_t *d = dup_buf(buf, n);
	ctr_view v;
	int rc = ctr_parse(d, n, cid, &v);

	if (rc == 0)
		ctr_view_free(&v);
	free(d);
	return rc;
}

/* Build a container of nseg random segments; returns the serialized bytes
 * (and the builder, left filled, for comparison). */
static uint8_t *build(ctr_builder *b, uint64_t cid, uint32_t limit,
		      int nseg, uint32_t maxlen, size_t *out_len)
{
	uint8_t *seg = malloc(maxlen), *out;
	int bad = 0;

	if (!seg || ctr_builder_init(b, cid, limit) != 0)
		tap_bail("builder init");
	for (int i = 0; i < nseg; i++) {
		uint32_t len = 1 + (uint32_t)(rnd64() % maxlen), slot = 99999;
		int codec = (int)(rnd64() % CODEC_COUNT);
		uint32_t raw = codec == CODEC_NONE ? len :
			       len + (uint32_t)(rnd64() % 5000);
		fp_t f;

		rnd_fp(&f);
		rnd_fill(seg, len);
		if (ctr_builder_append(b, &f, codec, raw, seg, len, &slot) != 0 ||
		    slot != (uint32_t)i)
			bad++;
	}
	if (bad)
		tap_bail("append failed %d times", bad);
	*out_len = ctr_serialized_len(b);
	out = malloc(*out_len);
	if (!out)
		tap_bail("malloc");
	ctr_serialize(b, out);
	free(seg);
	return out;
}

static void test_round_trip(void)
{
	enum { NSEG = 700 };
	ctr_builder b;
	ctr_view v;
	size_t len;
	uint8_t *buf = build(&b, 0x1122334455667788ull, CTR_SIZE_DEFAULT,
			     NSEG, 9000, &len);
	int rc, bad = 0;

	ok(b.n == NSEG && len == CTR_HDR_LEN + (size_t)NSEG * CTR_DIR_ENTRY +
	   b.data_len, "serialized length is header + directory + data "
	   "(%zu bytes, %u segments)", len, b.n);
	rc = ctr_parse(buf, len, b.cid, &v);
	ok(rc == 0, "a serialized container parses (rc %d)", rc);
	if (rc)
		tap_bail("%s", ddterr_last(rc));
	ok(v.cid == b.cid && v.nseg == NSEG && v.data_len == b.data_len &&
	   v.data == buf + CTR_HDR_LEN + (size_t)NSEG * CTR_DIR_ENTRY,
	   "the view's cid, count and data area match the builder");
	for (uint32_t i = 0; i < NSEG; i++) {
		const ctr_entry *e = &v.ents[i], *w = &b.ents[i];

		if (!fp_equal(&e->fp, &w->fp) || e->off != w->off ||
		    e->stored_len != w->stored_len || e->raw_len != w->raw_len ||
		    e->codec != w->codec ||
		    memcmp(v.data + e->off, b.data + w->off, e->stored_len))
			bad++;
	}
	ok(bad == 0, "every entry and its bytes survive the round trip "
	   "(%d differ)", bad);
	bad = 0;
	for (uint32_t i = 1; i < NSEG; i++)
		if (v.ents[i].off != v.ents[i - 1].off + v.ents[i - 1].stored_len)
			bad++;
	ok(bad == 0 && v.ents[0].off == 0, "segments are packed in arrival "
	   "order");
	ctr_view_free(&v);
	ok(v.ents == NULL, "ctr_view_free clears the view");

	/* A buffer with padding after the data (as EC may leave) still
	 * parses; the view covers only the data. */
	{
		uint8_t *pad = calloc(1, len + 100);

		if (!pad)
			tap_bail("calloc");
		memcpy(pad, buf, len);
		rc = ctr_parse(pad, len + 100, b.cid, &v);
		ok(rc == 0 && v.data_len == b.data_len,
		   "trailing padding after the data area is tolerated");
		if (rc == 0)
			ctr_view_free(&v);
		free(pad);
	}
	free(buf);
	ctr_builder_free(&b);

	/* An empty container is legal. */
	buf = build(&b, 7, 4096, 0, 1, &len);
	rc = ctr_parse(buf, len, 7, &v);
	ok(rc == 0 && v.nseg == 0 && v.data_len == 0 && len == CTR_HDR_LEN,
	   "an empty container round-trips (rc %d)", rc);
	if (rc == 0)
		ctr_view_free(&v);
	free(buf);
	ctr_builder_free(&b);
}

static void test_fits(void)
{
	enum { LIMIT = 64 * 1024 };
	static uint8_t seg[200 * 1024];
	ctr_builder b;
	uint32_t slot, room;
	size_t left;
	fp_t f;
	int n = 0;

	if (ctr_builder_init(&b, 1, LIMIT) != 0)
		tap_bail("builder init");
	ok(ctr_builder_fits(&b, sizeof(seg)) &&
	   ctr_builder_fits(&b, UINT32_MAX),
	   "an empty container takes a segment larger than its limit");
	rnd_fill(seg, sizeof(seg));
	rnd_fp(&f);
	ok(ctr_builder_append(&b, &f, CODEC_NONE, sizeof(seg), seg,
			      sizeof(seg), &slot) == 0 && slot == 0 &&
	   b.data_len == sizeof(seg),
	   "the oversized segment is appended (the buffer grows past the "
	   "limit)");
	ok(!ctr_builder_fits(&b, 1), "after it, nothing else fits");
	ctr_builder_free(&b);

	if (ctr_builder_init(&b, 2, LIMIT) != 0)
		tap_bail("builder init");
	ctr_builder_append(&b, &f, CODEC_NONE, 1000, seg, 1000, &slot);
	left = LIMIT - ctr_serialized_len(&b) - CTR_DIR_ENTRY;
	room = (uint32_t)left;
	ok(ctr_builder_fits(&b, room) && !ctr_builder_fits(&b, room + 1),
	   "fits is exact at the limit: %u bytes fit, %u do not", room,
	   room + 1);
	ok(!ctr_builder_fits(&b, UINT32_MAX), "a 4 GiB segment does not fit "
	   "(no overflow in the sum)");

	/* Fill it the way the store does: append while it fits. */
	for (;;) {
		uint32_t len = 1 + (uint32_t)(rnd64() % 3000);

		if (!ctr_builder_fits(&b, len))
			break;
		rnd_fp(&f);
		if (ctr_builder_append(&b, &f, CODEC_NONE, len, seg, len,
				       &slot) != 0)
			tap_bail("append");
		n++;
	}
	ok(ctr_serialized_len(&b) <= LIMIT && n > 10,
	   "filling while it fits stays within the limit (%zu of %u bytes, "
	   "%d segments)", ctr_serialized_len(&b), LIMIT, n + 1);
	ctr_builder_free(&b);
}

/* Re-seal a hand-edited container: directory CRC, then header CRC. */
static void fix_crcs(uint8_t *buf)
{
	uint32_t nseg = get_le32(buf + 16);

	put_le32(buf + 24, frag_crc32c(buf + CTR_HDR_LEN,
				       (size_t)nseg * CTR_DIR_ENTRY));
	put_le32(buf + 60, frag_crc32c(buf, 60));
}

static void test_parse_rejects(void)
{
	ctr_builder b;
	size_t len;
	uint8_t *buf = build(&b, 99, CTR_SIZE_DEFAULT, 20, 300, &len);
	uint8_t *d;
	size_t dlen = (size_t)20 * CTR_DIR_ENTRY;
	ctr_view v;
	int rc, bad;

	ok(parse_copy(buf, len, 99) == 0, "the pristine container parses");

	d = dup_buf(buf, len);
	d[3] ^= 0x20;
	ddterr_clear();
	rc = ctr_parse(d, len, 99, &v);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "magic"),
	   "bad magic: -EBADMSG (%d) \"%s\"", rc, ddterr_last(rc));
	free(d);

	bad = 0;
	for (size_t i = 0; i < CTR_HDR_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			d = dup_buf(buf, len);
			d[i] ^= (uint8_t)(1u << bit);
			if (parse_copy(d, len, 99) != -EBADMSG)
				bad++;
			free(d);
		}
	ok(bad == 0, "every single-bit flip in the header is -EBADMSG "
	   "(%d slipped through)", bad);

	bad = 0;
	for (size_t i = 0; i < dlen; i++) {
		d = dup_buf(buf, len);
		d[CTR_HDR_LEN + i] ^= (uint8_t)(1u << (i % 8));
		if (parse_copy(d, len, 99) != -EBADMSG)
			bad++;
		free(d);
	}
	ok(bad == 0, "a flipped bit in any directory byte is -EBADMSG "
	   "(%d slipped through)", bad);

	ddterr_clear();
	rc = ctr_parse(buf, len, 100, &v);
	ok(rc == -EBADMSG && strstr(ddterr_last(rc), "names container 99"),
	   "wrong cid: -EBADMSG \"%s\"", ddterr_last(rc));

	bad = 0;
	for (size_t n = 0; n < len; n++)
		if (parse_copy(buf, n, 99) != -EBADMSG)
			bad++;
	ok(bad == 0, "every truncation (0..%zu of %zu bytes) is -EBADMSG "
	   "(%d accepted)", len - 1, len, bad);
	ok(ctr_parse(buf, 0, 99, &v) == -EBADMSG,
	   "an empty buffer is -EBADMSG");
	free(buf);
	ctr_builder_free(&b);
}

/* Craft one bad directory entry (the last one of a 3-segment container),
 * fix both CRCs, and parse. */
static int parse_with_entry(const uint8_t *buf, size_t len, uint32_t off,
			    uint32_t stored, uint32_t raw, uint8_t codec)
{
	uint8_t *d = dup_buf(buf, len);
	uint8_t *e = d + CTR_HDR_LEN + 2 * CTR_DIR_ENTRY;
	ctr_view v;
	int rc;

	put_le32(e + 32, off);
	put_le32(e + 36, stored);
	put_le32(e + 40, raw);
	e[44] = codec;
	fix_crcs(d);
	ddterr_clear();
	rc = ctr_parse(d, len, 5, &v);
	if (rc == 0)
		ctr_view_free(&v);
	free(d);
	/* Only the bounds check may catch it: a CRC complaint would mean
	 * the crafting, not the parser, was at fault. */
	if (rc == -EBADMSG &&
	    !strstr(ddterr_last(rc), "entry 2 is out of bounds"))
		return -EPROTO;
	return rc;
}

/* Parse a copy whose header was edited and re-sealed; -EPROTO unless it
 * is the size check that refuses it. */
static int parse_resealed_hdr(uint8_t *d, size_t len)
{
	ctr_view v;
	int rc;

	put_le32(d + 60, frag_crc32c(d, 60));
	ddterr_clear();
	rc = ctr_parse(d, len, 5, &v);
	if (rc == 0)
		ctr_view_free(&v);
	if (rc == -EBADMSG && !strstr(ddterr_last(rc), "sizes exceed"))
		return -EPROTO;
	return rc;
}

static void test_entry_bounds(void)
{
	ctr_builder b;
	size_t len;
	uint8_t *buf = build(&b, 5, 1 << 20, 3, 1000, &len);
	uint32_t dl = b.data_len;
	uint8_t *d;
	int rc;

	ok(parse_with_entry(buf, len, 0, dl, dl, CODEC_NONE) == 0,
	   "control: a re-sealed entry covering the whole data area parses");
	ok(parse_with_entry(buf, len, dl, 0, 0, CODEC_NONE) == 0,
	   "control: an empty entry at the very end parses");
	ok(parse_with_entry(buf, len, 0, dl + 1, dl + 1, CODEC_NONE) ==
	   -EBADMSG, "an entry one byte longer than the data area: -EBADMSG");
	ok(parse_with_entry(buf, len, dl, 1, 1, CODEC_NONE) == -EBADMSG,
	   "an entry starting at the end with one byte: -EBADMSG");
	ok(parse_with_entry(buf, len, dl + 1, 0, 0, CODEC_NONE) == -EBADMSG,
	   "an offset past the data area: -EBADMSG");
	ok(parse_with_entry(buf, len, 0xFFFFFFF0u, 0x20, 0x20, CODEC_NONE) ==
	   -EBADMSG, "an offset + length that wraps 32 bits: -EBADMSG");
	ok(parse_with_entry(buf, len, 1, UINT32_MAX, UINT32_MAX, CODEC_LZ4) ==
	   -EBADMSG, "a stored_len of 4 GiB: -EBADMSG");
	ok(parse_with_entry(buf, len, 0, 10, 20, CODEC_COUNT) == -EBADMSG,
	   "an unknown codec: -EBADMSG");
	ok(parse_with_entry(buf, len, 0, 10, CDC_MAX_LIMIT + 1, CODEC_LZ4) ==
	   -EBADMSG, "a raw_len above CDC_MAX_LIMIT: -EBADMSG");
	ok(parse_with_entry(buf, len, 0, 10, 11, CODEC_NONE) == -EBADMSG,
	   "a raw segment whose stored and raw lengths differ: -EBADMSG");

	/* Header counts that claim more than the buffer holds. */
	d = dup_buf(buf, len);
	put_le32(d + 16, 0x10000000u);	/* nseg */
	rc = parse_resealed_hdr(d, len);
	ok(rc == -EBADMSG, "a segment count beyond the buffer: -EBADMSG "
	   "from the size check (%d)", rc);
	memcpy(d, buf, len);
	put_le32(d + 20, dl + 1);	/* data_len */
	rc = parse_resealed_hdr(d, len);
	ok(rc == -EBADMSG, "a data length beyond the buffer: -EBADMSG from "
	   "the size check (%d)", rc);
	memcpy(d, buf, len);
	put_le32(d + 20, UINT32_MAX);
	rc = parse_resealed_hdr(d, len);
	ok(rc == -EBADMSG, "a data length of 4 GiB: -EBADMSG from the size "
	   "check (%d)", rc);
	free(d);
	free(buf);
	ctr_builder_free(&b);
}

static void test_dir_codec(void)
{
	enum { N = 257 };
	ctr_entry in[N], *out = NULL;
	uint8_t *buf = malloc(ctr_dir_len(N));
	uint32_t n = 0, off = 0;
	int rc, bad = 0;

	if (!buf)
		tap_bail("malloc");
	ok(ctr_dir_len(N) == (size_t)N * CTR_DIR_ENTRY && ctr_dir_len(0) == 0,
	   "ctr_dir_len is %d bytes an entry", CTR_DIR_ENTRY);
	for (int i = 0; i < N; i++) {
		rnd_fp(&in[i].fp);
		in[i].codec = (uint8_t)(i % CODEC_COUNT);
		in[i].stored_len = (uint32_t)(rnd64() % 20000);
		in[i].raw_len = in[i].codec == CODEC_NONE ? in[i].stored_len :
				(uint32_t)(rnd64() % CDC_MAX_LIMIT);
		in[i].off = off;
		in[i].moved = (uint8_t)(i % 3 == 0);
		/* Every fifth in a region: raw there, its own bounds unknown
		 * to the index's copy. */
		in[i].region = i % 5 ? 0 : (uint16_t)(1 + i % 700);
		if (in[i].region)
			in[i].codec = CODEC_NONE;
		off += in[i].stored_len;
	}
	ctr_dir_encode(in, N, buf);
	rc = ctr_dir_decode(buf, ctr_dir_len(N), off, NULL, 0, &out, &n);
	ok(rc == 0 && n == N, "decode gives back %d entries (rc %d)", N, rc);
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		if (!fp_equal(&in[i].fp, &out[i].fp) || in[i].off != out[i].off ||
		    in[i].stored_len != out[i].stored_len ||
		    in[i].raw_len != out[i].raw_len ||
		    in[i].codec != out[i].codec || in[i].moved != out[i].moved ||
		    in[i].region != out[i].region)
			bad++;
	ok(rc == 0 && bad == 0, "every field survives encode/decode (%d "
	   "differ)", bad);
	free(out);
	out = NULL;
	bad = 0;
	for (int i = 0; i < N; i++)
		if (get_le16(buf + i * CTR_DIR_ENTRY + 46) != in[i].region)
			bad++;
	ok(bad == 0, "the region is written at bytes 46..47, little-endian");

	rc = ctr_dir_decode(buf, ctr_dir_len(N), off - 1, NULL, 0, &out, &n);
	ok(rc == -EBADMSG && out == NULL, "decode against a data area one "
	   "byte short: -EBADMSG");
	rc = ctr_dir_decode(buf, ctr_dir_len(N) - 1, off, NULL, 0, &out, &n);
	ok(rc == -EBADMSG && out == NULL, "a partial entry: -EBADMSG");
	rc = ctr_dir_decode(buf, 0, 0, NULL, 0, &out, &n);
	ok(rc == 0 && n == 0, "an empty directory decodes");
	free(out);
	free(buf);
}

int main(void)
{
	rnd_seed(0xC0FFEE1234567ull);
	test_round_trip();
	test_fits();
	test_parse_rejects();
	test_entry_bounds();
	test_dir_codec();
	return tap_done();
}
