/* test_auth.c - users in the store's RocksDB: passwords check with their
 * role and domain, every refusal looks the same (and costs the same), names
 * are validated, a record made before domains reads as of the system
 * domain, and no password reaches the index files. */
#include "auth.h"
#include "store.h"
#include "ddterr.h"
#include "now.h"
#include "wire.h"
#include "tap.h"
#include "testutil.h"
#include "tstore.h"
#include "bytes.h"

#include <dirent.h>
#include <time.h>

#include <openssl/evp.h>

#define PW_ADMIN "Corr3ct-Horse-Battery-Staple-admin"
#define PW_BOB   "bobs-0wn-s3cret-passphrase"
#define PW_NEW   "a-brand-NEW-passphrase-42"

static store *open_st(const char *root)
{
	store_config c;
	store *s = NULL;
	int rc;

	store_config_default(&c, root);
	c.k = 1;
	c.m = 0;
	rc = tstore_open(&s, &c);
	if (rc)
		tap_bail("store_open %s: %s", root, ddterr_last(rc));
	return s;
}

typedef struct ulist {
	char names[8][80];
	int roles[8], n;
} ulist;

static int list_cb(void *arg, const char *user, int role,
		   const char *domain)
{
	ulist *l = arg;

	if (l->n < 8) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", user);
		l->roles[l->n] = role;
		ok(strcmp(domain, DDT_DOMAIN_SYSTEM) == 0,
		   "%s is of the system domain", user);
	}
	l->n++;
	return 0;
}

/* The fastest of three checks, in seconds: one run may be descheduled. */
/* This thread's CPU seconds: the hash is all CPU, and other processes on
 * a loaded machine stretch wall time, not this. */
static double thread_cpu_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The least CPU time of five failed checks. */
static double check_time(idx *ix, const char *user, const char *pw)
{
	double best = 1e9;

	for (int i = 0; i < 5; i++) {
		double t0 = thread_cpu_sec(), t;
		int role;

		if (auth_check(ix, user, pw, &role, NULL) != -EACCES)
			return -1;
		t = thread_cpu_sec() - t0;
		best = t < best ? t : best;
	}
	return best;
}

/* 1 if any file under dir holds needle. */
static int tree_holds(const char *dir, const char *needle)
{
	size_t nlen = strlen(needle);
	struct dirent *de;
	int found = 0;
	DIR *d = opendir(dir);

	if (!d)
		tap_bail("opendir %s", dir);
	while (!found && (de = readdir(d))) {
		char path[1024];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found = tree_holds(path, needle);
		} else if (S_ISREG(st.st_mode) && st.st_size > 0) {
			FILE *f = fopen(path, "rb");
			char *buf = xmalloc((size_t)st.st_size);

			if (f && fread(buf, 1, (size_t)st.st_size, f) ==
				 (size_t)st.st_size)
				found = memmem(buf, (size_t)st.st_size, needle,
					       nlen) != NULL;
			if (f)
				fclose(f);
			free(buf);
		}
	}
	closedir(d);
	return found;
}

