/* fdio.c - writing a whole buffer to a descriptor (see fdio.h), through
 * write(2), so pipes and terminals work as well as files. */
#include "fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int fd_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t put;

	while (n) {
		put = write(fd, p, n);
		if (put < 0 && errno == EINTR)
			continue;
		if (put < 0)
			return -errno;
		p += put;
		n -= (size_t)put;
	}
	return 0;
}
