/* rpcsrv.c - ONC RPC over TCP (RFC 5531) on libevent, in ddtargetd's
 * server.c shape: the loop thread reassembles records and queues them,
 * pool workers decode, run and reply.
 *
 * Record marking (RFC 5531 section 11): each fragment is a 4-byte header
 * (the last-fragment bit and a 31-bit length) and its bytes. A record is
 * the fragments up to the last one; its total is checked against
 * RPCSRV_MAX_RECORD before a byte of it is kept, so a length is never
 * trusted. Calls are read with read(2) straight into the record, replies
 * leave through a bufferevent. A connection with RPCSRV_MAX_INFLIGHT
 * calls queued stops being read until replies drain, and every connection
 * stops while RPCSRV_MAX_QUEUED bytes of calls wait (it is "parked" and
 * read again when they drain). A connection lives until its socket is gone
 * and its last call has finished: the calls and the loop each hold a
 * reference, and the last one frees it on the loop thread. */
#include "rpcsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "ddterr.h"
#include "gw_log.h"
#include "net.h"
#include "xdrbuf.h"

#define RPCSRV_MAX_INFLIGHT	64
#define RPCSRV_MAX_LISTENERS	8
#define REC_LAST		0x80000000u
#define REC_LEN_MASK		0x7fffffffu

typedef struct conn {
	rpcsrv *srv;
	evutil_socket_t fd;
	struct bufferevent *bev;	/* replies go out through it */
	struct event *rev;		/* calls come in through this */
	atomic_int refs;
	atomic_int inflight;
	atomic_int closing;
	int parked;			/* on srv->parked (under srv->park_mu) */
	struct conn *park_next;
	/* The record being reassembled: its fragments' bytes so far, the
	 * current fragment's header (hdr_got of its 4 bytes) or the bytes
	 * of it still to come (frag_left), and whether it is the last. */
	uint8_t *rec;
	size_t rec_len;
	uint8_t hdr[4];
	unsigned hdr_got;
	uint32_t frag_left;
	int last;
	rpc_caller peer;	/* the socket's half of a caller */
} conn;

struct rpcsrv {
	struct event_base *base;
	tpool *pool;
	atomic_size_t queued;		/* bytes of calls read, not yet run */
	pthread_mutex_t park_mu;
	struct conn *parked;		/* not read while queued is full */
	const rpc_prog *progs;
	unsigned nprogs;
	struct evconnlistener *ls[RPCSRV_MAX_LISTENERS];
	unsigned nls;
};

typedef struct call {
	conn *c;
	uint8_t *rec;
	size_t len;
} call;

bool_t rpcsrv_xdr_void(XDR *x, ...)
{
	(void)x;
	return TRUE;
}

/* ---- connection lifetime ---- */

static void conn_free(conn *c)
{
	event_free(c->rev);
	bufferevent_free(c->bev);
	free(c->rec);
	free(c);
}

static void conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

static void conn_unref(conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (event_base_once(c->srv->base, -1, EV_TIMEOUT, conn_free_cb, c,
			    NULL) != 0)
		gw_err("cannot schedule freeing connection %s",
		       c->peer.peer_name);
}

static void conn_close(conn *c)
{
	if (atomic_exchange(&c->closing, 1))
		return;
	event_del(c->rev);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	conn_unref(c);
}

/* ---- replies (worker threads) ---- */

/* A call's results, kept until the last byte of the reply that refers to
 * them (a READ's data, xdrbuf.h) has left for the socket. */
typedef struct results {
	atomic_int refs;
	xdrproc_t xres;
	xdrbuf_owner owner;
	max_align_t res[];
} results;

static void results_hold(void *arg)
{
	atomic_fetch_add(&((results *)arg)->refs, 1);
}

static void results_release(void *arg)
{
	results *r = arg;

	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	xdr_free(r->xres, (char *)r->res);
	free(r);
}

static results *results_new(const rpc_proc *pr)
{
	results *r = calloc(1, sizeof(*r) + (pr->ressz ? pr->ressz : 1));

	if (!r)
		return NULL;
	atomic_init(&r->refs, 1);
	r->xres = pr->xres;
	r->owner = (xdrbuf_owner){ results_hold, results_release, r };
	return r;
}

