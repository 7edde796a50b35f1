/* ddtfs_ops.c - the FUSE low-level operations of ddtfs (ddtfs.h), each a
 * call or two of the client library. Inode numbers are the target's,
 * except that FUSE's root (1) is the storage unit's root directory (the
 * target numbers inodes from 2). Files are written through random-access
 * handles and published at close, fsync and flush: what another reader
 * sees is always a whole version of a file. */
#include "ddtfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "now.h"

#define MAX_IO		(1u << 20)	/* the largest read and write */

static ddtfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static uint64_t to_ddt(ddtfs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? fs->root : ino;
}

static fuse_ino_t to_fuse(ddtfs *fs, uint64_t ino)
{
	return ino == fs->root ? FUSE_ROOT_ID : ino;
}

/* A library status as an errno for the kernel: the protocol's codes are
 * Linux's; what is not one of them (a broken reply) is EIO. */
static int err_of(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc == -EPROTO || rc == -EBADMSG || rc == -ECONNRESET ||
	    rc == -ETIMEDOUT || rc == -ECONNREFUSED)
		return EIO;
	return -rc;
}

static void reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, err_of(rc));
}

static void timespec_of(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

static void stat_of(ddtfs *fs, const ddt_attr *a, struct stat *st)
{
	static const mode_t type[] = {
		[DDT_T_FILE] = S_IFREG, [DDT_T_DIR] = S_IFDIR,
		[DDT_T_SYMLINK] = S_IFLNK,
	};

	memset(st, 0, sizeof(*st));
	st->st_ino = to_fuse(fs, a->ino);
	st->st_mode = (a->type <= DDT_T_SYMLINK ? type[a->type] : S_IFREG) |
		      (a->mode & 07777);
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = MAX_IO;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	timespec_of(a->atime, &st->st_atim);
	timespec_of(a->mtime, &st->st_mtim);
	timespec_of(a->ctime, &st->st_ctim);
}

/* What this mount sees of an inode: the target's attributes, with the
 * size and mtime of changes made here and not yet published. */
static void local_view(ddtfs *fs, ddt_attr *a)
{
	gw_files_overlay(fs->files, a);
}

static void reply_entry(fuse_req_t req, ddtfs *fs, ddt_attr *a)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	local_view(fs, a);
	e.ino = to_fuse(fs, a->ino);
	e.attr_timeout = fs->attr_secs;
	e.entry_timeout = fs->attr_secs;
	stat_of(fs, a, &e.attr);
	fuse_reply_entry(req, &e);
}

static void reply_attr(fuse_req_t req, ddtfs *fs, ddt_attr *a)
{
	struct stat st;

	local_view(fs, a);
	stat_of(fs, a, &st);
	fuse_reply_attr(req, &st, fs->attr_secs);
}

/* ---- names ---- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_lookup(c, to_ddt(fs, parent), name, &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_entry(req, fs, &a);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	(void)fi;
	DDTFS_CALL(fs, rc, ddtc_getattr(c, to_ddt(fs, ino), &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_attr(req, fs, &a);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_mkdir(c, to_ddt(fs, parent), name,
				      mode & ~x->umask & 07777, x->uid, x->gid,
				      now_ns(), &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_entry(req, fs, &a);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_symlink(c, to_ddt(fs, parent), name, target,
					x->uid, x->gid, now_ns(), &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_entry(req, fs, &a);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
		    const char *name)
{
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_link(c, to_ddt(fs, ino), to_ddt(fs, parent),
				     name, &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_entry(req, fs, &a);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	ddtfs *fs = fs_of(req);
	char buf[DDT_MAX_STR + 1];
	int rc;

	DDTFS_CALL(fs, rc, ddtc_readlink(c, to_ddt(fs, ino), buf,
					 sizeof(buf)));
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_readlink(req, buf);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ddtfs *fs = fs_of(req);
	int rc;

	DDTFS_CALL(fs, rc, ddtc_unlink(c, to_ddt(fs, parent), name));
	reply_err(req, rc);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ddtfs *fs = fs_of(req);
	int rc;

	DDTFS_CALL(fs, rc, ddtc_rmdir(c, to_ddt(fs, parent), name));
	reply_err(req, rc);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc = 0;

	if (flags & ~RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL);	/* RENAME_EXCHANGE, WHITEOUT */
		return;
	}
	if (flags & RENAME_NOREPLACE) {
		DDTFS_CALL(fs, rc, ddtc_lookup(c, to_ddt(fs, newparent),
					       newname, &a));
		if (rc == 0) {
			fuse_reply_err(req, EEXIST);
			return;
		}
	}
	DDTFS_CALL(fs, rc, ddtc_rename(c, to_ddt(fs, parent), name,
				       to_ddt(fs, newparent), newname));
	reply_err(req, rc);
}

