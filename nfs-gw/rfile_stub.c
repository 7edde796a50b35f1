/* rfile_stub.c - stand-ins for ddtc.h's random-access file calls while
 * proto/client/rfile.c is being written on its own branch: every call
 * fails with -ENOSYS, so ddt-nfsd builds and serves reads and the
 * namespace, and answers writes NFS3ERR_NOTSUPP. configure builds this
 * file only when proto/client/rfile.c is absent; it goes with the merge. */
#include <errno.h>

#include "ddtc.h"
#include "ddterr.h"

#define NOT_YET ddterr_set(-ENOSYS, "random-access files are not built in")

int ddtc_create(ddtc *c, uint64_t dir, const char *name, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t mtime, int excl,
		ddt_attr *out)
{
	return NOT_YET;
}

int ddtc_rfile_open(ddtc *c, uint64_t ino, ddtc_rfile **out)
{
	return NOT_YET;
}

int ddtc_rfile_write(ddtc *c, ddtc_rfile *f, uint64_t off, const void *buf,
		     size_t n)
{
	return NOT_YET;
}

int ddtc_rfile_truncate(ddtc *c, ddtc_rfile *f, uint64_t size)
{
	return NOT_YET;
}

int ddtc_rfile_read(ddtc *c, ddtc_rfile *f, uint64_t off, void *buf,
		    size_t n, size_t *out_n)
{
	return NOT_YET;
}

uint64_t ddtc_rfile_size(const ddtc_rfile *f)
{
	return 0;
}

int ddtc_rfile_dirty(const ddtc_rfile *f)
{
	return 0;
}

size_t ddtc_rfile_buffered(const ddtc_rfile *f)
{
	return 0;
}

int ddtc_rfile_flush(ddtc *c, ddtc_rfile *f)
{
	return NOT_YET;
}

int ddtc_rfile_commit(ddtc *c, ddtc_rfile *f, int64_t mtime, int sync,
		      ddt_attr *out)
{
	return NOT_YET;
}

void ddtc_rfile_close(ddtc_rfile *f)
{
}
