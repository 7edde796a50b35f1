/* test_store_crash.c - what store_put acknowledged survives a crash.
 *
 * A child process writes batches and reports each acknowledged batch
 * through a pipe; the parent kills it with SIGKILL at a random moment (or
 * the child dies at an armed write in the middle of a journal, fragment or
 * directory write), then reopens the store and reads every acknowledged
 * segment back. Small containers make the kill land in a seal often. */
#include "store.h"
#include "ddterr.h"
#include "fio.h"
#include "segdata.h"
#include "tap.h"
#include "tstore.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#define BATCH	64
#define ROUNDS	6
#define CONTAINER_SIZE	(128 * 1024)

/* The child: put batches of seed until killed, writing the number of each
 * acknowledged batch to fd. With crash_after >= 0 it dies by itself at that
 * write. */
static void child(const char *root, uint64_t seed, int fd, long crash_after)
{
	store *s = segdata_open(root, CONTAINER_SIZE);

	if (!s)
		_exit(2);
	if (crash_after >= 0)
		fio_fault_arm(FIO_FAULT_CRASH, crash_after, 0);
	for (uint32_t b = 0; b < 100000; b++) {
		segbatch sb;

		if (segbatch_make(&sb, seed, (uint64_t)b * BATCH, BATCH) != 0)
			_exit(3);
		if (store_put(s, sb.segs, sb.n, NULL) != 0)
			_exit(4);
		segbatch_free(&sb);
		if (write(fd, &b, sizeof(b)) != sizeof(b))
			_exit(5);
	}
	_exit(0);
}

/* Run one child; returns how many batches it acknowledged, -1 on error. */
static long run_child(const char *root, uint64_t seed, int kill_after_acks,
		      long crash_after, int *out_status)
{
	int p[2];
	uint32_t b;
	long acked = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		child(root, seed, p[1], crash_after);
	}
	close(p[1]);
	while (read(p[0], &b, sizeof(b)) == sizeof(b)) {
		acked = (long)b + 1;
		if (crash_after < 0 && acked >= kill_after_acks) {
			kill(pid, SIGKILL);
			break;
		}
	}
	/* Acknowledgements already in the pipe count too. */
	while (read(p[0], &b, sizeof(b)) == sizeof(b))
		acked = (long)b + 1;
	close(p[0]);
	waitpid(pid, out_status, 0);
	return acked;
}

int main(void)
{
	char *root = tap_tmpdir("crash");
	long acked[2 * ROUNDS];
	int status, nround = 0;
	unsigned seed = (unsigned)time(NULL);

	diag("random seed %u", seed);
	srand(seed);
	for (int r = 0; r < 2 * ROUNDS; r++, nround++) {
		int by_fault = r >= ROUNDS;
		long crash_at = by_fault ? 20 + rand() % 400 : -1;
		int kill_at = 3 + rand() % 40;
		size_t bad = 0;
		store *s;

		acked[r] = run_child(root, 1000 + (uint64_t)r, kill_at,
				     crash_at, &status);
		if (by_fault)
			ok(WIFEXITED(status) && WEXITSTATUS(status) == FIO_CRASH_STATUS,
			   "round %d: the child died at write %ld (status 0x%x)",
			   r, crash_at, status);
		else
			ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			   "round %d: the child was killed after %ld acknowledged "
			   "batches", r, acked[r]);
		s = segdata_open(root, CONTAINER_SIZE);
		if (!s) {
			ok(0, "round %d: the store reopens", r);
			continue;
		}
		for (int q = 0; q <= r; q++)
			bad += segdata_check(s, 1000 + (uint64_t)q, 0,
					     (size_t)acked[q] * BATCH);
		ok(bad == 0, "round %d: every acknowledged segment of rounds "
		   "0..%d reads back (%zu bad)", r, r, bad);
		tstore_close(s);
	}

	/* After all that the store still takes writes and seals. */
	{
		store *s = segdata_open(root, CONTAINER_SIZE);
		segbatch sb;
		int rc = -1;

		if (s && segbatch_make(&sb, 5, 0, 500) == 0) {
			rc = store_put(s, sb.segs, sb.n, NULL);
			if (rc == 0)
				rc = store_flush(s);
			segbatch_free(&sb);
		}
		ok(rc == 0 && segdata_check(s, 5, 0, 500) == 0,
		   "the store takes, seals and reads new data after %d crashes",
		   nround);
		tstore_close(s);
	}
	tap_rmtree(root);
	free(root);
	return tap_done();
}
