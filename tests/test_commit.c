/* test_commit.c - the error codes PROTOCOL.md gives bad trees and bad
 * segment fields, against a real ddtargetd over raw frames: one case per
 * rule of COMMIT (section 6) and SEG_PUT, each leaving nothing bound or
 * stored. Then trees committed before COMMIT checked lengths, written into
 * the store offline: READ refuses them (EBADMSG), and a scrub names every
 * backup whose files have such trees or name segments the store lacks,
 * in SCRUB_STATUS and in the scrub-lost alert. Last, a tree whose
 * metadata segment the target can no longer read (its fragments deleted
 * past what parity covers): COMMIT is EIO. */
#include "daemon.h"	/* first: its "store" parameters are no typedef */
#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "ns.h"
#include "store.h"
#include "tree.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "rawwire.h"
#include "tstore.h"

#include <dirent.h>

static char msg[DDT_MAX_STR + 1];

/* The segments and trees the cases share. */
typedef struct fixture {
	uint8_t a[5000], b[3000], c[4000];
	fp_t fa, fb, fc;		/* data segments of 5000, 3000, 4000 */
	fp_t good, plus, minus;		/* level 1 over b, c: 7000; b given
					   3001; b given 2999 */
	fp_t absent;			/* never stored */
	uint64_t su;			/* the unit's root */
} fixture;

/* A level-1 metadata segment over (b, bb bytes), (c, 4000), stored. */
static int put_meta(int fd, const fixture *f, uint64_t bb, fp_t *out)
{
	tree_entry e[2] = { { f->fb, bb }, { f->fc, 4000 } };
	uint8_t raw[TREE_HDR_LEN + 2 * TREE_ENTRY_LEN];
	size_t len = tree_encode(1, e, 2, raw);

	return wire_put_raw(fd, raw, (uint32_t)len, out, msg);
}

static void setup(int fd, fixture *f)
{
	rnd_seed(5);
	rnd_fill(f->a, sizeof(f->a));
	rnd_fill(f->b, sizeof(f->b));
	rnd_fill(f->c, sizeof(f->c));
	rnd_fp(&f->absent);
	if (wire_su_create(fd, "u", &f->su, msg) != 0 ||
	    wire_put_raw(fd, f->a, sizeof(f->a), &f->fa, msg) != 0 ||
	    wire_put_raw(fd, f->b, sizeof(f->b), &f->fb, msg) != 0 ||
	    wire_put_raw(fd, f->c, sizeof(f->c), &f->fc, msg) != 0 ||
	    put_meta(fd, f, 3000, &f->good) != 0 ||
	    put_meta(fd, f, 3001, &f->plus) != 0 ||
	    put_meta(fd, f, 2999, &f->minus) != 0)
		tap_bail("setting up the segments: %s", msg);
}

/* COMMIT name and expect status want with every word of the NULL-ended
 * list in the message, and the name left unbound. */
static void expect_commit(int fd, const fixture *f, const char *name,
			  uint64_t size, uint8_t level, const fp_t *root,
			  int want, const char *what, const char *const *words)
{
	int st = wire_commit(fd, f->su, name, size, level, root, NULL, msg);
	int good = st == want;

	for (int i = 0; good && words && words[i]; i++)
		good = strstr(msg, words[i]) != NULL;
	ok(good && wire_lookup(fd, f->su, name, NULL) == DDT_ENOENT,
	   "%s: %s (%d), unbound: %s", what, want == DDT_EINVAL ? "EINVAL" :
	   want == DDT_ENOENT ? "ENOENT" : "?", st, msg);
}

