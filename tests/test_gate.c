/* test_gate.c - the daemon's door before login (gate.c): the caps of
 * handshakes per address and in all, each refused with a message that
 * names it; the backoff's doubling up to its cap, counted per address and
 * not spent by a success; AUTHs of an address in backoff spaced one after
 * the other; failures forgotten after GATE_FORGET_MS. Times are given, so
 * nothing here waits or depends on the clock. */
#include "gate.h"
#include "ddterr.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static gate_addr v4(const char *ip)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	gate_addr a;

	inet_pton(AF_INET, ip, &in.sin_addr);
	gate_addr_of((struct sockaddr *)&in, &a);
	return a;
}

static void test_caps(void)
{
	gate_config c = { .max_handshakes = 5, .per_address = 3,
			  .backoff_ms = 100, .backoff_max_ms = 1000 };
	gate_addr a = v4("10.0.0.1"), b = v4("10.0.0.2"), e = v4("10.0.0.3");
	gate *g;
	int rc, n = 0;

	if (gate_new(&g, &c) < 0)
		tap_bail("gate_new");
	for (int i = 0; i < 3; i++)
		n += gate_enter(g, &a) == 0;
	rc = gate_enter(g, &a);
	ok(n == 3 && rc == -EBUSY && strstr(ddterr_last(rc), "from 10.0.0.1"),
	   "3 handshakes from one address, the 4th refused: %s",
	   ddterr_last(rc));
	ok(gate_enter(g, &b) == 0 && gate_enter(g, &b) == 0,
	   "another address is not affected");
	rc = gate_enter(g, &e);
	ok(rc == -EBUSY && strstr(ddterr_last(rc), "5 connections not yet"),
	   "the 6th in all is refused whatever its address: %s",
	   ddterr_last(rc));
	gate_leave(g, &a);
	ok(gate_enter(g, &e) == 0, "one leaves, one more may come");
	gate_leave(g, &e);	/* an address with none: no underflow */
	gate_leave(g, &e);
	ok(gate_enter(g, &a) == 0 && gate_enter(g, &a) == -EBUSY,
	   "the counts stay right after a spurious leave");
	gate_free(g);
}

static void test_backoff(void)
{
	gate_config c = { .max_handshakes = 5, .per_address = 3,
			  .backoff_ms = 100, .backoff_max_ms = 1000 };
	gate_addr a = v4("10.0.0.1"), b = v4("10.0.0.2");
	int64_t t = 1000000, d[6];
	gate *g;

	if (gate_new(&g, &c) < 0)
		tap_bail("gate_new");
	ok(gate_auth_wait(g, &a, t) == 0, "no failure: no wait");
	for (int i = 0; i < 6; i++)
		d[i] = gate_auth_failed(g, &a, t);
	ok(d[0] == 100 && d[1] == 200 && d[2] == 400 && d[3] == 800 &&
	   d[4] == 1000 && d[5] == 1000,
	   "the delay doubles from 100 ms and stops at 1000 (%lld %lld %lld "
	   "%lld %lld %lld)", (long long)d[0], (long long)d[1],
	   (long long)d[2], (long long)d[3], (long long)d[4],
	   (long long)d[5]);
	ok(gate_auth_wait(g, &b, t) == 0, "another address does not wait");
	ok(gate_auth_wait(g, &a, t + 10) == 990 &&
	   gate_auth_wait(g, &a, t + 10) == 1990,
	   "two AUTHs at once from it: 990 ms, then one more delay");
	gate_auth_ok(g, &a, t + 15);
	ok(gate_auth_wait(g, &a, t + 20) == 980,
	   "a success gives back its spacing, not the failures");
	gate_auth_ok(g, &a, t + 25);
	ok(gate_auth_wait(g, &a, t + GATE_FORGET_MS + 1) == 0,
	   "failures are forgotten %lld ms after the last",
	   (long long)GATE_FORGET_MS);
	ok(gate_auth_failed(g, &a, t + GATE_FORGET_MS + 2) == 100,
	   "and the next failure starts again at 100 ms");
	gate_free(g);
}

int main(void)
{
	test_caps();
	test_backoff();
	return tap_done();
}
