/* fmt.c - figures for people (see fmt.h): bytes in KiB, MiB, ... with one
 * decimal, plain bytes below 1 KiB; a ratio with two decimals, "-" when it
 * has no denominator; times in UTC. */
#include "fmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

const char *fmt_bytes(uint64_t n, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, FMT_LEN, "%" PRIu64 " B", n);
	else
		snprintf(buf, FMT_LEN, "%.1f %s", v, unit[u]);
	return buf;
}

const char *fmt_ratio(uint64_t a, uint64_t b, char *buf)
{
	if (b == 0)
		snprintf(buf, FMT_LEN, "-");
	else
		snprintf(buf, FMT_LEN, "%.2fx", (double)a / (double)b);
	return buf;
}

static const char *fmt_time(int64_t ns, const char *form, char *buf)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || !strftime(buf, FMT_LEN, form, &tm))
		snprintf(buf, FMT_LEN, "@%" PRId64, ns);
	return buf;
}

const char *fmt_utc(int64_t ns, char *buf)
{
	return fmt_time(ns, "%Y-%m-%d %H:%M:%S UTC", buf);
}

const char *fmt_utc_stamp(int64_t ns, char *buf)
{
	return fmt_time(ns, "%Y%m%dT%H%M%SZ", buf);
}
