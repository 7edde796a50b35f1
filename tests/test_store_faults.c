/* test_store_faults.c - bad disks and bad bytes: a full disk or an I/O
 * error while writing the journal or sealing, an fsync that fails, a data
 * directory that cannot be made, a container whose fragments are intact but
 * whose header is not, a second process on the same store. Each gives a
 * clear error, and nothing stored before is lost. */
#include "store.h"
#include "ctrio.h"
#include "ddterr.h"
#include "fio.h"
#include "frag.h"
#include "segdata.h"
#include "tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static store *open_store(const char *root)
{
	store_config c;
	store *s = NULL;
	int rc;

	store_config_default(&c, root);
	c.container_size = 256 * 1024;
	rc = store_open(&s, &c);
	if (rc)
		diag("store_open %s: %s", root, ddterr_last(rc));
	return s;
}

static int put_range(store *s, uint64_t seed, uint64_t first, size_t n)
{
	segbatch b;
	int rc;

	if (segbatch_make(&b, seed, first, n) != 0)
		tap_bail("segbatch_make");
	rc = store_put(s, b.segs, b.n, NULL);
	segbatch_free(&b);
	return rc;
}

static void test_journal_full(const char *root)
{
	store *s = open_store(root);
	int rc;

	/* Flushed first, so no seal runs while the fault is armed. */
	if (!s || put_range(s, 1, 0, 100) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_ENOSPC, 0, 1);
	ddterr_clear();
	rc = put_range(s, 1, 100, 20);
	ok(rc == -ENOSPC && strstr(ddterr_last(rc), "journal"),
	   "a full disk under the journal fails the put: %s", ddterr_last(rc));
	rc = put_range(s, 1, 100, 20);
	ok(rc == -ENOSPC, "and keeps failing while the disk is full");
	fio_fault_clear();
	ok(segdata_check(s, 1, 0, 100) == 0, "earlier segments still read");
	rc = put_range(s, 1, 100, 20);
	ok(rc == 0 && segdata_check(s, 1, 0, 120) == 0,
	   "once space is back the same batch goes in and reads back");
	store_close(s);
	s = open_store(root);
	ok(s && segdata_check(s, 1, 0, 120) == 0, "and survives a reopen");
	store_close(s);
}

static void test_torn_journal_write(const char *root)
{
	store *s = open_store(root);
	int rc;

	/* Small batches: the container never fills, so the one write the
	 * fault tears is the journal's. */
	if (!s || put_range(s, 2, 0, 10) != 0)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_SHORT, 0, 0);
	rc = put_range(s, 2, 50, 10);
	fio_fault_clear();
	ok(rc == -ENOSPC, "a torn journal write fails the put: %s",
	   ddterr_last(rc));
	rc = put_range(s, 2, 100, 10);
	ok(rc == 0, "the next put works (%s)", rc ? ddterr_last(rc) : "ok");
	store_close(s);
	s = open_store(root);
	ok(s && segdata_check(s, 2, 0, 10) == 0 && segdata_check(s, 2, 100, 10) == 0,
	   "after reopen both acknowledged batches read back");
	store_close(s);
}

static void test_fsync_error(const char *root)
{
	store *s = open_store(root);
	int rc;

	if (!s)
		tap_bail("setup");
	fio_fault_arm(FIO_FAULT_FSYNC_EIO, 0, 0);
	ddterr_clear();
	rc = put_range(s, 3, 0, 10);
	fio_fault_clear();
	ok(rc == -EIO, "a failed fsync fails the put: %s", ddterr_last(rc));
	ok(put_range(s, 3, 0, 10) == 0 && segdata_check(s, 3, 0, 10) == 0,
	   "a retry succeeds and reads back");
	store_close(s);
}

/* Enough data for several containers, then a disk that fills while the
 * sealer writes fragments. */
