/* test_ns.c - the namespace over a real store's RocksDB: storage units, the
 * tree and its error codes, atomic commits and the usage counts they keep,
 * hard and symbolic links, backups (a 5000-file delete among them),
 * retention and expiry, the retention lock, quotas, a format-1 store,
 * reopening, a killed writer, damaged records and concurrent writers. */
#include "ns.h"
#include "store.h"
#include "bytes.h"
#include "ddterr.h"
#include "now.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct env {
	store *s;
	ns *n;
} env;

static void env_open(env *e, const char *root)
{
	store_config c;
	int rc;

	store_config_default(&c, root);
	c.k = 1;
	c.m = 0;
	rc = tstore_open(&e->s, &c);
	if (rc)
		tap_bail("store_open %s: %s", root, ddterr_last(rc));
	rc = ns_open(&e->n, tstore_index(e->s));
	if (rc)
		tap_bail("ns_open: %s", ddterr_last(rc));
}

static void env_close(env *e)
{
	ns_close(e->n);
	if (tstore_close(e->s) != 0)
		diag("store_close failed");
}

static ns_entry ent(const char *name, uint64_t size)
{
	ns_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.mode = 0100644;	/* type bits are dropped */
	e.uid = 1000;
	e.gid = 100;
	e.atime = 111;
	e.mtime = 222;
	e.size = size;
	e.level = size > 65536;
	fp_compute(&e.root, name, strlen(name));
	return e;
}

static uint64_t su_root(env *e, const char *name)
{
	ns_su su;
	int rc = ns_su_get(e->n, name, &su);

	if (rc)
		tap_bail("ns_su_get %s: %s", name, ddterr_last(rc));
	return su.root;
}

static uint64_t mkdir_or_bail(env *e, uint64_t dir, const char *name)
{
	ddt_attr a;
	int rc = ns_mkdir(e->n, dir, name, 0755, 0, 0, 5, &a);

	if (rc)
		tap_bail("mkdir %s: %s", name, ddterr_last(rc));
	return a.ino;
}

/* n files "<prefix>NNNNN" of size i+1 in dir, in commits of 1000. */
static void commit_many(env *e, uint64_t dir, const char *prefix, size_t n)
{
	ns_entry *v = xmalloc(1000 * sizeof(*v));

	for (size_t done = 0; done < n; done += 1000) {
		size_t cnt = n - done < 1000 ? n - done : 1000;
		char name[64];
		int rc;

		for (size_t i = 0; i < cnt; i++) {
			snprintf(name, sizeof(name), "%s%05zu", prefix,
				 done + i);
			v[i] = ent(name, done + i + 1);
		}
		rc = ns_commit(e->n, dir, v, cnt, 0, NULL);
		if (rc)
			tap_bail("commit: %s", ddterr_last(rc));
	}
	free(v);
}

/* ---- storage units ---- */

typedef struct sulist {
	char names[4][DDT_MAX_NAME + 1];
	int n;
} sulist;

static int su_list_cb(void *arg, const ns_su *su)
{
	sulist *l = arg;

	if (l->n < 4)
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", su->name);
	l->n++;
	return 0;
}

static void test_su(const char *root)
{
	char longname[300];
	sulist sl = { .n = 0 };
	ns_su su, su2;
	ns_stats st;
	env e;
	int rc;

	env_open(&e, root);
	rc = ns_su_create(e.n, "beta", &su);
	ok(rc == 0 && su.root >= 2 && su.files == 0 && su.created > 0,
	   "create a storage unit (root %llu)", (unsigned long long)su.root);
	ok(ns_su_create(e.n, "alpha-1.x_y", &su2) == 0 && su2.root != su.root,
	   "a second one gets another root");
	rc = ns_su_create(e.n, "beta", NULL);
	ok(rc == -EEXIST, "the same name again: %s", ddterr_last(rc));
	ok(ns_su_create(e.n, "a b", NULL) == -EINVAL &&
	   ns_su_create(e.n, "", NULL) == -EINVAL &&
	   ns_su_create(e.n, "..", NULL) == -EINVAL &&
	   ns_su_create(e.n, "x/y", NULL) == -EINVAL,
	   "bad unit names are -EINVAL");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	ok(ns_su_create(e.n, longname, NULL) == -ENAMETOOLONG,
	   "a 256-byte unit name is -ENAMETOOLONG");
	longname[255] = '\0';
	ok(ns_su_create(e.n, longname, NULL) == 0, "a 255-byte one is fine");
	ok(ns_su_list(e.n, su_list_cb, &sl) == 0 && sl.n == 3 &&
	   strcmp(sl.names[0], longname) == 0 &&
	   strcmp(sl.names[1], "alpha-1.x_y") == 0 &&
	   strcmp(sl.names[2], "beta") == 0, "list: three units in byte order");
	ok(ns_su_delete(e.n, longname, 0) == 0 &&
	   ns_su_get(e.n, longname, &su2) == -ENOENT,
	   "an empty unit deletes without recursive");
	mkdir_or_bail(&e, su.root, "d");
	commit_many(&e, su.root, "f", 10);
	rc = ns_su_delete(e.n, "beta", 0);
	ok(rc == -ENOTEMPTY, "a non-empty one needs recursive: %s",
	   ddterr_last(rc));
	ok(ns_su_get(e.n, "beta", &su2) == 0 && su2.files == 10 &&
	   su2.logical_bytes == 55, "its counts: 10 files, 55 bytes");
	ok(ns_get_stats(e.n, &st) == 0 && st.storage_units == 2 &&
	   st.files == 10 && st.logical_bytes == 55 && st.backups == 0,
	   "stats: 2 units, 10 files, 55 bytes");
	ok(ns_su_delete(e.n, "beta", 1) == 0, "recursive delete");
	ok(ns_su_get(e.n, "beta", &su2) == -ENOENT &&
	   ns_getattr(e.n, su.root, &(ddt_attr){ 0 }) == -ENOENT,
	   "the unit and its root are gone");
	ok(ns_get_stats(e.n, &st) == 0 && st.storage_units == 1 &&
	   st.files == 0, "stats: 1 unit, no files");
	ok(ns_su_delete(e.n, "beta", 1) == -ENOENT,
	   "deleting it again is -ENOENT");
	env_close(&e);
}

/* ---- the tree ---- */

typedef struct page {
	char (*names)[DDT_MAX_NAME + 1];
	size_t n, cap;
	int calls, bad;
} page;

static int page_cb(void *arg, const char *name, const ddt_attr *a)
{
	page *p = arg;

	if (p->n == p->cap || a->ino < 2)
		p->bad++;
	else
		snprintf(p->names[p->n++], DDT_MAX_NAME + 1, "%s", name);
	p->calls++;
	return 0;
}