/* Encode m (its results, if any, through its own proc) behind a record
 * mark and queue it on c. Large opaque data goes by reference to owner's
 * results (NULL: none). */
static void send_reply(conn *c, struct rpc_msg *m, const xdrbuf_owner *owner)
{
	struct evbuffer *b = evbuffer_new();
	uint32_t mark;
	XDR x;
	int ok;

	if (!b || xdrbuf_create(&x, b, owner) < 0) {
		gw_warn("%s: out of memory for a reply", c->peer.peer_name);
		if (b)
			evbuffer_free(b);
		return;
	}
	ok = xdr_replymsg(&x, m) && xdrbuf_ok(&x);
	xdr_destroy(&x);
	mark = htonl(REC_LAST | (uint32_t)evbuffer_get_length(b));
	if (!ok || evbuffer_prepend(b, &mark, 4) < 0)
		gw_warn("%s: cannot encode a reply", c->peer.peer_name);
	else if (!atomic_load(&c->closing))
		(void)evbuffer_add_buffer(bufferevent_get_output(c->bev), b);
	evbuffer_free(b);	/* whatever did not move: references let go */
}

static void reply_accepted(conn *c, uint32_t xid, enum accept_stat st,
			   results *r, uint32_t lo, uint32_t hi)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_ACCEPTED;
	m.acpted_rply.ar_verf = _null_auth;
	m.acpted_rply.ar_stat = st;
	if (st == SUCCESS) {
		m.acpted_rply.ar_results.where = (caddr_t)r->res;
		m.acpted_rply.ar_results.proc = r->xres;
	} else if (st == PROG_MISMATCH) {
		m.acpted_rply.ar_vers.low = lo;
		m.acpted_rply.ar_vers.high = hi;
	} else {
		m.acpted_rply.ar_results.where = NULL;
		m.acpted_rply.ar_results.proc = rpcsrv_xdr_void;
	}
	send_reply(c, &m, st == SUCCESS ? &r->owner : NULL);
}

static void reply_denied(conn *c, uint32_t xid, enum reject_stat st,
			 enum auth_stat why)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_DENIED;
	m.rjcted_rply.rj_stat = st;
	if (st == RPC_MISMATCH) {
		m.rjcted_rply.rj_vers.low = 2;
		m.rjcted_rply.rj_vers.high = 2;
	} else {
		m.rjcted_rply.rj_why = why;
	}
	send_reply(c, &m, 0);
}

/* ---- one call (worker threads) ---- */

/* The AUTH_SYS credentials in the call's cred body; 0 or -1 if they do
 * not decode. */
static int caller_sys(rpc_caller *who, const struct opaque_auth *cred)
{
	struct authunix_parms p;
	XDR x;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	xdrmem_create(&x, cred->oa_base, cred->oa_length, XDR_DECODE);
	if (xdr_authunix_parms(&x, &p)) {
		who->uid = p.aup_uid;
		who->gid = p.aup_gid;
		who->ngids = p.aup_len < RPCSRV_MAX_GIDS ? p.aup_len
							 : RPCSRV_MAX_GIDS;
		for (unsigned i = 0; i < who->ngids; i++)
			who->gids[i] = p.aup_gids[i];
		rc = 0;
	}
	x.x_op = XDR_FREE;
	xdr_authunix_parms(&x, &p);
	xdr_destroy(&x);
	return rc;
}

static const rpc_prog *find_prog(rpcsrv *s, uint32_t prog, uint32_t vers,
				 int *known, uint32_t *lo, uint32_t *hi)
{
	*known = 0;
	*lo = UINT32_MAX;
	*hi = 0;
	for (unsigned i = 0; i < s->nprogs; i++) {
		if (s->progs[i].prog != prog)
			continue;
		*known = 1;
		if (s->progs[i].vers < *lo)
			*lo = s->progs[i].vers;
		if (s->progs[i].vers > *hi)
			*hi = s->progs[i].vers;
		if (s->progs[i].vers == vers)
			return &s->progs[i];
	}
	return NULL;
}

