/* fdio.h - the write loop every writer to a plain descriptor needs: short
 * writes continued, EINTR retried. Used by the client library (restored
 * data, the segment cache) and by ddtstore (cat to stdout). */
#ifndef FDIO_H
#define FDIO_H

#include <stddef.h>

/* Write all n bytes of buf to fd at its offset. 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t n);

#endif
