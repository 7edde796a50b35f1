/* crc32c.h - the textbook CRC-32C (Castagnoli) through ISA-L, for the
 * client's small files (the file cache, the segment cache): "123456789"
 * gives 0xE3069283. The store keeps its own convention (frag_crc32c). */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of buf continued from crc, the CRC of what came before it
 * (0 to start): crc32c(crc32c(0, a), b) is crc32c(0, a then b). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t n);

#endif