/* ---- attributes ---- */

/* A new size, as truncate(2) gives it: published at once. */
static int set_size(ddtfs *fs, uint64_t ino, uint64_t size)
{
	int rc;

	DDTFS_RETRY(fs, rc, gw_files_truncate(fs->files, ino, size, NULL));
	return rc;
}

static uint32_t setattr_mask(int to_set, const struct stat *st, ddt_attr *v)
{
	uint32_t mask = 0;
	int64_t now = now_ns();

	if (to_set & FUSE_SET_ATTR_MODE) {
		mask |= DDT_SA_MODE;
		v->mode = st->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		mask |= DDT_SA_UID;
		v->uid = st->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		mask |= DDT_SA_GID;
		v->gid = st->st_gid;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		mask |= DDT_SA_ATIME;
		v->atime = to_set & FUSE_SET_ATTR_ATIME_NOW ? now :
			   st->st_atim.tv_sec * 1000000000LL +
			   st->st_atim.tv_nsec;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		mask |= DDT_SA_MTIME;
		v->mtime = to_set & FUSE_SET_ATTR_MTIME_NOW ? now :
			   st->st_mtim.tv_sec * 1000000000LL +
			   st->st_mtim.tv_nsec;
	}
	return mask;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st,
		       int to_set, struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	uint64_t i = to_ddt(fs, ino);
	ddt_attr v, a;
	uint32_t mask;
	int rc = 0;

	(void)fi;
	memset(&v, 0, sizeof(v));
	if (to_set & FUSE_SET_ATTR_SIZE)
		rc = set_size(fs, i, (uint64_t)st->st_size);
	mask = setattr_mask(to_set, st, &v);
	if (rc == 0 && mask)
		DDTFS_CALL(fs, rc, ddtc_setattr(c, i, mask, &v, &a));
	if (rc == 0)
		DDTFS_CALL(fs, rc, ddtc_getattr(c, i, &a));
	if (rc < 0)
		reply_err(req, rc);
	else
		reply_attr(req, fs, &a);
}

/* ---- files ---- */

static ddtfs_open *open_of(struct fuse_file_info *fi)
{
	return (ddtfs_open *)(uintptr_t)fi->fh;
}

/* A handle for fi, with a's attributes; 0, or -ENOMEM. */
static int open_new(struct fuse_file_info *fi, const ddt_attr *a)
{
	ddtfs_open *o = malloc(sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->attr = *a;
	fi->fh = (uint64_t)(uintptr_t)o;
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_getattr(c, to_ddt(fs, ino), &a));
	if (rc == 0)
		rc = open_new(fi, &a);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0)
		free(open_of(fi));	/* the open was interrupted */
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	ddtfs *fs = fs_of(req);
	struct fuse_entry_param e;
	ddt_attr a;
	int rc;

	DDTFS_CALL(fs, rc, ddtc_create(c, to_ddt(fs, parent), name,
				       mode & ~x->umask & 07777, x->uid,
				       x->gid, now_ns(),
				       (fi->flags & O_EXCL) != 0, &a));
	if (rc == 0)
		rc = open_new(fi, &a);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = to_fuse(fs, a.ino);
	e.attr_timeout = fs->attr_secs;
	e.entry_timeout = fs->attr_secs;
	stat_of(fs, &a, &e.attr);
	if (fuse_reply_create(req, &e, fi) != 0)
		free(open_of(fi));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	ddtfs_open *o = open_of(fi);
	size_t got = 0;
	void *buf;
	int rc;

	(void)ino;
	size = size > MAX_IO ? MAX_IO : size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	DDTFS_RETRY(fs, rc, gw_files_read(fs->files, &o->attr, (uint64_t)off,
					  &buf, size, &got));
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_buf(req, (const char *)buf, got);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	int rc;

	(void)fi;
	DDTFS_RETRY(fs, rc, gw_files_write(fs->files, to_ddt(fs, ino),
					   (uint64_t)off, buf, size, 0, NULL));
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_write(req, size);
}

/* Publish ino's changes (durably): at every close(2) (flush), fsync and
 * release. */
static int publish(ddtfs *fs, uint64_t ino)
{
	int rc;

	DDTFS_RETRY(fs, rc, gw_files_commit(fs->files, ino, NULL));
	return rc;
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);

	(void)fi;
	reply_err(req, publish(fs, to_ddt(fs, ino)));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);

	(void)datasync;
	(void)fi;
	reply_err(req, publish(fs, to_ddt(fs, ino)));
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	int rc = publish(fs, to_ddt(fs, ino));

	free(open_of(fi));
	reply_err(req, rc);
}

/* ---- directories: listed whole at opendir, served by index ---- */

