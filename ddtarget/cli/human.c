/* human.c - durations, sizes and dates as people write and read them
 * (human.h).
 * Strict: a string that is not wholly understood is refused, so a typo in
 * a retention never turns into a date nobody meant. */
#include "human.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY	86400LL

static const struct {
	char unit;
	int64_t secs;
} dur_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', DAY },
	{ 'w', 7 * DAY }, { 'y', 365 * DAY },
};

static int64_t unit_secs(char c)
{
	c = (char)tolower((unsigned char)c);
	for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
		if (dur_units[i].unit == c)
			return dur_units[i].secs;
	return 0;
}

int human_duration(const char *s, int64_t *out)
{
	int64_t total = 0;
	const char *p = s;
	int parts = 0;

	if (strcasecmp(s, "never") == 0) {
		*out = -1;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t mult = 1;
		unsigned long long v;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || v > INT64_MAX / (365 * DAY))
			return -EINVAL;
		p = end;
		if (*p) {
			mult = unit_secs(*p++);
			if (!mult)
				return -EINVAL;
		} else if (parts) {
			return -EINVAL;	/* "1d5": 5 of what? */
		}
		parts++;
		if (total > INT64_MAX - (int64_t)v * mult)
			return -EINVAL;
		total += (int64_t)v * mult;
	}
	*out = total;
	return 0;
}

int human_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	const char *u;
	double v, mult = 1;
	char *end;

	if (strcasecmp(s, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v) || v < 0)
		return -EINVAL;
	if (*end && (u = strchr(units, toupper((unsigned char)*end)))) {
		for (const char *q = units; q <= u; q++)
			mult *= 1024;
		end++;
		if (*end == 'i')
			end++;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * mult >= 18446744073709551615.0)
		return -EINVAL;
	*out = (uint64_t)(v * mult);
	return 0;
}

int human_date(const char *s, int64_t *out)
{
	static const char *const forms[] = {
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d",
	};
	int utc = 0;
	char buf[64];
	size_t n = strlen(s);
	struct tm tm;
	time_t t;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == 'Z' || buf[n - 1] == 'z') {
		buf[--n] = '\0';
		utc = 1;
	} else if (n > 4 && strcasecmp(buf + n - 4, " UTC") == 0) {
		buf[n -= 4] = '\0';
		utc = 1;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, forms[i], &tm);
		if (!end || *end)
			continue;
		tm.tm_isdst = -1;
		t = utc ? timegm(&tm) : mktime(&tm);
		if (t == (time_t)-1 || t < 0)
			return -EINVAL;
		*out = (int64_t)t * 1000000000LL;
		return 0;
	}
	return -EINVAL;
}

const char *human_fmt_duration(uint64_t secs, const char *zero, char *buf)
{
	static const struct {
		const char *unit;
		uint64_t secs;
	} parts[] = {
		{ "y", 365 * DAY }, { "d", DAY }, { "h", 3600 }, { "m", 60 },
		{ "s", 1 },
	};
	size_t len = 0;

	if (secs == 0) {
		snprintf(buf, HUMAN_LEN, "%s", zero);
		return buf;
	}
	/* No weeks: "14d" reads at once, "2w" makes one count. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint64_t v = secs / parts[i].secs;

		if (!v)
			continue;
		secs %= parts[i].secs;
		len += (size_t)snprintf(buf + len, HUMAN_LEN - len, "%llu%s",
					(unsigned long long)v, parts[i].unit);
		if (len >= HUMAN_LEN - 24)
			break;
	}
	return buf;
}

/* ---- dates and elapsed times for reading ---- */

const char *human_fmt_date(int64_t ns, char *buf)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    strftime(buf, FMT_LEN, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, FMT_LEN, "?");
	return buf;
}

const char *human_fmt_secs(double s, char *buf)
{
	unsigned long t;

	if (s < 0)
		s = 0;
	if (s < 60) {
		snprintf(buf, FMT_LEN, "%.1f s", s);
		return buf;
	}
	t = (unsigned long)(s + 0.5);
	if (t < 3600)
		snprintf(buf, FMT_LEN, "%lu:%02lu", t / 60, t % 60);
	else
		snprintf(buf, FMT_LEN, "%lu:%02lu:%02lu", t / 3600,
			 t / 60 % 60, t % 60);
	return buf;
}