static void test_tree(const char *root)
{
	char name[DDT_MAX_NAME + 1] = "";
	page p = { .cap = 2000 };
	ddt_attr a, b, r;
	uint64_t top, d;
	size_t pages = 0, eofs = 0, order_bad = 0, over = 0;
	int eof, rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "tree", NULL))
		tap_bail("su");
	top = su_root(&e, "tree");
	rc = ns_mkdir(e.n, top, "docs", 0120755, 7, 8, 12345, &a);
	ok(rc == 0 && a.type == DDT_T_DIR && a.mode == 0755 && a.uid == 7 &&
	   a.gid == 8 && a.mtime == 12345 && a.nlink == 2 && a.size == 0,
	   "mkdir: a directory with the given attributes");
	ok(ns_getattr(e.n, top, &r) == 0 && r.nlink == 3 && r.size == 1,
	   "the parent: nlink 3, one entry");
	ok(ns_lookup(e.n, top, "docs", &b) == 0 && b.ino == a.ino,
	   "lookup finds it");
	rc = ns_mkdir(e.n, top, "docs", 0755, 0, 0, 0, NULL);
	ok(rc == -EEXIST, "mkdir over it: %s", ddterr_last(rc));
	ok(ns_lookup(e.n, top, "nope", &b) == -ENOENT, "lookup of nothing");
	ok(ns_lookup(e.n, top, "a/b", &b) == -ENAMETOOLONG &&
	   ns_lookup(e.n, top, ".", &b) == -EINVAL &&
	   ns_mkdir(e.n, top, "..", 0, 0, 0, 0, NULL) == -EINVAL,
	   "names with '/' or dots are refused");
	ok(ns_mkdir(e.n, 1, "x", 0, 0, 0, 0, NULL) == -ENOENT &&
	   ns_getattr(e.n, 1, &b) == -ENOENT, "inode 1 does not exist");

	d = a.ino;
	commit_many(&e, d, "n", 995);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "sub%c", 'z' - i);
		mkdir_or_bail(&e, d, name);
	}
	ok(ns_getattr(e.n, d, &b) == 0 && b.size == 1000 && b.nlink == 7,
	   "1000 entries, nlink 2 + 5 subdirectories");
	p.names = xmalloc(p.cap * sizeof(*p.names));
	name[0] = '\0';
	do {
		size_t before = p.n;

		rc = ns_readdir(e.n, d, name, 7, page_cb, &p, &eof);
		if (rc)
			break;
		pages++;
		eofs += eof;
		over += p.n - before > 7;
		if (p.n == before)
			break;
		snprintf(name, sizeof(name), "%s", p.names[p.n - 1]);
	} while (!eof);
	for (size_t i = 1; i < p.n; i++)
		order_bad += strcmp(p.names[i - 1], p.names[i]) >= 0;
	ok(rc == 0 && p.n == 1000 && p.bad == 0 && over == 0,
	   "readdir by 7 returns all 1000 entries (%zu)", p.n);
	ok(order_bad == 0 && strcmp(p.names[0], "n00000") == 0 &&
	   strcmp(p.names[999], "subz") == 0, "in byte order");
	ok(pages == 143 && eofs == 1, "in 143 pages, eof on the last only");
	p.n = 0;
	ok(ns_readdir(e.n, d, "n00500x", 3, page_cb, &p, &eof) == 0 &&
	   p.n == 3 && strcmp(p.names[0], "n00501") == 0 && !eof,
	   "readdir after a name that is not there");
	p.n = 0;
	ok(ns_readdir(e.n, d, "suby", 100, page_cb, &p, &eof) == 0 &&
	   p.n == 1 && eof, "the last page says eof");
	p.n = 0;
	ok(ns_readdir(e.n, d, "", 0, page_cb, &p, &eof) == 0 && p.n == 0 &&
	   !eof, "max 0: nothing, and not eof");
	ok(ns_readdir(e.n, d, "subz", 10, page_cb, &p, &eof) == 0 && p.n == 0
	   && eof, "after the last name: eof");
	ok(ns_lookup(e.n, d, "n00010", &a) == 0 &&
	   ns_readdir(e.n, a.ino, "", 5, page_cb, &p, &eof) == -ENOTDIR &&
	   ns_lookup(e.n, a.ino, "x", &b) == -ENOTDIR &&
	   ns_mkdir(e.n, a.ino, "x", 0, 0, 0, 0, NULL) == -ENOTDIR,
	   "a file is no directory: readdir, lookup, mkdir -ENOTDIR");
	free(p.names);
	env_close(&e);
}

/* ---- commit ---- */

static void test_commit(const char *root)
{
	ns_entry v[20];
	ddt_attr out[20], a;
	uint64_t top;
	ns_su su;
	int rc, found = 0;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "c", NULL))
		tap_bail("su");
	top = su_root(&e, "c");
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "file%d", i);
		v[i] = ent(name, 1000 + i);
	}
	rc = ns_commit(e.n, top, v, 20, 1, out);
	ok(rc == 0, "commit 20 files (synced)");
	ok(out[3].type == DDT_T_FILE && out[3].size == 1003 &&
	   out[3].mode == 0644 && out[3].uid == 1000 && out[3].mtime == 222 &&
	   out[3].atime == 111 && out[3].nlink == 1 &&
	   fp_equal(&out[3].root, &v[3].root) && out[3].ctime > 0,
	   "each gets its attributes");
	rc = ns_su_get(e.n, "c", &su);
	ok(rc == 0 && su.files == 20 && su.logical_bytes == 20 * 1000 + 190,
	   "the unit counts 20 files, %llu bytes",
	   (unsigned long long)su.logical_bytes);

	for (int i = 0; i < 20; i++)
		snprintf(v[i].name, sizeof(v[i].name), "new%d", i);
	snprintf(v[13].name, sizeof(v[13].name), "bad/name");
	rc = ns_commit(e.n, top, v, 20, 0, out);
	for (int i = 0; i < 20; i++)
		found += ns_lookup(e.n, top, v[i].name, &a) == 0;
	ok(rc == -ENAMETOOLONG && found == 0,
	   "one bad name among 20: none created (%s)", ddterr_last(rc));
	snprintf(v[13].name, sizeof(v[13].name), "new2");
	ok(ns_commit(e.n, top, v, 20, 0, out) == -EINVAL,
	   "a name twice in one commit is -EINVAL");
	mkdir_or_bail(&e, top, "adir");
	snprintf(v[13].name, sizeof(v[13].name), "adir");
	rc = ns_commit(e.n, top, v, 20, 0, out);
	found = 0;
	for (int i = 0; i < 20; i++)
		found += ns_lookup(e.n, top, v[i].name, &a) == 0 &&
			 a.type == DDT_T_FILE;
	ok(rc == -EISDIR && found == 0,
	   "committing over a directory: -EISDIR, none created");
	ok(ns_su_get(e.n, "c", &su) == 0 && su.files == 20,
	   "the counts did not move");

	/* Replace file3 (1003 bytes) with 5 bytes, and add one. */
	if (ns_lookup(e.n, top, "file3", &a))
		tap_bail("lookup file3");
	v[0] = ent("file3", 5);
	v[1] = ent("extra", 7);
	ok(ns_commit(e.n, top, v, 2, 0, out) == 0 && out[0].ino == a.ino,
	   "replace one, add one: the replaced file keeps its inode");
	ok(ns_lookup(e.n, top, "file3", &a) == 0 && a.size == 5 &&
	   fp_equal(&a.root, &v[0].root), "the replacement is visible");
	ok(ns_su_get(e.n, "c", &su) == 0 && su.files == 21 &&
	   su.logical_bytes == 20 * 1000 + 190 - 1003 + 5 + 7,
	   "replace adjusts bytes by the difference, files by the new one");
	ok(ns_getattr(e.n, top, &a) == 0 && a.size == 22,
	   "the directory holds 22 entries");
	ok(ns_commit(e.n, 999999, v, 1, 0, out) == -ENOENT &&
	   ns_commit(e.n, out[0].ino, v, 1, 0, out) == -ENOTDIR,
	   "commit into nothing or a file fails");
	ok(ns_commit(e.n, top, v, 0, 0, NULL) == 0, "an empty commit is fine");
	env_close(&e);
}

/* ---- rename, unlink, rmdir ---- */