static void test_users(const char *root)
{
	char msg_wrong[512], msg_unknown[512], longname[80];
	store *s = open_st(root);
	idx *ix = tstore_index(s);
	ulist l = { .n = 0 };
	double t_wrong, t_unknown;
	uint64_t n = 99;
	int role = 0, rc;

	ok(auth_count(ix, &n) == 0 && n == 0, "a new store has no users");
	ok(auth_set_user(ix, "admin", PW_ADMIN, DDT_ROLE_ADMIN, NULL) == 0 &&
	   auth_set_user(ix, "bob.the-user_2", PW_BOB, DDT_ROLE_USER, NULL) == 0,
	   "create an admin and a user");
	ok(auth_count(ix, &n) == 0 && n == 2, "two users");
	ok(auth_list(ix, list_cb, &l) == 0 && l.n == 2 &&
	   strcmp(l.names[0], "admin") == 0 && l.roles[0] == DDT_ROLE_ADMIN &&
	   strcmp(l.names[1], "bob.the-user_2") == 0 &&
	   l.roles[1] == DDT_ROLE_USER, "list: names and roles");

	ok(auth_check(ix, "admin", PW_ADMIN, &role, NULL) == 0 &&
	   role == DDT_ROLE_ADMIN, "the right password: ok, role admin");
	ok(auth_check(ix, "bob.the-user_2", PW_BOB, &role, NULL) == 0 &&
	   role == DDT_ROLE_USER, "the user's: ok, role user");

	rc = auth_check(ix, "admin", PW_BOB, &role, NULL);
	snprintf(msg_wrong, sizeof(msg_wrong), "%s", ddterr_last(rc));
	ok(rc == -EACCES, "a wrong password: %s", msg_wrong);
	rc = auth_check(ix, "mallory", PW_BOB, &role, NULL);
	snprintf(msg_unknown, sizeof(msg_unknown), "%s", ddterr_last(rc));
	ok(rc == -EACCES && strcmp(msg_wrong, msg_unknown) == 0 &&
	   strcmp(msg_wrong, "wrong user name or password") == 0,
	   "an unknown user: the same code and message");
	t_wrong = check_time(ix, "admin", PW_BOB);
	t_unknown = check_time(ix, "mallory", PW_BOB);
	ok(t_wrong > 0 && t_unknown > t_wrong / 3 && t_unknown < t_wrong * 3,
	   "and about the same CPU time (%.1f ms vs %.1f ms)", t_unknown * 1e3,
	   t_wrong * 1e3);
	ok(auth_check(ix, "admin", "", &role, NULL) == -EACCES &&
	   auth_check(ix, "bad name", PW_ADMIN, &role, NULL) == -EACCES &&
	   auth_check(ix, "", "", &role, NULL) == -EACCES,
	   "an empty password or an impossible name: -EACCES too");

	memset(longname, 'u', 65);
	longname[65] = '\0';
	ok(auth_set_user(ix, "with space", "x", DDT_ROLE_USER, NULL) == -EINVAL &&
	   auth_set_user(ix, "", "x", DDT_ROLE_USER, NULL) == -EINVAL &&
	   auth_set_user(ix, "a/b", "x", DDT_ROLE_USER, NULL) == -EINVAL &&
	   auth_set_user(ix, longname, "x", DDT_ROLE_USER, NULL) == -EINVAL,
	   "bad user names are -EINVAL");
	longname[64] = '\0';
	ok(auth_set_user(ix, longname, "x", DDT_ROLE_USER, NULL) == 0,
	   "a 64-byte name is fine");
	ok(auth_set_user(ix, "carol", "", DDT_ROLE_USER, NULL) == -EINVAL &&
	   auth_set_user(ix, "carol", "x", 7, NULL) == -EINVAL,
	   "an empty password or an unknown role: -EINVAL");

	ok(auth_set_user(ix, "bob.the-user_2", PW_NEW, DDT_ROLE_ADMIN, NULL) == 0,
	   "replace bob's password and role");
	ok(auth_check(ix, "bob.the-user_2", PW_BOB, &role, NULL) == -EACCES &&
	   auth_check(ix, "bob.the-user_2", PW_NEW, &role, NULL) == 0 &&
	   role == DDT_ROLE_ADMIN, "the old password fails, the new works");
	ok(auth_delete_user(ix, longname) == 0 &&
	   auth_check(ix, longname, "x", &role, NULL) == -EACCES &&
	   auth_delete_user(ix, longname) == -ENOENT,
	   "delete a user: the login fails, a second delete -ENOENT");
	ok(auth_count(ix, &n) == 0 && n == 2, "two users again");
	tstore_close(s);

	s = open_st(root);
	ix = tstore_index(s);
	ok(auth_check(ix, "admin", PW_ADMIN, &role, NULL) == 0 &&
	   role == DDT_ROLE_ADMIN &&
	   auth_check(ix, "bob.the-user_2", PW_NEW, &role, NULL) == 0,
	   "users survive reopening");
	tstore_close(s);

	{
		char idir[1024];

		snprintf(idir, sizeof(idir), "%s/index", root);
		ok(tree_holds(idir, "bob.the-user_2"),
		   "the index files do hold the user names (the search works)");
		ok(!tree_holds(idir, PW_ADMIN) && !tree_holds(idir, PW_BOB) &&
		   !tree_holds(idir, PW_NEW),
		   "but no password, old or new");
	}
}

