/* test_wire.c - the protocol codec: headers round trip and are checked,
 * every field type round trips, and the decoder never reads past its
 * buffer however the counts and lengths lie (it sets its error instead). */
#include "fp.h"
#include "wire.h"
#include "ddterr.h"
#include "tap.h"

#include <stdint.h>

static void test_header(void)
{
	ddt_hdr h = { .length = 12 + 100, .version = DDT_PROTO_VERSION,
		      .opcode = DDT_OP_SEG_PUT, .flags = DDT_F_REPLY,
		      .id = 0xdeadbeef, .status = DDT_ENOSPC }, g;
	uint8_t b[DDT_HDR_LEN];

	ddt_hdr_pack(&h, b);
	ok(ddt_hdr_parse(b, &g) == 0 && g.length == h.length &&
	   g.opcode == h.opcode && g.flags == h.flags && g.id == h.id &&
	   g.status == h.status && ddt_payload_len(&g) == 100,
	   "a header round trips");
	h.length = 11;
	ddt_hdr_pack(&h, b);
	ok(ddt_hdr_parse(b, &g) == -EPROTO, "a length under 12 is refused");
	h.length = DDT_MAX_FRAME + 1;
	ddt_hdr_pack(&h, b);
	ok(ddt_hdr_parse(b, &g) == -EPROTO &&
	   strstr(ddterr_last(-EPROTO), "out of range"),
	   "a length over the largest frame is refused: %s",
	   ddterr_last(-EPROTO));
	h.length = 12;
	h.version = 9;
	ddt_hdr_pack(&h, b);
	ok(ddt_hdr_parse(b, &g) == -EPROTO, "another version is refused");
}

static void test_fields(void)
{
	ddt_attr a = { .ino = 42, .type = DDT_T_FILE, .mode = 0640,
		       .uid = 1000, .gid = 100, .nlink = 2, .size = 1ull << 40,
		       .atime = -5, .mtime = 1700000000123456789LL,
		       .ctime = 7, .flags = DDT_AF_BACKUP, .level = 3 }, g;
	char s[DDT_MAX_STR + 1];
	uint32_t bn;
	const uint8_t *blob;
	fp_t f, gf;
	wbuf w;
	rbuf r;

	memset(f.b, 0xab, FP_LEN);
	a.root = f;
	wb_init(&w);
	wb_u8(&w, 0xfe);
	wb_u16(&w, 0xbeef);
	wb_u32(&w, 0xcafef00d);
	wb_u64(&w, 0x0123456789abcdefull);
	wb_i64(&w, -1234567890123LL);
	wb_fp(&w, &f);
	wb_str(&w, "héllo");
	wb_blob(&w, "xyz", 3);
	wb_attr(&w, &a);
	ok(w.err == 0, "encoding succeeds");
	rb_init(&r, w.p, w.len);
	ok(rb_u8(&r) == 0xfe && rb_u16(&r) == 0xbeef &&
	   rb_u32(&r) == 0xcafef00d && rb_u64(&r) == 0x0123456789abcdefull &&
	   rb_i64(&r) == -1234567890123LL, "integers round trip");
	rb_fp(&r, &gf);
	rb_str(&r, s, sizeof(s));
	blob = rb_blob(&r, &bn);
	rb_attr(&r, &g);
	ok(fp_equal(&gf, &f) && strcmp(s, "héllo") == 0 && bn == 3 &&
	   memcmp(blob, "xyz", 3) == 0, "fp, str and blob round trip");
	ok(g.ino == a.ino && g.type == a.type && g.mode == a.mode &&
	   g.size == a.size && g.atime == a.atime && g.mtime == a.mtime &&
	   g.flags == a.flags && g.level == a.level && fp_equal(&g.root, &f),
	   "attr round trips");
	ok(rb_done(&r) == 0, "the payload is consumed exactly");
	wb_free(&w);
}