static void test_rename(const char *root)
{
	ddt_attr a, b, x;
	uint64_t top, d1, d2, d3, other;
	ns_entry v[2];
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "r", NULL) || ns_su_create(e.n, "other", NULL))
		tap_bail("su");
	top = su_root(&e, "r");
	other = su_root(&e, "other");
	d1 = mkdir_or_bail(&e, top, "d1");
	d2 = mkdir_or_bail(&e, d1, "d2");
	d3 = mkdir_or_bail(&e, d2, "d3");
	v[0] = ent("f", 100);
	v[1] = ent("g", 30);
	if (ns_commit(e.n, top, v, 2, 0, NULL))
		tap_bail("commit");

	ok(ns_lookup(e.n, top, "f", &a) == 0 &&
	   ns_rename(e.n, top, "g", top, "f") == 0,
	   "rename a file over a file");
	ok(ns_lookup(e.n, top, "f", &b) == 0 && b.size == 30 &&
	   ns_lookup(e.n, top, "g", &x) == -ENOENT &&
	   ns_getattr(e.n, a.ino, &x) == -ENOENT,
	   "the name now holds the moved file; the old one is gone");
	ok(ns_su_get(e.n, "r", &su) == 0 && su.files == 1 &&
	   su.logical_bytes == 30, "the unit lost the replaced file's count");
	ok(ns_getattr(e.n, top, &a) == 0 && a.size == 2, "two entries left");

	rc = ns_rename(e.n, top, "d1", d3, "loop");
	ok(rc == -EINVAL, "a directory into its own subtree: %s",
	   ddterr_last(rc));
	ok(ns_rename(e.n, top, "d1", d1, "self") == -EINVAL,
	   "a directory into itself: -EINVAL");
	ok(ns_rename(e.n, top, "f", other, "f") == -EINVAL,
	   "across storage units: -EINVAL");

	ok(ns_rename(e.n, d2, "d3", top, "d3moved") == 0,
	   "move a directory up");
	rc = ns_getattr(e.n, d2, &a) || ns_getattr(e.n, top, &b);
	ok(rc == 0 && a.nlink == 2 && a.size == 0 && b.nlink == 4 &&
	   b.size == 3,
	   "nlink and sizes move with it (old %u/%llu, new %u/%llu)", a.nlink,
	   (unsigned long long)a.size, b.nlink, (unsigned long long)b.size);
	ok(ns_rename(e.n, top, "d1", d3, "d1in3") == 0,
	   "after moving, d1 fits under d3 (parents follow)");
	ok(ns_rename(e.n, d3, "d1in3", d2, "x") == -EINVAL,
	   "and d1 cannot then move under its own child d2");
	ok(ns_rename(e.n, top, "f", d2, "f2") == 0 &&
	   ns_lookup(e.n, d2, "f2", &a) == 0 && a.size == 30,
	   "a file across directories");
	ok(ns_rename(e.n, top, "nothing", top, "y") == -ENOENT,
	   "a missing source: -ENOENT");
	mkdir_or_bail(&e, d2, "full");
	mkdir_or_bail(&e, d2, "empty");
	if (ns_commit(e.n, d2, (ns_entry[]){ ent("full", 1) }, 1, 0, NULL) !=
	    -EISDIR)
		diag("commit over a directory did not fail");
	mkdir_or_bail(&e, top, "src");
	if (ns_commit(e.n, top, (ns_entry[]){ ent("plain", 1) }, 1, 0, NULL))
		tap_bail("commit plain");
	{
		uint64_t full;

		ok(ns_lookup(e.n, d2, "full", &a) == 0, "lookup full");
		full = a.ino;
		mkdir_or_bail(&e, full, "inner");
	}
	ok(ns_rename(e.n, top, "src", d2, "full") == -ENOTEMPTY,
	   "a directory over a non-empty one: -ENOTEMPTY");
	ok(ns_rename(e.n, top, "src", d2, "f2") == -ENOTDIR,
	   "a directory over a file: -ENOTDIR");
	ok(ns_rename(e.n, top, "plain", d2, "empty") == -EISDIR,
	   "a file over a directory: -EISDIR");
	ok(ns_getattr(e.n, d2, &b) == 0 &&
	   ns_rename(e.n, top, "src", d2, "empty") == 0 &&
	   ns_getattr(e.n, d2, &a) == 0 && a.nlink == b.nlink &&
	   a.size == b.size, "a directory over an empty one replaces it");

	ok(ns_unlink(e.n, d2, "full") == -EISDIR, "unlink of a directory");
	ok(ns_rmdir(e.n, d2, "f2") == -ENOTDIR, "rmdir of a file");
	ok(ns_rmdir(e.n, d2, "full") == -ENOTEMPTY, "rmdir of a full one");
	ok(ns_unlink(e.n, d2, "zzz") == -ENOENT &&
	   ns_rmdir(e.n, d2, "zzz") == -ENOENT, "removing nothing: -ENOENT");
	ok(ns_lookup(e.n, d2, "full", &a) == 0 &&
	   ns_rmdir(e.n, a.ino, "inner") == 0 && ns_rmdir(e.n, d2, "full") == 0
	   && ns_getattr(e.n, a.ino, &x) == -ENOENT, "rmdir when empty");
	ok(ns_su_get(e.n, "r", &su) == 0 && su.files == 2 &&
	   ns_unlink(e.n, d2, "f2") == 0 && ns_su_get(e.n, "r", &su) == 0 &&
	   su.files == 1 && su.logical_bytes == 1, "unlink drops the counts");
	env_close(&e);
}

/* ---- links, symlinks, setattr ---- */

static void test_links(const char *root)
{
	char buf[64];
	ddt_attr a, b, v;
	uint64_t top, d, f;
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "l", NULL) || ns_su_create(e.n, "l2", NULL))
		tap_bail("su");
	top = su_root(&e, "l");
	d = mkdir_or_bail(&e, top, "d");
	if (ns_commit(e.n, top, (ns_entry[]){ ent("f", 10) }, 1, 0, &a))
		tap_bail("commit");
	f = a.ino;
	ok(ns_link(e.n, f, d, "f-link", &b) == 0 && b.ino == f && b.nlink == 2,
	   "a hard link: same inode, nlink 2");
	ok(ns_link(e.n, f, d, "f-link", NULL) == -EEXIST, "onto a taken name");
	ok(ns_link(e.n, d, top, "dlink", NULL) == -EISDIR,
	   "directories cannot be linked");
	ok(ns_link(e.n, f, su_root(&e, "l2"), "x", NULL) == -EINVAL,
	   "nor across storage units");
	ok(ns_su_get(e.n, "l", &su) == 0 && su.files == 1 &&
	   su.logical_bytes == 10, "a link is not a second file");
	ok(ns_commit(e.n, d, (ns_entry[]){ ent("f-link", 77) }, 1, 0, &b) == 0
	   && b.ino == f && ns_lookup(e.n, top, "f", &a) == 0 && a.size == 77,
	   "committing through one link replaces the content for both");
	ok(ns_su_get(e.n, "l", &su) == 0 && su.files == 1 &&
	   su.logical_bytes == 77, "bytes follow the replacement");
	ok(ns_unlink(e.n, top, "f") == 0 && ns_getattr(e.n, f, &a) == 0 &&
	   a.nlink == 1 && ns_su_get(e.n, "l", &su) == 0 && su.files == 1,
	   "unlink one name: nlink 1, the file stays");
	ok(ns_unlink(e.n, d, "f-link") == 0 &&
	   ns_getattr(e.n, f, &a) == -ENOENT &&
	   ns_su_get(e.n, "l", &su) == 0 && su.files == 0 &&
	   su.logical_bytes == 0, "unlink the last: the inode goes");

	rc = ns_symlink(e.n, top, "s", "../some/where", 3, 4, 99, &a);
	ok(rc == 0 && a.type == DDT_T_SYMLINK && a.size == 13 &&
	   a.uid == 3 && a.mtime == 99 && a.nlink == 1, "symlink");
	ok(ns_readlink(e.n, a.ino, buf, sizeof(buf)) == 0 &&
	   strcmp(buf, "../some/where") == 0, "readlink gives the target");
	ok(ns_readlink(e.n, a.ino, buf, 13) == -ENAMETOOLONG,
	   "readlink into too small a buffer");
	ok(ns_readlink(e.n, d, buf, sizeof(buf)) == -EINVAL,
	   "readlink of a directory: -EINVAL");
	ok(ns_symlink(e.n, top, "e", "", 0, 0, 0, NULL) == -EINVAL,
	   "an empty target is refused");
	ok(ns_link(e.n, a.ino, d, "s2", NULL) == 0 &&
	   ns_unlink(e.n, top, "s") == 0 &&
	   ns_readlink(e.n, a.ino, buf, sizeof(buf)) == 0 &&
	   ns_unlink(e.n, d, "s2") == 0 &&
	   ns_getattr(e.n, a.ino, &b) == -ENOENT,
	   "a linked symlink lives until its last name goes");
	ok(ns_symlink(e.n, top, "s3", "t", 0, 0, 0, &a) == 0 &&
	   ns_commit(e.n, top, (ns_entry[]){ ent("s3", 4) }, 1, 0, &b) == 0 &&
	   b.type == DDT_T_FILE && ns_getattr(e.n, a.ino, &v) == -ENOENT,
	   "a commit replaces a symlink with a file");

	memset(&v, 0, sizeof(v));
	v.mode = 0170600;
	v.uid = 55;
	v.mtime = 4242;
	ok(ns_getattr(e.n, d, &a) == 0, "getattr");
	ok(ns_setattr(e.n, d, DDT_SA_MODE | DDT_SA_MTIME, &v, &b) == 0 &&
	   b.mode == 0600 && b.mtime == 4242 && b.uid == a.uid &&
	   b.atime == a.atime && b.ctime >= a.ctime,
	   "setattr changes only the masked fields (mode masked to 07777)");
	ok(ns_setattr(e.n, d, DDT_SA_UID | DDT_SA_GID | DDT_SA_ATIME, &v, &b)
	   == 0 && b.uid == 55 && b.gid == 0 && b.atime == 0 && b.mode == 0600,
	   "uid, gid, atime");
	ok(ns_setattr(e.n, d, 64, &v, &b) == -EINVAL &&
	   ns_setattr(e.n, 987654, DDT_SA_UID, &v, &b) == -ENOENT,
	   "unknown mask bits -EINVAL, unknown inode -ENOENT");
	env_close(&e);
}

