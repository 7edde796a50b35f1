/* ctr.c - building, serializing and parsing containers (see
 * ctr.h for the layout). Parsing trusts nothing it reads: every count,
 * offset and length is checked against the buffer before it is used. */
#include "ctr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "cdc.h"
#include "ddterr.h"
#include "frag.h"

static const char ctr_magic1[8] = { 'D', 'D', 'T', 'C', 'T', 'R', '0', '1' };
static const char ctr_magic2[8] = { 'D', 'D', 'T', 'C', 'T', 'R', '0', '2' };

int ctr_builder_init(ctr_builder *b, uint64_t cid, uint32_t limit)
{
	memset(b, 0, sizeof(*b));
	b->cid = cid;
	b->limit = limit;
	b->data_cap = limit;
	b->data = malloc(b->data_cap);
	b->cap = 512;
	b->ents = malloc(b->cap * sizeof(*b->ents));
	if (!b->data || !b->ents) {
		ctr_builder_free(b);
		return -ENOMEM;
	}
	return 0;
}

void ctr_builder_free(ctr_builder *b)
{
	free(b->data);
	free(b->ents);
	memset(b, 0, sizeof(*b));
}

size_t ctr_dir_len(uint32_t n)
{
	return (size_t)n * CTR_DIR_ENTRY;
}

size_t ctr_parts_len(const ctr_parts *p)
{
	return CTR_HDR_LEN + (size_t)p->nreg * CTR_REGION_ENTRY +
	       ctr_dir_len(p->nseg) + p->data_len;
}

size_t ctr_serialized_len(const ctr_builder *b)
{
	return CTR_HDR_LEN + ctr_dir_len(b->n) + b->data_len;
}

