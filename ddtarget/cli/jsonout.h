/* jsonout.h - ddt status --json: every STATUS and STATUS_TEXT key of the
 * target, and its alerts, as one JSON object on standard output (numbers
 * as they come, strings escaped), for scripts and monitors. */
#ifndef DDT_JSONOUT_H
#define DDT_JSONOUT_H

#include "ddtc.h"

/* Read the status and print it. 0, or the failed request's rc (nothing
 * printed). */
int jsonout_status(ddtc *c);

#endif