static void test_commit_rules(int fd, const fixture *f)
{
	static const fp_t zero;
	uint8_t junk[100], hdr0[TREE_HDR_LEN + TREE_ENTRY_LEN];
	fp_t fj, f0;

	expect_commit(fd, f, "a5001", 5001, 0, &f->fa, DDT_EINVAL,
		      "a level-0 root of 5,000 bytes committed as 5,001",
		      (const char *[]){ "a5001", "5000 bytes", "5001", NULL });
	expect_commit(fd, f, "a4999", 4999, 0, &f->fa, DDT_EINVAL,
		      "and as 4,999",
		      (const char *[]){ "4999", "the entry's size", NULL });
	ok(wire_commit(fd, f->su, "a5000", 5000, 0, &f->fa, NULL, msg) == 0,
	   "as 5,000 bytes it commits: %s", msg);
	expect_commit(fd, f, "plus", 7001, 1, &f->plus, DDT_EINVAL,
		      "a level-1 tree giving a data child 1 byte more than "
		      "its raw length",
		      (const char *[]){ "3000 bytes", "its parent says 3001",
					NULL });
	expect_commit(fd, f, "minus", 6999, 1, &f->minus, DDT_EINVAL,
		      "and 1 byte less",
		      (const char *[]){ "its parent says 2999", NULL });
	ok(wire_commit(fd, f->su, "good", 7000, 1, &f->good, NULL, msg) == 0,
	   "the right figures commit: %s", msg);
	expect_commit(fd, f, "good7001", 7001, 1, &f->good, DDT_EINVAL,
		      "a tree checked before, claimed with another size",
		      (const char *[]){ "add up to 7000", NULL });
	expect_commit(fd, f, "level2", 7000, 2, &f->good, DDT_EINVAL,
		      "a metadata segment at the wrong level",
		      (const char *[]){ "level 1 where", NULL });

	memset(junk, 'j', sizeof(junk));
	if (wire_put_raw(fd, junk, sizeof(junk), &fj, msg) != 0)
		tap_bail("put junk: %s", msg);
	expect_commit(fd, f, "junk", 100, 1, &fj, DDT_EINVAL,
		      "a metadata segment that does not parse",
		      (const char *[]){ "bad magic", NULL });
	tree_encode(1, &(tree_entry){ f->fa, 5000 }, 1, hdr0);
	memset(hdr0 + 8, 0, 4);			/* count 0 */
	if (wire_put_raw(fd, hdr0, sizeof(hdr0), &f0, msg) != 0)
		tap_bail("put count 0: %s", msg);
	expect_commit(fd, f, "count0", 5000, 1, &f0, DDT_EINVAL,
		      "a metadata segment whose count is out of range",
		      (const char *[]){ "0 entries", NULL });
	{
		uint8_t l2[TREE_HDR_LEN + TREE_ENTRY_LEN];
		fp_t f2;

		tree_encode(2, &(tree_entry){ f->good, 7001 }, 1, l2);
		if (wire_put_raw(fd, l2, sizeof(l2), &f2, msg) != 0)
			tap_bail("put level 2: %s", msg);
		expect_commit(fd, f, "sum", 7001, 2, &f2, DDT_EINVAL,
			      "a level-2 entry that its child's entries do "
			      "not add up to",
			      (const char *[]){ "add up to 7000",
						"its parent says 7001", NULL });
	}
	expect_commit(fd, f, "absent", 100, 0, &f->absent, DDT_ENOENT,
		      "a segment the target does not hold",
		      (const char *[]){ "not on the target", NULL });
	expect_commit(fd, f, "empty1", 0, 0, &f->fa, DDT_EINVAL,
		      "an empty file with a root",
		      (const char *[]){ "empty", NULL });
	expect_commit(fd, f, "empty2", 0, 1, &zero, DDT_EINVAL,
		      "an empty file with a level",
		      (const char *[]){ "empty", NULL });
	expect_commit(fd, f, "deep", 5000, TREE_MAX_LEVEL + 1, &f->fa,
		      DDT_EINVAL, "a level over TREE_MAX_LEVEL",
		      (const char *[]){ "level 9", NULL });
	ok(wire_commit(fd, f->su, "empty", 0, 0, &zero, NULL, msg) == 0,
	   "an empty file commits: %s", msg);
}

/* SEG_PUT one segment and expect status want with word in the message,
 * and fp not stored. */
static void expect_put(int fd, const fp_t *fp, uint8_t codec, uint32_t raw,
		       const void *data, uint32_t stored, int want,
		       const char *word, const char *what)
{
	int st = wire_seg_put(fd, fp, codec, raw, data, stored, msg);
	uint8_t *out = NULL;
	size_t len;

	if (wire_fp_call(fd, DDT_OP_FP_QUERY, fp, 1, &out, &len, NULL) != 0 ||
	    len != 5)
		tap_bail("FP_QUERY failed");
	ok(st == want && strstr(msg, word) && !(out[4] & 1),
	   "%s: %s (%d), not stored: %s", what, want == DDT_EINVAL ?
	   "EINVAL" : "EBADMSG", st, msg);
	free(out);
}

