/* nfsclient.c - a small NFS v3 client on libnfs for tests/nfs.sh: one
 * operation per run against ddt-nfsd, over a URL that names the ports
 * (nfs://127.0.0.1/EXPORT?nfsport=P&mountport=Q, no portmapper). Exit
 * status 0 on success; on failure 1 and the client's error on stderr
 * (with the errno libnfs mapped the NFS status to, e.g. "ESTALE").
 *
 *   nfsclient URL mkdir|rmdir|unlink|readlink|stat PATH
 *   nfsclient URL rename|link|symlink FROM TO
 *   nfsclient URL chmod PATH OCTAL | utimes PATH SECONDS | truncate PATH SIZE
 *   nfsclient URL count DIR          entries READDIRPLUS lists ("." and
 *                                    ".." not counted)
 *   nfsclient URL mkdirs DIR N       N subdirectories d0..d(N-1)
 *   nfsclient URL randwrite PATH SIZE SEED   pwrite pieces at random
 *                                    offsets, fsync, read back, compare
 *   nfsclient URL write PATH OFF LEN  one pwrite of LEN bytes at OFF
 *                                    (the file made if absent), fsync
 *   nfsclient URL statvfs PATH       FSSTAT: "total=B avail=B" in bytes
 *   nfsclient URL stale PATH         open PATH, remove it, and expect
 *                                    ESTALE from a GETATTR of the handle */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <nfsc/libnfs.h>

static struct nfs_context *nfs;

static int fail(const char *what, int rc)
{
	fprintf(stderr, "%s: %s (%s)\n", what, nfs_get_error(nfs),
		rc < 0 ? strerrorname_np(-rc) : "?");
	return 1;
}

static int connect_url(const char *s)
{
	struct nfs_url *u;
	int rc;

	nfs = nfs_init_context();
	if (!nfs)
		return 1;
	u = nfs_parse_url_dir(nfs, s);
	if (!u)
		return fail("url", -EINVAL);
	rc = nfs_mount(nfs, u->server, u->path);
	nfs_destroy_url(u);
	return rc < 0 ? fail("mount", rc) : 0;
}

static int do_stat(const char *path)
{
	struct nfs_stat_64 st;
	int rc = nfs_stat64(nfs, path, &st);

	if (rc < 0)
		return fail("stat", rc);
	printf("mode=%o size=%" PRIu64 " nlink=%" PRIu64 " ino=%" PRIu64
	       " mtime=%" PRIu64 "\n", (unsigned)st.nfs_mode & 07777,
	       (uint64_t)st.nfs_size, (uint64_t)st.nfs_nlink,
	       (uint64_t)st.nfs_ino, (uint64_t)st.nfs_mtime);
	return 0;
}

static int do_count(const char *dir)
{
	struct nfsdir *d;
	struct nfsdirent *e;
	unsigned long n = 0;
	int rc = nfs_opendir(nfs, dir, &d);

	if (rc < 0)
		return fail("opendir", rc);
	while ((e = nfs_readdir(nfs, d)))
		if (strcmp(e->name, ".") && strcmp(e->name, ".."))
			n++;
	nfs_closedir(nfs, d);
	printf("%lu\n", n);
	return 0;
}

static int do_mkdirs(const char *dir, long n)
{
	char p[4096];
	int rc;

	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/d%ld", dir, i);
		rc = nfs_mkdir(nfs, p);
		if (rc < 0)
			return fail(p, rc);
	}
	return 0;
}

/* Pieces of up to 200 KiB at random offsets in [0, size), the model in
 * memory; then the whole file read back and compared. */
static int do_randwrite(const char *path, size_t size, unsigned seed)
{
	uint8_t *model = calloc(1, size), *back = malloc(size), *piece;
	struct nfsfh *fh;
	size_t end = 0;
	int rc = nfs_open(nfs, path, O_RDWR | O_CREAT | O_TRUNC, &fh);

	if (rc < 0 || !model || !back)
		return fail("open", rc);
	srand(seed);
	for (int i = 0; i < 200; i++) {
		size_t off = (size_t)rand() % size, n = (size_t)rand() % 204800;

		if (off + n > size)
			n = size - off;
		piece = model + off;
		for (size_t k = 0; k < n; k++)
			piece[k] = (uint8_t)rand();
		rc = nfs_pwrite(nfs, fh, off, n, piece);
		if (rc < 0 || (size_t)rc != n)
			return fail("pwrite", rc);
		if (off + n > end)
			end = off + n;
	}
	rc = nfs_fsync(nfs, fh);
	if (rc < 0)
		return fail("fsync", rc);
	for (size_t got = 0; got < end;) {
		rc = nfs_pread(nfs, fh, got, end - got > 1048576 ? 1048576
								: end - got,
			       back + got);
		if (rc <= 0)
			return fail("pread", rc ? rc : -EIO);
		got += (size_t)rc;
	}
	nfs_close(nfs, fh);
	if (memcmp(model, back, end) != 0) {
		fprintf(stderr, "read back differs from what was written\n");
		return 1;
	}
	free(model);
	free(back);
	printf("%zu\n", end);
	return 0;
}