/* ---- backups ---- */

typedef struct blist {
	ns_backup b[8];
	int n;
} blist;

static int blist_cb(void *arg, const ns_backup *b)
{
	blist *l = arg;

	if (l->n < 8)
		l->b[l->n] = *b;
	l->n++;
	return 0;
}

static int count_root(void *arg, const fp_t *root, uint8_t level,
		      uint64_t size)
{
	(*(uint64_t *)arg)++;
	return 0;
}

static int count_key(void *arg, const uint8_t *key, size_t klen,
		     const uint8_t *val, size_t vlen)
{
	(*(uint64_t *)arg)++;
	return 0;
}

/* How many namespace keys start with tag (and ino, if not 0). */
static uint64_t count_keys(env *e, char tag, uint64_t ino)
{
	uint8_t prefix[9] = { (uint8_t)tag };
	uint64_t n = 0;

	for (int i = 0; i < 8; i++)
		prefix[1 + i] = (uint8_t)(ino >> (56 - 8 * i));
	if (idx_kv_scan(tstore_index(e->s), IDX_NS, prefix, ino ? 9 : 1, NULL,
			0, count_key, &n) != 0)
		tap_bail("scan");
	return n;
}

/* 2024-01-02T03:04:05Z in ns */
#define T0 (1704164645LL * 1000000000LL + 123456789)

static void test_backups(const char *root)
{
	ns_backup b, b2;
	ddt_attr a, x;
	uint64_t top, subs[5], keep, roots = 0, sample[5], inodes, dents;
	struct timespec t0, t1;
	ns_stats st;
	blist l = { .n = 0 };
	ns_su su;
	int rc, gone = 0;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "bk", NULL))
		tap_bail("su");
	top = su_root(&e, "bk");
	if (ns_commit(e.n, top, (ns_entry[]){ ent("outside", 9) }, 1, 0, &a))
		tap_bail("commit");
	keep = a.ino;
	rc = ns_backup_begin(e.n, "bk", "daily", T0, 0, &b, &a);
	ok(rc == 0 && strcmp(b.id, "daily@20240102T030405Z") == 0 &&
	   b.ino == a.ino && b.created == T0 &&
	   b.flags == (DDT_AF_BACKUP | DDT_AF_INCOMPLETE) &&
	   a.flags == b.flags && a.type == DDT_T_DIR,
	   "begin: %s, flagged backup and incomplete", b.id);
	rc = ns_backup_begin(e.n, "bk", "daily", T0 + 500000000, 0, NULL, NULL);
	ok(rc == -EEXIST, "a second one in the same second: %s",
	   ddterr_last(rc));
	ok(ns_backup_begin(e.n, "nosuch", "daily", T0, 0, NULL, NULL) == -ENOENT &&
	   ns_backup_begin(e.n, "bk", "da@ily", T0, 0, NULL, NULL) == -EINVAL,
	   "an unknown unit or a bad name");
	ok(ns_backup_begin(e.n, "bk", "weekly", T0 + 86400000000000LL, 0, &b2,
			   NULL) == 0 &&
	   strcmp(b2.id, "weekly@20240103T030405Z") == 0, "another backup");

	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "part%d", i);
		subs[i] = mkdir_or_bail(&e, b.ino, name);
		commit_many(&e, subs[i], name, 1000);
	}
	rc = ns_link(e.n, keep, subs[2], "hardlink", NULL);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), "may not span a backup"),
	   "a file outside may not get a name in a backup (it could change "
	   "the backup once complete): %s", ddterr_last(rc));
	if (ns_lookup(e.n, subs[0], "part000008", &x) ||
	    ns_link(e.n, x.ino, subs[2], "hardlink", NULL) ||
	    ns_lookup(e.n, subs[0], "part000007", &x) ||
	    ns_link(e.n, x.ino, subs[1], "twin", NULL))
		tap_bail("link");
	inodes = count_keys(&e, 'I', 0);
	dents = count_keys(&e, 'D', 0);
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "part%d%05d", i, i * 100);
		if (ns_lookup(e.n, subs[i], name, &x))
			tap_bail("lookup %s", name);
		sample[i] = x.ino;
	}
	rc = ns_foreach_root(e.n, b.ino, count_root, &roots);
	ok(rc == 0 && roots == 5002, "foreach_root finds the 5000 files and "
	   "2 links (%llu)", (unsigned long long)roots);
	ok(ns_su_get(e.n, "bk", &su) == 0 && su.files == 5001 &&
	   su.logical_bytes == 9 + 5 * 500500, "the unit counts 5001 files");
	/* Each name counts: the 5000 files and the 2 links (8 and 9 bytes). */
	rc = ns_backup_end(e.n, b.ino, 5000, 5 * 500500, &a);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), b.id) &&
	   strstr(ddterr_last(rc), "counted 5000 files of 2502500 bytes") &&
	   strstr(ddterr_last(rc), "holds 5002 files of 2502517 bytes"),
	   "end with other totals than it holds: %s", ddterr_last(rc));
	ok(ns_getattr(e.n, b.ino, &x) == 0 && (x.flags & DDT_AF_INCOMPLETE),
	   "and it stays incomplete");
	ok(ns_backup_end(e.n, b.ino, 5002, 5 * 500500 + 17, &a) == 0 &&
	   a.flags == DDT_AF_BACKUP, "end: the incomplete flag is cleared");
	ok(ns_backup_end(e.n, subs[0], 1, 1, &a) == -EINVAL,
	   "ending a plain directory: -EINVAL");
	ok(ns_backup_list(e.n, "bk", blist_cb, &l) == 0 && l.n == 2 &&
	   strcmp(l.b[0].id, b.id) == 0 && l.b[0].flags == DDT_AF_BACKUP &&
	   l.b[0].files == 5002 && l.b[0].bytes == 5 * 500500 + 17 &&
	   l.b[0].created == T0 &&
	   l.b[1].flags == (DDT_AF_BACKUP | DDT_AF_INCOMPLETE),
	   "list: both, with flags and totals");
	ok(ns_get_stats(e.n, &st) == 0 && st.backups == 2 && st.files == 5001,
	   "stats: 2 backups");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ns_backup_delete(e.n, "bk", b.id);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(rc == 0, "delete the 5000-file backup (%.2f s)",
	   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	ok(ns_su_get(e.n, "bk", &su) == 0 && su.files == 1 &&
	   su.logical_bytes == 9, "the unit's counts are back to one file");
	for (int i = 0; i < 5; i++)
		gone += ns_getattr(e.n, sample[i], &x) == -ENOENT &&
			ns_getattr(e.n, subs[i], &x) == -ENOENT;
	ok(gone == 5 && ns_getattr(e.n, b.ino, &x) == -ENOENT,
	   "its inodes are gone");
	ok(inodes - count_keys(&e, 'I', 0) == 5006 &&
	   dents - count_keys(&e, 'D', 0) == 5008 &&
	   count_keys(&e, 'D', subs[3]) == 0,
	   "5006 inode records and 5008 entries less in the index");
	ok(ns_getattr(e.n, keep, &x) == 0 && x.nlink == 1,
	   "the file outside stays, nlink 1");
	l.n = 0;
	ok(ns_backup_list(e.n, "bk", blist_cb, &l) == 0 && l.n == 1 &&
	   strcmp(l.b[0].id, b2.id) == 0 && ns_get_stats(e.n, &st) == 0 &&
	   st.backups == 1, "one backup left");
	ok(ns_backup_delete(e.n, "bk", b.id) == -ENOENT &&
	   ns_backup_delete(e.n, "bk", "outside") == -EINVAL,
	   "deleting it again -ENOENT; a plain file is no backup");
	ok(ns_getattr(e.n, top, &x) == 0 && x.size == 2,
	   "the unit's root holds the file and the other backup");
	env_close(&e);
}

