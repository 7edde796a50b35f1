/* now.c - the clocks (now.h). */
#include "now.h"

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t now_ns(void)
{
	return read_clock(CLOCK_REALTIME);
}

int64_t now_mono_ns(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

double now_mono_sec(void)
{
	return (double)now_mono_ns() / 1e9;
}

struct timespec now_deadline(int64_t ns)
{
	int64_t t = now_ns() + ns;
	struct timespec ts = { .tv_sec = t / 1000000000,
			       .tv_nsec = t % 1000000000 };

	return ts;
}
