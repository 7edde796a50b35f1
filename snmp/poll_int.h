/* poll_int.h - what one reading of the target holds, between the poller
 * (poll.c, which fills it) and the MIB's mapping (poll_view.c, which
 * makes a view of it). */
#ifndef DDTSNMP_POLL_INT_H
#define DDTSNMP_POLL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc.h"

/* ddtDaemonState */
enum { POLL_REACHABLE = 1, POLL_UNREACHABLE = 2, POLL_REFUSED = 3 };

typedef struct poll_kv {
	char key[64];
	uint64_t num;
	char *text;		/* STATUS_TEXT: owned; NULL for STATUS */
} poll_kv;

struct poll_src {
	int state;		/* POLL_* */
	char msg[256];		/* why not reachable; "" when it is */
	int64_t read_mono_ns;	/* when the figures below were read */
	int64_t read_wall_ns;
	poll_kv *kv;		/* STATUS and STATUS_TEXT */
	size_t nkv, kv_cap;
	ddt_su_stats *su;
	size_t nsu, su_cap;
	ddt_alert *alerts;
	size_t nalerts, alerts_cap;
	int scrub_running;
};

/* STATUS key's value, 0 if the target did not give it; STATUS_TEXT
 * key's value, "" if not. */
uint64_t poll_num(const struct poll_src *s, const char *key);
const char *poll_text(const struct poll_src *s, const char *key);

#endif
