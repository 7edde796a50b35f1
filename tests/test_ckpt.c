/* test_ckpt.c - metadata checkpoints and restoring from them: segments put
 * before and after a checkpoint all read back byte for byte once the index
 * is deleted and restored, with the counters right; a container cleaned
 * away after the checkpoint is dropped and reported; pruning keeps N; a
 * restore refuses an open store, a wrong name and wrong data directories;
 * and a writer killed mid-stream, with journals lingering and the open
 * container in its log, loses nothing it was told was stored. */
#include "store.h"
#include "store_ckpt.h"
#include "ddterr.h"
#include "idx.h"
#include "segdata.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEED		11
#define CSIZE		(128 * 1024)	/* many containers from little data */
#define N_BEFORE	1500		/* segments before the checkpoint */
#define N_AFTER		1500		/* sealed after it */
#define N_OPEN		5		/* left in the open container */

static void config(store_config *c, const char *root)
{
	store_config_default(c, root);
	c->container_size = CSIZE;
	c->cache_containers = 8;
}

static store *open_at(const char *root)
{
	store_config c;

	config(&c, root);
	return segdata_open_config(&c);
}

static int restore(const char *root, const char *name,
		   store_restore_report *r)
{
	store_config c;
	int rc;

	config(&c, root);
	rc = store_restore_checkpoint(&c, NULL, name, NULL, NULL, r);
	if (rc < 0)
		diag("restore: %s", ddterr_last(rc));
	return rc;
}

static void rm_index(const char *root)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/index'", root);
	if (system(cmd) != 0)
		tap_bail("rm -rf index");
}

static int count_cb(void *arg, const store_ckpt_info *ci)
{
	(void)ci;
	++*(int *)arg;
	return 0;
}

static int count_ckpts(const char *dir)
{
	int n = 0;

	if (store_checkpoint_list(dir, count_cb, &n) < 0)
		return -1;
	return n;
}

static int same_stats(const store_stats *a, const store_stats *b)
{
	return a->segments == b->segments && a->containers == b->containers &&
	       a->raw_bytes == b->raw_bytes &&
	       a->stored_bytes == b->stored_bytes &&
	       a->physical_bytes == b->physical_bytes;
}

static void show(const store_restore_report *r)
{
	char text[2048];

	store_restore_report_format(r, text, sizeof(text));
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
		diag("  %s", l);
}

/* The main story: before, checkpoint, after (sealed and open), the index
 * lost, restored, all there; then writes go on with fresh container ids,
 * and a second restore moves the first restore's index aside. */
static void test_restore(const char *root)
{
	char name[STORE_CKPT_NAME_MAX], path[1200];
	store_stats before, st, ck;
	store_restore_report r;
	const uint64_t total = N_BEFORE + N_AFTER + N_OPEN;
	store *s = open_at(root);

	if (!s || segdata_put(s, SEED, 0, N_BEFORE, NULL) ||
	    store_flush(s))
		tap_bail("put before");
	store_get_stats(s, &ck);
	ok(store_checkpoint(s, NULL, 0, name, sizeof(name)) == 0 &&
	   strncmp(name, "ckpt-", 5) == 0, "a checkpoint is taken: %s", name);
	snprintf(path, sizeof(path), "%s/checkpoints/%s/MANIFEST", root, name);
	ok(file_exists(path), "in <root>/checkpoints, with a MANIFEST");
	if (segdata_put(s, SEED, N_BEFORE, N_AFTER, NULL) || store_flush(s) ||
	    segdata_put(s, SEED, N_BEFORE + N_AFTER, N_OPEN, NULL))
		tap_bail("put after");
	if (tstore_close(s) || !(s = open_at(root)))
		tap_bail("close");
	store_get_stats(s, &before);	/* as the store itself counts */
	ok(before.open_segments == N_OPEN && before.containers > ck.containers + 3,
	   "after it: %llu more containers sealed, %llu segments open",
	   (unsigned long long)(before.containers - ck.containers),
	   (unsigned long long)before.open_segments);
	if (tstore_close(s))
		tap_bail("close");

	rm_index(root);
	ok(restore(root, NULL, &r) == 0, "with the index deleted, the newest "
	   "checkpoint restores");
	show(&r);
	ok(!strcmp(r.ckpt.name, name) && r.containers == ck.containers &&
	   r.reindexed == before.containers - ck.containers &&
	   r.dropped == 0 && r.unreadable == 0 && r.replaced[0] == '\0',
	   "report: %llu containers in it, %llu indexed again, none dropped",
	   (unsigned long long)r.containers, (unsigned long long)r.reindexed);
	s = open_at(root);
	ok(s && segdata_check(s, SEED, 0, total) == 0,
	   "all %llu segments, before and after the checkpoint, read back "
	   "byte for byte", (unsigned long long)total);
	if (!s)
		return;
	store_get_stats(s, &st);
	ok(same_stats(&st, &before), "the counters are as before the loss "
	   "(%llu segments, %llu containers, %llu bytes stored)",
	   (unsigned long long)st.segments, (unsigned long long)st.containers,
	   (unsigned long long)st.stored_bytes);
	ok(segdata_put(s, SEED, total, 1000, NULL) == 0 && store_flush(s) == 0 &&
	   segdata_check(s, SEED, 0, total + 1000) == 0,
	   "new segments go to fresh containers; everything reads");
	tstore_close(s);
	if (!(s = open_at(root)))
		tap_bail("reopen");
	store_get_stats(s, &before);
	tstore_close(s);

	ok(restore(root, name, &r) == 0 && r.replaced[0] &&
	   file_exists(r.replaced), "a second restore works, and moves the "
	   "index it replaces aside: %s", r.replaced);
	s = open_at(root);
	ok(s && segdata_check(s, SEED, 0, total + 1000) == 0,
	   "and everything reads again");
	if (s) {
		store_get_stats(s, &st);
		ok(same_stats(&st, &before), "with the same counters");
		tstore_close(s);
	}
}

