/* test_store_faults.c - bad disks and bad bytes: a full disk or an I/O
 * error while writing the journal or sealing, an fsync that fails, a data
 * directory that cannot be made, a container whose fragments are intact but
 * whose header is not, a second process on the same store. Each gives a
 * clear error, and nothing stored before is lost. */
#include "store.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"
#include "segdata.h"
#include "path.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTAINER_SIZE	(256 * 1024)

static void test_journal_full(const char *root)
{
	store *s = segdata_open(root, CONTAINER_SIZE);
	int rc;

	/* Flushed first, so no seal runs while the fault is armed. */
	if (!s || segdata_put(s, 1, 0, 100, NULL) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 1);
	ddterr_clear();
	rc = segdata_put(s, 1, 100, 20, NULL);
	ok(rc == -ENOSPC && strstr(ddterr_last(rc), "journal"),
	   "a full disk under the journal fails the put: %s", ddterr_last(rc));
	rc = segdata_put(s, 1, 100, 20, NULL);
	ok(rc == -ENOSPC, "and keeps failing while the disk is full");
	fio_fault_clear();
	ok(segdata_check(s, 1, 0, 100) == 0, "earlier segments still read");
	rc = segdata_put(s, 1, 100, 20, NULL);
	ok(rc == 0 && segdata_check(s, 1, 0, 120) == 0,
	   "once space is back the same batch goes in and reads back");
	tstore_close(s);
	s = segdata_open(root, CONTAINER_SIZE);
	ok(s && segdata_check(s, 1, 0, 120) == 0, "and survives a reopen");
	tstore_close(s);
}

static void test_torn_journal_write(const char *root)
{
	store *s = segdata_open(root, CONTAINER_SIZE);
	int rc;

	/* Small batches: the container never fills, so the one write the
	 * fault tears is the journal's. */
	if (!s || segdata_put(s, 2, 0, 10, NULL) != 0)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_SHORT, 0, 0);
	rc = segdata_put(s, 2, 50, 10, NULL);
	fio_fault_clear();
	ok(rc == -ENOSPC, "a torn journal write fails the put: %s",
	   ddterr_last(rc));
	rc = segdata_put(s, 2, 100, 10, NULL);
	ok(rc == 0, "the next put works (%s)", rc ? ddterr_last(rc) : "ok");
	tstore_close(s);
	s = segdata_open(root, CONTAINER_SIZE);
	ok(s && segdata_check(s, 2, 0, 10) == 0 && segdata_check(s, 2, 100, 10) == 0,
	   "after reopen both acknowledged batches read back");
	tstore_close(s);
}

static void test_fsync_error(const char *root)
{
	store *s = segdata_open(root, CONTAINER_SIZE);
	int rc;

	if (!s)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 0, 0);
	ddterr_clear();
	rc = segdata_put(s, 3, 0, 10, NULL);
	fio_fault_clear();
	ok(rc == -EIO, "a failed fsync fails the put: %s", ddterr_last(rc));
	ok(segdata_put(s, 3, 0, 10, NULL) == 0 &&
	   segdata_check(s, 3, 0, 10) == 0,
	   "a retry succeeds and reads back");
	tstore_close(s);
}

/* Enough data for several containers, then a disk that fills while the
 * sealer writes fragments. */
