/* poll_view.c - DDTARGET-MIB's objects made from one reading of the
 * target (poll_int.h): the scalars from a table of (OID, STATUS key,
 * how to show it), then the ingest, storage unit, directory and alert
 * tables. OIDs here are below ddtargetMIB: { 1 group item 0 } for a
 * scalar, { 1 group table 1 column index } for a table's cell. A key the
 * target does not give answers 0 or "" (an older ddtargetd). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "poll.h"
#include "poll_int.h"

enum conv {
	C_RAW,		/* as it is (clamped to 32 bits for 32-bit types) */
	C_NS_TO_S,	/* ns since the epoch to DdtTime */
	C_PLUS1,	/* 0/1 to an enumeration from 1: idle(1), running(2) */
};

typedef struct scalar {
	uint32_t group, item;
	const char *key;
	uint8_t type;
	uint8_t conv;
} scalar;

static const scalar scalars[] = {
	{ 1, 3, "uptime_seconds", VIEW_GAUGE, C_RAW },
	{ 1, 7, "sessions", VIEW_GAUGE, C_RAW },
	{ 1, 8, "storage_units", VIEW_GAUGE, C_RAW },
	{ 1, 9, "backups", VIEW_GAUGE, C_RAW },
	{ 1, 10, "files", VIEW_COUNTER64, C_RAW },
	{ 2, 1, "capacity_bytes", VIEW_COUNTER64, C_RAW },
	{ 2, 2, "used_bytes", VIEW_COUNTER64, C_RAW },
	{ 2, 3, "free_bytes", VIEW_COUNTER64, C_RAW },
	{ 2, 4, "cleanable_bytes", VIEW_COUNTER64, C_RAW },
	{ 2, 5, "used_pct", VIEW_GAUGE, C_RAW },
	{ 3, 1, "logical_bytes", VIEW_COUNTER64, C_RAW },
	{ 3, 2, "raw_bytes", VIEW_COUNTER64, C_RAW },
	{ 3, 3, "stored_bytes", VIEW_COUNTER64, C_RAW },
	{ 3, 4, "physical_bytes", VIEW_COUNTER64, C_RAW },
	{ 5, 1, "streams_backup", VIEW_GAUGE, C_RAW },
	{ 5, 2, "streams_restore", VIEW_GAUGE, C_RAW },
	{ 5, 3, "streams_replication", VIEW_GAUGE, C_RAW },
	{ 5, 4, "streams_backup_soft", VIEW_GAUGE, C_RAW },
	{ 5, 5, "streams_backup_hard", VIEW_GAUGE, C_RAW },
	{ 5, 6, "streams_restore_soft", VIEW_GAUGE, C_RAW },
	{ 5, 7, "streams_restore_hard", VIEW_GAUGE, C_RAW },
	{ 7, 1, "ec_k", VIEW_GAUGE, C_RAW },
	{ 7, 2, "ec_m", VIEW_GAUGE, C_RAW },
	{ 7, 3, "data_dirs", VIEW_GAUGE, C_RAW },
	{ 7, 4, "degraded_containers", VIEW_COUNTER64, C_RAW },
	{ 8, 2, "last_scrub_ns", VIEW_GAUGE, C_NS_TO_S },
	{ 9, 1, "clean_running", VIEW_INT, C_PLUS1 },
	{ 9, 2, "clean_progress_pct", VIEW_GAUGE, C_RAW },
	{ 9, 3, "last_clean_ns", VIEW_GAUGE, C_NS_TO_S },
	{ 9, 4, "last_clean_reclaimed_bytes", VIEW_COUNTER64, C_RAW },
	{ 10, 1, "last_checkpoint_ns", VIEW_GAUGE, C_NS_TO_S },
	{ 10, 3, "checkpoint_failures", VIEW_COUNTER32, C_RAW },
	{ 11, 1, "alerts_critical", VIEW_GAUGE, C_RAW },
	{ 11, 2, "alerts_warning", VIEW_GAUGE, C_RAW },
	{ 11, 3, "alerts_info", VIEW_GAUGE, C_RAW },
	{ 11, 4, "alerts_seq", VIEW_COUNTER64, C_RAW },
};