static void test_seg_put_rules(int fd, const fixture *f)
{
	uint8_t *buf = xmalloc(CDC_MAX_LIMIT + 1), packed[4096];
	size_t n = 0;
	fp_t fp, other;
	int codec;

	rnd_fill(buf, 100);
	fp_compute(&fp, buf, 100);
	rnd_fp(&other);
	expect_put(fd, &fp, 9, 100, buf, 100, DDT_EINVAL, "unknown codec",
		   "an unknown codec");
	expect_put(fd, &fp, 0, 0, buf, 0, DDT_EINVAL, "raw_len 0",
		   "raw_len 0");
	memset(buf, 'x', CDC_MAX_LIMIT + 1);
	fp_compute(&fp, buf, CDC_MAX_LIMIT + 1);
	expect_put(fd, &fp, 0, CDC_MAX_LIMIT + 1, buf, CDC_MAX_LIMIT + 1,
		   DDT_EINVAL, "raw_len 1048577", "raw_len over 1 MiB");
	fp_compute(&fp, buf, 100);
	expect_put(fd, &fp, 0, 100, buf, 99, DDT_EINVAL, "stored_len 99",
		   "a raw segment whose stored_len is not its raw_len");
	expect_put(fd, &fp, 1, 100, packed, (uint32_t)codec_bound(100) + 1,
		   DDT_EINVAL, "stored_len", "a stored_len past the codec's "
		   "bound");
	expect_put(fd, &fp, 1, 100, packed, 0, DDT_EINVAL, "stored_len 0",
		   "a compressed segment of 0 bytes");
	memset(packed, 0xff, sizeof(packed));
	expect_put(fd, &fp, 1, 100, packed, 50, DDT_EBADMSG, "decompress",
		   "bytes that do not decompress");
	if (codec_compress(CODEC_LZ4, buf, 100, packed, sizeof(packed), &n,
			   &codec) != 0 || codec != CODEC_LZ4)
		tap_bail("lz4 of 100 x's");
	expect_put(fd, &fp, 1, 101, packed, (uint32_t)n, DDT_EBADMSG,
		   "decompress",
		   "bytes that decompress to another length");
	expect_put(fd, &other, 0, 100, buf, 100, DDT_EBADMSG, "fingerprint",
		   "bytes that do not match the fingerprint");
	ok(wire_seg_put(fd, &f->fa, 0, 4999, f->a, 4999, msg) == DDT_EBADMSG &&
	   strstr(msg, "5000 bytes"),
	   "a held segment sent with another raw_len: EBADMSG: %s", msg);
	free(buf);
}

/* ---- trees committed before COMMIT checked them ---- */

static void bind_offline(const char *store_dir, uint64_t dir,
			 const ns_entry *e, size_t n)
{
	store_config sc;
	store *s;
	ns *names;
	int rc;

	store_config_default(&sc, store_dir);
	if ((rc = tstore_open(&s, &sc)) != 0 ||
	    (rc = ns_open(&names, tstore_index(s))) != 0)
		tap_bail("opening the store offline: %s", ddterr_last(rc));
	rc = ns_commit(names, dir, e, n, 1, NULL);
	ns_close(names);
	if (rc != 0 || tstore_close(s) != 0)
		tap_bail("binding offline: %s", ddterr_last(rc));
}

static ns_entry entry(const char *name, uint64_t size, uint8_t level,
		      const fp_t *root)
{
	ns_entry e = { .mode = 0644, .size = size, .level = level,
		       .root = *root };

	snprintf(e.name, sizeof(e.name), "%s", name);
	return e;
}

/* READ of the whole of name in dir: its status. */
static int read_status(int fd, uint64_t dir, const char *name)
{
	uint64_t ino;
	wbuf p;
	int st;

	if (wire_lookup(fd, dir, name, &ino) != 0)
		return -1;
	wb_init(&p);
	wb_u64(&p, ino);
	wb_u64(&p, 0);
	wb_u32(&p, 1u << 20);
	st = wire_call(fd, DDT_OP_READ, &p, NULL, NULL, msg);
	wb_free(&p);
	return st;
}

typedef struct scrub_view {
	int running;
	uint64_t checked, missing, bad, clean, affected;
	char su[2][DDT_MAX_STR + 1], backup[2][DDT_MAX_STR + 1];
	uint64_t files[2];
	uint32_t n;
	char text[DDT_MAX_STR + 1];
} scrub_view;

