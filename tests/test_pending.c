/* test_pending.c - segments sent and not committed count (issue 15 item
 * 9, PROTOCOL.md "Segments sent and not committed"): over a raw socket,
 * a session that names no storage unit may send upload_slack_mb (1 here)
 * and no more; one writing a unit with a quota may not send past the
 * quota, counting what it and others sent and did not commit; a COMMIT
 * settles what it binds; a closed session's uploads stop counting; and
 * STATUS's uncommitted_bytes says what is pending. */
#include <openssl/rand.h>

#include "ddterr.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "daemon.h"
#include "rawwire.h"

#define SEG	(100 * 1024)	/* bytes of each random segment */

static test_daemon d;

/* n random segments sent raw in one SEG_PUT; their fingerprints into fps
 * (may be NULL). The status. */
static int send_random(int fd, int n, fp_t *fps, char *msg)
{
	static uint8_t buf[SEG];
	wbuf p;
	int st;

	wb_init(&p);
	wb_u32(&p, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		fp_t f;

		RAND_bytes(buf, sizeof(buf));
		fp_compute(&f, buf, sizeof(buf));
		if (fps)
			fps[i] = f;
		wb_fp(&p, &f);
		wb_u8(&p, 0);
		wb_u32(&p, SEG);
		wb_u32(&p, SEG);
		wb_bytes(&p, buf, SEG);
	}
	st = wire_call(fd, DDT_OP_SEG_PUT, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

static int quota_1mib(int fd, const char *su, char *msg)
{
	wbuf p;
	int st;

	wb_init(&p);
	wb_str(&p, su);
	wb_u32(&p, DDT_SU_SET_QUOTA);
	wb_u64(&p, 0);
	wb_u8(&p, 0);
	wb_u64(&p, 1 << 20);
	st = wire_call(fd, DDT_OP_SU_SET, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

int main(void)
{
	static const char *const extra[] = { "--set", "upload_slack_mb=1",
					     NULL };
	char *root = tap_tmpdir("pending"), store[256], msg[DDT_MAX_STR + 1];
	char id[DDT_MAX_STR + 1];
	uint64_t uroot, bino, ino;
	fp_t fps[7];
	int fd, fd2, st;

	snprintf(store, sizeof(store), "%s/store", root);
	if (daemon_start(&d, store, extra) < 0)
		tap_bail("ddtargetd did not start");
	fd = wire_admin_login(&d);
	if (wire_su_create(fd, "u", &uroot, msg) || quota_1mib(fd, "u", msg))
		tap_bail("unit u: %s", msg);

	/* ---- before the session names a unit ---- */
	st = send_random(fd, 6, NULL, msg);
	ok(st == 0, "600 KiB sent before naming a unit: under the 1 MiB "
	   "slack (%s)", msg);
	st = send_random(fd, 6, NULL, msg);
	ok(st == DDT_EDQUOT && strstr(msg, "before it named a storage unit"),
	   "600 KiB more: DDT_EDQUOT, in one line: %s", msg);
	ok(wire_status_key(fd, "uncommitted_bytes") == 6 * SEG,
	   "STATUS uncommitted_bytes: the 600 KiB taken");
	close(fd);
	sleep_ms(200);
	fd = wire_admin_login(&d);
	ok(wire_status_key(fd, "uncommitted_bytes") == 0,
	   "the session closed: nothing pending");

	/* ---- writing a unit with a quota of 1 MiB ---- */
	if (wire_backup_begin(fd, "u", "b", id, &bino, msg))
		tap_bail("BACKUP_BEGIN: %s", msg);
	st = send_random(fd, 7, fps, msg);
	ok(st == 0, "700 KiB sent into unit u (quota 1 MiB)");
	fd2 = wire_admin_login(&d);
	if (wire_backup_begin(fd2, "u", "c", id, &bino, msg))
		tap_bail("BACKUP_BEGIN 2: %s", msg);
	st = send_random(fd2, 5, NULL, msg);
	ok(st == DDT_EDQUOT && strstr(msg, "sent and not committed yet"),
	   "another session's 500 KiB more into u: DDT_EDQUOT, what was "
	   "sent counts: %s", msg);
	close(fd2);
	st = wire_commit(fd, bino, "f1", SEG, 0, &fps[0], &ino, msg);
	ok(st == 0, "a COMMIT of 100 KiB of it");
	ok(wire_status_key(fd, "uncommitted_bytes") == 6 * SEG,
	   "settles 100 KiB: 600 KiB pending");
	st = send_random(fd, 3, NULL, msg);
	ok(st == 0, "300 KiB more fits again (100 + 600 + 300 KiB)");
	st = send_random(fd, 1, NULL, msg);
	ok(st == DDT_EDQUOT, "and 100 KiB past it does not: %s", msg);
	close(fd);
	daemon_stop(&d, SIGTERM);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
