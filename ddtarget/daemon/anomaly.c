/* anomaly.c - the dedup-ratio anomaly's rule and its history (anomaly.h).
 * A history on disk: a version byte, seeded, n, then n shares (u16 le). */
#include "anomaly.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddtc_types.h"

#define ANOM_VERSION	1
#define ANOM_LEN	(3 + 2 * ANOMALY_HISTORY)

unsigned anomaly_share(uint64_t new_raw, uint64_t bytes)
{
	if (!bytes || new_raw >= bytes)
		return 1000;
	return (unsigned)(new_raw * 1000 / bytes);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static unsigned median(const anomaly_hist *h)
{
	uint16_t v[ANOMALY_HISTORY];

	if (h->n == 0)
		return 0;
	memcpy(v, h->pm, (size_t)h->n * sizeof(v[0]));
	qsort(v, (size_t)h->n, sizeof(v[0]), cmp_u16);
	return h->n % 2 ? v[h->n / 2] : (v[h->n / 2 - 1] + v[h->n / 2]) / 2u;
}

/* A first backup of a name is all new by nature: it seeds the history
 * and is neither judged nor recorded. An anomalous share is recorded
 * too, so a name whose data really changes every time stops being
 * flagged once its median has risen. */
int anomaly_judge(anomaly_hist *h, unsigned share, unsigned *med)
{
	int bad;

	*med = median(h);
	if (!h->seeded) {
		h->seeded = 1;
		return 0;
	}
	bad = share >= ANOMALY_MIN_PM && share >= *med + ANOMALY_RISE_PM;
	if (h->n == ANOMALY_HISTORY) {
		memmove(h->pm, h->pm + 1, (ANOMALY_HISTORY - 1) * sizeof(h->pm[0]));
		h->n--;
	}
	h->pm[h->n++] = (uint16_t)share;
	return bad;
}

static void hist_key(uint64_t root, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "ddtd.anom.%" PRIu64 ".%s", root, name);
}

int anomaly_load(idx *ix, uint64_t root, const char *name, anomaly_hist *h)
{
	char key[DDT_MAX_NAME + 48];
	uint8_t buf[ANOM_LEN];
	int rc;

	memset(h, 0, sizeof(*h));
	hist_key(root, name, key, sizeof(key));
	rc = idx_get_value(ix, key, buf, sizeof(buf));
	if (rc == -ENOENT || rc == -EBADMSG)
		return 0;
	if (rc < 0)
		return rc;
	if (buf[0] != ANOM_VERSION || buf[2] > ANOMALY_HISTORY)
		return 0;	/* damaged: start again */
	h->seeded = buf[1] != 0;
	h->n = buf[2];
	for (int i = 0; i < h->n; i++)
		h->pm[i] = get_le16(buf + 3 + 2 * i);
	return 0;
}

int anomaly_save(idx *ix, uint64_t root, const char *name,
		 const anomaly_hist *h)
{
	char key[DDT_MAX_NAME + 48];
	uint8_t buf[ANOM_LEN] = { ANOM_VERSION, (uint8_t)(h->seeded != 0),
				  (uint8_t)h->n };

	for (int i = 0; i < h->n; i++)
		put_le16(buf + 3 + 2 * i, h->pm[i]);
	hist_key(root, name, key, sizeof(key));
	return idx_put_value(ix, key, buf, sizeof(buf));
}