static void test_lies(void)
{
	uint8_t buf[64] = { 0 };
	char s[16];
	uint32_t n;
	rbuf r;

	/* A string that claims 60000 bytes in a 64-byte buffer. */
	buf[0] = 0x60;
	buf[1] = 0xea;
	rb_init(&r, buf, sizeof(buf));
	rb_str(&r, s, sizeof(s));
	ok(r.err == -EPROTO && s[0] == '\0', "a string longer than its buffer "
	   "is an error, nothing copied");
	/* A string that fits the frame but not the caller's buffer. */
	buf[0] = 20;
	buf[1] = 0;
	rb_init(&r, buf, sizeof(buf));
	rb_str(&r, s, sizeof(s));
	ok(r.err == -EPROTO, "a string longer than the caller allows is an error");
	/* A count of fingerprints that cannot fit the bytes left. */
	buf[0] = 0xff;
	buf[1] = 0xff;
	buf[2] = 0xff;
	buf[3] = 0x0f;
	rb_init(&r, buf, sizeof(buf));
	n = rb_count(&r, FP_LEN, UINT32_MAX);
	ok(n == 0 && r.err == -EPROTO, "a count beyond the bytes left is refused");
	buf[0] = 2;
	buf[1] = buf[2] = buf[3] = 0;
	rb_init(&r, buf, 4 + 2 * FP_LEN);
	n = rb_count(&r, FP_LEN, 1);
	ok(n == 0 && r.err == -EPROTO, "a count over the maximum is refused");
	/* A blob length past the end, then reads after the error. */
	buf[0] = 100;
	rb_init(&r, buf, 8);
	ok(rb_blob(&r, &n) == NULL && n == 0 && rb_u64(&r) == 0 &&
	   rb_done(&r) == -EPROTO, "a blob past the end fails, later reads "
	   "give zeros, and done reports it");
	/* Leftover bytes are an error too. */
	rb_init(&r, buf, 8);
	rb_u32(&r);
	ok(rb_done(&r) == -EPROTO, "bytes left over are an error");
	/* A NUL inside a string. */
	buf[0] = 3;
	buf[1] = 0;
	buf[2] = 'a';
	buf[3] = 0;
	buf[4] = 'b';
	rb_init(&r, buf, 5);
	rb_str(&r, s, sizeof(s));
	ok(r.err == -EPROTO, "a NUL inside a string is an error");
}

/* Every prefix of a valid payload, and many random byte flips, decode
 * without reading outside the buffer (ASan and valgrind see to that) and
 * with the error set wherever the bytes run out. */
static void test_truncations(void)
{
	ddt_attr a = { .ino = 1 }, g;
	char s[DDT_MAX_STR + 1];
	uint8_t *copy;
	size_t bad = 0;
	wbuf w;
	rbuf r;

	wb_init(&w);
	wb_str(&w, "name");
	wb_attr(&w, &a);
	wb_u32(&w, 2);
	for (size_t cut = 0; cut < w.len; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, w.p, cut);
		rb_init(&r, copy, cut);
		rb_str(&r, s, sizeof(s));
		rb_attr(&r, &g);
		rb_u32(&r);
		bad += rb_done(&r) == 0;
		free(copy);
	}
	ok(bad == 0, "all %zu truncations of a payload are errors", w.len);
	wb_free(&w);
}

static void test_names(void)
{
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ok(ddt_name_ok("file.txt") && ddt_name_ok(".hidden") &&
	   ddt_name_ok("a b"), "ordinary names are fine");
	ok(!ddt_name_ok("") && !ddt_name_ok(".") && !ddt_name_ok("..") &&
	   !ddt_name_ok("a/b") && !ddt_name_ok(longname),
	   "empty, dot, dot-dot, slashes and 256+ bytes are not");
	ok(strcmp(ddt_op_name(DDT_OP_SEG_PUT), "SEG_PUT") == 0 &&
	   !ddt_op_known(0x99) && ddt_op_known(DDT_OP_BACKUP_DELETE) &&
	   strcmp(ddt_op_name(DDT_OP_EXPIRE), "EXPIRE") == 0 &&
	   ddt_op_known(DDT_OP_SU_SET) && ddt_op_known(DDT_OP_BACKUP_SET),
	   "opcode names");
	ok(strcmp(ddt_op_name(DDT_OP_SCRUB_STATUS), "SCRUB_STATUS") == 0 &&
	   ddt_op_known(DDT_OP_SCRUB_START) && ddt_op_known(DDT_OP_ALERTS) &&
	   ddt_op_known(DDT_OP_STATUS_TEXT),
	   "the scrub, alert and status text opcodes are known");
}

static void test_frame(void)
{
	ddt_hdr h;
	wbuf w;

	wb_init(&w);
	ddt_frame_begin(&w, DDT_OP_STATUS, 0, 7, 0);
	wb_u32(&w, 99);
	ok(ddt_frame_finish(&w, 0) == 0 && ddt_hdr_parse(w.p, &h) == 0 &&
	   ddt_payload_len(&h) == 4 && h.id == 7 &&
	   w.len == DDT_HDR_LEN + 4, "a frame's length is filled in");
	wb_reset(&w);
	wb_reserve(&w, DDT_MAX_FRAME + DDT_HDR_LEN + 1);
	ok(w.err == -E2BIG, "a frame over the limit cannot be built");
	wb_free(&w);
}

int main(void)
{
	test_header();
	test_fields();
	test_lies();
	test_truncations();
	test_names();
	test_frame();
	return tap_done();
}