/* A container the checkpoint lists, whose fragments are all deleted after
 * it (as the cleaner would): dropped, reported, the rest reads. */
static void test_dropped(const char *root)
{
	char path[1200];
	store_stats before, st;
	store_restore_report r;
	uint64_t victim = 3;
	uint32_t nseg;
	idx_ctr c;
	store *s = open_at(root);

	if (!s || segdata_put(s, SEED, 0, 2000, NULL) || store_flush(s) ||
	    store_checkpoint(s, NULL, 0, NULL, 0))
		tap_bail("setup");
	if (idx_get_ctr(tstore_index(s), victim, 0, &c) != 0)
		tap_bail("no container %llu", (unsigned long long)victim);
	nseg = c.nseg;
	store_get_stats(s, &before);
	tstore_close(s);
	for (int i = 0; i < 6; i++) {
		segdata_frag_path(root, victim, i, path, sizeof(path));
		if (unlink(path) != 0)
			tap_bail("unlink %s", path);
	}
	rm_index(root);
	ok(restore(root, NULL, &r) == 0 && r.dropped == 1 &&
	   r.dropped_cids[0] == victim,
	   "a container cleaned away after the checkpoint is reported dropped "
	   "(%llu)", (unsigned long long)victim);
	show(&r);
	s = open_at(root);
	if (!s)
		tap_bail("open");
	ok(segdata_check(s, SEED, 0, 2000) == nseg,
	   "only its %u segments are gone; the other %u read", nseg,
	   2000 - nseg);
	store_get_stats(s, &st);
	ok(st.containers == before.containers - 1 &&
	   st.segments == before.segments - nseg,
	   "the counters lost one container and %u segments", nseg);
	ok(segdata_put(s, SEED, 0, 2000, NULL) == 0 && store_flush(s) == 0 &&
	   segdata_check(s, SEED, 0, 2000) == 0,
	   "its segments can be stored again");
	tstore_close(s);
}

/* A container sealed after the checkpoint with too few fragments left:
 * reported unreadable, its remains left in place. */
static void test_unreadable(const char *root)
{
	char path[1200];
	store_restore_report r;
	store_stats ck;
	uint64_t victim;
	store *s = open_at(root);

	if (!s || segdata_put(s, SEED, 0, 500, NULL) || store_flush(s) ||
	    store_checkpoint(s, NULL, 0, NULL, 0))
		tap_bail("setup");
	store_get_stats(s, &ck);
	if (segdata_put(s, SEED, 500, 1000, NULL) || store_flush(s))
		tap_bail("put");
	tstore_close(s);
	victim = ck.containers + 2;	/* sealed after the checkpoint */
	for (int i = 0; i < 3; i++) {
		segdata_frag_path(root, victim, i, path, sizeof(path));
		if (unlink(path) != 0)
			tap_bail("unlink %s", path);
	}
	rm_index(root);
	ok(restore(root, NULL, &r) == 0 && r.unreadable == 1 &&
	   r.unreadable_cids[0] == victim && r.dropped == 0,
	   "a container with 3 of 6 fragments left is reported unreadable");
	segdata_frag_path(root, victim, 4, path, sizeof(path));
	ok(file_exists(path), "and its remaining fragments are left in place");
	s = open_at(root);
	ok(s && segdata_check(s, SEED, 0, 500) == 0,
	   "everything before the checkpoint reads");
	tstore_close(s);
}