/* ---- retention, retention lock, quota ---- */

#define NS_S	1000000000LL

/* A complete backup "name" begun at now with retain, holding file "f". */
static ns_backup backup_with_file(env *e, const char *su, const char *name,
				  int64_t now, int64_t retain)
{
	ns_backup b;
	int rc;

	rc = ns_backup_begin(e->n, su, name, now, retain, &b, NULL);
	if (rc == 0)
		rc = ns_commit(e->n, b.ino, (ns_entry[]){ ent("f", 10) }, 1, 0,
			       NULL);
	if (rc == 0)
		rc = ns_backup_end(e->n, b.ino, 1, 10, NULL);
	if (rc)
		tap_bail("backup %s: %s", name, ddterr_last(rc));
	b.flags &= ~DDT_AF_INCOMPLETE;
	return b;
}

static int expire_cb(void *arg, const char *su, const ns_backup *b)
{
	blist *l = arg;

	(void)su;
	return blist_cb(l, b);
}

/* Whether unit su lists a backup called id, and its listing. */
static int listed(env *e, const char *su, const char *id, ns_backup *out)
{
	blist l = { .n = 0 };

	if (ns_backup_list(e->n, su, blist_cb, &l))
		tap_bail("list");
	for (int i = 0; i < l.n && i < 8; i++)
		if (strcmp(l.b[i].id, id) == 0) {
			if (out)
				*out = l.b[i];
			return 1;
		}
	return 0;
}

static void test_retention(const char *root)
{
	int64_t now = now_ns(), t = T0;
	ns_backup b, a, bb, c, d;
	blist l = { .n = 0 };
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "rt", &su))
		tap_bail("su");
	ok(su.retention == 0 && !su.locked && su.quota == 0,
	   "a new unit keeps backups for ever, unlocked, with no quota");
	ok(ns_backup_begin(e.n, "rt", "plain", now, 0, &b, NULL) == 0 &&
	   b.expires == 0, "without a retention a backup never expires");
	rc = ns_su_set(e.n, "rt", DDT_SU_SET_RETENTION, 3600, 0, 0, &su);
	ok(rc == 0 && su.retention == 3600 && !su.locked,
	   "the unit's retention is set (1 h)");
	ok(ns_su_get(e.n, "rt", &su) == 0 && su.retention == 3600,
	   "and reads back");
	ok(ns_backup_begin(e.n, "rt", "dflt", now, 0, &b, NULL) == 0 &&
	   b.expires == now + 3600 * NS_S, "a backup gets the unit's default");
	ok(ns_backup_begin(e.n, "rt", "expl", now, 60, &b, NULL) == 0 &&
	   b.expires == now + 60 * NS_S, "or its own retention (60 s)");
	ok(ns_backup_begin(e.n, "rt", "forever", now, DDT_RETAIN_NEVER, &b,
			   NULL) == 0 && b.expires == 0,
	   "or none (DDT_RETAIN_NEVER)");
	rc = ns_backup_begin(e.n, "rt", "bad", now, -2, NULL, NULL);
	ok(rc == -EINVAL, "a retention of -2: %s", ddterr_last(rc));
	ok(ns_backup_set_expiry(e.n, "rt", b.id, now + 10 * NS_S) == 0 &&
	   listed(&e, "rt", b.id, &c) && c.expires == now + 10 * NS_S &&
	   ns_backup_set_expiry(e.n, "rt", b.id, now + 5 * NS_S) == 0 &&
	   listed(&e, "rt", b.id, &c) && c.expires == now + 5 * NS_S,
	   "an unlocked backup's expiry moves either way");
	ok(ns_backup_set_expiry(e.n, "rt", "nosuch@20240101T000000Z", 0) ==
	   -ENOENT && ns_backup_set_expiry(e.n, "rt", b.id, -1) == -EINVAL,
	   "an unknown backup, a date before 1970");

	/* ns_expire with a made-up now, in a unit of its own */
	if (ns_su_create(e.n, "ex", NULL))
		tap_bail("su");
	a = backup_with_file(&e, "ex", "a", t, 10);
	bb = backup_with_file(&e, "ex", "b", t, 100);
	c = backup_with_file(&e, "ex", "c", t, DDT_RETAIN_NEVER);
	if (ns_backup_begin(e.n, "ex", "d", t, 10, &d, NULL))
		tap_bail("begin d");
	rc = ns_expire(e.n, "ex", t + 50 * NS_S, 1, expire_cb, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.b[0].id, a.id) == 0 &&
	   listed(&e, "ex", a.id, NULL),
	   "a dry run names the one expired backup and removes nothing");
	l.n = 0;
	rc = ns_expire(e.n, NULL, t + 50 * NS_S, 0, expire_cb, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.b[0].id, a.id) == 0 &&
	   l.b[0].expires == t + 10 * NS_S && !listed(&e, "ex", a.id, NULL),
	   "expire removes it (all units)");
	ok(listed(&e, "ex", bb.id, NULL) && listed(&e, "ex", c.id, NULL) &&
	   listed(&e, "ex", d.id, NULL),
	   "a later, a never-expiring and an incomplete backup stay");
	l.n = 0;
	rc = ns_expire(e.n, "ex", t + 86400 * NS_S, 0, expire_cb, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.b[0].id, bb.id) == 0 &&
	   listed(&e, "ex", d.id, NULL),
	   "a day on: the next; the incomplete one has a day's grace");
	l.n = 0;
	rc = ns_expire(e.n, "ex", t + 86411 * NS_S, 0, expire_cb, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.b[0].id, d.id) == 0 &&
	   listed(&e, "ex", c.id, NULL) && ns_su_get(e.n, "ex", &su) == 0 &&
	   su.files == 1 && su.logical_bytes == 10,
	   "then it goes too; the unit counts what is left");
	ok(ns_expire(e.n, "nosuch", t, 0, NULL, NULL) == -ENOENT,
	   "an unknown unit: -ENOENT");
	env_close(&e);
}

/* Every namespace change inside backup bk (holding sub/f1, sub/f2, the
 * empty directory empty, with outside a file at the unit's root) is
 * refused; how many were. */
static int lock_refusals(env *e, const char *su, const ns_backup *bk,
			 uint64_t top, uint64_t sub, uint64_t f1,
			 uint64_t outside)
{
	ddt_attr v = { .mode = 0600 }, x;
	int n = 0, rc;

#define REFUSED(call, what) do {					\
		rc = (call);						\
		if (rc == -EPERM &&					\
		    strstr(ddterr_last(rc), "retention lock"))		\
			n++;						\
		else							\
			diag("%s: %d %s", what, rc, ddterr_last(rc));	\
	} while (0)
	REFUSED(ns_backup_delete(e->n, su, bk->id), "delete");
	REFUSED(ns_backup_set_expiry(e->n, su, bk->id, bk->expires - NS_S),
		"shorten");
	REFUSED(ns_su_delete(e->n, su, 1), "delete the unit");
	REFUSED(ns_unlink(e->n, sub, "f1"), "unlink");
	REFUSED(ns_rmdir(e->n, bk->ino, "empty"), "rmdir");
	REFUSED(ns_rename(e->n, sub, "f1", sub, "f1b"), "rename within");
	REFUSED(ns_rename(e->n, sub, "f1", top, "away"), "rename out of");
	REFUSED(ns_rename(e->n, top, "outside", sub, "in"), "rename into");
	REFUSED(ns_rename(e->n, top, bk->id, top, "renamed"),
		"rename the backup");
	REFUSED(ns_setattr(e->n, f1, DDT_SA_MODE, &v, &x), "setattr a file");
	REFUSED(ns_setattr(e->n, sub, DDT_SA_MODE, &v, &x), "setattr a dir");
	REFUSED(ns_commit(e->n, sub, (ns_entry[]){ ent("f1", 3) }, 1, 0,
			  NULL), "replace");
	REFUSED(ns_commit(e->n, sub, (ns_entry[]){ ent("new", 3) }, 1, 0,
			  NULL), "commit");
	REFUSED(ns_mkdir(e->n, sub, "d", 0755, 0, 0, 0, NULL), "mkdir");
	REFUSED(ns_symlink(e->n, sub, "s", "t", 0, 0, 0, NULL), "symlink");
	REFUSED(ns_link(e->n, outside, sub, "lnk", NULL), "link into");
	REFUSED(ns_link(e->n, f1, top, "lnk", NULL), "link out of");
	REFUSED(ns_backup_end(e->n, bk->ino, 99, 99, NULL), "new totals");