/* Decode the arguments, run the procedure, reply. */
static void run_proc(conn *c, XDR *x, uint32_t xid, const rpc_prog *pg,
		     const rpc_proc *pr, const rpc_caller *who)
{
	void *args = calloc(1, pr->argsz ? pr->argsz : 1);
	results *r = results_new(pr);
	int rc;

	if (!args || !r) {
		reply_accepted(c, xid, SYSTEM_ERR, NULL, 0, 0);
		goto out;
	}
	if (!pr->xargs(x, args, 0)) {
		reply_accepted(c, xid, GARBAGE_ARGS, NULL, 0, 0);
		goto out;
	}
	rc = pr->fn(pg->ctx, who, args, r->res);
	if (rc == RPC_DONE)
		reply_accepted(c, xid, SUCCESS, r, 0, 0);
	else if (rc == RPC_GARBAGE)
		reply_accepted(c, xid, GARBAGE_ARGS, NULL, 0, 0);
	else if (rc == RPC_TOOWEAK)
		reply_denied(c, xid, AUTH_ERROR, AUTH_TOOWEAK);
	else if (rc == RPC_SYSERR)
		reply_accepted(c, xid, SYSTEM_ERR, NULL, 0, 0);
out:
	results_release(r);	/* freed now, or once its reply is sent */
	if (args)
		xdr_free(pr->xargs, args);
	free(args);
}

static void dispatch(conn *c, XDR *x)
{
	char credb[MAX_AUTH_BYTES], verfb[MAX_AUTH_BYTES];
	const rpc_prog *pg;
	struct rpc_msg m;
	rpc_caller who = c->peer;
	uint32_t lo, hi;
	int known;

	memset(&m, 0, sizeof(m));
	m.rm_call.cb_cred.oa_base = credb;
	m.rm_call.cb_verf.oa_base = verfb;
	if (!xdr_callmsg(x, &m) || m.rm_direction != CALL) {
		gw_debug("%s: a record that is no call, dropped",
			 c->peer.peer_name);
		return;
	}
	if (m.rm_call.cb_rpcvers != 2) {
		reply_denied(c, m.rm_xid, RPC_MISMATCH, 0);
		return;
	}
	who.flavor = m.rm_call.cb_cred.oa_flavor;
	who.uid = who.gid = 65534;
	if (who.flavor == AUTH_SYS && caller_sys(&who, &m.rm_call.cb_cred)) {
		reply_denied(c, m.rm_xid, AUTH_ERROR, AUTH_BADCRED);
		return;
	}
	if (who.flavor != AUTH_SYS && who.flavor != AUTH_NONE) {
		reply_denied(c, m.rm_xid, AUTH_ERROR, AUTH_REJECTEDCRED);
		return;
	}
	pg = find_prog(c->srv, m.rm_call.cb_prog, m.rm_call.cb_vers, &known,
		       &lo, &hi);
	if (!pg) {
		reply_accepted(c, m.rm_xid, known ? PROG_MISMATCH : PROG_UNAVAIL,
			       NULL, lo, hi);
		return;
	}
	if (m.rm_call.cb_proc >= pg->nprocs || !pg->procs[m.rm_call.cb_proc].fn) {
		reply_accepted(c, m.rm_xid, PROC_UNAVAIL, NULL, 0, 0);
		return;
	}
	if (who.flavor != AUTH_SYS && !pg->procs[m.rm_call.cb_proc].auth_none_ok) {
		reply_denied(c, m.rm_xid, AUTH_ERROR, AUTH_TOOWEAK);
		return;
	}
	run_proc(c, x, m.rm_xid, pg, &pg->procs[m.rm_call.cb_proc], &who);
}

/* Read the parked connections again (any thread). */
static void unpark_all(rpcsrv *s)
{
	conn *c, *next;

	pthread_mutex_lock(&s->park_mu);
	c = s->parked;
	s->parked = NULL;
	pthread_mutex_unlock(&s->park_mu);
	for (; c; c = next) {
		next = c->park_next;
		c->parked = 0;
		if (!atomic_load(&c->closing))
			event_add(c->rev, NULL);
		conn_unref(c);		/* the park's reference */
	}
}

