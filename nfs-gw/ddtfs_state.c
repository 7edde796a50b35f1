/* ddtfs_state.c - what ddtfs's operations share (ddtfs.h): the session to
 * ddtargetd, made again when the target restarts, and the open files.
 * Open files outlive a lost session: their changes not yet sent are in
 * memory, those sent are durable on the target, and both are committed
 * through whatever session is current. */
#include "ddtfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "now.h"

/* ---- the session ---- */

ddtc *ddtfs_conn_get(ddtfs *fs, unsigned *gen)
{
	pthread_rwlock_rdlock(&fs->conn_lk);
	*gen = fs->gen;
	return fs->c;
}

void ddtfs_conn_put(ddtfs *fs)
{
	pthread_rwlock_unlock(&fs->conn_lk);
}

static int conn_lost(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN ||
	       rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -ECONNABORTED;
}

/* Under the lock held exclusively: no call is running on fs->c. */
static int reconnect_locked(ddtfs *fs)
{
	ddtc *c;
	int rc = ddtc_connect(&c, &fs->o);

	if (rc < 0)
		return rc;
	ddtc_close(fs->c);
	fs->c = c;
	fs->gen++;
	return 0;
}

int ddtfs_conn_retry(ddtfs *fs, unsigned gen, int rc)
{
	int64_t until = now_mono_ns() + (int64_t)fs->reconnect_secs * 1000000000;
	int ok = 0;

	if (!conn_lost(rc))
		return 0;
	while (!ok && now_mono_ns() < until) {
		pthread_rwlock_wrlock(&fs->conn_lk);
		ok = fs->gen != gen || reconnect_locked(fs) == 0;
		pthread_rwlock_unlock(&fs->conn_lk);
		if (!ok)
			sleep(1);
	}
	return ok;
}

/* ---- open files ---- */

static ddtfs_file *find_locked(ddtfs *fs, uint64_t ino)
{
	for (ddtfs_file *f = fs->files; f; f = f->next)
		if (f->ino == ino)
			return f;
	return NULL;
}

ddtfs_file *ddtfs_file_find(ddtfs *fs, uint64_t ino)
{
	ddtfs_file *f;

	pthread_mutex_lock(&fs->files_mu);
	f = find_locked(fs, ino);
	if (f)
		f->refs++;
	pthread_mutex_unlock(&fs->files_mu);
	return f;
}

int ddtfs_file_get(ddtfs *fs, uint64_t ino, ddtfs_file **out)
{
	ddtfs_file *f;

	pthread_mutex_lock(&fs->files_mu);
	f = find_locked(fs, ino);
	if (!f && (f = calloc(1, sizeof(*f))) != NULL) {
		f->ino = ino;
		pthread_mutex_init(&f->mu, NULL);
		f->next = fs->files;
		fs->files = f;
	}
	if (f)
		f->refs++;
	pthread_mutex_unlock(&fs->files_mu);
	*out = f;
	return f ? 0 : -ENOMEM;
}

static void unlink_locked(ddtfs *fs, ddtfs_file *f)
{
	ddtfs_file **p = &fs->files;

	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
}

void ddtfs_file_put(ddtfs *fs, ddtfs_file *f)
{
	int last;

	pthread_mutex_lock(&fs->files_mu);
	last = --f->refs == 0;
	if (last) {
		unlink_locked(fs, f);
		fs->buffered -= f->counted;
	}
	pthread_mutex_unlock(&fs->files_mu);
	if (!last)
		return;
	if (f->rf)
		ddtc_rfile_close(f->rf);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int ddtfs_file_rfile(ddtfs *fs, ddtfs_file *f)
{
	int rc;

	if (f->rf)
		return 0;
	DDTFS_CALL(fs, rc, ddtc_rfile_open(c, f->ino, &f->rf));
	return rc;
}

/* f's share of fs->buffered, brought up to date. */
static void recount(ddtfs *fs, ddtfs_file *f)
{
	size_t now = f->rf ? ddtc_rfile_buffered(f->rf) : 0;

	pthread_mutex_lock(&fs->files_mu);
	fs->buffered = fs->buffered - f->counted + now;
	f->counted = now;
	pthread_mutex_unlock(&fs->files_mu);
}

int ddtfs_file_commit(ddtfs *fs, ddtfs_file *f, int sync, ddt_attr *out)
{
	int rc;

	if (!f->rf || !ddtc_rfile_dirty(f->rf))
		return 1;	/* nothing to publish; out is not filled */
	DDTFS_CALL(fs, rc, ddtc_rfile_commit(c, f->rf, f->mtime, sync, out));
	recount(fs, f);
	return rc;
}

int ddtfs_file_account(ddtfs *fs, ddtfs_file *f)
{
	size_t total;
	int rc = 0;

	recount(fs, f);
	pthread_mutex_lock(&fs->files_mu);
	total = fs->buffered;
	pthread_mutex_unlock(&fs->files_mu);
	if (total <= fs->cap || f->counted == 0)
		return 0;
	/* Over the cap: this writer pays by sending its own bytes, so the
	 * memory stays bounded however many files are written at once. */
	DDTFS_CALL(fs, rc, ddtc_rfile_flush(c, f->rf));
	recount(fs, f);
	return rc;
}

void ddtfs_files_finish(ddtfs *fs)
{
	ddtfs_file *f;

	for (;;) {
		pthread_mutex_lock(&fs->files_mu);
		f = fs->files;
		if (f)
			f->refs++;
		pthread_mutex_unlock(&fs->files_mu);
		if (!f)
			return;
		pthread_mutex_lock(&f->mu);
		(void)ddtfs_file_commit(fs, f, 1, NULL);
		pthread_mutex_unlock(&f->mu);
		/* Drop every reference: the kernel sends no release now. */
		pthread_mutex_lock(&fs->files_mu);
		f->refs = 1;
		pthread_mutex_unlock(&fs->files_mu);
		ddtfs_file_put(fs, f);
	}
}
