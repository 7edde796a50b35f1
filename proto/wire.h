/* wire.h - the transfer protocol's codec, shared by ddtargetd and the
 * client library: framing, opcodes, and each record of PROTOCOL.md once,
 * with its size, its encoder and its decoder. The protocol's vocabulary
 * (limits, error codes, flags, the records' types) is ddtc_types.h, which
 * front ends see; this header is for the two ends only.
 *
 * Encoding appends to a growable wbuf; decoding reads a rbuf that never
 * reads past its end: any overrun sets a sticky error, later reads return
 * zeros, and rb_done() reports it. So a parser reads all its fields and
 * checks once.
 *
 * Names: wb_* and rb_* are the operations of the two buffers, wbuf and
 * rbuf, including a record's encoder (wb_attr) and decoder (rb_attr), so
 * that a message reads as the list of its fields; ddt_* is the protocol's
 * own (frames, opcodes, codes), as DDT_* is in PROTOCOL.md. */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"

#define DDT_PROTO_VERSION	1
#define DDT_HDR_LEN		16	/* length field + 12 */
#define DDT_MAX_FRAME		(12u + DDT_MAX_PAYLOAD)
#define DDT_MAX_INFLIGHT	64
/* Count limits of one request (PROTOCOL.md section 5, "Limits"): a
 * well-formed request over one is DDT_EINVAL, and the session goes on.
 * DDT_MAX_COMMIT, which a front end sizes its batches by, is public. */
#define DDT_MAX_QUERY		16384	/* fingerprints in one FP_QUERY */
#define DDT_MAX_GET		4096	/* fingerprints in one SEG_GET */
#define DDT_MAX_READ_FILES	1024	/* inodes in one READ_FILES */
#define DDT_MAX_READDIR		100000	/* READDIR entries; max 0 or over: this */

#define DDT_F_REPLY		1u

/* Opcodes (section 5). */
enum ddt_op {
	DDT_OP_HELLO = 0x01,
	DDT_OP_AUTH = 0x02,
	DDT_OP_STATUS = 0x03,
	DDT_OP_STATUS_TEXT = 0x04,
	DDT_OP_SU_CREATE = 0x10,
	DDT_OP_SU_LIST = 0x11,
	DDT_OP_SU_DELETE = 0x12,
	DDT_OP_SU_OPEN = 0x13,
	DDT_OP_SU_SET = 0x14,
	DDT_OP_SU_STATS = 0x15,
	DDT_OP_STREAMS = 0x16,
	DDT_OP_LOOKUP = 0x20,
	DDT_OP_GETATTR = 0x21,
	DDT_OP_MKDIR = 0x22,
	DDT_OP_READDIR = 0x23,
	DDT_OP_RENAME = 0x24,
	DDT_OP_UNLINK = 0x25,
	DDT_OP_RMDIR = 0x26,
	DDT_OP_SETATTR = 0x27,
	DDT_OP_SYMLINK = 0x28,
	DDT_OP_READLINK = 0x29,
	DDT_OP_LINK = 0x2a,
	DDT_OP_FP_QUERY = 0x30,
	DDT_OP_SEG_PUT = 0x31,
	DDT_OP_COMMIT = 0x32,
	DDT_OP_SEG_GET = 0x33,
	DDT_OP_READ = 0x34,
	DDT_OP_SET_CONTENT = 0x35,
	DDT_OP_READ_FILES = 0x36,
	DDT_OP_BACKUP_BEGIN = 0x40,
	DDT_OP_BACKUP_END = 0x41,
	DDT_OP_BACKUP_LIST = 0x42,
	DDT_OP_BACKUP_DELETE = 0x43,
	DDT_OP_BACKUP_SET = 0x44,
	DDT_OP_EXPIRE = 0x45,
	DDT_OP_CLEAN_START = 0x50,
	DDT_OP_CLEAN_STATUS = 0x51,
	DDT_OP_SCRUB_START = 0x52,
	DDT_OP_SCRUB_STATUS = 0x53,
	DDT_OP_CHECKPOINT = 0x54,
	DDT_OP_CHECKPOINT_LIST = 0x55,
	DDT_OP_ALERTS = 0x56,
	DDT_OP_ALERT_EVENTS = 0x57,
	DDT_OP_USER_ADD = 0x60,
	DDT_OP_USER_LIST = 0x61,
	DDT_OP_USER_SET = 0x62,
	DDT_OP_USER_DELETE = 0x63,
	DDT_OP_TOKEN_CREATE = 0x64,
	DDT_OP_TOKEN_LIST = 0x65,
	DDT_OP_TOKEN_DELETE = 0x66,
};

/* The frame header (section 1). */
typedef struct ddt_hdr {
	uint32_t length;	/* bytes after the length field */
	uint8_t version, opcode;
	uint16_t flags;
	uint32_t id, status;
} ddt_hdr;

/* Pack h into out[DDT_HDR_LEN]. */
void ddt_hdr_pack(const ddt_hdr *h, uint8_t *out);