/* Stop reading c while the queue is full (loop thread). */
static void park(conn *c)
{
	rpcsrv *s = c->srv;

	event_del(c->rev);
	pthread_mutex_lock(&s->park_mu);
	if (!c->parked) {
		c->parked = 1;
		atomic_fetch_add(&c->refs, 1);
		c->park_next = s->parked;
		s->parked = c;
	}
	pthread_mutex_unlock(&s->park_mu);
	/* The queue may have drained meanwhile, with nobody to wake us. */
	if (atomic_load(&s->queued) < RPCSRV_MAX_QUEUED)
		unpark_all(s);
}

static void run_call(void *worker, void *arg)
{
	call *k = arg;
	conn *c = k->c;
	size_t before;
	XDR x;

	(void)worker;
	if (!atomic_load(&c->closing)) {
		xdrmem_create(&x, (char *)k->rec, (u_int)k->len, XDR_DECODE);
		dispatch(c, &x);
		xdr_destroy(&x);
	}
	free(k->rec);
	before = atomic_fetch_sub(&c->srv->queued, k->len);
	if (before >= RPCSRV_MAX_QUEUED && before - k->len < RPCSRV_MAX_QUEUED)
		unpark_all(c->srv);
	free(k);
	/* Below the limit again: let the loop read again. */
	if (atomic_fetch_sub(&c->inflight, 1) == RPCSRV_MAX_INFLIGHT &&
	    !atomic_load(&c->closing))
		event_add(c->rev, NULL);
	conn_unref(c);
}

/* ---- framing (loop thread) ---- */

static int queue_record(conn *c)
{
	call *k = malloc(sizeof(*k));

	if (!k)
		return -1;
	k->c = c;
	k->rec = c->rec;
	k->len = c->rec_len;
	c->rec = NULL;
	c->rec_len = 0;
	atomic_fetch_add(&c->refs, 1);
	atomic_fetch_add(&c->inflight, 1);
	atomic_fetch_add(&c->srv->queued, k->len);
	if (tpool_push(c->srv->pool, run_call, k) < 0) {
		atomic_fetch_sub(&c->srv->queued, k->len);
		atomic_fetch_sub(&c->inflight, 1);
		atomic_fetch_sub(&c->refs, 1);
		free(k->rec);
		free(k);
		return -1;
	}
	return 0;
}

/* A fragment's header is in: check its length against what the record
 * may still take, and make room for it. 0, or -1 to close. */
static int fragment_begins(conn *c)
{
	uint32_t mark;
	uint8_t *p;

	memcpy(&mark, c->hdr, 4);
	mark = ntohl(mark);
	c->hdr_got = 0;
	c->last = !!(mark & REC_LAST);
	c->frag_left = mark & REC_LEN_MASK;
	if (c->frag_left > RPCSRV_MAX_RECORD - c->rec_len) {
		gw_warn("%s: a record over %u bytes, closing",
			c->peer.peer_name, RPCSRV_MAX_RECORD);
		return -1;
	}
	p = realloc(c->rec, c->rec_len + c->frag_left + 1);
	if (!p)
		return -1;
	c->rec = p;
	return 0;
}

/* Read what the socket has, straight into the record (a 1 MiB WRITE is
 * one read, not libevent's 4 KiB at a time). 1: more may come; 0: the
 * socket is drained; -1: close. */
static int read_some(conn *c)
{
	ssize_t n;

	if (c->frag_left == 0 && c->hdr_got < 4)
		n = read(c->fd, c->hdr + c->hdr_got, 4 - c->hdr_got);
	else
		n = read(c->fd, c->rec + c->rec_len, c->frag_left);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (c->frag_left == 0 && c->hdr_got < 4) {
		c->hdr_got += (unsigned)n;
		if (c->hdr_got < 4 || fragment_begins(c) == 0)
			return 1;
		return -1;
	}
	c->rec_len += (size_t)n;
	c->frag_left -= (uint32_t)n;
	return 1;
}

