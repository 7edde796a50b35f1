/* wire.c - frame headers, the payload codec and the records of the
 * transfer protocol (see wire.h and PROTOCOL.md). The decoder is the part
 * that faces the network: it trusts no count and no length it reads. */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"

/* Where the frame header's fields lie (PROTOCOL.md section 1). */
enum {
	HDR_LENGTH = 0, HDR_VERSION = 4, HDR_OPCODE = 5, HDR_FLAGS = 6,
	HDR_ID = 8, HDR_STATUS = 12
};

void ddt_hdr_pack(const ddt_hdr *h, uint8_t *out)
{
	put_le32(out + HDR_LENGTH, h->length);
	out[HDR_VERSION] = h->version;
	out[HDR_OPCODE] = h->opcode;
	put_le16(out + HDR_FLAGS, h->flags);
	put_le32(out + HDR_ID, h->id);
	put_le32(out + HDR_STATUS, h->status);
}

int ddt_hdr_parse(const uint8_t *in, ddt_hdr *h)
{
	h->length = get_le32(in + HDR_LENGTH);
	h->version = in[HDR_VERSION];
	h->opcode = in[HDR_OPCODE];
	h->flags = get_le16(in + HDR_FLAGS);
	h->id = get_le32(in + HDR_ID);
	h->status = get_le32(in + HDR_STATUS);
	if (h->length < DDT_HDR_LEN - 4 || h->length > DDT_MAX_FRAME)
		return ddterr_set(-EPROTO, "frame length %u out of range "
				  "(12..%u)", h->length, DDT_MAX_FRAME);
	if (h->version != DDT_PROTO_VERSION)
		return ddterr_set(-EPROTO, "protocol version %u, this end "
				  "speaks %u", h->version, DDT_PROTO_VERSION);
	return 0;
}

/* ---- encoding ---- */