static uint64_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : v;
}

/* 100 * a / b, rounded down; 0 when b is 0 (DdtFactor). In 64 bits:
 * the whole part and the remainder's part apart when a * 100 would
 * overflow (past 2^57 bytes a remainder's share is near enough). */
static uint64_t factor(uint64_t a, uint64_t b)
{
	uint64_t q, r;

	if (!b)
		return 0;
	if (a <= UINT64_MAX / 100)
		return clamp32(a * 100 / b);
	q = a / b;
	r = a % b;
	if (q > UINT32_MAX / 100)
		return UINT32_MAX;
	return clamp32(q * 100 + (r <= UINT64_MAX / 100 ? r * 100 / b :
				  r / (b / 100)));
}

static int scalar_num(view *v, uint32_t group, uint32_t item, int type,
		      uint64_t num)
{
	uint32_t oid[] = { 1, group, item, 0 };

	if (type != VIEW_COUNTER64)
		num = clamp32(num);
	return view_add_num(v, oid, 4, NULL, 0, type, num);
}

/* DisplayString: at most 255 bytes. */
#define DISPLAY_MAX 255

static int scalar_str(view *v, uint32_t group, uint32_t item, const char *s)
{
	uint32_t oid[] = { 1, group, item, 0 };

	return view_add_str(v, oid, 4, NULL, 0, s, DISPLAY_MAX);
}

/* A table's cell: { 1 group table 1 column index }. */
static int cell_num(view *v, uint32_t group, uint32_t table, uint32_t col,
		    uint32_t idx, int type, uint64_t num)
{
	uint32_t oid[] = { 1, group, table, 1, col, idx };

	if (type != VIEW_COUNTER64)
		num = clamp32(num);
	return view_add_num(v, oid, 6, NULL, 0, type, num);
}

static int cell_str(view *v, uint32_t group, uint32_t table, uint32_t col,
		    uint32_t idx, const char *s)
{
	uint32_t oid[] = { 1, group, table, 1, col, idx };

	/* ddtAlertText is 4096 bytes, the other strings DisplayStrings */
	return view_add_str(v, oid, 6, NULL, 0, s,
			    group == 11 && col == 5 ? DDT_MAX_STR : DISPLAY_MAX);
}

static int add_scalars(view *v, const poll_src *s)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(scalars) / sizeof(*scalars);
	     i++) {
		const scalar *d = &scalars[i];
		uint64_t n = poll_num(s, d->key);

		if (d->conv == C_NS_TO_S)
			n /= 1000000000u;
		else if (d->conv == C_PLUS1)
			n = n ? 2 : 1;
		rc = scalar_num(v, d->group, d->item, d->type, n);
	}
	return rc;
}

/* The system group's own objects, the factors, scrub and checkpoint. */
static int add_derived(view *v, const poll_src *s)
{
	uint64_t lg = poll_num(s, "logical_bytes"), raw = poll_num(s, "raw_bytes");
	uint64_t st = poll_num(s, "stored_bytes");
	uint64_t ck = poll_num(s, "last_checkpoint_ns");
	uint64_t scrub = poll_num(s, "last_scrub_ns");
	int64_t age = ck && s->read_wall_ns > (int64_t)ck ?
		      (s->read_wall_ns - (int64_t)ck) / 1000000000 : 0;
	uint32_t age_oid[] = { 1, 1, 6, 0 };
	int rc = 0;

	if (!rc)
		rc = scalar_str(v, 1, 1, poll_text(s, "version"));
	if (!rc)
		rc = scalar_str(v, 1, 2, poll_text(s, "store_id"));
	if (!rc)
		rc = scalar_num(v, 1, 4, VIEW_INT, (uint64_t)s->state);
	if (!rc)
		rc = scalar_str(v, 1, 5, s->msg);
	if (!rc)
		rc = view_add_num(v, age_oid, 4, NULL, 0, VIEW_AGE, 0);
	if (!rc)
		rc = scalar_num(v, 3, 5, VIEW_GAUGE, factor(lg, raw));
	if (!rc)
		rc = scalar_num(v, 3, 6, VIEW_GAUGE, factor(raw, st));
	if (!rc)
		rc = scalar_num(v, 3, 7, VIEW_GAUGE, factor(lg, st));
	if (!rc)
		rc = scalar_num(v, 8, 1, VIEW_INT, s->scrub_running ? 1 : 2);
	if (!rc)
		rc = scalar_num(v, 8, 3, VIEW_INT, scrub ?
			      poll_num(s, "last_scrub_result") + 2 : 1);
	if (!rc)
		rc = scalar_num(v, 10, 2, VIEW_GAUGE, (uint64_t)age);
	return rc;
}

