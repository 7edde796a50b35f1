/* store_adopt.c - containers found whole on disk that the index does not
 * list: read back from their fragments and indexed. A checkpoint restore
 * adopts the containers sealed after its checkpoint; recovery adopts a
 * container sealed just before a crash whose index entry was not yet
 * durable, when its fragments hold every record its journal does. */
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

/* Whether view v holds every segment builder b does. */
static int holds_all(const ctr_view *v, const ctr_builder *b)
{
	fpset *have;
	int all = 1;

	if (fpset_new(&have) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < v->nseg && all >= 0; i++)
		if (fpset_add(have, &v->ents[i].fp) < 0)
			all = -ENOMEM;
	for (uint32_t i = 0; i < b->n && all > 0; i++)
		all = fpset_has(have, &b->ents[i].fp);
	fpset_free(have);
	return all;
}

int store_adopt_sealed(store *s, const octr *o, int *out_adopted)
{
	int k = ec_k(s->e), m = ec_m(s->e), rc, all;
	uint8_t *buf = NULL;
	ctr_view v;
	frag_hdr f;

	*out_adopted = 0;
	rc = store_found_read(&s->L, k, m, o->b.cid, &f, &buf, &v);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	all = holds_all(&v, &o->b);
	rc = all < 0 ? all : 0;
	if (all > 0) {
		rc = store_found_index(s->ix, k, m, &f, &v, &s->sealed);
		if (rc == 0)
			rc = idx_sync(s->ix);
		*out_adopted = rc == 0;
	}
	for (uint32_t i = 0; *out_adopted && i < v.nseg; i++)
		bloom_add(s->bl, &v.ents[i].fp);
	ctr_view_free(&v);
	free(buf);
	return rc < 0 ? rc : 0;
}
