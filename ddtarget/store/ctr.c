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

static const char ctr_magic[8] = { 'D', 'D', 'T', 'C', 'T', 'R', '0', '1' };

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
		out[46] = out[47] = 0;
	}
}

void ctr_serialize(const ctr_builder *b, uint8_t *out)
{
	uint8_t *dir = out + CTR_HDR_LEN;
	size_t dlen = ctr_dir_len(b->n);

	memset(out, 0, CTR_HDR_LEN);
	memcpy(out, ctr_magic, sizeof(ctr_magic));
	put_le64(out + 8, b->cid);
	put_le32(out + 16, b->n);
	put_le32(out + 20, b->data_len);
	ctr_dir_encode(b->ents, b->n, dir);
	put_le32(out + 24, frag_crc32c(dir, dlen));
	put_le32(out + 60, frag_crc32c(out, 60));
	memcpy(dir + dlen, b->data, b->data_len);
}

/* Entries must lie inside the data area and name a codec we can decode; a
 * raw_len above the chunker's limit cannot come from any writer. */
static int check_entry(const ctr_entry *e, uint32_t data_len)
{
	if (e->codec >= CODEC_COUNT || e->raw_len > CDC_MAX_LIMIT ||
	    e->off > data_len || e->stored_len > data_len - e->off)
		return -EBADMSG;
	if (e->codec == CODEC_NONE && e->stored_len != e->raw_len)
		return -EBADMSG;
	return 0;
}

int ctr_dir_decode(const uint8_t *buf, size_t len, uint32_t data_len,
		   ctr_entry **out, uint32_t *out_n)
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
		if (check_entry(&ents[i], data_len) < 0) {
			free(ents);
			return ddterr_set(-EBADMSG,
				"container directory entry %u is out of bounds", i);
		}
	}
	*out = ents;
	*out_n = n;
	return 0;
}

int ctr_parse(const uint8_t *buf, size_t len, uint64_t want_cid,
	      ctr_view *out)
{
	uint32_t nseg, data_len;
	size_t dlen;
	uint64_t cid;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < CTR_HDR_LEN || memcmp(buf, ctr_magic, sizeof(ctr_magic)))
		return ddterr_set(-EBADMSG, "container %llu: bad header magic",
				  (unsigned long long)want_cid);
	if (get_le32(buf + 60) != frag_crc32c(buf, 60))
		return ddterr_set(-EBADMSG, "container %llu: header checksum mismatch",
				  (unsigned long long)want_cid);
	cid = get_le64(buf + 8);
	nseg = get_le32(buf + 16);
	data_len = get_le32(buf + 20);
	if (cid != want_cid)
		return ddterr_set(-EBADMSG, "container %llu: header names container %llu",
				  (unsigned long long)want_cid, (unsigned long long)cid);
	dlen = ctr_dir_len(nseg);
	if (nseg > (len - CTR_HDR_LEN) / CTR_DIR_ENTRY ||
	    data_len > len - CTR_HDR_LEN - dlen)
		return ddterr_set(-EBADMSG, "container %llu: sizes exceed its %zu bytes",
				  (unsigned long long)cid, len);
	if (get_le32(buf + 24) != frag_crc32c(buf + CTR_HDR_LEN, dlen))
		return ddterr_set(-EBADMSG, "container %llu: directory checksum mismatch",
				  (unsigned long long)cid);
	r = ctr_dir_decode(buf + CTR_HDR_LEN, dlen, data_len, &out->ents, &out->nseg);
	if (r < 0)
		return r;
	out->cid = cid;
	out->data = buf + CTR_HDR_LEN + dlen;
	out->data_len = data_len;
	return 0;
}

void ctr_view_free(ctr_view *v)
{
	free(v->ents);
	memset(v, 0, sizeof(*v));
}
