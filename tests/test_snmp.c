/* test_snmp.c - ddtarget-snmp's parts that need no snmpd: the view's
 * GET and GETNEXT order (what snmpwalk relies on), the alert kinds'
 * notifications, the trap queue's order and bound while snmpd is away,
 * and the configuration's errors. tests/snmp.sh runs the whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddtc_types.h"
#include "ddterr.h"
#include "snmpconf.h"
#include "tap.h"
#include "trapq.h"
#include "view.h"

static void test_view(void)
{
	static const uint32_t a[] = { 1, 1, 1, 0 }, b[] = { 1, 1, 10, 0 },
			      c[] = { 1, 6, 1, 1, 2, 1 }, d[] = { 1, 6, 1, 1, 2, 10 },
			      pre[] = { 1, 6 }, mid[] = { 1, 1, 2 }, past[] = { 2 };
	view *v = view_new();
	const view_ent *e;

	if (!v)
		tap_bail("view_new");
	/* Added out of order, as the mapping adds them. */
	ok(view_add_num(v, d, 6, NULL, 0, VIEW_GAUGE, 4) == 0 &&
	   view_add_num(v, b, 4, NULL, 0, VIEW_GAUGE, 2) == 0 &&
	   view_add_str(v, c, 6, NULL, 0, "root", 255) == 0 &&
	   view_add_str(v, a, 2, a + 2, 2, "0.1.0", 255) == 0,
	   "four entries added");
	view_sort(v);
	e = view_find(v, b, 4, 0, 0);
	ok(e && e->num == 2, "GET finds an entry");
	ok(!view_find(v, mid, 3, 0, 0), "GET of a missing OID finds nothing");
	e = view_find(v, a, 4, 1, 0);
	ok(e && e->len == 4 && e->oid[2] == 10,
	   "GETNEXT: 1.1.10.0 follows 1.1.1.0 (numeric order, not text)");
	e = view_find(v, a, 4, 1, 1);
	ok(e && e->str && !strcmp(e->str, "0.1.0"),
	   "an inclusive GETNEXT takes the OID itself");
	e = view_find(v, pre, 2, 1, 0);
	ok(e && e->len == 6 && e->oid[5] == 1,
	   "GETNEXT of a prefix gives its first entry");
	e = view_find(v, c, 6, 1, 0);
	ok(e && e->num == 4, "1.6.1.1.2.10 follows 1.6.1.1.2.1");
	ok(!view_find(v, d, 6, 1, 0) && !view_find(v, past, 1, 1, 0),
	   "past the last entry: none (net-snmp asks the next subtree)");
	ok(view_add_num(v, a, 10, a, 10, VIEW_INT, 0) == -EINVAL,
	   "an OID longer than %d parts is refused", VIEW_OID_MAX);
	view_free(v);
}

static void test_str_cut(void)
{
	static const uint32_t o[] = { 1 };
	/* "aé" is 3 bytes; cut at 2 would split the é. */
	view *v = view_new();

	if (!v || view_add_str(v, o, 1, NULL, 0, "a\xc3\xa9", 2) < 0)
		tap_bail("view_add_str");
	ok(!strcmp(v->ents[0].str, "a"),
	   "a string cut to its SIZE is not cut inside a UTF-8 character");
	view_free(v);
}