int ctr_builder_fits(const ctr_builder *b, uint32_t stored_len)
{
	if (b->n == 0)
		return 1;
	return ctr_serialized_len(b) + CTR_DIR_ENTRY + stored_len <= b->limit;
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap = *cap ? *cap : 1;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap = ncap > UINT32_MAX / 2 ? need : ncap * 2;
	np = realloc(*p, (size_t)ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int ctr_builder_append(ctr_builder *b, const fp_t *fp, int codec,
		       uint32_t raw_len, const void *data, uint32_t stored_len,
		       uint32_t *out_slot)
{
	ctr_entry *e;
	int r;

	r = grow((void **)&b->data, &b->data_cap, b->data_len + stored_len, 1);
	if (r == 0)
		r = grow((void **)&b->ents, &b->cap, b->n + 1, sizeof(*b->ents));
	if (r < 0)
		return r;
	e = &b->ents[b->n];
	e->fp = *fp;
	e->off = b->data_len;
	e->stored_len = stored_len;
	e->raw_len = raw_len;
	e->codec = (uint8_t)codec;
	e->moved = 0;
	e->region = 0;
	memcpy(b->data + b->data_len, data, stored_len);
	b->data_len += stored_len;
	*out_slot = b->n++;
	return 0;
}

void ctr_dir_encode(const ctr_entry *e, uint32_t n, uint8_t *out)
{
	for (uint32_t i = 0; i < n; i++, out += CTR_DIR_ENTRY) {
		memcpy(out, e[i].fp.b, FP_LEN);
		put_le32(out + 32, e[i].off);
		put_le32(out + 36, e[i].stored_len);
		put_le32(out + 40, e[i].raw_len);
		out[44] = e[i].codec;
		out[45] = e[i].moved;
		put_le16(out + 46, e[i].region);
	}
}

static void regions_encode(const ctr_region *r, uint32_t n, uint8_t *out)
{
	for (uint32_t i = 0; i < n; i++, out += CTR_REGION_ENTRY) {
		memset(out, 0, CTR_REGION_ENTRY);
		put_le32(out, r[i].off);
		put_le32(out + 4, r[i].stored_len);
		put_le32(out + 8, r[i].raw_len);
		out[12] = r[i].codec;
	}
}

void ctr_parts_serialize(const ctr_parts *p, uint8_t *out)
{
	uint8_t *regs = out + CTR_HDR_LEN;
	uint8_t *dir = regs + (size_t)p->nreg * CTR_REGION_ENTRY;
	size_t dlen = ctr_dir_len(p->nseg);

	memset(out, 0, CTR_HDR_LEN);
	memcpy(out, p->nreg ? ctr_magic2 : ctr_magic1, sizeof(ctr_magic1));
	put_le64(out + 8, p->cid);
	put_le32(out + 16, p->nseg);
	put_le32(out + 20, p->data_len);
	ctr_dir_encode(p->ents, p->nseg, dir);
	put_le32(out + 24, frag_crc32c(dir, dlen));
	if (p->nreg) {
		regions_encode(p->regs, p->nreg, regs);
		put_le32(out + 28, p->nreg);
		put_le32(out + 32, frag_crc32c(regs, (size_t)p->nreg *
					       CTR_REGION_ENTRY));
	}
	put_le32(out + 60, frag_crc32c(out, 60));
	memcpy(dir + dlen, p->data, p->data_len);
}

void ctr_builder_parts(const ctr_builder *b, ctr_parts *out)
{
	*out = (ctr_parts){ .cid = b->cid, .ents = b->ents, .nseg = b->n,
			    .data = b->data, .data_len = b->data_len };
}

void ctr_serialize(const ctr_builder *b, uint8_t *out)
{
	ctr_parts p;

	ctr_builder_parts(b, &p);
	ctr_parts_serialize(&p, out);
}

/* Entries must lie inside the data area, or inside their region, and name
 * a codec we can decode; a raw_len above the chunker's limit cannot come
 * from any writer. A region's segments are raw within it; their stored_len
 * is a share of the region's, for the counts. */
static int check_entry(const ctr_entry *e, uint32_t data_len,
		       const ctr_region *regs, uint32_t nreg)
{
	if (e->codec >= CODEC_COUNT || e->raw_len > CDC_MAX_LIMIT)
		return -EBADMSG;
	if (e->region) {
		const ctr_region *r;

		if (e->codec != CODEC_NONE)
			return -EBADMSG;
		if (!regs)
			return 0;
		if (e->region > nreg)
			return -EBADMSG;
		r = &regs[e->region - 1];
		if (e->off > r->raw_len || e->raw_len > r->raw_len - e->off ||
		    e->stored_len > r->stored_len)
			return -EBADMSG;
		return 0;
	}
	if (e->off > data_len || e->stored_len > data_len - e->off)
		return -EBADMSG;
	if (e->codec == CODEC_NONE && e->stored_len != e->raw_len)
		return -EBADMSG;
	return 0;
}

int ctr_dir_decode(const uint8_t *buf, size_t len, uint32_t data_len,
		   const ctr_region *regs, uint32_t nreg, ctr_entry **out,
		   uint32_t *out_n)
{
	uint32_t n = (uint32_t)(len / CTR_DIR_ENTRY);
	ctr_entry *ents;

	if (len % CTR_DIR_ENTRY)
		return ddterr_set(-EBADMSG, "container directory has a partial entry");
	ents = malloc((n ? n : 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++, buf += CTR_DIR_ENTRY) {
		memcpy(ents[i].fp.b, buf, FP_LEN);
		ents[i].off = get_le32(buf + 32);
		ents[i].stored_len = get_le32(buf + 36);
		ents[i].raw_len = get_le32(buf + 40);
		ents[i].codec = buf[44];
		ents[i].moved = buf[45] != 0;
		ents[i].region = get_le16(buf + 46);
		if (check_entry(&ents[i], data_len, regs, nreg) < 0) {
			free(ents);
			return ddterr_set(-EBADMSG,
				"container directory entry %u is out of bounds", i);
		}
	}
	*out = ents;
	*out_n = n;
	return 0;
}

/* The region table of a format 2 container: each region inside the data
 * area, of a known codec, at most CTR_REGION_MAX raw bytes. Sets raw_off,
 * and *out_raw to the sum of the raw lengths. */
static int regions_decode(const uint8_t *buf, uint32_t n, uint32_t data_len,
			  ctr_region **out, size_t *out_raw)
{
	ctr_region *r = malloc((n ? n : 1) * sizeof(*r));
	size_t raw = 0;

	if (!r)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++, buf += CTR_REGION_ENTRY) {
		r[i].off = get_le32(buf);
		r[i].stored_len = get_le32(buf + 4);
		r[i].raw_len = get_le32(buf + 8);
		r[i].codec = buf[12];
		r[i].bad = 0;
		r[i].raw_off = (uint32_t)raw;
		if (r[i].codec >= CODEC_COUNT || r[i].raw_len > CTR_REGION_MAX ||
		    r[i].off > data_len ||
		    r[i].stored_len > data_len - r[i].off ||
		    (r[i].codec == CODEC_NONE &&
		     r[i].stored_len != r[i].raw_len)) {
			free(r);
			return ddterr_set(-EBADMSG, "container region %u is "
					  "out of bounds", i);
		}
		raw += r[i].raw_len;
	}
	*out = r;
	*out_raw = raw;
	return 0;
}

/* Decompress every region into v->raw. One that fails is marked bad: the
 * fragments' checksums passed, so this is damage that erasure coding could
 * not see, and the other regions' segments still read. */
static int regions_inflate(ctr_view *v, size_t raw)
{
	v->raw = malloc(raw ? raw : 1);
	if (!v->raw)
		return -ENOMEM;
	v->raw_size = raw;
	for (uint32_t i = 0; i < v->nreg; i++) {
		ctr_region *r = &v->regs[i];
		int rc = codec_decompress(r->codec, v->data + r->off,
					  r->stored_len, v->raw + r->raw_off,
					  r->raw_len);

		if (rc == -ENOMEM)
			return rc;
		r->bad = rc < 0;
	}
	return 0;
}

/* The header's sizes, checked against the buffer; the region table when
 * the format has one. */
static int parse_layout(const uint8_t *buf, size_t len, uint64_t cid,
			int v2, ctr_view *out, size_t *out_dlen,
			size_t *out_raw)
{
	uint32_t nseg = get_le32(buf + 16), data_len = get_le32(buf + 20);
	uint32_t nreg = v2 ? get_le32(buf + 28) : 0;
	size_t rlen, dlen, avail = len - CTR_HDR_LEN;

	if (!v2 && (get_le32(buf + 28) || get_le32(buf + 32)))
		return ddterr_set(-EBADMSG, "container %llu: format 1 with a "
				  "region table", (unsigned long long)cid);
	if (nreg > avail / CTR_REGION_ENTRY)
		return ddterr_set(-EBADMSG, "container %llu: sizes exceed its "
				  "%zu bytes", (unsigned long long)cid, len);
	rlen = (size_t)nreg * CTR_REGION_ENTRY;
	dlen = ctr_dir_len(nseg);
	if (nseg > (avail - rlen) / CTR_DIR_ENTRY ||
	    data_len > avail - rlen - dlen)
		return ddterr_set(-EBADMSG, "container %llu: sizes exceed its "
				  "%zu bytes", (unsigned long long)cid, len);
	if (v2 && get_le32(buf + 32) != frag_crc32c(buf + CTR_HDR_LEN, rlen))
		return ddterr_set(-EBADMSG, "container %llu: region table "
				  "checksum mismatch", (unsigned long long)cid);
	if (get_le32(buf + 24) != frag_crc32c(buf + CTR_HDR_LEN + rlen, dlen))
		return ddterr_set(-EBADMSG, "container %llu: directory "
				  "checksum mismatch", (unsigned long long)cid);
	out->cid = cid;
	out->nreg = nreg;
	out->data = buf + CTR_HDR_LEN + rlen + dlen;
	out->data_len = data_len;
	*out_dlen = dlen;
	*out_raw = 0;
	if (v2)
		return regions_decode(buf + CTR_HDR_LEN, nreg, data_len,
				      &out->regs, out_raw);
	return 0;
}

int ctr_parse(const uint8_t *buf, size_t len, uint64_t want_cid,
	      ctr_view *out)
{
	/* Format 1 has no regions: an entry that names one is damaged. */
	static const ctr_region no_regions[1];
	size_t raw = 0, dlen = 0;
	uint64_t cid;
	int r, v2;

	memset(out, 0, sizeof(*out));
	if (len < CTR_HDR_LEN)
		return ddterr_set(-EBADMSG, "container %llu: bad header magic",
				  (unsigned long long)want_cid);
	v2 = !memcmp(buf, ctr_magic2, sizeof(ctr_magic2));
	if (!v2 && memcmp(buf, ctr_magic1, sizeof(ctr_magic1)))
		return ddterr_set(-EBADMSG, "container %llu: bad header magic",
				  (unsigned long long)want_cid);
	if (get_le32(buf + 60) != frag_crc32c(buf, 60))
		return ddterr_set(-EBADMSG, "container %llu: header checksum mismatch",
				  (unsigned long long)want_cid);
	cid = get_le64(buf + 8);
	if (cid != want_cid)
		return ddterr_set(-EBADMSG, "container %llu: header names container %llu",
				  (unsigned long long)want_cid, (unsigned long long)cid);
	r = parse_layout(buf, len, cid, v2, out, &dlen, &raw);
	if (r == 0)
		r = ctr_dir_decode(out->data - dlen, dlen, out->data_len,
				   v2 ? out->regs : no_regions, out->nreg,
				   &out->ents, &out->nseg);
	if (r == 0 && v2)
		r = regions_inflate(out, raw);
	if (r < 0)
		ctr_view_free(out);
	return r;
}

void ctr_view_free(ctr_view *v)
{
	free(v->ents);
	free(v->regs);
	free(v->raw);
	memset(v, 0, sizeof(*v));
}

int ctr_view_uses_data(const ctr_view *v)
{
	for (uint32_t i = 0; i < v->nseg; i++)
		if (!v->ents[i].region)
			return 1;
	return 0;
}

int ctr_view_seg(const ctr_view *v, uint32_t i, ctr_seg *out)
{
	const ctr_entry *e = &v->ents[i];
	const ctr_region *r;

	out->codec = e->codec;
	out->raw_len = e->raw_len;
	if (!e->region) {
		out->data = v->data + e->off;
		out->len = e->stored_len;
		return 0;
	}
	r = &v->regs[e->region - 1];
	if (r->bad)
		return ddterr_set(-EBADMSG, "container %llu: region %u does "
				  "not decompress: the stored data is damaged",
				  (unsigned long long)v->cid, e->region - 1);
	out->data = v->raw + r->raw_off + e->off;
	out->len = e->raw_len;
	return 0;
}
