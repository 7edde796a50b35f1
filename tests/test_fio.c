/* test_fio.c - the file-I/O layer does what it says, and every fault it
 * can inject behaves as fio.h describes: which call fails, how many bytes
 * land, whether it fires once or stays, and that a crash really kills the
 * process mid-write (checked from the parent of a fork()ed child). */
#include "fio.h"
#include "path.h"
#include "tap.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *dir;

#define path_of(name) tpath(dir, name)

/* A fresh empty file opened for writing. */
static int fresh(const char *name)
{
	int fd;

	if (fio_open(path_of(name), O_CREAT | O_TRUNC | O_RDWR, 0644, &fd))
		tap_bail("open %s", name);
	return fd;
}

static void test_atomic_round_trip(void)
{
	enum { N = 1 << 20 };
	uint8_t *buf = malloc(N);
	void *got = NULL;
	size_t n = 0;
	int rc;

	if (!buf)
		tap_bail("malloc");
	rnd_fill(buf, N);
	rc = fio_write_file_atomic(path_of("f1"), buf, N);
	ok(rc == 0 && !file_exists(path_of("f1.tmp")),
	   "write_file_atomic writes 1 MiB and leaves no .tmp (rc %d)", rc);
	rc = fio_read_file(path_of("f1"), &got, &n);
	ok(rc == 0 && n == N && memcmp(got, buf, N) == 0,
	   "read_file gives the same bytes back");
	free(got);

	rc = fio_write_file_atomic(path_of("f1"), "short", 5);
	got = NULL;
	if (rc == 0)
		rc = fio_read_file(path_of("f1"), &got, &n);
	ok(rc == 0 && n == 5 && memcmp(got, "short", 5) == 0,
	   "rewriting with fewer bytes replaces the file wholly");
	free(got);

	got = NULL;
	rc = fio_write_file_atomic(path_of("empty"), buf, 0);
	if (rc == 0)
		rc = fio_read_file(path_of("empty"), &got, &n);
	ok(rc == 0 && n == 0 && got != NULL,
	   "an empty file round-trips with a freeable buffer");
	free(got);

	got = NULL;
	ok(fio_read_file(path_of("nope"), &got, &n) == -ENOENT && got == NULL,
	   "reading a missing file gives -ENOENT");
	ok(fio_read_file(dir, &got, &n) == -EISDIR, "reading a directory "
	   "gives -EISDIR");
	ok(fio_write_file_atomic(path_of("no/such/dir/f"), buf, 10) == -ENOENT,
	   "writing into a missing directory gives -ENOENT");
	free(buf);
}

static void test_basics(void)
{
	uint8_t b[100], r[200];
	size_t n = 0;
	int fd = fresh("b"), fd2, rc;

	memset(b, 0x5A, sizeof(b));
	rc = fio_pwrite(fd, b, sizeof(b), 50);
	ok(rc == 0 && file_size(path_of("b")) == 150,
	   "pwrite at an offset extends the file");
	rc = fio_pread(fd, r, sizeof(r), 0, &n);
	ok(rc == 0 && n == 150 && r[0] == 0 && r[49] == 0 && r[50] == 0x5A &&
	   r[149] == 0x5A, "pread stops at end of file (%zu bytes)", n);
	ok(fio_truncate(fd, 10) == 0 && file_size(path_of("b")) == 10,
	   "truncate");
	ok(fio_fsync(fd) == 0 && fio_fsync_dir(dir) == 0, "fsync and "
	   "fsync_dir succeed");
	ok(fio_close(fd) == 0, "close");
	ok(fio_open(path_of("missing"), O_RDONLY, 0, &fd2) == -ENOENT,
	   "opening a missing file gives -ENOENT");
	ok(fio_rename(path_of("b"), path_of("c")) == 0 &&
	   !file_exists(path_of("b")) && file_exists(path_of("c")), "rename");
	ok(fio_unlink(path_of("c")) == 0 &&
	   fio_unlink(path_of("c")) == -ENOENT,
	   "unlink, and a second unlink reports -ENOENT");
	ok(fio_fsync_dir(path_of("missing")) == -ENOENT,
	   "fsync_dir of a missing directory gives -ENOENT");
}

