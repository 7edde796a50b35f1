/* test_spec.c - proto/PROTOCOL.md held against the code, read from the
 * spec itself ($top_srcdir/proto/PROTOCOL.md): the frame header's offsets
 * and sizes; each record's fields, types and order (attr, seg, the COMMIT
 * entry, the READ element, SET_CONTENT's request, the storage unit,
 * unit statistics, streams, backup, alert, alert event and checkpoint
 * entries), by encoding a record whose
 * every field differs and walking its bytes by the spec's types; every
 * operation's opcode; every error code.
 * A field, an opcode or a code added to one and not the other fails here. */
#include "ddterr.h"
#include "wire.h"
#include "tap.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reading the spec ---- */

#define SPEC_MAX_LINES	4000
#define CELL_LEN	512
#define MAX_FIELDS	24

static char *spec[SPEC_MAX_LINES];
static int nspec;

static void spec_load(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/proto/PROTOCOL.md",
		 top && *top ? top : ".");
	f = fopen(path, "r");
	if (!f)
		tap_bail("open %s: %s", path, strerror(errno));
	while (nspec < SPEC_MAX_LINES && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!(spec[nspec++] = strdup(line)))
			tap_bail("no memory");
	}
	fclose(f);
}

/* The first line at or after from that starts with prefix; -1 if none. */
static int spec_find(const char *prefix, int from)
{
	for (int i = from < 0 ? 0 : from; i < nspec; i++)
		if (strncmp(spec[i], prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

/* s with its backticks dropped and its ends trimmed, into out. */
static void clean(const char *s, size_t n, char *out)
{
	size_t k = 0;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	for (size_t i = 0; i < n && k < CELL_LEN - 1; i++)
		if (s[i] != '`')
			out[k++] = s[i];
	out[k] = '\0';
}

/* The cells of a table row "| a | b |"; returns how many (0: no row). */
static int row_cells(const char *line, char cells[][CELL_LEN], int max)
{
	const char *p = line, *q;
	int n = 0;

	if (*p != '|')
		return 0;
	for (p++; n < max && (q = strchr(p, '|')); p = q + 1)
		clean(p, (size_t)(q - p), cells[n++]);
	return n;
}

/* The body rows of the first table at or after line i (its header and
 * separator skipped), as line numbers into rows; returns how many. */
static int table_rows(int i, int *rows, int max)
{
	int n = 0;

	while (i >= 0 && i < nspec && spec[i][0] != '|')
		i++;
	for (i += 2; i >= 2 && i < nspec && spec[i][0] == '|' && n < max; i++)
		rows[n++] = i;
	return n;
}

/* The bytes a field of type t takes (a str: at least); 0: no type. */
static size_t type_len(const char *t)
{
	static const struct { const char *t; size_t n; } sizes[] = {
		{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 },
		{ "i64", 8 }, { "fp", FP_LEN }, { "str", 2 },
		{ "seg", DDT_SEG_HEAD_LEN },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcmp(sizes[i].t, t) == 0)
			return sizes[i].n;
	return 0;
}

/* A field as the spec gives it: "u64 root", or "seg" alone. */
typedef struct field {
	char type[16];
	char name[64];
} field;

/* "u64 root, str name" (backticks gone) into f; returns how many. Items
 * that are no "type name" (prose) end the list. */
static int parse_fields(const char *list, field *f, int max)
{
	char item[CELL_LEN];
	const char *p = list, *q;
	int n = 0;

	while (*p && n < max) {
		q = p + strcspn(p, ",");
		clean(p, (size_t)(q - p), item);
		if (item[0] && sscanf(item, "%15s %63s", f[n].type,
				      f[n].name) >= 1) {
			if (!type_len(f[n].type))
				break;
			if (!strchr(item, ' '))
				strcpy(f[n].name, f[n].type);
			n++;
		}
		p = *q ? q + 1 : q;
	}
	return n;
}

/* The fields inside "(...)[]" of s, or of all of s if it has none. */
static int parse_list(const char *s, field *f, int max)
{
	char buf[CELL_LEN];
	const char *a = strchr(s, '('), *b = a ? strstr(a, ")[]") : NULL;

	if (a && b)
		clean(a + 1, (size_t)(b - a - 1), buf);
	else
		clean(s, strlen(s), buf);
	return parse_fields(buf, f, max);
}

/* The paragraph holding lead, from the end of lead up to end (exclusive),
 * its lines joined with spaces; "" if not found. */
static void spec_sentence(const char *lead, const char *end, char *out,
			  size_t cap)
{
	char para[4096] = "";
	const char *p, *q;
	int i;

	for (i = 0; i < nspec && !strstr(spec[i], lead); i++)
		;
	for (; i < nspec && spec[i][0]; i++) {
		strncat(para, spec[i], sizeof(para) - strlen(para) - 2);
		strcat(para, " ");
	}
	out[0] = '\0';
	if (!(p = strstr(para, lead)))
		return;
	p += strlen(lead);
	q = strstr(p, end);
	snprintf(out, cap, "%.*s", (int)(q ? q - p : (long)strlen(p)), p);
}

/* The reply (col 3) or request (col 2) cell of operation name's row. */
static void op_cell(const char *name, int col, char *out)
{
	char cells[6][CELL_LEN];
	int s = spec_find("## 5. Operations", 0);

	out[0] = '\0';
	for (int i = s; i >= 0 && i < nspec; i++)
		if (row_cells(spec[i], cells, 6) >= 4 &&
		    strncmp(cells[0], "0x", 2) == 0 &&
		    strcmp(cells[1], name) == 0) {
			strcpy(out, cells[col]);
			return;
		}
}

/* ---- walking a record by the spec's types ---- */

/* A field of the code: the spec's name for it, and where the record's
 * struct holds it. Its size tells its kind: a fingerprint (FP_LEN), a
 * string (a char array), or an integer of that many bytes. */
typedef struct member {
	const char *name;
	size_t off, size;
} member;

#define M(T, spec_name, m) \
	{ spec_name, offsetof(T, m), sizeof(((T *)0)->m) }

enum { K_INT, K_FP, K_STR };

static int kind(const member *m)
{
	if (m->size == FP_LEN)
		return K_FP;
	return m->size > 8 ? K_STR : K_INT;
}

static uint64_t get_uint(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Give member j of the struct at base a value no other field has, and
 * that reads differently at any other width. */
static void fill(uint8_t *base, const member *m, int j)
{
	uint64_t v = 0x8877665544332211ull + (uint64_t)j * 0x0102030405060709ull;

	switch (kind(m)) {
	case K_FP:
		for (size_t k = 0; k < FP_LEN; k++)
			base[m->off + k] = (uint8_t)(j * 37 + k);
		break;
	case K_STR:
		snprintf((char *)base + m->off, m->size, "%s-%d", m->name, j);
		break;
	default:
		memcpy(base + m->off, &v, m->size);	/* little-endian */
		break;
	}
}

static const member *member_of(const member *m, int nm, const char *name,
			       int *used)
{
	for (int j = 0; j < nm; j++)
		if (strcmp(m[j].name, name) == 0) {
			used[j]++;
			return &m[j];
		}
	return NULL;
}

/* A record: the spec's fields, the code's members, encoder, decoder, the
 * size constant (fixed, or the least), the struct's size; and for a seg,
 * the bytes that follow its fields. */
typedef struct record {
	const char *what;
	field f[MAX_FIELDS];
	int nf;
	const member *m;
	int nm;
	void (*enc)(wbuf *w, const void *rec);
	void (*dec)(rbuf *r, void *rec);
	size_t min, size;
	void (*fixup)(void *rec);	/* values the record needs; may be NULL */
	size_t (*tail)(const void *rec, const uint8_t **out);	/* NULL: none */
} record;

/* Field f of the spec, at p (len bytes left): compare with member m of
 * base. Returns its length on the wire, 0 on a mismatch (said in diag). */
static size_t walk_field(const record *rc, const field *f, const member *m,
			 const uint8_t *base, const uint8_t *p, size_t len)
{
	size_t n = type_len(f->type), sl;

	if (strcmp(f->type, "str") == 0) {
		sl = len >= 2 ? get_uint(p, 2) : 0;
		if (kind(m) == K_STR && len >= 2 + sl &&
		    strlen((const char *)base + m->off) == sl &&
		    memcmp(p + 2, base + m->off, sl) == 0)
			return 2 + sl;
	} else if (strcmp(f->type, "fp") == 0) {
		if (kind(m) == K_FP && len >= n &&
		    memcmp(p, base + m->off, n) == 0)
			return n;
	} else if (n && n <= 8 && kind(m) == K_INT && m->size == n &&
		   len >= n && get_uint(p, n) == get_uint(base + m->off, n)) {
		return n;
	}
	diag("%s: the spec's %s %s is not what the code has there (%zu "
	     "bytes of %s)", rc->what, f->type, f->name, m->size,
	     kind(m) == K_INT ? "integer" : kind(m) == K_FP ? "fp" : "str");
	return 0;
}

/* Walk the encoding of the struct at base by the spec's fields. Returns
 * the problems found; *pos ends where the walk did. */
static int walk(const record *rc, const uint8_t *base, const uint8_t *p,
		size_t len, size_t *pos, int *used)
{
	const member *m;
	size_t n;

	for (int i = 0; i < rc->nf; i++) {
		m = member_of(rc->m, rc->nm, rc->f[i].name, used);
		if (!m) {
			diag("%s: the spec's field %s %s is not in the code",
			     rc->what, rc->f[i].type, rc->f[i].name);
			return 1;
		}
		n = walk_field(rc, &rc->f[i], m, base, p + *pos, len - *pos);
		if (!n)
			return 1;
		*pos += n;
	}
	return 0;
}

/* Every member the same after a decode (strings to their NUL). */
static int same_members(const record *rc, const uint8_t *a, const uint8_t *b)
{
	for (int j = 0; j < rc->nm; j++) {
		const member *m = &rc->m[j];

		if (kind(m) == K_STR ?
		    strcmp((const char *)a + m->off, (const char *)b + m->off) :
		    memcmp(a + m->off, b + m->off, m->size))
			return 0;
	}
	return 1;
}

static void check_record(const record *rc)
{
	uint8_t *rec = calloc(1, rc->size), *back = calloc(1, rc->size);
	int used[MAX_FIELDS] = { 0 }, bad = 0;
	size_t fixed = 0, pos = 0;
	wbuf w;
	rbuf r;

	if (!rec || !back)
		tap_bail("no memory");
	for (int i = 0; i < rc->nf; i++)
		fixed += type_len(rc->f[i].type);
	ok(rc->nf > 0 && fixed == rc->min, "%s: the spec's %d fields take "
	   "%zu bytes (strs empty); the code's size is %zu", rc->what, rc->nf,
	   fixed, rc->min);
	for (int j = 0; j < rc->nm; j++)
		fill(rec, &rc->m[j], j);
	if (rc->fixup)
		rc->fixup(rec);
	wb_init(&w);
	rc->enc(&w, rec);
	if (w.err)
		tap_bail("%s: encoding fails", rc->what);
	bad = walk(rc, rec, w.p, w.len, &pos, used);
	if (!bad && rc->tail) {
		const uint8_t *t;
		size_t tn = rc->tail(rec, &t);

		if (pos + tn <= w.len && memcmp(w.p + pos, t, tn) == 0)
			pos += tn;
	}
	if (!bad && pos != w.len) {
		diag("%s: the code encodes %zu bytes; the spec's fields end "
		     "at %zu", rc->what, w.len, pos);
		bad = 1;
	}
	for (int j = 0; j < rc->nm && !bad; j++)
		if (used[j] != 1) {
			diag("%s: the code's field %s is not in the spec",
			     rc->what, rc->m[j].name);
			bad = 1;
		}
	rb_init(&r, w.p, w.len);
	rc->dec(&r, back);
	ok(!bad && rb_done(&r) == 0 && same_members(rc, rec, back),
	   "%s: the spec's fields, in its order and types, are what the "
	   "code encodes (%zu bytes) and decodes", rc->what, w.len);
	wb_free(&w);
	free(rec);
	free(back);
}

/* ---- the records ---- */

static const member attr_m[] = {
	M(ddt_attr, "ino", ino), M(ddt_attr, "type", type),
	M(ddt_attr, "mode", mode), M(ddt_attr, "uid", uid),
	M(ddt_attr, "gid", gid), M(ddt_attr, "nlink", nlink),
	M(ddt_attr, "size", size), M(ddt_attr, "atime", atime),
	M(ddt_attr, "mtime", mtime), M(ddt_attr, "ctime", ctime),
	M(ddt_attr, "flags", flags), M(ddt_attr, "level", level),
	M(ddt_attr, "root", root),
};

static void enc_attr(wbuf *w, const void *a) { wb_attr(w, a); }
static void dec_attr(rbuf *r, void *a) { rb_attr(r, a); }

/* The attr table of section 2: its field and type columns. */
static void test_attr(void)
{
	record rc = { .what = "attr", .m = attr_m,
		      .nm = sizeof(attr_m) / sizeof(attr_m[0]),
		      .enc = enc_attr, .dec = dec_attr, .min = DDT_ATTR_LEN,
		      .size = sizeof(ddt_attr) };
	char cells[4][CELL_LEN];
	int rows[64], n;

	n = table_rows(spec_find("### The attribute record", 0), rows, 64);
	for (int i = 0; i < n && rc.nf < MAX_FIELDS; i++)
		if (row_cells(spec[rows[i]], cells, 4) >= 2) {
			snprintf(rc.f[rc.nf].type, 16, "%.15s", cells[1]);
			snprintf(rc.f[rc.nf].name, 64, "%.63s", cells[0]);
			rc.nf++;
		}
	check_record(&rc);
}

/* seg: the four fields of its head, then stored_len bytes of data. */
static const member seg_m[] = {
	M(ddt_seg, "fp", fp), M(ddt_seg, "codec", codec),
	M(ddt_seg, "raw_len", raw_len), M(ddt_seg, "stored_len", stored_len),
};

static const uint8_t seg_data[] = "stored bytes";

static void seg_fixup(void *rec)
{
	ddt_seg *s = rec;

	s->stored_len = sizeof(seg_data);
	s->data = seg_data;
}

static size_t seg_tail(const void *rec, const uint8_t **out)
{
	const ddt_seg *s = rec;

	*out = s->data;
	return s->stored_len;
}

static void enc_seg(wbuf *w, const void *s) { wb_seg(w, s); }

/* The data decodes in place; fixup points both at seg_data, so check the
 * bytes here. */
static void dec_seg(rbuf *r, void *rec)
{
	ddt_seg *s = rec;

	rb_seg(r, s);
	if (!s->data || s->stored_len != sizeof(seg_data) ||
	    memcmp(s->data, seg_data, sizeof(seg_data)))
		r->err = -EPROTO;
}

static int seg_fields(field *f)
{
	char text[CELL_LEN], tail[CELL_LEN];
	int n;

	spec_sentence("A `seg` is:", "then", text, sizeof(text));
	n = parse_fields(text, f, MAX_FIELDS);
	spec_sentence("A `seg` is:", ".", tail, sizeof(tail));
	/* "... then `stored_len` bytes": the data's length is the field the
	 * code fills in last. */
	ok(strstr(tail, "then `stored_len` bytes") != NULL,
	   "seg: the spec puts stored_len bytes of data after the fields");
	return n;
}

static void test_seg(void)
{
	record rc = { .what = "seg", .m = seg_m,
		      .nm = sizeof(seg_m) / sizeof(seg_m[0]),
		      .enc = enc_seg, .dec = dec_seg,
		      .min = DDT_SEG_HEAD_LEN, .size = sizeof(ddt_seg),
		      .fixup = seg_fixup, .tail = seg_tail };

	rc.nf = seg_fields(rc.f);
	check_record(&rc);
}

/* READ's element "(u64 offset, seg)": the offset, then a whole seg. */
typedef struct read_elem {
	uint64_t off;
	ddt_seg s;
} read_elem;

static void test_read_seg(void)
{
	char cell[CELL_LEN];
	field f[MAX_FIELDS];
	read_elem x = { .off = 0x1122334455667788ull }, y;
	wbuf w, v;
	rbuf r;
	int n;

	op_cell("READ", 3, cell);
	n = parse_list(cell, f, MAX_FIELDS);
	ok(n == 2 && strcmp(f[0].type, "u64") == 0 &&
	   strcmp(f[1].type, "seg") == 0 &&
	   type_len(f[0].type) + type_len(f[1].type) == DDT_READ_SEG_MIN,
	   "READ: the spec's element is (u64 offset, seg), %d bytes at least; "
	   "the code's size is %d", (int)(8 + DDT_SEG_HEAD_LEN),
	   (int)DDT_READ_SEG_MIN);
	seg_fixup(&x.s);
	wb_init(&w);
	wb_init(&v);
	wb_read_seg(&w, x.off, &x.s);
	wb_u64(&v, x.off);
	wb_seg(&v, &x.s);
	rb_init(&r, w.p, w.len);
	rb_read_seg(&r, &y.off, &y.s);
	ok(w.len == v.len && memcmp(w.p, v.p, w.len) == 0 &&
	   rb_done(&r) == 0 && y.off == x.off &&
	   y.s.stored_len == x.s.stored_len,
	   "READ: the code's element is the offset and a seg, and decodes");
	wb_free(&w);
	wb_free(&v);
}

static const member entry_m[] = {
	M(ddt_entry, "name", name), M(ddt_entry, "mode", mode),
	M(ddt_entry, "uid", uid), M(ddt_entry, "gid", gid),
	M(ddt_entry, "atime", atime), M(ddt_entry, "mtime", mtime),
	M(ddt_entry, "size", size), M(ddt_entry, "level", level),
	M(ddt_entry, "root", root),
};

static void enc_entry(wbuf *w, const void *e) { wb_entry(w, e); }
static void dec_entry(rbuf *r, void *e) { (void)rb_entry(r, e); }

static void test_entry(void)
{
	record rc = { .what = "COMMIT entry", .m = entry_m,
		      .nm = sizeof(entry_m) / sizeof(entry_m[0]),
		      .enc = enc_entry, .dec = dec_entry,
		      .min = DDT_ENTRY_MIN, .size = sizeof(ddt_entry) };
	char text[CELL_LEN];

	spec_sentence("binds a name in `dir` to file content:", ".", text,
		      sizeof(text));
	rc.nf = parse_fields(text, rc.f, MAX_FIELDS);
	check_record(&rc);
}

static const member su_m[] = {
	M(ddt_su, "name", name), M(ddt_su, "root", root),
	M(ddt_su, "files", files), M(ddt_su, "logical_bytes", logical_bytes),
	M(ddt_su, "created", created),
	M(ddt_su, "retention_seconds", retention),
	M(ddt_su, "lock", locked), M(ddt_su, "quota", quota),
};

/* SU_OPEN's reply: the same less the name and created. */
static const member su_info_m[] = {
	M(ddt_su, "root", root), M(ddt_su, "files", files),
	M(ddt_su, "logical_bytes", logical_bytes),
	M(ddt_su, "retention_seconds", retention),
	M(ddt_su, "lock", locked), M(ddt_su, "quota", quota),
};

static void enc_su(wbuf *w, const void *s) { wb_su(w, s); }
static void dec_su(rbuf *r, void *s) { rb_su(r, s); }
static void enc_su_info(wbuf *w, const void *s) { wb_su_info(w, s); }
static void dec_su_info(rbuf *r, void *s) { rb_su_info(r, s); }

static const member backup_m[] = {
	M(ddt_backup, "id", id), M(ddt_backup, "ino", ino),
	M(ddt_backup, "flags", flags), M(ddt_backup, "created", created),
	M(ddt_backup, "files", files), M(ddt_backup, "bytes", bytes),
	M(ddt_backup, "expires", expires),
};

static void enc_backup(wbuf *w, const void *b) { wb_backup(w, b); }
static void dec_backup(rbuf *r, void *b) { rb_backup(r, b); }

static const member alert_m[] = {
	M(ddt_alert, "id", id), M(ddt_alert, "severity", severity),
	M(ddt_alert, "since", since), M(ddt_alert, "text", text),
};

static void enc_alert(wbuf *w, const void *a) { wb_alert(w, a); }
static void dec_alert(rbuf *r, void *a) { rb_alert(r, a); }

static const member su_stats_m[] = {
	M(ddt_su_stats, "name", name), M(ddt_su_stats, "state", state),
	M(ddt_su_stats, "locked", locked),
	M(ddt_su_stats, "quota_soft", quota_soft),
	M(ddt_su_stats, "quota_hard", quota_hard),
	M(ddt_su_stats, "logical_bytes", logical_bytes),
	M(ddt_su_stats, "files", files),
	M(ddt_su_stats, "ingest_logical_bytes", ingest_logical_bytes),
	M(ddt_su_stats, "ingest_raw_bytes", ingest_raw_bytes),
	M(ddt_su_stats, "ingest_stored_bytes", ingest_stored_bytes),
	M(ddt_su_stats, "streams_backup", streams_backup),
	M(ddt_su_stats, "streams_restore", streams_restore),
	M(ddt_su_stats, "streams_replication", streams_replication),
	M(ddt_su_stats, "backup_soft", backup_soft),
	M(ddt_su_stats, "backup_hard", backup_hard),
	M(ddt_su_stats, "restore_soft", restore_soft),
	M(ddt_su_stats, "restore_hard", restore_hard),
	M(ddt_su_stats, "backups", backups),
};

static void enc_su_stats(wbuf *w, const void *s) { wb_su_stats(w, s); }
static void dec_su_stats(rbuf *r, void *s) { rb_su_stats(r, s); }

static const member streams_m[] = {
	M(ddt_streams, "su", su), M(ddt_streams, "backup", backup),
	M(ddt_streams, "restore", restore),
	M(ddt_streams, "replication", replication),
	M(ddt_streams, "backup_soft", backup_soft),
	M(ddt_streams, "backup_hard", backup_hard),
	M(ddt_streams, "restore_soft", restore_soft),
	M(ddt_streams, "restore_hard", restore_hard),
};

static void enc_streams(wbuf *w, const void *s) { wb_streams(w, s); }
static void dec_streams(rbuf *r, void *s) { rb_streams(r, s); }

static const member event_m[] = {
	M(ddt_alert_event, "seq", seq), M(ddt_alert_event, "raised", raised),
	M(ddt_alert_event, "severity", severity),
	M(ddt_alert_event, "time", time), M(ddt_alert_event, "id", id),
	M(ddt_alert_event, "text", text),
};

static void enc_event(wbuf *w, const void *e) { wb_alert_event(w, e); }
static void dec_event(rbuf *r, void *e) { rb_alert_event(r, e); }

static const member ckpt_m[] = {
	M(ddt_checkpoint, "name", name),
	M(ddt_checkpoint, "created_ns", created),
	M(ddt_checkpoint, "bytes", bytes),
};

static void enc_ckpt(wbuf *w, const void *c) { wb_checkpoint(w, c); }
static void dec_ckpt(rbuf *r, void *c) { rb_checkpoint(r, c); }

static const member content_m[] = {
	M(ddt_content, "ino", ino), M(ddt_content, "flags", flags),
	M(ddt_content, "mtime", mtime), M(ddt_content, "size", size),
	M(ddt_content, "level", level), M(ddt_content, "root", root),
};

static void enc_content(wbuf *w, const void *c) { wb_content(w, c); }
static void dec_content(rbuf *r, void *c) { rb_content(r, c); }

/* SET_CONTENT's request: its row's request cell. */
static void test_content(void)
{
	record rc = { .what = "SET_CONTENT request", .m = content_m,
		      .nm = sizeof(content_m) / sizeof(content_m[0]),
		      .enc = enc_content, .dec = dec_content,
		      .min = DDT_CONTENT_LEN, .size = sizeof(ddt_content) };
	char cell[CELL_LEN];

	op_cell("SET_CONTENT", 2, cell);
	rc.nf = parse_list(cell, rc.f, MAX_FIELDS);
	check_record(&rc);
}

/* A record that is a reply (or a reply's list element) in the table of
 * operations: its fields from the row of op. */
static void check_reply(record *rc, const char *op)
{
	char cell[CELL_LEN];

	op_cell(op, 3, cell);
	rc->nf = parse_list(cell, rc->f, MAX_FIELDS);
	check_record(rc);
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_replies(void)
{
	record su = { .what = "SU_LIST entry", .m = su_m, .nm = N(su_m),
		      .enc = enc_su, .dec = dec_su, .min = DDT_SU_MIN,
		      .size = sizeof(ddt_su) };
	record info = { .what = "SU_OPEN reply", .m = su_info_m,
			.nm = N(su_info_m), .enc = enc_su_info,
			.dec = dec_su_info, .min = DDT_SU_INFO_LEN,
			.size = sizeof(ddt_su) };
	record bk = { .what = "BACKUP_LIST entry", .m = backup_m,
		      .nm = N(backup_m), .enc = enc_backup,
		      .dec = dec_backup, .min = DDT_BACKUP_MIN,
		      .size = sizeof(ddt_backup) };
	record al = { .what = "ALERTS entry", .m = alert_m, .nm = N(alert_m),
		      .enc = enc_alert, .dec = dec_alert,
		      .min = DDT_ALERT_MIN, .size = sizeof(ddt_alert) };
	record ck = { .what = "CHECKPOINT_LIST entry", .m = ckpt_m,
		      .nm = N(ckpt_m), .enc = enc_ckpt, .dec = dec_ckpt,
		      .min = DDT_CHECKPOINT_MIN,
		      .size = sizeof(ddt_checkpoint) };

	record ss = { .what = "SU_STATS entry", .m = su_stats_m,
		      .nm = N(su_stats_m), .enc = enc_su_stats,
		      .dec = dec_su_stats, .min = DDT_SU_STATS_MIN,
		      .size = sizeof(ddt_su_stats) };
	record sm = { .what = "STREAMS entry", .m = streams_m,
		      .nm = N(streams_m), .enc = enc_streams,
		      .dec = dec_streams, .min = DDT_STREAMS_MIN,
		      .size = sizeof(ddt_streams) };
	record ev = { .what = "ALERT_EVENTS entry", .m = event_m,
		      .nm = N(event_m), .enc = enc_event, .dec = dec_event,
		      .min = DDT_ALERT_EVENT_MIN,
		      .size = sizeof(ddt_alert_event) };

	check_reply(&ss, "SU_STATS");
	check_reply(&sm, "STREAMS");
	check_reply(&ev, "ALERT_EVENTS");
	check_reply(&su, "SU_LIST");
	check_reply(&info, "SU_OPEN");
	check_reply(&bk, "BACKUP_LIST");
	check_reply(&al, "ALERTS");
	check_reply(&ck, "CHECKPOINT_LIST");
}

/* ---- the frame header ---- */

static const member hdr_m[] = {
	M(ddt_hdr, "length", length), M(ddt_hdr, "version", version),
	M(ddt_hdr, "opcode", opcode), M(ddt_hdr, "flags", flags),
	M(ddt_hdr, "id", id), M(ddt_hdr, "status", status),
};

/* Section 1's table: each field at its offset, of its size, in the bytes
 * ddt_hdr_pack() makes; the payload right after them. */
static void test_header(void)
{
	char cells[4][CELL_LEN];
	int rows[32], n, bad = 0, nf = 0, used[N(hdr_m)] = { 0 };
	uint8_t b[DDT_HDR_LEN];
	unsigned off, size, at = 0;
	const member *m;
	ddt_hdr h, g;

	for (int j = 0; j < N(hdr_m); j++)
		fill((uint8_t *)&h, &hdr_m[j], j);
	ddt_hdr_pack(&h, b);
	n = table_rows(spec_find("## 1. Transport and framing", 0), rows, 32);
	for (int i = 0; i < n; i++) {
		if (row_cells(spec[rows[i]], cells, 4) < 3 ||
		    sscanf(cells[0], "%u", &off) != 1)
			continue;
		if (strcmp(cells[2], "payload") == 0) {
			bad += off != at || at != DDT_HDR_LEN;
			continue;
		}
		nf++;
		m = member_of(hdr_m, N(hdr_m), cells[2], used);
		if (sscanf(cells[1], "%u", &size) != 1 || !m || off != at ||
		    size != m->size || off + size > DDT_HDR_LEN ||
		    get_uint(b + off, size) !=
		    get_uint((uint8_t *)&h + m->off, m->size)) {
			diag("header: the spec's %s (offset %u, %s bytes) is "
			     "not where or what the code packs", cells[2], off,
			     cells[1]);
			bad++;
			continue;
		}
		at = off + size;
	}
	for (int j = 0; j < N(hdr_m); j++)
		bad += used[j] != 1;
	ok(nf == N(hdr_m) && !bad && at == DDT_HDR_LEN,
	   "the frame header: the spec's %d fields at their offsets and sizes "
	   "are what ddt_hdr_pack() writes, %d bytes, the payload after",
	   nf, (int)DDT_HDR_LEN);
	h.length = 12;
	h.version = DDT_PROTO_VERSION;
	ddt_hdr_pack(&h, b);
	ok(ddt_hdr_parse(b, &g) == 0 && g.id == h.id && g.status == h.status,
	   "and ddt_hdr_parse() reads them back");
}

/* ---- opcodes and error codes ---- */

/* Every row of section 5's operation tables names the opcode the code
 * gives that name, and the code knows no opcode the spec does not list. */
static void test_opcodes(void)
{
	char cells[6][CELL_LEN];
	int from = spec_find("## 5. Operations", 0);
	int to = spec_find("## 6.", from), rows = 0, bad = 0, known = 0;
	unsigned op;

	for (int i = from; i >= 0 && i < to; i++) {
		if (row_cells(spec[i], cells, 6) < 2 ||
		    sscanf(cells[0], "0x%x", &op) != 1)
			continue;
		rows++;
		if (op > 255 || !ddt_op_known((uint8_t)op) ||
		    strcmp(ddt_op_name((uint8_t)op), cells[1]) != 0) {
			diag("opcode 0x%02x: the spec says %s, the code %s", op,
			     cells[1], op > 255 ? "-" :
			     ddt_op_name((uint8_t)op));
			bad++;
		}
	}
	for (unsigned o = 0; o < 256; o++)
		known += ddt_op_known((uint8_t)o);
	ok(rows > 0 && bad == 0 && known == rows,
	   "the %d operations of the spec's tables have the code's opcodes, "
	   "and the code knows %d", rows, known);
}

/* Section 4's table of codes against ddt_err_name(), both ways. */
static void test_errors(void)
{
	char cells[4][CELL_LEN];
	int r[64], n, bad = 0, named = 0, rows = 0;
	const char *name;
	unsigned code;

	n = table_rows(spec_find("| code | name", spec_find("## 4. Errors", 0)),
		       r, 64);
	for (int i = 0; i < n; i++) {
		if (row_cells(spec[r[i]], cells, 4) < 2 ||
		    sscanf(cells[0], "%u", &code) != 1)
			continue;
		rows++;
		name = ddt_err_name(code);
		if (!name || strcmp(name, cells[1]) != 0) {
			diag("error %u: the spec says %s, the code %s", code,
			     cells[1], name ? name : "none");
			bad++;
		}
	}
	for (unsigned c = 0; c < 4096; c++)
		named += ddt_err_name(c) != NULL;
	ok(rows > 0 && bad == 0 && named == rows,
	   "the spec's %d error codes are the code's, and the code has %d",
	   rows, named);
	ok(DDT_EPERM == 1 && DDT_EDQUOT == 122 &&
	   strcmp(ddt_err_name(DDT_EPROTO), "DDT_EPROTO") == 0,
	   "ddt_err_name() names the enum's values");
}

int main(void)
{
	spec_load();
	test_header();
	test_attr();
	test_seg();
	test_read_seg();
	test_entry();
	test_content();
	test_replies();
	test_opcodes();
	test_errors();
	return tap_done();
}