static int scrub_read(int fd, scrub_view *v)
{
	char key[DDT_MAX_STR + 1], phase[64];
	uint8_t *out = NULL;
	uint32_t n;
	size_t len;
	rbuf r;
	int st;

	memset(v, 0, sizeof(*v));
	st = wire_call(fd, DDT_OP_SCRUB_STATUS, NULL, &out, &len, NULL);
	if (st != 0)
		return -1;
	rb_init(&r, out, len);
	v->running = rb_u8(&r);
	rb_str(&r, phase, sizeof(phase));
	rb_str(&r, v->text, sizeof(v->text));
	n = rb_count(&r, 10, UINT32_MAX);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		uint64_t x;

		rb_str(&r, key, sizeof(key));
		x = rb_u64(&r);
		if (!strcmp(key, "files_checked"))
			v->checked = x;
		else if (!strcmp(key, "files_missing_segments"))
			v->missing = x;
		else if (!strcmp(key, "files_bad_tree"))
			v->bad = x;
		else if (!strcmp(key, "clean"))
			v->clean = x;
		else if (!strcmp(key, "affected_files"))
			v->affected = x;
	}
	v->n = rb_count(&r, 12, UINT32_MAX);
	for (uint32_t i = 0; i < v->n && !r.err; i++) {
		char su[DDT_MAX_STR + 1], b[DDT_MAX_STR + 1];
		uint64_t files;

		rb_str(&r, su, sizeof(su));
		rb_str(&r, b, sizeof(b));
		files = rb_u64(&r);
		if (i < 2) {
			snprintf(v->su[i], sizeof(v->su[i]), "%s", su);
			snprintf(v->backup[i], sizeof(v->backup[i]), "%s", b);
			v->files[i] = files;
		}
	}
	st = rb_done(&r) == 0 ? 0 : -1;
	free(out);
	return st;
}

/* The text of alert id, "" if not raised. */
static void alert_text(int fd, const char *id, char *text)
{
	char got[DDT_MAX_STR + 1], t[DDT_MAX_STR + 1];
	uint8_t *out = NULL;
	uint32_t n;
	size_t len;
	rbuf r;

	text[0] = '\0';
	if (wire_call(fd, DDT_OP_ALERTS, NULL, &out, &len, NULL) != 0)
		return;
	rb_init(&r, out, len);
	n = rb_count(&r, 13, UINT32_MAX);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		rb_str(&r, got, sizeof(got));
		rb_u8(&r);
		rb_i64(&r);
		rb_str(&r, t, sizeof(t));
		if (!strcmp(got, id))
			snprintf(text, DDT_MAX_STR + 1, "%s", t);
	}
	free(out);
}

static void test_old_trees(test_daemon *d, fixture *f)
{
	char id1[DDT_MAX_STR + 1], id2[DDT_MAX_STR + 1],
	     text[DDT_MAX_STR + 1], want[DDT_MAX_STR + 8];
	uint64_t b1, b2;
	scrub_view v;
	wbuf p;
	int fd = wire_admin_login(d), i;

	if (wire_backup_begin(fd, "u", "old", id1, &b1, msg) != 0 ||
	    wire_backup_begin(fd, "u", "older", id2, &b2, msg) != 0)
		tap_bail("BACKUP_BEGIN: %s", msg);
	close(fd);
	if (daemon_stop(d, SIGTERM) != 0)
		tap_bail("stopping the daemon");
	{
		ns_entry e1[] = {
			entry("short", 4999, 0, &f->fa),
			entry("long", 7001, 1, &f->plus),
			entry("fine", 5000, 0, &f->fa),
			entry("tree", 7000, 1, &f->good),
		};
		ns_entry e2[] = {
			entry("gone", 100, 0, &f->absent),
			entry("fine", 7000, 1, &f->good),
		};

		bind_offline(d->store, b1, e1, 4);
		bind_offline(d->store, b2, e2, 2);
	}
	daemon_start_again(d);
	fd = wire_admin_login(d);
	ok(read_status(fd, b1, "short") == DDT_EBADMSG &&
	   strstr(msg, "damaged") && strstr(msg, "5000 bytes") &&
	   strstr(msg, "4999"),
	   "READ of a 4,999-byte file over a 5,000-byte root: EBADMSG: %s",
	   msg);
	ok(read_status(fd, b1, "long") == DDT_EBADMSG &&
	   strstr(msg, "damaged") && strstr(msg, "its parent says 3001"),
	   "READ of a tree giving a child a byte too many: EBADMSG: %s", msg);
	ok(read_status(fd, b1, "fine") == 0 && read_status(fd, b1, "tree") == 0,
	   "the files whose trees are right read");

	wb_init(&p);
	wb_u8(&p, 0);
	ok(wire_call(fd, DDT_OP_SCRUB_START, &p, NULL, NULL, msg) == 0,
	   "a scrub starts: %s", msg);
	wb_free(&p);
	for (i = 0; i < 1000; i++) {
		if (scrub_read(fd, &v) != 0 || !v.running)
			break;
		sleep_ms(20);
	}
	ok(i < 1000 && !v.running && v.checked == 8,
	   "it checks every file's tree (%llu of the 8 with data)",
	   (unsigned long long)v.checked);
	ok(v.bad == 2 && v.missing == 1 && v.affected == 3 && !v.clean,
	   "2 trees that do not describe their files, 1 naming a segment "
	   "the store lacks (%llu, %llu), so not clean",
	   (unsigned long long)v.bad, (unsigned long long)v.missing);
	ok(v.n == 2 && !strcmp(v.su[0], "u") && !strcmp(v.backup[0], id1) &&
	   v.files[0] == 2 && !strcmp(v.backup[1], id2) && v.files[1] == 1,
	   "both backups are named with their files (%s %s: %llu; %s: %llu)",
	   v.su[0], v.backup[0], (unsigned long long)v.files[0], v.backup[1],
	   (unsigned long long)v.files[1]);
	ok(strstr(v.text, "8 trees checked") &&
	   strstr(v.text, "3 files in 2 backups"),
	   "the summary says so: %s", v.text);
	alert_text(fd, "scrub-lost", text);
	snprintf(want, sizeof(want), "u/%s", id2);
	ok(strstr(text, want) && strstr(text, "1 naming missing segments"),
	   "the scrub-lost alert names the backup whose file names a missing "
	   "segment: %s", text);
	close(fd);
}