/* Parse and check a header: the length range and the version. Returns 0
 * or -EPROTO with a ddterr message. The payload is h->length - 12 bytes. */
int ddt_hdr_parse(const uint8_t *in, ddt_hdr *h);

static inline uint32_t ddt_payload_len(const ddt_hdr *h)
{
	return h->length - (DDT_HDR_LEN - 4);
}

/* ---- encoding ---- */

typedef struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;		/* -ENOMEM or -E2BIG, sticky */
} wbuf;

void wb_init(wbuf *w);
void wb_free(wbuf *w);
void wb_reset(wbuf *w);		/* empty it, keep the memory */
/* Room for n more bytes; returns where they go, or NULL (w->err set). */
uint8_t *wb_reserve(wbuf *w, size_t n);
/* Make room for n more bytes without adding them: a writer that knows
 * about how large a frame will be saves the copies of growing it. */
void wb_grow(wbuf *w, size_t n);
/* Move what w holds into p (malloc'd, cap bytes, at least w->len), which
 * w then uses in place of its own buffer (freed): a writer that keeps
 * buffers for reuse (bufpool.h) hands w one of them. */
void wb_adopt(wbuf *w, uint8_t *p, size_t cap);
/* Hand the buffer over: *out_p (NULL if empty) is the caller's to free(),
 * *out_len its bytes; w is left empty. */
void wb_take(wbuf *w, uint8_t **out_p, size_t *out_len);
void wb_u8(wbuf *w, uint8_t v);
void wb_u16(wbuf *w, uint16_t v);
void wb_u32(wbuf *w, uint32_t v);
void wb_u64(wbuf *w, uint64_t v);
void wb_i64(wbuf *w, int64_t v);
void wb_fp(wbuf *w, const fp_t *f);
void wb_bytes(wbuf *w, const void *p, size_t n);
void wb_str(wbuf *w, const char *s);		/* truncated never: -E2BIG */
void wb_strn(wbuf *w, const char *s, size_t n);
void wb_blob(wbuf *w, const void *p, uint32_t n);
/* Overwrite a u32 written earlier at offset off (a count known late). */
void wb_put_u32_at(wbuf *w, size_t off, uint32_t v);

/* Start a frame: reserves the header; ddt_frame_finish() fills it in with
 * the final length. Payload goes in between with wb_*(). */
void ddt_frame_begin(wbuf *w, uint8_t opcode, uint16_t flags, uint32_t id,
		     uint32_t status);
int ddt_frame_finish(wbuf *w, size_t start);
/* The opcode of the frame begun at start (0 if w is shorter than a
 * header); and its id, set late (a client picks it as it sends). */
uint8_t ddt_frame_opcode(const wbuf *w, size_t start);
void ddt_frame_set_id(wbuf *w, size_t start, uint32_t id);

/* ---- decoding ---- */

typedef struct rbuf {
	const uint8_t *p;
	size_t len, off;
	int err;		/* -EPROTO after an overrun or bad field, sticky */
} rbuf;

void rb_init(rbuf *r, const void *p, size_t len);
uint8_t rb_u8(rbuf *r);
uint16_t rb_u16(rbuf *r);
uint32_t rb_u32(rbuf *r);
uint64_t rb_u64(rbuf *r);
int64_t rb_i64(rbuf *r);
void rb_fp(rbuf *r, fp_t *out);
/* n bytes in place, or NULL on overrun. */
const uint8_t *rb_bytes(rbuf *r, size_t n);
/* A str copied with a NUL into buf (cap >= DDT_MAX_STR + 1 takes any);
 * longer than cap - 1, or containing a NUL, is an error. */
void rb_str(rbuf *r, char *buf, size_t cap);
/* A blob in place: *out_n bytes at the return value (NULL on overrun). */
const uint8_t *rb_blob(rbuf *r, uint32_t *out_n);
/* A count for elements of at least elem_min bytes each, checked against
 * the bytes left and against max. */
uint32_t rb_count(rbuf *r, size_t elem_min, uint32_t max);
/* 0 if every field parsed and nothing is left over, else -EPROTO. */
int rb_done(const rbuf *r);
size_t rb_left(const rbuf *r);

/* ---- records ----
 * PROTOCOL.md's records, each with its size on the wire (fixed, or the
 * least, with every str empty: what rb_count() checks counts against),
 * its encoder and its decoder, in the spec's field order. A decoder sets
 * r->err on a short or bad field like any rb_*(); rb_done() reports it.
 * tests/test_spec.c holds these to the spec's tables. */

/* attr (section 2). */
#define DDT_ATTR_LEN	94
void wb_attr(wbuf *w, const ddt_attr *a);
void rb_attr(rbuf *r, ddt_attr *a);

/* seg (section 5, SEG_PUT; SEG_GET and READ reply with it): its head,
 * then stored_len bytes of data. */