static void test_mkdir_p(void)
{
	struct stat st;
	int fd;

	ok(path_mkdir_p(path_of("m/a/b/c"), 0755) == 0 &&
	   stat(path_of("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode),
	   "mkdir_p makes every level");
	ok(path_mkdir_p(path_of("m/a/b/c"), 0755) == 0 &&
	   path_mkdir_p(path_of("m/a"), 0755) == 0,
	   "existing directories are fine");
	ok(path_mkdir_p(path_of("m//x///y/"), 0755) == 0 &&
	   stat(path_of("m/x/y"), &st) == 0 && S_ISDIR(st.st_mode),
	   "repeated and trailing slashes are tolerated");
	fd = fresh("m/file");
	fio_close(fd);
	ok(path_mkdir_p(path_of("m/file"), 0755) == -ENOTDIR &&
	   path_mkdir_p(path_of("m/file/sub"), 0755) == -ENOTDIR,
	   "a file in the way gives -ENOTDIR");
	ok(path_mkdir_p("", 0755) == -ENOENT && path_mkdir_p(NULL, 0755) ==
	   -ENOENT, "an empty path gives -ENOENT");
	ok(path_mkdir_p("/", 0755) == 0, "\"/\" already exists");
}

static void test_faults(void)
{
	uint8_t b[1000];
	long before;
	int fd, rc, r1, r2, r3, r4, r5;

	memset(b, 0xC3, sizeof(b));

	fd = fresh("eio");
	before = fio_write_count();
	fio_fault_arm(FIO_FAULT_EIO, 0, 0);
	rc = fio_pwrite(fd, b, sizeof(b), 0);
	ok(rc == -EIO && file_size(path_of("eio")) == 0,
	   "EIO: the write fails with -EIO and nothing lands (rc %d)", rc);
	rc = fio_pwrite(fd, b, sizeof(b), 0);
	ok(rc == 0 && file_size(path_of("eio")) == 1000,
	   "a one-shot fault fires once; the next write succeeds");
	ok(fio_write_count() - before == 2, "fio_write_count counts failed "
	   "and successful writes (%ld)", fio_write_count() - before);
	fio_close(fd);

	fd = fresh("enospc");
	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 0);
	rc = fio_pwrite(fd, b, sizeof(b), 0);
	ok(rc == -ENOSPC && file_size(path_of("enospc")) == 0,
	   "ENOSPC: -ENOSPC and nothing lands (rc %d)", rc);
	fio_close(fd);

	fd = fresh("short");
	fio_fault_arm(FIO_FAULT_SHORT, 0, 0);
	rc = fio_pwrite(fd, b, sizeof(b), 0);
	ok(rc == -ENOSPC && file_size(path_of("short")) == 500,
	   "SHORT: half the bytes land, then -ENOSPC (rc %d, size %ld)", rc,
	   file_size(path_of("short")));
	fio_close(fd);

	fd = fresh("sticky");
	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 1);
	r1 = fio_pwrite(fd, b, 10, 0);
	r2 = fio_pwrite(fd, b, 10, 0);
	r3 = fio_pwrite(fd, b, 10, 0);
	ok(r1 == -ENOSPC && r2 == -ENOSPC && r3 == -ENOSPC &&
	   file_size(path_of("sticky")) == 0,
	   "a sticky fault fails every later write (a disk that stays full)");
	fio_fault_clear();
	ok(fio_pwrite(fd, b, 10, 0) == 0, "fio_fault_clear ends it");

	fio_fault_arm(FIO_FAULT_EIO, 3, 0);
	r1 = fio_pwrite(fd, b, 10, 0);
	r2 = fio_pwrite(fd, b, 10, 10);
	r3 = fio_pwrite(fd, b, 10, 20);
	r4 = fio_pwrite(fd, b, 10, 30);
	r5 = fio_pwrite(fd, b, 10, 40);
	ok(r1 == 0 && r2 == 0 && r3 == 0 && r4 == -EIO && r5 == 0 &&
	   file_size(path_of("sticky")) == 50,
	   "after=3: three writes succeed, the fourth fails, the fifth "
	   "succeeds (%d %d %d %d %d)", r1, r2, r3, r4, r5);

	fio_fault_arm(FIO_FAULT_EIO, 2, 1);
	r1 = fio_pwrite(fd, b, 10, 0);
	r2 = fio_pwrite(fd, b, 10, 0);
	r3 = fio_pwrite(fd, b, 10, 0);
	r4 = fio_pwrite(fd, b, 10, 0);
	ok(r1 == 0 && r2 == 0 && r3 == -EIO && r4 == -EIO,
	   "sticky with after=2: two succeed, then all fail");
	fio_fault_arm(FIO_FAULT_NONE, 0, 0);
	ok(fio_pwrite(fd, b, 10, 0) == 0, "arming FIO_FAULT_NONE disarms");

	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 1, 0);
	r1 = fio_pwrite(fd, b, 10, 0);
	r2 = fio_fsync(fd);
	r3 = fio_pwrite(fd, b, 10, 0);
	r4 = fio_fsync(fd);
	r5 = fio_fsync(fd);
	ok(r1 == 0 && r2 == 0 && r3 == 0 && r4 == -EIO && r5 == 0,
	   "FSYNC_EIO after=1: writes are not counted, the second fsync "
	   "fails, the third succeeds (%d %d %d %d %d)", r1, r2, r3, r4, r5);
	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 0, 0);
	r1 = fio_fsync_dir(dir);
	r2 = fio_fsync_dir(dir);
	ok(r1 == -EIO && r2 == 0, "a directory fsync counts for FSYNC_EIO");
	fio_fault_arm(FIO_FAULT_EIO, 0, 0);
	r1 = fio_fsync(fd);
	r2 = fio_pwrite(fd, b, 10, 0);
	ok(r1 == 0 && r2 == -EIO, "a write fault is not consumed by fsync");
	fio_fault_clear();
	fio_close(fd);
}