#undef REFUSED
	return n;
}

static void test_lock(const char *root)
{
	int64_t now = now_ns();
	uint64_t top, sub, f1, outside, sub2;
	ns_backup old, bk, soon, b1, b2;
	blist l = { .n = 0 };
	ddt_attr a, x, v = { .mode = 0600 };
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "lk", NULL))
		tap_bail("su");
	top = su_root(&e, "lk");
	if (ns_commit(e.n, top, (ns_entry[]){ ent("outside", 7) }, 1, 0, &a))
		tap_bail("commit");
	outside = a.ino;
	old = backup_with_file(&e, "lk", "old", now - 10 * NS_S,
			       DDT_RETAIN_NEVER);
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_LOCK, 0, 1, 0, NULL);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), "retention"),
	   "no lock without a retention: %s", ddterr_last(rc));
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK,
		       3600, 1, 0, NULL);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), old.id),
	   "no lock while a backup never expires: %s", ddterr_last(rc));
	ok(ns_su_get(e.n, "lk", &su) == 0 && !su.locked && su.retention == 0,
	   "and nothing of that request was applied");
	if (ns_backup_set_expiry(e.n, "lk", old.id, now + 3600 * NS_S) ||
	    ns_backup_begin(e.n, "lk", "inc", now, DDT_RETAIN_NEVER, &b1, NULL))
		tap_bail("set expiry");
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK,
		       3600, 1, 0, NULL);
	ok(rc == -EINVAL && strstr(ddterr_last(rc), b1.id),
	   "nor while an incomplete one would, once ended: %s",
	   ddterr_last(rc));
	if (ns_backup_delete(e.n, "lk", b1.id))
		tap_bail("delete");
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK,
		       3600, 1, 0, &su);
	ok(rc == 0 && su.locked && su.retention == 3600,
	   "once it has a date the unit locks");
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_LOCK, 0, 0, 0, NULL);
	ok(rc == -EPERM && strstr(ddterr_last(rc), "cannot be turned off"),
	   "the lock cannot be cleared: %s", ddterr_last(rc));
	rc = ns_su_set(e.n, "lk", DDT_SU_SET_RETENTION, 60, 0, 0, NULL);
	ok(rc == -EPERM, "nor the retention shortened: %s", ddterr_last(rc));
	ok(ns_su_set(e.n, "lk", DDT_SU_SET_RETENTION | DDT_SU_SET_QUOTA,
		     7200, 0, 1 << 20, &su) == 0 && su.locked &&
	   su.retention == 7200 && su.quota == 1 << 20,
	   "the retention can grow and the quota change (lock stays on)");
	rc = ns_backup_begin(e.n, "lk", "short", now, 60, NULL, NULL);
	ok(rc == -EPERM, "a backup shorter than the unit's retention: %s",
	   ddterr_last(rc));

	/* An incomplete backup is not locked: it is being written. */
	if (ns_backup_begin(e.n, "lk", "bk", now, 0, &bk, NULL))
		tap_bail("begin");
	sub = mkdir_or_bail(&e, bk.ino, "sub");
	mkdir_or_bail(&e, bk.ino, "empty");
	if (ns_commit(e.n, sub, (ns_entry[]){ ent("f1", 100), ent("f2", 5) },
		      2, 0, NULL))
		tap_bail("commit");
	if (ns_lookup(e.n, sub, "f1", &a))
		tap_bail("lookup");
	f1 = a.ino;
	ok(ns_setattr(e.n, f1, DDT_SA_MODE, &v, &x) == 0 &&
	   ns_rename(e.n, sub, "f2", sub, "f2b") == 0 &&
	   ns_rename(e.n, sub, "f2b", sub, "f2") == 0,
	   "inside an incomplete backup of a locked unit, changes work");
	if (ns_backup_end(e.n, bk.ino, 2, 105, NULL))
		tap_bail("end");
	bk.flags &= ~DDT_AF_INCOMPLETE;
	ok(listed(&e, "lk", bk.id, &bk) && (bk.flags & DDT_AF_LOCKED) &&
	   bk.expires == now + 7200 * NS_S,
	   "complete, it is listed locked, with the unit's retention");
	rc = ns_backup_delete(e.n, "lk", bk.id);
	ok(rc == -EPERM && strstr(ddterr_last(rc), bk.id) &&
	   strstr(ddterr_last(rc), "storage unit lk is locked until ") &&
	   strstr(ddterr_last(rc), " UTC"), "delete: %s", ddterr_last(rc));
	rc = lock_refusals(&e, "lk", &bk, top, sub, f1, outside);
	ok(rc == 18, "every change in it is refused (%d of 18)", rc);
	ok(ns_lookup(e.n, sub, "f1", &a) == 0 && a.ino == f1 &&
	   a.size == 100 && (a.mode & 0777) == 0600 &&
	   ns_lookup(e.n, bk.ino, "empty", &a) == 0 &&
	   ns_lookup(e.n, top, "outside", &a) == 0 && a.nlink == 1 &&
	   listed(&e, "lk", bk.id, NULL), "and nothing changed");
	ok(ns_backup_end(e.n, bk.ino, 2, 105, NULL) == 0,
	   "ending it again with the same totals is fine (a retry)");
	ok(ns_backup_set_expiry(e.n, "lk", bk.id, bk.expires + NS_S) == 0 &&
	   listed(&e, "lk", bk.id, &b1) && b1.expires == bk.expires + NS_S,
	   "lengthening works");
	ok(ns_commit(e.n, top, (ns_entry[]){ ent("outside", 8) }, 1, 0,
		     NULL) == 0 && ns_unlink(e.n, top, "outside") == 0,
	   "outside the backups the unit changes as usual");

	/* Hard links may not join two backups in a locked unit. */
	if (ns_backup_begin(e.n, "lk", "b1", now + NS_S, 0, &b1, NULL) ||
	    ns_backup_begin(e.n, "lk", "b2", now + 2 * NS_S, 0, &b2, NULL))
		tap_bail("begin");
	if (ns_commit(e.n, b1.ino, (ns_entry[]){ ent("g", 1) }, 1, 0, &a))
		tap_bail("commit");
	sub2 = mkdir_or_bail(&e, b2.ino, "d");
	rc = ns_link(e.n, a.ino, sub2, "g", NULL);
	ok(rc == -EPERM, "a link across backups: %s", ddterr_last(rc));
	ok(ns_link(e.n, a.ino, b1.ino, "g2", &x) == 0 && x.nlink == 2,
	   "within one it works");
	rc = ns_setattr(e.n, a.ino, DDT_SA_MODE, &v, &x);
	ok(rc == -EPERM, "a file of several names is frozen in a locked "
	   "unit: %s", ddterr_last(rc));
	ok(ns_unlink(e.n, b1.ino, "g2") == 0 &&
	   ns_setattr(e.n, a.ino, DDT_SA_MODE, &v, &x) == 0,
	   "one name again, it changes");
	ok(ns_backup_delete(e.n, "lk", b1.id) == 0 &&
	   ns_backup_delete(e.n, "lk", b2.id) == 0,
	   "incomplete backups may be removed");

	/* A lock ends with its date; ns_expire cannot fake the clock. */
	soon = backup_with_file(&e, "lk", "soon", now - 7199 * NS_S, 0);
	ok(ns_unlink(e.n, soon.ino, "f") == -EPERM,
	   "a backup expiring in a second is locked");
	rc = ns_expire(e.n, "lk", now + 86400 * 400 * NS_S, 1, expire_cb, &l);
	ok(rc == 0 && l.n == 0, "expire with a far-off now names no locked "
	   "backup (%d)", l.n);
	rc = ns_expire(e.n, "lk", now + 86400 * 400 * NS_S, 0, NULL, NULL);
	ok(rc == 0 && listed(&e, "lk", soon.id, NULL) &&
	   listed(&e, "lk", bk.id, NULL), "nor removes one");
	while (now_ns() <= soon.expires + NS_S / 10)
		usleep(50000);
	rc = ns_unlink(e.n, soon.ino, "f");
	ok(rc == -EROFS && ns_backup_set_expiry(e.n, "lk", soon.id, now) == 0,
	   "past its date, a shorter expiry works; it stays complete, so "
	   "unchangeable (%s)", ddterr_last(rc));
	l.n = 0;
	rc = ns_expire(e.n, "lk", now_ns(), 0, expire_cb, &l);
	ok(rc == 0 && l.n == 1 && strcmp(l.b[0].id, soon.id) == 0 &&
	   listed(&e, "lk", bk.id, NULL) && listed(&e, "lk", old.id, NULL),
	   "and expire removes it, and only it");
	env_close(&e);
	env_open(&e, root);
	ok(ns_su_get(e.n, "lk", &su) == 0 && su.locked &&
	   su.retention == 7200 && su.quota == 1 << 20 &&
	   ns_backup_delete(e.n, "lk", bk.id) == -EPERM,
	   "after reopening the unit is still locked");
	env_close(&e);
}