void wb_init(wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void wb_free(wbuf *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

void wb_reset(wbuf *w)
{
	w->len = 0;
	w->err = 0;
}

void wb_grow(wbuf *w, size_t n)
{
	size_t len = w->len;

	if (wb_reserve(w, n))
		w->len = len;
}

void wb_adopt(wbuf *w, uint8_t *p, size_t cap)
{
	if (w->len)
		memcpy(p, w->p, w->len);
	free(w->p);
	w->p = p;
	w->cap = cap;
}

void wb_take(wbuf *w, uint8_t **out_p, size_t *out_len)
{
	*out_p = w->p;
	*out_len = w->len;
	w->p = NULL;
	w->cap = 0;
	w->len = 0;
}

uint8_t *wb_reserve(wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (n > DDT_MAX_FRAME || w->len + n > DDT_MAX_FRAME + DDT_HDR_LEN) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t ncap = w->cap ? w->cap : 256;

		while (ncap < w->len + n)
			ncap *= 2;
		p = realloc(w->p, ncap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->p = p;
		w->cap = ncap;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

void wb_u8(wbuf *w, uint8_t v)
{
	uint8_t *p = wb_reserve(w, 1);

	if (p)
		*p = v;
}

void wb_u16(wbuf *w, uint16_t v)
{
	uint8_t *p = wb_reserve(w, 2);

	if (p)
		put_le16(p, v);
}

void wb_u32(wbuf *w, uint32_t v)
{
	uint8_t *p = wb_reserve(w, 4);

	if (p)
		put_le32(p, v);
}

void wb_u64(wbuf *w, uint64_t v)
{
	uint8_t *p = wb_reserve(w, 8);

	if (p)
		put_le64(p, v);
}

void wb_i64(wbuf *w, int64_t v)
{
	wb_u64(w, (uint64_t)v);
}

void wb_fp(wbuf *w, const fp_t *f)
{
	wb_bytes(w, f->b, FP_LEN);
}

void wb_bytes(wbuf *w, const void *src, size_t n)
{
	uint8_t *p = wb_reserve(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void wb_strn(wbuf *w, const char *s, size_t n)
{
	if (n > DDT_MAX_STR) {
		if (!w->err)
			w->err = -E2BIG;
		return;
	}
	wb_u16(w, (uint16_t)n);
	wb_bytes(w, s, n);
}

void wb_str(wbuf *w, const char *s)
{
	wb_strn(w, s, strlen(s));
}

void wb_blob(wbuf *w, const void *p, uint32_t n)
{
	wb_u32(w, n);
	wb_bytes(w, p, n);
}

void wb_put_u32_at(wbuf *w, size_t off, uint32_t v)
{
	if (!w->err && off + 4 <= w->len)
		put_le32(w->p + off, v);
}

void ddt_frame_begin(wbuf *w, uint8_t opcode, uint16_t flags, uint32_t id,
		     uint32_t status)
{
	ddt_hdr h = { .length = 0, .version = DDT_PROTO_VERSION,
		      .opcode = opcode, .flags = flags, .id = id,
		      .status = status };
	uint8_t *p = wb_reserve(w, DDT_HDR_LEN);

	if (p)
		ddt_hdr_pack(&h, p);
}

int ddt_frame_finish(wbuf *w, size_t start)
{
	size_t n;

	if (w->err)
		return w->err;
	n = w->len - start - 4;
	if (n > DDT_MAX_FRAME)
		return w->err = -E2BIG;
	put_le32(w->p + start + HDR_LENGTH, (uint32_t)n);
	return 0;
}

uint8_t ddt_frame_opcode(const wbuf *w, size_t start)
{
	return w->len >= start + DDT_HDR_LEN ? w->p[start + HDR_OPCODE] : 0;
}

void ddt_frame_set_id(wbuf *w, size_t start, uint32_t id)
{
	if (w->len >= start + DDT_HDR_LEN)
		put_le32(w->p + start + HDR_ID, id);
}

/* ---- decoding ---- */

void rb_init(rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

size_t rb_left(const rbuf *r)
{
	return r->err ? 0 : r->len - r->off;
}

const uint8_t *rb_bytes(rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = -EPROTO;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t rb_u8(rbuf *r)
{
	const uint8_t *p = rb_bytes(r, 1);

	return p ? *p : 0;
}

uint16_t rb_u16(rbuf *r)
{
	const uint8_t *p = rb_bytes(r, 2);

	return p ? get_le16(p) : 0;
}

uint32_t rb_u32(rbuf *r)
{
	const uint8_t *p = rb_bytes(r, 4);

	return p ? get_le32(p) : 0;
}

uint64_t rb_u64(rbuf *r)
{
	const uint8_t *p = rb_bytes(r, 8);

	return p ? get_le64(p) : 0;
}

int64_t rb_i64(rbuf *r)
{
	return (int64_t)rb_u64(r);
}

void rb_fp(rbuf *r, fp_t *out)
{
	const uint8_t *p = rb_bytes(r, FP_LEN);

	if (p)
		memcpy(out->b, p, FP_LEN);
	else
		memset(out->b, 0, FP_LEN);
}

void rb_str(rbuf *r, char *buf, size_t cap)
{
	uint16_t n = rb_u16(r);
	const uint8_t *p;

	buf[0] = '\0';
	if (n > DDT_MAX_STR || (size_t)n + 1 > cap) {
		r->err = -EPROTO;
		return;
	}
	p = rb_bytes(r, n);
	if (!p)
		return;
	if (memchr(p, '\0', n)) {
		r->err = -EPROTO;
		return;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
}

const uint8_t *rb_blob(rbuf *r, uint32_t *out_n)
{
	uint32_t n = rb_u32(r);
	const uint8_t *p = rb_bytes(r, n);

	*out_n = p ? n : 0;
	return p;
}

uint32_t rb_count(rbuf *r, size_t elem_min, uint32_t max)
{
	uint32_t n = rb_u32(r);

	if (r->err)
		return 0;
	if (n > max || (elem_min && n > rb_left(r) / elem_min)) {
		r->err = -EPROTO;
		return 0;
	}
	return n;
}

int rb_done(const rbuf *r)
{
	if (r->err || r->off != r->len)
		return -EPROTO;
	return 0;
}

/* ---- records, in PROTOCOL.md's field order ---- */

void wb_attr(wbuf *w, const ddt_attr *a)
{
	wb_u64(w, a->ino);
	wb_u8(w, a->type);
	wb_u32(w, a->mode);
	wb_u32(w, a->uid);
	wb_u32(w, a->gid);
	wb_u32(w, a->nlink);
	wb_u64(w, a->size);
	wb_i64(w, a->atime);
	wb_i64(w, a->mtime);
	wb_i64(w, a->ctime);
	wb_u32(w, a->flags);
	wb_u8(w, a->level);
	wb_fp(w, &a->root);
}

void rb_attr(rbuf *r, ddt_attr *a)
{
	a->ino = rb_u64(r);
	a->type = rb_u8(r);
	a->mode = rb_u32(r);
	a->uid = rb_u32(r);
	a->gid = rb_u32(r);
	a->nlink = rb_u32(r);
	a->size = rb_u64(r);
	a->atime = rb_i64(r);
	a->mtime = rb_i64(r);
	a->ctime = rb_i64(r);
	a->flags = rb_u32(r);
	a->level = rb_u8(r);
	rb_fp(r, &a->root);
}

void wb_seg(wbuf *w, const ddt_seg *s)
{
	wb_fp(w, &s->fp);
	wb_u8(w, s->codec);
	wb_u32(w, s->raw_len);
	wb_u32(w, s->stored_len);
	wb_bytes(w, s->data, s->stored_len);
}

void rb_seg(rbuf *r, ddt_seg *s)
{
	rb_fp(r, &s->fp);
	s->codec = rb_u8(r);
	s->raw_len = rb_u32(r);
	s->stored_len = rb_u32(r);
	s->data = rb_bytes(r, s->stored_len);
}

/* The head's codec and stored_len are filled in by wb_seg_end(), which
 * finds the head just before the room it handed out. */
uint8_t *wb_seg_begin(wbuf *w, const fp_t *fp, uint32_t raw_len, size_t cap)
{
	ddt_seg head = { .fp = *fp, .raw_len = raw_len };

	wb_seg(w, &head);
	return wb_reserve(w, cap);
}

void wb_seg_end(wbuf *w, uint8_t *room, uint8_t codec, uint32_t stored_len)
{
	uint8_t *head = room - DDT_SEG_HEAD_LEN;

	head[FP_LEN] = codec;
	put_le32(head + FP_LEN + 1 + 4, stored_len);
	w->len = (size_t)(room - w->p) + stored_len;
}

void wb_read_seg(wbuf *w, uint64_t off, const ddt_seg *s)
{
	wb_u64(w, off);
	wb_seg(w, s);
}

void rb_read_seg(rbuf *r, uint64_t *off, ddt_seg *s)
{
	*off = rb_u64(r);
	rb_seg(r, s);
}

void wb_entry(wbuf *w, const ddt_entry *e)
{
	wb_str(w, e->name);
	wb_u32(w, e->mode);
	wb_u32(w, e->uid);
	wb_u32(w, e->gid);
	wb_i64(w, e->atime);
	wb_i64(w, e->mtime);
	wb_u64(w, e->size);
	wb_u8(w, e->level);
	wb_fp(w, &e->root);
}

int rb_entry(rbuf *r, ddt_entry *e)
{
	char name[DDT_MAX_STR + 1];

	rb_str(r, name, sizeof(name));
	snprintf(e->name, sizeof(e->name), "%.*s", DDT_MAX_NAME, name);
	e->mode = rb_u32(r);
	e->uid = rb_u32(r);
	e->gid = rb_u32(r);
	e->atime = rb_i64(r);
	e->mtime = rb_i64(r);
	e->size = rb_u64(r);
	e->level = rb_u8(r);
	rb_fp(r, &e->root);
	return strlen(name) > DDT_MAX_NAME;
}

void wb_content(wbuf *w, const ddt_content *c)
{
	wb_u64(w, c->ino);
	wb_u32(w, c->flags);
	wb_i64(w, c->mtime);
	wb_u64(w, c->size);
	wb_u8(w, c->level);
	wb_fp(w, &c->root);
}

void rb_content(rbuf *r, ddt_content *c)
{
	c->ino = rb_u64(r);
	c->flags = rb_u32(r);
	c->mtime = rb_i64(r);
	c->size = rb_u64(r);
	c->level = rb_u8(r);
	rb_fp(r, &c->root);
}

void wb_su(wbuf *w, const ddt_su *su)
{
	wb_str(w, su->name);
	wb_u64(w, su->root);
	wb_u64(w, su->files);
	wb_u64(w, su->logical_bytes);
	wb_i64(w, su->created);
	wb_u64(w, su->retention);
	wb_u8(w, su->locked);
	wb_u64(w, su->quota);
}

void rb_su(rbuf *r, ddt_su *su)
{
	rb_str(r, su->name, sizeof(su->name));
	su->root = rb_u64(r);
	su->files = rb_u64(r);
	su->logical_bytes = rb_u64(r);
	su->created = rb_i64(r);
	su->retention = rb_u64(r);
	su->locked = rb_u8(r);
	su->quota = rb_u64(r);
}

void wb_su_info(wbuf *w, const ddt_su *su)
{
	wb_u64(w, su->root);
	wb_u64(w, su->files);
	wb_u64(w, su->logical_bytes);
	wb_u64(w, su->retention);
	wb_u8(w, su->locked);
	wb_u64(w, su->quota);
}

void rb_su_info(rbuf *r, ddt_su *su)
{
	su->root = rb_u64(r);
	su->files = rb_u64(r);
	su->logical_bytes = rb_u64(r);
	su->retention = rb_u64(r);
	su->locked = rb_u8(r);
	su->quota = rb_u64(r);
}

void wb_backup(wbuf *w, const ddt_backup *b)
{
	wb_str(w, b->id);
	wb_u64(w, b->ino);
	wb_u32(w, b->flags);
	wb_i64(w, b->created);
	wb_u64(w, b->files);
	wb_u64(w, b->bytes);
	wb_i64(w, b->expires);
}

void rb_backup(rbuf *r, ddt_backup *b)
{
	rb_str(r, b->id, sizeof(b->id));
	b->ino = rb_u64(r);
	b->flags = rb_u32(r);
	b->created = rb_i64(r);
	b->files = rb_u64(r);
	b->bytes = rb_u64(r);
	b->expires = rb_i64(r);
}

void wb_su_set_ext(wbuf *w, uint64_t quota_soft, const uint32_t lim[4])
{
	wb_u64(w, quota_soft);
	for (int i = 0; i < 4; i++)
		wb_u32(w, lim[i]);
}

void rb_su_set_ext(rbuf *r, uint64_t *quota_soft, uint32_t lim[4])
{
	*quota_soft = rb_u64(r);
	for (int i = 0; i < 4; i++)
		lim[i] = rb_u32(r);
}

void wb_su_stats(wbuf *w, const ddt_su_stats *s)
{
	wb_str(w, s->name);
	wb_u8(w, s->state);
	wb_u8(w, s->locked);
	wb_u64(w, s->quota_soft);
	wb_u64(w, s->quota_hard);
	wb_u64(w, s->logical_bytes);
	wb_u64(w, s->files);
	wb_u64(w, s->ingest_logical_bytes);
	wb_u64(w, s->ingest_raw_bytes);
	wb_u64(w, s->ingest_stored_bytes);
	wb_u32(w, s->streams_backup);
	wb_u32(w, s->streams_restore);
	wb_u32(w, s->streams_replication);
	wb_u32(w, s->backup_soft);
	wb_u32(w, s->backup_hard);
	wb_u32(w, s->restore_soft);
	wb_u32(w, s->restore_hard);
	wb_u64(w, s->backups);
}

void rb_su_stats(rbuf *r, ddt_su_stats *s)
{
	rb_str(r, s->name, sizeof(s->name));
	s->state = rb_u8(r);
	s->locked = rb_u8(r);
	s->quota_soft = rb_u64(r);
	s->quota_hard = rb_u64(r);
	s->logical_bytes = rb_u64(r);
	s->files = rb_u64(r);
	s->ingest_logical_bytes = rb_u64(r);
	s->ingest_raw_bytes = rb_u64(r);
	s->ingest_stored_bytes = rb_u64(r);
	s->streams_backup = rb_u32(r);
	s->streams_restore = rb_u32(r);
	s->streams_replication = rb_u32(r);
	s->backup_soft = rb_u32(r);
	s->backup_hard = rb_u32(r);
	s->restore_soft = rb_u32(r);
	s->restore_hard = rb_u32(r);
	s->backups = rb_u64(r);
}

void wb_streams(wbuf *w, const ddt_streams *s)
{
	wb_str(w, s->su);
	wb_u32(w, s->backup);
	wb_u32(w, s->restore);
	wb_u32(w, s->replication);
	wb_u32(w, s->backup_soft);
	wb_u32(w, s->backup_hard);
	wb_u32(w, s->restore_soft);
	wb_u32(w, s->restore_hard);
}

void rb_streams(rbuf *r, ddt_streams *s)
{
	rb_str(r, s->su, sizeof(s->su));
	s->backup = rb_u32(r);
	s->restore = rb_u32(r);
	s->replication = rb_u32(r);
	s->backup_soft = rb_u32(r);
	s->backup_hard = rb_u32(r);
	s->restore_soft = rb_u32(r);
	s->restore_hard = rb_u32(r);
}

void wb_alert_event(wbuf *w, const ddt_alert_event *e)
{
	wb_u64(w, e->seq);
	wb_u8(w, e->raised);
	wb_u8(w, e->severity);
	wb_i64(w, e->time);
	wb_str(w, e->id);
	wb_str(w, e->text);
}

void rb_alert_event(rbuf *r, ddt_alert_event *e)
{
	e->seq = rb_u64(r);
	e->raised = rb_u8(r);
	e->severity = rb_u8(r);
	e->time = rb_i64(r);
	rb_str(r, e->id, sizeof(e->id));
	rb_str(r, e->text, sizeof(e->text));
}

void wb_alert(wbuf *w, const ddt_alert *a)
{
	wb_str(w, a->id);
	wb_u8(w, a->severity);
	wb_i64(w, a->since);
	wb_str(w, a->text);
}

void rb_alert(rbuf *r, ddt_alert *a)
{
	rb_str(r, a->id, sizeof(a->id));
	a->severity = rb_u8(r);
	a->since = rb_i64(r);
	rb_str(r, a->text, sizeof(a->text));
}

void wb_checkpoint(wbuf *w, const ddt_checkpoint *ck)
{
	wb_str(w, ck->name);
	wb_i64(w, ck->created);
	wb_u64(w, ck->bytes);
}

void rb_checkpoint(rbuf *r, ddt_checkpoint *ck)
{
	rb_str(r, ck->name, sizeof(ck->name));
	ck->created = rb_i64(r);
	ck->bytes = rb_u64(r);
}

/* ---- names ---- */

static const struct {
	uint8_t op;
	const char *name;
} op_names[] = {
	{ DDT_OP_HELLO, "HELLO" }, { DDT_OP_AUTH, "AUTH" },
	{ DDT_OP_STATUS, "STATUS" }, { DDT_OP_SU_CREATE, "SU_CREATE" },
	{ DDT_OP_SU_LIST, "SU_LIST" }, { DDT_OP_SU_DELETE, "SU_DELETE" },
	{ DDT_OP_SU_OPEN, "SU_OPEN" }, { DDT_OP_LOOKUP, "LOOKUP" },
	{ DDT_OP_GETATTR, "GETATTR" }, { DDT_OP_MKDIR, "MKDIR" },
	{ DDT_OP_READDIR, "READDIR" }, { DDT_OP_RENAME, "RENAME" },
	{ DDT_OP_UNLINK, "UNLINK" }, { DDT_OP_RMDIR, "RMDIR" },
	{ DDT_OP_SETATTR, "SETATTR" }, { DDT_OP_SYMLINK, "SYMLINK" },
	{ DDT_OP_READLINK, "READLINK" }, { DDT_OP_LINK, "LINK" },
	{ DDT_OP_FP_QUERY, "FP_QUERY" }, { DDT_OP_SEG_PUT, "SEG_PUT" },
	{ DDT_OP_COMMIT, "COMMIT" }, { DDT_OP_SEG_GET, "SEG_GET" },
	{ DDT_OP_READ, "READ" }, { DDT_OP_SET_CONTENT, "SET_CONTENT" },
	{ DDT_OP_READ_FILES, "READ_FILES" },
	{ DDT_OP_BACKUP_BEGIN, "BACKUP_BEGIN" },
	{ DDT_OP_BACKUP_END, "BACKUP_END" },
	{ DDT_OP_BACKUP_LIST, "BACKUP_LIST" },
	{ DDT_OP_BACKUP_DELETE, "BACKUP_DELETE" },
	{ DDT_OP_CLEAN_START, "CLEAN_START" },
	{ DDT_OP_CLEAN_STATUS, "CLEAN_STATUS" },
	{ DDT_OP_SU_SET, "SU_SET" }, { DDT_OP_BACKUP_SET, "BACKUP_SET" },
	{ DDT_OP_EXPIRE, "EXPIRE" },
	{ DDT_OP_CHECKPOINT, "CHECKPOINT" },
	{ DDT_OP_CHECKPOINT_LIST, "CHECKPOINT_LIST" },
	{ DDT_OP_STATUS_TEXT, "STATUS_TEXT" },
	{ DDT_OP_SCRUB_START, "SCRUB_START" },
	{ DDT_OP_SCRUB_STATUS, "SCRUB_STATUS" },
	{ DDT_OP_ALERTS, "ALERTS" },
	{ DDT_OP_SU_STATS, "SU_STATS" }, { DDT_OP_STREAMS, "STREAMS" },
	{ DDT_OP_ALERT_EVENTS, "ALERT_EVENTS" },
	{ DDT_OP_USER_ADD, "USER_ADD" }, { DDT_OP_USER_LIST, "USER_LIST" },
	{ DDT_OP_USER_SET, "USER_SET" },
	{ DDT_OP_USER_DELETE, "USER_DELETE" },
	{ DDT_OP_TOKEN_CREATE, "TOKEN_CREATE" },
	{ DDT_OP_TOKEN_LIST, "TOKEN_LIST" },
	{ DDT_OP_TOKEN_DELETE, "TOKEN_DELETE" },
};

const char *ddt_op_name(uint8_t op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == op)
			return op_names[i].name;
	return "?";
}

int ddt_op_known(uint8_t op)
{
	return ddt_op_name(op)[0] != '?';
}

static const struct {
	uint32_t code;
	const char *name;
} err_names[] = {
	{ DDT_EPERM, "DDT_EPERM" }, { DDT_ENOENT, "DDT_ENOENT" },
	{ DDT_EIO, "DDT_EIO" }, { DDT_EACCES, "DDT_EACCES" },
	{ DDT_EBUSY, "DDT_EBUSY" }, { DDT_EEXIST, "DDT_EEXIST" },
	{ DDT_ENOTDIR, "DDT_ENOTDIR" }, { DDT_EISDIR, "DDT_EISDIR" },
	{ DDT_EINVAL, "DDT_EINVAL" }, { DDT_ENOSPC, "DDT_ENOSPC" },
	{ DDT_EROFS, "DDT_EROFS" },
	{ DDT_ENAMETOOLONG, "DDT_ENAMETOOLONG" },
	{ DDT_ENOTEMPTY, "DDT_ENOTEMPTY" }, { DDT_EPROTO, "DDT_EPROTO" },
	{ DDT_EBADMSG, "DDT_EBADMSG" }, { DDT_EDQUOT, "DDT_EDQUOT" },
};

const char *ddt_err_name(uint32_t code)
{
	for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
		if (err_names[i].code == code)
			return err_names[i].name;
	return NULL;
}
