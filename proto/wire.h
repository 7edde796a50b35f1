/* wire.h - the transfer protocol's constants and its payload codec, shared
 * by ddtargetd and the client library. proto/PROTOCOL.md is the spec; every
 * number it names is defined here, once.
 *
 * Encoding appends to a growable wbuf; decoding reads a rbuf that never
 * reads past its end: any overrun sets a sticky error, later reads return
 * zeros, and rb_done() reports it. So a parser reads all its fields and
 * checks once. */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "fp.h"

#define DDT_PROTO_VERSION	1
#define DDT_DEFAULT_PORT	7410
#define DDT_HDR_LEN		16	/* length field + 12 */
#define DDT_MAX_PAYLOAD		(8u << 20)
#define DDT_MAX_FRAME		(12u + DDT_MAX_PAYLOAD)
#define DDT_MAX_STR		4096
#define DDT_MAX_NAME		255
#define DDT_MAX_INFLIGHT	64
/* Count limits of one request (PROTOCOL.md section 5, "Limits"): a
 * well-formed request over one is DDT_EINVAL, and the session goes on. */
#define DDT_MAX_QUERY		16384	/* fingerprints in one FP_QUERY */
#define DDT_MAX_GET		4096	/* fingerprints in one SEG_GET */
#define DDT_MAX_COMMIT		100000	/* entries in one COMMIT */
#define DDT_MAX_READDIR		100000	/* READDIR entries; max 0 or over: this */
/* A backup's id is NAME@YYYYMMDDTHHMMSSZ, itself a name of at most
 * DDT_MAX_NAME bytes: so NAME has at most this many. */
#define DDT_BACKUP_SUFFIX_LEN	17	/* "@YYYYMMDDTHHMMSSZ" */
#define DDT_MAX_BACKUP_NAME	(DDT_MAX_NAME - DDT_BACKUP_SUFFIX_LEN)

#define DDT_F_REPLY		1u

/* Opcodes. */
enum ddt_op {
	DDT_OP_HELLO = 0x01,
	DDT_OP_AUTH = 0x02,
	DDT_OP_STATUS = 0x03,
	DDT_OP_STATUS_TEXT = 0x04,
	DDT_OP_SU_CREATE = 0x10,
	DDT_OP_SU_LIST = 0x11,
	DDT_OP_SU_DELETE = 0x12,
	DDT_OP_SU_OPEN = 0x13,
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
	DDT_OP_BACKUP_BEGIN = 0x40,
	DDT_OP_BACKUP_END = 0x41,
	DDT_OP_BACKUP_LIST = 0x42,
	DDT_OP_BACKUP_DELETE = 0x43,
	/* Lifecycle (issue 4); each joins ddt_op_known() when implemented. */
	DDT_OP_SU_SET = 0x14,
	DDT_OP_BACKUP_SET = 0x44,
	DDT_OP_EXPIRE = 0x45,
	DDT_OP_CLEAN_START = 0x50,
	DDT_OP_CLEAN_STATUS = 0x51,
	DDT_OP_SCRUB_START = 0x52,
	DDT_OP_SCRUB_STATUS = 0x53,
	DDT_OP_CHECKPOINT = 0x54,
	DDT_OP_CHECKPOINT_LIST = 0x55,
	DDT_OP_ALERTS = 0x56,
};

/* Error codes on the wire: fixed numbers (equal to Linux errno values, so
 * -errno from the engine maps straight through). */
enum ddt_err {
	DDT_EPERM = 1,
	DDT_ENOENT = 2,
	DDT_EIO = 5,
	DDT_EACCES = 13,
	DDT_EBUSY = 16,
	DDT_EEXIST = 17,
	DDT_ENOTDIR = 20,
	DDT_EISDIR = 21,
	DDT_EINVAL = 22,
	DDT_ENOSPC = 28,
	DDT_ENAMETOOLONG = 36,
	DDT_ENOTEMPTY = 39,
	DDT_EPROTO = 71,
	DDT_EBADMSG = 74,
	DDT_EDQUOT = 122,	/* a storage unit's quota */
};

/* Inode types and attribute flags. */
enum { DDT_T_FILE = 1, DDT_T_DIR = 2, DDT_T_SYMLINK = 3 };
#define DDT_AF_BACKUP		1u
#define DDT_AF_INCOMPLETE	2u
#define DDT_AF_LOCKED		4u	/* BACKUP_LIST: under retention lock */

/* Retention (BACKUP_BEGIN's retain_seconds, SU_SET's mask). */
#define DDT_RETAIN_DEFAULT	0	/* the storage unit's retention */
#define DDT_RETAIN_NEVER	(-1)	/* no expiry */
#define DDT_SU_SET_RETENTION	1u
#define DDT_SU_SET_LOCK		2u
#define DDT_SU_SET_QUOTA	4u

/* SETATTR mask bits; COMMIT flags. */
#define DDT_SA_MODE	1u
#define DDT_SA_UID	2u
#define DDT_SA_GID	4u
#define DDT_SA_ATIME	8u
#define DDT_SA_MTIME	16u
#define DDT_CF_SYNC	1u

/* Alert severities (ALERTS): lower is worse. */
enum { DDT_SEV_CRITICAL = 1, DDT_SEV_WARNING = 2, DDT_SEV_INFO = 3 };

/* Roles returned by AUTH. */
enum { DDT_ROLE_USER = 1, DDT_ROLE_ADMIN = 2 };

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

/* The attribute record (section 2). */
typedef struct ddt_attr {
	uint64_t ino;
	uint8_t type;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint32_t flags;
	uint8_t level;
	fp_t root;
} ddt_attr;

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
void wb_attr(wbuf *w, const ddt_attr *a);
/* Overwrite a u32 written earlier at offset off (a count known late). */
void wb_put_u32_at(wbuf *w, size_t off, uint32_t v);

/* Start a frame: reserves the header; ddt_frame_finish() fills it in with
 * the final length. Payload goes in between with wb_*(). */
void ddt_frame_begin(wbuf *w, uint8_t opcode, uint16_t flags, uint32_t id,
		     uint32_t status);
int ddt_frame_finish(wbuf *w, size_t start);

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
void rb_attr(rbuf *r, ddt_attr *a);
/* A count for elements of at least elem_min bytes each, checked against
 * the bytes left and against max. */
uint32_t rb_count(rbuf *r, size_t elem_min, uint32_t max);
/* 0 if every field parsed and nothing is left over, else -EPROTO. */
int rb_done(const rbuf *r);
size_t rb_left(const rbuf *r);

/* A name usable in a directory: 1..255 bytes, no '/', not "." or "..". */
int ddt_name_ok(const char *name);

/* "HELLO", "SEG_PUT", ...; "?" for an unknown opcode. */
const char *ddt_op_name(uint8_t op);
/* Whether op is a request opcode of this version. */
int ddt_op_known(uint8_t op);

#endif