static void test_quota(const char *root)
{
	ddt_attr a;
	uint64_t top;
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "qt", NULL) ||
	    ns_su_set(e.n, "qt", DDT_SU_SET_QUOTA, 0, 0, 1000, &su))
		tap_bail("su");
	top = su.root;
	ok(su.quota == 1000 && !su.locked, "a quota of 1000 bytes");
	ok(ns_commit(e.n, top, (ns_entry[]){ ent("f1", 600) }, 1, 0, NULL) ==
	   0, "600 bytes fit");
	rc = ns_commit(e.n, top, (ns_entry[]){ ent("f2", 500) }, 1, 1, NULL);
	ok(rc == -EDQUOT && strstr(ddterr_last(rc), "storage unit qt: quota "
				   "of 1000 B would be exceeded (600 B used, "
				   "this file adds 500 B)"),
	   "500 more do not: %s", ddterr_last(rc));
	rc = ns_commit(e.n, top, (ns_entry[]){ ent("g1", 100), ent("g2", 400) },
		       2, 0, NULL);
	ok(rc == -EDQUOT, "nor two files adding 500: %s", ddterr_last(rc));
	ok(ns_lookup(e.n, top, "f2", &a) == -ENOENT &&
	   ns_lookup(e.n, top, "g1", &a) == -ENOENT &&
	   ns_su_get(e.n, "qt", &su) == 0 && su.files == 1 &&
	   su.logical_bytes == 600, "nothing of either was committed");
	ok(ns_commit(e.n, top, (ns_entry[]){ ent("g1", 100), ent("g2", 300) },
		     2, 0, NULL) == 0 && ns_su_get(e.n, "qt", &su) == 0 &&
	   su.logical_bytes == 1000, "up to the quota exactly is fine");
	ok(ns_commit(e.n, top, (ns_entry[]){ ent("f1", 100) }, 1, 0, NULL) ==
	   0, "a replacement that shrinks is fine");
	if (ns_su_set(e.n, "qt", DDT_SU_SET_QUOTA, 0, 0, 200, NULL))
		tap_bail("set");
	ok(ns_commit(e.n, top, (ns_entry[]){ ent("g2", 200) }, 1, 0, NULL) ==
	   0 && ns_commit(e.n, top, (ns_entry[]){ ent("h", 1) }, 1, 0, NULL) ==
	   -EDQUOT, "over a lowered quota, shrinking works and growing not");
	ok(ns_su_set(e.n, "qt", DDT_SU_SET_QUOTA, 0, 0, 0, NULL) == 0 &&
	   ns_commit(e.n, top, (ns_entry[]){ ent("h", 5000) }, 1, 0, NULL) ==
	   0, "quota 0: none");
	ok(ns_su_set(e.n, "qt", 8, 0, 0, 0, NULL) == -EINVAL &&
	   ns_su_set(e.n, "nosuch", DDT_SU_SET_QUOTA, 0, 0, 0, NULL) == -ENOENT,
	   "unknown mask bits, an unknown unit");
	env_close(&e);
}

/* A store written by format 1 (its layout pinned here byte by byte): a
 * unit "old" with a backup holding one file. */
static void put_rec(idx_batch *b, char tag, uint64_t ino, const char *name,
		    const void *v, size_t vlen)
{
	uint8_t key[1 + 8 + 64];
	size_t klen = 1;

	key[0] = (uint8_t)tag;
	if (ino) {
		for (int i = 0; i < 8; i++)
			key[1 + i] = (uint8_t)(ino >> (56 - 8 * i));
		klen = 9;
	}
	memcpy(key + klen, name, strlen(name));
	klen += strlen(name);
	idx_batch_put(b, IDX_NS, key, klen, v, vlen);
}

static size_t v1_inode(uint8_t *p, uint8_t type, uint32_t nlink, uint64_t size,
		       uint32_t flags, uint64_t parent, uint64_t su)
{
	memset(p, 0, 110);
	p[0] = 1;
	p[1] = type;
	put_le32(p + 2, 0755);
	put_le32(p + 14, nlink);
	put_le64(p + 18, size);
	put_le32(p + 50, flags);
	put_le64(p + 54, parent);
	put_le64(p + 62, su);
	return type == DDT_T_FILE ? 70 + 1 + 32 : 70 + 32;
}

static void test_format1(const char *root)
{
	uint8_t rec[128], v[16];
	const char *id = "bk@20240102T030405Z";
	store_config c;
	idx_batch *b;
	ns_backup bk;
	ns_su su;
	ddt_attr a;
	size_t len;
	void *fmt;
	env e;

	store_config_default(&c, root);
	c.k = 1;
	c.m = 0;
	if (tstore_open(&e.s, &c) || idx_batch_new(&b))
		tap_bail("store");
	put_le32(v, 1);
	put_rec(b, 'M', 0, "format", v, 4);
	put_le64(v, 5);
	put_rec(b, 'M', 0, "next_ino", v, 8);
	v[0] = 1;
	put_le64(v + 1, 2);
	put_rec(b, 'S', 0, "old", v, 9);
	len = v1_inode(rec, DDT_T_DIR, 3, 1, 0, 0, 2);
	put_le64(rec + 70, 1);			/* files */
	put_le64(rec + 78, 5);			/* bytes */
	put_le64(rec + 86, 1);			/* backups */
	put_rec(b, 'I', 2, "", rec, len);
	put_le64(v, 3);
	v[8] = DDT_T_DIR;
	put_rec(b, 'D', 2, id, v, 9);
	len = v1_inode(rec, DDT_T_DIR, 2, 1, DDT_AF_BACKUP, 2, 2);
	put_le64(rec + 94, (uint64_t)T0);	/* created */
	put_rec(b, 'I', 3, "", rec, len);
	put_le64(v, 4);
	v[8] = DDT_T_FILE;
	put_rec(b, 'D', 3, "f", v, 9);
	len = v1_inode(rec, DDT_T_FILE, 1, 5, 0, 0, 2);
	put_rec(b, 'I', 4, "", rec, len);
	if (idx_batch_write(tstore_index(e.s), b, 1))
		tap_bail("write");
	idx_batch_free(b);

	ok(ns_open(&e.n, tstore_index(e.s)) == 0, "a format-1 namespace opens");
	ok(idx_kv_get(tstore_index(e.s), IDX_NS, "Mformat", 7, &fmt, &len) ==
	   0 && len == 4 && get_le32(fmt) == 2, "and is marked format 2");
	free(fmt);
	ok(ns_su_get(e.n, "old", &su) == 0 && su.root == 2 && su.files == 1 &&
	   su.logical_bytes == 5 && su.retention == 0 && !su.locked &&
	   su.quota == 0, "its unit reads: no retention, lock or quota");
	ok(listed(&e, "old", id, &bk) && bk.expires == 0 && bk.ino == 3 &&
	   bk.created == T0 && bk.flags == DDT_AF_BACKUP,
	   "its backup never expires");
	ok(ns_lookup(e.n, 3, "f", &a) == 0 && a.ino == 4 && a.size == 5,
	   "its file reads");
	ok(ns_commit(e.n, 3, (ns_entry[]){ ent("g", 7) }, 1, 1, NULL) ==
	   -EROFS, "its backup is complete: nothing can be added to it");
	ok(ns_commit(e.n, 2, (ns_entry[]){ ent("g", 7) }, 1, 1, NULL) == 0 &&
	   ns_backup_set_expiry(e.n, "old", id, now_ns() + 3600 * NS_S) ==
	   0 && ns_su_set(e.n, "old", DDT_SU_SET_RETENTION | DDT_SU_SET_LOCK,
			  60, 1, 0, &su) == 0 && su.locked,
	   "and takes new records: a commit, an expiry, a lock");
	ok(ns_unlink(e.n, 3, "f") == -EPERM && ns_backup_delete(e.n, "old", id)
	   == -EPERM, "which holds its old backup");
	env_close(&e);
	env_open(&e, root);
	ok(ns_su_get(e.n, "old", &su) == 0 && su.files == 2 && su.locked &&
	   listed(&e, "old", id, &bk) && bk.expires > 0,
	   "reopened, all of it reads back");
	env_close(&e);
}

