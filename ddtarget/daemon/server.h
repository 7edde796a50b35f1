/* server.h - the protocol server: a libevent loop that accepts sessions,
 * cuts their byte streams into frames and hands each request to the worker
 * pool; workers write the replies back, in whatever order they finish. */
#ifndef DDTD_SERVER_H
#define DDTD_SERVER_H

#include "ops.h"

/* Listen on d->cfg's address and port and serve until SIGTERM or SIGINT
 * (then stop accepting, finish the requests under way, and return 0).
 * ready, if not NULL, is called once the socket listens (to write the pid
 * file, say the daemon is up). Returns -errno with a ddterr message if the
 * server cannot start. */
int server_run(ddtd *d, void (*ready)(ddtd *d));

#endif
