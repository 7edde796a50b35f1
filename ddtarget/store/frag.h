/* frag.h - the fragment file: one erasure-coded piece of a sealed container.
 *
 * On disk: a header block of FRAG_DATA_OFF bytes (the FRAG_HDR_LEN-byte
 * header, then zeros), then payload_len bytes of payload. The block puts the
 * payload on a page boundary, so a fragment whose length is whole pages is
 * written and read with O_DIRECT straight from and into the container's
 * buffer: no copy, and no page cache filled with data nobody rereads soon.
 * Files of the first version (magic "DDTFRAG1", payload right after the 64
 * header bytes) are still read.
 *
 * The header names the container and the fragment's place in it, and holds
 * a CRC32C (ISA-L crc32_iscsi) of the payload and one of the header itself,
 * so a fragment that is torn, truncated, flipped or misplaced (another
 * container's, or another index's) is detected on every read, and the reader
 * treats it as lost and rebuilds from the others.
 *
 * Header layout, little-endian:
 *   0  magic "DDTFRAG2" (8)     8  container id u64     16 payload_len u32
 *  20  container_len u32        24 k u8  25 m u8  26 index u8  27 reserved u8
 *  28  payload crc32c u32       32 reserved (28 bytes, zero)
 *  60  header crc32c u32 (over bytes 0..59) */
#ifndef FRAG_H
#define FRAG_H

#include <stddef.h>
#include <stdint.h>

#define FRAG_HDR_LEN 64
#define FRAG_DATA_OFF 4096	/* where the payload starts */

typedef struct frag_hdr {
	uint64_t cid;		/* container id */
	uint32_t payload_len;	/* bytes after the header */
	uint32_t container_len;	/* logical container bytes before padding */
	uint8_t k, m, index;	/* index < k: data, else parity */
} frag_hdr;

/* Write a fragment file durably (through fio_write_file_atomic semantics:
 * temp file, fsync, rename, directory fsync). The CRCs are computed here.
 * Returns 0 or -errno with a ddterr message naming the path. */
int frag_write(const char *path, const frag_hdr *h, const void *payload);

/* The same without the temp file and rename, for a fragment that nothing
 * refers to yet (a container being sealed, not yet in the index): a crash
 * may leave it torn, and it is rewritten before it is ever read. */
int frag_write_new(const char *path, const frag_hdr *h, const void *payload);

/* Read and check a fragment. `want` gives the expected cid, k, m, index and
 * payload_len; a file that disagrees, or fails either CRC, or is short, gives
 * -EBADMSG; a missing file -ENOENT; other failures -errno. payload must hold
 * want->payload_len bytes. On success *out_container_len is set. */
int frag_read(const char *path, const frag_hdr *want, void *payload,
	      uint32_t *out_container_len);

/* Read and check a fragment's header alone (magic, header CRC, sanity, and
 * a file exactly as long as the header says), not its payload: enough to
 * learn which container it belongs to and that it is whole in length.
 * -EBADMSG, -ENOENT or -errno; fills *out on success. */
int frag_read_hdr(const char *path, frag_hdr *out);

/* The length of the file that frag_write() makes for a payload_len-byte
 * payload: what a fragment costs on disk. */
uint64_t frag_file_len(uint32_t payload_len);

/* The CRC32C every on-disk structure of the store uses. */
uint32_t frag_crc32c(const void *buf, size_t n);

#endif
