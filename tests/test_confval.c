/* test_confval.c - configuration values (proto/base/confval.h): strings
 * that fit or not, bounded integers, yes/no words, and the password from
 * a file or $DDT_PASSWORD. */
#include "confval.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_values(void)
{
	char s[4] = "old";
	int n = 7, b = 5;

	ok(confval_str(s, sizeof(s), "abc") == 0 && !strcmp(s, "abc"),
	   "a string that fits is copied");
	ok(confval_str(s, sizeof(s), "abcd") < 0 && !strcmp(s, "abc"),
	   "one too long is refused, the old value kept");
	ok(confval_int(&n, "42", 1, 100) == 0 && n == 42, "an integer in range");
	ok(confval_int(&n, "101", 1, 100) < 0 && confval_int(&n, "4x", 1, 100) < 0 &&
	   confval_int(&n, "", 1, 100) < 0 && n == 42,
	   "out of range, trailing junk and empty are refused");
	ok(confval_bool(&b, "Yes") == 0 && b == 1 &&
	   confval_bool(&b, "off") == 0 && b == 0, "yes and off");
	ok(confval_bool(&b, "maybe") < 0 && b == 0, "another word is refused");
}

static void test_password(void)
{
	char *dir = tap_tmpdir("confval"), path[512], pw[16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pw", dir);
	f = fopen(path, "w");
	if (!f)
		tap_bail("cannot write %s", path);
	fputs("s3cret\r\nsecond line\n", f);
	fclose(f);
	setenv("DDT_PASSWORD", "from-env", 1);
	ok(confval_password(pw, sizeof(pw), path) == 0 && !strcmp(pw, "s3cret"),
	   "the file's first line, its line end dropped, before the variable");
	ok(confval_password(pw, sizeof(pw), NULL) == 0 &&
	   !strcmp(pw, "from-env"), "without a file, $DDT_PASSWORD");
	setenv("DDT_PASSWORD", "far-too-long-for-it", 1);
	ok(confval_password(pw, sizeof(pw), "") < 0, "one too long is an error");
	unsetenv("DDT_PASSWORD");
	ok(confval_password(pw, sizeof(pw), NULL) == 0 && pw[0] == '\0',
	   "neither: empty (the target decides)");
	snprintf(path, sizeof(path), "%s/absent", dir);
	ok(confval_password(pw, sizeof(pw), path) == -2,
	   "a missing file: -ENOENT");
	tap_rmtree(dir);
	free(dir);
}

static void test_ini(void)
{
	char err[128] = "";

	ok(confval_key_done(0, err, sizeof(err), "s", "k", "v") == 1 &&
	   err[0] == 0, "a key taken: go on, no message");
	ok(confval_key_done(-2, err, sizeof(err), "s", "k", "v") == 0 &&
	   !strcmp(err, "[s] k: unknown key"), "an unknown key: stop, named");
	ok(confval_key_done(-1, err, sizeof(err), "s", "k", "v") == 0 &&
	   !strcmp(err, "[s] k: bad value 'v'"), "a bad value: stop, quoted");
	ok(confval_ini_done("f.conf", 0, "") == 0, "a whole file: 0");
	ok(confval_ini_done("f.conf", -1, "") == -2, "an unreadable file: -ENOENT");
	ok(confval_ini_done("f.conf", 3, err) == -22,
	   "a bad line: -EINVAL with the handler's message");
}

int main(void)
{
	test_values();
	test_ini();
	test_password();
	return tap_done();
}
