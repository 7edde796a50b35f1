/* health.h - what ddt shows of the target's health: the storage
 * directories with their space, the current alerts (ddt status, ddt
 * alerts), and the scrub (ddt scrub start|status|watch). */
#ifndef DDT_HEALTH_H
#define DDT_HEALTH_H

#include "ddtc.h"

/* The directories and alerts of one target, read in one go. */
typedef struct health_view health_view;

/* STATUS, STATUS_TEXT and ALERTS. 0 or the failed request's rc. */
int health_fetch(ddtc *c, health_view **out);
void health_free(health_view *h);

/* Alerts of severity critical. */
int health_critical(const health_view *h);
/* A table of the directories: path, size, used, free, use%, state. */
void health_print_dirs(const health_view *h);
/* The target's TLS certificate fingerprint (STATUS_TEXT's
 * tls_fingerprint), the one clients pin; nothing from a target without. */
void health_print_tls(const health_view *h);
/* The alerts, worst first, or "no alerts". */
void health_print_alerts(const health_view *h);

/* 1 if STATUS key is one that health_print_dirs() or the alert counts
 * already show, so the generic key list can leave it out. */
int health_status_key(const char *key);

/* ddt scrub OP ("start", "status" or "watch"). start: repair unless
 * repair is 0; watch: wait for the scrub to end. quiet: no phase lines.
 * 0, or rc with a ddterr message: the request's failure, or for watch a
 * scrub that failed or left problems (-EIO). */
int health_scrub(ddtc *c, const char *op, int repair, int quiet);

#endif