typedef struct dir_list {
	char **names;
	ddt_attr *attrs;
	size_t n, cap;
} dir_list;

static void dir_free(dir_list *d)
{
	for (size_t i = 0; d && i < d->n; i++)
		free(d->names[i]);
	if (d) {
		free(d->names);
		free(d->attrs);
	}
	free(d);
}

static int dir_add(void *arg, const char *name, const ddt_attr *a)
{
	dir_list *d = arg;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		char **nn = realloc(d->names, cap * sizeof(*nn));
		ddt_attr *na;

		if (!nn)
			return -ENOMEM;
		d->names = nn;
		na = realloc(d->attrs, cap * sizeof(*na));
		if (!na)
			return -ENOMEM;
		d->attrs = na;
		d->cap = cap;
	}
	d->names[d->n] = strdup(name);
	if (!d->names[d->n])
		return -ENOMEM;
	d->attrs[d->n++] = *a;
	return 0;
}

/* The whole listing, from the start again if a lost session retries it. */
static int dir_read(ddtc *c, uint64_t ino, dir_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	d->n = 0;
	return ddtc_readdir(c, ino, dir_add, d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	ddtfs *fs = fs_of(req);
	dir_list *d = calloc(1, sizeof(*d));
	int rc = d ? 0 : -ENOMEM;

	if (rc == 0)
		DDTFS_CALL(fs, rc, dir_read(c, to_ddt(fs, ino), d));
	if (rc < 0) {
		dir_free(d);
		reply_err(req, rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fuse_reply_open(req, fi);
}

/* Entries from index off on ("." and ".." are 0 and 1), as many as fit
 * size; plus: with attributes, for READDIRPLUS. */
static void readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct fuse_file_info *fi, int plus)
{
	ddtfs *fs = fs_of(req);
	dir_list *d = (dir_list *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0, len;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < d->n + 2; i++) {
		struct fuse_entry_param e;
		const char *name = i == 0 ? "." : i == 1 ? ".." : d->names[i - 2];

		memset(&e, 0, sizeof(e));
		if (i < 2) {
			e.attr.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
			e.attr.st_mode = S_IFDIR;
		} else {
			stat_of(fs, &d->attrs[i - 2], &e.attr);
			e.ino = e.attr.st_ino;
			e.attr_timeout = e.entry_timeout = fs->attr_secs;
		}
		/* In a READDIRPLUS reply every entry is a plus one; "."
		 * and ".." carry ino 0, so the kernel takes no reference. */
		len = plus ?
			fuse_add_direntry_plus(req, buf + used, size - used,
					       name, &e, (off_t)i + 1) :
			fuse_add_direntry(req, buf + used, size - used, name,
					  &e.attr, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	readdir_any(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	readdir_any(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((dir_list *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- the file system ---- */

typedef struct space {
	uint64_t capacity, free, files;
} space;

static int space_kv(void *arg, const char *key, uint64_t v)
{
	space *s = arg;

	if (strcmp(key, "capacity_bytes") == 0)
		s->capacity = v;
	else if (strcmp(key, "free_bytes") == 0)
		s->free = v;
	else if (strcmp(key, "files") == 0)
		s->files = v;
	return 0;
}

/* The target's space, or the unit's quota where it has one (so df shows
 * what a writer may still put here). */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	ddtfs *fs = fs_of(req);
	struct statvfs v;
	space s = { 0 };
	ddtc_su su;
	int rc;

	(void)ino;
	DDTFS_CALL(fs, rc, ddtc_status(c, space_kv, &s));
	if (rc == 0)
		DDTFS_CALL(fs, rc, ddtc_su_open(c, fs->su, &su));
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	if (su.quota) {
		s.capacity = su.quota;
		s.free = su.quota > su.logical_bytes ?
			 su.quota - su.logical_bytes : 0;
	}
	memset(&v, 0, sizeof(v));
	v.f_bsize = v.f_frsize = 4096;
	v.f_blocks = s.capacity / 4096;
	v.f_bfree = v.f_bavail = s.free / 4096;
	v.f_files = su.files + 1000000;
	v.f_ffree = v.f_favail = 1000000;
	v.f_namemax = DDT_MAX_NAME;
	fuse_reply_statfs(req, &v);
}

static void op_init(void *arg, struct fuse_conn_info *conn)
{
	ddtfs *fs = arg;

	conn->max_write = MAX_IO;
	/* A sequential reader asks for large blocks, and gw_ra fetches the
	 * next ones ahead: each READ to the target costs a round trip. The
	 * kernel takes the smaller of this and the window it offers (see
	 * set_readahead in ddtfs.c). */
	conn->max_readahead = fs->readahead > MAX_IO ? fs->readahead : MAX_IO;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

const struct fuse_lowlevel_ops ddtfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.create = op_create,
};