/* keep N, the list, and the refusals. */
static void test_prune_and_refusals(const char *root)
{
	char names[5][STORE_CKPT_NAME_MAX], dir[900];
	char other[STORE_CKPT_NAME_MAX];
	store_restore_report r;
	store_config c;
	int n, rc;
	store *s = open_at(root);

	if (!s || segdata_put(s, SEED, 0, 300, NULL) || store_flush(s))
		tap_bail("setup");
	snprintf(dir, sizeof(dir), "%s/elsewhere", root);
	rc = 0;
	for (int i = 0; i < 5 && rc == 0; i++)
		rc = store_checkpoint(s, dir, 3, names[i], sizeof(names[i]));
	n = count_ckpts(dir);
	ok(rc == 0 && n == 3, "five checkpoints with keep 3 leave 3 (%d)", n);
	{
		/* A second store with checkpoints in the same directory:
		 * each prunes only its own. */
		char root2[1000];
		store *s2;

		snprintf(root2, sizeof(root2), "%s/second", root);
		s2 = open_at(root2);
		rc = s2 ? 0 : -1;
		for (int i = 0; i < 4 && rc == 0; i++)
			rc = store_checkpoint(s2, dir, 2, other, sizeof(other));
		ok(rc == 0 && count_ckpts(dir) == 5 &&
		   file_exists(tpath(dir, names[4])),
		   "a second store sharing the directory keeps its 2 and "
		   "leaves the first one's 3 (%d in all)", count_ckpts(dir));
		if (s2)
			tstore_close(s2);
	}
	ok(!file_exists(tpath(dir, names[1])) &&
	   strcmp(names[3], names[4]) != 0 &&
	   file_exists(tpath(dir, names[2])) &&
	   file_exists(tpath(dir, names[4])),
	   "the oldest went; names taken in the same second differ (%s, %s)",
	   names[3], names[4]);

	config(&c, root);
	rc = store_restore_checkpoint(&c, dir, NULL, NULL, NULL, &r);
	ok(rc == -EBUSY && strstr(ddterr_last(rc), "in use"),
	   "a restore on an open store is refused: %s", ddterr_last(rc));
	ok(segdata_check(s, SEED, 0, 300) == 0, "and the store goes on");
	tstore_close(s);

	rc = store_restore_checkpoint(&c, dir, "ckpt-19990101T000000Z", NULL, NULL, &r);
	ok(rc == -ENOENT && strstr(ddterr_last(rc), "ckpt-19990101T000000Z") &&
	   !strchr(ddterr_last(rc), '\n'),
	   "a missing checkpoint is one clear line: %s", ddterr_last(rc));
	rc = store_restore_checkpoint(&c, tpath(root, "none"), NULL, NULL, NULL, &r);
	ok(rc == -ENOENT && strstr(ddterr_last(rc), "no checkpoints"),
	   "an empty checkpoint directory: %s", ddterr_last(rc));

	/* The wrong disks: nothing the checkpoint lists is there (as many
	 * as the default code on one file system has: 8 + 1). */
	c.ndirs = STORE_EC_SHARED_K + STORE_EC_SHARED_M;
	for (int i = 0; i < c.ndirs; i++) {
		static char d[STORE_MAX_DIRS][1200];

		snprintf(d[i], sizeof(d[i]), "%s/wrong%d", root, i);
		c.dirs[i] = d[i];
	}
	rc = store_restore_checkpoint(&c, dir, NULL, NULL, NULL, &r);
	ok(rc == -EIO && strstr(ddterr_last(rc), "data directories"),
	   "wrong data directories are refused: %s", ddterr_last(rc));
	s = open_at(root);
	ok(s && segdata_check(s, SEED, 0, 300) == 0,
	   "and the store is left as it was");
	tstore_close(s);
	config(&c, root);
	rc = store_restore_checkpoint(&c, dir, other, NULL, NULL, &r);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), "another store"),
	   "another store's checkpoint, named, is refused: %s",
	   ddterr_last(rc));
}

/* ---- online: checkpoints while a writer writes ---- */

typedef struct writer {
	store *s;
	uint64_t done;		/* segments acknowledged */
	int stop, err;
} writer;

