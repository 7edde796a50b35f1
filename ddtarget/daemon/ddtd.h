/* ddtd.h - the daemon's one context: its settings and the engine it
 * serves (store, namespace, users' index, cleaner, scrub, schedule,
 * alerts, health check), and its own figures (units' limits and counters,
 * ingest, streams, the monitor). main.c fills it in; the session layer (ops*.c,
 * server.c) reads it. */
#ifndef DDTD_H
#define DDTD_H

#include <stdint.h>

#include "alerts.h"
#include "audit.h"
#include "bufpool.h"
#include "clean.h"
#include "config.h"
#include "health.h"
#include "ingest.h"
#include "monitor.h"
#include "ns.h"
#include "pending.h"
#include "schedule.h"
#include "scrub.h"
#include "store.h"
#include "streams.h"
#include "units.h"

typedef struct ddtd {
	ddtd_config cfg;
	store *st;
	ns *ns;
	idx *ix;		/* the store's, the namespace's, the users' */
	store_lock *lock;	/* the store's root, held while it is open */
	clean *cl;		/* the cleaner; commits go through it */
	schedule *sc;		/* maintenance on its schedule */
	scrub *scr;		/* the scrub job */
	alert_table *alerts;	/* current problems */
	health *health;		/* the directory and space check */
	units *units;		/* each unit's soft quota, limits, counters */
	ingest *ingest;		/* the target's ingest counters */
	streams *streams;	/* the streams active now */
	monitor *mon;		/* checks of units; last scrub, clean */
	struct tlsd *tls;	/* the key, certificate, fingerprint */
	bufpool *replies;	/* READ replies' buffers, kept for the next */
	audit *audit;		/* the audit log; NULL: none */
	pending *pending;	/* bytes sent and not committed, per unit */
	int64_t started;	/* ns since the epoch */
	int sessions;		/* open sessions; atomic access */
	unsigned users_gen;	/* bumped by each change of a user (ops_users.c);
				   atomic access */
} ddtd;

#endif
