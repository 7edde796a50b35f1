/* ddtd.h - the daemon's one context: its settings and the engine it
 * serves (store, namespace, users' index, cleaner, scrub, schedule,
 * alerts, health check). main.c fills it in; the session layer (ops*.c,
 * server.c) reads it. */
#ifndef DDTD_H
#define DDTD_H

#include <stdint.h>

#include "alerts.h"
#include "clean.h"
#include "config.h"
#include "health.h"
#include "ns.h"
#include "schedule.h"
#include "scrub.h"
#include "store.h"

typedef struct ddtd {
	ddtd_config cfg;
	store *st;
	ns *ns;
	idx *ix;
	cln *cl;		/* the cleaner; commits go through it */
	schedule *sc;		/* maintenance on its schedule */
	scr *scr;		/* the scrub job */
	alert_table *alerts;	/* current problems */
	health *health;		/* the directory and space check */
	int64_t started;	/* ns since the epoch */
	int sessions;		/* open sessions; atomic access */
} ddtd;

#endif