/* ---- reopening, damage ---- */

static void test_persist(const char *root)
{
	ddt_attr a, b, c;
	uint64_t top, d;
	ns_su su;
	int rc;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "p", NULL))
		tap_bail("su");
	top = su_root(&e, "p");
	d = mkdir_or_bail(&e, top, "dir");
	commit_many(&e, d, "x", 300);
	if (ns_symlink(e.n, d, "sl", "target", 0, 0, 0, &a))
		tap_bail("symlink");
	env_close(&e);

	env_open(&e, root);
	ok(ns_su_get(e.n, "p", &su) == 0 && su.root == top &&
	   su.files == 300 && su.logical_bytes == 300 * 301 / 2,
	   "after reopening: the unit and its counts");
	ok(ns_lookup(e.n, top, "dir", &b) == 0 && b.ino == d && b.size == 301,
	   "the directory and its entries");
	ok(ns_lookup(e.n, d, "x00299", &b) == 0 && b.size == 300,
	   "a file's attributes");
	memset(&c, 0, sizeof(c));
	rc = ns_mkdir(e.n, top, "new", 0, 0, 0, 0, &c);
	ok(rc == 0 && c.ino > a.ino,
	   "new inode numbers continue after the old (%llu > %llu)",
	   (unsigned long long)c.ino, (unsigned long long)a.ino);

	{
		idx *ix = tstore_index(e.s);
		uint8_t key[9] = { 'I' }, junk[5] = { 1, 2, 3, 4, 5 };
		idx_batch *bt;

		for (int i = 0; i < 8; i++)
			key[1 + i] = (uint8_t)(b.ino >> (56 - 8 * i));
		if (idx_batch_new(&bt))
			tap_bail("batch");
		idx_batch_put(bt, IDX_NS, key, sizeof(key), junk, sizeof(junk));
		if (idx_batch_write(ix, bt, 0))
			tap_bail("write");
		idx_batch_free(bt);
		rc = ns_getattr(e.n, b.ino, &c);
		ok(rc == -EBADMSG, "a damaged inode record: %s",
		   ddterr_last(rc));
		ok(ns_unlink(e.n, d, "x00299") == -EBADMSG,
		   "and an update touching it fails");
	}
	env_close(&e);
}

/* A writer killed after a synced backup end: what it acknowledged is
 * there, and whatever else survived is whole (counts match the tree). */
static void test_crash(const char *root)
{
	int pfd[2], status, rc;
	ns_backup b;
	ns_su su;
	ddt_attr a;
	pid_t pid;
	char c;
	env e;

	if (pipe(pfd))
		tap_bail("pipe");
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (pid == 0) {
		close(pfd[0]);
		env_open(&e, root);
		if (ns_su_create(e.n, "k", NULL) ||
		    ns_backup_begin(e.n, "k", "b", T0, 0, &b, NULL))
			_exit(2);
		commit_many(&e, b.ino, "a", 2000);
		if (ns_backup_end(e.n, b.ino, 2000, 2000 * 2001 / 2, NULL))
			_exit(3);
		if (write(pfd[1], "x", 1) != 1)
			_exit(4);
		for (int i = 0;; i++) {
			char name[32];

			snprintf(name, sizeof(name), "z%d-", i);
			commit_many(&e, b.ino, name, 1000);
		}
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		tap_bail("child failed");
	usleep(100000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pfd[0]);

	env_open(&e, root);
	memset(&su, 0, sizeof(su));
	memset(&a, 0, sizeof(a));
	rc = ns_su_get(e.n, "k", &su);
	ok(rc == 0 && su.files >= 2000,
	   "after SIGKILL the unit has at least the 2000 files (%llu)",
	   (unsigned long long)su.files);
	rc = ns_lookup(e.n, su.root, "b@20240102T030405Z", &a);
	ok(rc == 0 && a.flags == DDT_AF_BACKUP && a.size == su.files,
	   "the ended backup is complete and counts match its entries "
	   "(%llu)", (unsigned long long)a.size);
	env_close(&e);
}

/* ---- concurrency ---- */

#define NTHREADS 4
#define PER_THREAD 150

typedef struct th_arg {
	env *e;
	uint64_t own, shared;
	int id, failures;
} th_arg;

static void *th_commit(void *p)
{
	th_arg *t = p;

	for (int i = 0; i < PER_THREAD; i++) {
		char name[32];
		ddt_attr a;
		ns_entry v;

		snprintf(name, sizeof(name), "t%d-%d", t->id, i);
		v = ent(name, 10);
		/* half in a shared directory, half in one of our own */
		t->failures += ns_commit(t->e->n, i % 2 ? t->own : t->shared,
					 &v, 1, 0, NULL) != 0;
		t->failures += ns_getattr(t->e->n, t->shared, &a) != 0;
	}
	return NULL;
}

static void test_threads(const char *root)
{
	pthread_t th[NTHREADS];
	th_arg arg[NTHREADS];
	uint64_t top, shared;
	int failures = 0, sizes_ok = 0, rc;
	ddt_attr a;
	ns_su su;
	env e;

	env_open(&e, root);
	if (ns_su_create(e.n, "t", NULL))
		tap_bail("su");
	top = su_root(&e, "t");
	shared = mkdir_or_bail(&e, top, "shared");
	for (int i = 0; i < NTHREADS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "own%d", i);
		arg[i] = (th_arg){ .e = &e, .id = i, .shared = shared,
				   .own = mkdir_or_bail(&e, top, name) };
	}
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, th_commit, &arg[i]))
			tap_bail("pthread_create");
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		failures += arg[i].failures;
	}
	ok(failures == 0, "%d threads commit and read at once", NTHREADS);
	memset(&su, 0, sizeof(su));
	rc = ns_su_get(e.n, "t", &su);
	ok(rc == 0 && su.files == NTHREADS * PER_THREAD &&
	   su.logical_bytes == 10 * su.files,
	   "the unit counts every commit (%llu)", (unsigned long long)su.files);
	for (int i = 0; i < NTHREADS; i++)
		sizes_ok += ns_getattr(e.n, arg[i].own, &a) == 0 &&
			    a.size == PER_THREAD / 2;
	ok(sizes_ok == NTHREADS && ns_getattr(e.n, shared, &a) == 0 &&
	   a.size == NTHREADS * PER_THREAD / 2,
	   "each directory holds its entries");
	env_close(&e);
}

int main(void)
{
	char *root = tap_tmpdir("ns");

	run_in(root, "su", test_su);
	run_in(root, "tree", test_tree);
	run_in(root, "commit", test_commit);
	run_in(root, "rename", test_rename);
	run_in(root, "links", test_links);
	run_in(root, "backups", test_backups);
	run_in(root, "retention", test_retention);
	run_in(root, "lock", test_lock);
	run_in(root, "quota", test_quota);
	run_in(root, "format1", test_format1);
	run_in(root, "persist", test_persist);
	run_in(root, "crash", test_crash);
	run_in(root, "threads", test_threads);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