static void test_seal_full(const char *root)
{
	store *s = segdata_open(root, CONTAINER_SIZE);
	int rc;

	if (!s || segdata_put(s, 4, 0, 200, NULL) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	/* A few segments: they fit the open container, so nothing is sealed
	 * until the flush, whose one write before the seal is the new
	 * container's journal header; the fault lets that one through. */
	if (segdata_put(s, 4, 200, 10, NULL) != 0)
		tap_bail("put");
	fio_fault_arm(FIO_FAULT_ENOSPC, 1, 1);
	ddterr_clear();
	rc = store_flush(s);
	ok(rc == -ENOSPC && strstr(ddterr_last(rc), "cannot seal container"),
	   "a full disk while sealing is reported: %s", ddterr_last(rc));
	ok(segdata_check(s, 4, 0, 210) == 0,
	   "everything reads while the container waits to be sealed");
	fio_fault_clear();
	rc = store_flush(s);
	ok(rc == 0, "with space back the seal is retried and succeeds (%s)",
	   rc ? ddterr_last(rc) : "ok");
	tstore_close(s);
	s = segdata_open(root, CONTAINER_SIZE);
	ok(s && segdata_check(s, 4, 0, 210) == 0, "all of it after a reopen");
	tstore_close(s);

	/* A full disk and a close: the journal keeps it for the next open. */
	s = segdata_open(root, CONTAINER_SIZE);
	if (!s || segdata_put(s, 4, 300, 10, NULL) != 0)
		tap_bail("setup 2");
	fio_fault_arm(FIO_FAULT_ENOSPC, 1, 1);
	rc = store_flush(s);
	tstore_close(s);
	fio_fault_clear();
	s = segdata_open(root, CONTAINER_SIZE);
	ok(rc == -ENOSPC && s && segdata_check(s, 4, 0, 210) == 0 &&
	   segdata_check(s, 4, 300, 10) == 0,
	   "a store closed with an unsealable container reopens whole");
	tstore_close(s);
}

static void test_bad_dir(const char *root)
{
	char path[1024];
	store_config c;
	store *s = NULL;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/data", root);
	if (path_mkdir_p(root, 0755) != 0)
		tap_bail("mkdir");
	/* A file where the data directories should go; as root, permission
	 * bits would not stop us, but a file does. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		tap_bail("create %s", path);
	close(fd);
	store_config_default(&c, root);
	ddterr_clear();
	rc = tstore_open(&s, &c);
	ok(rc < 0 && s == NULL && strstr(ddterr_last(rc), "storage directory"),
	   "an unusable data directory is refused: %s", ddterr_last(rc));
}

static void test_busy(const char *root)
{
	store *s = segdata_open(root, CONTAINER_SIZE), *s2 = NULL;
	store_config c;
	int rc;

	if (!s)
		tap_bail("setup");
	store_config_default(&c, root);
	ddterr_clear();
	rc = tstore_open(&s2, &c);
	ok(rc == -EBUSY && strstr(ddterr_last(rc), "in use"),
	   "a second open of the same store is refused: %s", ddterr_last(rc));
	tstore_close(s);
}

/* Fragment 0 of container 1, rewritten with a damaged container header but
 * a valid fragment CRC: the damage is caught by the container's own CRC. */
static void test_bad_container_header(const char *root)
{
	char path[1024];
	frag_hdr want = { .cid = 1, .k = 4, .m = 2, .index = 0 };
	uint8_t *payload;
	uint32_t clen;
	struct stat st;
	store *s = segdata_open(root, CONTAINER_SIZE);
	size_t bad;

	if (!s || segdata_put(s, 6, 0, 200, NULL) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	tstore_close(s);
	segdata_frag_path(root, 1, 0, path, sizeof(path));
	if (stat(path, &st) != 0)
		tap_bail("stat %s", path);
	want.payload_len = (uint32_t)(st.st_size - FRAG_DATA_OFF);
	payload = malloc(want.payload_len);
	if (!payload || frag_read(path, &want, payload, &clen) != 0)
		tap_bail("frag_read");
	payload[0] ^= 0xff;	/* the container magic */
	want.container_len = clen;
	if (frag_write(path, &want, payload) != 0)
		tap_bail("frag_write");
	free(payload);

	s = segdata_open(root, CONTAINER_SIZE);
	ok(s != NULL, "the store opens with a damaged container header");
	if (s) {
		uint8_t buf[16 * 1024], raw[16 * 1024];
		size_t len, n;
		fp_t fp;
		int rc = 0, first = 0;

		bad = 0;
		for (int i = 0; i < 200; i++) {
			n = segdata_raw(6, (uint64_t)i, raw);
			fp_compute(&fp, raw, n);
			ddterr_clear();
			rc = store_read(s, &fp, buf, sizeof(buf), &len);
			if (rc != 0 && !bad++) {
				first = rc;
				diag("first failure: %s", ddterr_last(rc));
			}
		}
		ok(bad > 0 && bad < 200 && first == -EBADMSG,
		   "a damaged container header fails only its own segments "
		   "(%zu), with -EBADMSG", bad);
	}
	tstore_close(s);
}

int main(void)
{
	char *root = tap_tmpdir("faults");

	run_in(root, "jfull", test_journal_full);
	run_in(root, "torn", test_torn_journal_write);
	run_in(root, "fsync", test_fsync_error);
	run_in(root, "sealfull", test_seal_full);
	run_in(root, "baddir", test_bad_dir);
	run_in(root, "busy", test_busy);
	run_in(root, "badhdr", test_bad_container_header);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
