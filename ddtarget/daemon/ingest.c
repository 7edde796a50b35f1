/* ingest.c - the target's ingest counters and their hourly buckets
 * (ingest.h). Bucket h % INGEST_HOURS holds hour h (hours since the
 * epoch) while h is one of the last INGEST_HOURS; moving to a new hour
 * empties the buckets of the hours skipped. On disk: a version byte, the
 * totals, the newest hour, then every bucket, little-endian. */
#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddterr.h"
#include "log.h"

#define INGEST_KEY	"ddtd.ingest"
#define INGEST_VERSION	1
#define INGEST_LEN	(1 + 8 * ING_COUNT + 8 + 8 * ING_COUNT * INGEST_HOURS)
#define NS_PER_HOUR	(3600LL * 1000000000LL)

struct ingest {
	pthread_mutex_t mu;
	idx *ix;
	uint64_t total[ING_COUNT];
	int64_t hour;		/* the newest bucket's */
	uint64_t b[INGEST_HOURS][ING_COUNT];
	int dirty;
};

static void encode(const ingest *g, uint8_t *p)
{
	*p++ = INGEST_VERSION;
	for (int i = 0; i < ING_COUNT; i++, p += 8)
		put_le64(p, g->total[i]);
	put_le64(p, (uint64_t)g->hour);
	p += 8;
	for (int h = 0; h < INGEST_HOURS; h++)
		for (int i = 0; i < ING_COUNT; i++, p += 8)
			put_le64(p, g->b[h][i]);
}

static int decode(ingest *g, const uint8_t *p)
{
	if (*p++ != INGEST_VERSION)
		return -EBADMSG;
	for (int i = 0; i < ING_COUNT; i++, p += 8)
		g->total[i] = get_le64(p);
	g->hour = (int64_t)get_le64(p);
	p += 8;
	for (int h = 0; h < INGEST_HOURS; h++)
		for (int i = 0; i < ING_COUNT; i++, p += 8)
			g->b[h][i] = get_le64(p);
	return 0;
}

int ingest_open(ingest **out, idx *ix)
{
	ingest *g = calloc(1, sizeof(*g));
	uint8_t *buf;
	int rc;

	if (!g)
		return -ENOMEM;
	if (!(buf = malloc(INGEST_LEN))) {
		free(g);
		return -ENOMEM;
	}
	pthread_mutex_init(&g->mu, NULL);
	g->ix = ix;
	rc = idx_get_value(ix, INGEST_KEY, buf, INGEST_LEN);
	if (rc == 0 && decode(g, buf) < 0)
		rc = -EBADMSG;
	if (rc == -EBADMSG) {
		log_err("the ingest counters in the index are damaged: they "
			"start again from 0");
		memset(g->total, 0, sizeof(g->total));
		memset(g->b, 0, sizeof(g->b));
		g->hour = 0;
	}
	free(buf);
	if (rc < 0 && rc != -ENOENT && rc != -EBADMSG) {
		pthread_mutex_destroy(&g->mu);
		free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void ingest_close(ingest *g)
{
	int rc;

	if (!g)
		return;
	if ((rc = ingest_flush(g)) < 0)
		log_err("keeping the ingest counters: %s", ddterr_last(rc));
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* Make hour the newest bucket, emptying those of the hours between. A
 * clock that went back leaves the buckets as they are. */
static void advance_locked(ingest *g, int64_t hour)
{
	if (hour <= g->hour)
		return;
	for (int64_t h = g->hour + 1; h <= hour && h <= g->hour + INGEST_HOURS;
	     h++)
		memset(g->b[h % INGEST_HOURS], 0, sizeof(g->b[0]));
	g->hour = hour;
}

void ingest_add(ingest *g, int64_t now, const uint64_t add[ING_COUNT])
{
	pthread_mutex_lock(&g->mu);
	advance_locked(g, now / NS_PER_HOUR);
	for (int i = 0; i < ING_COUNT; i++) {
		g->total[i] += add[i];
		g->b[g->hour % INGEST_HOURS][i] += add[i];
	}
	g->dirty = 1;
	pthread_mutex_unlock(&g->mu);
}

void ingest_get(ingest *g, int64_t now, ingest_figures *out)
{
	int64_t hour = now / NS_PER_HOUR;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&g->mu);
	advance_locked(g, hour);
	for (int i = 0; i < ING_COUNT; i++)
		out->total[i] = g->total[i];
	for (int64_t h = g->hour; h > g->hour - INGEST_HOURS && h >= 0; h--)
		for (int i = 0; i < ING_COUNT; i++) {
			uint64_t v = g->b[h % INGEST_HOURS][i];

			out->week[i] += v;
			if (h > g->hour - 24)
				out->day[i] += v;
		}
	pthread_mutex_unlock(&g->mu);
}

int ingest_flush(ingest *g)
{
	uint8_t *buf = malloc(INGEST_LEN);
	int rc = 0;

	if (!buf)
		return ddterr_set(-ENOMEM, "ingest counters: out of memory");
	pthread_mutex_lock(&g->mu);
	if (g->dirty) {
		encode(g, buf);
		rc = idx_put_value(g->ix, INGEST_KEY, buf, INGEST_LEN);
		if (rc == 0)
			g->dirty = 0;
	}
	pthread_mutex_unlock(&g->mu);
	free(buf);
	return rc;
}