/* ddtIngestTable: since creation, 24 hours, 7 days. */
static int add_ingest(view *v, const poll_src *s)
{
	static const char *const keys[3][3] = {
		{ "ingest_logical_bytes", "ingest_raw_bytes",
		  "ingest_stored_bytes" },
		{ "logical_24h_bytes", "raw_24h_bytes", "stored_24h_bytes" },
		{ "logical_7d_bytes", "raw_7d_bytes", "stored_7d_bytes" },
	};
	int rc = 0;

	for (uint32_t p = 0; rc == 0 && p < 3; p++) {
		uint64_t lg = poll_num(s, keys[p][0]);
		uint64_t raw = poll_num(s, keys[p][1]);
		uint64_t st = poll_num(s, keys[p][2]);

		if (!rc)
		rc = cell_num(v, 3, 8, 2, p + 1, VIEW_COUNTER64, lg);
		if (!rc)
		rc = cell_num(v, 3, 8, 3, p + 1, VIEW_COUNTER64, raw);
		if (!rc)
		rc = cell_num(v, 3, 8, 4, p + 1, VIEW_COUNTER64, st);
		if (!rc)
		rc = cell_num(v, 3, 8, 5, p + 1, VIEW_GAUGE,
				    factor(lg, raw));
		if (!rc)
		rc = cell_num(v, 3, 8, 6, p + 1, VIEW_GAUGE,
				    factor(raw, st));
		if (!rc)
		rc = cell_num(v, 3, 8, 7, p + 1, VIEW_GAUGE,
				    factor(lg, st));
	}
	return rc;
}

static int add_su(view *v, const ddt_su_stats *u, uint32_t i)
{
	const struct { uint32_t col; int type; uint64_t num; } c[] = {
		{ 3, VIEW_INT, (uint64_t)u->state + 1 },
		{ 4, VIEW_INT, u->locked ? 1 : 2 },
		{ 5, VIEW_COUNTER64, u->quota_soft },
		{ 6, VIEW_COUNTER64, u->quota_hard },
		{ 7, VIEW_COUNTER64, u->logical_bytes },
		{ 8, VIEW_COUNTER64, u->files },
		{ 9, VIEW_GAUGE, u->backups },
		{ 10, VIEW_COUNTER64, u->ingest_logical_bytes },
		{ 11, VIEW_COUNTER64, u->ingest_raw_bytes },
		{ 12, VIEW_COUNTER64, u->ingest_stored_bytes },
		{ 13, VIEW_GAUGE, u->streams_backup },
		{ 14, VIEW_GAUGE, u->streams_restore },
		{ 15, VIEW_GAUGE, u->streams_replication },
		{ 16, VIEW_GAUGE, u->backup_soft },
		{ 17, VIEW_GAUGE, u->backup_hard },
		{ 18, VIEW_GAUGE, u->restore_soft },
		{ 19, VIEW_GAUGE, u->restore_hard },
	};
	int rc = cell_str(v, 4, 1, 2, i, u->name);

	for (size_t k = 0; rc == 0 && k < sizeof(c) / sizeof(*c); k++)
		rc = cell_num(v, 4, 1, c[k].col, i, c[k].type, c[k].num);
	return rc;
}