/* A version 1 record (before domains), written as that build did:
 * version, role, iterations, salt, PBKDF2 hash. */
static void put_v1_user(idx *ix, const char *user, const char *pw, int role,
			uint32_t iterations)
{
	uint8_t rec[6 + 16 + 32];
	idx_batch *b;

	memset(rec, 0, sizeof(rec));
	rec[0] = 1;
	rec[1] = (uint8_t)role;
	put_le32(rec + 2, iterations);
	memset(rec + 6, 0x5a, 16);
	if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), rec + 6, 16,
			      (int)iterations, EVP_sha256(), 32,
			      rec + 22) != 1 ||
	    idx_batch_new(&b) < 0)
		tap_bail("a version 1 record");
	idx_batch_put(b, IDX_USERS, user, strlen(user), rec, sizeof(rec));
	if (idx_batch_write(ix, b, 1) < 0)
		tap_bail("writing a version 1 record");
	idx_batch_free(b);
}

static void test_domains(const char *root)
{
	char dom[DDT_MAX_DOMAIN + 1] = "";
	store *s = open_st(root);
	idx *ix = tstore_index(s);
	int role = 0;

	ok(auth_set_user(ix, "ann", PW_BOB, DDT_ROLE_BACKUP, "acme") == 0 &&
	   auth_check(ix, "ann", PW_BOB, &role, dom) == 0 &&
	   role == DDT_ROLE_BACKUP && strcmp(dom, "acme") == 0,
	   "a user of domain acme logs in with its level and domain (%s)",
	   dom);
	ok(auth_set_user(ix, "ann", PW_NEW, DDT_ROLE_RESTORE, NULL) == 0 &&
	   auth_check(ix, "ann", PW_NEW, &role, dom) == 0 &&
	   role == DDT_ROLE_RESTORE && strcmp(dom, "acme") == 0,
	   "a new password and level without a domain keep its domain");
	ok(auth_set_user(ix, "zed", PW_BOB, DDT_ROLE_USER, NULL) == 0 &&
	   auth_check(ix, "zed", PW_BOB, NULL, dom) == 0 &&
	   strcmp(dom, DDT_DOMAIN_SYSTEM) == 0,
	   "a new user without a domain is of the system domain");
	ok(auth_set_user(ix, "amy", "x", DDT_ROLE_USER, "a b") == -EINVAL &&
	   auth_set_user(ix, "amy", "x", DDT_ROLE_USER, "") == -EINVAL,
	   "a domain name has a user name's rule");
	put_v1_user(ix, "old", PW_BOB, DDT_ROLE_ADMIN, 1000);
	ok(auth_check(ix, "old", PW_BOB, &role, dom) == 0 &&
	   role == DDT_ROLE_ADMIN && strcmp(dom, DDT_DOMAIN_SYSTEM) == 0,
	   "a record made before domains still logs in, of the system domain");
	ok(auth_check(ix, "old", PW_NEW, &role, dom) == -EACCES,
	   "and with its own password only");
	tstore_close(s);
}

/* The raw record of user: its version, hash function and first
 * parameter; 0 if none. */
