/* xdrbuf.c - XDR into an evbuffer (xdrbuf.h). Four-byte items gather in a
 * small staging area flushed before each reference and at the end, so a
 * reply is a handful of evbuffer chains, not one per field. Decoding is
 * not offered: the server decodes calls from memory (xdrmem). */
#include "xdrbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STAGE	512

typedef struct xb {
	struct evbuffer *out;
	const xdrbuf_owner *owner;
	u_int pos;		/* bytes encoded */
	size_t n;		/* staged */
	int err;
	uint8_t stage[STAGE];
} xb;

static xb *xb_of(XDR *x)
{
	return (xb *)x->x_private;
}

static void flush(xb *b)
{
	if (b->n && evbuffer_add(b->out, b->stage, b->n) < 0)
		b->err = 1;
	b->n = 0;
}

static void put_copy(xb *b, const void *p, size_t len)
{
	if (b->n + len > STAGE) {
		flush(b);
		if (len > STAGE) {
			if (evbuffer_add(b->out, p, len) < 0)
				b->err = 1;
			return;
		}
	}
	memcpy(b->stage + b->n, p, len);
	b->n += len;
}

static void ref_done(const void *data, size_t len, void *arg)
{
	const xdrbuf_owner *o = arg;

	(void)data;
	(void)len;
	o->release(o->arg);
}

static bool_t x_putlong(XDR *x, const long *lp)
{
	xb *b = xb_of(x);
	uint32_t v = htonl((uint32_t)*lp);

	put_copy(b, &v, 4);
	b->pos += 4;
	return !b->err;
}

static bool_t x_putbytes(XDR *x, const char *p, u_int len)
{
	xb *b = xb_of(x);

	if (len >= XDRBUF_REF_MIN && b->owner) {
		flush(b);
		b->owner->hold(b->owner->arg);
		if (evbuffer_add_reference(b->out, p, len, ref_done,
					   (void *)b->owner) < 0) {
			b->owner->release(b->owner->arg);
			b->err = 1;
		}
	} else {
		put_copy(b, p, len);
	}
	b->pos += len;
	return !b->err;
}

static u_int x_getpostn(XDR *x)
{
	flush(xb_of(x));
	return xb_of(x)->pos;
}

static bool_t x_setpostn(XDR *x, u_int pos)
{
	(void)x;
	(void)pos;
	return FALSE;
}

static int32_t *x_inline(XDR *x, u_int len)
{
	(void)x;
	(void)len;
	return NULL;		/* the callers fall back to putlong */
}

static void x_destroy(XDR *x)
{
	free(xb_of(x));
	x->x_private = NULL;
}

static bool_t x_control(XDR *x, int req, void *info)
{
	(void)x;
	(void)req;
	(void)info;
	return FALSE;
}

static bool_t x_getlong(XDR *x, long *lp)
{
	(void)x;
	(void)lp;
	return FALSE;
}

static bool_t x_getbytes(XDR *x, char *p, u_int len)
{
	(void)x;
	(void)p;
	(void)len;
	return FALSE;
}

static const struct xdr_ops xb_ops = {
	.x_getlong = x_getlong,
	.x_putlong = x_putlong,
	.x_getbytes = x_getbytes,
	.x_putbytes = x_putbytes,
	.x_getpostn = x_getpostn,
	.x_setpostn = x_setpostn,
	.x_inline = x_inline,
	.x_destroy = x_destroy,
	.x_control = x_control,
};

int xdrbuf_create(XDR *x, struct evbuffer *out, const xdrbuf_owner *owner)
{
	xb *b = calloc(1, sizeof(*b));

	memset(x, 0, sizeof(*x));
	if (!b)
		return -ENOMEM;
	b->out = out;
	b->owner = owner;
	x->x_op = XDR_ENCODE;
	x->x_ops = (struct xdr_ops *)&xb_ops;
	x->x_private = (char *)b;
	return 0;
}

int xdrbuf_ok(XDR *x)
{
	xb *b = xb_of(x);

	flush(b);
	return !b->err;
}
