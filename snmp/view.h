/* view.h - what ddtarget-snmp answers: a list of (OID under the MIB's
 * root, typed value) pairs, sorted by OID, so a GET is a binary search
 * and a GETNEXT the first entry past the one asked for. The poller thread
 * builds a whole view from one reading of the target and hands it over;
 * the SNMP thread only reads views. Nothing here knows net-snmp. */
#ifndef DDTSNMP_VIEW_H
#define DDTSNMP_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define VIEW_OID_MAX 16

enum view_type {
	VIEW_INT,	/* INTEGER, Integer32 and enumerations */
	VIEW_GAUGE,	/* Gauge32, Unsigned32 */
	VIEW_COUNTER32,
	VIEW_COUNTER64,
	VIEW_STR,
	VIEW_AGE,	/* seconds since the view's read_at, when answered */
};

typedef struct view_ent {
	uint32_t oid[VIEW_OID_MAX];
	uint8_t len;
	uint8_t type;
	uint64_t num;
	char *str;		/* VIEW_STR: owned, NUL-terminated */
} view_ent;

typedef struct view {
	view_ent *ents;
	size_t n, cap;
	int64_t read_at;	/* now_mono_s() of the values' reading */
} view;

/* An empty view; add entries in any order, then view_sort(). */
view *view_new(void);
void view_free(view *v);

/* Add one entry: the OID is prefix (plen parts) followed by the parts in
 * tail (tlen). 0 or -ENOMEM (or -EINVAL for an OID too long). */
int view_add_num(view *v, const uint32_t *prefix, int plen,
		 const uint32_t *tail, int tlen, int type, uint64_t num);
/* A string, cut to max bytes (at a UTF-8 character's start): the MIB's
 * SIZE of the object. */
int view_add_str(view *v, const uint32_t *prefix, int plen,
		 const uint32_t *tail, int tlen, const char *s, size_t max);

void view_sort(view *v);

/* The entry whose OID is oid (exact) or, with next, the first entry whose
 * OID is greater (or equal, with inclusive); NULL if none. */
const view_ent *view_find(const view *v, const uint32_t *oid, size_t len,
			  int next, int inclusive);

#endif