static void test_atomic_under_faults(void)
{
	void *got = NULL;
	size_t n = 0;
	uint8_t b[4000];
	int rc;

	memset(b, 0x11, sizeof(b));
	if (fio_write_file_atomic(path_of("a"), "old contents", 12) != 0)
		tap_bail("write a");

	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 0);
	rc = fio_write_file_atomic(path_of("a"), b, sizeof(b));
	ok(rc == -ENOSPC, "write_file_atomic reports ENOSPC (rc %d)", rc);
	fio_fault_arm(FIO_FAULT_SHORT, 0, 0);
	rc = fio_write_file_atomic(path_of("a"), b, sizeof(b));
	ok(rc == -ENOSPC, "write_file_atomic reports a torn write (rc %d)", rc);
	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 0, 0);
	rc = fio_write_file_atomic(path_of("a"), b, sizeof(b));
	ok(rc == -EIO, "write_file_atomic reports a failed fsync (rc %d)", rc);
	fio_fault_clear();
	rc = fio_read_file(path_of("a"), &got, &n);
	ok(rc == 0 && n == 12 && memcmp(got, "old contents", 12) == 0 &&
	   !file_exists(path_of("a.tmp")),
	   "after all three failures the old file is intact and no .tmp "
	   "is left");
	free(got);
}

/* Run fn in a child; returns its wait status. */
static int in_child(void (*fn)(void))
{
	int st = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (pid == 0) {
		fn();
		_exit(0);	/* the crash did not happen */
	}
	if (waitpid(pid, &st, 0) != pid)
		tap_bail("waitpid");
	return st;
}

static uint8_t crash_buf[10000];

static void child_crash_now(void)
{
	int fd = fresh("crash1");

	fio_fault_arm(FIO_FAULT_CRASH, 0, 0);
	fio_pwrite(fd, crash_buf, sizeof(crash_buf), 0);
}

static void child_crash_third(void)
{
	int fd = fresh("crash2");

	fio_fault_arm(FIO_FAULT_CRASH, 2, 0);
	for (int i = 0; i < 5; i++)
		fio_pwrite(fd, crash_buf, 1000, (off_t)i * 1000);
}

static void test_crash(void)
{
	void *got = NULL;
	size_t n = 0;
	int st, rc;

	rnd_fill(crash_buf, sizeof(crash_buf));
	st = in_child(child_crash_now);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == FIO_CRASH_STATUS,
	   "CRASH: the child _exits with FIO_CRASH_STATUS (%d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	rc = fio_read_file(path_of("crash1"), &got, &n);
	ok(rc == 0 && n == 5000 && memcmp(got, crash_buf, 5000) == 0,
	   "and the file holds the first half of the bytes (%zu of %zu)", n,
	   sizeof(crash_buf));
	free(got);

	got = NULL;
	st = in_child(child_crash_third);
	rc = fio_read_file(path_of("crash2"), &got, &n);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == FIO_CRASH_STATUS && rc == 0 &&
	   n == 2500 && memcmp(got, crash_buf, 1000) == 0 &&
	   memcmp((uint8_t *)got + 2000, crash_buf, 500) == 0,
	   "CRASH after=2: two whole writes and half the third (%zu bytes)",
	   n);
	free(got);
}

int main(void)
{
	rnd_seed(0xF10F10F10ull);
	dir = tap_tmpdir("fio");
	test_atomic_round_trip();
	test_basics();
	test_mkdir_p();
	test_faults();
	test_atomic_under_faults();
	test_crash();
	tap_rmtree(dir);
	free(dir);
	return tap_done();
}