static int do_write(const char *path, uint64_t off, size_t len)
{
	char *buf = malloc(len ? len : 1);
	struct nfsfh *fh;
	int rc;

	if (!buf)
		return 1;
	memset(buf, 'w', len);
	rc = nfs_open(nfs, path, O_WRONLY | O_CREAT, &fh);
	if (rc < 0)
		return fail("open", rc);
	rc = nfs_pwrite(nfs, fh, off, len, buf);
	if (rc >= 0)
		rc = nfs_fsync(nfs, fh);
	free(buf);
	if (rc < 0)
		return fail("write", rc);
	return nfs_close(nfs, fh) < 0;
}

static int do_statvfs(const char *path)
{
	struct nfs_statvfs_64 v;
	int rc = nfs_statvfs64(nfs, path, &v);

	if (rc < 0)
		return fail("statvfs", rc);
	printf("total=%" PRIu64 " avail=%" PRIu64 "\n",
	       v.f_blocks * v.f_frsize, v.f_bavail * v.f_frsize);
	return 0;
}

static int do_stale(const char *path)
{
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc = nfs_open(nfs, path, O_RDONLY, &fh);

	if (rc < 0)
		return fail("open", rc);
	rc = nfs_unlink(nfs, path);
	if (rc < 0)
		return fail("unlink", rc);
	rc = nfs_fstat64(nfs, fh, &st);
	nfs_close(nfs, fh);
	if (rc != -ESTALE) {
		fprintf(stderr, "fstat of a removed file: %d, not ESTALE\n",
			rc);
		return 1;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	const char *op = argv[2], *a = argv[3], *b = argc > 4 ? argv[4] : NULL;
	char buf[4096];
	int rc;

	if (!strcmp(op, "mkdir"))
		rc = nfs_mkdir(nfs, a);
	else if (!strcmp(op, "rmdir"))
		rc = nfs_rmdir(nfs, a);
	else if (!strcmp(op, "unlink"))
		rc = nfs_unlink(nfs, a);
	else if (!strcmp(op, "stat"))
		return do_stat(a);
	else if (!strcmp(op, "count"))
		return do_count(a);
	else if (!strcmp(op, "statvfs"))
		return do_statvfs(a);
	else if (!strcmp(op, "stale"))
		return do_stale(a);
	else if (!strcmp(op, "readlink")) {
		memset(buf, 0, sizeof(buf));
		rc = nfs_readlink(nfs, a, buf, sizeof(buf) - 1);
		if (rc == 0)
			puts(buf);
	} else if (!b) {
		fprintf(stderr, "%s: missing argument\n", op);
		return 2;
	} else if (!strcmp(op, "rename"))
		rc = nfs_rename(nfs, a, b);
	else if (!strcmp(op, "link"))
		rc = nfs_link(nfs, a, b);
	else if (!strcmp(op, "symlink"))
		rc = nfs_symlink(nfs, a, b);
	else if (!strcmp(op, "chmod"))
		rc = nfs_chmod(nfs, a, (int)strtol(b, NULL, 8));
	else if (!strcmp(op, "truncate"))
		rc = nfs_truncate(nfs, a, strtoull(b, NULL, 10));
	else if (!strcmp(op, "utimes")) {
		struct timeval tv[2] = { { atol(b), 0 }, { atol(b), 0 } };

		rc = nfs_utimes(nfs, a, tv);
	} else if (!strcmp(op, "mkdirs"))
		return do_mkdirs(a, atol(b));
	else if (!strcmp(op, "write") && argc > 5)
		return do_write(a, strtoull(b, NULL, 10),
				(size_t)strtoull(argv[5], NULL, 10));
	else if (!strcmp(op, "randwrite") && argc > 5)
		return do_randwrite(a, strtoull(b, NULL, 10),
				    (unsigned)atoi(argv[5]));
	else {
		fprintf(stderr, "unknown operation %s\n", op);
		return 2;
	}
	return rc < 0 ? fail(op, rc) : 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: nfsclient URL OP ARG...\n");
		return 2;
	}
	if (connect_url(argv[1]))
		return 1;
	rc = run(argc, argv);
	nfs_destroy_context(nfs);
	return rc;
}