/* ddtDirState from dirN.state, or from dirN.present (older targets). */
static uint64_t dir_state(const poll_src *s, const char *name)
{
	static const char *const states[] = { "present", "missing",
					      "degraded", "rebuilding" };
	char key[64];
	const char *t;

	snprintf(key, sizeof(key), "%s.state", name);
	t = poll_text(s, key);
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(t, states[i]))
			return i + 1;
	snprintf(key, sizeof(key), "%s.present", name);
	return poll_num(s, key) ? 1 : 2;
}

static int add_dir(view *v, const poll_src *s, const char *name, uint32_t i)
{
	static const char *const nums[] = { "capacity_bytes", "used_bytes",
					    "free_bytes", "used_pct",
					    "cleanable_bytes" };
	char key[64];
	int rc = cell_str(v, 6, 1, 2, i, name);

	snprintf(key, sizeof(key), "%s.path", name);
	if (!rc)
		rc = cell_str(v, 6, 1, 3, i, poll_text(s, key));
	if (!rc)
		rc = cell_num(v, 6, 1, 4, i, VIEW_INT, dir_state(s, name));
	snprintf(key, sizeof(key), "%s.problem", name);
	if (!rc)
		rc = cell_str(v, 6, 1, 5, i, poll_text(s, key));
	for (uint32_t k = 0; rc == 0 && k < 5; k++) {
		snprintf(key, sizeof(key), "%s.%s", name, nums[k]);
		rc = cell_num(v, 6, 1, 6 + k, i, k == 3 ? VIEW_GAUGE :
			      VIEW_COUNTER64, poll_num(s, key));
	}
	return rc;
}

static int add_dirs(view *v, const poll_src *s)
{
	uint64_t n = poll_num(s, "data_dirs");
	char name[32];
	int rc;

	if (!poll_num(s, "root.present") && !poll_text(s, "root.path")[0])
		return 0;	/* nothing read yet */
	rc = add_dir(v, s, "root", 1);
	for (uint64_t d = 0; rc == 0 && d < n && d < 1024; d++) {
		snprintf(name, sizeof(name), "dir%u", (unsigned)d);
		rc = add_dir(v, s, name, (uint32_t)d + 2);
	}
	return rc;
}

static int add_alert(view *v, const ddt_alert *a, uint32_t i)
{
	char cls[DDT_MAX_NAME + 1];
	int rc;

	snprintf(cls, sizeof(cls), "%.*s", (int)strcspn(a->id, ":"), a->id);
	rc = cell_str(v, 11, 5, 2, i, a->id);
	if (!rc)
		rc = cell_num(v, 11, 5, 3, i, VIEW_INT, a->severity);
	if (!rc)
		rc = cell_str(v, 11, 5, 4, i, cls);
	if (!rc)
		rc = cell_str(v, 11, 5, 5, i, a->text);
	if (!rc)
		rc = cell_num(v, 11, 5, 6, i, VIEW_GAUGE,
			    a->since > 0 ? (uint64_t)a->since / 1000000000u : 0);
	return rc;
}

int poll_view_build(const poll_src *s, view **out)
{
	view *v = view_new();
	int rc;

	if (!v)
		return -ENOMEM;
	v->read_at = s->read_mono_ns;
	rc = add_scalars(v, s);
	if (!rc)
		rc = add_derived(v, s);
	if (!rc)
		rc = add_ingest(v, s);
	for (size_t i = 0; rc == 0 && i < s->nsu; i++)
		rc = add_su(v, &s->su[i], (uint32_t)i + 1);
	if (!rc)
		rc = add_dirs(v, s);
	for (size_t i = 0; rc == 0 && i < s->nalerts; i++)
		rc = add_alert(v, &s->alerts[i], (uint32_t)i + 1);
	if (rc < 0) {
		view_free(v);
		return rc;
	}
	view_sort(v);
	*out = v;
	return 0;
}