static void test_seal_full(const char *root)
{
	store *s = open_store(root);
	int rc;

	if (!s || put_range(s, 4, 0, 200) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	/* A few segments: they fit the open container, so nothing is sealed
	 * until the flush, whose one write before the seal is the new
	 * container's journal header; the fault lets that one through. */
	if (put_range(s, 4, 200, 10) != 0)
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
	store_close(s);
	s = open_store(root);
	ok(s && segdata_check(s, 4, 0, 210) == 0, "all of it after a reopen");
	store_close(s);

	/* A full disk and a close: the journal keeps it for the next open. */
	s = open_store(root);
	if (!s || put_range(s, 4, 300, 10) != 0)
		tap_bail("setup 2");
	fio_fault_arm(FIO_FAULT_ENOSPC, 1, 1);
	rc = store_flush(s);
	store_close(s);
	fio_fault_clear();
	s = open_store(root);
	ok(rc == -ENOSPC && s && segdata_check(s, 4, 0, 210) == 0 &&
	   segdata_check(s, 4, 300, 10) == 0,
	   "a store closed with an unsealable container reopens whole");
	store_close(s);
}

static void test_bad_dir(const char *root)
{
	char path[1024];
	store_config c;
	store *s = NULL;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/data", root);
	if (fio_mkdir_p(root, 0755) != 0)
		tap_bail("mkdir");
	/* A file where the data directories should go; as root, permission
	 * bits would not stop us, but a file does. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		tap_bail("create %s", path);
	close(fd);
	store_config_default(&c, root);
	ddterr_clear();
	rc = store_open(&s, &c);
	ok(rc < 0 && s == NULL && strstr(ddterr_last(rc), "storage directory"),
	   "an unusable data directory is refused: %s", ddterr_last(rc));
}

static void test_busy(const char *root)
{
	store *s = open_store(root), *s2 = NULL;
	store_config c;
	int rc;

	if (!s)
		tap_bail("setup");
	store_config_default(&c, root);
	ddterr_clear();
	rc = store_open(&s2, &c);
	ok(rc == -EBUSY && strstr(ddterr_last(rc), "in use"),
	   "a second open of the same store is refused: %s", ddterr_last(rc));
	store_close(s);
}

/* Fragment 0 of container 1, rewritten with a damaged container header but
 * a valid fragment CRC: the damage is caught by the container's own CRC. */
static void test_bad_container_header(const char *root)
{
	char *dirs[6], p[1024], path[1024];
	frag_hdr want = { .cid = 1, .k = 4, .m = 2, .index = 0 };
	uint8_t *payload;
	uint32_t clen;
	struct stat st;
	cio_layout L;
	store *s = open_store(root);
	size_t bad;
	ec *e;

	if (!s || put_range(s, 6, 0, 200) != 0 || store_flush(s) != 0)
		tap_bail("setup");
	store_close(s);
	for (int i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/data/dir%d", root, i);
		dirs[i] = strdup(p);
	}
	ec_new(&e, 4, 2);
	L = (cio_layout){ .e = e, .ndirs = 6, .dirs = dirs };
	cio_frag_path(&L, 1, 0, path, sizeof(path));
	if (stat(path, &st) != 0)
		tap_bail("stat %s", path);
	want.payload_len = (uint32_t)(st.st_size - FRAG_HDR_LEN);
	payload = malloc(want.payload_len);
	if (!payload || frag_read(path, &want, payload, &clen) != 0)
		tap_bail("frag_read");
	payload[0] ^= 0xff;	/* the container magic */
	want.container_len = clen;
	if (frag_write(path, &want, payload) != 0)
		tap_bail("frag_write");
	free(payload);

	s = open_store(root);
	bad = s ? 200 - 0 : 0;
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
	store_close(s);
	for (int i = 0; i < 6; i++)
		free(dirs[i]);
	ec_free(e);
}

int main(void)
{
	char *root = tap_tmpdir("faults");
	char sub[512];

	snprintf(sub, sizeof(sub), "%s/jfull", root);
	test_journal_full(sub);
	snprintf(sub, sizeof(sub), "%s/torn", root);
	test_torn_journal_write(sub);
	snprintf(sub, sizeof(sub), "%s/fsync", root);
	test_fsync_error(sub);
	snprintf(sub, sizeof(sub), "%s/sealfull", root);
	test_seal_full(sub);
	snprintf(sub, sizeof(sub), "%s/baddir", root);
	test_bad_dir(sub);
	snprintf(sub, sizeof(sub), "%s/busy", root);
	test_busy(sub);
	snprintf(sub, sizeof(sub), "%s/badhdr", root);
	test_bad_container_header(sub);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
