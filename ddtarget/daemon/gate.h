/* gate.h - the door before login (PROTOCOL.md section 3, Before login):
 * how many sessions not yet logged in ("handshakes") each source address,
 * and all addresses together, hold; and each address's failed logins,
 * which space out that address's next AUTHs (the backoff). Thread-safe:
 * the loop thread admits and releases handshakes, workers record failures.
 * Addresses are kept in a table of GATE_SLOTS; a failure is forgotten
 * GATE_FORGET_MS after the address's last one. */
#ifndef DDTD_GATE_H
#define DDTD_GATE_H

#include <stdint.h>
#include <sys/socket.h>

#define GATE_SLOTS	4096
#define GATE_FORGET_MS	(10LL * 60 * 1000)

typedef struct gate gate;

/* A source address: IPv4 as IPv4-mapped IPv6. */
typedef struct gate_addr {
	uint8_t b[16];
} gate_addr;

typedef struct gate_config {
	int max_handshakes;		/* in total, < GATE_SLOTS */
	int per_address;		/* from one address */
	int backoff_ms;			/* after the first failure */
	int backoff_max_ms;		/* doubling up to this */
} gate_config;

void gate_addr_of(const struct sockaddr *sa, gate_addr *out);

/* The address a peer on the local socket is counted under: its uid
 * (-1 if unknown), apart from every network address. */
void gate_addr_local(long uid, gate_addr *out);

/* The key a user name's failed logins are counted under, from every
 * address together (the per-user backoff): a hash of the name, apart
 * from every address. */
void gate_addr_user(const char *user, gate_addr *out);

int gate_new(gate **out, const gate_config *c);
void gate_free(gate *g);	/* NULL: nothing */

/* Admit one more handshake from a: 0, or -EBUSY with a ddterr message
 * saying which cap it is over. */
int gate_enter(gate *g, const gate_addr *a);
/* That handshake is over (logged in, or closed). */
void gate_leave(gate *g, const gate_addr *a);

/* An AUTH from a arrives at now_ms (monotonic): how long to hold it
 * before it is checked, 0 if the address has no recent failure. AUTHs of
 * an address with failures are spaced by its current delay, counted from
 * its last failure, or from the AUTH before if that one is pending. */
int64_t gate_auth_wait(gate *g, const gate_addr *a, int64_t now_ms);
/* An AUTH from a failed at now_ms: the address's delay doubles (the first
 * failure sets backoff_ms), up to backoff_max_ms. Returns that delay. */
int64_t gate_auth_failed(gate *g, const gate_addr *a, int64_t now_ms);
/* An AUTH from a succeeded: the spacing it reserved is given back (the
 * address's failures are kept: a valid account is no way around them). */
void gate_auth_ok(gate *g, const gate_addr *a, int64_t now_ms);

#endif
