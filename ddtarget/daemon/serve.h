/* serve.h - the protocol server: a libevent loop that accepts sessions,
 * cuts their byte streams into frames and hands each request to the worker
 * pool; workers write the replies back, in whatever order they finish.
 * serve.c runs it; accept.c and server.c (server_int.h) are its parts. */
#ifndef DDTD_SERVE_H
#define DDTD_SERVE_H

#include "ops.h"

/* Bind a socket to c's address and port: the first thing the daemon
 * does, so that a port in use fails before a store or a password is made.
 * It listens only once serve_run starts, so that a client connects to a
 * daemon that is ready. *out_fd is non-blocking and close-on-exec.
 * Returns 0 or -errno with a one-line ddterr message. */
int serve_bind(const ddtd_config *c, int *out_fd);

/* Serve on fd (from serve_bind, which it takes over and closes) until
 * SIGTERM or SIGINT (then stop accepting, finish the requests under way,
 * and return 0). ready, if not NULL, is called once the loop is set up (to
 * write the pid file, say the daemon is up). Returns -errno with a ddterr
 * message if the server cannot start. */
int serve_run(ddtd *d, int fd, void (*ready)(ddtd *d));

#endif
