/* crc32c.c - CRC-32C (see crc32c.h). ISA-L's crc32_iscsi() keeps the
 * register uninverted, so the standard value is its result inverted, and
 * continuing means inverting it back first. */
#include "crc32c.h"

#include <isa-l/crc.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
	unsigned char *p = (unsigned char *)buf;	/* ISA-L lacks const */

	crc = ~crc;
	/* crc32_iscsi() takes an int length. */
	while (n) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n;

		crc = crc32_iscsi(p, chunk, crc);
		p += chunk;
		n -= (size_t)chunk;
	}
	return ~crc;
}
