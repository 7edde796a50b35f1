/* test_fp.c - fingerprints are standard SHA-256 (the FIPS 180-2 vectors),
 * the per-thread context survives reuse and concurrent threads, and the hex
 * form round-trips and turns away anything that is not exactly 64 digits. */
#include "fp.h"
#include "ddterr.h"
#include "tap.h"

#include <pthread.h>
#include <stdint.h>

static int hex_is(const fp_t *f, const char *want)
{
	char hex[FP_HEX_LEN + 1];

	fp_to_hex(f, hex);
	if (strcmp(hex, want) != 0) {
		diag("got  %s", hex);
		diag("want %s", want);
		return 0;
	}
	return 1;
}

static void test_vectors(void)
{
	static const struct {
		const char *msg, *sha;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039"
		  "a33ce45964ff2167f6ecedd419db06c1" },
	};
	size_t i, mil = 1000000;
	char *a;
	fp_t f;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = fp_compute(&f, v[i].msg, strlen(v[i].msg));

		ok(rc == 0 && hex_is(&f, v[i].sha), "SHA-256 of \"%.8s%s\" "
		   "(%zu bytes)", v[i].msg, strlen(v[i].msg) > 8 ? "..." : "",
		   strlen(v[i].msg));
	}
	/* Also passes through the context reuse above: a stale state left
	 * by an earlier call would show here. */
	a = malloc(mil);
	if (!a)
		tap_bail("malloc");
	memset(a, 'a', mil);
	ok(fp_compute(&f, a, mil) == 0 &&
	   hex_is(&f, "cdc76e5c9914fb9281a1c7e284d73e67"
		      "f1809a48a497200e046d39ccc7112cd0"),
	   "SHA-256 of one million 'a'");
	free(a);
	ok(fp_compute(&f, NULL, 0) == 0 &&
	   hex_is(&f, v[0].sha), "NULL with length 0 is the empty message");
}

static void test_hex(void)
{
	/* Each bad string is a valid fingerprint (the empty message's)
	 * damaged in one way: the printf format makes the change. */
	static const char good[] = "e3b0c44298fc1c149afbf4c8996fb924"
				   "27ae41e4649b934ca495991b7852b855";
	static const char *const bad_fmt[] = {
		"",		/* empty */
		"%.63s",	/* one digit short */
		"%s0",		/* one digit long */
		"%.63sg",	/* a non-hex last digit */
		"g%.63s",	/* a non-hex first digit */
		" %.63s",	/* leading blank */
		"%s\n",		/* trailing newline */
		"0x%.62s",	/* a C prefix */
		"%.32s-%.31s",	/* a dash in the middle */
	};
	char bad[sizeof(bad_fmt) / sizeof(bad_fmt[0])][80];
	char hex[FP_HEX_LEN + 1];
	fp_t f, g, keep;
	size_t i;
	int bad_ok = 0, rc;

	for (i = 0; i < FP_LEN; i++)
		f.b[i] = (uint8_t)(i * 37 + 5);
	fp_to_hex(&f, hex);
	ok(strlen(hex) == FP_HEX_LEN && strspn(hex, "0123456789abcdef") ==
	   FP_HEX_LEN, "fp_to_hex gives 64 lower-case digits: %s", hex);
	memset(&g, 0, sizeof(g));
	rc = fp_from_hex(&g, hex);
	ok(rc == 0 && fp_equal(&f, &g), "hex round trip");

	for (i = 0; hex[i]; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	memset(&g, 0, sizeof(g));
	ok(fp_from_hex(&g, hex) == 0 && fp_equal(&f, &g),
	   "upper-case digits parse to the same fingerprint");

	memset(&keep, 0x5a, sizeof(keep));
	g = keep;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(bad[i], sizeof(bad[i]), bad_fmt[i], good, good + 32);
		rc = fp_from_hex(&g, bad[i]);
		if (rc != -EINVAL) {
			diag("accepted \"%s\" (rc %d)", bad[i], rc);
			bad_ok++;
		}
	}
	rc = fp_from_hex(&g, NULL);
	bad_ok += rc != -EINVAL;
	ok(fp_from_hex(&f, good) == 0 && hex_is(&f, good),
	   "the undamaged string parses");
	ok(bad_ok == 0 && fp_equal(&g, &keep),
	   "%zu malformed strings and NULL rejected, output untouched",
	   sizeof(bad) / sizeof(bad[0]));
	ddterr_clear();
	rc = fp_from_hex(&g, "xyz");
	ok(strstr(ddterr_last(rc), "xyz") != NULL,
	   "the message names the bad text: %s", ddterr_last(rc));
}

static void test_distinct_and_hash(void)
{
	uint8_t buf[4096];
	fp_t a, b;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ (i >> 8));
	fp_compute(&a, buf, sizeof(buf));
	buf[2048] ^= 1;
	fp_compute(&b, buf, sizeof(buf));
	ok(!fp_equal(&a, &b) && fp_hash64(&a) != fp_hash64(&b),
	   "one flipped bit changes the fingerprint and its hash64");
	buf[2048] ^= 1;
	fp_compute(&b, buf, sizeof(buf));
	ok(fp_equal(&a, &b) && fp_hash64(&a) == fp_hash64(&b),
	   "the same bytes give the same fingerprint again");
}

/* Each thread hashes the same buffers with its own context; any sharing
 * of state between threads would corrupt some of the results. */
struct th_arg {
	const uint8_t *buf;
	size_t len;
	fp_t want;
	int fails;
};

static void *th_hash(void *p)
{
	struct th_arg *a = p;
	fp_t f;
	int i;

	for (i = 0; i < 2000; i++) {
		if (fp_compute(&f, a->buf, a->len) != 0 ||
		    !fp_equal(&f, &a->want))
			a->fails++;
	}
	return NULL;
}

static void test_threads(void)
{
	enum { NT = 4 };
	static uint8_t buf[NT][3000];
	struct th_arg arg[NT];
	pthread_t th[NT];
	int i, fails = 0, started = 0;

	for (i = 0; i < NT; i++) {
		memset(buf[i], 'A' + i, sizeof(buf[i]));
		arg[i].buf = buf[i];
		arg[i].len = sizeof(buf[i]) - (size_t)i * 100;
		arg[i].fails = 0;
		if (fp_compute(&arg[i].want, arg[i].buf, arg[i].len) != 0)
			tap_bail("fp_compute");
	}
	for (i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, th_hash, &arg[i]) == 0)
			started++;
		else
			break;
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		fails += arg[i].fails;
	}
	ok(started == NT && fails == 0, "%d threads x 2000 hashes: %d wrong",
	   started, fails);
}

int main(void)
{
	test_vectors();
	test_hex();
	test_distinct_and_hash();
	test_threads();
	return tap_done();
}