/* Delete every fragment file in data directory dirN of store, so that
 * with three directories emptied no container can be read (4 + 2). */
static void empty_dir(const char *store_dir, int dirn)
{
	char path[700], sub[1000], file[1300];
	struct dirent *a, *b;
	DIR *d, *e;

	snprintf(path, sizeof(path), "%s/data/dir%d", store_dir, dirn);
	if (!(d = opendir(path)))
		tap_bail("opendir %s", path);
	while ((a = readdir(d)) != NULL) {
		if (a->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, a->d_name);
		if (!(e = opendir(sub)))
			continue;
		while ((b = readdir(e)) != NULL) {
			size_t l = strlen(b->d_name);

			snprintf(file, sizeof(file), "%s/%s", sub, b->d_name);
			if (l > 5 && !strcmp(b->d_name + l - 5, ".frag"))
				unlink(file);
		}
		closedir(e);
	}
	closedir(d);
}

/* A metadata segment the target holds but can no longer read: COMMIT is
 * EIO, not a fault of the client's tree. */
static void test_unreadable(test_daemon *d, const fixture *f)
{
	uint8_t *filler = xmalloc(64 * 1024);
	int fd = wire_admin_login(d), i;

	/* Fill the open container, which holds every segment so far, until
	 * it is sealed into fragments. */
	for (i = 0; i < 200 && wire_status_key(fd, "containers") < 1; i++) {
		rnd_fill(filler, 64 * 1024);
		if (wire_put_raw(fd, filler, 64 * 1024, NULL, msg) != 0)
			tap_bail("filler: %s", msg);
		if (i > 80)
			sleep_ms(50);
	}
	free(filler);
	if (wire_status_key(fd, "containers") < 1)
		tap_bail("no container was sealed");
	close(fd);
	if (daemon_stop(d, SIGTERM) != 0)
		tap_bail("stopping the daemon");
	for (i = 0; i < 3; i++)
		empty_dir(d->store, i);
	daemon_start_again(d);
	fd = wire_admin_login(d);
	ok(wire_commit(fd, f->su, "eio", 7000, 1, &f->good, NULL, msg) ==
	   DDT_EIO && strstr(msg, "run a scrub") &&
	   wire_lookup(fd, f->su, "eio", NULL) == DDT_ENOENT,
	   "a metadata segment the target can no longer read: EIO, unbound: "
	   "%s", msg);
	close(fd);
}

int main(void)
{
	char *root = tap_tmpdir("commit");
	test_daemon d;
	fixture *f = xmalloc(sizeof(*f));
	int fd, st;

	daemon_start_in(&d, root);
	fd = wire_admin_login(&d);
	setup(fd, f);
	test_commit_rules(fd, f);
	test_seg_put_rules(fd, f);
	close(fd);
	test_old_trees(&d, f);
	test_unreadable(&d, f);
	st = daemon_stop(&d, SIGTERM);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "the daemon stops cleanly on SIGTERM");
	free(f);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
