/* fuzz_parsers.c - a libFuzzer target for every parser that reads bytes
 * from the network or the disk: frame headers and the payload decoder
 * (wire.c), metadata segments (tree.c), containers and their directories
 * (ctr.c); and the audit log's escaping of names from the network
 * (audit.c). The first input byte picks the parser; the rest is its
 * input. Build and run with `make fuzz` (clang, -fsanitize=fuzzer,address).
 * Anything the sanitizers catch, or a parser accepting bytes that then
 * fail its own invariants, is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ctr.h"
#include "tree.h"
#include "wire.h"

static void fuzz_header(const uint8_t *p, size_t n)
{
	ddt_hdr h;

	if (n >= DDT_HDR_LEN && ddt_hdr_parse(p, &h) == 0 &&
	    (h.length < 12 || h.length > DDT_MAX_FRAME))
		abort();	/* accepted a length out of range */
}

/* A payload read the way the daemon reads a COMMIT, a SEG_PUT and a
 * SET_CONTENT. */
/* SU_SET's second part, and the records of SU_STATS, STREAMS and
 * ALERT_EVENTS replies. */
static void fuzz_records(const uint8_t *p, size_t n)
{
	static ddt_alert_event e;
	uint32_t lim[4];
	ddt_su_stats s;
	ddt_streams st;
	uint64_t q;
	rbuf r;

	rb_init(&r, p, n);
	rb_su_set_ext(&r, &q, lim);
	rb_su_stats(&r, &s);
	rb_streams(&r, &st);
	rb_alert_event(&r, &e);
	rb_done(&r);
}

static void fuzz_payload(const uint8_t *p, size_t n)
{
	char name[DDT_MAX_NAME + 1];
	uint32_t cnt, bl;
	ddt_content k;
	ddt_attr a;
	fp_t f;
	rbuf r;

	rb_init(&r, p, n);
	rb_u64(&r);
	rb_u32(&r);
	cnt = rb_count(&r, 2 + 12 + 24 + 1 + FP_LEN, 100000);
	for (uint32_t i = 0; i < cnt; i++) {
		rb_str(&r, name, sizeof(name));
		rb_u32(&r);
		rb_u32(&r);
		rb_u32(&r);
		rb_i64(&r);
		rb_i64(&r);
		rb_u64(&r);
		rb_u8(&r);
		rb_fp(&r, &f);
	}
	rb_done(&r);
	rb_init(&r, p, n);
	cnt = rb_count(&r, FP_LEN + 9, UINT32_MAX);
	for (uint32_t i = 0; i < cnt; i++) {
		rb_fp(&r, &f);
		rb_u8(&r);
		rb_u32(&r);
		if (!rb_bytes(&r, rb_u32(&r)))
			break;
	}
	rb_init(&r, p, n);
	rb_attr(&r, &a);
	rb_blob(&r, &bl);
	rb_done(&r);
	rb_init(&r, p, n);
	rb_content(&r, &k);
	rb_done(&r);
	fuzz_records(p, n);
}

static void fuzz_tree(const uint8_t *p, size_t n)
{
	tree_entry *e = NULL;
	uint64_t sum = 0;
	uint32_t cnt;

	if (n == 0)
		return;
	if (tree_parse(p + 1, n - 1, 1 + p[0] % TREE_MAX_LEVEL, UINT64_MAX,
		       &e, &cnt) == 0) {
		for (uint32_t i = 0; i < cnt; i++)
			sum += e[i].bytes;
		if (cnt == 0 || cnt > TREE_MAX_FANOUT)
			abort();
		free(e);
	}
	(void)sum;
}

static void fuzz_container(const uint8_t *p, size_t n)
{
	ctr_view v;

	if (n < 8)
		return;
	if (ctr_parse(p + 8, n - 8, *(const uint64_t *)(const void *)p, &v) == 0) {
		for (uint32_t i = 0; i < v.nseg; i++) {
			ctr_seg g;
			volatile uint8_t sum = 0;

			if (!v.ents[i].region &&
			    v.ents[i].off + (uint64_t)v.ents[i].stored_len >
			    v.data_len)
				abort();	/* an entry outside the data */
			if (ctr_view_seg(&v, i, &g) < 0)
				continue;
			/* Every byte a reader would take: ASan sees any
			 * that lies outside the buffers. */
			for (uint32_t j = 0; j < g.len; j++)
				sum ^= g.data[j];
		}
		ctr_view_free(&v);
	}
}

/* A value from the network in an audit line: whatever its bytes, the
 * line gets no control character, no newline and no quote that ends the
 * value early (every '"' inside is escaped). */
static void fuzz_audit_kv(const uint8_t *p, size_t n)
{
	char v[512], line[2048] = "";
	size_t len = n < sizeof(v) - 1 ? n : sizeof(v) - 1;
	const char *s;
	int quoted;

	memcpy(v, p, len);
	v[len] = '\0';
	audit_kv(line, sizeof(line), "k", v);
	for (s = line; *s; s++)
		if ((unsigned char)*s < 32 || *s == 127)
			abort();
	if (strncmp(line, " k=", 3))
		abort();
	s = line + 3;
	quoted = *s == '"';
	if (!quoted) {
		if (strpbrk(s, " \"="))
			abort();	/* a bare value must be one token */
		return;
	}
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && !*++s)
			abort();
	if (*s != '"' || s[1])
		abort();	/* the value ended before the line did */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* An exact-size copy, so a read past the end is a sanitizer error. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0: fuzz_header(copy, size - 1); break;
	case 1: fuzz_payload(copy, size - 1); break;
	case 2: fuzz_tree(copy, size - 1); break;
	case 3: fuzz_container(copy, size - 1); break;
	case 4: fuzz_audit_kv(copy, size - 1); break;
	}
	free(copy);
	return 0;
}
