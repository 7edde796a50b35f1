/* rpcsrv.h - an ONC RPC (RFC 5531) server over TCP on libevent, for the
 * programs ddt-nfsd serves (NFS v3 and MOUNT v3) on ports of its own, so
 * no portmapper is needed.
 *
 * The loop thread only frames: it reassembles a record from its fragments
 * (record marking, section 11), never past RPCSRV_MAX_RECORD, and queues
 * it. A worker of the pool decodes the call (libtirpc's xdr_callmsg), the
 * credentials and the arguments (rpcgen's routines), runs the procedure,
 * which may block on the target, and writes the reply into the
 * connection's thread-safe bufferevent: replies leave in any order, as
 * RPC allows. */
#ifndef RPCSRV_H
#define RPCSRV_H

#include <stdint.h>
#include <sys/socket.h>

#include <rpc/rpc.h>

#include "tpool.h"

/* The largest record taken in: a WRITE of the largest wtmax (1 MiB) and
 * its headers. A longer one ends the connection. */
#define RPCSRV_MAX_RECORD	((1u << 20) + 64 * 1024)
/* The calls read and not yet run, all connections together: past it no
 * connection is read until workers catch up, so many clients writing at
 * once cannot take the gateway's memory (each connection alone stops at
 * 64 calls). */
#define RPCSRV_MAX_QUEUED	((size_t)256 << 20)
#define RPCSRV_MAX_GIDS		16

/* The caller, as its credentials and its socket say. */
typedef struct rpc_caller {
	uint32_t flavor;	/* AUTH_NONE or AUTH_SYS */
	uint32_t uid, gid;	/* AUTH_SYS; else 65534 */
	uint32_t gids[RPCSRV_MAX_GIDS];
	unsigned ngids;
	struct sockaddr_storage peer;
	char peer_name[64];
} rpc_caller;

/* A procedure's outcome besides a result. */
enum {
	RPC_DONE = 0,		/* encode the result */
	RPC_GARBAGE = -1,	/* GARBAGE_ARGS */
	RPC_TOOWEAK = -2,	/* MSG_DENIED, AUTH_ERROR, AUTH_TOOWEAK */
	RPC_SYSERR = -3,	/* SYSTEM_ERR */
	RPC_DROP = -4,		/* no reply at all */
};

/* One procedure: its argument and result XDR routines and sizes (the
 * structs are zeroed before decoding), and the function that fills the
 * result. Every pointer a result holds must come from malloc: it is
 * freed with xdr_free(xres) once encoded. */
typedef int (*rpc_fn)(void *ctx, const rpc_caller *c, void *args, void *res);
typedef struct rpc_proc {
	xdrproc_t xargs, xres;
	size_t argsz, ressz;
	rpc_fn fn;
	int auth_none_ok;	/* else AUTH_SYS is required */
} rpc_proc;

typedef struct rpc_prog {
	uint32_t prog, vers;
	const rpc_proc *procs;
	uint32_t nprocs;
	void *ctx;
} rpc_prog;

/* The XDR routine of no data (libtirpc's xdr_void takes no arguments, so
 * it cannot be called through an xdrproc_t cleanly). */
bool_t rpcsrv_xdr_void(XDR *x, ...);

typedef struct rpcsrv rpcsrv;

/* A server for progs[0..nprogs) (kept by pointer) whose procedures run on
 * pool. */
int rpcsrv_new(rpcsrv **out, const rpc_prog *progs, unsigned nprogs,
	       tpool *pool);
/* Listen on addr:port (may be called for several ports). Port 0 picks
 * one; *out_port (may be NULL) says which. */
int rpcsrv_listen(rpcsrv *s, const char *addr, int port, int *out_port);
/* Run the loop until rpcsrv_stop() (from a signal handler's event or any
 * thread). */
int rpcsrv_run(rpcsrv *s);
void rpcsrv_stop(rpcsrv *s);
/* The loop, to add timers and signals to. */
struct event_base *rpcsrv_base(rpcsrv *s);
void rpcsrv_free(rpcsrv *s);

#endif
