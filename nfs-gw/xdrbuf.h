/* xdrbuf.h - an XDR encoding stream into a libevent buffer. Small items
 * are copied; opaque data of XDRBUF_REF_MIN bytes or more (a READ's
 * data) is added by reference, so the bytes go from the caller's buffer
 * to the socket with no copy in between. The owner of that data is told
 * when the last reference is released (the buffer sent or freed). */
#ifndef XDRBUF_H
#define XDRBUF_H

#include <rpc/rpc.h>

#include <event2/buffer.h>

#define XDRBUF_REF_MIN	(64u << 10)

/* The owner of the data referenced: hold() once per reference taken,
 * release() once per reference let go, from whichever thread frees it. */
typedef struct xdrbuf_owner {
	void (*hold)(void *arg);
	void (*release)(void *arg);
	void *arg;
} xdrbuf_owner;

/* x encodes into out; owner may be NULL (then everything is copied).
 * 0, or -ENOMEM (x is then unusable). xdr_destroy(x) when done. */
int xdrbuf_create(XDR *x, struct evbuffer *out, const xdrbuf_owner *owner);
/* Whether every put so far succeeded (an evbuffer may fail to grow). */
int xdrbuf_ok(XDR *x);

#endif