static void test_kinds(void)
{
	static const struct {
		const char *id;
		int raised, sev, want;
	} k[] = {
		{ "space:dir0", 1, DDT_SEV_WARNING, TRAP_SPACE_WARNING },
		{ "space:root", 1, DDT_SEV_CRITICAL, TRAP_SPACE_CRITICAL },
		{ "space:dir0", 0, DDT_SEV_WARNING, TRAP_ALERT_CLEARED },
		{ "dir:dir1", 1, DDT_SEV_CRITICAL, TRAP_DIR_LOST },
		{ "dir:dir1", 0, DDT_SEV_CRITICAL, TRAP_DIR_BACK },
		{ "dirs-lost", 1, DDT_SEV_CRITICAL, TRAP_DIR_LOST },
		{ "scrub-lost", 1, DDT_SEV_CRITICAL, TRAP_SCRUB_FOUND_LOSS },
		{ "scrub-repaired", 1, DDT_SEV_WARNING, TRAP_SCRUB_REPAIRED },
		{ "scrub-unrepaired", 1, DDT_SEV_WARNING, TRAP_SCRUB_UNREPAIRED },
		{ "scrub-failed", 1, DDT_SEV_WARNING, TRAP_SCRUB_FAILED },
		{ "clean-failed", 1, DDT_SEV_WARNING, TRAP_CLEANING_FAILED },
		{ "quota-soft:u", 1, DDT_SEV_WARNING, TRAP_QUOTA_SOFT },
		{ "quota-hard:u", 1, DDT_SEV_CRITICAL, TRAP_QUOTA_HARD },
		{ "streams:u", 1, DDT_SEV_WARNING, TRAP_STREAM_SOFT },
		{ "streams-hard:u", 1, DDT_SEV_WARNING, TRAP_STREAM_HARD },
		{ "checkpoint-failed", 1, DDT_SEV_WARNING, TRAP_CHECKPOINT_FAILED },
		{ "anomaly:u", 1, DDT_SEV_WARNING, TRAP_DEDUP_ANOMALY },
		{ "anomaly:u", 0, DDT_SEV_WARNING, TRAP_ALERT_CLEARED },
		{ "something-new", 1, DDT_SEV_INFO, TRAP_ALERT_OTHER },
		{ "directory", 1, DDT_SEV_INFO, TRAP_ALERT_OTHER },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		ok(trapq_kind(k[i].id, k[i].raised, k[i].sev) == k[i].want,
		   "%s %s: notification %d", k[i].id,
		   k[i].raised ? "raised" : "cleared", k[i].want);
}

static void test_queue(void)
{
	trapq *q;
	trap_ev *list, *e;
	uint64_t dropped;
	char id[32];
	int n = 0, in_order = 1;

	if (trapq_new(&q) < 0)
		tap_bail("trapq_new");
	for (int i = 0; i < TRAPQ_MAX + 10; i++) {
		snprintf(id, sizeof(id), "dir:dir%d", i);
		if (trapq_push(q, id, "text", 1, DDT_SEV_CRITICAL, i) < 0)
			tap_bail("trapq_push");
	}
	list = trapq_take(q, &dropped);
	for (e = list; e; e = e->next, n++)
		in_order &= e->time_ns == n + 10;
	ok(n == TRAPQ_MAX && dropped == 10,
	   "past %d queued traps the oldest go (%d kept, %llu dropped)",
	   TRAPQ_MAX, n, (unsigned long long)dropped);
	ok(in_order, "the rest stay in order, oldest first");
	trapq_push(q, "late", "", 0, DDT_SEV_INFO, 0);
	trapq_unget(q, list);
	list = trapq_take(q, &dropped);
	for (e = list, n = 0; e && e->next; e = e->next)
		n++;
	ok(list && list->time_ns == 10 && e && !strcmp(e->id, "late") &&
	   dropped == 0, "traps put back go before those queued since");
	trapq_ev_free(list);
	ok(trapq_take(q, &dropped) == NULL, "and the queue is empty");
	trapq_free(q);
}

static int conf_err(const char *dir, const char *text, const char *want)
{
	char path[600];
	snmpconf c;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	f = fopen(path, "w");
	if (!f)
		tap_bail("fopen %s", path);
	fputs(text, f);
	fclose(f);
	rc = snmpconf_load(&c, path);
	if (!want)
		return rc == 0 && c.target.port == 7411 && c.poll_seconds == 2 &&
		       !strcmp(c.target.password, "pw") && c.ping_seconds == 1;
	if (rc == 0 || !strstr(ddterr_last(rc), want))
		diag("got rc %d: %s", rc, ddterr_last(rc));
	return rc < 0 && strstr(ddterr_last(rc), want) != NULL;
}

static void test_conf(void)
{
	char *dir = tap_tmpdir("snmpconf"), text[1200];

	ok(conf_err(dir, "[target]\npoll_second = 1\n", "line 2: [target] "
		    "poll_second: unknown key"), "an unknown key, named");
	ok(conf_err(dir, "[target]\nport = 70000\n", "bad value '70000'"),
	   "a port out of range");
	ok(conf_err(dir, "[agnet]\nping_seconds = 1\n", "[agnet] "
		    "ping_seconds: unknown key"), "a misspelt section");
	snprintf(text, sizeof(text), "[target]\nport = 7411\npoll_seconds = 2\n"
		 "password_file = %s/pw\n", dir);
	ok(conf_err(dir, text, "password_file"), "a missing password file");
	snprintf(text, sizeof(text), "%s/pw", dir);
	FILE *f = fopen(text, "w");

	if (!f)
		tap_bail("fopen");
	fputs("pw\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "[target]\nport = 7411\npoll_seconds = 2\n"
		 "password_file = %s/pw\n", dir);
	ok(conf_err(dir, text, NULL),
	   "a good one: its values, the password's first line, the defaults");
	tap_rmtree(dir);
	free(dir);
}

int main(void)
{
	test_view();
	test_str_cut();
	test_kinds();
	test_queue();
	test_conf();
	return tap_done();
}