static void *writer_main(void *arg)
{
	writer *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (segdata_put(w->s, SEED + 2, w->done, 64, NULL)) {
			w->err = 1;
			break;
		}
		__atomic_store_n(&w->done, w->done + 64, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_online(const char *root)
{
	store_restore_report r;
	writer w = { 0 };
	pthread_t t;
	int rc = 0, n = 0;

	w.s = open_at(root);
	if (!w.s || pthread_create(&t, NULL, writer_main, &w) != 0)
		tap_bail("setup");
	for (int i = 0; i < 4 && rc == 0; i++) {
		while (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) < (i + 1) * 1000u &&
		       !w.err)
			usleep(1000);
		rc = store_checkpoint(w.s, NULL, 2, NULL, 0);
		n++;
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	ok(rc == 0 && !w.err && count_ckpts(tpath(root, "checkpoints")) == 2,
	   "%d checkpoints taken while a writer stored %llu segments; 2 kept",
	   n, (unsigned long long)w.done);
	tstore_close(w.s);
	rm_index(root);
	ok(restore(root, NULL, &r) == 0 && r.dropped == 0 && r.unreadable == 0,
	   "the newest restores");
	w.s = open_at(root);
	ok(w.s && segdata_check(w.s, SEED + 2, 0, w.done) == 0,
	   "and all %llu segments read back", (unsigned long long)w.done);
	tstore_close(w.s);
}

/* A checkpoint directory on another file system: RocksDB copies instead
 * of linking. /dev/shm is one where it is a tmpfs of its own. */
static void test_other_fs(const char *root)
{
	store_restore_report r;
	struct stat a, b;
	store_config c;
	char *dir;
	store *s;

	s = open_at(root);
	if (!s || segdata_put(s, SEED, 0, 300, NULL) || store_flush(s))
		tap_bail("setup");
	if (stat("/dev/shm", &b) != 0 || stat(root, &a) != 0 ||
	    a.st_dev == b.st_dev) {
		tstore_close(s);
		ok(1, "# SKIP no second file system at /dev/shm");
		return;
	}
	setenv("TMPDIR", "/dev/shm", 1);
	dir = tap_tmpdir("ckpt-shm");
	unsetenv("TMPDIR");
	ok(store_checkpoint(s, dir, 0, NULL, 0) == 0 && count_ckpts(dir) == 1,
	   "a checkpoint on another file system (%s)", dir);
	tstore_close(s);
	rm_index(root);
	config(&c, root);
	ok(store_restore_checkpoint(&c, dir, NULL, NULL, NULL, &r) == 0 &&
	   (s = open_at(root)) && segdata_check(s, SEED, 0, 300) == 0,
	   "restores from there");
	tstore_close(s);
	tap_rmtree(dir);
	free(dir);
}

/* ---- a writer killed mid-stream ---- */

#define KBATCH	32

static void child(const char *root, int fd)
{
	store *s = open_at(root);
	uint32_t b;

	if (!s)
		_exit(2);
	for (b = 0; b < 100000; b++) {
		if (segdata_put(s, SEED + 1, (uint64_t)b * KBATCH, KBATCH, NULL))
			_exit(3);
		if (b == 20 && store_checkpoint(s, NULL, 0, NULL, 0))
			_exit(4);
		if (write(fd, &b, sizeof(b)) != sizeof(b))
			_exit(5);
	}
	_exit(0);
}

static void test_killed(const char *root)
{
	store_restore_report r;
	int p[2], status;
	uint32_t b;
	long acked = 0;
	pid_t pid;
	store *s;

	if (pipe(p) != 0 || (pid = fork()) < 0)
		tap_bail("fork");
	if (pid == 0) {
		close(p[0]);
		child(root, p[1]);
	}
	close(p[1]);
	while (read(p[0], &b, sizeof(b)) == sizeof(b)) {
		acked = (long)b + 1;
		if (acked >= 120) {
			kill(pid, SIGKILL);
			break;
		}
	}
	while (read(p[0], &b, sizeof(b)) == sizeof(b))
		acked = (long)b + 1;
	close(p[0]);
	waitpid(pid, &status, 0);
	if (acked < 120)
		tap_bail("the writer stopped early (status %d)", status);
	rm_index(root);
	ok(restore(root, NULL, &r) == 0, "a store whose writer was killed "
	   "restores");
	show(&r);
	s = open_at(root);
	ok(s && segdata_check(s, SEED + 1, 0, (size_t)acked * KBATCH) == 0,
	   "every one of the %ld acknowledged batches reads back", acked);
	ok(s && segdata_put(s, SEED + 1, (uint64_t)acked * KBATCH, 500, NULL)
	   == 0 && store_flush(s) == 0 &&
	   segdata_check(s, SEED + 1, 0, (size_t)acked * KBATCH + 500) == 0,
	   "and it takes new writes");
	tstore_close(s);
}

int main(void)
{
	char *root = tap_tmpdir("ckpt");

	/* First: RocksDB's background threads, once started, do not survive
	 * a fork, and the killed writer's checkpoint needs them. */
	run_in(root, "killed", test_killed);
	run_in(root, "restore", test_restore);
	run_in(root, "dropped", test_dropped);
	run_in(root, "unreadable", test_unreadable);
	run_in(root, "prune", test_prune_and_refusals);
	run_in(root, "online", test_online);
	run_in(root, "otherfs", test_other_fs);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