static int raw_rec(idx *ix, const char *user, int *kdf, uint32_t *a)
{
	size_t len;
	void *v;
	int version;

	if (idx_kv_get(ix, IDX_USERS, user, strlen(user), &v, &len) < 0)
		return 0;
	version = ((uint8_t *)v)[0];
	*kdf = version == 3 ? ((uint8_t *)v)[2] : 1;
	*a = version == 3 ? get_le32((uint8_t *)v + 3) :
			    get_le32((uint8_t *)v + 2);
	free(v);
	return version;
}

/* The mean of n AUTH checks of user's right password, in ms. */
static double auth_ms(idx *ix, const char *user, const char *pw, int n)
{
	double t0 = now_mono_sec();

	for (int i = 0; i < n; i++)
		if (auth_check(ix, user, pw, NULL, NULL) != 0)
			tap_bail("auth_check %s", user);
	return (now_mono_sec() - t0) * 1000 / n;
}

static void test_scrypt(const char *root)
{
	store *s = open_st(root);
	idx *ix = tstore_index(s);
	char dom[DDT_MAX_DOMAIN + 1];
	uint32_t a = 0;
	int kdf = 0;
	idx_batch *b;
	uint8_t bad[64];

	ok(auth_set_user(ix, "sam", PW_BOB, DDT_ROLE_USER, NULL) == 0 &&
	   raw_rec(ix, "sam", &kdf, &a) == 3 && kdf == 2 && a == 16384,
	   "a new password is stored with scrypt, N %u (record version 3)",
	   a);
	put_v1_user(ix, "legacy", PW_BOB, DDT_ROLE_USER, 50000);
	ok(raw_rec(ix, "legacy", &kdf, &a) == 1 && kdf == 1 &&
	   auth_check(ix, "legacy", PW_BOB, NULL, dom) == 0,
	   "a PBKDF2 record (version 1, 50000 rounds) still logs in");
	diag("cost per AUTH: scrypt N=16384 r=8 p=1 %.1f ms, PBKDF2 50000 "
	     "rounds %.1f ms", auth_ms(ix, "sam", PW_BOB, 5),
	     auth_ms(ix, "legacy", PW_BOB, 5));
	ok(auth_set_user(ix, "legacy", PW_NEW, DDT_ROLE_USER, NULL) == 0 &&
	   raw_rec(ix, "legacy", &kdf, &a) == 3 && kdf == 2 &&
	   auth_check(ix, "legacy", PW_NEW, NULL, dom) == 0 &&
	   auth_check(ix, "legacy", PW_BOB, NULL, NULL) == -EACCES &&
	   strcmp(dom, DDT_DOMAIN_SYSTEM) == 0,
	   "set again, it is rehashed with scrypt and keeps its domain");
	ok(auth_update_user(ix, "legacy", DDT_ROLE_RESTORE, "acme") == 0 &&
	   auth_check(ix, "legacy", PW_NEW, NULL, dom) == 0 &&
	   strcmp(dom, "acme") == 0, "a new level and domain keep the "
	   "password");
	/* scrypt with an N that is no power of two: damage, not work. */
	memset(bad, 0, sizeof(bad));
	bad[0] = 3;
	bad[1] = DDT_ROLE_USER;
	bad[2] = 2;
	put_le32(bad + 3, 1000);
	put_le32(bad + 7, 8);
	put_le32(bad + 11, 1);
	if (idx_batch_new(&b) < 0)
		tap_bail("batch");
	idx_batch_put(b, IDX_USERS, "odd", 3, bad, 15 + 16 + 32 + 1);
	if (idx_batch_write(ix, b, 1) < 0)
		tap_bail("write");
	idx_batch_free(b);
	ok(auth_check(ix, "odd", PW_BOB, NULL, NULL) == -EBADMSG,
	   "a record whose scrypt parameters are out of range is damage");
	tstore_close(s);
}

int main(void)
{
	char *root = tap_tmpdir("auth");

	run_in(root, "users", test_users);
	run_in(root, "domains", test_domains);
	run_in(root, "scrypt", test_scrypt);
	tap_rmtree(root);
	free(root);
	return tap_done();
}
