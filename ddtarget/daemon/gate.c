/* gate.c - the door before login (gate.h): a fixed table of source
 * addresses scanned linearly (a few thousand entries, a scan per
 * connection or AUTH costs microseconds), under one mutex. */
#include "gate.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ddterr.h"
#include "now.h"

typedef struct gate_slot {
	gate_addr a;
	int used;
	int handshakes;		/* sessions of a not yet logged in */
	int fails;		/* failed AUTHs, since GATE_FORGET_MS */
	int64_t last_fail;	/* ms, monotonic */
	int64_t next_ok;	/* ms: no AUTH of a is checked before */
} gate_slot;

struct gate {
	pthread_mutex_t mu;
	gate_config c;
	int handshakes;		/* in total */
	gate_slot slot[GATE_SLOTS];
};

void gate_addr_of(const struct sockaddr *sa, gate_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(out->b, &in6->sin6_addr, 16);
	}
}

void gate_addr_local(long uid, gate_addr *out)
{
	uint32_t u = uid < 0 ? UINT32_MAX : (uint32_t)uid;

	memset(out, 0, sizeof(*out));
	memcpy(out->b, "unix", 4);	/* in no IPv6 range in use */
	memcpy(out->b + 12, &u, 4);
}

void gate_addr_user(const char *user, gate_addr *out)
{
	/* Two FNV-1a hashes of the name, 96 bits kept: names colliding
	 * would only share a backoff. */
	uint64_t h1 = 14695981039346656037ULL, h2 = 1099511628211ULL * 31;

	for (const unsigned char *p = (const void *)user; *p; p++) {
		h1 = (h1 ^ *p) * 1099511628211ULL;
		h2 = (h2 ^ *p) * 1099511628211ULL + 0x9e3779b97f4a7c15ULL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->b, "usr", 3);	/* in no IPv6 range in use */
	memcpy(out->b + 4, &h1, 8);
	memcpy(out->b + 12, &h2, 4);
}

int gate_new(gate **out, const gate_config *c)
{
	gate *g = calloc(1, sizeof(*g));

	if (!g)
		return ddterr_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&g->mu, NULL);
	g->c = *c;
	*out = g;
	return 0;
}

void gate_free(gate *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static int slot_idle(const gate_slot *s, int64_t now)
{
	return s->handshakes == 0 &&
	       (s->fails == 0 || now - s->last_fail > GATE_FORGET_MS);
}

/* a's slot; with create, a new one if a has none (an idle slot, else the
 * one with no handshake whose last failure is oldest). NULL if none. */
static gate_slot *slot_of(gate *g, const gate_addr *a, int64_t now,
			  int create)
{
	gate_slot *spare = NULL, *oldest = NULL;

	for (int i = 0; i < GATE_SLOTS; i++) {
		gate_slot *s = &g->slot[i];

		if (s->used && !memcmp(&s->a, a, sizeof(*a))) {
			if (s->fails && now - s->last_fail > GATE_FORGET_MS)
				s->fails = 0;
			return s;
		}
		if (!spare && (!s->used || slot_idle(s, now)))
			spare = s;
		if (s->used && s->handshakes == 0 &&
		    (!oldest || s->last_fail < oldest->last_fail))
			oldest = s;
	}
	if (!create)
		return NULL;
	if (!spare)
		spare = oldest;
	if (spare) {
		memset(spare, 0, sizeof(*spare));
		spare->a = *a;
		spare->used = 1;
	}
	return spare;
}

static void addr_text(const gate_addr *a, char *buf, size_t cap)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(a->b, v4, 12))
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)cap);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)cap);
}

static int64_t mono_ms(void)
{
	return now_mono_ns() / 1000000;
}

int gate_enter(gate *g, const gate_addr *a)
{
	char who[64];
	gate_slot *s;
	int rc = 0;

	addr_text(a, who, sizeof(who));
	pthread_mutex_lock(&g->mu);
	s = slot_of(g, a, mono_ms(), 1);
	if (g->handshakes >= g->c.max_handshakes || !s)
		rc = ddterr_set(-EBUSY, "server busy: %d connections not yet "
				"logged in, try again later", g->handshakes);
	else if (s->handshakes >= g->c.per_address)
		rc = ddterr_set(-EBUSY, "server busy: %d connections from %s "
				"not yet logged in, try again later",
				s->handshakes, who);
	if (rc == 0) {
		s->handshakes++;
		g->handshakes++;
	}
	pthread_mutex_unlock(&g->mu);
	return rc;
}

void gate_leave(gate *g, const gate_addr *a)
{
	gate_slot *s;

	pthread_mutex_lock(&g->mu);
	s = slot_of(g, a, mono_ms(), 0);
	if (s && s->handshakes > 0) {
		s->handshakes--;
		g->handshakes--;
	}
	pthread_mutex_unlock(&g->mu);
}

static int64_t delay_of(const gate *g, int fails)
{
	int64_t d = g->c.backoff_ms;

	for (int i = 1; i < fails && d < g->c.backoff_max_ms; i++)
		d *= 2;
	return d < g->c.backoff_max_ms ? d : g->c.backoff_max_ms;
}

int64_t gate_auth_wait(gate *g, const gate_addr *a, int64_t now_ms)
{
	int64_t wait = 0, t;
	gate_slot *s;

	pthread_mutex_lock(&g->mu);
	s = slot_of(g, a, now_ms, 0);
	if (s && s->fails > 0) {
		t = s->next_ok > now_ms ? s->next_ok : now_ms;
		wait = t - now_ms;
		s->next_ok = t + delay_of(g, s->fails);
	}
	pthread_mutex_unlock(&g->mu);
	return wait;
}

void gate_auth_ok(gate *g, const gate_addr *a, int64_t now_ms)
{
	gate_slot *s;

	pthread_mutex_lock(&g->mu);
	s = slot_of(g, a, now_ms, 0);
	if (s && s->fails > 0)
		s->next_ok = s->last_fail + delay_of(g, s->fails);
	pthread_mutex_unlock(&g->mu);
}

int64_t gate_auth_failed(gate *g, const gate_addr *a, int64_t now_ms)
{
	int64_t d = 0;
	gate_slot *s;

	pthread_mutex_lock(&g->mu);
	s = slot_of(g, a, now_ms, 1);
	if (s) {
		s->fails++;
		s->last_fail = now_ms;
		d = delay_of(g, s->fails);
		if (s->next_ok < now_ms + d)
			s->next_ok = now_ms + d;
	}
	pthread_mutex_unlock(&g->mu);
	return d;
}
