/* human.h - what a person types and reads for retention and quotas:
 * durations ("90d", "12h", "1y2w", "never"), sizes ("10G", "500M", "none")
 * and dates ("2026-12-25", "2026-12-25 10:00", a trailing Z for UTC). One
 * reading for every ddt command, so --retain, ddt retain and ddt su set
 * agree. */
#ifndef DDT_HUMAN_H
#define DDT_HUMAN_H

#include <stdint.h>

#include "fmt.h"		/* FMT_LEN */

/* Seconds in s: one or more NUMBER[UNIT] (s, m, h, d, w, y = 365 d; no
 * unit: seconds), or "never" for -1. 0, or -EINVAL if s is neither. */
int human_duration(const char *s, int64_t *out);

/* Bytes in s: NUMBER[K|M|G|T|P][i][B] in powers of 1024 (decimals allowed:
 * "1.5T"), or "none" for 0. 0 or -EINVAL. */
int human_size(const char *s, uint64_t *out);

/* ns since the epoch for a date YYYY-MM-DD[( |T)HH:MM[:SS]][Z| UTC]: local
 * time unless Z or UTC says otherwise. 0 or -EINVAL. */
int human_date(const char *s, int64_t *out);

/* "90d", "1y2d", "12h30m", "45s" into buf (HUMAN_LEN bytes); zero for 0
 * ("forever", "none"...). */
#define HUMAN_LEN 48
const char *human_fmt_duration(uint64_t secs, const char *zero, char *buf);

/* A time and a span for reading; buf holds FMT_LEN bytes (fmt.h). */
const char *human_fmt_date(int64_t ns, char *buf);	/* local time */
const char *human_fmt_secs(double s, char *buf);	/* "4.2 s", "1:02:03" */

#endif
