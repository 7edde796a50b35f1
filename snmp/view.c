/* view.c - the sorted list of answers (view.h). OIDs compare part by
 * part, a prefix before what it prefixes, as SNMP orders them. */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

view *view_new(void)
{
	return calloc(1, sizeof(view));
}

void view_free(view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->ents[i].str);
	free(v->ents);
	free(v);
}

static int oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b,
		   size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

static int add(view *v, const uint32_t *prefix, int plen,
	       const uint32_t *tail, int tlen, view_ent **out)
{
	view_ent *e;

	if (plen + tlen > VIEW_OID_MAX)
		return ddterr_set(-EINVAL, "OID of %d parts: too long",
				  plen + tlen);
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 128;
		view_ent *ne = realloc(v->ents, cap * sizeof(*ne));

		if (!ne)
			return ddterr_set(-ENOMEM, "out of memory for the view");
		v->ents = ne;
		v->cap = cap;
	}
	e = &v->ents[v->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->oid, prefix, plen * sizeof(uint32_t));
	memcpy(e->oid + plen, tail, tlen * sizeof(uint32_t));
	e->len = (uint8_t)(plen + tlen);
	*out = e;
	return 0;
}

int view_add_num(view *v, const uint32_t *prefix, int plen,
		 const uint32_t *tail, int tlen, int type, uint64_t num)
{
	view_ent *e;
	int rc = add(v, prefix, plen, tail, tlen, &e);

	if (rc < 0)
		return rc;
	e->type = (uint8_t)type;
	e->num = num;
	v->n++;
	return 0;
}

int view_add_str(view *v, const uint32_t *prefix, int plen,
		 const uint32_t *tail, int tlen, const char *s, size_t max)
{
	size_t n = strlen(s ? s : "");
	view_ent *e;
	int rc = add(v, prefix, plen, tail, tlen, &e);

	if (rc < 0)
		return rc;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;	/* not inside a UTF-8 character */
	}
	e->str = strndup(s ? s : "", n);
	if (!e->str)
		return ddterr_set(-ENOMEM, "out of memory for the view");
	e->type = VIEW_STR;
	v->n++;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const view_ent *x = a, *y = b;

	return oid_cmp(x->oid, x->len, y->oid, y->len);
}

void view_sort(view *v)
{
	qsort(v->ents, v->n, sizeof(view_ent), ent_cmp);
}

/* The first entry not below oid (lo == n: none). */
static size_t lower_bound(const view *v, const uint32_t *oid, size_t len)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (oid_cmp(v->ents[mid].oid, v->ents[mid].len, oid, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const view_ent *view_find(const view *v, const uint32_t *oid, size_t len,
			  int next, int inclusive)
{
	size_t i = lower_bound(v, oid, len);
	int exact = i < v->n &&
		    !oid_cmp(v->ents[i].oid, v->ents[i].len, oid, len);

	if (!next)
		return exact ? &v->ents[i] : NULL;
	if (exact && !inclusive)
		i++;
	return i < v->n ? &v->ents[i] : NULL;
}
