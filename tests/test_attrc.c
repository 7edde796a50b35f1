/* test_attrc.c - the NFS gateway's READ attribute cache (nfs-gw/attrc.h):
 * a hit only within its lifetime, a miss after any clear, nothing kept
 * that was read before a clear, and a zero lifetime holds nothing. */
#include "attrc.h"
#include "tap.h"

#include <string.h>
#include <unistd.h>

static ddt_attr attr(uint64_t ino, uint64_t size)
{
	ddt_attr a;

	memset(&a, 0, sizeof(a));
	a.ino = ino;
	a.size = size;
	return a;
}

static void test_hit_and_clear(void)
{
	ddt_attr a = attr(42, 1000), got;
	uint64_t gen;
	attrc *c;

	ok(attrc_new(&c, 10 * 1000000000LL) == 0, "a cache of 10 s");
	ok(!attrc_get(c, 42, &got, &gen), "empty: a miss");
	attrc_put(c, &a, gen);
	ok(attrc_get(c, 42, &got, &gen) && got.size == 1000,
	   "what was put is found, with its attributes");
	ok(!attrc_get(c, 43, &got, &gen), "another inode misses");
	attrc_clear(c);
	ok(!attrc_get(c, 42, &got, &gen), "after a clear: a miss");
	attrc_free(c);
}

static void test_put_after_clear(void)
{
	ddt_attr a = attr(7, 1), got;
	uint64_t gen, gen2;
	attrc *c;

	ok(attrc_new(&c, 10 * 1000000000LL) == 0, "a cache");
	(void)attrc_get(c, 7, &got, &gen);
	attrc_clear(c);		/* a change began while the GETATTR ran */
	attrc_put(c, &a, gen);
	ok(!attrc_get(c, 7, &got, &gen2),
	   "attributes read before a clear are not kept");
	attrc_put(c, &a, gen2);
	ok(attrc_get(c, 7, &got, &gen2), "read after it, they are");
	attrc_free(c);
}

static void test_lifetime(void)
{
	ddt_attr a = attr(9, 5), got;
	uint64_t gen;
	attrc *c;

	ok(attrc_new(&c, 50 * 1000000LL) == 0, "a cache of 50 ms");
	(void)attrc_get(c, 9, &got, &gen);
	attrc_put(c, &a, gen);
	usleep(120 * 1000);
	ok(!attrc_get(c, 9, &got, &gen), "past its lifetime: a miss");
	attrc_free(c);
	ok(attrc_new(&c, 0) == 0, "a cache of no lifetime");
	(void)attrc_get(c, 9, &got, &gen);
	attrc_put(c, &a, gen);
	ok(!attrc_get(c, 9, &got, &gen), "holds nothing");
	attrc_free(c);
}

int main(void)
{
	test_hit_and_clear();
	test_put_after_clear();
	test_lifetime();
	return tap_done();
}
