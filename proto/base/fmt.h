/* fmt.h - figures for people, the same in every tool: byte counts in
 * binary units and ratios. ddt and ddtstore both print them, so a figure
 * reads alike whichever one printed it. */
#ifndef FMT_H
#define FMT_H

#include <stdint.h>

/* Every fmt_*() buffer holds FMT_LEN bytes; each returns buf. */
#define FMT_LEN 40

const char *fmt_bytes(uint64_t n, char *buf);		/* "12.3 MiB" */
const char *fmt_ratio(uint64_t a, uint64_t b, char *buf); /* "2.50x", "-" */

/* A time (ns since the epoch) in UTC, for messages and logs, "2026-12-25
 * 10:00:00 UTC"; and as a name's stamp, "20261225T100000Z" (backup ids,
 * checkpoint names). A time gmtime() cannot take gives "@NS". */
const char *fmt_utc(int64_t ns, char *buf);
const char *fmt_utc_stamp(int64_t ns, char *buf);

#endif