/* A whole record in: queue it. 0, or -1 to close. */
static int record_done(conn *c)
{
	if (c->frag_left || c->hdr_got || !c->last || !c->rec)
		return 0;
	c->last = 0;
	return queue_record(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	conn *c = arg;
	int rc = 1;

	(void)fd;
	(void)what;
	/* A bounded number of reads a turn, so one client cannot starve the
	 * others on the loop. */
	for (int i = 0; i < 64 && rc > 0 && !atomic_load(&c->closing); i++) {
		if (atomic_load(&c->srv->queued) >= RPCSRV_MAX_QUEUED) {
			park(c);
			return;
		}
		if (atomic_load(&c->inflight) >= RPCSRV_MAX_INFLIGHT) {
			/* Flow control: TCP's window fills and slows the
			 * client; a finishing call adds the event back. */
			event_del(c->rev);
			if (atomic_load(&c->inflight) < RPCSRV_MAX_INFLIGHT)
				event_add(c->rev, NULL);
			return;
		}
		rc = read_some(c);
		if (rc > 0 && record_done(c) < 0)
			rc = -1;
	}
	if (rc < 0)
		conn_close(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(arg);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	rpcsrv *s = arg;
	conn *c = calloc(1, sizeof(*c));
	int one = 1;

	(void)l;
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->srv = s;
	atomic_init(&c->refs, 1);
	if ((size_t)salen <= sizeof(c->peer.peer))
		memcpy(&c->peer.peer, sa, (size_t)salen);
	net_peer_name(sa, c->peer.peer_name, sizeof(c->peer.peer_name));
	net_keepalive(fd);
	c->fd = fd;
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE |
					BEV_OPT_THREADSAFE);
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	if (!c->bev || !c->rev) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->rev)
			event_free(c->rev);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, NULL, NULL, event_cb, c);
	bufferevent_set_max_single_write(c->bev, 1u << 20);
	bufferevent_enable(c->bev, EV_WRITE);
	event_add(c->rev, NULL);
	gw_debug("%s: connected", c->peer.peer_name);
}

/* ---- the server ---- */

int rpcsrv_new(rpcsrv **out, const rpc_prog *progs, unsigned nprogs,
	       tpool *pool)
{
	rpcsrv *s;

	if (evthread_use_pthreads() != 0)
		return ddterr_set(-EINVAL, "libevent has no thread support");
	s = calloc(1, sizeof(*s));
	if (!s)
		return ddterr_set(-ENOMEM, "out of memory");
	s->base = event_base_new();
	if (!s->base) {
		free(s);
		return ddterr_set(-ENOMEM, "cannot create the event loop");
	}
	s->progs = progs;
	s->nprogs = nprogs;
	s->pool = pool;
	pthread_mutex_init(&s->park_mu, NULL);
	*out = s;
	return 0;
}

static int bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int rpcsrv_listen(rpcsrv *s, const char *addr, int port, int *out_port)
{
	struct evutil_addrinfo hints = { 0 }, *ai = NULL;
	struct evconnlistener *l;
	char ps[16];
	int rc;

	if (s->nls == RPCSRV_MAX_LISTENERS)
		return ddterr_set(-EINVAL, "too many listening ports");
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	snprintf(ps, sizeof(ps), "%d", port);
	rc = evutil_getaddrinfo(addr, ps, &hints, &ai);
	if (rc != 0)
		return ddterr_set(-EINVAL, "listen address %s: %s", addr,
				  evutil_gai_strerror(rc));
	l = evconnlistener_new_bind(s->base, accept_cb, s,
				    LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
				    64, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (!l)
		return ddterr_set(-errno ? -errno : -EADDRINUSE,
				  "cannot listen on %s port %d: %s", addr,
				  port, strerror(errno));
	s->ls[s->nls++] = l;
	if (out_port)
		*out_port = bound_port(evconnlistener_get_fd(l));
	return 0;
}

int rpcsrv_run(rpcsrv *s)
{
	if (event_base_dispatch(s->base) < 0)
		return ddterr_set(-EIO, "the event loop failed");
	return 0;
}

void rpcsrv_stop(rpcsrv *s)
{
	event_base_loopexit(s->base, NULL);
}

struct event_base *rpcsrv_base(rpcsrv *s)
{
	return s->base;
}

/* After the loop and after the pool has finished every call. */
void rpcsrv_free(rpcsrv *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nls; i++)
		evconnlistener_free(s->ls[i]);
	/* Connections still open are dropped with the loop: the process is
	 * ending. Their frees run as the loop's last events. */
	event_base_loop(s->base, EVLOOP_NONBLOCK);
	event_base_free(s->base);
	pthread_mutex_destroy(&s->park_mu);
	free(s);
}