typedef struct ddt_seg {
	fp_t fp;
	uint8_t codec;		/* DDT_CODEC_* */
	uint32_t raw_len, stored_len;
	const uint8_t *data;	/* rb_seg: in place, inside r's buffer */
} ddt_seg;
#define DDT_SEG_HEAD_LEN	(FP_LEN + 1 + 4 + 4)
void wb_seg(wbuf *w, const ddt_seg *s);
void rb_seg(rbuf *r, ddt_seg *s);
/* A writer that compresses straight into the frame, saving a copy:
 * wb_seg_begin() appends the head of a segment of raw_len bytes and
 * returns room for up to cap stored bytes (NULL: w->err is set);
 * wb_seg_end() records in that head how they were stored and gives back
 * the room left over. Nothing may be appended in between. */
uint8_t *wb_seg_begin(wbuf *w, const fp_t *fp, uint32_t raw_len, size_t cap);
void wb_seg_end(wbuf *w, uint8_t *room, uint8_t codec, uint32_t stored_len);

/* READ's reply element: a data segment and the file offset it starts at. */
#define DDT_READ_SEG_MIN	(8 + DDT_SEG_HEAD_LEN)
void wb_read_seg(wbuf *w, uint64_t off, const ddt_seg *s);
void rb_read_seg(rbuf *r, uint64_t *off, ddt_seg *s);

/* A COMMIT entry (section 5). A name of over DDT_MAX_NAME bytes still
 * parses (e->name keeps its start): rb_entry() returns 1 for it, so that
 * the target refuses it as too long rather than as a protocol error;
 * else 0. */
#define DDT_ENTRY_MIN	(2 + 3 * 4 + 3 * 8 + 1 + FP_LEN)
void wb_entry(wbuf *w, const ddt_entry *e);
int rb_entry(rbuf *r, ddt_entry *e);

/* SET_CONTENT's request (section 5). */
#define DDT_CONTENT_LEN	(8 + 4 + 8 + 8 + 1 + FP_LEN)
void wb_content(wbuf *w, const ddt_content *c);
void rb_content(rbuf *r, ddt_content *c);

/* An SU_LIST entry; and SU_OPEN's (and SU_SET's) reply, the same less
 * the name and created, which rb_su_info() leaves as they are. */
#define DDT_SU_MIN	(2 + 6 * 8 + 1)
#define DDT_SU_INFO_LEN	(5 * 8 + 1)
void wb_su(wbuf *w, const ddt_su *su);
void rb_su(rbuf *r, ddt_su *su);
void wb_su_info(wbuf *w, const ddt_su *su);
void rb_su_info(rbuf *r, ddt_su *su);

/* SU_SET's extension, after its first part (the settings the mask bits
 * DDT_SU_SET_QUOTA_SOFT and DDT_SU_SET_STREAMS name). */
#define DDT_SU_SET_EXT_LEN	(8 + 4 * 4)
void wb_su_set_ext(wbuf *w, uint64_t quota_soft, const uint32_t lim[4]);
void rb_su_set_ext(rbuf *r, uint64_t *quota_soft, uint32_t lim[4]);

/* An SU_STATS entry. */
#define DDT_SU_STATS_MIN	(2 + 2 + 8 * 8 + 7 * 4)
void wb_su_stats(wbuf *w, const ddt_su_stats *s);
void rb_su_stats(rbuf *r, ddt_su_stats *s);

/* A STREAMS entry. */
#define DDT_STREAMS_MIN	(2 + 7 * 4)
void wb_streams(wbuf *w, const ddt_streams *s);
void rb_streams(rbuf *r, ddt_streams *s);

/* A BACKUP_LIST entry. */
#define DDT_BACKUP_MIN	(2 + 8 + 4 + 4 * 8)
void wb_backup(wbuf *w, const ddt_backup *b);
void rb_backup(rbuf *r, ddt_backup *b);

/* An ALERTS entry. */
#define DDT_ALERT_MIN	(2 + 1 + 8 + 2)
void wb_alert(wbuf *w, const ddt_alert *a);
void rb_alert(rbuf *r, ddt_alert *a);

/* An ALERT_EVENTS entry. */
#define DDT_ALERT_EVENT_MIN	(8 + 1 + 1 + 8 + 2 + 2)
void wb_alert_event(wbuf *w, const ddt_alert_event *e);
void rb_alert_event(rbuf *r, ddt_alert_event *e);

/* A CHECKPOINT_LIST entry. */
#define DDT_CHECKPOINT_MIN	(2 + 8 + 8)
void wb_checkpoint(wbuf *w, const ddt_checkpoint *ck);
void rb_checkpoint(rbuf *r, ddt_checkpoint *ck);

/* ---- names ---- */

/* "HELLO", "SEG_PUT", ...; "?" for an unknown opcode. */
const char *ddt_op_name(uint8_t op);
/* Whether op is a request opcode of this version. */
int ddt_op_known(uint8_t op);
/* "DDT_EPERM", ...: the name of an error code of section 4; NULL for a
 * number that is none (the target then answers DDT_EIO). */
const char *ddt_err_name(uint32_t code);

#endif
