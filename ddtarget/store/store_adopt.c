/* store_adopt.c - containers found whole on disk that the index does not
 * list: read back from their fragments and indexed, as a checkpoint
 * restore adopts the containers sealed after its checkpoint. */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "frag.h"
#include "store_int.h"

/* A whole, own header of one of cid's fragments: its lengths are the
 * container's. 1 if found. */
static int find_header(const ctrio_layout *L, int k, int m, uint64_t cid,
		       frag_hdr *out)
{
	char path[PATH_MAX];
	frag_hdr f;

	for (int i = 0; i < k + m; i++) {
		ctrio_frag_path(L, cid, i, path, sizeof(path));
		if (frag_read_hdr(path, &f) == 0 && f.cid == cid &&
		    f.k == k && f.m == m && f.index == i &&
		    ctrio_frag_len_ok(L, f.container_len, f.payload_len)) {
			*out = f;
			return 1;
		}
	}
	return 0;
}

int store_found_read(const ctrio_layout *L, int k, int m, uint64_t cid,
		     frag_hdr *out_hdr, uint8_t **out_buf, ctr_view *out_view)
{
	uint8_t *buf = NULL;
	int rc;

	if (!find_header(L, k, m, cid, out_hdr))
		return 1;
	rc = ctrio_read(L, cid, out_hdr->container_len, out_hdr->payload_len,
			&buf, NULL);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 1;
	rc = ctr_parse(buf, out_hdr->container_len, cid, out_view);
	if (rc < 0) {
		free(buf);
		return rc == -ENOMEM ? rc : 1;
	}
	*out_buf = buf;
	return 0;
}

int store_found_index(idx *x, int k, int m, const frag_hdr *f,
		      const ctr_view *v, sums *sm)
{
	uint64_t segs, raw, stored;
	idx_ctr ic = {
		.cid = f->cid, .k = (uint8_t)k, .m = (uint8_t)m,
		.frag_len = f->payload_len, .container_len = f->container_len,
		.nseg = v->nseg, .data_len = v->data_len, .ents = v->ents,
	};
	int rc;

	for (uint32_t i = 0; i < v->nseg; i++) {
		ic.raw_bytes += v->ents[i].raw_len;
		ic.stored_bytes += v->ents[i].stored_len;
	}
	rc = idx_adopt_ctr(x, &ic, &segs, &raw, &stored);
	if (rc < 0)
		return rc;
	sm->containers++;
	sm->physical += (uint64_t)(k + m) * frag_file_len(f->payload_len);
	sm->segments += segs;
	sm->raw += raw;
	sm->stored += stored;
	sm->logical += raw;	/* at least; duplicates offered are unknown */
	return 0;
}
